//! The embedded registry: a local server speaking the same private-registry API as HCP
//! Terraform / Terraform Enterprise (management API, archivist uploads, consumer protocol).
//!
//! Why it exists: publishing can be tried end to end (including a real `terraform init`)
//! without a cloud account, and the test suite has a registry whose failure modes
//! (rate limits, 5xx, dropped uploads, versions stuck `pending`) can be switched on.
//!
//! Storage is SQLite (WAL, so two processes may share a data directory) plus
//! content-addressed blobs. Links are computed per request from the public URL or the
//! `Host` header and never stored, so one data directory can be served on any port.

//!
//! This file is the public surface only. Inside, dependencies point one way:
//! `routes` (and its request checks in `guard`) → handlers (`modules`, `providers`, `gpg_keys`, `consumer`, `archivist`) →
//! {`jsonapi`, `auth`, `archivist` link helpers, `store`} → {`db`, `blobs`}; `state`,
//! `faults` and `stats` sit beside them and import no handler. The fault switches exist
//! only with the cargo feature `faults` (tests and benchmarks).

mod archivist;
mod auth;
mod blobs;
mod components;
mod consumer;
mod curation;
mod datadir;
mod db;
mod faults;
mod gpg_keys;
mod guard;
mod ingest;
mod jsonapi;
mod module_settings;
mod modules;
mod no_code;
mod observe;
mod permissions;
mod providers;
mod ratelimit;
mod routes;
mod runner;
mod server;
mod state;
mod stats;
mod store;
mod tests_api;
mod tls;
mod vcs;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[cfg(feature = "faults")]
pub use faults::Faults;
pub use permissions::{Permissions, TokenGrant, TokenKind};
pub use runner::DEFAULT_TEST_TIME_LIMIT;
pub use server::ConnLimits;
pub use stats::Stats;

use state::{AppState, SharedState};

/// Errors starting the registry or loading its configuration.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("refusing to listen on {addr} without a tokens file: easy local mode accepts any token, so it only binds loopback addresses")]
    NonLoopbackWithoutTokens { addr: SocketAddr },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot prepare registry data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a tfpub registry data folder: it holds other files and no {marker}", marker = datadir::MARKER)]
    NotDataDir { path: PathBuf },
    #[error("cannot use registry data folder {path}: {detail}")]
    DataDirFormat { path: PathBuf, detail: String },
    #[error("registry database {path}: {source}")]
    Database {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot read tokens file {path}: {source}")]
    TokensRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("tokens file {path} is not JSON of the form {{\"TOKEN\": [\"org\", ...]}} or {{\"TOKEN\": {{\"organizations\": [\"org\"], \"permissions\": {{...}}}}}}: {source}")]
    TokensParse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot read TLS {what} file {path}: {source}")]
    TlsRead {
        what: TlsFile,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("TLS {what} file {path} is not usable: {detail}")]
    TlsInvalid {
        what: TlsFile,
        path: PathBuf,
        detail: String,
    },
    #[error("TLS certificate {cert} and key {key} cannot be used together: {detail}")]
    TlsMismatch {
        cert: PathBuf,
        key: PathBuf,
        detail: String,
    },
}

/// Which of the two TLS files an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsFile {
    /// `--tls-cert`: the server certificate chain.
    Certificate,
    /// `--tls-key`: its private key.
    Key,
}

impl fmt::Display for TlsFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsFile::Certificate => "certificate",
            TlsFile::Key => "key",
        })
    }
}

impl RegistryError {
    /// What the user can do about it, if there is something to say.
    pub fn hint(&self) -> Option<String> {
        let hint = match self {
            RegistryError::NonLoopbackWithoutTokens { .. } => {
                "listen on 127.0.0.1 or pass a tokens file"
            }
            RegistryError::Bind { .. } => "is the port already in use?",
            RegistryError::Database { .. } => "is the data directory writable and not corrupted?",
            RegistryError::NotDataDir { .. } => {
                "pass --data an empty or new folder, or the data folder of a tfpub registry"
            }
            RegistryError::DataDirFormat { .. } => "use the tfpub version that wrote this folder",
            RegistryError::TlsRead { what, .. } | RegistryError::TlsInvalid { what, .. } => {
                match what {
                    TlsFile::Certificate => {
                        "pass --tls-cert a readable PEM file holding the server certificate, then any intermediates"
                    }
                    TlsFile::Key => {
                        "pass --tls-key a readable PEM file holding the certificate's unencrypted private key (PKCS#8, PKCS#1 or SEC1)"
                    }
                }
            }
            RegistryError::TlsMismatch { .. } => {
                "pass --tls-key the private key the certificate was issued for (leaf certificate first in --tls-cert)"
            }
            RegistryError::DataDir { .. }
            | RegistryError::TokensRead { .. }
            | RegistryError::TokensParse { .. } => return None,
        };
        Some(hint.to_string())
    }
}

/// How to run the registry.
#[derive(Clone)]
pub struct RegistryOptions {
    pub data_dir: PathBuf,
    /// token -> organizations it may use. None = easy local mode (loopback only):
    /// any bearer token accepted, orgs created on first use; writes w/o token -> 401.
    pub tokens: Option<HashMap<String, Vec<String>>>,
    /// token -> what it may do (the tokens file's object form); a token with no entry
    /// here may do everything on its organizations.
    pub grants: HashMap<String, TokenGrant>,
    /// Base URL written into links; None = derived from the request's Host header.
    pub public_url: Option<url::Url>,
    /// Header-read and idle timeouts and the connection cap.
    pub limits: ConnLimits,
    /// Serve https with this certificate and key; None = plain http.
    pub tls: Option<TlsFiles>,
    /// Largest archivist upload (module archive or provider file) in bytes; a bigger
    /// body is answered 413 and nothing of it is kept.
    pub max_upload_bytes: u64,
    /// Most bytes an uploaded module archive may unpack to (all entries together); a
    /// bigger one fails ingestion naming the limit. Lowered by tests to check the limit
    /// without uploading hundreds of MiB of incompressible data.
    pub max_unpacked_bytes: u64,
    /// The `terraform` module test runs use (`registry serve --terraform`); None = the
    /// first `terraform` on PATH when a run starts.
    pub terraform: Option<PathBuf>,
    /// The longest a module test run may take before it is stopped and `errored`.
    pub test_time_limit: std::time::Duration,
    /// How long an uploaded module version stays `reg_ingressing` before it turns `ok`,
    /// as HCP Terraform ingests asynchronously (`registry serve --ingest-delay`). Zero:
    /// `ok` at once.
    pub ingest_delay: std::time::Duration,
    /// At most this many API requests per token in any one second, the rest answered
    /// 429 as HCP Terraform answers past its limit of 30 (`registry serve --rate-limit`).
    /// None: no limit.
    pub rate_limit: Option<u32>,
}

/// The default of [`RegistryOptions::max_upload_bytes`]: 1 GiB.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 1024 * 1024 * 1024;
/// The default of [`RegistryOptions::max_unpacked_bytes`]: 256 MiB.
pub const DEFAULT_MAX_UNPACKED_BYTES: u64 = 256 * 1024 * 1024;

/// The PEM files of an https registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server certificate, then any intermediates.
    pub cert: PathBuf,
    /// Its private key (PKCS#8, PKCS#1 or SEC1), unencrypted.
    pub key: PathBuf,
}

impl RegistryOptions {
    /// Easy local mode, links derived from the `Host` header.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        RegistryOptions {
            data_dir: data_dir.into(),
            tokens: None,
            grants: HashMap::new(),
            public_url: None,
            limits: ConnLimits::default(),
            tls: None,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            max_unpacked_bytes: DEFAULT_MAX_UNPACKED_BYTES,
            terraform: None,
            test_time_limit: DEFAULT_TEST_TIME_LIMIT,
            ingest_delay: std::time::Duration::ZERO,
            rate_limit: None,
        }
    }
}

impl fmt::Debug for RegistryOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryOptions")
            .field("data_dir", &self.data_dir)
            .field(
                "tokens",
                &self
                    .tokens
                    .as_ref()
                    .map(|t| format!("[{} REDACTED]", t.len())),
            )
            .field("public_url", &self.public_url)
            .field("limits", &self.limits)
            .field("tls", &self.tls)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("max_unpacked_bytes", &self.max_unpacked_bytes)
            .field("terraform", &self.terraform)
            .field("test_time_limit", &self.test_time_limit)
            .field("ingest_delay", &self.ingest_delay)
            .field("rate_limit", &self.rate_limit)
            .finish()
    }
}

/// Reads a tokens file: JSON `{"TOKEN": ["org", ...]}`, or per token an object
/// ([`TokenGrant`]); returns the organizations of each token (the grants are dropped: see
/// [`load_token_grants`]).
pub fn load_tokens_file(path: &Path) -> Result<HashMap<String, Vec<String>>, RegistryError> {
    Ok(load_token_grants(path)?
        .into_iter()
        .map(|(t, g)| (t, g.organizations))
        .collect())
}

/// Reads a tokens file with each token's grant (the list form grants everything on its
/// organizations). Set both [`RegistryOptions::tokens`] and [`RegistryOptions::grants`]
/// from it with [`RegistryOptions::with_grants`].
pub fn load_token_grants(path: &Path) -> Result<HashMap<String, TokenGrant>, RegistryError> {
    let text = std::fs::read_to_string(path).map_err(|source| RegistryError::TokensRead {
        path: path.to_path_buf(),
        source,
    })?;
    permissions::parse_tokens(&text).map_err(|source| RegistryError::TokensParse {
        path: path.to_path_buf(),
        source,
    })
}

impl RegistryOptions {
    /// Tokens mode with these grants: each token may use its grant's organizations.
    pub fn with_grants(mut self, grants: HashMap<String, TokenGrant>) -> Self {
        self.tokens = Some(
            grants
                .iter()
                .map(|(t, g)| (t.clone(), g.organizations.clone()))
                .collect(),
        );
        self.grants = grants;
        self
    }
}

/// Starts the registry on `listen` (port 0 picks a free port), over https when
/// `opts.tls` is set. Refuses a non-loopback address unless tokens are configured, and
/// unusable TLS files before anything is bound or written.
pub async fn start(
    opts: RegistryOptions,
    listen: SocketAddr,
) -> Result<RunningRegistry, RegistryError> {
    if opts.tokens.is_none() && !listen.ip().is_loopback() {
        return Err(RegistryError::NonLoopbackWithoutTokens { addr: listen });
    }
    let limits = opts.limits;
    let acceptor = opts.tls.as_ref().map(tls::acceptor).transpose()?;
    let instance = format!("{}-{:016x}", std::process::id(), rand::random::<u64>());
    let dir_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RegistryError::DataDir { path, source }
    };
    let tmp = datadir::prepare(&opts.data_dir).map_err(|p| match p {
        datadir::DataDirProblem::Foreign => RegistryError::NotDataDir {
            path: opts.data_dir.clone(),
        },
        datadir::DataDirProblem::Marker(detail) => RegistryError::DataDirFormat {
            path: opts.data_dir.clone(),
            detail,
        },
        datadir::DataDirProblem::Io(e) => dir_err(&opts.data_dir)(e),
    })?;
    let blobs = blobs::Blobs::open(&opts.data_dir, tmp).map_err(dir_err(&opts.data_dir))?;
    let db_path = opts.data_dir.join("registry.db");
    let conn = db::open(&db_path).map_err(|source| RegistryError::Database {
        path: db_path.clone(),
        source,
    })?;
    runner::recover(&conn, &instance).map_err(|e| RegistryError::Database {
        path: db_path.clone(),
        source: rusqlite::Error::ToSqlConversionFailure(format!("{e:?}").into()),
    })?;
    // Ingestions a stopped registry left unfinished (`--ingest-delay`) end now.
    let _ = ingest::finish_leftovers(&conn);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| RegistryError::Bind {
            addr: listen,
            source,
        })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| RegistryError::Bind {
            addr: listen,
            source,
        })?;
    let state = Arc::new(AppState {
        db: Mutex::new(conn),
        blobs,
        tokens: opts.tokens,
        grants: opts.grants,
        public_url: opts.public_url,
        local_addr,
        tls: acceptor.is_some(),
        max_upload_bytes: opts.max_upload_bytes,
        max_unpacked_bytes: opts.max_unpacked_bytes,
        ingest_delay: opts.ingest_delay,
        rate_limit: opts.rate_limit.map(ratelimit::RateLimit::new),
        faults: faults::Faults::default(),
        stats: Stats::default(),
        runner: runner::Runner::new(opts.terraform, opts.test_time_limit),
        instance,
    });
    let app = routes::router(state.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let listener = server::Listener {
        tcp: listener,
        tls: acceptor,
    };
    let task = tokio::spawn(faults::serve(listener, app, limits, async move {
        let _ = rx.await;
    }));
    Ok(RunningRegistry {
        addr: local_addr,
        state,
        stop: Some(tx),
        task,
    })
}

/// A registry serving in the background of the current tokio runtime.
pub struct RunningRegistry {
    addr: SocketAddr,
    state: SharedState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl fmt::Debug for RunningRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningRegistry")
            .field("addr", &self.addr)
            .finish()
    }
}

impl RunningRegistry {
    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/`, or `https://…` when serving TLS.
    pub fn base_url(&self) -> url::Url {
        let scheme = if self.state.tls { "https" } else { "http" };
        url::Url::parse(&format!("{scheme}://{}/", self.addr)).expect("socket address forms a URL")
    }

    /// Fault switches, for tests and benchmarks (cargo feature `faults`).
    #[cfg(feature = "faults")]
    pub fn faults(&self) -> Faults {
        self.state.faults.clone()
    }

    /// Request counters.
    pub fn stats(&self) -> Stats {
        self.state.stats.clone()
    }

    /// Stops accepting, lets in-flight requests finish (up to 5 s), then stops.
    pub async fn shutdown(mut self) {
        self.state.runner.stop_all(&self.state.instance);
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let abort = self.task.abort_handle();
        if tokio::time::timeout(std::time::Duration::from_secs(5), &mut self.task)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
}

impl Drop for RunningRegistry {
    fn drop(&mut self) {
        self.state.runner.stop_all(&self.state.instance);
        self.task.abort();
    }
}

/// The Terraform CLI configuration `host` block that maps `host_alias` (a hostname
/// containing a dot, e.g. `registry.tfpub.test`) to this registry's service URLs, since
/// Terraform only discovers services over HTTPS on its own.
pub fn cli_config_snippet(host_alias: &str, base: &url::Url) -> String {
    let join = |p: &str| {
        base.join(p)
            .map(|u| u.to_string())
            .unwrap_or_else(|_| format!("{base}{p}"))
    };
    format!(
        "host \"{host_alias}\" {{\n  services = {{\n    \"modules.v1\"   = \"{}\",\n    \"providers.v1\" = \"{}\",\n  }}\n}}\n",
        join("api/registry/v1/modules/"),
        join("api/registry/v1/providers/"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_errors() -> Vec<RegistryError> {
        let io = || std::io::Error::other("boom");
        let path = PathBuf::from("/data");
        vec![
            RegistryError::NonLoopbackWithoutTokens {
                addr: "0.0.0.0:1".parse().unwrap(),
            },
            RegistryError::Bind {
                addr: "127.0.0.1:1".parse().unwrap(),
                source: io(),
            },
            RegistryError::DataDir {
                path: path.clone(),
                source: io(),
            },
            RegistryError::Database {
                path: path.clone(),
                source: rusqlite::Error::InvalidQuery,
            },
            RegistryError::TokensRead {
                path: path.clone(),
                source: io(),
            },
            RegistryError::NotDataDir { path: path.clone() },
            RegistryError::DataDirFormat {
                path: path.clone(),
                detail: "newer".into(),
            },
            RegistryError::TokensParse {
                path: path.clone(),
                source: serde_json::from_str::<u8>("x").unwrap_err(),
            },
            RegistryError::TlsRead {
                what: TlsFile::Certificate,
                path: path.clone(),
                source: io(),
            },
            RegistryError::TlsInvalid {
                what: TlsFile::Key,
                path: path.clone(),
                detail: "no PEM private key".into(),
            },
            RegistryError::TlsMismatch {
                cert: path.clone(),
                key: path,
                detail: "keys do not match".into(),
            },
        ]
    }

    #[test]
    fn no_message_carries_its_hint() {
        for e in all_errors() {
            assert!(!e.to_string().contains("hint"), "{e}");
        }
    }

    #[test]
    fn hints_say_what_to_do() {
        let hints: Vec<Option<String>> = all_errors().iter().map(RegistryError::hint).collect();
        assert_eq!(
            hints,
            vec![
                Some("listen on 127.0.0.1 or pass a tokens file".to_string()),
                Some("is the port already in use?".to_string()),
                None,
                Some("is the data directory writable and not corrupted?".to_string()),
                None,
                Some(
                    "pass --data an empty or new folder, or the data folder of a tfpub registry"
                        .to_string()
                ),
                Some("use the tfpub version that wrote this folder".to_string()),
                None,
                Some("pass --tls-cert a readable PEM file holding the server certificate, then any intermediates".to_string()),
                Some("pass --tls-key a readable PEM file holding the certificate's unencrypted private key (PKCS#8, PKCS#1 or SEC1)".to_string()),
                Some("pass --tls-key the private key the certificate was issued for (leaf certificate first in --tls-cert)".to_string()),
            ]
        );
    }
}
