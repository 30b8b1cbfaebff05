//! Stage 1, resolve: which folder, name, version and commit a component publish is about,
//! decided before any request. A folder without a `*.tfcomponent.hcl` file at its root is
//! refused here (a plain module is pointed to `module publish`); the name is `--name`,
//! else the folder name without a `terraform-component-` prefix; the version is
//! `--version`, else the semver tag (with the prefix) at HEAD, as for modules.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::error::{check_name, ComponentError};
use super::ComponentPublishRequest;

/// A component publish, resolved and validated.
#[derive(Debug, Clone)]
pub struct ResolvedComponent {
    pub dir: PathBuf,
    pub name: String,
    pub version: semver::Version,
    pub commit_sha: Option<String>,
}

/// Whether `dir` holds a `*.tfcomponent.hcl` file at its root; refuses a plain module
/// (`.tf` files only) and a folder with neither.
pub fn check_component_dir(dir: &Path) -> anyhow::Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("reading the folder {}", dir.display()))?;
    let names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if names.iter().any(|n| n.ends_with(".tfcomponent.hcl")) {
        return Ok(());
    }
    let dir = dir.to_path_buf();
    if names
        .iter()
        .any(|n| n.ends_with(".tf") || n.ends_with(".tf.json"))
    {
        return Err(ComponentError::PlainModule { dir }.into());
    }
    Err(ComponentError::NotAComponent { dir }.into())
}

/// The name a folder gives a component configuration: its name without a
/// `terraform-component-` prefix (the page's example folder naming).
pub fn name_from_dir(dir: &Path) -> String {
    let base = dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    base.strip_prefix("terraform-component-")
        .map(str::to_string)
        .unwrap_or(base)
}

/// Resolve `component publish`'s request.
pub fn resolve(req: &ComponentPublishRequest) -> anyhow::Result<ResolvedComponent> {
    let dir =
        crate::publish::module::resolve::existing_dir(&req.dir, || ComponentError::DirMissing {
            dir: req.dir.clone(),
        })?;
    check_component_dir(&dir)?;
    let name = req.name.clone().unwrap_or_else(|| name_from_dir(&dir));
    check_name(&name)?;
    let (repo, version) = crate::publish::module::resolve::version_from_git(
        &dir,
        req.version.as_deref(),
        &req.tag_prefix,
        req.allow_dirty,
    )?;
    let commit_sha = repo.map(|r| r.head_commit()).transpose()?;
    Ok(ResolvedComponent {
        dir,
        name,
        version,
        commit_sha,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_drop_the_documented_prefix() {
        let p = Path::new("/x/terraform-component-eks-cluster");
        assert_eq!(name_from_dir(p), "eks-cluster");
        assert_eq!(name_from_dir(Path::new("/x/network")), "network");
    }

    #[test]
    fn a_plain_module_is_refused_with_a_pointer_to_module_publish() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("main.tf"), "").unwrap();
        let e = check_component_dir(d.path()).unwrap_err();
        let c = e.downcast_ref::<ComponentError>().unwrap();
        assert!(matches!(c, ComponentError::PlainModule { .. }));
        use crate::error::Hint;
        assert!(c.hint().unwrap().contains("tfpub module publish"));
        std::fs::write(d.path().join("stack.tfcomponent.hcl"), "").unwrap();
        check_component_dir(d.path()).unwrap();
    }
}
