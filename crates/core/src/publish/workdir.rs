//! The temporary folders a publish works in (the module archive, the provider release
//! files, a sync's exported trees), and the cleanup of the ones a killed run left.
//!
//! A run that ends normally removes its folder; one killed by a signal (a cancelled CI
//! job, Ctrl-C, the OOM killer) cannot. So every folder is created in the system
//! temporary folder under a name only tfpub uses, `tfpub-run-<pid>-<6 random
//! characters>`, and each new run first removes the leftovers: folders with exactly
//! that shape whose owning process is gone (Linux: no `/proc/<pid>`) or that are older
//! than [`STALE_AFTER`] (a pid reused by another process, or a system without
//! `/proc`). Nothing else is ever touched: not a symlink, not a file, not a name that
//! merely starts with `tfpub`, not the folder of a run that is still alive. The sweep
//! never fails a publish; whatever it cannot remove stays for the next run.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;

/// What the name of every run folder starts with.
pub const PREFIX: &str = "tfpub-run-";

/// Age after which a run folder is stale even when a process with its pid exists.
pub const STALE_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// A fresh run folder in the system temporary folder (removed when dropped), after
/// removing the stale ones of earlier runs.
pub fn create() -> anyhow::Result<tempfile::TempDir> {
    let base = std::env::temp_dir();
    sweep(&base, SystemTime::now());
    tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{}-", std::process::id()))
        .tempdir_in(&base)
        .with_context(|| format!("creating a temporary folder in {}", base.display()))
}

/// The pid in a run folder's name, when the name has exactly the shape [`create`] gives.
fn owner_pid(name: &str) -> Option<u32> {
    let (pid, random) = name.strip_prefix(PREFIX)?.split_once('-')?;
    let shaped = !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && random.len() == 6
        && random.bytes().all(|b| b.is_ascii_alphanumeric());
    shaped.then(|| pid.parse().ok()).flatten()
}

/// Whether process `pid` may still be running: false only when `/proc` shows it is not.
fn may_be_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return true;
    }
    proc.join(pid.to_string()).exists()
}

/// The stale run folders directly in `base`, as of `now`.
fn stale(base: &Path, now: SystemTime) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(base) else {
        return Vec::new();
    };
    let me = std::process::id();
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let pid = owner_pid(e.file_name().to_str()?)?;
            // Never follow a link: only a real folder of that name is a run folder.
            let meta = std::fs::symlink_metadata(e.path()).ok()?;
            if pid == me || !meta.file_type().is_dir() {
                return None;
            }
            let old = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|age| age > STALE_AFTER);
            (old || !may_be_alive(pid)).then(|| e.path())
        })
        .collect()
}

/// Remove the stale run folders in `base`; errors are ignored (a folder of another
/// user, a race with another run sweeping the same folder).
fn sweep(base: &Path, now: SystemTime) {
    for dir in stale(base, now) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_run_folder_shape_is_recognised() {
        assert_eq!(owner_pid("tfpub-run-123-aB3xYz"), Some(123));
        for other in [
            "tfpub-run-123-aB3xY",
            "tfpub-run-123-aB3xYz7",
            "tfpub-run--aB3xYz",
            "tfpub-run-12a-aB3xYz",
            "tfpub-run-123-aB3x.z",
            "tfpub-123-aB3xYz",
            "tfpub-run-99999999999999999999-aB3xYz",
            "my-tfpub-run-1-aB3xYz",
        ] {
            assert_eq!(owner_pid(other), None, "{other}");
        }
    }

    #[test]
    fn stale_means_dead_owner_or_old_and_never_a_link_or_a_live_run() {
        let base = tempfile::tempdir().unwrap();
        let p = |n: &str| base.path().join(n);
        // A pid above the kernel's limit (4194304) is never alive.
        std::fs::create_dir(p("tfpub-run-99999999-dead01")).unwrap();
        std::fs::create_dir(p(&format!("tfpub-run-{}-mine01", std::process::id()))).unwrap();
        std::fs::create_dir(p("tfpub-run-1-alive1")).unwrap();
        std::fs::write(p("tfpub-run-99999999-file01"), b"x").unwrap();
        std::fs::create_dir(p("tfpub-run-notes")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(p("tfpub-run-notes"), p("tfpub-run-99999999-link01")).unwrap();
        let now = SystemTime::now();
        let mut got: Vec<_> = stale(base.path(), now)
            .into_iter()
            .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        got.sort();
        let mut want = vec!["tfpub-run-99999999-dead01".to_string()];
        if !may_be_alive(1) {
            want.push("tfpub-run-1-alive1".into());
        }
        if !may_be_alive(99999999) {
            assert_eq!(got, want);
        }
        want.retain(|n| n != "tfpub-run-1-alive1");
        // A day later, the folder of a pid that exists is stale too; never our own.
        let later = now + STALE_AFTER + Duration::from_secs(60);
        let mut got: Vec<_> = stale(base.path(), later)
            .into_iter()
            .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        got.sort();
        want.push("tfpub-run-1-alive1".into());
        want.sort();
        assert_eq!(got, want);
    }
}
