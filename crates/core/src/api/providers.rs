//! Private providers, their versions and their platforms: read, list, create, delete.
//! Addressed by [`ProviderAddress`]; a version names its signing key as a [`KeyId`] and a
//! platform its zip's digest as a [`Sha256`].

use serde_json::json;
use url::Url;

use super::{ApiError, Client, Platform, Provider, ProviderVersion};
use crate::vocab::{KeyId, ProviderAddress, Sha256};

impl Client {
    fn provider_url(&self, p: &ProviderAddress, rest: &[&str]) -> Url {
        let mut segs = vec!["registry-providers", "private", p.namespace(), p.name()];
        segs.extend_from_slice(rest);
        self.org_url(&segs, &[])
    }

    pub async fn list_providers(&self) -> Result<Vec<Provider>, ApiError> {
        self.list(self.org_url(&["registry-providers"], &[])).await
    }

    /// The organization's providers matching the documented `q` search (name,
    /// namespace), every page followed.
    pub async fn search_providers(&self, q: Option<&str>) -> Result<Vec<Provider>, ApiError> {
        let query: Vec<(&str, &str)> = q
            .filter(|q| !q.is_empty())
            .map(|q| vec![("q", q)])
            .unwrap_or_default();
        self.list(self.org_url(&["registry-providers"], &query))
            .await
    }

    pub async fn get_provider(&self, p: &ProviderAddress) -> Result<Option<Provider>, ApiError> {
        self.get_one(self.provider_url(p, &[])).await
    }

    pub async fn create_provider(&self, p: &ProviderAddress) -> Result<Provider, ApiError> {
        let body = json!({"data": {"type": "registry-providers", "attributes": {
            "name": p.name(), "namespace": p.namespace(), "registry-name": "private"}}});
        self.create(self.org_url(&["registry-providers"], &[]), body, || {
            Box::pin(self.get_provider(p))
        })
        .await
    }

    pub async fn delete_provider(&self, p: &ProviderAddress) -> Result<(), ApiError> {
        self.delete(self.provider_url(p, &[])).await
    }

    pub async fn create_provider_version(
        &self,
        p: &ProviderAddress,
        version: &str,
        key_id: &KeyId,
        protocols: &[String],
    ) -> Result<ProviderVersion, ApiError> {
        let body = json!({"data": {"type": "registry-provider-versions", "attributes": {
            "version": version, "key-id": key_id, "protocols": protocols}}});
        self.create(self.provider_url(p, &["versions"]), body, || {
            Box::pin(self.get_provider_version(p, version))
        })
        .await
    }

    pub async fn get_provider_version(
        &self,
        p: &ProviderAddress,
        version: &str,
    ) -> Result<Option<ProviderVersion>, ApiError> {
        self.get_one(self.provider_url(p, &["versions", version]))
            .await
    }

    pub async fn list_provider_versions(
        &self,
        p: &ProviderAddress,
    ) -> Result<Vec<ProviderVersion>, ApiError> {
        self.list(self.provider_url(p, &["versions"])).await
    }

    pub async fn delete_provider_version(
        &self,
        p: &ProviderAddress,
        version: &str,
    ) -> Result<(), ApiError> {
        self.delete(self.provider_url(p, &["versions", version]))
            .await
    }

    pub async fn create_platform(
        &self,
        p: &ProviderAddress,
        version: &str,
        os: &str,
        arch: &str,
        filename: &str,
        shasum: &Sha256,
    ) -> Result<Platform, ApiError> {
        let body = json!({"data": {"type": "registry-provider-version-platforms", "attributes": {
            "os": os, "arch": arch, "filename": filename, "shasum": shasum}}});
        self.create(
            self.provider_url(p, &["versions", version, "platforms"]),
            body,
            || Box::pin(self.get_platform(p, version, os, arch)),
        )
        .await
    }

    pub async fn get_platform(
        &self,
        p: &ProviderAddress,
        version: &str,
        os: &str,
        arch: &str,
    ) -> Result<Option<Platform>, ApiError> {
        self.get_one(self.provider_url(p, &["versions", version, "platforms", os, arch]))
            .await
    }

    pub async fn list_platforms(
        &self,
        p: &ProviderAddress,
        version: &str,
    ) -> Result<Vec<Platform>, ApiError> {
        self.list(self.provider_url(p, &["versions", version, "platforms"]))
            .await
    }
}
