//! `module show NAME/PROVIDER` and `provider show NAME [VERSION]`: one resource with
//! everything the registry says about it. A module with its status, no-code flag, VCS
//! link and test configuration (when the service reports them) and each version's
//! status, ingress error, commit, deprecation (from the module protocol's listing, the
//! documented source) and revocation; a provider with each version's key, protocols and
//! platforms (file name and SHA-256).

use serde_json::Value;

use super::list::{cell, module_item, table};
use super::ops_error::OpsError;
// Fields the client types do not neutralise (a commit, protocols) are made safe here.
use crate::api::{server_text, ListedModuleVersion, ModuleVersion, VersionStatusEntry};
use crate::publish::Context;
use crate::report::{Action, Item, ItemKind, Outcome};
use crate::vocab::ModuleAddress;

fn opt(v: Option<&str>) -> Value {
    v.map(Value::from).unwrap_or(Value::Null)
}

/// `tfpub module show NAME/PROVIDER`.
pub async fn module(ctx: &Context, module_ref: &str) -> anyhow::Result<Outcome> {
    let addr = ModuleAddress::parse_ref(ctx.org(), module_ref)?;
    let Some(m) = ctx.client.get_module(&addr).await? else {
        return Err(OpsError::ModuleNotFound {
            module: addr.cli_ref(),
            organization: ctx.org().to_string(),
        }
        .into());
    };
    let listing = ctx.client.module_versions_listing(&addr).await?;
    let reads = m
        .version_statuses
        .iter()
        .map(|s| ctx.client.get_module_version(&addr, &s.version));
    let versions = futures_util::future::try_join_all(reads).await?;
    let mut o = Outcome::new("module show");
    o.target = Some(ctx.target_info());
    let test_config = m.test_config.clone().unwrap_or(Value::Null);
    o.push(module_item(ctx, &m).fact("test-config", test_config));
    let listed: Vec<&ListedModuleVersion> = listing.versions().collect();
    for (s, v) in m.version_statuses.iter().zip(versions) {
        let dep = listed.iter().find(|l| l.version == s.version);
        o.push(version_item(ctx, &addr, s, v.as_ref(), dep.copied()));
    }
    o.text = Some(module_text(&o));
    Ok(o)
}

/// One version of `module show`: status and error from the module's `version-statuses`,
/// commit and revocation from the version resource, deprecation from the listing.
fn version_item(
    ctx: &Context,
    addr: &ModuleAddress,
    s: &VersionStatusEntry,
    v: Option<&ModuleVersion>,
    listed: Option<&ListedModuleVersion>,
) -> Item {
    let dep = listed.and_then(|l| l.deprecation.as_ref());
    let rev = v
        .and_then(|v| v.revocation.as_ref())
        .filter(|_| v.is_some_and(|v| v.revoked()));
    Item::new(ItemKind::ModuleVersion, addr.to_string(), Action::Exists)
        .version(&s.version)
        .url(ctx.module_url(addr, Some(&s.version)))
        .fact("status", s.status.as_str())
        .fact("error", opt(s.error.as_deref().filter(|e| !e.is_empty())))
        .fact(
            "commit-sha",
            opt(v
                .and_then(|v| v.commit_sha.as_deref())
                .map(server_text)
                .as_deref()),
        )
        .fact("deprecated", dep.is_some())
        .fact(
            "deprecation-reason",
            opt(dep.and_then(|d| d.reason.as_deref())),
        )
        .fact("deprecation-link", opt(dep.and_then(|d| d.link.as_deref())))
        .fact("revoked", rev.is_some())
        .fact(
            "revocation-message",
            opt(rev.and_then(|r| r.message.as_deref())),
        )
        .fact("revocation-link", opt(rev.and_then(|r| r.link.as_deref())))
}

/// `tfpub provider show NAME [VERSION]`.
pub async fn provider(ctx: &Context, name: &str, version: Option<&str>) -> anyhow::Result<Outcome> {
    let addr = ctx.provider(name);
    if ctx.client.get_provider(&addr).await?.is_none() {
        return Err(OpsError::ProviderNotFound {
            provider: addr.to_string(),
            organization: ctx.org().to_string(),
        }
        .into());
    }
    let mut versions = ctx.client.list_provider_versions(&addr).await?;
    if let Some(want) = version {
        versions.retain(|v| v.version == want);
        if versions.is_empty() {
            return Err(OpsError::VersionNotFound {
                what: format!("provider {addr}"),
                version: want.to_string(),
            }
            .into());
        }
    }
    versions.sort_by(|a, b| {
        let p = |s: &str| semver::Version::parse(s).ok();
        p(&a.version).cmp(&p(&b.version))
    });
    let reads = versions
        .iter()
        .map(|v| ctx.client.list_platforms(&addr, &v.version));
    let platforms = futures_util::future::try_join_all(reads).await?;
    let mut o = Outcome::new("provider show");
    o.target = Some(ctx.target_info());
    let id = addr.to_string();
    o.push(Item::new(ItemKind::Provider, &id, Action::Exists).url(ctx.provider_url(&addr, None)));
    for (v, pls) in versions.iter().zip(platforms) {
        o.push(
            Item::new(ItemKind::ProviderVersion, &id, Action::Exists)
                .version(&v.version)
                .url(ctx.provider_url(&addr, Some(&v.version)))
                .fact("key-id", v.key_id.as_str())
                .fact(
                    "protocols",
                    serde_json::json!(v
                        .protocols
                        .iter()
                        .map(|p| server_text(p))
                        .collect::<Vec<_>>()),
                )
                .fact("shasums-uploaded", v.shasums_uploaded)
                .fact("shasums-sig-uploaded", v.shasums_sig_uploaded),
        );
        for p in pls {
            o.push(
                Item::new(ItemKind::Platform, &id, Action::Exists)
                    .version(&v.version)
                    .detail(format!("{}_{}", p.os, p.arch))
                    .fact("os", p.os.as_str())
                    .fact("arch", p.arch.as_str())
                    .fact("filename", p.filename.as_str())
                    .fact("shasum", p.shasum.as_str())
                    .fact("uploaded", p.provider_binary_uploaded),
            );
        }
    }
    o.text = Some(provider_text(&o));
    Ok(o)
}

/// The human form of `module show`: the module's facts, then a table of its versions.
pub fn module_text(o: &Outcome) -> String {
    let mut s = String::new();
    let Some(m) = o.items.iter().find(|i| i.kind == ItemKind::Module) else {
        return s;
    };
    s.push_str(&format!("{:<22}{}\n", "module", m.id));
    for key in [
        "status",
        "latest",
        "no-code",
        "publishing-mechanism",
        "vcs-repo",
    ] {
        s.push_str(&format!("{key:<22}{}\n", cell(m, key)));
    }
    let tests = m.facts.as_ref().and_then(|f| f.get("test-config"));
    if let Some(t) = tests.filter(|t| !t.is_null()) {
        let t = crate::api::server_text(&t.to_string());
        s.push_str(&format!("{:<22}{t}\n", "test-config"));
    }
    let rows: Vec<Vec<String>> = o
        .items
        .iter()
        .filter(|i| i.kind == ItemKind::ModuleVersion)
        .map(|v| {
            let dep = match cell(v, "deprecated").as_str() {
                "yes" => format!("deprecated: {}", cell(v, "deprecation-reason")),
                _ => "-".into(),
            };
            let rev = match cell(v, "revoked").as_str() {
                "yes" => format!("revoked: {}", cell(v, "revocation-message")),
                _ => "-".into(),
            };
            let commit: String = cell(v, "commit-sha").chars().take(12).collect();
            vec![
                v.version.clone().unwrap_or_default(),
                cell(v, "status"),
                commit,
                dep,
                rev,
            ]
        })
        .collect();
    s.push('\n');
    s.push_str(&table(
        &["VERSION", "STATUS", "COMMIT", "DEPRECATION", "REVOCATION"],
        &rows,
    ));
    s
}

/// The human form of `provider show`: versions, then every platform.
pub fn provider_text(o: &Outcome) -> String {
    let mut s = String::new();
    if let Some(p) = o.items.iter().find(|i| i.kind == ItemKind::Provider) {
        s.push_str(&format!("provider {}\n\n", p.id));
    }
    let pick = |k: ItemKind| o.items.iter().filter(move |i| i.kind == k);
    let versions: Vec<Vec<String>> = pick(ItemKind::ProviderVersion)
        .map(|v| {
            let protocols = v
                .facts
                .as_ref()
                .and_then(|f| f.get("protocols"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            let platforms = pick(ItemKind::Platform)
                .filter(|p| p.version == v.version)
                .count();
            vec![
                v.version.clone().unwrap_or_default(),
                cell(v, "key-id"),
                protocols,
                platforms.to_string(),
            ]
        })
        .collect();
    s.push_str(&table(
        &["VERSION", "KEY ID", "PROTOCOLS", "PLATFORMS"],
        &versions,
    ));
    let platforms: Vec<Vec<String>> = pick(ItemKind::Platform)
        .map(|p| {
            vec![
                p.version.clone().unwrap_or_default(),
                p.detail.clone().unwrap_or_default(),
                cell(p, "filename"),
                cell(p, "shasum"),
            ]
        })
        .collect();
    if !platforms.is_empty() {
        s.push('\n');
        s.push_str(&table(
            &["VERSION", "PLATFORM", "FILENAME", "SHA256"],
            &platforms,
        ));
    }
    s
}
