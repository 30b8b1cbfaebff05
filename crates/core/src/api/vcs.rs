//! VCS-linked modules: `POST /organizations/:org/registry-modules/vcs` (modules.md,
//! "Publish a Private Module from a VCS"), with the link's `vcs-repo` (identifier, OAuth
//! token id, branch or tag-based, and for monorepos the source directory and tag prefix,
//! named as stack-component-configurations.md names them).

use reqwest::Method;
use serde_json::json;

use super::{ApiError, Client, ModuleSettings};

/// What `module link` asks the registry to create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VcsLinkRequest {
    pub identifier: String,
    pub oauth_token_id: String,
    /// Empty: tag-based.
    pub branch: String,
    pub source_directory: Option<String>,
    pub tag_prefix: Option<String>,
    /// Sent only for a monorepo (with a source directory), where the repository's name
    /// does not name the module.
    pub name_provider: Option<(String, String)>,
}

impl Client {
    /// Creates a module linked to a VCS repository.
    pub async fn create_vcs_module(
        &self,
        req: &VcsLinkRequest,
    ) -> Result<ModuleSettings, ApiError> {
        let mut vcs = json!({"identifier": req.identifier, "oauth-token-id": req.oauth_token_id,
            "display_identifier": req.identifier});
        if req.branch.is_empty() {
            vcs["tags"] = json!(true);
        } else {
            vcs["branch"] = json!(req.branch);
        }
        if let Some(d) = &req.source_directory {
            vcs["source-directory"] = json!(d);
        }
        if let Some(p) = &req.tag_prefix {
            vcs["tag-prefix"] = json!(p);
        }
        let mut attrs = json!({"vcs-repo": vcs});
        if let Some((n, p)) = &req.name_provider {
            attrs["name"] = json!(n);
            attrs["provider"] = json!(p);
        }
        let body = json!({"data": {"type": "registry-modules", "attributes": attrs}});
        let url = self.org_url(&["registry-modules", "vcs"], &[]);
        self.settings_doc(Method::POST, url, Some(body)).await
    }
}
