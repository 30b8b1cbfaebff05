//! Integration tests: `tfpub provider publish` through the real CLI against the embedded
//! registry, proven with the real Terraform CLI (`terraform init`, `terraform providers
//! lock`) for both input kinds, plus resume, re-runs and every refusal before any write.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::support::gpg::Gpg;
use crate::support::registry::{item_of, Api};
use crate::support::terraform::Terraform;
use crate::support::{
    ok_json, run, sha256_hex, test_key, testdata, Run, TestRegistry, RSA_KEY_ID, RSA_PASSPHRASE,
    TEST_TOKEN,
};

const NAME: &str = "greet";
const PLATFORMS: [&str; 4] = [
    "darwin_arm64",
    "linux_amd64",
    "linux_arm64",
    "windows_amd64",
];
/// Token given to Terraform (the embedded registry in easy mode accepts any token).
const TF_TOKEN: &str = "terraform-cli-test-token";

/// Four tiny shell-script "binaries" (Terraform init never runs them); `tag` makes the
/// bytes differ between builds.
fn make_binaries(dir: &Path, tag: &str) -> Vec<(String, PathBuf)> {
    PLATFORMS
        .iter()
        .map(|p| {
            let d = dir.join(p);
            std::fs::create_dir_all(&d).unwrap();
            let f = d.join(format!("terraform-provider-{NAME}"));
            let mut bytes = format!("#!/bin/sh\necho '{tag} {p}'\nexit 1\n").into_bytes();
            if *p == "linux_amd64" {
                // 512 KiB that deflate cannot shrink after the script (never executed):
                // tfpub stores such entries, and this is the platform Terraform installs
                // and runs below, so a stored zip is proven installable.
                let mut block = Sha256::digest(tag.as_bytes());
                for _ in 0..(512 * 1024 / 32) {
                    block = Sha256::digest(block);
                    bytes.extend_from_slice(&block);
                }
            }
            std::fs::write(&f, bytes).unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
            (p.to_string(), f)
        })
        .collect()
}

/// The signing key from the environment, as a pipeline passes it.
fn with_key(mut c: Command, key: &str, passphrase: Option<&str>) -> Command {
    c.env("TFPUB_GPG_PRIVATE_KEY", test_key(key));
    if let Some(p) = passphrase {
        c.env("TFPUB_GPG_PASSPHRASE", p);
    }
    c
}

fn rsa(c: Command) -> Command {
    with_key(c, "rsa.sec.asc", Some(RSA_PASSPHRASE))
}

fn binary_args(c: &mut Command, bins: &[(String, PathBuf)], version: &str) {
    c.args(["--name", NAME, "--version", version, "--protocols", "6.0"]);
    for (p, f) in bins {
        c.arg("--binary").arg(format!("{p}={}", f.display()));
    }
}

fn publish_binaries(t: &TestRegistry, bins: &[(String, PathBuf)], version: &str) -> Command {
    let mut c = rsa(t.tfpub_http());
    c.args(["provider", "publish", "--json"]);
    binary_args(&mut c, bins, version);
    c
}

fn package_binaries(t: &TestRegistry, bins: &[(String, PathBuf)], version: &str, out: &Path) {
    let mut c = rsa(t.tfpub_http());
    c.args(["provider", "package"]);
    binary_args(&mut c, bins, version);
    c.arg("-o").arg(out);
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "package failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `c` while the registry takes the first `landed` uploads and then drops every
/// upload mid-body (more often than the client retries), with 100 ms of latency on every
/// request so the switch always falls between two uploads; the registry is healed
/// before this returns.
async fn run_until_uploads_fail(t: &TestRegistry, c: Command, landed: usize) -> Run {
    let faults = t.reg.faults();
    let stats = t.reg.stats();
    let watcher = tokio::spawn(async move {
        loop {
            if stats.count("PUT", "") >= landed {
                faults.drop_next_uploads(1000);
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    });
    t.reg
        .faults()
        .set_latency(std::time::Duration::from_millis(100));
    let r = run(c).await;
    watcher.abort();
    t.reg.faults().drop_next_uploads(0);
    t.reg.faults().set_latency(std::time::Duration::ZERO);
    r
}

/// A refusal: exit 1, no registry write, and a message naming `needle`.
fn refused(t: &TestRegistry, r: &Run, needle: &str) -> String {
    assert_ne!(r.code, 0, "expected a refusal:\n{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        t.reg.stats().writes(),
        0,
        "a refused publish wrote to the registry"
    );
    let all = format!("{}\n{}", r.stdout, r.stderr);
    assert!(
        all.contains(needle),
        "message does not name {needle:?}:\n{all}"
    );
    all
}

fn zip_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "zip"))
        .collect();
    v.sort();
    v
}

/// `terraform init` then `terraform providers lock` for all four platforms, against the
/// registry; returns (init and lock output, lock file, the Terraform folder).
async fn terraform_install(t: &TestRegistry, version: &str) -> (String, String, Terraform) {
    let tf = Terraform::new(
        &t.reg,
        TF_TOKEN,
        &format!(
            "terraform {{\n  required_providers {{\n    {NAME} = {{\n      source  = \"registry.tfpub.test/acme/{NAME}\"\n      version = \"{version}\"\n    }}\n  }}\n}}\n"
        ),
    );
    let mut output = String::new();
    let plats: Vec<String> = PLATFORMS.iter().map(|p| format!("-platform={p}")).collect();
    let mut lock_args = vec!["providers", "lock", "-no-color"];
    lock_args.extend(plats.iter().map(String::as_str));
    for args in [&["init", "-input=false", "-no-color"][..], &lock_args[..]] {
        let o = tf.run(args).await;
        output.push_str(&format!("{}{}\n", o.stdout, o.stderr));
    }
    let lock = tf.lock_file();
    (output, lock, tf)
}

fn assert_installed(init: &str, lock: &str, tf: &Terraform, zips: &[PathBuf], version: &str) {
    assert!(
        init.contains(&format!("self-signed, key ID {RSA_KEY_ID}")),
        "init output lacks the signature line:\n{init}"
    );
    for p in PLATFORMS {
        assert!(
            init.contains(&format!(
                "Retrieved registry.tfpub.test/acme/{NAME} {version} for {p} (self-signed, key ID {RSA_KEY_ID})"
            )),
            "`terraform providers lock` did not verify {p}:\n{init}"
        );
    }
    assert_eq!(zips.len(), 4, "{zips:?}");
    for z in zips {
        // The incompressible linux_amd64 binary is stored, the small scripts deflated.
        let mut a = zip::ZipArchive::new(std::fs::File::open(z).unwrap()).unwrap();
        let method = a.by_index(0).unwrap().compression();
        let want = if z.to_string_lossy().ends_with("linux_amd64.zip") {
            zip::CompressionMethod::Stored
        } else {
            zip::CompressionMethod::Deflated
        };
        assert_eq!(method, want, "{}", z.display());
        let h = sha256_hex(&std::fs::read(z).unwrap());
        assert!(
            lock.contains(&format!("\"zh:{h}\"")),
            "lock file lacks zh:{h} ({}):\n{lock}",
            z.display()
        );
    }
    // Terraform records every SHA256SUMS line: the four zips and the manifest.
    assert_eq!(lock.matches("\"zh:").count(), 5, "{lock}");
    let bin = tf.data_dir().join(format!(
        "providers/registry.tfpub.test/acme/{NAME}/{version}/linux_amd64/terraform-provider-{NAME}_v{version}"
    ));
    let meta = std::fs::metadata(&bin)
        .unwrap_or_else(|e| panic!("installed binary {} missing: {e}", bin.display()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert!(
            meta.permissions().mode() & 0o111 != 0,
            "installed binary not executable"
        );
    }
    // It runs: the shell-script "provider" prints its tag.
    let out = Command::new(&bin).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("linux_amd64"),
        "installed binary output: {text}"
    );
    // h1: hashes were added for every platform by `providers lock`.
    assert!(lock.matches("\"h1:").count() >= 4, "{lock}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_binaries_publish_and_install_with_terraform() {
    let t = TestRegistry::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let bins = make_binaries(&tmp.path().join("bin"), "v1");
    let r = run(publish_binaries(&t, &bins, "1.0.0")).await;
    let j = ok_json(&r);
    assert_eq!(j["outcome"], "published", "{j}");
    assert_eq!(j["published"], true);
    let items = j["items"].as_array().unwrap();
    for p in PLATFORMS {
        assert!(
            items
                .iter()
                .any(|i| i["kind"] == "platform" && i["id"] == p && i["action"] == "uploaded"),
            "{p} not uploaded: {j}"
        );
    }
    assert!(items
        .iter()
        .any(|i| i["kind"] == "gpg-key" && i["id"] == RSA_KEY_ID && i["action"] == "created"));

    // The same inputs packaged offline give byte-identical zips (deterministic).
    let pkg = tmp.path().join("pkg");
    package_binaries(&t, &bins, "1.0.0", &pkg);
    let zips = zip_files(&pkg);

    let (init, lock, tf) = terraform_install(&t, "1.0.0").await;
    assert_installed(&init, &lock, &tf, &zips, "1.0.0");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goreleaser_dist_publishes_and_installs() {
    let t = TestRegistry::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let bins = make_binaries(&tmp.path().join("bin"), "dist");
    let dist = tmp.path().join("dist");
    package_binaries(&t, &bins, "2.1.0", &dist);
    // goreleaser leaves other things in dist/ too.
    std::fs::write(dist.join("config.yaml"), "project_name: greet\n").unwrap();
    std::fs::write(dist.join("metadata.json"), "{}\n").unwrap();
    let zips = zip_files(&dist);

    let mut c = rsa(t.tfpub_http());
    c.args(["provider", "publish", "--json"]).arg(&dist);
    let j = ok_json(&run(c).await);
    assert_eq!(j["outcome"], "published", "{j}");
    let pv = item_of(&j, "provider-version");
    assert_eq!(pv["version"], "2.1.0", "{j}");
    assert_eq!(pv["id"], format!("acme/{NAME}"));

    let (init, lock, tf) = terraform_install(&t, "2.1.0").await;
    assert_installed(&init, &lock, &tf, &zips, "2.1.0");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_rerun_and_mismatch() {
    let t = TestRegistry::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let bins = make_binaries(&tmp.path().join("bin"), "v1");

    // The first four uploads land (SHA256SUMS, its signature and one or two zips); then
    // every upload is dropped mid-body, more often than the client retries.
    let mut c = publish_binaries(&t, &bins, "1.0.0");
    c.args(["--concurrency", "1"]);
    let r = run_until_uploads_fail(&t, c, 4).await;
    assert_ne!(
        r.code, 0,
        "publish should fail:\n{}\n{}",
        r.stdout, r.stderr
    );
    assert!(
        r.stderr
            .contains("uploading terraform-provider-greet_1.0.0_")
            && r.stderr.contains(".zip"),
        "failure names the zip: {}",
        r.stderr
    );

    // Half-published: the version exists, uploads are missing. A re-run completes it.
    t.reg.stats().reset();
    let j = ok_json(&run(publish_binaries(&t, &bins, "1.0.0")).await);
    assert_eq!(j["outcome"], "published", "{j}");
    let items = j["items"].as_array().unwrap();
    assert!(items
        .iter()
        .any(|i| i["kind"] == "provider-version" && i["action"] == "exists"));
    // The first uploads landed (which platform went first is up to the scheduler); the
    // re-run uploads exactly the others, and nothing it already has.
    let plats: Vec<(String, String)> = items
        .iter()
        .filter(|i| i["kind"] == "platform")
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_string(),
                i["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(plats.len(), 4, "{j}");
    assert!(
        plats.iter().all(|(_, a)| a == "exists" || a == "uploaded"),
        "{j}"
    );
    let landed = plats.iter().filter(|(_, a)| a == "exists").count();
    assert!(
        landed >= 1,
        "no platform upload landed before the faults: {j}"
    );
    assert!(landed <= 2, "the faults did not bite: {j}");
    let uploaded_files = items
        .iter()
        .filter(|i| i["kind"] == "file" && i["action"] == "uploaded")
        .count();
    assert_eq!(
        t.reg.stats().count("PUT", ""),
        plats.iter().filter(|(_, a)| a == "uploaded").count() + uploaded_files,
        "the re-run uploaded something the registry had: {j}"
    );
    assert_eq!(
        t.reg.stats().count("POST", "/versions") - t.reg.stats().count("POST", "/platforms"),
        0,
        "version re-created"
    );

    // Identical re-run: nothing written.
    t.reg.stats().reset();
    let j = ok_json(&run(publish_binaries(&t, &bins, "1.0.0")).await);
    assert_eq!(j["outcome"], "already-published", "{j}");
    assert_eq!(j["published"], false);
    assert_eq!(t.reg.stats().count("POST", ""), 0);
    assert_eq!(t.reg.stats().count("PUT", ""), 0);
    assert_eq!(t.reg.stats().writes(), 0);

    // Mismatching re-run (other bytes, same version): refused, names the platform.
    t.reg.stats().reset();
    let other = make_binaries(&tmp.path().join("bin2"), "v2");
    let r = run(publish_binaries(&t, &other, "1.0.0")).await;
    let msg = refused(&t, &r, "darwin_arm64");
    assert!(msg.contains("1.0.0"), "{msg}");

    // The same binaries given as a folder (OS_ARCH/terraform-provider-NAME) zip to the
    // same bytes: still already published.
    let mut c = rsa(t.tfpub_http());
    c.args([
        "provider",
        "publish",
        "--json",
        "--name",
        NAME,
        "--version",
        "1.0.0",
    ])
    .args(["--protocols", "6.0"])
    .arg(tmp.path().join("bin"));
    let j = ok_json(&run(c).await);
    assert_eq!(j["outcome"], "already-published", "{j}");
    assert_eq!(t.reg.stats().writes(), 0);

    // Another key for the same version: refused, names both key IDs.
    let mut c = with_key(t.tfpub_http(), "dsa.sec.asc", None);
    c.args(["provider", "publish", "--json"]);
    binary_args(&mut c, &bins, "1.0.0");
    let m = refused(&t, &run(c).await, "4BF7A3047F87DB58");
    assert!(m.contains(RSA_KEY_ID), "{m}");

    // A dry run of a new version plans everything and writes nothing.
    let mut c = publish_binaries(&t, &bins, "1.1.0");
    c.arg("--dry-run");
    let j = ok_json(&run(c).await);
    assert_eq!(j["outcome"], "planned", "{j}");
    assert_eq!(t.reg.stats().writes(), 0);

    // And the completed release still installs.
    let pkg = tmp.path().join("pkg");
    package_binaries(&t, &bins, "1.0.0", &pkg);
    let (init, lock, tf) = terraform_install(&t, "1.0.0").await;
    assert_installed(&init, &lock, &tf, &zip_files(&pkg), "1.0.0");
    t.stop().await;
}

/// Every refusal happens before the first registry write and names the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_before_any_write() {
    let t = TestRegistry::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let bins = make_binaries(&tmp.path().join("bin"), "v1");

    // Keys: written to files and passed with --gpg-key so the message can name the file.
    let keyed = |key: &str, pass: Option<&str>| {
        let mut c = t.tfpub_http();
        if let Some(p) = pass {
            c.env("TFPUB_GPG_PASSPHRASE", p);
        }
        c.args(["provider", "publish", "--json", "--gpg-key"])
            .arg(testdata(&format!("keys/{key}")));
        binary_args(&mut c, &bins, "1.0.0");
        c
    };
    let m = refused(&t, &run(keyed("ed.sec.asc", None)).await, "ed.sec.asc");
    assert!(m.contains("RSA or DSA"), "{m}");
    assert!(m.contains("1735FBF7F6A1C73F"), "{m}");
    let m = refused(&t, &run(keyed("exp.sec.asc", None)).await, "exp.sec.asc");
    assert!(m.contains("expired"), "{m}");
    let m = refused(
        &t,
        &run(keyed("rsa.sec.asc", Some("wrong horse"))).await,
        "rsa.sec.asc",
    );
    assert!(m.contains("wrong passphrase"), "{m}");
    assert!(!m.to_lowercase().contains("unexpected eof"), "{m}");
    assert!(!m.contains("wrong horse"), "{m}");
    // The same wrong passphrase through the environment key.
    let mut c = with_key(t.tfpub_http(), "rsa.sec.asc", Some("wrong horse"));
    c.args(["provider", "publish", "--json"]);
    binary_args(&mut c, &bins, "1.0.0");
    let m = refused(&t, &run(c).await, "TFPUB_GPG_PRIVATE_KEY");
    assert!(m.contains("wrong passphrase"), "{m}");

    // A missing platform binary.
    let mut missing = bins.clone();
    missing[2].1 = tmp.path().join("nowhere/terraform-provider-greet");
    let m = refused(
        &t,
        &run(publish_binaries(&t, &missing, "1.0.0")).await,
        "nowhere/terraform-provider-greet",
    );
    assert!(m.contains("linux_arm64"), "{m}");

    // A dist folder whose SHA256SUMS does not match a zip.
    let dist = tmp.path().join("dist");
    package_binaries(&t, &bins, "1.0.0", &dist);
    let bad = dist.join("terraform-provider-greet_1.0.0_linux_arm64.zip");
    let mut bytes = std::fs::read(&bad).unwrap();
    bytes.push(0);
    std::fs::write(&bad, bytes).unwrap();
    let mut c = rsa(t.tfpub_http());
    c.args(["provider", "publish", "--json"]).arg(&dist);
    refused(
        &t,
        &run(c).await,
        "terraform-provider-greet_1.0.0_linux_arm64.zip",
    );

    // A dist folder with a zip whose name does not match the provider.
    let dist2 = tmp.path().join("dist2");
    package_binaries(&t, &bins, "1.0.0", &dist2);
    std::fs::copy(
        dist2.join("terraform-provider-greet_1.0.0_linux_amd64.zip"),
        dist2.join("terraform-provider-other_1.0.0_linux_amd64.zip"),
    )
    .unwrap();
    let mut c = rsa(t.tfpub_http());
    c.args(["provider", "publish", "--json"]).arg(&dist2);
    refused(
        &t,
        &run(c).await,
        "terraform-provider-other_1.0.0_linux_amd64.zip",
    );
    // ... and one listed in SHA256SUMS under a wrong name.
    let dist3 = tmp.path().join("dist3");
    package_binaries(&t, &bins, "1.0.0", &dist3);
    let sums = dist3.join("terraform-provider-greet_1.0.0_SHA256SUMS");
    let text = std::fs::read_to_string(&sums).unwrap().replace(
        "terraform-provider-greet_1.0.0_darwin_arm64.zip",
        "terraform-provider-gret_1.0.0_darwin_arm64.zip",
    );
    std::fs::write(&sums, text).unwrap();
    std::fs::rename(
        dist3.join("terraform-provider-greet_1.0.0_darwin_arm64.zip"),
        dist3.join("terraform-provider-gret_1.0.0_darwin_arm64.zip"),
    )
    .unwrap();
    std::fs::remove_file(dist3.join("terraform-provider-greet_1.0.0_SHA256SUMS.sig")).unwrap();
    let mut c = rsa(t.tfpub_http());
    c.args(["provider", "publish", "--json"]).arg(&dist3);
    refused(
        &t,
        &run(c).await,
        "terraform-provider-gret_1.0.0_darwin_arm64.zip",
    );

    // A dist folder signed by another key than the one given.
    let dist5 = tmp.path().join("dist5");
    let mut c = with_key(t.tfpub_http(), "dsa.sec.asc", None);
    c.args(["provider", "package"]);
    binary_args(&mut c, &bins, "1.0.0");
    c.arg("-o").arg(&dist5);
    assert_eq!(run(c).await.code, 0);
    let mut c = rsa(t.tfpub_http());
    c.args(["provider", "publish", "--json"]).arg(&dist5);
    refused(
        &t,
        &run(c).await,
        "terraform-provider-greet_1.0.0_SHA256SUMS.sig",
    );

    // A dist folder without a manifest and no --protocols: no guess, refused.
    let dist4 = tmp.path().join("dist4");
    package_binaries(&t, &bins, "1.0.0", &dist4);
    let sums = dist4.join("terraform-provider-greet_1.0.0_SHA256SUMS");
    let text: String = std::fs::read_to_string(&sums)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("manifest"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&sums, text).unwrap();
    std::fs::remove_file(dist4.join("terraform-provider-greet_1.0.0_manifest.json")).unwrap();
    std::fs::remove_file(dist4.join("terraform-provider-greet_1.0.0_SHA256SUMS.sig")).unwrap();
    let mut c = rsa(t.tfpub_http());
    c.args(["provider", "publish", "--json"]).arg(&dist4);
    refused(&t, &run(c).await, "--protocols");

    assert_eq!(t.reg.stats().writes(), 0);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_the_registry_lost_is_caught_by_the_read_back_and_a_rerun_fixes_it() {
    let t = TestRegistry::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let bins = make_binaries(tmp.path(), "lost");
    // Every upload answers 200, but the registry keeps none of the first three files
    // (whichever of the six go first: SHA256SUMS, its signature or a zip).
    t.reg.faults().lose_next_uploads(3);
    let r = run(publish_binaries(&t, &bins, "1.0.0")).await;
    assert_eq!(r.code, 1, "a publish with lost files must fail:\n{r:?}");
    let doc = r.json();
    let err = doc["error"].to_string();
    assert!(
        err.contains("read-back mismatch")
            || err.contains("reading back")
            || err.contains("SHA256SUMS"),
        "the failure does not say what the read-back found: {err}"
    );
    assert!(doc["error"]["hint"].is_string(), "no hint: {doc}");

    // The re-run uploads what is missing and verifies.
    let r = run(publish_binaries(&t, &bins, "1.0.0")).await;
    let j = ok_json(&r);
    assert_eq!(j["published"], true, "{j}");
    // Terraform installs all four platforms of the repaired version.
    let (init, _lock, _tf) = terraform_install(&t, "1.0.0").await;
    for p in PLATFORMS {
        assert!(
            init.contains(&format!(
                "Retrieved registry.tfpub.test/acme/{NAME} 1.0.0 for {p}"
            )),
            "terraform could not fetch {p} of the repaired version:\n{init}"
        );
    }
    t.stop().await;
}

/// Make a FIFO at `path` (the system `mkfifo`).
#[cfg(unix)]
fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(ok.success(), "mkfifo {}", path.display());
}

/// A run that a FIFO input must not block: bounded, so a hang fails the test.
#[cfg(unix)]
async fn run_bounded(c: Command) -> Run {
    tokio::time::timeout(std::time::Duration::from_secs(60), run(c))
        .await
        .expect("tfpub blocked on its input (a FIFO opened before its type was checked?)")
}

/// An empty binary, a folder or a FIFO where a provider binary (or a dist file) belongs
/// is refused before any registry write, the message naming the real problem (not
/// "does not exist"), and a FIFO is never opened (the run would block on it).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_folder_and_fifo_binaries_are_refused_naming_the_problem() {
    let t = TestRegistry::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let bins = make_binaries(&tmp.path().join("bin"), "v1");

    // `--binary OS_ARCH=FILE`, one platform swapped for each bad kind.
    let odd = tmp.path().join("odd");
    std::fs::create_dir_all(&odd).unwrap();
    let empty = odd.join("terraform-provider-greet-empty");
    std::fs::write(&empty, b"").unwrap();
    let folder = odd.join("terraform-provider-greet-folder");
    std::fs::create_dir_all(&folder).unwrap();
    let fifo = odd.join("terraform-provider-greet-fifo");
    mkfifo(&fifo);
    for (path, problem) in [
        (&empty, "is empty (0 bytes)"),
        (&folder, "is a directory"),
        (&fifo, "is a FIFO"),
    ] {
        let mut swapped = bins.clone();
        swapped[1].1 = path.clone();
        let m = refused(
            &t,
            &run_bounded(publish_binaries(&t, &swapped, "1.0.0")).await,
            problem,
        );
        assert!(m.contains("linux_amd64"), "{m}");
        assert!(m.contains(&path.display().to_string()), "{m}");
        assert!(!m.contains("does not exist"), "{m}");
    }

    // A folder of OS_ARCH/ binaries where one platform's binary is a FIFO, then empty.
    let tree = tmp.path().join("bin");
    let linux = tree.join("linux_amd64/terraform-provider-greet");
    std::fs::remove_file(&linux).unwrap();
    mkfifo(&linux);
    let from_tree = || {
        let mut c = rsa(t.tfpub_http());
        c.args(["provider", "publish", "--json", "--name", NAME])
            .args(["--version", "1.0.0", "--protocols", "6.0"])
            .arg(&tree);
        c
    };
    let m = refused(&t, &run_bounded(from_tree()).await, "is a FIFO");
    assert!(m.contains("linux_amd64"), "{m}");
    std::fs::remove_file(&linux).unwrap();
    std::fs::write(&linux, b"").unwrap();
    refused(&t, &run_bounded(from_tree()).await, "is empty (0 bytes)");

    // A dist folder whose zip is a FIFO, a folder, or empty.
    let good = make_binaries(&tmp.path().join("good"), "v1");
    let dist = tmp.path().join("dist");
    package_binaries(&t, &good, "1.0.0", &dist);
    let zip = dist.join("terraform-provider-greet_1.0.0_linux_arm64.zip");
    let from_dist = || {
        let mut c = rsa(t.tfpub_http());
        c.args(["provider", "publish", "--json"]).arg(&dist);
        c
    };
    std::fs::remove_file(&zip).unwrap();
    mkfifo(&zip);
    refused(
        &t,
        &run_bounded(from_dist()).await,
        "_linux_arm64.zip is a FIFO",
    );
    std::fs::remove_file(&zip).unwrap();
    std::fs::create_dir(&zip).unwrap();
    refused(
        &t,
        &run_bounded(from_dist()).await,
        "_linux_arm64.zip is a directory",
    );
    std::fs::remove_dir(&zip).unwrap();
    std::fs::write(&zip, b"").unwrap();
    refused(
        &t,
        &run_bounded(from_dist()).await,
        "_linux_arm64.zip is empty",
    );
    // ... and whose SHA256SUMS is a FIFO.
    let sums = dist.join("terraform-provider-greet_1.0.0_SHA256SUMS");
    std::fs::remove_file(&sums).unwrap();
    mkfifo(&sums);
    refused(&t, &run_bounded(from_dist()).await, "_SHA256SUMS is a FIFO");

    assert_eq!(t.reg.stats().writes(), 0);
    t.stop().await;
}

/// The entries of a zip: (name, bytes).
type Entries<'a> = Vec<(&'a str, &'a [u8])>;

/// Replace `zip` in a dist folder by one holding `entries` (name, bytes), list its new
/// checksum in SHA256SUMS and drop the now stale signature (tfpub signs again).
fn swap_dist_zip(dist: &Path, zip: &str, entries: &[(&str, &[u8])]) {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        let opts = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    let bytes = w.finish().unwrap().into_inner();
    let old = sha256_hex(&std::fs::read(dist.join(zip)).unwrap());
    std::fs::write(dist.join(zip), &bytes).unwrap();
    let sums = dist.join("terraform-provider-greet_1.0.0_SHA256SUMS");
    let text = std::fs::read_to_string(&sums)
        .unwrap()
        .replace(&old, &sha256_hex(&bytes));
    std::fs::write(&sums, text).unwrap();
    let _ = std::fs::remove_file(dist.join("terraform-provider-greet_1.0.0_SHA256SUMS.sig"));
}

/// A dist zip whose entries escape the install folder (`..`, an absolute path) or whose
/// provider binary is empty is refused before any registry write, the entry named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dist_zip_with_an_escaping_or_empty_entry_is_refused_before_any_write() {
    let t = TestRegistry::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let bins = make_binaries(&tmp.path().join("bin"), "v1");
    let zip = "terraform-provider-greet_1.0.0_linux_arm64.zip";
    let exe = "terraform-provider-greet_v1.0.0";
    let cases: [(&str, Entries, &str); 4] = [
        (
            "up",
            vec![(exe, b"#!/bin/sh\n"), ("../evil.sh", b"x")],
            "\"../evil.sh\"",
        ),
        (
            "abs",
            vec![(exe, b"#!/bin/sh\n"), ("/tmp/evil.sh", b"x")],
            "\"/tmp/evil.sh\"",
        ),
        (
            "deep",
            vec![(exe, b"#!/bin/sh\n"), ("a/../../x", b"x")],
            "\"a/../../x\"",
        ),
        ("empty", vec![(exe, b"")], "is empty (0 bytes)"),
    ];
    for (label, entries, needle) in cases {
        let dist = tmp.path().join(format!("dist-{label}"));
        package_binaries(&t, &bins, "1.0.0", &dist);
        swap_dist_zip(&dist, zip, &entries);
        let mut c = rsa(t.tfpub_http());
        c.args(["provider", "publish", "--json"]).arg(&dist);
        let m = refused(&t, &run(c).await, needle);
        assert!(m.contains(zip), "{label}: {m}");
    }
    assert_eq!(t.reg.stats().writes(), 0);
    t.stop().await;
}

/// The dist/ folder tfpub packages for `version`, its SHA256SUMS then re-signed by the
/// system gpg with `key` (a throwaway GNUPGHOME holds the only copy of the secret key):
/// a release signed elsewhere, as goreleaser's `signs:` step leaves it.
fn dist_signed_by_gpg(
    t: &TestRegistry,
    bins: &[(String, PathBuf)],
    version: &str,
    dist: &Path,
    key: (&str, &str, &str),
) {
    package_binaries(t, bins, version, dist);
    let (file, key_id, passphrase) = key;
    let gpg = Gpg::new();
    gpg.import(&test_key(file));
    let sums = dist.join(format!("terraform-provider-{NAME}_{version}_SHA256SUMS"));
    let sig = dist.join(format!(
        "terraform-provider-{NAME}_{version}_SHA256SUMS.sig"
    ));
    assert!(sig.is_file(), "{} missing", sig.display());
    std::fs::remove_file(&sig).unwrap();
    gpg.detach_sign(key_id, passphrase, &sums, &sig);
}

/// `provider publish` with only a public key (`--public-key FILE` or `--key-id ID`).
fn publish_public(t: &TestRegistry, key: &[&str], input: &[&str]) -> Command {
    let mut c = t.tfpub_http();
    c.args(["provider", "publish", "--json"])
        .args(key)
        .args(input);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dist_signed_elsewhere_publishes_with_the_public_key_only_and_installs() {
    let t = TestRegistry::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let bins = make_binaries(&tmp.path().join("bin"), "byo");
    let dist = tmp.path().join("dist");
    dist_signed_by_gpg(
        &t,
        &bins,
        "3.0.0",
        &dist,
        ("rsa.sec.asc", RSA_KEY_ID, RSA_PASSPHRASE),
    );
    let zips = zip_files(&dist);
    let public = testdata("keys/rsa.pub.asc");
    let key = ["--public-key", public.to_str().unwrap()];
    let input = [dist.to_str().unwrap()];

    // The plan first: the key would be registered, nothing written.
    let j = ok_json(
        &run(publish_public(
            &t,
            &key,
            &[&["--dry-run"][..], &input].concat(),
        ))
        .await,
    );
    assert_eq!(j["outcome"], "planned", "{j}");
    assert_eq!(t.reg.stats().writes(), 0);

    let j = ok_json(&run(publish_public(&t, &key, &input)).await);
    assert_eq!(j["outcome"], "published", "{j}");
    let key_item = item_of(&j, "gpg-key");
    assert_eq!(key_item["id"], RSA_KEY_ID, "{j}");
    assert_eq!(key_item["action"], "created", "{j}");
    let (init, lock, tf) = terraform_install(&t, "3.0.0").await;
    assert_installed(&init, &lock, &tf, &zips, "3.0.0");

    // The key is registered now: the next release names it by id only.
    let dist2 = tmp.path().join("dist2");
    dist_signed_by_gpg(
        &t,
        &bins,
        "3.1.0",
        &dist2,
        ("rsa.sec.asc", RSA_KEY_ID, RSA_PASSPHRASE),
    );
    let j = ok_json(
        &run(publish_public(
            &t,
            &["--key-id", RSA_KEY_ID],
            &[dist2.to_str().unwrap()],
        ))
        .await,
    );
    assert_eq!(j["outcome"], "published", "{j}");
    let key_item = item_of(&j, "gpg-key");
    assert_eq!(key_item["id"], RSA_KEY_ID, "{j}");
    assert_eq!(key_item["action"], "exists", "{j}");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_key_only_publish_refuses_before_any_write() {
    const DSA_KEY_ID: &str = "4BF7A3047F87DB58";
    let t = TestRegistry::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let bins = make_binaries(&tmp.path().join("bin"), "byo-refused");
    let public = testdata("keys/rsa.pub.asc");
    let key = ["--public-key", public.to_str().unwrap()];

    // Signed by another key (DSA) than the public key given (RSA): both ids named.
    let dist = tmp.path().join("dist");
    dist_signed_by_gpg(&t, &bins, "1.0.0", &dist, ("dsa.sec.asc", DSA_KEY_ID, ""));
    let input = [dist.to_str().unwrap()];
    let m = refused(&t, &run(publish_public(&t, &key, &input)).await, DSA_KEY_ID);
    assert!(m.contains(RSA_KEY_ID), "{m}");
    assert!(m.contains("not by the given key"), "{m}");

    // A key id the namespace does not hold.
    let m = refused(
        &t,
        &run(publish_public(&t, &["--key-id", RSA_KEY_ID], &input)).await,
        RSA_KEY_ID,
    );
    assert!(m.contains("not registered in the namespace acme"), "{m}");

    // Raw binaries: a public key cannot sign them.
    let mut c = publish_public(&t, &key, &[]);
    binary_args(&mut c, &bins, "1.0.0");
    let m = refused(&t, &run(c).await, "a public key alone cannot sign");
    assert!(m.contains(RSA_KEY_ID), "{m}");
    t.stop().await;
}

/// `gpg` run by tfpub as an external signer (`--sign-command`): the secret key lives only
/// in `gpg`'s throwaway GNUPGHOME, handed to the command through tfpub's environment.
fn publish_sign_command(
    t: &TestRegistry,
    gpg: &Gpg,
    key: &[&str],
    command: &str,
    bins: &[(String, PathBuf)],
    version: &str,
) -> Command {
    let mut c = publish_public(t, key, &["--sign-command", command]);
    c.env("GNUPGHOME", gpg.home());
    binary_args(&mut c, bins, version);
    c
}

/// The gpg-agent style command line signing with the RSA test key.
fn gpg_sign_command(gpg: &Gpg, key_id: &str, passphrase: &str) -> String {
    let pass = gpg.home().join("passphrase");
    std::fs::write(&pass, passphrase).unwrap();
    format!(
        "gpg --batch --no-tty --yes --pinentry-mode loopback --passphrase-file '{}' \
         --local-user {key_id} --detach-sign --output {{sig}} {{file}}",
        pass.display()
    )
}

/// The bytes the registry serves at `url` (absolute, or relative to the registry).
async fn served(api: &Api, url: &str) -> Vec<u8> {
    let resp = if url.starts_with("http") {
        reqwest::get(url).await.unwrap()
    } else {
        api.req(reqwest::Method::GET, url).send().await.unwrap()
    };
    assert!(resp.status().is_success(), "GET {url}: {}", resp.status());
    resp.bytes().await.unwrap().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_binaries_signed_by_an_external_command_publish_and_the_served_signature_verifies() {
    let t = TestRegistry::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let bins = make_binaries(&tmp.path().join("bin"), "sigcmd");
    let signer = Gpg::new();
    signer.import(&test_key("rsa.sec.asc"));
    let command = gpg_sign_command(&signer, RSA_KEY_ID, RSA_PASSPHRASE);
    let public = testdata("keys/rsa.pub.asc");
    let key = ["--public-key", public.to_str().unwrap()];

    let j = ok_json(
        &run(publish_sign_command(
            &t, &signer, &key, &command, &bins, "4.0.0",
        ))
        .await,
    );
    assert_eq!(j["outcome"], "published", "{j}");
    let key_item = item_of(&j, "gpg-key");
    assert_eq!(key_item["id"], RSA_KEY_ID, "{j}");

    // What a consumer downloads: SHA256SUMS and its signature, checked by an independent
    // gpg that holds only the public key.
    let api = Api::new(&t.reg, TEST_TOKEN);
    let (s, d) = api
        .get(&format!(
            "/api/registry/v1/providers/acme/{NAME}/4.0.0/download/linux/amd64"
        ))
        .await;
    assert!(s.is_success(), "{s} {d}");
    let sums = served(&api, d["shasums_url"].as_str().unwrap()).await;
    let sig = served(&api, d["shasums_signature_url"].as_str().unwrap()).await;
    assert!(sig[0] & 0x80 != 0, "a binary signature");
    let checker = Gpg::new();
    checker.import(&test_key("rsa.pub.asc"));
    let (ok, status) = checker.verify(&sums, &sig);
    assert!(ok, "{status}");
    assert!(
        status.contains(&format!("GOODSIG {RSA_KEY_ID}")),
        "{status}"
    );
    let (bad, _) = checker.verify(b"other sums\n", &sig);
    assert!(
        !bad,
        "the served signature is over the served SHA256SUMS only"
    );

    // The key is registered now: --key-id with the same signer.
    let j = ok_json(
        &run(publish_sign_command(
            &t,
            &signer,
            &["--key-id", RSA_KEY_ID],
            &command,
            &bins,
            "4.1.0",
        ))
        .await,
    );
    assert_eq!(j["outcome"], "published", "{j}");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_signer_that_fails_or_signs_wrongly_is_refused_before_any_write() {
    const DSA_KEY_ID: &str = "4BF7A3047F87DB58";
    let t = TestRegistry::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let bins = make_binaries(&tmp.path().join("bin"), "sigcmd-refused");
    let signer = Gpg::new();
    signer.import(&test_key("dsa.sec.asc"));
    let public = testdata("keys/rsa.pub.asc");
    let key = ["--public-key", public.to_str().unwrap()];
    let refuse = |command: String| {
        let c = publish_sign_command(&t, &signer, &key, &command, &bins, "1.0.0");
        async move { run(c).await }
    };

    // Signed, but by another key than the public key given: both ids named.
    let m = refused(
        &t,
        &refuse(gpg_sign_command(&signer, DSA_KEY_ID, "")).await,
        DSA_KEY_ID,
    );
    assert!(m.contains(RSA_KEY_ID), "{m}");
    assert!(m.contains("not by the given key"), "{m}");

    // An empty "signature".
    let m = refused(
        &t,
        &refuse("cp /dev/null {sig}".into()).await,
        "does not verify",
    );
    assert!(m.contains("SHA256SUMS.sig"), "{m}");

    // A command that exits non-zero: its code and its stderr named.
    let m = refused(
        &t,
        &refuse("sh -c 'echo \"card not present\" >&2; exit 3' {sig}".into()).await,
        "exit code 3",
    );
    assert!(m.contains("card not present"), "{m}");

    // A command that succeeds but writes nothing.
    let m = refused(
        &t,
        &refuse("true {sig} {file}".into()).await,
        "wrote no signature",
    );
    assert!(m.contains("SHA256SUMS.sig"), "{m}");

    // A program that does not exist, and a command line without {sig}.
    refused(
        &t,
        &refuse("tfpub-no-such-signer {sig}".into()).await,
        "could not be started",
    );
    refused(
        &t,
        &refuse("gpg --detach-sign {file}".into()).await,
        "no {sig} placeholder",
    );

    // Without a public key to verify with, clap refuses the flag.
    let mut c = t.tfpub_http();
    c.args(["provider", "publish", "--sign-command", "true {sig}"]);
    binary_args(&mut c, &bins, "1.0.0");
    refused(&t, &run(c).await, "--public-key");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dist_without_its_signature_is_refused_with_a_public_key_naming_the_file() {
    let t = TestRegistry::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let bins = make_binaries(&tmp.path().join("bin"), "byo-nosig");
    let dist = tmp.path().join("dist");
    package_binaries(&t, &bins, "1.0.0", &dist);
    let sig = format!("terraform-provider-{NAME}_1.0.0_SHA256SUMS.sig");
    std::fs::remove_file(dist.join(&sig)).unwrap();
    let public = testdata("keys/rsa.pub.asc");
    let key = ["--public-key", public.to_str().unwrap()];
    let r = run(publish_public(&t, &key, &[dist.to_str().unwrap()])).await;
    refused(&t, &r, &sig);
    let j = r.json();
    assert!(
        j["error"]["message"].as_str().unwrap().contains(&sig),
        "{j}"
    );
    let hint = j["error"]["hint"].as_str().unwrap_or_default();
    assert!(
        hint.contains("gpg --detach-sign") && hint.contains(&sig),
        "{j}"
    );
    assert_eq!(j["error"]["kind"], "invalid-input", "{j}");
    t.stop().await;
}

/// `make_binaries`, with ~200 KiB of varied text after each script but linux_amd64's (the
/// one Terraform runs): big enough that deflate levels 5 and 6 give other bytes.
fn compressible_binaries(dir: &Path, tag: &str) -> Vec<(String, PathBuf)> {
    let bins = make_binaries(dir, tag);
    for (p, f) in &bins {
        if p == "linux_amd64" {
            continue;
        }
        let mut bytes = std::fs::read(f).unwrap();
        let mut h = Sha256::digest(p.as_bytes());
        for i in 0..6000 {
            h = Sha256::digest(h);
            let words = [
                "provider",
                "schema",
                "resource",
                "attribute",
                "plan",
                "state",
            ];
            bytes.extend_from_slice(
                format!(
                    "# {} {} {i} {:02x}\n",
                    words[h[0] as usize % 6],
                    words[h[1] as usize % 6],
                    h[2]
                )
                .as_bytes(),
            );
        }
        std::fs::write(f, bytes).unwrap();
    }
    bins
}

/// The release an earlier tfpub built from `bins` (zips deflated at `level`), its
/// SHA256SUMS signed by the system gpg with the RSA test key.
fn dist_zipped_at(level: u32, bins: &[(String, PathBuf)], version: &str, dist: &Path) {
    let inputs: Vec<tfpub_core::package::provider::BinaryInput> = bins
        .iter()
        .map(|(p, f)| {
            let (os, arch) = p.split_once('_').unwrap();
            tfpub_core::package::provider::BinaryInput {
                os: os.into(),
                arch: arch.into(),
                path: f.clone(),
            }
        })
        .collect();
    let rel = tfpub_core::package::provider::package_binaries_notify(
        NAME,
        &semver::Version::parse(version).unwrap(),
        &inputs,
        &["6.0".to_string()],
        dist,
        tfpub_core::package::provider::Zipping {
            level,
            durable: true,
        },
        &|_| {},
    )
    .unwrap();
    let gpg = Gpg::new();
    gpg.import(&test_key("rsa.sec.asc"));
    gpg.detach_sign(RSA_KEY_ID, RSA_PASSPHRASE, &rel.shasums, &rel.signature);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_an_earlier_tfpub_zipped_is_recognised_completed_and_installs() {
    let t = TestRegistry::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let bins = compressible_binaries(&tmp.path().join("bin"), "old");
    let old = tfpub_core::package::provider::EARLIER_ZIP_LEVELS[0];
    let dist = tmp.path().join("dist");
    dist_zipped_at(old, &bins, "1.0.0", &dist);
    // Today's zips of the same binaries are other bytes (else this proves nothing).
    let pkg = tmp.path().join("pkg");
    package_binaries(&t, &bins, "1.0.0", &pkg);
    let hashes = |d: &Path| -> Vec<String> {
        zip_files(d)
            .iter()
            .map(|z| sha256_hex(&std::fs::read(z).unwrap()))
            .collect()
    };
    assert_ne!(hashes(&dist), hashes(&pkg), "levels gave the same zips");

    // The earlier publish died after SHA256SUMS, its signature and one zip.
    let mut c = rsa(t.tfpub_http());
    c.args(["provider", "publish", "--json", "--concurrency", "1"])
        .arg(&dist);
    let r = run_until_uploads_fail(&t, c, 3).await;
    assert_ne!(r.code, 0, "the first publish should fail:\n{}", r.stderr);

    // Re-run from the raw binaries by today's tfpub: recognised as the same release and
    // completed with the bytes the registry's SHA256SUMS names, not refused.
    let j = ok_json(&run(publish_binaries(&t, &bins, "1.0.0")).await);
    assert_eq!(j["outcome"], "published", "{j}");
    let (init, lock, tf) = terraform_install(&t, "1.0.0").await;
    assert_installed(&init, &lock, &tf, &zip_files(&dist), "1.0.0");

    // Once complete, another re-run changes nothing.
    t.reg.stats().reset();
    let j = ok_json(&run(publish_binaries(&t, &bins, "1.0.0")).await);
    assert_eq!(j["outcome"], "already-published", "{j}");
    assert_eq!(t.reg.stats().writes(), 0);

    // Other binaries are still refused, naming the platform, with nothing written.
    let other = compressible_binaries(&tmp.path().join("bin2"), "new");
    let r = run(publish_binaries(&t, &other, "1.0.0")).await;
    refused(&t, &r, "darwin_arm64");
    t.stop().await;
}

/// Platforms beyond the common six OS and four architectures (Go's other ports): tfpub
/// zips and publishes them, and the real Terraform locks every one of them from the
/// registry, checking each zip against the signed SHA256SUMS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_ports_beyond_the_common_platforms_publish_and_lock_with_terraform() {
    let t = TestRegistry::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let plats = [
        "linux_ppc64le",
        "linux_s390x",
        "linux_riscv64",
        "netbsd_arm64",
        "illumos_amd64",
        "aix_ppc64",
    ];
    let mut c = rsa(t.tfpub_http());
    c.args(["provider", "publish", "--json"]);
    c.args(["--name", NAME, "--version", "1.2.0", "--protocols", "6.0"]);
    for p in plats {
        let f = tmp
            .path()
            .join(p)
            .join(format!("terraform-provider-{NAME}"));
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, format!("#!/bin/sh\necho {p}\n")).unwrap();
        c.arg("--binary").arg(format!("{p}={}", f.display()));
    }
    let j = ok_json(&run(c).await);
    assert_eq!(j["outcome"], "published", "{j}");
    let tf = Terraform::new(
        &t.reg,
        TF_TOKEN,
        &format!(
            "terraform {{\n  required_providers {{\n    {NAME} = {{\n      source  = \"registry.tfpub.test/acme/{NAME}\"\n      version = \"1.2.0\"\n    }}\n  }}\n}}\n"
        ),
    );
    let mut args = vec!["providers", "lock", "-no-color"];
    let flags: Vec<String> = plats.iter().map(|p| format!("-platform={p}")).collect();
    args.extend(flags.iter().map(String::as_str));
    let o = tf.run(&args).await;
    let out = format!("{}{}", o.stdout, o.stderr);
    for p in plats {
        assert!(
            out.contains(&format!(
                "Retrieved registry.tfpub.test/acme/{NAME} 1.2.0 for {p} (self-signed, key ID {RSA_KEY_ID})"
            )),
            "terraform did not lock {p}:\n{out}"
        );
    }
    let lock = tf.lock_file();
    // An h1: hash per platform (Terraform computed it from the zip it fetched).
    assert_eq!(lock.matches("\"h1:").count(), plats.len(), "{lock}");
    t.stop().await;
}
