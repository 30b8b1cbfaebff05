//! The archivist's upload cap: a body over `RegistryOptions::max_upload_bytes`, declared
//! (Content-Length) or streamed (chunked), is answered 413 with a JSON:API error naming
//! the limit; nothing of it is kept, and the same link then takes a correct upload.

use std::io::Write;
use std::path::Path;

use reqwest::StatusCode;
use tfpub_registry::{self as registry, RegistryOptions};

use crate::support::registry::Api;

const LIMIT: u64 = 4096;

/// Files under the blob store and its temp folder.
fn stored_files(data: &Path) -> usize {
    walkdir::WalkDir::new(data.join("blobs"))
        .into_iter()
        .chain(walkdir::WalkDir::new(data.join("tmp")))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .count()
}

/// A module archive well under LIMIT.
fn small_module() -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let main = b"output \"x\" { value = 1 }\n";
    let mut h = tar::Header::new_gnu();
    h.set_size(main.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, "main.tf", &main[..]).unwrap();
    let tar = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_over_the_cap_get_413_and_leave_the_link_usable() {
    let data = tempfile::tempdir().unwrap();
    let mut opts = RegistryOptions::new(data.path());
    opts.max_upload_bytes = LIMIT;
    let reg = registry::start(opts, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let api = Api::new(&reg, "t");
    let (s, v) = api.create_module("capped").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let link = api.create_module_version("capped", "1.0.0").await;
    let before = stored_files(data.path());
    let big = vec![7u8; LIMIT as usize + 1];
    let http = reqwest::Client::new();

    // Declared too large: refused from its Content-Length.
    let resp = http.put(&link).body(big.clone()).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let e: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(e["errors"][0]["status"], "413", "{e}");
    let detail = e["errors"][0]["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("{LIMIT} bytes")), "{detail}");

    // Streamed with no length: cut where it passes the limit.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.chunks(1000).map(|c| Ok(c.to_vec())).collect();
    let resp = http
        .put(&link)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let e: serde_json::Value = resp.json().await.unwrap();
    assert!(
        e["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("{LIMIT} bytes")),
        "{e}"
    );
    assert_eq!(stored_files(data.path()), before, "nothing of it kept");

    // The link still takes a correct upload, and the version becomes ok.
    assert_eq!(api.put(&link, small_module()).await, StatusCode::OK);
    let v = api.module_version("capped", "null", "1.0.0").await.unwrap();
    assert_eq!(v["data"]["attributes"]["status"], "ok", "{v}");
    assert_eq!(stored_files(data.path()), before + 1);
    reg.shutdown().await;
}

/// Exactly the limit is still accepted (the cap is "more than", not "at least").
#[tokio::test]
async fn an_upload_of_exactly_the_cap_is_accepted() {
    let data = tempfile::tempdir().unwrap();
    let module = small_module();
    let mut opts = RegistryOptions::new(data.path());
    opts.max_upload_bytes = module.len() as u64;
    let reg = registry::start(opts, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let api = Api::new(&reg, "t");
    api.create_module("exact").await;
    let link = api.create_module_version("exact", "1.0.0").await;
    assert_eq!(api.put(&link, module).await, StatusCode::OK);
    reg.shutdown().await;
}
