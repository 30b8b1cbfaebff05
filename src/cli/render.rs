//! Everything the command line shows: the result (human lines, or one `tfpub.result/v1`
//! document with `--json`) on stdout; progress, warnings, prompts, the request log and
//! errors on stderr. This is the only module of the workspace that prints.
//!
//! Exit codes are decided in `cli/mod.rs`; the library never prints or exits.

// The one place allowed to print: every byte the user sees is written from here, so the
// workspace lints (`print_stdout`, `print_stderr`) stay on everywhere else.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;

use clap::CommandFactory;

use tfpub_core::commands::Confirm;
use tfpub_core::error::{ErrorKind, Hint};
use tfpub_core::report::{ErrorInfo, Outcome, OutcomeKind, Progress};

use super::args::Cli;
use super::error::CliError;

/// A command's result on stdout.
pub fn outcome(o: &Outcome, json: bool) {
    if json {
        println!("{}", o.to_json());
    } else {
        print!("{}", o.to_human());
    }
    let _ = std::io::stdout().flush();
    // A result that carries its own error (a module test that did not pass).
    if let Some(e) = &o.error {
        eprint!("{}", e.to_human());
    }
}

/// A failed command: the JSON document (with `--json`) on stdout, and always the
/// message, its causes and the hint on stderr.
pub fn failure(command: String, err: &anyhow::Error, json: bool) {
    let info = ErrorInfo::from_error(err, &binary_hint);
    let s = info.to_human();
    if json {
        let mut o = Outcome::new(command);
        o.ok = false;
        o.outcome = OutcomeKind::Failed;
        o.error = Some(info);
        println!("{}", o.to_json());
    }
    eprint!("{s}");
}

/// Hints for the errors `tfpub_core` cannot know: the embedded registry's (`registry
/// serve`, `--local`) and the command line's own. Every other layer is recognised by the
/// core.
fn binary_hint(
    cause: &(dyn std::error::Error + 'static),
) -> Option<(Option<String>, Option<ErrorKind>)> {
    if let Some(e) = cause.downcast_ref::<CliError>() {
        return Some((e.hint(), e.kind()));
    }
    let e = cause.downcast_ref::<tfpub_registry::RegistryError>()?;
    Some((e.hint(), None))
}

/// A failure before any command could run (no async runtime).
pub fn fatal(message: &str) {
    eprintln!("error: {message}");
}

/// A usage error, `--help` or `--version`, as clap words it; true when it was an error.
pub fn usage(e: &clap::Error) -> bool {
    let _ = e.print();
    e.use_stderr()
}

/// `tfpub completions SHELL`: the script on stdout.
pub fn completions(shell: clap_complete::Shell) {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "tfpub", &mut std::io::stdout());
}

/// `tfpub man`: man pages generated from the clap definitions. Without `dir`, the
/// top-level page (whose SUBCOMMANDS section lists every command) as roff on stdout;
/// with it, one page per visible command written into `dir`.
pub fn man(dir: Option<&std::path::Path>) -> std::io::Result<()> {
    match dir {
        None => clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout().lock()),
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            clap_mangen::generate_to(Cli::command(), dir)
        }
    }
}

/// Plain lines on stdout (`ci github-report`).
pub fn lines(lines: &[String]) {
    for l in lines {
        println!("{l}");
    }
}

/// One line of the `-v` request log.
pub fn http_log(line: &str) {
    eprintln!("tfpub: http: {line}");
}

/// What `registry serve` says once it listens: where, and how to point terraform at it.
pub fn serving(data: &Path, base: &url::Url) {
    eprintln!("tfpub: registry serving {} on {base}", data.display());
    eprintln!(
        "tfpub: to install from it with terraform, put this in a file and point TF_CLI_CONFIG_FILE at it:\n{}",
        tfpub_registry::cli_config_snippet("registry.tfpub.localhost", base)
    );
    eprintln!("tfpub: press Ctrl-C to stop");
}

/// Confirmation of a destructive command: `--yes`, else a prompt on a terminal; a script
/// without `--yes` is refused.
pub struct Prompt {
    pub yes: bool,
}

impl Confirm for Prompt {
    fn confirm(&self, what: &str) -> anyhow::Result<()> {
        if self.yes {
            return Ok(());
        }
        if !std::io::stdin().is_terminal() {
            return Err(CliError::NoTerminalToConfirm {
                what: what.to_string(),
            }
            .into());
        }
        eprint!("{what}? Type 'yes' to confirm: ");
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        if line.trim() == "yes" {
            Ok(())
        } else {
            Err(CliError::NotConfirmed.into())
        }
    }
}

/// Progress on stderr: a plain line per event in CI or when not on a terminal, a
/// redrawn transfer line on a terminal. `NO_COLOR` is honoured (no colour is used).
pub struct CliProgress {
    tty: bool,
    github: bool,
    last: Mutex<HashMap<String, (u64, u64)>>,
}

impl CliProgress {
    pub fn new() -> Self {
        let ci = std::env::var_os("CI").is_some() || std::env::var_os("GITHUB_ACTIONS").is_some();
        CliProgress {
            tty: std::io::stderr().is_terminal() && !ci,
            github: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
            last: Mutex::new(HashMap::new()),
        }
    }
}

impl Progress for CliProgress {
    fn stage(&self, message: &str) {
        eprintln!("tfpub: {message}");
    }
    fn log(&self, text: &str) {
        for line in text.lines() {
            eprintln!("  | {line}");
        }
    }
    fn transfer_start(&self, id: &str, total: u64) {
        self.last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string(), (0, total));
        if !self.tty {
            eprintln!("tfpub: uploading {id} ({total} bytes)");
        }
    }
    fn transfer_progress(&self, id: &str, sent: u64) {
        if !self.tty {
            return;
        }
        let mut m = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = m.get_mut(id) {
            e.0 = sent;
            let pct = (sent * 100).checked_div(e.1).unwrap_or(100);
            eprint!(
                "\r\x1b[2Ktfpub: uploading {id}: {pct}% ({sent}/{} bytes)",
                e.1
            );
        }
    }
    fn transfer_done(&self, id: &str) {
        if self.tty {
            eprint!("\r\x1b[2K");
        }
        eprintln!("tfpub: uploaded {id}");
    }
    fn warn(&self, message: &str) {
        if self.github {
            eprintln!(
                "::warning title=tfpub::{}",
                message.replace('%', "%25").replace('\n', "%0A")
            );
        } else {
            eprintln!("warning: {message}");
        }
    }
    fn mask(&self, secret: &str) {
        if self.github {
            // Registered with the runner's masking before the value is used anywhere.
            eprintln!("::add-mask::{secret}");
        }
    }
}
