//! `tfpub module link NAME/PROVIDER --vcs ID --oauth-token-id ID [--branch B | --tags]
//! [--source-dir D --tag-prefix P]`: create a VCS-linked module
//! (`POST …/registry-modules/vcs`), converging (the same link again is reported, another
//! link or a module without one is refused). Also [`LinkError`], the refusals of the
//! VCS branch of `module publish` (`publish/module/vcs.rs`).

use anyhow::Context as _;

use crate::api::{Need, VcsLinkRequest};
use crate::error::{ErrorKind, Hint};
use crate::publish::Context;
use crate::report::{Action, Item, ItemKind, Outcome, OutcomeKind};
use crate::vocab::ModuleAddress;

/// Refusals around VCS-linked modules.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("module {module} is linked to {identifier} and publishes from its tags: tfpub cannot upload version {version}")]
    TagBased {
        module: String,
        identifier: String,
        version: String,
    },
    #[error("version {version} of {module} did not appear within {secs}s (the registry ingests it from tag {tag} of {identifier})")]
    TagNotSeen {
        module: String,
        version: String,
        tag: String,
        identifier: String,
        secs: u64,
    },
    #[error("module {module} is linked to {identifier} and the registry reports `setup_failed`: it cannot ingest tags")]
    SetupFailed { module: String, identifier: String },
    #[error(
        "repository {identifier:?} is named {repo:?}, which names module {implied}, not {module}"
    )]
    RepoNameMismatch {
        identifier: String,
        repo: String,
        implied: String,
        module: String,
    },
    #[error("module {module} already exists {how}")]
    AlreadyExists { module: String, how: String },
}

impl Hint for LinkError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            LinkError::TagBased { version, identifier, .. } => format!(
                "push the tag to the repository (git tag v{version} && git push origin v{version}) and the registry ingests it from {identifier}; `tfpub module publish --wait-for-tag` waits until it is ok"
            ),
            LinkError::TagNotSeen { .. } => {
                "check the tag was pushed and the module's VCS connection works (registry UI); raise --timeout to wait longer".into()
            }
            LinkError::RepoNameMismatch { .. } => {
                "a VCS module is named after its repository (terraform-<PROVIDER>-<NAME>); use that name, or --source-dir for a module in a subfolder of a monorepo".into()
            }
            LinkError::SetupFailed { .. } => {
                "check the module's VCS connection in the registry UI (the embedded registry cannot clone at all)".into()
            }
            LinkError::AlreadyExists { .. } => {
                "delete the module first (tfpub module delete NAME/PROVIDER) or link under another name".into()
            }
        })
    }

    fn kind(&self) -> Option<ErrorKind> {
        match self {
            LinkError::TagNotSeen { .. } => Some(ErrorKind::TimedOut),
            LinkError::TagBased { .. } | LinkError::SetupFailed { .. } => None,
            _ => Some(ErrorKind::InvalidInput),
        }
    }
}

/// What `module link` was asked.
#[derive(Debug, Clone, Default)]
pub struct LinkRequest {
    pub module: String,
    pub identifier: String,
    pub oauth_token_id: String,
    /// `None`: tag-based.
    pub branch: Option<String>,
    pub source_directory: Option<String>,
    pub tag_prefix: Option<String>,
}

/// Without a source directory, the repository's name must name the module.
fn check_identity(addr: &ModuleAddress, req: &LinkRequest) -> Result<(), LinkError> {
    if req.source_directory.is_some() {
        return Ok(());
    }
    let repo = req.identifier.rsplit('/').next().unwrap_or_default();
    let implied = repo
        .strip_prefix("terraform-")
        .and_then(|r| r.split_once('-'))
        .map(|(p, n)| format!("{n}/{p}"))
        .unwrap_or_else(|| "none (not terraform-<PROVIDER>-<NAME>)".into());
    if implied == addr.cli_ref() {
        Ok(())
    } else {
        Err(LinkError::RepoNameMismatch {
            identifier: req.identifier.clone(),
            repo: repo.to_string(),
            implied,
            module: addr.cli_ref(),
        })
    }
}

/// `tfpub module link`.
pub async fn link(ctx: &Context, req: &LinkRequest) -> anyhow::Result<Outcome> {
    let addr = ModuleAddress::parse_ref(ctx.org(), &req.module)?;
    check_identity(&addr, req)?;
    let mut o = Outcome::new("module link");
    o.target = Some(ctx.target_info());
    let warnings = ctx.preflight(Need::Modules).await?;
    o.warnings.extend(warnings);
    let id = addr.to_string();
    let url = ctx.module_url(&addr, None);
    let how = |tags: bool, branch: &str| {
        if tags {
            format!("linked to {} (tag-based)", req.identifier)
        } else {
            format!("linked to {} (branch {branch})", req.identifier)
        }
    };
    if let Some(s) = ctx.client.module_settings(&addr).await? {
        return match s.vcs {
            Some(v) if v.identifier == req.identifier => {
                o.push(
                    Item::new(ItemKind::Module, &id, Action::Exists)
                        .url(url)
                        .detail(how(v.tags, &v.branch)),
                );
                Ok(o)
            }
            Some(v) => Err(LinkError::AlreadyExists {
                module: id,
                how: format!("linked to {}", v.identifier),
            }
            .into()),
            None => Err(LinkError::AlreadyExists {
                module: id,
                how: "without a VCS link".into(),
            }
            .into()),
        };
    }
    ctx.progress
        .stage(&format!("linking module {id} to {}", req.identifier));
    let r = VcsLinkRequest {
        identifier: req.identifier.clone(),
        oauth_token_id: req.oauth_token_id.clone(),
        branch: req.branch.clone().unwrap_or_default(),
        source_directory: req.source_directory.clone(),
        tag_prefix: req.tag_prefix.clone(),
        name_provider: req
            .source_directory
            .as_ref()
            .map(|_| (addr.name().to_string(), addr.provider().to_string())),
    };
    let s = ctx
        .client
        .create_vcs_module(&r)
        .await
        .with_context(|| format!("linking module {id} to {}", req.identifier))?;
    let (tags, branch) = s
        .vcs
        .map(|v| (v.tags, v.branch))
        .unwrap_or((r.branch.is_empty(), r.branch.clone()));
    o.push(
        Item::new(ItemKind::Module, &id, Action::Created)
            .url(url)
            .detail(how(tags, &branch)),
    );
    o.outcome = OutcomeKind::Updated;
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_name_must_name_the_module_unless_a_source_dir_is_given() {
        let addr = ModuleAddress::new("acme", "vpc", "aws");
        let mut req = LinkRequest {
            identifier: "acme/terraform-aws-vpc".into(),
            ..Default::default()
        };
        assert!(check_identity(&addr, &req).is_ok());
        req.identifier = "acme/terraform-aws-network".into();
        let e = check_identity(&addr, &req).unwrap_err().to_string();
        assert!(e.contains("network/aws") && e.contains("vpc/aws"), "{e}");
        req.identifier = "acme/infra".into();
        assert!(check_identity(&addr, &req).is_err());
        req.source_directory = Some("modules/vpc".into());
        assert!(check_identity(&addr, &req).is_ok());
    }
}
