//! The real fault switches (cargo feature `faults`): rate limits, failures, dropped or
//! lost uploads, latency and stuck ingestion, plus the listener whose connections a
//! handler can cut. They exist so client retry and failure handling can be tested against
//! the same server that the happy path uses.
//!
//! Imports only `jsonapi` (the shape of an injected error) and `server` (the accept loop
//! its connections run in).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::jsonapi::Problem;
use crate::server::ConnLimits;

#[derive(Default)]
struct FaultState {
    rate_limit: u32,
    rate_reset: f64,
    fail: u32,
    fail_status: u16,
    drop_uploads: u32,
    lose_uploads: u32,
    latency: Duration,
    hold_pending: bool,
}

/// Use up one of a countdown's remaining faults; false once it is at zero.
fn take_one(remaining: &mut u32) -> bool {
    let armed = *remaining > 0;
    if armed {
        *remaining -= 1;
    }
    armed
}

/// Cloneable handle on the fault switches of one running registry.
#[derive(Clone, Default)]
pub struct Faults(Arc<Mutex<FaultState>>);

impl Faults {
    fn with<R>(&self, f: impl FnOnce(&mut FaultState) -> R) -> R {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }

    /// The next `n` API requests answer 429 with `X-RateLimit-Reset: reset_secs`.
    pub fn rate_limit_next(&self, n: u32, reset_secs: f64) {
        self.with(|s| {
            s.rate_limit = n;
            s.rate_reset = reset_secs;
        })
    }

    /// The next `n` API requests answer `status` (e.g. 503).
    pub fn fail_next(&self, n: u32, status: u16) {
        self.with(|s| {
            s.fail = n;
            s.fail_status = status;
        })
    }

    /// The next `n` archivist uploads read part of the body, then drop the connection.
    pub fn drop_next_uploads(&self, n: u32) {
        self.with(|s| s.drop_uploads = n)
    }

    /// The next `n` archivist uploads answer 200 but store nothing (a registry that
    /// lost a file): only a read-back can notice.
    pub fn lose_next_uploads(&self, n: u32) {
        self.with(|s| s.lose_uploads = n)
    }

    /// Delay added to every request.
    pub fn set_latency(&self, d: Duration) {
        self.with(|s| s.latency = d)
    }

    /// Module versions stay `pending` after their upload while on.
    pub fn hold_pending(&self, on: bool) {
        self.with(|s| s.hold_pending = on)
    }

    /// Sleeps the configured latency, then, for an API request, the injected 429 or
    /// failure answer if one is armed.
    pub(crate) async fn before_request(&self, is_api: bool) -> Option<Response> {
        let latency = self.with(|s| s.latency);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        if !is_api {
            return None;
        }
        if let Some(reset) = self.with(|s| take_one(&mut s.rate_limit).then_some(s.rate_reset)) {
            return Some(crate::jsonapi::too_many_requests(reset, 30));
        }
        let status = self.with(|s| take_one(&mut s.fail).then_some(s.fail_status))?;
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        Some(Problem::new(status, "injected failure", "fault injected by the test").into_response())
    }

    /// The fault the next archivist upload suffers, if one is armed.
    pub(crate) fn take_upload_fault(&self) -> Option<UploadFault> {
        self.with(|s| {
            if take_one(&mut s.drop_uploads) {
                Some(UploadFault::Drop)
            } else if take_one(&mut s.lose_uploads) {
                Some(UploadFault::Lose)
            } else {
                None
            }
        })
    }

    pub(crate) fn holding_pending(&self) -> bool {
        self.with(|s| s.hold_pending)
    }
}

/// What happens to an upload instead of storing it.
pub(crate) enum UploadFault {
    /// Read part of the body, then cut the connection.
    Drop,
    /// Read the whole body, answer 200, store nothing.
    Lose,
}

impl UploadFault {
    pub(crate) async fn apply(self, conn: &ConnControl, body: Body) -> Response {
        let mut stream = body.into_data_stream();
        match self {
            UploadFault::Drop => {
                let _ = stream.next().await;
                conn.kill();
                Problem::internal("upload dropped by fault").into_response()
            }
            UploadFault::Lose => {
                while let Some(chunk) = stream.next().await {
                    if chunk.is_err() {
                        break;
                    }
                }
                StatusCode::OK.into_response()
            }
        }
    }
}

/// Serves `app` within `limits` on connections a handler can cut, until `shutdown`
/// completes.
pub(crate) async fn serve(
    listener: crate::server::Listener,
    app: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    crate::server::serve(listener, app, limits, shutdown, |inner| {
        let killed = Arc::new(AtomicBool::new(false));
        let ctl = ConnControl {
            killed: killed.clone(),
        };
        (KillableStream { inner, killed }, ctl)
    })
    .await;
}

/// A connection that reports itself reset once killed (to simulate an upload that dies
/// half-way).
struct KillableStream {
    inner: tokio::net::TcpStream,
    killed: Arc<AtomicBool>,
}

fn killed_err() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionReset,
        "connection dropped by fault",
    )
}

impl AsyncRead for KillableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed_err()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed_err()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed_err()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Per-connection handle given to handlers: lets one cut its own connection.
#[derive(Clone)]
pub(crate) struct ConnControl {
    killed: Arc<AtomicBool>,
}

impl ConnControl {
    fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ConnControl {
    type Rejection = Infallible;

    /// The handle of the request's connection (a detached one if the server was not
    /// started by `serve`).
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(parts
            .extensions
            .get::<ConnControl>()
            .cloned()
            .unwrap_or_else(|| ConnControl {
                killed: Arc::new(AtomicBool::new(false)),
            }))
    }
}
