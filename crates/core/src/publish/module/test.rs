//! Module tests in the registry: `tfpub module test` and the gate of `module publish
//! --require-tests` / `module sync --require-tests`. The module is packaged exactly as a
//! publish packages it; the archive goes to a new test configuration version of the
//! registry module (created first if missing); a test run is created with the filters,
//! test directory and HCL variables asked for; it is watched (queued → running →
//! finished) until it ends, the deadline passes or the user presses Ctrl-C — then it is
//! canceled, and force-canceled if it does not stop. Its log (terraform's JSON view) is
//! read from `log-read-url` and shown as terraform's own messages.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::converge::ensure_module;
use super::package;
use crate::api::{TestRun, TestRunOptions};
use crate::publish::error::PublishError;
use crate::publish::Context;
use crate::report::{Action, ErrorInfo, Item, ItemKind, Outcome, OutcomeKind, TestRunInfo};
use crate::vocab::ModuleAddress;

/// Everything `tfpub module test` was asked.
#[derive(Debug, Clone)]
pub struct ModuleTestRequest {
    pub dir: PathBuf,
    pub name: Option<String>,
    pub provider: Option<String>,
    pub options: TestRunOptions,
    /// How long to wait for the run before canceling it.
    pub timeout: Duration,
}

/// How long a canceled run is given to stop before it is force-canceled, and then again
/// before tfpub gives up watching it.
const STOP_GRACE: Duration = Duration::from_secs(15);

/// A finished (or stopped) test run and what its log says.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    pub run: TestRun,
    /// The tests that failed or errored: (`FILE: RUN`, the first error's text).
    pub failing: Vec<(String, String)>,
    /// Set when tfpub stopped the run (timeout or Ctrl-C): what it did.
    pub stopped: Option<(String, bool)>,
}

impl TestOutcome {
    pub fn passed(&self) -> bool {
        self.run.status == "finished" && self.run.test_status.as_deref() == Some("pass")
    }

    pub fn info(&self) -> TestRunInfo {
        let [passed, failed, errored, skipped] = self.run.counts();
        TestRunInfo {
            id: self.run.id.clone(),
            status: self.run.status.clone(),
            test_status: self.run.test_status.clone(),
            passed,
            failed,
            errored,
            skipped,
            failing: self.failing.iter().map(|f| f.0.clone()).collect(),
        }
    }

    fn counts_text(&self) -> String {
        let [p, f, e, s] = self.run.counts();
        format!("{p} passed, {f} failed, {e} errored, {s} skipped")
    }

    /// The error for a run that did not pass (None when it passed).
    pub fn error(&self, m: &ModuleAddress, version: Option<&str>) -> Option<PublishError> {
        if self.passed() {
            return None;
        }
        let module = m.to_string();
        let run = self.run.id.clone();
        if let Some((why, timed_out)) = &self.stopped {
            let (why, timed_out) = (why.clone(), *timed_out);
            return Some(PublishError::TestRunStopped {
                module,
                run,
                why,
                timed_out,
            });
        }
        if self.run.status != "finished" {
            let message = self.run.message.clone().unwrap_or_default();
            let status = self.run.status.clone();
            return Some(PublishError::TestRunEnded {
                module,
                run,
                status,
                message,
            });
        }
        let names: Vec<&str> = self.failing.iter().map(|f| f.0.as_str()).collect();
        let mut summary = self.counts_text();
        if !names.is_empty() {
            summary.push_str(&format!("; failing: {}", names.join(", ")));
        }
        let at = version.map_or(String::new(), |v| format!(" for version {v}"));
        Some(PublishError::TestsFailed {
            module,
            at,
            summary,
        })
    }

    /// The items of the run: the run, then one per failing test.
    pub fn items(&self, m: &ModuleAddress) -> Vec<Item> {
        let action = if self.passed() {
            Action::Created
        } else {
            Action::Failed
        };
        let status = match &self.run.test_status {
            Some(t) => format!("{} ({t})", self.run.status),
            None => self.run.status.clone(),
        };
        let mut items = vec![Item::new(ItemKind::TestRun, &self.run.id, action)
            .detail(format!("{m}: {status}: {}", self.counts_text()))];
        for (name, why) in &self.failing {
            let it = Item::new(ItemKind::Test, name, Action::Failed);
            items.push(if why.is_empty() { it } else { it.detail(why) });
        }
        items
    }
}

/// `tfpub module test [DIR]`.
pub async fn test(ctx: &Context, req: &ModuleTestRequest) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::new("module test");
    outcome.target = Some(ctx.target_info());
    if !req.dir.is_dir() {
        return Err(PublishError::ModuleDirMissing {
            dir: req.dir.clone(),
        }
        .into());
    }
    let (name, provider) =
        super::resolve::identity(&req.dir, req.name.as_deref(), req.provider.as_deref())?;
    let addr = ctx.module(&name, &provider);
    let warnings = ctx.preflight(crate::api::Need::Modules).await?;
    outcome.warnings.extend(warnings);
    let packaged = package::package_for_publish(ctx, &req.dir, None, &mut outcome).await?;
    outcome.push(ensure_module(ctx, &addr, false).await?);
    let t = run(
        ctx,
        &addr,
        &packaged.archive.path,
        &req.options,
        req.timeout,
        true,
    )
    .await?;
    outcome.items.extend(t.items(&addr));
    outcome.test_run = Some(t.info());
    match t.error(&addr, None) {
        // The result keeps the run, its counts and failing tests, and says why it failed.
        Some(e) => {
            let err = anyhow::Error::new(e);
            outcome.ok = false;
            outcome.outcome = OutcomeKind::Failed;
            outcome.error = Some(ErrorInfo::from_error(&err, &|_| None));
        }
        None => outcome.outcome = OutcomeKind::Tested,
    }
    Ok(outcome)
}

/// The gate of `--require-tests`: the tests run on `archive`, the exact bytes about to
/// be published; an error (naming the failing tests) when they do not pass.
pub async fn gate(
    ctx: &Context,
    addr: &ModuleAddress,
    archive: &Path,
    version: &str,
    timeout: Duration,
) -> anyhow::Result<Vec<Item>> {
    ctx.progress
        .stage(&format!("testing {addr} {version} before publishing it"));
    ensure_module(ctx, addr, false).await?;
    // Ctrl-C during the run cancels it in the registry (the run's claim on Ctrl-C ends
    // with it: see crate::interrupt); during the publish that follows it stops tfpub.
    let t = run(
        ctx,
        addr,
        archive,
        &TestRunOptions::default(),
        timeout,
        true,
    )
    .await?;
    if let Some(e) = t.error(addr, Some(version)) {
        return Err(e.into());
    }
    Ok(t.items(addr))
}

/// Uploads `archive` as a test configuration, runs the tests, watches the run to its
/// end and shows its log. With `ctrl_c`, a Ctrl-C while the run is active cancels it
/// (the run holds a [`crate::interrupt::Claim`] until it ends).
pub async fn run(
    ctx: &Context,
    addr: &ModuleAddress,
    archive: &Path,
    options: &TestRunOptions,
    timeout: Duration,
    ctrl_c: bool,
) -> anyhow::Result<TestOutcome> {
    use anyhow::Context as _;
    let c = &ctx.client;
    ctx.progress
        .stage(&format!("creating a test configuration for {addr}"));
    let cv = c
        .create_test_config_version(addr)
        .await
        .with_context(|| format!("creating a test configuration version for {addr}"))?;
    let url = cv
        .upload_url
        .clone()
        .ok_or_else(|| PublishError::NoUploadLink {
            what: "test configuration".into(),
            id: addr.to_string(),
            version: cv.id.clone(),
        })?;
    c.upload_file(&url, archive, "test configuration", ctx.progress.as_ref())
        .await
        .context("uploading the test configuration")?;
    // Listening from before the run exists: a Ctrl-C from now on cancels it.
    let interrupt = Interrupt::listen(ctrl_c);
    let run = c
        .create_test_run(addr, &cv.id, options)
        .await
        .with_context(|| format!("creating a test run for {addr}"))?;
    let (run, stopped) = watch(ctx, addr, run, timeout, interrupt).await?;
    let log = match &run.log_read_url {
        Some(u) => {
            ctx.progress.mask(u.expose().as_str());
            c.read_test_log(u).await.context("reading the test log")?
        }
        None => String::new(),
    };
    let (text, failing) = read_log(&log);
    if !text.is_empty() {
        ctx.progress.log(&text);
    }
    Ok(TestOutcome {
        run,
        failing,
        stopped,
    })
}

/// Polls the run until it ends; on the deadline or Ctrl-C, cancels it (then
/// force-cancels it) and says so.
async fn watch(
    ctx: &Context,
    addr: &ModuleAddress,
    mut run: TestRun,
    timeout: Duration,
    mut interrupt: Interrupt,
) -> anyhow::Result<(TestRun, Option<(String, bool)>)> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last = String::new();
    let reason = loop {
        if run.status != last {
            ctx.progress
                .stage(&format!("test run {}: {}", run.id, run.status));
            last = run.status.clone();
        }
        if run.is_final() {
            return Ok((run, None));
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = tokio::time::sleep_until(deadline) => break (format!("--timeout of {}s reached", timeout.as_secs()), true),
            _ = interrupt.recv() => break ("interrupted (Ctrl-C)".to_string(), false),
        }
        run = refresh(ctx, addr, &run.id).await?;
    };
    let (run, how) = stop(ctx, addr, run).await?;
    let why = format!("{}; {how}", reason.0);
    ctx.progress.warn(&format!("test run {}: {why}", run.id));
    Ok((run, Some((why, reason.1))))
}

/// Ctrl-C (SIGINT), listened to from its creation on.
struct Interrupt {
    _claim: Option<crate::interrupt::Claim>,
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
    #[cfg(not(unix))]
    on: bool,
}

impl Interrupt {
    /// Listens from now on when `on`; otherwise never fires.
    fn listen(on: bool) -> Interrupt {
        Interrupt {
            _claim: on.then(crate::interrupt::Claim::new),
            #[cfg(unix)]
            signal: on
                .then(|| {
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok()
                })
                .flatten(),
            #[cfg(not(unix))]
            on,
        }
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        match &mut self.signal {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
        #[cfg(not(unix))]
        {
            if self.on {
                let _ = tokio::signal::ctrl_c().await;
            } else {
                std::future::pending::<()>().await;
            }
        }
    }
}

async fn refresh(ctx: &Context, addr: &ModuleAddress, id: &str) -> anyhow::Result<TestRun> {
    ctx.client
        .get_test_run(addr, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("test run {id} of {addr} disappeared from the registry"))
}

/// `cancel`, wait; if still active, `force-cancel`, wait. Returns the run and what was done.
async fn stop(
    ctx: &Context,
    addr: &ModuleAddress,
    run: TestRun,
) -> anyhow::Result<(TestRun, String)> {
    let c = &ctx.client;
    ctx.progress
        .stage(&format!("canceling test run {}", run.id));
    // A run that ended meanwhile cannot be canceled (409): the re-read tells.
    let _ = c.cancel_test_run(addr, &run.id, false).await;
    let run = settle(ctx, addr, &run.id, STOP_GRACE).await?;
    if run.is_final() {
        return Ok((run, "the run was canceled".into()));
    }
    ctx.progress
        .stage(&format!("force-canceling test run {}", run.id));
    let _ = c.cancel_test_run(addr, &run.id, true).await;
    let run = settle(ctx, addr, &run.id, STOP_GRACE).await?;
    let how = if run.is_final() {
        "it did not stop when canceled and was force-canceled"
    } else {
        "it did not stop when canceled or force-canceled; check it in the registry"
    };
    Ok((run, how.into()))
}

/// Re-reads the run until it is final or `grace` has passed.
async fn settle(
    ctx: &Context,
    addr: &ModuleAddress,
    id: &str,
    grace: Duration,
) -> anyhow::Result<TestRun> {
    let started = Instant::now();
    loop {
        let run = refresh(ctx, addr, id).await?;
        if run.is_final() || started.elapsed() >= grace {
            return Ok(run);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Terraform's JSON view as text (each line's `@message`, a diagnostic's detail under
/// it; other lines as they are), and the failing tests with their first error.
pub fn read_log(log: &str) -> (String, Vec<(String, String)>) {
    let mut text = Vec::new();
    let mut failing: Vec<(String, String)> = Vec::new();
    for line in log.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            if !line.trim().is_empty() {
                text.push(line.to_string());
            }
            continue;
        };
        let s = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or_default();
        match s("/@message") {
            "" => text.push(line.to_string()),
            m => text.push(m.to_string()),
        }
        if let Some(d) = v.get("diagnostic") {
            let detail = d.get("detail").and_then(Value::as_str).unwrap_or_default();
            if !detail.is_empty() {
                text.push(format!("  {}", detail.replace('\n', "\n  ")));
            }
            let test = format!("{}: {}", s("/@testfile"), s("/@testrun"));
            if let Some(f) = failing.iter_mut().find(|f| f.0 == test && f.1.is_empty()) {
                f.1 = format!("{}: {detail}", s("/diagnostic/summary"));
            }
        }
        let done = s("/test_run/progress") == "complete";
        if done && matches!(s("/test_run/status"), "fail" | "error") {
            failing.push((
                format!("{}: {}", s("/test_run/path"), s("/test_run/run")),
                String::new(),
            ));
        }
    }
    (text.join("\n"), failing)
}

#[cfg(test)]
mod unit {
    use super::read_log;

    #[test]
    fn the_json_view_gives_messages_and_failing_tests() {
        let log = r#"{"@message":"Found 2 files and 2 run blocks","type":"test_abstract"}
{"@message":"  \"says_goodbye\"... fail","@testfile":"tests/fail.tftest.hcl","@testrun":"says_goodbye","test_run":{"path":"tests/fail.tftest.hcl","run":"says_goodbye","progress":"complete","status":"fail"},"type":"test_run"}
{"@level":"error","@message":"Error: Test assertion failed","@testfile":"tests/fail.tftest.hcl","@testrun":"says_goodbye","diagnostic":{"severity":"error","summary":"Test assertion failed","detail":"the module does not say goodbye"},"type":"diagnostic"}
{"@message":"  \"greets\"... pass","@testfile":"tests/pass.tftest.hcl","@testrun":"greets","test_run":{"path":"tests/pass.tftest.hcl","run":"greets","progress":"complete","status":"pass"},"type":"test_run"}
plain stderr line"#;
        let (text, failing) = read_log(log);
        assert_eq!(
            failing,
            vec![(
                "tests/fail.tftest.hcl: says_goodbye".to_string(),
                "Test assertion failed: the module does not say goodbye".to_string()
            )]
        );
        assert!(text.contains("Error: Test assertion failed\n  the module does not say goodbye"));
        assert!(text.ends_with("plain stderr line"));
    }
}
