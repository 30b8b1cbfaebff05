//! Project layout: which Terraform modules a repository holds and how they are tagged.
//!
//! Why: a monorepo can hold several modules, each released with its own tag prefix. The
//! optional `tfpub.toml` at the repository root declares them; without it, a repository is
//! one module named after its directory (`terraform-<PROVIDER>-<NAME>`).
//!
//! ```toml
//! [[module]]
//! path = "modules/vpc"   # relative to the repository root; must exist inside it
//! name = "vpc"           # default: from the directory name terraform-<provider>-<name>
//! provider = "aws"       # default: from the directory name
//! tag_prefix = "vpc/"    # default ""; tags then look like vpc/v1.2.0
//! require_tests = true   # default false; publish only after the registry ran the tests
//! ```
//!
//! Unknown keys are rejected. Two modules may not share a name/provider pair or a tag prefix.
//!
//! Naming rules, quoted from the HCP Terraform registry modules API:
//! - name: "May contain alphanumeric characters, with dashes and underscores allowed in
//!   non-leading or trailing positions. Maximum length is 64 characters."
//! - provider: "May contain lowercase alphanumeric characters. Maximum length is 64 characters."

use crate::error::{ErrorKind, Hint};
use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

/// File name of the project configuration at the repository root.
pub const CONFIG_FILE: &str = "tfpub.toml";

/// Errors from reading `tfpub.toml` or validating names.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{file}: module path {path:?} {problem}")]
    BadPath {
        file: PathBuf,
        path: PathBuf,
        problem: String,
    },
    #[error("{file}: module at {path:?} has no {what} and its directory name is not terraform-<PROVIDER>-<NAME>")]
    MissingName {
        file: PathBuf,
        path: PathBuf,
        what: &'static str,
    },
    #[error("{file}: {what}")]
    Conflict { file: PathBuf, what: String },
    #[error("invalid module name {name:?}: {rule}")]
    ModuleName { name: String, rule: &'static str },
    #[error("invalid provider {name:?}: {rule}")]
    Provider { name: String, rule: &'static str },
    #[error("invalid provider type name {name:?}: {rule}")]
    ProviderType { name: String, rule: &'static str },
    #[error("{file}: {source}")]
    InFile {
        file: PathBuf,
        source: Box<ProjectError>,
    },
}

impl Hint for ProjectError {
    fn hint(&self) -> Option<String> {
        match self {
            ProjectError::Parse { .. } => Some(
                "allowed keys per [[module]] are path, name, provider, tag_prefix, require_tests"
                    .into(),
            ),
            ProjectError::MissingName { what, .. } => Some(format!("set `{what}` explicitly")),
            // The boxed error is not reachable by downcasting the chain: ask it here.
            ProjectError::InFile { source, .. } => source.hint(),
            _ => None,
        }
    }
    fn kind(&self) -> Option<ErrorKind> {
        match self {
            ProjectError::InFile { source, .. } => source.kind(),
            _ => Some(ErrorKind::InvalidInput),
        }
    }
}

/// All modules in a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectConfig {
    pub modules: Vec<ModuleConfig>,
    /// `[[component]]` entries: Stack component configurations (path, name, tag_prefix).
    pub components: Vec<ComponentConfig>,
}

/// One Stack component configuration: where it lives, its name and its tag prefix. The
/// name defaults to the folder name without a `terraform-component-` prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentConfig {
    pub path: PathBuf,
    pub name: String,
    pub tag_prefix: String,
}

/// One module: where it lives, its registry identity, and its tag prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleConfig {
    /// Relative to the repository root.
    pub path: PathBuf,
    pub name: String,
    pub provider: String,
    pub tag_prefix: String,
    /// Publish only after the module's tests pass in the registry.
    pub require_tests: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    module: Vec<RawModule>,
    #[serde(default)]
    component: Vec<RawComponent>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComponent {
    path: PathBuf,
    name: Option<String>,
    tag_prefix: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModule {
    path: PathBuf,
    name: Option<String>,
    provider: Option<String>,
    tag_prefix: Option<String>,
    #[serde(default)]
    require_tests: bool,
}

impl ProjectConfig {
    /// Load `<repo_root>/tfpub.toml`; `Ok(None)` if the file does not exist.
    pub fn load(repo_root: &Path) -> Result<Option<ProjectConfig>, ProjectError> {
        let file = repo_root.join(CONFIG_FILE);
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(ProjectError::Read { path: file, source }),
        };
        let raw: RawFile = toml::from_str(&text).map_err(|e| ProjectError::Parse {
            path: file.clone(),
            message: e.to_string(),
        })?;
        let root = repo_root
            .canonicalize()
            .map_err(|source| ProjectError::Read {
                path: repo_root.to_path_buf(),
                source,
            })?;
        let mut modules = Vec::new();
        let mut ids = BTreeSet::new();
        let mut prefixes = BTreeSet::new();
        for m in raw.module {
            let canon = module_dir(&root, &file, &m.path)?;
            let dir_name = canon.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let (name, provider) =
                infer_identity(dir_name, m.name.as_deref(), m.provider.as_deref()).map_err(
                    |what| ProjectError::MissingName {
                        file: file.clone(),
                        path: m.path.clone(),
                        what,
                    },
                )?;
            let in_file = |e| ProjectError::InFile {
                file: file.clone(),
                source: Box::new(e),
            };
            validate_module_name(&name).map_err(in_file)?;
            validate_provider_name(&provider).map_err(in_file)?;
            let tag_prefix = m.tag_prefix.unwrap_or_default();
            if !ids.insert((name.clone(), provider.clone())) {
                return Err(ProjectError::Conflict {
                    file: file.clone(),
                    what: format!("module {name}/{provider} is declared twice; each name/provider pair must be unique"),
                });
            }
            if !prefixes.insert(tag_prefix.clone()) {
                return Err(ProjectError::Conflict {
                    file: file.clone(),
                    what: format!("tag_prefix {tag_prefix:?} is used by two modules; give each module its own prefix"),
                });
            }
            modules.push(ModuleConfig {
                path: m.path,
                name,
                provider,
                tag_prefix,
                require_tests: m.require_tests,
            });
        }
        let components = components(&root, &file, raw.component, &mut prefixes)?;
        Ok(Some(ProjectConfig {
            modules,
            components,
        }))
    }
}

/// The `[[component]]` entries, checked like modules' (paths inside the repository, names
/// by the same rule, one entry per name, a tag prefix no module or component shares).
fn components(
    root: &Path,
    file: &Path,
    raw: Vec<RawComponent>,
    prefixes: &mut BTreeSet<String>,
) -> Result<Vec<ComponentConfig>, ProjectError> {
    let mut names = BTreeSet::new();
    let mut out = Vec::new();
    for c in raw {
        let canon = module_dir(root, file, &c.path)?;
        let dir_name = canon.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let name = c.name.unwrap_or_else(|| {
            dir_name
                .strip_prefix("terraform-component-")
                .unwrap_or(dir_name)
                .to_string()
        });
        validate_module_name(&name).map_err(|e| ProjectError::InFile {
            file: file.to_path_buf(),
            source: Box::new(e),
        })?;
        let tag_prefix = c.tag_prefix.unwrap_or_default();
        let conflict = |what: String| ProjectError::Conflict {
            file: file.to_path_buf(),
            what,
        };
        if !names.insert(name.clone()) {
            return Err(conflict(format!("component {name} is declared twice")));
        }
        if !prefixes.insert(tag_prefix.clone()) {
            return Err(conflict(format!("tag_prefix {tag_prefix:?} is used twice; give each module and component its own prefix")));
        }
        out.push(ComponentConfig {
            path: c.path,
            name,
            tag_prefix,
        });
    }
    Ok(out)
}

/// The folder of a tfpub.toml entry, canonical: relative, inside the repository root
/// (also after symlinks), and a directory.
fn module_dir(root: &Path, file: &Path, path: &Path) -> Result<PathBuf, ProjectError> {
    let bad = |problem: &str| ProjectError::BadPath {
        file: file.to_path_buf(),
        path: path.to_path_buf(),
        problem: problem.to_string(),
    };
    if path.is_absolute()
        || path
            .components()
            .any(|c| matches!(c, Component::ParentDir | Component::Prefix(_)))
    {
        return Err(bad(
            "must be relative to the repository root and stay inside it",
        ));
    }
    let canon = root
        .join(path)
        .canonicalize()
        .map_err(|_| bad("does not exist"))?;
    if !canon.starts_with(root) {
        return Err(bad("resolves outside the repository (symlink?)"));
    }
    if !canon.is_dir() {
        return Err(bad("is not a directory"));
    }
    Ok(canon)
}

/// The one rule for a module's name and provider: the given ones win, the folder name
/// `terraform-<PROVIDER>-<NAME>` fills in the rest. `Err` names the first one that
/// neither gives (`"name"` or `"provider"`). Used for tfpub.toml entries here and for
/// folders by the publish pipeline's resolve stage; callers validate the result.
pub fn infer_identity(
    dir_name: &str,
    name: Option<&str>,
    provider: Option<&str>,
) -> Result<(String, String), &'static str> {
    let parsed = parse_module_dir_name(dir_name);
    let name = match (name, &parsed) {
        (Some(n), _) => n.to_string(),
        (None, Some((_, n))) => n.clone(),
        (None, None) => return Err("name"),
    };
    let provider = match (provider, &parsed) {
        (Some(p), _) => p.to_string(),
        (None, Some((p, _))) => p.clone(),
        (None, None) => return Err("provider"),
    };
    Ok((name, provider))
}

/// Split `terraform-<PROVIDER>-<NAME>` into `(provider, name)`. NAME may contain dashes;
/// the provider must pass [`validate_provider_name`] and the name [`validate_module_name`].
pub fn parse_module_dir_name(dir_name: &str) -> Option<(String, String)> {
    let rest = dir_name.strip_prefix("terraform-")?;
    let (provider, name) = rest.split_once('-')?;
    validate_provider_name(provider).ok()?;
    validate_module_name(name).ok()?;
    Some((provider.to_string(), name.to_string()))
}

const NAME_RULE: &str = "module names may contain letters, digits, dashes and underscores (dashes and underscores not first or last), at most 64 characters";
const PROVIDER_RULE: &str =
    "providers may contain only lowercase letters and digits, 1 to 64 characters";
const PROVIDER_TYPE_RULE: &str = "provider type names may contain lowercase letters, digits and single dashes (not first or last, no `--`), 1 to 64 characters";

/// Check a module name against the registry rules.
pub fn validate_module_name(name: &str) -> Result<(), ProjectError> {
    let err = || ProjectError::ModuleName {
        name: name.to_string(),
        rule: NAME_RULE,
    };
    let edge_ok = |c: char| c.is_ascii_alphanumeric();
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        || !name.starts_with(edge_ok)
        || !name.ends_with(edge_ok)
    {
        return Err(err());
    }
    Ok(())
}

/// Check a module's provider (e.g. `aws`) against the registry rules.
pub fn validate_provider_name(p: &str) -> Result<(), ProjectError> {
    if p.is_empty()
        || p.len() > 64
        || !p
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        return Err(ProjectError::Provider {
            name: p.to_string(),
            rule: PROVIDER_RULE,
        });
    }
    Ok(())
}

/// Check a registry provider's type name (the `NAME` in `terraform-provider-NAME`).
///
/// The providers API page only says "The name of the provider", so the rule is Terraform's
/// own provider-address rule (a provider source `NAMESPACE/TYPE` must be addressable by
/// `terraform init`): letters, digits and dashes, no leading or trailing dash, no two dashes
/// in a row. Terraform folds case, so we require lowercase to avoid a name that the registry
/// stores differently from how configurations spell it.
pub fn validate_provider_type_name(p: &str) -> Result<(), ProjectError> {
    let edge_ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if p.is_empty()
        || p.len() > 64
        || !p.chars().all(|c| edge_ok(c) || c == '-')
        || !p.starts_with(edge_ok)
        || !p.ends_with(edge_ok)
        || p.contains("--")
    {
        return Err(ProjectError::ProviderType {
            name: p.to_string(),
            rule: PROVIDER_TYPE_RULE,
        });
    }
    Ok(())
}
