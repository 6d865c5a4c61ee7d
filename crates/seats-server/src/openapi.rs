//! `/openapi.json`: generated from the routes themselves (see `routes::api_routes`).

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use seats_types::Message;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder, ServerBuilder};
use utoipa::ToSchema;

use crate::AppState;

/// The failure envelope every error renders: `success: false`, `result: null`.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the body `ApiError` writes; never built as a value
pub struct FailureEnvelope {
    errors: Vec<Message>,
    messages: Vec<Message>,
    #[schema(value_type = Option<Object>, required = true)]
    result: Option<()>,
    /// Whether the API call was successful
    success: bool,
}

/// The document before routes are added: info, server, security schemes.
pub fn base_document(operator_api: bool) -> OpenApi {
    let mut doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("seats: Cloudflare-compatible Zero Trust seats API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "The routes this server serves. Cloudflare operations match Cloudflare's schema for them.",
                ))
                .build(),
        )
        .servers(Some([ServerBuilder::new().url("/").build()]))
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "api_token",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    components.add_security_scheme(
        "api_email",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Auth-Email"))),
    );
    components.add_security_scheme(
        "api_key",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Auth-Key"))),
    );
    if operator_api {
        components.add_security_scheme(
            "operator_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
    doc
}

/// The full document of the served routes, with or without the operator API.
pub fn openapi(operator_api: bool) -> OpenApi {
    crate::routes::api_routes(operator_api).into_openapi()
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
