//! Integration tests: the embedded registry, in-process on 127.0.0.1:0 with temp data
//! dirs, driven with plain reqwest, plus a real `terraform init` against it.

use std::io::Write;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tempfile::TempDir;
use tfpub_registry::{self as registry, RegistryOptions, RunningRegistry};

use crate::support::gpg::Gpg;
use crate::support::registry::{start_in, Api};
use crate::support::terraform::Terraform;
use crate::support::{sha256_hex, test_key, testdata, RSA_KEY_ID, RSA_PASSPHRASE};

const TOKEN: &str = "test-token";

/// A registry on a fresh data folder (kept alive by the TempDir) and a client with TOKEN.
async fn started() -> (TempDir, RunningRegistry, Api) {
    crate::support::registry::started(TOKEN).await
}

fn detail(v: &Value) -> String {
    v["errors"][0]["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn module_tarball() -> Vec<u8> {
    let dir = testdata("modules/terraform-null-greeting");
    let mut files = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        files.push((
            p.file_name().unwrap().to_string_lossy().to_string(),
            std::fs::read(&p).unwrap(),
        ));
    }
    files.sort();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    crate::support::fs::tarball(&refs)
}

const MODS: &str = "/api/v2/organizations/acme/registry-modules";

/// Module `name`/null (new or already there) with a new pending version; the upload link.
async fn create_module_version(api: &Api, name: &str, version: &str) -> String {
    let (s, _) = api.create_module(name).await;
    assert!(
        s == StatusCode::CREATED || s == StatusCode::UNPROCESSABLE_ENTITY,
        "{s}"
    );
    api.create_module_version(name, version).await
}

fn version_status(module: &Value, version: &str) -> (String, String) {
    let st = module["data"]["attributes"]["version-statuses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["version"] == version)
        .unwrap_or_else(|| panic!("no status for {version} in {module}"));
    (
        st["status"].as_str().unwrap().into(),
        st["error"].as_str().unwrap_or("").into(),
    )
}

#[tokio::test]
async fn ping_and_discovery() {
    let (_dir, reg, api) = started().await;
    let resp = api
        .req(reqwest::Method::GET, "/api/v2/ping")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(resp.headers().contains_key("tfp-api-version"));
    assert_eq!(resp.headers()["x-ratelimit-limit"], "30");
    let (s, v) = api.get("/.well-known/terraform.json").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["modules.v1"], "/api/registry/v1/modules/");
    assert_eq!(v["providers.v1"], "/api/registry/v1/providers/");
    let (s, v) = api.get("/api/v2/nope").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(v["errors"][0]["status"] == "404");
    let snippet = registry::cli_config_snippet("registry.tfpub.test", &reg.base_url());
    assert!(snippet.contains("host \"registry.tfpub.test\""));
    assert!(snippet.contains(&format!("{}api/registry/v1/providers/", reg.base_url())));
    reg.shutdown().await;
}

#[tokio::test]
async fn modules_lifecycle_and_errors() {
    let (_dir, reg, api) = started().await;
    // create: namespace is refused, duplicates are 422, bad names 422
    let (s, v) = api
        .post(
            MODS,
            json!({"name": "greeting", "provider": "null", "namespace": "acme"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = api
        .post(
            MODS,
            json!({"name": "greeting", "provider": "null", "registry-name": "private"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["data"]["type"], "registry-modules");
    assert_eq!(v["data"]["attributes"]["namespace"], "acme");
    let (s, v) = api
        .post(MODS, json!({"name": "greeting", "provider": "null"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(detail(&v).contains("Provider must be unique"));
    let (s, _) = api
        .post(MODS, json!({"name": "bad name", "provider": "null"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = api.post(MODS, json!({"provider": "null"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = api.send(reqwest::Method::POST, MODS, None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // versions: documented path, then deprecated path; duplicates and bad semver 422
    let upload = create_module_version(&api, "greeting", "1.0.0").await;
    assert!(upload.starts_with(&reg.base_url().to_string()));
    let (s, v) = api
        .post(
            &format!("{MODS}/private/acme/greeting/null/versions"),
            json!({"version": "1.0.0"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(detail(&v), "Version has already been taken");
    let (s, _) = api
        .post(
            &format!("{MODS}/private/acme/greeting/null/versions"),
            json!({"version": "v1"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, v) = api
        .post(
            "/api/v2/registry-modules/acme/greeting/null/versions",
            json!({"version": "1.1.0"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let upload_bad = v["data"]["links"]["upload"].as_str().unwrap().to_string();
    let (s, _) = api
        .post(
            &format!("{MODS}/private/acme/missing/null/versions"),
            json!({"version": "1.0.0"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // uploads: good tarball -> ok; tarball with a top-level folder -> reg_ingress_failed
    assert_eq!(api.put(&upload, module_tarball()).await, StatusCode::OK);
    assert_eq!(
        api.put(&upload, module_tarball()).await,
        StatusCode::NOT_FOUND,
        "one-shot"
    );
    let nested = crate::support::fs::tarball(&[("greeting/main.tf", b"locals {}\n")]);
    assert_eq!(api.put(&upload_bad, nested).await, StatusCode::OK);
    let (s, m) = api.get(&format!("{MODS}/private/acme/greeting/null")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(version_status(&m, "1.0.0").0, "ok");
    let (st, err) = version_status(&m, "1.1.0");
    assert_eq!(st, "reg_ingress_failed");
    assert!(err.contains(".tf"), "{err}");
    let (_, v) = api
        .post(
            &format!("{MODS}/private/acme/greeting/null/versions"),
            json!({"version": "1.2.0"}),
        )
        .await;
    let up = v["data"]["links"]["upload"].as_str().unwrap().to_string();
    assert_eq!(api.put(&up, b"not gzip".to_vec()).await, StatusCode::OK);

    // read one version
    let (s, v) = api
        .get(&format!(
            "{MODS}/private/acme/greeting/null/version?module_version=1.2.0"
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["data"]["type"], "registry-module-versions");
    assert_eq!(v["data"]["attributes"]["status"], "reg_ingress_failed");
    assert!(v["data"]["attributes"]["error"]
        .as_str()
        .unwrap()
        .contains("gzip"));
    let (s, _) = api
        .get(&format!(
            "{MODS}/private/acme/greeting/null/version?module_version=9.9.9"
        ))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // consumer view: only ok versions
    let (s, v) = api
        .get("/api/registry/v1/modules/acme/greeting/null/versions")
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v["modules"][0]["versions"],
        json!([{"version": "1.0.0", "deprecation": null}])
    );
    let resp = api
        .req(
            reqwest::Method::GET,
            "/api/registry/v1/modules/acme/greeting/null/1.0.0/download",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let get = resp.headers()["x-terraform-get"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(get.starts_with("http://127.0.0.1:"), "{get}");
    let bytes = reqwest::get(&get).await.unwrap().bytes().await.unwrap();
    assert_eq!(bytes.to_vec(), module_tarball());
    let (s, _) = api
        .get("/api/registry/v1/modules/acme/greeting/null/1.1.0/download")
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // deprecate / revoke rules
    let vpath = format!("{MODS}/private/acme/greeting/null/1.0.0");
    let (s, _) = api
        .patch(
            &vpath,
            json!({"revocation": {"status": "Revoked", "message": "x"}}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "revoke needs deprecation first"
    );
    let (s, v) = api
        .patch(
            &vpath,
            json!({"deprecation": {"deprecated-status": "Deprecated", "reason": "old", "link": "https://example.test/why"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // manage-module-versions.md "Deprecate a module version" sample: a `module-versions`
    // document whose `deprecation` relationship names the included `deprecations`.
    assert_eq!(v["data"]["type"], "module-versions", "{v}");
    let dep = &v["data"]["relationships"]["deprecation"]["data"];
    assert_eq!(dep["type"], "deprecations", "{v}");
    assert_eq!(v["included"][0]["type"], "deprecations", "{v}");
    assert_eq!(v["included"][0]["id"], dep["id"], "{v}");
    assert_eq!(
        v["included"][0]["attributes"],
        json!({"reason": "old", "link": "https://example.test/why"})
    );
    let (_, l) = api
        .get("/api/registry/v1/modules/acme/greeting/null/versions")
        .await;
    assert_eq!(
        l["modules"][0]["versions"][0]["deprecation"]["reason"],
        "old"
    );
    let (s, v) = api
        .patch(
            &vpath,
            json!({"revocation": {"status": "Revoked", "message": "bad"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // "Revoke a module version" sample: the registry-module-versions resource.
    assert_eq!(v["data"]["type"], "registry-module-versions", "{v}");
    assert_eq!(v["data"]["attributes"]["revocation"]["status"], "Revoked");
    assert_eq!(v["data"]["attributes"]["revocation"]["message"], "bad");
    let (_, m) = api.get(&format!("{MODS}/private/acme/greeting/null")).await;
    assert_eq!(
        m["data"]["attributes"]["revoked-versions"],
        json!(["1.0.0"])
    );
    let (_, v) = api
        .get("/api/registry/v1/modules/acme/greeting/null/versions")
        .await;
    assert_eq!(
        v["modules"][0]["versions"],
        json!([]),
        "revoked is not installable"
    );
    let (s, v) = api
        .patch(&vpath, json!({"revocation": {"status": "Unrevoked"}}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["data"]["type"], "registry-module-versions", "{v}");
    assert_eq!(
        v["data"]["attributes"]["revocation"],
        json!({"status": "Unrevoked"})
    );
    let (s, v) = api
        .patch(
            &vpath,
            json!({"deprecation": {"deprecated-status": "Undeprecated"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // "Revert the deprecation status" sample: only the module-versions identifier.
    assert_eq!(v["data"]["type"], "module-versions", "{v}");
    assert!(v["data"]["id"].is_string(), "{v}");
    assert!(v.get("included").is_none(), "{v}");
    let (_, l) = api
        .get("/api/registry/v1/modules/acme/greeting/null/versions")
        .await;
    assert!(
        l["modules"][0]["versions"][0]["deprecation"].is_null(),
        "{l}"
    );
    let (s, _) = api
        .patch(
            &vpath,
            json!({"deprecation": {"deprecated-status": "Maybe"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = api
        .patch(
            &format!("{MODS}/private/acme/greeting/null/7.0.0"),
            json!({"deprecation": {"deprecated-status": "Deprecated"}}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // delete forms: version (no /versions/ segment), provider, module
    assert_eq!(
        api.delete(&format!("{MODS}/private/acme/greeting/null/1.2.0"))
            .await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.delete(&format!("{MODS}/private/acme/greeting/null/1.2.0"))
            .await,
        StatusCode::NOT_FOUND
    );
    api.post(MODS, json!({"name": "greeting", "provider": "aws"}))
        .await;
    assert_eq!(
        api.delete(&format!("{MODS}/private/acme/greeting/null"))
            .await,
        StatusCode::NO_CONTENT
    );
    let (s, _) = api.get(&format!("{MODS}/private/acme/greeting/null")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        api.delete(&format!("{MODS}/private/acme/greeting")).await,
        StatusCode::NO_CONTENT
    );
    let (s, _) = api.get(&format!("{MODS}/private/acme/greeting/aws")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        api.delete(&format!("{MODS}/private/acme/greeting")).await,
        StatusCode::NOT_FOUND
    );
    reg.shutdown().await;
}

#[tokio::test]
async fn module_list_pagination_and_filters() {
    let (_dir, reg, api) = started().await;
    for i in 0..5 {
        let (s, _) = api.post(MODS, json!({"name": format!("mod{i}"), "provider": if i % 2 == 0 { "aws" } else { "null" }})).await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, v) = api
        .get(&format!("{MODS}?page%5Bnumber%5D=2&page%5Bsize%5D=2"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    let p = &v["meta"]["pagination"];
    assert_eq!(
        (
            p["current-page"].as_u64(),
            p["next-page"].as_u64(),
            p["total-pages"].as_u64(),
            p["total-count"].as_u64()
        ),
        (Some(2), Some(3), Some(3), Some(5))
    );
    let (_, v) = api.get(&format!("{MODS}?page[size]=500")).await;
    assert_eq!(v["meta"]["pagination"]["page-size"], 100);
    let (s, _) = api.get(&format!("{MODS}?page[number]=zero")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, v) = api.get(&format!("{MODS}?filter[provider]=aws")).await;
    assert_eq!(v["data"].as_array().unwrap().len(), 3);
    let (_, v) = api.get(&format!("{MODS}?q=mod3")).await;
    assert_eq!(v["data"][0]["attributes"]["name"], "mod3");
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    let (_, v) = api
        .get(&format!("{MODS}?filter[registry_name]=public"))
        .await;
    assert_eq!(v["data"].as_array().unwrap().len(), 0);
    reg.shutdown().await;
}

const PROVS: &str = "/api/v2/organizations/acme/registry-providers";

fn zip_with(name: &str, data: &[u8]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    w.start_file(name, opts).unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap().into_inner()
}

#[tokio::test]
async fn providers_versions_platforms() {
    let (_dir, reg, api) = started().await;
    let (s, v) = api
        .post(
            PROVS,
            json!({"name": "greet", "namespace": "acme", "registry-name": "private"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["data"]["type"], "registry-providers");
    let (s, _) = api
        .post(
            PROVS,
            json!({"name": "greet", "namespace": "acme", "registry-name": "private"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = api
        .post(
            PROVS,
            json!({"name": "greet", "namespace": "other", "registry-name": "private"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = api
        .post(PROVS, json!({"name": "greet", "registry-name": "private"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, v) = api.get(PROVS).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["meta"]["pagination"]["total-count"], 1);
    let p = format!("{PROVS}/private/acme/greet");
    let (s, _) = api.get(&p).await;
    assert_eq!(s, StatusCode::OK);

    // version validation
    let vp = format!("{p}/versions");
    for bad in [
        json!({"version": "1.0", "key-id": "7272A3BE438F9A26", "protocols": ["6.0"]}),
        json!({"version": "1.0.0", "key-id": "XYZ", "protocols": ["6.0"]}),
        json!({"version": "1.0.0", "key-id": "7272A3BE438F9A26", "protocols": "6.0"}),
        json!({"version": "1.0.0", "key-id": "7272A3BE438F9A26", "protocols": ["six"]}),
        json!({"version": "1.0.0", "key-id": "7272A3BE438F9A26"}),
    ] {
        let (s, _) = api.post(&vp, bad.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let (s, v) = api
        .post(
            &vp,
            json!({"version": "1.0.0", "key-id": "7272A3BE438F9A26", "protocols": ["5.0", "6.0"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let a = &v["data"]["attributes"];
    assert_eq!(a["protocols"], json!(["5.0", "6.0"]));
    assert_eq!(a["shasums-uploaded"], false);
    assert_eq!(a["permissions"]["can-upload-asset"], true);
    let sums_up = v["data"]["links"]["shasums-upload"]
        .as_str()
        .unwrap()
        .to_string();
    let sig_up = v["data"]["links"]["shasums-sig-upload"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, v) = api
        .post(
            &vp,
            json!({"version": "1.0.0", "key-id": "7272A3BE438F9A26", "protocols": ["6.0"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(detail(&v), "Version has already been taken");

    // platforms
    let zip = zip_with("terraform-provider-greet_v1.0.0", b"#!/bin/sh\n");
    let sha = sha256_hex(&zip);
    let pp = format!("{vp}/1.0.0/platforms");
    for bad in [
        json!({"os": "macos", "arch": "amd64", "shasum": sha, "filename": "a.zip"}),
        json!({"os": "linux", "arch": "x86_64", "shasum": sha, "filename": "a.zip"}),
        json!({"os": "linux", "arch": "amd64", "shasum": "abc", "filename": "a.zip"}),
        json!({"os": "linux", "arch": "amd64", "shasum": sha}),
    ] {
        let (s, _) = api.post(&pp, bad.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let fname = "terraform-provider-greet_1.0.0_linux_amd64.zip";
    let (s, v) = api
        .post(
            &pp,
            json!({"os": "linux", "arch": "amd64", "shasum": sha, "filename": fname}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["data"]["attributes"]["provider-binary-uploaded"], false);
    let bin_up = v["data"]["links"]["provider-binary-upload"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _) = api
        .post(
            &pp,
            json!({"os": "linux", "arch": "amd64", "shasum": sha, "filename": fname}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // a zip that does not match the declared shasum is refused; the flag stays false
    let s = api.put(&bin_up, zip_with("other", b"x")).await;
    assert!(s.is_client_error(), "{s}");
    let (_, v) = api.get(&format!("{pp}/linux/amd64")).await;
    assert_eq!(v["data"]["attributes"]["provider-binary-uploaded"], false);
    // not listed to consumers until everything is uploaded
    let (_, v) = api
        .get("/api/registry/v1/providers/acme/greet/versions")
        .await;
    assert_eq!(v["versions"], json!([]));
    assert_eq!(api.put(&bin_up, zip.clone()).await, StatusCode::OK);
    let (_, v) = api.get(&format!("{pp}/linux/amd64")).await;
    assert_eq!(v["data"]["attributes"]["provider-binary-uploaded"], true);
    let dl = v["data"]["links"]["provider-binary-download"]
        .as_str()
        .unwrap();
    assert_eq!(
        reqwest::get(dl)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec(),
        zip
    );
    assert_eq!(
        api.put(&sums_up, format!("{sha}  {fname}\n").into_bytes())
            .await,
        StatusCode::OK
    );
    assert_eq!(api.put(&sig_up, b"sig".to_vec()).await, StatusCode::OK);
    let (_, v) = api.get(&format!("{vp}/1.0.0")).await;
    assert_eq!(v["data"]["attributes"]["shasums-uploaded"], true);
    assert_eq!(v["data"]["attributes"]["shasums-sig-uploaded"], true);
    assert!(v["data"]["links"]["shasums-download"].is_string());
    assert!(v["data"]["links"]["shasums-sig-download"].is_string());
    let (_, v) = api.get(&vp).await;
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    let (_, v) = api.get(&pp).await;
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    let (_, v) = api
        .get("/api/registry/v1/providers/acme/greet/versions")
        .await;
    assert_eq!(
        v["versions"],
        json!([{"version": "1.0.0", "protocols": ["5.0", "6.0"], "platforms": [{"os": "linux", "arch": "amd64"}]}])
    );
    let (s, v) = api
        .get("/api/registry/v1/providers/acme/greet/1.0.0/download/linux/amd64")
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["shasum"], sha);
    assert_eq!(v["filename"], fname);
    let (s, _) = api
        .get("/api/registry/v1/providers/acme/greet/1.0.0/download/darwin/arm64")
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // deletes
    assert_eq!(
        api.delete(&format!("{pp}/linux/amd64")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.delete(&format!("{pp}/linux/amd64")).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.delete(&format!("{vp}/1.0.0")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(api.delete(&p).await, StatusCode::NO_CONTENT);
    let (s, _) = api.get(&p).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    reg.shutdown().await;
}

const GPG: &str = "/api/registry/private/v2/gpg-keys";

#[tokio::test]
async fn gpg_keys() {
    let (_dir, reg, api) = started().await;
    let (s, _) = api.get(GPG).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, v) = api
        .post(
            GPG,
            json!({"namespace": "acme", "ascii-armor": test_key("rsa.pub.asc")}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["data"]["attributes"]["key-id"], "7272A3BE438F9A26");
    assert_eq!(v["data"]["type"], "gpg-keys");
    let (s, _) = api
        .post(
            GPG,
            json!({"namespace": "acme", "ascii-armor": test_key("rsa.pub.asc")}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, v) = api
        .post(
            GPG,
            json!({"namespace": "acme", "ascii-armor": test_key("dsa.pub.asc")}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["data"]["attributes"]["key-id"], "4BF7A3047F87DB58");
    let (s, v) = api
        .post(
            GPG,
            json!({"namespace": "acme", "ascii-armor": test_key("ed.pub.asc")}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(detail(&v).contains("RSA or DSA"), "{v}");
    let (s, _) = api
        .post(GPG, json!({"namespace": "acme", "ascii-armor": "garbage"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = api
        .post(GPG, json!({"ascii-armor": test_key("rsa.pub.asc")}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, v) = api.get(&format!("{GPG}?filter%5Bnamespace%5D=acme")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    let (s, v) = api.get(&format!("{GPG}/acme/7272A3BE438F9A26")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["data"]["attributes"]["ascii-armor"]
        .as_str()
        .unwrap()
        .contains("BEGIN PGP PUBLIC KEY"));
    let (s, v) = api
        .patch(
            &format!("{GPG}/acme/7272A3BE438F9A26"),
            json!({"namespace": "acme2"}),
        )
        .await;
    // The reference's gpg-keys page documents 201 for this PATCH.
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["data"]["attributes"]["namespace"], "acme2");
    let (s, _) = api.get(&format!("{GPG}/acme/7272A3BE438F9A26")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        api.delete(&format!("{GPG}/acme2/7272A3BE438F9A26")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.delete(&format!("{GPG}/acme2/7272A3BE438F9A26")).await,
        StatusCode::NOT_FOUND
    );
    reg.shutdown().await;
}

#[tokio::test]
async fn auth_modes() {
    // easy mode: reads without a token, writes need one (any)
    let (dir, reg, mut api) = started().await;
    api.token = None;
    let (s, _) = api.get(MODS).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = api
        .post(MODS, json!({"name": "m", "provider": "null"}))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["errors"][0]["status"], "401");
    api.token = Some("anything".into());
    let (s, _) = api
        .post(
            "/api/v2/organizations/brand-new/registry-modules",
            json!({"name": "m", "provider": "null"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    reg.shutdown().await;

    // easy mode refuses a non-loopback address
    let err = registry::start(
        RegistryOptions::new(dir.path()),
        "0.0.0.0:0".parse().unwrap(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("0.0.0.0"), "{err}");

    // tokens mode
    let tokens_file = dir.path().join("tokens.json");
    std::fs::write(
        &tokens_file,
        r#"{"good": ["acme"], "other": ["elsewhere"]}"#,
    )
    .unwrap();
    let mut opts = RegistryOptions::new(dir.path());
    opts.tokens = Some(registry::load_tokens_file(&tokens_file).unwrap());
    assert!(
        !format!("{opts:?}").contains("good"),
        "tokens are redacted in Debug"
    );
    let reg = registry::start(opts, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut api = Api::new(&reg, TOKEN);
    api.token = None;
    assert_eq!(api.get(MODS).await.0, StatusCode::UNAUTHORIZED);
    api.token = Some("bad".into());
    assert_eq!(api.get(MODS).await.0, StatusCode::UNAUTHORIZED);
    api.token = Some("other".into());
    assert_eq!(api.get(MODS).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        api.get(&format!("{GPG}/acme/7272A3BE438F9A26")).await.0,
        StatusCode::NOT_FOUND
    );
    api.token = Some("good".into());
    assert_eq!(api.get(MODS).await.0, StatusCode::OK);
    assert_eq!(
        api.post(MODS, json!({"name": "m", "provider": "null"}))
            .await
            .0,
        StatusCode::CREATED
    );
    reg.shutdown().await;

    std::fs::write(&tokens_file, "[1,2]").unwrap();
    let err = registry::load_tokens_file(&tokens_file).unwrap_err();
    assert!(err.to_string().contains("tokens.json"), "{err}");
}

#[tokio::test]
async fn faults_and_stats() {
    let (dir, reg, api) = started().await;
    let faults = reg.faults();
    let stats = reg.stats();

    faults.rate_limit_next(1, 0.25);
    let resp = api.req(reqwest::Method::GET, MODS).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["x-ratelimit-reset"], "0.250");
    assert_eq!(api.get(MODS).await.0, StatusCode::OK);

    faults.fail_next(2, 503);
    assert_eq!(api.get(MODS).await.0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(api.get(MODS).await.0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(api.get(MODS).await.0, StatusCode::OK);

    // a dropped upload leaves nothing behind and its URL stays valid
    let up = create_module_version(&api, "greeting", "1.0.0").await;
    faults.drop_next_uploads(1);
    let res = reqwest::Client::new()
        .put(&up)
        .body(vec![7u8; 4 << 20])
        .send()
        .await;
    assert!(
        res.is_err() || !res.unwrap().status().is_success(),
        "dropped upload must not succeed"
    );
    let (_, m) = api.get(&format!("{MODS}/private/acme/greeting/null")).await;
    assert_eq!(version_status(&m, "1.0.0").0, "pending");
    assert_eq!(api.put(&up, module_tarball()).await, StatusCode::OK);
    let (_, m) = api.get(&format!("{MODS}/private/acme/greeting/null")).await;
    assert_eq!(version_status(&m, "1.0.0").0, "ok");
    let tmp_left = std::fs::read_dir(dir.path().join("tmp")).unwrap().count();
    assert_eq!(tmp_left, 0, "no temp files remain");

    // hold_pending
    faults.hold_pending(true);
    let up = create_module_version(&api, "greeting", "1.1.0").await;
    assert_eq!(api.put(&up, module_tarball()).await, StatusCode::OK);
    let (_, m) = api.get(&format!("{MODS}/private/acme/greeting/null")).await;
    assert_eq!(version_status(&m, "1.1.0").0, "pending");
    faults.hold_pending(false);

    // latency
    faults.set_latency(std::time::Duration::from_millis(200));
    let t = std::time::Instant::now();
    api.get("/api/v2/ping").await;
    assert!(t.elapsed() >= std::time::Duration::from_millis(200));
    faults.set_latency(std::time::Duration::ZERO);

    // stats
    stats.reset();
    api.get(MODS).await;
    api.post(MODS, json!({"name": "x", "provider": "null"}))
        .await;
    assert_eq!(stats.total(), 2);
    assert_eq!(stats.count("GET", "/registry-modules"), 1);
    assert_eq!(stats.count("post", "registry-modules"), 1);
    assert_eq!(stats.writes(), 1);
    reg.shutdown().await;
}

#[tokio::test]
async fn data_survives_restart_on_another_port() {
    let (dir, reg, api) = started().await;
    let up = create_module_version(&api, "greeting", "1.0.0").await;
    assert_eq!(api.put(&up, module_tarball()).await, StatusCode::OK);
    let first = reg.addr();
    reg.shutdown().await;

    // a stray temp file from a killed upload (named by a process that is gone) is cleaned
    // at start
    let partial = dir.path().join("tmp/tfpub-4000000000-0badcafe.part");
    std::fs::write(&partial, b"half").unwrap();
    let reg = start_in(dir.path()).await;
    assert_ne!(reg.addr(), first);
    assert!(!partial.exists());
    let api = Api::new(&reg, TOKEN);
    let (s, m) = api.get(&format!("{MODS}/private/acme/greeting/null")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(version_status(&m, "1.0.0").0, "ok");
    let resp = api
        .req(
            reqwest::Method::GET,
            "/api/registry/v1/modules/acme/greeting/null/1.0.0/download",
        )
        .send()
        .await
        .unwrap();
    let get = resp.headers()["x-terraform-get"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        get.starts_with(reg.base_url().as_str()),
        "links follow the new port: {get}"
    );
    assert_eq!(
        reqwest::get(&get)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec(),
        module_tarball()
    );
    reg.shutdown().await;
}

/// Publishes a module and a signed provider over plain HTTP, then installs both with the
/// real `terraform init`.
#[tokio::test]
async fn terraform_init_installs_published_module_and_provider() {
    let dir = tempfile::tempdir().unwrap();
    let reg = start_in(&dir.path().join("data")).await;
    let api = Api::new(&reg, TOKEN);

    // module
    let up = create_module_version(&api, "greeting", "1.0.0").await;
    assert_eq!(api.put(&up, module_tarball()).await, StatusCode::OK);

    // provider release files
    let version = "0.1.0";
    let script = b"#!/bin/sh\necho 'not a real provider'\nexit 1\n";
    let platforms = [("linux", "amd64"), ("darwin", "arm64")];
    let mut zips = Vec::new();
    let mut sums = String::new();
    for (os, arch) in platforms {
        let zip = zip_with(&format!("terraform-provider-greet_v{version}"), script);
        let fname = format!("terraform-provider-greet_{version}_{os}_{arch}.zip");
        sums.push_str(&format!("{}  {fname}\n", sha256_hex(&zip)));
        zips.push((os, arch, fname, zip));
    }
    // BINARY detached signature with gpg in a temp GNUPGHOME
    let gpg = Gpg::new();
    let sums_path = dir.path().join("SHA256SUMS");
    std::fs::write(&sums_path, &sums).unwrap();
    gpg.import(&test_key("rsa.sec.asc"));
    let sig_path = dir.path().join("SHA256SUMS.sig");
    gpg.detach_sign(RSA_KEY_ID, RSA_PASSPHRASE, &sums_path, &sig_path);
    drop(gpg);
    let sig = std::fs::read(&sig_path).unwrap();
    assert!(sig[0] & 0x80 != 0, "binary signature");

    // publish the provider
    let (s, _) = api
        .post(
            GPG,
            json!({"namespace": "acme", "ascii-armor": test_key("rsa.pub.asc")}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = api
        .post(
            PROVS,
            json!({"name": "greet", "namespace": "acme", "registry-name": "private"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let vp = format!("{PROVS}/private/acme/greet/versions");
    let (s, v) = api
        .post(
            &vp,
            json!({"version": version, "key-id": RSA_KEY_ID, "protocols": ["6.0"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let l = &v["data"]["links"];
    assert_eq!(
        api.put(
            l["shasums-upload"].as_str().unwrap(),
            sums.clone().into_bytes()
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        api.put(l["shasums-sig-upload"].as_str().unwrap(), sig)
            .await,
        StatusCode::OK
    );
    for (os, arch, fname, zip) in &zips {
        let (s, v) = api
            .post(
                &format!("{vp}/{version}/platforms"),
                json!({"os": os, "arch": arch, "filename": fname, "shasum": sha256_hex(zip)}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let link = v["data"]["links"]["provider-binary-upload"]
            .as_str()
            .unwrap();
        assert_eq!(api.put(link, zip.clone()).await, StatusCode::OK);
    }

    // terraform init
    let tf = Terraform::new(
        &reg,
        TOKEN,
        "terraform {\n  required_providers {\n    greet = {\n      source  = \"registry.tfpub.test/acme/greet\"\n      version = \"0.1.0\"\n    }\n  }\n}\n\nmodule \"greeting\" {\n  source  = \"registry.tfpub.test/acme/greeting/null\"\n  version = \"1.0.0\"\n}\n\noutput \"g\" { value = module.greeting.greeting }\n",
    );
    tf.run(&["init", "-input=false", "-no-color"]).await;
    let lock = tf.lock_file();
    for (_, _, _, zip) in &zips {
        assert!(
            lock.contains(&format!("zh:{}", sha256_hex(zip))),
            "lock file lacks zh: hash:\n{lock}"
        );
    }
    assert!(lock.contains("registry.tfpub.test/acme/greet"), "{lock}");
    assert!(
        tf.data_dir().join("modules/greeting/main.tf").exists(),
        "module files at root"
    );
    reg.shutdown().await;
}
