//! GPG keys of a namespace, which live under `/api/registry/private/v2/gpg-keys` rather
//! than `/api/v2`. Listing needs the namespace filter; a key is deleted by its [`KeyId`].

use serde_json::json;
use url::Url;

use super::{ApiError, Client, GpgKey};
use crate::vocab::KeyId;

impl Client {
    fn gpg_url(&self, rest: &[&str]) -> Url {
        let mut segs = vec!["api", "registry", "private", "v2", "gpg-keys"];
        segs.extend_from_slice(rest);
        self.url(&segs, &[])
    }

    pub async fn list_gpg_keys(&self, namespace: &str) -> Result<Vec<GpgKey>, ApiError> {
        let mut u = self.gpg_url(&[]);
        u.query_pairs_mut()
            .append_pair("filter[namespace]", namespace);
        self.list(u).await
    }

    pub async fn add_gpg_key(
        &self,
        namespace: &str,
        ascii_armor: &str,
    ) -> Result<GpgKey, ApiError> {
        let body = json!({"data": {"type": "gpg-keys", "attributes": {
            "namespace": namespace, "ascii-armor": ascii_armor}}});
        self.create(self.gpg_url(&[]), body, || {
            Box::pin(async move {
                let keys = self.list_gpg_keys(namespace).await?;
                Ok(keys
                    .into_iter()
                    .find(|k| k.ascii_armor.trim() == ascii_armor.trim()))
            })
        })
        .await
    }

    pub async fn delete_gpg_key(&self, namespace: &str, key_id: &KeyId) -> Result<(), ApiError> {
        self.delete(self.gpg_url(&[namespace, key_id.as_str()]))
            .await
    }
}
