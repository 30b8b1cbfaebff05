//! Files for the tests: where the repository and its test data are, writable copies of
//! the sample module, small writes, modes and links, and the SHA-256 used to compare
//! archives, checksums and lock-file hashes.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tempfile::TempDir;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn testdata(p: &str) -> PathBuf {
    repo_root().join("testdata").join(p)
}

/// The armored text of a throwaway test key, testdata/keys/NAME.
pub fn test_key(name: &str) -> String {
    std::fs::read_to_string(testdata("keys").join(name)).unwrap()
}

/// Copy a folder tree (for tests that need a writable module).
pub fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(from).unwrap();
        let dst = to.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}

/// A writable copy of the sample module, in a folder named terraform-null-greeting (so
/// name and provider come from the folder name), outside any git repository.
pub fn module_copy() -> (TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("terraform-null-greeting");
    copy_tree(&testdata("modules/terraform-null-greeting"), &dir);
    (t, dir)
}

/// Write `text` to `dir/rel`, creating the folders on the way.
pub fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

#[cfg(unix)]
pub fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Lowercase hex SHA-256 of `bytes` (as in SHA256SUMS and `zh:` lock-file hashes).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A gzip'd tarball of regular files (mode 0644), built in memory.
pub fn tarball(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

/// One tar entry written header by header, without the tar crate's path checks, so the
/// names and links a hostile archive uses (`..`, absolute links) can be built.
pub fn raw_entry(
    b: &mut tar::Builder<impl std::io::Write>,
    name: &str,
    kind: tar::EntryType,
    link: &str,
    data: &[u8],
) {
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    h.set_entry_type(kind);
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append(&h, data).unwrap();
}

/// A gzip'd tar being built, whose first entry is the valid Terraform file `first`.
pub fn tar_after(first: &str) -> tar::Builder<flate2::write::GzEncoder<Vec<u8>>> {
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    let tf = b"variable \"x\" {}\n";
    raw_entry(&mut b, first, tar::EntryType::Regular, "", tf);
    b
}

/// A gzip'd tarball of the valid file `first` and one raw entry `name` (of `kind`,
/// pointing at `link`; a regular one holds `x`): an archive a registry must refuse.
pub fn hostile_tarball(first: &str, name: &str, kind: tar::EntryType, link: &str) -> Vec<u8> {
    let mut b = tar_after(first);
    let data: &[u8] = if kind == tar::EntryType::Regular {
        b"x"
    } else {
        b""
    };
    raw_entry(&mut b, name, kind, link, data);
    b.into_inner().unwrap().finish().unwrap()
}
