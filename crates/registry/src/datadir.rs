//! The registry's data folder and what makes it the registry's: a marker file
//! ([`MARKER`], with a format version) beside `registry.db`, `blobs/` and `tmp/`. A folder
//! is used only if it carries the marker, is empty (or new), or has exactly the layout an
//! earlier tfpub wrote before markers existed (then it is adopted: the marker is added).
//! Anything else is refused, so `--data ~/projects` can never turn a user folder into a
//! registry or lose its files.
//!
//! Temp files are per process (`tmp/tfpub-PID-RANDOM.part`); at start only temp files
//! this naming scheme marks as the registry's, and whose process is gone or which are
//! older than [`STALE_TEMP`], are removed. Nothing else is ever deleted, so several
//! processes (a `registry serve` and a `--local` run) can share one folder.
//!
//! A leaf: imports nothing from the crate; `lib.rs` prepares the folder, `blobs` names
//! its temp files with [`temp_name`].

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The marker file naming a folder as a tfpub registry's data folder.
pub(crate) const MARKER: &str = "tfpub-registry.json";
/// The data folder format this build writes and reads.
pub(crate) const FORMAT_VERSION: u64 = 1;
/// Temp files older than this are stale whoever wrote them (no upload takes a day).
pub(crate) const STALE_TEMP: Duration = Duration::from_secs(24 * 60 * 60);

/// What an earlier tfpub (before the marker) put in a data folder.
const LEGACY_ENTRIES: &[&str] = &[
    "registry.db",
    "registry.db-wal",
    "registry.db-shm",
    "registry.db-journal",
    "blobs",
    "tmp",
];

/// Why a folder cannot be the registry's data folder.
#[derive(Debug)]
pub(crate) enum DataDirProblem {
    /// The folder holds other files and no marker.
    Foreign,
    /// The marker is from a newer tfpub (its format version) or unreadable.
    Marker(String),
    /// The disk refused.
    Io(io::Error),
}

impl From<io::Error> for DataDirProblem {
    fn from(e: io::Error) -> Self {
        DataDirProblem::Io(e)
    }
}

fn marker_text() -> String {
    format!("{{\"format\": \"tfpub-registry\", \"version\": {FORMAT_VERSION}}}\n")
}

/// Checks the marker's format and version.
fn check_marker(path: &Path) -> Result<(), DataDirProblem> {
    let text = std::fs::read_to_string(path)?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|_| DataDirProblem::Marker(format!("{} is not valid JSON", path.display())))?;
    if v["format"] != "tfpub-registry" {
        return Err(DataDirProblem::Marker(format!(
            "{} does not describe a tfpub registry",
            path.display()
        )));
    }
    match v["version"].as_u64() {
        Some(n) if n <= FORMAT_VERSION => Ok(()),
        Some(n) => Err(DataDirProblem::Marker(format!(
            "the data folder has format version {n}, newer than this tfpub reads ({FORMAT_VERSION})"
        ))),
        None => Err(DataDirProblem::Marker(format!(
            "{} has no format version",
            path.display()
        ))),
    }
}

/// Writes the marker atomically (temp file + rename), so a reader never sees half of it.
fn write_marker(dir: &Path) -> io::Result<()> {
    let tmp = dir.join(format!(".{MARKER}.{}", std::process::id()));
    std::fs::write(&tmp, marker_text())?;
    std::fs::rename(&tmp, dir.join(MARKER))
}

/// Makes `dir` the registry's data folder (creating it if needed), refusing a folder that
/// is someone else's; then removes the stale temp files of dead processes. Returns the
/// temp folder.
pub(crate) fn prepare(dir: &Path) -> Result<PathBuf, DataDirProblem> {
    std::fs::create_dir_all(dir)?;
    let marker = dir.join(MARKER);
    if marker.exists() {
        check_marker(&marker)?;
    } else {
        let names: Vec<String> = std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<io::Result<_>>()?;
        let legacy = names.iter().any(|n| n == "registry.db")
            && names.iter().all(|n| LEGACY_ENTRIES.contains(&n.as_str()));
        // A concurrent first start may have written the marker meanwhile.
        let only_marker_temps = names.iter().all(|n| n.starts_with(&format!(".{MARKER}.")));
        if !(names.is_empty() || legacy || only_marker_temps || marker.exists()) {
            return Err(DataDirProblem::Foreign);
        }
        if !marker.exists() {
            write_marker(dir)?;
        }
    }
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp)?;
    remove_stale_temps(&tmp);
    Ok(tmp)
}

/// A fresh temp file name for this process: `tfpub-PID-RANDOM.part`.
pub(crate) fn temp_name() -> String {
    format!(
        "tfpub-{}-{:016x}.part",
        std::process::id(),
        rand::random::<u64>()
    )
}

/// The pid in a temp file name this registry wrote (`tfpub-PID-RANDOM.part`), or, for
/// the 32-hex-digit names of the version before markers, `Some(None)`; `None` for any
/// other name (not ours: never touched).
fn temp_owner(name: &str) -> Option<Option<u32>> {
    if name.len() == 32 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some(None);
    }
    let rest = name.strip_prefix("tfpub-")?.strip_suffix(".part")?;
    let (pid, random) = rest.split_once('-')?;
    if random.is_empty() || !random.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    pid.parse().ok().map(Some)
}

/// Whether process `pid` is certainly gone (Linux, through /proc; elsewhere unknown).
fn process_gone(pid: u32) -> bool {
    pid != std::process::id()
        && Path::new("/proc/self").exists()
        && !Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes the registry's own temp files whose writer is gone or that are older than
/// [`STALE_TEMP`]. Best effort: a file that cannot be removed stays.
fn remove_stale_temps(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(owner) = temp_owner(&name) else {
            continue;
        };
        let Ok(meta) = e.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let old = meta
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age > STALE_TEMP);
        if old || owner.is_some_and(process_gone) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_recognised_and_others_are_not() {
        let n = temp_name();
        assert_eq!(temp_owner(&n), Some(Some(std::process::id())));
        assert_eq!(temp_owner(&"a".repeat(32)), Some(None));
        for other in [
            "notes.txt",
            "tfpub-12.part",
            "tfpub-x-ab.part",
            "tfpub-1-zz.part",
        ] {
            assert_eq!(temp_owner(other), None, "{other}");
        }
    }
}
