//! The commands that are not pipelines: `whoami`, key generation and management, the
//! version-management verbs of modules and providers, and the glue that turns a command's
//! plain request into a pipeline call (tfpub.toml or not, which kind of release files).
//!
//! They live here rather than in the binary so that the command line only converts
//! arguments and renders results: everything a command *does* is library code, testable
//! without spawning the binary. Like the pipelines, nothing here prints; a question to
//! the user goes through [`Confirm`], which the caller implements.

pub mod ci;
pub mod component;
pub mod configure;
pub mod curate;
pub mod gpg_key;
pub mod link;
pub mod list;
pub mod module;
pub mod module_tests;
pub mod ops_error;
pub mod provider;
pub mod pull;
pub mod show;
pub mod whoami;

/// Asks the user to confirm a destructive step (`delete ...`). The command line answers
/// with `--yes`, a prompt on a terminal, or a refusal in a script.
pub trait Confirm {
    /// `what` reads as a verb phrase, e.g. "delete version 1.0.0 of module vpc/aws".
    fn confirm(&self, what: &str) -> anyhow::Result<()>;
}
