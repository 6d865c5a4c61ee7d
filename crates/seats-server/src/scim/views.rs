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
    list_extensions(&mut out, USER_SCHEMA);
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
    list_extensions(&mut out, GROUP_SCHEMA);
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

/// `schemas` lists the core schema and exactly the extensions the resource holds (RFC 7643
/// §3: an extension's attributes live under its URN, which `schemas` must name); an extension
/// left empty by a PATCH is dropped.
fn list_extensions(resource: &mut Map<String, Value>, core: &str) {
    resource.retain(|k, v| !(k.starts_with("urn:") && v.as_object().is_some_and(Map::is_empty)));
    let mut schemas = vec![json!(core)];
    schemas.extend(resource.keys().filter(|k| k.starts_with("urn:")).map(|k| json!(k)));
    resource.insert("schemas".into(), Value::Array(schemas));
}

/// Which attributes a response carries (RFC 7644 §3.4.2.5): with `attributes`, only those
/// (and `id`, `schemas`, `meta`, always returned); with `excludedAttributes`, all but those.
/// Names are case-insensitive and may be `attr.sub` or prefixed by a schema URN.
pub fn project(resource: Value, attributes: Option<&str>, excluded: Option<&str>) -> Value {
    let Value::Object(mut obj) = resource else {
        return resource;
    };
    let parse = |list: &str| -> Vec<Vec<String>> {
        list.split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(split_path)
            .collect()
    };
    if let Some(list) = attributes.filter(|a| !a.trim().is_empty()) {
        let wanted = parse(list);
        let mut out = Map::new();
        for key in ["id", "schemas", "meta"] {
            if let Some(v) = obj.remove(key) {
                out.insert(key.into(), v);
            }
        }
        for path in &wanted {
            copy_path(&obj, &mut out, path);
        }
        obj = out;
    } else if let Some(list) = excluded {
        for path in parse(list) {
            if !["id", "schemas"].contains(&path[0].as_str()) {
                remove_path(&mut obj, &path);
            }
        }
    }
    Value::Object(obj)
}

/// `urn:...:enterprise:2.0:User:manager.value` -> [urn, manager, value];
/// `urn:...:core:2.0:User:name.givenName` -> [name, givenName].
fn split_path(raw: &str) -> Vec<String> {
    let lower = raw.to_ascii_lowercase();
    for core in [USER_SCHEMA, GROUP_SCHEMA] {
        let prefix = format!("{}:", core.to_ascii_lowercase());
        if lower.starts_with(&prefix) {
            return raw[prefix.len()..].split('.').map(str::to_owned).collect();
        }
    }
    if lower.starts_with("urn:") {
        // An extension URN, alone or followed by `:attr[.sub]`: URNs end in a version-like
        // segment followed by a resource name (`...:2.0:User`), so split at the last ':'
        // only when what follows it is not the whole URN's last segment.
        if let Some(colon) = raw.rfind(':') {
            let (head, tail) = (&raw[..colon], &raw[colon + 1..]);
            if head.rsplit(':').next().is_some_and(|seg| seg.contains('.')) {
                // `...:2.0:User` alone: the whole extension.
                return vec![raw.to_owned()];
            }
            let mut path = vec![head.to_owned()];
            path.extend(tail.split('.').map(str::to_owned));
            return path;
        }
    }
    raw.split('.').map(str::to_owned).collect()
}

fn key_of(obj: &Map<String, Value>, name: &str) -> Option<String> {
    obj.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

fn copy_path(from: &Map<String, Value>, to: &mut Map<String, Value>, path: &[String]) {
    let Some(key) = key_of(from, &path[0]) else { return };
    let value = &from[&key];
    if path.len() == 1 {
        to.insert(key, value.clone());
        return;
    }
    match value {
        Value::Object(inner) => {
            let slot = to.entry(key).or_insert_with(|| Value::Object(Map::new()));
            if let Some(slot) = slot.as_object_mut() {
                copy_path(inner, slot, &path[1..]);
            }
        }
        Value::Array(items) => {
            let picked: Vec<Value> = items
                .iter()
                .filter_map(Value::as_object)
                .map(|item| {
                    let mut out = Map::new();
                    copy_path(item, &mut out, &path[1..]);
                    Value::Object(out)
                })
                .collect();
            to.insert(key, Value::Array(picked));
        }
        _ => {}
    }
}

fn remove_path(obj: &mut Map<String, Value>, path: &[String]) {
    let Some(key) = key_of(obj, &path[0]) else { return };
    if path.len() == 1 {
        obj.remove(&key);
        return;
    }
    match obj.get_mut(&key) {
        Some(Value::Object(inner)) => remove_path(inner, &path[1..]),
        Some(Value::Array(items)) => {
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                remove_path(item, &path[1..]);
            }
        }
        _ => {}
    }
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
