//! What a module archive holds for a consumer, and how two archives differ.
//!
//! Nothing documented promises that HCP Terraform serves an uploaded archive back byte
//! for byte, so the archive checks (after a publish, and "already published?") compare
//! what `terraform init` would unpack: the regular files with their bytes and executable
//! bit, and symlinks by target. Mtimes, owners, entry order, directory entries and the
//! gzip framing do not count. A difference is described by name (only ours, only the
//! registry's, content, mode), a few names per kind, so a refusal says what to look at.
//!
//! Archives are read as streams (file by file, hashed as they go): a large archive is
//! never held in memory.

use std::collections::BTreeMap;
use std::io::{self, Read};

use sha2::{Digest, Sha256};

/// How many names of each kind of difference a description lists.
const NAMES_SHOWN: usize = 5;

/// One path of an archive as a consumer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    File {
        sha256: [u8; 32],
        executable: bool,
    },
    Symlink {
        target: String,
    },
    /// A hard link or a device, FIFO, ...: compared by kind and target.
    Other {
        kind: u8,
        target: String,
    },
}

/// Path → entry, for every non-directory entry of an archive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest(BTreeMap<String, Entry>);

/// `./a/b`, `a//b/` → `a/b`: the same path whichever way a packer spelled it.
fn normalise(p: &str) -> String {
    p.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

impl Manifest {
    /// Read a `.tar.gz` stream.
    pub fn read_tar_gz(gz: impl Read) -> io::Result<Manifest> {
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(gz));
        let mut out = BTreeMap::new();
        for e in ar.entries()? {
            let mut e = e?;
            let path = normalise(&String::from_utf8_lossy(&e.path_bytes()));
            let kind = e.header().entry_type();
            let target = || {
                e.link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default()
            };
            let entry = if kind.is_dir() || path.is_empty() {
                continue;
            } else if kind.is_symlink() {
                Entry::Symlink { target: target() }
            } else if kind.is_file() || kind.is_contiguous() {
                let executable = e.header().mode()? & 0o111 != 0;
                let mut h = Sha256::new();
                io::copy(&mut e, &mut h)?;
                Entry::File {
                    sha256: h.finalize().into(),
                    executable,
                }
            } else {
                Entry::Other {
                    kind: kind.as_byte(),
                    target: target(),
                }
            };
            // A later entry of the same path replaces an earlier one, as on unpacking.
            out.insert(path, entry);
        }
        Ok(Manifest(out))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How `theirs` (the registry's) differs from `self` (ours); `None` when a consumer
    /// gets the same files.
    pub fn differences(&self, theirs: &Manifest) -> Option<String> {
        let mut only_ours = Vec::new();
        let mut only_theirs = Vec::new();
        let mut content = Vec::new();
        let mut mode = Vec::new();
        for (p, ours) in &self.0 {
            match (ours, theirs.0.get(p)) {
                (_, None) => only_ours.push(p.as_str()),
                (a, Some(b)) if a == b => {}
                (
                    Entry::File {
                        sha256: a,
                        executable: x,
                    },
                    Some(Entry::File {
                        sha256: b,
                        executable: y,
                    }),
                ) => {
                    if a != b {
                        content.push(p.as_str());
                    }
                    if x != y {
                        mode.push(p.as_str());
                    }
                }
                (_, Some(_)) => content.push(p.as_str()),
            }
        }
        for p in theirs.0.keys() {
            if !self.0.contains_key(p) {
                only_theirs.push(p.as_str());
            }
        }
        let parts: Vec<String> = [
            ("only in the local archive", only_ours),
            ("only in the registry's archive", only_theirs),
            ("content differs", content),
            ("executable bit or file type differs", mode),
        ]
        .into_iter()
        .filter(|(_, names)| !names.is_empty())
        .map(|(what, names)| format!("{what}: {}", shown(&names)))
        .collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// The first few names, then how many more.
fn shown(names: &[&str]) -> String {
    let mut s = names
        .iter()
        .take(NAMES_SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > NAMES_SHOWN {
        s.push_str(&format!(" (and {} more)", names.len() - NAMES_SHOWN));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// (path, bytes, mode) or a symlink (path, target, 0): a `.tar.gz` with the given
    /// mtime, in the given order, optionally with directory entries.
    fn tgz(items: &[(&str, &str, u32)], mtime: u64, dirs: bool) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        if dirs {
            let mut h = tar::Header::new_ustar();
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
            h.set_mtime(mtime);
            b.append_data(&mut h, "./sub/", io::empty()).unwrap();
        }
        for (p, body, mode) in items {
            let mut h = tar::Header::new_ustar();
            h.set_mtime(mtime);
            h.set_uid(mtime % 1000);
            if *mode == 0 {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                h.set_mode(0o777);
                b.append_link(&mut h, p, body).unwrap();
            } else {
                h.set_size(body.len() as u64);
                h.set_mode(*mode);
                b.append_data(&mut h, p, body.as_bytes()).unwrap();
            }
        }
        let mut gz = b.into_inner().unwrap();
        gz.flush().unwrap();
        gz.finish().unwrap()
    }

    fn m(bytes: &[u8]) -> Manifest {
        Manifest::read_tar_gz(bytes).unwrap()
    }

    #[test]
    fn repacked_archives_with_the_same_files_are_equal() {
        let ours = m(&tgz(
            &[
                ("main.tf", "a", 0o644),
                ("sub/run.sh", "b", 0o755),
                ("link", "main.tf", 0),
            ],
            0,
            false,
        ));
        let theirs = m(&tgz(
            &[
                ("link", "main.tf", 0),
                ("./sub/run.sh", "b", 0o700),
                ("main.tf", "a", 0o600),
            ],
            1_700_000_000,
            true,
        ));
        assert_eq!(ours.len(), 3);
        assert_eq!(ours.differences(&theirs), None);
    }

    #[test]
    fn each_kind_of_difference_is_named() {
        let ours = m(&tgz(
            &[
                ("a.tf", "1", 0o644),
                ("b.tf", "2", 0o644),
                ("run.sh", "x", 0o755),
                ("l", "a.tf", 0),
            ],
            0,
            false,
        ));
        let theirs = m(&tgz(
            &[
                ("a.tf", "1", 0o644),
                ("c.tf", "3", 0o644),
                ("run.sh", "x", 0o644),
                ("l", "b.tf", 0),
            ],
            0,
            false,
        ));
        let d = ours.differences(&theirs).unwrap();
        assert_eq!(
            d,
            "only in the local archive: b.tf; only in the registry's archive: c.tf; \
             content differs: l; executable bit or file type differs: run.sh"
        );
    }

    #[test]
    fn long_lists_are_cut() {
        let names: Vec<String> = (0..8).map(|i| format!("f{i}.tf")).collect();
        let items: Vec<(&str, &str, u32)> =
            names.iter().map(|n| (n.as_str(), "x", 0o644)).collect();
        let ours = m(&tgz(&items, 0, false));
        let d = ours.differences(&Manifest::default()).unwrap();
        assert!(d.ends_with("f4.tf (and 3 more)"), "{d}");
    }

    #[test]
    fn not_a_gzip_is_an_error() {
        assert!(Manifest::read_tar_gz(&b"not gzip"[..]).is_err());
    }
}
