//! One module per resource; each handler carries its OpenAPI description, and the router and
//! `/openapi.json` are both built from the same list of routes, so the document describes
//! exactly what is served.

pub mod accounts;
pub mod fallback;
pub mod health;
pub mod pagination;
pub mod seats;
pub mod tokens;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

/// Every served route.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(crate::openapi::base_document())
        .routes(routes!(seats::edit))
        .routes(routes!(accounts::list))
        .routes(routes!(tokens::verify))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(crate::openapi::document))
}
