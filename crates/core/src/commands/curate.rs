//! `tfpub module curate NAMESPACE/NAME/PROVIDER` and `tfpub provider curate
//! NAMESPACE/NAME` (`--remove`): public registry entries in the organization's registry,
//! converging (an entry already there, or already gone, is reported, not re-sent). A 403
//! or 422 is explained: public curation is an HCP Terraform feature the organization can
//! switch off, Terraform Enterprise refuses `registry-name: public`, and it needs Manage
//! Private Registry.

use crate::api::{ApiError, Need, PublicEntry};
use crate::error::{ErrorKind, Hint};
use crate::publish::Context;
use crate::report::{Action, Item, ItemKind, Outcome, OutcomeKind};

/// Why a curation request was refused.
#[derive(Debug, thiserror::Error)]
pub enum CurateError {
    #[error("{entry:?} is not {expected}")]
    BadEntry {
        entry: String,
        expected: &'static str,
    },
    #[error("the registry forbids curating public entries (HTTP 403) for {entry}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Forbidden {
        entry: String,
        detail: Option<String>,
    },
    #[error("the registry refused the public entry {entry} (HTTP 422){}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Refused {
        entry: String,
        detail: Option<String>,
    },
}

impl Hint for CurateError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            CurateError::BadEntry { .. } => "give the public registry address, e.g. terraform-aws-modules/vpc/aws or hashicorp/aws".into(),
            CurateError::Forbidden { .. } => "public curation is an HCP Terraform feature: Terraform Enterprise forbids it, and on HCP Terraform the token's team needs Manage Private Registry and the organization must allow public curation".into(),
            CurateError::Refused { .. } => "Terraform Enterprise accepts only registry-name private (public curation is HCP Terraform only); otherwise check the namespace, name and provider".into(),
        })
    }

    fn kind(&self) -> Option<ErrorKind> {
        Some(match self {
            CurateError::BadEntry { .. } => ErrorKind::InvalidInput,
            CurateError::Forbidden { .. } => ErrorKind::Unauthorized,
            CurateError::Refused { .. } => return None,
        })
    }
}

/// Parses `NAMESPACE/NAME/PROVIDER` (module) or `NAMESPACE/NAME` (provider).
pub fn parse_entry(s: &str, module: bool) -> Result<PublicEntry, CurateError> {
    let parts: Vec<&str> = s.split('/').collect();
    let ok = parts.iter().all(|p| !p.is_empty()) && parts.len() == if module { 3 } else { 2 };
    if !ok {
        return Err(CurateError::BadEntry {
            entry: s.to_string(),
            expected: if module {
                "NAMESPACE/NAME/PROVIDER"
            } else {
                "NAMESPACE/NAME"
            },
        });
    }
    Ok(PublicEntry {
        namespace: parts[0].into(),
        name: parts[1].into(),
        provider: parts.get(2).map(|p| p.to_string()).unwrap_or_default(),
    })
}

fn explain(e: ApiError, entry: &PublicEntry) -> anyhow::Error {
    let detail = match &e {
        ApiError::Status { detail, title, .. } => {
            Some(detail.clone().unwrap_or_else(|| title.clone()))
        }
        _ => None,
    };
    let entry = entry.to_string();
    match e.status() {
        Some(403) => CurateError::Forbidden { entry, detail }.into(),
        Some(422) => CurateError::Refused { entry, detail }.into(),
        _ => e.into(),
    }
}

/// `module curate` / `provider curate`, `remove` = `--remove`.
pub async fn curate(
    ctx: &Context,
    entry: &str,
    module: bool,
    remove: bool,
) -> anyhow::Result<Outcome> {
    let e = parse_entry(entry, module)?;
    let noun = if module { "module" } else { "provider" };
    let mut o = Outcome::new(format!("{noun} curate"));
    o.target = Some(ctx.target_info());
    let need = if module {
        Need::PublicModules
    } else {
        Need::PublicProviders
    };
    let warnings = ctx.preflight(need).await?;
    o.warnings.extend(warnings);
    let kind = if module {
        ItemKind::Module
    } else {
        ItemKind::Provider
    };
    let id = e.to_string();
    let there = ctx
        .client
        .public_entry_exists(&e)
        .await
        .map_err(|x| explain(x, &e))?;
    let action = match (remove, there) {
        (false, true) | (true, false) => {
            let state = if there {
                "public entry present"
            } else {
                "no public entry"
            };
            o.push(Item::new(kind, &id, Action::Exists).detail(state));
            return Ok(o);
        }
        (false, false) => {
            ctx.progress.stage(&format!("adding public {noun} {id}"));
            ctx.client
                .add_public_entry(&e)
                .await
                .map_err(|x| explain(x, &e))?;
            Action::Created
        }
        (true, true) => {
            ctx.progress.stage(&format!("removing public {noun} {id}"));
            ctx.client
                .remove_public_entry(&e)
                .await
                .map_err(|x| explain(x, &e))?;
            Action::Deleted
        }
    };
    let detail = if remove {
        "public entry removed"
    } else {
        "public entry added (registry-name public)"
    };
    o.push(Item::new(kind, &id, action).detail(detail));
    o.outcome = if remove {
        OutcomeKind::Deleted
    } else {
        OutcomeKind::Updated
    };
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_parse_by_kind() {
        let m = parse_entry("terraform-aws-modules/vpc/aws", true).unwrap();
        assert_eq!(
            (m.namespace.as_str(), m.name.as_str(), m.provider.as_str()),
            ("terraform-aws-modules", "vpc", "aws")
        );
        let p = parse_entry("hashicorp/aws", false).unwrap();
        assert!(!p.is_module());
        assert_eq!(p.to_string(), "hashicorp/aws");
        for (s, module) in [
            ("vpc/aws", true),
            ("a/b/c/d", true),
            ("hashicorp", false),
            ("a//b", true),
            ("a/b/c", false),
        ] {
            assert!(parse_entry(s, module).is_err(), "{s}");
        }
    }
}
