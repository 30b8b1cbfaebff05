//! GPG keys of a namespace, which live under `/api/registry/private/v2/gpg-keys` rather
//! than `/api/v2`. Listing needs the namespace filter; a key is read, moved to another
//! namespace (the documented PATCH, answered 201) or deleted by namespace and [`KeyId`].

use reqwest::Method;
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

    /// The key `key_id` of `namespace`; None when the namespace does not hold it.
    pub async fn get_gpg_key(
        &self,
        namespace: &str,
        key_id: &KeyId,
    ) -> Result<Option<GpgKey>, ApiError> {
        self.get_one(self.gpg_url(&[namespace, key_id.as_str()]))
            .await
    }

    /// Moves the key to the namespace `to` (`PATCH .../gpg-keys/:namespace/:key_id`, the
    /// only updatable attribute), then reads it back there. A retried PATCH whose first
    /// attempt landed finds the key gone from `namespace`: the read-back settles it.
    pub async fn move_gpg_key(
        &self,
        namespace: &str,
        key_id: &KeyId,
        to: &str,
    ) -> Result<GpgKey, ApiError> {
        let body = json!({"data": {"type": "gpg-keys", "attributes": {"namespace": to}}});
        let url = self.gpg_url(&[namespace, key_id.as_str()]);
        match self
            .request(Method::PATCH, url.clone(), Some(body), true)
            .await
        {
            Ok(_) => {}
            Err(ApiError::NotFound { .. }) if self.get_gpg_key(to, key_id).await?.is_some() => {}
            Err(e) => return Err(e),
        }
        self.get_gpg_key(to, key_id)
            .await?
            .ok_or_else(|| ApiError::NotFound {
                method: "GET".into(),
                path: self.gpg_url(&[to, key_id.as_str()]).path().to_string(),
            })
    }
}
