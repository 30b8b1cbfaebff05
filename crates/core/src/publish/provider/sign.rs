//! Stage "sign": the detached signature of the release's SHA256SUMS. A release built by
//! tfpub (or a dist/ folder without a `.sig`) is signed with the request's key; a
//! dist/ folder that came with a signature must verify with that key, so the version is
//! never registered under a key that did not sign it. The OpenPGP work itself is
//! [`crate::sign`]; this stage decides which file is signed and where the signature goes.

use crate::package::provider::{write_file, ProviderRelease};
use crate::package::PackageError;
use crate::sign::Signer;

/// Sign `rel.shasums` into `rel.signature`, or check the signature the release came with.
pub fn sign_release(signer: &Signer, rel: &ProviderRelease) -> Result<(), PackageError> {
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
