//! Stack component configuration commands around the pipeline: `sync`'s options turned
//! into a request (tfpub.toml `[[component]]` entries, else the flags, else the repository
//! root named after its folder), and `delete` behind a confirmation.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;

use super::Confirm;
use crate::publish::component::error::{check_name, ComponentError};
use crate::publish::component::resolve::name_from_dir;
use crate::publish::component::sync::{self, ComponentSyncRequest, SyncComponent};
use crate::publish::component::{self as pipeline};
use crate::publish::{parse_version, Context};
use crate::report::Outcome;

/// What `component sync` was asked, before the repository is opened.
#[derive(Debug, Clone)]
pub struct ComponentSyncOptions {
    pub repo: PathBuf,
    /// Only this `[[component]]` of tfpub.toml (by name).
    pub component: Option<String>,
    pub path: Option<PathBuf>,
    pub name: Option<String>,
    pub tag_prefix: Option<String>,
    pub since: Option<String>,
    pub max: Option<usize>,
    pub dry_run: bool,
    pub timeout: Duration,
    pub replace_failed: bool,
}

/// The component configurations a sync acts on.
pub fn components_for(
    root: &std::path::Path,
    opts: &ComponentSyncOptions,
) -> anyhow::Result<Vec<SyncComponent>> {
    if opts.path.is_none() && opts.name.is_none() {
        let listed = crate::project::ProjectConfig::load(root)?
            .map(|c| c.components)
            .unwrap_or_default();
        if !listed.is_empty() {
            let mut picked: Vec<SyncComponent> = listed
                .into_iter()
                .map(|c| SyncComponent {
                    path: c.path,
                    name: c.name,
                    tag_prefix: c.tag_prefix,
                })
                .collect();
            if let Some(only) = &opts.component {
                picked.retain(|c| &c.name == only);
                if picked.is_empty() {
                    return Err(ComponentError::NoSuchProjectComponent {
                        name: only.clone(),
                        project_file: root.join(crate::project::CONFIG_FILE),
                    }
                    .into());
                }
            }
            return Ok(picked);
        }
    }
    let rel = opts.path.clone().unwrap_or_default();
    let name = match &opts.name {
        Some(n) => n.clone(),
        None => name_from_dir(&root.join(&rel)),
    };
    check_name(&name)?;
    Ok(vec![SyncComponent {
        path: rel,
        name,
        tag_prefix: opts.tag_prefix.clone().unwrap_or_default(),
    }])
}

/// `component sync`.
pub async fn sync(ctx: &Context, opts: &ComponentSyncOptions) -> anyhow::Result<Outcome> {
    let repo = crate::git::Repo::discover(&opts.repo)
        .with_context(|| format!("opening the git repository at {}", opts.repo.display()))?;
    let components = components_for(repo.root(), opts)?;
    let since = opts.since.as_deref().map(parse_version).transpose()?;
    let req = ComponentSyncRequest {
        repo: repo.root().to_path_buf(),
        components,
        since,
        max: opts.max,
        dry_run: opts.dry_run,
        timeout: opts.timeout,
        replace_failed: opts.replace_failed,
    };
    sync::sync(ctx, &req).await
}

/// `component delete NAME [VERSION]`, once the user confirmed.
pub async fn delete(
    ctx: &Context,
    name: &str,
    version: Option<&str>,
    confirm: &dyn Confirm,
) -> anyhow::Result<Outcome> {
    let what = match version {
        Some(v) => format!("delete version {v} of component configuration {name}"),
        None => format!("delete component configuration {name} and all its versions"),
    };
    confirm.confirm(&what)?;
    pipeline::manage::delete(ctx, name, version).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(component: Option<&str>) -> ComponentSyncOptions {
        ComponentSyncOptions {
            repo: PathBuf::from("."),
            component: component.map(str::to_string),
            path: None,
            name: None,
            tag_prefix: None,
            since: None,
            max: None,
            dry_run: false,
            timeout: Duration::from_secs(1),
            replace_failed: false,
        }
    }

    #[test]
    fn tfpub_toml_component_entries_are_read_and_checked() {
        let d = tempfile::tempdir().unwrap();
        for p in [
            "stacks/terraform-component-eks",
            "stacks/web",
            "modules/vpc",
        ] {
            std::fs::create_dir_all(d.path().join(p)).unwrap();
        }
        let toml = "[[module]]\npath = \"modules/vpc\"\nname = \"vpc\"\nprovider = \"aws\"\ntag_prefix = \"vpc/\"\n\
                    [[component]]\npath = \"stacks/terraform-component-eks\"\ntag_prefix = \"eks/\"\n\
                    [[component]]\npath = \"stacks/web\"\nname = \"web-stack\"\ntag_prefix = \"web/\"\n";
        std::fs::write(d.path().join("tfpub.toml"), toml).unwrap();
        let all = components_for(d.path(), &opts(None)).unwrap();
        let names: Vec<_> = all
            .iter()
            .map(|c| (c.name.as_str(), c.tag_prefix.as_str()))
            .collect();
        assert_eq!(names, vec![("eks", "eks/"), ("web-stack", "web/")]);
        let one = components_for(d.path(), &opts(Some("web-stack"))).unwrap();
        assert_eq!(one.len(), 1);
        let e = components_for(d.path(), &opts(Some("nope"))).unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");

        // A tag prefix shared with a module is refused: its tags would go to both kinds.
        let clash = toml.replace("tag_prefix = \"web/\"", "tag_prefix = \"vpc/\"");
        std::fs::write(d.path().join("tfpub.toml"), clash).unwrap();
        let e = components_for(d.path(), &opts(None)).unwrap_err();
        assert!(format!("{e:#}").contains("vpc/"), "{e:#}");
    }
}
