//! tfpub: publish Terraform modules and providers to a private registry speaking the
//! HCP Terraform / Terraform Enterprise API, and serve that same API locally.
//!
//! The binary (the top-level `tfpub` package, `src/`) is a thin shell over this library:
//! it parses arguments, calls into it, and maps errors to exit codes. This crate does not
//! depend on the embedded registry (`crates/registry`), so the compiler keeps the client
//! and the pipelines from ever reaching into it. Nothing in the library prints or
//! exits on its own; progress and results go through [`report::Progress`].

pub mod api;
pub mod commands;
pub mod config;
pub mod error;
pub mod gha;
pub mod git;
pub mod gitlab;
pub mod interrupt;
pub mod package;
pub mod project;
pub mod proxy;
pub mod publish;
pub mod report;
pub mod secret;
pub mod sign;
pub mod vocab;
