//! `tfpub gpg-key ...`: generate a signing key the registry accepts (written to disk with
//! the secret part readable by its owner only, never over an existing file), and list,
//! add, show, move or delete the keys of the organization's namespace; `usage` says
//! which provider versions each key signs, and a key that still signs versions is not
//! deleted or moved away without `--force` (Terraform could no longer verify them).
//! `whoami --gpg-key FILE` reports a key's expiry through [`key_report`].

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::Confirm;
use crate::publish::Context;
use crate::report::{Action, Item, ItemKind, Outcome, OutcomeKind};
use crate::secret::Secret;
use crate::sign::{expiry_warning, PublicKey};
use crate::vocab::KeyId;

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

/// Deletes a key by its id, once the user confirmed; refused while provider versions of
/// the namespace are signed by it, unless `force` (the versions are then listed).
pub async fn delete(
    ctx: &Context,
    key_id: &str,
    force: bool,
    confirm: &dyn Confirm,
) -> anyhow::Result<Outcome> {
    let key_id: KeyId = key_id.parse()?;
    let users = still_signed(ctx, &key_id, force, "delete").await?;
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
    orphaned(ctx, &mut o, &key_id, &users);
    Ok(o)
}

/// Why a key command was refused.
#[derive(Debug, thiserror::Error)]
pub enum GpgKeyError {
    #[error("the GPG key {key_id} is not registered in the namespace {namespace}")]
    NotFound { key_id: String, namespace: String },
    #[error("refusing to {verb} the GPG key {key_id}: {} provider version(s) in {namespace} are signed by it: {}", .versions.len(), .versions.join(", "))]
    InUse {
        verb: String,
        key_id: String,
        namespace: String,
        versions: Vec<String>,
    },
}

impl crate::error::Hint for GpgKeyError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            GpgKeyError::NotFound { .. } => {
                "list the namespace's keys with `tfpub gpg-key list`".into()
            }
            GpgKeyError::InUse { .. } => {
                "keep the key registered while versions signed by it exist \
                 (Terraform verifies each version with its own key); delete those versions first, \
                 or pass --force to go ahead and leave them unverifiable"
                    .into()
            }
        })
    }

    fn kind(&self) -> Option<crate::error::ErrorKind> {
        Some(match self {
            GpgKeyError::NotFound { .. } => crate::error::ErrorKind::NotFound,
            GpgKeyError::InUse { .. } => crate::error::ErrorKind::InvalidInput,
        })
    }
}

/// One provider version and the key it is signed with.
struct Signed {
    provider: String,
    version: String,
    key_id: KeyId,
}

impl Signed {
    fn label(&self) -> String {
        format!("{} {}", self.provider, self.version)
    }
}

/// Every version of every private provider of the namespace, with its key.
async fn signed_versions(ctx: &Context) -> anyhow::Result<Vec<Signed>> {
    let mut out = Vec::new();
    let providers = ctx.client.list_providers().await?;
    for p in providers
        .iter()
        .filter(|p| p.registry_name == "private" && p.namespace == ctx.org())
    {
        let addr = ctx.provider(&p.name);
        for v in ctx.client.list_provider_versions(&addr).await? {
            out.push(Signed {
                provider: addr.to_string(),
                version: v.version,
                key_id: v.key_id,
            });
        }
    }
    out.sort_by(|a, b| (&a.provider, &a.version).cmp(&(&b.provider, &b.version)));
    Ok(out)
}

/// The versions `key_id` signs; refused (`verb` names the command) when there are
/// some and not `force`.
async fn still_signed(
    ctx: &Context,
    key_id: &KeyId,
    force: bool,
    verb: &str,
) -> anyhow::Result<Vec<Signed>> {
    let users: Vec<Signed> = signed_versions(ctx)
        .await?
        .into_iter()
        .filter(|s| s.key_id == *key_id)
        .collect();
    if !users.is_empty() && !force {
        return Err(GpgKeyError::InUse {
            verb: verb.into(),
            key_id: key_id.to_string(),
            namespace: ctx.org().to_string(),
            versions: users.iter().map(Signed::label).collect(),
        }
        .into());
    }
    Ok(users)
}

/// After a forced delete or move: the versions left without their key, as items and a
/// warning.
fn orphaned(ctx: &Context, o: &mut Outcome, key_id: &KeyId, users: &[Signed]) {
    if users.is_empty() {
        return;
    }
    for s in users {
        o.push(
            Item::new(ItemKind::ProviderVersion, &s.provider, Action::Exists)
                .version(&s.version)
                .detail(format!(
                    "signed by {key_id}, no longer registered in {}",
                    ctx.org()
                )),
        );
    }
    let labels: Vec<String> = users.iter().map(Signed::label).collect();
    let w = format!(
        "terraform init can no longer verify {} (signed by {key_id}): add the key again with `tfpub gpg-key add`",
        labels.join(", ")
    );
    o.warn_all(&[w], ctx.progress.as_ref());
}

/// `gpg-key show ID`: the registered key and what its armor says.
pub async fn show(ctx: &Context, key_id: &str) -> anyhow::Result<Outcome> {
    let key_id: KeyId = key_id.parse()?;
    let k = registered(ctx, &key_id).await?;
    let mut o = Outcome::new("gpg-key show");
    o.target = Some(ctx.target_info());
    let (item, warnings) = describe(
        &key_id,
        &k.ascii_armor,
        &format!("namespace {}", k.namespace),
    )?;
    o.push(item);
    o.warn_all(&warnings, ctx.progress.as_ref());
    Ok(o)
}

async fn registered(ctx: &Context, key_id: &KeyId) -> anyhow::Result<crate::api::GpgKey> {
    ctx.client
        .get_gpg_key(ctx.org(), key_id)
        .await?
        .ok_or_else(|| {
            GpgKeyError::NotFound {
                key_id: key_id.to_string(),
                namespace: ctx.org().to_string(),
            }
            .into()
        })
}

/// The key item for `armor` (`context` first in its detail) and its expiry warnings.
fn describe(key_id: &KeyId, armor: &str, context: &str) -> anyhow::Result<(Item, Vec<String>)> {
    let key = PublicKey::from_armored(armor)
        .with_context(|| format!("reading the armored key {key_id}"))?;
    let facts = key.describe();
    let now = std::time::SystemTime::now();
    let mut warnings: Vec<String> = expiry_warning(key_id, facts.expires, now)
        .into_iter()
        .collect();
    if let Some(t) = facts.expires.filter(|t| *t <= now) {
        warnings.push(format!(
            "the key {key_id} expired on {}: publishing with it is refused; keep it registered while versions signed by it exist",
            crate::sign::format_time(t)
        ));
    }
    let item = Item::new(ItemKind::GpgKey, key_id.to_string(), Action::Exists)
        .detail(format!("{context}; {}", facts.summary(now)));
    Ok((item, warnings))
}

/// `gpg-key move ID --to NAMESPACE`: the documented PATCH. Refused while versions of
/// this namespace are signed by the key, unless `force`.
pub async fn move_key(
    ctx: &Context,
    key_id: &str,
    to: &str,
    force: bool,
) -> anyhow::Result<Outcome> {
    let key_id: KeyId = key_id.parse()?;
    crate::config::check_organization(to, "--to")?;
    registered(ctx, &key_id).await?;
    let users = still_signed(ctx, &key_id, force, "move").await?;
    let k = ctx.client.move_gpg_key(ctx.org(), &key_id, to).await?;
    let mut o = Outcome::new("gpg-key move");
    o.target = Some(ctx.target_info());
    o.outcome = OutcomeKind::Updated;
    o.push(
        Item::new(ItemKind::GpgKey, k.key_id.to_string(), Action::Updated).detail(format!(
            "moved from namespace {} to {}",
            ctx.org(),
            k.namespace
        )),
    );
    orphaned(ctx, &mut o, &key_id, &users);
    Ok(o)
}

/// `gpg-key usage`: each key of the namespace with the provider versions it signs, and
/// every version signed by a key the namespace does not hold.
pub async fn usage(ctx: &Context) -> anyhow::Result<Outcome> {
    let keys = ctx.client.list_gpg_keys(ctx.org()).await?;
    let versions = signed_versions(ctx).await?;
    let mut o = Outcome::new("gpg-key usage");
    o.target = Some(ctx.target_info());
    let now = std::time::SystemTime::now();
    for k in &keys {
        let signs: Vec<String> = versions
            .iter()
            .filter(|s| s.key_id == k.key_id)
            .map(Signed::label)
            .collect();
        let expiry = match PublicKey::from_armored(&k.ascii_armor)
            .ok()
            .and_then(|p| p.expires())
        {
            None => "never expires".to_string(),
            Some(t) if t <= now => format!("expired on {}", crate::sign::format_time(t)),
            Some(t) => format!("expires on {}", crate::sign::format_time(t)),
        };
        let what = if signs.is_empty() {
            "signs no provider version (safe to delete)".to_string()
        } else {
            format!(
                "signs {} provider version(s): {}",
                signs.len(),
                signs.join(", ")
            )
        };
        o.push(
            Item::new(ItemKind::GpgKey, k.key_id.to_string(), Action::Exists)
                .detail(format!("{expiry}; {what}")),
        );
    }
    for s in &versions {
        let held = keys.iter().any(|k| k.key_id == s.key_id);
        let note = if held {
            ""
        } else {
            " (NOT registered in this namespace: terraform init cannot verify it)"
        };
        o.push(
            Item::new(ItemKind::ProviderVersion, &s.provider, Action::Exists)
                .version(&s.version)
                .detail(format!("signed by {}{note}", s.key_id)),
        );
    }
    Ok(o)
}

/// `whoami --gpg-key FILE`: the key's facts and expiry (a secret key file is read for
/// its public part only; no passphrase is needed), and whether the namespace holds it.
pub async fn key_report(ctx: &Context, o: &mut Outcome, file: &Path) -> anyhow::Result<()> {
    let armor = std::fs::read_to_string(file)
        .with_context(|| format!("reading the key {}", file.display()))?;
    let key = PublicKey::from_armored(&armor)
        .with_context(|| format!("loading the key {}", file.display()))?;
    let key_id = key.key_id();
    let held = ctx.client.get_gpg_key(ctx.org(), &key_id).await?.is_some();
    let context = format!(
        "{} ({} in namespace {})",
        file.display(),
        if held { "registered" } else { "not registered" },
        ctx.org()
    );
    let (item, warnings) = describe(&key_id, &key.public_key_armored(), &context)?;
    o.push(item);
    o.warn_all(&warnings, ctx.progress.as_ref());
    Ok(())
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
