//! Stage 5 for many versions of one module at once (a concurrent `module sync`): one read
//! of the module lists every version's status (`version-statuses`), so the versions in
//! flight share that read instead of each polling its own. The module is read at most
//! once per [`FRESH`] however many versions wait; the outcome rules are those of
//! [`wait`](super::wait): `ok`, `*_failed` (with the registry's error text and the same
//! error), or the timeout.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::anyhow;

use crate::publish::error::PublishError;
use crate::publish::Context;
use crate::vocab::{ModuleAddress, VersionStatus};

/// How old a reading of the module may be before a waiting version reads it again.
pub const FRESH: Duration = Duration::from_millis(400);

/// The shared reading of one module's version statuses.
pub struct Watch {
    addr: ModuleAddress,
    board: tokio::sync::Mutex<Board>,
}

#[derive(Default)]
struct Board {
    read_at: Option<Instant>,
    statuses: HashMap<String, (VersionStatus, Option<String>)>,
}

impl Watch {
    pub fn new(addr: ModuleAddress) -> Watch {
        Watch {
            addr,
            board: tokio::sync::Mutex::new(Board::default()),
        }
    }

    /// Version `v`'s status in a reading no older than [`FRESH`], and when that reading
    /// was taken. `None`: the module does not list the version.
    async fn status(
        &self,
        ctx: &Context,
        v: &str,
    ) -> anyhow::Result<(Option<(VersionStatus, Option<String>)>, Instant)> {
        let mut b = self.board.lock().await;
        let stale = b.read_at.is_none_or(|t| t.elapsed() >= FRESH);
        if stale {
            let module = ctx.client.get_module(&self.addr).await?.ok_or_else(|| {
                anyhow!("module {} disappeared while waiting", self.addr.cli_ref())
            })?;
            b.statuses = module
                .version_statuses
                .into_iter()
                .map(|s| (s.version, (s.status, s.error)))
                .collect();
            b.read_at = Some(Instant::now());
        }
        let at = b.read_at.unwrap_or_else(Instant::now);
        Ok((b.statuses.get(v).cloned(), at))
    }

    /// Wait until version `v` is `ok`, a failed state, or `timeout` passes. A failed
    /// status counts only from a reading taken after the wait began (an older one may
    /// predate a `--replace-failed` re-upload).
    pub async fn until_ok(&self, ctx: &Context, v: &str, timeout: Duration) -> anyhow::Result<()> {
        let start = Instant::now();
        let module = self.addr.cli_ref();
        let mut last: Option<VersionStatus> = None;
        loop {
            let (cur, at) = self.status(ctx, v).await?;
            let fresh = at >= start;
            match cur {
                Some((s, _)) if s.is_ok() => return Ok(()),
                Some((s, why)) if s.is_failed() && fresh => {
                    return Err(PublishError::IngestFailed {
                        module,
                        version: v.to_string(),
                        status: s.to_string(),
                        why: why
                            .filter(|e| !e.is_empty())
                            .unwrap_or_else(|| "the registry gave no error text".into()),
                    }
                    .into())
                }
                None if fresh => {
                    return Err(anyhow!("version {v} of {module} disappeared while waiting"))
                }
                Some((s, _)) if last.as_ref() != Some(&s) => {
                    ctx.progress.stage(&format!("waiting: version {v} is {s}"));
                    last = Some(s);
                }
                _ => {}
            }
            if start.elapsed() + FRESH > timeout {
                return Err(PublishError::StillPending {
                    module,
                    version: v.to_string(),
                    status: last.map_or_else(|| "unknown".into(), |s| s.to_string()),
                    secs: timeout.as_secs(),
                }
                .into());
            }
            tokio::time::sleep(FRESH).await;
        }
    }
}
