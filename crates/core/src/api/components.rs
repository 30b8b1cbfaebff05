//! Stack component configurations (stack-component-configurations.md): listed and created
//! per organization (`q` searches names), everything else addressed by the component's id
//! (`comp-…`). Versions are created under the id and filled through their one-shot
//! `upload` link; they end `completed`, or fail with an `error-message`.
//!
//! Beyond the page: the versions listing and a single version are read at the links the
//! documented resources carry (`…/versions`, `…/versions/:version`), and a version's
//! archive is read back through its `download` link when the registry gives one.

use serde::Deserialize;
use serde_json::json;
use url::Url;

use super::server_text::{de_opt_text, de_text};
use super::types::{simple_resource, FromResource, Resource};
use super::{ApiError, Client};
use crate::secret::SecretUrl;

/// A provider a component configuration requires (`providers` of the component).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ComponentProvider {
    #[serde(deserialize_with = "de_text")]
    pub name: String,
    #[serde(deserialize_with = "de_text")]
    pub namespace: String,
    #[serde(deserialize_with = "de_text")]
    pub source: String,
}

/// One entry of a component's `version-statuses`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ComponentVersionStatus {
    #[serde(deserialize_with = "de_text")]
    pub version: String,
    #[serde(deserialize_with = "de_text")]
    pub status: String,
}

/// A `registry-components` resource.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct RegistryComponent {
    #[serde(skip)]
    pub id: String,
    #[serde(deserialize_with = "de_text")]
    pub name: String,
    #[serde(deserialize_with = "de_text")]
    pub namespace: String,
    #[serde(deserialize_with = "de_opt_text")]
    pub description: Option<String>,
    #[serde(deserialize_with = "de_text")]
    pub status: String,
    #[serde(deserialize_with = "de_opt_text")]
    pub latest_version: Option<String>,
    #[serde(deserialize_with = "de_opt_text")]
    pub published_at: Option<String>,
    #[serde(deserialize_with = "nullable_vec")]
    pub providers: Vec<ComponentProvider>,
    #[serde(deserialize_with = "nullable_vec")]
    pub version_statuses: Vec<ComponentVersionStatus>,
}

/// A `registry-component-versions` resource. The upload link is a secret.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct ComponentVersion {
    #[serde(skip)]
    pub id: String,
    #[serde(deserialize_with = "de_text")]
    pub version: String,
    #[serde(deserialize_with = "de_text")]
    pub status: String,
    #[serde(deserialize_with = "de_opt_text")]
    pub error_message: Option<String>,
    #[serde(deserialize_with = "de_opt_text")]
    pub published_at: Option<String>,
    #[serde(deserialize_with = "de_opt_text")]
    pub source: Option<String>,
    #[serde(skip)]
    pub upload: Option<SecretUrl>,
    #[serde(skip)]
    pub download: Option<String>,
}

impl ComponentVersion {
    pub fn is_completed(&self) -> bool {
        self.status == "completed"
    }
    pub fn is_pending(&self) -> bool {
        self.status == "pending"
    }
    /// A terminal failure: `failed`, `errored`, or any `*_failed`.
    pub fn is_failed(&self) -> bool {
        matches!(self.status.as_str(), "failed" | "errored") || self.status.ends_with("_failed")
    }
}

fn nullable_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

simple_resource!(RegistryComponent);

impl FromResource for ComponentVersion {
    fn from_resource(r: Resource) -> Result<Self, serde_json::Error> {
        let mut v: ComponentVersion = r.attrs()?;
        v.upload = r.secret_link("upload");
        v.download = r.link("download");
        v.id = r.id;
        Ok(v)
    }
}

impl Client {
    fn component_url(&self, id: &str, rest: &[&str]) -> Url {
        let mut segs = vec!["api", "v2", "registry-components", id];
        segs.extend_from_slice(rest);
        self.url(&segs, &[])
    }

    /// The organization's component configurations; `q` searches names and namespaces.
    pub async fn list_components(
        &self,
        q: Option<&str>,
    ) -> Result<Vec<RegistryComponent>, ApiError> {
        let query: Vec<(&str, &str)> = q.map(|q| ("q", q)).into_iter().collect();
        self.list(self.org_url(&["registry-components"], &query))
            .await
    }

    /// The component configuration named exactly `name` (searched with `q`).
    pub async fn find_component(&self, name: &str) -> Result<Option<RegistryComponent>, ApiError> {
        Ok(self
            .list_components(Some(name))
            .await?
            .into_iter()
            .find(|c| c.name == name))
    }

    pub async fn get_component(&self, id: &str) -> Result<Option<RegistryComponent>, ApiError> {
        self.get_one(self.component_url(id, &[])).await
    }

    /// Create a component configuration with the API-only workflow (a name only).
    pub async fn create_component(&self, name: &str) -> Result<RegistryComponent, ApiError> {
        let body = json!({"data": {"type": "registry-components", "attributes": {"name": name}}});
        self.create(self.org_url(&["registry-components"], &[]), body, || {
            Box::pin(self.find_component(name))
        })
        .await
    }

    pub async fn delete_component(&self, id: &str) -> Result<(), ApiError> {
        self.delete(self.component_url(id, &[])).await
    }

    pub async fn component_versions(&self, id: &str) -> Result<Vec<ComponentVersion>, ApiError> {
        self.list(self.component_url(id, &["versions"])).await
    }

    pub async fn get_component_version(
        &self,
        id: &str,
        version: &str,
    ) -> Result<Option<ComponentVersion>, ApiError> {
        self.get_one(self.component_url(id, &["versions", version]))
            .await
    }

    pub async fn create_component_version(
        &self,
        id: &str,
        version: &str,
    ) -> Result<ComponentVersion, ApiError> {
        let body = json!({"data": {"type": "registry-component-versions",
            "attributes": {"version": version}}});
        self.create(self.component_url(id, &["versions"]), body, || {
            Box::pin(self.get_component_version(id, version))
        })
        .await
    }

    pub async fn delete_component_version(&self, id: &str, version: &str) -> Result<(), ApiError> {
        self.delete(self.component_url(id, &["versions", version]))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::One;

    /// The page's own sample of a new version: pending, an upload link that stays secret.
    #[test]
    fn documented_version_sample_decodes() {
        let doc: One = serde_json::from_str(
            r#"{ "data": { "id": "compver-Ecdq2uaNUXNHNHcA", "type": "registry-component-versions", "attributes": { "source": "api", "status": "pending", "version": "1.0.0", "readme": null, "description": null, "published-at": null, "error-message": null, "source-url": null }, "links": { "self": "/api/v2/registry-components/compver-Ecdq2uaNUXNHNHcA/versions/1.0.0", "upload": "https://archivist.terraform.io/v1/object/dmF1bHQ6SECRET" } } }"#,
        )
        .unwrap();
        let v = ComponentVersion::from_resource(doc.data).unwrap();
        assert_eq!(v.id, "compver-Ecdq2uaNUXNHNHcA");
        assert!(v.is_pending() && !v.is_failed() && !v.is_completed());
        assert!(v.upload.is_some());
        assert!(!format!("{v:?}").contains("SECRET"));
    }

    #[test]
    fn documented_list_sample_decodes() {
        let doc: crate::api::types::Many = serde_json::from_str(
            r#"{ "data": [ { "id": "comp-hGqAHmU28NE2hnjA", "type": "registry-components", "attributes": { "name": "eks-cluster", "namespace": "my-organization", "description": "Stack component configuration for EKS cluster setup", "status": "completed", "created-at": "2024-11-26T13:45:28Z", "updated-at": "2024-11-26T13:45:30Z", "latest-version": "1.0.5", "published-at": "2024-11-26T13:45:33.719842Z", "providers": [ { "name": "aws", "namespace": "hashicorp", "source": "hashicorp/aws" }, { "name": "random", "namespace": "hashicorp", "source": "hashicorp/random" } ] } } ] }"#,
        )
        .unwrap();
        let c = RegistryComponent::from_resource(doc.data.into_iter().next().unwrap()).unwrap();
        assert_eq!(c.id, "comp-hGqAHmU28NE2hnjA");
        assert_eq!(c.latest_version.as_deref(), Some("1.0.5"));
        assert_eq!(c.providers.len(), 2);
        assert_eq!(c.providers[1].source, "hashicorp/random");
    }
}
