//! `/openapi.json` describes exactly the served routes, and its PATCH seats operation matches
//! Cloudflare's reference schema.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::helpers::*;

/// Cloudflare's reference schema for the seats endpoints, copied into the repository
/// (`tests/api/reference/README.md` says where it came from).
fn reference() -> Value {
    serde_json::from_str(include_str!("reference/cloudflare-zero-trust.json")).unwrap()
}

/// Resolves `$ref`s, merges `allOf`, and keeps only what defines the shape: type, format,
/// properties, items, required, maxLength, minimum, enum. An OpenAPI 3.1 `["T", "null"]`
/// type becomes `T` (nullability is not part of the comparison).
fn normalize(schema: &Value, doc: &Value) -> Value {
    normalize_in(schema, doc, &mut Vec::new())
}

/// `resolving` holds the `$ref`s being expanded, so a recursive schema (a message's
/// `error_chain` holds messages) ends in a marker instead of looping.
fn normalize_in(schema: &Value, doc: &Value, resolving: &mut Vec<String>) -> Value {
    let Value::Object(obj) = schema else {
        return schema.clone();
    };
    if let Some(Value::String(r)) = obj.get("$ref") {
        if resolving.contains(r) {
            return json!({"recursive": r});
        }
        let target = doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling {r}"));
        resolving.push(r.clone());
        let out = normalize_in(target, doc, resolving);
        resolving.pop();
        return out;
    }
    let mut out = Map::new();
    if let Some(Value::Array(parts)) = obj.get("allOf") {
        for part in parts {
            merge(&mut out, normalize_in(part, doc, resolving));
        }
    }
    // 3.1's `oneOf: [{"type": "null"}, X]` for an optional field is X.
    if let Some(Value::Array(parts)) = obj.get("oneOf") {
        let non_null: Vec<_> = parts.iter().filter(|p| p.get("type") != Some(&json!("null"))).collect();
        if let [only] = non_null[..] {
            merge(&mut out, normalize_in(only, doc, resolving));
        }
    }
    for (k, v) in obj {
        match k.as_str() {
            "type" => {
                let t = match v {
                    Value::Array(ts) => ts.iter().find(|t| *t != "null").cloned().unwrap_or(Value::Null),
                    t => t.clone(),
                };
                out.insert("type".into(), t);
            }
            "format" | "maxLength" | "minimum" => {
                out.insert(k.clone(), v.clone());
            }
            "required" => {
                let set: BTreeSet<String> = v
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_owned())
                    .collect();
                out.insert(k.clone(), json!(set));
            }
            "items" => {
                out.insert(k.clone(), normalize_in(v, doc, resolving));
            }
            "properties" => {
                let props: Map<String, Value> = v
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(name, s)| (name.clone(), normalize_in(s, doc, resolving)))
                    .collect();
                merge(&mut out, json!({"properties": props}));
            }
            _ => {}
        }
    }
    Value::Object(out)
}

fn merge(into: &mut Map<String, Value>, from: Value) {
    let Value::Object(from) = from else { return };
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(Value::Object(a)), Value::Object(b)) => merge(a, Value::Object(b)),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

async fn served(app: &TestApp) -> Value {
    let (status, doc) = parts(app.request(Method::GET, "/openapi.json").send().await.unwrap()).await;
    assert_eq!(status, 200);
    doc
}

#[tokio::test]
async fn patch_seats_matches_cloudflares_reference() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let ours_doc = served(&app).await;
        let theirs_doc = reference();
        let ours = &ours_doc["paths"]["/client/v4/accounts/{account_id}/access/seats"]["patch"];
        let theirs = &theirs_doc["paths"]["/accounts/{account_id}/access/seats"]["patch"];

        for key in ["operationId", "summary", "description", "tags", "x-api-token-group"] {
            assert_eq!(ours[key], theirs[key], "{key}");
        }
        let security = |op: &Value| -> BTreeSet<String> {
            op["security"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    let mut names: Vec<_> = s.as_object().unwrap().keys().cloned().collect();
                    names.sort();
                    names.join("+")
                })
                .collect()
        };
        assert_eq!(security(ours), security(theirs));

        let param = |doc: &Value, op: &Value| {
            let p = &op["parameters"][0];
            json!({"name": p["name"], "in": p["in"], "required": p["required"], "schema": normalize(&p["schema"], doc)})
        };
        let (ours_param, theirs_param) = (param(&ours_doc, ours), param(&theirs_doc, theirs));
        assert_eq!(ours_param["name"], theirs_param["name"]);
        assert_eq!(ours_param["in"], theirs_param["in"]);
        assert_eq!(ours_param["required"], theirs_param["required"]);
        assert_eq!(ours_param["schema"]["type"], json!("string"));
        assert_eq!(
            ours["parameters"][0]["schema"]["maxLength"],
            json!(32),
            "Cloudflare documents maxLength 32"
        );

        let body =
            |doc: &Value, op: &Value| normalize(&op["requestBody"]["content"]["application/json"]["schema"], doc);
        // Cloudflare's array schema also lists `required` at the array level, which applies to
        // nothing; compare the items, where it matters.
        assert_eq!(body(&ours_doc, ours)["type"], json!("array"));
        assert_eq!(body(&ours_doc, ours)["items"], body(&theirs_doc, theirs)["items"]);
        assert_eq!(ours["requestBody"]["required"], theirs["requestBody"]["required"]);

        let ok =
            |doc: &Value, op: &Value| normalize(&op["responses"]["200"]["content"]["application/json"]["schema"], doc);
        let (ours_ok, theirs_ok) = (ok(&ours_doc, ours), ok(&theirs_doc, theirs));
        assert_eq!(
            ours_ok["properties"]["result"]["items"],
            theirs_ok["properties"]["result"]["items"]
        );
        assert_eq!(
            ours_ok["properties"]["result_info"]["properties"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            theirs_ok["properties"]["result_info"]["properties"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>()
        );
        assert_eq!(
            ours_ok["properties"]["errors"]["items"]["properties"]["code"]["type"],
            json!("integer")
        );
        assert_eq!(ours_ok["required"], theirs_ok["required"]);

        let fail =
            |doc: &Value, op: &Value| normalize(&op["responses"]["4XX"]["content"]["application/json"]["schema"], doc);
        assert_eq!(fail(&ours_doc, ours)["required"], fail(&theirs_doc, theirs)["required"]);
    })
    .await;
}

fn operations(doc: &Value) -> BTreeSet<String> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            ops.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    ops
}

const PUBLIC_OPERATIONS: &[&str] = &[
    "PATCH /client/v4/accounts/{account_id}/access/seats",
    "GET /client/v4/accounts/{account_id}/access/users",
    "POST /client/v4/accounts/{account_id}/access/users",
    "GET /client/v4/accounts/{account_id}/access/users/{user_id}",
    "PUT /client/v4/accounts/{account_id}/access/users/{user_id}",
    "DELETE /client/v4/accounts/{account_id}/access/users/{user_id}",
    "GET /client/v4/accounts/{account_id}/access/users/{user_id}/active_sessions",
    "GET /client/v4/accounts/{account_id}/access/users/{user_id}/failed_logins",
    "GET /client/v4/accounts/{account_id}/access/users/{user_id}/last_seen_identity",
    "GET /client/v4/accounts/{account_id}/access/organizations",
    "POST /client/v4/accounts/{account_id}/access/organizations",
    "PUT /client/v4/accounts/{account_id}/access/organizations",
    "POST /client/v4/accounts/{account_id}/access/organizations/revoke_user",
    "GET /client/v4/accounts/{account_id}/devices/registrations",
    "DELETE /client/v4/accounts/{account_id}/devices/registrations",
    "GET /client/v4/accounts/{account_id}/devices/registrations/{registration_id}",
    "DELETE /client/v4/accounts/{account_id}/devices/registrations/{registration_id}",
    "POST /client/v4/accounts/{account_id}/devices/registrations/revoke",
    "POST /client/v4/accounts/{account_id}/devices/registrations/unrevoke",
    "GET /client/v4/accounts/{account_id}/devices/physical-devices",
    "GET /client/v4/accounts/{account_id}/devices/physical-devices/{device_id}",
    "DELETE /client/v4/accounts/{account_id}/devices/physical-devices/{device_id}",
    "POST /client/v4/accounts/{account_id}/devices/physical-devices/{device_id}/revoke",
    "POST /client/v4/accounts/{account_id}/devices/revoke",
    "POST /client/v4/accounts/{account_id}/devices/unrevoke",
    "GET /client/v4/accounts/{account_id}/access/identity_providers",
    "POST /client/v4/accounts/{account_id}/access/identity_providers",
    "GET /client/v4/accounts/{account_id}/access/identity_providers/{identity_provider_id}",
    "PUT /client/v4/accounts/{account_id}/access/identity_providers/{identity_provider_id}",
    "DELETE /client/v4/accounts/{account_id}/access/identity_providers/{identity_provider_id}",
    "POST /client/v4/accounts/{account_id}/access/identity_providers/{identity_provider_id}/refresh_scim_secret",
    "GET /client/v4/accounts/{account_id}/access/identity_providers/{identity_provider_id}/scim/users",
    "GET /client/v4/accounts/{account_id}/access/identity_providers/{identity_provider_id}/scim/groups",
    "GET /client/v4/accounts",
    "GET /client/v4/user/tokens/verify",
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
    "GET /openapi.json",
];

const OPERATOR_OPERATIONS: &[&str] = &[
    "POST /_seats/v1/accounts",
    "GET /_seats/v1/accounts",
    "GET /_seats/v1/accounts/{account_id}",
    "PATCH /_seats/v1/accounts/{account_id}",
    "POST /_seats/v1/members",
    "GET /_seats/v1/members",
    "DELETE /_seats/v1/members/{email}",
    "POST /_seats/v1/tokens",
    "GET /_seats/v1/tokens",
    "PATCH /_seats/v1/tokens/{token_id}",
    "DELETE /_seats/v1/tokens/{token_id}",
    "POST /_seats/v1/accounts/{account_id}/logins",
    "POST /_seats/v1/accounts/{account_id}/expire-seats",
    "GET /_seats/v1/accounts/{account_id}/audit",
    "GET /_seats/v1/clock",
    "POST /_seats/v1/clock",
    "GET /_seats/v1/journal",
    "DELETE /_seats/v1/journal",
    "POST /_seats/v1/faults",
    "GET /_seats/v1/faults",
    "DELETE /_seats/v1/faults",
    "DELETE /_seats/v1/faults/{fault_id}",
    "POST /_seats/v1/reset",
    "POST /_seats/v1/snapshots",
    "GET /_seats/v1/snapshots",
    "POST /_seats/v1/snapshots/{name}/restore",
    "DELETE /_seats/v1/snapshots/{name}",
];

/// Every documented operation is routed: it answers something other than 404 7000 / 405 7001.
async fn assert_all_routed(app: &TestApp, ops: &BTreeSet<String>, bearer: &str) {
    for op in ops {
        let (method, path) = op.split_once(' ').unwrap();
        let path = path
            .replace("{account_id}", ACCOUNT)
            .replace("{user_id}", "00000000-0000-0000-0000-000000000000")
            .replace("{email}", "x@y.z")
            .replace("{token_id}", "t");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let token = if path.starts_with("/_seats") { bearer } else { TOKEN };
        let resp = app
            .request(method, &path)
            .bearer_auth(token)
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        // `/metrics` answers text; every other route the envelope.
        let body: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap_or(Value::Null);
        let routed = !(status == 405 || (status == 404 && body["errors"][0]["code"] == 7000));
        assert!(routed, "{op} -> {status} {body}");
    }
}

#[tokio::test]
async fn document_lists_exactly_the_served_routes() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let doc = served(&app).await;
        let expected: BTreeSet<String> = PUBLIC_OPERATIONS.iter().map(|s| s.to_string()).collect();
        assert_eq!(operations(&doc), expected);
        assert_all_routed(&app, &expected, "").await;
        assert_eq!(
            doc,
            serde_json::to_value(seats_server::routes::openapi::openapi(false)).unwrap(),
            "served as generated"
        );
        // Without an operator key the operator API is not served at all.
        let resp = app
            .request(Method::GET, "/_seats/v1/accounts")
            .bearer_auth("anything")
            .send()
            .await
            .unwrap();
        assert_error(resp, 404, &[(7000, "No route for that URI", None)]).await;
    })
    .await;
}

#[tokio::test]
async fn with_an_operator_key_the_operator_api_is_documented_and_served() {
    on_each_backend(|| async {
        let config = seats_server::ServerConfig {
            operator_key: Some(seats_store::secret::Secret::new("op-key").hash()),
            ..Default::default()
        };
        let app = TestApp::builder().seed(&test_seed()).config(config).start().await;
        let doc = served(&app).await;
        let expected: BTreeSet<String> = PUBLIC_OPERATIONS
            .iter()
            .chain(OPERATOR_OPERATIONS)
            .map(|s| s.to_string())
            .collect();
        assert_eq!(operations(&doc), expected);
        assert_all_routed(&app, &expected, "op-key").await;
    })
    .await;
}

/// Every Cloudflare operation we serve keeps Cloudflare's operation id, and the ones we do not
/// serve are the single-session routes (`{nonce}`), which docs/contract.md §6 leaves out.
#[tokio::test]
async fn cloudflare_operations_keep_their_ids() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let ours = served(&app).await;
        let theirs = reference();
        let mut skipped = Vec::new();
        for (path, item) in theirs["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let served_op = &ours["paths"][format!("/client/v4{path}")][method];
                if served_op.is_null() {
                    skipped.push(format!("{} {path}", method.to_uppercase()));
                    continue;
                }
                assert_eq!(served_op["operationId"], op["operationId"], "{method} {path}");
                assert_eq!(served_op["summary"], op["summary"], "{method} {path}");
            }
        }
        skipped.sort();
        assert!(skipped.iter().all(|s| s.contains("{nonce}")), "{skipped:?}");
    })
    .await;
}

/// Code generators need one operation per id; clients need the bounds the server enforces.
#[tokio::test]
async fn operation_ids_are_unique_bodies_documented_and_bounds_match_the_server() {
    let config = seats_server::ServerConfig {
        operator_key: Some(seats_store::secret::Secret::new("op-key").hash()),
        ..Default::default()
    };
    let app = TestApp::builder().seed(&test_seed()).config(config).start().await;
    let doc = served(&app).await;
    let mut ids = std::collections::BTreeMap::<String, Vec<String>>::new();
    let mut pages = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let at = format!("{method} {path}");
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{at} has no operationId"));
            ids.entry(id.to_owned()).or_default().push(at.clone());
            for param in op["parameters"].as_array().into_iter().flatten() {
                let bounds = (&param["schema"]["minimum"], &param["schema"]["maximum"]);
                match param["name"].as_str() {
                    Some("page") => {
                        pages += 1;
                        assert_eq!(bounds, (&json!(1), &json!(i64::MAX)), "page of {at}");
                    }
                    Some("per_page") => assert_eq!(bounds, (&json!(1), &json!(1000)), "per_page of {at}"),
                    _ => {}
                }
            }
        }
    }
    // Every write has its body documented, and the schema resolves.
    let mut bodies = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            // The sweep of expire-seats, a secret refresh, a reset and a restore read no body.
            if !["post", "put", "patch"].contains(&method.as_str())
                || path.ends_with("/expire-seats")
                || path.ends_with("/refresh_scim_secret")
                || path.ends_with("/registrations/revoke")
                || path.ends_with("/registrations/unrevoke")
                || path.ends_with("{device_id}/revoke")
                || path.ends_with("/reset")
                || path.ends_with("/restore")
            {
                continue;
            }
            let schema = &op["requestBody"]["content"]["application/json"]["schema"];
            assert!(schema.is_object(), "{method} {path} documents no request body");
            if let Some(name) = schema["$ref"]
                .as_str()
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                assert!(
                    doc["components"]["schemas"][name].is_object(),
                    "{method} {path}: {name} is not in the document"
                );
            }
            bodies += 1;
        }
    }
    assert_eq!(bodies, 19, "every write route");
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["NewAccountRequest"]["properties"]["name"]["maxLength"],
        json!(255)
    );
    assert_eq!(schemas["NewAccountRequest"]["required"], json!(["name"]));
    assert_eq!(
        schemas["AccountUpdateRequest"]["properties"]["seat_limit"]["maximum"],
        json!(i64::MAX)
    );
    assert_eq!(
        schemas["LoginRequestBody"]["properties"]["device_id"]["maxLength"],
        json!(128)
    );
    let repeated: Vec<_> = ids.iter().filter(|(_, at)| at.len() > 1).collect();
    assert!(repeated.is_empty(), "operationIds used more than once: {repeated:?}");
    assert_eq!(
        pages, 7,
        "users, accounts, operator accounts, audit, identity providers and their SCIM users and groups are paged"
    );
}

/// The whole document, operator API included, pinned: a change to any route, parameter,
/// body or response shape shows up in review as a change to this snapshot (the version in
/// `info` is left out, so a release does not move it).
#[tokio::test]
async fn the_document_is_pinned() {
    let config = seats_server::ServerConfig {
        operator_key: Some(seats_store::secret::Secret::new("op-key").hash()),
        ..Default::default()
    };
    let app = TestApp::builder().seed(&test_seed()).config(config).start().await;
    let doc = served(&app).await;
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    insta::assert_json_snapshot!("openapi_document", doc, {".info.version" => "[version]"});
}
