//! The domain vocabulary shared by the API client and the pipelines: module and provider
//! addresses, module version statuses, GPG key ids and SHA-256 digests.
//!
//! Why these are types and not strings: an address printed with `Display` is the one id
//! string every message and report uses (no `format!` rebuilding it in a dozen places);
//! a status is matched as an enum, so a typo cannot silently compare unequal; key ids and
//! digests are normalised to one case when they are made, so equality is plain `==` and
//! no call site has to remember that the wire may send either case.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A private module's address: `namespace/name/provider`. For a private module the
/// namespace is the organization.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleAddress {
    namespace: String,
    name: String,
    provider: String,
}

impl ModuleAddress {
    pub fn new(
        namespace: impl Into<String>,
        name: impl Into<String>,
        provider: impl Into<String>,
    ) -> ModuleAddress {
        ModuleAddress {
            namespace: namespace.into(),
            name: name.into(),
            provider: provider.into(),
        }
    }

    /// Parse the command line's `NAME/PROVIDER` form for a module of `organization`.
    pub fn parse_ref(organization: &str, s: &str) -> Result<ModuleAddress, VocabError> {
        match s.split_once('/') {
            Some((n, p)) if !n.is_empty() && !p.is_empty() && !p.contains('/') => {
                Ok(ModuleAddress::new(organization, n, p))
            }
            _ => Err(VocabError::NotModuleRef {
                input: s.to_string(),
            }),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The command line's `NAME/PROVIDER` form (what `module delete` and friends take).
    pub fn cli_ref(&self) -> String {
        format!("{}/{}", self.name, self.provider)
    }
}

impl fmt::Display for ModuleAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.namespace, self.name, self.provider)
    }
}

/// A provider's address: `namespace/name` (the namespace is the organization).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProviderAddress {
    namespace: String,
    name: String,
}

impl ProviderAddress {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> ProviderAddress {
        ProviderAddress {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for ProviderAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// The status of a module version, as the registry reports it. Values this client does
/// not know are kept verbatim in `Other`, so they can still be shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VersionStatus {
    Pending,
    Cloning,
    CloneFailed,
    RegIngressing,
    RegIngressReqFailed,
    RegIngressFailed,
    Ok,
    Other(String),
}

impl VersionStatus {
    /// The wire string.
    pub fn as_str(&self) -> &str {
        match self {
            VersionStatus::Pending => "pending",
            VersionStatus::Cloning => "cloning",
            VersionStatus::CloneFailed => "clone_failed",
            VersionStatus::RegIngressing => "reg_ingressing",
            VersionStatus::RegIngressReqFailed => "reg_ingress_req_failed",
            VersionStatus::RegIngressFailed => "reg_ingress_failed",
            VersionStatus::Ok => "ok",
            VersionStatus::Other(s) => s,
        }
    }

    /// A terminal failure (`*_failed`, including ones this client does not know by name).
    pub fn is_failed(&self) -> bool {
        self.as_str().ends_with("_failed")
    }

    pub fn is_ok(&self) -> bool {
        matches!(self, VersionStatus::Ok)
    }

    pub fn is_pending(&self) -> bool {
        matches!(self, VersionStatus::Pending)
    }
}

impl From<&str> for VersionStatus {
    fn from(s: &str) -> VersionStatus {
        match s {
            "pending" => VersionStatus::Pending,
            "cloning" => VersionStatus::Cloning,
            "clone_failed" => VersionStatus::CloneFailed,
            "reg_ingressing" => VersionStatus::RegIngressing,
            "reg_ingress_req_failed" => VersionStatus::RegIngressReqFailed,
            "reg_ingress_failed" => VersionStatus::RegIngressFailed,
            "ok" => VersionStatus::Ok,
            other => VersionStatus::Other(other.to_string()),
        }
    }
}

impl fmt::Display for VersionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for VersionStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for VersionStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(VersionStatus::from(s.as_str()))
    }
}

/// Why a key id or digest was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value:?} is not {digits} hexadecimal digits")]
pub struct HexError {
    what: &'static str,
    value: String,
    digits: usize,
}

impl crate::error::Hint for HexError {
    fn hint(&self) -> Option<String> {
        Some(match self.what {
            "key id" => "a key id is the last 16 hex digits of the key's fingerprint, as `tfpub gpg-key list` shows it".into(),
            _ => format!("give exactly {} hexadecimal digits", self.digits),
        })
    }
    fn kind(&self) -> Option<crate::error::ErrorKind> {
        Some(crate::error::ErrorKind::InvalidInput)
    }
}

/// Why an address given on the command line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VocabError {
    #[error("module {input:?} is not NAME/PROVIDER")]
    NotModuleRef { input: String },
}

impl crate::error::Hint for VocabError {
    fn hint(&self) -> Option<String> {
        match self {
            VocabError::NotModuleRef { .. } => Some("write it like vpc/aws".into()),
        }
    }
    fn kind(&self) -> Option<crate::error::ErrorKind> {
        Some(crate::error::ErrorKind::InvalidInput)
    }
}

fn parse_hex(what: &'static str, s: &str, digits: usize, upper: bool) -> Result<String, HexError> {
    if s.len() == digits && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(if upper {
            s.to_ascii_uppercase()
        } else {
            s.to_ascii_lowercase()
        })
    } else {
        Err(HexError {
            what,
            value: s.to_string(),
            digits,
        })
    }
}

/// Serde through `FromStr`/`Display`, so a malformed value fails decoding.
macro_rules! hex_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }

        impl From<&$t> for String {
            fn from(v: &$t) -> String {
                v.0.clone()
            }
        }

        impl PartialEq<$t> for String {
            fn eq(&self, other: &$t) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<$t> for &str {
            fn eq(&self, other: &$t) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<String> for $t {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
    };
}

/// An OpenPGP key id: 16 hexadecimal digits, kept in upper case (as the registry shows
/// them), so two ids are equal exactly when `==` says so.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// From the 8 raw bytes of a key id.
    pub fn from_bytes(bytes: &[u8]) -> Result<KeyId, HexError> {
        hex::encode_upper(bytes).parse()
    }
}

impl FromStr for KeyId {
    type Err = HexError;
    fn from_str(s: &str) -> Result<KeyId, HexError> {
        parse_hex("key id", s, 16, true).map(KeyId)
    }
}

hex_serde!(KeyId);

/// A SHA-256 digest: 64 hexadecimal digits, kept in lower case (as `sha256sum` writes).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256(String);

impl Sha256 {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digest of `bytes`.
    pub fn of_bytes(bytes: &[u8]) -> Sha256 {
        use sha2::Digest as _;
        Sha256(hex::encode(sha2::Sha256::digest(bytes)))
    }
}

impl FromStr for Sha256 {
    type Err = HexError;
    fn from_str(s: &str) -> Result<Sha256, HexError> {
        parse_hex("SHA-256 digest", s, 64, false).map(Sha256)
    }
}

hex_serde!(Sha256);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_address_displays_and_parses_the_cli_form() {
        let a = ModuleAddress::parse_ref("acme", "vpc/aws").unwrap();
        assert_eq!(a.to_string(), "acme/vpc/aws");
        assert_eq!(
            (a.namespace(), a.name(), a.provider()),
            ("acme", "vpc", "aws")
        );
        assert_eq!(a, ModuleAddress::new("acme", "vpc", "aws"));
        assert_eq!(a.cli_ref(), "vpc/aws");
    }

    #[test]
    fn module_address_refuses_what_is_not_name_slash_provider() {
        for bad in ["vpc", "vpc/", "/aws", "a/b/c", ""] {
            let e = ModuleAddress::parse_ref("acme", bad).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("module {bad:?} is not NAME/PROVIDER")
            );
            assert_eq!(
                crate::error::Hint::hint(&e).as_deref(),
                Some("write it like vpc/aws")
            );
        }
    }

    #[test]
    fn provider_address_displays_namespace_and_name() {
        let p = ProviderAddress::new("acme", "hello");
        assert_eq!(p.to_string(), "acme/hello");
        assert_eq!((p.namespace(), p.name()), ("acme", "hello"));
    }

    #[test]
    fn version_status_round_trips_every_wire_value() {
        for (wire, failed, ok) in [
            ("pending", false, false),
            ("cloning", false, false),
            ("clone_failed", true, false),
            ("reg_ingressing", false, false),
            ("reg_ingress_req_failed", true, false),
            ("reg_ingress_failed", true, false),
            ("ok", false, true),
        ] {
            let s: VersionStatus = serde_json::from_value(serde_json::json!(wire)).unwrap();
            assert!(!matches!(s, VersionStatus::Other(_)), "{wire}");
            assert_eq!(s.to_string(), wire);
            assert_eq!(serde_json::to_value(&s).unwrap(), serde_json::json!(wire));
            assert_eq!((s.is_failed(), s.is_ok()), (failed, ok), "{wire}");
        }
    }

    #[test]
    fn version_status_keeps_unknown_values() {
        let s: VersionStatus = serde_json::from_str(r#""mirror_failed""#).unwrap();
        assert_eq!(s, VersionStatus::Other("mirror_failed".into()));
        assert!(s.is_failed());
        assert_eq!(s.to_string(), "mirror_failed");
        let s = VersionStatus::from("queued");
        assert!(!s.is_failed() && !s.is_ok() && !s.is_pending());
    }

    #[test]
    fn key_id_is_upper_case_and_compares_with_plain_eq() {
        let a: KeyId = "7272a3be438f9a26".parse().unwrap();
        let b: KeyId = "7272A3BE438F9A26".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "7272A3BE438F9A26");
        assert_eq!(a, "7272A3BE438F9A26");
        assert_eq!(
            KeyId::from_bytes(&[0x72, 0x72, 0xa3, 0xbe, 0x43, 0x8f, 0x9a, 0x26]).unwrap(),
            a
        );
    }

    #[test]
    fn key_id_refuses_wrong_length_or_digits() {
        let e = "ABCD".parse::<KeyId>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "key id \"ABCD\" is not 16 hexadecimal digits"
        );
        assert!("7272A3BE438F9A2G".parse::<KeyId>().is_err());
        assert!(serde_json::from_str::<KeyId>(r#""nothex""#).is_err());
        let k: KeyId = serde_json::from_str(r#""7272a3be438f9a26""#).unwrap();
        assert_eq!(serde_json::to_string(&k).unwrap(), r#""7272A3BE438F9A26""#);
    }

    #[test]
    fn sha256_is_lower_case_and_computed_from_bytes() {
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(Sha256::of_bytes(b"").to_string(), empty);
        let upper: Sha256 = empty.to_ascii_uppercase().parse().unwrap();
        assert_eq!(upper, Sha256::of_bytes(b""));
        assert_eq!(upper, empty);
        let e = "ab".parse::<Sha256>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "SHA-256 digest \"ab\" is not 64 hexadecimal digits"
        );
        assert!(serde_json::from_str::<Sha256>(r#""ab""#).is_err());
    }
}
