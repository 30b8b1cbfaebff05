//! The shared state of one running registry: database connection, blob store, tokens,
//! link base (and whether it is https), upload cap, fault switches and request counters.
//!
//! Imports the leaves `blobs`, `faults`, `stats` and `jsonapi` (for the base URL) only;
//! must not import handlers, routes or stores.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::HeaderMap;

use crate::blobs::Blobs;
use crate::faults::Faults;
use crate::jsonapi;
use crate::stats::Stats;

pub(crate) struct AppState {
    pub db: Mutex<rusqlite::Connection>,
    pub blobs: Blobs,
    pub tokens: Option<HashMap<String, Vec<String>>>,
    /// Per-token grants of the tokens file's object form (empty: everything granted).
    pub grants: HashMap<String, crate::permissions::TokenGrant>,
    pub public_url: Option<url::Url>,
    pub local_addr: SocketAddr,
    /// Serving https: links derived from the request say `https`.
    pub tls: bool,
    /// Largest archivist upload body, in bytes.
    pub max_upload_bytes: u64,
    /// Most bytes a module archive may unpack to, all entries together.
    pub max_unpacked_bytes: u64,
    /// How long an uploaded module version stays `reg_ingressing` (`--ingest-delay`).
    pub ingest_delay: std::time::Duration,
    /// The per-token request limit (`--rate-limit`), if any.
    pub rate_limit: Option<crate::ratelimit::RateLimit>,
    pub faults: Faults,
    pub stats: Stats,
    /// This registry instance's id, `PID-RANDOM`: the owner of its upload claims and the
    /// prefix of its temp files, so processes sharing a data folder never collide.
    pub instance: String,
    /// The module test runner (queues, cancel switches, the terraform to run).
    pub runner: crate::runner::Runner,
}

pub(crate) type SharedState = Arc<AppState>;

impl AppState {
    /// The database connection (a poisoned lock is still usable: SQLite keeps its own
    /// consistency).
    pub(crate) fn conn(&self) -> MutexGuard<'_, rusqlite::Connection> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The base URL links in this request's answer are built on: the public URL as
    /// configured, else the request's host with the scheme this registry serves.
    pub(crate) fn base_url(&self, headers: &HeaderMap) -> url::Url {
        let mut base = jsonapi::base_url(self.public_url.as_ref(), self.local_addr, headers);
        if self.tls && self.public_url.is_none() {
            // http -> https keeps every other part of the URL; it cannot fail.
            let _ = base.set_scheme("https");
        }
        base
    }
}
