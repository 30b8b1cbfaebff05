//! Integration tests: the registry operations `module|provider list|show|pull` and
//! `module publish --archive`, through the real binary against the embedded registry.
//! What tfpub did not write proves the results: the system `tar` builds the prebuilt
//! archive, `gpg` verifies the pulled signature and `sha256sum -c` the pulled zips; a
//! blob tampered with on the registry's disk must make the pull fail and leave nothing.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use crate::support::gpg::Gpg;
use crate::support::registry::Api;
use crate::support::terraform::Terraform;
use crate::support::{
    module_copy, ok_json, run, sha256_hex, test_key, Run, TestRegistry, ORG, RSA_KEY_ID,
    RSA_PASSPHRASE, TEST_TOKEN,
};

/// `tfpub --json ARGS...` against `t` over http.
pub fn tfpub_json(t: &TestRegistry, args: &[&str]) -> Command {
    let mut c = t.tfpub_http();
    c.arg("--json").args(args);
    c
}

/// Publishes the module folder `dir` as `name`/`provider` `version` (commit `sha`).
pub async fn publish_module(
    t: &TestRegistry,
    dir: &Path,
    name: &str,
    provider: &str,
    version: &str,
) {
    let mut c = tfpub_json(
        t,
        &["module", "publish", "--name", name, "--provider", provider],
    );
    c.args([
        "--version",
        version,
        "--commit-sha",
        &format!("{:0>40}", version.replace('.', "")),
    ])
    .arg(dir);
    ok_json(&run(c).await);
}

/// Two tiny provider binaries for `provider publish --binary`, differing by `tag`.
pub fn binaries(dir: &Path, tag: &str) -> Vec<String> {
    ["linux_amd64", "darwin_arm64"]
        .iter()
        .map(|p| {
            let f = dir.join(p).join("terraform-provider-greet");
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(&f, format!("#!/bin/sh\necho {tag} {p}\n")).unwrap();
            format!("{p}={}", f.display())
        })
        .collect()
}

/// Publishes provider `greet` `version`, signed with the RSA test key.
pub async fn publish_provider(t: &TestRegistry, work: &Path, version: &str) {
    let bins = binaries(&work.join(version), version);
    let mut c = tfpub_json(
        t,
        &[
            "provider",
            "publish",
            "--name",
            "greet",
            "--version",
            version,
        ],
    );
    c.args(["--protocols", "6.0"])
        .env("TFPUB_GPG_PRIVATE_KEY", test_key("rsa.sec.asc"))
        .env("TFPUB_GPG_PASSPHRASE", RSA_PASSPHRASE);
    for b in &bins {
        c.args(["--binary", b]);
    }
    ok_json(&run(c).await);
}

/// The items of `d` of `kind`.
fn items<'a>(d: &'a Value, kind: &str) -> Vec<&'a Value> {
    d["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == kind)
        .collect()
}

/// A failed run's JSON error, checked to be a refusal of `kind`.
fn refusal(r: &Run, kind: &str) -> Value {
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let d = r.json();
    assert_eq!(d["ok"], false);
    assert_eq!(d["error"]["kind"], kind, "{d}");
    assert!(d["error"]["hint"].is_string(), "{d}");
    d["error"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn module_list_and_show_search_filter_page_and_report_lifecycle() {
    let t = TestRegistry::start().await;
    let api = Api::new(&t.reg, TEST_TOKEN);
    let (_tmp, dir) = module_copy();
    for v in ["1.0.0", "1.1.0", "1.2.0"] {
        publish_module(&t, &dir, "greeting", "null", v).await;
    }
    let (s, _) = api
        .post(
            &format!("/api/v2/organizations/{ORG}/registry-modules"),
            json!({"name": "network", "provider": "aws", "registry-name": "private"}),
        )
        .await;
    assert_eq!(s, 201);
    for (verb, v) in [
        ("deprecate", "1.0.0"),
        ("deprecate", "1.1.0"),
        ("revoke", "1.1.0"),
    ] {
        let c = tfpub_json(&t, &["module", verb, "greeting/null", v, "--reason", "old"]);
        ok_json(&run(c).await);
    }

    let ids = |d: &Value| -> Vec<String> {
        items(d, "module")
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    };
    let d = ok_json(&run(tfpub_json(&t, &["module", "list"])).await);
    assert_eq!(ids(&d), ["acme/greeting/null", "acme/network/aws"]);
    let g = items(&d, "module")[0];
    assert_eq!(g["version"], "1.2.0");
    assert_eq!(g["facts"]["latest"], "1.2.0");
    assert_eq!(g["facts"]["versions"].as_array().unwrap().len(), 3);
    assert_eq!(g["facts"]["status"], "setup_complete");
    assert_eq!(g["facts"]["no-code"], false);
    // The documented search covers the provider field; the filter is exact.
    let d = ok_json(&run(tfpub_json(&t, &["module", "list", "-q", "AWS"])).await);
    assert_eq!(ids(&d), ["acme/network/aws"]);
    let d = ok_json(&run(tfpub_json(&t, &["module", "list", "--provider", "null"])).await);
    assert_eq!(ids(&d), ["acme/greeting/null"]);
    let d = ok_json(&run(tfpub_json(&t, &["module", "list", "-q", "nothing-like-it"])).await);
    assert!(ids(&d).is_empty());
    // The registry's documented organization filter (modules.md, providers.md).
    for (path, n) in [("registry-modules", 2), ("registry-providers", 0)] {
        for (org, want) in [(ORG, n), ("someone-else", 0)] {
            let (s, v) = api
                .get(&format!(
                    "/api/v2/organizations/{ORG}/{path}?filter%5Borganization_name%5D={org}"
                ))
                .await;
            assert_eq!(s, 200, "{v}");
            assert_eq!(
                v["data"].as_array().unwrap().len(),
                want,
                "{path} {org}: {v}"
            );
        }
    }

    let d = ok_json(&run(tfpub_json(&t, &["module", "show", "greeting/null"])).await);
    let v = items(&d, "module-version");
    assert_eq!(v.len(), 3, "{d}");
    let by = |ver: &str| *v.iter().find(|i| i["version"] == ver).unwrap();
    assert_eq!(by("1.0.0")["facts"]["deprecated"], true);
    assert_eq!(by("1.0.0")["facts"]["deprecation-reason"], "old");
    assert_eq!(by("1.0.0")["facts"]["revoked"], false);
    assert_eq!(by("1.1.0")["facts"]["revoked"], true);
    assert_eq!(by("1.1.0")["facts"]["revocation-message"], "old");
    assert_eq!(by("1.2.0")["facts"]["deprecated"], false);
    assert_eq!(by("1.2.0")["facts"]["status"], "ok");
    assert_eq!(
        by("1.2.0")["facts"]["commit-sha"],
        format!("{:0>40}", "120")
    );

    // The human forms are tables.
    let mut c = t.tfpub_http();
    c.args(["module", "show", "greeting/null"]);
    let r = run(c).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("VERSION  STATUS"), "{}", r.stdout);
    assert!(r.stdout.contains("deprecated: old"), "{}", r.stdout);
    assert!(r.stdout.contains("revoked: old"), "{}", r.stdout);

    let r = run(tfpub_json(&t, &["module", "show", "nope/null"])).await;
    let e = refusal(&r, "not-found");
    assert!(e["message"].as_str().unwrap().contains("nope/null"), "{e}");

    // More modules than one page (100): every page is followed.
    for i in 0..101 {
        let (s, _) = api
            .post(
                &format!("/api/v2/organizations/{ORG}/registry-modules"),
                json!({"name": format!("m{i:03}"), "provider": "null", "registry-name": "private"}),
            )
            .await;
        assert_eq!(s, 201);
    }
    let mut c = t.tfpub_http();
    c.args(["module", "list"]);
    let r = run(c).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("103 modules"), "{}", r.stdout);
    assert!(r.stdout.starts_with("MODULE"), "{}", r.stdout);
    t.stop().await;
}

/// The files of `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_list_show_and_pull_verified_as_terraform_does() {
    let t = TestRegistry::start().await;
    let work = tempfile::tempdir().unwrap();
    publish_provider(&t, work.path(), "1.0.0").await;
    publish_provider(&t, work.path(), "1.1.0").await;

    let d = ok_json(&run(tfpub_json(&t, &["provider", "list", "-q", "gre"])).await);
    let p = items(&d, "provider");
    assert_eq!(p.len(), 1, "{d}");
    assert_eq!(p[0]["id"], "acme/greet");
    assert_eq!(p[0]["facts"]["latest"], "1.1.0");
    let d = ok_json(&run(tfpub_json(&t, &["provider", "list", "-q", "zzz"])).await);
    assert!(items(&d, "provider").is_empty());

    let d = ok_json(&run(tfpub_json(&t, &["provider", "show", "greet", "1.0.0"])).await);
    let v = items(&d, "provider-version");
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["facts"]["key-id"], RSA_KEY_ID);
    assert_eq!(v[0]["facts"]["protocols"], json!(["6.0"]));
    let plats = items(&d, "platform");
    assert_eq!(plats.len(), 2, "{d}");

    let out = work.path().join("pulled");
    let d = ok_json(
        &run(tfpub_json(
            &t,
            &[
                "provider",
                "pull",
                "greet",
                "1.0.0",
                "-o",
                out.to_str().unwrap(),
            ],
        ))
        .await,
    );
    let files = names(&out);
    assert_eq!(
        files,
        [
            "terraform-provider-greet_1.0.0_SHA256SUMS",
            "terraform-provider-greet_1.0.0_SHA256SUMS.sig",
            "terraform-provider-greet_1.0.0_darwin_arm64.zip",
            "terraform-provider-greet_1.0.0_linux_amd64.zip",
            "terraform-provider-greet_1.0.0_manifest.json",
        ],
        "{d}"
    );
    // `show` names each platform's file and digest: they are the pulled files'.
    for p in &plats {
        let f = out.join(p["facts"]["filename"].as_str().unwrap());
        assert_eq!(p["facts"]["shasum"], sha256_hex(&std::fs::read(f).unwrap()));
    }
    // What tfpub did not write: gpg checks the signature, sha256sum every listed file.
    let sums = std::fs::read(out.join("terraform-provider-greet_1.0.0_SHA256SUMS")).unwrap();
    let sig = std::fs::read(out.join("terraform-provider-greet_1.0.0_SHA256SUMS.sig")).unwrap();
    let gpg = Gpg::new();
    gpg.import(&test_key("rsa.pub.asc"));
    let (good, text) = gpg.verify(&sums, &sig);
    assert!(good, "{text}");
    let check = Command::new("sha256sum")
        .args(["-c", "terraform-provider-greet_1.0.0_SHA256SUMS"])
        .current_dir(&out)
        .output()
        .expect("sha256sum runs");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    // The pulled folder is a dist/ folder provider publish accepts (here: nothing new).
    let mut c = tfpub_json(&t, &["provider", "publish", "--public-key"]);
    c.arg(crate::support::testdata("keys/rsa.pub.asc"))
        .arg(&out);
    let d = ok_json(&run(c).await);
    assert_eq!(d["outcome"], "already-published", "{d}");

    // A zip altered on the registry's disk: refused, and nothing is left half-written.
    let zip = plats.iter().find(|p| p["facts"]["os"] == "linux").unwrap();
    let sha = zip["facts"]["shasum"].as_str().unwrap();
    let blob = t.data.path().join("blobs/sha256").join(&sha[..2]).join(sha);
    assert!(blob.is_file(), "blob layout: {}", blob.display());
    crate::support::fs::set_mode(&blob, 0o644);
    std::fs::write(&blob, b"not the zip that was signed").unwrap();
    let out2 = work.path().join("pulled2");
    let r = run(tfpub_json(
        &t,
        &[
            "provider",
            "pull",
            "greet",
            "1.0.0",
            "-o",
            out2.to_str().unwrap(),
        ],
    ))
    .await;
    let e = refusal(&r, "content-conflict");
    assert!(
        e["message"].as_str().unwrap().contains("linux_amd64.zip"),
        "{e}"
    );
    let left: Vec<String> = names(&out2)
        .into_iter()
        .filter(|n| n.contains("linux") || n.starts_with(".tfpub") || n.contains("SHA256SUMS"))
        .collect();
    assert!(left.is_empty(), "half-written files left: {left:?}");

    let r = run(tfpub_json(&t, &["provider", "show", "greet", "9.9.9"])).await;
    refusal(&r, "not-found");
    t.stop().await;
}

/// A gzip tar with one raw (unchecked) entry name, plus main.tf.
fn hostile_tar(name: &str, kind: tar::EntryType, link: &str) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(0);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_path("main.tf").unwrap();
    h.set_cksum();
    b.append(&h, std::io::empty()).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_size(0);
    h.set_mode(0o644);
    h.set_entry_type(kind);
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    h.set_cksum();
    b.append(&h, std::io::empty()).unwrap();
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    gz.finish().unwrap()
}

fn archive_publish(t: &TestRegistry, archive: &Path, version: &str) -> Command {
    let mut c = tfpub_json(t, &["module", "publish", "--archive"]);
    c.arg(archive).args([
        "--name",
        "greeting",
        "--provider",
        "null",
        "--version",
        version,
    ]);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prebuilt_archive_is_published_as_is_and_pulled_back_byte_for_byte() {
    let t = TestRegistry::start().await;
    let (tmp, dir) = module_copy();
    // Built by the system tar, not by tfpub.
    let archive = tmp.path().join("built-elsewhere.tar.gz");
    let tar = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(&dir)
        .arg(".")
        .output()
        .expect("tar runs");
    assert!(tar.status.success());
    let d = ok_json(&run(archive_publish(&t, &archive, "2.0.0")).await);
    assert_eq!(d["outcome"], "published", "{d}");
    // The real terraform installs and runs it.
    let tf = Terraform::new(
        &t.reg,
        TEST_TOKEN,
        "module \"greeting\" {\n  source  = \"registry.tfpub.test/acme/greeting/null\"\n  version = \"2.0.0\"\n  name    = \"archive\"\n}\n\noutput \"g\" {\n  value = module.greeting.greeting\n}\n",
    );
    tf.run(&["init", "-input=false", "-no-color"]).await;
    tf.run(&["apply", "-auto-approve", "-input=false", "-no-color"])
        .await;
    assert_eq!(
        tf.run(&["output", "-raw", "g"]).await.stdout,
        "Hello, archive!"
    );

    let pulled = tmp.path().join("pulled.tar.gz");
    let d = ok_json(
        &run(tfpub_json(
            &t,
            &[
                "module",
                "pull",
                "greeting/null",
                "2.0.0",
                "-o",
                pulled.to_str().unwrap(),
            ],
        ))
        .await,
    );
    let ours = std::fs::read(&archive).unwrap();
    assert_eq!(std::fs::read(&pulled).unwrap(), ours, "served as published");
    assert_eq!(items(&d, "file")[0]["facts"]["sha256"], sha256_hex(&ours));

    // Again: nothing to do; another archive under the same version: a conflict.
    let d = ok_json(&run(archive_publish(&t, &archive, "2.0.0")).await);
    assert_eq!(d["outcome"], "already-published", "{d}");
    std::fs::write(dir.join("extra.tf"), "locals {}\n").unwrap();
    let other = tmp.path().join("other.tar.gz");
    Command::new("tar")
        .arg("-czf")
        .arg(&other)
        .arg("-C")
        .arg(&dir)
        .arg(".")
        .output()
        .unwrap();
    refusal(
        &run(archive_publish(&t, &other, "2.0.0")).await,
        "content-conflict",
    );

    // Refusals name the entry, write nothing.
    t.reg.stats().reset();
    let bad: Vec<(Vec<u8>, &str)> = vec![
        (
            hostile_tar("../evil.tf", tar::EntryType::Regular, ""),
            "../evil.tf",
        ),
        (
            hostile_tar("/etc/evil.tf", tar::EntryType::Regular, ""),
            "/etc/evil.tf",
        ),
        (
            hostile_tar("link", tar::EntryType::Symlink, "../../etc/passwd"),
            "link",
        ),
        (hostile_tar("dev", tar::EntryType::Block, ""), "dev"),
        (
            b"plain text, not gzip".to_vec(),
            "not a gzip-compressed tar",
        ),
    ];
    for (bytes, needle) in bad {
        let f = tmp.path().join("bad.tar.gz");
        std::fs::write(&f, bytes).unwrap();
        let e = refusal(
            &run(archive_publish(&t, &f, "3.0.0")).await,
            "invalid-input",
        );
        assert!(e["message"].as_str().unwrap().contains(needle), "{e}");
        assert!(e["message"].as_str().unwrap().contains("bad.tar.gz"), "{e}");
    }
    // The module in a folder instead of at the root: the folder is named.
    let nested = tmp.path().join("nested.tar.gz");
    Command::new("tar")
        .arg("-czf")
        .arg(&nested)
        .arg("-C")
        .arg(tmp.path())
        .arg("terraform-null-greeting")
        .output()
        .unwrap();
    let e = refusal(
        &run(archive_publish(&t, &nested, "3.0.0")).await,
        "invalid-input",
    );
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("terraform-null-greeting/"),
        "{e}"
    );
    assert_eq!(
        t.reg.stats().writes(),
        0,
        "a refused archive wrote to the registry"
    );

    // --archive needs the identity and the version: clap says so (usage error).
    let mut c = t.tfpub_http();
    c.args(["module", "publish", "--archive"]).arg(&archive);
    assert_eq!(run(c).await.code, 2);
    // A version that is not ok cannot be pulled.
    let x = tmp.path().join("x.tar.gz");
    let r = run(tfpub_json(
        &t,
        &[
            "module",
            "pull",
            "greeting/null",
            "9.0.0",
            "-o",
            x.to_str().unwrap(),
        ],
    ))
    .await;
    refusal(&r, "not-found");
    t.stop().await;
}
