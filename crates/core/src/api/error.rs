//! API errors. Every variant names the request (method and URL path, never the query or
//! an upload URL) and offers a hint; none carries a token or a pre-signed link.

use std::path::PathBuf;

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
    #[error("{method} {path}: HTTP 401 Unauthorized: the token was rejected\n  hint: check the token for this host (TF_TOKEN_<host>, TFE_TOKEN or `terraform login`); it may be expired or revoked")]
    Unauthorized { method: String, path: String },
    #[error("{method} {path}: HTTP 404 Not Found\n  hint: the resource does not exist, or the token cannot see it (the API hides what you may not access)")]
    NotFound { method: String, path: String },
    #[error("organization {organization:?} not found or not accessible ({path})\n  hint: check --organization / TFE_ORGANIZATION and that the token's user or team can manage the private registry")]
    OrganizationNotFound { organization: String, path: String },
    #[error("{method} {path}: still rate limited (HTTP 429) after {attempts} attempts\n  hint: lower --max-rps or retry later")]
    RateLimited {
        method: String,
        path: String,
        attempts: u32,
    },
    #[error("{method} {path}: {message}\n  hint: check the host is reachable and its certificate trusted (--ca-cert)")]
    Transport {
        method: String,
        path: String,
        message: String,
    },
    #[error("{method} {path}: timed out\n  hint: the service is slow or unreachable; retry later")]
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
    #[error("upload of {id} failed: HTTP {status}\n  hint: the upload link may have expired; re-run to get a new one")]
    Upload { id: String, status: u16 },
    #[error("reading {path} for upload of {id}: {source}")]
    File {
        id: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("CA certificate {path}: {reason}\n  hint: --ca-cert / SSL_CERT_FILE must be a PEM certificate")]
    CaCert { path: PathBuf, reason: String },
    #[error("building the HTTP client: {0}")]
    Client(String),
    #[error("service discovery at {url}: {reason}")]
    Discovery { url: String, reason: String },
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

    /// What the user could do about it, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        let s = self.to_string();
        s.split_once("\n  hint: ")
            .map(|(_, h)| h.to_string())
            .or_else(|| match self {
                ApiError::Status { status: 422, .. } => {
                    Some("the registry refused the request; see the detail above".into())
                }
                ApiError::Status { status, .. } if *status >= 500 => {
                    Some("the service failed; retry later".into())
                }
                _ => None,
            })
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
