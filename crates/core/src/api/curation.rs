//! Public registry entries of the organization's registry (modules.md "Create a Module"
//! with `registry-name: public` and a `namespace`; providers.md "Create a Provider" with
//! `registry-name: public`), read and deleted at their `…/public/…` addresses.

use reqwest::Method;
use serde_json::json;
use url::Url;

use super::{ApiError, Client};

/// A public registry entry: `NAMESPACE/NAME/PROVIDER` (module) or `NAMESPACE/NAME`
/// (provider, `provider` empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicEntry {
    pub namespace: String,
    pub name: String,
    /// The module's provider; empty for a provider entry.
    pub provider: String,
}

impl PublicEntry {
    pub fn is_module(&self) -> bool {
        !self.provider.is_empty()
    }

    fn url(&self, c: &Client) -> Url {
        if self.is_module() {
            c.org_url(
                &[
                    "registry-modules",
                    "public",
                    &self.namespace,
                    &self.name,
                    &self.provider,
                ],
                &[],
            )
        } else {
            c.org_url(
                &["registry-providers", "public", &self.namespace, &self.name],
                &[],
            )
        }
    }
}

impl std::fmt::Display for PublicEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_module() {
            write!(f, "{}/{}/{}", self.namespace, self.name, self.provider)
        } else {
            write!(f, "{}/{}", self.namespace, self.name)
        }
    }
}

impl Client {
    /// Whether the organization's registry has the public entry.
    pub async fn public_entry_exists(&self, e: &PublicEntry) -> Result<bool, ApiError> {
        match self.request(Method::GET, e.url(self), None, true).await {
            Ok(_) => Ok(true),
            Err(ApiError::NotFound { .. }) => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// Adds the public entry to the organization's registry.
    pub async fn add_public_entry(&self, e: &PublicEntry) -> Result<(), ApiError> {
        let (url, body) = if e.is_module() {
            (
                self.org_url(&["registry-modules"], &[]),
                json!({"data": {"type": "registry-modules", "attributes": {
                    "name": e.name, "namespace": e.namespace, "provider": e.provider,
                    "registry-name": "public"}}}),
            )
        } else {
            (
                self.org_url(&["registry-providers"], &[]),
                json!({"data": {"type": "registry-providers", "attributes": {
                    "name": e.name, "namespace": e.namespace, "registry-name": "public"}}}),
            )
        };
        self.request(Method::POST, url, Some(body), true)
            .await
            .map(|_| ())
    }

    /// Removes the public entry from the organization's registry.
    pub async fn remove_public_entry(&self, e: &PublicEntry) -> Result<(), ApiError> {
        self.delete(e.url(self)).await
    }
}
