//! `tfpub whoami`: which registry, organization and token source a command would use,
//! each with where it came from, then one preflight request that proves they work.

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
    Ok(o)
}
