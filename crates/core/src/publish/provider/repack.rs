//! A version the registry holds from the same binaries zipped by an earlier tfpub.
//!
//! Zips are deterministic for one deflate level, and tfpub has changed its level
//! ([`pkg::EARLIER_ZIP_LEVELS`]). A publish re-run after an upgrade would find every
//! platform's checksum "other" and be refused, though the binaries are the same. So when
//! `decide` refuses over the files alone, the binaries are zipped again at each earlier
//! level; the first release the registry's records accept is the one published (and a
//! half-finished version resumes with the bytes its SHA256SUMS names). Anything else
//! keeps the refusal `decide` gave.

use anyhow::Context as _;

use super::decide::{self, Local, Plan};
use super::observe::Held;
use super::package::binaries_job;
use super::{sign, ProviderRequest};
use crate::package::provider::{self as pkg, ProviderRelease};
use crate::publish::error::PublishError;
use crate::publish::Context;
use crate::sign::Signing;
use crate::vocab::ProviderAddress;

/// The release to publish once `decide` gave `refusal` for the one zipped at
/// [`pkg::ZIP_LEVEL`]: the same binaries zipped at an earlier level that the registry's
/// records match (with its SHA256SUMS bytes and plan), else `refusal` itself.
pub(super) fn earlier_packing(
    ctx: &Context,
    req: &ProviderRequest,
    signing: &Signing,
    addr: &ProviderAddress,
    held: &Held,
    work: &std::path::Path,
    refusal: anyhow::Error,
) -> anyhow::Result<(ProviderRelease, Vec<u8>, Plan)> {
    let about_files = matches!(
        refusal.downcast_ref::<PublishError>(),
        Some(PublishError::OtherPlatformFile { .. } | PublishError::OtherShasums { .. })
    );
    if !about_files {
        return Err(refusal);
    }
    let Ok(Some(job)) = binaries_job(req) else {
        return Err(refusal);
    };
    for &level in pkg::EARLIER_ZIP_LEVELS {
        ctx.progress.stage(&format!(
            "the registry's files differ: zipping the binaries as earlier tfpub versions did (deflate level {level}) to compare"
        ));
        let dir = work.join(format!("deflate-{level}"));
        let rel = job.build_at(level, &dir, false, &|_| {})?;
        let shasums = std::fs::read(&rel.shasums)
            .with_context(|| format!("reading {}", rel.shasums.display()))?;
        let local = Local::new(&rel, addr, signing.key_id(), &shasums);
        let Ok(plan) = decide::decide(&local, held) else {
            continue;
        };
        sign::sign_release(signing, &rel)?;
        return Ok((rel, shasums, plan));
    }
    Err(refusal)
}
