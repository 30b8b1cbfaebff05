//! Integration tests: `tfpub_core::sign` on the throwaway test keys, with every signature
//! checked by the system `gpg --verify` (an independent verifier) as well as by sequoia.

use tfpub_core::secret::Secret;
use tfpub_core::sign::{self, SignError, Signer};

use crate::support::gpg::Gpg;
use crate::support::{test_key, RSA_PASSPHRASE};

fn key(name: &str) -> Secret<String> {
    Secret::new(test_key(name))
}

fn pass(p: &str) -> Secret<String> {
    Secret::new(p.to_string())
}

/// Sign with `signer`, verify with gpg (after importing `public`) and with sequoia.
fn sign_and_verify_both(signer: &Signer, public: &str) {
    let data = b"0123abcd  terraform-provider-greet_1.0.0_linux_amd64.zip\n";
    let sig = signer.sign_detached(data).unwrap();
    assert!(
        sig[0] & 0x80 != 0 && !sig.starts_with(b"-----"),
        "signature must be binary, not armored"
    );
    assert_eq!(
        sign::verify_detached(public, data, &sig).unwrap(),
        signer.key_id()
    );
    let gpg = Gpg::new();
    gpg.import(public);
    let (ok, out) = gpg.verify(data, &sig);
    assert!(ok, "gpg --verify rejected the signature:\n{out}");
    assert!(out.contains("[GNUPG:] GOODSIG"), "{out}");
    assert!(out.contains("[GNUPG:] VALIDSIG"), "{out}");
    assert!(
        out.contains(&signer.fingerprint()),
        "gpg names another key:\n{out}"
    );
    // Tampered data: gpg says BADSIG, sequoia refuses.
    let (ok, out) = gpg.verify(b"tampered", &sig);
    assert!(!ok && out.contains("BADSIG"), "{out}");
    assert!(matches!(
        sign::verify_detached(public, b"tampered", &sig),
        Err(SignError::BadSignature { .. })
    ));
}

#[test]
fn rsa_key_signs_and_gpg_verifies() {
    let s = Signer::from_armored(&key("rsa.sec.asc"), Some(&pass(RSA_PASSPHRASE))).unwrap();
    assert_eq!(s.key_id(), "7272A3BE438F9A26");
    assert_eq!(s.fingerprint().len(), 40);
    assert!(s.fingerprint().ends_with("7272A3BE438F9A26"));
    assert_eq!(s.algorithm(), "RSA 2048");
    let public = s.public_key_armored();
    assert!(public.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
    assert!(!public.contains("PRIVATE"));
    assert!(!format!("{s:?}").contains("PRIVATE"));
    // Verified with the exported public key and with the one gpg exported.
    sign_and_verify_both(&s, &public);
    sign_and_verify_both(&s, &test_key("rsa.pub.asc"));
}

#[test]
fn dsa_key_is_accepted_and_signs() {
    let s = Signer::from_armored(&key("dsa.sec.asc"), None).unwrap();
    assert_eq!(s.key_id(), "4BF7A3047F87DB58");
    assert!(s.algorithm().starts_with("DSA"), "{}", s.algorithm());
    sign_and_verify_both(&s, &test_key("dsa.pub.asc"));
}

#[test]
fn refused_keys_each_have_their_own_error() {
    let e = Signer::from_armored(&key("ed.sec.asc"), None).unwrap_err();
    assert!(
        matches!(&e, SignError::UnsupportedAlgorithm { key_id, .. } if key_id == "1735FBF7F6A1C73F"),
        "{e:?}"
    );
    assert!(e.to_string().contains("RSA or DSA"), "{e}");

    let e = Signer::from_armored(&key("exp.sec.asc"), None).unwrap_err();
    assert!(
        matches!(&e, SignError::Expired { key_id, on: Some(_) } if key_id == "875E8CCBAA57621C"),
        "{e:?}"
    );

    let e = Signer::from_armored(&key("rsa.sec.asc"), Some(&pass("wrong horse"))).unwrap_err();
    assert!(matches!(e, SignError::WrongPassphrase { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(!msg.to_lowercase().contains("eof"), "{msg}");
    assert!(!msg.contains("wrong horse"), "{msg}");

    let e = Signer::from_armored(&key("rsa.sec.asc"), None).unwrap_err();
    assert!(matches!(e, SignError::PassphraseRequired { .. }), "{e:?}");

    let e = Signer::from_armored(&Secret::new(test_key("rsa.pub.asc")), None).unwrap_err();
    assert!(matches!(e, SignError::NotSecret { .. }), "{e:?}");

    let e = Signer::from_armored(&Secret::new("not a key".into()), None).unwrap_err();
    assert!(matches!(e, SignError::Unparseable { .. }), "{e:?}");
}

#[test]
fn generated_key_is_rsa4096_and_gpg_verifies() {
    let started = std::time::Instant::now();
    let g = sign::generate("Test Releases <releases@tfpub.test>", Some(&pass("pw 1"))).unwrap();
    eprintln!("generate took {:?}", started.elapsed());
    assert_eq!(g.key_id.len(), 16);
    assert!(g.key_id.chars().all(|c| c.is_ascii_hexdigit()));
    assert!(!format!("{g:?}").contains("PRIVATE"));
    assert!(g
        .secret_armored
        .expose()
        .starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----"));
    // Passphrase-protected.
    assert!(matches!(
        Signer::from_armored(&g.secret_armored, None),
        Err(SignError::PassphraseRequired { .. })
    ));
    let s = Signer::from_armored(&g.secret_armored, Some(&pass("pw 1"))).unwrap();
    assert_eq!(s.key_id(), g.key_id);
    assert_eq!(s.algorithm(), "RSA 4096");
    sign_and_verify_both(&s, &g.public_armored);
    // gpg reads the secret key too (what a user would import).
    let gpg = Gpg::new();
    gpg.import(g.secret_armored.expose());
    let out = gpg.run(&["--with-colons", "--list-secret-keys"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!(":4096:1:{}:", g.key_id)), "{text}");
}

#[test]
fn revoked_key_is_refused() {
    use openpgp::cert::prelude::*;
    use openpgp::serialize::SerializeInto;
    use sequoia_openpgp as openpgp;
    let (cert, rev) = CertBuilder::new()
        .add_userid("Revoked <revoked@tfpub.test>")
        .set_cipher_suite(CipherSuite::RSA2k)
        .set_primary_key_flags(openpgp::types::KeyFlags::empty().set_signing())
        .generate()
        .unwrap();
    let (cert, _) = cert.insert_packets(rev).unwrap();
    let armored = String::from_utf8(cert.as_tsk().armored().to_vec().unwrap()).unwrap();
    let e = Signer::from_armored(&Secret::new(armored), None).unwrap_err();
    assert!(
        matches!(&e, SignError::Revoked { key_id } if *key_id == cert.keyid().to_hex()),
        "{e:?}"
    );
    assert!(e.to_string().contains("revoked"), "{e}");
}
