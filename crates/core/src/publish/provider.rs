//! Provider publishing: release files → signature → preflight → GPG key → provider →
//! version → SHA256SUMS + .sig → platforms → read-back.
//!
//! Everything the registry already holds is compared with the local release BEFORE the
//! first write, so a mismatch (other key, other shasum, other protocols) is refused with
//! the difference named and nothing changed. Uploads are streamed and run with bounded
//! concurrency.

use std::path::PathBuf;

use anyhow::Context as _;
use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::{parse_version, Context};
use crate::error::hinted;
use crate::package::provider::{self as pkg, BinaryInput, ProviderRelease};
use crate::report::{Action, Item, ItemKind, Outcome, OutcomeKind};
use crate::secret::Secret;
use crate::sign::Signer;
use crate::vocab::{KeyId, Sha256};

/// Where the release files come from.
#[derive(Debug, Clone)]
pub enum ProviderInput {
    /// A goreleaser `dist/` folder, taken as it is after verification.
    Dist(PathBuf),
    /// Raw binaries that tfpub zips itself.
    Binaries(Vec<BinaryInput>),
    /// A folder laid out as `OS_ARCH/terraform-provider-NAME*`.
    BinariesDir(PathBuf),
}

/// Everything `tfpub provider publish|package` was asked.
pub struct ProviderRequest {
    pub input: ProviderInput,
    pub name: Option<String>,
    pub version: Option<String>,
    pub protocols: Vec<String>,
    pub signer: Signer,
    pub dry_run: bool,
    pub concurrency: usize,
}

/// Where the secret key comes from: `--gpg-key FILE` or `TFPUB_GPG_PRIVATE_KEY`.
pub fn load_signer(
    key_file: Option<&std::path::Path>,
    env_key: Option<Secret<String>>,
    passphrase_file: Option<&std::path::Path>,
    env_passphrase: Option<Secret<String>>,
) -> anyhow::Result<Signer> {
    let source = match key_file {
        Some(f) => f.display().to_string(),
        None => "from TFPUB_GPG_PRIVATE_KEY".to_string(),
    };
    let key =
        match (key_file, env_key) {
            (Some(f), _) => Secret::new(
                std::fs::read_to_string(f)
                    .with_context(|| format!("reading the signing key {}", f.display()))?,
            ),
            (None, Some(k)) => k,
            (None, None) => return Err(hinted(
                "no signing key: neither --gpg-key nor TFPUB_GPG_PRIVATE_KEY is set",
                "export an ASCII-armored secret key (gpg --armor --export-secret-keys KEYID) into \
                 TFPUB_GPG_PRIVATE_KEY, or create one with `tfpub gpg-key generate`",
            )),
        };
    let pass = match (passphrase_file, env_passphrase) {
        (Some(f), _) => {
            let s = std::fs::read_to_string(f)
                .with_context(|| format!("reading the passphrase file {}", f.display()))?;
            Some(Secret::new(s.trim_end_matches(['\r', '\n']).to_string()))
        }
        (None, p) => p,
    };
    Signer::from_armored(&key, pass.as_ref())
        .with_context(|| format!("loading the signing key {source}"))
}

fn provider_name_from_inputs(req: &ProviderRequest) -> Option<String> {
    if req.name.is_some() {
        return req.name.clone();
    }
    let from_bin = |p: &std::path::Path| {
        let f = p.file_name()?.to_string_lossy().into_owned();
        let rest = f.strip_prefix("terraform-provider-")?;
        let n: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        (!n.is_empty()).then_some(n)
    };
    match &req.input {
        ProviderInput::Binaries(b) => b.first().and_then(|b| from_bin(&b.path)),
        _ => None,
    }
}

/// Build or load the release files (verifying them) into `work`; `durable` as in
/// [`pkg::package_binaries`].
pub fn release_files(
    req: &ProviderRequest,
    work: &std::path::Path,
    durable: bool,
) -> anyhow::Result<ProviderRelease> {
    let version = req.version.as_deref().map(parse_version).transpose()?;
    match &req.input {
        ProviderInput::Dist(dir) => {
            let mut rel = pkg::load_dist(
                dir,
                req.name.as_deref(),
                version.as_ref(),
                Some(&req.signer),
            )
            .with_context(|| format!("reading the release folder {}", dir.display()))?;
            if rel.protocols.is_empty() {
                rel.protocols = req.protocols.clone();
            }
            Ok(rel)
        }
        ProviderInput::Binaries(_) | ProviderInput::BinariesDir(_) => {
            let name = provider_name_from_inputs(req).ok_or_else(|| {
                hinted(
                    "cannot tell the provider's name",
                    "pass --name (the NAME of terraform-provider-NAME)",
                )
            })?;
            crate::project::validate_provider_type_name(&name)?;
            let version = version.ok_or_else(|| {
                hinted(
                    "no --version given for raw binaries",
                    "pass --version 1.2.3 (or publish a goreleaser dist/ folder, which names it)",
                )
            })?;
            if req.protocols.is_empty() {
                return Err(hinted(
                    "no --protocols given for raw binaries",
                    "pass the plugin protocol your provider speaks: --protocols 6.0 for the \
                     plugin framework, --protocols 5.0 for SDKv2 (wrong protocols publish fine \
                     and then cannot be installed)",
                ));
            }
            let bins = match &req.input {
                ProviderInput::Binaries(b) => b.clone(),
                ProviderInput::BinariesDir(d) => pkg::discover_binaries(d, &name)
                    .with_context(|| format!("looking for binaries under {}", d.display()))?,
                ProviderInput::Dist(_) => unreachable!(),
            };
            let rel = pkg::package_binaries(
                &name,
                &version,
                &bins,
                &req.protocols,
                &req.signer,
                work,
                durable,
            )
            .context("building the release files")?;
            Ok(rel)
        }
    }
}

/// `tfpub provider package ... -o DIR` (offline).
pub fn package(req: &ProviderRequest, out: &std::path::Path) -> anyhow::Result<Outcome> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let rel = release_files(req, out, true)?;
    let mut outcome = Outcome::new("provider package");
    outcome.outcome = OutcomeKind::Updated;
    for p in &rel.platforms {
        outcome.push(
            Item::new(ItemKind::File, &p.filename, Action::Created)
                .detail(format!("sha256 {}", p.sha256)),
        );
    }
    for f in [
        Some(&rel.shasums),
        Some(&rel.signature),
        rel.manifest.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        let name = f
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        outcome.push(Item::new(ItemKind::File, name, Action::Created));
    }
    Ok(outcome)
}

/// `tfpub provider publish`.
pub async fn publish(ctx: &Context, req: &ProviderRequest) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::new("provider publish");
    outcome.target = Some(ctx.target_info());
    let work = tempfile::tempdir().context("creating a temporary folder")?;
    // A bad token or organization fails here, before seconds of zipping and signing.
    ctx.preflight().await?;
    ctx.progress.stage("preparing the release files");
    let rel = release_files(req, work.path(), false)?;
    if rel.protocols.is_empty() {
        return Err(hinted(
            "the release has no protocols",
            "add a _manifest.json with metadata.protocol_versions, or pass --protocols",
        ));
    }
    let name = rel.name.clone();
    let v = rel.version.to_string();
    let org = ctx.org().to_string();
    let addr = ctx.provider(&name);
    let id = addr.to_string();
    let key_id = req.signer.key_id();
    let vurl = ctx.provider_url(&addr, Some(&v));

    // ---- read everything the registry holds, compare, plan ----
    // Three independent reads: one round trip instead of three.
    let (keys, provider, existing_version) = tokio::try_join!(
        async {
            ctx.client
                .list_gpg_keys(&org)
                .await
                .context("listing GPG keys")
        },
        async {
            ctx.client
                .get_provider(&addr)
                .await
                .with_context(|| format!("reading provider {id}"))
        },
        async {
            ctx.client
                .get_provider_version(&addr, &v)
                .await
                .with_context(|| format!("reading version {v} of {id}"))
        },
    )?;
    let key_present = keys.iter().any(|k| k.key_id == key_id);
    let provider_present = provider.is_some();
    let existing_version = if provider_present {
        existing_version
    } else {
        None
    };
    let mut existing_platforms = Vec::new();
    if let Some(ev) = &existing_version {
        if ev.key_id != key_id {
            return Err(hinted(
                format!(
                    "version {v} of {id} is registered with GPG key {}, but the local release is signed with {key_id}",
                    ev.key_id
                ),
                "sign with the key the version was created with, or delete the version \
                 (`tfpub provider delete NAME VERSION --yes`) if it was never used",
            ));
        }
        let mut a = ev.protocols.clone();
        let mut b = rel.protocols.clone();
        a.sort();
        b.sort();
        if a != b {
            return Err(hinted(
                format!(
                    "version {v} of {id} is registered with protocols {:?}, the local release has {:?}",
                    ev.protocols, rel.protocols
                ),
                "published versions are not overwritten: fix the release or publish a new version",
            ));
        }
        existing_platforms = ctx.client.list_platforms(&addr, &v).await?;
        for p in &rel.platforms {
            if let Some(ep) = existing_platforms
                .iter()
                .find(|e| e.os == p.os && e.arch == p.arch)
            {
                if !is_local_file(&ep.shasum, &ep.filename, p) {
                    return Err(hinted(
                        format!(
                            "platform {}_{} of {id} {v} is registered as {} (sha256 {}), the local file is {} (sha256 {})",
                            p.os, p.arch, ep.filename, ep.shasum, p.filename, p.sha256
                        ),
                        "builds must be reproducible for a re-run; publish a new version instead of overwriting",
                    ));
                }
            }
        }
        if ev.shasums_uploaded {
            if let Some(url) = &ev.shasums_download {
                let remote = ctx.client.fetch(url).await?;
                let local = std::fs::read(&rel.shasums)?;
                if remote.as_ref() != local.as_slice() {
                    return Err(hinted(
                        format!(
                            "the SHA256SUMS registered for {id} {v} differ from {}",
                            rel.shasums.display()
                        ),
                        "published versions are not overwritten: publish a new version",
                    ));
                }
            }
        }
    }

    if req.dry_run {
        outcome.outcome = OutcomeKind::Planned;
        let act = |present: bool| {
            if present {
                Action::Exists
            } else {
                Action::Planned
            }
        };
        outcome.push(Item::new(
            ItemKind::GpgKey,
            key_id.as_str(),
            act(key_present),
        ));
        outcome.push(Item::new(ItemKind::Provider, &id, act(provider_present)));
        outcome.push(
            Item::new(
                ItemKind::ProviderVersion,
                &id,
                act(existing_version.is_some()),
            )
            .version(&v)
            .detail(format!("protocols {}", rel.protocols.join(","))),
        );
        for p in &rel.platforms {
            let done = existing_platforms
                .iter()
                .any(|e| e.os == p.os && e.arch == p.arch && e.provider_binary_uploaded);
            outcome.push(
                Item::new(
                    ItemKind::Platform,
                    format!("{}_{}", p.os, p.arch),
                    act(done),
                )
                .version(&v)
                .detail(format!("{} sha256 {}", p.filename, p.sha256)),
            );
        }
        return Ok(outcome);
    }

    // ---- act ----
    let mut changed = false;
    // The key and the provider do not depend on each other: create them side by side.
    let key_step = async {
        if key_present {
            return anyhow::Ok((
                Item::new(ItemKind::GpgKey, key_id.as_str(), Action::Exists),
                false,
            ));
        }
        ctx.progress.stage(&format!("registering GPG key {key_id}"));
        match ctx
            .client
            .add_gpg_key(&org, &req.signer.public_key_armored())
            .await
        {
            Ok(_) => Ok((
                Item::new(ItemKind::GpgKey, key_id.as_str(), Action::Created),
                true,
            )),
            Err(e) => {
                let again = ctx.client.list_gpg_keys(&org).await?;
                if again.iter().any(|k| k.key_id == key_id) {
                    Ok((
                        Item::new(ItemKind::GpgKey, key_id.as_str(), Action::Exists),
                        false,
                    ))
                } else {
                    Err(anyhow::Error::new(e).context(format!("registering GPG key {key_id}")))
                }
            }
        }
    };
    let provider_step = async {
        if provider_present {
            return anyhow::Ok((Item::new(ItemKind::Provider, &id, Action::Exists), false));
        }
        ctx.progress.stage(&format!("creating provider {id}"));
        match ctx.client.create_provider(&addr).await {
            Ok(_) => Ok((Item::new(ItemKind::Provider, &id, Action::Created), true)),
            Err(e) => {
                if ctx.client.get_provider(&addr).await?.is_none() {
                    return Err(anyhow::Error::new(e).context(format!("creating provider {id}")));
                }
                Ok((Item::new(ItemKind::Provider, &id, Action::Exists), false))
            }
        }
    };
    let ((key_item, key_changed), (prov_item, prov_changed)) =
        tokio::try_join!(key_step, provider_step)?;
    changed |= key_changed || prov_changed;
    outcome.push(key_item);
    outcome.push(prov_item);

    let ver = match existing_version {
        Some(ev) => {
            outcome.push(Item::new(ItemKind::ProviderVersion, &id, Action::Exists).version(&v));
            ev
        }
        None => {
            ctx.progress.stage(&format!("creating version {v}"));
            match ctx
                .client
                .create_provider_version(&addr, &v, &key_id, &rel.protocols)
                .await
            {
                Ok(created) => {
                    changed = true;
                    outcome.push(
                        Item::new(ItemKind::ProviderVersion, &id, Action::Created)
                            .version(&v)
                            .url(vurl.clone()),
                    );
                    created
                }
                Err(e) => match ctx.client.get_provider_version(&addr, &v).await? {
                    Some(found) if found.key_id == key_id => found,
                    _ => {
                        return Err(
                            anyhow::Error::new(e).context(format!("creating version {v} of {id}"))
                        )
                    }
                },
            }
        }
    };

    let file_name = |p: &std::path::Path| {
        p.file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    // The checksums, their signature and the platforms all hang off the version: upload
    // and create them together (the platforms in bounded parallel).
    let upload_once = |done: bool,
                       link: Option<crate::secret::SecretUrl>,
                       path: std::path::PathBuf,
                       what: &'static str| {
        let n = file_name(&path);
        let (id, v) = (&id, &v);
        async move {
            if done {
                return anyhow::Ok(None);
            }
            let link = link.ok_or_else(|| {
                hinted(
                    format!("the registry gave no {what} upload link for {id} {v}"),
                    "re-run the publish; if it persists, delete the version and publish again",
                )
            })?;
            ctx.progress.mask(link.expose().as_str());
            ctx.client
                .upload_file(&link, &path, &n, ctx.progress.as_ref())
                .await
                .with_context(|| format!("uploading {n}"))?;
            Ok(Some(Item::new(ItemKind::File, n, Action::Uploaded)))
        }
    };
    let sums_step = upload_once(
        ver.shasums_uploaded,
        ver.shasums_upload.clone(),
        rel.shasums.clone(),
        "SHA256SUMS",
    );
    let sig_step = upload_once(
        ver.shasums_sig_uploaded,
        ver.shasums_sig_upload.clone(),
        rel.signature.clone(),
        "signature",
    );

    // Platforms: create what is missing, then upload every binary not yet uploaded.
    // Platform records are small API calls: create them all at once (the client's rate
    // limiter still applies) so every upload link is ready early; the uploads themselves,
    // which compete for bandwidth, run at most `--concurrency` at a time.
    let uploads = tokio::sync::Semaphore::new(req.concurrency.max(1));
    let uploads = &uploads;
    let platforms_step = stream::iter(rel.platforms.iter().map(|p| {
        let existing = existing_platforms
            .iter()
            .find(|e| e.os == p.os && e.arch == p.arch)
            .cloned();
        let addr = &addr;
        let v = v.clone();
        async move {
            let plat_id = format!("{}_{}", p.os, p.arch);
            let sha: Sha256 = p
                .sha256
                .parse()
                .with_context(|| format!("the checksum of {}", p.filename))?;
            let (plat, created) = match existing {
                Some(e) => (e, false),
                None => match ctx
                    .client
                    .create_platform(addr, &v, &p.os, &p.arch, &p.filename, &sha)
                    .await
                {
                    Ok(c) => (c, true),
                    Err(e) => match ctx.client.get_platform(addr, &v, &p.os, &p.arch).await? {
                        Some(found) if found.shasum == sha => (found, false),
                        _ => {
                            return Err(anyhow::Error::new(e)
                                .context(format!("creating platform {plat_id}")))
                        }
                    },
                },
            };
            if plat.provider_binary_uploaded {
                let it = Item::new(
                    ItemKind::Platform,
                    &plat_id,
                    if created {
                        Action::Created
                    } else {
                        Action::Exists
                    },
                )
                .version(&v);
                return Ok((it, created));
            }
            let link = plat.binary_upload.as_ref().ok_or_else(|| {
                hinted(
                    format!("the registry gave no upload link for platform {plat_id}"),
                    "re-run the publish; if it persists, delete the version and publish again",
                )
            })?;
            ctx.progress.mask(link.expose().as_str());
            let _slot = uploads
                .acquire()
                .await
                .expect("the semaphore is never closed");
            ctx.client
                .upload_file(link, &p.path, &p.filename, ctx.progress.as_ref())
                .await
                .with_context(|| format!("uploading {}", p.filename))?;
            let it = Item::new(ItemKind::Platform, &plat_id, Action::Uploaded)
                .version(&v)
                .detail(format!("{} ({} bytes)", p.filename, p.size));
            anyhow::Ok((it, true))
        }
    }))
    .buffer_unordered(rel.platforms.len().max(1))
    .try_collect::<Vec<(Item, bool)>>();
    let (sums_item, sig_item, mut plat_items) =
        tokio::try_join!(sums_step, sig_step, platforms_step)?;
    for it in [sums_item, sig_item].into_iter().flatten() {
        changed = true;
        outcome.push(it);
    }
    plat_items.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    for (it, c) in plat_items {
        changed |= c;
        outcome.push(it);
    }

    // Read back what `terraform init` will read.
    ctx.progress.stage("checking what a consumer will read");
    verify_consumer_view(ctx, &addr, &rel, &key_id).await?;
    outcome.push(
        Item::new(ItemKind::ProviderVersion, &id, Action::Updated)
            .version(&v)
            .url(vurl)
            .detail("verified: every platform installable with a valid signature"),
    );
    outcome.published = changed;
    outcome.outcome = if changed {
        OutcomeKind::Published
    } else {
        OutcomeKind::AlreadyPublished
    };
    Ok(outcome)
}

async fn verify_consumer_view(
    ctx: &Context,
    addr: &crate::vocab::ProviderAddress,
    rel: &ProviderRelease,
    key_id: &KeyId,
) -> anyhow::Result<()> {
    let v = rel.version.to_string();
    let first = rel
        .platforms
        .first()
        .ok_or_else(|| anyhow::anyhow!("the release has no platforms"))?;
    // One listing covers every platform's record (file name, checksum, uploaded); one
    // consumer read — what `terraform init` asks — covers what is per version (protocols,
    // signing key, the SHA256SUMS links). Fewer requests keep a big release well under the
    // API's rate limit, and the signature check below covers every platform's checksum.
    let (listed, d) = tokio::try_join!(
        async {
            ctx.client
                .list_platforms(addr, &v)
                .await
                .with_context(|| format!("reading back the platforms of {v}"))
        },
        async {
            ctx.client
                .provider_download(addr, &v, &first.os, &first.arch)
                .await
                .with_context(|| {
                    format!(
                        "reading back {}_{} as terraform would",
                        first.os, first.arch
                    )
                })
        },
    )?;
    for p in &rel.platforms {
        let found = listed.iter().find(|e| e.os == p.os && e.arch == p.arch);
        let ok = found.is_some_and(|e| {
            e.provider_binary_uploaded && is_local_file(&e.shasum, &e.filename, p)
        });
        if !ok {
            let registry = found
                .map(|e| {
                    format!(
                        "{} sha256 {}{}",
                        e.filename,
                        e.shasum,
                        if e.provider_binary_uploaded {
                            ""
                        } else {
                            " (binary not uploaded)"
                        }
                    )
                })
                .unwrap_or_else(|| "nothing".to_string());
            return Err(hinted(
                format!(
                    "read-back mismatch for {}_{}: registry holds {registry}, local {} sha256 {}",
                    p.os, p.arch, p.filename, p.sha256
                ),
                "re-run the publish; if it persists, delete the version and publish again",
            ));
        }
    }
    if !is_local_file(&d.shasum, &d.filename, first) {
        return Err(hinted(
            format!(
                "read-back mismatch for {}_{}: registry serves {} sha256 {}, local {} sha256 {}",
                first.os, first.arch, d.filename, d.shasum, first.filename, first.sha256
            ),
            "delete the version and publish it again",
        ));
    }
    if !d
        .signing_keys
        .gpg_public_keys
        .iter()
        .any(|k| k.key_id == *key_id)
    {
        return Err(hinted(
            format!("the registry does not list key {key_id} for {v}"),
            "check `tfpub gpg-key list`",
        ));
    }
    let (sums, sig) = tokio::try_join!(
        ctx.client.fetch(&d.shasums_url),
        ctx.client.fetch(&d.shasums_signature_url)
    )?;
    let public = req_public(&d, key_id);
    crate::sign::verify_detached(&public, &sums, &sig)
        .context("verifying the registry's SHA256SUMS signature")?;
    let text = String::from_utf8_lossy(&sums);
    for q in &rel.platforms {
        if !text.contains(&format!("{}  {}", q.sha256, q.filename)) {
            return Err(hinted(
                format!("the registry's SHA256SUMS has no line for {}", q.filename),
                "delete the version and publish it again",
            ));
        }
    }
    Ok(())
}

/// Whether a file the registry describes (checksum and name) is the local `p`.
fn is_local_file(shasum: &Sha256, filename: &str, p: &pkg::PlatformFile) -> bool {
    *shasum == p.sha256 && filename == p.filename
}

fn req_public(d: &crate::api::ProviderDownload, key_id: &KeyId) -> String {
    d.signing_keys
        .gpg_public_keys
        .iter()
        .find(|k| k.key_id == *key_id)
        .map(|k| k.ascii_armor.clone())
        .unwrap_or_default()
}
