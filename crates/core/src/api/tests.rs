//! The module tests API (tests.md): test configuration versions, test runs (create,
//! read, list, cancel, force-cancel), the run log at its `log-read-url`, and the module's
//! test environment variables (`vars`). Upload and log links are [`SecretUrl`]s; strings
//! the server chose are made safe while decoding.

use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};
use url::Url;

use super::server_text::{de_opt_text, de_text, server_text};
use super::types::{simple_resource, FromResource, Resource};
use super::{ApiError, Client};
use crate::secret::SecretUrl;
use crate::vocab::ModuleAddress;

/// A test configuration version; `upload_url` is shown only when it is created.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct TestConfigVersion {
    #[serde(skip)]
    pub id: String,
    #[serde(deserialize_with = "de_text")]
    pub status: String,
    #[serde(skip)]
    pub upload_url: Option<SecretUrl>,
}

/// A test run: status (`pending`, `queued`, `running`, `errored`, `canceled`,
/// `finished`), `test-status` (`pass`/`fail`) and the four counts once finished.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct TestRun {
    #[serde(skip)]
    pub id: String,
    #[serde(deserialize_with = "de_text")]
    pub status: String,
    #[serde(deserialize_with = "de_opt_text")]
    pub test_status: Option<String>,
    pub tests_passed: Option<u64>,
    pub tests_failed: Option<u64>,
    pub tests_errored: Option<u64>,
    pub tests_skipped: Option<u64>,
    #[serde(deserialize_with = "de_opt_text")]
    pub message: Option<String>,
    #[serde(deserialize_with = "de_opt_text")]
    pub source: Option<String>,
    #[serde(deserialize_with = "de_opt_text")]
    pub created_at: Option<String>,
    #[serde(skip)]
    pub log_read_url: Option<SecretUrl>,
}

impl TestRun {
    /// Whether the run reached a final state (`errored`, `canceled`, `finished`).
    pub fn is_final(&self) -> bool {
        matches!(self.status.as_str(), "errored" | "canceled" | "finished")
    }

    /// passed, failed, errored, skipped (0 when the server has not counted).
    pub fn counts(&self) -> [u64; 4] {
        [
            self.tests_passed,
            self.tests_failed,
            self.tests_errored,
            self.tests_skipped,
        ]
        .map(|c| c.unwrap_or(0))
    }
}

/// A module test environment variable (`value` is None for a sensitive one).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct TestVariable {
    #[serde(skip)]
    pub id: String,
    #[serde(deserialize_with = "de_text")]
    pub key: String,
    #[serde(deserialize_with = "de_opt_text")]
    pub value: Option<String>,
    #[serde(deserialize_with = "de_opt_text")]
    pub description: Option<String>,
    pub sensitive: bool,
    #[serde(deserialize_with = "de_text")]
    pub category: String,
}

/// What a test run is asked (tests.md "Create a Test").
#[derive(Debug, Clone, Default)]
pub struct TestRunOptions {
    pub filters: Vec<String>,
    pub test_directory: Option<String>,
    /// (key, HCL literal)
    pub variables: Vec<(String, String)>,
    pub verbose: bool,
}

/// A variable to create or update (`value` None: unchanged on update).
#[derive(Debug, Clone)]
pub struct TestVariableInput<'a> {
    pub key: &'a str,
    pub value: Option<&'a str>,
    pub description: Option<&'a str>,
    pub sensitive: bool,
}

fn attr_secret(r: &Resource, name: &str) -> Option<SecretUrl> {
    r.attributes
        .get(name)
        .and_then(Value::as_str)
        .and_then(|s| SecretUrl::parse(s).ok())
}

impl FromResource for TestConfigVersion {
    fn from_resource(r: Resource) -> Result<Self, serde_json::Error> {
        let mut v: TestConfigVersion = r.attrs()?;
        v.upload_url = attr_secret(&r, "upload-url");
        v.id = r.id;
        Ok(v)
    }
}

impl FromResource for TestRun {
    fn from_resource(r: Resource) -> Result<Self, serde_json::Error> {
        let mut v: TestRun = r.attrs()?;
        v.log_read_url = attr_secret(&r, "log-read-url");
        v.id = r.id;
        Ok(v)
    }
}

simple_resource!(TestVariable);

/// The most bytes of a test log read.
pub const MAX_TEST_LOG: u64 = 8 * 1024 * 1024;

impl Client {
    fn tests_url(&self, m: &ModuleAddress, rest: &[&str]) -> Url {
        let mut segs = vec!["tests"];
        segs.extend(super::modules::private_module_segments(m));
        segs.extend_from_slice(rest);
        self.org_url(&segs, &[])
    }

    /// Creates a test configuration version. No body, as Terraform's own `terraform test
    /// -cloud-run` sends (go-tfe `CreateForRegistryModule`); the caller then creates the
    /// run with its own options once the upload is done.
    pub async fn create_test_config_version(
        &self,
        m: &ModuleAddress,
    ) -> Result<TestConfigVersion, ApiError> {
        let url = self.tests_url(m, &["test-runs", "configuration-versions"]);
        let raw = self.request(Method::POST, url.clone(), None, true).await?;
        let err = |e: serde_json::Error| super::transport::decode_error(&Method::POST, &url, e);
        let one: super::types::One = serde_json::from_slice(&raw.body).map_err(err)?;
        TestConfigVersion::from_resource(one.data).map_err(err)
    }

    pub async fn create_test_run(
        &self,
        m: &ModuleAddress,
        cv_id: &str,
        o: &TestRunOptions,
    ) -> Result<TestRun, ApiError> {
        let vars: Vec<Value> = o
            .variables
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect();
        let mut attrs = json!({"verbose": o.verbose, "filters": o.filters, "variables": vars});
        if let Some(d) = &o.test_directory {
            attrs["test-directory"] = json!(d);
        }
        let body = json!({"data": {"type": "test-runs", "attributes": attrs,
            "relationships": {"configuration-version": {"data": {"id": cv_id, "type": "configuration-versions"}}}}});
        let url = self.tests_url(m, &["test-runs"]);
        self.create(url, body, || Box::pin(async { Ok(None) }))
            .await
    }

    pub async fn get_test_run(
        &self,
        m: &ModuleAddress,
        id: &str,
    ) -> Result<Option<TestRun>, ApiError> {
        self.get_one(self.tests_url(m, &["test-runs", id])).await
    }

    /// The module's test runs, newest first.
    pub async fn list_test_runs(&self, m: &ModuleAddress) -> Result<Vec<TestRun>, ApiError> {
        self.list(self.tests_url(m, &["test-runs"])).await
    }

    /// `cancel` (`force`: `force-cancel`).
    pub async fn cancel_test_run(
        &self,
        m: &ModuleAddress,
        id: &str,
        force: bool,
    ) -> Result<(), ApiError> {
        let action = if force { "force-cancel" } else { "cancel" };
        let url = self.tests_url(m, &["test-runs", id, action]);
        self.request(Method::POST, url, None, true)
            .await
            .map(|_| ())
    }

    /// The run's log, read from its `log-read-url` without the token (it is a pre-signed
    /// link), each line made safe. Errors never name the link.
    pub async fn read_test_log(&self, url: &SecretUrl) -> Result<String, ApiError> {
        let shown = "the test log (log-read-url)";
        let resp = self
            .plain
            .get(url.expose().clone())
            .timeout(std::time::Duration::from_secs(120))
            .send()
            .await
            .map_err(|e| super::transport_error(&Method::GET, shown, e))?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(ApiError::Upload {
                id: shown.into(),
                status,
            });
        }
        let body = super::transport::read_capped(resp, MAX_TEST_LOG)
            .await
            .map_err(|e| super::transport_error(&Method::GET, shown, e))?
            .ok_or_else(|| ApiError::BodyTooLarge {
                method: "GET".into(),
                path: shown.into(),
                limit: MAX_TEST_LOG,
            })?;
        let text = String::from_utf8_lossy(&body);
        Ok(text.lines().map(server_text).collect::<Vec<_>>().join("\n"))
    }

    pub async fn list_test_variables(
        &self,
        m: &ModuleAddress,
    ) -> Result<Vec<TestVariable>, ApiError> {
        self.list(self.tests_url(m, &["vars"])).await
    }

    fn var_body(v: &TestVariableInput<'_>) -> Value {
        let mut attrs = json!({"key": v.key, "category": "env", "sensitive": v.sensitive});
        if let Some(x) = v.value {
            attrs["value"] = json!(x);
        }
        if let Some(d) = v.description {
            attrs["description"] = json!(d);
        }
        json!({"data": {"type": "vars", "attributes": attrs}})
    }

    pub async fn create_test_variable(
        &self,
        m: &ModuleAddress,
        v: &TestVariableInput<'_>,
    ) -> Result<TestVariable, ApiError> {
        let url = self.tests_url(m, &["vars"]);
        let raw = self
            .request(Method::POST, url.clone(), Some(Self::var_body(v)), true)
            .await?;
        decode_one_var(&url, &raw.body)
    }

    pub async fn update_test_variable(
        &self,
        m: &ModuleAddress,
        id: &str,
        v: &TestVariableInput<'_>,
    ) -> Result<TestVariable, ApiError> {
        let url = self.tests_url(m, &["vars", id]);
        let raw = self
            .request(Method::PATCH, url.clone(), Some(Self::var_body(v)), true)
            .await?;
        decode_one_var(&url, &raw.body)
    }

    pub async fn delete_test_variable(&self, m: &ModuleAddress, id: &str) -> Result<(), ApiError> {
        self.delete(self.tests_url(m, &["vars", id])).await
    }
}

fn decode_one_var(url: &Url, body: &[u8]) -> Result<TestVariable, ApiError> {
    let err = |e: serde_json::Error| super::transport::decode_error(&Method::GET, url, e);
    let one: super::types::One = serde_json::from_slice(body).map_err(err)?;
    TestVariable::from_resource(one.data).map_err(err)
}

#[cfg(test)]
mod unit {
    use super::*;
    use crate::api::types::One;

    #[test]
    fn the_documented_samples_decode() {
        let cv: One = serde_json::from_str(r#"{"data":{"id":"cv-aaady7niJMY1wAvx","type":"configuration-versions","attributes":{"auto-queue-runs":true,"status":"pending","upload-url":"https://archivist.terraform.io/v1/object/SIGNED"}}}"#).unwrap();
        let cv = TestConfigVersion::from_resource(cv.data).unwrap();
        assert_eq!(cv.id, "cv-aaady7niJMY1wAvx");
        assert!(cv.upload_url.is_some());
        assert!(!format!("{cv:?}").contains("SIGNED"));
        let run: One = serde_json::from_str(r#"{"data":{"id":"trun-KFg8DSiRz4E37mdJ","type":"test-runs","attributes":{"status":"finished","log-read-url":"https://archivist.terraform.io/v1/object/LOGSIGNED","test-status":"pass","tests-passed":1,"tests-failed":0,"tests-errored":0,"tests-skipped":0,"source":"tfe-api","message":"Queued manually via the Terraform Enterprise API"}}}"#).unwrap();
        let run = TestRun::from_resource(run.data).unwrap();
        assert!(run.is_final());
        assert_eq!(run.counts(), [1, 0, 0, 0]);
        assert_eq!(run.test_status.as_deref(), Some("pass"));
        assert!(!format!("{run:?}").contains("LOGSIGNED"));
        let queued: One = serde_json::from_str(r#"{"data":{"id":"trun-1","attributes":{"status":"queued","test-status":null,"tests-passed":null}}}"#).unwrap();
        let queued = TestRun::from_resource(queued.data).unwrap();
        assert!(!queued.is_final());
        assert_eq!(queued.counts(), [0, 0, 0, 0]);
    }
}
