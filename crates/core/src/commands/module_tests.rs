//! Module test commands that are not the test pipeline: `module tests NAME/PROVIDER`
//! (recent runs with status and counts) and `module test-vars list|set|delete` (the
//! module's test environment variables; `set` is an upsert, sensitive values are never
//! shown), plus the `--var KEY=HCL` parser of `module test`.

use crate::error::{ErrorKind, Hint};
use crate::publish::error::PublishError;
use crate::publish::Context;
use crate::report::{Action, Item, ItemKind, Outcome, OutcomeKind};
use crate::secret::Secret;
use crate::vocab::ModuleAddress;

/// How many runs `module tests` shows.
pub const RECENT_RUNS: usize = 20;

/// Refusals of the test variable commands.
#[derive(Debug, thiserror::Error)]
pub enum TestVarError {
    #[error("--var {input:?} is not KEY=HCL")]
    NotKeyValue { input: String },
    #[error("variable key {key:?} is invalid")]
    BadKey { key: String },
    #[error("environment variable {var} is not set")]
    EnvUnset { var: String },
    #[error("cannot read the value from stdin: {reason}")]
    Stdin { reason: String },
    #[error("module {module} has no test variable {key}")]
    NoSuchVar { module: String, key: String },
}

impl Hint for TestVarError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            TestVarError::NotKeyValue { .. } => "write it as KEY=HCL literal, e.g. --var 'count=2' or --var 'name=\"web\"'".into(),
            TestVarError::BadKey { .. } => "a key begins with a letter or underscore and holds only letters, digits and underscores".into(),
            TestVarError::EnvUnset { .. } => "export it before running tfpub, or pipe the value on stdin instead of --from-env".into(),
            TestVarError::Stdin { .. } => "pipe the value on stdin, or pass --from-env VAR".into(),
            TestVarError::NoSuchVar { module, .. } => format!("`tfpub module test-vars list {module}` lists the keys"),
        })
    }

    fn kind(&self) -> Option<ErrorKind> {
        Some(match self {
            TestVarError::NoSuchVar { .. } => ErrorKind::NotFound,
            _ => ErrorKind::InvalidInput,
        })
    }
}

/// The key rule of the API: a letter or underscore, then letters, digits, underscores.
pub fn valid_key(k: &str) -> bool {
    let mut c = k.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// `KEY=HCL` of `--var` → (key, HCL literal).
pub fn parse_var(s: &str) -> Result<(String, String), TestVarError> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| TestVarError::NotKeyValue { input: s.into() })?;
    let k = k.trim();
    if !valid_key(k) {
        return Err(TestVarError::BadKey { key: k.into() });
    }
    if v.trim().is_empty() {
        return Err(TestVarError::NotKeyValue { input: s.into() });
    }
    Ok((k.to_string(), v.to_string()))
}

fn address(ctx: &Context, module: &str) -> anyhow::Result<ModuleAddress> {
    Ok(ModuleAddress::parse_ref(ctx.org(), module)?)
}

async fn require_module(ctx: &Context, addr: &ModuleAddress) -> anyhow::Result<()> {
    match ctx.client.get_module(addr).await? {
        Some(_) => Ok(()),
        None => Err(PublishError::ModuleNotFound {
            id: addr.to_string(),
        }
        .into()),
    }
}

/// `tfpub module tests NAME/PROVIDER`: the newest runs first.
pub async fn runs(ctx: &Context, module: &str) -> anyhow::Result<Outcome> {
    let addr = address(ctx, module)?;
    let mut outcome = Outcome::new("module tests");
    outcome.target = Some(ctx.target_info());
    require_module(ctx, &addr).await?;
    let runs = ctx.client.list_test_runs(&addr).await?;
    for r in runs.iter().take(RECENT_RUNS) {
        let [p, f, e, s] = r.counts();
        let status = match &r.test_status {
            Some(t) => format!("{} ({t})", r.status),
            None => r.status.clone(),
        };
        let mut detail = format!("{status}: {p} passed, {f} failed, {e} errored, {s} skipped");
        if let Some(at) = &r.created_at {
            detail.push_str(&format!("; created {at}"));
        }
        if r.status == "errored" {
            if let Some(m) = &r.message {
                detail.push_str(&format!("; {m}"));
            }
        }
        outcome.push(Item::new(ItemKind::TestRun, &r.id, Action::Exists).detail(detail));
    }
    Ok(outcome)
}

fn var_item(v: &crate::api::TestVariable, action: Action) -> Item {
    let value = match (&v.value, v.sensitive) {
        (_, true) => "(sensitive)".to_string(),
        (Some(x), false) => format!("{x:?}"),
        (None, false) => "\"\"".into(),
    };
    let mut detail = format!("{}={value}", v.key);
    if let Some(d) = v.description.as_deref().filter(|d| !d.is_empty()) {
        detail.push_str(&format!(" ({d})"));
    }
    Item::new(ItemKind::TestVariable, &v.key, action).detail(detail)
}

/// `tfpub module test-vars list NAME/PROVIDER`.
pub async fn list_vars(ctx: &Context, module: &str) -> anyhow::Result<Outcome> {
    let addr = address(ctx, module)?;
    let mut outcome = Outcome::new("module test-vars");
    outcome.target = Some(ctx.target_info());
    require_module(ctx, &addr).await?;
    for v in ctx.client.list_test_variables(&addr).await? {
        outcome.push(var_item(&v, Action::Exists));
    }
    Ok(outcome)
}

/// What `test-vars set` writes.
pub struct VarSet<'a> {
    pub key: &'a str,
    pub value: &'a Secret<String>,
    pub sensitive: bool,
    pub description: Option<&'a str>,
}

/// `tfpub module test-vars set NAME/PROVIDER KEY`: create, or update the variable with
/// that key (PATCH).
pub async fn set_var(ctx: &Context, module: &str, set: &VarSet<'_>) -> anyhow::Result<Outcome> {
    use crate::api::TestVariableInput;
    if !valid_key(set.key) {
        return Err(TestVarError::BadKey {
            key: set.key.into(),
        }
        .into());
    }
    let addr = address(ctx, module)?;
    let mut outcome = Outcome::new("module test-vars");
    outcome.target = Some(ctx.target_info());
    require_module(ctx, &addr).await?;
    let input = TestVariableInput {
        key: set.key,
        value: Some(set.value.expose().as_str()),
        description: set.description,
        sensitive: set.sensitive,
    };
    let existing = ctx.client.list_test_variables(&addr).await?;
    let (saved, action) = match existing.iter().find(|v| v.key == set.key) {
        Some(v) => (
            ctx.client
                .update_test_variable(&addr, &v.id, &input)
                .await?,
            Action::Updated,
        ),
        None => (
            ctx.client.create_test_variable(&addr, &input).await?,
            Action::Created,
        ),
    };
    outcome.push(var_item(&saved, action));
    outcome.outcome = OutcomeKind::Updated;
    Ok(outcome)
}

/// `tfpub module test-vars delete NAME/PROVIDER KEY`.
pub async fn delete_var(ctx: &Context, module: &str, key: &str) -> anyhow::Result<Outcome> {
    let addr = address(ctx, module)?;
    let mut outcome = Outcome::new("module test-vars");
    outcome.target = Some(ctx.target_info());
    require_module(ctx, &addr).await?;
    let existing = ctx.client.list_test_variables(&addr).await?;
    let v = existing
        .iter()
        .find(|v| v.key == key)
        .ok_or_else(|| TestVarError::NoSuchVar {
            module: module.into(),
            key: key.into(),
        })?;
    ctx.client.delete_test_variable(&addr, &v.id).await?;
    outcome.push(Item::new(ItemKind::TestVariable, key, Action::Deleted));
    outcome.outcome = OutcomeKind::Deleted;
    Ok(outcome)
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn vars_are_key_equals_hcl() {
        assert_eq!(parse_var("n=2").unwrap(), ("n".into(), "2".into()));
        assert_eq!(
            parse_var("s=\"a=b\"").unwrap(),
            ("s".into(), "\"a=b\"".into())
        );
        assert!(parse_var("novalue").is_err());
        assert!(parse_var("9x=1").is_err());
        assert!(parse_var("x=").is_err());
    }
}
