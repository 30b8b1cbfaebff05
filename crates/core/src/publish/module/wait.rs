//! Stage 5, wait: poll the version until the registry has ingested it (`ok`), reports a
//! `*_failed` status (with its error text and the commands that fix it), or the timeout
//! passes. The backoff is bounded (200 ms growing to 5 s), and a status change is shown
//! once, not at every poll.

use std::time::{Duration, Instant};

use anyhow::anyhow;

use super::observe::ingress_error;
use crate::publish::error::PublishError;
use crate::publish::Context;
use crate::vocab::{ModuleAddress, VersionStatus};

/// Poll version `v` of `addr` until `ok`, a failed state, or `timeout`.
pub async fn until_ok(
    ctx: &Context,
    addr: &ModuleAddress,
    v: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut delay = Duration::from_millis(200);
    let mut last: Option<VersionStatus> = None;
    let module = addr.cli_ref();
    loop {
        let cur = ctx
            .client
            .get_module_version(addr, v)
            .await?
            .ok_or_else(|| anyhow!("version {v} of {module} disappeared while waiting"))?;
        let status = cur.status;
        if status.is_ok() {
            return Ok(());
        }
        if status.is_failed() {
            let why = ingress_error(ctx, addr, v)
                .await
                .unwrap_or_else(|| "the registry gave no error text".into());
            return Err(PublishError::IngestFailed {
                module,
                version: v.to_string(),
                status: status.to_string(),
                why,
            }
            .into());
        }
        if last.as_ref() != Some(&status) {
            ctx.progress
                .stage(&format!("waiting: version {v} is {status}"));
        }
        if start.elapsed() + delay > timeout {
            return Err(PublishError::StillPending {
                module,
                version: v.to_string(),
                status: status.to_string(),
                secs: timeout.as_secs(),
            }
            .into());
        }
        last = Some(status);
        tokio::time::sleep(delay).await;
        delay = (delay * 3 / 2).min(Duration::from_secs(5));
    }
}
