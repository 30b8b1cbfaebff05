//! `tfpub module sync` end to end: real git repositories built with git2 in temporary
//! folders, synced through the CLI against the embedded registry. Checks what got
//! published (versions, order, commit SHAs, archive bytes), what a re-run costs, and that
//! the working tree is never touched.

use std::path::{Path, PathBuf};

use git2::{Oid, Repository};
use serde_json::Value;

use crate::support::fs::write;
use crate::support::git::{commit, tag};
use crate::support::registry::Api;
use crate::support::{run, sha256_hex, TestRegistry, TEST_TOKEN};

fn module_tf(dir: &Path, sub: &str, marker: &str) {
    let pre = if sub.is_empty() {
        String::new()
    } else {
        format!("{sub}/")
    };
    write(
        dir,
        &format!("{pre}main.tf"),
        &format!("output \"marker\" {{\n  value = \"{marker}\"\n}}\n"),
    );
    write(
        dir,
        &format!("{pre}versions.tf"),
        "terraform {\n  required_version = \">= 1.3\"\n}\n",
    );
}

/// A repository folder named like a module, `terraform-null-demo`, inside a tempdir.
fn new_repo(tmp: &Path) -> (PathBuf, Repository) {
    let dir = tmp.join("terraform-null-demo");
    std::fs::create_dir_all(&dir).unwrap();
    let repo = Repository::init(&dir).unwrap();
    (dir, repo)
}

/// GET a module version through the API; `None` on 404.
async fn get_version(reg: &TestRegistry, name: &str, provider: &str, v: &str) -> Option<Value> {
    let api = Api::new(&reg.reg, TEST_TOKEN);
    api.module_version(name, provider, v).await
}

fn commit_sha_of(doc: &Value) -> String {
    doc["data"]["attributes"]["commit-sha"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn status_of(doc: &Value) -> String {
    doc["data"]["attributes"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn blob_exists(reg: &TestRegistry, sha: &str) -> bool {
    reg.data
        .path()
        .join("blobs/sha256")
        .join(&sha[..2])
        .join(sha)
        .exists()
}

/// Versions in the order they appear in `text` (used to check the publish order).
fn order_in(text: &str, versions: &[&str]) -> Vec<usize> {
    versions
        .iter()
        .map(|v| {
            text.find(&format!("\"{v}\""))
                .unwrap_or_else(|| panic!("{v} not in output:\n{text}"))
        })
        .collect()
}

struct Built {
    dir: PathBuf,
    /// (tag name, version it stands for, commit)
    semver: Vec<(String, String, Oid)>,
}

/// 30 tags: 20 semver (bare and `v`, lightweight and annotated, created out of version
/// order), 5 non-semver, 5 with a prefix no module uses.
fn build_30(tmp: &Path) -> Built {
    let (dir, repo) = new_repo(tmp);
    let mut semver = Vec::new();
    // deliberately not in ascending order of creation
    let versions = [
        "1.0.0", "0.1.0", "0.2.0", "0.3.0", "0.10.0", "0.9.0", "1.1.0", "1.2.0", "1.2.1", "1.10.0",
        "1.3.0", "2.0.0", "2.0.1", "2.1.0", "3.0.0", "0.0.1", "1.4.0", "1.5.0", "2.2.0", "2.10.0",
    ];
    for (i, v) in versions.iter().enumerate() {
        module_tf(&dir, "", &format!("release {v}"));
        let c = commit(&repo, &[], &format!("release {v}"));
        let name = if i % 2 == 0 {
            format!("v{v}")
        } else {
            v.to_string()
        };
        tag(&repo, &name, c, i % 3 == 0);
        semver.push((name, v.to_string(), c));
    }
    let head = repo.head().unwrap().peel_to_commit().unwrap().id();
    for (i, t) in ["latest", "release-2", "v1", "v1.2", "stable"]
        .iter()
        .enumerate()
    {
        tag(&repo, t, head, i % 2 == 0);
    }
    for (i, t) in [
        "vpc/v1.0.0",
        "dns/1.0.0",
        "x/v9.9.9",
        "release/v4.0.0",
        "web-v5.0.0",
    ]
    .iter()
    .enumerate()
    {
        tag(&repo, t, head, i % 2 == 1);
    }
    assert_eq!(repo.tag_names(None).unwrap().len(), 30);
    Built { dir, semver }
}

fn sync_cmd(reg: &TestRegistry, dir: &Path) -> std::process::Command {
    let mut c = reg.tfpub_http();
    c.args(["module", "sync"]).arg(dir).current_dir(dir);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_30_tags_publishes_exactly_the_missing_semver_ones() {
    let reg = TestRegistry::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let b = build_30(tmp.path());
    let repo = Repository::open(&b.dir).unwrap();
    let head_before = repo.head().unwrap().target().unwrap();
    let main_before = std::fs::read(b.dir.join("main.tf")).unwrap();

    // Publish a few first: the 3 oldest with a capped sync ...
    let r = run({
        let mut c = sync_cmd(&reg, &b.dir);
        c.args(["--max", "3"]);
        c
    })
    .await;
    assert_eq!(r.code, 0, "capped sync: {r:?}");
    for v in ["0.0.1", "0.1.0", "0.2.0"] {
        assert!(
            get_version(&reg, "demo", "null", v).await.is_some(),
            "{v} published by --max 3"
        );
    }
    assert!(get_version(&reg, "demo", "null", "0.3.0").await.is_none());
    // ... and one in the middle with `module publish --version` (from HEAD's tree).
    let r = run({
        let mut c = reg.tfpub_http();
        c.args(["module", "publish", "--version", "1.5.0"])
            .arg(&b.dir)
            .current_dir(&b.dir);
        c
    })
    .await;
    assert_eq!(r.code, 0, "publish 1.5.0: {r:?}");

    // Dry run: shows the plan, writes nothing.
    reg.reg.stats().reset();
    let r = run({
        let mut c = sync_cmd(&reg, &b.dir);
        c.args(["--dry-run", "--json"]);
        c
    })
    .await;
    assert_eq!(r.code, 0, "dry run: {r:?}");
    assert_eq!(reg.reg.stats().writes(), 0, "dry run wrote");
    let plan = r.stdout.clone();
    for (_, v, _) in &b.semver {
        assert!(plan.contains(v.as_str()), "plan lacks {v}:\n{plan}");
    }
    assert!(get_version(&reg, "demo", "null", "0.3.0").await.is_none());

    // The real sync.
    reg.reg.stats().reset();
    let r = run({
        let mut c = sync_cmd(&reg, &b.dir);
        c.arg("--json");
        c
    })
    .await;
    assert_eq!(r.code, 0, "sync: {r:?}");
    let _ = r.json();
    let missing: Vec<&(String, String, Oid)> = b
        .semver
        .iter()
        .filter(|(_, v, _)| !["0.0.1", "0.1.0", "0.2.0", "1.5.0"].contains(&v.as_str()))
        .collect();
    assert_eq!(missing.len(), 16);
    assert_eq!(
        reg.reg.stats().count("POST", "/versions"),
        16,
        "one version create per missing tag"
    );
    assert_eq!(reg.reg.stats().count("PUT", "/_archivist/upload/"), 16);
    // ascending order in the report
    let mut sorted: Vec<semver::Version> = missing
        .iter()
        .map(|(_, v, _)| semver::Version::parse(v).unwrap())
        .collect();
    sorted.sort();
    let sorted_s: Vec<String> = sorted.iter().map(|v| v.to_string()).collect();
    let refs: Vec<&str> = sorted_s.iter().map(String::as_str).collect();
    let pos = order_in(&r.stdout, &refs);
    assert!(
        pos.windows(2).all(|w| w[0] < w[1]),
        "not ascending in report: {refs:?} at {pos:?}\n{}",
        r.stdout
    );
    for (tag_name, v, commit) in &b.semver {
        let doc = get_version(&reg, "demo", "null", v)
            .await
            .unwrap_or_else(|| panic!("{v} ({tag_name}) missing after sync"));
        assert_eq!(status_of(&doc), "ok", "{v}");
        if v != "1.5.0" {
            assert_eq!(
                commit_sha_of(&doc),
                commit.to_string(),
                "commit of {tag_name}"
            );
        } else {
            assert_eq!(commit_sha_of(&doc), head_before.to_string(), "1.5.0 kept");
        }
    }
    // nothing from the non-semver / prefixed tags
    for v in ["1.0.0-latest", "9.9.9", "4.0.0", "5.0.0"] {
        assert!(get_version(&reg, "demo", "null", v).await.is_none(), "{v}");
    }

    // The working tree is untouched.
    assert_eq!(repo.head().unwrap().target().unwrap(), head_before);
    assert_eq!(std::fs::read(b.dir.join("main.tf")).unwrap(), main_before);
    let st = repo.statuses(None).unwrap();
    assert_eq!(st.len(), 0, "sync left changes in the working tree");

    // Second run: no create, no upload, says so.
    reg.reg.stats().reset();
    let r = run(sync_cmd(&reg, &b.dir)).await;
    assert_eq!(r.code, 0, "second sync: {r:?}");
    assert_eq!(reg.reg.stats().count("POST", ""), 0);
    assert_eq!(reg.reg.stats().count("PUT", ""), 0);
    let all = format!("{}{}", r.stdout, r.stderr).to_lowercase();
    assert!(all.contains("nothing to publish"), "second run:\n{all}");

    reg.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_archive_equals_package_of_a_checkout() {
    let reg = TestRegistry::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let (dir, repo) = new_repo(tmp.path());
    module_tf(&dir, "", "one");
    write(&dir, "scripts/run.sh", "#!/bin/sh\necho hi\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.join("scripts/run.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
    }
    write(&dir, ".terraformignore", "*.md\n");
    write(&dir, "NOTES.md", "ignored\n");
    write(&dir, "modules/inner/main.tf", "variable \"x\" {}\n");
    let c1 = commit(&repo, &[], "one");
    tag(&repo, "v1.0.0", c1, true);
    module_tf(&dir, "", "two");
    let c2 = commit(&repo, &[], "two");
    tag(&repo, "v1.1.0", c2, false);

    let r = run(sync_cmd(&reg, &dir)).await;
    assert_eq!(r.code, 0, "sync: {r:?}");

    for (v, c) in [("1.0.0", c1), ("1.1.0", c2)] {
        let out = tmp.path().join(format!("co-{v}"));
        std::fs::create_dir_all(&out).unwrap();
        let commit = repo.find_commit(c).unwrap();
        repo.checkout_tree(
            commit.as_object(),
            Some(git2::build::CheckoutBuilder::new().force().target_dir(&out)),
        )
        .unwrap();
        let tgz = tmp.path().join(format!("{v}.tar.gz"));
        let r = run({
            let mut c = reg.tfpub_http();
            c.args(["module", "package"]).arg(&out).arg("-o").arg(&tgz);
            c
        })
        .await;
        assert_eq!(r.code, 0, "package {v}: {r:?}");
        let sha = sha256_hex(&std::fs::read(&tgz).unwrap());
        assert!(
            blob_exists(&reg, &sha),
            "the registry holds no archive equal to the package of {v}'s checkout ({sha})"
        );
    }
    reg.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_skips_a_broken_tag_and_goes_on() {
    let reg = TestRegistry::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let (dir, repo) = new_repo(tmp.path());
    module_tf(&dir, "", "a");
    let c1 = commit(&repo, &[], "a");
    tag(&repo, "v1.0.0", c1, false);
    // a tree with no .tf at its root
    std::fs::remove_file(dir.join("main.tf")).unwrap();
    std::fs::remove_file(dir.join("versions.tf")).unwrap();
    write(&dir, "README.md", "moved away\n");
    module_tf(&dir, "sub", "moved");
    let c2 = commit(&repo, &[], "broken");
    tag(&repo, "v1.1.0", c2, true);
    // fixed again
    module_tf(&dir, "", "b");
    let c3 = commit(&repo, &[], "fixed");
    tag(&repo, "v1.2.0", c3, false);

    let r = run(sync_cmd(&reg, &dir)).await;
    assert_eq!(r.code, 1, "a failed tag must give exit code 1: {r:?}");
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("1.1.0"), "broken tag not reported:\n{all}");
    assert!(get_version(&reg, "demo", "null", "1.0.0").await.is_some());
    assert!(
        get_version(&reg, "demo", "null", "1.2.0").await.is_some(),
        "stopped at the broken tag"
    );
    let broken = get_version(&reg, "demo", "null", "1.1.0").await;
    assert!(
        broken.as_ref().map(status_of).as_deref() != Some("ok"),
        "broken tag published as ok"
    );
    reg.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_monorepo_three_modules_with_prefixed_tags() {
    let reg = TestRegistry::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("infra");
    std::fs::create_dir_all(&dir).unwrap();
    let repo = Repository::init(&dir).unwrap();
    write(
        &dir,
        "tfpub.toml",
        r#"[[module]]
path = "modules/vpc"
name = "vpc"
provider = "aws"
tag_prefix = "vpc/"

[[module]]
path = "modules/dns"
name = "dns"
provider = "google"
tag_prefix = "dns/"

[[module]]
path = "modules/web"
name = "web"
provider = "null"
tag_prefix = "web/"
"#,
    );
    let mut expect: Vec<(&str, &str, &str, Oid)> = Vec::new();
    for (m, p, tags) in [
        ("vpc", "aws", vec!["v1.0.0", "v1.1.0"]),
        ("dns", "google", vec!["v0.1.0"]),
        ("web", "null", vec!["v2.0.0", "2.1.0", "v2.2.0"]),
    ] {
        for t in tags {
            module_tf(&dir, &format!("modules/{m}"), &format!("{m} {t}"));
            let c = commit(&repo, &[], &format!("{m} {t}"));
            tag(&repo, &format!("{m}/{t}"), c, t.ends_with('0'));
            expect.push((m, p, t.trim_start_matches('v'), c));
        }
    }
    tag(
        &repo,
        "v9.0.0",
        repo.head().unwrap().target().unwrap(),
        false,
    );

    let r = run(sync_cmd(&reg, &dir)).await;
    assert_eq!(r.code, 0, "monorepo sync: {r:?}");
    for (m, p, v, c) in &expect {
        let doc = get_version(&reg, m, p, v)
            .await
            .unwrap_or_else(|| panic!("{m}/{p} {v} missing"));
        assert_eq!(status_of(&doc), "ok");
        assert_eq!(commit_sha_of(&doc), c.to_string(), "{m} {v}");
    }
    // versions stay with their own module
    assert!(get_version(&reg, "vpc", "aws", "2.0.0").await.is_none());
    assert!(get_version(&reg, "web", "null", "1.0.0").await.is_none());
    assert!(get_version(&reg, "dns", "google", "9.0.0").await.is_none());

    // `module publish` at the root acts on every configured module, each with the version
    // of its own prefixed tag at HEAD.
    for (m, _) in [("vpc", ""), ("dns", ""), ("web", "")] {
        module_tf(&dir, &format!("modules/{m}"), &format!("{m} next"));
    }
    let head = commit(&repo, &[], "next of all three");
    for t in ["vpc/v1.2.0", "dns/v0.2.0", "web/v2.3.0"] {
        tag(&repo, t, head, false);
    }
    let r = run({
        let mut c = reg.tfpub_http();
        c.args(["module", "publish", "--version", "3.0.0"])
            .arg(&dir)
            .current_dir(&dir);
        c
    })
    .await;
    assert_eq!(
        r.code, 1,
        "--version with three modules must be refused: {r:?}"
    );
    assert!(r.stderr.contains("--module"), "no hint: {}", r.stderr);
    let r = run({
        let mut c = reg.tfpub_http();
        c.args(["module", "publish", "--json"])
            .arg(&dir)
            .current_dir(&dir);
        c
    })
    .await;
    assert_eq!(r.code, 0, "monorepo publish: {r:?}");
    assert_eq!(r.json()["outcome"], "published");
    for (m, p, v) in [
        ("vpc", "aws", "1.2.0"),
        ("dns", "google", "0.2.0"),
        ("web", "null", "2.3.0"),
    ] {
        let doc = get_version(&reg, m, p, v)
            .await
            .unwrap_or_else(|| panic!("{m}/{p} {v} not published from HEAD's tag"));
        assert_eq!(commit_sha_of(&doc), head.to_string());
    }
    // and only the one named with --module
    module_tf(&dir, "modules/dns", "dns only");
    let c = commit(&repo, &[], "dns only");
    tag(&repo, "dns/v0.3.0", c, true);
    tag(&repo, "web/v2.4.0", c, true);
    let r = run({
        let mut c = reg.tfpub_http();
        c.args(["module", "publish", "--module", "dns/google"])
            .arg(&dir)
            .current_dir(&dir);
        c
    })
    .await;
    assert_eq!(r.code, 0, "publish --module dns: {r:?}");
    assert!(get_version(&reg, "dns", "google", "0.3.0").await.is_some());
    assert!(
        get_version(&reg, "web", "null", "2.4.0").await.is_none(),
        "--module ignored"
    );
    reg.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_300_tags_with_290_published_costs_o_of_missing() {
    let reg = TestRegistry::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let (dir, repo) = new_repo(tmp.path());
    for i in 0..300u32 {
        module_tf(&dir, "", &format!("r{i}"));
        let c = commit(&repo, &[], &format!("r{i}"));
        tag(&repo, &format!("v1.{i}.0"), c, i % 2 == 0);
    }
    let r = run({
        let mut c = sync_cmd(&reg, &dir);
        c.args(["--max", "290"]);
        c
    })
    .await;
    assert_eq!(r.code, 0, "first sync: {r:?}");
    reg.reg.stats().reset();
    let r = run(sync_cmd(&reg, &dir)).await;
    assert_eq!(r.code, 0, "second sync: {r:?}");
    let total = reg.reg.stats().total();
    eprintln!("sync of 300 tags with 290 published: {total} requests");
    assert_eq!(reg.reg.stats().count("POST", "/versions"), 10);
    // Per missing version: a status read, the create, the upload, the status poll(s) and
    // the download that proves the registry serves our bytes; plus a constant for the
    // preflight and the one listing. Nothing grows with the 290 published tags.
    assert!(total <= 8 + 10 * 7, "{total} requests is not O(missing)");
    for i in 290..300 {
        assert!(get_version(&reg, "demo", "null", &format!("1.{i}.0"))
            .await
            .is_some());
    }
    reg.stop().await;
}
