//! How SCIM resources read: in full at the SCIM endpoint, and in Cloudflare's reduced shapes
//! under `/access/identity_providers/{id}/scim/...`.

use seats_store::identity_provider::{ScimGroupRecord, ScimUserRecord};
use seats_types::{AccessUser, ScimEmail, ScimMeta, ZeroTrustGroup};
use serde_json::{json, Map, Value};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// The weak entity tag of a resource version (also its `meta.version`).
pub fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// The version an `If-Match` value names: `W/"3"` or `"3"`; `*` names none (any matches).
pub fn version_of(tag: &str) -> Option<Option<u64>> {
    let tag = tag.trim();
    if tag == "*" {
        return Some(None);
    }
    let inner = tag.strip_prefix("W/").unwrap_or(tag);
    inner.strip_prefix('"')?.strip_suffix('"')?.parse().ok().map(Some)
}

fn meta(
    kind: &str,
    location: String,
    version: u64,
    created: &seats_types::Timestamp,
    updated: &seats_types::Timestamp,
) -> Value {
    json!({
        "resourceType": kind, "created": created, "lastModified": updated,
        "location": location, "version": etag(version),
    })
}

/// A SCIM user as the SCIM endpoint returns it; `base` is the endpoint's base URL.
pub fn user_resource(u: &ScimUserRecord, base: &str) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(u.id));
    out.extend(u.resource.clone());
    out.insert("active".into(), json!(u.active));
    out.entry("schemas").or_insert_with(|| json!([USER_SCHEMA]));
    out.insert(
        "meta".into(),
        meta(
            "User",
            format!("{base}/Users/{}", u.id),
            u.version,
            &u.created_at,
            &u.updated_at,
        ),
    );
    Value::Object(out)
}

/// A SCIM group as the SCIM endpoint returns it.
pub fn group_resource(g: &ScimGroupRecord, base: &str) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(g.id));
    out.extend(g.resource.clone());
    out.entry("schemas").or_insert_with(|| json!([GROUP_SCHEMA]));
    let members: Vec<Value> = g
        .members
        .iter()
        .map(|m| json!({"value": m, "$ref": format!("{base}/Users/{m}"), "type": "User"}))
        .collect();
    out.insert("members".into(), Value::Array(members));
    out.insert(
        "meta".into(),
        meta(
            "Group",
            format!("{base}/Groups/{}", g.id),
            g.version,
            &g.created_at,
            &g.updated_at,
        ),
    );
    Value::Object(out)
}

fn text(resource: &Map<String, Value>, key: &str) -> Option<String> {
    resource.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Cloudflare's view of a SCIM user.
pub fn access_user(u: ScimUserRecord) -> AccessUser {
    let emails = u
        .resource
        .get("emails")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_object)
                .map(|e| ScimEmail {
                    primary: e.get("primary").and_then(Value::as_bool),
                    kind: text(e, "type"),
                    value: text(e, "value"),
                })
                .collect()
        })
        .unwrap_or_default();
    AccessUser {
        display_name: text(&u.resource, "displayName"),
        external_id: text(&u.resource, "externalId"),
        schemas: strings(u.resource.get("schemas")),
        emails,
        active: Some(u.active),
        meta: Some(ScimMeta {
            created: Some(u.created_at),
            last_modified: Some(u.updated_at),
        }),
        id: Some(u.id),
    }
}

/// Cloudflare's view of a SCIM group.
pub fn zero_trust_group(g: ScimGroupRecord) -> ZeroTrustGroup {
    ZeroTrustGroup {
        display_name: Some(g.display_name),
        external_id: text(&g.resource, "externalId"),
        schemas: strings(g.resource.get("schemas")),
        meta: Some(ScimMeta {
            created: Some(g.created_at),
            last_modified: Some(g.updated_at),
        }),
        id: Some(g.id),
    }
}
