//! Registry resources as plain structs. The API speaks JSON:API (`data.attributes`,
//! kebab-case); these types hide that envelope. Upload links are [`SecretUrl`]s because
//! anyone holding one can write to the registry. Strings a server chose and tfpub may
//! print (names, statuses, ingress errors) are made safe while decoding (see
//! `server_text`).

use serde::Deserialize;
use serde_json::Value;

use super::server_text::{de_opt_text, de_status, de_text};
use crate::secret::SecretUrl;
use crate::vocab::{KeyId, Sha256, VersionStatus};

/// One entry of a module's `version-statuses`: where an ingress error is read.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct VersionStatusEntry {
    #[serde(default)]
    #[serde(deserialize_with = "de_text")]
    pub version: String,
    #[serde(deserialize_with = "de_status")]
    pub status: VersionStatus,
    #[serde(default)]
    #[serde(deserialize_with = "de_opt_text")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Module {
    #[serde(skip)]
    pub id: String,
    #[serde(deserialize_with = "de_text")]
    pub name: String,
    #[serde(deserialize_with = "de_text")]
    pub provider: String,
    #[serde(deserialize_with = "de_text")]
    pub namespace: String,
    #[serde(deserialize_with = "de_text")]
    pub registry_name: String,
    #[serde(deserialize_with = "de_text")]
    pub status: String,
    pub version_statuses: Vec<VersionStatusEntry>,
    /// `no-code`, when the service reports it (shown by `module show`).
    pub no_code: Option<bool>,
    /// `publishing-mechanism` (`branch`, `git_tag`, `non_vcs`), when reported.
    #[serde(deserialize_with = "de_opt_text")]
    pub publishing_mechanism: Option<String>,
    /// `vcs-repo` of a VCS-linked module (identifier, branch, tags, ...), as sent.
    pub vcs_repo: Option<Value>,
    /// `test-config` (e.g. `tests-enabled`), as sent.
    pub test_config: Option<Value>,
}

/// A module version as the api/v2 version resource describes it. Deprecation is not
/// here: no documented version resource carries it (manage-module-versions.md puts it in
/// the module registry protocol's versions listing, [`ListedModuleVersion`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ModuleVersion {
    #[serde(skip)]
    pub id: String,
    #[serde(default)]
    #[serde(deserialize_with = "de_text")]
    pub version: String,
    #[serde(deserialize_with = "de_status")]
    pub status: VersionStatus,
    #[serde(default)]
    pub source: Option<String>,
    /// `null` in the documented samples of versions created through the API.
    #[serde(default)]
    pub commit_sha: Option<String>,
    /// `revocation`, when the service reports one (the revoke and unrevoke samples).
    #[serde(default)]
    pub revocation: Option<Revocation>,
    #[serde(skip)]
    pub upload: Option<SecretUrl>,
}

/// A version's `revocation` attribute. The samples write the status `Revoked`,
/// `revoked` and `Unrevoked`, and the unrevoke sample has no message or link.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Revocation {
    #[serde(deserialize_with = "de_opt_text")]
    pub status: Option<String>,
    #[serde(deserialize_with = "de_opt_text")]
    pub message: Option<String>,
    #[serde(deserialize_with = "de_opt_text")]
    pub link: Option<String>,
}

impl Revocation {
    fn is(&self, want: &str) -> bool {
        self.status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(want))
    }
}

impl ModuleVersion {
    /// Revoked now (compared case-insensitively: the samples disagree on the casing).
    pub fn revoked(&self) -> bool {
        self.revocation.as_ref().is_some_and(|r| r.is("revoked"))
    }
    /// A revocation was reverted, which leaves the version deprecated
    /// (manage-module-versions.md, "Revert the revocation status").
    pub fn unrevoked(&self) -> bool {
        self.revocation.as_ref().is_some_and(|r| r.is("unrevoked"))
    }
}

/// The module registry protocol's versions listing
/// (`GET modules.v1/:ns/:name/:provider/versions`), the documented source of deprecation
/// data (manage-module-versions.md, "Fetch a module version's deprecation data").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ModuleVersionsListing {
    pub modules: Vec<ListedModule>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListedModule {
    #[serde(deserialize_with = "de_opt_text")]
    pub source: Option<String>,
    pub versions: Vec<ListedModuleVersion>,
}

/// One version of the listing: `deprecation` is `null` when it is not deprecated.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ListedModuleVersion {
    #[serde(deserialize_with = "de_text")]
    pub version: String,
    #[serde(default)]
    pub deprecation: Option<Deprecation>,
}

/// A listed version's `deprecation` object.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Deprecation {
    #[serde(deserialize_with = "de_opt_text")]
    pub reason: Option<String>,
    #[serde(deserialize_with = "de_opt_text")]
    pub link: Option<String>,
}

impl ModuleVersionsListing {
    /// Every listed version (all modules of the answer; there is one).
    pub fn versions(&self) -> impl Iterator<Item = &ListedModuleVersion> {
        self.modules.iter().flat_map(|m| m.versions.iter())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Provider {
    #[serde(skip)]
    pub id: String,
    #[serde(deserialize_with = "de_text")]
    pub name: String,
    #[serde(deserialize_with = "de_text")]
    pub namespace: String,
    #[serde(deserialize_with = "de_text")]
    pub registry_name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ProviderVersion {
    #[serde(skip)]
    pub id: String,
    #[serde(default)]
    #[serde(deserialize_with = "de_text")]
    pub version: String,
    pub key_id: KeyId,
    #[serde(default)]
    pub protocols: Vec<String>,
    #[serde(default)]
    pub shasums_uploaded: bool,
    #[serde(default)]
    pub shasums_sig_uploaded: bool,
    #[serde(skip)]
    pub shasums_upload: Option<SecretUrl>,
    #[serde(skip)]
    pub shasums_sig_upload: Option<SecretUrl>,
    #[serde(skip)]
    pub shasums_download: Option<String>,
    #[serde(skip)]
    pub shasums_sig_download: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Platform {
    #[serde(skip)]
    pub id: String,
    #[serde(default)]
    #[serde(deserialize_with = "de_text")]
    pub os: String,
    #[serde(default)]
    #[serde(deserialize_with = "de_text")]
    pub arch: String,
    #[serde(default)]
    #[serde(deserialize_with = "de_text")]
    pub filename: String,
    pub shasum: Sha256,
    #[serde(default)]
    pub provider_binary_uploaded: bool,
    #[serde(skip)]
    pub binary_upload: Option<SecretUrl>,
    #[serde(skip)]
    pub binary_download: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct GpgKey {
    #[serde(skip)]
    pub id: String,
    pub key_id: KeyId,
    #[serde(default)]
    #[serde(deserialize_with = "de_text")]
    pub namespace: String,
    #[serde(default)]
    pub ascii_armor: String,
}

/// What `GET /api/v2/ping` reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PingInfo {
    pub api_version: Option<String>,
    pub tfe_version: Option<String>,
    pub rate_limit: Option<String>,
}

/// A change to a module version's lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionChange {
    Deprecate {
        reason: Option<String>,
        link: Option<String>,
    },
    Undeprecate,
    Revoke {
        reason: Option<String>,
        link: Option<String>,
    },
    Unrevoke,
}

/// The providers.v1 download document Terraform reads.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ProviderDownload {
    #[serde(default)]
    pub protocols: Vec<String>,
    #[serde(default)]
    #[serde(deserialize_with = "de_text")]
    pub os: String,
    #[serde(default)]
    #[serde(deserialize_with = "de_text")]
    pub arch: String,
    #[serde(default)]
    #[serde(deserialize_with = "de_text")]
    pub filename: String,
    #[serde(default)]
    pub download_url: String,
    #[serde(default)]
    pub shasums_url: String,
    #[serde(default)]
    pub shasums_signature_url: String,
    pub shasum: Sha256,
    #[serde(default)]
    pub signing_keys: SigningKeys,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct SigningKeys {
    pub gpg_public_keys: Vec<PublicKey>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PublicKey {
    pub key_id: KeyId,
    #[serde(default)]
    pub ascii_armor: String,
    #[serde(default)]
    pub trust_signature: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub source_url: Option<String>,
}

/// One JSON:API resource object.
#[derive(Debug, Deserialize)]
pub(crate) struct Resource {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub attributes: Value,
    #[serde(default)]
    pub links: Value,
}

impl Resource {
    pub(super) fn link(&self, name: &str) -> Option<String> {
        self.links
            .get(name)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(String::from)
    }
    pub(super) fn secret_link(&self, name: &str) -> Option<SecretUrl> {
        self.link(name).and_then(|s| SecretUrl::parse(&s).ok())
    }
    pub(super) fn attrs<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        if self.attributes.is_null() {
            // A resource without attributes decodes like one with none set.
            return serde_json::from_value(Value::Object(Default::default()));
        }
        serde_json::from_value(self.attributes.clone())
    }
}

/// Conversion from a JSON:API resource object.
pub(crate) trait FromResource: Sized {
    fn from_resource(r: Resource) -> Result<Self, serde_json::Error>;
}

macro_rules! simple_resource {
    ($t:ty) => {
        impl FromResource for $t {
            fn from_resource(r: Resource) -> Result<Self, serde_json::Error> {
                let mut v: $t = r.attrs()?;
                v.id = r.id;
                Ok(v)
            }
        }
    };
}
pub(super) use simple_resource;
simple_resource!(Module);
simple_resource!(Provider);
simple_resource!(GpgKey);

impl FromResource for ModuleVersion {
    fn from_resource(r: Resource) -> Result<Self, serde_json::Error> {
        let mut v: ModuleVersion = r.attrs()?;
        v.upload = r.secret_link("upload");
        v.id = r.id;
        Ok(v)
    }
}

impl FromResource for ProviderVersion {
    fn from_resource(r: Resource) -> Result<Self, serde_json::Error> {
        let mut v: ProviderVersion = r.attrs()?;
        v.shasums_upload = r.secret_link("shasums-upload");
        v.shasums_sig_upload = r.secret_link("shasums-sig-upload");
        v.shasums_download = r.link("shasums-download");
        v.shasums_sig_download = r.link("shasums-sig-download");
        v.id = r.id;
        Ok(v)
    }
}

impl FromResource for Platform {
    fn from_resource(r: Resource) -> Result<Self, serde_json::Error> {
        let mut v: Platform = r.attrs()?;
        v.binary_upload = r.secret_link("provider-binary-upload");
        v.binary_download = r.link("provider-binary-download");
        v.id = r.id;
        Ok(v)
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct One {
    pub data: Resource,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Many {
    #[serde(default)]
    pub data: Vec<Resource>,
    #[serde(default)]
    pub meta: Value,
}

impl Many {
    pub fn next_page(&self) -> Option<u64> {
        self.meta
            .get("pagination")
            .and_then(|p| p.get("next-page"))
            .and_then(|n| n.as_u64())
    }
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct ErrorDoc {
    #[serde(default)]
    pub errors: Vec<ErrorObj>,
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct ErrorObj {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub detail: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_version_links_are_secret() {
        let doc: One = serde_json::from_str(
            r#"{"data":{"id":"modver-1","type":"registry-module-versions",
            "attributes":{"version":"1.0.0","status":"pending","source":"tfe-api","commit-sha":null},
            "links":{"upload":"https://archivist.test/v1/object/SIGNEDTOKEN"}}}"#,
        )
        .unwrap();
        let v = ModuleVersion::from_resource(doc.data).unwrap();
        assert_eq!(v.id, "modver-1");
        assert_eq!(v.status, VersionStatus::Pending);
        assert!(v.upload.is_some());
        assert!(!format!("{v:?}").contains("SIGNEDTOKEN"));
        assert!(!v.revoked());
    }

    #[test]
    fn revocation_follows_the_documented_samples() {
        let read = |rev: &str| {
            let doc: One = serde_json::from_str(&format!(
                r#"{{"data":{{"id":"modver-1","attributes":{{"version":"1.0.0","status":"ok",
                "commit-sha":null,"branch":null,"revocation":{rev}}}}}}}"#
            ))
            .unwrap();
            ModuleVersion::from_resource(doc.data).unwrap()
        };
        let v = read(r#"{"status":"Revoked","message":"m","link":"https://x.test"}"#);
        assert!(v.revoked() && !v.unrevoked());
        assert!(read(r#"{"status":"revoked"}"#).revoked());
        let v = read(r#"{"status":"Unrevoked"}"#);
        assert!(!v.revoked() && v.unrevoked());
        assert!(!read("null").revoked());
    }

    #[test]
    fn listing_deprecation_is_null_or_an_object_and_extra_fields_are_ignored() {
        let l: ModuleVersionsListing = serde_json::from_str(
            r#"{"modules":[{"source":"hashicorp/consul/aws","versions":[
            {"version":"0.0.1","deprecation":{"reason":"security vulnerability","link":"www.hashicorp.com"}},
            {"version":"0.0.2","submodules":[],"root":{"dependencies":[]},"deprecation":null},
            {"version":"0.0.3"}]}]}"#,
        )
        .unwrap();
        let v: Vec<_> = l.versions().collect();
        assert_eq!(v.len(), 3);
        assert_eq!(
            v[0].deprecation.as_ref().and_then(|d| d.reason.as_deref()),
            Some("security vulnerability")
        );
        assert_eq!(v[1].deprecation, None);
        assert_eq!(v[2].deprecation, None);
    }
}
