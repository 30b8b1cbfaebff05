//! The route table: which handler answers which method and path, per area, and the layer
//! every request passes. Nothing but `lib.rs` imports this file; it imports the handlers
//! and may be imported by none of them.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use axum::Router;

use crate::jsonapi::Problem;
use crate::state::SharedState;
use crate::{
    archivist, components, consumer, gpg_keys, guard, module_settings, modules, no_code, observe,
    permissions, providers, tests_api, vcs,
};

type Routes = Router<SharedState>;

pub(crate) fn router(state: SharedState) -> Router {
    let routes = Router::new()
        .route("/api/v2/ping", get(ping))
        .route(ORG, get(permissions::organization))
        .route(
            &format!("{ORG}/entitlement-set"),
            get(permissions::entitlement_set),
        )
        .route("/api/v2/account/details", get(permissions::account_details))
        .route(
            "/api/v2/users/{user}/authentication-tokens",
            get(permissions::user_tokens),
        )
        .route(&format!("{ORG}/no-code-modules"), post(no_code::create))
        .route(
            "/api/v2/no-code-modules/{id}",
            get(no_code::get)
                .patch(no_code::patch)
                .delete(no_code::delete),
        );
    let routes = archivist_routes(consumer_routes(gpg_key_routes(provider_routes(
        module_routes(routes),
    ))));
    let routes = component_routes(routes);
    let routes = test_routes(routes);
    routes
        .route_layer(axum::middleware::from_fn(guard::path_names))
        .fallback(fallback)
        .method_not_allowed_fallback(fallback)
        .layer(axum::middleware::from_fn(guard::request))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::origin,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observe::layer,
        ))
        .with_state(state)
}

const ORG: &str = "/api/v2/organizations/{org}";

fn module_routes(r: Routes) -> Routes {
    let modp = format!("{ORG}/registry-modules/{{registry}}/{{ns}}/{{name}}");
    r.route(
        &format!("{ORG}/registry-modules"),
        get(modules::list).post(modules::create),
    )
    .route(&modp, delete(modules::delete_module))
    .route(
        &format!("{modp}/{{provider}}"),
        get(modules::get_module)
            .delete(modules::delete_provider)
            .patch(module_settings::patch_module),
    )
    .route(
        &format!("{modp}/{{provider}}/versions"),
        post(modules::create_version),
    )
    .route(
        &format!("{modp}/{{provider}}/version"),
        get(modules::get_version),
    )
    .route(
        &format!("{modp}/{{provider}}/{{version}}"),
        delete(modules::delete_version).patch(modules::patch_version),
    )
    .route(
        "/api/v2/registry-modules/{org}/{name}/{provider}/versions",
        post(modules::create_version_deprecated),
    )
    .route(
        "/api/v2/registry-modules",
        post(modules::create_vcs_unsupported),
    )
    .route(&format!("{ORG}/registry-modules/vcs"), post(vcs::create))
    .route(
        "/api/v2/registry-modules/show/{org}/{name}/{provider}",
        get(modules::show_deprecated),
    )
    .route(
        "/api/v2/registry-modules/actions/delete/{org}/{name}",
        post(modules::delete_module_deprecated),
    )
    .route(
        "/api/v2/registry-modules/actions/delete/{org}/{name}/{provider}",
        post(modules::delete_provider_deprecated),
    )
    .route(
        "/api/v2/registry-modules/actions/delete/{org}/{name}/{provider}/{version}",
        post(modules::delete_version_deprecated),
    )
}

fn provider_routes(r: Routes) -> Routes {
    let provp = format!("{ORG}/registry-providers/{{registry}}/{{ns}}/{{name}}");
    r.route(
        &format!("{ORG}/registry-providers"),
        get(providers::list).post(providers::create),
    )
    .route(
        &provp,
        get(providers::get_provider).delete(providers::delete_provider),
    )
    .route(
        &format!("{provp}/versions"),
        get(providers::list_versions).post(providers::create_version),
    )
    .route(
        &format!("{provp}/versions/{{version}}"),
        get(providers::get_version).delete(providers::delete_version),
    )
    .route(
        &format!("{provp}/versions/{{version}}/platforms"),
        get(providers::list_platforms).post(providers::create_platform),
    )
    .route(
        &format!("{provp}/versions/{{version}}/platforms/{{os}}/{{arch}}"),
        get(providers::get_platform).delete(providers::delete_platform),
    )
}

fn component_routes(r: Routes) -> Routes {
    let comp = "/api/v2/registry-components/{component_id}";
    r.route(
        &format!("{ORG}/registry-components"),
        get(components::list).post(components::create),
    )
    .route(
        comp,
        get(components::get_component).delete(components::delete_component),
    )
    .route(
        &format!("{comp}/versions"),
        get(components::list_versions).post(components::create_version),
    )
    .route(
        &format!("{comp}/versions/{{version}}"),
        get(components::get_version).delete(components::delete_version),
    )
}

fn gpg_key_routes(r: Routes) -> Routes {
    r.route(
        "/api/registry/private/v2/gpg-keys",
        get(gpg_keys::list).post(gpg_keys::create),
    )
    .route(
        "/api/registry/private/v2/gpg-keys/{ns}/{key_id}",
        get(gpg_keys::get_key)
            .patch(gpg_keys::update)
            .delete(gpg_keys::delete),
    )
}

fn consumer_routes(r: Routes) -> Routes {
    r.route("/.well-known/terraform.json", get(consumer::discovery))
        .route(
            "/api/registry/v1/modules/{ns}/{name}/{provider}/versions",
            get(consumer::module_versions),
        )
        .route(
            "/api/registry/v1/modules/{ns}/{name}/{provider}/{version}/download",
            get(consumer::module_download),
        )
        .route(
            "/api/registry/v1/modules/{ns}/{name}/{provider}",
            get(consumer::module_latest),
        )
        .route(
            "/api/registry/v1/modules/{ns}/{name}/{provider}/download",
            get(consumer::module_download_latest),
        )
        .route(
            "/api/registry/v1/modules/{ns}/{name}/{provider}/{version}",
            get(consumer::module_version),
        )
        .route(
            "/api/registry/v1/providers/{ns}/{name}/versions",
            get(consumer::provider_versions),
        )
        .route(
            "/api/registry/v1/providers/{ns}/{name}/{version}/download/{os}/{arch}",
            get(consumer::provider_download),
        )
}

fn archivist_routes(r: Routes) -> Routes {
    r.route("/_archivist/upload/{token}", put(archivist::upload))
        .route(
            "/_archivist/blobs/{sha}/{filename}",
            get(archivist::download),
        )
}

fn test_routes(r: Routes) -> Routes {
    let t = format!("{ORG}/tests/registry-modules/{{registry}}/{{ns}}/{{name}}/{{provider}}");
    r.route(
        &format!("{t}/test-runs"),
        get(tests_api::list_runs).post(tests_api::create_run),
    )
    .route(
        &format!("{t}/test-runs/configuration-versions"),
        post(tests_api::create_config_version),
    )
    .route(&format!("{t}/test-runs/{{run}}"), get(tests_api::show_run))
    .route(
        &format!("{t}/test-runs/{{run}}/cancel"),
        post(tests_api::cancel),
    )
    .route(
        &format!("{t}/test-runs/{{run}}/force-cancel"),
        post(tests_api::force_cancel),
    )
    .route(
        &format!("{t}/vars"),
        get(tests_api::list_vars).post(tests_api::create_var),
    )
    .route(
        &format!("{t}/vars/{{var}}"),
        patch(tests_api::update_var).delete(tests_api::delete_var),
    )
    .route(
        "/api/v2/configuration-versions/{cv}",
        get(tests_api::show_config_version),
    )
    .route("/_archivist/test-logs/{token}", get(tests_api::read_log))
}

async fn ping() -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    h.insert("tfp-api-version", HeaderValue::from_static("2.6"));
    h.insert("x-tfe-version", HeaderValue::from_static("tfpub-local"));
    resp
}

async fn fallback() -> Problem {
    Problem::not_found("no such endpoint")
}
