//! Uploads to pre-signed archivist links.
//!
//! The link is a credential and points at another host, so the request carries no
//! `Authorization` header and is named in logs and errors only by the caller's `id`.
//! The file is streamed from disk; a retry reopens it and restarts from byte zero.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::Method;

use super::{transport_error, ApiError, Client};
use crate::report::Progress;
use crate::secret::SecretUrl;

impl Client {
    /// PUT the file at `path` to `url`; `id` names it in progress, logs and errors.
    pub async fn upload_file(
        &self,
        url: &SecretUrl,
        path: &Path,
        id: &str,
        progress: &dyn Progress,
    ) -> Result<(), ApiError> {
        progress.mask(url.expose().as_str());
        let file_err = |source| ApiError::File {
            id: id.to_string(),
            path: path.to_path_buf(),
            source,
        };
        let len = tokio::fs::metadata(path).await.map_err(file_err)?.len();
        let started = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let file = tokio::fs::File::open(path).await.map_err(file_err)?;
            progress.transfer_start(id, len);
            let sent = Arc::new(AtomicU64::new(0));
            let counter = sent.clone();
            // 256 KiB reads: each read of a tokio file is a trip to the blocking pool, and
            // the default 4 KiB made that trip 5,000 times per 20 MiB. Memory stays flat
            // (one buffer per upload in flight).
            let stream =
                tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024).map(move |chunk| {
                    if let Ok(c) = &chunk {
                        counter.fetch_add(c.len() as u64, Ordering::Relaxed);
                    }
                    chunk
                });
            self.count.fetch_add(1, Ordering::Relaxed);
            let req = self
                .plain
                .request(Method::PUT, url.expose().clone())
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_LENGTH, len)
                .timeout(Duration::from_secs(3600))
                .body(reqwest::Body::wrap_stream(stream))
                .send();
            tokio::pin!(req);
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            let result = loop {
                tokio::select! {
                    r = &mut req => break r,
                    _ = tick.tick() => progress.transfer_progress(id, sent.load(Ordering::Relaxed)),
                }
            };
            let err = match result {
                Ok(resp) if resp.status().is_success() => {
                    // Drain a small body so the connection can be reused; a larger one is
                    // dropped unread (the connection closes) rather than buffered.
                    let _ = super::transport::read_capped(resp, 64 * 1024).await;
                    progress.transfer_progress(id, len);
                    progress.transfer_done(id);
                    self.log(&format!("PUT {id} -> ok ({len} bytes)"));
                    return Ok(());
                }
                Ok(resp) => ApiError::Upload {
                    id: id.to_string(),
                    status: resp.status().as_u16(),
                },
                Err(e) => transport_error(&Method::PUT, id, e),
            };
            self.log(&format!("PUT {id} -> failed: {err}"));
            match self.next_delay(&err, attempts, started, None) {
                Some(d) => {
                    progress.warn(&format!(
                        "upload of {id} failed ({err}); retrying from the start"
                    ));
                    tokio::time::sleep(d).await;
                }
                None => return Err(Self::exhausted(err, attempts)),
            }
        }
    }
}
