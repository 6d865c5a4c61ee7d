//! `GET /openapi.json`: the document of the served routes, built from the routes themselves.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::OpenApi;

use crate::AppState;

/// The full document of the served routes, with or without the operator API.
pub fn openapi(operator_api: bool) -> OpenApi {
    super::api_routes(operator_api).into_openapi()
}

fn openapi_json(operator_api: bool) -> &'static str {
    static PUBLIC: OnceLock<String> = OnceLock::new();
    static WITH_OPERATOR: OnceLock<String> = OnceLock::new();
    let cell = if operator_api { &WITH_OPERATOR } else { &PUBLIC };
    cell.get_or_init(|| {
        // Serializing a document built from our own types cannot fail; fall back to an empty
        // object rather than panic if it ever did.
        openapi(operator_api)
            .to_pretty_json()
            .unwrap_or_else(|_| "{}".to_owned())
    })
}

/// The OpenAPI document of this server.
#[utoipa::path(get, path = "/openapi.json", tag = "Operations",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn document(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        openapi_json(state.config.operator_key.is_some()),
    )
}
