//! Per-module settings beyond the module record: the test configuration
//! (`test-config`: tests enabled, execution mode, agent pool) and the VCS link of a
//! module created from a repository (`vcs-repo`: identifier, OAuth token id, branch or
//! tags, source directory, tag prefix). One row per module, removed with it.
//!
//! Imports `db` only; no HTTP types.

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreResult;

/// `test-config` of a registry module (modules.md "Update a Private Registry Module").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TestConfig {
    pub enabled: bool,
    /// `remote` or `agent`.
    pub mode: String,
    pub pool: Option<String>,
}

/// `vcs-repo` of a VCS-linked module. `tags` and a non-empty `branch` exclude each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VcsLink {
    pub identifier: String,
    pub oauth_token_id: String,
    pub display_identifier: String,
    pub branch: String,
    pub tags: bool,
    pub source_directory: Option<String>,
    pub tag_prefix: Option<String>,
}

fn ensure_row(conn: &Connection, module_id: i64) -> StoreResult<()> {
    conn.execute(
        "INSERT OR IGNORE INTO module_settings (module_id) VALUES (?1)",
        [module_id],
    )?;
    Ok(())
}

/// The module's test configuration, if it was ever set.
pub(crate) fn test_config(conn: &Connection, module_id: i64) -> StoreResult<Option<TestConfig>> {
    Ok(conn
        .query_row(
            "SELECT tests_enabled, agent_mode, agent_pool FROM module_settings WHERE module_id=?1 AND tests_enabled IS NOT NULL",
            [module_id],
            |r| {
                Ok(TestConfig {
                    enabled: r.get(0)?,
                    mode: r.get::<_, Option<String>>(1)?.unwrap_or_else(|| "remote".into()),
                    pool: r.get(2)?,
                })
            },
        )
        .optional()?)
}

pub(crate) fn set_test_config(
    conn: &Connection,
    module_id: i64,
    t: &TestConfig,
) -> StoreResult<()> {
    ensure_row(conn, module_id)?;
    conn.execute(
        "UPDATE module_settings SET tests_enabled=?1, agent_mode=?2, agent_pool=?3 WHERE module_id=?4",
        params![t.enabled, t.mode, t.pool, module_id],
    )?;
    Ok(())
}

/// The module's VCS link, if it was created from a repository.
pub(crate) fn vcs(conn: &Connection, module_id: i64) -> StoreResult<Option<VcsLink>> {
    Ok(conn
        .query_row(
            "SELECT vcs_identifier, vcs_oauth_token_id, vcs_display_identifier, vcs_branch, vcs_tags, vcs_source_directory, vcs_tag_prefix FROM module_settings WHERE module_id=?1 AND vcs_identifier IS NOT NULL",
            [module_id],
            |r| {
                Ok(VcsLink {
                    identifier: r.get(0)?,
                    oauth_token_id: r.get(1)?,
                    display_identifier: r.get(2)?,
                    branch: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                    tags: r.get(4)?,
                    source_directory: r.get(5)?,
                    tag_prefix: r.get(6)?,
                })
            },
        )
        .optional()?)
}

pub(crate) fn set_vcs(conn: &Connection, module_id: i64, v: &VcsLink) -> StoreResult<()> {
    ensure_row(conn, module_id)?;
    conn.execute(
        "UPDATE module_settings SET vcs_identifier=?1, vcs_oauth_token_id=?2, vcs_display_identifier=?3, vcs_branch=?4, vcs_tags=?5, vcs_source_directory=?6, vcs_tag_prefix=?7 WHERE module_id=?8",
        params![
            v.identifier,
            v.oauth_token_id,
            v.display_identifier,
            v.branch,
            v.tags,
            v.source_directory,
            v.tag_prefix,
            module_id
        ],
    )?;
    Ok(())
}

/// Marks a version failed with `error` (a VCS version this registry cannot ingest).
pub(crate) fn fail_version(conn: &Connection, version_id: i64, error: &str) -> StoreResult<()> {
    conn.execute(
        "UPDATE module_versions SET status='reg_ingress_failed', error=?1, updated_at=?2 WHERE id=?3",
        params![error, crate::db::now(), version_id],
    )?;
    Ok(())
}
