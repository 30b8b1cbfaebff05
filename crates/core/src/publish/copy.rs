//! `registry copy --from HOST/ORG --to HOST/ORG`: every module version and provider
//! version of one private registry published into another, converging.
//!
//! The reading side is `pull` (what Terraform would download, verified as Terraform
//! verifies it); the writing side is the publish pipelines themselves, fed the downloaded
//! bytes: a module archive goes through [`module::publish_version`] as a prebuilt archive
//! (converge → wait → verify), a provider's files through [`provider::publish`] as a
//! dist/ folder signed elsewhere (the source's public key, registered in the target
//! namespace when missing, the signature checked before any upload). So what the target
//! already holds with the same content is skipped, a different content or key is a
//! conflict (reported, skipped, never overwritten), and a re-run after an interruption
//! finishes what was left half done. Module deprecations and revocations are applied
//! after the version, a module's no-code settings after its versions; a version revoked in the source is no longer served, so it is
//! copied only as a state (when the target has it) and otherwise reported as skipped.

use crate::api::Need;
use std::time::Duration;

use anyhow::Context as _;

use super::module::{self, converge::Target, CoreOptions};
use super::provider::{self, KeyChoice, ProviderInput, ProviderRequest};
use super::Context;
use crate::api::{Deprecation, ModuleVersion, Revocation, VersionChange, VersionStatusEntry};
use crate::commands::list::{cell, table};
use crate::commands::ops_error::OpsError;
use crate::commands::pull;
use crate::error::ErrorKind;
use crate::report::{Action, ErrorInfo, Item, ItemKind, Outcome, OutcomeKind};
use crate::sign::{PublicKey, Signing};
use crate::vocab::{ModuleAddress, ProviderAddress};

/// What `registry copy` was asked (neither `modules` nor `providers` = both).
#[derive(Debug, Clone, Default)]
pub struct CopyRequest {
    pub modules: bool,
    pub providers: bool,
    /// Only these: a module as NAME or NAME/PROVIDER, a provider as NAME.
    pub only: Vec<String>,
    pub dry_run: bool,
    /// How long to wait for each module version to become `ok` in the target.
    pub timeout: Duration,
}

impl CopyRequest {
    fn wants_module(&self, name: &str, provider: &str) -> bool {
        self.only.is_empty()
            || self
                .only
                .iter()
                .any(|o| o == name || *o == format!("{name}/{provider}"))
    }
    fn wants_provider(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == name)
    }
}

/// `tfpub registry copy`: every selected item, one item each in the result.
pub async fn copy(from: &Context, to: &Context, req: &CopyRequest) -> anyhow::Result<Outcome> {
    if from.target.base_url == to.target.base_url && from.org() == to.org() {
        return Err(OpsError::SameRegistry {
            target: format!("{}/{}", to.target.host, to.org()),
        }
        .into());
    }
    let both = !req.modules && !req.providers;
    from.preflight(Need::Nothing)
        .await
        .context("checking --from")?;
    let mut o = Outcome::new("registry copy");
    let needs = [
        (req.modules || both).then_some(Need::Modules),
        (req.providers || both).then_some(Need::Providers),
    ];
    let needs: Vec<Need> = needs.into_iter().flatten().collect();
    let warnings = to.preflight_for(&needs).await.context("checking --to")?;
    o.warnings.extend(warnings);
    o.target = Some(to.target_info());
    if req.modules || both {
        modules(from, to, req, &mut o).await?;
    }
    if req.providers || both {
        providers(from, to, req, &mut o).await?;
    }
    let unmatched = unmatched(&o, &req.only);
    o.warn_all(&unmatched, to.progress.as_ref());
    Ok(settle(o, req.dry_run))
}

/// A warning per `--only` name no copied item answers to (a typo copies nothing).
fn unmatched(o: &Outcome, only: &[String]) -> Vec<String> {
    only.iter()
        .filter(|want| {
            !o.items.iter().any(|i| {
                let rest = i.id.split_once('/').map(|(_, r)| r).unwrap_or_default();
                rest == want.as_str() || rest.split('/').next() == Some(want.as_str())
            })
        })
        .map(|w| format!("--only {w}: no module or provider of the source has that name"))
        .collect()
}

/// `ok`, `published`, the outcome, the conflicts as warnings and the human table.
fn settle(mut o: Outcome, dry_run: bool) -> Outcome {
    let count = |a: Action| o.items.iter().filter(|i| i.action == a).count();
    let failed = count(Action::Failed);
    let copied = count(Action::Created);
    let updated = count(Action::Updated);
    let skipped = count(Action::Skipped) + count(Action::Exists);
    let conflicts: Vec<String> = o
        .items
        .iter()
        .filter(|i| cell(i, "conflict") == "yes")
        .map(|i| {
            format!(
                "{} {}: {}",
                i.id,
                i.version.as_deref().unwrap_or(""),
                i.detail.as_deref().unwrap_or("")
            )
        })
        .collect();
    o.warnings
        .extend(conflicts.iter().map(|c| format!("conflict, skipped: {c}")));
    o.settle(dry_run, failed > 0, copied > 0, OutcomeKind::NothingToDo);
    if !dry_run && failed == 0 && copied == 0 && updated > 0 {
        o.outcome = OutcomeKind::Updated;
    }
    if failed > 0 {
        let err = anyhow::Error::from(OpsError::CopyIncomplete {
            failed,
            total: o.items.len(),
        });
        o.error = Some(ErrorInfo::from_error(&err, &|_| None));
    }
    let rows: Vec<Vec<String>> = o
        .items
        .iter()
        .map(|i| {
            let action = serde_json::to_value(i.action).unwrap_or_default();
            let kind = serde_json::to_value(i.kind).unwrap_or_default();
            vec![
                kind.as_str().unwrap_or("").to_string(),
                i.id.clone(),
                i.version.clone().unwrap_or_default(),
                action.as_str().unwrap_or("").to_string(),
                i.detail.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let mut text = table(&["KIND", "TARGET", "VERSION", "ACTION", "DETAIL"], &rows);
    text.push_str(&format!(
        "registry copy: {copied} copied, {updated} updated, {skipped} skipped ({} conflicts), {failed} failed{}\n",
        conflicts.len(),
        if dry_run { " (dry run: nothing was changed)" } else { "" }
    ));
    o.text = Some(text);
    o
}

/// The item of a step that failed: a conflict (other content or key in the target) is
/// reported and skipped, anything else is a failure.
fn failed_item(kind: ItemKind, id: &str, version: &str, err: &anyhow::Error) -> Item {
    let info = ErrorInfo::from_error(err, &|_| None);
    let conflict = matches!(
        info.kind,
        Some(ErrorKind::ContentConflict | ErrorKind::KeyMismatch)
    );
    let mut detail = std::iter::once(info.message.clone())
        .chain(info.causes.iter().cloned())
        .collect::<Vec<_>>()
        .join(": ");
    if conflict {
        detail = format!("conflict: {detail}");
    }
    let action = if conflict {
        Action::Skipped
    } else {
        Action::Failed
    };
    let item = Item::new(kind, id, action);
    let item = if version.is_empty() {
        item
    } else {
        item.version(version)
    };
    item.detail(detail).fact("conflict", conflict)
}

/// Every module of the source (as selected), oldest version first.
async fn modules(
    from: &Context,
    to: &Context,
    req: &CopyRequest,
    o: &mut Outcome,
) -> anyhow::Result<()> {
    let mut mods = from
        .client
        .list_modules()
        .await
        .context("listing the source's modules")?;
    mods.retain(|m| {
        (m.registry_name.is_empty() || m.registry_name == "private")
            && req.wants_module(&m.name, &m.provider)
    });
    mods.sort_by(|a, b| (&a.name, &a.provider).cmp(&(&b.name, &b.provider)));
    for m in mods {
        let src = ModuleAddress::new(from.org(), &m.name, &m.provider);
        let dst = ModuleAddress::new(to.org(), &m.name, &m.provider);
        let listing = from.client.module_versions_listing(&src).await?;
        let mut versions = m.version_statuses.clone();
        versions.sort_by_key(|v| semver::Version::parse(&v.version).ok());
        for v in &versions {
            let dep = listing
                .versions()
                .find(|l| l.version == v.version)
                .and_then(|l| l.deprecation.clone());
            let step = ModuleStep {
                from,
                to,
                src: &src,
                dst: &dst,
                req,
            };
            let item = match step.version(v, dep).await {
                Ok(it) => it,
                Err(e) => failed_item(ItemKind::ModuleVersion, &dst.to_string(), &v.version, &e),
            };
            o.push(item.fact("from", src.to_string()));
        }
        // The listing says whether a module is a no-code one: its settings are read only
        // when it is (or when the server does not say).
        if m.no_code == Some(false) {
            continue;
        }
        if let Some(item) = no_code(from, to, &src, &dst, req.dry_run).await {
            o.push(item.fact("from", src.to_string()));
        }
    }
    Ok(())
}

/// The source module's no-code settings (enabled, version pin, variable options) brought
/// onto the target's module, after its versions (a pin names one); None when the source
/// module is not a no-code module. A failure is the module's item, not the copy's end.
async fn no_code(
    from: &Context,
    to: &Context,
    src: &ModuleAddress,
    dst: &ModuleAddress,
    dry_run: bool,
) -> Option<Item> {
    let id = dst.to_string();
    let source = async {
        let Some(s) = from.client.module_settings(src).await? else {
            return anyhow::Ok(None);
        };
        let Some(nc) = s.no_code_id else {
            return Ok(None);
        };
        Ok(from.client.get_no_code(&nc).await?)
    };
    let (n, options) = match source.await {
        Ok(Some(found)) => found,
        Ok(None) => return None,
        Err(e) => return Some(failed_item(ItemKind::Module, &id, "", &e)),
    };
    if dry_run {
        let what = format!("no-code settings to copy (enabled {})", n.enabled);
        return Some(Item::new(ItemKind::Module, &id, Action::Planned).detail(what));
    }
    let wish = crate::commands::configure::NoCodeWish {
        enabled: n.enabled,
        pin: Some(n.version_pin.as_str()),
        options: Some(&options),
    };
    Some(
        crate::commands::configure::ensure_no_code(to, dst, &wish)
            .await
            .unwrap_or_else(|e| failed_item(ItemKind::Module, &id, "", &e)),
    )
}

/// One module version's copy.
struct ModuleStep<'a> {
    from: &'a Context,
    to: &'a Context,
    src: &'a ModuleAddress,
    dst: &'a ModuleAddress,
    req: &'a CopyRequest,
}

impl ModuleStep<'_> {
    fn item(&self, version: &str, action: Action, detail: impl Into<String>) -> Item {
        Item::new(ItemKind::ModuleVersion, self.dst.to_string(), action)
            .version(version)
            .url(self.to.module_url(self.dst, Some(version)))
            .detail(detail)
    }

    async fn version(
        &self,
        v: &VersionStatusEntry,
        dep: Option<Deprecation>,
    ) -> anyhow::Result<Item> {
        let ver = v.version.as_str();
        if !v.status.is_ok() {
            let why = format!(
                "status {} in the source: nothing installable to copy",
                v.status
            );
            return Ok(self.item(ver, Action::Skipped, why));
        }
        let sv = self
            .from
            .client
            .get_module_version(self.src, ver)
            .await?
            .ok_or_else(|| OpsError::VersionNotFound {
                what: format!("module {}", self.src.cli_ref()),
                version: ver.to_string(),
            })?;
        let held = self.to.client.get_module_version(self.dst, ver).await?;
        if self.req.dry_run {
            return Ok(match &held {
                Some(h) => self.item(
                    ver,
                    Action::Exists,
                    format!(
                        "in the target (status {}); content compared on a real run",
                        h.status
                    ),
                ),
                None => self.item(ver, Action::Planned, "to copy"),
            });
        }
        if sv.revoked() {
            return self.revoked(&sv, held.is_some()).await;
        }
        self.copy_bytes(&sv, dep).await
    }

    /// Downloads the source's archive and publishes it into the target through the
    /// module pipeline's stages 4–6, then brings the deprecation over.
    async fn copy_bytes(
        &self,
        sv: &ModuleVersion,
        dep: Option<Deprecation>,
    ) -> anyhow::Result<Item> {
        let ver = sv.version.as_str();
        self.to
            .progress
            .stage(&format!("copying module {} {ver}", self.src));
        let work = super::workdir::create()?;
        let path = work.path().join("source.tar.gz");
        pull::module_to(self.from, self.src, ver, &path).await?;
        let packaged = module::package::prebuilt(self.to, &path, None)?;
        let t = Target {
            address: self.dst,
            version: ver,
            commit_sha: sv.commit_sha.as_deref(),
            archive: &packaged.archive,
        };
        let opts = CoreOptions {
            timeout: self.req.timeout,
            replace_failed: false,
            no_code: false,
            module_known: false,
            require_tests: false,
        };
        let done = module::publish_version(self.to, t, opts).await?;
        let changed = self.lifecycle(ver, dep, None).await?;
        let sha = packaged.archive.sha256.as_str();
        let (action, mut detail) = match (done.published, changed.is_empty()) {
            (true, _) => (Action::Created, format!("copied, sha256 {sha}")),
            (false, true) => (Action::Skipped, "the target has the same content".into()),
            (false, false) => (Action::Updated, "the target has the same content".into()),
        };
        if !changed.is_empty() {
            detail.push_str(&format!("; {}", changed.join(", ")));
        }
        Ok(self.item(ver, action, detail).fact("sha256", sha))
    }

    /// A version revoked in the source: its archive is not served any more, so only the
    /// state can be copied, onto a version the target already has.
    async fn revoked(&self, sv: &ModuleVersion, held: bool) -> anyhow::Result<Item> {
        let ver = sv.version.as_str();
        if !held {
            return Ok(self.item(
                ver,
                Action::Skipped,
                "revoked in the source: its archive is no longer served, so it cannot be copied",
            ));
        }
        let changed = self.lifecycle(ver, None, sv.revocation.clone()).await?;
        Ok(if changed.is_empty() {
            self.item(ver, Action::Skipped, "revoked in both")
        } else {
            self.item(ver, Action::Updated, changed.join(", "))
        })
    }

    /// Brings the target version's deprecation and revocation up to the source's;
    /// returns what changed.
    async fn lifecycle(
        &self,
        ver: &str,
        dep: Option<Deprecation>,
        rev: Option<Revocation>,
    ) -> anyhow::Result<Vec<String>> {
        let mut changed = Vec::new();
        if dep.is_none() && rev.is_none() {
            return Ok(changed);
        }
        let listing = self.to.client.module_versions_listing(self.dst).await?;
        let held = self.to.client.get_module_version(self.dst, ver).await?;
        let revoked = held.as_ref().is_some_and(ModuleVersion::revoked);
        let deprecated = revoked
            || listing
                .versions()
                .any(|l| l.version == ver && l.deprecation.is_some());
        if !deprecated {
            let (reason, link) = match (&dep, &rev) {
                (Some(d), _) => (d.reason.clone(), d.link.clone()),
                (None, Some(r)) => (r.message.clone(), r.link.clone()),
                (None, None) => (None, None),
            };
            let change = VersionChange::Deprecate { reason, link };
            self.to
                .client
                .change_module_version(self.dst, ver, change)
                .await?;
            changed.push("deprecated".to_string());
        }
        if let (Some(r), false) = (&rev, revoked) {
            let change = VersionChange::Revoke {
                reason: r.message.clone(),
                link: r.link.clone(),
            };
            self.to
                .client
                .change_module_version(self.dst, ver, change)
                .await?;
            changed.push("revoked".to_string());
        }
        Ok(changed)
    }
}

/// Every provider of the source (as selected), oldest version first.
async fn providers(
    from: &Context,
    to: &Context,
    req: &CopyRequest,
    o: &mut Outcome,
) -> anyhow::Result<()> {
    let mut provs = from
        .client
        .list_providers()
        .await
        .context("listing the source's providers")?;
    provs.retain(|p| {
        (p.registry_name.is_empty() || p.registry_name == "private") && req.wants_provider(&p.name)
    });
    provs.sort_by(|a, b| a.name.cmp(&b.name));
    for p in provs {
        let src = ProviderAddress::new(from.org(), &p.name);
        let dst = ProviderAddress::new(to.org(), &p.name);
        let mut versions = from.client.list_provider_versions(&src).await?;
        versions.sort_by_key(|v| semver::Version::parse(&v.version).ok());
        for v in &versions {
            let item = match provider_version(from, to, &src, &dst, &v.version, req).await {
                Ok(it) => it,
                Err(e) => failed_item(ItemKind::ProviderVersion, &dst.to_string(), &v.version, &e),
            };
            o.push(item.fact("from", src.to_string()));
        }
    }
    Ok(())
}

/// One provider version: pulled into a run folder, then published from it.
async fn provider_version(
    from: &Context,
    to: &Context,
    src: &ProviderAddress,
    dst: &ProviderAddress,
    ver: &str,
    req: &CopyRequest,
) -> anyhow::Result<Item> {
    let item = |action, detail: String| {
        Item::new(ItemKind::ProviderVersion, dst.to_string(), action)
            .version(ver)
            .url(to.provider_url(dst, Some(ver)))
            .detail(detail)
    };
    if req.dry_run {
        let held = to.client.get_provider_version(dst, ver).await?;
        return Ok(match held {
            Some(h) => item(
                Action::Exists,
                format!(
                    "in the target (key {}); content compared on a real run",
                    h.key_id
                ),
            ),
            None => item(Action::Planned, "to copy".into()),
        });
    }
    to.progress.stage(&format!("copying provider {src} {ver}"));
    let work = super::workdir::create()?;
    let rel = pull::provider_to(from, src, ver, work.path()).await?;
    let key =
        PublicKey::from_armored(&rel.key_armor).context("reading the source's signing key")?;
    let key_id = key.key_id();
    let preq = ProviderRequest {
        input: ProviderInput::Dist(work.path().to_path_buf()),
        name: Some(dst.name().to_string()),
        version: Some(ver.to_string()),
        protocols: rel.protocols.clone(),
        signer: KeyChoice::Key(Signing::PublicOnly(Box::new(key))),
        dry_run: false,
        concurrency: 4,
    };
    let out = provider::publish(to, &preq).await?;
    Ok(if out.published {
        item(
            Action::Created,
            format!("copied, {} files, key {key_id}", rel.files.len()),
        )
    } else {
        item(
            Action::Skipped,
            "the target has the same files and key".into(),
        )
    }
    .fact("key-id", key_id.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_selects_by_name_or_name_and_provider_and_reports_what_matched_nothing() {
        let req = CopyRequest {
            only: vec!["vpc".into(), "dns/aws".into(), "ghost".into()],
            ..Default::default()
        };
        assert!(req.wants_module("vpc", "aws") && req.wants_module("dns", "aws"));
        assert!(!req.wants_module("dns", "google") && !req.wants_provider("dns"));
        assert!(CopyRequest::default().wants_provider("any"));
        let mut o = Outcome::new("registry copy");
        o.push(Item::new(
            ItemKind::ModuleVersion,
            "acme/vpc/aws",
            Action::Created,
        ));
        o.push(Item::new(
            ItemKind::ModuleVersion,
            "acme/dns/aws",
            Action::Created,
        ));
        assert_eq!(
            unmatched(&o, &req.only),
            ["--only ghost: no module or provider of the source has that name"]
        );
    }

    #[test]
    fn a_conflict_is_skipped_and_anything_else_failed() {
        let conflict = anyhow::Error::from(crate::publish::error::PublishError::ContentConflict {
            id: "acme/vpc/aws".into(),
            version: "1.0.0".into(),
            differs: "main.tf differs".into(),
        });
        let it = failed_item(ItemKind::ModuleVersion, "acme/vpc/aws", "1.0.0", &conflict);
        assert_eq!(it.action, Action::Skipped);
        assert!(it.detail.as_deref().unwrap().starts_with("conflict: "));
        let other = anyhow::anyhow!("connection reset");
        let it = failed_item(ItemKind::ModuleVersion, "acme/vpc/aws", "1.0.0", &other);
        assert_eq!(it.action, Action::Failed);
        let o = settle(
            {
                let mut o = Outcome::new("registry copy");
                o.push(it);
                o
            },
            false,
        );
        assert!(!o.ok);
        assert!(o.error.is_some() && o.to_human().contains("1 failed"));
    }
}
