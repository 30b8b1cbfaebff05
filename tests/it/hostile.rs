//! Hostile input against the embedded registry (issue 14): racing uploads on one link,
//! absurd query parameters, bad names in paths, foreign `Host` headers and wrong content
//! types, archives that escape their folder or explode when unpacked, half-sent
//! connections and data folders the registry does not own. Each test fails on a registry
//! that lets the attack through.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tempfile::TempDir;
use tfpub_registry::RunningRegistry;

use crate::support::fs::{raw_entry, tar_after};
use crate::support::registry::{start_edited, start_in, Api};
use crate::support::ORG;

const TOKEN: &str = "hostile-token";
const MODS: &str = "/api/v2/organizations/acme/registry-modules";
const PROVS: &str = "/api/v2/organizations/acme/registry-providers";

async fn started() -> (TempDir, RunningRegistry, Api) {
    crate::support::registry::started(TOKEN).await
}

/// The answer is a JSON:API error document with this status; its detail.
fn jsonapi_error(status: StatusCode, v: &Value, want: StatusCode) -> String {
    assert_eq!(status, want, "{v}");
    let e = &v["errors"][0];
    assert_eq!(e["status"], want.as_u16().to_string(), "{v}");
    assert!(e["title"].is_string(), "{v}");
    e["detail"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string()
}

fn main_tf(tag: &str) -> Vec<u8> {
    crate::support::fs::tarball(&[(
        "main.tf",
        format!("# {tag}\nvariable \"x\" {{}}\n").as_bytes(),
    )])
}

/// A new module `name`/null with a pending version 1.0.0; its upload link.
async fn pending_version(api: &Api, name: &str) -> String {
    let (s, v) = api.create_module(name).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    api.create_module_version(name, "1.0.0").await
}

/// (status, error) of version 1.0.0 of module `name`/null.
async fn status_of(api: &Api, name: &str) -> (String, String) {
    let v = api.module_version(name, "null", "1.0.0").await.unwrap();
    let a = &v["data"]["attributes"];
    (
        a["status"].as_str().unwrap().to_string(),
        a["error"].as_str().unwrap_or_default().to_string(),
    )
}

/// The bytes Terraform would download for version 1.0.0 of module `name`/null.
async fn module_bytes(api: &Api, name: &str) -> Vec<u8> {
    let r = api
        .req(
            reqwest::Method::GET,
            &format!("/api/registry/v1/modules/{ORG}/{name}/null/1.0.0/download"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let url = r.headers()["x-terraform-get"].to_str().unwrap().to_string();
    reqwest::get(url)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

/// PUT `body` on `url`, sending its first bytes at once and the rest after `pause`; the
/// status and body text.
async fn slow_put(url: String, body: Vec<u8>, pause: Duration) -> (StatusCode, String) {
    let (head, tail) = body.split_at(body.len() / 2);
    let (head, tail) = (
        bytes::Bytes::from(head.to_vec()),
        bytes::Bytes::from(tail.to_vec()),
    );
    let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(head)]).chain(
        futures_util::stream::once(async move {
            tokio::time::sleep(pause).await;
            Ok(tail)
        }),
    );
    let r = reqwest::Client::new()
        .put(url)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.text().await.unwrap())
}

/// PUT `body` on `url` at once; the status and the body as JSON (Null if not JSON).
async fn put(url: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .put(url)
        .body(body)
        .send()
        .await
        .unwrap();
    let s = r.status();
    let text = r.text().await.unwrap();
    (s, serde_json::from_str(&text).unwrap_or(Value::Null))
}

use futures_util::StreamExt as _;

/// Two PUTs race on one link: the slow one claims it first, the fast one must be refused
/// without storing anything, and what was attached never changes afterwards.
async fn race_on(url: &str, a: Vec<u8>, b: Vec<u8>) {
    let slow = tokio::spawn(slow_put(url.to_string(), a, Duration::from_millis(800)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (s, v) = put(url, b.clone()).await;
    let detail = jsonapi_error(s, &v, StatusCode::CONFLICT);
    assert!(detail.contains("not stored"), "{detail}");
    // The loser is answered once the race is decided: the winner is done by then.
    assert!(slow.is_finished());
    let (s, text) = slow.await.unwrap();
    assert_eq!(s, StatusCode::OK, "{text}");
    // The link is used up: a late PUT cannot replace the content either.
    let (s, v) = put(url, b).await;
    jsonapi_error(s, &v, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn upload_links_are_claimed_by_one_put_and_content_never_changes() {
    let (_dir, _reg, api) = started().await;
    // A module version's archive.
    let link = pending_version(&api, "race").await;
    let a = main_tf("content A");
    race_on(&link, a.clone(), main_tf("content B")).await;
    assert_eq!(status_of(&api, "race").await.0, "ok");
    assert_eq!(module_bytes(&api, "race").await, a);

    // A provider version's SHA256SUMS.
    let (s, v) = api
        .post(
            PROVS,
            json!({"name": "race", "namespace": ORG, "registry-name": "private"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = api
        .post(
            &format!("{PROVS}/private/{ORG}/race/versions"),
            json!({"version": "1.0.0", "key-id": "7272A3BE438F9A26", "protocols": ["6.0"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let sums = v["data"]["links"]["shasums-upload"]
        .as_str()
        .unwrap()
        .to_string();
    let a = b"aaaa  terraform-provider-race_1.0.0_linux_amd64.zip\n".repeat(50);
    race_on(&sums, a.clone(), b"bbbb\n".repeat(50)).await;
    let (_, v) = api
        .get(&format!("{PROVS}/private/{ORG}/race/versions/1.0.0"))
        .await;
    let down = v["data"]["links"]["shasums-download"].as_str().unwrap();
    let got = reqwest::get(down).await.unwrap().bytes().await.unwrap();
    assert_eq!(got.as_ref(), a.as_slice());
}

#[tokio::test]
async fn absurd_query_parameters_get_400_not_a_panic() {
    let (_dir, _reg, api) = started().await;
    let (s, v) = api.create_module("paged").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let lists = [
        MODS.to_string(),
        PROVS.to_string(),
        "/api/registry/private/v2/gpg-keys?filter[namespace]=acme".to_string(),
    ];
    for list in &lists {
        let sep = if list.contains('?') { '&' } else { '?' };
        for q in [
            "page[number]=18446744073709551615",
            "page[number]=18446744073709551616",
            "page[number]=0",
            "page[number]=-1",
            "page[size]=0",
            "page[size]=abc",
        ] {
            let (s, v) = api.get(&format!("{list}{sep}{q}")).await;
            jsonapi_error(s, &v, StatusCode::BAD_REQUEST);
        }
        let long = "x".repeat(5000);
        let (s, v) = api.get(&format!("{list}{sep}q={long}")).await;
        jsonapi_error(s, &v, StatusCode::BAD_REQUEST);
        // Large but sane pages answer an empty page.
        let (s, v) = api
            .get(&format!(
                "{list}{sep}page[number]=1000000&page[size]=100000"
            ))
            .await;
        assert_eq!(s, StatusCode::OK, "{list}: {v}");
        assert_eq!(v["data"], json!([]), "{list}: {v}");
    }
    // The registry is still alive and consistent after all that.
    let (s, v) = api.get(MODS).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["meta"]["pagination"]["total-count"], 1);
}

#[tokio::test]
async fn organization_and_namespace_names_in_paths_are_validated() {
    let (_dir, reg, api) = started().await;
    // `..` itself never leaves a URL client (it resolves the segment before sending,
    // landing on another route), so it goes over a raw socket.
    for path in [
        "/api/v2/organizations/../registry-modules",
        "/api/v2/organizations/acme/registry-modules/private/../x/null",
    ] {
        let status = raw_status(reg.addr(), "GET", path).await;
        assert!(status == 404 || status == 400, "{path}: {status}");
    }
    for bad in ["a%00b", "...", "a%20b", "a.b", "%C3%A9t%C3%A9"] {
        let bad = bad.to_string();
        for path in [
            format!("/api/v2/organizations/{bad}/registry-modules"),
            format!("/api/v2/organizations/{bad}/registry-providers"),
            format!("/api/registry/v1/modules/{bad}/x/null/versions"),
        ] {
            let (s, v) = api
                .post(&path, json!({"name": "x", "provider": "null"}))
                .await;
            let s = if s == StatusCode::METHOD_NOT_ALLOWED {
                api.get(&path).await.0
            } else {
                s
            };
            assert!(
                s == StatusCode::NOT_FOUND || s == StatusCode::BAD_REQUEST,
                "{path}: {s} {v}"
            );
        }
    }
    let long = "a".repeat(5000);
    let (s, v) = api
        .post(
            &format!("/api/v2/organizations/{long}/registry-modules"),
            json!({"name": "x", "provider": "null"}),
        )
        .await;
    let d = jsonapi_error(s, &v, StatusCode::NOT_FOUND);
    assert!(d.contains("not a valid name"), "{d}");
    // A namespace in a module path is checked too, not only the organization.
    let (s, v) = api.get(&format!("{MODS}/private/a%00b/x/null")).await;
    let d = jsonapi_error(s, &v, StatusCode::NOT_FOUND);
    assert!(d.contains("namespace"), "{d}");
    // Nothing of the above was stored.
    let (s, v) = api.get(MODS).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["meta"]["pagination"]["total-count"], 0);
}

#[tokio::test]
async fn easy_mode_serves_only_loopback_hosts_and_json_writes() {
    let (_dir, reg, api) = started().await;
    let port = reg.addr().port();
    let body = json!({"data": {"type": "registry-modules", "attributes": {"name": "dns", "provider": "null"}}}).to_string();
    let post = |host: String, ctype: &'static str| {
        api.req(reqwest::Method::POST, MODS)
            .header("host", host)
            .header("content-type", ctype)
            .body(body.clone())
            .send()
    };
    // A rebinding page: a foreign name that resolves to 127.0.0.1.
    for host in [format!("evil.example:{port}"), "attacker.test".to_string()] {
        let r = post(host.clone(), "application/vnd.api+json")
            .await
            .unwrap();
        let s = r.status();
        let v: Value = r.json().await.unwrap();
        let d = jsonapi_error(s, &v, StatusCode::FORBIDDEN);
        assert!(d.contains("loopback"), "{host}: {d}");
    }
    // Loopback names, including the *.localhost aliases, are served and links use them.
    for host in [
        format!("registry.tfpub.localhost:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ] {
        let r = api
            .req(reqwest::Method::GET, MODS)
            .header("host", host.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{host}");
    }
    // Writes need a JSON content type (a cross-site form or text/plain body has none).
    for ctype in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ] {
        let r = post(format!("127.0.0.1:{port}"), ctype).await.unwrap();
        let s = r.status();
        let v: Value = r.json().await.unwrap();
        jsonapi_error(s, &v, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
    let r = post(
        format!("127.0.0.1:{port}"),
        "application/json; charset=utf-8",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // Nothing but the last module was created; archivist PUTs take any content type.
    let (_, v) = api.get(MODS).await;
    assert_eq!(v["meta"]["pagination"]["total-count"], 1, "{v}");
    let link = api.create_module_version("dns", "1.0.0").await;
    let r = reqwest::Client::new()
        .put(&link)
        .header("content-type", "text/plain")
        .body(main_tf("any type"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

fn hostile_tarball(name: &str, kind: tar::EntryType, link: &str) -> Vec<u8> {
    crate::support::fs::hostile_tarball("main.tf", name, kind, link)
}

#[tokio::test]
async fn module_archives_escaping_their_folder_fail_ingestion_naming_the_entry() {
    use tar::EntryType as T;
    let (_dir, _reg, api) = started().await;
    let cases = [
        ("dotdot", "../evil.tf", T::Regular, ""),
        ("nested", "a/../../evil.tf", T::Regular, ""),
        ("absolute", "/etc/evil.tf", T::Regular, ""),
        ("symlink", "link.tf", T::Symlink, "../../etc/passwd"),
        ("symlinkabs", "sub/link", T::Symlink, "/etc/passwd"),
        ("hardlink", "hard.tf", T::Link, "../outside"),
        ("chardev", "tty", T::Char, ""),
        ("blockdev", "disk", T::Block, ""),
        ("fifo", "pipe", T::Fifo, ""),
    ];
    for (module, entry, kind, link) in cases {
        let up = pending_version(&api, module).await;
        let (s, v) = put(&up, hostile_tarball(entry, kind, link)).await;
        assert_eq!(s, StatusCode::OK, "{module}: {v}");
        let (status, error) = status_of(&api, module).await;
        assert_eq!(status, "reg_ingress_failed", "{module}: {error}");
        assert!(error.contains(entry), "{module}: {error}");
    }
    // Too many entries.
    let up = pending_version(&api, "many").await;
    let names: Vec<String> = (0..10_001).map(|i| format!("f{i}.txt")).collect();
    let mut files: Vec<(&str, &[u8])> = vec![("main.tf", b"")];
    files.extend(names.iter().map(|n| (n.as_str(), &b""[..])));
    put(&up, crate::support::fs::tarball(&files)).await;
    let (status, error) = status_of(&api, "many").await;
    assert_eq!(status, "reg_ingress_failed");
    assert!(error.contains("entry count limit"), "{error}");
    // Links that stay inside the archive are fine.
    let up = pending_version(&api, "innerlink").await;
    put(
        &up,
        hostile_tarball("sub/link.tf", T::Symlink, "../main.tf"),
    )
    .await;
    assert_eq!(
        status_of(&api, "innerlink").await,
        ("ok".into(), String::new())
    );
}

/// A zip holding one entry named `name`.
fn zip_named(name: &str) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file(name, zip::write::SimpleFileOptions::default())
        .unwrap();
    std::io::Write::write_all(&mut w, b"#!/bin/sh\n").unwrap();
    w.finish().unwrap().into_inner()
}

#[tokio::test]
async fn provider_zips_with_escaping_names_are_refused_and_stay_not_uploaded() {
    let (_dir, _reg, api) = started().await;
    let (s, v) = api
        .post(
            PROVS,
            json!({"name": "zips", "namespace": ORG, "registry-name": "private"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let vp = format!("{PROVS}/private/{ORG}/zips/versions");
    let (s, v) = api
        .post(
            &vp,
            json!({"version": "1.0.0", "key-id": "7272A3BE438F9A26", "protocols": ["6.0"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    for (arch, name) in [
        ("amd64", "../terraform-provider-zips"),
        ("arm64", "/usr/bin/terraform-provider-zips"),
        ("386", "bin/../../terraform-provider-zips"),
    ] {
        let zip = zip_named(name);
        let (s, v) = api
            .post(
                &format!("{vp}/1.0.0/platforms"),
                json!({"os": "linux", "arch": arch, "shasum": crate::support::sha256_hex(&zip),
                       "filename": format!("terraform-provider-zips_1.0.0_linux_{arch}.zip")}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let up = v["data"]["links"]["provider-binary-upload"]
            .as_str()
            .unwrap()
            .to_string();
        let (s, v) = put(&up, zip).await;
        let d = jsonapi_error(s, &v, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(d.contains(name), "{d}");
        let (_, v) = api.get(&format!("{vp}/1.0.0/platforms/linux/{arch}")).await;
        assert_eq!(
            v["data"]["attributes"]["provider-binary-uploaded"], false,
            "{v}"
        );
    }
}

/// Writes `len` zero bytes to a gzip'd tar after a main.tf, streaming (nothing of that
/// size is ever allocated): a compression bomb of about len/1000 bytes.
fn gzip_bomb(len: u64) -> Vec<u8> {
    let mut b = tar_after("main.tf");
    let mut h = tar::Header::new_gnu();
    h.set_path("zeros.bin").unwrap();
    h.set_size(len);
    h.set_mode(0o644);
    h.set_cksum();
    b.append(&h, std::io::repeat(0).take(len)).unwrap();
    b.into_inner().unwrap().finish().unwrap()
}

use std::io::Read as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_bomb_is_refused_naming_the_limit_and_the_registry_stays_responsive() {
    let (_dir, _reg, api) = started().await;
    let bomb = tokio::task::spawn_blocking(|| gzip_bomb(300 * 1024 * 1024))
        .await
        .unwrap();
    assert!(bomb.len() < 2 * 1024 * 1024, "{}", bomb.len());
    let mut links = Vec::new();
    for name in ["bomb1", "bomb2"] {
        links.push(pending_version(&api, name).await);
    }
    let uploads: Vec<_> = links
        .into_iter()
        .map(|l| {
            let bomb = bomb.clone();
            tokio::spawn(async move { put(&l, bomb).await })
        })
        .collect();
    // While both are ingested, other requests are answered promptly.
    for _ in 0..5 {
        let t = std::time::Instant::now();
        let (s, _) = api.get("/api/v2/ping").await;
        assert!(s.is_success(), "{s}");
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for u in uploads {
        assert_eq!(u.await.unwrap().0, StatusCode::OK);
    }
    for name in ["bomb1", "bomb2"] {
        let (status, error) = status_of(&api, name).await;
        assert_eq!(status, "reg_ingress_failed", "{error}");
        assert!(error.contains("limit"), "{error}");
        assert!(error.contains("zeros.bin"), "{error}");
    }
}

/// This process's resident memory in KiB (Linux).
#[cfg(target_os = "linux")]
fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = s.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_downloads_stream_instead_of_loading_the_file() {
    let (_dir, _reg, api) = started().await;
    let (s, v) = api
        .post(
            PROVS,
            json!({"name": "big", "namespace": ORG, "registry-name": "private"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let vp = format!("{PROVS}/private/{ORG}/big/versions");
    let (s, v) = api
        .post(
            &vp,
            json!({"version": "1.0.0", "key-id": "7272A3BE438F9A26", "protocols": ["6.0"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // A 128 MiB SHA256SUMS, streamed up in 1 MiB chunks (never whole in this process).
    const MIB: usize = 1024 * 1024;
    let up = v["data"]["links"]["shasums-upload"]
        .as_str()
        .unwrap()
        .to_string();
    let chunks = futures_util::stream::iter(
        (0..128).map(|i| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![i as u8; MIB]))),
    );
    let r = reqwest::Client::new()
        .put(up)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, v) = api.get(&format!("{vp}/1.0.0")).await;
    let down = v["data"]["links"]["shasums-download"]
        .as_str()
        .unwrap()
        .to_string();
    let before = rss_kib();
    // Four downloads, each read for one chunk and then left waiting.
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut r = reqwest::get(&down).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.content_length(), Some(128 * MIB as u64));
        assert!(r.chunk().await.unwrap().is_some());
        held.push(r);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let grown_mib = rss_kib().saturating_sub(before) / 1024;
    assert!(
        grown_mib < 128,
        "4 stalled downloads grew memory by {grown_mib} MiB"
    );
    // And a download read to the end is complete.
    let mut r = held.pop().unwrap();
    let mut total = 0usize;
    while let Some(c) = r.chunk().await.unwrap() {
        total += c.len();
    }
    assert!(total > 127 * MIB, "{total}");
}

#[tokio::test]
async fn a_user_folder_is_refused_and_keeps_its_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    std::fs::create_dir(dir.path().join("tmp")).unwrap();
    std::fs::write(dir.path().join("tmp/draft.txt"), "also mine").unwrap();
    let e = tfpub_registry::start(
        tfpub_registry::RegistryOptions::new(dir.path()),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("tfpub-registry.json"), "{e}");
    assert!(e.hint().unwrap().contains("empty or new folder"), "{e}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("tmp/draft.txt")).unwrap(),
        "also mine"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(!dir.path().join("registry.db").exists());
    assert!(!dir.path().join("tfpub-registry.json").exists());
}

#[tokio::test]
async fn data_folders_are_marked_shared_safely_and_legacy_ones_adopted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A new folder gets the marker.
    let a = start_in(d).await;
    let marker: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("tfpub-registry.json")).unwrap())
            .unwrap();
    assert_eq!(marker["format"], "tfpub-registry");
    assert_eq!(marker["version"], 1);
    let api = Api::new(&a, TOKEN);
    let link = pending_version(&api, "shared").await;
    // An upload in flight on A while a second process-like instance B starts on the same
    // folder (a `--local` run next to a `registry serve`) and a stale temp file of a dead
    // process and a file that is not the registry's sit in tmp/.
    let dead = d.join("tmp/tfpub-4000000000-0123abcd.part");
    std::fs::write(&dead, "stale").unwrap();
    std::fs::write(d.join("tmp/keep.txt"), "not the registry's").unwrap();
    let body = main_tf("shared");
    let slow = tokio::spawn(slow_put(link, body.clone(), Duration::from_millis(600)));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let b = start_in(d).await;
    let (s, text) = slow.await.unwrap();
    assert_eq!(s, StatusCode::OK, "{text}");
    assert_eq!(status_of(&api, "shared").await.0, "ok");
    assert!(!dead.exists(), "a dead process's temp file is cleaned");
    assert!(
        d.join("tmp/keep.txt").exists(),
        "only the registry's own temp files go"
    );
    // B sees what A stored.
    let api_b = Api::new(&b, TOKEN);
    assert_eq!(module_bytes(&api_b, "shared").await, body);
    b.shutdown().await;
    a.shutdown().await;

    // A folder from the version before markers (registry.db + blobs/ + tmp/) is adopted.
    std::fs::remove_file(d.join("tfpub-registry.json")).unwrap();
    std::fs::remove_file(d.join("tmp/keep.txt")).unwrap();
    let c = start_in(d).await;
    assert!(d.join("tfpub-registry.json").exists());
    assert_eq!(module_bytes(&Api::new(&c, TOKEN), "shared").await, body);
    c.shutdown().await;

    // A marker from a newer tfpub is refused rather than misread.
    std::fs::write(
        d.join("tfpub-registry.json"),
        r#"{"format": "tfpub-registry", "version": 99}"#,
    )
    .unwrap();
    let e = tfpub_registry::start(
        tfpub_registry::RegistryOptions::new(d),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("format version 99"), "{e}");
}

/// Whether the server closed `sock` within `within` (EOF or reset on read).
async fn closed_within(sock: &mut tokio::net::TcpStream, within: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(within, sock.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // A 408 or similar answer before the close is fine; keep reading.
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn half_sent_requests_are_timed_out_and_do_not_block_valid_ones() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let reg = start_edited(dir.path(), |o| {
        o.limits = tfpub_registry::ConnLimits {
            header_read_timeout: Duration::from_millis(400),
            idle_timeout: Duration::from_millis(800),
            max_connections: 16,
        }
    })
    .await;
    let api = Api::new(&reg, TOKEN);
    // More half-sent request lines than the registry has connection slots.
    let mut socks = Vec::new();
    for _ in 0..40 {
        let mut s = tokio::net::TcpStream::connect(reg.addr()).await.unwrap();
        s.write_all(b"GET /api/v2/pi").await.unwrap();
        socks.push(s);
    }
    // A valid request is still served, at worst once the slots free up.
    let t = std::time::Instant::now();
    let (s, _) = tokio::time::timeout(Duration::from_secs(10), api.get("/api/v2/ping"))
        .await
        .expect("a valid request is served despite the half-open sockets");
    assert!(s.is_success(), "{s}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    // Every half-open socket is closed by the server after the timeouts.
    for s in &mut socks {
        assert!(closed_within(s, Duration::from_secs(5)).await);
    }
    // A body that stalls half-way is cut by the idle timeout.
    let link = pending_version(&api, "stall").await;
    let url = url::Url::parse(&link).unwrap();
    let mut s = tokio::net::TcpStream::connect(reg.addr()).await.unwrap();
    let head = format!(
        "PUT {} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 1000\r\n\r\nhalf",
        url.path()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    assert!(closed_within(&mut s, Duration::from_secs(5)).await);
    // The link was released, not spent: a complete upload works.
    let (st, v) = put(&link, main_tf("after stall")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    reg.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_local_run_on_a_user_folder_is_refused_with_a_hint_and_deletes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tmp")).unwrap();
    std::fs::write(dir.path().join("tmp/draft.txt"), "mine").unwrap();
    let mut c = crate::support::clean_tfpub(home.path());
    c.arg("--local")
        .arg("--data")
        .arg(dir.path())
        .args(["module", "versions", "greeting/null"]);
    let r = crate::support::run(c).await;
    assert_ne!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("not a tfpub registry data folder"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("empty or new folder"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("tmp/draft.txt")).unwrap(),
        "mine"
    );
}

/// The status code of one request sent byte for byte as given (no URL normalisation).
async fn raw_status(addr: std::net::SocketAddr, method: &str, path: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer raw\r\nConnection: close\r\n\r\n"
    );
    sock.write_all(req.as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    sock.read_exact(&mut head).await.unwrap();
    let line = String::from_utf8_lossy(&head).to_string();
    line[9..12]
        .parse()
        .unwrap_or_else(|_| panic!("not an HTTP status line: {line:?}"))
}

/// A module archive of main.tf and `extra` empty files: `extra + 1` entries.
fn many_entries(extra: usize) -> Vec<u8> {
    let mut b = tar_after("main.tf");
    for i in 0..extra {
        raw_entry(
            &mut b,
            &format!("e/{i}.txt"),
            tar::EntryType::Regular,
            "",
            b"",
        );
    }
    b.into_inner().unwrap().finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archives_with_too_many_entries_fail_ingestion_naming_the_limit() {
    let (_dir, _reg, api) = started().await;
    // MAX_ENTRIES (10 000) entries pass, one more fails; neither is big or compressible
    // enough to reach the size or ratio limits.
    let (at, over) = tokio::task::spawn_blocking(|| (many_entries(9_999), many_entries(10_000)))
        .await
        .unwrap();
    for (name, body) in [("atlimit", at), ("overlimit", over)] {
        let link = pending_version(&api, name).await;
        assert_eq!(put(&link, body).await.0, StatusCode::OK);
    }
    let (status, error) = status_of(&api, "atlimit").await;
    assert_eq!(status, "ok", "{error}");
    let (status, error) = status_of(&api, "overlimit").await;
    assert_eq!(status, "reg_ingress_failed", "{error}");
    assert!(error.contains("entry count limit"), "{error}");
    assert!(error.contains("10000"), "{error}");
}

/// `len` bytes that deflate cannot shrink (xorshift64), so the archive's ratio stays ~1.
fn incompressible(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        out.extend_from_slice(&seed.to_le_bytes());
    }
    out.truncate(len);
    out
}

#[tokio::test]
async fn low_ratio_archives_past_the_unpacked_size_limit_fail_ingestion() {
    const LIMIT: u64 = 1024 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let reg = start_edited(dir.path(), |o| o.max_unpacked_bytes = LIMIT).await;
    let api = Api::new(&reg, TOKEN);
    let tf: &[u8] = b"variable \"x\" {}\n";
    let small = incompressible(LIMIT as usize / 2, 0x9e37_79b9_7f4a_7c15);
    let big = incompressible(LIMIT as usize * 2, 0x2545_f491_4f6c_dd1d);
    let small = crate::support::fs::tarball(&[("main.tf", tf), ("noise.bin", &small)]);
    let big = crate::support::fs::tarball(&[("main.tf", tf), ("noise.bin", &big)]);
    // Not a bomb: the compressed archive is about as big as what it unpacks to.
    assert!(big.len() as u64 > 2 * LIMIT - 64 * 1024, "{}", big.len());
    for (name, body) in [("under", small), ("over", big)] {
        let link = pending_version(&api, name).await;
        assert_eq!(put(&link, body).await.0, StatusCode::OK);
    }
    let (status, error) = status_of(&api, "under").await;
    assert_eq!(status, "ok", "{error}");
    let (status, error) = status_of(&api, "over").await;
    assert_eq!(status, "reg_ingress_failed", "{error}");
    assert!(error.contains("unpacked size limit"), "{error}");
    assert!(error.contains("1 MiB"), "{error}");
    assert!(error.contains("noise.bin"), "{error}");
    reg.shutdown().await;
}
