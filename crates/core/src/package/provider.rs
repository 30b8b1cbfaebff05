//! Provider release files as bytes and checksums: per-platform zips, the manifest and
//! `SHA256SUMS`, built from binaries or loaded (and checked) from a goreleaser `dist/`.
//!
//! Terraform installs a provider by downloading the platform zip, checking it against
//! `SHA256SUMS`, and checking that file's detached signature. Signing that file (or
//! checking the signature a `dist/` came with) is not done here: it belongs to the
//! signing stage of the publish pipeline (`publish::provider::sign`). The executable bit
//! must be set inside the zip (a 0644 binary installs silently and then fails to run),
//! and the manifest's protocol versions must be right or the provider cannot be
//! installed. Zips are deterministic (fixed timestamp, sorted, deflate) so a rebuild of
//! the same binaries gives the same hashes.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

use super::PackageError;

/// The operating systems a provider binary may be for: Go's GOOS values but the mobile
/// and WebAssembly ones (`go tool dist list`), where a Terraform CLI can run.
pub(crate) const KNOWN_OS: &[&str] = &[
    "aix",
    "darwin",
    "dragonfly",
    "freebsd",
    "illumos",
    "linux",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "windows",
];
/// Go's GOARCH values but WebAssembly. Any OS with any architecture is accepted (older
/// providers shipped pairs Go has since dropped, such as darwin_386): the lists are
/// there to catch a misspelt platform (`linux_x86_64`, `macos_arm64`) before any upload.
pub(crate) const KNOWN_ARCH: &[&str] = &[
    "386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le", "mipsle", "ppc64",
    "ppc64le", "riscv64", "s390x",
];

/// One provider binary for one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryInput {
    pub os: String,
    pub arch: String,
    pub path: PathBuf,
}

/// One platform zip of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformFile {
    pub os: String,
    pub arch: String,
    pub filename: String,
    pub path: PathBuf,
    /// Lower-case hex SHA-256 of the zip.
    pub sha256: String,
    pub size: u64,
}

/// A complete provider release on disk, signed or still to be signed (see
/// [`ProviderRelease::signature_given`]).
#[derive(Debug, Clone)]
pub struct ProviderRelease {
    pub name: String,
    pub version: semver::Version,
    pub dir: PathBuf,
    /// Sorted by os, then arch.
    pub platforms: Vec<PlatformFile>,
    pub shasums: PathBuf,
    /// Where the detached signature of `shasums` is, or is to be written.
    pub signature: PathBuf,
    /// The signature came with the release (a `dist/` folder): it is to be checked
    /// against the signing key, not written.
    pub signature_given: bool,
    pub manifest: Option<PathBuf>,
    pub protocols: Vec<String>,
}

fn check_platform(os: &str, arch: &str, from: &str) -> Result<(), PackageError> {
    if KNOWN_OS.contains(&os) && KNOWN_ARCH.contains(&arch) {
        Ok(())
    } else {
        Err(PackageError::UnknownPlatform {
            os: os.to_string(),
            arch: arch.to_string(),
            from: from.to_string(),
        })
    }
}

/// Parse `OS_ARCH=PATH` (e.g. `linux_amd64=dist/terraform-provider-foo`).
pub fn parse_binary_arg(s: &str) -> Result<BinaryInput, PackageError> {
    let bad = |reason: &str| PackageError::BadBinaryArg {
        arg: s.to_string(),
        reason: reason.to_string(),
    };
    let (platform, path) = s.split_once('=').ok_or_else(|| bad("missing '='"))?;
    let (os, arch) = platform
        .split_once('_')
        .ok_or_else(|| bad("platform must be OS_ARCH"))?;
    if path.is_empty() {
        return Err(bad("empty path"));
    }
    check_platform(os, arch, s)?;
    Ok(BinaryInput {
        os: os.to_string(),
        arch: arch.to_string(),
        path: PathBuf::from(path),
    })
}

/// Find `dir/OS_ARCH/terraform-provider-NAME*` binaries, sorted by platform.
pub fn discover_binaries(dir: &Path, name: &str) -> Result<Vec<BinaryInput>, PackageError> {
    let rd = std::fs::read_dir(dir).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            PackageError::MissingDir {
                path: dir.to_path_buf(),
            }
        } else {
            PackageError::Unreadable {
                path: dir.to_path_buf(),
                source,
            }
        }
    })?;
    let prefix = format!("terraform-provider-{name}");
    let mut out = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|source| PackageError::Unreadable {
            path: dir.to_path_buf(),
            source,
        })?;
        if !ent.path().is_dir() {
            continue;
        }
        let platform = ent.file_name().to_string_lossy().into_owned();
        let Some((os, arch)) = platform.split_once('_') else {
            continue;
        };
        let sub = ent.path();
        let mut found: Vec<PathBuf> = std::fs::read_dir(&sub)
            .map_err(|source| PackageError::Unreadable {
                path: sub.clone(),
                source,
            })?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .map(|e| e.path())
            .collect();
        found.sort();
        // A regular file wins; when there is none, the first match is kept so that
        // packaging names what it is (a folder, a FIFO) instead of "no binaries".
        let pick = found.iter().position(|p| p.is_file()).unwrap_or(0);
        if let Some(path) = (!found.is_empty()).then(|| found.swap_remove(pick)) {
            check_platform(os, arch, &sub.display().to_string())?;
            out.push(BinaryInput {
                os: os.to_string(),
                arch: arch.to_string(),
                path,
            });
        }
    }
    if out.is_empty() {
        return Err(PackageError::NoBinaries {
            dir: dir.to_path_buf(),
            name: name.to_string(),
        });
    }
    out.sort_by(|a, b| (&a.os, &a.arch).cmp(&(&b.os, &b.arch)));
    Ok(out)
}

/// SHA-256 of a file, streamed with a large buffer; lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String, PackageError> {
    let mut f = File::open(path).map_err(|source| PackageError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1024 * 1024];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|source| PackageError::Unreadable {
                path: path.to_path_buf(),
                source,
            })?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Write `data` to `path` atomically (temp file beside it, then rename).
fn write_atomic(
    path: &Path,
    f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), PackageError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let io_err = |source| PackageError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = tempfile::Builder::new()
        .prefix(".tfpub-")
        .suffix(".tmp")
        .tempfile_in(&parent)
        .map_err(io_err)?;
    {
        let mut w = BufWriter::new(tmp.as_file());
        f(&mut w).map_err(io_err)?;
        w.flush().map_err(io_err)?;
    }
    tmp.as_file().sync_all().map_err(io_err)?;
    tmp.persist(path).map_err(|e| io_err(e.error))?;
    Ok(())
}

fn zip_name(name: &str, version: &semver::Version, os: &str, arch: &str) -> String {
    format!("terraform-provider-{name}_{version}_{os}_{arch}.zip")
}

fn write_zip(
    zip_path: &Path,
    entry_name: &str,
    binary: &Path,
    platform: &str,
    zipping: Zipping,
) -> Result<(), PackageError> {
    let mut src = File::open(binary).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            PackageError::MissingBinary {
                platform: platform.to_string(),
                path: binary.to_path_buf(),
            }
        } else {
            PackageError::Unreadable {
                path: binary.to_path_buf(),
                source,
            }
        }
    })?;
    // What was opened is what is zipped: check it again (it may have been replaced
    // since `check_binaries`).
    let meta = src.metadata().map_err(|source| PackageError::Unreadable {
        path: binary.to_path_buf(),
        source,
    })?;
    if let Some(problem) = not_a_usable_file(&meta) {
        return Err(PackageError::BadBinary {
            platform: platform.to_string(),
            path: binary.to_path_buf(),
            problem: problem.to_string(),
        });
    }
    let parent = match zip_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let io_err = |source| PackageError::Io {
        path: zip_path.to_path_buf(),
        source,
    };
    let zerr = |e: zip::result::ZipError| PackageError::Zip {
        path: zip_path.to_path_buf(),
        reason: e.to_string(),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".tfpub-")
        .suffix(".tmp")
        .tempfile_in(&parent)
        .map_err(io_err)?;
    let file = tmp.reopen().map_err(io_err)?;
    let mut zw = zip::ZipWriter::new(BufWriter::new(file));
    let deflate = worth_deflating(&mut src).map_err(|source| PackageError::Unreadable {
        path: binary.to_path_buf(),
        source,
    })?;
    let opts = if deflate {
        SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(i64::from(zipping.level)))
    } else {
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored)
    };
    let opts = opts
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o755)
        .large_file(false);
    zw.start_file(entry_name, opts).map_err(zerr)?;
    io::copy(&mut src, &mut zw).map_err(|source| PackageError::Unreadable {
        path: binary.to_path_buf(),
        source,
    })?;
    let mut w = zw.finish().map_err(zerr)?;
    w.flush().map_err(io_err)?;
    drop(w);
    if zipping.durable {
        tmp.as_file().sync_all().map_err(io_err)?;
    }
    tmp.persist(zip_path).map_err(|e| io_err(e.error))?;
    Ok(())
}

/// Whether deflating `src` is worth its CPU time. Deflate at level 5-6 runs at ~25 MiB/s
/// on bytes it cannot shrink (random data, payloads already compressed or encrypted) and
/// then saves nothing; for those the zip entry is stored instead. The decision comes from
/// three 128 KiB samples (start, middle, end) compressed at the fastest level, so it is
/// deterministic: the same binary always gives the same zip. Real provider binaries
/// shrink by 40-60% and are deflated as before. Leaves `src` at offset 0.
fn worth_deflating(src: &mut File) -> io::Result<bool> {
    use std::io::{Seek, SeekFrom};
    const WINDOW: u64 = 128 * 1024;
    let len = src.metadata()?.len();
    if len < 3 * WINDOW {
        src.seek(SeekFrom::Start(0))?;
        return Ok(true);
    }
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut buf = vec![0u8; WINDOW as usize];
    let mut sampled = 0u64;
    for off in [0, len / 2 - WINDOW / 2, len - WINDOW] {
        src.seek(SeekFrom::Start(off))?;
        src.read_exact(&mut buf)?;
        enc.write_all(&buf)?;
        sampled += WINDOW;
    }
    let packed = enc.finish()?.len() as u64;
    src.seek(SeekFrom::Start(0))?;
    // Deflate only when it saves at least 3% on the samples.
    Ok(packed * 100 < sampled * 97)
}

/// The manifest tfpub writes for `protocols` (also how a pulled release recreates one its
/// SHA256SUMS lists, since registries do not serve manifests).
pub fn manifest_json(protocols: &[String]) -> String {
    let v = serde_json::json!({"version": 1, "metadata": {"protocol_versions": protocols}});
    let mut s = serde_json::to_string(&v).expect("json");
    s.push('\n');
    s
}

fn shasums_text(entries: &mut [(String, String)]) -> String {
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries
        .iter()
        .map(|(file, sha)| format!("{sha}  {file}\n"))
        .collect()
}

/// Write `bytes` to `path` atomically: what the signing stage uses for the signature.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), PackageError> {
    write_atomic(path, |w| w.write_all(bytes))
}

/// The deflate level of the zips tfpub builds. Level 5 of zlib-rs packs executables
/// about 15% faster than level 6 for 0.2% more bytes (measured on 12 slices of real
/// executables, BENCHMARKS.md); zips stay byte-identical across runs and machines.
pub const ZIP_LEVEL: u32 = 5;

/// The levels earlier tfpub versions zipped at (newest first). A version the registry
/// holds from the same binaries zipped at one of them is recognised as the same release
/// (`provider publish` re-zips at that level to compare), not refused as other content.
pub const EARLIER_ZIP_LEVELS: &[u32] = &[6];

/// How a release's zips are written: the deflate level, and whether each zip is flushed
/// to disk before it is renamed into place (`durable`, for `provider package -o`; a
/// publish works in a temporary folder and skips the cost, ~2 ms per MiB here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zipping {
    pub level: u32,
    pub durable: bool,
}

impl Zipping {
    /// Today's level ([`ZIP_LEVEL`]).
    pub fn new(durable: bool) -> Zipping {
        Zipping {
            level: ZIP_LEVEL,
            durable,
        }
    }
}

/// Build a complete release, still to be signed, in `out_dir` from per-platform binaries.
/// `durable` flushes each zip to disk before it is renamed into place (for
/// `provider package -o`; a publish works in a temporary folder and skips the cost,
/// ~2 ms per MiB here).
pub fn package_binaries(
    name: &str,
    version: &semver::Version,
    binaries: &[BinaryInput],
    protocols: &[String],
    out_dir: &Path,
    durable: bool,
) -> Result<ProviderRelease, PackageError> {
    package_binaries_notify(
        name,
        version,
        binaries,
        protocols,
        out_dir,
        Zipping::new(durable),
        &|_| {},
    )
}

/// What [`package_binaries_notify`] reports while it works (from its worker threads).
#[derive(Debug)]
pub enum PackEvent<'a> {
    /// Every binary was checked (platform, name, a non-empty regular file): no input
    /// error can follow, only I/O.
    Checked,
    /// One platform's zip is complete and hashed.
    Ready(&'a PlatformFile),
}

/// [`package_binaries`] zipped as `zipping` says (at [`ZIP_LEVEL`], or one of
/// [`EARLIER_ZIP_LEVELS`] to rebuild what an earlier tfpub built), calling `on` once the
/// inputs are checked and as each zip is ready, so a publish can create and upload a
/// platform while the next ones are zipped.
pub fn package_binaries_notify(
    name: &str,
    version: &semver::Version,
    binaries: &[BinaryInput],
    protocols: &[String],
    out_dir: &Path,
    zipping: Zipping,
    on: &(dyn Fn(PackEvent<'_>) + Sync),
) -> Result<ProviderRelease, PackageError> {
    check_binaries(binaries, name, out_dir)?;
    std::fs::create_dir_all(out_dir).map_err(|source| PackageError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    on(PackEvent::Checked);
    let build = |b: &BinaryInput| {
        let p = zip_platform(name, version, b, out_dir, zipping)?;
        on(PackEvent::Ready(&p));
        Ok(p)
    };
    let mut platforms = in_parallel(binaries, build)?;
    platforms.sort_by(|a, b| (&a.os, &a.arch).cmp(&(&b.os, &b.arch)));
    let mut sums: Vec<(String, String)> = platforms
        .iter()
        .map(|p| (p.filename.clone(), p.sha256.clone()))
        .collect();
    let base = format!("terraform-provider-{name}_{version}");
    let manifest = out_dir.join(format!("{base}_manifest.json"));
    write_file(&manifest, manifest_json(protocols).as_bytes())?;
    sums.push((format!("{base}_manifest.json"), sha256_file(&manifest)?));
    let shasums = out_dir.join(format!("{base}_SHA256SUMS"));
    write_file(&shasums, shasums_text(&mut sums).as_bytes())?;
    Ok(ProviderRelease {
        name: name.to_string(),
        version: version.clone(),
        dir: out_dir.to_path_buf(),
        platforms,
        signature: out_dir.join(format!("{base}_SHA256SUMS.sig")),
        signature_given: false,
        shasums,
        manifest: Some(manifest),
        protocols: protocols.to_vec(),
    })
}

/// Every binary is for a known platform, named once, and exists.
fn check_binaries(
    binaries: &[BinaryInput],
    name: &str,
    out_dir: &Path,
) -> Result<(), PackageError> {
    if binaries.is_empty() {
        return Err(PackageError::NoBinaries {
            dir: out_dir.to_path_buf(),
            name: name.to_string(),
        });
    }
    let mut seen = std::collections::BTreeSet::new();
    for b in binaries {
        check_platform(&b.os, &b.arch, &b.path.display().to_string())?;
        if !seen.insert((b.os.clone(), b.arch.clone())) {
            return Err(PackageError::DuplicatePlatform {
                os: b.os.clone(),
                arch: b.arch.clone(),
            });
        }
        check_binary_file(&format!("{}_{}", b.os, b.arch), &b.path)?;
    }
    Ok(())
}

/// `path` is a regular, non-empty file: the only thing that can be a provider binary.
/// Decided from the metadata alone, before the file is opened, so a FIFO never blocks
/// the run on an open that waits for a writer.
fn check_binary_file(platform: &str, path: &Path) -> Result<(), PackageError> {
    let meta = std::fs::metadata(path).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            PackageError::MissingBinary {
                platform: platform.to_string(),
                path: path.to_path_buf(),
            }
        } else {
            PackageError::Unreadable {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    match not_a_usable_file(&meta) {
        Some(problem) => Err(PackageError::BadBinary {
            platform: platform.to_string(),
            path: path.to_path_buf(),
            problem: problem.to_string(),
        }),
        None => Ok(()),
    }
}

/// Why a file with metadata `meta` cannot be release content (None: it can). An empty
/// file is refused as well: a 0-byte binary zips, hashes and uploads fine and only
/// fails on the consumer's machine.
fn not_a_usable_file(meta: &std::fs::Metadata) -> Option<&'static str> {
    let ft = meta.file_type();
    if ft.is_dir() {
        return Some("is a directory");
    }
    if !ft.is_file() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if ft.is_fifo() {
                return Some("is a FIFO (named pipe), not a regular file");
            }
            if ft.is_socket() {
                return Some("is a socket, not a regular file");
            }
            if ft.is_block_device() || ft.is_char_device() {
                return Some("is a device, not a regular file");
            }
        }
        return Some("is not a regular file");
    }
    if meta.len() == 0 {
        return Some("is empty (0 bytes)");
    }
    None
}

/// Zip one platform's binary into `out_dir` and hash the zip.
fn zip_platform(
    name: &str,
    version: &semver::Version,
    b: &BinaryInput,
    out_dir: &Path,
    zipping: Zipping,
) -> Result<PlatformFile, PackageError> {
    let filename = zip_name(name, version, &b.os, &b.arch);
    let path = out_dir.join(&filename);
    let exe = if b.os == "windows" { ".exe" } else { "" };
    let entry = format!("terraform-provider-{name}_v{version}{exe}");
    let platform = format!("{}_{}", b.os, b.arch);
    write_zip(&path, &entry, &b.path, &platform, zipping)?;
    let sha256 = sha256_file(&path)?;
    let size = file_size(&path)?;
    Ok(PlatformFile {
        os: b.os.clone(),
        arch: b.arch.clone(),
        filename,
        path,
        sha256,
        size,
    })
}

/// Run `build` over `items` on the machine's cores, results in the order of `items`.
/// Zipping is the CPU-bound part of a release (deflate of tens of MiB per platform);
/// each worker streams one file at a time, so memory stays flat whatever the binaries
/// weigh. The first error stops handing out work and is the one reported.
fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    build: impl Fn(&T) -> Result<R, PackageError> + Sync,
) -> Result<Vec<R>, PackageError> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            let r = build(item);
            let failed = r.is_err();
            done.push((i, r));
            if failed {
                next.store(items.len(), Ordering::Relaxed);
                break;
            }
        }
        done
    };
    let mut results: Vec<(usize, Result<R, PackageError>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers).map(|_| scope.spawn(work)).collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("packaging worker panicked"))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

fn file_size(path: &Path) -> Result<u64, PackageError> {
    Ok(std::fs::metadata(path)
        .map_err(|source| PackageError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .len())
}

/// Parse `terraform-provider-NAME_VERSION_SHA256SUMS` into (name, version).
fn parse_shasums_name(file: &str) -> Option<(String, semver::Version)> {
    let rest = file
        .strip_prefix("terraform-provider-")?
        .strip_suffix("_SHA256SUMS")?;
    let (name, version) = rest.rsplit_once('_')?;
    let version = semver::Version::parse(version.trim_start_matches('v')).ok()?;
    Some((name.to_string(), version))
}

/// Load a goreleaser-style `dist/` directory: check every zip and the manifest against
/// `SHA256SUMS` and read the protocols from the manifest. The signature, when the
/// folder has one, is checked by the signing stage; when it has none, written by it.
pub fn load_dist(
    dir: &Path,
    name: Option<&str>,
    version: Option<&semver::Version>,
) -> Result<ProviderRelease, PackageError> {
    let names = dir_file_names(dir)?;
    let (pname, pversion, shasums_file) = find_release(dir, &names, name, version)?;
    let base = format!("terraform-provider-{pname}_{pversion}");
    let shasums = dir.join(&shasums_file);
    check_dist_file(dir, &shasums, &shasums_file)?;
    let listed = read_shasums(dir, &shasums, &shasums_file)?;
    let mut platforms = Vec::new();
    let mut manifest = None;
    for (file, sha) in listed {
        let path = dir.join(&file);
        if file == format!("{base}_manifest.json") {
            check_dist_file(dir, &path, &file)?;
            check_sha(&path, &file, sha)?;
            manifest = Some(path);
        } else if file.ends_with(".zip") {
            platforms.push(dist_platform(dir, &base, &shasums_file, file, sha)?);
        }
    }
    check_no_foreign_zips(&names, &base)?;
    if platforms.is_empty() {
        return Err(PackageError::Dist {
            dir: dir.to_path_buf(),
            reason: format!("{shasums_file} lists no platform zips"),
        });
    }
    platforms.sort_by(|a, b| (&a.os, &a.arch).cmp(&(&b.os, &b.arch)));
    if manifest.is_none() {
        // A manifest beside the zips but not listed still says the protocols.
        let m = dir.join(format!("{base}_manifest.json"));
        manifest = m.is_file().then_some(m);
    }
    // No manifest: the caller supplies the protocols (never a guess).
    let protocols = match &manifest {
        Some(m) => read_manifest(m)?,
        None => Vec::new(),
    };
    let signature = dir.join(format!("{shasums_file}.sig"));
    Ok(ProviderRelease {
        name: pname,
        version: pversion,
        dir: dir.to_path_buf(),
        platforms,
        shasums,
        signature_given: signature.is_file(),
        signature,
        manifest,
        protocols,
    })
}

/// A release file of a dist folder is a regular file (checked before it is opened: a
/// FIFO would block the read forever). A missing one is left to the read that follows.
fn check_dist_file(dir: &Path, path: &Path, file: &str) -> Result<(), PackageError> {
    match std::fs::metadata(path) {
        Ok(meta) => match not_a_usable_file(&meta) {
            Some(problem) => Err(PackageError::Dist {
                dir: dir.to_path_buf(),
                reason: format!("{file} {problem}"),
            }),
            None => Ok(()),
        },
        Err(_) => Ok(()),
    }
}

/// The sorted file names of `dir`.
fn dir_file_names(dir: &Path) -> Result<Vec<String>, PackageError> {
    let rd = std::fs::read_dir(dir).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            PackageError::MissingDir {
                path: dir.to_path_buf(),
            }
        } else {
            PackageError::Unreadable {
                path: dir.to_path_buf(),
                source,
            }
        }
    })?;
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// The one release (name, version, SHA256SUMS file name) of a dist folder that matches
/// the name and version asked for.
fn find_release(
    dir: &Path,
    names: &[String],
    name: Option<&str>,
    version: Option<&semver::Version>,
) -> Result<(String, semver::Version, String), PackageError> {
    let dist_err = |reason: String| PackageError::Dist {
        dir: dir.to_path_buf(),
        reason,
    };
    let mut candidates: Vec<(String, semver::Version, String)> = names
        .iter()
        .filter_map(|f| parse_shasums_name(f).map(|(n, v)| (n, v, f.clone())))
        .filter(|(n, v, _)| {
            version.is_none_or(|want| want == v) && name.is_none_or(|want| want == n)
        })
        .collect();
    match candidates.len() {
        0 => {
            // A SHA256SUMS for another provider is a naming error worth naming.
            if let (Some(want), Some(other)) =
                (name, names.iter().find(|f| parse_shasums_name(f).is_some()))
            {
                return Err(PackageError::WrongName {
                    file: other.clone(),
                    expected: want.to_string(),
                });
            }
            Err(dist_err(
                "no terraform-provider-NAME_VERSION_SHA256SUMS file found".into(),
            ))
        }
        1 => Ok(candidates.remove(0)),
        _ => Err(dist_err(format!(
            "several releases found ({}); pass the name and version",
            candidates
                .iter()
                .map(|c| c.2.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The `(file, lower-case sha256)` lines of a SHA256SUMS file.
fn read_shasums(
    dir: &Path,
    shasums: &Path,
    shasums_file: &str,
) -> Result<Vec<(String, String)>, PackageError> {
    let text = std::fs::read_to_string(shasums).map_err(|source| PackageError::Unreadable {
        path: shasums.to_path_buf(),
        source,
    })?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            line.split_once(char::is_whitespace)
                .map(|(s, f)| {
                    (
                        f.trim_start().trim_start_matches('*').to_string(),
                        s.to_ascii_lowercase(),
                    )
                })
                .ok_or_else(|| PackageError::Dist {
                    dir: dir.to_path_buf(),
                    reason: format!("malformed line in {shasums_file}: {line:?}"),
                })
        })
        .collect()
}

/// The file at `path` hashes to `expected` (its SHA256SUMS entry); returns the hash.
fn check_sha(path: &Path, file: &str, expected: String) -> Result<String, PackageError> {
    let actual = sha256_file(path)?;
    if actual != expected {
        return Err(PackageError::ShaMismatch {
            file: file.to_string(),
            expected,
            actual,
        });
    }
    Ok(actual)
}

/// One platform zip listed in a dist folder's SHA256SUMS, named and hashed as listed.
fn dist_platform(
    dir: &Path,
    base: &str,
    shasums_file: &str,
    file: String,
    sha: String,
) -> Result<PlatformFile, PackageError> {
    let Some(plat) = file
        .strip_prefix(&format!("{base}_"))
        .and_then(|r| r.strip_suffix(".zip"))
    else {
        return Err(PackageError::WrongName {
            expected: release_label(base),
            file,
        });
    };
    let dist_err = |reason: String| PackageError::Dist {
        dir: dir.to_path_buf(),
        reason,
    };
    let (os, arch) = plat
        .split_once('_')
        .ok_or_else(|| dist_err(format!("{file}: cannot read OS_ARCH from the name")))?;
    check_platform(os, arch, &file)?;
    let path = dir.join(&file);
    match std::fs::metadata(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(dist_err(format!(
                "{file} is listed in {shasums_file} but missing"
            )))
        }
        Err(source) => return Err(PackageError::Unreadable { path, source }),
        Ok(meta) => {
            if let Some(problem) = not_a_usable_file(&meta) {
                return Err(dist_err(format!("{file} {problem}")));
            }
        }
    }
    let sha256 = check_sha(&path, &file, sha)?;
    check_zip_entries(dir, &path, &file, base)?;
    Ok(PlatformFile {
        os: os.to_string(),
        arch: arch.to_string(),
        size: file_size(&path)?,
        filename: file,
        path,
        sha256,
    })
}

/// A platform zip of a dist folder holds only safe relative paths (no `..`, no absolute
/// or drive path, no link) and a non-empty provider binary: what Terraform's installer
/// would refuse or install broken is refused here, before any registry write. Reads the
/// zip's central directory only, nothing is decompressed.
fn check_zip_entries(dir: &Path, path: &Path, file: &str, base: &str) -> Result<(), PackageError> {
    let dist_err = |reason: String| PackageError::Dist {
        dir: dir.to_path_buf(),
        reason,
    };
    let f = File::open(path).map_err(|source| PackageError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    let mut zip = zip::ZipArchive::new(io::BufReader::new(f))
        .map_err(|e| dist_err(format!("{file} is not a readable zip: {e}")))?;
    // `terraform-provider-NAME_VERSION` -> `terraform-provider-NAME`.
    let binary_prefix = base.rsplit_once('_').map_or(base, |(n, _)| n);
    let mut binaries = Vec::new();
    for i in 0..zip.len() {
        let entry = zip
            .by_index_raw(i)
            .map_err(|e| dist_err(format!("{file} is not a readable zip: {e}")))?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let unsafe_path = |reason: &str| PackageError::UnsafePath {
            path: name.clone(),
            where_: file.to_string(),
            reason: reason.to_string(),
        };
        if let Some(reason) = unsafe_zip_name(&name) {
            return Err(unsafe_path(reason));
        }
        if entry.is_symlink() {
            return Err(unsafe_path(
                "a symbolic link; a provider zip holds files only",
            ));
        }
        let base_name = name.rsplit('/').next().unwrap_or(&name);
        if !entry.is_dir() && base_name.starts_with(binary_prefix) {
            binaries.push((name.clone(), entry.size()));
        }
    }
    match binaries.iter().find(|(_, size)| *size == 0) {
        Some((name, _)) if binaries.iter().all(|(_, size)| *size == 0) => Err(dist_err(format!(
            "{file}: the provider binary {name} is empty (0 bytes)"
        ))),
        _ => Ok(()),
    }
}

/// Why a zip entry name is not a safe relative path (None: it is).
fn unsafe_zip_name(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.contains('\0') {
        return Some("an empty name or a NUL byte");
    }
    if name.starts_with('/') || name.starts_with('\\') {
        return Some("an absolute path");
    }
    let b = name.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Some("a drive path");
    }
    if name.split(['/', '\\']).any(|c| c == "..") {
        return Some("a `..` component escapes the install folder");
    }
    None
}

/// Zips in the folder that are not for this release are a mistake worth naming.
fn check_no_foreign_zips(names: &[String], base: &str) -> Result<(), PackageError> {
    let foreign = names.iter().find(|f| {
        f.ends_with(".zip")
            && f.starts_with("terraform-provider-")
            && !f.starts_with(&format!("{base}_"))
    });
    match foreign {
        Some(f) => Err(PackageError::WrongName {
            file: f.clone(),
            expected: release_label(base),
        }),
        None => Ok(()),
    }
}

/// `NAME VERSION` from `terraform-provider-NAME_VERSION`, as error messages name it.
fn release_label(base: &str) -> String {
    let rest = base.strip_prefix("terraform-provider-").unwrap_or(base);
    match rest.rsplit_once('_') {
        Some((n, v)) => format!("{n} {v}"),
        None => rest.to_string(),
    }
}

fn read_manifest(path: &Path) -> Result<Vec<String>, PackageError> {
    let bad = |reason: String| PackageError::Manifest {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|source| PackageError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let list = v
        .pointer("/metadata/protocol_versions")
        .and_then(|p| p.as_array())
        .ok_or_else(|| bad("missing metadata.protocol_versions".into()))?;
    list.iter()
        .map(|p| {
            p.as_str()
                .map(str::to_string)
                .ok_or_else(|| bad("protocol_versions must be strings".into()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_args() {
        let b = parse_binary_arg("linux_amd64=dist/x").unwrap();
        assert_eq!((b.os.as_str(), b.arch.as_str()), ("linux", "amd64"));
        assert!(parse_binary_arg("linux=dist/x").is_err());
        // Misspelt platforms are refused, naming the known ones; Go's other ports pass.
        let e = parse_binary_arg("macos_arm64=x").unwrap_err().to_string();
        assert!(e.contains("unknown platform macos_arm64"), "{e}");
        assert!(
            e.contains("known OS: aix, darwin,") && e.contains("s390x"),
            "{e}"
        );
        assert!(parse_binary_arg("linux_x86_64=x").is_err());
        for ok in [
            "linux_ppc64le=x",
            "linux_s390x=x",
            "netbsd_arm64=x",
            "illumos_amd64=x",
        ] {
            assert!(parse_binary_arg(ok).is_ok(), "{ok}");
        }
        assert!(parse_binary_arg("linux_amd64").is_err());
    }

    #[test]
    fn zip_entry_names() {
        for ok in ["terraform-provider-x_v1.0.0", "docs/README.md", "a..b"] {
            assert_eq!(unsafe_zip_name(ok), None, "{ok}");
        }
        for bad in [
            "../x",
            "a/../../x",
            "/etc/x",
            "\\x",
            "C:x",
            "a\\..\\x",
            "",
            "a\0b",
        ] {
            assert!(unsafe_zip_name(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn shasums_names() {
        let (n, v) = parse_shasums_name("terraform-provider-foo_bar_1.2.3_SHA256SUMS").unwrap();
        assert_eq!(n, "foo_bar");
        assert_eq!(v.to_string(), "1.2.3");
    }
}
