//! A registry module's settings and its no-code module.
//!
//! - [`Client::module_settings`]: what the module's document says beyond its versions:
//!   `no-code`, the `no-code-modules` relationship, `test-config`, `vcs-repo`,
//!   `publishing-mechanism` (modules.md "Get a Module").
//! - [`Client::patch_test_config`]: `PATCH …/registry-modules/private/:ns/:name/:provider`
//!   with `test-config` (modules.md "Update a Private Registry Module").
//! - no-code modules: `POST /organizations/:org/no-code-modules`,
//!   `GET`/`PATCH /no-code-modules/:id`, in go-tfe's shapes (`registry_no_code_module.go`,
//!   evidence in docs/hcp-fidelity.md): attributes `enabled`, `version-pin`; relationships
//!   `registry-module` and `variable-options` (full resources, as go-tfe sends them).

use reqwest::Method;
use serde_json::{json, Value};
use url::Url;

use super::transport::decode_error;
use super::types::{FromResource, Resource};
use super::{server_text, ApiError, Client, Module};
use crate::vocab::ModuleAddress;

/// `test-config` of a registry module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestConfig {
    pub tests_enabled: bool,
    /// `remote` or `agent`.
    pub execution_mode: String,
    pub agent_pool_id: Option<String>,
}

/// `vcs-repo` of a VCS-linked module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VcsRepo {
    pub identifier: String,
    pub branch: String,
    pub tags: bool,
    pub oauth_token_id: Option<String>,
}

/// What a module's document says about how it is set up (every string neutralised).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleSettings {
    /// The module's id (`mod-…`), which the no-code endpoints refer to.
    pub id: String,
    pub no_code: bool,
    /// The id of its no-code module, if it has one.
    pub no_code_id: Option<String>,
    pub test_config: Option<TestConfig>,
    pub vcs: Option<VcsRepo>,
    /// `non_vcs`, `branch` or `git_tag`, when the server says.
    pub publishing_mechanism: Option<String>,
}

/// One variable's allowed values in a no-code module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarOption {
    pub name: String,
    pub kind: String,
    pub options: Vec<String>,
}

/// A no-code module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoCodeModule {
    pub id: String,
    pub enabled: bool,
    /// Empty when not pinned (the latest version is used).
    pub version_pin: String,
}

fn text(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(server_text)
}

/// The settings in a module resource (`data` of a module document). The resource is
/// decoded once, as the [`Module`] every other module read returns; the settings are read
/// from that.
fn settings_of(d: &Value) -> Result<ModuleSettings, serde_json::Error> {
    let m = Module::from_resource(serde_json::from_value::<Resource>(d.clone())?)?;
    let no_code_id = d["relationships"]["no-code-modules"]["data"]
        .as_array()
        .and_then(|l| l.first())
        .and_then(|r| text(&r["id"]));
    Ok(ModuleSettings::of(&m, no_code_id))
}

impl ModuleSettings {
    /// The typed settings of module `m`, whose no-code module (if any) is `no_code_id`.
    pub fn of(m: &Module, no_code_id: Option<String>) -> Self {
        let tc = m.test_config.as_ref().filter(|v| v.is_object());
        let vcs = m.vcs_repo.as_ref().filter(|v| v.is_object());
        ModuleSettings {
            id: server_text(&m.id),
            no_code: m.no_code.unwrap_or(false),
            no_code_id,
            test_config: tc.map(|tc| TestConfig {
                tests_enabled: tc["tests-enabled"].as_bool().unwrap_or(false),
                execution_mode: text(&tc["agent-execution-mode"])
                    .unwrap_or_else(|| "remote".into()),
                agent_pool_id: text(&tc["agent-pool-id"]),
            }),
            vcs: vcs.map(|vcs| VcsRepo {
                identifier: text(&vcs["identifier"]).unwrap_or_default(),
                branch: text(&vcs["branch"]).unwrap_or_default(),
                tags: vcs["tags"].as_bool().unwrap_or(false),
                oauth_token_id: text(&vcs["oauth-token-id"]),
            }),
            publishing_mechanism: m.publishing_mechanism.clone().filter(|p| !p.is_empty()),
        }
    }
}

fn no_code_of(d: &Value) -> NoCodeModule {
    NoCodeModule {
        id: text(&d["id"]).unwrap_or_default(),
        enabled: d["attributes"]["enabled"].as_bool().unwrap_or(false),
        version_pin: text(&d["attributes"]["version-pin"]).unwrap_or_default(),
    }
}

fn options_json(options: &[VarOption]) -> Value {
    let data: Vec<Value> = options
        .iter()
        .map(|o| {
            json!({"type": "variable-options", "attributes": {
            "variable-name": o.name, "variable-type": o.kind, "options": o.options}})
        })
        .collect();
    json!({"data": data})
}

impl Client {
    pub(super) async fn json_doc(
        &self,
        method: Method,
        url: Url,
        body: Option<Value>,
    ) -> Result<Value, ApiError> {
        let raw = self
            .request(method.clone(), url.clone(), body, true)
            .await?;
        serde_json::from_slice(&raw.body).map_err(|e| decode_error(&method, &url, e))
    }

    /// The settings in the module document that `method` on `url` answers with.
    pub(super) async fn settings_doc(
        &self,
        method: Method,
        url: Url,
        body: Option<Value>,
    ) -> Result<ModuleSettings, ApiError> {
        let d = self.json_doc(method.clone(), url.clone(), body).await?;
        settings_of(&d["data"]).map_err(|e| decode_error(&method, &url, e))
    }

    /// The module's settings; `None` when it does not exist.
    pub async fn module_settings(
        &self,
        m: &ModuleAddress,
    ) -> Result<Option<ModuleSettings>, ApiError> {
        match self
            .settings_doc(Method::GET, self.module_url(m, &[]), None)
            .await
        {
            Ok(s) => Ok(Some(s)),
            Err(ApiError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sets the module's test configuration; `agent_pool` = run on that agent pool.
    pub async fn patch_test_config(
        &self,
        m: &ModuleAddress,
        enabled: bool,
        agent_pool: Option<&str>,
    ) -> Result<ModuleSettings, ApiError> {
        let mut tc = json!({"tests-enabled": enabled, "agent-execution-mode": "remote"});
        if let Some(p) = agent_pool {
            tc["agent-execution-mode"] = json!("agent");
            tc["agent-pool-id"] = json!(p);
        }
        let body = json!({"data": {"type": "registry-modules", "attributes": {"test-config": tc}}});
        self.settings_doc(Method::PATCH, self.module_url(m, &[]), Some(body))
            .await
    }

    /// Creates the no-code module of registry module `module_id` (`mod-…`).
    pub async fn create_no_code(
        &self,
        module_id: &str,
        enabled: bool,
        version_pin: Option<&str>,
        options: &[VarOption],
    ) -> Result<NoCodeModule, ApiError> {
        let mut attrs = json!({"enabled": enabled});
        if let Some(p) = version_pin {
            attrs["version-pin"] = json!(p);
        }
        let mut rel =
            json!({"registry-module": {"data": {"id": module_id, "type": "registry-modules"}}});
        if !options.is_empty() {
            rel["variable-options"] = options_json(options);
        }
        let body =
            json!({"data": {"type": "no-code-modules", "attributes": attrs, "relationships": rel}});
        let d = self
            .json_doc(
                Method::POST,
                self.org_url(&["no-code-modules"], &[]),
                Some(body),
            )
            .await?;
        Ok(no_code_of(&d["data"]))
    }

    /// Changes a no-code module: `version_pin: Some("")` removes the pin; `options`
    /// replaces the variable options.
    pub async fn update_no_code(
        &self,
        id: &str,
        module_id: &str,
        enabled: Option<bool>,
        version_pin: Option<&str>,
        options: Option<&[VarOption]>,
    ) -> Result<NoCodeModule, ApiError> {
        let mut attrs = json!({});
        if let Some(e) = enabled {
            attrs["enabled"] = json!(e);
        }
        if let Some(p) = version_pin {
            attrs["version-pin"] = json!(p);
        }
        let mut rel =
            json!({"registry-module": {"data": {"id": module_id, "type": "registry-modules"}}});
        if let Some(o) = options {
            rel["variable-options"] = options_json(o);
        }
        let body = json!({"data": {"type": "no-code-modules", "id": id, "attributes": attrs, "relationships": rel}});
        let url = self.url(&["api", "v2", "no-code-modules", id], &[]);
        let d = self.json_doc(Method::PATCH, url, Some(body)).await?;
        Ok(no_code_of(&d["data"]))
    }

    /// A no-code module with its variable options; `None` when it does not exist.
    pub async fn get_no_code(
        &self,
        id: &str,
    ) -> Result<Option<(NoCodeModule, Vec<VarOption>)>, ApiError> {
        let url = self.url(
            &["api", "v2", "no-code-modules", id],
            &[("include", "variable-options")],
        );
        let d = match self.json_doc(Method::GET, url, None).await {
            Ok(d) => d,
            Err(ApiError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let options = d["included"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["type"] == "variable-options")
            .map(|r| VarOption {
                name: text(&r["attributes"]["variable-name"]).unwrap_or_default(),
                kind: text(&r["attributes"]["variable-type"]).unwrap_or_default(),
                options: r["attributes"]["options"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|o| o.as_str().map(server_text))
                    .collect(),
            })
            .collect();
        Ok(Some((no_code_of(&d["data"]), options)))
    }
}
