//! Stage "sign": the detached signature of the release's SHA256SUMS. A release built by
//! tfpub (or a dist/ folder without a `.sig`) is signed with the request's key; a
//! dist/ folder that came with a signature must verify with that key, so the version is
//! never registered under a key that did not sign it. With a public key only
//! ([`Signing::PublicOnly`]) nothing can be signed: the release must come with its
//! signature, which must be by that key and made while it was live. With an external
//! signer ([`Signing::Command`]) a release without a signature is signed by running the
//! command, and the signature it wrote is then held to the same check as one that came
//! with the release, before anything is uploaded. The OpenPGP work itself is
//! [`crate::sign`]; this stage decides which file is signed and where the signature goes.

use crate::package::provider::{write_file, ProviderRelease};
use crate::package::PackageError;
use crate::publish::error::PublishError;
use crate::sign::{PublicKey, Signer, Signing};

/// Sign `rel.shasums` into `rel.signature`, or check the signature the release came with.
pub fn sign_release(signing: &Signing, rel: &ProviderRelease) -> anyhow::Result<()> {
    match signing {
        Signing::Secret(signer) => Ok(with_secret(signer, rel)?),
        Signing::PublicOnly(key) => {
            if !rel.signature_given {
                return Err(PublishError::NoSignatureToVerify {
                    key_id: key.key_id().to_string(),
                    file: super::file_name(&rel.signature),
                }
                .into());
            }
            Ok(verify_with_public(key, rel)?)
        }
        Signing::Command(key, command) => {
            if !rel.signature_given {
                command
                    .sign(&rel.shasums, &rel.signature)
                    .map_err(|source| PackageError::Sign {
                        path: rel.shasums.clone(),
                        source,
                    })?;
            }
            Ok(verify_with_public(key, rel)?)
        }
    }
}

/// The release's signature is by `key`, made while it was live.
fn verify_with_public(key: &PublicKey, rel: &ProviderRelease) -> Result<(), PackageError> {
    let data = read(&rel.shasums)?;
    let sig = read(&rel.signature)?;
    key.verify_release(&data, &sig)
        .map_err(|source| PackageError::BadSignature {
            path: rel.signature.clone(),
            source,
        })
}

fn with_secret(signer: &Signer, rel: &ProviderRelease) -> Result<(), PackageError> {
    let data = read(&rel.shasums)?;
    if rel.signature_given {
        let sig = read(&rel.signature)?;
        crate::sign::verify_detached(&signer.public_key_armored(), &data, &sig).map_err(
            |source| PackageError::BadSignature {
                path: rel.signature.clone(),
                source,
            },
        )?;
        return Ok(());
    }
    let sig = signer
        .sign_detached(&data)
        .map_err(|source| PackageError::Sign {
            path: rel.shasums.clone(),
            source,
        })?;
    write_file(&rel.signature, &sig)
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, PackageError> {
    std::fs::read(path).map_err(|source| PackageError::Unreadable {
        path: path.to_path_buf(),
        source,
    })
}
