//! Read-only view of the local git repository that `tfpub sync` publishes from.
//!
//! Why: sync publishes one registry version per semver tag, so it needs a reliable tag scan
//! (lightweight and annotated tags, peeled to commits), the commit at HEAD, and a dirty check
//! so nothing is published from uncommitted files. Everything here is pure: no network, no
//! writes to the repository. Packaging a tree is `package::module::package_git_tree`'s job.
//!
//! Tag rules (see [`parse_tag_version`]): `<prefix>[v]MAJOR.MINOR.PATCH[-pre]`. Build
//! metadata (`+build`) is rejected: registries ignore it, so `1.0.0+a` and `1.0.0+b` would
//! collide as the same version.

use crate::error::Hint;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid, Repository, StatusOptions};

/// Errors from reading the git repository.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("no git work tree found at or above {path}: {source}")]
    Discover { path: PathBuf, source: git2::Error },
    #[error("git repository at {path} is bare; tfpub needs a work tree")]
    Bare { path: PathBuf },
    #[error("cannot resolve HEAD in {path}: {source}")]
    Head { path: PathBuf, source: git2::Error },
    #[error("cannot read git status of {path}: {source}")]
    Status { path: PathBuf, source: git2::Error },
    #[error("cannot read tags in {path}: {source}")]
    Tags { path: PathBuf, source: git2::Error },
}

impl Hint for GitError {
    fn hint(&self) -> Option<String> {
        match self {
            GitError::Discover { .. } => Some("run inside a git clone, or `git init`".into()),
            GitError::Head { .. } => Some("make at least one commit".into()),
            GitError::Bare { .. } | GitError::Status { .. } | GitError::Tags { .. } => None,
        }
    }
}

/// An opened work-tree repository.
pub struct Repo {
    repo: Repository,
    root: PathBuf,
}

/// A tag that parsed as a semver version and points (after peeling) at a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagVersion {
    pub tag: String,
    pub version: semver::Version,
    /// 40-hex commit SHA.
    pub commit: String,
    pub commit_oid: Oid,
}

/// A tag that was not used, with the reason (for `--json` output and logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedTag {
    pub tag: String,
    pub reason: String,
}

/// Result of scanning tags for one prefix.
#[derive(Debug, Clone, Default)]
pub struct TagScan {
    /// Ascending by version; one entry per version.
    pub versions: Vec<TagVersion>,
    /// Tags carrying the prefix that were not used (sorted by tag name).
    pub skipped: Vec<SkippedTag>,
}

impl Repo {
    /// Open the repository whose work tree contains `path`.
    pub fn discover(path: &Path) -> Result<Repo, GitError> {
        let repo = Repository::discover(path).map_err(|source| GitError::Discover {
            path: path.to_path_buf(),
            source,
        })?;
        let root = match repo.workdir() {
            Some(w) => w.to_path_buf(),
            None => {
                return Err(GitError::Bare {
                    path: repo.path().to_path_buf(),
                })
            }
        };
        Ok(Repo { repo, root })
    }

    /// Work tree root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The underlying git2 repository (for packaging trees).
    pub fn inner(&self) -> &Repository {
        &self.repo
    }

    fn head_oid(&self) -> Result<Oid, GitError> {
        let head = |source| GitError::Head {
            path: self.root.clone(),
            source,
        };
        let commit = self
            .repo
            .head()
            .map_err(head)?
            .peel_to_commit()
            .map_err(head)?;
        Ok(commit.id())
    }

    /// SHA of the commit HEAD points at.
    pub fn head_commit(&self) -> Result<String, GitError> {
        Ok(self.head_oid()?.to_string())
    }

    /// Paths (relative to the root, `/`-separated) that are modified, staged, deleted or
    /// untracked. Ignored files do not count. With `subdir` (relative to the root) only
    /// paths under it are reported.
    pub fn is_dirty(&self, subdir: Option<&Path>) -> Result<Vec<String>, GitError> {
        self.changes(subdir, false)
    }

    /// Like [`Repo::is_dirty`], and with `include_ignored` also the paths `.gitignore`
    /// hides: the packer does not read `.gitignore`, so an ignored file can still end up in
    /// an archive. Ignored folders are not descended into (`.terraform/` can hold gigabytes
    /// of providers); they are reported once, with a trailing `/`.
    pub fn changes(
        &self,
        subdir: Option<&Path>,
        include_ignored: bool,
    ) -> Result<Vec<String>, GitError> {
        let mut opts = StatusOptions::new();
        opts.include_untracked(true)
            .recurse_untracked_dirs(true)
            .include_ignored(include_ignored)
            .recurse_ignored_dirs(false)
            .exclude_submodules(false);
        // Scope by filtering results ourselves rather than with a libgit2 pathspec: pathspec
        // matching is glob-based, and `modules/vpc` must not match `modules/vpc2/...`.
        let scope: Option<String> = subdir.and_then(|sub| {
            let parts: Vec<String> = sub
                .components()
                .filter_map(|c| match c {
                    std::path::Component::Normal(p) => Some(p.to_string_lossy().into_owned()),
                    _ => None,
                })
                .collect();
            (!parts.is_empty()).then(|| parts.join("/"))
        });
        let statuses = self
            .repo
            .statuses(Some(&mut opts))
            .map_err(|source| GitError::Status {
                path: self.root.clone(),
                source,
            })?;
        let mut out: Vec<String> = statuses
            .iter()
            .filter(|e| (include_ignored || !e.status().is_ignored()) && !e.status().is_empty())
            .filter_map(|e| e.path().map(str::to_string))
            .filter(|p| match &scope {
                None => true,
                Some(s) => p == s || (p.starts_with(s.as_str()) && p[s.len()..].starts_with('/')),
            })
            .collect();
        out.sort();
        Ok(out)
    }

    /// Scan all tags starting with `prefix`, peel them to commits and parse their versions.
    pub fn semver_tags(&self, prefix: &str) -> Result<TagScan, GitError> {
        let err = |source| GitError::Tags {
            path: self.root.clone(),
            source,
        };
        let names = self.repo.tag_names(None).map_err(err)?;
        let mut names: Vec<String> = names.iter().flatten().map(str::to_string).collect();
        names.sort();
        let mut scan = TagScan::default();
        let mut found: Vec<TagVersion> = Vec::new();
        for tag in names {
            if !tag.starts_with(prefix) {
                continue;
            }
            let Some(version) = parse_tag_version(&tag, prefix) else {
                scan.skipped.push(SkippedTag {
                    tag: tag.clone(),
                    reason: format!(
                        "not a semver tag (expected {prefix}[v]MAJOR.MINOR.PATCH[-PRERELEASE], no +build)"
                    ),
                });
                continue;
            };
            let reference = self
                .repo
                .find_reference(&format!("refs/tags/{tag}"))
                .map_err(err)?;
            let target = reference.peel(ObjectType::Any).map_err(err)?;
            if target.kind() != Some(ObjectType::Commit) {
                let kind = target
                    .kind()
                    .map(|k| k.to_string())
                    .unwrap_or_else(|| "unknown".into());
                scan.skipped.push(SkippedTag {
                    tag,
                    reason: format!("points to a {kind}, not a commit"),
                });
                continue;
            }
            let oid = target.id();
            found.push(TagVersion {
                tag,
                version,
                commit: oid.to_string(),
                commit_oid: oid,
            });
        }
        // Deduplicate: prefer the `v`-prefixed spelling, otherwise the first by name.
        found.sort_by(|a, b| a.version.cmp(&b.version).then(a.tag.cmp(&b.tag)));
        let with_v = |t: &TagVersion| t.tag[prefix.len()..].starts_with('v');
        for tv in found {
            match scan.versions.last_mut() {
                Some(last) if last.version == tv.version => {
                    let (keep, drop) = if with_v(&tv) && !with_v(last) {
                        (tv, last.clone())
                    } else {
                        (last.clone(), tv)
                    };
                    scan.skipped.push(SkippedTag {
                        reason: format!(
                            "duplicate of tag {} (same version {})",
                            keep.tag, keep.version
                        ),
                        tag: drop.tag,
                    });
                    *last = keep;
                }
                _ => scan.versions.push(tv),
            }
        }
        scan.skipped.sort_by(|a, b| a.tag.cmp(&b.tag));
        Ok(scan)
    }

    /// Highest semver tag (with `prefix`) pointing at HEAD, if any.
    pub fn version_at_head(&self, prefix: &str) -> Result<Option<TagVersion>, GitError> {
        let head = self.head_oid()?;
        let scan = self.semver_tags(prefix)?;
        Ok(scan
            .versions
            .into_iter()
            .rev()
            .find(|t| t.commit_oid == head))
    }
}

/// Parse `<prefix>[v]X.Y.Z[-pre]` into a version. Returns `None` if the tag lacks the prefix,
/// is not strict semver (no leading zeros, three parts), or carries build metadata.
pub fn parse_tag_version(tag: &str, prefix: &str) -> Option<semver::Version> {
    let rest = tag.strip_prefix(prefix)?;
    let rest = rest.strip_prefix('v').unwrap_or(rest);
    let v = semver::Version::parse(rest).ok()?;
    if !v.build.is_empty() {
        return None;
    }
    Some(v)
}

/// What sync should do with each tagged version.
#[derive(Debug, Clone, Default)]
pub struct SyncPlan {
    /// Missing versions to publish, ascending (oldest first so history fills in order).
    pub publish: Vec<TagVersion>,
    /// Versions the registry already has.
    pub already: Vec<TagVersion>,
    /// Tags skipped by the scan, by `since`, or by `max`.
    pub skipped: Vec<SkippedTag>,
}

/// Decide what to publish. `since` is inclusive (versions `>= since`). `max` keeps the
/// lowest N missing versions (oldest first); the rest are skipped with a reason so the next
/// run picks them up.
pub fn plan_sync(
    scan: &TagScan,
    published: &BTreeSet<semver::Version>,
    since: Option<&semver::Version>,
    max: Option<usize>,
) -> SyncPlan {
    let mut plan = SyncPlan {
        skipped: scan.skipped.clone(),
        ..Default::default()
    };
    for tv in &scan.versions {
        if published.contains(&tv.version) {
            plan.already.push(tv.clone());
            continue;
        }
        if let Some(since) = since {
            if tv.version < *since {
                plan.skipped.push(SkippedTag {
                    tag: tv.tag.clone(),
                    reason: format!("version {} is older than --since {since}", tv.version),
                });
                continue;
            }
        }
        if let Some(max) = max {
            if plan.publish.len() >= max {
                plan.skipped.push(SkippedTag {
                    tag: tv.tag.clone(),
                    reason: format!("over --max {max} for this run; a later run publishes it"),
                });
                continue;
            }
        }
        plan.publish.push(tv.clone());
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> semver::Version {
        semver::Version::parse(s).unwrap()
    }

    #[test]
    fn parse_tag_version_edge_cases() {
        assert_eq!(parse_tag_version("v1.2.3", ""), Some(v("1.2.3")));
        assert_eq!(parse_tag_version("1.2.3", ""), Some(v("1.2.3")));
        assert_eq!(parse_tag_version("v1.2.3-rc.1", ""), Some(v("1.2.3-rc.1")));
        assert_eq!(parse_tag_version("vpc/v1.2.0", "vpc/"), Some(v("1.2.0")));
        assert_eq!(parse_tag_version("vpc/1.2.0", "vpc/"), Some(v("1.2.0")));
        assert_eq!(parse_tag_version("vpc/v1.2.0", ""), None);
        assert_eq!(parse_tag_version("v1.2.0", "vpc/"), None);
        assert_eq!(parse_tag_version("v1.2", ""), None);
        assert_eq!(parse_tag_version("v01.2.3", ""), None);
        assert_eq!(parse_tag_version("vv1.2.3", ""), None);
        assert_eq!(parse_tag_version("V1.2.3", ""), None);
        assert_eq!(parse_tag_version("v1.2.3+build5", ""), None);
        assert_eq!(parse_tag_version("release-1", ""), None);
        assert_eq!(parse_tag_version("", ""), None);
    }
}
