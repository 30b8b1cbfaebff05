//! OpenPGP signing for provider releases (sequoia-openpgp, pure-Rust crypto backend).
//!
//! Terraform checks a provider's `SHA256SUMS` against a BINARY detached signature, and
//! the HCP Terraform registry only accepts RSA or DSA keys. This module reads a secret
//! key from a file or the environment ([`load_signer`]), refuses the keys the registry
//! would reject *before* anything is uploaded (with an error that says what to do),
//! signs, verifies, and generates suitable keys. A release signed elsewhere (gpg-agent, a
//! hardware token, a KMS) is published with its public key only ([`PublicKey`]): the
//! signature it came with is checked to be by that key, made while the key was live.
//! An external signer ([`SignCommand`], `--sign-command`) signs without tfpub ever
//! touching the secret; its output is then verified like a release signed elsewhere.
//! [`Signing`] is any of these, so the pipeline signs or verifies. Which file of a release gets signed is
//! the publish pipeline's signing stage (`publish::provider::sign`).
//!
//! A key's expiry is read once ([`KeyFacts`], [`expiry_warning`]): an expired secret key is
//! refused with its date, and one expiring within 30 days is warned about on publish.
//!
//! Key material and passphrases stay inside [`Secret`]; neither errors nor `Debug`
//! output ever contain them.

use crate::error::{ErrorKind, Hint};
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

use openpgp::cert::prelude::*;
use openpgp::crypto::{KeyPair, Password};
use openpgp::parse::stream::{
    DetachedVerifierBuilder, MessageLayer, MessageStructure, VerificationHelper,
};
use openpgp::parse::Parse;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::stream::{Message, Signer as StreamSigner};
use openpgp::serialize::SerializeInto;
use openpgp::types::{KeyFlags, PublicKeyAlgorithm, RevocationStatus};
use openpgp::{Cert, KeyHandle};
use sequoia_openpgp as openpgp;

use crate::secret::Secret;
use crate::vocab::KeyId;

const GENERATE_HINT: &str = "generate a suitable RSA key with `tfpub gpg-key generate` \
     (or `gpg --quick-gen-key 'Name <email>' rsa4096 sign`)";

/// Why a key could not be loaded, or a signature made or checked.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("the signing key could not be parsed as an armored OpenPGP key: {reason}")]
    Unparseable { reason: String },
    #[error("the key {key_id} is a public key only; a secret key is needed to sign")]
    NotSecret { key_id: String },
    #[error("the key {key_id} uses {algorithm}; the HCP Terraform registry accepts only RSA or DSA signing keys (ed25519/ECC keys are rejected)")]
    UnsupportedAlgorithm { key_id: String, algorithm: String },
    #[error("the key {key_id} has expired{}", expired_on(.on))]
    Expired { key_id: String, on: Option<String> },
    #[error("the key {key_id} has been revoked")]
    Revoked { key_id: String },
    #[error("the key {key_id} has no usable signing-capable key")]
    NoSigningKey { key_id: String },
    #[error("the key {key_id} is protected by a passphrase but none was given")]
    PassphraseRequired { key_id: String },
    #[error("wrong passphrase for the key {key_id}")]
    WrongPassphrase { key_id: String },
    #[error("the public key could not be parsed: {reason}")]
    BadPublicKey { reason: String },
    #[error("the signature does not verify: {reason}")]
    BadSignature { reason: String },
    #[error("signing failed: {reason}")]
    Signing { reason: String },
    #[error("the signature was made by the key {signed_by}, not by the given key {key_id}")]
    OtherSigner { signed_by: String, key_id: String },
    #[error("the signature was made on {signed}, when the key {key_id} had expired or was not yet valid")]
    SignedWhileExpired { key_id: String, signed: String },
    #[error("the signature was made on {signed}, after the key {key_id} was revoked")]
    SignedWhileRevoked { key_id: String, signed: String },
    #[error("the signature names no creation time or no issuing key")]
    IncompleteSignature,
    #[error("--sign-command cannot be used: {reason}")]
    BadSignCommand { reason: String },
    #[error("the signing command {program} could not be started: {reason}")]
    SignCommandStart { program: String, reason: String },
    #[error("the signing command {program} failed with exit {code}: {output}")]
    SignCommandFailed {
        program: String,
        code: String,
        output: String,
    },
    #[error("the signing command {program} exited successfully but wrote no signature to {}", .path.display())]
    SignCommandNoSignature {
        program: String,
        path: std::path::PathBuf,
    },
    #[error("key generation failed: {reason}")]
    Generate { reason: String },
    #[error("{} already exists", path.display())]
    KeyFileExists { path: std::path::PathBuf },
}

impl Hint for SignError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            SignError::Unparseable { .. } => {
                "pass the output of `gpg --armor --export-secret-keys KEYID`".into()
            }
            SignError::NotSecret { key_id } => {
                format!("export it with `gpg --armor --export-secret-keys {key_id}`")
            }
            SignError::UnsupportedAlgorithm { .. }
            | SignError::Revoked { .. }
            | SignError::NoSigningKey { .. } => GENERATE_HINT.into(),
            SignError::Expired { key_id, .. } => format!(
                "extend it with `gpg --quick-set-expire {key_id} 2y` and export it again, or {GENERATE_HINT}"
            ),
            SignError::PassphraseRequired { .. } => {
                "set the signing key passphrase (e.g. TFPUB_GPG_PASSPHRASE)".into()
            }
            SignError::WrongPassphrase { .. } => "check the signing key passphrase".into(),
            SignError::KeyFileExists { .. } => {
                "choose another --output; tfpub never overwrites a key file".into()
            }
            SignError::BadSignature { .. } => {
                "re-sign the SHA256SUMS file with the key registered in the registry".into()
            }
            SignError::OtherSigner { signed_by, .. } => format!(
                "pass the public key of {signed_by} (`gpg --armor --export {signed_by}`), or re-sign SHA256SUMS with the given key"
            ),
            SignError::SignedWhileExpired { key_id, .. } => format!(
                "extend the key (`gpg --quick-set-expire {key_id} 2y`) and sign SHA256SUMS again"
            ),
            SignError::SignedWhileRevoked { .. } | SignError::IncompleteSignature => {
                "sign SHA256SUMS again with a live key (`gpg --detach-sign`)".into()
            }
            SignError::BadSignCommand { .. } | SignError::SignCommandNoSignature { .. } => {
                "write it like 'gpg --batch --local-user ID --detach-sign --output {sig} {file}': \
                 {file} is the SHA256SUMS file, {sig} where the binary signature must go"
                    .into()
            }
            SignError::SignCommandStart { .. } => {
                "check that the program is installed and on the PATH".into()
            }
            SignError::SignCommandFailed { .. } => {
                "run the command by hand to see why it fails (is the key in the agent, is the token plugged in?)".into()
            }
            SignError::BadPublicKey { .. }
            | SignError::Signing { .. }
            | SignError::Generate { .. } => return None,
        })
    }
    fn kind(&self) -> Option<ErrorKind> {
        match self {
            SignError::Signing { .. } | SignError::Generate { .. } => None,
            _ => Some(ErrorKind::InvalidInput),
        }
    }
}

/// Where a secret (the armored key, its passphrase) comes from.
pub enum SecretSource<'a> {
    /// A file (`--gpg-key FILE`, `--gpg-passphrase-file FILE`).
    File(&'a Path),
    /// The value of an environment variable, already read, and the variable's name.
    Env(&'static str, Secret<String>),
}

impl SecretSource<'_> {
    fn describe(&self) -> String {
        match self {
            SecretSource::File(f) => f.display().to_string(),
            SecretSource::Env(var, _) => format!("from {var}"),
        }
    }

    /// The secret; a file's content is read as it is, `what` names it in errors.
    fn read(self, what: &str) -> anyhow::Result<Secret<String>> {
        use anyhow::Context as _;
        match self {
            SecretSource::File(f) => Ok(Secret::new(
                std::fs::read_to_string(f)
                    .with_context(|| format!("reading the {what} {}", f.display()))?,
            )),
            SecretSource::Env(_, s) => Ok(s),
        }
    }
}

/// Read, check and unlock the signing key. A passphrase read from a file loses its
/// trailing line break.
pub fn load_signer(
    key: SecretSource<'_>,
    passphrase: Option<SecretSource<'_>>,
) -> anyhow::Result<Signer> {
    use anyhow::Context as _;
    let source = key.describe();
    let key = key.read("signing key")?;
    let pass = match passphrase {
        Some(p @ SecretSource::File(_)) => {
            let s = p.read("passphrase file")?;
            Some(Secret::new(
                s.expose().trim_end_matches(['\r', '\n']).to_string(),
            ))
        }
        Some(SecretSource::Env(_, s)) => Some(s),
        None => None,
    };
    Signer::from_armored(&key, pass.as_ref())
        .with_context(|| format!("loading the signing key {source}"))
}

/// A loaded, checked, unlocked signing key.
pub struct Signer {
    cert: Cert,
    keypair: KeyPair,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("key_id", &self.key_id())
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

#[allow(deprecated)] // see is_rsa_or_dsa
fn algorithm_name<P: openpgp::packet::key::KeyParts, R: openpgp::packet::key::KeyRole>(
    key: &openpgp::packet::Key<P, R>,
) -> String {
    let bits = key.mpis().bits();
    let name = match key.pk_algo() {
        PublicKeyAlgorithm::RSAEncryptSign
        | PublicKeyAlgorithm::RSASign
        | PublicKeyAlgorithm::RSAEncrypt => "RSA".to_string(),
        PublicKeyAlgorithm::DSA => "DSA".to_string(),
        PublicKeyAlgorithm::EdDSA | PublicKeyAlgorithm::Ed25519 => return "EdDSA".into(),
        PublicKeyAlgorithm::Ed448 => return "Ed448".into(),
        PublicKeyAlgorithm::ECDSA => "ECDSA".to_string(),
        other => return other.to_string(),
    };
    match bits {
        Some(b) => format!("{name} {b}"),
        None => name,
    }
}

// sequoia marks RSASign and DSA deprecated; the registry accepts only RSA and DSA keys,
// so naming them is the point here.
#[allow(deprecated)]
fn is_rsa_or_dsa(algo: PublicKeyAlgorithm) -> bool {
    matches!(
        algo,
        PublicKeyAlgorithm::RSAEncryptSign | PublicKeyAlgorithm::RSASign | PublicKeyAlgorithm::DSA
    )
}

impl Signer {
    /// Load an armored secret key, refuse keys the registry would reject, and unlock it.
    pub fn from_armored(
        secret_key: &Secret<String>,
        passphrase: Option<&Secret<String>>,
    ) -> Result<Signer, SignError> {
        let cert = Cert::from_bytes(secret_key.expose().as_bytes()).map_err(|e| {
            // The parser's messages never quote the input, but keep them short anyway.
            SignError::Unparseable {
                reason: e.to_string().chars().take(200).collect(),
            }
        })?;
        let key_id = cert.keyid().to_hex();
        if !cert.is_tsk() {
            return Err(SignError::NotSecret { key_id });
        }
        let primary_algo = cert.primary_key().key().pk_algo();
        if !is_rsa_or_dsa(primary_algo) {
            return Err(SignError::UnsupportedAlgorithm {
                key_id,
                algorithm: algorithm_name(cert.primary_key().key()),
            });
        }
        let policy = StandardPolicy::new();
        if let RevocationStatus::Revoked(_) = cert.revocation_status(&policy, None) {
            return Err(SignError::Revoked { key_id });
        }
        let dated = |e: SignError| match e {
            SignError::Expired { key_id, .. } => SignError::Expired {
                key_id,
                on: expiry_of(&cert).map(format_time),
            },
            other => other,
        };
        let valid = match cert.with_policy(&policy, None) {
            Ok(v) => v,
            Err(e) => {
                return Err(dated(classify_invalid(&key_id, e)));
            }
        };
        if let Err(e) = valid.alive() {
            return Err(dated(classify_invalid(&key_id, e)));
        }
        let key = signing_key(&valid, &key_id).map_err(dated)?;
        let key = if key.secret().is_encrypted() {
            let pass = passphrase.ok_or_else(|| SignError::PassphraseRequired {
                key_id: key_id.clone(),
            })?;
            let password = Password::from(pass.expose().as_str());
            key.decrypt_secret(&password)
                .map_err(|_| SignError::WrongPassphrase {
                    key_id: key_id.clone(),
                })?
        } else {
            key
        };
        let keypair = key.into_keypair().map_err(|e| SignError::Signing {
            reason: format!("key {key_id}: {e}"),
        })?;
        Ok(Signer { cert, keypair })
    }

    /// The primary key ID: 16 upper-case hex digits (what the registry calls `key-id`).
    pub fn key_id(&self) -> KeyId {
        KeyId::from_bytes(self.cert.keyid().as_bytes()).expect("an OpenPGP v4 key id has 8 bytes")
    }

    /// The primary key fingerprint, upper-case hex without spaces.
    pub fn fingerprint(&self) -> String {
        self.cert.fingerprint().to_hex()
    }

    /// The primary key's algorithm and size, e.g. `RSA 2048`.
    pub fn algorithm(&self) -> String {
        algorithm_name(self.cert.primary_key().key())
    }

    /// When the key stops signing ([`expiry_of`]); None: never.
    pub fn expires(&self) -> Option<SystemTime> {
        expiry_of(&self.cert)
    }

    /// The armored public key (what is registered with the registry).
    pub fn public_key_armored(&self) -> String {
        let bytes = self
            .cert
            .armored()
            .to_vec()
            .expect("serializing a parsed certificate to memory");
        String::from_utf8(bytes).expect("armor is ASCII")
    }

    /// A BINARY detached signature over `data` (Terraform rejects armored ones).
    pub fn sign_detached(&self, data: &[u8]) -> Result<Vec<u8>, SignError> {
        let err = |e: anyhow::Error| SignError::Signing {
            reason: format!("key {}: {e}", self.key_id()),
        };
        let mut sink = Vec::new();
        {
            let message = Message::new(&mut sink);
            let mut signer = StreamSigner::new(message, self.keypair.clone())
                .map_err(err)?
                .detached()
                .build()
                .map_err(err)?;
            signer.write_all(data).map_err(|e| err(e.into()))?;
            signer.finalize().map_err(err)?;
        }
        Ok(sink)
    }
}

/// A checked public key (RSA/DSA, as the registry requires): what verifies a release
/// signed elsewhere. Its secret part, if the armor carries one, is never used.
#[derive(Debug, Clone)]
pub struct PublicKey {
    cert: Cert,
}

impl PublicKey {
    /// Parse an armored public key and refuse the algorithms the registry rejects.
    pub fn from_armored(armored: &str) -> Result<PublicKey, SignError> {
        let cert = Cert::from_bytes(armored.as_bytes()).map_err(|e| SignError::BadPublicKey {
            reason: e.to_string().chars().take(200).collect(),
        })?;
        let cert = cert.strip_secret_key_material();
        if !is_rsa_or_dsa(cert.primary_key().key().pk_algo()) {
            return Err(SignError::UnsupportedAlgorithm {
                key_id: cert.keyid().to_hex(),
                algorithm: algorithm_name(cert.primary_key().key()),
            });
        }
        Ok(PublicKey { cert })
    }

    /// The primary key ID, as [`Signer::key_id`].
    pub fn key_id(&self) -> KeyId {
        KeyId::from_bytes(self.cert.keyid().as_bytes()).expect("an OpenPGP v4 key id has 8 bytes")
    }

    /// When the key stops signing ([`expiry_of`]); None: never.
    pub fn expires(&self) -> Option<SystemTime> {
        expiry_of(&self.cert)
    }

    /// What `gpg-key show` and `whoami --gpg-key` tell about the key.
    pub fn describe(&self) -> KeyFacts {
        let policy = StandardPolicy::new();
        let revoked = matches!(
            self.cert.revocation_status(&policy, None),
            RevocationStatus::Revoked(_)
        );
        KeyFacts {
            key_id: self.key_id(),
            fingerprint: self.cert.fingerprint().to_hex(),
            algorithm: algorithm_name(self.cert.primary_key().key()),
            user_ids: self
                .cert
                .userids()
                .map(|u| String::from_utf8_lossy(u.userid().value()).into_owned())
                .collect(),
            created: self.cert.primary_key().key().creation_time(),
            expires: self.expires(),
            revoked,
        }
    }

    /// The armored public key (what is registered with the registry).
    pub fn public_key_armored(&self) -> String {
        let bytes = self
            .cert
            .armored()
            .to_vec()
            .expect("serializing a parsed certificate to memory");
        String::from_utf8(bytes).expect("armor is ASCII")
    }

    /// Check that `sig` is a detached signature over `data` made by this key while it
    /// was live (not expired, not revoked, at the signature's creation time). Each
    /// failure has its own error: another key, expired or revoked then, bad signature.
    pub fn verify_release(&self, data: &[u8], sig: &[u8]) -> Result<(), SignError> {
        let key_id = self.cert.keyid().to_hex();
        let (issuers, created) = signature_facts(sig)?;
        let ours = issuers
            .iter()
            .any(|h| self.cert.keys().any(|ka| ka.key().key_handle().aliases(h)));
        if !ours {
            let signed_by = issuers
                .iter()
                .map(|h| match h {
                    KeyHandle::KeyID(id) => id.to_hex(),
                    KeyHandle::Fingerprint(fp) => openpgp::KeyID::from(fp).to_hex(),
                })
                .next()
                .unwrap_or_default();
            return Err(SignError::OtherSigner { signed_by, key_id });
        }
        let signed = chrono::DateTime::<chrono::Utc>::from(created)
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string();
        let policy = StandardPolicy::new();
        if let RevocationStatus::Revoked(_) = self.cert.revocation_status(&policy, created) {
            return Err(SignError::SignedWhileRevoked { key_id, signed });
        }
        let live = self
            .cert
            .with_policy(&policy, created)
            .and_then(|v| v.alive().map(|_| v));
        let valid = match live {
            Ok(v) => v,
            Err(e) => {
                return Err(match classify_invalid(&key_id, e) {
                    SignError::Revoked { key_id } => {
                        SignError::SignedWhileRevoked { key_id, signed }
                    }
                    _ => SignError::SignedWhileExpired { key_id, signed },
                })
            }
        };
        let signing_key_live = valid
            .keys()
            .for_signing()
            .filter(|ka| issuers.iter().any(|h| ka.key().key_handle().aliases(h)))
            .any(|ka| ka.alive().is_ok());
        if !signing_key_live {
            return Err(SignError::SignedWhileExpired { key_id, signed });
        }
        verify_detached(&self.public_key_armored(), data, sig).map(|_| ())
    }
}

/// The facts of a key a person checks before registering, moving or rotating it.
#[derive(Debug, Clone)]
pub struct KeyFacts {
    pub key_id: KeyId,
    pub fingerprint: String,
    pub algorithm: String,
    pub user_ids: Vec<String>,
    pub created: SystemTime,
    pub expires: Option<SystemTime>,
    pub revoked: bool,
}

impl KeyFacts {
    /// One line: algorithm, fingerprint, user ids, creation and expiry.
    pub fn summary(&self, now: SystemTime) -> String {
        let expiry = match self.expires {
            None => "never expires".to_string(),
            Some(t) if t <= now => format!("EXPIRED on {}", format_time(t)),
            Some(t) => format!(
                "expires on {} (in {} days)",
                format_time(t),
                days_until(t, now)
            ),
        };
        let revoked = if self.revoked { ", REVOKED" } else { "" };
        format!(
            "{}, fingerprint {}, {}, created {}, {expiry}{revoked}",
            self.algorithm,
            self.fingerprint,
            self.user_ids.join("; "),
            format_time(self.created)
        )
    }
}

/// How many days warn ahead of a signing key's expiry.
pub const EXPIRY_WARNING_DAYS: u64 = 30;

/// A warning when the key `key_id` expires within [`EXPIRY_WARNING_DAYS`] of `now`
/// (and has not yet expired: an expired secret key is refused by [`Signer`], and a
/// release signed elsewhere while the key was live stays valid).
pub fn expiry_warning(
    key_id: &KeyId,
    expires: Option<SystemTime>,
    now: SystemTime,
) -> Option<String> {
    let t = expires?;
    let soon = now + std::time::Duration::from_secs(EXPIRY_WARNING_DAYS * 24 * 3600);
    (t > now && t <= soon).then(|| {
        format!(
            "the signing key {key_id} expires on {} (in {} days): extend it (`gpg --quick-set-expire {key_id} 2y`) or rotate to a new key (README: rotating a signing key)",
            format_time(t),
            days_until(t, now)
        )
    })
}

/// Whole days from `now` until `t` (0 when less than one).
fn days_until(t: SystemTime, now: SystemTime) -> u64 {
    t.duration_since(now)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0)
}

/// A time as the messages write it, e.g. `2026-11-30 15:04:05 UTC`.
pub fn format_time(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t)
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

fn expired_on(on: &Option<String>) -> String {
    on.as_deref()
        .map(|d| format!(" (on {d})"))
        .unwrap_or_default()
}

/// When `cert` stops being able to sign: the primary key's expiry, or that of its
/// signing-capable keys (the latest of them) if earlier. None: never.
fn expiry_of(cert: &Cert) -> Option<SystemTime> {
    let policy = StandardPolicy::new();
    let valid = cert.with_policy(&policy, None).ok()?;
    let primary = valid.primary_key().key_expiration_time();
    let signing: Vec<Option<SystemTime>> = valid
        .keys()
        .for_signing()
        .map(|ka| ka.key_expiration_time())
        .collect();
    let keys = if signing.is_empty() || signing.iter().any(Option::is_none) {
        None
    } else {
        signing.into_iter().flatten().max()
    };
    match (primary, keys) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The issuers and creation time of the (first) signature in `sig`.
fn signature_facts(sig: &[u8]) -> Result<(Vec<KeyHandle>, SystemTime), SignError> {
    let bad = |e: anyhow::Error| SignError::BadSignature {
        reason: e.to_string().chars().take(200).collect(),
    };
    let pile = openpgp::PacketPile::from_bytes(sig).map_err(bad)?;
    let s = pile
        .descendants()
        .find_map(|p| match p {
            openpgp::Packet::Signature(s) => Some(s.clone()),
            _ => None,
        })
        .ok_or_else(|| SignError::BadSignature {
            reason: "no signature found".into(),
        })?;
    let issuers = s.get_issuers();
    match s.signature_creation_time() {
        Some(t) if !issuers.is_empty() => Ok((issuers, t)),
        _ => Err(SignError::IncompleteSignature),
    }
}

/// How a release gets its signature: signed here with a secret key, signed elsewhere
/// and verified with the public key only, or signed by an external command
/// (`--sign-command`) and then verified with the public key like a release signed
/// elsewhere.
#[derive(Debug)]
pub enum Signing {
    Secret(Box<Signer>),
    PublicOnly(Box<PublicKey>),
    Command(Box<PublicKey>, SignCommand),
}

/// An external signer (`--sign-command`), goreleaser's convention: a command line whose
/// `{file}` is replaced by the path of the file to sign and `{sig}` by the path the
/// binary detached signature must be written to. It is split into words like a POSIX
/// shell would (quotes and backslashes) but never run through a shell; tfpub holds no
/// secret here, so the child's output can be shown when it fails.
#[derive(Debug, Clone)]
pub struct SignCommand {
    words: Vec<String>,
}

/// How much of a failed command's output an error carries.
const OUTPUT_TAIL: usize = 1000;

impl SignCommand {
    /// Split `line` into words; refused when empty, badly quoted or without `{sig}`.
    pub fn parse(line: &str) -> Result<SignCommand, SignError> {
        let words = split_words(line).ok_or_else(|| SignError::BadSignCommand {
            reason: "unbalanced quotes or a trailing backslash".into(),
        })?;
        if words.is_empty() {
            return Err(SignError::BadSignCommand {
                reason: "it is empty".into(),
            });
        }
        if !words.iter().any(|w| w.contains("{sig}")) {
            return Err(SignError::BadSignCommand {
                reason: "it has no {sig} placeholder for where the signature goes".into(),
            });
        }
        Ok(SignCommand { words })
    }

    /// The words with `{file}` and `{sig}` replaced, each in place.
    fn argv(&self, file: &Path, sig: &Path) -> Vec<String> {
        let (f, s) = (file.to_string_lossy(), sig.to_string_lossy());
        self.words
            .iter()
            .map(|w| w.replace("{file}", &f).replace("{sig}", &s))
            .collect()
    }

    /// Run the command to sign `file` into `sig` (which must not exist yet); refused
    /// when it cannot start, exits non-zero (code and output tail named) or leaves no
    /// signature behind. The signature is NOT checked here: the caller verifies it.
    pub fn sign(&self, file: &Path, sig: &Path) -> Result<(), SignError> {
        let argv = self.argv(file, sig);
        let program = argv[0].clone();
        let out = std::process::Command::new(&program)
            .args(&argv[1..])
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| SignError::SignCommandStart {
                program: program.clone(),
                reason: e.to_string(),
            })?;
        if !out.status.success() {
            let code = out
                .status
                .code()
                .map_or_else(|| "a signal".to_string(), |c| format!("code {c}"));
            let output = tail(&out.stderr)
                .or_else(|| tail(&out.stdout))
                .unwrap_or_else(|| "(no output)".into());
            return Err(SignError::SignCommandFailed {
                program,
                code,
                output,
            });
        }
        if !sig.is_file() {
            return Err(SignError::SignCommandNoSignature {
                program,
                path: sig.to_path_buf(),
            });
        }
        Ok(())
    }
}

/// The last [`OUTPUT_TAIL`] characters of a command's output, trimmed; `None` if empty.
fn tail(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let skip = text.chars().count().saturating_sub(OUTPUT_TAIL);
    Some(text.chars().skip(skip).collect())
}

/// POSIX-shell-like word splitting without expansion: whitespace separates words,
/// '…' is literal, "…" honours \\ \" \$ \` escapes, a backslash elsewhere escapes the
/// next character. `None` for an unterminated quote or a trailing backslash.
fn split_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut cur: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = cur.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => w.push(c),
                    }
                }
            }
            '"' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('\\' | '"' | '$' | '`') => w.push(c),
                            '\n' => {}
                            c => {
                                w.push('\\');
                                w.push(c);
                            }
                        },
                        c => w.push(c),
                    }
                }
            }
            '\\' => {
                let next = chars.next()?;
                if next != '\n' {
                    cur.get_or_insert_with(String::new).push(next);
                }
            }
            c => cur.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(cur);
    Some(words)
}

impl Signing {
    /// The primary key ID the version is registered under.
    pub fn key_id(&self) -> KeyId {
        match self {
            Signing::Secret(s) => s.key_id(),
            Signing::PublicOnly(p) | Signing::Command(p, _) => p.key_id(),
        }
    }

    /// The armored public key to register.
    pub fn public_key_armored(&self) -> String {
        match self {
            Signing::Secret(s) => s.public_key_armored(),
            Signing::PublicOnly(p) | Signing::Command(p, _) => p.public_key_armored(),
        }
    }

    /// When the key stops signing; None: never.
    pub fn expires(&self) -> Option<SystemTime> {
        match self {
            Signing::Secret(s) => s.expires(),
            Signing::PublicOnly(p) | Signing::Command(p, _) => p.expires(),
        }
    }

    /// [`expiry_warning`] for this key, now.
    pub fn expiry_warning(&self) -> Option<String> {
        expiry_warning(&self.key_id(), self.expires(), SystemTime::now())
    }
}

type SecretKey =
    openpgp::packet::Key<openpgp::packet::key::SecretParts, openpgp::packet::key::UnspecifiedRole>;

/// The signing-capable secret key of `valid` to sign with: a live RSA/DSA one; else
/// why none is usable.
fn signing_key(valid: &ValidCert<'_>, key_id: &str) -> Result<SecretKey, SignError> {
    let candidates: Vec<_> = valid
        .keys()
        .secret()
        .supported()
        .for_signing()
        .revoked(false)
        .collect();
    if candidates.is_empty() {
        return Err(SignError::NoSigningKey {
            key_id: key_id.to_string(),
        });
    }
    // Prefer a live RSA/DSA signing key; report why none is usable otherwise.
    let mut last_err = None;
    let mut chosen = None;
    for ka in candidates {
        if !is_rsa_or_dsa(ka.key().pk_algo()) {
            last_err.get_or_insert(SignError::UnsupportedAlgorithm {
                key_id: key_id.to_string(),
                algorithm: algorithm_name(ka.key()),
            });
            continue;
        }
        if let Err(e) = ka.alive() {
            last_err = Some(classify_invalid(key_id, e));
            continue;
        }
        chosen = Some(ka.key().clone());
        break;
    }
    chosen.ok_or_else(|| {
        last_err.unwrap_or(SignError::NoSigningKey {
            key_id: key_id.to_string(),
        })
    })
}

fn classify_invalid(key_id: &str, e: anyhow::Error) -> SignError {
    match e.downcast_ref::<openpgp::Error>() {
        Some(openpgp::Error::Expired(_)) => SignError::Expired {
            key_id: key_id.to_string(),
            on: None,
        },
        Some(openpgp::Error::InvalidKey(m)) if m.contains("revoked") => SignError::Revoked {
            key_id: key_id.to_string(),
        },
        _ => {
            let msg = e.to_string();
            if msg.to_lowercase().contains("expired") {
                SignError::Expired {
                    key_id: key_id.to_string(),
                    on: None,
                }
            } else {
                SignError::NoSigningKey {
                    key_id: key_id.to_string(),
                }
            }
        }
    }
}

struct VerifyHelper {
    cert: Cert,
    signer: Option<String>,
}

impl VerificationHelper for VerifyHelper {
    fn get_certs(&mut self, _ids: &[KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        Ok(vec![self.cert.clone()])
    }

    fn check(&mut self, structure: MessageStructure) -> openpgp::Result<()> {
        for layer in structure.into_iter() {
            if let MessageLayer::SignatureGroup { results } = layer {
                let mut errors = Vec::new();
                for r in results {
                    match r {
                        Ok(good) => {
                            self.signer = Some(good.ka.cert().keyid().to_hex());
                            return Ok(());
                        }
                        Err(e) => errors.push(e.to_string()),
                    }
                }
                return Err(anyhow::anyhow!(if errors.is_empty() {
                    "no signature found".to_string()
                } else {
                    errors.join("; ")
                }));
            }
        }
        Err(anyhow::anyhow!("no signature found"))
    }
}

/// Verify a detached (binary or armored) signature over `data` with `public_armored`.
/// Returns the primary key ID of the certificate whose key made the signature.
pub fn verify_detached(public_armored: &str, data: &[u8], sig: &[u8]) -> Result<String, SignError> {
    let cert =
        Cert::from_bytes(public_armored.as_bytes()).map_err(|e| SignError::BadPublicKey {
            reason: e.to_string(),
        })?;
    let policy = StandardPolicy::new();
    let helper = VerifyHelper { cert, signer: None };
    let bad = |e: anyhow::Error| SignError::BadSignature {
        reason: e.to_string(),
    };
    let mut verifier = DetachedVerifierBuilder::from_bytes(sig)
        .map_err(bad)?
        .with_policy(&policy, None, helper)
        .map_err(bad)?;
    verifier.verify_bytes(data).map_err(bad)?;
    let helper = verifier.into_helper();
    helper.signer.ok_or_else(|| SignError::BadSignature {
        reason: "no good signature".into(),
    })
}

/// A freshly generated key pair.
pub struct GeneratedKey {
    pub secret_armored: Secret<String>,
    pub public_armored: String,
    pub key_id: String,
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// Generate an RSA 4096 key whose primary key can sign (what the registry accepts).
pub fn generate(
    user_id: &str,
    passphrase: Option<&Secret<String>>,
) -> Result<GeneratedKey, SignError> {
    let gen_err = |e: anyhow::Error| SignError::Generate {
        reason: e.to_string(),
    };
    let mut builder = CertBuilder::new()
        .add_userid(user_id)
        .set_cipher_suite(CipherSuite::RSA4k)
        .set_creation_time(SystemTime::now() - std::time::Duration::from_secs(60))
        .set_primary_key_flags(KeyFlags::empty().set_certification().set_signing())
        .set_validity_period(None);
    if let Some(p) = passphrase {
        builder = builder.set_password(Some(Password::from(p.expose().as_str())));
    }
    let (cert, _rev) = builder.generate().map_err(gen_err)?;
    let secret = cert.as_tsk().armored().to_vec().map_err(gen_err)?;
    let public = cert.armored().to_vec().map_err(gen_err)?;
    Ok(GeneratedKey {
        secret_armored: Secret::new(String::from_utf8(secret).expect("armor is ASCII")),
        public_armored: String::from_utf8(public).expect("armor is ASCII"),
        key_id: cert.keyid().to_hex(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn key_file(name: &str) -> String {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/keys")
            .join(name);
        std::fs::read_to_string(p).unwrap()
    }

    #[test]
    fn a_sign_command_splits_like_a_shell_without_expanding() {
        let w = |l: &str| split_words(l).unwrap();
        assert_eq!(
            w("gpg  --local-user 'A B' --output {sig} {file}"),
            ["gpg", "--local-user", "A B", "--output", "{sig}", "{file}"]
        );
        assert_eq!(
            w(r#"a "b \"c\" $HOME" d\ e ''"#),
            ["a", r#"b "c" $HOME"#, "d e", ""]
        );
        assert_eq!(w(r#"x"y"'z'"#), ["xyz"]);
        assert!(split_words("a 'b").is_none());
        assert!(split_words(r#"a "b"#).is_none());
        assert!(split_words("a \\").is_none());
    }

    #[test]
    fn placeholders_are_substituted_inside_each_word() {
        let c = SignCommand::parse("kms-sign --in={file} --out {sig}.tmp '{file} x'").unwrap();
        let argv = c.argv(Path::new("/w/S S"), Path::new("/w/S.sig"));
        assert_eq!(
            argv,
            [
                "kms-sign",
                "--in=/w/S S",
                "--out",
                "/w/S.sig.tmp",
                "/w/S S x"
            ]
        );
        for (line, reason) in [
            ("", "it is empty"),
            ("gpg --detach-sign {file}", "no {sig} placeholder"),
            ("gpg 'x", "unbalanced quotes"),
        ] {
            let e = SignCommand::parse(line).unwrap_err();
            assert!(e.to_string().contains(reason), "{line:?}: {e}");
        }
    }

    #[test]
    fn a_failing_sign_command_names_its_exit_code_and_output_tail() {
        let dir = tempfile::tempdir().unwrap();
        let (file, sig) = (dir.path().join("S"), dir.path().join("S.sig"));
        let c = SignCommand::parse("sh -c 'echo out; echo no-agent >&2; exit 7' {sig}").unwrap();
        let e = c.sign(&file, &sig).unwrap_err().to_string();
        assert!(e.contains("exit code 7") && e.contains("no-agent"), "{e}");
        assert!(!e.contains("out;"), "{e}");
        let long = "sh -c 'printf %05000d 1 >&2; exit 1' {sig}";
        let e = SignCommand::parse(long)
            .unwrap()
            .sign(&file, &sig)
            .unwrap_err();
        let SignError::SignCommandFailed { output, .. } = e else {
            panic!("{e}")
        };
        assert_eq!(output.len(), OUTPUT_TAIL);
        assert!(output.ends_with('1'));
        let e = SignCommand::parse("true {sig}")
            .unwrap()
            .sign(&file, &sig)
            .unwrap_err();
        assert!(matches!(e, SignError::SignCommandNoSignature { .. }), "{e}");
        SignCommand::parse("touch {sig}")
            .unwrap()
            .sign(&file, &sig)
            .unwrap();
        assert!(sig.is_file());
    }

    /// A binary detached signature over `data` by the primary key of the unprotected
    /// secret key `name`, dated `at` (whatever the key's validity then).
    fn sign_at(name: &str, data: &[u8], at: SystemTime) -> Vec<u8> {
        let cert = Cert::from_bytes(key_file(name).as_bytes()).unwrap();
        let keypair = cert
            .primary_key()
            .key()
            .clone()
            .parts_into_secret()
            .unwrap()
            .into_keypair()
            .unwrap();
        let mut sink = Vec::new();
        let message = Message::new(&mut sink);
        let mut signer = StreamSigner::new(message, keypair)
            .unwrap()
            .creation_time(at)
            .detached()
            .build()
            .unwrap();
        signer.write_all(data).unwrap();
        signer.finalize().unwrap();
        sink
    }

    fn created(name: &str) -> SystemTime {
        Cert::from_bytes(key_file(name).as_bytes())
            .unwrap()
            .primary_key()
            .key()
            .creation_time()
    }

    #[test]
    fn a_signature_made_while_the_key_was_live_verifies_even_after_it_expired() {
        let key = PublicKey::from_armored(&key_file("exp.pub.asc")).unwrap();
        let sig = sign_at("exp.sec.asc", b"sums\n", created("exp.sec.asc"));
        key.verify_release(b"sums\n", &sig).unwrap();
        // Other data: the signature does not verify.
        let e = key.verify_release(b"other\n", &sig).unwrap_err();
        assert!(matches!(e, SignError::BadSignature { .. }), "{e}");
    }

    #[test]
    fn a_signature_made_after_the_key_expired_is_refused_with_the_date() {
        let key = PublicKey::from_armored(&key_file("exp.pub.asc")).unwrap();
        let late = created("exp.sec.asc") + Duration::from_secs(3600);
        let sig = sign_at("exp.sec.asc", b"sums\n", late);
        let e = key.verify_release(b"sums\n", &sig).unwrap_err();
        assert!(matches!(e, SignError::SignedWhileExpired { .. }), "{e}");
        let signed = chrono::DateTime::<chrono::Utc>::from(late)
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string();
        assert!(e.to_string().contains(&signed), "{e}");
        assert!(e.to_string().contains("875E8CCBAA57621C"), "{e}");
    }

    #[test]
    fn a_signature_by_another_key_names_both_keys() {
        let key = PublicKey::from_armored(&key_file("rsa.pub.asc")).unwrap();
        let sig = sign_at("dsa.sec.asc", b"sums\n", SystemTime::now());
        let e = key.verify_release(b"sums\n", &sig).unwrap_err();
        assert!(matches!(e, SignError::OtherSigner { .. }), "{e}");
        let m = e.to_string();
        assert!(
            m.contains("4BF7A3047F87DB58") && m.contains("7272A3BE438F9A26"),
            "{m}"
        );
    }

    #[test]
    fn an_ecc_public_key_is_refused() {
        let e = PublicKey::from_armored(&key_file("ed.pub.asc")).unwrap_err();
        assert!(matches!(e, SignError::UnsupportedAlgorithm { .. }), "{e}");
    }

    #[test]
    fn the_expiry_warning_starts_thirty_days_ahead_and_stops_at_expiry() {
        let id: KeyId = "7272A3BE438F9A26".parse().unwrap();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let day = Duration::from_secs(86_400);
        let w = expiry_warning(&id, Some(now + day * 30), now).unwrap();
        assert!(
            w.contains("7272A3BE438F9A26") && w.contains("(in 30 days)"),
            "{w}"
        );
        assert!(w.contains(&format_time(now + day * 30)), "{w}");
        assert!(expiry_warning(&id, Some(now + day * 31), now).is_none());
        assert!(expiry_warning(&id, Some(now), now).is_none());
        assert!(expiry_warning(&id, None, now).is_none());
    }

    #[test]
    fn an_expired_secret_key_is_refused_with_its_expiry_date() {
        let e = Signer::from_armored(&Secret::new(key_file("exp.sec.asc")), None).unwrap_err();
        let expires = expiry_of(&Cert::from_bytes(key_file("exp.pub.asc").as_bytes()).unwrap());
        assert_eq!(
            expires,
            Some(created("exp.sec.asc") + Duration::from_secs(1)),
            "the test key expires one second after its creation"
        );
        let want = format!("has expired (on {})", format_time(expires.unwrap()));
        assert!(e.to_string().contains(&want), "{e}");
        let facts = PublicKey::from_armored(&key_file("exp.pub.asc"))
            .unwrap()
            .describe();
        let line = facts.summary(SystemTime::now());
        assert!(
            line.contains("EXPIRED on") && line.contains("RSA 2048"),
            "{line}"
        );
    }
}
