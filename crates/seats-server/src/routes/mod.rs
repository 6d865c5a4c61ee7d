//! One module per resource; each handler carries its OpenAPI description, and the router and
//! `/openapi.json` are both built from the same list of routes, so the document describes
//! exactly what is served.

pub mod accounts;
pub mod devices;
pub mod health;
pub mod identity_providers;
pub mod metrics;
pub mod openapi;
pub mod operator;
pub mod organizations;
pub mod seats;
pub mod tokens;
pub mod users;

use axum::http::Method;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::AppState;

/// Every served route; the operator API only when an operator key is configured.
pub fn api_routes(operator_api: bool) -> OpenApiRouter<AppState> {
    let router = OpenApiRouter::with_openapi(crate::openapi::base_document(operator_api))
        .routes(routes!(seats::edit))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::get, users::update, users::delete))
        .routes(routes!(users::active_sessions))
        .routes(routes!(users::failed_logins))
        .routes(routes!(users::last_seen_identity))
        .routes(routes!(
            organizations::get,
            organizations::create,
            organizations::update
        ))
        .routes(routes!(organizations::revoke_user))
        .routes(routes!(devices::list, devices::bulk_delete))
        .routes(routes!(devices::get, devices::delete))
        .routes(routes!(devices::revoke))
        .routes(routes!(devices::unrevoke))
        .routes(routes!(devices::list_physical))
        .routes(routes!(devices::get_physical, devices::delete_physical))
        .routes(routes!(devices::revoke_physical))
        .routes(routes!(devices::deprecated_revoke))
        .routes(routes!(devices::deprecated_unrevoke))
        .routes(routes!(identity_providers::list, identity_providers::create))
        .routes(routes!(
            identity_providers::get,
            identity_providers::update,
            identity_providers::delete
        ))
        .routes(routes!(identity_providers::refresh_scim_secret))
        .routes(routes!(identity_providers::scim_users))
        .routes(routes!(identity_providers::scim_groups))
        .routes(routes!(accounts::list))
        .routes(routes!(tokens::verify))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(metrics::metrics))
        .routes(routes!(openapi::document));
    if !operator_api {
        return router;
    }
    router
        .routes(routes!(operator::accounts::create, operator::accounts::list))
        .routes(routes!(operator::accounts::get, operator::accounts::update))
        .routes(routes!(operator::members::create, operator::members::list))
        .routes(routes!(operator::members::delete))
        .routes(routes!(operator::tokens::create, operator::tokens::list))
        .routes(routes!(operator::tokens::update, operator::tokens::delete))
        .routes(routes!(operator::logins::login))
        .routes(routes!(operator::logins::expire))
        .routes(routes!(operator::audit::list))
        .routes(routes!(operator::clock::get, operator::clock::advance))
        .routes(routes!(operator::journal::list, operator::journal::clear))
        .routes(routes!(
            operator::faults::create,
            operator::faults::list,
            operator::faults::clear
        ))
        .routes(routes!(operator::faults::delete))
        .routes(routes!(operator::snapshots::reset))
        .routes(routes!(operator::snapshots::create, operator::snapshots::list))
        .routes(routes!(operator::snapshots::restore))
        .routes(routes!(operator::snapshots::delete))
}

/// The answer for an unknown route (404 7000), in the envelope.
pub async fn no_route() -> ApiError {
    ApiError::NoRoute
}

/// The answer for a method the route does not serve (405 7001), in the envelope.
pub async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed { method }
}
