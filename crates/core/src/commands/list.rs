//! `module list` and `provider list`: the organization's private registry as a table
//! (human) or one item per module/provider with its facts (`--json`). The registry's
//! documented `q` search and `filter[provider]` do the filtering; every page is followed
//! by the client ([`crate::api::Client`]'s paging).

use serde_json::{json, Value};

use crate::api::{Module, Provider};
use crate::publish::Context;
use crate::report::{Action, Item, ItemKind, Outcome};

/// `tfpub module list [-q TEXT] [--provider P]`.
pub async fn modules(
    ctx: &Context,
    q: Option<&str>,
    provider: Option<&str>,
) -> anyhow::Result<Outcome> {
    let mut o = Outcome::new("module list");
    o.target = Some(ctx.target_info());
    let mut mods = ctx.client.search_modules(q, provider).await?;
    mods.sort_by(|a, b| (&a.name, &a.provider).cmp(&(&b.name, &b.provider)));
    for m in &mods {
        o.push(module_item(ctx, m));
    }
    o.text = Some(modules_table(&o));
    Ok(o)
}

/// The item of one module: its address and what the module resource says.
pub fn module_item(ctx: &Context, m: &Module) -> Item {
    let addr = crate::vocab::ModuleAddress::new(&m.namespace, &m.name, &m.provider);
    let versions: Vec<&str> = m
        .version_statuses
        .iter()
        .map(|v| v.version.as_str())
        .collect();
    let it = Item::new(ItemKind::Module, addr.to_string(), Action::Exists)
        .url(ctx.module_url(&addr, None))
        .fact("name", m.name.as_str())
        .fact("provider", m.provider.as_str())
        .fact("namespace", m.namespace.as_str())
        .fact("registry-name", m.registry_name.as_str())
        .fact("status", m.status.as_str());
    with_versions(it, &versions)
        .fact("no-code", m.no_code.map(Value::from).unwrap_or(Value::Null))
        .fact(
            "publishing-mechanism",
            m.publishing_mechanism
                .as_deref()
                .map(Value::from)
                .unwrap_or(Value::Null),
        )
        .fact(
            "vcs-repo",
            vcs_identifier(m).map(Value::from).unwrap_or(Value::Null),
        )
}

/// `it` with the facts `versions` and `latest` (the highest semver of them, which is also
/// the item's version).
fn with_versions(it: Item, versions: &[&str]) -> Item {
    let latest = latest(versions.iter().copied());
    let it = it
        .fact("versions", json!(versions))
        .fact("latest", latest.map(Value::from).unwrap_or(Value::Null));
    match latest {
        Some(l) => it.version(l),
        None => it,
    }
}

/// The repository a VCS-linked module follows (`vcs-repo.identifier`), made safe to print.
pub fn vcs_identifier(m: &Module) -> Option<String> {
    let v = m.vcs_repo.as_ref()?;
    let id = v
        .get("display-identifier")
        .or_else(|| v.get("identifier"))
        .and_then(Value::as_str)?;
    Some(crate::api::server_text(id))
}

/// The highest semver of `versions` (ignoring what does not parse).
pub fn latest<'a>(versions: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    versions
        .filter_map(|v| semver::Version::parse(v).ok().map(|p| (p, v)))
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, v)| v)
}

/// `tfpub provider list [-q TEXT]`, each provider with its versions.
pub async fn providers(ctx: &Context, q: Option<&str>) -> anyhow::Result<Outcome> {
    let mut o = Outcome::new("provider list");
    o.target = Some(ctx.target_info());
    let mut provs: Vec<Provider> = ctx
        .client
        .search_providers(q)
        .await?
        .into_iter()
        .filter(|p| p.registry_name.is_empty() || p.registry_name == "private")
        .collect();
    provs.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    let reads = provs.iter().map(|p| {
        let addr = crate::vocab::ProviderAddress::new(&p.namespace, &p.name);
        async move { ctx.client.list_provider_versions(&addr).await }
    });
    let versions = futures_util::future::try_join_all(reads).await?;
    for (p, vs) in provs.iter().zip(versions) {
        let addr = crate::vocab::ProviderAddress::new(&p.namespace, &p.name);
        let names: Vec<&str> = vs.iter().map(|v| v.version.as_str()).collect();
        let it = Item::new(ItemKind::Provider, addr.to_string(), Action::Exists)
            .url(ctx.provider_url(&addr, None))
            .fact("name", p.name.as_str())
            .fact("namespace", p.namespace.as_str())
            .fact("registry-name", p.registry_name.as_str());
        o.push(with_versions(it, &names));
    }
    o.text = Some(providers_table(&o));
    Ok(o)
}

/// A fact of `it` as text for a table cell (`-` when absent or null).
pub fn cell(it: &Item, key: &str) -> String {
    match it.facts.as_ref().and_then(|f| f.get(key)) {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) if s.is_empty() => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a.len().to_string(),
        Some(Value::Bool(b)) => if *b { "yes" } else { "no" }.into(),
        Some(v) => v.to_string(),
    }
}

/// Rows under a header, columns padded to their widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

/// The human form of `module list`: one row per module.
pub fn modules_table(o: &Outcome) -> String {
    let rows: Vec<Vec<String>> = o
        .items
        .iter()
        .map(|it| {
            vec![
                it.id.clone(),
                cell(it, "status"),
                it.version.clone().unwrap_or_else(|| "-".into()),
                cell(it, "versions"),
                cell(it, "no-code"),
                cell(it, "vcs-repo"),
            ]
        })
        .collect();
    let header = ["MODULE", "STATUS", "LATEST", "VERSIONS", "NO-CODE", "VCS"];
    counted_table(&header, &rows, "module")
}

/// The human form of `provider list`: one row per provider.
pub fn providers_table(o: &Outcome) -> String {
    let rows: Vec<Vec<String>> = o
        .items
        .iter()
        .map(|it| {
            vec![
                it.id.clone(),
                it.version.clone().unwrap_or_else(|| "-".into()),
                cell(it, "versions"),
            ]
        })
        .collect();
    counted_table(&["PROVIDER", "LATEST", "VERSIONS"], &rows, "provider")
}

/// [`table`] and a last line counting the rows (`2 modules`).
fn counted_table(header: &[&str], rows: &[Vec<String>], noun: &str) -> String {
    let mut s = table(header, rows);
    let n = rows.len();
    s.push_str(&format!("{n} {noun}{}\n", if n == 1 { "" } else { "s" }));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_is_the_highest_semver_not_the_last_listed() {
        assert_eq!(
            latest(["1.10.0", "1.9.0", "2.0.0-rc.1", "x"].into_iter()),
            Some("2.0.0-rc.1")
        );
        assert_eq!(latest(["1.10.0", "1.9.0"].into_iter()), Some("1.10.0"));
        assert_eq!(latest(std::iter::empty()), None);
    }

    #[test]
    fn vcs_link_and_test_config_are_read_from_the_documented_samples() {
        // Attributes as in modules.md's "Create a Module with VCS Connection" and
        // "Update a Private Registry Module" sample responses.
        let m: Module = serde_json::from_str(
            r#"{"name":"my-module","provider":"aws","namespace":"my-organization",
            "registry-name":"private","status":"pending","version-statuses":[],
            "vcs-repo": { "branch": "", "ingress-submodules": true, "identifier": "lafentres/terraform-aws-my-module", "display-identifier": "lafentres/terraform-aws-my-module", "oauth-token-id": "ot-hmAyP66qk2AMVdbJ", "webhook-url": "https://app.terraform.io/webhooks/vcs/a12b3456..." },
            "test-config": { "id": "tc-tcR6bxV5zE75Zb3B", "tests-enabled": true, "agent-execution-mode": "agent", "agent-pool-id": "apool-yoGUFz5zcRMMz53i" },
            "no-code": true}"#,
        )
        .unwrap();
        assert_eq!(
            vcs_identifier(&m).as_deref(),
            Some("lafentres/terraform-aws-my-module")
        );
        assert_eq!(m.test_config.as_ref().unwrap()["tests-enabled"], true);
        assert_eq!(m.no_code, Some(true));
        let bare: Module =
            serde_json::from_str(r#"{"name":"x","publishing-mechanism":null}"#).unwrap();
        assert_eq!((bare.no_code, vcs_identifier(&bare)), (None, None));
    }

    #[test]
    fn table_pads_columns_to_the_widest_cell() {
        let t = table(
            &["A", "BB"],
            &[
                vec!["long-name".into(), "x".into()],
                vec!["s".into(), "y".into()],
            ],
        );
        assert_eq!(t, "A          BB\nlong-name  x\ns          y\n");
    }
}
