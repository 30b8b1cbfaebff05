//! Provider commands around the pipeline: which kind of release files a command was given
//! (a goreleaser dist/ folder, a folder of binaries, or `--binary` flags) and the key
//! (a secret key to sign with, or a public key / registered key id to verify with, with
//! an external signer command or without),
//! turned into a [`ProviderRequest`]; and `versions` / `delete`.

use std::path::PathBuf;

use anyhow::Context as _;

use super::Confirm;
use crate::package::provider::parse_binary_arg;
use crate::publish::error::PublishError;
use crate::publish::provider::{KeyChoice, ProviderInput, ProviderRequest, Unlock};
use crate::publish::Context;
use crate::report::{Action, Item, ItemKind, Outcome, OutcomeKind};
use crate::secret::Secret;
use crate::sign::{load_signer, PublicKey, SecretSource, SignCommand, Signer, Signing};
use crate::vocab::KeyId;

/// The release files and signing key a provider command was given, as typed.
#[derive(Debug, Default)]
pub struct ProviderFiles {
    /// A goreleaser dist/ folder, or a folder of OS_ARCH/terraform-provider-NAME* binaries.
    pub path: Option<PathBuf>,
    /// Raw binaries, each `OS_ARCH=FILE`.
    pub binaries: Vec<String>,
    pub name: Option<String>,
    pub version: Option<String>,
    pub protocols: Vec<String>,
    /// Armored secret key file; else `key_env`.
    pub gpg_key: Option<PathBuf>,
    /// The key from the environment (TFPUB_GPG_PRIVATE_KEY).
    pub key_env: Option<Secret<String>>,
    /// File holding the passphrase; else `passphrase_env`.
    pub passphrase_file: Option<PathBuf>,
    /// The passphrase from the environment (TFPUB_GPG_PASSPHRASE).
    pub passphrase_env: Option<Secret<String>>,
    /// An armored public key file: the release was signed elsewhere (`--public-key`).
    pub public_key: Option<PathBuf>,
    /// The id of a key the namespace holds: the release was signed elsewhere (`--key-id`).
    pub key_id: Option<String>,
    /// An external signer, `{file}`/`{sig}` placeholders (`--sign-command`); its
    /// signature is verified with `public_key` / `key_id`.
    pub sign_command: Option<String>,
}

/// Decides the kind of input and loads the signer: the request `provider publish` and
/// `provider package` hand to the pipeline.
pub fn request(
    files: ProviderFiles,
    dry_run: bool,
    concurrency: usize,
) -> anyhow::Result<ProviderRequest> {
    let input = input(files.path, &files.binaries)?;
    let command = files
        .sign_command
        .as_deref()
        .map(SignCommand::parse)
        .transpose()?;
    let signer = if let Some(f) = &files.public_key {
        let armored = std::fs::read_to_string(f)
            .with_context(|| format!("reading the public key {}", f.display()))?;
        let key = Box::new(
            PublicKey::from_armored(&armored)
                .with_context(|| format!("loading the public key {}", f.display()))?,
        );
        KeyChoice::Key(match command {
            Some(c) => Signing::Command(key, c),
            None => Signing::PublicOnly(key),
        })
    } else if let Some(id) = &files.key_id {
        let id: KeyId = id.parse().with_context(|| format!("--key-id {id}"))?;
        KeyChoice::Registered(id, command)
    } else {
        if files.gpg_key.is_none() && files.key_env.is_none() {
            return Err(PublishError::NoSigningKey.into());
        }
        // Unlocked on its own thread: the publish overlaps it with its first requests.
        let (key, key_env) = (files.gpg_key.clone(), files.key_env);
        let (pass, pass_env) = (files.passphrase_file.clone(), files.passphrase_env);
        KeyChoice::Unlocking(Unlock::start(move || {
            signer(key.as_deref(), key_env, pass.as_deref(), pass_env)
        }))
    };
    Ok(ProviderRequest {
        input,
        name: files.name,
        version: files.version,
        protocols: files.protocols,
        signer,
        dry_run,
        concurrency,
    })
}

/// The signing key: `--gpg-key FILE`, else `TFPUB_GPG_PRIVATE_KEY`; its passphrase:
/// `--passphrase-file`, else `TFPUB_GPG_PASSPHRASE`.
fn signer(
    key_file: Option<&std::path::Path>,
    key_env: Option<Secret<String>>,
    passphrase_file: Option<&std::path::Path>,
    passphrase_env: Option<Secret<String>>,
) -> anyhow::Result<Signer> {
    let key = match (key_file, key_env) {
        (Some(f), _) => SecretSource::File(f),
        (None, Some(k)) => SecretSource::Env("TFPUB_GPG_PRIVATE_KEY", k),
        (None, None) => return Err(PublishError::NoSigningKey.into()),
    };
    let passphrase = match (passphrase_file, passphrase_env) {
        (Some(f), _) => Some(SecretSource::File(f)),
        (None, p) => p.map(|p| SecretSource::Env("TFPUB_GPG_PASSPHRASE", p)),
    };
    load_signer(key, passphrase)
}

/// `--binary` flags, else a folder: a dist/ folder when it holds a `*_SHA256SUMS` file,
/// a folder of OS_ARCH/ binaries otherwise.
fn input(path: Option<PathBuf>, binaries: &[String]) -> anyhow::Result<ProviderInput> {
    if !binaries.is_empty() {
        if path.is_some() {
            return Err(PublishError::PathAndBinaries.into());
        }
        let bins = binaries
            .iter()
            .map(|b| parse_binary_arg(b))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(ProviderInput::Binaries(bins));
    }
    let p = path.ok_or(PublishError::NoReleaseFiles)?;
    if !p.is_dir() {
        return Err(PublishError::NotAReleaseFolder { path: p }.into());
    }
    let is_dist = std::fs::read_dir(&p)
        .with_context(|| format!("reading {}", p.display()))?
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().ends_with("_SHA256SUMS"));
    Ok(if is_dist {
        ProviderInput::Dist(p)
    } else {
        ProviderInput::BinariesDir(p)
    })
}

/// `provider versions NAME`: every version with its key and protocols.
pub async fn versions(ctx: &Context, name: &str) -> anyhow::Result<Outcome> {
    let mut o = Outcome::new("provider versions");
    o.target = Some(ctx.target_info());
    let addr = ctx.provider(name);
    let id = addr.to_string();
    for v in ctx.client.list_provider_versions(&addr).await? {
        o.push(
            Item::new(ItemKind::ProviderVersion, &id, Action::Exists)
                .version(&v.version)
                .url(ctx.provider_url(&addr, Some(&v.version)))
                .detail(format!(
                    "key {}, protocols {}",
                    v.key_id,
                    v.protocols.join(",")
                )),
        );
    }
    Ok(o)
}

/// `provider delete NAME [VERSION]`, once the user confirmed.
pub async fn delete(
    ctx: &Context,
    name: &str,
    version: Option<&str>,
    confirm: &dyn Confirm,
) -> anyhow::Result<Outcome> {
    let addr = ctx.provider(name);
    let id = addr.to_string();
    let mut o = Outcome::new("provider delete");
    o.target = Some(ctx.target_info());
    match version {
        Some(v) => {
            confirm.confirm(&format!("delete version {v} of provider {id}"))?;
            ctx.client.delete_provider_version(&addr, v).await?;
            o.push(Item::new(ItemKind::ProviderVersion, &id, Action::Deleted).version(v));
        }
        None => {
            confirm.confirm(&format!("delete provider {id} and all its versions"))?;
            ctx.client.delete_provider(&addr).await?;
            o.push(Item::new(ItemKind::Provider, &id, Action::Deleted));
        }
    }
    o.outcome = OutcomeKind::Deleted;
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(path: Option<PathBuf>, binaries: &[&str]) -> anyhow::Result<ProviderInput> {
        let b: Vec<String> = binaries.iter().map(|s| s.to_string()).collect();
        input(path, &b)
    }

    #[test]
    fn a_folder_with_a_sha256sums_file_is_a_dist_folder() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            kind(Some(dir.path().into()), &[]).unwrap(),
            ProviderInput::BinariesDir(_)
        ));
        std::fs::write(
            dir.path().join("terraform-provider-demo_1.0.0_SHA256SUMS"),
            "",
        )
        .unwrap();
        assert!(matches!(
            kind(Some(dir.path().into()), &[]).unwrap(),
            ProviderInput::Dist(_)
        ));
    }

    #[test]
    fn path_and_binaries_together_or_neither_are_refused_with_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let both = kind(Some(dir.path().into()), &["linux_amd64=x"]).unwrap_err();
        assert_eq!(both.to_string(), "both a PATH and --binary given");
        let none = kind(None, &[]).unwrap_err();
        assert_eq!(none.to_string(), "no release files given");
        assert!(crate::error::find_hint(&none).is_some());
    }

    #[test]
    fn a_file_is_not_a_release_folder() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("dist");
        std::fs::write(&f, "").unwrap();
        let err = kind(Some(f.clone()), &[]).unwrap_err();
        assert_eq!(err.to_string(), format!("{} is not a folder", f.display()));
    }
}
