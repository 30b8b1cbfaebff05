//! Deterministic module archives (`.tar.gz`, module at the archive root).
//!
//! The same content must give the same bytes whether it comes from a checkout or from a
//! git tree, and whatever the file mtimes or the packer's uid are: entries are sorted,
//! owners and times zeroed, modes reduced to 0644/0755, and the gzip header carries no
//! time or name. Parent directories are emitted from the file list (git has no empty
//! directories, so empty ones on disk are not packed either).
//!
//! Excluded: `.git/`, `.terraform/`, `.terraformignore` patterns, and Terraform state
//! (with a warning, since state often holds secrets). Likely secrets are packed but
//! warned about. Symlinks must stay inside the module.
//!
//! Every path is packed exactly or not at all: a name that is not UTF-8 is refused with
//! its bytes (a lossy conversion can merge two files into one name and drop one), a git
//! tree entry that is not one safe component (`..`, `a/b`, empty) is refused, folders
//! deeper than [`MAX_DEPTH`] are refused (the walk recurses; a hostile tree must not
//! overflow the stack), and a last check before each tar entry guarantees no absolute
//! or climbing path is ever written.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};

use super::pargz::ParGzWriter;

/// The deflate level of module archives. With the parallel writer, level 7 is smaller
/// than `tar -czf` (gzip -6) and still faster on two cores (BENCHMARKS.md).
pub const MODULE_GZIP_LEVEL: u32 = 7;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use sha2::{Digest, Sha256};

use super::PackageError;

/// The deepest folder nesting packed (a module's `a/b/c` is depth 3). Real modules stay
/// in single digits; the walk refuses deeper trees instead of recursing without bound.
pub const MAX_DEPTH: usize = 128;

/// The raw bytes of an OS file name (what the tar entry will hold).
#[cfg(unix)]
fn os_bytes(s: &std::ffi::OsStr) -> &[u8] {
    use std::os::unix::ffi::OsStrExt;
    s.as_bytes()
}

#[cfg(not(unix))]
fn os_bytes(s: &std::ffi::OsStr) -> &[u8] {
    // Elsewhere names are UTF-16; one that is not valid Unicode has no UTF-8 bytes at
    // all, which `entry_name` reports as not UTF-8.
    s.to_str().map(str::as_bytes).unwrap_or(&[0xff])
}

/// Packaging options.
#[derive(Debug, Clone)]
pub struct ModulePackageOptions {
    /// Maximum size of the compressed archive in bytes.
    pub max_size: u64,
    /// Module-relative files to leave out (`/`-separated): the output archive itself when
    /// it is written inside the module, so a re-run does not pack the previous archive.
    pub skip: Vec<String>,
    /// What must be at the archive's root: a module's `.tf` files, or a Stack component
    /// configuration's `*.tfcomponent.hcl` files. Every other rule is the same.
    pub root: ArchiveRoot,
}

/// The kind of configuration an archive holds, by the files required at its root.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ArchiveRoot {
    /// A module: at least one `.tf` or `.tf.json` file.
    #[default]
    Module,
    /// A Stack component configuration: at least one `*.tfcomponent.hcl` file.
    StackComponent,
}

impl Default for ModulePackageOptions {
    fn default() -> Self {
        ModulePackageOptions {
            max_size: 200 * 1024 * 1024,
            skip: Vec::new(),
            root: ArchiveRoot::Module,
        }
    }
}

/// A written module archive.
#[derive(Debug, Clone)]
pub struct ModuleArchive {
    pub path: PathBuf,
    /// Lower-case hex SHA-256 of the archive bytes.
    pub sha256: String,
    /// Lower-case hex SHA-256 of the tar stream inside the gzip: what the archive holds,
    /// whatever deflate implementation compressed it.
    pub tar_sha256: String,
    pub size: u64,
    /// Packed paths (files and symlinks), sorted, `/`-separated.
    pub files: Vec<String>,
    /// Excluded paths; directories end with `/`.
    pub excluded: Vec<String>,
    pub warnings: Vec<String>,
}

/// What would be packed (for `--dry-run`).
#[derive(Debug, Clone)]
pub struct ModulePlan {
    pub root: PathBuf,
    /// Packed paths (files and symlinks), sorted.
    pub files: Vec<String>,
    pub excluded: Vec<String>,
    pub warnings: Vec<String>,
    /// Sum of the packed files' sizes (uncompressed).
    pub total_size: u64,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
enum Content {
    Disk(PathBuf),
    Blob(git2::Oid),
}

#[derive(Debug, Clone)]
enum Kind {
    File {
        size: u64,
        exec: bool,
        content: Content,
    },
    Symlink {
        target: String,
    },
}

#[derive(Debug, Clone)]
struct Entry {
    rel: String,
    kind: Kind,
}

/// Collects entries from either source and applies the shared rules.
struct Collector {
    where_: String,
    ignore: Gitignore,
    entries: Vec<Entry>,
    excluded: Vec<String>,
    warnings: Vec<String>,
    skip: Vec<String>,
    root: ArchiveRoot,
}

enum Verdict {
    Keep,
    Exclude,
    ExcludeWarn(String),
}

fn is_state_file(name: &str) -> bool {
    // Case-insensitive: on macOS and Windows `TERRAFORM.TFSTATE` is the same file.
    let name = name.to_ascii_lowercase();
    name.ends_with(".tfstate")
        || name.contains(".tfstate.")
        || name == ".terraform.tfstate.lock.info"
}

fn secret_warning(rel: &str, name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let secretish = ["credential", "secret", "password", "passwd", "token"]
        .iter()
        .any(|w| lower.contains(w));
    let why = if lower == ".env" || lower.starts_with(".env.") {
        "environment file"
    } else if (lower.ends_with(".tfvars") || lower.ends_with(".tfvars.json")) && secretish {
        "variables file whose name suggests secrets"
    } else if lower.ends_with(".pem")
        || lower.ends_with(".key")
        || lower == "id_rsa"
        || lower == "id_dsa"
        || lower == "id_ecdsa"
        || lower == "id_ed25519"
    {
        "private key"
    } else {
        return None;
    };
    Some(format!(
        "{rel} looks like a secret ({why}) and will be published; exclude it in .terraformignore if it should not be"
    ))
}

impl Collector {
    fn new(where_: &str, terraformignore: Option<&str>) -> Result<Self, PackageError> {
        let mut b = GitignoreBuilder::new("");
        if let Some(text) = terraformignore {
            for line in text.lines() {
                b.add_line(None, line).map_err(|e| PackageError::Ignore {
                    where_: where_.to_string(),
                    reason: e.to_string(),
                })?;
            }
        }
        let ignore = b.build().map_err(|e| PackageError::Ignore {
            where_: where_.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Collector {
            where_: where_.to_string(),
            ignore,
            entries: Vec::new(),
            excluded: Vec::new(),
            warnings: Vec::new(),
            skip: Vec::new(),
            root: ArchiveRoot::Module,
        })
    }

    fn verdict(&self, rel: &str, name: &str, is_dir: bool) -> Verdict {
        // `.git` is also a file in linked worktrees and submodule checkouts.
        if name == ".git" || (is_dir && name == ".terraform") {
            return Verdict::Exclude;
        }
        if !is_dir && self.skip.iter().any(|s| s == rel) {
            return Verdict::Exclude;
        }
        if !is_dir && is_state_file(name) {
            return Verdict::ExcludeWarn(format!(
                "{rel} is Terraform state and was excluded (state can contain secrets)"
            ));
        }
        if self.ignore.matched(rel, is_dir).is_ignore() {
            return Verdict::Exclude;
        }
        Verdict::Keep
    }

    /// Returns true when the path is kept (for directories: descend).
    fn consider(&mut self, rel: &str, name: &str, is_dir: bool) -> bool {
        match self.verdict(rel, name, is_dir) {
            Verdict::Keep => true,
            Verdict::Exclude => {
                self.excluded.push(if is_dir {
                    format!("{rel}/")
                } else {
                    rel.to_string()
                });
                false
            }
            Verdict::ExcludeWarn(w) => {
                self.excluded.push(rel.to_string());
                self.warnings.push(w);
                false
            }
        }
    }

    /// The name of a directory entry as packed: exactly its bytes, which must be UTF-8
    /// (a lossy conversion could map two names to one and silently drop a file) and a
    /// single safe path component (a git tree can hold `..`, `a/b` or an empty name).
    fn entry_name(&self, prefix: &str, bytes: &[u8]) -> Result<String, PackageError> {
        let Ok(name) = std::str::from_utf8(bytes) else {
            return Err(PackageError::NonUtf8Name {
                path: format!("{prefix}{}", String::from_utf8_lossy(bytes)),
                hex: hex::encode(bytes),
                where_: self.where_.clone(),
            });
        };
        let unsafe_because = if name.is_empty() {
            Some("empty name")
        } else if name == "." || name == ".." {
            Some("a `.` or `..` component")
        } else if name.contains('/') {
            Some("a `/` inside one name")
        } else if name.contains('\0') {
            Some("a NUL byte")
        } else {
            None
        };
        match unsafe_because {
            Some(reason) => Err(PackageError::UnsafePath {
                path: format!("{prefix}{name}"),
                where_: self.where_.clone(),
                reason: reason.to_string(),
            }),
            None => Ok(name.to_string()),
        }
    }

    /// A symlink's target as packed: UTF-8 exactly, like names.
    fn link_target(&self, rel: &str, bytes: &[u8]) -> Result<String, PackageError> {
        match std::str::from_utf8(bytes) {
            Ok(t) if !t.contains('\0') => Ok(t.to_string()),
            _ => Err(PackageError::NonUtf8Name {
                path: format!("{rel} -> {}", String::from_utf8_lossy(bytes)),
                hex: hex::encode(bytes),
                where_: self.where_.clone(),
            }),
        }
    }

    /// Refuse to descend into a folder deeper than [`MAX_DEPTH`]: the walk recurses, and a
    /// hostile tree (thousands of nested folders) must end in an error, not a stack
    /// overflow that kills the process on every re-run.
    fn check_depth(&self, rel_dir: &str) -> Result<(), PackageError> {
        if rel_dir.split('/').count() > MAX_DEPTH {
            return Err(PackageError::TooDeep {
                path: format!(
                    "{}/...",
                    rel_dir.split('/').take(3).collect::<Vec<_>>().join("/")
                ),
                where_: self.where_.clone(),
                limit: MAX_DEPTH,
            });
        }
        Ok(())
    }

    fn add_file(&mut self, rel: String, name: &str, size: u64, exec: bool, content: Content) {
        if let Some(w) = secret_warning(&rel, name) {
            self.warnings.push(w);
        }
        self.entries.push(Entry {
            rel,
            kind: Kind::File {
                size,
                exec,
                content,
            },
        });
    }

    fn add_symlink(&mut self, rel: String, target: String) -> Result<(), PackageError> {
        if !symlink_stays_inside(&rel, &target) {
            return Err(PackageError::SymlinkOutside { path: rel, target });
        }
        self.entries.push(Entry {
            rel,
            kind: Kind::Symlink { target },
        });
        Ok(())
    }

    fn finish(mut self, root: PathBuf) -> Result<ModulePlan, PackageError> {
        self.entries.sort_by(|a, b| a.rel.cmp(&b.rel));
        // Each link was checked on its own text; a chain (`a/l -> ..`, `x -> a/l/..`) can
        // still climb out, so resolve every link through the links being packed.
        let links: std::collections::HashMap<&str, &str> = self
            .entries
            .iter()
            .filter_map(|e| match &e.kind {
                Kind::Symlink { target } => Some((e.rel.as_str(), target.as_str())),
                Kind::File { .. } => None,
            })
            .collect();
        for (rel, target) in &links {
            if !link_resolves_inside(&links, rel) {
                return Err(PackageError::SymlinkOutside {
                    path: rel.to_string(),
                    target: format!("{target}, through other links"),
                });
            }
        }
        self.excluded.sort();
        let kind = self.root;
        let has_tf = self.entries.iter().any(|e| {
            let wanted = match kind {
                ArchiveRoot::Module => e.rel.ends_with(".tf") || e.rel.ends_with(".tf.json"),
                ArchiveRoot::StackComponent => e.rel.ends_with(".tfcomponent.hcl"),
            };
            !e.rel.contains('/') && wanted && matches!(e.kind, Kind::File { .. })
        });
        if !has_tf && kind == ArchiveRoot::StackComponent {
            return Err(PackageError::NoComponentFiles {
                where_: self.where_,
            });
        }
        if !has_tf {
            return Err(PackageError::NoTfFiles {
                where_: self.where_,
            });
        }
        let total_size = self
            .entries
            .iter()
            .map(|e| match e.kind {
                Kind::File { size, .. } => size,
                Kind::Symlink { .. } => 0,
            })
            .sum();
        Ok(ModulePlan {
            root,
            files: self.entries.iter().map(|e| e.rel.clone()).collect(),
            excluded: self.excluded,
            warnings: self.warnings,
            total_size,
            entries: self.entries,
        })
    }
}

/// Does a link at `rel` (module-relative) pointing at `target` resolve inside the module?
fn symlink_stays_inside(rel: &str, target: &str) -> bool {
    let t = Path::new(target);
    if t.is_absolute() || target.starts_with('/') || target.starts_with('\\') {
        return false;
    }
    // Depth of the link's parent directory, then walk the target lexically.
    let mut depth: i64 = rel.split('/').count() as i64 - 1;
    for c in t.components() {
        match c {
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            _ => return false,
        }
    }
    true
}

/// Resolve the link at `rel` inside the tree of packed entries, following links met on
/// the way (at most 40 hops, as the kernel does); false if the walk ever leaves the root.
fn link_resolves_inside(links: &std::collections::HashMap<&str, &str>, rel: &str) -> bool {
    let mut stack: Vec<&str> = rel.split('/').collect();
    stack.pop(); // the link's own name: its target is relative to its folder
    let mut pending: std::collections::VecDeque<&str> = match links.get(rel) {
        Some(t) => t.split('/').collect(),
        None => return true,
    };
    if links[rel].starts_with('/') || links[rel].starts_with('\\') {
        return false;
    }
    let mut hops = 0;
    while let Some(c) = pending.pop_front() {
        match c {
            "" | "." => {}
            ".." => {
                if stack.pop().is_none() {
                    return false;
                }
            }
            name => {
                stack.push(name);
                if let Some(t) = links.get(stack.join("/").as_str()) {
                    hops += 1;
                    if hops > 40 || t.starts_with('/') || t.starts_with('\\') {
                        return false;
                    }
                    stack.pop();
                    for part in t.split('/').rev() {
                        pending.push_front(part);
                    }
                }
            }
        }
    }
    true
}

/// Why an archive path (`/`-separated, directories ending in `/`) is unsafe to extract.
fn unsafe_rel(rel: &str) -> Option<&'static str> {
    let body = rel.strip_suffix('/').unwrap_or(rel);
    if body.starts_with('/') || body.starts_with('\\') {
        return Some("an absolute path");
    }
    for part in body.split('/') {
        match part {
            "" => return Some("an empty component"),
            "." | ".." => return Some("a `.` or `..` component"),
            p if p.contains('\0') => return Some("a NUL byte"),
            _ => {}
        }
    }
    None
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> PackageError + '_ {
    move |source| PackageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Work out what [`package_dir`] would pack, exclude and warn about, without writing.
pub fn plan_dir(dir: &Path, opts: &ModulePackageOptions) -> Result<ModulePlan, PackageError> {
    let meta = match std::fs::metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(PackageError::MissingDir {
                path: dir.to_path_buf(),
            })
        }
        Err(source) => {
            return Err(PackageError::Unreadable {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    if !meta.is_dir() {
        return Err(PackageError::NotADir {
            path: dir.to_path_buf(),
        });
    }
    let ignore_path = dir.join(".terraformignore");
    let ignore_text = match std::fs::read_to_string(&ignore_path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(PackageError::Unreadable {
                path: ignore_path,
                source,
            })
        }
    };
    let mut c = Collector::new(&dir.display().to_string(), ignore_text.as_deref())?;
    c.skip = opts.skip.clone();
    c.root = opts.root;
    walk_dir(dir, dir, "", &mut c)?;
    c.finish(dir.to_path_buf())
}

fn walk_dir(root: &Path, dir: &Path, prefix: &str, c: &mut Collector) -> Result<(), PackageError> {
    let rd = std::fs::read_dir(dir).map_err(|source| PackageError::Unreadable {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut children = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|source| PackageError::Unreadable {
            path: dir.to_path_buf(),
            source,
        })?;
        children.push(ent);
    }
    children.sort_by_key(|e| e.file_name());
    for ent in children {
        let path = ent.path();
        let name = c.entry_name(prefix, os_bytes(&ent.file_name()))?;
        let rel = format!("{prefix}{name}");
        let ft = ent.file_type().map_err(io_err(&path))?;
        if ft.is_dir() {
            if c.consider(&rel, &name, true) {
                c.check_depth(&rel)?;
                walk_dir(root, &path, &format!("{rel}/"), c)?;
            }
        } else if !c.consider(&rel, &name, false) {
            continue;
        } else if ft.is_symlink() {
            let target = std::fs::read_link(&path).map_err(io_err(&path))?;
            let target = c.link_target(&rel, os_bytes(target.as_os_str()))?;
            c.add_symlink(rel, target)?;
        } else if ft.is_file() {
            let meta = ent.metadata().map_err(io_err(&path))?;
            let exec = is_exec(&meta);
            c.add_file(rel, &name, meta.len(), exec, Content::Disk(path));
        } else {
            c.warnings
                .push(format!("{rel} is not a regular file or symlink; skipped"));
        }
    }
    let _ = root;
    Ok(())
}

#[cfg(unix)]
fn is_exec(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_exec(_meta: &std::fs::Metadata) -> bool {
    false
}

/// Pack a module directory into a deterministic `.tar.gz` at `out` (atomically).
pub fn package_dir(
    dir: &Path,
    out: &Path,
    opts: &ModulePackageOptions,
) -> Result<ModuleArchive, PackageError> {
    let plan = plan_dir(dir, opts)?;
    write_archive(plan, None, &dir.display().to_string(), out, opts)
}

/// Pack a module from a git commit (optionally a subdirectory of it). The same content
/// gives the same bytes as [`package_dir`] on a checkout.
pub fn package_git_tree(
    repo: &git2::Repository,
    commit: git2::Oid,
    subdir: Option<&Path>,
    out: &Path,
    opts: &ModulePackageOptions,
) -> Result<ModuleArchive, PackageError> {
    let where_ = match subdir {
        Some(s) => format!("{commit}:{}", s.display()),
        None => commit.to_string(),
    };
    let git = |what: &str| {
        let what = format!("{what} ({where_})");
        move |source| PackageError::Git { what, source }
    };
    let commit_obj = repo.find_commit(commit).map_err(git("commit"))?;
    let mut tree = commit_obj.tree().map_err(git("commit tree"))?;
    if let Some(sub) = subdir.filter(|s| !s.as_os_str().is_empty() && *s != Path::new(".")) {
        let entry = tree.get_path(sub).map_err(git("module subdirectory"))?;
        tree = repo
            .find_tree(entry.id())
            .map_err(git("module subdirectory (not a directory)"))?;
    }
    let ignore_text = match tree.get_name(".terraformignore") {
        Some(e) => {
            let blob = repo.find_blob(e.id()).map_err(git(".terraformignore"))?;
            Some(String::from_utf8_lossy(blob.content()).into_owned())
        }
        None => None,
    };
    let mut c = Collector::new(&where_, ignore_text.as_deref())?;
    c.root = opts.root;
    walk_tree(repo, &tree, "", &mut c, &where_)?;
    let plan = c.finish(PathBuf::from(&where_))?;
    write_archive(plan, Some(repo), &where_, out, opts)
}

fn walk_tree(
    repo: &git2::Repository,
    tree: &git2::Tree,
    prefix: &str,
    c: &mut Collector,
    where_: &str,
) -> Result<(), PackageError> {
    for e in tree.iter() {
        let name = c.entry_name(prefix, e.name_bytes())?;
        let rel = format!("{prefix}{name}");
        let git = |source| PackageError::Git {
            what: format!("{rel} ({where_})"),
            source,
        };
        match e.kind() {
            Some(git2::ObjectType::Tree) => {
                if c.consider(&rel, &name, true) {
                    c.check_depth(&rel)?;
                    let sub = repo.find_tree(e.id()).map_err(git)?;
                    walk_tree(repo, &sub, &format!("{rel}/"), c, where_)?;
                }
            }
            Some(git2::ObjectType::Blob) => {
                if !c.consider(&rel, &name, false) {
                    continue;
                }
                let mode = e.filemode();
                if mode == 0o120000 {
                    let blob = repo.find_blob(e.id()).map_err(git)?;
                    let target = c.link_target(&rel, blob.content())?;
                    c.add_symlink(rel, target)?;
                } else {
                    let odb = repo.odb().map_err(git)?;
                    let (size, _) = odb.read_header(e.id()).map_err(git)?;
                    c.add_file(
                        rel,
                        &name,
                        size as u64,
                        mode == 0o100755,
                        Content::Blob(e.id()),
                    );
                }
            }
            _ => c
                .warnings
                .push(format!("{rel} is a submodule; submodules are not packed")),
        }
    }
    Ok(())
}

/// Writes into `inner`, hashing and counting, and refuses to go over `limit`.
struct LimitHashWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
    limit: u64,
}

impl<W: Write> Write for LimitHashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written + buf.len() as u64 > self.limit {
            return Err(io::Error::other(SizeLimit));
        }
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Hashes the uncompressed tar stream on its way into the gzip encoder.
struct TarHashWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for TarHashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[derive(Debug)]
struct SizeLimit;
impl std::fmt::Display for SizeLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("archive size limit exceeded")
    }
}
impl std::error::Error for SizeLimit {}

fn is_size_limit(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|r| r.is::<SizeLimit>())
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h
}

fn write_archive(
    plan: ModulePlan,
    repo: Option<&git2::Repository>,
    what: &str,
    out: &Path,
    opts: &ModulePackageOptions,
) -> Result<ModuleArchive, PackageError> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".tfpub-module-")
        .suffix(".tmp")
        .tempfile_in(&parent)
        .map_err(io_err(&parent))?;
    let errs = OutErrors { what, out, opts };
    let sink = LimitHashWriter {
        inner: BufWriter::with_capacity(
            256 * 1024,
            tmp.as_file().try_clone().map_err(|e| errs.map(e))?,
        ),
        hasher: Sha256::new(),
        written: 0,
        limit: opts.max_size,
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let gz = ParGzWriter::new(sink, MODULE_GZIP_LEVEL, workers).map_err(|e| errs.map(e))?;
    let mut tar = tar::Builder::new(TarHashWriter {
        inner: gz,
        hasher: Sha256::new(),
    });
    tar.follow_symlinks(false);
    for (rel, entry) in sorted_items(&plan) {
        append_item(&mut tar, &rel, entry, repo, &errs)?;
    }
    let TarHashWriter {
        inner: gz,
        hasher: tar_hasher,
    } = tar.into_inner().map_err(|e| errs.map(e))?;
    let LimitHashWriter {
        inner,
        hasher,
        written,
        ..
    } = gz.finish().map_err(|e| errs.map(e))?;
    inner
        .into_inner()
        .map_err(|e| errs.map(e.into_error()))?
        .sync_all()
        .map_err(|e| errs.map(e))?;
    tmp.persist(out).map_err(|e| PackageError::Io {
        path: out.to_path_buf(),
        source: e.error,
    })?;
    Ok(ModuleArchive {
        path: out.to_path_buf(),
        sha256: hex::encode(hasher.finalize()),
        tar_sha256: hex::encode(tar_hasher.finalize()),
        size: written,
        files: plan.files,
        excluded: plan.excluded,
        warnings: plan.warnings,
    })
}

/// Turns a write error of the archive into the size-limit refusal or an I/O error on the
/// output file.
struct OutErrors<'a> {
    what: &'a str,
    out: &'a Path,
    opts: &'a ModulePackageOptions,
}

impl OutErrors<'_> {
    fn map(&self, e: io::Error) -> PackageError {
        if is_size_limit(&e) {
            PackageError::TooLarge {
                what: self.what.to_string(),
                limit: self.opts.max_size,
                limit_human: format!("{:.1} MiB", self.opts.max_size as f64 / (1024.0 * 1024.0)),
            }
        } else {
            PackageError::Io {
                path: self.out.to_path_buf(),
                source: e,
            }
        }
    }
}

/// One sorted stream of the plan's entries and their parent directories (derived from
/// the entries, so a directory and a git tree give the same list).
fn sorted_items(plan: &ModulePlan) -> Vec<(String, Option<&Entry>)> {
    let mut dirs = BTreeSet::new();
    for e in &plan.entries {
        let mut acc = String::new();
        let parts: Vec<&str> = e.rel.split('/').collect();
        for p in &parts[..parts.len() - 1] {
            acc.push_str(p);
            acc.push('/');
            dirs.insert(acc.clone());
        }
    }
    let mut items: Vec<(String, Option<&Entry>)> = dirs.into_iter().map(|d| (d, None)).collect();
    items.extend(plan.entries.iter().map(|e| (e.rel.clone(), Some(e))));
    items.sort_by(|a, b| a.0.cmp(&b.0));
    items
}

/// Appends one directory (`None`), symlink or file to the archive.
fn append_item<W: Write>(
    tar: &mut tar::Builder<W>,
    rel: &str,
    entry: Option<&Entry>,
    repo: Option<&git2::Repository>,
    errs: &OutErrors<'_>,
) -> Result<(), PackageError> {
    // Every name was checked on the way in; this is the last line of defence, so no
    // change elsewhere can ever make the packer write an entry that climbs out.
    if let Some(reason) = unsafe_rel(rel) {
        return Err(PackageError::UnsafePath {
            path: rel.to_string(),
            where_: errs.what.to_string(),
            reason: reason.to_string(),
        });
    }
    let Some(entry) = entry else {
        let mut h = header(tar::EntryType::Directory, 0o755, 0);
        return tar
            .append_data(&mut h, rel, io::empty())
            .map_err(|e| errs.map(e));
    };
    match &entry.kind {
        Kind::Symlink { target } => {
            let mut h = header(tar::EntryType::Symlink, 0o777, 0);
            tar.append_link(&mut h, rel, target)
                .map_err(|e| errs.map(e))
        }
        Kind::File {
            size,
            exec,
            content,
        } => {
            let mode = if *exec { 0o755 } else { 0o644 };
            let mut h = header(tar::EntryType::Regular, mode, *size);
            match content {
                Content::Disk(path) => append_disk_file(tar, &mut h, rel, path, *size, errs),
                Content::Blob(oid) => {
                    let repo = repo.expect("blob entries come from a repository");
                    let blob = repo.find_blob(*oid).map_err(|source| PackageError::Git {
                        what: format!("{rel} ({})", errs.what),
                        source,
                    })?;
                    tar.append_data(&mut h, rel, blob.content())
                        .map_err(|e| errs.map(e))
                }
            }
        }
    }
}

/// Streams a file from disk into the archive; a read error names the file, and a file
/// that changed size since it was planned is refused.
fn append_disk_file<W: Write>(
    tar: &mut tar::Builder<W>,
    h: &mut tar::Header,
    rel: &str,
    path: &Path,
    size: u64,
    errs: &OutErrors<'_>,
) -> Result<(), PackageError> {
    let f = File::open(path).map_err(|source| PackageError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    let mut counted = CountingReader {
        inner: f.take(size),
        n: 0,
        err: None,
    };
    let r = tar.append_data(h, rel, &mut counted);
    if let Some(source) = counted.err.take() {
        return Err(PackageError::Unreadable {
            path: path.to_path_buf(),
            source,
        });
    }
    r.map_err(|e| errs.map(e))?;
    if counted.n != size {
        return Err(PackageError::Changed {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Counts bytes and keeps read errors apart from write errors, so an unreadable file is
/// reported by its own path.
struct CountingReader<R> {
    inner: R,
    n: u64,
    err: Option<io::Error>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.n += n as u64;
                Ok(n)
            }
            Err(e) => {
                let kind = e.kind();
                self.err = Some(e);
                Err(io::Error::new(kind, "read failed"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlink_chains_are_followed() {
        let links: std::collections::HashMap<&str, &str> = [
            ("a/l", ".."),
            ("x", "a/l/.."),
            ("y", "a/l/b"),
            ("loop1", "loop2"),
            ("loop2", "loop1"),
        ]
        .into_iter()
        .collect();
        assert!(link_resolves_inside(&links, "a/l"));
        assert!(
            !link_resolves_inside(&links, "x"),
            "x climbs out through a/l"
        );
        assert!(link_resolves_inside(&links, "y"));
        assert!(!link_resolves_inside(&links, "loop1"), "a loop is refused");
    }

    #[test]
    fn symlink_scope() {
        assert!(symlink_stays_inside("a", "b"));
        assert!(symlink_stays_inside("d/a", "../b"));
        assert!(!symlink_stays_inside("a", "../b"));
        assert!(!symlink_stays_inside("d/a", "../../b"));
        assert!(!symlink_stays_inside("a", "/etc/passwd"));
        assert!(symlink_stays_inside("d/a", "./x/../y"));
    }

    fn git_repo() -> (tempfile::TempDir, git2::Repository) {
        let tmp = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(tmp.path()).unwrap();
        (tmp, repo)
    }

    /// A raw tree object (bypassing libgit2's name checks, as a hostile repository can).
    fn raw_tree(repo: &git2::Repository, entries: &[(&str, &[u8], git2::Oid)]) -> git2::Oid {
        let mut data = Vec::new();
        for (mode, name, oid) in entries {
            data.extend_from_slice(mode.as_bytes());
            data.push(b' ');
            data.extend_from_slice(name);
            data.push(0);
            data.extend_from_slice(oid.as_bytes());
        }
        repo.odb()
            .unwrap()
            .write(git2::ObjectType::Tree, &data)
            .unwrap()
    }

    fn commit_tree(repo: &git2::Repository, tree: git2::Oid) -> git2::Oid {
        let sig = git2::Signature::new("t", "t@example.com", &git2::Time::new(0, 0)).unwrap();
        let tree = repo.find_tree(tree).unwrap();
        repo.commit(None, &sig, &sig, "c", &tree, &[]).unwrap()
    }

    /// Commits `tree` and packages that commit into a throwaway folder.
    fn package_tree(
        repo: &git2::Repository,
        tree: git2::Oid,
    ) -> Result<ModuleArchive, PackageError> {
        let c = commit_tree(repo, tree);
        let out = tempfile::tempdir().unwrap();
        package_git_tree(
            repo,
            c,
            None,
            &out.path().join("m.tar.gz"),
            &ModulePackageOptions::default(),
        )
    }

    /// Issue 14 point 16: two names that differ only in invalid UTF-8 bytes used to
    /// become the same U+FFFD name, and one file was silently lost. Both sources refuse,
    /// naming the bytes.
    #[cfg(unix)]
    #[test]
    fn non_utf8_names_are_refused_with_their_bytes() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.tf"), "").unwrap();
        for b in [b"x\xff.tf", b"x\xfe.tf"] {
            std::fs::write(dir.path().join(std::ffi::OsStr::from_bytes(b)), "").unwrap();
        }
        let err = plan_dir(dir.path(), &ModulePackageOptions::default()).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, PackageError::NonUtf8Name { .. }) && msg.contains("78fe2e7466"),
            "{msg}"
        );
        assert!(crate::error::Hint::hint(&err)
            .unwrap_or_default()
            .contains("rename"));

        let (_t, repo) = git_repo();
        let blob = repo.blob(b"").unwrap();
        let tree = raw_tree(
            &repo,
            &[("100644", b"main.tf", blob), ("100644", b"x\xff.tf", blob)],
        );
        let err = package_tree(&repo, tree).unwrap_err();
        assert!(err.to_string().contains("78ff2e7466"), "{err}");
    }

    /// Issue 14 point 17: deep trees end in an error, not a stack overflow (SIGABRT).
    #[test]
    fn deep_trees_are_refused_not_overflowing() {
        // On disk: deeper than the limit (path length keeps this well below PATH_MAX).
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.tf"), "").unwrap();
        let deep = (0..MAX_DEPTH + 5).fold(dir.path().to_path_buf(), |p, _| p.join("d"));
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("x.tf"), "").unwrap();
        let err = plan_dir(dir.path(), &ModulePackageOptions::default()).unwrap_err();
        assert!(
            matches!(
                err,
                PackageError::TooDeep {
                    limit: MAX_DEPTH,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("128 folders deep"), "{err}");

        // In git: 20,000 nested trees, as in the report.
        let (_t, repo) = git_repo();
        let blob = repo.blob(b"").unwrap();
        let mut tree = raw_tree(&repo, &[("100644", b"x.tf", blob)]);
        for _ in 0..20_000 {
            tree = raw_tree(&repo, &[("40000", b"d", tree)]);
        }
        let root = raw_tree(
            &repo,
            &[("40000", b"d", tree), ("100644", b"main.tf", blob)],
        );
        let err = package_tree(&repo, root).unwrap_err();
        assert!(matches!(err, PackageError::TooDeep { .. }), "{err}");
    }

    /// Issue 14 point 10 (tfpub's own packager): a git tree can hold entries no archive
    /// may carry (`..`, a name with `/`, an empty name) and links out of the module; all
    /// are refused, so the packer never writes such an entry.
    #[test]
    fn git_trees_with_escaping_entries_are_refused() {
        let (_t, repo) = git_repo();
        let blob = repo.blob(b"").unwrap();
        let pack = |tree: git2::Oid| package_tree(&repo, tree);
        let sub = raw_tree(&repo, &[("100644", b"evil.tf", blob)]);
        for (mode, name, oid) in [
            ("40000", &b".."[..], sub),
            ("100644", &b"a/../../b"[..], blob),
            ("100644", &b"."[..], blob),
        ] {
            let tree = raw_tree(&repo, &[(mode, name, oid), ("100644", b"main.tf", blob)]);
            let err = pack(tree).unwrap_err();
            assert!(
                matches!(err, PackageError::UnsafePath { .. }),
                "{}: {err}",
                String::from_utf8_lossy(name)
            );
        }
        for target in [&b"../../etc/passwd"[..], b"/etc/passwd", b"sub/../../x"] {
            let link = repo.blob(target).unwrap();
            let tree = raw_tree(
                &repo,
                &[("100644", b"main.tf", blob), ("120000", b"passwd", link)],
            );
            let err = pack(tree).unwrap_err();
            assert!(
                matches!(err, PackageError::SymlinkOutside { .. }),
                "{}: {err}",
                String::from_utf8_lossy(target)
            );
        }
        assert_eq!(unsafe_rel("a/../b"), Some("a `.` or `..` component"));
        assert_eq!(unsafe_rel("/etc/x"), Some("an absolute path"));
        assert_eq!(unsafe_rel("a//b"), Some("an empty component"));
        assert_eq!(unsafe_rel("a/b/"), None);
    }

    #[test]
    fn secret_names() {
        assert!(secret_warning(".env", ".env").is_some());
        assert!(secret_warning("prod-secrets.tfvars", "prod-secrets.tfvars").is_some());
        assert!(secret_warning("id_rsa", "id_rsa").is_some());
        assert!(secret_warning("cert.pem", "cert.pem").is_some());
        assert!(secret_warning("main.tf", "main.tf").is_none());
        assert!(secret_warning("prod.tfvars", "prod.tfvars").is_none());
    }
}
