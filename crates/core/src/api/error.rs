//! API errors. Every variant names the request (method and URL path, never the query or
//! an upload URL); none carries a token or a pre-signed link. What to do about it and the
//! refusal kind come from the [`Hint`] impl, never from the message.

use std::path::PathBuf;

use crate::error::{ErrorKind, Hint};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{method} {path}: HTTP {status} {title}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Status {
        status: u16,
        title: String,
        detail: Option<String>,
        method: String,
        path: String,
    },
    #[error("{method} {path}: HTTP 401 Unauthorized: the token was rejected")]
    Unauthorized { method: String, path: String },
    #[error("{method} {path}: HTTP 404 Not Found")]
    NotFound { method: String, path: String },
    #[error("organization {organization:?} not found or not accessible ({path})")]
    OrganizationNotFound { organization: String, path: String },
    #[error("{method} {path}: still rate limited (HTTP 429) after {attempts} attempts")]
    RateLimited {
        method: String,
        path: String,
        attempts: u32,
    },
    #[error("{method} {path}: {message}")]
    Transport {
        method: String,
        path: String,
        message: String,
    },
    #[error("{method} {path}: cannot verify the TLS certificate of {host}: {reason}")]
    Tls {
        method: String,
        path: String,
        host: String,
        reason: String,
    },
    #[error("{method} {path}: timed out")]
    Timeout { method: String, path: String },
    #[error("{method} {path}: unexpected response body: {reason}")]
    Decode {
        method: String,
        path: String,
        reason: String,
    },
    #[error("{method} {path}: redirected to another host ({to}); not followed so the token stays with {from}")]
    CrossHostRedirect {
        method: String,
        path: String,
        from: String,
        to: String,
    },
    #[error("{method} {path}: the response body is larger than the {limit}-byte limit; not read")]
    BodyTooLarge {
        method: String,
        path: String,
        limit: u64,
    },
    #[error("upload of {id} failed: HTTP {status}")]
    Upload { id: String, status: u16 },
    #[error("reading {path} for upload of {id}: {source}")]
    File {
        id: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("CA certificate {path}: {reason}")]
    CaCert { path: PathBuf, reason: String },
    #[error("building the HTTP client: {0}")]
    Client(String),
    #[error("service discovery at {url}: {reason}")]
    Discovery { url: String, reason: String },
    /// The token's permissions, the organization's entitlements or the token's expiry
    /// (read by the preflight) do not allow the command; nothing was sent.
    #[error("{message}")]
    NotPermitted { message: String, hint: String },
}

impl ApiError {
    /// The HTTP status behind this error, if any.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            ApiError::Unauthorized { .. } => Some(401),
            ApiError::NotFound { .. } | ApiError::OrganizationNotFound { .. } => Some(404),
            ApiError::RateLimited { .. } => Some(429),
            ApiError::Upload { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// A 422 whose detail says the thing already exists ("Version has already been
    /// taken", "Provider must be unique", ...). Callers should still re-read to confirm.
    pub fn is_duplicate(&self) -> bool {
        match self {
            ApiError::Status {
                status: 422,
                detail,
                title,
                ..
            } => {
                let text = format!("{} {}", title, detail.as_deref().unwrap_or("")).to_lowercase();
                [
                    "already been taken",
                    "must be unique",
                    "already exists",
                    "has already",
                ]
                .iter()
                .any(|p| text.contains(p))
            }
            _ => false,
        }
    }

    pub(crate) fn is_retryable(&self) -> bool {
        match self {
            ApiError::Transport { .. } | ApiError::Timeout { .. } => true,
            ApiError::Status { status, .. } => *status >= 500 || *status == 429,
            ApiError::Upload { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

impl Hint for ApiError {
    fn hint(&self) -> Option<String> {
        if let ApiError::NotPermitted { hint, .. } = self {
            return Some(hint.clone());
        }
        if let ApiError::Tls { host, .. } = self {
            return Some(format!(
                "if {host} uses a private CA, pass that CA's certificate (PEM) with --ca-cert FILE or SSL_CERT_FILE=FILE"
            ));
        }
        let h = match self {
            ApiError::Unauthorized { .. } => {
                "check the token for this host (TF_TOKEN_<host>, TFE_TOKEN or `terraform login`); it may be expired or revoked"
            }
            ApiError::NotFound { .. } => {
                "the resource does not exist, or the token cannot see it (the API hides what you may not access)"
            }
            ApiError::OrganizationNotFound { .. } => {
                "check --organization / TFE_ORGANIZATION and that the token's user or team can manage the private registry"
            }
            ApiError::RateLimited { .. } => "retry later (a provider publish can also lower --concurrency)",
            ApiError::Transport { .. } => {
                "check the host is reachable and its certificate trusted (--ca-cert)"
            }
            ApiError::Timeout { .. } => "the service is slow or unreachable; retry later",
            ApiError::Upload { .. } => "the upload link may have expired; re-run to get a new one",
            ApiError::BodyTooLarge { .. } => {
                "no Terraform registry answers this much; check that --host / TFE_HOSTNAME points at a registry"
            }
            ApiError::CaCert { .. } => "--ca-cert / SSL_CERT_FILE must be a PEM certificate",
            ApiError::Status { status: 422, .. } => {
                "the registry refused the request; see the detail above"
            }
            ApiError::Status { status, .. } if *status >= 500 => "the service failed; retry later",
            _ => return None,
        };
        Some(h.to_owned())
    }

    fn kind(&self) -> Option<ErrorKind> {
        match self {
            ApiError::Unauthorized { .. }
            | ApiError::NotPermitted { .. }
            | ApiError::Status { status: 401, .. } => Some(ErrorKind::Unauthorized),
            ApiError::NotFound { .. }
            | ApiError::OrganizationNotFound { .. }
            | ApiError::Status { status: 404, .. } => Some(ErrorKind::NotFound),
            ApiError::RateLimited { .. } => Some(ErrorKind::RateLimited),
            ApiError::Timeout { .. } => Some(ErrorKind::TimedOut),
            ApiError::CaCert { .. } => Some(ErrorKind::InvalidInput),
            _ => None,
        }
    }
}
