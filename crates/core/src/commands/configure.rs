//! `tfpub module configure NAME/PROVIDER`: a registry module's test configuration
//! (`--tests on|off [--agent-pool ID]`) and its no-code module (`--no-code on|off
//! [--version-pin V] [--var-option NAME:TYPE=a,b]`), each converging: what already
//! matches is reported as such and not sent again. Also the no-code step of
//! `module publish --no-code [--pin-latest]` ([`ensure_no_code`]).

use anyhow::Context as _;

use crate::api::{ApiError, ModuleSettings, Need, VarOption};
use crate::publish::error::PublishError;
use crate::publish::{parse_version, Context};
use crate::report::{Action, Item, ItemKind, Outcome, OutcomeKind};
use crate::vocab::ModuleAddress;

/// What `module configure` should change; `None` leaves a setting alone.
#[derive(Debug, Clone, Default)]
pub struct ConfigureRequest {
    pub module: String,
    pub tests: Option<bool>,
    pub agent_pool: Option<String>,
    pub no_code: Option<bool>,
    /// A version to pin the no-code module to; `latest` (or empty) removes the pin.
    pub version_pin: Option<String>,
    pub variable_options: Vec<VarOption>,
}

/// What the no-code module should become.
#[derive(Debug, Clone, Default)]
pub struct NoCodeWish<'a> {
    pub enabled: bool,
    /// `Some("")` removes the pin.
    pub pin: Option<&'a str>,
    pub options: Option<&'a [VarOption]>,
}

/// Parses `NAME:TYPE=a,b,c` (a no-code variable option).
pub fn parse_var_option(s: &str) -> Result<VarOption, String> {
    let (head, values) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected NAME:TYPE=VALUE,VALUE…"))?;
    let (name, kind) = head.split_once(':').ok_or_else(|| {
        format!("{s:?}: expected NAME:TYPE before '=' (e.g. region:string=us-east-1,eu-west-1)")
    })?;
    if name.is_empty() || kind.is_empty() {
        return Err(format!(
            "{s:?}: the variable name and type must not be empty"
        ));
    }
    let options: Vec<String> = values
        .split(',')
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect();
    if options.is_empty() {
        return Err(format!("{s:?}: give at least one value after '='"));
    }
    Ok(VarOption {
        name: name.into(),
        kind: kind.into(),
        options,
    })
}

fn check(req: &ConfigureRequest) -> anyhow::Result<()> {
    let invalid = |m: &str| -> anyhow::Result<()> { Err(anyhow::anyhow!(m.to_string())) };
    if req.tests.is_none() && req.no_code.is_none() {
        return invalid("nothing to configure: give --tests on|off and/or --no-code on|off");
    }
    if req.agent_pool.is_some() && req.tests != Some(true) {
        return invalid("--agent-pool needs --tests on");
    }
    if (req.version_pin.is_some() || !req.variable_options.is_empty()) && req.no_code != Some(true)
    {
        return invalid("--version-pin and --var-option need --no-code on");
    }
    if let Some(v) = req
        .version_pin
        .as_deref()
        .filter(|v| !v.is_empty() && *v != "latest")
    {
        parse_version(v)?;
    }
    Ok(())
}

/// `tfpub module configure`.
pub async fn configure(ctx: &Context, req: &ConfigureRequest) -> anyhow::Result<Outcome> {
    check(req)?;
    let addr = ModuleAddress::parse_ref(ctx.org(), &req.module)?;
    let mut o = Outcome::new("module configure");
    o.target = Some(ctx.target_info());
    let warnings = ctx.preflight(Need::Modules).await?;
    o.warnings.extend(warnings);
    let id = addr.to_string();
    let s = read(ctx, &addr).await?;
    if let Some(on) = req.tests {
        o.push(tests(ctx, &addr, &s, on, req.agent_pool.as_deref()).await?);
    }
    if let Some(on) = req.no_code {
        let pin = req
            .version_pin
            .as_deref()
            .map(|p| if p == "latest" { "" } else { p });
        let pin = pin.map(|p| p.strip_prefix('v').unwrap_or(p));
        let options = (!req.variable_options.is_empty()).then_some(req.variable_options.as_slice());
        let wish = NoCodeWish {
            enabled: on,
            pin,
            options,
        };
        o.push(
            no_code_step(ctx, &addr, &s, &wish)
                .await
                .with_context(|| format!("configuring no-code for {id}"))?,
        );
    }
    let changed = o
        .items
        .iter()
        .any(|i| matches!(i.action, Action::Updated | Action::Created));
    o.outcome = if changed {
        OutcomeKind::Updated
    } else {
        OutcomeKind::NothingToDo
    };
    Ok(o)
}

async fn read(ctx: &Context, addr: &ModuleAddress) -> anyhow::Result<ModuleSettings> {
    let id = addr.to_string();
    Ok(ctx
        .client
        .module_settings(addr)
        .await
        .with_context(|| format!("reading module {id}"))?
        .ok_or(PublishError::ModuleNotFound { id })?)
}

async fn tests(
    ctx: &Context,
    addr: &ModuleAddress,
    s: &ModuleSettings,
    on: bool,
    pool: Option<&str>,
) -> anyhow::Result<Item> {
    let id = addr.to_string();
    let describe = |on: bool, pool: Option<&str>| match (on, pool) {
        (false, _) => "tests disabled".to_string(),
        (true, None) => "tests enabled (remote execution)".to_string(),
        (true, Some(p)) => format!("tests enabled (agent pool {p})"),
    };
    let item = |a| Item::new(ItemKind::Module, &id, a);
    let now = s.test_config.as_ref();
    let same = now
        .is_some_and(|t| t.tests_enabled == on && (!on || t.agent_pool_id.as_deref() == pool))
        || (now.is_none() && !on);
    if same {
        return Ok(item(Action::Exists).detail(describe(on, pool)));
    }
    ctx.progress
        .stage(&format!("setting the test configuration of {id}"));
    let after = ctx
        .client
        .patch_test_config(addr, on, if on { pool } else { None })
        .await
        .with_context(|| format!("setting the test configuration of {id}"))?;
    let t = after.test_config.unwrap_or_default_config(on);
    Ok(item(Action::Updated).detail(describe(t.tests_enabled, t.agent_pool_id.as_deref())))
}

trait OrDefault {
    fn unwrap_or_default_config(self, on: bool) -> crate::api::TestConfig;
}

impl OrDefault for Option<crate::api::TestConfig> {
    fn unwrap_or_default_config(self, on: bool) -> crate::api::TestConfig {
        self.unwrap_or(crate::api::TestConfig {
            tests_enabled: on,
            execution_mode: "remote".into(),
            agent_pool_id: None,
        })
    }
}

fn describe_no_code(enabled: bool, pin: &str) -> String {
    match (enabled, pin) {
        (false, _) => "no-code disabled".to_string(),
        (true, "") => "no-code enabled (latest version)".to_string(),
        (true, p) => format!("no-code enabled, pinned to {p}"),
    }
}

/// Makes the module's no-code module match `wish`, creating it if needed.
pub async fn ensure_no_code(
    ctx: &Context,
    addr: &ModuleAddress,
    wish: &NoCodeWish<'_>,
) -> anyhow::Result<Item> {
    let s = read(ctx, addr).await?;
    no_code_step(ctx, addr, &s, wish).await
}

async fn no_code_step(
    ctx: &Context,
    addr: &ModuleAddress,
    s: &ModuleSettings,
    wish: &NoCodeWish<'_>,
) -> anyhow::Result<Item> {
    let id = addr.to_string();
    let item = |a| Item::new(ItemKind::Module, &id, a);
    let Some(nc_id) = &s.no_code_id else {
        if !wish.enabled {
            return Ok(item(Action::Exists).detail("not a no-code module"));
        }
        ctx.progress
            .stage(&format!("creating the no-code module of {id}"));
        let pin = wish.pin.filter(|p| !p.is_empty());
        let n = match ctx
            .client
            .create_no_code(&s.id, true, pin, wish.options.unwrap_or(&[]))
            .await
        {
            Ok(n) => n,
            // A concurrent or retried create landed: converge on what is there.
            Err(e) if e.status() == Some(422) && read(ctx, addr).await?.no_code_id.is_some() => {
                return Box::pin(ensure_no_code(ctx, addr, wish)).await;
            }
            Err(e) => return Err(refusal(e, wish.pin)),
        };
        return Ok(item(Action::Created).detail(describe_no_code(n.enabled, &n.version_pin)));
    };
    let (now, options) =
        ctx.client
            .get_no_code(nc_id)
            .await?
            .ok_or_else(|| PublishError::ModuleNotFound {
                id: format!("no-code module {nc_id} of {id}"),
            })?;
    let pin_same = wish.pin.is_none_or(|p| p == now.version_pin);
    let opts_same = wish.options.is_none_or(|o| o == options.as_slice());
    if now.enabled == wish.enabled && pin_same && opts_same {
        return Ok(item(Action::Exists).detail(describe_no_code(now.enabled, &now.version_pin)));
    }
    ctx.progress
        .stage(&format!("updating the no-code module of {id}"));
    let n = ctx
        .client
        .update_no_code(nc_id, &s.id, Some(wish.enabled), wish.pin, wish.options)
        .await
        .map_err(|e| refusal(e, wish.pin))?;
    Ok(item(Action::Updated).detail(describe_no_code(n.enabled, &n.version_pin)))
}

/// A 422 about the pin names the version.
fn refusal(e: ApiError, pin: Option<&str>) -> anyhow::Error {
    match pin.filter(|p| !p.is_empty()) {
        Some(p) if e.status() == Some(422) => anyhow::Error::new(e).context(format!(
            "the registry refused version pin {p} (is it a published version of this module?)"
        )),
        _ => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn var_options_parse_and_refuse_with_the_input_named() {
        let o = parse_var_option("region:string=us-east-1,eu-west-1").unwrap();
        assert_eq!(o.name, "region");
        assert_eq!(o.kind, "string");
        assert_eq!(o.options, vec!["us-east-1", "eu-west-1"]);
        for bad in ["region", "region=a", ":string=a", "region:string="] {
            let e = parse_var_option(bad).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn flags_that_need_another_are_refused() {
        let base = ConfigureRequest {
            module: "m/p".into(),
            ..Default::default()
        };
        assert!(check(&base).is_err());
        let r = ConfigureRequest {
            agent_pool: Some("apool-1".into()),
            tests: Some(false),
            ..base.clone()
        };
        assert!(check(&r).unwrap_err().to_string().contains("--agent-pool"));
        let r = ConfigureRequest {
            version_pin: Some("1.0.0".into()),
            tests: Some(true),
            ..base.clone()
        };
        assert!(check(&r).unwrap_err().to_string().contains("--version-pin"));
        let r = ConfigureRequest {
            version_pin: Some("one".into()),
            no_code: Some(true),
            ..base.clone()
        };
        assert!(check(&r).is_err());
        let r = ConfigureRequest {
            version_pin: Some("latest".into()),
            no_code: Some(true),
            ..base
        };
        assert!(check(&r).is_ok());
    }
}
