//! Speed at scale (issue 20), behaviour only (the figures are in BENCHMARKS.md): the
//! registry's ingestion model (`--ingest-delay`: versions stay `reg_ingressing`, then turn
//! `ok`, also across a restart), and `module sync` / tfpub.toml `module publish` running
//! several versions at once (`--concurrency`), observed from the registry's side.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use git2::Repository;
use serde_json::Value;
use tfpub_registry::{self as registry, RegistryOptions};

use crate::support::fs::{tarball, write};
use crate::support::git::{commit, tag};
use crate::support::registry::Api;
use crate::support::{run, TestRegistry, ORG, TEST_TOKEN};

/// A registry whose module versions stay `reg_ingressing` for `delay` after upload.
async fn with_delay_in(data: &Path, delay: Duration) -> registry::RunningRegistry {
    let mut opts = RegistryOptions::new(data);
    opts.ingest_delay = delay;
    registry::start(opts, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

async fn delayed(delay: Duration) -> TestRegistry {
    let data = tempfile::tempdir().unwrap();
    let reg = with_delay_in(data.path(), delay).await;
    TestRegistry {
        reg,
        data,
        home: tempfile::tempdir().unwrap(),
    }
}

fn status(doc: &Value) -> String {
    doc["data"]["attributes"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Create module `name`/null version `v` and upload a valid archive to it.
async fn upload_version(api: &Api, name: &str, v: &str) {
    let (s, body) = api.create_module(name).await;
    assert!(s.is_success() || s.as_u16() == 422, "{s} {body}");
    let link = api.create_module_version(name, v).await;
    let tgz = tarball(&[("main.tf", b"output \"x\" {\n  value = 1\n}\n")]);
    assert_eq!(api.put(&link, tgz).await.as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_delay_keeps_a_version_reg_ingressing_then_ok() {
    let reg = delayed(Duration::from_millis(1500)).await;
    let api = Api::new(&reg.reg, TEST_TOKEN);
    let start = Instant::now();
    upload_version(&api, "slow", "1.0.0").await;
    let doc = api.module_version("slow", "null", "1.0.0").await.unwrap();
    assert_eq!(status(&doc), "reg_ingressing", "{doc}");
    // Terraform cannot install it yet: the consumer listing has no version.
    let (_, listing) = api
        .get(&format!(
            "/api/registry/v1/modules/{ORG}/slow/null/versions"
        ))
        .await;
    assert_eq!(
        listing["modules"][0]["versions"],
        serde_json::json!([]),
        "{listing}"
    );
    let mut last = String::new();
    while start.elapsed() < Duration::from_secs(15) {
        last = status(&api.module_version("slow", "null", "1.0.0").await.unwrap());
        if last == "ok" {
            break;
        }
        assert_eq!(last, "reg_ingressing");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last, "ok");
    assert!(
        start.elapsed() >= Duration::from_millis(1400),
        "ok too early"
    );
    reg.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingestion_cut_by_a_stop_finishes_at_the_next_start() {
    let data = tempfile::tempdir().unwrap();
    let reg = with_delay_in(data.path(), Duration::from_secs(3600)).await;
    let api = Api::new(&reg, TEST_TOKEN);
    upload_version(&api, "cut", "1.0.0").await;
    let doc = api.module_version("cut", "null", "1.0.0").await.unwrap();
    assert_eq!(status(&doc), "reg_ingressing");
    reg.shutdown().await;
    let reg = with_delay_in(data.path(), Duration::from_secs(3600)).await;
    let api = Api::new(&reg, TEST_TOKEN);
    let doc = api.module_version("cut", "null", "1.0.0").await.unwrap();
    assert_eq!(status(&doc), "ok", "{doc}");
    reg.shutdown().await;
}

/// A repository with `n` tags v1.0.0..v1.0.{n-1}, each a different module content.
fn repo_with_tags(tmp: &Path, n: usize) -> std::path::PathBuf {
    let dir = tmp.join("terraform-null-many");
    std::fs::create_dir_all(&dir).unwrap();
    let repo = Repository::init(&dir).unwrap();
    for i in 0..n {
        write(
            &dir,
            "main.tf",
            &format!("output \"release\" {{\n  value = {i}\n}}\n"),
        );
        let c = commit(&repo, &[], &format!("release {i}"));
        tag(&repo, &format!("v1.0.{i}"), c, i % 2 == 0);
    }
    dir
}

/// Counts, while it runs, the most versions of the listed modules the registry held
/// `reg_ingressing` at one time (read through the module documents every 40 ms).
struct InFlight {
    stop: Arc<AtomicBool>,
    most: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl InFlight {
    fn watch(api: Api, modules: &[(&str, &str)]) -> InFlight {
        let stop = Arc::new(AtomicBool::new(false));
        let most = Arc::new(AtomicUsize::new(0));
        let paths: Vec<String> = modules
            .iter()
            .map(|(n, p)| {
                format!("/api/v2/organizations/{ORG}/registry-modules/private/{ORG}/{n}/{p}")
            })
            .collect();
        let (s, m) = (stop.clone(), most.clone());
        let task = tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                let mut now = 0;
                for p in &paths {
                    let (_, doc) = api.get(p).await;
                    now += doc["data"]["attributes"]["version-statuses"]
                        .as_array()
                        .map_or(0, |a| {
                            a.iter().filter(|v| v["status"] == "reg_ingressing").count()
                        });
                }
                m.fetch_max(now, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
        });
        InFlight { stop, most, task }
    }

    async fn most(self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap();
        self.most.load(Ordering::Relaxed)
    }
}

/// The versions a result reports uploaded, in the order it lists them.
fn uploaded_versions(doc: &Value) -> Vec<String> {
    doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "tag" && i["action"] == "uploaded")
        .map(|i| i["version"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_runs_versions_concurrently_and_waits_out_ingestion() {
    let reg = delayed(Duration::from_millis(1000)).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = repo_with_tags(tmp.path(), 8);
    let watch = InFlight::watch(Api::new(&reg.reg, TEST_TOKEN), &[("many", "null")]);
    let mut c = reg.tfpub_http();
    c.args(["--json", "module", "sync", "--concurrency", "4"])
        .arg(&dir);
    let r = run(c).await;
    let most = watch.most().await;
    assert_eq!(r.code, 0, "{r:?}");
    let doc = r.json();
    let want: Vec<String> = (0..8).map(|i| format!("1.0.{i}")).collect();
    assert_eq!(uploaded_versions(&doc), want, "reported in tag order");
    let api = Api::new(&reg.reg, TEST_TOKEN);
    for v in &want {
        let d = api.module_version("many", "null", v).await.unwrap();
        assert_eq!(status(&d), "ok", "{v}");
    }
    assert!(
        most >= 2,
        "never more than {most} version ingressing at once"
    );
    assert!(most <= 4, "{most} versions in flight with --concurrency 4");
    // "latest" is the highest semver whatever order the uploads finished in.
    let (_, latest) = api
        .get(&format!("/api/registry/v1/modules/{ORG}/many/null"))
        .await;
    assert_eq!(latest["version"], "1.0.7", "{latest}");
    // Nothing missing: a re-run publishes nothing.
    let mut again = reg.tfpub_http();
    again
        .args(["--json", "module", "sync", "--concurrency", "4"])
        .arg(&dir);
    let r = run(again).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(uploaded_versions(&r.json()).is_empty());
    reg.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_with_concurrency_1_keeps_one_version_in_flight() {
    let reg = delayed(Duration::from_millis(600)).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = repo_with_tags(tmp.path(), 3);
    let watch = InFlight::watch(Api::new(&reg.reg, TEST_TOKEN), &[("many", "null")]);
    let mut c = reg.tfpub_http();
    c.args(["--json", "module", "sync", "--concurrency", "1"])
        .arg(&dir);
    let r = run(c).await;
    let most = watch.most().await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(uploaded_versions(&r.json()), ["1.0.0", "1.0.1", "1.0.2"]);
    assert_eq!(most, 1, "--concurrency 1 had {most} versions in flight");
    reg.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_publish_runs_modules_concurrently_in_toml_order() {
    let reg = delayed(Duration::from_millis(1000)).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("infra");
    std::fs::create_dir_all(&dir).unwrap();
    let repo = Repository::init(&dir).unwrap();
    let names = ["zeta", "alpha", "mid"];
    let mut toml = String::new();
    for n in names {
        toml.push_str(&format!(
            "[[module]]\npath = \"modules/{n}\"\nname = \"{n}\"\nprovider = \"null\"\ntag_prefix = \"{n}/\"\n\n"
        ));
        write(
            &dir,
            &format!("modules/{n}/main.tf"),
            &format!("output \"n\" {{\n  value = \"{n}\"\n}}\n"),
        );
    }
    write(&dir, "tfpub.toml", &toml);
    let c = commit(&repo, &[], "modules");
    for n in names {
        tag(&repo, &format!("{n}/v0.1.0"), c, false);
    }
    let modules: Vec<(&str, &str)> = names.iter().map(|n| (*n, "null")).collect();
    let watch = InFlight::watch(Api::new(&reg.reg, TEST_TOKEN), &modules);
    let mut cmd = reg.tfpub_http();
    cmd.args(["--json", "module", "publish", "--concurrency", "3"])
        .current_dir(&dir);
    let r = run(cmd).await;
    let most = watch.most().await;
    assert_eq!(r.code, 0, "{r:?}");
    let doc = r.json();
    let order: Vec<String> = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "module-version" && i["action"] == "updated")
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    let want: Vec<String> = names.iter().map(|n| format!("{ORG}/{n}/null")).collect();
    assert_eq!(order, want, "{doc}");
    assert!(
        most >= 2,
        "never more than {most} module ingressing at once"
    );
    reg.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_out_of_range_is_refused() {
    let reg = TestRegistry::start().await;
    for bad in ["0", "65", "many"] {
        let mut c = reg.tfpub_http();
        c.args(["module", "sync", "--concurrency", bad]);
        let r = run(c).await;
        assert_eq!(r.code, 2, "{bad}: {r:?}");
        assert!(r.stderr.contains("--concurrency"), "{}", r.stderr);
    }
    reg.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn module_archives_are_byte_identical_across_runs_and_read_by_gzip_and_tar() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("terraform-null-big");
    // ~1.2 MiB of text over 60 files: several parallel-deflate blocks.
    for i in 0..60 {
        let body: String = (0..600)
            .map(|j| {
                format!(
                    "# line {j} of file {i}: resource \"null_resource\" \"r{}\" {{}}\n",
                    (i * j) % 97
                )
            })
            .collect();
        write(&dir, &format!("sub{}/f{i}.tf", i % 6), &body);
    }
    write(&dir, "main.tf", "output \"x\" {\n  value = 1\n}\n");
    let reg = TestRegistry::start().await;
    let mut outs = Vec::new();
    for n in 0..2 {
        let out = tmp.path().join(format!("m{n}.tar.gz"));
        let mut c = reg.tfpub();
        c.args(["module", "package"]).arg(&dir).arg("-o").arg(&out);
        let r = run(c).await;
        assert_eq!(r.code, 0, "{r:?}");
        outs.push(std::fs::read(&out).unwrap());
        // gzip and tar (not ours) read it: integrity, then every file listed.
        let t = std::process::Command::new("gzip")
            .arg("-t")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            t.status.success(),
            "gzip -t: {}",
            String::from_utf8_lossy(&t.stderr)
        );
        let l = std::process::Command::new("tar")
            .arg("-tzf")
            .arg(&out)
            .output()
            .unwrap();
        assert!(l.status.success());
        let listed = String::from_utf8_lossy(&l.stdout);
        assert_eq!(
            listed.lines().filter(|l| l.ends_with(".tf")).count(),
            61,
            "{listed}"
        );
    }
    assert!(outs[0].len() > 20_000);
    assert!(outs[0] == outs[1], "two runs wrote different archives");
    reg.stop().await;
}
