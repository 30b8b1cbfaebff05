//! Integration tests: `tfpub provider mirror` publishes releases laid out as an upstream
//! release site lays them out (zips, SHA256SUMS, a per-key or plain .sig, manifest),
//! signed by a throwaway "upstream" key the system gpg made; the real `terraform init`
//! installs them and names that key; a tampered zip is refused naming the file before
//! any write; a `--recursive` re-run uploads nothing.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::support::gpg::Gpg;
use crate::support::registry::item_of;
use crate::support::terraform::Terraform;
use crate::support::{command_ok, ok_json, run, sha256_hex, Run, TestRegistry};

const TF_TOKEN: &str = "terraform-cli-test-token";
const PLATFORMS: [&str; 2] = ["darwin_arm64", "linux_amd64"];

/// An RSA signing key made by the system gpg (no passphrase): (long key id, the
/// armored public key). The secret key stays in `gpg`'s home.
fn upstream_key(gpg: &Gpg, uid: &str) -> (String, String) {
    command_ok(&mut gpg.command(&[
        "--pinentry-mode",
        "loopback",
        "--passphrase",
        "",
        "--quick-gen-key",
        uid,
        "rsa2048",
        "sign",
        "never",
    ]));
    let out = command_ok(&mut gpg.command(&["--with-colons", "--list-keys", uid]));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let id = text
        .lines()
        .find(|l| l.starts_with("pub:"))
        .and_then(|l| l.split(':').nth(4))
        .expect("gpg lists the new key")
        .to_string();
    let out = command_ok(&mut gpg.command(&["--armor", "--export", &id]));
    (id, String::from_utf8(out.stdout).unwrap())
}

/// What every mirror test starts from: a registry, a scratch folder, a gpg home with the
/// upstream's signing key, its id, and its public half written to a file in the folder.
async fn upstream() -> (TestRegistry, tempfile::TempDir, Gpg, String, PathBuf) {
    let t = TestRegistry::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let gpg = Gpg::new();
    let (key_id, public) = upstream_key(&gpg, "Upstream Releases <releases@upstream.test>");
    let key = tmp.path().join("upstream.asc");
    std::fs::write(&key, &public).unwrap();
    (t, tmp, gpg, key_id, key)
}

/// One upstream release of `name` `version` in `dir`: a zip per platform holding an
/// executable script, the manifest (protocol 5.0), SHA256SUMS over both, and its
/// signature by `key_id` as `sig_name` (relative to the SHA256SUMS file name).
fn upstream_release(gpg: &Gpg, key_id: &str, dir: &Path, name: &str, version: &str, sig: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let base = format!("terraform-provider-{name}_{version}");
    let mut sums = Vec::new();
    for p in PLATFORMS {
        let file = format!("{base}_{p}.zip");
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
        w.start_file(format!("terraform-provider-{name}_v{version}"), opts)
            .unwrap();
        w.write_all(format!("#!/bin/sh\necho upstream {name} {p}\n").as_bytes())
            .unwrap();
        let bytes = w.finish().unwrap().into_inner();
        sums.push(format!("{}  {file}\n", sha256_hex(&bytes)));
        std::fs::write(dir.join(&file), bytes).unwrap();
    }
    let manifest = format!("{base}_manifest.json");
    let m = br#"{"version":1,"metadata":{"protocol_versions":["5.0"]}}"#;
    std::fs::write(dir.join(&manifest), m).unwrap();
    sums.push(format!("{}  {manifest}\n", sha256_hex(m)));
    sums.sort();
    let sums_path = dir.join(format!("{base}_SHA256SUMS"));
    std::fs::write(&sums_path, sums.concat()).unwrap();
    let sig_path = dir.join(format!("{base}_SHA256SUMS{sig}"));
    command_ok(&mut gpg.command(&[
        "--yes",
        "--local-user",
        key_id,
        "--output",
        sig_path.to_str().unwrap(),
        "--detach-sign",
        sums_path.to_str().unwrap(),
    ]));
}

fn mirror(t: &TestRegistry, key: &Path, args: &[&str]) -> std::process::Command {
    let mut c = t.tfpub_http();
    c.args(["--json", "provider", "mirror"])
        .args(args)
        .args(["--public-key", key.to_str().unwrap()]);
    c
}

/// `terraform init` of `name` `version` from the registry: its output.
async fn terraform_init(t: &TestRegistry, name: &str, version: &str) -> (String, Terraform) {
    let tf = Terraform::new(
        &t.reg,
        TF_TOKEN,
        &format!(
            "terraform {{\n  required_providers {{\n    {name} = {{\n      source  = \"registry.tfpub.test/acme/{name}\"\n      version = \"{version}\"\n    }}\n  }}\n}}\n"
        ),
    );
    let o = tf.run(&["init", "-input=false", "-no-color"]).await;
    (format!("{}{}", o.stdout, o.stderr), tf)
}

/// Items of kind `kind` with action `action` in a result.
fn count(j: &serde_json::Value, kind: &str, action: &str) -> usize {
    j["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == kind && i["action"] == action)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_release_is_mirrored_with_its_own_key_and_installs() {
    let (t, tmp, gpg, key_id, key) = upstream().await;
    // As releases.hashicorp.com lays it out: the signature named after the key's last
    // 8 hex digits, and a plain .sig beside it (for another key, say) that must not be
    // used: it does not even verify.
    let rel = tmp.path().join("tree/upnull/1.0.0");
    let keyed = format!(".{}.sig", &key_id[8..]);
    upstream_release(&gpg, &key_id, &rel, "upnull", "1.0.0", &keyed);
    let sums = rel.join("terraform-provider-upnull_1.0.0_SHA256SUMS");
    std::fs::write(
        rel.join("terraform-provider-upnull_1.0.0_SHA256SUMS.sig"),
        b"x",
    )
    .unwrap();
    let zips: Vec<PathBuf> = PLATFORMS
        .iter()
        .map(|p| rel.join(format!("terraform-provider-upnull_1.0.0_{p}.zip")))
        .collect();

    let args = [
        rel.to_str().unwrap(),
        "--namespace",
        "acme",
        "--name",
        "upnull",
    ];
    let j = ok_json(&run(mirror(&t, &key, &args)).await);
    assert_eq!(j["command"], "provider mirror", "{j}");
    assert_eq!(j["outcome"], "published", "{j}");
    let key_item = item_of(&j, "gpg-key");
    assert_eq!(key_item["id"], key_id.as_str(), "{j}");

    let (init, tf) = terraform_init(&t, "upnull", "1.0.0").await;
    assert!(
        init.contains(&format!("key ID {key_id}")),
        "terraform init does not report the upstream key {key_id}:\n{init}"
    );
    // The very bytes upstream published: the lock file holds each zip's hash.
    let lock = tf.lock_file();
    for z in &zips {
        let h = sha256_hex(&std::fs::read(z).unwrap());
        assert!(lock.contains(&format!("\"zh:{h}\"")), "{lock}");
    }
    // The served signature is upstream's, byte for byte, and the real gpg verifies it.
    let (ok, status) = gpg.verify(
        &std::fs::read(&sums).unwrap(),
        &std::fs::read(rel.join(format!("terraform-provider-upnull_1.0.0_SHA256SUMS{keyed}")))
            .unwrap(),
    );
    assert!(ok, "{status}");

    // A namespace other than the organization given is refused.
    let bad = [
        "--organization",
        "acme",
        "--namespace",
        "other",
        rel.to_str().unwrap(),
    ];
    let r = run(mirror(&t, &key, &bad)).await;
    assert_ne!(r.code, 0);
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("--namespace other"));
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recursive_mirror_converges_and_a_tampered_zip_is_refused_before_any_write() {
    let (t, tmp, gpg, key_id, key) = upstream().await;
    let tree = tmp.path().join("tree");
    let keyed = format!(".{}.sig", &key_id[8..]);
    upstream_release(
        &gpg,
        &key_id,
        &tree.join("upa/1.0.0"),
        "upa",
        "1.0.0",
        &keyed,
    );
    upstream_release(
        &gpg,
        &key_id,
        &tree.join("upa/1.1.0"),
        "upa",
        "1.1.0",
        ".sig",
    );
    upstream_release(
        &gpg,
        &key_id,
        &tree.join("upb/0.1.0"),
        "upb",
        "0.1.0",
        ".sig",
    );
    std::fs::write(tree.join("README.txt"), "not a release").unwrap();
    let args = [tree.to_str().unwrap(), "--namespace", "acme", "--recursive"];

    // The plan: nothing written.
    let plan = [&args[..], &["--dry-run"]].concat();
    let j = ok_json(&run(mirror(&t, &key, &plan)).await);
    assert_eq!(j["outcome"], "planned", "{j}");
    assert_eq!(t.reg.stats().writes(), 0);

    let j = ok_json(&run(mirror(&t, &key, &args)).await);
    assert_eq!(j["outcome"], "published", "{j}");
    assert_eq!(count(&j, "provider-version", "created"), 3, "{j}");
    assert_eq!(count(&j, "platform", "uploaded"), 6, "{j}");
    let (init, _tf) = terraform_init(&t, "upa", "1.1.0").await;
    assert!(init.contains(&format!("key ID {key_id}")), "{init}");

    // The re-run converges: every release is there already, nothing is written.
    let before = t.reg.stats().writes();
    let j = ok_json(&run(mirror(&t, &key, &args)).await);
    assert_eq!(j["outcome"], "already-published", "{j}");
    assert_eq!(j["published"], false, "{j}");
    assert_eq!(t.reg.stats().writes(), before, "{j}");

    // A new version beside them, but one of its zips altered after signing: refused
    // naming that zip, and nothing of the tree (not even the good releases) written.
    let bad = tree.join("upa/1.2.0");
    upstream_release(&gpg, &key_id, &bad, "upa", "1.2.0", ".sig");
    let zip = "terraform-provider-upa_1.2.0_linux_amd64.zip";
    let mut bytes = std::fs::read(bad.join(zip)).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(bad.join(zip), bytes).unwrap();
    let r: Run = run(mirror(&t, &key, &args)).await;
    assert_ne!(r.code, 0, "{}", r.stdout);
    let j = r.json();
    let all = format!("{}", j["error"]);
    assert!(all.contains(zip), "{all}");
    assert_eq!(t.reg.stats().writes(), before, "{j}");

    // A signature by another key than the upstream key given: refused, nothing written.
    std::fs::remove_dir_all(&bad).unwrap();
    let other = Gpg::new();
    let (other_id, _) = upstream_key(&other, "Someone Else <else@upstream.test>");
    upstream_release(
        &other,
        &other_id,
        &tree.join("upb/0.2.0"),
        "upb",
        "0.2.0",
        ".sig",
    );
    let r = run(mirror(&t, &key, &args)).await;
    assert_ne!(r.code, 0, "{}", r.stdout);
    let all = format!("{}", r.json()["error"]);
    assert!(all.contains(&other_id) && all.contains(&key_id), "{all}");
    assert_eq!(t.reg.stats().writes(), before);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_source_that_is_not_a_signed_release_is_refused_naming_what_is_missing() {
    let (t, tmp, gpg, key_id, key) = upstream().await;
    let refused = |r: &Run, needle: &str, hint: &str| {
        assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
        let j = r.json();
        assert!(
            j["error"]["message"].as_str().unwrap().contains(needle),
            "{j}"
        );
        assert!(j["error"]["hint"].as_str().unwrap().contains(hint), "{j}");
    };
    let missing = tmp.path().join("missing");
    let r = run(mirror(&t, &key, &[missing.to_str().unwrap()])).await;
    refused(&r, "is not a folder", "upstream release files");
    // A tree, without --recursive: no release in the folder itself.
    let rel = tmp.path().join("tree/upc/1.0.0");
    upstream_release(&gpg, &key_id, &rel, "upc", "1.0.0", ".sig");
    let tree = tmp.path().join("tree");
    let r = run(mirror(&t, &key, &[tree.to_str().unwrap()])).await;
    refused(&r, "no provider release", "--recursive");
    // No signature: both names it may have are given.
    std::fs::remove_file(rel.join("terraform-provider-upc_1.0.0_SHA256SUMS.sig")).unwrap();
    let r = run(mirror(&t, &key, &[rel.to_str().unwrap()])).await;
    let keyed = format!(
        "terraform-provider-upc_1.0.0_SHA256SUMS.{}.sig",
        &key_id[8..]
    );
    refused(&r, &keyed, "signature");
    // No manifest and no --protocols.
    upstream_release(&gpg, &key_id, &rel, "upc", "1.0.0", ".sig");
    std::fs::remove_file(rel.join("terraform-provider-upc_1.0.0_manifest.json")).unwrap();
    let sums = rel.join("terraform-provider-upc_1.0.0_SHA256SUMS");
    let text = std::fs::read_to_string(&sums).unwrap();
    let kept: String = text
        .lines()
        .filter(|l| !l.contains("manifest"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&sums, kept).unwrap();
    let sig = rel.join("terraform-provider-upc_1.0.0_SHA256SUMS.sig");
    std::fs::remove_file(&sig).unwrap();
    command_ok(&mut gpg.command(&[
        "--local-user",
        &key_id,
        "--output",
        sig.to_str().unwrap(),
        "--detach-sign",
        sums.to_str().unwrap(),
    ]));
    let r = run(mirror(&t, &key, &[rel.to_str().unwrap()])).await;
    refused(&r, "_manifest.json", "--protocols");
    assert_eq!(t.reg.stats().writes(), 0);
    // With --protocols it publishes.
    let j = ok_json(
        &run(mirror(
            &t,
            &key,
            &[rel.to_str().unwrap(), "--protocols", "5.0"],
        ))
        .await,
    );
    assert_eq!(j["outcome"], "published", "{j}");
    t.stop().await;
}
