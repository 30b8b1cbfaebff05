//! The SQLite schema. WAL mode and a busy timeout let two processes (a `registry serve`
//! and a `--local` publish) share one data directory. Blobs are referred to by sha256 only
//! after they are safely on disk.
//!
//! A leaf: imports nothing from the crate; only `lib.rs` (open) and the stores (`now`) use it.

use std::path::Path;

use rusqlite::Connection;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS modules (
  id INTEGER PRIMARY KEY,
  org TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, provider TEXT NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  no_code INTEGER NOT NULL DEFAULT 0,
  UNIQUE (org, namespace, name, provider));
CREATE TABLE IF NOT EXISTS module_versions (
  id INTEGER PRIMARY KEY,
  module_id INTEGER NOT NULL REFERENCES modules(id) ON DELETE CASCADE,
  version TEXT NOT NULL, status TEXT NOT NULL, error TEXT,
  commit_sha TEXT, blob TEXT,
  deprecated INTEGER NOT NULL DEFAULT 0, deprecation_reason TEXT, deprecation_link TEXT,
  revoked INTEGER NOT NULL DEFAULT 0, revocation_message TEXT, revocation_link TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  UNIQUE (module_id, version));
CREATE TABLE IF NOT EXISTS providers (
  id INTEGER PRIMARY KEY,
  org TEXT NOT NULL, registry_name TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  UNIQUE (org, registry_name, namespace, name));
CREATE TABLE IF NOT EXISTS provider_versions (
  id INTEGER PRIMARY KEY,
  provider_id INTEGER NOT NULL REFERENCES providers(id) ON DELETE CASCADE,
  version TEXT NOT NULL, key_id TEXT NOT NULL, protocols TEXT NOT NULL,
  shasums_blob TEXT, shasums_sig_blob TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  UNIQUE (provider_id, version));
CREATE TABLE IF NOT EXISTS platforms (
  id INTEGER PRIMARY KEY,
  version_id INTEGER NOT NULL REFERENCES provider_versions(id) ON DELETE CASCADE,
  os TEXT NOT NULL, arch TEXT NOT NULL, filename TEXT NOT NULL, shasum TEXT NOT NULL,
  blob TEXT,
  UNIQUE (version_id, os, arch));
CREATE TABLE IF NOT EXISTS gpg_keys (
  id INTEGER PRIMARY KEY,
  namespace TEXT NOT NULL, key_id TEXT NOT NULL, ascii_armor TEXT NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  UNIQUE (namespace, key_id));
CREATE TABLE IF NOT EXISTS uploads (
  token TEXT PRIMARY KEY,
  kind TEXT NOT NULL, target INTEGER NOT NULL,
  claimed_by TEXT, claimed_at INTEGER,
  UNIQUE (kind, target));
CREATE TABLE IF NOT EXISTS test_config_versions (
  id INTEGER PRIMARY KEY,
  module_id INTEGER NOT NULL REFERENCES modules(id) ON DELETE CASCADE,
  status TEXT NOT NULL, auto_queue INTEGER NOT NULL DEFAULT 1, blob TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS test_runs (
  id INTEGER PRIMARY KEY,
  module_id INTEGER NOT NULL REFERENCES modules(id) ON DELETE CASCADE,
  cv_id INTEGER NOT NULL,
  status TEXT NOT NULL, test_status TEXT,
  passed INTEGER, failed INTEGER, errored INTEGER, skipped INTEGER,
  variables TEXT NOT NULL, filters TEXT NOT NULL, test_directory TEXT NOT NULL,
  verbose INTEGER NOT NULL, source TEXT NOT NULL, message TEXT NOT NULL,
  timestamps TEXT NOT NULL, log_token TEXT NOT NULL UNIQUE, log TEXT,
  owner TEXT NOT NULL, cancel_requested INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS test_vars (
  id INTEGER PRIMARY KEY,
  module_id INTEGER NOT NULL REFERENCES modules(id) ON DELETE CASCADE,
  key TEXT NOT NULL, value TEXT NOT NULL, description TEXT,
  category TEXT NOT NULL, sensitive INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL, version_id TEXT NOT NULL,
  UNIQUE (module_id, key));
CREATE TABLE IF NOT EXISTS module_settings (
  module_id INTEGER PRIMARY KEY REFERENCES modules(id) ON DELETE CASCADE,
  tests_enabled INTEGER, agent_mode TEXT, agent_pool TEXT,
  vcs_identifier TEXT, vcs_oauth_token_id TEXT, vcs_display_identifier TEXT,
  vcs_branch TEXT, vcs_tags INTEGER NOT NULL DEFAULT 0,
  vcs_source_directory TEXT, vcs_tag_prefix TEXT);
CREATE TABLE IF NOT EXISTS curated_modules (
  id INTEGER PRIMARY KEY,
  org TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, provider TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (org, namespace, name, provider));
CREATE TABLE IF NOT EXISTS no_code_modules (
  id INTEGER PRIMARY KEY,
  module_id INTEGER NOT NULL UNIQUE REFERENCES modules(id) ON DELETE CASCADE,
  enabled INTEGER NOT NULL, version_pin TEXT, variable_options TEXT NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
"#;

/// Stack component configurations and their versions (stack-component-configurations.md):
/// ids are the public `comp-…` / `compver-…` strings; `providers`, `variables` and
/// `outputs` are JSON arrays read from the uploaded configuration.
const COMPONENT_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS components (
  id INTEGER PRIMARY KEY, public_id TEXT NOT NULL UNIQUE,
  org TEXT NOT NULL, name TEXT NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  UNIQUE (org, name));
CREATE TABLE IF NOT EXISTS component_versions (
  id INTEGER PRIMARY KEY, public_id TEXT NOT NULL UNIQUE,
  component_id INTEGER NOT NULL REFERENCES components(id) ON DELETE CASCADE,
  version TEXT NOT NULL, status TEXT NOT NULL, error TEXT, blob TEXT,
  readme TEXT, description TEXT, providers TEXT, variables TEXT, outputs TEXT,
  published_at TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  UNIQUE (component_id, version));
"#;

/// Columns added after the first release, for databases created before them:
/// (table, column, definition).
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("uploads", "claimed_by", "TEXT"),
    ("uploads", "claimed_at", "INTEGER"),
    ("modules", "no_code", "INTEGER NOT NULL DEFAULT 0"),
];

fn add_missing_columns(conn: &Connection) -> rusqlite::Result<()> {
    for (table, column, def) in ADDED_COLUMNS {
        let mut st = conn.prepare(&format!("PRAGMA table_info({table})"))?;
        let has = st
            .query_map([], |r| r.get::<_, String>(1))?
            .collect::<Result<Vec<_>, _>>()?
            .iter()
            .any(|c| c == column);
        if !has {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {def}"))?;
        }
    }
    Ok(())
}

pub(crate) fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.execute_batch(SCHEMA)?;
    conn.execute_batch(COMPONENT_SCHEMA)?;
    add_missing_columns(&conn)?;
    Ok(conn)
}

/// RFC 3339 timestamp with milliseconds, as the API writes them.
pub(crate) fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}
