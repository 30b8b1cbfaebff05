//! The integration tests: one binary (one link) with a module per area.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

mod action;
mod api;
mod cli;
mod errors;
mod git;
mod hostile;
mod module_publish;
mod package;
mod provider_publish;
mod registry;
mod sign;
mod support;
mod sync;
