//! The consumer side: what `terraform init` reads. Service discovery
//! (`/.well-known/terraform.json`, looked up once per client), the providers.v1 download
//! document, a module version's `X-Terraform-Get` location, and unauthenticated fetches
//! of download URLs (which may point at another host, so they never carry the token).

use std::sync::atomic::Ordering;
use std::time::Instant;

use reqwest::Method;
use serde_json::Value;
use url::Url;

use super::transport::{
    decode_error, rate_limit_reset, read_capped, transport_error, Raw, API_TIMEOUT, MAX_API_BODY,
};
use super::{ApiError, Client, ProviderDownload};
use crate::vocab::{ModuleAddress, ProviderAddress};

/// The registry service URLs discovery found.
#[derive(Debug, Clone)]
pub(super) struct Services {
    providers: Url,
    modules: Url,
}

impl Client {
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

    /// Unauthenticated GET of a download URL (as Terraform fetches archives), in memory
    /// and without a size limit: for callers that know how large the answer should be,
    /// [`Client::fetch_limited`] stops a hostile server from choosing.
    pub async fn fetch(&self, url: &str) -> Result<bytes::Bytes, ApiError> {
        self.fetch_limited(url, u64::MAX).await
    }

    /// [`Client::fetch`] that refuses (with [`ApiError::BodyTooLarge`], not retried) a
    /// body above `max` bytes, reading no further than that.
    pub async fn fetch_limited(&self, url: &str, max: u64) -> Result<bytes::Bytes, ApiError> {
        let u = Url::parse(url).map_err(|e| ApiError::Decode {
            method: "GET".into(),
            path: "(download URL)".into(),
            reason: super::server_text(&e.to_string()),
        })?;
        let started = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            self.count.fetch_add(1, Ordering::Relaxed);
            let res = async {
                let r = self
                    .plain
                    .get(u.clone())
                    .timeout(API_TIMEOUT * 5)
                    .send()
                    .await?;
                let status = r.status().as_u16();
                let headers = r.headers().clone();
                // An error answer is an API answer, held to the API limit.
                let cap = if (200..300).contains(&status) {
                    max
                } else {
                    MAX_API_BODY
                };
                let raw = read_capped(r, cap).await?.map(|body| Raw {
                    status,
                    headers,
                    body,
                });
                Ok::<_, reqwest::Error>(raw.ok_or(cap))
            }
            .await;
            let res = match res {
                Ok(Err(limit)) => {
                    return Err(ApiError::BodyTooLarge {
                        method: "GET".into(),
                        path: u.path().to_string(),
                        limit,
                    })
                }
                Ok(Ok(raw)) => Ok(raw),
                Err(e) => Err(e),
            };
            let (err, floor) = match res {
                Ok(raw) if (200..300).contains(&raw.status) => return Ok(raw.body),
                Ok(raw) => {
                    let floor = rate_limit_reset(&raw.headers);
                    let e = self.classify(&Method::GET, &u, raw).err().expect("non-2xx");
                    (e, floor)
                }
                Err(e) => (transport_error(&Method::GET, u.path(), e), None),
            };
            match self.next_delay(&err, attempts, started, floor) {
                Some(d) => tokio::time::sleep(d).await,
                None => return Err(Self::exhausted(err, attempts)),
            }
        }
    }
}
