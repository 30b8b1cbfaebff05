//! Module tests' records: test configuration versions (an uploaded module archive a test
//! run executes), test runs (status, timestamps, counts, the stored log and its read
//! token) and the module's test environment variables (`vars`).
//!
//! Imports only `db` (timestamps), `uploads` (the one-shot upload token of a
//! configuration version) and the store's error type.

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Map, Value};

use super::uploads;
use super::{StoreError, StoreResult};
use crate::db::now;

/// A test configuration version: `pending` until its archive arrives, then `uploaded`.
pub(crate) struct ConfigVersion {
    pub id: i64,
    pub module_id: i64,
    pub status: String,
    pub auto_queue: bool,
    pub blob: Option<String>,
}

/// One test run.
pub(crate) struct TestRun {
    pub id: i64,
    pub module_id: i64,
    pub cv_id: i64,
    pub status: String,
    pub test_status: Option<String>,
    /// passed, failed, errored, skipped (None until the run finished).
    pub counts: Option<[i64; 4]>,
    pub variables: Value,
    pub filters: Value,
    pub test_directory: String,
    pub verbose: bool,
    pub source: String,
    pub message: String,
    pub timestamps: Value,
    pub log_token: String,
    pub has_log: bool,
    pub cancel_requested: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// What a new run is asked to do.
pub(crate) struct NewRun {
    pub cv_id: i64,
    pub variables: Value,
    pub filters: Value,
    pub test_directory: String,
    pub verbose: bool,
    pub source: &'static str,
    pub message: &'static str,
}

/// A module test environment variable.
pub(crate) struct TestVar {
    pub id: i64,
    pub key: String,
    pub value: String,
    pub description: Option<String>,
    pub category: String,
    pub sensitive: bool,
    pub created_at: String,
    pub version_id: String,
}

fn cv_row(r: &rusqlite::Row) -> rusqlite::Result<ConfigVersion> {
    Ok(ConfigVersion {
        id: r.get(0)?,
        module_id: r.get(1)?,
        status: r.get(2)?,
        auto_queue: r.get(3)?,
        blob: r.get(4)?,
    })
}

const CV_COLS: &str = "id, module_id, status, auto_queue, blob";

pub(crate) fn create_config_version(
    conn: &Connection,
    module_id: i64,
    auto_queue: bool,
) -> StoreResult<ConfigVersion> {
    let t = now();
    conn.execute(
        "INSERT INTO test_config_versions (module_id, status, auto_queue, created_at, updated_at) VALUES (?1, 'pending', ?2, ?3, ?3)",
        params![module_id, auto_queue, t],
    )?;
    find_config_version(conn, conn.last_insert_rowid())
}

pub(crate) fn find_config_version(conn: &Connection, id: i64) -> StoreResult<ConfigVersion> {
    super::one(
        conn,
        &format!("SELECT {CV_COLS} FROM test_config_versions WHERE id=?1"),
        [id],
        cv_row,
        || format!("configuration version cv-{id} not found"),
    )
}

/// The organization of the module a configuration version was created for.
pub(crate) fn config_version_org(conn: &Connection, id: i64) -> StoreResult<String> {
    super::one(
        conn,
        "SELECT m.org FROM test_config_versions c JOIN modules m ON m.id = c.module_id WHERE c.id=?1",
        [id],
        |r| r.get(0),
        || format!("configuration version cv-{id} not found"),
    )
}

/// Attaches an uploaded archive to its configuration version and uses up the token.
pub(crate) fn record_upload(
    conn: &mut Connection,
    cv_id: i64,
    sha: &str,
    token: &str,
) -> StoreResult<ConfigVersion> {
    let tx = conn.transaction()?;
    let n = tx.execute(
        "UPDATE test_config_versions SET blob=?2, status='uploaded', updated_at=?3 WHERE id=?1 AND blob IS NULL",
        params![cv_id, sha, now()],
    )?;
    if n == 0 {
        return Err(StoreError::Conflict(
            "this configuration version already has its files".into(),
        ));
    }
    uploads::consume(&tx, token)?;
    tx.commit()?;
    find_config_version(conn, cv_id)
}

const RUN_COLS: &str = "id, module_id, cv_id, status, test_status, passed, failed, errored, skipped, variables, filters, test_directory, verbose, source, message, timestamps, log_token, log IS NOT NULL, cancel_requested, created_at, updated_at";

fn json_col(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Value> {
    let s: String = r.get(i)?;
    Ok(serde_json::from_str(&s).unwrap_or(Value::Null))
}

fn run_row(r: &rusqlite::Row) -> rusqlite::Result<TestRun> {
    let passed: Option<i64> = r.get(5)?;
    let counts = match passed {
        Some(p) => Some([p, r.get(6)?, r.get(7)?, r.get(8)?]),
        None => None,
    };
    Ok(TestRun {
        id: r.get(0)?,
        module_id: r.get(1)?,
        cv_id: r.get(2)?,
        status: r.get(3)?,
        test_status: r.get(4)?,
        counts,
        variables: json_col(r, 9)?,
        filters: json_col(r, 10)?,
        test_directory: r.get(11)?,
        verbose: r.get(12)?,
        source: r.get(13)?,
        message: r.get(14)?,
        timestamps: json_col(r, 15)?,
        log_token: r.get(16)?,
        has_log: r.get(17)?,
        cancel_requested: r.get(18)?,
        created_at: r.get(19)?,
        updated_at: r.get(20)?,
    })
}

/// Creates a run in `queued` (the runner picks it up when the module's previous runs
/// are done), owned by registry instance `owner`.
pub(crate) fn create_run(
    conn: &Connection,
    module_id: i64,
    new: &NewRun,
    owner: &str,
) -> StoreResult<TestRun> {
    let t = now();
    let stamps = json!({"queued-at": t});
    let token = hex::encode(rand::random::<[u8; 24]>());
    conn.execute(
        "INSERT INTO test_runs (module_id, cv_id, status, variables, filters, test_directory, verbose, source, message, timestamps, log_token, owner, created_at, updated_at) VALUES (?1, ?2, 'queued', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
        params![module_id, new.cv_id, new.variables.to_string(), new.filters.to_string(), new.test_directory, new.verbose, new.source, new.message, stamps.to_string(), token, owner, t],
    )?;
    find_run(conn, module_id, conn.last_insert_rowid())
}

pub(crate) fn find_run(conn: &Connection, module_id: i64, id: i64) -> StoreResult<TestRun> {
    super::one(
        conn,
        &format!("SELECT {RUN_COLS} FROM test_runs WHERE id=?1 AND module_id=?2"),
        params![id, module_id],
        run_row,
        || format!("test run trun-{id} not found"),
    )
}

/// A module's runs, newest first.
pub(crate) fn list_runs(conn: &Connection, module_id: i64) -> StoreResult<Vec<TestRun>> {
    let sql = format!("SELECT {RUN_COLS} FROM test_runs WHERE module_id=?1 ORDER BY id DESC");
    super::rows(conn, &sql, [module_id], run_row)
}

/// The stored log of the run holding `token`.
pub(crate) fn log_by_token(conn: &Connection, token: &str) -> StoreResult<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT log FROM test_runs WHERE log_token=?1",
            [token],
            |r| r.get::<_, Option<String>>(0),
        )
        .optional()?
        .flatten())
}

fn stamp(conn: &Connection, id: i64, key: &str, t: &str) -> StoreResult<()> {
    let cur: String =
        conn.query_row("SELECT timestamps FROM test_runs WHERE id=?1", [id], |r| {
            r.get(0)
        })?;
    let mut map: Map<String, Value> = serde_json::from_str(&cur).unwrap_or_default();
    map.insert(key.into(), json!(t));
    conn.execute(
        "UPDATE test_runs SET timestamps=?2 WHERE id=?1",
        params![id, Value::Object(map).to_string()],
    )?;
    Ok(())
}

/// `queued` → `running`; false when the run left `queued` meanwhile (canceled).
pub(crate) fn start_run(conn: &Connection, id: i64) -> StoreResult<bool> {
    let t = now();
    let n = conn.execute(
        "UPDATE test_runs SET status='running', updated_at=?2 WHERE id=?1 AND status='queued'",
        params![id, t],
    )?;
    if n == 1 {
        stamp(conn, id, "started-at", &t)?;
    }
    Ok(n == 1)
}

/// How a run ended.
pub(crate) struct RunEnd<'a> {
    pub status: &'a str,
    pub test_status: Option<&'a str>,
    pub counts: Option<[i64; 4]>,
    pub message: Option<&'a str>,
    pub log: Option<&'a str>,
}

/// Records a final status (only on a run still active).
pub(crate) fn finish_run(conn: &Connection, id: i64, end: &RunEnd) -> StoreResult<()> {
    let t = now();
    let c = end.counts;
    let n = conn.execute(
        "UPDATE test_runs SET status=?2, test_status=?3, passed=?4, failed=?5, errored=?6, skipped=?7, message=COALESCE(?8, message), log=COALESCE(?9, log), updated_at=?10 WHERE id=?1 AND status IN ('pending','queued','running')",
        params![id, end.status, end.test_status, c.map(|c| c[0]), c.map(|c| c[1]), c.map(|c| c[2]), c.map(|c| c[3]), end.message, end.log, t],
    )?;
    if n == 1 {
        stamp(conn, id, &format!("{}-at", end.status), &t)?;
    }
    Ok(())
}

pub(crate) fn request_cancel(conn: &Connection, id: i64) -> StoreResult<()> {
    conn.execute(
        "UPDATE test_runs SET cancel_requested=1, updated_at=?2 WHERE id=?1",
        params![id, now()],
    )?;
    Ok(())
}

/// Runs left active by registry instances that are gone: `errored`, so no run stays
/// `running` forever. `gone` decides per owner instance id.
pub(crate) fn error_orphans(conn: &Connection, gone: impl Fn(&str) -> bool) -> StoreResult<()> {
    let mut st = conn.prepare(
        "SELECT id, owner FROM test_runs WHERE status IN ('pending','queued','running')",
    )?;
    let rows: Vec<(i64, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let end = RunEnd {
        status: "errored",
        test_status: None,
        counts: None,
        message: Some("registry restarted during the run"),
        log: None,
    };
    for (id, _) in rows.iter().filter(|(_, o)| gone(o)) {
        finish_run(conn, *id, &end)?;
    }
    Ok(())
}

const VAR_COLS: &str = "id, key, value, description, category, sensitive, created_at, version_id";

fn var_row(r: &rusqlite::Row) -> rusqlite::Result<TestVar> {
    Ok(TestVar {
        id: r.get(0)?,
        key: r.get(1)?,
        value: r.get(2)?,
        description: r.get(3)?,
        category: r.get(4)?,
        sensitive: r.get(5)?,
        created_at: r.get(6)?,
        version_id: r.get(7)?,
    })
}

pub(crate) fn list_vars(conn: &Connection, module_id: i64) -> StoreResult<Vec<TestVar>> {
    let sql = format!("SELECT {VAR_COLS} FROM test_vars WHERE module_id=?1 ORDER BY key");
    super::rows(conn, &sql, [module_id], var_row)
}

pub(crate) fn find_var(conn: &Connection, module_id: i64, id: i64) -> StoreResult<TestVar> {
    super::one(
        conn,
        &format!("SELECT {VAR_COLS} FROM test_vars WHERE module_id=?1 AND id=?2"),
        params![module_id, id],
        var_row,
        || format!("variable var-{id} not found"),
    )
}

/// The key rule of the docs: a letter or underscore, then letters, digits, underscores.
pub(crate) fn valid_key(k: &str) -> bool {
    let mut chars = k.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn version_id(v: &TestVar) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(format!(
        "{}\0{}\0{:?}\0{}",
        v.key, v.value, v.description, v.sensitive
    ));
    h.update(rand::random::<[u8; 8]>());
    hex::encode(h.finalize())
}

/// Inserts or replaces a variable (`id` None: create; a taken key is refused).
pub(crate) fn save_var(conn: &Connection, module_id: i64, v: &TestVar) -> StoreResult<TestVar> {
    if !valid_key(&v.key) {
        return Err(StoreError::Invalid(format!(
            "Key {:?} is invalid: it must begin with a letter or underscore and contain only letters, numbers and underscores",
            v.key
        )));
    }
    let taken: Option<i64> = conn
        .query_row(
            "SELECT id FROM test_vars WHERE module_id=?1 AND key=?2",
            params![module_id, v.key],
            |r| r.get(0),
        )
        .optional()?;
    if taken.is_some_and(|t| t != v.id) {
        return Err(StoreError::Invalid(format!(
            "Key {:?} has already been taken",
            v.key
        )));
    }
    let vid = version_id(v);
    if v.id == 0 {
        conn.execute(
            "INSERT INTO test_vars (module_id, key, value, description, category, sensitive, created_at, version_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![module_id, v.key, v.value, v.description, v.category, v.sensitive, now(), vid],
        )?;
        return find_var(conn, module_id, conn.last_insert_rowid());
    }
    conn.execute(
        "UPDATE test_vars SET key=?3, value=?4, description=?5, category=?6, sensitive=?7, version_id=?8 WHERE module_id=?1 AND id=?2",
        params![module_id, v.id, v.key, v.value, v.description, v.category, v.sensitive, vid],
    )?;
    find_var(conn, module_id, v.id)
}

pub(crate) fn delete_var(conn: &Connection, module_id: i64, id: i64) -> StoreResult<()> {
    let n = conn.execute(
        "DELETE FROM test_vars WHERE module_id=?1 AND id=?2",
        params![module_id, id],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("variable var-{id} not found")));
    }
    Ok(())
}

#[cfg(test)]
mod unit {
    use super::valid_key;

    #[test]
    fn keys_follow_the_documented_rule() {
        for ok in ["a", "_x", "TF_VAR_token", "k9"] {
            assert!(valid_key(ok), "{ok}");
        }
        for bad in ["", "9a", "a-b", "a b", "é"] {
            assert!(!valid_key(bad), "{bad}");
        }
    }
}
