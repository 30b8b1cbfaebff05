//! Client for the HCP Terraform / Terraform Enterprise private registry API (and the
//! embedded registry, which speaks the same API), split by area:
//!
//! - `transport`: the [`Client`], its options, and the request/retry/decode glue shared
//!   by every area; `health`: `ping` and the publishing preflight;
//! - `modules`, `providers`, `gpg_keys`: the management API of each resource;
//! - `consumer`: service discovery and what Terraform itself reads and downloads;
//! - `upload`: streaming uploads to pre-signed links; `retry`: backoff and the rate
//!   limiter; `types`: the resources as plain structs; `error`: [`ApiError`];
//!   `server_text`: what makes every server-chosen string safe to print.
//!
//! Callers see one `Client` type with methods from every area; addresses, statuses, key
//! ids and digests are the types of [`crate::vocab`].

mod components;
mod consumer;
mod curation;
mod error;
mod gpg_keys;
mod health;
mod modules;
mod no_code;
mod permissions;
mod providers;
mod retry;
mod server_text;
mod tests;
mod transport;
mod types;
mod upload;
mod vcs;

pub use components::{
    ComponentProvider, ComponentVersion, ComponentVersionStatus, RegistryComponent,
};
pub use consumer::MAX_MODULE_ARCHIVE;
pub use curation::PublicEntry;
pub use error::ApiError;
pub use no_code::{ModuleSettings, NoCodeModule, TestConfig, VarOption, VcsRepo};
pub use permissions::{Access, Need, Verdict, EXPIRY_WARNING};
pub use retry::{Limiter, RetryPolicy};
pub use server_text::{server_text, MAX_SERVER_TEXT};
pub use tests::{
    TestConfigVersion, TestRun, TestRunOptions, TestVariable, TestVariableInput, MAX_TEST_LOG,
};
pub(crate) use transport::transport_error;
pub use transport::{Client, ClientOptions, LogFn, MAX_API_BODY};
pub use types::*;
pub use vcs::VcsLinkRequest;
