//! Field by field: every attribute the embedded registry emits for modules, module
//! versions, providers, provider versions, platforms and GPG keys must appear in the
//! documentation's own sample response for that resource type (parsed at test time from
//! the reference pages under `../shared/reference/hcp-terraform-api/`) or be listed,
//! with its evidence, in testdata/hcp-fidelity/allowlist.yaml. A field the registry
//! invents fails here before a client comes to depend on it.
//!
//! Also owns the reading of those pages ([`samples`]), which the replay stub
//! (`replay.rs`) serves from.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::{json, Value};

use crate::support::registry::Api;
use crate::support::PublishArgs;
use crate::support::{module_copy, ok_json, repo_root, run, TestRegistry};
use crate::support::{ORG, TEST_TOKEN};

/// The folder of HashiCorp's API reference pages, `../shared/reference/hcp-terraform-api`
/// beside the repository (CI clones the repository with `shared/` next to it; a git
/// worktree one level deeper finds it further up). Missing pages fail the test loudly:
/// a conformance test that passes without its evidence proves nothing.
pub(crate) fn reference_dir() -> PathBuf {
    let root = repo_root();
    let found = root
        .ancestors()
        .skip(1)
        .map(|a| a.join("shared/reference/hcp-terraform-api"))
        .find(|d| d.join("modules.md").is_file());
    found.unwrap_or_else(|| {
        panic!(
            "the API reference pages are missing: expected {} (clone the repository with \
             shared/ beside it)",
            root.join("../shared/reference/hcp-terraform-api").display()
        )
    })
}

/// One sample from a reference page: the endpoint section (`## ...` title up to its
/// first backtick-quoted path, trimmed), the `### ...` heading and the parsed JSON.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub page: String,
    pub section: String,
    pub heading: String,
    pub json: Value,
}

/// The pages' JSON code blocks written as "Sample Response"/"response", parsed leniently
/// (the pages elide with `...` and `// ... //` and leave trailing commas).
pub(crate) fn samples(page: &str) -> Vec<Sample> {
    let text = std::fs::read_to_string(reference_dir().join(page)).unwrap();
    let mut out = Vec::new();
    let (mut section, mut heading) = (String::new(), String::new());
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some(s) = line.strip_prefix("## ") {
            section = s.chars().take(160).collect();
            heading.clear();
        } else if let Some(h) = line.strip_prefix("### ") {
            heading = h.to_string();
        } else if line.trim() == "```json" {
            let mut block = String::new();
            for l in lines.by_ref() {
                if l.trim() == "```" {
                    break;
                }
                block.push_str(l);
                block.push('\n');
            }
            if !heading.to_lowercase().contains("response") && !section.contains("Fetch") {
                continue;
            }
            let json = parse_lenient(&block).unwrap_or_else(|e| {
                panic!("{page}: sample under {heading:?} does not parse ({e}):\n{block}")
            });
            out.push(Sample {
                page: page.to_string(),
                section: section.clone(),
                heading: heading.clone(),
                json,
            });
        }
    }
    assert!(!out.is_empty(), "{page}: no sample responses found");
    out
}

/// JSON with the documentation's elisions removed: `...` outside strings, `// ... //`
/// comments, and the trailing commas they leave.
pub(crate) fn parse_lenient(s: &str) -> Result<Value, serde_json::Error> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let (mut i, mut in_str) = (0, false);
    while i < chars.len() {
        let c = chars[i];
        if in_str {
            out.push(c);
            if c == '\\' && i + 1 < chars.len() {
                out.push(chars[i + 1]);
                i += 1;
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
            out.push(c);
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            // `// ... //` (or a comment to the end of the line).
            let rest: String = chars[i + 2..].iter().collect();
            let skip = match (rest.find("//"), rest.find('\n')) {
                (Some(a), Some(b)) if a < b => a + 2,
                (Some(a), None) => a + 2,
                (_, Some(b)) => b,
                (None, None) => rest.len(),
            };
            i += 2 + rest[..skip].chars().count();
            // the comment may stand between two members: keep them apart
            out.push(',');
            continue;
        } else if c == '.' && chars.get(i + 1) == Some(&'.') && chars.get(i + 2) == Some(&'.') {
            i += 3;
            // an elided element: drop the comma that follows it
            while chars.get(i).is_some_and(|c| c.is_whitespace()) {
                i += 1;
            }
            if chars.get(i) == Some(&',') {
                i += 1;
            }
            continue;
        } else {
            out.push(c);
        }
        i += 1;
    }
    // Trailing commas before a closing bracket (outside strings: the pages' strings hold
    // no ",}" or ",]").
    let mut cleaned = String::with_capacity(out.len());
    let oc: Vec<char> = out.chars().collect();
    let mut in_str = false;
    let mut open = Vec::new();
    for (k, &c) in oc.iter().enumerate() {
        if in_str {
            if c == '"' && oc[k - 1] != '\\' {
                in_str = false;
            }
            cleaned.push(c);
            continue;
        } else if c == '"' {
            in_str = true;
        } else if c == ',' {
            let next = oc[k + 1..].iter().find(|c| !c.is_whitespace());
            let prev = cleaned.chars().rev().find(|c| !c.is_whitespace());
            if matches!(next, Some('}') | Some(']') | Some(',') | None)
                || matches!(prev, Some('{') | Some('[') | Some(',') | None)
            {
                continue;
            }
        }
        if !in_str {
            match c {
                '{' => open.push('}'),
                '[' => open.push(']'),
                '}' | ']' => {
                    open.pop();
                }
                _ => {}
            }
        }
        cleaned.push(c);
    }
    // A sample cut short (manage-module-versions.md's revoked-versions one) gets its
    // closing brackets back.
    while let Some(c) = open.pop() {
        cleaned.push(c);
    }
    serde_json::from_str(&cleaned)
}

/// Every JSON:API resource object (an object with `type` and `id`) in a document:
/// `data` (one or many) and `included`.
pub(crate) fn resources(doc: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for key in ["data", "included"] {
        match doc.get(key) {
            Some(Value::Array(items)) => out.extend(items.iter().filter(|i| i.is_object())),
            Some(v @ Value::Object(_)) => out.push(v),
            _ => {}
        }
    }
    out
}

/// The field paths of a resource object below `attributes`, `relationships` and
/// `links` (`attributes.permissions.can-delete`, `attributes.version-statuses[].status`).
fn paths(prefix: &str, v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{prefix}.{k}");
                out.insert(p.clone());
                // Relationship data items are references ({id,type}): not attributes.
                if !(prefix.starts_with("relationships") && k == "data") {
                    paths(&p, x, out);
                }
            }
        }
        Value::Array(items) => {
            for x in items {
                paths(&format!("{prefix}[]"), x, out);
            }
        }
        _ => {}
    }
}

/// The JSON kind of each field path (`string`, `number`, `bool`, `null`, `array`,
/// `object`), to compare types as well as names.
fn kinds(prefix: &str, v: &Value, out: &mut BTreeMap<String, BTreeSet<&'static str>>) {
    if let Value::Object(m) = v {
        for (k, x) in m {
            let p = format!("{prefix}.{k}");
            let kind = match x {
                Value::Null => "null",
                Value::Bool(_) => "bool",
                Value::Number(_) => "number",
                Value::String(_) => "string",
                Value::Array(_) => "array",
                Value::Object(_) => "object",
            };
            out.entry(p.clone()).or_default().insert(kind);
            if !(prefix.starts_with("relationships") && k == "data") {
                kinds(&p, x, out);
                if let Value::Array(items) = x {
                    for i in items {
                        kinds(&format!("{p}[]"), i, out);
                    }
                }
            }
        }
    }
}

pub(crate) fn resource_kinds(r: &Value, out: &mut BTreeMap<String, BTreeSet<&'static str>>) {
    let ty = r["type"].as_str().unwrap_or_default();
    for key in ["attributes", "relationships", "links"] {
        if let Some(v) = r.get(key) {
            kinds(&format!("{ty} {key}"), v, out);
        }
    }
}

pub(crate) fn resource_paths(r: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for key in ["attributes", "relationships", "links"] {
        if let Some(v) = r.get(key) {
            paths(key, v, &mut out);
        }
    }
    out
}

/// "type path" -> the JSON kinds the documented samples show there.
fn documented_kinds() -> BTreeMap<String, BTreeSet<&'static str>> {
    let mut out = BTreeMap::new();
    for page in DOC_PAGES {
        for s in samples(page) {
            for r in resources(&s.json) {
                resource_kinds(r, &mut out);
            }
        }
    }
    out
}

const DOC_PAGES: [&str; 5] = [
    "modules.md",
    "manage-module-versions.md",
    "providers.md",
    "provider-versions-platforms.md",
    "gpg-keys.md",
];

/// type -> every field path the documented samples show for it.
fn documented() -> BTreeMap<String, BTreeSet<String>> {
    let mut by_type: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for page in DOC_PAGES {
        for s in samples(page) {
            for r in resources(&s.json) {
                let ty = r["type"].as_str().unwrap_or_default().to_string();
                by_type.entry(ty).or_default().extend(resource_paths(r));
            }
        }
    }
    by_type
}

/// The allow-list: type -> path -> evidence.
fn allowlist() -> BTreeMap<String, BTreeMap<String, String>> {
    let p = repo_root().join("testdata/hcp-fidelity/allowlist.yaml");
    let doc: Value = serde_yaml::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for e in doc["allow"].as_array().expect("allow: a list") {
        let (ty, path, ev) = (
            e["type"].as_str().unwrap(),
            e["path"].as_str().unwrap(),
            e["evidence"].as_str().unwrap_or_default(),
        );
        assert!(
            ev.len() > 20,
            "allow-list entry {ty} {path} has no real evidence"
        );
        out.entry(ty.into())
            .or_default()
            .insert(path.into(), ev.into());
    }
    out
}

#[test]
fn the_reference_samples_parse() {
    let docs = documented();
    for ty in [
        "registry-modules",
        "registry-module-versions",
        "registry-providers",
        "registry-provider-versions",
        "registry-provider-platforms",
        "gpg-keys",
    ] {
        assert!(
            docs.contains_key(ty),
            "no documented sample of {ty}: {docs:?}"
        );
    }
    assert!(docs["registry-modules"].contains("attributes.permissions.can-retry"));
    assert!(docs["gpg-keys"].contains("attributes.source-url"));
    // The replay stub picks samples by page, endpoint section and heading.
    let mods = samples("modules.md");
    assert!(mods.iter().all(|s| s.page == "modules.md"));
    assert!(mods.iter().any(
        |s| s.section.starts_with("Create a Module Version") && s.heading == "Sample Response"
    ));
    assert!(mods
        .iter()
        .any(|s| s.heading == "Sample Response (private module)"
            && s.section.starts_with("Get a Module")));
    assert_eq!(
        parse_lenient(
            r#"{"a": [1, ..., ], "b": "x...y", // ... //
        "c": null,}"#
        )
        .unwrap(),
        json!({"a": [1], "b": "x...y", "c": null})
    );
}

/// Everything the registry can say about each resource type, gathered from a registry
/// holding a published module (one version deprecated, one pending), a published
/// provider and its key.
type Emitted = (
    BTreeMap<String, BTreeSet<String>>,
    BTreeMap<String, BTreeSet<&'static str>>,
);

async fn emitted(t: &TestRegistry) -> Emitted {
    let (_keep, dir) = module_copy();
    let mut c = t.tfpub_http();
    c.module_publish(&dir, "1.0.0");
    ok_json(&run(c).await);
    let bins = tempfile::tempdir().unwrap();
    let f = bins.path().join("terraform-provider-greet");
    std::fs::write(&f, "#!/bin/sh\n").unwrap();
    crate::support::fs::set_mode(&f, 0o755);
    let mut c = t.tfpub_http();
    c.provider_publish("greet", "1.0.0", &[format!("linux_amd64={}", f.display())]);
    ok_json(&run(c).await);

    let api = Api::new(&t.reg, TEST_TOKEN);
    let o = format!("/api/v2/organizations/{ORG}");
    let m = format!("{o}/registry-modules/private/{ORG}/greeting/null");
    // The PATCH answers are resources too (manage-module-versions.md samples).
    let mut answers = Vec::new();
    for body in [
        json!({"deprecation": {"deprecated-status": "Deprecated", "reason": "r", "link": "https://example.test"}}),
        json!({"revocation": {"status": "Revoked", "message": "m", "link": "https://example.test"}}),
    ] {
        let (s, doc) = api.patch(&format!("{m}/1.0.0"), body).await;
        assert_eq!(s, 200, "{doc}");
        answers.push(doc);
    }
    let pending = api.create_module_version("greeting", "1.1.0").await;
    assert!(!pending.is_empty());
    // Module settings (issue 19): test config, a no-code module, a VCS-linked module
    // (monorepo folder and tag prefix) and a curated public module.
    let (s, doc) = api
        .patch(&m, json!({"test-config": {"tests-enabled": true, "agent-execution-mode": "agent", "agent-pool-id": "apool-1"}}))
        .await;
    assert_eq!(s, 200, "{doc}");
    let module_id = doc["data"]["id"].as_str().unwrap().to_string();
    let nc = json!({"data": {"type": "no-code-modules", "attributes": {"enabled": true},
        "relationships": {"registry-module": {"data": {"id": module_id, "type": "registry-modules"}}}}});
    let (s, doc) = api
        .send(
            reqwest::Method::POST,
            &format!("{o}/no-code-modules"),
            Some(nc),
        )
        .await;
    assert_eq!(s, 201, "{doc}");
    let vcs = json!({"vcs-repo": {"identifier": "acme-gh/infra", "oauth-token-id": "ot-1",
        "display_identifier": "acme-gh/infra", "tags": true, "source-directory": "modules/vpc",
        "tag-prefix": "vpc/"}, "name": "vpc", "provider": "aws"});
    let (s, doc) = api.post(&format!("{o}/registry-modules/vcs"), vcs).await;
    assert_eq!(s, 201, "{doc}");
    answers.push(doc);
    let public = json!({"name": "vpc", "namespace": "terraform-aws-modules", "provider": "aws", "registry-name": "public"});
    let (s, doc) = api.post(&format!("{o}/registry-modules"), public).await;
    assert_eq!(s, 201, "{doc}");
    answers.push(doc);
    let (s, _) = api
        .post(
            &format!("{o}/registry-providers/private/{ORG}/greet/versions"),
            json!({"version": "2.0.0", "key-id": crate::support::RSA_KEY_ID, "protocols": ["6.0"]}),
        )
        .await;
    assert_eq!(s, 201);
    let p = format!("{o}/registry-providers/private/{ORG}/greet");
    let (s, _) = api
        .post(
            &format!("{p}/versions/2.0.0/platforms"),
            json!({"os": "linux", "arch": "arm64", "shasum": "a".repeat(64), "filename": "terraform-provider-greet_2.0.0_linux_arm64.zip"}),
        )
        .await;
    assert_eq!(s, 201);

    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut kinds_out = BTreeMap::new();
    for path in [
        format!("{o}/registry-modules"),
        m.clone(),
        format!("{m}/version?module_version=1.0.0"),
        format!("{m}/version?module_version=1.1.0"),
        format!("{o}/registry-providers"),
        p.clone(),
        format!("{p}/versions"),
        format!("{p}/versions/1.0.0"),
        format!("{p}/versions/2.0.0"),
        format!("{p}/versions/1.0.0/platforms"),
        format!("{p}/versions/1.0.0/platforms/linux/amd64"),
        format!("{p}/versions/2.0.0/platforms/linux/arm64"),
        format!("/api/registry/private/v2/gpg-keys?filter%5Bnamespace%5D={ORG}"),
        format!(
            "/api/registry/private/v2/gpg-keys/{ORG}/{}",
            crate::support::RSA_KEY_ID
        ),
        format!("/api/v2/registry-modules/show/{ORG}/greeting/null"),
    ] {
        let (s, doc) = api.get(&path).await;
        assert_eq!(s, 200, "{path}: {doc}");
        answers.push(doc);
    }
    for doc in &answers {
        for r in resources(doc) {
            let ty = r["type"].as_str().unwrap().to_string();
            out.entry(ty).or_default().extend(resource_paths(r));
            resource_kinds(r, &mut kinds_out);
        }
    }
    (out, kinds_out)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_emitted_attribute_is_documented_or_allow_listed() {
    let docs = documented();
    let allow = allowlist();
    let t = TestRegistry::start().await;
    let (got, got_kinds) = emitted(&t).await;
    t.stop().await;

    // Types: a documented field must carry a kind the samples show it with. `null` is
    // accepted anywhere: the samples never show an absent value, and the registry
    // writes null there (docs/hcp-fidelity.md, "Silent").
    let doc_kinds = documented_kinds();
    let mut mistyped = Vec::new();
    for (path, ks) in &got_kinds {
        let Some(want) = doc_kinds.get(path) else {
            continue;
        };
        for k in ks {
            if *k != "null" && !want.contains(k) {
                mistyped.push(format!("{path}: emitted {k}, documented {want:?}"));
            }
        }
    }
    assert!(
        mistyped.is_empty(),
        "fields emitted with a type the documentation does not show:\n  {}",
        mistyped.join("\n  ")
    );

    let mut undocumented = Vec::new();
    let mut used = BTreeSet::new();
    for (ty, fields) in &got {
        let known = docs.get(ty).cloned().unwrap_or_default();
        for f in fields {
            if known.contains(f) {
                continue;
            }
            if allow.get(ty).is_some_and(|a| a.contains_key(f)) {
                used.insert((ty.clone(), f.clone()));
                continue;
            }
            undocumented.push(format!("{ty} {f}"));
        }
    }
    assert!(
        undocumented.is_empty(),
        "the registry emits fields no documented sample shows and the allow-list does not \
         justify:\n  {}",
        undocumented.join("\n  ")
    );
    // An allow-list entry the registry no longer needs is stale evidence: remove it.
    let stale: Vec<String> = allow
        .iter()
        .flat_map(|(ty, a)| a.keys().map(move |f| (ty.clone(), f.clone())))
        .filter(|e| !used.contains(e))
        .map(|(ty, f)| format!("{ty} {f}"))
        .collect();
    assert!(
        stale.is_empty(),
        "stale allow-list entries:\n  {}",
        stale.join("\n  ")
    );
    for ty in [
        "registry-modules",
        "registry-module-versions",
        "registry-providers",
        "registry-provider-versions",
        "registry-provider-platforms",
        "gpg-keys",
    ] {
        assert!(got.contains_key(ty), "nothing of type {ty} was fetched");
    }
}
