//! Integration tests: the GPG key lifecycle against the embedded registry, with keys
//! made and read by the real gpg: `gpg-key show|usage|move|delete` (a key still signing
//! provider versions is not deleted or moved away without --force, the versions named;
//! the registry answers the documented PATCH with 201), and expiry: a key expiring
//! within 30 days warns on publish and in `whoami --gpg-key`, an expired one is refused
//! with its date.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::gpg::Gpg;
use crate::support::registry::Api;
use crate::support::{
    command_ok, ok_json, run, test_key, testdata, Run, TestRegistry, RSA_KEY_ID, RSA_PASSPHRASE,
    TEST_TOKEN,
};

const DSA_KEY_ID: &str = "4BF7A3047F87DB58";

/// A one-platform provider binary (a shell script; nothing runs it).
fn binary(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join("terraform-provider-greet");
    std::fs::write(&p, "#!/bin/sh\necho greet\n").unwrap();
    p
}

/// `provider publish` of greet `version` from `bin`, signed with the armored secret key.
fn publish(t: &TestRegistry, bin: &Path, version: &str, key: &str, pass: &str) -> Command {
    let mut c = t.tfpub_http();
    c.env("TFPUB_GPG_PRIVATE_KEY", key)
        .env("TFPUB_GPG_PASSPHRASE", pass)
        .args(["--json", "provider", "publish", "--name", "greet"])
        .args(["--version", version, "--protocols", "6.0", "--binary"])
        .arg(format!("linux_amd64={}", bin.display()));
    c
}

fn tfpub(t: &TestRegistry, args: &[&str]) -> Command {
    let mut c = t.tfpub_http();
    c.arg("--json").args(args);
    c
}

/// The one item of `kind` whose id is `id` (and version, if given).
fn item<'a>(j: &'a Value, kind: &str, id: &str) -> &'a Value {
    j["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == kind && i["id"] == id)
        .unwrap_or_else(|| panic!("no {kind} {id} in {j}"))
}

fn detail(j: &Value, kind: &str, id: &str) -> String {
    item(j, kind, id)["detail"].as_str().unwrap().to_string()
}

/// A refusal: exit 1, the error naming every needle.
fn refused(r: &Run, needles: &[&str]) -> Value {
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let j = r.json();
    let all = j["error"].to_string();
    for n in needles {
        assert!(all.contains(n), "error does not name {n:?}: {all}");
    }
    j
}

/// gpg's own view of an imported key: (fingerprint, expiry as tfpub writes dates or
/// None when it never expires).
fn gpg_facts(gpg: &Gpg, key_id: &str) -> (String, Option<String>) {
    let out = command_ok(&mut gpg.command(&["--with-colons", "--list-keys", key_id]));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let pub_line: Vec<&str> = text
        .lines()
        .find(|l| l.starts_with("pub:"))
        .unwrap()
        .split(':')
        .collect();
    let fpr = text
        .lines()
        .find(|l| l.starts_with("fpr:"))
        .unwrap()
        .split(':')
        .nth(9)
        .unwrap()
        .to_string();
    // Written as tfpub writes dates, by the system `date`.
    let expiry = pub_line[6].parse::<i64>().ok().map(|secs| {
        let out = command_ok(
            Command::new("date")
                .args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%d %H:%M:%S UTC"])
                .env("LC_ALL", "C"),
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    });
    (fpr, expiry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_usage_move_and_delete_refusal_round_trip() {
    let t = TestRegistry::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let bin = binary(&tmp.path().join("bin"));
    let rsa = test_key("rsa.sec.asc");
    ok_json(&run(publish(&t, &bin, "1.0.0", &rsa, RSA_PASSPHRASE)).await);
    let dsa_pub = testdata("keys/dsa.pub.asc");
    ok_json(&run(tfpub(&t, &["gpg-key", "add", dsa_pub.to_str().unwrap()])).await);

    // show: what gpg itself says about the key (fingerprint, expiry).
    let gpg = Gpg::new();
    gpg.import(&test_key("rsa.pub.asc"));
    let (fpr, expiry) = gpg_facts(&gpg, RSA_KEY_ID);
    let j = ok_json(&run(tfpub(&t, &["gpg-key", "show", RSA_KEY_ID])).await);
    let d = detail(&j, "gpg-key", RSA_KEY_ID);
    assert!(
        d.contains("namespace acme") && d.contains("RSA 2048"),
        "{d}"
    );
    assert!(d.contains(&fpr), "{d}");
    match expiry {
        Some(e) => assert!(d.contains(&e), "{d} lacks {e}"),
        None => assert!(d.contains("never expires"), "{d}"),
    }

    // usage: which version each key signs.
    let j = ok_json(&run(tfpub(&t, &["gpg-key", "usage"])).await);
    let d = detail(&j, "gpg-key", RSA_KEY_ID);
    assert!(
        d.contains("signs 1 provider version(s): acme/greet 1.0.0"),
        "{d}"
    );
    assert!(detail(&j, "gpg-key", DSA_KEY_ID).contains("signs no provider version"));
    let v = item(&j, "provider-version", "acme/greet");
    assert_eq!(v["version"], "1.0.0", "{j}");
    assert_eq!(v["detail"], format!("signed by {RSA_KEY_ID}"), "{j}");

    // The key in use is neither deleted nor moved away: the version is named, nothing
    // written.
    let before = t.reg.stats().writes();
    let r = run(tfpub(&t, &["gpg-key", "delete", RSA_KEY_ID, "--yes"])).await;
    let j = refused(&r, &[RSA_KEY_ID, "acme/greet 1.0.0", "--force"]);
    assert_eq!(j["error"]["kind"], "invalid-input", "{j}");
    let r = run(tfpub(&t, &["gpg-key", "move", RSA_KEY_ID, "--to", "other"])).await;
    refused(&r, &["refusing to move", "acme/greet 1.0.0"]);
    assert_eq!(t.reg.stats().writes(), before);

    // An unused key moves (the documented PATCH) and is then found in its new namespace.
    let j = ok_json(&run(tfpub(&t, &["gpg-key", "move", DSA_KEY_ID, "--to", "other"])).await);
    assert_eq!(j["outcome"], "updated", "{j}");
    assert!(detail(&j, "gpg-key", DSA_KEY_ID).contains("from namespace acme to other"));
    let r = run(tfpub(&t, &["gpg-key", "show", DSA_KEY_ID])).await;
    assert_eq!(refused(&r, &[DSA_KEY_ID])["error"]["kind"], "not-found");
    let j = ok_json(
        &run(tfpub(
            &t,
            &["--organization", "other", "gpg-key", "show", DSA_KEY_ID],
        ))
        .await,
    );
    assert!(detail(&j, "gpg-key", DSA_KEY_ID).contains("namespace other"));
    // The registry answers that PATCH as the reference documents it: 201 and the key.
    let api = Api::new(&t.reg, TEST_TOKEN);
    let body =
        serde_json::json!({"data": {"type": "gpg-keys", "attributes": {"namespace": "acme"}}});
    let path = format!("/api/registry/private/v2/gpg-keys/other/{DSA_KEY_ID}");
    let (status, doc) = api.send(reqwest::Method::PATCH, &path, Some(body)).await;
    assert_eq!(status.as_u16(), 201, "{doc}");
    assert_eq!(doc["data"]["type"], "gpg-keys", "{doc}");
    assert_eq!(doc["data"]["attributes"]["namespace"], "acme", "{doc}");
    assert_eq!(doc["data"]["attributes"]["key-id"], DSA_KEY_ID, "{doc}");

    // --force deletes it, naming the versions it leaves unverifiable.
    let j = ok_json(
        &run(tfpub(
            &t,
            &["gpg-key", "delete", RSA_KEY_ID, "--yes", "--force"],
        ))
        .await,
    );
    assert_eq!(j["outcome"], "deleted", "{j}");
    assert!(
        j["warnings"][0]
            .as_str()
            .unwrap()
            .contains("acme/greet 1.0.0"),
        "{j}"
    );
    let j = ok_json(&run(tfpub(&t, &["gpg-key", "usage"])).await);
    let v = detail(&j, "provider-version", "acme/greet");
    assert!(v.contains("NOT registered"), "{v}");
    t.stop().await;
}

/// A key the system gpg made to expire in `days` days (no passphrase): (key id, the
/// armored secret key, the armored public key), and the gpg that holds it.
fn expiring_key(days: u32) -> (String, String, String, Gpg) {
    let gpg = Gpg::new();
    let uid = "Soon Expiring <soon@example.test>";
    let loopback = ["--pinentry-mode", "loopback", "--passphrase", ""];
    let expire = format!("{days}d");
    let mut c = gpg.command(&loopback);
    c.args(["--quick-gen-key", uid, "rsa2048", "sign", &expire]);
    command_ok(&mut c);
    let out = command_ok(&mut gpg.command(&["--with-colons", "--list-keys", uid]));
    let id = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with("pub:"))
        .and_then(|l| l.split(':').nth(4))
        .unwrap()
        .to_string();
    let mut c = gpg.command(&loopback);
    c.args(["--armor", "--export-secret-keys", &id]);
    let secret = String::from_utf8(command_ok(&mut c).stdout).unwrap();
    let public = command_ok(&mut gpg.command(&["--armor", "--export", &id])).stdout;
    (id, secret, String::from_utf8(public).unwrap(), gpg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_expiring_soon_warns_and_an_expired_key_is_refused_with_its_date() {
    let t = TestRegistry::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let bin = binary(&tmp.path().join("bin"));
    let (id, secret, _public, gpg) = expiring_key(10);
    let (_, expiry) = gpg_facts(&gpg, &id);
    let expiry = expiry.expect("gpg made the key to expire");

    let r = run(publish(&t, &bin, "1.0.0", &secret, "")).await;
    let j = ok_json(&r);
    assert_eq!(j["outcome"], "published", "{j}");
    let w = j["warnings"].as_array().unwrap();
    assert!(
        w.iter().any(|w| {
            let w = w.as_str().unwrap();
            w.contains(&id) && w.contains(&format!("expires on {expiry} (in 9 days)"))
        }),
        "{j}"
    );
    assert!(r.stderr.contains(&expiry), "{}", r.stderr);

    // whoami --gpg-key reports it, from the secret key file, without a passphrase.
    let file = tmp.path().join("soon.asc");
    std::fs::write(&file, &secret).unwrap();
    let j = ok_json(&run(tfpub(&t, &["whoami", "--gpg-key", file.to_str().unwrap()])).await);
    let d = detail(&j, "gpg-key", &id);
    assert!(d.contains(&format!("expires on {expiry}")), "{d}");
    assert!(d.contains("registered in namespace acme"), "{d}");
    assert!(j["warnings"][0].as_str().unwrap().contains(&expiry), "{j}");

    // An expired key (testdata: expired one second after its creation) is refused with
    // the date gpg reads from it, before any write.
    let old = Gpg::new();
    old.import(&test_key("exp.pub.asc"));
    let (_, expired) = gpg_facts(&old, "875E8CCBAA57621C");
    let expired = expired.unwrap();
    let before = t.reg.stats().writes();
    let r = run(publish(&t, &bin, "1.1.0", &test_key("exp.sec.asc"), "")).await;
    refused(
        &r,
        &["875E8CCBAA57621C", &format!("has expired (on {expired})")],
    );
    assert_eq!(t.reg.stats().writes(), before);
    let exp_pub = testdata("keys/exp.pub.asc");
    let j = ok_json(
        &run(tfpub(
            &t,
            &["whoami", "--gpg-key", exp_pub.to_str().unwrap()],
        ))
        .await,
    );
    assert!(detail(&j, "gpg-key", "875E8CCBAA57621C").contains(&format!("EXPIRED on {expired}")));
    assert!(
        j["warnings"][0].as_str().unwrap().contains("refused"),
        "{j}"
    );
    t.stop().await;
}
