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
    let version = req.version.as_deref().map(parse_version).transpose()?;
    let bins = match &req.input {
        ProviderInput::Dist(dir) => {
            let mut rel = pkg::load_dist(dir, req.name.as_deref(), version.as_ref())
                .with_context(|| format!("reading the release folder {}", dir.display()))?;
            if rel.protocols.is_empty() {
                rel.protocols = req.protocols.clone();
            }
            return Ok(rel);
        }
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
    pkg::package_binaries(&name, &version, &bins, &req.protocols, work, durable)
        .context("building the release files")
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
