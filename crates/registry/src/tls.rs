//! TLS for `registry serve --tls-cert/--tls-key`: reads the PEM certificate chain and
//! private key and builds the rustls acceptor the accept loop hands each connection to.
//!
//! The provider is rustls' `ring` backend, the one the API client already links through
//! reqwest, so the binary carries one TLS stack. Every failure names the file and the
//! flag that points at it (a [`RegistryError`] with a hint), because a server that cannot
//! start is only ever fixed by pointing it at other files.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

use crate::{RegistryError, TlsFile, TlsFiles};

/// Largest PEM file read (a chain of a few certificates is a few KiB).
const MAX_PEM: u64 = 1024 * 1024;

fn read_pem(what: TlsFile, path: &Path) -> Result<Vec<u8>, RegistryError> {
    let read_err = |source| RegistryError::TlsRead {
        what,
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if !meta.is_file() || meta.len() > MAX_PEM {
        return Err(RegistryError::TlsInvalid {
            what,
            path: path.to_path_buf(),
            detail: format!("not a regular file of at most {MAX_PEM} bytes"),
        });
    }
    std::fs::read(path).map_err(read_err)
}

/// The acceptor for `files`: certificate chain (leaf first) and its private key, PEM.
pub(crate) fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, RegistryError> {
    let invalid = |what, path: &Path, detail: String| RegistryError::TlsInvalid {
        what,
        path: path.to_path_buf(),
        detail,
    };
    let cert_pem = read_pem(TlsFile::Certificate, &files.cert)?;
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(TlsFile::Certificate, &files.cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(invalid(
            TlsFile::Certificate,
            &files.cert,
            "no PEM certificate (-----BEGIN CERTIFICATE-----) found".into(),
        ));
    }
    let key_pem = read_pem(TlsFile::Key, &files.key)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        let detail = match e {
            rustls_pki_types::pem::Error::NoItemsFound => {
                "no PEM private key (PKCS#8, PKCS#1 or SEC1) found".to_string()
            }
            e => e.to_string(),
        };
        invalid(TlsFile::Key, &files.key, detail)
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(TlsFile::Certificate, &files.cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| RegistryError::TlsMismatch {
            cert: files.cert.clone(),
            key: files.key.clone(),
            detail: e.to_string(),
        })?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
