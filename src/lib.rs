//! tfpub: publish Terraform modules and providers to a private registry speaking the
//! HCP Terraform / Terraform Enterprise API, and serve that same API locally.
//!
//! The binary (`src/main.rs`) is a thin shell over this library: it parses arguments,
//! calls into [`cli`], and maps errors to exit codes. Nothing in the library prints or
//! exits on its own; progress and results go through [`report::Progress`].

pub mod api;
pub mod cli;
pub mod config;
pub mod error;
pub mod gha;
pub mod git;
pub mod package;
pub mod project;
pub mod publish;
pub mod registry;
pub mod report;
pub mod secret;
pub mod sign;
