//! The refusals of the Stack component configuration pipeline: each variant says what was
//! found, its [`Hint`] what to do next, and its [`ErrorKind`] which refusal it is.

use std::path::PathBuf;

use crate::error::{ErrorKind, Hint};

#[derive(Debug, thiserror::Error)]
pub enum ComponentError {
    #[error("{} is a Terraform module, not a Stack component configuration: it has .tf files but no *.tfcomponent.hcl file at its root", .dir.display())]
    PlainModule { dir: PathBuf },
    #[error("{} has no *.tfcomponent.hcl file at its root: it is not a Stack component configuration", .dir.display())]
    NotAComponent { dir: PathBuf },
    #[error("component configuration directory {} does not exist", .dir.display())]
    DirMissing { dir: PathBuf },
    #[error("component configuration name {name:?} is invalid: {reason}")]
    BadName { name: String, reason: String },
    #[error("component configuration {name} is not in the registry")]
    NotFound { name: String },
    #[error("version {version} of component configuration {name} is not in the registry")]
    VersionNotFound { name: String, version: String },
    #[error("version {version} of component configuration {name} failed (status {status}): {why}")]
    Failed {
        name: String,
        version: String,
        status: String,
        why: String,
    },
    #[error(
        "version {version} of component configuration {name} is still `{status}` after {secs}s"
    )]
    StillPending {
        name: String,
        version: String,
        status: String,
        secs: u64,
    },
    #[error("no component configuration {name:?} in {}", .project_file.display())]
    NoSuchProjectComponent { name: String, project_file: PathBuf },
}

impl Hint for ComponentError {
    fn hint(&self) -> Option<String> {
        use ComponentError::*;
        Some(match self {
            PlainModule { .. } => "publish a module with `tfpub module publish`; a Stack component configuration \
                 has its *.tfcomponent.hcl files at the root of the folder"
                .into(),
            NotAComponent { .. } => "point at the folder that holds the Stack's *.tfcomponent.hcl files".into(),
            DirMissing { .. } => "pass the path of the folder that holds the *.tfcomponent.hcl files".into(),
            BadName { .. } => "use letters and digits, with '-' and '_' only between them, at most 64 \
                 characters (pass --name)"
                .into(),
            NotFound { .. } | VersionNotFound { .. } => {
                "check the name with `tfpub component list` and the --organization".into()
            }
            Failed { name, version, .. } => format!(
                "fix the configuration, then run `tfpub component delete {name} {version} --yes` and \
                 publish again, or publish again with --replace-failed"
            ),
            StillPending { .. } => "the archive was uploaded but the registry has not finished parsing it; \
                 run the same publish again later (it resumes and keeps waiting), or raise --timeout"
                .into(),
            NoSuchProjectComponent { .. } => "name one of the [[component]] entries of tfpub.toml".into(),
        })
    }

    fn kind(&self) -> Option<ErrorKind> {
        use ComponentError::*;
        match self {
            PlainModule { .. }
            | NotAComponent { .. }
            | DirMissing { .. }
            | BadName { .. }
            | NoSuchProjectComponent { .. } => Some(ErrorKind::InvalidInput),
            NotFound { .. } | VersionNotFound { .. } => Some(ErrorKind::NotFound),
            Failed { .. } => Some(ErrorKind::VersionFailed),
            StillPending { .. } => Some(ErrorKind::TimedOut),
        }
    }
}

/// Checks a component configuration name as the API documents it: letters and digits,
/// `-` and `_` allowed only in non-leading and non-trailing positions, at most 64.
pub fn check_name(name: &str) -> Result<(), ComponentError> {
    let bad = |reason: &str| ComponentError::BadName {
        name: name.chars().take(80).collect(),
        reason: reason.into(),
    };
    if name.is_empty() {
        return Err(bad("it is empty"));
    }
    if name.len() > 64 {
        return Err(bad("it is longer than 64 characters"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(bad("only letters, digits, '-' and '_' are allowed"));
    }
    let edge = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
    if !edge(name.bytes().next()) || !edge(name.bytes().last()) {
        return Err(bad("it must start and end with a letter or digit"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_has_a_hint_and_a_kind_and_no_hint_in_its_message() {
        let (s, p) = (|| String::from("x"), || PathBuf::from("/p"));
        for e in [
            ComponentError::PlainModule { dir: p() },
            ComponentError::NotAComponent { dir: p() },
            ComponentError::DirMissing { dir: p() },
            ComponentError::BadName {
                name: s(),
                reason: s(),
            },
            ComponentError::NotFound { name: s() },
            ComponentError::VersionNotFound {
                name: s(),
                version: s(),
            },
            ComponentError::Failed {
                name: s(),
                version: s(),
                status: s(),
                why: s(),
            },
            ComponentError::StillPending {
                name: s(),
                version: s(),
                status: s(),
                secs: 1,
            },
            ComponentError::NoSuchProjectComponent {
                name: s(),
                project_file: p(),
            },
        ] {
            assert!(e.hint().is_some_and(|h| !h.is_empty()), "{e}");
            assert!(e.kind().is_some(), "{e}");
            assert!(!e.to_string().to_lowercase().contains("hint"), "{e}");
        }
    }

    #[test]
    fn names_follow_the_documented_rule() {
        for ok in ["eks-cluster", "a", "app_security-2", &"x".repeat(64)] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "_a",
            "a_",
            "a b",
            "a.b",
            "ä",
            &"x".repeat(65),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
