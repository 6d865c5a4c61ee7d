//! Checking and normalizing organization settings (docs/contract.md §7), for the API and seed files alike.

use std::time::Duration;

use serde_json::{Map, Value};

/// The shortest `user_seat_expiration_inactive_time` accepted: 730 hours, one month [CF].
pub const MIN_SEAT_EXPIRY: Duration = Duration::from_secs(730 * 3600);

const STRINGS: &[&str] = &[
    "name",
    "auth_domain",
    "session_duration",
    "warp_auth_session_duration",
    "ui_read_only_toggle_reason",
];
const BOOLS: &[&str] = &[
    "allow_authenticate_via_warp",
    "auto_redirect_to_identity",
    "is_ui_read_only",
];
const OBJECTS: &[&str] = &["login_design", "custom_pages"];
const EXPIRY: &str = "user_seat_expiration_inactive_time";

/// Fields that, once set, always hold a value: `null` is refused for them on update too.
const REQUIRED: &[&str] = &["name", "auth_domain"];

/// Checks the fields of Cloudflare's organization schema and keeps only those; the expiry
/// setting `null` or `""` becomes `null` (off). With `create`, `name` and `auth_domain` are
/// required; they are never `null`. Strings follow the text rule
/// ([`seats_types::formats::text_problem`], at most 255 characters) and `auth_domain` is a
/// host name. Problems come as `(JSON pointer, message)`.
pub fn normalize(fields: &Map<String, Value>, create: bool) -> Result<Map<String, Value>, Vec<(String, String)>> {
    let mut out = Map::new();
    let mut problems = Vec::new();
    if create {
        for name in REQUIRED {
            if fields.get(*name).is_none() {
                problems.push((format!("/{name}"), format!("{name} is required")));
            }
        }
    }
    for (key, value) in fields {
        let pointer = format!("/{key}");
        let ok = match key.as_str() {
            k if STRINGS.contains(&k) => match value {
                Value::String(text) => {
                    let problem = seats_types::formats::text_problem(k, text, seats_types::formats::MAX_NAME_CHARS)
                        .or_else(|| {
                            (k == "auth_domain" && !seats_types::formats::is_domain(text))
                                .then(|| format!("{k} must be a host name such as team.cloudflareaccess.com"))
                        });
                    if let Some(problem) = problem {
                        problems.push((pointer, problem));
                        continue;
                    }
                    true
                }
                Value::Null if REQUIRED.contains(&k) => {
                    problems.push((pointer, format!("{k} is required and cannot be null")));
                    continue;
                }
                Value::Null => !create,
                _ => false,
            },
            k if BOOLS.contains(&k) => value.is_boolean(),
            k if OBJECTS.contains(&k) => value.is_object(),
            EXPIRY => match value {
                Value::Null => true,
                Value::String(s) if s.is_empty() => true,
                Value::String(s) => match seats_types::parse_go_duration(s) {
                    Ok(d) if d >= MIN_SEAT_EXPIRY => true,
                    Ok(_) => {
                        problems.push((pointer.clone(), format!("{EXPIRY} must be at least 730h, got {s:?}")));
                        continue;
                    }
                    Err(e) => {
                        problems.push((pointer.clone(), format!("{EXPIRY}: {e}")));
                        continue;
                    }
                },
                _ => false,
            },
            // Not part of the schema: ignored, as unknown fields are everywhere.
            _ => continue,
        };
        if !ok {
            let kind = if STRINGS.contains(&key.as_str()) || key == EXPIRY {
                "a string"
            } else if BOOLS.contains(&key.as_str()) {
                "a boolean"
            } else {
                "an object"
            };
            problems.push((pointer, format!("{key} must be {kind}")));
            continue;
        }
        let value = match value {
            Value::String(s) if key == EXPIRY && s.is_empty() => Value::Null,
            v => v.clone(),
        };
        out.insert(key.clone(), value);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn expiry_reads_back_as_given_or_null() {
        let out = normalize(&map(json!({"user_seat_expiration_inactive_time": "43800m"})), false).unwrap();
        assert_eq!(out["user_seat_expiration_inactive_time"], "43800m");
        let out = normalize(&map(json!({"user_seat_expiration_inactive_time": ""})), false).unwrap();
        assert_eq!(out["user_seat_expiration_inactive_time"], Value::Null);
        let out = normalize(
            &map(json!({"user_seat_expiration_inactive_time": null, "unknown": 1})),
            false,
        )
        .unwrap();
        assert_eq!(out, map(json!({"user_seat_expiration_inactive_time": null})));
    }

    #[test]
    fn reports_every_problem() {
        let err = normalize(
            &map(json!({"user_seat_expiration_inactive_time": "729h59m", "is_ui_read_only": "yes", "login_design": 3})),
            true,
        )
        .unwrap_err();
        let pointers: Vec<&str> = err.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/name",
                "/auth_domain",
                "/is_ui_read_only",
                "/login_design",
                "/user_seat_expiration_inactive_time"
            ]
        );
        assert!(normalize(&map(json!({"user_seat_expiration_inactive_time": "1 month"})), false).is_err());
        assert!(normalize(&map(json!({"user_seat_expiration_inactive_time": 730})), false).is_err());
    }
}
