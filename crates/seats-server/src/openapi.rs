//! The OpenAPI document before any route is added: info, server and security schemes. The
//! routes add themselves (`routes::api_routes`); `routes::openapi` serves the result.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder, ServerBuilder};

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
