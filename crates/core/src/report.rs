//! The result of a command, as one stable JSON document (`tfpub.result/v1`) and as
//! human-readable lines, plus the progress sink the pipelines report through.
//!
//! Library code never prints: pipelines push [`Item`]s into a [`Outcome`] and progress
//! events into a [`Progress`] implementation chosen by the CLI (terminal bar, plain CI
//! lines, or nothing for `--json`).

use serde::Serialize;

use crate::error::ErrorKind;

/// The schema name written into every JSON result.
pub const SCHEMA: &str = "tfpub.result/v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutcomeKind {
    Published,
    AlreadyPublished,
    NothingToDo,
    Planned,
    Updated,
    Deleted,
    Failed,
    /// `module test`: the module's tests ran and passed.
    Tested,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemKind {
    Module,
    ModuleVersion,
    Provider,
    ProviderVersion,
    Platform,
    GpgKey,
    File,
    Tag,
    /// A Stack component configuration (`registry-components`).
    Component,
    /// One version of a Stack component configuration.
    ComponentVersion,
    /// A module test run (`trun-…`).
    TestRun,
    /// One test (`FILE: RUN`) of a test run.
    Test,
    /// A module test environment variable.
    TestVariable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Created,
    Uploaded,
    Skipped,
    Exists,
    Planned,
    Failed,
    Deleted,
    Updated,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub kind: ItemKind,
    pub id: String,
    pub version: Option<String>,
    pub action: Action,
    pub url: Option<String>,
    pub detail: Option<String>,
    /// Structured facts of a resource a command lists, shows, pulls or copies (`module
    /// list|show|pull`, `provider list|show|pull`, `registry copy`); absent elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facts: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Item {
    pub fn new(kind: ItemKind, id: impl Into<String>, action: Action) -> Self {
        Item {
            kind,
            id: id.into(),
            version: None,
            action,
            url: None,
            detail: None,
            facts: None,
        }
    }
    pub fn version(mut self, v: impl Into<String>) -> Self {
        self.version = Some(v.into());
        self
    }
    pub fn url(mut self, u: impl Into<String>) -> Self {
        self.url = Some(u.into());
        self
    }
    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }
    /// Adds one structured fact (see [`Item::facts`]).
    pub fn fact(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.facts
            .get_or_insert_with(Default::default)
            .insert(key.to_string(), value.into());
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetInfo {
    pub host: String,
    pub organization: String,
    pub local: bool,
}

/// A failed command's error, as `error` in the JSON result and as the human lines on
/// stderr. Built once from the error chain by [`ErrorInfo::from_error`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorInfo {
    /// The outermost message: what was being done, or what went wrong.
    pub message: String,
    /// The messages under it, outermost first; a message already contained in the one
    /// before it is left out.
    pub causes: Vec<String>,
    /// What to do next: the hint of the outermost layer error that has one.
    pub hint: Option<String>,
    /// The stable refusal kind of the outermost layer error that has one
    /// (`content-conflict`, `key-mismatch`, ...), null when none.
    pub kind: Option<ErrorKind>,
}

/// What a caller can add for error types this crate does not know (the embedded
/// registry's errors, for the binary): `Some((hint, kind))` when it recognises `e`.
pub type ExtraHint<'a> =
    dyn Fn(&(dyn std::error::Error + 'static)) -> Option<crate::error::HintAndKind> + 'a;

impl ErrorInfo {
    /// Walk the chain of `err` once, outermost first: collect the messages, and take the
    /// hint and the kind of the outermost error that has each. Layer errors of this crate
    /// are recognised by [`crate::error::layer_hint`]; `extra` is asked for the others.
    pub fn from_error(err: &anyhow::Error, extra: &ExtraHint<'_>) -> ErrorInfo {
        let mut messages: Vec<String> = Vec::new();
        let mut hint = None;
        let mut kind = None;
        for (depth, cause) in err.chain().enumerate() {
            let outer = if depth == 0 {
                crate::error::outer_layer_hint(err)
            } else {
                None
            };
            let said = outer
                .or_else(|| crate::error::layer_hint(cause))
                .or_else(|| extra(cause));
            if let Some((h, k)) = said {
                if hint.is_none() {
                    hint = h;
                }
                if kind.is_none() {
                    kind = k;
                }
            }
            let msg = cause.to_string();
            if messages.last().is_some_and(|prev| prev.contains(&msg)) {
                continue;
            }
            messages.push(msg);
        }
        let mut messages = messages.into_iter();
        ErrorInfo {
            message: messages.next().unwrap_or_default(),
            causes: messages.collect(),
            hint,
            kind,
        }
    }

    /// The lines printed on stderr: `error: …`, one `  caused by: …` per cause, then
    /// `  hint: …` when there is one.
    pub fn to_human(&self) -> String {
        let mut s = format!("error: {}\n", self.message);
        for c in &self.causes {
            s.push_str(&format!("  caused by: {c}\n"));
        }
        if let Some(h) = &self.hint {
            s.push_str(&format!("  hint: {h}\n"));
        }
        s
    }
}

/// What a command did. Serialises to the `tfpub.result/v1` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub schema: &'static str,
    pub command: String,
    pub ok: bool,
    pub outcome: OutcomeKind,
    pub published: bool,
    pub target: Option<TargetInfo>,
    pub items: Vec<Item>,
    /// Things the user should read that did not stop the command (a likely secret in a
    /// module, a state file left out). Also printed on stderr as they happen.
    pub warnings: Vec<String>,
    pub error: Option<ErrorInfo>,
    /// The human form, when the command shapes its own (the tables of `list` and
    /// `show`); `None` for the one-line-per-item form. Never in the JSON document.
    #[serde(skip)]
    pub text: Option<String>,
    /// The test run of `module test` (and of a publish that required tests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_run: Option<TestRunInfo>,
}

/// A module test run in the result: id, status, test status and the four counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct TestRunInfo {
    pub id: String,
    pub status: String,
    pub test_status: Option<String>,
    pub passed: u64,
    pub failed: u64,
    pub errored: u64,
    pub skipped: u64,
    /// The tests that failed or errored, as `FILE: RUN`.
    pub failing: Vec<String>,
}

impl Outcome {
    pub fn new(command: impl Into<String>) -> Self {
        Outcome {
            schema: SCHEMA,
            command: command.into(),
            ok: true,
            outcome: OutcomeKind::NothingToDo,
            published: false,
            target: None,
            items: Vec::new(),
            warnings: Vec::new(),
            error: None,
            text: None,
            test_run: None,
        }
    }

    /// Settle a batch command (several modules or tags, each may fail on its own):
    /// `ok`, `published` and `outcome` from what happened; `idle` is the outcome when
    /// nothing failed and nothing new was published.
    pub fn settle(
        &mut self,
        dry_run: bool,
        any_failed: bool,
        any_published: bool,
        idle: OutcomeKind,
    ) {
        self.ok = !any_failed;
        self.published = any_published;
        self.outcome = if dry_run {
            OutcomeKind::Planned
        } else if any_failed {
            OutcomeKind::Failed
        } else if any_published {
            OutcomeKind::Published
        } else {
            idle
        };
    }

    /// Settle a one-version publish: `Published` when this run completed the version,
    /// `AlreadyPublished` when the registry already served it.
    pub fn settle_version(&mut self, published: bool) {
        self.settle(false, false, published, OutcomeKind::AlreadyPublished);
    }

    /// Record warnings in the result and tell the user now (stderr, CI annotations).
    pub fn warn_all(&mut self, warnings: &[String], progress: &dyn Progress) {
        for w in warnings {
            progress.warn(w);
        }
        self.warnings.extend_from_slice(warnings);
    }

    pub fn push(&mut self, item: Item) {
        self.items.push(item);
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("result serialises")
    }

    /// Human-readable lines, one per item, then a summary line. A long run of tags the
    /// registry already has (a nightly sync of an old repository) is folded into one line;
    /// `--json` keeps every item.
    pub fn to_human(&self) -> String {
        const FOLD_OVER: usize = 10;
        if let Some(t) = &self.text {
            let mut out = t.clone();
            for w in &self.warnings {
                out.push_str(&format!("warning: {w}\n"));
            }
            return out;
        }
        let mut out = String::new();
        let existing: Vec<&Item> = self
            .items
            .iter()
            .filter(|i| i.kind == ItemKind::Tag && i.action == Action::Exists)
            .collect();
        let fold = existing.len() > FOLD_OVER;
        if fold {
            let first = existing.first().map(|i| i.id.as_str()).unwrap_or_default();
            let last = existing.last().map(|i| i.id.as_str()).unwrap_or_default();
            out.push_str(&format!(
                "  exists   {} tags already published ({first} … {last}; --json lists each)\n",
                existing.len()
            ));
        }
        for it in &self.items {
            if fold && it.kind == ItemKind::Tag && it.action == Action::Exists {
                continue;
            }
            let action = serde_json::to_value(it.action).unwrap_or_default();
            let kind = serde_json::to_value(it.kind).unwrap_or_default();
            out.push_str(&format!(
                "  {:<8} {} {}{}",
                action.as_str().unwrap_or(""),
                kind.as_str().unwrap_or(""),
                it.id,
                it.version
                    .as_deref()
                    .map(|v| format!(" {v}"))
                    .unwrap_or_default()
            ));
            if let Some(d) = &it.detail {
                out.push_str(&format!(" ({d})"));
            }
            out.push('\n');
        }
        for w in &self.warnings {
            out.push_str(&format!("  warning  {w}\n"));
        }
        let summary = match self.outcome {
            OutcomeKind::Published => "published",
            OutcomeKind::AlreadyPublished => "already published: nothing changed",
            OutcomeKind::NothingToDo if self.command.ends_with("sync") => {
                "nothing to publish: the registry has every version"
            }
            OutcomeKind::NothingToDo => "nothing to do",
            OutcomeKind::Planned => "dry run: nothing was changed",
            OutcomeKind::Updated => "updated",
            OutcomeKind::Deleted => "deleted",
            OutcomeKind::Failed => "failed",
            OutcomeKind::Tested => "tests passed",
        };
        out.push_str(&format!("{}: {summary}\n", self.command));
        out
    }
}

/// Progress events from long-running work. Implementations must be cheap and thread-safe.
pub trait Progress: Send + Sync {
    /// A stage started (e.g. "creating version 1.2.0").
    fn stage(&self, _message: &str) {}
    /// A transfer started: `id` names the file (never its URL), `total` its size.
    fn transfer_start(&self, _id: &str, _total: u64) {}
    /// Bytes sent so far for `id`.
    fn transfer_progress(&self, _id: &str, _sent: u64) {}
    /// A transfer finished.
    fn transfer_done(&self, _id: &str) {}
    /// A warning the user should read (likely secret in a module, retried request…).
    fn warn(&self, _message: &str) {}
    /// A secret value (an upload URL) is about to be used: a CI reporter may register it
    /// with the CI system's log masking (`::add-mask::` on GitHub Actions).
    fn mask(&self, _secret: &str) {}
    /// Lines of a log the user should read (a module test run's log).
    fn log(&self, _text: &str) {}
}

/// A progress sink that discards everything.
pub struct Silent;
impl Progress for Silent {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_existing_tags_fold_into_one_human_line() {
        let mut o = Outcome::new("module sync");
        for i in 0..12 {
            o.push(
                Item::new(ItemKind::Tag, format!("v1.{i}.0"), Action::Exists)
                    .version(format!("1.{i}.0")),
            );
        }
        o.push(Item::new(ItemKind::Tag, "v2.0.0", Action::Uploaded).version("2.0.0"));
        let h = o.to_human();
        assert!(
            h.contains("12 tags already published (v1.0.0 … v1.11.0"),
            "{h}"
        );
        assert!(!h.contains("exists   tag v1.3.0"), "{h}");
        assert!(h.contains("uploaded tag v2.0.0"), "{h}");
        assert_eq!(
            o.to_json().matches("\"exists\"").count(),
            12,
            "JSON keeps every item"
        );
        // A few are listed one per line.
        o.items.drain(0..5);
        assert!(o.to_human().contains("exists   tag v1.5.0 1.5.0"));
    }

    #[test]
    fn json_uses_documented_names() {
        let mut o = Outcome::new("module publish");
        o.outcome = OutcomeKind::AlreadyPublished;
        o.push(Item::new(ItemKind::ModuleVersion, "acme/vpc/aws", Action::Exists).version("1.0.0"));
        let v: serde_json::Value = serde_json::from_str(&o.to_json()).unwrap();
        assert_eq!(v["schema"], "tfpub.result/v1");
        assert_eq!(v["outcome"], "already-published");
        assert_eq!(v["items"][0]["kind"], "module-version");
        assert_eq!(v["items"][0]["action"], "exists");
        assert!(o
            .to_human()
            .contains("exists   module-version acme/vpc/aws 1.0.0"));
    }
}

/// Why a `tfpub.result/v1` document given back to tfpub (the CI report commands) was
/// refused.
#[derive(Debug, thiserror::Error)]
pub enum ResultDocError {
    #[error("the tfpub result is not valid JSON: {source}")]
    ParseResult {
        #[source]
        source: serde_json::Error,
    },
    #[error("the tfpub result is not a tfpub.result/v1 document (found schema {found:?})")]
    WrongSchema { found: Option<String> },
}

impl crate::error::Hint for ResultDocError {
    fn hint(&self) -> Option<String> {
        match self {
            ResultDocError::WrongSchema { .. } => Some("produce it with `tfpub --json ...`".into()),
            ResultDocError::ParseResult { .. } => None,
        }
    }
}

/// Reads a result document back: JSON of schema [`SCHEMA`].
pub fn read_result(json: &str) -> Result<serde_json::Value, ResultDocError> {
    let doc: serde_json::Value =
        serde_json::from_str(json).map_err(|source| ResultDocError::ParseResult { source })?;
    match doc.get("schema").and_then(serde_json::Value::as_str) {
        Some(SCHEMA) => Ok(doc),
        found => Err(ResultDocError::WrongSchema {
            found: found.map(str::to_owned),
        }),
    }
}

/// The `items` of a result document (none when absent).
pub fn result_items(doc: &serde_json::Value) -> &[serde_json::Value] {
    doc.get("items")
        .and_then(serde_json::Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}
