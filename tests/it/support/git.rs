//! Git repositories for the tests, built with git2 (no `git` binary): a fixed author and
//! clock, commits that stage everything (additions and removals, honouring .gitignore),
//! lightweight and annotated tags, and restoring a file from HEAD.

use std::path::Path;

use git2::{IndexAddOption, Oid, Repository, Signature, Time};

/// The author and committer of every test commit, at a fixed time.
pub fn sig() -> Signature<'static> {
    Signature::new("Tester", "tester@example.com", &Time::new(1_700_000_000, 0)).unwrap()
}

/// Write `files` into the work tree, stage everything (additions and removals, respecting
/// .gitignore) and commit on HEAD.
pub fn commit(repo: &Repository, files: &[(&str, &str)], msg: &str) -> Oid {
    let root = repo.workdir().unwrap().to_path_buf();
    for (path, body) in files {
        super::fs::write(&root, path, body);
    }
    let mut idx = repo.index().unwrap();
    idx.add_all(["*"], IndexAddOption::DEFAULT, None).unwrap();
    idx.update_all(["*"], None).unwrap();
    idx.write().unwrap();
    let tree = repo.find_tree(idx.write_tree().unwrap()).unwrap();
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig(), &sig(), msg, &tree, &parents)
        .unwrap()
}

/// Tag `target` as `name`, annotated ("release NAME") or lightweight.
pub fn tag(repo: &Repository, name: &str, target: Oid, annotated: bool) {
    let obj = repo.find_object(target, None).unwrap();
    if annotated {
        repo.tag(name, &obj, &sig(), &format!("release {name}"), false)
            .unwrap();
    } else {
        repo.tag_lightweight(name, &obj, false).unwrap();
    }
}

/// Put `path` (relative to the work tree) back as HEAD has it.
pub fn restore(repo: &Repository, path: &Path) {
    repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force().path(path)))
        .unwrap();
}
