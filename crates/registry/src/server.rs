//! The accept loop: hyper's HTTP/1 connection builder driven directly, because
//! `axum::serve` offers no header-read timeout and no connection cap. Every connection
//! gets a header-read timeout (a request line or headers sent half-way, or a keep-alive
//! connection left idle between requests, is closed), an idle timeout (no byte moves either
//! way for that long while the connection waits on the client) and one of a bounded number
//! of slots (when all are taken, new connections wait in the kernel's backlog rather than
//! exhausting file descriptors).
//!
//! With a TLS acceptor, each connection's handshake runs in its own task, inside its slot
//! and bounded by the header-read timeout (a client that opens a socket and never finishes
//! the handshake is dropped like one that never sends its headers); the idle timeout sits
//! under TLS, on the socket itself, so it counts the same bytes either way.
//!
//! A leaf apart from the router it is handed: imports nothing from the crate; `faults`
//! calls it with the plain or the killable connection type.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

/// The most a connection buffers of what it reads (hyper's minimum is 8 KiB); enough
/// headers for any request, and upload bodies stream through it.
const READ_BUFFER: usize = 64 * 1024;

/// What the server accepts on: the bound socket, and the TLS acceptor when it serves https.
pub(crate) struct Listener {
    pub(crate) tcp: TcpListener,
    pub(crate) tls: Option<TlsAcceptor>,
}

/// Connection limits of a running registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// Longest wait for a request's line and headers, counted from the connection's
    /// start or the end of the previous answer (so it also closes idle keep-alive
    /// connections).
    pub header_read_timeout: Duration,
    /// Longest time a connection may wait on its client with no byte moving (a request
    /// body that stalls half-way).
    pub idle_timeout: Duration,
    /// Most connections served at once; further ones wait to be accepted.
    pub max_connections: usize,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
            max_connections: 256,
        }
    }
}

/// Serves `app` on `listener` within `limits` until `shutdown` completes, then lets the
/// open connections finish their current request. `wrap` turns each accepted socket into
/// the connection's IO and a value inserted into every request's extensions.
pub(crate) async fn serve<Io, Ext>(
    listener: Listener,
    app: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
    wrap: impl Fn(TcpStream) -> (Io, Ext) + Send + 'static,
) where
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    Ext: Clone + Send + Sync + 'static,
{
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let (closing_tx, closing_rx) = tokio::sync::watch::channel(false);
    let mut conns = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            _ = &mut shutdown => break,
            s = slots.clone().acquire_owned() => match s {
                Ok(s) => s,
                Err(_) => break,
            },
        };
        let tcp = tokio::select! {
            _ = &mut shutdown => break,
            r = listener.tcp.accept() => match r {
                Ok((tcp, _)) => tcp,
                Err(_) => {
                    // Out of descriptors or a reset before accept: back off briefly.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let (io, ext) = wrap(tcp);
        let io = IdleTimeout::new(io, limits.idle_timeout);
        let app = app.clone();
        let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ext.clone());
            let mut app = app.clone();
            async move { app.call(req.map(Body::new)).await }
        });
        let closing = closing_rx.clone();
        let tls = listener.tls.clone();
        conns.spawn(async move {
            let _slot = slot;
            match tls {
                None => serve_connection(io, svc, limits, closing).await,
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(limits.header_read_timeout, acceptor.accept(io));
                    // A failed or stalled handshake is the client's problem: rustls has
                    // already sent it the alert; the connection just ends.
                    if let Ok(Ok(tls_io)) = handshake.await {
                        serve_connection(tls_io, svc, limits, closing).await;
                    }
                }
            }
        });
        while conns.try_join_next().is_some() {}
    }
    let _ = closing_tx.send(true);
    while conns.join_next().await.is_some() {}
}

/// Serves HTTP/1 on one established connection (plain or TLS) until it ends, or, once
/// `closing` changes, until its current request is answered.
async fn serve_connection<Io, S>(
    io: Io,
    svc: S,
    limits: ConnLimits,
    mut closing: tokio::sync::watch::Receiver<bool>,
) where
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::HttpService<Incoming> + Send,
    S::Future: Send + 'static,
    S::ResBody: Send + 'static,
    <S::ResBody as hyper::body::Body>::Data: Send,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // A connection's read buffer grows while reads fill it (to ~400 KiB by default):
        // capped so that memory follows the number of uploads, not their speed.
        .max_buf_size(READ_BUFFER);
    let conn = builder.serve_connection(TokioIo::new(io), svc);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = closing.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// An IO that fails with `TimedOut` once a read or write has waited `limit` on the socket
/// with no byte moving. The clock starts when an operation first has to wait and stops
/// with any progress, so time spent in a handler (not waiting on the client) never counts.
struct IdleTimeout<Io> {
    inner: Io,
    limit: Duration,
    timer: Pin<Box<Sleep>>,
    waiting: bool,
}

impl<Io> IdleTimeout<Io> {
    fn new(inner: Io, limit: Duration) -> Self {
        IdleTimeout {
            inner,
            limit,
            timer: Box::pin(tokio::time::sleep(limit)),
            waiting: false,
        }
    }

    fn progressed(&mut self) {
        self.waiting = false;
    }

    /// Called when an operation is pending: starts the clock if it was not running, and
    /// says whether the limit has passed.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.waiting {
            self.waiting = true;
            let now = Instant::now();
            let deadline = now
                .checked_add(self.limit)
                .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365));
            self.timer.as_mut().reset(deadline);
        }
        self.timer.as_mut().poll(cx).is_ready()
    }
}

fn idle_error() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "connection idle for too long")
}

impl<Io: AsyncRead + Unpin> AsyncRead for IdleTimeout<Io> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.progressed();
                }
                Poll::Ready(r)
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(idle_error())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<Io> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(r) => {
                if matches!(r, Ok(n) if n > 0) {
                    self.progressed();
                }
                Poll::Ready(r)
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(idle_error())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(r) => {
                if matches!(r, Ok(n) if n > 0) {
                    self.progressed();
                }
                Poll::Ready(r)
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(idle_error())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
