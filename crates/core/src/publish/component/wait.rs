//! Stage 5, wait: poll the version until the registry has parsed it (`completed`), reports
//! a failure (with its `error-message`), or the timeout passes. The backoff is bounded
//! (200 ms growing to 5 s) and a status change is shown once.

use std::time::{Duration, Instant};

use anyhow::anyhow;

use super::error::ComponentError;
use crate::api::ComponentVersion;
use crate::publish::Context;

/// Poll version `v` of component `id` until `completed`; returns the completed version.
pub async fn until_completed(
    ctx: &Context,
    id: &str,
    name: &str,
    v: &str,
    timeout: Duration,
) -> anyhow::Result<ComponentVersion> {
    let start = Instant::now();
    let mut delay = Duration::from_millis(200);
    let mut last: Option<String> = None;
    loop {
        let cur = ctx
            .client
            .get_component_version(id, v)
            .await?
            .ok_or_else(|| anyhow!("version {v} of {name} disappeared while waiting"))?;
        if cur.is_completed() {
            return Ok(cur);
        }
        if cur.is_failed() {
            return Err(ComponentError::Failed {
                name: name.to_string(),
                version: v.to_string(),
                status: cur.status.clone(),
                why: cur
                    .error_message
                    .clone()
                    .unwrap_or_else(|| "the registry gave no error-message".into()),
            }
            .into());
        }
        if last.as_deref() != Some(cur.status.as_str()) {
            ctx.progress
                .stage(&format!("waiting: version {v} is {}", cur.status));
        }
        if start.elapsed() + delay > timeout {
            return Err(ComponentError::StillPending {
                name: name.to_string(),
                version: v.to_string(),
                status: cur.status,
                secs: timeout.as_secs(),
            }
            .into());
        }
        last = Some(cur.status);
        tokio::time::sleep(delay).await;
        delay = (delay * 3 / 2).min(Duration::from_secs(5));
    }
}
