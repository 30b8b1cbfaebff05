//! The publishing pipelines, as ordered stages that converge: each stage reads what the
//! registry already has before it writes, so re-running a publish that died half way
//! finishes it, re-running a finished one changes nothing, and a conflict (same version,
//! other bytes or key) is refused instead of overwritten.
//!
//! Pipelines talk to a registry only through [`crate::api::Client`] and report through
//! [`crate::report::Progress`]; they never print.

pub mod component;
pub mod copy;
pub mod error;
pub mod module;
pub mod provider;
pub mod sync;
pub mod workdir;

use std::sync::Arc;

use crate::api::Client;
use crate::config::Target;
use crate::report::{Progress, TargetInfo};
use crate::vocab::{ModuleAddress, ProviderAddress};

/// What every pipeline needs: a client for the target and a progress sink.
pub struct Context {
    pub client: Client,
    pub target: Target,
    pub progress: Arc<dyn Progress>,
    /// What the preflight read of the token's permissions, once per session: a command
    /// that runs a pipeline many times (mirror, copy) asks the registry once.
    access: tokio::sync::OnceCell<crate::api::Access>,
}

impl Context {
    pub fn new(client: Client, target: Target, progress: Arc<dyn Progress>) -> Context {
        Context {
            client,
            target,
            progress,
            access: tokio::sync::OnceCell::new(),
        }
    }

    pub fn target_info(&self) -> TargetInfo {
        TargetInfo {
            host: self.target.host.clone(),
            organization: self.target.organization.clone(),
            local: self.target.local,
        }
    }

    /// The preflight every publishing pipeline starts with: a bad token or a wrong
    /// organization fails here, before anything is built or created; so does a token
    /// whose permissions, organization entitlement or expiry do not allow `need`
    /// ([`crate::api::Access::check`]). Returns the warnings (also shown now), such as a
    /// token expiring within a week.
    pub async fn preflight(&self, need: crate::api::Need) -> anyhow::Result<Vec<String>> {
        self.preflight_for(&[need]).await
    }

    /// [`Self::preflight`] for a command that needs several things (`registry copy`:
    /// modules and providers). The token and organization are checked and the permissions
    /// read on the first call of a session only; every call checks its own needs.
    pub async fn preflight_for(&self, needs: &[crate::api::Need]) -> anyhow::Result<Vec<String>> {
        use anyhow::Context as _;
        let access = self
            .access
            .get_or_try_init(|| async {
                self.progress
                    .stage("checking the token and the organization");
                let (ping, access) = tokio::join!(self.client.preflight(), self.client.access());
                ping.context("checking the token and the organization")?;
                access.context("reading the token's permissions")
            })
            .await?;
        let mut warnings = Vec::new();
        for need in needs {
            let more = access
                .check(self.org(), *need, chrono::Utc::now())
                .into_result()
                .context("checking the token's permissions")?;
            for w in more {
                if !warnings.contains(&w) {
                    warnings.push(w);
                }
            }
        }
        for w in &warnings {
            self.progress.warn(w);
        }
        Ok(warnings)
    }

    pub fn org(&self) -> &str {
        &self.target.organization
    }

    /// The address of module `name`/`provider` of the target's organization.
    pub fn module(&self, name: &str, provider: &str) -> ModuleAddress {
        ModuleAddress::new(self.org(), name, provider)
    }

    /// The address of provider `name` of the target's organization.
    pub fn provider(&self, name: &str) -> ProviderAddress {
        ProviderAddress::new(self.org(), name)
    }

    /// The registry UI address of a private module version (never an upload URL).
    pub fn module_url(&self, m: &ModuleAddress, version: Option<&str>) -> String {
        let mut u = format!(
            "{}app/{}/registry/modules/private/{m}",
            self.target.base_url,
            self.org()
        );
        if let Some(v) = version {
            u.push('/');
            u.push_str(v);
        }
        u
    }

    /// The registry UI address of a private provider version.
    pub fn provider_url(&self, p: &ProviderAddress, version: Option<&str>) -> String {
        let mut u = format!(
            "{}app/{}/registry/providers/private/{p}",
            self.target.base_url,
            self.org()
        );
        if let Some(v) = version {
            u.push('/');
            u.push_str(v);
        }
        u
    }
}

/// Run CPU- or disk-bound work (packing an archive) on the blocking pool. Concurrent
/// publishes (`sync --concurrency`, a monorepo publish) are futures of one task: work
/// done inline would stall every other publish's requests, which then leave together in
/// a burst once it ends.
pub(crate) async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| anyhow::anyhow!("packaging stopped: {e}"))?
}

/// Pack the tree of `commit` (its `sub` folder when given) from the repository whose
/// git directory is `git_dir` into `out`, off the async runtime. git2 handles are not
/// shared between threads: the blocking task opens its own.
pub(crate) async fn pack_git_tree(
    git_dir: &std::path::Path,
    commit: git2::Oid,
    sub: Option<&std::path::Path>,
    out: &std::path::Path,
    opts: crate::package::module::ModulePackageOptions,
) -> anyhow::Result<crate::package::module::ModuleArchive> {
    let (git_dir, out) = (git_dir.to_path_buf(), out.to_path_buf());
    let sub = sub.map(std::path::Path::to_path_buf);
    off_runtime(move || {
        let repo = git2::Repository::open(&git_dir)
            .map_err(|e| anyhow::anyhow!("opening {}: {}", git_dir.display(), e.message()))?;
        Ok(crate::package::module::package_git_tree(
            &repo,
            commit,
            sub.as_deref(),
            &out,
            &opts,
        )?)
    })
    .await
}

/// Parse a version given by the user: semver with an optional leading `v`.
pub fn parse_version(s: &str) -> anyhow::Result<semver::Version> {
    let t = s.strip_prefix('v').unwrap_or(s);
    semver::Version::parse(t).map_err(|e| {
        error::PublishError::NotSemver {
            input: s.to_string(),
            reason: e.to_string(),
        }
        .into()
    })
}

/// What stages 4–6 (converge, wait, verify) did for one module or component version.
#[derive(Debug)]
pub struct VersionPublished {
    /// This run completed a version the registry did not serve before.
    pub published: bool,
    pub items: Vec<crate::report::Item>,
}
