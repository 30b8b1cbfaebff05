//! Integration tests: `tfpub module package DIR -o FILE` (offline), run as the real binary
//! where the CLI contract matters (exit code, messages, no file left behind) and through
//! `tfpub_core::package::package_dir` where an option has no flag (the size limit).
//!
//! Archives are read back with `tar` + `flate2`, never through tfpub's own code.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use serde_json::Value;
use tempfile::TempDir;
use tfpub_core::package::{package_dir, ModulePackageOptions, PackageError};

use crate::support::fs::{set_mode, write};
use crate::support::{clean_tfpub, copy_tree, module_copy, run_blocking, Run};

/// `tfpub ARGS…` with no registry credentials in the environment and a scratch HOME.
fn tfpub(home: &Path, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Run {
    let mut c = clean_tfpub(home);
    for a in args {
        c.arg(a.as_ref());
    }
    run_blocking(c)
}

/// `tfpub module package DIR -o OUT`, which must succeed.
fn package_ok(dir: &Path, out: &Path) -> Run {
    let home = tempfile::tempdir().unwrap();
    let r = tfpub(home.path(), &[&"module", &"package", &dir, &"-o", &out]);
    assert_eq!(r.code, 0, "module package failed: {r:?}");
    assert!(out.is_file(), "no archive at {}", out.display());
    r
}

/// `tfpub module package DIR -o OUT`, which must fail without leaving anything in the
/// output folder (neither OUT nor a temporary file). Returns stderr.
fn package_refused(dir: &Path) -> String {
    let home = tempfile::tempdir().unwrap();
    let outdir = tempfile::tempdir().unwrap();
    let out = outdir.path().join("module.tar.gz");
    let r = tfpub(home.path(), &[&"module", &"package", &dir, &"-o", &out]);
    assert_eq!(r.code, 1, "expected a failure (exit 1): {r:?}");
    assert!(
        r.stderr.starts_with("error: "),
        "error not on stderr: {r:?}"
    );
    let left: Vec<_> = std::fs::read_dir(outdir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        left.is_empty(),
        "files left behind after a refusal: {left:?}"
    );
    r.stderr
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct TarEntry {
    /// The raw path bytes of the header, as a string.
    path: String,
    kind: tar::EntryType,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    uname: Vec<u8>,
    gname: Vec<u8>,
    link: Option<String>,
    data: Vec<u8>,
}

/// Every entry of a `.tar.gz`, in archive order.
fn read_archive(path: &Path) -> Vec<TarEntry> {
    let f = std::fs::File::open(path).unwrap();
    let mut a = tar::Archive::new(GzDecoder::new(f));
    let mut out = Vec::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let h = e.header().clone();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push(TarEntry {
            path: String::from_utf8(e.path_bytes().into_owned()).unwrap(),
            kind: h.entry_type(),
            mode: h.mode().unwrap(),
            uid: h.uid().unwrap(),
            gid: h.gid().unwrap(),
            mtime: h.mtime().unwrap(),
            uname: h.username_bytes().unwrap_or_default().to_vec(),
            gname: h.groupname_bytes().unwrap_or_default().to_vec(),
            link: e
                .link_name_bytes()
                .map(|l| String::from_utf8(l.into_owned()).unwrap()),
            data,
        });
    }
    out
}

fn names(entries: &[TarEntry]) -> Vec<String> {
    entries.iter().map(|e| e.path.clone()).collect()
}

/// The regular files of an archive (no directories), as sorted paths.
fn file_names(entries: &[TarEntry]) -> Vec<String> {
    entries
        .iter()
        .filter(|e| e.kind != tar::EntryType::Directory)
        .map(|e| e.path.clone())
        .collect()
}

#[cfg(unix)]
fn symlink(target: &str, link: &Path) {
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, link).unwrap();
}

/// The sample module plus a nested folder, an executable script and a large-ish file, so
/// the archive has directories and more than one gzip block.
fn richer_module() -> (TempDir, PathBuf) {
    let (t, dir) = module_copy();
    write(&dir, "modules/inner/main.tf", "variable \"x\" {}\n");
    write(&dir, "scripts/run.sh", "#!/bin/sh\necho hi\n");
    let big: String = (0..20_000).map(|i| format!("# line {i}\n")).collect();
    write(&dir, "docs/big.md", &big);
    #[cfg(unix)]
    set_mode(&dir.join("scripts/run.sh"), 0o755);
    (t, dir)
}

#[test]
fn same_content_gives_the_same_bytes_whatever_the_mtimes_and_folder() {
    let (_t, dir) = richer_module();
    let out = tempfile::tempdir().unwrap();
    let a = out.path().join("a.tar.gz");
    let b = out.path().join("b.tar.gz");
    package_ok(&dir, &a);
    package_ok(&dir, &b);
    let first = std::fs::read(&a).unwrap();
    assert_eq!(first, std::fs::read(&b).unwrap(), "two runs differ");

    // gzip header: no mtime (bytes 4..8) and no file name (FNAME flag 0x08).
    assert_eq!(&first[..3], &[0x1f, 0x8b, 0x08]);
    assert_eq!(first[3] & 0x08, 0, "gzip header carries a file name");
    assert_eq!(&first[4..8], &[0, 0, 0, 0], "gzip header carries a time");

    // New mtimes on every file and folder, then the same content at another path (with
    // another folder name, which must not leak into the archive either).
    let when = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_234_567_890);
    for e in walkdir::WalkDir::new(&dir) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(e.path())
                .unwrap();
            f.set_modified(when).unwrap();
        }
    }
    let c = out.path().join("c.tar.gz");
    package_ok(&dir, &c);
    assert_eq!(
        first,
        std::fs::read(&c).unwrap(),
        "mtimes changed the bytes"
    );

    let elsewhere = tempfile::tempdir().unwrap();
    let dir2 = elsewhere.path().join("some").join("other-name");
    copy_tree(&dir, &dir2);
    #[cfg(unix)]
    set_mode(&dir2.join("scripts/run.sh"), 0o755);
    let d = out.path().join("d.tar.gz");
    package_ok(&dir2, &d);
    assert_eq!(
        first,
        std::fs::read(&d).unwrap(),
        "the folder path changed the bytes"
    );

    // And the library reports the hash of exactly those bytes.
    let lib = package_dir(
        &dir2,
        &out.path().join("e.tar.gz"),
        &ModulePackageOptions::default(),
    )
    .unwrap();
    use sha2::Digest;
    assert_eq!(lib.sha256, hex::encode(sha2::Sha256::digest(&first)));
    assert_eq!(lib.size, first.len() as u64);
}

#[cfg(unix)]
#[test]
fn archive_has_the_module_at_the_root_sorted_with_normalised_headers() {
    let (_t, dir) = richer_module();
    set_mode(&dir.join("main.tf"), 0o600); // private on disk: still 0644 in the archive
    set_mode(&dir.join("modules/inner/main.tf"), 0o664);
    set_mode(&dir.join("docs"), 0o700);
    std::fs::create_dir_all(dir.join("empty/nested")).unwrap();
    symlink("../main.tf", &dir.join("modules/alias.tf"));
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("m.tar.gz");
    package_ok(&dir, &path);
    let entries = read_archive(&path);

    assert_eq!(
        names(&entries),
        [
            "README.md",
            "docs/",
            "docs/big.md",
            "main.tf",
            "modules/",
            "modules/alias.tf",
            "modules/inner/",
            "modules/inner/main.tf",
            "outputs.tf",
            "scripts/",
            "scripts/run.sh",
            "versions.tf",
        ],
        "entries (module at the root, sorted, parent folders, no empty folders)"
    );
    let mut sorted = names(&entries);
    sorted.sort();
    assert_eq!(names(&entries), sorted);

    for e in &entries {
        assert!(
            !e.path.starts_with("./")
                && !e.path.starts_with('/')
                && !e.path.starts_with("terraform-null-greeting"),
            "entry not at the archive root: {}",
            e.path
        );
        assert_eq!((e.uid, e.gid, e.mtime), (0, 0, 0), "{}", e.path);
        assert!(
            e.uname.is_empty() && e.gname.is_empty(),
            "{}: owner names {:?}/{:?}",
            e.path,
            String::from_utf8_lossy(&e.uname),
            String::from_utf8_lossy(&e.gname)
        );
        let want = match e.path.as_str() {
            p if p.ends_with('/') => {
                assert_eq!(e.kind, tar::EntryType::Directory, "{p}");
                0o755
            }
            "modules/alias.tf" => {
                assert_eq!(e.kind, tar::EntryType::Symlink);
                assert_eq!(e.link.as_deref(), Some("../main.tf"));
                0o777
            }
            "scripts/run.sh" => 0o755,
            _ => 0o644,
        };
        if e.kind != tar::EntryType::Symlink && !e.path.ends_with('/') {
            assert_eq!(e.kind, tar::EntryType::Regular, "{}", e.path);
        }
        assert_eq!(e.mode, want, "{}: mode {:o}", e.path, e.mode);
    }

    // Contents are the files' bytes.
    let by_name: BTreeMap<_, _> = entries.iter().map(|e| (e.path.as_str(), e)).collect();
    assert_eq!(
        by_name["main.tf"].data,
        std::fs::read(dir.join("main.tf")).unwrap()
    );
    assert_eq!(
        by_name["docs/big.md"].data,
        std::fs::read(dir.join("docs/big.md")).unwrap()
    );
}

#[cfg(unix)]
#[test]
fn vcs_terraform_and_state_files_are_left_out_and_terraformignore_is_honoured() {
    let (_t, dir) = module_copy();
    write(&dir, ".git/HEAD", "ref: refs/heads/main\n");
    write(&dir, ".git/config", "[core]\n");
    write(&dir, ".terraform/modules/modules.json", "{}");
    write(&dir, ".terraform/terraform.tfstate", "{}");
    write(&dir, ".terraform.lock.hcl", "# lock\n");
    write(&dir, "terraform.tfstate", "{\"secret\": 1}");
    write(&dir, "terraform.tfstate.backup", "{}");
    write(&dir, "examples/basic/terraform.tfstate", "{}");
    write(
        &dir,
        "examples/basic/main.tf",
        "module \"m\" { source = \"../..\" }\n",
    );
    write(&dir, "examples/basic/.terraform/providers/x", "bin");
    // A nested repository's `.git` directory is dropped too.
    write(&dir, "vendor/lib/.git/HEAD", "ref\n");
    write(&dir, "vendor/lib/lib.tf", "# lib\n");
    // .terraformignore: a glob, a negation, a directory-only pattern, an anchored path
    // and a `**` pattern. Comments and blank lines are ignored.
    write(
        &dir,
        ".terraformignore",
        "# build output\n\n*.md\n!README.md\nbuild/\n/notes.txt\n**/fixtures/*.json\n",
    );
    write(&dir, "CHANGELOG.md", "changes\n");
    write(&dir, "docs/guide.md", "guide\n");
    write(&dir, "build/out.bin", "binary\n");
    write(&dir, "src/build", "a file named build is not a directory\n");
    write(&dir, "notes.txt", "root notes\n");
    write(
        &dir,
        "sub/notes.txt",
        "anchored pattern only matches at the root\n",
    );
    write(&dir, "test/fixtures/a.json", "{}");
    write(&dir, "test/fixtures/keep.txt", "kept\n");

    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("m.tar.gz");
    let r = package_ok(&dir, &path);
    let files = file_names(&read_archive(&path));
    assert_eq!(
        files,
        [
            ".terraform.lock.hcl",
            ".terraformignore",
            "README.md",
            "examples/basic/main.tf",
            "main.tf",
            "outputs.tf",
            "src/build",
            "sub/notes.txt",
            "test/fixtures/keep.txt",
            "vendor/lib/lib.tf",
            "versions.tf",
        ],
        "stdout: {}",
        r.stdout
    );
    for e in read_archive(&path) {
        assert!(
            !e.path.contains(".git/") && !e.path.contains(".terraform/"),
            "{}",
            e.path
        );
    }
    // State is excluded with a warning naming the file.
    let all = format!("{}{}", r.stdout, r.stderr);
    for s in [
        "terraform.tfstate",
        "terraform.tfstate.backup",
        "examples/basic/terraform.tfstate",
    ] {
        assert!(
            all.contains(&format!("{s} is Terraform state and was excluded")),
            "no state warning for {s}: stdout {} stderr {}",
            r.stdout,
            r.stderr
        );
    }

    // The dry run reports the exclusions (directories with a trailing `/`).
    let home = tempfile::tempdir().unwrap();
    let r = tfpub(
        home.path(),
        &[&"--json", &"module", &"package", &dir, &"--dry-run"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let doc = r.json();
    let mut excluded: Vec<&str> = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["detail"] == "excluded")
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    excluded.extend(
        doc["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap()),
    );
    for x in [
        ".git/",
        ".terraform/",
        "build/",
        "CHANGELOG.md",
        "docs/guide.md",
        "notes.txt",
        "test/fixtures/a.json",
        "vendor/lib/.git/",
        "examples/basic/.terraform/",
    ] {
        assert!(
            excluded.contains(&x),
            "{x} not reported excluded: {excluded:?}"
        );
    }
}

#[test]
fn a_git_file_of_a_worktree_or_submodule_is_not_packed() {
    // In a linked worktree or a submodule checkout `.git` is a file naming a local path.
    let (_t, dir) = module_copy();
    write(
        &dir,
        ".git",
        "gitdir: /home/someone/src/repo/.git/worktrees/x\n",
    );
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("m.tar.gz");
    package_ok(&dir, &path);
    let files = file_names(&read_archive(&path));
    assert!(!files.contains(&".git".to_string()), "{files:?}");
}

#[cfg(unix)]
#[test]
fn symlinks_leaving_the_module_are_refused_by_path() {
    for (link, target) in [
        ("leak.tf", "/etc/passwd"),
        ("up", ".."),
        ("modules/inner/escape.txt", "../../../secret.txt"),
        ("modules/sneaky", "inner/../../../x"),
    ] {
        let (t, dir) = module_copy();
        std::fs::write(t.path().join("secret.txt"), "outside").unwrap();
        write(&dir, "modules/inner/main.tf", "# inner\n");
        symlink(target, &dir.join(link));
        let err = package_refused(&dir);
        assert!(
            err.contains(&format!("symlink {link} points outside the module"))
                && err.contains(target),
            "{link} -> {target}: {err}"
        );
    }

    // A chain of links, each harmless on its own, that climbs out: a/l -> .., x -> a/l/..
    let (_t, dir) = module_copy();
    std::fs::create_dir_all(dir.join("a")).unwrap();
    symlink("..", &dir.join("a/l"));
    symlink("a/l/..", &dir.join("x"));
    let err = package_refused(&dir);
    assert!(
        err.contains("symlink x points outside the module") && err.contains("through other links"),
        "chain: {err}"
    );

    // Links that stay inside are fine (packed as links).
    let (_t, dir) = module_copy();
    write(&dir, "modules/inner/main.tf", "# inner\n");
    symlink("../../main.tf", &dir.join("modules/inner/root.tf"));
    symlink("modules/inner", &dir.join("inner"));
    let out = tempfile::tempdir().unwrap();
    package_ok(&dir, &out.path().join("m.tar.gz"));
}

#[test]
fn a_folder_without_tf_files_at_its_root_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("not-a-module");
    write(&dir, "README.md", "# nothing\n");
    write(&dir, "modules/inner/main.tf", "# only nested\n");
    write(&dir, "vars.tfvars", "x = 1\n");
    let err = package_refused(&dir);
    assert!(
        err.contains("no .tf file at the root of the module") && err.contains("not-a-module"),
        "{err}"
    );

    // A root .tf excluded by .terraformignore does not count either.
    let (_t, dir) = module_copy();
    write(&dir, ".terraformignore", "*.tf\n");
    let err = package_refused(&dir);
    assert!(err.contains("no .tf file at the root"), "{err}");

    // A .tf.json file does count.
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("json-module");
    write(&dir, "main.tf.json", "{\"variable\": {\"x\": {}}}");
    let out = tempfile::tempdir().unwrap();
    package_ok(&dir, &out.path().join("m.tar.gz"));
}

#[test]
fn a_missing_folder_or_a_file_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let missing = t.path().join("does-not-exist");
    let err = package_refused(&missing);
    assert!(
        err.contains(&format!(
            "module directory {} does not exist",
            missing.display()
        )),
        "{err}"
    );

    let file = t.path().join("main.tf");
    std::fs::write(&file, "# a file\n").unwrap();
    let err = package_refused(&file);
    assert!(err.contains("is not a directory"), "{err}");
}

#[test]
fn output_is_required_unless_dry_run() {
    let (_t, dir) = module_copy();
    let home = tempfile::tempdir().unwrap();
    let r = tfpub(home.path(), &[&"module", &"package", &dir]);
    assert_eq!(r.code, 2, "usage error expected: {r:?}");
    assert!(r.stderr.contains("--output"), "{}", r.stderr);
}

#[test]
fn the_size_limit_refuses_with_a_clear_error_and_writes_nothing() {
    // No CLI flag sets the limit (publish and package use the 200 MiB default), so this
    // goes through the library. The limit applies to the compressed archive.
    let (_t, dir) = module_copy();
    let noise: Vec<u8> = {
        // Incompressible bytes (xorshift), so the archive is about as large as the file.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        (0..64 * 1024)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    };
    std::fs::write(dir.join("blob.bin"), &noise).unwrap();
    let out = tempfile::tempdir().unwrap();

    // The exact size passes, one byte less fails.
    let ok = package_dir(
        &dir,
        &out.path().join("full.tar.gz"),
        &ModulePackageOptions::default(),
    )
    .unwrap();
    assert!(ok.size > 64 * 1024, "{}", ok.size);
    let at = package_dir(
        &dir,
        &out.path().join("at.tar.gz"),
        &ModulePackageOptions {
            max_size: ok.size,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(at.sha256, ok.sha256);

    let target = out.path().join("small.tar.gz");
    let err = package_dir(
        &dir,
        &target,
        &ModulePackageOptions {
            max_size: ok.size - 1,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, PackageError::TooLarge { .. }), "{err:?}");
    let msg = format!(
        "{err} {}",
        tfpub_core::error::Hint::hint(&err).unwrap_or_default()
    );
    assert!(
        msg.contains(&format!("exceeds the size limit of {} bytes", ok.size - 1))
            && msg.contains(&dir.display().to_string())
            && msg.contains(".terraformignore"),
        "{msg}"
    );
    assert!(!target.exists());
    let mut left: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["at.tar.gz", "full.tar.gz"],
        "temporary file left behind"
    );

    // A previous archive at the output path is left untouched by a refused run.
    std::fs::copy(out.path().join("full.tar.gz"), &target).unwrap();
    package_dir(
        &dir,
        &target,
        &ModulePackageOptions {
            max_size: 1024,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(
        std::fs::read(&target).unwrap(),
        std::fs::read(out.path().join("full.tar.gz")).unwrap()
    );
}

#[test]
fn likely_secrets_are_packed_but_warned_about_on_stderr() {
    let (_t, dir) = module_copy();
    let warned = [
        ".env",
        ".env.production",
        "secrets.tfvars",
        "db-password.tfvars.json",
        "envs/prod-credentials.tfvars",
        "tls/server.key",
        "tls/server.pem",
        "id_ed25519",
    ];
    let quiet = [
        "terraform.tfvars",
        "example.tfvars",
        "envs/prod.tfvars",
        "token.tf",
    ];
    for f in warned.iter().chain(quiet.iter()) {
        write(&dir, f, "x = 1\n");
    }
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("m.tar.gz");
    let r = package_ok(&dir, &path);
    let files = file_names(&read_archive(&path));
    for f in warned.iter().chain(quiet.iter()) {
        assert!(files.contains(&f.to_string()), "{f} not packed: {files:?}");
    }
    for f in warned {
        assert!(
            r.stderr
                .contains(&format!("warning: {f} looks like a secret")),
            "no warning on stderr for {f}:\nstderr: {}\nstdout: {}",
            r.stderr,
            r.stdout
        );
    }
    for f in quiet {
        assert!(
            !r.stderr.contains(&format!("{f} looks like a secret"))
                && !r.stdout.contains(&format!("{f} looks like a secret")),
            "unexpected warning for {f}: {}",
            r.stderr
        );
    }

    // With --json the warnings are also in the result document.
    let home = tempfile::tempdir().unwrap();
    let path2 = out.path().join("m2.tar.gz");
    let r = tfpub(
        home.path(),
        &[&"--json", &"module", &"package", &dir, &"-o", &path2],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let doc = r.json();
    let warnings: Vec<&str> = doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        !doc["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["action"] == "skipped" && i["detail"] == "warning"),
        "a packed file must not be reported as skipped: {doc}"
    );
    assert_eq!(warnings.len(), warned.len(), "{warnings:?}");
}

#[cfg(unix)]
#[test]
fn dry_run_lists_exactly_the_archive_entries_and_writes_nothing() {
    let (_t, dir) = richer_module();
    write(&dir, ".terraformignore", "docs/\n");
    write(&dir, "terraform.tfstate", "{}");
    write(&dir, ".git/HEAD", "ref\n");
    symlink("main.tf", &dir.join("alias.tf"));
    let home = tempfile::tempdir().unwrap();
    let before: Vec<_> = walkdir::WalkDir::new(&dir)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.unwrap().path().to_path_buf())
        .collect();

    let r = tfpub(
        home.path(),
        &[&"--json", &"module", &"package", &dir, &"--dry-run"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let doc: Value = r.json();
    assert_eq!(doc["outcome"], "planned");
    let planned: Vec<String> = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["action"] == "planned")
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();

    let after: Vec<_> = walkdir::WalkDir::new(&dir)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.unwrap().path().to_path_buf())
        .collect();
    assert_eq!(before, after, "the dry run wrote into the module");

    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("m.tar.gz");
    package_ok(&dir, &path);
    assert_eq!(planned, file_names(&read_archive(&path)));
    assert!(planned.contains(&"alias.tf".to_string()));
    assert!(!planned.iter().any(|p| p.starts_with("docs/")));

    // The human dry run lists the same files.
    let r = tfpub(home.path(), &[&"module", &"package", &dir, &"--dry-run"]);
    assert_eq!(r.code, 0, "{r:?}");
    let human: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("planned  file "))
        .collect();
    assert_eq!(human, planned, "{}", r.stdout);
    assert!(
        r.stdout.contains("dry run: nothing was changed"),
        "{}",
        r.stdout
    );
}

#[test]
fn an_archive_written_inside_the_module_is_not_packed_by_the_next_run() {
    let (_t, dir) = module_copy();
    let out = dir.join("dist/module.tar.gz");
    std::fs::create_dir_all(dir.join("dist")).unwrap();
    package_ok(&dir, &out);
    let first = std::fs::read(&out).unwrap();
    package_ok(&dir, &out);
    let second = std::fs::read(&out).unwrap();
    assert!(
        !file_names(&read_archive(&out)).contains(&"dist/module.tar.gz".to_string()),
        "the previous archive was packed"
    );
    assert_eq!(
        first, second,
        "re-running with -o inside the module changed the bytes"
    );
}

#[test]
fn state_files_are_excluded_whatever_their_case() {
    let (_t, dir) = module_copy();
    write(&dir, "TERRAFORM.TFSTATE", "{}");
    write(&dir, "prod.TfState.backup", "{}");
    let out = tempfile::tempdir().unwrap();
    let archive = out.path().join("m.tar.gz");
    let r = package_ok(&dir, &archive);
    let packed = file_names(&read_archive(&archive));
    assert!(
        !packed.iter().any(|f| f.to_lowercase().contains("tfstate")),
        "{packed:?}"
    );
    assert!(
        r.stderr.contains("TERRAFORM.TFSTATE"),
        "no warning: {}",
        r.stderr
    );
}
