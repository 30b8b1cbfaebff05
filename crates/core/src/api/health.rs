//! Health checks: `GET /api/v2/ping` (is this a Terraform API, which version) and the
//! preflight every publishing pipeline starts with, which also proves the token can see
//! the organization's registry, so a bad token or organization fails before any work.

use reqwest::Method;

use super::{ApiError, Client, PingInfo};

impl Client {
    /// `GET /api/v2/ping`: is this a Terraform API at all, and which version.
    pub async fn ping(&self) -> Result<PingInfo, ApiError> {
        let raw = self
            .request(
                Method::GET,
                self.url(&["api", "v2", "ping"], &[]),
                None,
                true,
            )
            .await?;
        let h = |n: &str| {
            raw.headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(super::server_text)
        };
        Ok(PingInfo {
            api_version: h("tfp-api-version"),
            tfe_version: h("x-tfe-version"),
            rate_limit: h("x-ratelimit-limit"),
        })
    }

    /// Ping, then prove the token can see the organization's registry.
    pub async fn preflight(&self) -> Result<PingInfo, ApiError> {
        let url = self.org_url(&["registry-modules"], &[("page[size]", "1")]);
        // Both checks at once (one round trip); the ping's verdict on the token comes
        // first, as it is the more precise one.
        let (ping, org) = tokio::join!(
            self.ping(),
            self.request(Method::GET, url.clone(), None, true)
        );
        let info = ping?;
        match org {
            Ok(_) => Ok(info),
            Err(ApiError::NotFound { .. }) => Err(ApiError::OrganizationNotFound {
                organization: self.organization.clone(),
                path: url.path().to_string(),
            }),
            Err(e) => Err(e),
        }
    }
}
