//! The integration tests: one binary (one link) with a module per area.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

mod action;
mod api;
mod cli;
mod components;
mod conformance;
mod copy;
mod curation;
mod dirty;
mod ecosystem;
mod errors;
mod fields;
mod git;
mod gitlab;
mod gpg_lifecycle;
mod hostile;
mod hostile_client;
mod mirror;
mod module_publish;
mod module_tests;
mod no_code;
mod ops;
mod package;
mod permissions;
mod provider_publish;
mod proxy;
mod registry;
mod replay;
mod scale;
mod sign;
mod support;
mod sync;
mod tls;
mod upload_cap;
mod vcs;
