//! Private modules and their versions: read, create, delete, and the lifecycle changes
//! (deprecate, revoke). Addressed by [`ModuleAddress`]; the module's namespace is the
//! organization, and it is never sent on create (the service refuses it).

use reqwest::Method;
use serde_json::json;
use url::Url;

use super::{ApiError, Client, Module, ModuleVersion, VersionChange};
use crate::vocab::ModuleAddress;

/// `registry-modules/private/:namespace/:name/:provider`: the path that names module `m`
/// below the organization (the module, tests and no-code endpoints all start from it).
pub(super) fn private_module_segments(m: &ModuleAddress) -> [&str; 5] {
    [
        "registry-modules",
        "private",
        m.namespace(),
        m.name(),
        m.provider(),
    ]
}

impl Client {
    pub(super) fn module_url(&self, m: &ModuleAddress, rest: &[&str]) -> Url {
        let mut segs = private_module_segments(m).to_vec();
        segs.extend_from_slice(rest);
        self.org_url(&segs, &[])
    }

    pub async fn list_modules(&self) -> Result<Vec<Module>, ApiError> {
        self.list(self.org_url(&["registry-modules"], &[])).await
    }

    /// The organization's modules matching the documented `q` search (name, namespace,
    /// provider) and `filter[provider]`, every page followed.
    pub async fn search_modules(
        &self,
        q: Option<&str>,
        provider: Option<&str>,
    ) -> Result<Vec<Module>, ApiError> {
        let mut query = Vec::new();
        if let Some(q) = q.filter(|q| !q.is_empty()) {
            query.push(("q", q));
        }
        if let Some(p) = provider {
            query.push(("filter[provider]", p));
        }
        self.list(self.org_url(&["registry-modules"], &query)).await
    }

    pub async fn get_module(&self, m: &ModuleAddress) -> Result<Option<Module>, ApiError> {
        self.get_one(self.module_url(m, &[])).await
    }

    /// Create a private module with no VCS connection (namespace is never sent).
    pub async fn create_module(
        &self,
        m: &ModuleAddress,
        no_code: bool,
    ) -> Result<Module, ApiError> {
        let body = json!({"data": {"type": "registry-modules", "attributes": {
            "name": m.name(), "provider": m.provider(), "registry-name": "private",
            "no-code": no_code}}});
        self.create(self.org_url(&["registry-modules"], &[]), body, || {
            Box::pin(self.get_module(m))
        })
        .await
    }

    pub async fn delete_module(&self, m: &ModuleAddress) -> Result<(), ApiError> {
        self.delete(self.module_url(m, &[])).await
    }

    pub async fn create_module_version(
        &self,
        m: &ModuleAddress,
        version: &str,
        commit_sha: Option<&str>,
    ) -> Result<ModuleVersion, ApiError> {
        let mut attrs = json!({"version": version});
        if let Some(sha) = commit_sha {
            attrs["commit-sha"] = json!(sha);
        }
        let body = json!({"data": {"type": "registry-module-versions", "attributes": attrs}});
        self.create(self.module_url(m, &["versions"]), body, || {
            Box::pin(self.get_module_version(m, version))
        })
        .await
    }

    pub async fn get_module_version(
        &self,
        m: &ModuleAddress,
        version: &str,
    ) -> Result<Option<ModuleVersion>, ApiError> {
        let mut u = self.module_url(m, &["version"]);
        u.query_pairs_mut().append_pair("module_version", version);
        self.get_one(u).await
    }

    pub async fn delete_module_version(
        &self,
        m: &ModuleAddress,
        version: &str,
    ) -> Result<(), ApiError> {
        self.delete(self.module_url(m, &[version])).await
    }

    /// Deprecate/undeprecate/revoke/unrevoke a version, then return it as re-read.
    pub async fn change_module_version(
        &self,
        m: &ModuleAddress,
        version: &str,
        change: VersionChange,
    ) -> Result<ModuleVersion, ApiError> {
        let attrs = match &change {
            VersionChange::Deprecate { reason, link } => json!({"deprecation": {
                "deprecated-status": "Deprecated", "reason": reason, "link": link}}),
            VersionChange::Undeprecate => {
                json!({"deprecation": {"deprecated-status": "Undeprecated"}})
            }
            VersionChange::Revoke { reason, link } => {
                json!({"revocation": {"status": "Revoked", "message": reason, "link": link}})
            }
            VersionChange::Unrevoke => json!({"revocation": {"status": "Unrevoked"}}),
        };
        let body = json!({"data": {"type": "module-versions", "attributes": attrs}});
        let url = self.module_url(m, &[version]);
        self.request(Method::PATCH, url.clone(), Some(body), true)
            .await?;
        self.get_module_version(m, version)
            .await?
            .ok_or_else(|| ApiError::NotFound {
                method: "GET".into(),
                path: url.path().to_string(),
            })
    }
}
