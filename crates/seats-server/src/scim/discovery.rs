//! What a SCIM client reads first (RFC 7644 §4): `ServiceProviderConfig`, `ResourceTypes`,
//! `Schemas`. The schemas are RFC 7643's core User and Group (and the enterprise User
//! extension), which is what the endpoint stores and returns.

use axum::extract::{Path, State};
use serde_json::{json, Value};

use super::auth::ScimProvider;
use super::error::ScimError;
use super::views::{GROUP_SCHEMA, USER_SCHEMA};
use super::{list_response, Scim, MAX_RESULTS};
use crate::AppState;

const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";

pub async fn service_provider_config(State(_): State<AppState>, scim: ScimProvider) -> Scim {
    Scim::ok(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://developers.cloudflare.com/cloudflare-one/identity/users/scim/",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken", "name": "Bearer token",
            "description": "The identity provider's SCIM secret (scim_config.secret) as Authorization: Bearer",
            "primary": true,
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{}/ServiceProviderConfig", scim.base)},
    }))
}

fn resource_type_of(name: &str, base: &str) -> Option<Value> {
    let (endpoint, schema, extensions) = match name {
        "User" => (
            "/Users",
            USER_SCHEMA,
            json!([{"schema": ENTERPRISE_SCHEMA, "required": false}]),
        ),
        "Group" => ("/Groups", GROUP_SCHEMA, json!([])),
        _ => return None,
    };
    Some(json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": name, "name": name, "endpoint": endpoint,
        "description": format!("{name} resources"),
        "schema": schema, "schemaExtensions": extensions,
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{name}")},
    }))
}

pub async fn resource_types(State(_): State<AppState>, scim: ScimProvider) -> Scim {
    let all: Vec<Value> = ["User", "Group"]
        .iter()
        .filter_map(|n| resource_type_of(n, &scim.base))
        .collect();
    let total = all.len() as u64;
    list_response(all, total, 1)
}

pub async fn resource_type(
    State(_): State<AppState>,
    scim: ScimProvider,
    Path((_, name)): Path<(String, String)>,
) -> Result<Scim, ScimError> {
    resource_type_of(&name, &scim.base)
        .map(Scim::ok)
        .ok_or_else(|| ScimError::not_found("ResourceType", &name))
}

/// One attribute definition (RFC 7643 §7); `flags` overrides the defaults.
fn attr(name: &str, kind: &str, flags: Value) -> Value {
    let mut a = json!({
        "name": name, "type": kind, "multiValued": false, "description": name,
        "required": false, "caseExact": false, "mutability": "readWrite",
        "returned": "default", "uniqueness": "none",
    });
    if let (Some(a), Some(f)) = (a.as_object_mut(), flags.as_object()) {
        a.extend(f.clone());
    }
    a
}

fn text(name: &str) -> Value {
    attr(name, "string", json!({}))
}

/// A multi-valued complex attribute of `value`, `display`, `type`, `primary`.
fn multi(name: &str, types: &[&str]) -> Value {
    let mut kind = text("type");
    if !types.is_empty() {
        kind["canonicalValues"] = json!(types);
    }
    attr(
        name,
        "complex",
        json!({"multiValued": true, "subAttributes": [text("value"), text("display"), kind, attr("primary", "boolean", json!({}))]}),
    )
}

fn schema_of(urn: &str, base: &str) -> Option<Value> {
    let (name, attributes) = match urn {
        USER_SCHEMA => (
            "User",
            json!([
                attr("userName", "string", json!({"required": true, "uniqueness": "server"})),
                attr(
                    "name",
                    "complex",
                    json!({"subAttributes": [
                    text("formatted"), text("familyName"), text("givenName"),
                    text("middleName"), text("honorificPrefix"), text("honorificSuffix")]})
                ),
                text("displayName"),
                text("nickName"),
                attr("profileUrl", "reference", json!({"referenceTypes": ["external"]})),
                text("title"),
                text("userType"),
                text("preferredLanguage"),
                text("locale"),
                text("timezone"),
                attr("active", "boolean", json!({})),
                attr(
                    "password",
                    "string",
                    json!({"mutability": "writeOnly", "returned": "never"})
                ),
                multi("emails", &["work", "home", "other"]),
                multi("phoneNumbers", &["work", "home", "mobile", "fax", "pager", "other"]),
                multi("ims", &[]),
                multi("photos", &["photo", "thumbnail"]),
                attr(
                    "addresses",
                    "complex",
                    json!({"multiValued": true, "subAttributes": [
                    text("formatted"), text("streetAddress"), text("locality"), text("region"),
                    text("postalCode"), text("country"), text("type"), attr("primary", "boolean", json!({}))]})
                ),
                multi("entitlements", &[]),
                multi("roles", &[]),
                multi("x509Certificates", &[]),
            ]),
        ),
        GROUP_SCHEMA => (
            "Group",
            json!([
                attr(
                    "displayName",
                    "string",
                    json!({"required": true, "uniqueness": "server"})
                ),
                attr(
                    "members",
                    "complex",
                    json!({"multiValued": true, "subAttributes": [
                    attr("value", "string", json!({"mutability": "immutable"})),
                    attr("$ref", "reference", json!({"mutability": "immutable", "referenceTypes": ["User"]})),
                    attr("type", "string", json!({"mutability": "immutable", "canonicalValues": ["User"]}))]})
                ),
            ]),
        ),
        ENTERPRISE_SCHEMA => (
            "EnterpriseUser",
            json!([
                text("employeeNumber"),
                text("costCenter"),
                text("organization"),
                text("division"),
                text("department"),
                attr(
                    "manager",
                    "complex",
                    json!({"subAttributes": [
                    text("value"), attr("$ref", "reference", json!({"referenceTypes": ["User"]})),
                    attr("displayName", "string", json!({"mutability": "readOnly"}))]})
                ),
            ]),
        ),
        _ => return None,
    };
    Some(json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": urn, "name": name, "description": format!("{name} schema"),
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{urn}")},
    }))
}

pub async fn schemas(State(_): State<AppState>, scim: ScimProvider) -> Scim {
    let all: Vec<Value> = [USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_SCHEMA]
        .iter()
        .filter_map(|u| schema_of(u, &scim.base))
        .collect();
    let total = all.len() as u64;
    list_response(all, total, 1)
}

pub async fn schema(
    State(_): State<AppState>,
    scim: ScimProvider,
    Path((_, urn)): Path<(String, String)>,
) -> Result<Scim, ScimError> {
    schema_of(&urn, &scim.base)
        .map(Scim::ok)
        .ok_or_else(|| ScimError::not_found("Schema", &urn))
}
