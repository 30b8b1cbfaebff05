//! The module test runner: runs a test run's configuration with the real `terraform test`
//! (the binary given by `registry serve --terraform`, else the one on PATH) in a private
//! work folder, one run at a time per module (later runs wait `queued`), within a time
//! limit, with the module's test variables in the process environment. Counts come from
//! the CLI's JSON view (`test_summary`); the log (JSON lines, sensitive values replaced)
//! is stored with the run. `cancel` interrupts the process group (SIGINT, as Ctrl-C
//! would), `force-cancel` kills it. A registry that stops aborts its runs (their
//! processes are killed); a later start marks them `errored`.
//!
//! Imports `store` (modules' archive check, tests' records), `state` and `jsonapi`
//! (`Problem` for the archivist hook); no handler imports it but `tests_api` and the
//! archivist's upload completion.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio::sync::watch;

use crate::jsonapi::Problem;
use crate::state::SharedState;
use crate::store::tests::{self as store, NewRun, RunEnd, TestVar};
use crate::store::StoreResult;

/// The default of [`RegistryOptions::test_time_limit`](crate::RegistryOptions): 30 minutes.
pub const DEFAULT_TEST_TIME_LIMIT: Duration = Duration::from_secs(30 * 60);

/// The most log bytes kept per run (stdout and stderr together).
const MAX_LOG: usize = 4 * 1024 * 1024;

/// What a run was asked to stop with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    None,
    Cancel,
    Force,
}

/// The runner's state in one registry.
pub(crate) struct Runner {
    terraform: Option<PathBuf>,
    time_limit: Duration,
    module_locks: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
    controls: Mutex<HashMap<i64, watch::Sender<Stop>>>,
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
}

/// Registry instances alive in this process (several tests start registries in one
/// process; only runs of instances that are gone are orphans).
fn live_instances() -> &'static Mutex<HashSet<String>> {
    static LIVE: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    LIVE.get_or_init(Default::default)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Runner {
    pub(crate) fn new(terraform: Option<PathBuf>, time_limit: Duration) -> Runner {
        Runner {
            terraform,
            time_limit,
            module_locks: Mutex::default(),
            controls: Mutex::default(),
            tasks: Mutex::default(),
        }
    }

    /// Stops every run of this registry (their processes are killed) and forgets this
    /// instance, so a later start sees its active runs as orphans.
    pub(crate) fn stop_all(&self, instance: &str) {
        for t in lock(&self.tasks).drain(..) {
            t.abort();
        }
        lock(live_instances()).remove(instance);
    }

    /// Asks run `id` to stop; false when it is not running here.
    pub(crate) fn signal(&self, id: i64, stop: Stop) -> bool {
        lock(&self.controls)
            .get(&id)
            .is_some_and(|tx| tx.send(stop).is_ok())
    }
}

/// At start: registers `instance` and marks runs left active by instances that are gone
/// (a stopped registry of this process, or a dead process) `errored`.
pub(crate) fn recover(conn: &rusqlite::Connection, instance: &str) -> StoreResult<()> {
    let live = {
        let mut l = lock(live_instances());
        l.insert(instance.to_string());
        l.clone()
    };
    let me = std::process::id();
    store::error_orphans(conn, |owner| {
        if live.contains(owner) {
            return false;
        }
        let pid = owner.split('-').next().and_then(|p| p.parse::<u32>().ok());
        match pid {
            Some(p) if p == me => true,
            Some(p) => !Path::new(&format!("/proc/{p}")).exists(),
            None => true,
        }
    })
}

/// The archivist's hook: a test configuration archive arrived. Checks it like a module
/// archive, attaches it, and queues a run when the configuration version auto-queues.
pub(crate) async fn config_uploaded(
    state: &SharedState,
    cv_id: i64,
    sha: &str,
    token: &str,
) -> Result<(), Problem> {
    let path = state
        .blobs
        .path(sha)
        .ok_or_else(|| Problem::internal("bad blob digest"))?;
    let max = state.max_unpacked_bytes;
    tokio::task::spawn_blocking(move || crate::store::modules::ingest(&path, max))
        .await
        .map_err(|e| Problem::internal(format!("archive check failed: {e}")))?
        .map_err(Problem::invalid)?;
    let cv = store::record_upload(&mut state.conn(), cv_id, sha, token)?;
    if cv.auto_queue {
        let new = NewRun {
            cv_id,
            variables: Value::Array(vec![]),
            filters: Value::Array(vec![]),
            test_directory: "tests".into(),
            verbose: false,
            source: "tfe-configuration-version",
            message: "Queued automatically by a configuration version upload",
        };
        let run = store::create_run(&state.conn(), cv.module_id, &new, &state.instance)?;
        enqueue(state, cv.module_id, run.id);
    }
    Ok(())
}

/// Starts the task of run `id`: it waits for the module's earlier runs, then runs.
pub(crate) fn enqueue(state: &SharedState, module_id: i64, id: i64) {
    let (tx, rx) = watch::channel(Stop::None);
    lock(&state.runner.controls).insert(id, tx);
    let module_lock = lock(&state.runner.module_locks)
        .entry(module_id)
        .or_default()
        .clone();
    let st = state.clone();
    let task = tokio::spawn(async move {
        let _turn = module_lock.lock().await;
        let started = store::start_run(&st.conn(), id);
        let end = match started {
            Ok(true) => execute(&st, module_id, id, rx).await,
            _ => None,
        };
        if let Some(end) = end {
            let _ = store::finish_run(&st.conn(), id, &end.as_end());
        }
        lock(&st.runner.controls).remove(&id);
    });
    let mut tasks = lock(&state.runner.tasks);
    tasks.retain(|t| !t.is_finished());
    tasks.push(task.abort_handle());
}

/// A run's outcome, owned.
struct Ended {
    status: &'static str,
    test_status: Option<String>,
    counts: Option<[i64; 4]>,
    message: Option<String>,
    log: Option<String>,
}

impl Ended {
    fn errored(message: String, log: Option<String>) -> Ended {
        Ended {
            status: "errored",
            test_status: None,
            counts: None,
            message: Some(message),
            log,
        }
    }

    fn as_end(&self) -> RunEnd<'_> {
        RunEnd {
            status: self.status,
            test_status: self.test_status.as_deref(),
            counts: self.counts,
            message: self.message.as_deref(),
            log: self.log.as_deref(),
        }
    }
}

/// The `terraform` to run: the configured one, else the first on PATH.
fn find_terraform(configured: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = configured {
        return p.is_file().then(|| p.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("terraform"))
        .find(|p| p.is_file())
}

/// Everything a run needs, read from the database.
struct Prepared {
    blob: PathBuf,
    run: store::TestRun,
    vars: Vec<TestVar>,
}

fn prepare(state: &SharedState, module_id: i64, id: i64) -> Result<Prepared, String> {
    let conn = state.conn();
    let run = store::find_run(&conn, module_id, id).map_err(|e| format!("{e:?}"))?;
    let cv = store::find_config_version(&conn, run.cv_id).map_err(|e| format!("{e:?}"))?;
    let blob = cv
        .blob
        .as_deref()
        .and_then(|b| state.blobs.path(b))
        .ok_or("the configuration version has no uploaded files")?;
    let vars = store::list_vars(&conn, module_id).map_err(|e| format!("{e:?}"))?;
    Ok(Prepared { blob, run, vars })
}

/// Unpacks the archive `blob` into `dir/config` and writes the run's `variables` to
/// `dir/run.tfvars` (HCL literals, as the API gives them). Blocking.
fn unpack(blob: &Path, variables: &Value, dir: &Path) -> Result<(), String> {
    let file = std::fs::File::open(blob).map_err(|e| format!("cannot read archive: {e}"))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    archive
        .unpack(dir.join("config"))
        .map_err(|e| format!("cannot unpack the configuration: {e}"))?;
    let mut tfvars = String::new();
    for v in variables.as_array().into_iter().flatten() {
        let key = v.get("key").and_then(Value::as_str).unwrap_or_default();
        let value = v.get("value").and_then(Value::as_str).unwrap_or_default();
        tfvars.push_str(&format!("{key} = {value}\n"));
    }
    std::fs::write(dir.join("run.tfvars"), tfvars)
        .map_err(|e| format!("cannot write variables: {e}"))
}

/// Runs the test of run `id`; None when it is no longer active.
async fn execute(
    state: &SharedState,
    module_id: i64,
    id: i64,
    stop: watch::Receiver<Stop>,
) -> Option<Ended> {
    let Some(tf) = find_terraform(state.runner.terraform.as_deref()) else {
        let msg = match &state.runner.terraform {
            Some(p) => format!("the terraform CLI {} given with --terraform does not exist; the test could not run", p.display()),
            None => "no terraform CLI found on the registry's PATH; install Terraform or start the registry with --terraform PATH".into(),
        };
        return Some(Ended::errored(msg, None));
    };
    let p = match prepare(state, module_id, id) {
        Ok(p) => p,
        Err(e) => return Some(Ended::errored(e, None)),
    };
    let work = match tempfile::Builder::new().prefix("tfpub-test-run-").tempdir() {
        Ok(w) => w,
        Err(e) => {
            return Some(Ended::errored(
                format!("cannot create a work folder: {e}"),
                None,
            ))
        }
    };
    let dir = work.path().to_path_buf();
    let unpacked = {
        let (dir, blob, vars) = (dir.clone(), p.blob.clone(), p.run.variables.clone());
        tokio::task::spawn_blocking(move || unpack(&blob, &vars, &dir))
            .await
            .unwrap_or_else(|e| Err(e.to_string()))
    };
    if let Err(e) = unpacked {
        return Some(Ended::errored(e, None));
    }
    let limit = state.runner.time_limit;
    Some(run_terraform(&tf, &dir, &p, stop, limit).await)
}

/// The `terraform test` command line of a run.
fn command(tf: &Path, dir: &Path, p: &Prepared) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(tf);
    c.arg("test").arg("-no-color").arg("-json");
    if p.run.verbose {
        c.arg("-verbose");
    }
    for f in p.run.filters.as_array().into_iter().flatten() {
        if let Some(f) = f.as_str() {
            c.arg(format!("-filter={f}"));
        }
    }
    c.arg(format!("-test-directory={}", p.run.test_directory));
    c.arg(format!("-var-file={}", dir.join("run.tfvars").display()));
    c.current_dir(dir.join("config"))
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .envs(p.vars.iter().map(|v| (v.key.as_str(), v.value.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    c
}

/// Signals a whole process group (terraform and what it started). Never group 0 (ours).
fn signal_group(pgid: u32, sig: &str) {
    if pgid == 0 {
        return;
    }
    let _ = std::process::Command::new("kill")
        .args(["-s", sig, "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The processes below `pid` (Linux: read from /proc), deepest last. Terraform starts
/// provisioner commands in process groups of their own, so killing its group alone
/// would leave them running.
fn descendants(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let parents: Vec<(u32, u32)> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            // pid (comm) state ppid …; comm may hold spaces and parentheses.
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((p, ppid))
        })
        .collect();
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i];
        out.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    out.remove(0);
    out
}

/// Kills terraform's process group and every process it started.
fn kill_tree(pgid: u32) {
    if pgid == 0 {
        return;
    }
    let below = descendants(pgid);
    signal_group(pgid, "KILL");
    for p in below {
        let _ = std::process::Command::new("kill")
            .args(["-s", "KILL", &p.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Kills the process tree when dropped (a run aborted by a stopping registry, or one
/// that ended: nothing it started outlives it).
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            kill_tree(pgid);
        }
    }
}

fn read_capped<R: tokio::io::AsyncRead + Unpin + Send + 'static>(
    r: Option<R>,
) -> tokio::task::JoinHandle<String> {
    tokio::spawn(async move {
        let mut buf = Vec::new();
        if let Some(r) = r {
            let _ = r.take(MAX_LOG as u64).read_to_end(&mut buf).await;
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// How the process ended.
enum Exit {
    Done(Option<i32>),
    Canceled,
    TimedOut,
}

async fn run_terraform(
    tf: &Path,
    dir: &Path,
    p: &Prepared,
    mut stop: watch::Receiver<Stop>,
    limit: Duration,
) -> Ended {
    let mut child = match command(tf, dir, p).spawn() {
        Ok(c) => c,
        Err(e) => return Ended::errored(format!("cannot run {}: {e}", tf.display()), None),
    };
    let Some(pgid) = child.id() else {
        return Ended::errored("terraform exited before it could be watched".into(), None);
    };
    let _group = GroupGuard(Some(pgid));
    let out = read_capped(child.stdout.take());
    let err = read_capped(child.stderr.take());
    let deadline = tokio::time::sleep(limit);
    tokio::pin!(deadline);
    let (mut canceled, mut listening) = (false, true);
    let exit = loop {
        tokio::select! {
            st = child.wait() => break if canceled { Exit::Canceled } else { Exit::Done(st.ok().and_then(|s| s.code())) },
            changed = stop.changed(), if listening => {
                if changed.is_err() { listening = false; continue; }
                let asked = *stop.borrow_and_update();
                match asked {
                    Stop::Cancel => { canceled = true; signal_group(pgid, "INT"); }
                    Stop::Force => { kill_tree(pgid); let _ = child.wait().await; break Exit::Canceled; }
                    Stop::None => {}
                }
            }
            _ = &mut deadline => { kill_tree(pgid); let _ = child.wait().await; break Exit::TimedOut; }
        }
    };
    // A process terraform left behind may hold the pipes open: wait only so long.
    let drained = |h: tokio::task::JoinHandle<String>| async move {
        tokio::time::timeout(Duration::from_secs(5), h)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default()
    };
    let mut log = drained(out).await;
    let stderr = drained(err).await;
    if !stderr.is_empty() {
        log.push_str(&stderr);
    }
    let log = redact(log, &p.vars);
    conclude(exit, log, limit)
}

/// Replaces the value of every sensitive variable in `log`.
fn redact(mut log: String, vars: &[TestVar]) -> String {
    for v in vars.iter().filter(|v| v.sensitive && !v.value.is_empty()) {
        log = log.replace(&v.value, "(sensitive)");
    }
    log
}

/// The run's end from how the process ended and what it wrote.
fn conclude(exit: Exit, log: String, limit: Duration) -> Ended {
    let summary = summary(&log);
    match exit {
        Exit::Canceled => Ended {
            status: "canceled",
            test_status: None,
            counts: summary.map(|s| s.1),
            message: Some("The test run was canceled".into()),
            log: Some(log),
        },
        Exit::TimedOut => Ended::errored(
            format!(
                "the test run exceeded the registry's time limit of {} s and was stopped",
                limit.as_secs()
            ),
            Some(log),
        ),
        Exit::Done(code) => match summary {
            Some((status, counts)) => Ended {
                status: "finished",
                test_status: Some(if status == "pass" { "pass" } else { "fail" }.into()),
                counts: Some(counts),
                message: None,
                log: Some(log),
            },
            None => Ended::errored(
                format!(
                    "terraform test ended (exit code {}) without a test summary; see the log",
                    code.map_or("none".into(), |c| c.to_string())
                ),
                Some(log),
            ),
        },
    }
}

/// The `test_summary` of terraform's JSON view: (status, [passed, failed, errored, skipped]).
fn summary(log: &str) -> Option<(String, [i64; 4])> {
    log.lines().rev().find_map(|line| {
        let v: Value = serde_json::from_str(line).ok()?;
        let s = v.get("test_summary")?;
        let n = |k: &str| s.get(k).and_then(Value::as_i64).unwrap_or(0);
        let status = s.get("status")?.as_str()?.to_string();
        Some((
            status,
            [n("passed"), n("failed"), n("errored"), n("skipped")],
        ))
    })
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn the_summary_line_gives_status_and_counts() {
        let log = "{\"type\":\"test_abstract\"}\nnot json\n{\"@message\":\"Failure! 1 passed, 2 failed.\",\"test_summary\":{\"status\":\"fail\",\"passed\":1,\"failed\":2,\"errored\":0,\"skipped\":3},\"type\":\"test_summary\"}\n";
        assert_eq!(summary(log), Some(("fail".into(), [1, 2, 0, 3])));
        assert_eq!(summary("{}\n"), None);
    }

    #[test]
    fn sensitive_values_are_replaced_in_the_log() {
        let var = |value: &str, sensitive| TestVar {
            id: 1,
            key: "K".into(),
            value: value.into(),
            description: None,
            category: "env".into(),
            sensitive,
            created_at: String::new(),
            version_id: String::new(),
        };
        let log = redact(
            "a s3cr3t b open".into(),
            &[var("s3cr3t", true), var("open", false)],
        );
        assert_eq!(log, "a (sensitive) b open");
    }
}
