//! `tfpub whoami`: which registry, organization and token source a command would use,
//! each with where it came from, then one preflight request that proves they work, and
//! what the token may do there (permissions, entitlement, a user token's expiry).

use anyhow::Context as _;

use crate::publish::Context;
use crate::report::{Action, Item, ItemKind, Outcome};

/// Lists the resolved target and checks the token and the organization against it.
pub async fn whoami(ctx: &Context) -> anyhow::Result<Outcome> {
    let t = &ctx.target;
    let mut o = Outcome::new("whoami");
    o.target = Some(ctx.target_info());
    let setting =
        |name: &str, detail: String| Item::new(ItemKind::File, name, Action::Exists).detail(detail);
    o.push(setting(
        "host",
        format!("{} (from {})", t.host, t.host_source),
    ));
    o.push(setting(
        "organization",
        format!("{} (from {})", t.organization, t.org_source),
    ));
    o.push(setting("token", format!("from {}", t.token_source)));
    if let Some(ca) = &t.ca_cert {
        o.push(setting("ca-cert", ca.display().to_string()));
    }
    let ping = ctx
        .client
        .preflight()
        .await
        .context("checking the token and the organization")?;
    let api = ping
        .api_version
        .map(|v| format!(", API {v}"))
        .unwrap_or_default();
    o.push(setting("access", format!("ok{api}")));
    let access = ctx
        .client
        .access()
        .await
        .context("reading the token's permissions")?;
    for (name, value) in access.summary() {
        o.push(setting(name, value));
    }
    let warnings = access
        .check(ctx.org(), crate::api::Need::Nothing, chrono::Utc::now())
        .into_result()
        .context("checking the token")?;
    o.warn_all(&warnings, ctx.progress.as_ref());
    Ok(o)
}
