//! The archivist: one-shot upload links (minted per record, used up by the upload) and
//! unauthenticated blob downloads, plus the handlers behind them. A completed upload is
//! handed to the module or provider store, which attaches it to its record.
//!
//! Imports `jsonapi`, `store`, `state` and `faults` (the upload fault hook); handlers may
//! import its link helpers, it imports no handler.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use rusqlite::Connection;

use crate::faults::ConnControl;
use crate::jsonapi::{link, Problem, Reply};
use crate::state::SharedState;
use crate::store::uploads::{self, UploadKind};
use crate::store::{modules, providers};

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

/// `PUT /_archivist/upload/{token}`: streams the body into the blob store, then attaches
/// it to the record the token was minted for.
pub(crate) async fn upload(
    State(state): State<SharedState>,
    conn_ctl: ConnControl,
    Path(token): Path<String>,
    body: Body,
) -> Reply {
    let found = uploads::lookup(&state.conn(), &token)?;
    let Some((kind, target)) = found else {
        return Err(Problem::not_found("unknown or already used upload URL"));
    };
    if let Some(fault) = state.faults.take_upload_fault() {
        return Ok(fault.apply(&conn_ctl, body).await);
    }
    let sha = state
        .blobs
        .store(body)
        .await
        .map_err(|e| Problem::bad_request(format!("upload did not complete: {e}")))?;
    match kind {
        UploadKind::Module => {
            let path = state
                .blobs
                .path(&sha)
                .ok_or_else(|| Problem::internal("bad blob digest"))?;
            let ingested = (!state.faults.holding_pending()).then(|| modules::ingest(&path));
            modules::record_upload(&mut state.conn(), target, &sha, &token, ingested)?;
        }
        _ => providers::record_upload(&mut state.conn(), kind, target, &sha, &token)?,
    }
    Ok(StatusCode::OK.into_response())
}

/// `GET /_archivist/blobs/{sha}/{filename}`: a stored blob, by digest.
pub(crate) async fn download(
    State(state): State<SharedState>,
    Path((sha, _filename)): Path<(String, String)>,
) -> Reply {
    let path = state
        .blobs
        .path(&sha)
        .ok_or_else(|| Problem::not_found("no such file"))?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| Problem::not_found("no such file"))?;
    Ok((
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "application/octet-stream")],
        bytes,
    )
        .into_response())
}
