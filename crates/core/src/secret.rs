//! Values that must never reach output: API tokens, passphrases, private keys and the
//! pre-signed archivist upload URLs (anyone holding one can write to the registry).
//!
//! [`Secret`] redacts itself in `Debug` and `Display`; the only way to the inner value is
//! [`Secret::expose`], which makes every place that needs the real value easy to audit.

use std::fmt;

/// A value that redacts itself when formatted.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret<T = String>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The real value. Call only where it is sent (an HTTP header, a signer), never where
    /// it could be formatted into a message.
    pub fn expose(&self) -> &T {
        &self.0
    }

    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl From<String> for Secret<String> {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret<String> {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

/// A URL that is a credential in itself (an archivist upload link). Displays as its
/// scheme, host and first path segment only, so logs can still say where it points.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(url::Url);

impl SecretUrl {
    pub fn new(url: url::Url) -> Self {
        SecretUrl(url)
    }

    pub fn parse(s: &str) -> Result<Self, url::ParseError> {
        url::Url::parse(s).map(SecretUrl)
    }

    pub fn expose(&self) -> &url::Url {
        &self.0
    }

    /// `https://archivist.example/…`: safe to print.
    pub fn redacted(&self) -> String {
        let host = self.0.host_str().unwrap_or("?");
        match self.0.port() {
            Some(p) => format!("{}://{}:{}/…", self.0.scheme(), host, p),
            None => format!("{}://{}/…", self.0.scheme(), host),
        }
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({})", self.redacted())
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_formats_its_value() {
        let s = Secret::from("tok-abc123");
        assert!(!format!("{s:?}").contains("abc123"));
        assert!(!format!("{s}").contains("abc123"));
        assert_eq!(s.expose(), "tok-abc123");
    }

    #[test]
    fn secret_url_keeps_only_scheme_and_host() {
        let u =
            SecretUrl::parse("https://archivist.example.com:8443/v1/object/SIGNED?x=1").unwrap();
        let shown = format!("{u} {u:?}");
        assert!(!shown.contains("SIGNED"));
        assert!(shown.contains("archivist.example.com:8443"));
    }
}
