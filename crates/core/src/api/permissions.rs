//! What the token may do in the organization, read before any work: the organization's
//! `permissions` (`GET /organizations/:org`), its `entitlement-set`
//! (`private-module-registry`), and for a user token (`GET /account/details`, not a
//! service account) the token's `expired-at` from the user's `authentication-tokens`.
//!
//! Every read is best effort: a server that does not answer one (an older Terraform
//! Enterprise, a proxy) leaves that fact unknown instead of failing the command; only a
//! refused token (401) is an error.

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use super::{ApiError, Client};

/// What the token may do, each `None` when the server did not say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    pub can_create_module: Option<bool>,
    pub can_create_provider: Option<bool>,
    pub can_manage_public_modules: Option<bool>,
    pub can_manage_public_providers: Option<bool>,
    /// `entitlement-set.private-module-registry`.
    pub private_module_registry: Option<bool>,
    /// The token belongs to a user (not a team, organization or service account).
    pub user_token: Option<bool>,
    /// When a user token expires (RFC 3339 as the server wrote it, parsed).
    pub expired_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "kebab-case")]
struct OrgPermissions {
    can_create_module: Option<bool>,
    can_create_provider: Option<bool>,
    can_manage_public_modules: Option<bool>,
    can_manage_public_providers: Option<bool>,
}

impl Client {
    /// `GET` a JSON document; `Ok(None)` for anything but success or a refused token.
    async fn read_doc(&self, url: url::Url) -> Result<Option<Value>, ApiError> {
        match self.request(Method::GET, url, None, true).await {
            Ok(raw) => Ok(serde_json::from_slice(&raw.body).ok()),
            Err(e @ ApiError::Unauthorized { .. }) => Err(e),
            Err(_) => Ok(None),
        }
    }

    /// Reads what the token may do in the organization (see the module doc).
    pub async fn access(&self) -> Result<Access, ApiError> {
        let org = self.organization().to_string();
        let org_url = self.url(&["api", "v2", "organizations", &org], &[]);
        let ent_url = self.url(
            &["api", "v2", "organizations", &org, "entitlement-set"],
            &[],
        );
        let me_url = self.url(&["api", "v2", "account", "details"], &[]);
        let (o, e, me) = tokio::join!(
            self.read_doc(org_url),
            self.read_doc(ent_url),
            self.read_doc(me_url),
        );
        let perms: OrgPermissions = o?
            .and_then(|d| {
                serde_json::from_value(d["data"]["attributes"]["permissions"].clone()).ok()
            })
            .unwrap_or_default();
        let mut a = Access {
            can_create_module: perms.can_create_module,
            can_create_provider: perms.can_create_provider,
            can_manage_public_modules: perms.can_manage_public_modules,
            can_manage_public_providers: perms.can_manage_public_providers,
            private_module_registry: e?
                .and_then(|d| d["data"]["attributes"]["private-module-registry"].as_bool()),
            ..Access::default()
        };
        let me = me?;
        let service = me
            .as_ref()
            .and_then(|d| d["data"]["attributes"]["is-service-account"].as_bool());
        a.user_token = service.map(|s| !s);
        if service == Some(false) {
            let user = me
                .as_ref()
                .and_then(|d| d["data"]["id"].as_str())
                .unwrap_or_default()
                .to_string();
            if !user.is_empty() {
                a.expired_at = self.token_expiry(&user).await?;
            }
        }
        Ok(a)
    }

    /// The expiry of the token this request is made with, among the user's tokens: the
    /// one used last (this very request used it). The API has no "current token" read,
    /// so this is the closest documented evidence (docs/hcp-fidelity.md).
    async fn token_expiry(
        &self,
        user: &str,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
        let doc = self
            .read_doc(self.url(
                &["api", "v2", "users", user, "authentication-tokens"],
                &[("page[size]", "100")],
            ))
            .await?;
        let Some(list) = doc.as_ref().and_then(|d| d["data"].as_array()) else {
            return Ok(None);
        };
        let time = |v: &Value, k: &str| {
            v["attributes"][k]
                .as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&chrono::Utc))
        };
        Ok(list
            .iter()
            .max_by_key(|t| time(t, "last-used-at"))
            .and_then(|t| time(t, "expired-at")))
    }
}

/// What a command is about to do, for [`Access::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Only look (`whoami`): never refuse, only report.
    Nothing,
    /// Create or change private modules.
    Modules,
    /// Create or change private providers.
    Providers,
    /// Add or remove public registry entries of modules (curation).
    PublicModules,
    /// Add or remove public registry entries of providers (curation).
    PublicProviders,
}

/// A token expiring sooner than this is warned about.
pub const EXPIRY_WARNING: chrono::TimeDelta = chrono::TimeDelta::days(7);

const MANAGE: &str = "ask an organization owner for a team with the Manage Private Registry permission (Organization settings > Teams), or use that team's token";

/// What the preflight concluded: warnings to show, or the reason to stop.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    pub warnings: Vec<String>,
    pub refusal: Option<(String, String)>,
}

impl Access {
    /// Pure: what `need` may do with this access at `now` (unknown facts never refuse).
    pub fn check(&self, org: &str, need: Need, now: chrono::DateTime<chrono::Utc>) -> Verdict {
        let mut v = Verdict::default();
        if let Some(at) = self.expired_at {
            let left = at - now;
            if left <= chrono::TimeDelta::zero() {
                v.refusal = Some((
                    format!("this token expired at {}", at.to_rfc3339()),
                    "create a new user token (User settings > Tokens) or run `terraform login`"
                        .into(),
                ));
                return v;
            }
            if left < EXPIRY_WARNING {
                v.warnings.push(format!(
                    "this token expires in {} ({})",
                    human_span(left),
                    at.to_rfc3339()
                ));
            }
        }
        if self.private_module_registry == Some(false) && need != Need::Nothing {
            v.refusal = Some((
                format!("organization {org:?} is not entitled to the private registry (entitlement-set.private-module-registry is false)"),
                "the organization's plan does not include the private registry; ask its owners".into(),
            ));
            return v;
        }
        if let Some(msg) = self.permission_gap(org, need) {
            v.refusal = Some((msg, MANAGE.into()));
        }
        v
    }

    /// The sentence naming what the token lacks for `need`, if it lacks it.
    fn permission_gap(&self, org: &str, need: Need) -> Option<String> {
        let (m, p) = (self.can_create_module, self.can_create_provider);
        match need {
            Need::Modules if m == Some(false) => Some(if p == Some(true) {
                format!("this token can publish providers but not modules in {org:?} (Manage Private Registry)")
            } else {
                format!("this token cannot publish modules in {org:?} (Manage Private Registry)")
            }),
            Need::Providers if p == Some(false) => Some(if m == Some(true) {
                format!("this token can publish modules but not providers in {org:?} (Manage Private Registry)")
            } else {
                format!("this token cannot publish providers in {org:?} (Manage Private Registry)")
            }),
            Need::PublicModules if self.can_manage_public_modules == Some(false) => Some(format!(
                "this token cannot manage public modules in {org:?} (Manage Private Registry)"
            )),
            Need::PublicProviders if self.can_manage_public_providers == Some(false) => {
                Some(format!(
                    "this token cannot manage public providers in {org:?} (Manage Private Registry)"
                ))
            }
            _ => None,
        }
    }

    /// One line per known fact, for `whoami`.
    pub fn summary(&self) -> Vec<(&'static str, String)> {
        let yn = |b: Option<bool>| match b {
            Some(true) => "yes",
            Some(false) => "no",
            None => "unknown",
        };
        let mut out = vec![
            ("publish modules", yn(self.can_create_module).to_string()),
            (
                "publish providers",
                yn(self.can_create_provider).to_string(),
            ),
            (
                "curate public modules",
                yn(self.can_manage_public_modules).to_string(),
            ),
            (
                "curate public providers",
                yn(self.can_manage_public_providers).to_string(),
            ),
            (
                "private registry entitlement",
                yn(self.private_module_registry).to_string(),
            ),
        ];
        let kind = match self.user_token {
            Some(true) => "user token".to_string(),
            Some(false) => "team, organization or service account token".to_string(),
            None => "unknown".to_string(),
        };
        out.push(("token kind", kind));
        if let Some(at) = self.expired_at {
            out.push(("token expires", at.to_rfc3339()));
        }
        out
    }
}

/// "3 days", "5 hours", "1 day": the largest whole unit.
fn human_span(d: chrono::TimeDelta) -> String {
    let (n, unit) = if d.num_days() >= 1 {
        (d.num_days(), "day")
    } else if d.num_hours() >= 1 {
        (d.num_hours(), "hour")
    } else {
        (d.num_minutes().max(1), "minute")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

impl Verdict {
    /// The refusal as an error, if there is one.
    pub fn into_result(self) -> Result<Vec<String>, ApiError> {
        match self.refusal {
            Some((message, hint)) => Err(ApiError::NotPermitted { message, hint }),
            None => Ok(self.warnings),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc)
    }

    fn access(m: bool, p: bool) -> Access {
        Access {
            can_create_module: Some(m),
            can_create_provider: Some(p),
            private_module_registry: Some(true),
            ..Access::default()
        }
    }

    #[test]
    fn modules_but_not_providers_is_named_for_a_provider_publish_only() {
        let a = access(true, false);
        let (msg, hint) = a.check("acme", Need::Providers, now()).refusal.unwrap();
        assert!(
            msg.contains("can publish modules but not providers"),
            "{msg}"
        );
        assert!(hint.contains("Manage Private Registry"), "{hint}");
        assert_eq!(a.check("acme", Need::Modules, now()), Verdict::default());
        assert_eq!(a.check("acme", Need::Nothing, now()), Verdict::default());
    }

    #[test]
    fn providers_but_not_modules_and_neither() {
        let msg = access(false, true)
            .check("acme", Need::Modules, now())
            .refusal
            .unwrap()
            .0;
        assert!(
            msg.contains("can publish providers but not modules"),
            "{msg}"
        );
        let msg = access(false, false)
            .check("acme", Need::Modules, now())
            .refusal
            .unwrap()
            .0;
        assert!(msg.contains("cannot publish modules"), "{msg}");
    }

    #[test]
    fn unknown_facts_never_refuse() {
        assert_eq!(
            Access::default().check("acme", Need::Providers, now()),
            Verdict::default()
        );
    }

    #[test]
    fn expiry_warns_within_a_week_and_refuses_after() {
        let mut a = access(true, true);
        a.expired_at = Some(now() + chrono::TimeDelta::days(3) + chrono::TimeDelta::hours(2));
        let v = a.check("acme", Need::Modules, now());
        assert_eq!(v.refusal, None);
        assert!(
            v.warnings[0].starts_with("this token expires in 3 days"),
            "{:?}",
            v.warnings
        );
        a.expired_at = Some(now() + chrono::TimeDelta::days(30));
        assert!(a.check("acme", Need::Modules, now()).warnings.is_empty());
        a.expired_at = Some(now() - chrono::TimeDelta::hours(1));
        let msg = a.check("acme", Need::Nothing, now()).refusal.unwrap().0;
        assert!(msg.contains("expired"), "{msg}");
    }

    #[test]
    fn no_entitlement_refuses_work_but_not_whoami() {
        let mut a = access(true, true);
        a.private_module_registry = Some(false);
        assert!(a.check("acme", Need::Modules, now()).refusal.is_some());
        assert!(a.check("acme", Need::Nothing, now()).refusal.is_none());
    }
}
