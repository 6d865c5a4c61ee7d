//! SCIM PATCH (RFC 7644 §3.5.2) applied to a resource held as JSON. The handler re-checks the
//! result as a PUT would, so a PATCH can never store what a PUT would refuse.
//!
//! Paths: `attr`, `attr.sub`, `attr[sub eq "v"]`, `attr[sub eq "v"].sub`, each optionally
//! prefixed by a schema URN (extension attributes live under their URN, as in RFC 7643 §3.3).
//! Attribute names match case-insensitively. The path-less form merges an object, whose keys
//! may themselves be paths (`"name.givenName"`), as Microsoft Entra ID sends them. `op` is
//! case-insensitive (Entra sends `Replace`). Two leniencies identity providers rely on: an
//! `add` or `replace` through a filter that matches nothing adds a matching element (Entra's
//! `emails[type eq "work"].value`), and a `remove` of `members` with a value removes just the
//! members listed (Okta, Entra).

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::error::ScimError;

/// Most operations in one PatchOp body. Identity providers send a handful; Entra and Okta
/// batch group membership changes in far fewer.
pub const MAX_OPERATIONS: usize = 1000;
/// Most elements one operation's `value` array may carry.
pub const MAX_VALUES_PER_OPERATION: usize = 1000;

/// Most elements of multi-valued attributes one PATCH may visit in all (each operation on an
/// array visits its elements, and its own values): ten operations over a group of 100,000
/// members. Without it, 1000 operations each adding to a growing array cost their square.
pub const MAX_ELEMENTS_VISITED: usize = 1_000_000;

/// What is left of a PATCH's [`MAX_ELEMENTS_VISITED`].
struct Work {
    left: usize,
}

impl Work {
    fn charge(&mut self, elements: usize) -> Result<(), ScimError> {
        self.left = self.left.checked_sub(elements).ok_or_else(|| {
            ScimError::invalid_value(format!(
                "this PATCH would visit more than {MAX_ELEMENTS_VISITED} elements of multi-valued \
                 attributes; send it as several smaller PATCH requests"
            ))
        })?;
        Ok(())
    }
}

pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const CORE_PREFIXES: &[&str] = &[
    "urn:ietf:params:scim:schemas:core:2.0:user:",
    "urn:ietf:params:scim:schemas:core:2.0:group:",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Path {
    /// Extension schema URN the attribute lives under, if any.
    urn: Option<String>,
    attr: String,
    /// `[sub eq "value"]`.
    filter: Option<(String, String)>,
    sub: Option<String>,
}

/// One operation of a PatchOp body, as sent.
pub struct Operation {
    op: String,
    path: Option<String>,
    value: Option<Value>,
}

/// The operations of a PatchOp body, checked for shape.
pub fn operations(body: &Value) -> Result<Vec<Operation>, ScimError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("the body must be a PatchOp object"))?;
    let schemas = obj.get("schemas").and_then(Value::as_array);
    if !schemas.is_some_and(|s| s.iter().any(|v| v.as_str() == Some(PATCH_SCHEMA))) {
        return Err(ScimError::invalid_syntax(format!("schemas must list {PATCH_SCHEMA}")));
    }
    let ops = find(obj, "Operations")
        .and_then(|k| obj.get(&k))
        .and_then(Value::as_array)
        .filter(|ops| !ops.is_empty())
        .ok_or_else(|| ScimError::invalid_syntax("Operations must be a non-empty array"))?;
    if ops.len() > MAX_OPERATIONS {
        return Err(ScimError::invalid_value(format!(
            "at most {MAX_OPERATIONS} operations in one PATCH ({} sent)",
            ops.len()
        )));
    }
    ops.iter()
        .map(|op| {
            let op = op
                .as_object()
                .ok_or_else(|| ScimError::invalid_syntax("each operation must be an object"))?;
            let name = op
                .get("op")
                .and_then(Value::as_str)
                .ok_or_else(|| ScimError::invalid_syntax("each operation needs an op"))?;
            let path = match op.get("path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) => Some(p.clone()),
                Some(_) => return Err(ScimError::invalid_path("path must be a string")),
            };
            if let Some(Value::Array(values)) = op.get("value") {
                if values.len() > MAX_VALUES_PER_OPERATION {
                    return Err(ScimError::invalid_value(format!(
                        "at most {MAX_VALUES_PER_OPERATION} values in one operation ({} sent)",
                        values.len()
                    )));
                }
            }
            Ok(Operation {
                op: name.to_owned(),
                path,
                value: op.get("value").cloned(),
            })
        })
        .collect()
}

/// Applies every operation of `body` to `resource`, in order.
pub fn apply(resource: &mut Map<String, Value>, body: &Value) -> Result<(), ScimError> {
    let work = &mut Work {
        left: MAX_ELEMENTS_VISITED,
    };
    for Operation { op, path, value } in operations(body)? {
        let op = match op.to_ascii_lowercase().as_str() {
            "add" => Op::Add,
            "replace" => Op::Replace,
            "remove" => Op::Remove,
            other => return Err(ScimError::invalid_syntax(format!("unknown op {other:?}"))),
        };
        match (op, path) {
            (Op::Remove, None) => return Err(ScimError::no_target("remove needs a path")),
            (_, None) => {
                let Some(Value::Object(fields)) = value else {
                    return Err(ScimError::invalid_value(
                        "an operation without a path needs an object value",
                    ));
                };
                for (key, value) in fields {
                    let path = parse_path(&key)?;
                    set(resource, &path, value, op, work)?;
                }
            }
            (Op::Remove, Some(path)) => remove(resource, &parse_path(&path)?, value, work)?,
            (_, Some(path)) => {
                let value = value.ok_or_else(|| ScimError::invalid_value(format!("{path}: value is required")))?;
                set(resource, &parse_path(&path)?, value, op, work)?;
            }
        }
    }
    Ok(())
}

/// The key of `map` equal to `name` ignoring ASCII case.
pub fn find(map: &Map<String, Value>, name: &str) -> Option<String> {
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

fn parse_path(raw: &str) -> Result<Path, ScimError> {
    let bad = || ScimError::invalid_path(format!("unsupported path {raw:?}"));
    let lower = raw.to_ascii_lowercase();
    let mut rest = raw;
    let mut urn = None;
    if let Some(prefix) = CORE_PREFIXES.iter().find(|p| lower.starts_with(*p)) {
        rest = &raw[prefix.len()..];
    } else if lower.starts_with("urn:") {
        // An extension: the URN runs up to the last ':' before the attribute. URNs end in a
        // version and a resource name (`...:2.0:User`): a path ending there is the whole
        // extension, an attribute of the resource named by its URN.
        let cut = raw.find('[').unwrap_or(raw.len());
        let colon = raw[..cut].rfind(':').ok_or_else(bad)?;
        let head = &raw[..colon];
        if head.rsplit(':').next().is_some_and(|segment| segment.contains('.')) {
            return Ok(Path {
                urn: None,
                attr: raw.to_owned(),
                filter: None,
                sub: None,
            });
        }
        urn = Some(head.to_owned());
        rest = &raw[colon + 1..];
    }
    let (head, filter, tail) = match rest.split_once('[') {
        Some((head, after)) => {
            let (inner, tail) = after.split_once(']').ok_or_else(bad)?;
            (
                head,
                Some(bracket(inner).ok_or_else(bad)?),
                tail.strip_prefix('.').map(str::to_owned),
            )
        }
        None => match rest.split_once('.') {
            Some((head, sub)) => (head, None, Some(sub.to_owned())),
            None => (rest, None, None),
        },
    };
    if head.is_empty() || tail.as_deref().is_some_and(|t| t.is_empty() || t.contains('.')) {
        return Err(bad());
    }
    Ok(Path {
        urn,
        attr: head.to_owned(),
        filter,
        sub: tail,
    })
}

/// `sub eq "value"` inside brackets.
fn bracket(inner: &str) -> Option<(String, String)> {
    let inner = inner.trim();
    let (sub, rest) = inner.split_once(char::is_whitespace)?;
    let (op, value) = rest.trim_start().split_once(char::is_whitespace)?;
    if !op.eq_ignore_ascii_case("eq") {
        return None;
    }
    let value = match serde_json::from_str::<Value>(value.trim()).ok()? {
        Value::String(s) => s,
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    Some((sub.to_owned(), value))
}

/// The object an attribute lives in: the resource, or its extension's object.
fn container<'a>(resource: &'a mut Map<String, Value>, path: &Path) -> Result<&'a mut Map<String, Value>, ScimError> {
    let Some(urn) = &path.urn else { return Ok(resource) };
    let key = find(resource, urn).unwrap_or_else(|| urn.clone());
    let slot = resource.entry(key).or_insert_with(|| Value::Object(Map::new()));
    slot.as_object_mut()
        .ok_or_else(|| ScimError::invalid_path(format!("{urn} is not an object")))
}

fn matches(element: &Value, (sub, value): &(String, String)) -> bool {
    let Some(obj) = element.as_object() else { return false };
    find(obj, sub).and_then(|k| obj.get(&k)).is_some_and(|v| match v {
        Value::String(s) => s.eq_ignore_ascii_case(value),
        Value::Bool(b) => b.to_string() == *value,
        _ => false,
    })
}

/// What makes two elements of a multi-valued attribute the same: their `value`s when both
/// have one, else the whole elements. Compared through a hash set, so adding or removing `n`
/// elements against `m` costs `O(n + m)`, not `O(n × m)`.
#[derive(PartialEq, Eq, Hash)]
enum Identity {
    Value(String),
    Whole(String),
}

fn identity(element: &Value) -> Identity {
    match element.get("value") {
        Some(v) => Identity::Value(v.to_string()),
        None => Identity::Whole(element.to_string()),
    }
}

/// Appends the elements of `new` that `items` does not hold yet (nor `new` earlier).
fn add_missing(items: &mut Vec<Value>, new: Vec<Value>, work: &mut Work) -> Result<(), ScimError> {
    work.charge(items.len() + new.len())?;
    let mut seen: HashSet<Identity> = items.iter().map(identity).collect();
    for v in new {
        if seen.insert(identity(&v)) {
            items.push(v);
        }
    }
    Ok(())
}

fn set(resource: &mut Map<String, Value>, path: &Path, value: Value, op: Op, work: &mut Work) -> Result<(), ScimError> {
    let target = container(resource, path)?;
    let key = find(target, &path.attr).unwrap_or_else(|| path.attr.clone());
    match (&path.filter, &path.sub) {
        (None, None) => {
            let existing = target.get_mut(&key);
            match (op, existing, value) {
                (Op::Add, Some(Value::Array(items)), Value::Array(new)) => add_missing(items, new, work)?,
                (Op::Add, Some(Value::Array(items)), v) => add_missing(items, vec![v], work)?,
                (Op::Add, Some(Value::Object(obj)), Value::Object(new)) => obj.extend(new),
                (_, _, v) => {
                    target.insert(key, v);
                }
            }
        }
        (None, Some(sub)) => {
            let slot = target.entry(key.clone()).or_insert_with(|| Value::Object(Map::new()));
            let obj = slot
                .as_object_mut()
                .ok_or_else(|| ScimError::invalid_path(format!("{key} is not a complex attribute")))?;
            let sub_key = find(obj, sub).unwrap_or_else(|| sub.clone());
            obj.insert(sub_key, value);
        }
        (Some(filter), sub) => {
            let slot = target.entry(key.clone()).or_insert_with(|| Value::Array(Vec::new()));
            let items = slot
                .as_array_mut()
                .ok_or_else(|| ScimError::invalid_path(format!("{key} is not multi-valued")))?;
            work.charge(items.len())?;
            let mut hit = false;
            for item in items.iter_mut().filter(|i| matches(i, filter)) {
                hit = true;
                match (sub, item.as_object_mut()) {
                    (Some(sub), Some(obj)) => {
                        let sub_key = find(obj, sub).unwrap_or_else(|| sub.clone());
                        obj.insert(sub_key, value.clone());
                    }
                    (None, _) => *item = value.clone(),
                    (Some(_), None) => {}
                }
            }
            if !hit {
                let mut element = Map::new();
                element.insert(filter.0.clone(), Value::String(filter.1.clone()));
                match (sub, value) {
                    (Some(sub), value) => {
                        element.insert(sub.clone(), value);
                    }
                    (None, Value::Object(fields)) => element.extend(fields),
                    (None, _) => return Err(ScimError::invalid_value(format!("{key}: the value must be an object"))),
                }
                items.push(Value::Object(element));
            }
        }
    }
    Ok(())
}

fn remove(
    resource: &mut Map<String, Value>,
    path: &Path,
    value: Option<Value>,
    work: &mut Work,
) -> Result<(), ScimError> {
    let target = container(resource, path)?;
    let Some(key) = find(target, &path.attr) else {
        return Ok(()); // Removing what is not there leaves the resource as it is.
    };
    match (&path.filter, &path.sub) {
        (None, None) => match (target.get_mut(&key), value) {
            (Some(Value::Array(items)), Some(Value::Array(listed))) => {
                work.charge(items.len() + listed.len())?;
                let listed: HashSet<Identity> = listed.iter().map(identity).collect();
                items.retain(|i| !listed.contains(&identity(i)));
            }
            _ => {
                target.remove(&key);
            }
        },
        (None, Some(sub)) => {
            if let Some(obj) = target.get_mut(&key).and_then(Value::as_object_mut) {
                if let Some(sub_key) = find(obj, sub) {
                    obj.remove(&sub_key);
                }
            }
        }
        (Some(filter), sub) => {
            if let Some(items) = target.get_mut(&key).and_then(Value::as_array_mut) {
                work.charge(items.len())?;
                match sub {
                    None => items.retain(|i| !matches(i, filter)),
                    Some(sub) => {
                        for obj in items
                            .iter_mut()
                            .filter(|i| matches(i, filter))
                            .filter_map(Value::as_object_mut)
                        {
                            if let Some(sub_key) = find(obj, sub) {
                                obj.remove(&sub_key);
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn patch(resource: Value, ops: Value) -> Result<Value, ScimError> {
        let mut resource = resource.as_object().unwrap().clone();
        apply(&mut resource, &json!({"schemas": [PATCH_SCHEMA], "Operations": ops}))?;
        Ok(Value::Object(resource))
    }

    #[test]
    fn okta_deactivates_with_a_path_less_replace() {
        let out = patch(
            json!({"userName": "a", "active": true}),
            json!([{"op": "replace", "value": {"active": false}}]),
        )
        .unwrap();
        assert_eq!(out, json!({"userName": "a", "active": false}));
    }

    #[test]
    fn entra_sends_capitalised_ops_dotted_keys_and_filtered_paths() {
        let user =
            json!({"userName": "a", "name": {"givenName": "A"}, "emails": [{"type": "work", "value": "a@x.com"}]});
        let out = patch(
            user,
            json!([
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "b@x.com"},
                {"op": "Add", "value": {"name.familyName": "Byron", "displayName": "Ada"}},
                {"op": "Replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1"},
                {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "R&D"},
            ]),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"userName": "a", "name": {"givenName": "A", "familyName": "Byron"}, "displayName": "Ada",
                   "emails": [{"type": "work", "value": "b@x.com"}],
                   "phoneNumbers": [{"type": "mobile", "value": "+1"}],
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"}})
        );
    }

    #[test]
    fn a_whole_extension_is_added_replaced_and_removed_by_its_urn() {
        const EXT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let out = patch(
            json!({"userName": "a"}),
            json!([{"op": "add", "path": EXT, "value": {"department": "R&D"}},
                   {"op": "add", "path": EXT, "value": {"division": "X"}}]),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"userName": "a", EXT: {"department": "R&D", "division": "X"}})
        );
        let out = patch(
            out,
            json!([{"op": "replace", "path": EXT, "value": {"costCenter": "9"}}]),
        )
        .unwrap();
        assert_eq!(out, json!({"userName": "a", EXT: {"costCenter": "9"}}));
        let out = patch(out, json!([{"op": "remove", "path": EXT}])).unwrap();
        assert_eq!(out, json!({"userName": "a"}));
    }

    #[test]
    fn members_are_added_and_removed_by_value() {
        let group = json!({"displayName": "g", "members": [{"value": "1"}, {"value": "2"}]});
        let out = patch(
            group,
            json!([
                {"op": "add", "path": "members", "value": [{"value": "3"}, {"value": "1"}]},
                {"op": "remove", "path": "members[value eq \"2\"]"},
                {"op": "remove", "path": "members", "value": [{"value": "3"}]},
            ]),
        )
        .unwrap();
        assert_eq!(out, json!({"displayName": "g", "members": [{"value": "1"}]}));
        let out = patch(out, json!([{"op": "remove", "path": "members"}])).unwrap();
        assert_eq!(out, json!({"displayName": "g"}));
    }

    #[test]
    fn duplicates_are_dropped_whatever_the_order_and_the_identity() {
        let out = patch(
            json!({"userName": "a", "emails": [{"value": "a@x.com", "type": "work"}], "tags": ["x"]}),
            json!([
                {"op": "add", "path": "emails", "value": [{"value": "a@x.com"}, {"value": "b@x.com"}, {"value": "b@x.com"}]},
                {"op": "add", "path": "tags", "value": ["x", "y", "y"]},
                {"op": "add", "path": "tags", "value": "z"},
            ]),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"userName": "a", "emails": [{"value": "a@x.com", "type": "work"}, {"value": "b@x.com"}],
                   "tags": ["x", "y", "z"]})
        );
    }

    #[test]
    fn operations_and_their_values_are_capped() {
        let many: Vec<Value> = (0..=MAX_VALUES_PER_OPERATION)
            .map(|i| json!({"value": i.to_string()}))
            .collect();
        let e = patch(
            json!({"userName": "a"}),
            json!([{"op": "add", "path": "emails", "value": many}]),
        )
        .unwrap_err();
        assert_eq!(
            (e.status, e.scim_type, e.detail.as_str()),
            (
                axum::http::StatusCode::BAD_REQUEST,
                Some("invalidValue"),
                "at most 1000 values in one operation (1001 sent)"
            )
        );
        let ops: Vec<Value> = (0..=MAX_OPERATIONS)
            .map(|_| json!({"op": "add", "path": "title", "value": "x"}))
            .collect();
        let e = patch(json!({"userName": "a"}), Value::Array(ops)).unwrap_err();
        assert_eq!(
            (e.scim_type, e.detail.as_str()),
            (Some("invalidValue"), "at most 1000 operations in one PATCH (1001 sent)")
        );
    }

    #[test]
    fn a_patch_visits_a_bounded_number_of_elements() {
        // Operations of 1000 distinct members each: the array grows, and each operation visits
        // all of it; the 45th passes the budget.
        let ops: Vec<Value> = (0..50)
            .map(|op| {
                let values: Vec<Value> = (0..MAX_VALUES_PER_OPERATION)
                    .map(|i| json!({"value": format!("{op}-{i}")}))
                    .collect();
                json!({"op": "add", "path": "members", "value": values})
            })
            .collect();
        let e = patch(json!({"displayName": "g", "members": []}), Value::Array(ops)).unwrap_err();
        assert_eq!(
            (e.status, e.scim_type, e.detail.as_str()),
            (
                axum::http::StatusCode::BAD_REQUEST,
                Some("invalidValue"),
                "this PATCH would visit more than 1000000 elements of multi-valued attributes; \
                 send it as several smaller PATCH requests"
            )
        );
        // Under the budget, the same kind of PATCH applies.
        let ops: Vec<Value> = (0..10)
            .map(|op| json!({"op": "add", "path": "members", "value": [{"value": format!("m{op}")}]}))
            .collect();
        let group = patch(json!({"displayName": "g", "members": []}), Value::Array(ops)).unwrap();
        assert_eq!(group["members"].as_array().unwrap().len(), 10);
    }

    #[test]
    fn bad_operations_say_why() {
        let cases = [
            (json!([{"op": "remove"}]), "noTarget"),
            (json!([{"op": "move", "path": "a", "value": 1}]), "invalidSyntax"),
            (
                json!([{"op": "replace", "path": "emails[type ne \"x\"].value", "value": "v"}]),
                "invalidPath",
            ),
            (json!([{"op": "replace", "value": 3}]), "invalidValue"),
            (json!([{"op": "add", "path": "userName"}]), "invalidValue"),
            (json!([]), "invalidSyntax"),
        ];
        for (ops, scim_type) in cases {
            let e = patch(json!({"userName": "a"}), ops.clone()).unwrap_err();
            assert_eq!(e.scim_type, Some(scim_type), "{ops}");
        }
        let mut r = Map::new();
        let e = apply(&mut r, &json!({"Operations": [{"op": "add", "path": "a", "value": 1}]})).unwrap_err();
        assert_eq!(e.scim_type, Some("invalidSyntax"));
    }
}
