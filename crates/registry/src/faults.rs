//! The one seam between request handling and the test/benchmark fault switches.
//!
//! Owns [`Faults`] (the switches), [`ConnControl`] (a handle that lets the upload handler
//! cut its own connection) and the listener the server accepts on. With the cargo feature
//! `faults` these are real; without it they are zero-sized no-ops whose checks compile
//! away, so a release build carries no fault code and handlers need no `cfg`.
//!
//! Imports only `jsonapi` (to shape an injected error) and `server` (the accept loop);
//! nothing here may import handlers, stores or the state.

#[cfg(feature = "faults")]
mod switches;

#[cfg(feature = "faults")]
pub use switches::Faults;
#[cfg(feature = "faults")]
pub(crate) use switches::{serve, ConnControl};

#[cfg(not(feature = "faults"))]
pub(crate) use off::{serve, ConnControl, Faults};

/// The release build: no switches, nothing to check.
#[cfg(not(feature = "faults"))]
mod off {
    use std::convert::Infallible;
    use std::future::Future;

    use axum::extract::FromRequestParts;
    use axum::http::request::Parts;
    use axum::response::Response;
    use axum::Router;

    use crate::server::ConnLimits;

    /// No fault switches: every check answers "no fault".
    #[derive(Clone, Default)]
    pub(crate) struct Faults(());

    /// An upload fault; none can happen in this build.
    pub(crate) enum UploadFault {}

    impl Faults {
        /// An injected answer for this request (none here).
        pub(crate) async fn before_request(&self, _is_api: bool) -> Option<Response> {
            None
        }

        pub(crate) fn take_upload_fault(&self) -> Option<UploadFault> {
            None
        }

        pub(crate) fn holding_pending(&self) -> bool {
            false
        }
    }

    impl UploadFault {
        pub(crate) async fn apply(self, _conn: &ConnControl, _body: axum::body::Body) -> Response {
            match self {}
        }
    }

    /// Nothing to control per connection in this build.
    #[derive(Clone)]
    pub(crate) struct ConnControl;

    impl<S: Send + Sync> FromRequestParts<S> for ConnControl {
        type Rejection = Infallible;

        async fn from_request_parts(_: &mut Parts, _: &S) -> Result<Self, Infallible> {
            Ok(ConnControl)
        }
    }

    /// Serves `app` on the listener's connections (TLS or plain) within `limits` until
    /// `shutdown` completes.
    pub(crate) async fn serve(
        listener: crate::server::Listener,
        app: Router,
        limits: ConnLimits,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) {
        crate::server::serve(listener, app, limits, shutdown, |tcp| (tcp, ())).await;
    }
}
