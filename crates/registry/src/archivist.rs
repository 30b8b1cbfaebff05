//! The archivist: one-shot upload links (minted per record, claimed by exactly one PUT,
//! used up by the upload that completes) and
//! unauthenticated blob downloads, plus the handlers behind them. A completed upload is
//! handed to the module or provider store, which attaches it to its record.
//!
//! Every upload body is capped ([`AppState::max_upload_bytes`](crate::state::AppState)):
//! one declared larger is refused before the link is claimed, one that grows past the cap
//! while streaming is cut there; either way the answer is a 413 naming the limit, no byte
//! of it is kept and the link stays usable for a correct retry. Without the cap, anyone
//! holding an upload link could fill the registry's disk.
//!
//! Imports `jsonapi`, `store`, `state` and `faults` (the upload fault hook); handlers may
//! import its link helpers, it imports no handler.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use futures_util::StreamExt;
use rusqlite::Connection;

use crate::faults::ConnControl;
use crate::jsonapi::{link, Problem, Reply};
use crate::state::SharedState;
use crate::store::uploads::{self, Claim, UploadKind};
use crate::store::{components, modules, providers};

/// The one-shot upload URL for (kind, target), minted on first use.
pub(crate) fn upload_link(
    conn: &Connection,
    base: &url::Url,
    kind: UploadKind,
    target: i64,
) -> Result<String, Problem> {
    let token = uploads::token_for(conn, kind, target)?;
    Ok(link(base, &format!("_archivist/upload/{token}")))
}

pub(crate) fn download_link(base: &url::Url, sha: &str, filename: &str) -> String {
    link(base, &format!("_archivist/blobs/{sha}/{filename}"))
}

/// A won claim on an upload link, released when dropped unless the upload completed: a
/// failed body, a refused file or a client that went away (the handler future is dropped)
/// leave the link usable for a retry.
struct ClaimGuard {
    state: SharedState,
    token: String,
    done: bool,
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        if !self.done {
            let _ = uploads::release(&self.state.conn(), &self.token, &self.state.instance);
        }
    }
}

/// How long a PUT that lost the race for its link waits for the winner to finish before
/// it is refused anyway.
const LOSER_WAIT: Duration = Duration::from_secs(60);

/// Claims the upload link `token` for this request. A link another PUT is using is
/// waited on, without reading a byte of this request's body, until that upload is
/// decided: if it completed, this one is refused (409) and nothing of it is stored; if it
/// failed and released the link, this request claims it in turn. Answering only once the
/// race is decided lets a refused client re-read the record and see the winner's outcome.
async fn claim_link(state: &SharedState, token: &str) -> Result<(UploadKind, i64), Problem> {
    let deadline = tokio::time::Instant::now() + LOSER_WAIT;
    let mut waited = false;
    loop {
        let claim = uploads::claim(&state.conn(), token, &state.instance)?;
        match claim {
            Claim::Won(kind, target) => return Ok((kind, target)),
            Claim::Unknown if waited => {
                return Err(Problem::conflict(
                    "another upload to this URL completed first; this one was not stored",
                ))
            }
            Claim::Unknown => return Err(Problem::not_found("unknown or already used upload URL")),
            Claim::Busy if tokio::time::Instant::now() >= deadline => {
                return Err(Problem::conflict(
                    "another upload to this URL is still in progress; this one was not stored",
                ))
            }
            Claim::Busy => {
                waited = true;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// The 413 answer for a body over `limit` bytes.
fn too_large(limit: u64) -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload too large",
        format!(
            "the upload is larger than this registry's limit of {limit} bytes; nothing was stored"
        ),
    )
}

/// The body's declared length, when it declares one.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(axum::http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// `body`, failing as soon as more than `limit` bytes have arrived (and setting `over`,
/// so the caller can tell this failure from a broken connection).
fn capped(body: Body, limit: u64, over: Arc<AtomicBool>) -> Body {
    let mut seen: u64 = 0;
    Body::from_stream(body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(axum::BoxError::from)?;
        seen = seen.saturating_add(chunk.len() as u64);
        if seen > limit {
            over.store(true, Ordering::Relaxed);
            return Err(axum::BoxError::from("upload larger than the limit"));
        }
        Ok(chunk)
    }))
}

/// `PUT /_archivist/upload/{token}`: refuses a body declared over the cap (413, link not
/// claimed), claims the link (one winner; a concurrent PUT is
/// refused with a 409 and nothing of its body is stored), streams the body into the blob store, checks it
/// off the async workers, then attaches it to the record the token was minted for.
pub(crate) async fn upload(
    State(state): State<SharedState>,
    conn_ctl: ConnControl,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Reply {
    let limit = state.max_upload_bytes;
    if declared_length(&headers).is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    let (kind, target) = claim_link(&state, &token).await?;
    let mut guard = ClaimGuard {
        state: state.clone(),
        token: token.clone(),
        done: false,
    };
    if let Some(fault) = state.faults.take_upload_fault() {
        return Ok(fault.apply(&conn_ctl, body).await);
    }
    let over = Arc::new(AtomicBool::new(false));
    let sha = state
        .blobs
        .store(capped(body, limit, over.clone()))
        .await
        .map_err(|e| {
            if over.load(Ordering::Relaxed) {
                too_large(limit)
            } else {
                Problem::bad_request(format!("upload did not complete: {e}"))
            }
        })?;
    match kind {
        UploadKind::Module => {
            let ingested = ingest_blob(&state, &sha, modules::ingest).await?;
            let delay = state.ingest_delay;
            match ingested {
                Some(Ok(())) if !delay.is_zero() => {
                    let status = crate::ingest::status_after_check(delay);
                    modules::record_upload_as(
                        &mut state.conn(),
                        target,
                        &sha,
                        &token,
                        status,
                        None,
                    )?;
                    crate::ingest::finish_later(state.clone(), target, delay);
                }
                _ => modules::record_upload(&mut state.conn(), target, &sha, &token, ingested)?,
            }
        }
        UploadKind::Component => {
            let ingested = ingest_blob(&state, &sha, components::ingest).await?;
            components::record_upload(&mut state.conn(), target, &sha, &token, ingested)?;
        }
        UploadKind::Binary => {
            let path = blob_path(&state, &sha)?;
            off_workers(move || providers::check_zip(&path))
                .await?
                .map_err(Problem::invalid)?;
            providers::record_upload(&mut state.conn(), kind, target, &sha, &token)?
        }
        UploadKind::TestConfig => {
            crate::runner::config_uploaded(&state, target, &sha, &token).await?
        }
        _ => providers::record_upload(&mut state.conn(), kind, target, &sha, &token)?,
    }
    guard.done = true;
    Ok(StatusCode::OK.into_response())
}

/// The file of a just-stored blob.
fn blob_path(state: &SharedState, sha: &str) -> Result<PathBuf, Problem> {
    state
        .blobs
        .path(sha)
        .ok_or_else(|| Problem::internal("bad blob digest"))
}

/// Checks a stored module or component archive with the store's `ingest`, off the async
/// workers; None (left `pending`) while the `faults` hook holds ingestion back.
async fn ingest_blob<T: Send + 'static>(
    state: &SharedState,
    sha: &str,
    ingest: fn(&std::path::Path, u64) -> T,
) -> Result<Option<T>, Problem> {
    let path = blob_path(state, sha)?;
    if state.faults.holding_pending() {
        return Ok(None);
    }
    let max = state.max_unpacked_bytes;
    Ok(Some(off_workers(move || ingest(&path, max)).await?))
}

/// Runs blocking work (archive checks read and decompress whole files) on the blocking
/// pool, so a big or hostile upload never stalls the async workers serving other requests.
async fn off_workers<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Problem> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Problem::internal(format!("archive check failed: {e}")))
}

/// `GET /_archivist/blobs/{sha}/{filename}`: a stored blob, by digest, streamed from disk
/// in chunks (memory use does not grow with the blob's size or the number of downloads).
pub(crate) async fn download(
    State(state): State<SharedState>,
    Path((sha, _filename)): Path<(String, String)>,
) -> Reply {
    let path = state
        .blobs
        .path(&sha)
        .ok_or_else(|| Problem::not_found("no such file"))?;
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|_| Problem::not_found("no such file"))?;
    let len = file
        .metadata()
        .await
        .map_err(|e| Problem::internal(format!("cannot read blob: {e}")))?
        .len();
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024));
    Ok((
        StatusCode::OK,
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/octet-stream".to_string(),
            ),
            (axum::http::header::CONTENT_LENGTH, len.to_string()),
        ],
        body,
    )
        .into_response())
}
