//! Replay: the `tfpub` binary's module and provider flows against a stub that answers
//! ONLY with the reference pages' own sample responses (parsed at test time from
//! `../shared/reference/hcp-terraform-api/`, see `fields::samples`). A sample is changed
//! only where names, ids, links and the state the flow itself changes (status,
//! version-statuses, uploaded flags, the deprecation of the protocol listing) must
//! differ, and every change goes through [`set`], which refuses to add a field that the
//! sample does not have. What the client needs beyond the documented samples shows up
//! here as a failure, not as a field the embedded registry quietly adds.
//!
//! The few answers the reference pages give no sample for come from wire-facts.md: the
//! ping (204), the discovery document, the module download (204 + `X-Terraform-Get`).
//!
//! What the documentation does not promise is exercised too: the stub may serve a module
//! archive back re-packed (same files, other tar metadata), which tfpub must still
//! recognise as its own, and name the file when the content really differs.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::fields::{samples, Sample};
use crate::support::PublishArgs;
use crate::support::{clean_tfpub, module_copy, ok_json, run, ORG};

const TOKEN: &str = "replay-token-SHOULD-NEVER-BE-PRINTED";

/// A sample by page, `## ` section prefix and `### ` heading (or, for the sections that
/// hold several unlabelled blocks, the first whose JSON has `key`).
fn sample(page: &str, section: &str, heading: &str, key: Option<&str>) -> Value {
    let all: Vec<Sample> = samples(page);
    all.into_iter()
        .filter(|s| s.section.starts_with(section))
        .find(|s| key.map_or(s.heading == heading, |k| s.json.get(k).is_some()))
        .unwrap_or_else(|| panic!("{page}: no sample {section:?} / {heading:?} / {key:?}"))
        .json
}

/// Replace the value at `ptr` (a JSON pointer) in a sample; panics if the sample has no
/// such field, so the stub can never answer with a field the documentation lacks.
fn set(doc: &mut Value, ptr: &str, v: Value) {
    assert!(
        doc.pointer(ptr).is_some(),
        "the documented sample has no {ptr}: {doc}"
    );
    if let Some(slot) = doc.pointer_mut(ptr) {
        *slot = v;
    }
}

/// All the documented samples the stub answers with, read once.
struct Docs {
    module: Value,
    module_list: Value,
    version_created: Value,
    deprecated: Value,
    undeprecated: Value,
    revoked: Value,
    unrevoked: Value,
    protocol_versions: Value,
    provider: Value,
    provider_version_created: Value,
    provider_version: Value,
    provider_versions: Value,
    platform_created: Value,
    platform: Value,
    platforms: Value,
    keys: Value,
    key_added: Value,
}

impl Docs {
    fn load() -> Docs {
        let m = "modules.md";
        let mv = "manage-module-versions.md";
        let pv = "provider-versions-platforms.md";
        Docs {
            // A module without VCS: the "Create a Module (with no VCS connection)" sample
            // (the "Get a Module" sample is of a VCS module and carries vcs-repo).
            module: sample(
                m,
                "Create a Module (with no VCS",
                "Sample Response (private module)",
                None,
            ),
            module_list: sample(m, "List Registry Modules", "Sample Response", None),
            version_created: sample(m, "Create a Module Version", "Sample Response", None),
            deprecated: sample(mv, "Deprecate a module version", "Sample response", None),
            undeprecated: sample(mv, "Revert the deprecation status", "Sample response", None),
            revoked: sample(mv, "Revoke a module version", "Sample Response", None),
            unrevoked: sample(mv, "Revert the revocation status", "Sample Response", None),
            protocol_versions: sample(mv, "Fetch a module version", "", Some("modules")),
            provider: sample(
                "providers.md",
                "Create a Provider",
                "Sample Response (Private Provider)",
                None,
            ),
            provider_version_created: sample(
                pv,
                "Create a Provider Version",
                "Sample Response",
                None,
            ),
            provider_version: sample(pv, "Get a Version", "Sample Response", None),
            provider_versions: sample(pv, "Get All Versions", "Sample Response", None),
            platform_created: sample(pv, "Create a Provider Platform", "Sample Response", None),
            platform: sample(pv, "Get a Platform", "Sample Response", None),
            platforms: sample(pv, "Get All Platforms", "Sample Response", None),
            keys: sample("gpg-keys.md", "List GPG Keys", "Sample Response", None),
            key_added: sample("gpg-keys.md", "Add a GPG Key", "Sample Response", None),
        }
    }
}

#[derive(Default, Clone)]
struct ModVersion {
    uploaded: bool,
    deprecated: Option<(String, String)>,
    /// None: never revoked; Some(true): revoked; Some(false): revocation reverted.
    revoked: Option<bool>,
}

#[derive(Default)]
struct ProvVersion {
    key_id: String,
    protocols: Value,
    sums: bool,
    sig: bool,
    /// (os, arch) -> (filename, shasum, uploaded)
    platforms: BTreeMap<(String, String), (String, String, bool)>,
}

#[derive(Default)]
struct World {
    base: String,
    /// "name/provider" -> versions
    modules: BTreeMap<String, BTreeMap<String, ModVersion>>,
    /// provider name -> versions
    providers: BTreeMap<String, BTreeMap<String, ProvVersion>>,
    /// (key id, armor)
    keys: Vec<(String, String)>,
    blobs: BTreeMap<String, Vec<u8>>,
    /// Requests the stub has no documented answer for.
    unexpected: Vec<String>,
    /// Uploads that carried an Authorization header (must stay empty).
    leaked_auth: Vec<String>,
}

struct Stub {
    docs: Docs,
    world: Mutex<World>,
}

type Shared = Arc<Stub>;

fn jsonapi(status: StatusCode, body: Value) -> Response {
    (
        status,
        [("content-type", "application/vnd.api+json")],
        body.to_string(),
    )
        .into_response()
}

fn not_found() -> Response {
    jsonapi(
        StatusCode::NOT_FOUND,
        json!({"errors": [{"status": "404", "title": "not found"}]}),
    )
}

fn attrs(body: &[u8]) -> Value {
    serde_json::from_slice::<Value>(body).map_or(Value::Null, |v| v["data"]["attributes"].clone())
}

impl Stub {
    fn module_doc(&self, w: &World, key: &str) -> Value {
        let (name, provider) = key.split_once('/').unwrap();
        let versions = &w.modules[key];
        let mut d = self.docs.module.clone();
        set(&mut d, "/data/id", json!(format!("mod-{name}-{provider}")));
        set(&mut d, "/data/attributes/name", json!(name));
        set(&mut d, "/data/attributes/namespace", json!(ORG));
        set(&mut d, "/data/attributes/provider", json!(provider));
        let statuses: Vec<Value> = versions
            .iter()
            .map(
                |(v, s)| json!({"version": v, "status": if s.uploaded { "ok" } else { "pending" }}),
            )
            .collect();
        let status = if statuses.is_empty() {
            "pending"
        } else {
            "setup_complete"
        };
        set(&mut d, "/data/attributes/status", json!(status));
        set(&mut d, "/data/attributes/version-statuses", json!(statuses));
        set(
            &mut d,
            "/data/relationships/organization/data/id",
            json!(ORG),
        );
        set(
            &mut d,
            "/data/links/self",
            json!(format!(
                "/api/v2/organizations/{ORG}/registry-modules/private/{ORG}/{name}/{provider}"
            )),
        );
        d
    }

    fn version_doc(&self, w: &World, key: &str, version: &str) -> Value {
        let v = &w.modules[key][version];
        let status = if v.uploaded { "ok" } else { "pending" };
        let mut d = match v.revoked {
            Some(true) => self.docs.revoked.clone(),
            Some(false) => self.docs.unrevoked.clone(),
            None => self.docs.version_created.clone(),
        };
        set(&mut d, "/data/id", json!(format!("modver-{key}-{version}")));
        set(&mut d, "/data/attributes/status", json!(status));
        set(&mut d, "/data/attributes/version", json!(version));
        set(
            &mut d,
            "/data/relationships/registry-module/data/id",
            json!(format!("mod-{}", key.replace('/', "-"))),
        );
        set(
            &mut d,
            "/data/links/upload",
            json!(format!("{}/archivist/module/{key}/{version}", w.base)),
        );
        d
    }

    fn protocol_versions(&self, w: &World, key: &str) -> Value {
        let mut d = self.docs.protocol_versions.clone();
        // The second documented entry is the complete one (submodules, root, deprecation).
        let template = d["modules"][0]["versions"][1].clone();
        let items: Vec<Value> = w.modules[key]
            .iter()
            .filter(|(_, v)| v.uploaded && v.revoked != Some(true))
            .map(|(version, v)| {
                let mut item = template.clone();
                set(&mut item, "/version", json!(version));
                let dep = v
                    .deprecated
                    .as_ref()
                    .map_or(Value::Null, |(r, l)| json!({"reason": r, "link": l}));
                set(&mut item, "/deprecation", dep);
                item
            })
            .collect();
        set(&mut d, "/modules/0/source", json!(format!("{ORG}/{key}")));
        set(&mut d, "/modules/0/versions", json!(items));
        d
    }

    fn provider_doc(&self, w: &World, name: &str) -> Value {
        let mut d = self.docs.provider.clone();
        set(&mut d, "/data/id", json!(format!("prov-{name}")));
        set(&mut d, "/data/attributes/name", json!(name));
        set(&mut d, "/data/attributes/namespace", json!(ORG));
        set(
            &mut d,
            "/data/relationships/organization/data/id",
            json!(ORG),
        );
        let refs: Vec<Value> = w.providers[name]
            .keys()
            .map(|v| json!({"id": format!("provver-{v}"), "type": "registry-provider-versions"}))
            .collect();
        set(&mut d, "/data/relationships/versions/data", json!(refs));
        let path = format!("/api/v2/organizations/{ORG}/registry-providers/private/{ORG}/{name}");
        set(
            &mut d,
            "/data/relationships/versions/links/related",
            json!(path),
        );
        set(&mut d, "/data/links/self", json!(path));
        d
    }

    /// One provider version resource (not the document).
    fn provider_version(&self, w: &World, name: &str, version: &str) -> Value {
        let v = &w.providers[name][version];
        let done = v.sums && v.sig;
        let mut d = if done {
            self.docs.provider_version.clone()
        } else {
            self.docs.provider_version_created.clone()
        }["data"]
            .clone();
        let path = format!(
            "/api/v2/organizations/{ORG}/registry-providers/private/{ORG}/{name}/versions/{version}"
        );
        set(&mut d, "/id", json!(format!("provver-{version}")));
        set(&mut d, "/attributes/version", json!(version));
        set(&mut d, "/attributes/key-id", json!(v.key_id));
        set(&mut d, "/attributes/protocols", v.protocols.clone());
        set(&mut d, "/attributes/shasums-uploaded", json!(v.sums));
        set(&mut d, "/attributes/shasums-sig-uploaded", json!(v.sig));
        set(
            &mut d,
            "/relationships/registry-provider/data/id",
            json!(format!("prov-{name}")),
        );
        let refs: Vec<Value> = v
            .platforms
            .keys()
            .map(|(os, arch)| json!({"id": format!("provpltfrm-{os}-{arch}"), "type": "registry-provider-platforms"}))
            .collect();
        set(&mut d, "/relationships/platforms/data", json!(refs));
        set(
            &mut d,
            "/relationships/platforms/links/related",
            json!(format!("{path}/platforms")),
        );
        let blob = |f: &str| format!("{}/blobs/{name}/{version}/{f}", w.base);
        let up = |f: &str| format!("{}/archivist/provider/{name}/{version}/{f}", w.base);
        if done {
            set(&mut d, "/links/shasums-download", json!(blob("SHA256SUMS")));
            set(
                &mut d,
                "/links/shasums-sig-download",
                json!(blob("SHA256SUMS.sig")),
            );
        } else {
            set(&mut d, "/links/shasums-upload", json!(up("SHA256SUMS")));
            set(
                &mut d,
                "/links/shasums-sig-upload",
                json!(up("SHA256SUMS.sig")),
            );
        }
        d
    }

    fn platform(&self, w: &World, name: &str, version: &str, os: &str, arch: &str) -> Value {
        let (filename, shasum, uploaded) =
            &w.providers[name][version].platforms[&(os.to_string(), arch.to_string())];
        let mut d = if *uploaded {
            self.docs.platform.clone()
        } else {
            self.docs.platform_created.clone()
        }["data"]
            .clone();
        set(&mut d, "/id", json!(format!("provpltfrm-{os}-{arch}")));
        set(&mut d, "/attributes/os", json!(os));
        set(&mut d, "/attributes/arch", json!(arch));
        set(&mut d, "/attributes/filename", json!(filename));
        set(&mut d, "/attributes/shasum", json!(shasum));
        set(
            &mut d,
            "/relationships/registry-provider-version/data/id",
            json!(format!("provver-{version}")),
        );
        if *uploaded {
            set(
                &mut d,
                "/links/provider-binary-download",
                json!(format!("{}/blobs/{name}/{version}/{filename}", w.base)),
            );
        } else {
            set(
                &mut d,
                "/links/provider-binary-upload",
                json!(format!(
                    "{}/archivist/platform/{name}/{version}/{os}/{arch}",
                    w.base
                )),
            );
        }
        d
    }

    fn key(&self, template: &Value, id: usize, key_id: &str, armor: &str) -> Value {
        let mut d = template.clone();
        set(&mut d, "/id", json!(id.to_string()));
        set(&mut d, "/attributes/ascii-armor", json!(armor));
        set(&mut d, "/attributes/key-id", json!(key_id));
        set(&mut d, "/attributes/namespace", json!(ORG));
        set(&mut d, "/links/self", json!(format!("/v2/gpg-keys/{id}")));
        d
    }
}

/// A list document from a documented list sample: `data` replaced, pagination set to
/// one page (the fields exist in every documented list sample).
fn list_doc(sample: &Value, items: Vec<Value>) -> Value {
    let mut d = sample.clone();
    let n = items.len();
    set(&mut d, "/data", json!(items));
    set(&mut d, "/meta/pagination/current-page", json!(1));
    set(&mut d, "/meta/pagination/next-page", Value::Null);
    set(&mut d, "/meta/pagination/prev-page", Value::Null);
    set(&mut d, "/meta/pagination/total-pages", json!(1));
    set(&mut d, "/meta/pagination/total-count", json!(n));
    if d.pointer("/links/next").is_some() {
        set(&mut d, "/links/next", Value::Null);
    }
    d
}

async fn handle(
    State(stub): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let mut w = stub.world.lock().unwrap();
    let authed = headers
        .get("authorization")
        .is_some_and(|v| v.to_str().unwrap_or("") == format!("Bearer {TOKEN}"));
    if segs[0] == "archivist" || segs[0] == "blobs" {
        if headers.contains_key("authorization") {
            w.leaked_auth.push(format!("{method} {path}"));
        }
    } else if segs[0] == "api" && !authed {
        return jsonapi(
            StatusCode::UNAUTHORIZED,
            json!({"errors": [{"status": "401", "title": "unauthorized"}]}),
        );
    }
    let m = method.as_str();
    let resp = match (m, segs.as_slice()) {
        ("GET", [".well-known", "terraform.json"]) => (
            StatusCode::OK,
            [("content-type", "application/json")],
            json!({"modules.v1": "/api/registry/v1/modules/", "providers.v1": "/api/registry/v1/providers/",
                "tfe.v2": "/api/v2/", "tfe.v2.1": "/api/v2/", "tfe.v2.2": "/api/v2/", "state.v2": "/api/v2/",
                "motd.v1": "/api/terraform/motd", "versions.v1": "https://checkpoint-api.hashicorp.com/v1/versions/",
                "login.v1": {"client": "terraform-cli", "grant_types": ["authz_code"], "authz": "/app/oauth/authorize",
                    "token": "/oauth/token", "ports": [10000, 10010]}})
            .to_string(),
        )
            .into_response(),
        ("GET", ["api", "v2", "ping"]) => (
            StatusCode::NO_CONTENT,
            [("tfp-api-version", "2.6"), ("x-ratelimit-limit", "30")],
        )
            .into_response(),
        // --- modules
        // The permission preflight's reads (organization permissions, entitlement set,
        // account) have no sample in the reference pages: answered as a server without
        // them, which the client must take as "unknown", never as a refusal.
        ("GET", ["api", "v2", "organizations", ORG] | ["api", "v2", "organizations", ORG, "entitlement-set"] | ["api", "v2", "account", "details"]) => not_found(),
        ("GET", ["api", "v2", "organizations", ORG, "registry-modules"]) => {
            let items: Vec<Value> = w
                .modules
                .keys()
                .map(|k| stub.module_doc(&w, k)["data"].clone())
                .collect();
            jsonapi(StatusCode::OK, list_doc(&stub.docs.module_list, items))
        }
        ("POST", ["api", "v2", "organizations", ORG, "registry-modules"]) => {
            let a = attrs(&body);
            let key = format!(
                "{}/{}",
                a["name"].as_str().unwrap_or_default(),
                a["provider"].as_str().unwrap_or_default()
            );
            if w.modules.contains_key(&key) {
                jsonapi(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"errors": [{"status": "422", "title": "invalid attribute", "detail": "Provider must be unique"}]}),
                )
            } else {
                w.modules.insert(key.clone(), BTreeMap::new());
                jsonapi(StatusCode::CREATED, stub.module_doc(&w, &key))
            }
        }
        ("GET", ["api", "v2", "organizations", ORG, "registry-modules", "private", ORG, name, provider]) => {
            let key = format!("{name}/{provider}");
            if w.modules.contains_key(&key) {
                jsonapi(StatusCode::OK, stub.module_doc(&w, &key))
            } else {
                not_found()
            }
        }
        ("POST", ["api", "v2", "organizations", ORG, "registry-modules", "private", ORG, name, provider, "versions"]) => {
            let key = format!("{name}/{provider}");
            let version = attrs(&body)["version"].as_str().unwrap_or_default().to_string();
            match w.modules.get_mut(&key) {
                None => not_found(),
                Some(vs) if vs.contains_key(&version) => jsonapi(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"errors": [{"status": "422", "title": "invalid attribute", "detail": "Version has already been taken"}]}),
                ),
                Some(vs) => {
                    vs.insert(version.clone(), ModVersion::default());
                    jsonapi(StatusCode::CREATED, stub.version_doc(&w, &key, &version))
                }
            }
        }
        ("GET", ["api", "v2", "organizations", ORG, "registry-modules", "private", ORG, name, provider, "version"]) => {
            let key = format!("{name}/{provider}");
            let version = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("module_version="))
                .unwrap_or_default()
                .to_string();
            if w.modules.get(&key).is_some_and(|vs| vs.contains_key(&version)) {
                jsonapi(StatusCode::OK, stub.version_doc(&w, &key, &version))
            } else {
                not_found()
            }
        }
        ("PATCH", ["api", "v2", "organizations", ORG, "registry-modules", "private", ORG, name, provider, version]) => {
            let key = format!("{name}/{provider}");
            let a = attrs(&body);
            let Some(v) = w.modules.get_mut(&key).and_then(|vs| vs.get_mut(*version)) else {
                return not_found();
            };
            let dep = &a["deprecation"];
            let rev = &a["revocation"];
            let doc = match (dep["deprecated-status"].as_str(), rev["status"].as_str()) {
                (Some("Deprecated"), _) => {
                    let (r, l) = (
                        dep["reason"].as_str().unwrap_or_default().to_string(),
                        dep["link"].as_str().unwrap_or_default().to_string(),
                    );
                    v.deprecated = Some((r.clone(), l.clone()));
                    let mut d = stub.docs.deprecated.clone();
                    set(&mut d, "/included/0/attributes/reason", json!(r));
                    set(&mut d, "/included/0/attributes/link", json!(l));
                    d
                }
                (Some("Undeprecated"), _) => {
                    v.deprecated = None;
                    stub.docs.undeprecated.clone()
                }
                (_, Some("Revoked")) => {
                    v.revoked = Some(true);
                    let mut d = stub.version_doc(&w, &key, version);
                    set(&mut d, "/data/attributes/revocation/message", rev["message"].clone());
                    set(&mut d, "/data/attributes/revocation/link", rev["link"].clone());
                    d
                }
                (_, Some("Unrevoked")) => {
                    v.revoked = Some(false);
                    stub.version_doc(&w, &key, version)
                }
                _ => {
                    return jsonapi(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        json!({"errors": [{"status": "422", "title": "invalid attribute"}]}),
                    )
                }
            };
            jsonapi(StatusCode::OK, doc)
        }
        ("PUT", ["archivist", "module", name, provider, version]) => {
            let key = format!("{name}/{provider}");
            let blob = format!("module/{key}/{version}");
            w.blobs.insert(blob, body.to_vec());
            if let Some(v) = w.modules.get_mut(&key).and_then(|vs| vs.get_mut(*version)) {
                v.uploaded = true;
            }
            StatusCode::OK.into_response()
        }
        ("GET", ["api", "registry", "v1", "modules", ORG, name, provider, "versions"]) => {
            let key = format!("{name}/{provider}");
            if w.modules.contains_key(&key) {
                let d = stub.protocol_versions(&w, &key);
                (StatusCode::OK, [("content-type", "application/json")], d.to_string()).into_response()
            } else {
                not_found()
            }
        }
        ("GET", ["api", "registry", "v1", "modules", ORG, name, provider, version, "download"]) => {
            let blob = format!("module/{name}/{provider}/{version}");
            if w.blobs.contains_key(&blob) {
                (
                    StatusCode::NO_CONTENT,
                    [("x-terraform-get", format!("{}/blobs/{blob}", w.base))],
                )
                    .into_response()
            } else {
                not_found()
            }
        }
        ("GET", ["blobs", rest @ ..]) => match w.blobs.get(&rest.join("/")) {
            Some(b) => (StatusCode::OK, b.clone()).into_response(),
            None => not_found(),
        },
        // --- providers
        ("GET", ["api", "v2", "organizations", ORG, "registry-providers", "private", ORG, name]) => {
            if w.providers.contains_key(*name) {
                jsonapi(StatusCode::OK, stub.provider_doc(&w, name))
            } else {
                not_found()
            }
        }
        ("POST", ["api", "v2", "organizations", ORG, "registry-providers"]) => {
            let name = attrs(&body)["name"].as_str().unwrap_or_default().to_string();
            w.providers.entry(name.clone()).or_default();
            jsonapi(StatusCode::CREATED, stub.provider_doc(&w, &name))
        }
        ("GET", ["api", "v2", "organizations", ORG, "registry-providers", "private", ORG, name, "versions"]) => {
            match w.providers.get(*name) {
                None => not_found(),
                Some(vs) => {
                    let items = vs.keys().map(|v| stub.provider_version(&w, name, v)).collect();
                    jsonapi(StatusCode::OK, list_doc(&stub.docs.provider_versions, items))
                }
            }
        }
        ("POST", ["api", "v2", "organizations", ORG, "registry-providers", "private", ORG, name, "versions"]) => {
            let a = attrs(&body);
            let version = a["version"].as_str().unwrap_or_default().to_string();
            let Some(vs) = w.providers.get_mut(*name) else {
                return not_found();
            };
            vs.insert(
                version.clone(),
                ProvVersion {
                    key_id: a["key-id"].as_str().unwrap_or_default().to_string(),
                    protocols: a["protocols"].clone(),
                    ..ProvVersion::default()
                },
            );
            jsonapi(StatusCode::CREATED, json!({"data": stub.provider_version(&w, name, &version)}))
        }
        ("GET", ["api", "v2", "organizations", ORG, "registry-providers", "private", ORG, name, "versions", version]) => {
            if w.providers.get(*name).is_some_and(|vs| vs.contains_key(*version)) {
                jsonapi(StatusCode::OK, json!({"data": stub.provider_version(&w, name, version)}))
            } else {
                not_found()
            }
        }
        ("PUT", ["archivist", "provider", name, version, file]) => {
            w.blobs.insert(format!("{name}/{version}/{file}"), body.to_vec());
            if let Some(v) = w.providers.get_mut(*name).and_then(|vs| vs.get_mut(*version)) {
                match *file {
                    "SHA256SUMS" => v.sums = true,
                    _ => v.sig = true,
                }
            }
            StatusCode::OK.into_response()
        }
        ("GET", ["api", "v2", "organizations", ORG, "registry-providers", "private", ORG, name, "versions", version, "platforms"]) => {
            match w.providers.get(*name).and_then(|vs| vs.get(*version)) {
                None => not_found(),
                Some(v) => {
                    let items = v
                        .platforms
                        .keys()
                        .map(|(os, arch)| stub.platform(&w, name, version, os, arch))
                        .collect();
                    jsonapi(StatusCode::OK, list_doc(&stub.docs.platforms, items))
                }
            }
        }
        ("POST", ["api", "v2", "organizations", ORG, "registry-providers", "private", ORG, name, "versions", version, "platforms"]) => {
            let a = attrs(&body);
            let (os, arch) = (
                a["os"].as_str().unwrap_or_default().to_string(),
                a["arch"].as_str().unwrap_or_default().to_string(),
            );
            let Some(v) = w.providers.get_mut(*name).and_then(|vs| vs.get_mut(*version)) else {
                return not_found();
            };
            v.platforms.insert(
                (os.clone(), arch.clone()),
                (
                    a["filename"].as_str().unwrap_or_default().to_string(),
                    a["shasum"].as_str().unwrap_or_default().to_string(),
                    false,
                ),
            );
            jsonapi(StatusCode::CREATED, json!({"data": stub.platform(&w, name, version, &os, &arch)}))
        }
        ("GET", ["api", "v2", "organizations", ORG, "registry-providers", "private", ORG, name, "versions", version, "platforms", os, arch]) => {
            let exists = w
                .providers
                .get(*name)
                .and_then(|vs| vs.get(*version))
                .is_some_and(|v| v.platforms.contains_key(&(os.to_string(), arch.to_string())));
            if exists {
                jsonapi(StatusCode::OK, json!({"data": stub.platform(&w, name, version, os, arch)}))
            } else {
                not_found()
            }
        }
        ("PUT", ["archivist", "platform", name, version, os, arch]) => {
            let p = w
                .providers
                .get_mut(*name)
                .and_then(|vs| vs.get_mut(*version))
                .and_then(|v| v.platforms.get_mut(&(os.to_string(), arch.to_string())));
            match p {
                Some(p) => {
                    p.2 = true;
                    let f = p.0.clone();
                    w.blobs.insert(format!("{name}/{version}/{f}"), body.to_vec());
                    StatusCode::OK.into_response()
                }
                None => not_found(),
            }
        }
        // The providers.v1 download document: no reference page has a sample; its
        // fields are the ones wire-facts.md lists (observed with Terraform).
        ("GET", ["api", "registry", "v1", "providers", ORG, name, version, "download", os, arch]) => {
            let found = w
                .providers
                .get(*name)
                .and_then(|vs| vs.get(*version))
                .filter(|v| v.sums && v.sig)
                .and_then(|v| v.platforms.get(&(os.to_string(), arch.to_string())).map(|p| (v, p)))
                .filter(|(_, p)| p.2);
            match found {
                None => not_found(),
                Some((v, (filename, shasum, _))) => {
                    let blob = |f: &str| format!("{}/blobs/{name}/{version}/{f}", w.base);
                    let keys: Vec<Value> = w
                        .keys
                        .iter()
                        .filter(|(id, _)| *id == v.key_id)
                        .map(|(id, armor)| json!({"key_id": id, "ascii_armor": armor, "trust_signature": "", "source": "", "source_url": null}))
                        .collect();
                    let d = json!({
                        "protocols": v.protocols, "os": os, "arch": arch, "filename": filename,
                        "download_url": blob(filename),
                        "shasums_url": blob("SHA256SUMS"),
                        "shasums_signature_url": blob("SHA256SUMS.sig"),
                        "shasum": shasum,
                        "signing_keys": {"gpg_public_keys": keys},
                    });
                    (StatusCode::OK, [("content-type", "application/json")], d.to_string()).into_response()
                }
            }
        }
        // --- GPG keys
        ("GET", ["api", "registry", "private", "v2", "gpg-keys"]) => {
            let template = stub.docs.keys["data"][0].clone();
            let items = w
                .keys
                .iter()
                .enumerate()
                .map(|(i, (id, armor))| stub.key(&template, i + 1, id, armor))
                .collect();
            jsonapi(StatusCode::OK, list_doc(&stub.docs.keys, items))
        }
        ("POST", ["api", "registry", "private", "v2", "gpg-keys"]) => {
            let armor = attrs(&body)["ascii-armor"].as_str().unwrap_or_default().to_string();
            let key_id = crate::support::RSA_KEY_ID.to_string();
            w.keys.push((key_id.clone(), armor.clone()));
            let n = w.keys.len();
            let d = stub.key(&stub.docs.key_added["data"], n, &key_id, &armor);
            jsonapi(StatusCode::CREATED, json!({"data": d}))
        }
        _ => {
            w.unexpected.push(format!("{m} {path}?{query}"));
            not_found()
        }
    };
    resp
}

async fn start_stub() -> (Shared, String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stub = Arc::new(Stub {
        docs: Docs::load(),
        world: Mutex::new(World {
            base: base.clone(),
            ..World::default()
        }),
    });
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(stub.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (stub, base, task)
}

fn tfpub(base: &str, home: &std::path::Path) -> std::process::Command {
    let mut c = clean_tfpub(home);
    c.env("TFE_HOSTNAME", base)
        .env("TFE_ORGANIZATION", ORG)
        .env("TFE_TOKEN", TOKEN);
    c
}

fn items(d: &Value) -> Vec<(String, String)> {
    d["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["version"].as_str().unwrap_or_default().to_string(),
                i["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_flows_against_the_documented_samples() {
    let (stub, base, task) = start_stub().await;
    let home = tempfile::tempdir().unwrap();
    let (_keep, dir) = module_copy();

    // module publish, then the same again: recognised as already published.
    let mut c = tfpub(&base, home.path());
    c.module_publish(&dir, "1.0.0");
    let d = ok_json(&run(c).await);
    assert_eq!(d["outcome"], "published", "{d}");
    let mut c = tfpub(&base, home.path());
    c.module_publish(&dir, "1.0.0");
    let d = ok_json(&run(c).await);
    assert_ne!(
        d["outcome"], "published",
        "a re-run must not publish again: {d}"
    );

    // module versions
    let mut c = tfpub(&base, home.path());
    c.args(["module", "versions", "greeting/null", "--json"]);
    let d = ok_json(&run(c).await);
    assert_eq!(
        items(&d),
        vec![("1.0.0".to_string(), "status ok".to_string())],
        "{d}"
    );

    // module deprecate: the PATCH answers the documented `module-versions` document, and
    // `module versions` reads the deprecation where the docs put it (the protocol's
    // versions listing), not from the api/v2 version resource, which has no such field.
    let mut c = tfpub(&base, home.path());
    c.args([
        "module",
        "deprecate",
        "greeting/null",
        "1.0.0",
        "--reason",
        "old",
        "--json",
    ]);
    let d = ok_json(&run(c).await);
    assert_eq!(d["outcome"], "updated", "{d}");
    assert_eq!(
        stub.world.lock().unwrap().modules["greeting/null"]["1.0.0"].deprecated,
        Some(("old".to_string(), String::new()))
    );
    let versions = || {
        let mut c = tfpub(&base, home.path());
        c.args(["module", "versions", "greeting/null", "--json"]);
        c
    };
    let d = ok_json(&run(versions()).await);
    assert_eq!(
        items(&d),
        vec![("1.0.0".to_string(), "status ok, deprecated".to_string())],
        "{d}"
    );

    // module revoke: the documented version resource carries `revocation`.
    let mut c = tfpub(&base, home.path());
    c.args([
        "module",
        "revoke",
        "greeting/null",
        "1.0.0",
        "--reason",
        "bad",
        "--json",
    ]);
    let d = ok_json(&run(c).await);
    assert_eq!(d["outcome"], "updated", "{d}");
    let d = ok_json(&run(versions()).await);
    assert_eq!(
        items(&d),
        vec![("1.0.0".to_string(), "status ok, revoked".to_string())],
        "{d}"
    );

    // module unrevoke: the version goes back to deprecated (manage-module-versions.md,
    // "Revert the revocation status"), not to plain ok.
    let mut c = tfpub(&base, home.path());
    c.args(["module", "unrevoke", "greeting/null", "1.0.0", "--json"]);
    let d = ok_json(&run(c).await);
    assert_eq!(d["outcome"], "updated", "{d}");
    let d = ok_json(&run(versions()).await);
    assert_eq!(
        items(&d),
        vec![("1.0.0".to_string(), "status ok, deprecated".to_string())],
        "{d}"
    );

    // provider publish
    let bins = tempfile::tempdir().unwrap();
    let f = bins.path().join("terraform-provider-greet");
    std::fs::write(&f, "#!/bin/sh\n").unwrap();
    crate::support::fs::set_mode(&f, 0o755);
    let mut c = tfpub(&base, home.path());
    c.provider_publish("greet", "1.0.0", &[format!("linux_amd64={}", f.display())]);
    let d = ok_json(&run(c).await);
    assert_eq!(d["outcome"], "published", "{d}");
    {
        let w = stub.world.lock().unwrap();
        let v = &w.providers["greet"]["1.0.0"];
        assert!(v.sums && v.sig, "SHA256SUMS and its signature uploaded");
        assert!(v.platforms.values().all(|p| p.2), "every zip uploaded");
        assert_eq!(v.key_id, crate::support::RSA_KEY_ID);
    }

    // gpg-key list
    let mut c = tfpub(&base, home.path());
    c.args(["gpg-key", "list", "--json"]);
    let d = ok_json(&run(c).await);
    assert!(d.to_string().contains(crate::support::RSA_KEY_ID), "{d}");

    let w = stub.world.lock().unwrap();
    assert!(
        w.unexpected.is_empty(),
        "the client called endpoints the stub has no documented answer for:\n{}",
        w.unexpected.join("\n")
    );
    assert!(
        w.leaked_auth.is_empty(),
        "token sent to upload/download URLs: {:?}",
        w.leaked_auth
    );
    drop(w);
    task.abort();
}

/// The entries of a `.tar.gz` (path, type, mode, link target, bytes), directories included.
type TarItem = (String, tar::EntryType, u32, Option<String>, Vec<u8>);

fn tar_items(gz: &[u8]) -> Vec<TarItem> {
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(gz));
    ar.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let h = e.header().clone();
            let target = e
                .link_name()
                .unwrap()
                .map(|t| t.to_string_lossy().into_owned());
            let mut body = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut body).unwrap();
            (path, h.entry_type(), h.mode().unwrap(), target, body)
        })
        .collect()
}

/// Re-pack as another packer would: entries in reverse order, `./` prefixes, a real
/// mtime, an owner, ustar headers, another compression level. `edit` may change items.
fn repack(gz: &[u8], edit: impl Fn(&mut Vec<TarItem>)) -> Vec<u8> {
    let mut items = tar_items(gz);
    items.reverse();
    edit(&mut items);
    let enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let mut b = tar::Builder::new(enc);
    for (path, kind, mode, target, body) in &items {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(*kind);
        h.set_mode(*mode);
        h.set_mtime(1_700_000_000);
        h.set_uid(1000);
        h.set_gid(1000);
        h.set_size(body.len() as u64);
        let path = format!("./{path}");
        match target {
            Some(t) => b.append_link(&mut h, &path, t).unwrap(),
            None => b.append_data(&mut h, &path, &body[..]).unwrap(),
        }
    }
    b.into_inner().unwrap().finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repacked_archive_counts_as_ours_and_a_changed_one_is_named() {
    let (stub, base, task) = start_stub().await;
    let home = tempfile::tempdir().unwrap();
    let (_keep, dir) = module_copy();
    let publish = || {
        let mut c = tfpub(&base, home.path());
        c.module_publish(&dir, "1.0.0");
        c
    };
    let d = ok_json(&run(publish()).await);
    assert_eq!(d["outcome"], "published", "{d}");

    // The registry serves the same files re-packed: the re-run recognises them.
    let blob = "module/greeting/null/1.0.0".to_string();
    let ours = stub.world.lock().unwrap().blobs[&blob].clone();
    let same = repack(&ours, |_| {});
    assert_ne!(same, ours);
    assert_ne!(tar_items(&same), tar_items(&ours));
    stub.world.lock().unwrap().blobs.insert(blob.clone(), same);
    let d = ok_json(&run(publish()).await);
    assert_ne!(d["outcome"], "published", "{d}");
    assert!(
        d.to_string().contains("already published"),
        "recognised as already published: {d}"
    );

    // One file's bytes differ and one lost its place: the refusal names both.
    let changed = repack(&ours, |items| {
        for it in items.iter_mut() {
            if it.0 == "main.tf" {
                it.4.extend_from_slice(b"# changed\n");
            }
        }
        items.retain(|it| it.0 != "outputs.tf");
    });
    stub.world.lock().unwrap().blobs.insert(blob, changed);
    let r = run(publish()).await;
    assert_ne!(r.code, 0, "{}", r.stdout);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("content-conflict"), "{all}");
    assert!(
        all.contains("only in the local archive: outputs.tf"),
        "{all}"
    );
    assert!(all.contains("content differs: main.tf"), "{all}");

    let w = stub.world.lock().unwrap();
    assert!(w.unexpected.is_empty(), "{:?}", w.unexpected);
    assert!(w.leaked_auth.is_empty(), "{:?}", w.leaked_auth);
    drop(w);
    task.abort();
}
