//! Stage "package": the request's release files as bytes on disk (zips, manifest,
//! SHA256SUMS), built from binaries or loaded and checked from a goreleaser `dist/`.
//! What the request leaves open (the provider's name, version and protocols) is settled
//! here, with a refusal that says which flag to pass. Signing is the next stage.

use anyhow::Context as _;

use super::{ProviderInput, ProviderRequest};
use crate::package::provider::{self as pkg, BinaryInput, ProviderRelease};
use crate::publish::error::PublishError;
use crate::publish::parse_version;

/// Build or load the release files (verifying them) into `work`, not yet signed;
/// `durable` as in [`pkg::package_binaries`].
pub fn release_files(
    req: &ProviderRequest,
    work: &std::path::Path,
    durable: bool,
) -> anyhow::Result<ProviderRelease> {
    let Some(job) = binaries_job(req)? else {
        let ProviderInput::Dist(dir) = &req.input else {
            unreachable!("binaries_job answers None for a dist/ folder only")
        };
        let version = req.version.as_deref().map(parse_version).transpose()?;
        let mut rel = pkg::load_dist(dir, req.name.as_deref(), version.as_ref())
            .with_context(|| format!("reading the release folder {}", dir.display()))?;
        if rel.protocols.is_empty() {
            rel.protocols = req.protocols.clone();
        }
        return Ok(rel);
    };
    job.build(work, durable, &|_| {})
}

/// What tfpub zips itself: the settled name, version, binaries and protocols.
pub struct BinariesJob {
    pub name: String,
    pub version: semver::Version,
    pub bins: Vec<BinaryInput>,
    pub protocols: Vec<String>,
}

impl BinariesJob {
    /// Zip, hash and sum into `work`, reporting each zip as it is ready.
    pub fn build(
        &self,
        work: &std::path::Path,
        durable: bool,
        on: &(dyn Fn(pkg::PackEvent<'_>) + Sync),
    ) -> anyhow::Result<ProviderRelease> {
        self.build_at(pkg::ZIP_LEVEL, work, durable, on)
    }

    /// [`Self::build`] with the zips deflated at `level`.
    pub fn build_at(
        &self,
        level: u32,
        work: &std::path::Path,
        durable: bool,
        on: &(dyn Fn(pkg::PackEvent<'_>) + Sync),
    ) -> anyhow::Result<ProviderRelease> {
        pkg::package_binaries_notify(
            &self.name,
            &self.version,
            &self.bins,
            &self.protocols,
            work,
            pkg::Zipping { level, durable },
            on,
        )
        .context("building the release files")
    }
}

/// The release tfpub builds from binaries, with what the request leaves open settled
/// (refused naming the flag to pass); `None` for a goreleaser dist/ folder.
pub fn binaries_job(req: &ProviderRequest) -> anyhow::Result<Option<BinariesJob>> {
    let version = req.version.as_deref().map(parse_version).transpose()?;
    let bins = match &req.input {
        ProviderInput::Dist(_) => return Ok(None),
        ProviderInput::Binaries(b) => Some(b),
        ProviderInput::BinariesDir(_) => None,
    };
    let name = provider_name(req).ok_or(PublishError::ProviderNameUnknown)?;
    crate::project::validate_provider_type_name(&name)?;
    let version = version.ok_or(PublishError::NoVersionForBinaries)?;
    if req.protocols.is_empty() {
        return Err(PublishError::NoProtocolsForBinaries.into());
    }
    let bins = match (bins, &req.input) {
        (Some(b), _) => b.clone(),
        (None, ProviderInput::BinariesDir(d)) => pkg::discover_binaries(d, &name)
            .with_context(|| format!("looking for binaries under {}", d.display()))?,
        (None, _) => Vec::new(),
    };
    Ok(Some(BinariesJob {
        name,
        version,
        bins,
        protocols: req.protocols.clone(),
    }))
}

/// `--name`, else the NAME of the first `terraform-provider-NAME…` binary given.
fn provider_name(req: &ProviderRequest) -> Option<String> {
    if req.name.is_some() {
        return req.name.clone();
    }
    let from_bin = |b: &BinaryInput| {
        let f = b.path.file_name()?.to_string_lossy().into_owned();
        let rest = f.strip_prefix("terraform-provider-")?;
        let n: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        (!n.is_empty()).then_some(n)
    };
    match &req.input {
        ProviderInput::Binaries(b) => b.first().and_then(from_bin),
        _ => None,
    }
}
