//! `tfpub gpg-key ...`: generate a signing key the registry accepts (written to disk with
//! the secret part readable by its owner only, never over an existing file), and list,
//! add or delete the keys of the organization's namespace.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::Confirm;
use crate::publish::Context;
use crate::report::{Action, Item, ItemKind, Outcome, OutcomeKind};
use crate::secret::Secret;

/// Generates an RSA 4096 key: the secret key (armored) in `output`, created with mode
/// 0600, and the public key beside it as `<output stem>.pub.asc`.
pub fn generate(
    user_id: &str,
    output: &Path,
    passphrase: Option<Secret<String>>,
) -> anyhow::Result<Outcome> {
    if output.exists() {
        return Err(crate::sign::SignError::KeyFileExists {
            path: output.to_path_buf(),
        }
        .into());
    }
    let key = crate::sign::generate(user_id, passphrase.as_ref())?;
    write_secret_file(output, key.secret_armored.expose().as_bytes())?;
    let public = output.with_extension("pub.asc");
    std::fs::write(&public, &key.public_armored)
        .with_context(|| format!("writing {}", public.display()))?;
    let mut o = Outcome::new("gpg-key generate");
    o.outcome = OutcomeKind::Updated;
    o.push(
        Item::new(ItemKind::GpgKey, &key.key_id, Action::Created).detail(format!(
            "secret key in {} (mode 0600), public key in {}",
            output.display(),
            public.display()
        )),
    );
    Ok(o)
}

/// Writes `bytes` to a temporary sibling created with mode 0600 (never an existing
/// file), syncs it, then renames it to `path`: no reader ever sees a partial key.
fn write_secret_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp: PathBuf = path.with_extension("tmp-tfpub");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// The keys registered in the organization's namespace.
pub async fn list(ctx: &Context) -> anyhow::Result<Outcome> {
    let mut o = Outcome::new("gpg-key list");
    o.target = Some(ctx.target_info());
    for k in ctx.client.list_gpg_keys(ctx.org()).await? {
        o.push(
            Item::new(ItemKind::GpgKey, &k.key_id, Action::Exists)
                .detail(format!("namespace {}", k.namespace)),
        );
    }
    Ok(o)
}

/// Registers the ASCII-armored public key in `file`.
pub async fn add(ctx: &Context, file: &Path) -> anyhow::Result<Outcome> {
    let armor = std::fs::read_to_string(file)
        .with_context(|| format!("reading the public key {}", file.display()))?;
    let k = ctx.client.add_gpg_key(ctx.org(), &armor).await?;
    let mut o = Outcome::new("gpg-key add");
    o.target = Some(ctx.target_info());
    o.outcome = OutcomeKind::Updated;
    o.push(Item::new(ItemKind::GpgKey, &k.key_id, Action::Created));
    Ok(o)
}

/// Deletes a key by its id, once the user confirmed.
pub async fn delete(ctx: &Context, key_id: &str, confirm: &dyn Confirm) -> anyhow::Result<Outcome> {
    let key_id: crate::vocab::KeyId = key_id.parse()?;
    confirm.confirm(&format!("delete GPG key {key_id}"))?;
    ctx.client.delete_gpg_key(ctx.org(), &key_id).await?;
    let mut o = Outcome::new("gpg-key delete");
    o.target = Some(ctx.target_info());
    o.outcome = OutcomeKind::Deleted;
    o.push(Item::new(
        ItemKind::GpgKey,
        key_id.to_string(),
        Action::Deleted,
    ));
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_never_overwrites_an_existing_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("key.asc");
        std::fs::write(&out, "keep me").unwrap();
        let err = generate("Test <t@example.test>", &out, None).unwrap_err();
        assert_eq!(err.to_string(), format!("{} already exists", out.display()));
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me");
    }

    #[cfg(unix)]
    #[test]
    fn the_secret_file_is_owner_only_and_no_temporary_is_left() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("key.asc");
        write_secret_file(&out, b"secret").unwrap();
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read(&out).unwrap(), b"secret");
        assert!(!out.with_extension("tmp-tfpub").exists());
    }
}
