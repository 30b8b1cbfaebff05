//! GPG key records per namespace. Keys are parsed with sequoia-openpgp so the stored
//! `key-id` is the primary key's real id, and only RSA/DSA primary keys are accepted,
//! like the HCP registry.
//!
//! Imports `db` only; no HTTP types.

use rusqlite::{params, Connection};
use sequoia_openpgp as openpgp;

use super::{StoreError, StoreResult};
use crate::db::now;

pub(crate) struct Key {
    pub id: i64,
    pub namespace: String,
    pub key_id: String,
    pub ascii_armor: String,
    pub created_at: String,
    pub updated_at: String,
}

const K_COLS: &str = "id, namespace, key_id, ascii_armor, created_at, updated_at";

fn k_row(r: &rusqlite::Row) -> rusqlite::Result<Key> {
    Ok(Key {
        id: r.get(0)?,
        namespace: r.get(1)?,
        key_id: r.get(2)?,
        ascii_armor: r.get(3)?,
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
    })
}

/// The primary key id (16 upper-case hex) of an armored RSA or DSA public key.
fn parse_key(armor: &str) -> StoreResult<String> {
    use openpgp::parse::Parse;
    use openpgp::types::PublicKeyAlgorithm as A;
    let cert = openpgp::Cert::from_bytes(armor.as_bytes()).map_err(|e| {
        StoreError::Invalid(format!("ascii-armor is not an OpenPGP public key: {e}"))
    })?;
    if cert.is_tsk() {
        return Err(StoreError::Invalid(
            "ascii-armor contains secret key material: upload the public key only".into(),
        ));
    }
    let algo = cert.primary_key().key().pk_algo();
    #[allow(deprecated)]
    let ok = matches!(
        algo,
        A::RSAEncryptSign | A::RSASign | A::RSAEncrypt | A::DSA
    );
    if !ok {
        return Err(StoreError::Invalid(format!(
            "key algorithm {algo} is not supported: the registry accepts RSA or DSA keys only"
        )));
    }
    Ok(cert.keyid().to_hex().to_ascii_uppercase())
}

/// The keys of each namespace, in the order given, then by id.
pub(crate) fn list(conn: &Connection, namespaces: &[&str]) -> StoreResult<Vec<Key>> {
    let mut st = conn.prepare(&format!(
        "SELECT {K_COLS} FROM gpg_keys WHERE namespace=?1 ORDER BY id"
    ))?;
    let mut out = Vec::new();
    for ns in namespaces {
        for k in st.query_map([ns], k_row)? {
            out.push(k?);
        }
    }
    Ok(out)
}

pub(crate) fn find(conn: &Connection, ns: &str, key_id: &str) -> StoreResult<Key> {
    super::one(
        conn,
        &format!("SELECT {K_COLS} FROM gpg_keys WHERE namespace=?1 AND key_id=?2"),
        params![ns, key_id.to_ascii_uppercase()],
        k_row,
        || format!("GPG key {key_id} not found in namespace {ns:?}"),
    )
}

/// A key by id within a namespace, None if absent (for the consumer protocol).
pub(crate) fn lookup(conn: &Connection, ns: &str, key_id: &str) -> Option<Key> {
    find(conn, ns, key_id).ok()
}

/// Adds an armored public key to a namespace.
pub(crate) fn create(conn: &Connection, ns: &str, armor: &str) -> StoreResult<Key> {
    let key_id = parse_key(armor)?;
    let n = conn.execute(
        "INSERT OR IGNORE INTO gpg_keys (namespace, key_id, ascii_armor, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
        params![ns, key_id, armor, now()],
    )?;
    if n == 0 {
        return Err(StoreError::Invalid(format!(
            "Key {key_id} has already been taken in namespace {ns:?}"
        )));
    }
    find(conn, ns, &key_id)
}

/// Moves a key to another namespace (the only updatable attribute); `asked` is the key id
/// as the caller wrote it, for the message.
pub(crate) fn move_to(conn: &Connection, k: &Key, asked: &str, new_ns: &str) -> StoreResult<Key> {
    conn.execute(
        "UPDATE gpg_keys SET namespace=?2, updated_at=?3 WHERE id=?1",
        params![k.id, new_ns, now()],
    )
    .map_err(|_| {
        StoreError::Invalid(format!(
            "Key {asked} already exists in namespace {new_ns:?}"
        ))
    })?;
    find(conn, new_ns, asked)
}

pub(crate) fn delete(conn: &Connection, k: &Key) -> StoreResult<()> {
    conn.execute("DELETE FROM gpg_keys WHERE id=?1", [k.id])?;
    Ok(())
}
