//! The consumer side: what `terraform init` reads. Service discovery
//! (`/.well-known/terraform.json`, looked up once per client), the providers.v1 download
//! document, the modules.v1 versions listing (where the documentation puts deprecation
//! data), a module version's `X-Terraform-Get` location, and unauthenticated fetches of
//! download URLs (which may point at another host, so they never carry the token), in
//! memory or streamed to a file.

use std::io::{Seek, Write};
use std::sync::atomic::Ordering;
use std::time::Instant;

use reqwest::Method;
use serde_json::Value;
use url::Url;

use super::transport::{
    decode_error, rate_limit_reset, read_capped, transport_error, Raw, API_TIMEOUT, MAX_API_BODY,
};
use super::{ApiError, Client, ModuleVersionsListing, ProviderDownload};
use crate::vocab::{ModuleAddress, ProviderAddress};

/// The most a module archive download may hold. No reference page states a size limit
/// for module archives; this is well above the packager's 200 MiB default, and callers
/// raise it to their own archive's size when that is larger.
pub const MAX_MODULE_ARCHIVE: u64 = 512 * 1024 * 1024;

/// Where a download's body goes. `reset` starts over (a retried attempt must not append
/// to what a failed one wrote).
trait Sink {
    fn reset(&mut self) -> std::io::Result<()>;
    fn put(&mut self, chunk: &[u8]) -> std::io::Result<()>;
}

impl Sink for bytes::BytesMut {
    fn reset(&mut self) -> std::io::Result<()> {
        self.clear();
        Ok(())
    }
    fn put(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.extend_from_slice(chunk);
        Ok(())
    }
}

impl Sink for std::fs::File {
    fn reset(&mut self) -> std::io::Result<()> {
        self.set_len(0)?;
        self.rewind()
    }
    fn put(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.write_all(chunk)
    }
}

/// The registry service URLs discovery found.
#[derive(Debug, Clone)]
pub(super) struct Services {
    providers: Url,
    modules: Url,
}

impl Client {
    /// Looks up the registry's services now, so a later read-back starts without that
    /// round trip. A failure is not kept: the read-back looks again and reports it.
    pub async fn discover(&self) {
        let _ = self.services().await;
    }

    async fn services(&self) -> Result<&Services, ApiError> {
        self.services
            .get_or_try_init(|| async {
                let url = self.url(&[".well-known", "terraform.json"], &[]);
                let fail = |reason: String| ApiError::Discovery {
                    url: url.to_string(),
                    reason: super::server_text(&reason),
                };
                let raw = self.request(Method::GET, url.clone(), None, false).await?;
                let v: Value =
                    serde_json::from_slice(&raw.body).map_err(|e| fail(e.to_string()))?;
                let get = |k: &str| -> Result<Url, ApiError> {
                    let s = v
                        .get(k)
                        .and_then(|s| s.as_str())
                        .ok_or_else(|| fail(format!("no {k} service")))?;
                    url.join(s).map_err(|e| fail(format!("{k}: {e}")))
                };
                Ok(Services {
                    providers: get("providers.v1")?,
                    modules: get("modules.v1")?,
                })
            })
            .await
    }

    fn service_url(base: &Url, segs: &[&str]) -> Url {
        let mut u = base.clone();
        {
            let mut p = u.path_segments_mut().expect("service URL has a path");
            p.pop_if_empty();
            p.extend(segs);
        }
        u
    }

    /// The providers.v1 download document, as Terraform would read it.
    pub async fn provider_download(
        &self,
        p: &ProviderAddress,
        version: &str,
        os: &str,
        arch: &str,
    ) -> Result<ProviderDownload, ApiError> {
        let s = self.services().await?;
        let u = Self::service_url(
            &s.providers,
            &[p.namespace(), p.name(), version, "download", os, arch],
        );
        let raw = self.request(Method::GET, u.clone(), None, true).await?;
        serde_json::from_slice(&raw.body).map_err(|e| decode_error(&Method::GET, &u, e))
    }

    /// The `X-Terraform-Get` location of a module version (resolved to an absolute URL).
    pub async fn module_download_url(
        &self,
        m: &ModuleAddress,
        version: &str,
    ) -> Result<String, ApiError> {
        let s = self.services().await?;
        let u = Self::service_url(
            &s.modules,
            &[m.namespace(), m.name(), m.provider(), version, "download"],
        );
        let raw = self.request(Method::GET, u.clone(), None, true).await?;
        let loc = raw
            .headers
            .get("x-terraform-get")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                decode_error(
                    &Method::GET,
                    &u,
                    format!("HTTP {} without an X-Terraform-Get header", raw.status),
                )
            })?;
        Ok(u.join(loc)
            .map(|x| x.to_string())
            .unwrap_or_else(|_| loc.to_string()))
    }

    /// The modules.v1 versions listing of a module, each version with its `deprecation`
    /// (manage-module-versions.md, "Fetch a module version's deprecation data"). A module
    /// the protocol does not know (404) lists nothing.
    pub async fn module_versions_listing(
        &self,
        m: &ModuleAddress,
    ) -> Result<ModuleVersionsListing, ApiError> {
        let s = self.services().await?;
        let u = Self::service_url(
            &s.modules,
            &[m.namespace(), m.name(), m.provider(), "versions"],
        );
        match self.request(Method::GET, u.clone(), None, true).await {
            Ok(raw) => {
                serde_json::from_slice(&raw.body).map_err(|e| decode_error(&Method::GET, &u, e))
            }
            Err(ApiError::NotFound { .. }) => Ok(ModuleVersionsListing::default()),
            Err(e) => Err(e),
        }
    }

    /// Unauthenticated GET of a download URL (as Terraform fetches archives), in memory
    /// and without a size limit: for callers that know how large the answer should be,
    /// [`Client::fetch_limited`] stops a hostile server from choosing.
    pub async fn fetch(&self, url: &str) -> Result<bytes::Bytes, ApiError> {
        self.fetch_limited(url, u64::MAX).await
    }

    /// [`Client::fetch`] that refuses (with [`ApiError::BodyTooLarge`], not retried) a
    /// body above `max` bytes, reading no further than that.
    pub async fn fetch_limited(&self, url: &str, max: u64) -> Result<bytes::Bytes, ApiError> {
        let mut body = bytes::BytesMut::new();
        self.download(url, max, &mut body).await?;
        Ok(body.freeze())
    }

    /// [`Client::fetch_limited`] streamed into `file` (truncated first, and again before
    /// a retry), so a large archive is never held in memory. Returns the bytes written;
    /// the file is left positioned at its end.
    pub async fn fetch_to_file(
        &self,
        url: &str,
        max: u64,
        file: &mut std::fs::File,
    ) -> Result<u64, ApiError> {
        self.download(url, max, file).await
    }

    /// The GET behind the fetches: retries like every request, a 2xx body goes to `sink`
    /// chunk by chunk (at most `max` bytes), an error answer is held to the API limit.
    async fn download<S: Sink + Send>(
        &self,
        url: &str,
        max: u64,
        sink: &mut S,
    ) -> Result<u64, ApiError> {
        let u = Url::parse(url).map_err(|e| ApiError::Decode {
            method: "GET".into(),
            path: "(download URL)".into(),
            reason: super::server_text(&e.to_string()),
        })?;
        // Errors name the URL as `shown` has it: a signed download URL's token never
        // reaches a message.
        let shown = shown_url(&u);
        let too_large = |limit| ApiError::BodyTooLarge {
            method: "GET".into(),
            path: shown.path().to_string(),
            limit,
        };
        let stored = |e: std::io::Error| ApiError::Transport {
            method: "GET".into(),
            path: shown.path().to_string(),
            message: format!("storing the download: {e}"),
        };
        let started = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            self.count.fetch_add(1, Ordering::Relaxed);
            let sent = self
                .plain
                .get(u.clone())
                .timeout(API_TIMEOUT * 5)
                .send()
                .await;
            let (err, floor) = match sent {
                Err(e) => (transport_error(&Method::GET, shown.path(), e), None),
                Ok(mut r) if r.status().is_success() => {
                    if r.content_length().is_some_and(|n| n > max) {
                        return Err(too_large(max));
                    }
                    sink.reset().map_err(stored)?;
                    let mut n: u64 = 0;
                    let read = loop {
                        match r.chunk().await {
                            Ok(Some(c)) => {
                                n += c.len() as u64;
                                if n > max {
                                    return Err(too_large(max));
                                }
                                sink.put(&c).map_err(stored)?;
                            }
                            Ok(None) => break Ok(n),
                            Err(e) => break Err(e),
                        }
                    };
                    match read {
                        Ok(n) => return Ok(n),
                        Err(e) => (transport_error(&Method::GET, shown.path(), e), None),
                    }
                }
                Ok(r) => {
                    // An error answer is an API answer, held to the API limit.
                    let status = r.status().as_u16();
                    let headers = r.headers().clone();
                    match read_capped(r, MAX_API_BODY).await {
                        Ok(None) => return Err(too_large(MAX_API_BODY)),
                        Err(e) => (transport_error(&Method::GET, shown.path(), e), None),
                        Ok(Some(body)) => {
                            let floor = rate_limit_reset(&headers);
                            let raw = Raw {
                                status,
                                headers,
                                body,
                            };
                            let e = self
                                .classify(&Method::GET, &shown, raw)
                                .err()
                                .expect("non-2xx");
                            (e, floor)
                        }
                    }
                }
            };
            match self.next_delay(&err, attempts, started, floor) {
                Some(d) => tokio::time::sleep(d).await,
                None => return Err(Self::exhausted(err, attempts)),
            }
        }
    }
}

/// A download URL as an error may show it: no query, and every path segment that looks
/// like a credential (24 characters or more of token alphabet, no dot: archivist object
/// URLs carry their signed token in the path) replaced by `redacted`. File names stay.
pub(crate) fn shown_url(u: &Url) -> Url {
    let opaque = |s: &str| {
        s.len() >= 24
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_=+%~".contains(&b))
    };
    let mut shown = u.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    if let Some(segments) = u.path_segments() {
        let kept: Vec<&str> = segments
            .map(|s| if opaque(s) { "redacted" } else { s })
            .collect();
        shown.set_path(&kept.join("/"));
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_download_url_is_shown_without_its_token_or_query() {
        let token =
            "dmF1bHQ6djE6Q1JjVWM5ZHBFRXZzdWZTKy80NUh3bDRMREd4QkxRaXZ0bXE3QXYzRHFMcFE0NVVhVmRmSE43";
        let u = Url::parse(&format!(
            "https://archivist.terraform.io/v1/object/{token}?X-Amz-Signature=abc123"
        ))
        .unwrap();
        let shown = shown_url(&u).to_string();
        assert_eq!(shown, "https://archivist.terraform.io/v1/object/redacted");
        let zip = "terraform-provider-greeting_1.0.0_linux_amd64.zip";
        let u = Url::parse(&format!(
            "http://127.0.0.1:1/_archivist/download/0123456789abcdef0123456789abcdef/{zip}"
        ))
        .unwrap();
        let shown = shown_url(&u);
        assert_eq!(shown.path(), format!("/_archivist/download/redacted/{zip}"));
        let plain =
            Url::parse("https://registry.example.com/v1/modules/acme/vpc/aws/1.0.0/download")
                .unwrap();
        assert_eq!(shown_url(&plain), plain);
    }
}
