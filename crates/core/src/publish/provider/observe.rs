//! Stage "observe": everything the registry holds that the release could collide with,
//! read before the first write: the organization's GPG keys, the provider, the version,
//! and (when the version exists) its platform records and its registered SHA256SUMS.
//! Independent reads are sent together: two round trips in all.

use anyhow::Context as _;

use crate::api::{GpgKey, Platform, ProviderVersion};
use crate::publish::Context;
use crate::vocab::{KeyId, ProviderAddress};

/// What the registry holds for one provider version.
#[derive(Debug, Clone, Default)]
pub struct Held {
    /// The organization's GPG keys.
    pub keys: Vec<GpgKey>,
    pub provider: bool,
    /// Only when the provider exists.
    pub version: Option<ProviderVersion>,
    /// The version's platform records (empty when there is no version).
    pub platforms: Vec<Platform>,
    /// The content of the registered SHA256SUMS, when the version has one uploaded.
    pub shasums: Option<Vec<u8>>,
}

impl Held {
    pub fn key_registered(&self, key_id: &KeyId) -> bool {
        self.keys.iter().any(|k| k.key_id == *key_id)
    }

    /// The record of platform `os`_`arch`, if the version has one.
    pub fn platform(&self, os: &str, arch: &str) -> Option<&Platform> {
        self.platforms.iter().find(|e| e.os == os && e.arch == arch)
    }
}

/// Read what the registry holds for `addr` version `v`.
pub async fn observe(ctx: &Context, addr: &ProviderAddress, v: &str) -> anyhow::Result<Held> {
    let org = ctx.org();
    let (keys, provider, version) = tokio::try_join!(
        async {
            ctx.client
                .list_gpg_keys(org)
                .await
                .context("listing GPG keys")
        },
        async {
            ctx.client
                .get_provider(addr)
                .await
                .with_context(|| format!("reading provider {addr}"))
        },
        async {
            ctx.client
                .get_provider_version(addr, v)
                .await
                .with_context(|| format!("reading version {v} of {addr}"))
        },
    )?;
    let provider = provider.is_some();
    let version = if provider { version } else { None };
    let Some(ver) = &version else {
        return Ok(Held {
            keys,
            provider,
            ..Held::default()
        });
    };
    let shasums_link = ver
        .shasums_download
        .as_deref()
        .filter(|_| ver.shasums_uploaded);
    let (platforms, shasums) = tokio::try_join!(
        async { Ok(ctx.client.list_platforms(addr, v).await?) },
        async {
            match shasums_link {
                Some(url) => anyhow::Ok(Some(ctx.client.fetch(url).await?.to_vec())),
                None => Ok(None),
            }
        },
    )?;
    Ok(Held {
        keys,
        provider,
        version,
        platforms,
        shasums,
    })
}
