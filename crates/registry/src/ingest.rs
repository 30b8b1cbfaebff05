//! The ingestion model of `registry serve --ingest-delay`: HCP Terraform ingests an
//! uploaded module archive asynchronously, so a version stays `pending`/`reg_ingressing`
//! for seconds after its upload. With a delay configured, an archive that passed the
//! ingestion check is recorded `reg_ingressing` and turns `ok` once the delay has passed;
//! an archive that failed the check is refused at once (`reg_ingress_failed`), as before.
//! Zero delay (the default) records `ok` immediately.
//!
//! A version still ingressing when the registry stops is finished at the next start
//! ([`finish_leftovers`]): its archive was checked before it was recorded.
//!
//! Imports `state` and `store::modules` only.

use std::time::Duration;

use crate::state::SharedState;
use crate::store::{modules, StoreResult};

/// The status an upload that passed the ingestion check is recorded with.
pub(crate) fn status_after_check(delay: Duration) -> &'static str {
    if delay.is_zero() {
        "ok"
    } else {
        "reg_ingressing"
    }
}

/// Turns version `version_id` `ok` after `delay` (nothing to do for a zero delay). The
/// timer is a detached task: the upload's answer does not wait for it.
pub(crate) fn finish_later(state: SharedState, version_id: i64, delay: Duration) {
    if delay.is_zero() {
        return;
    }
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        // A failure here leaves the version ingressing until the next start finishes it.
        let _ = modules::finish_ingesting(&state.conn(), version_id);
    });
}

/// At start: every version a stopped registry left `reg_ingressing` becomes `ok`.
pub(crate) fn finish_leftovers(conn: &rusqlite::Connection) -> StoreResult<usize> {
    modules::finish_all_ingesting(conn)
}
