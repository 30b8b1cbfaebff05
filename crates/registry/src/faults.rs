//! Test switches (rate limits, failures, dropped uploads, latency, stuck ingestion) and
//! request counting. The switches exist so client retry and failure handling can be
//! tested against the same server that the happy path uses.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

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
#[doc(hidden)]
#[derive(Clone, Default)]
pub struct Faults(Arc<Mutex<FaultState>>);

#[cfg_attr(not(feature = "faults"), allow(dead_code))] // setters are for tests and benches
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

    pub(crate) fn latency(&self) -> Duration {
        self.with(|s| s.latency)
    }

    pub(crate) fn take_rate_limit(&self) -> Option<f64> {
        self.with(|s| take_one(&mut s.rate_limit).then_some(s.rate_reset))
    }

    pub(crate) fn take_fail(&self) -> Option<u16> {
        self.with(|s| take_one(&mut s.fail).then_some(s.fail_status))
    }

    pub(crate) fn take_lose_upload(&self) -> bool {
        self.with(|s| take_one(&mut s.lose_uploads))
    }

    pub(crate) fn take_drop_upload(&self) -> bool {
        self.with(|s| take_one(&mut s.drop_uploads))
    }

    pub(crate) fn holding_pending(&self) -> bool {
        self.with(|s| s.hold_pending)
    }
}

/// Counts of the requests a registry received (method and path with query).
#[derive(Clone, Default)]
pub struct Stats(Arc<Mutex<Vec<(String, String)>>>);

impl Stats {
    fn seen(&self) -> std::sync::MutexGuard<'_, Vec<(String, String)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn record(&self, method: &str, path: &str) {
        self.seen().push((method.to_string(), path.to_string()));
    }

    /// All requests since start or the last reset.
    pub fn total(&self) -> usize {
        self.seen().len()
    }

    /// Requests with this method (case-insensitive) whose path and query contain
    /// `path_contains`.
    pub fn count(&self, method: &str, path_contains: &str) -> usize {
        self.seen()
            .iter()
            .filter(|(m, p)| m.eq_ignore_ascii_case(method) && p.contains(path_contains))
            .count()
    }

    /// POST, PATCH, PUT and DELETE requests.
    pub fn writes(&self) -> usize {
        self.seen()
            .iter()
            .filter(|(m, _)| matches!(m.as_str(), "POST" | "PATCH" | "PUT" | "DELETE"))
            .count()
    }

    pub fn reset(&self) {
        self.seen().clear()
    }
}

/// A TCP listener whose connections can be cut from inside a handler (to simulate an
/// upload that dies half-way).
pub(crate) struct KillableListener(pub tokio::net::TcpListener);

pub(crate) struct KillableStream {
    inner: tokio::net::TcpStream,
    killed: Arc<AtomicBool>,
}

impl axum::serve::Listener for KillableListener {
    type Io = KillableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((inner, addr)) => {
                    let _ = inner.set_nodelay(true);
                    return (
                        KillableStream {
                            inner,
                            killed: Arc::new(AtomicBool::new(false)),
                        },
                        addr,
                    );
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
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
    pub(crate) fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
    }
}

impl Connected<IncomingStream<'_, KillableListener>> for ConnControl {
    fn connect_info(target: IncomingStream<'_, KillableListener>) -> Self {
        ConnControl {
            killed: target.io().killed.clone(),
        }
    }
}
