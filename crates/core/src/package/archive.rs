//! A module archive built elsewhere (`module publish --archive FILE.tar.gz`, and the
//! archives `registry copy` downloads): checked, then taken as it is, byte for byte.
//!
//! The checks are what a consumer's unpacking must survive and what makes it a module:
//! a gzip-compressed tar within the size limit; every entry a relative path that does
//! not climb (`..`) and is not absolute; only files, folders and links (no devices,
//! FIFOs); a symbolic link's target and a hard link's source inside the archive; at least
//! one `.tf` (or `.tf.json`) file at the archive root. A refusal names the archive and
//! the entry.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::module::ModuleArchive;
use crate::error::{ErrorKind, Hint};

/// Why an archive was refused.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot read the archive {}: {source}", .path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is not a gzip-compressed tar archive ({reason})", .path.display())]
    NotTarGz { path: PathBuf, reason: String },
    #[error("{} is {size} bytes, above the limit of {limit} bytes", .path.display())]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("entry {entry:?} of {} is unsafe: {reason}", .path.display())]
    UnsafeEntry {
        path: PathBuf,
        entry: String,
        reason: String,
    },
    #[error("{} has no .tf file at its root{}", .path.display(), .folder.as_ref().map(|f| format!(" (the module seems to be in the folder {f}/)")).unwrap_or_default())]
    NoTfAtRoot {
        path: PathBuf,
        folder: Option<String>,
    },
}

impl Hint for ArchiveError {
    fn hint(&self) -> Option<String> {
        match self {
            ArchiveError::Unreadable { .. } => None,
            ArchiveError::NotTarGz { .. } => Some(
                "build it with `tfpub module package DIR -o FILE.tar.gz` or `tar -czf FILE.tar.gz -C DIR .`"
                    .into(),
            ),
            ArchiveError::TooLarge { .. } => {
                Some("leave large files out of the module (.terraformignore)".into())
            }
            ArchiveError::UnsafeEntry { .. } => Some(
                "rebuild the archive from the module folder (`tfpub module package DIR -o FILE.tar.gz`): entries must be relative paths inside it, links must stay inside it, and devices or FIFOs are never packed"
                    .into(),
            ),
            ArchiveError::NoTfAtRoot { .. } => Some(
                "the module must be at the archive root: pack from inside the module folder (`tar -czf FILE.tar.gz -C DIR .`)"
                    .into(),
            ),
        }
    }

    fn kind(&self) -> Option<ErrorKind> {
        match self {
            ArchiveError::Unreadable { .. } => None,
            _ => Some(ErrorKind::InvalidInput),
        }
    }
}

/// A reader that hashes what passes through it (the tar stream inside the gzip).
struct Hashing<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// `a/./b/` → `["a", "b"]`; `Err` with the reason when the path is absolute or climbs.
fn components(p: &str) -> Result<Vec<&str>, String> {
    if p.starts_with('/') || p.starts_with('\\') {
        return Err("an absolute path".into());
    }
    if p.len() >= 2 && p.as_bytes()[1] == b':' {
        return Err("a path with a drive letter".into());
    }
    let parts: Vec<&str> = p
        .split(['/', '\\'])
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    if parts.contains(&"..") {
        return Err("a path that climbs out of the archive (`..`)".into());
    }
    Ok(parts)
}

/// Whether a symbolic link at `entry` pointing at `target` stays inside the archive.
fn link_inside(entry: &[&str], target: &str) -> bool {
    if target.starts_with('/') || target.starts_with('\\') {
        return false;
    }
    let mut depth: Vec<&str> = entry[..entry.len().saturating_sub(1)].to_vec();
    for c in target
        .split(['/', '\\'])
        .filter(|c| !c.is_empty() && *c != ".")
    {
        if c == ".." {
            if depth.pop().is_none() {
                return false;
            }
        } else {
            depth.push(c);
        }
    }
    true
}

/// Checks one entry; returns its normalised path when it is a file or link to list.
fn check_entry<R: Read>(
    path: &Path,
    e: &tar::Entry<'_, R>,
) -> Result<Option<String>, ArchiveError> {
    let raw = String::from_utf8_lossy(&e.path_bytes()).into_owned();
    let unsafe_entry = |reason: String| ArchiveError::UnsafeEntry {
        path: path.to_path_buf(),
        entry: raw.clone(),
        reason,
    };
    let parts = components(&raw).map_err(&unsafe_entry)?;
    let kind = e.header().entry_type();
    let target = e
        .link_name_bytes()
        .map(|t| String::from_utf8_lossy(&t).into_owned());
    if kind.is_symlink() {
        let t = target.unwrap_or_default();
        if !link_inside(&parts, &t) {
            return Err(unsafe_entry(format!(
                "a symbolic link to {t:?}, outside the archive"
            )));
        }
    } else if kind.is_hard_link() {
        let t = target.unwrap_or_default();
        components(&t).map_err(|r| unsafe_entry(format!("a hard link to {t:?}: {r}")))?;
    } else if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
        return Err(unsafe_entry("a device or FIFO".into()));
    } else if !(kind.is_dir()
        || kind.is_file()
        || kind.is_contiguous()
        || kind.is_pax_global_extensions()
        || kind.is_pax_local_extensions()
        || kind.is_gnu_longname()
        || kind.is_gnu_longlink())
    {
        return Err(unsafe_entry(format!(
            "an entry of tar type {:?}",
            kind.as_byte() as char
        )));
    }
    if kind.is_dir() || parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(parts.join("/")))
}

/// Checks the archive at `path` (at most `max_size` bytes) and describes it as the
/// publish pipeline's later stages need it; the file itself is used as it is.
pub fn check(path: &Path, max_size: u64) -> Result<ModuleArchive, ArchiveError> {
    check_as(path, path, max_size)
}

/// [`check`] of the file at `file`, a copy of `path`: refusals name `path` (the user's
/// file), the result describes `file`.
pub fn check_as(file: &Path, path: &Path, max_size: u64) -> Result<ModuleArchive, ArchiveError> {
    let unreadable = |source| ArchiveError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(file).map_err(unreadable)?.len();
    if size > max_size {
        return Err(ArchiveError::TooLarge {
            path: path.to_path_buf(),
            size,
            limit: max_size,
        });
    }
    let not_tar = |e: io::Error| ArchiveError::NotTarGz {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    // Streamed: the file's bytes and the tar inside are hashed as they are read.
    let f = std::fs::File::open(file).map_err(unreadable)?;
    let mut outer = Hashing {
        inner: io::BufReader::new(f),
        hash: Sha256::new(),
    };
    let mut magic = [0u8; 2];
    outer.read_exact(&mut magic).map_err(not_tar)?;
    if magic != [0x1f, 0x8b] {
        return Err(not_tar(io::Error::other("no gzip header")));
    }
    let (files, tar_sha256) = entries(path, io::Read::chain(&magic[..], &mut outer))?;
    io::copy(&mut outer, &mut io::sink()).map_err(unreadable)?;
    root_has_tf(path, &files)?;
    Ok(ModuleArchive {
        path: file.to_path_buf(),
        sha256: hex::encode(outer.hash.finalize()),
        tar_sha256,
        size,
        files,
        excluded: Vec::new(),
        warnings: Vec::new(),
    })
}

/// Every entry of the gzip tar `gz` checked; the sorted file list and the SHA-256 of the
/// tar stream.
fn entries(path: &Path, gz: impl Read) -> Result<(Vec<String>, String), ArchiveError> {
    let not_tar = |e: io::Error| ArchiveError::NotTarGz {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut stream = Hashing {
        inner: flate2::read::GzDecoder::new(gz),
        hash: Sha256::new(),
    };
    let mut files = Vec::new();
    {
        let mut ar = tar::Archive::new(&mut stream);
        for e in ar.entries().map_err(not_tar)? {
            let e = e.map_err(not_tar)?;
            if let Some(f) = check_entry(path, &e)? {
                files.push(f);
            }
        }
    }
    io::copy(&mut stream, &mut io::sink()).map_err(not_tar)?;
    files.sort();
    files.dedup();
    Ok((files, hex::encode(stream.hash.finalize())))
}

fn is_tf(name: &str) -> bool {
    name.ends_with(".tf") || name.ends_with(".tf.json")
}

/// At least one `.tf` file at the root; when there is none but one folder holds them,
/// the refusal names that folder.
fn root_has_tf(path: &Path, files: &[String]) -> Result<(), ArchiveError> {
    if files.iter().any(|f| !f.contains('/') && is_tf(f)) {
        return Ok(());
    }
    let folder = files
        .iter()
        .filter(|f| is_tf(f))
        .filter_map(|f| f.split_once('/').map(|(d, _)| d.to_string()))
        .next();
    Err(ArchiveError::NoTfAtRoot {
        path: path.to_path_buf(),
        folder,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gz(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> tempfile::NamedTempFile {
        let mut b = tar::Builder::new(Vec::new());
        build(&mut b);
        let tar = b.into_inner().unwrap();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut enc, &tar).unwrap();
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), enc.finish().unwrap()).unwrap();
        f
    }

    fn file(b: &mut tar::Builder<Vec<u8>>, name: &str, body: &[u8]) {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        // Written raw so that hostile names reach the archive unchanged.
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        b.append(&h, body).unwrap();
    }

    fn link(b: &mut tar::Builder<Vec<u8>>, kind: tar::EntryType, name: &str, target: &str) {
        let mut h = tar::Header::new_gnu();
        h.set_size(0);
        h.set_entry_type(kind);
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.as_old_mut().linkname[..target.len()].copy_from_slice(target.as_bytes());
        h.set_cksum();
        b.append(&h, io::empty()).unwrap();
    }

    fn refused(f: &tempfile::NamedTempFile) -> String {
        check(f.path(), 1 << 20).unwrap_err().to_string()
    }

    #[test]
    fn a_module_at_the_root_is_accepted_with_its_files_and_hashes() {
        let f = gz(|b| {
            file(b, "main.tf", b"x");
            file(b, "./modules/a/b.tf", b"y");
            link(
                b,
                tar::EntryType::Symlink,
                "modules/a/c.tf",
                "../../main.tf",
            );
        });
        let a = check(f.path(), 1 << 20).unwrap();
        assert_eq!(a.files, ["main.tf", "modules/a/b.tf", "modules/a/c.tf"]);
        assert_eq!(
            a.sha256,
            hex::encode(Sha256::digest(std::fs::read(f.path()).unwrap()))
        );
        assert_eq!(a.tar_sha256.len(), 64);
    }

    #[test]
    fn tfpub_s_own_archive_is_described_as_the_packer_describes_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.tf"), "variable \"x\" {}\n").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a.tf"), "").unwrap();
        let out = tempfile::tempdir().unwrap();
        let built = super::super::module::package_dir(
            dir.path(),
            &out.path().join("m.tar.gz"),
            &Default::default(),
        )
        .unwrap();
        let seen = check(&built.path, 1 << 20).unwrap();
        assert_eq!(
            (&seen.sha256, &seen.tar_sha256, seen.size, &seen.files),
            (&built.sha256, &built.tar_sha256, built.size, &built.files)
        );
    }

    #[test]
    fn unsafe_entries_are_refused_by_name() {
        type Build = fn(&mut tar::Builder<Vec<u8>>);
        let cases: [(Build, &str); 7] = [
            (|b| file(b, "/etc/x", b""), "absolute"),
            (|b| file(b, "a/../../x", b""), "climbs"),
            (
                |b| link(b, tar::EntryType::Symlink, "l", "../../x"),
                "outside",
            ),
            (
                |b| link(b, tar::EntryType::Symlink, "l", "/etc/passwd"),
                "outside",
            ),
            (|b| link(b, tar::EntryType::Link, "h", "../x"), "hard link"),
            (|b| link(b, tar::EntryType::Char, "dev", ""), "device"),
            (|b| link(b, tar::EntryType::Fifo, "p", ""), "FIFO"),
        ];
        for (entry, want) in cases {
            let f = gz(|b| {
                file(b, "main.tf", b"");
                entry(b);
            });
            let e = refused(&f);
            assert!(e.contains(want) && e.contains("entry"), "{e}");
        }
    }

    #[test]
    fn no_tf_at_the_root_names_the_folder_that_has_them() {
        let f = gz(|b| file(b, "terraform-aws-vpc/main.tf", b""));
        let e = refused(&f);
        assert!(
            e.contains("no .tf file at its root") && e.contains("terraform-aws-vpc/"),
            "{e}"
        );
        let f = gz(|b| file(b, "README.md", b""));
        assert!(refused(&f).contains("no .tf file"));
    }

    #[test]
    fn not_gzip_or_not_tar_or_too_large_is_refused() {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), b"plain text").unwrap();
        assert!(refused(&f).contains("not a gzip-compressed tar"));
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut enc, &[7u8; 1500]).unwrap();
        std::fs::write(f.path(), enc.finish().unwrap()).unwrap();
        assert!(
            refused(&f).contains("not a gzip-compressed tar"),
            "{}",
            refused(&f)
        );
        let ok = gz(|b| file(b, "main.tf", b""));
        let e = check(ok.path(), 10).unwrap_err().to_string();
        assert!(e.contains("above the limit"), "{e}");
    }
}
