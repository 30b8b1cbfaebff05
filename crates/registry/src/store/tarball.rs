//! The streamed walk over an uploaded gzip'd tar archive that archive ingestion shares:
//! every entry's path and kind checked ([`check_entry`]: nothing escaping, no special
//! files), the entry count bounded ([`MAX_ENTRIES`]), the unpacked size and compression
//! ratio bounded as the data streams ([`count_data`]), an empty archive refused. What an
//! entry means (a root `.tf` file, a component configuration, a README) is the caller's.
//!
//! Imports the store's `modules` (entry checks and limits) only; no HTTP types.

use std::io::Read;
use std::path::{Component, Path};

use super::modules::{check_entry, count_data, MAX_ENTRIES};

/// What the walk tells its visitor about one (already checked) entry.
pub(crate) struct Seen<'a> {
    pub path: &'a Path,
    /// The path as error messages show it.
    pub shown: &'a str,
    /// A regular file at the root of the archive.
    pub root_file: bool,
}

/// Walks the archive at `path` (blocking), calling `visit` on each checked entry before
/// its remaining data is counted; `visit` returns how many unpacked bytes it accounts for
/// (what it read itself). The error names the offending entry or the limit.
pub(crate) fn walk(
    path: &Path,
    max_unpacked: u64,
    mut visit: impl FnMut(&mut dyn Read, &Seen<'_>) -> Result<u64, String>,
) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read upload: {e}"))?;
    let packed = file.metadata().map(|m| m.len()).unwrap_or(0).max(1);
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let entries = archive
        .entries()
        .map_err(|e| format!("not a gzip-compressed tar archive: {e}"))?;
    let (mut count, mut unpacked) = (0u64, 0u64);
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("not a gzip-compressed tar archive: {e}"))?;
        count = count.saturating_add(1);
        if count > MAX_ENTRIES {
            return Err(format!(
                "archive has more than {MAX_ENTRIES} entries (entry count limit)"
            ));
        }
        let p = entry
            .path()
            .map_err(|e| format!("bad path in archive: {e}"))?
            .into_owned();
        let shown = p.display().to_string();
        check_entry(&entry, &p, &shown)?;
        let at_root = p
            .components()
            .filter(|c| !matches!(c, Component::CurDir))
            .count()
            == 1;
        let seen = Seen {
            path: &p,
            shown: &shown,
            root_file: at_root && entry.header().entry_type().is_file(),
        };
        unpacked = unpacked.saturating_add(visit(&mut entry, &seen)?);
        unpacked = count_data(&mut entry, unpacked, packed, max_unpacked, &shown)?;
    }
    if count == 0 {
        return Err("archive is empty".into());
    }
    Ok(())
}
