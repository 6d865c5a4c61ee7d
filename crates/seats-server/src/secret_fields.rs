//! Which JSON fields hold secrets: one list for every place that must neither keep nor show
//! them, the journal's copies of bodies ([`crate::toolkit::journal`]) and an identity
//! provider's `config` ([`crate::routes::identity_providers`]), which never stores such a
//! field and returns it masked, as Cloudflare does `client_secret`.
//!
//! A field is secret when its name, lowercased with `_` and `-` dropped, contains one of
//! [`SECRET_WORDS`], or is `key` or `token`, or ends in `_key` (`private_key`,
//! `signing_key`; a `public_key` too: redacting one is cheaper than guessing which are safe).
//! Names that only mention a token (`token_url`) are not secret.

use serde_json::Value;

/// Words that make a field secret wherever they appear in its folded name.
pub const SECRET_WORDS: &[&str] = &[
    "secret",
    "password",
    "passwd",
    "credential",
    "privatekey",
    "signingkey",
    "apikey",
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "bearer",
    "authorization",
];

/// What a secret reads back as in the journal.
pub const REDACTED: &str = "[redacted]";

pub fn is_secret_field(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let folded: String = lower.chars().filter(|c| !matches!(c, '_' | '-')).collect();
    SECRET_WORDS.iter().any(|word| folded.contains(word))
        || matches!(folded.as_str(), "key" | "token")
        || lower.ends_with("_key")
}

/// `value` with every secret field's value (not `null`) replaced by [`REDACTED`], at any
/// depth.
pub fn redact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = if is_secret_field(&k) && !v.is_null() {
                        Value::from(REDACTED)
                    } else {
                        redact(v)
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_fields_are_known_by_any_spelling() {
        for secret in [
            "client_secret",
            "private_key",
            "signing_key",
            "access_token",
            "refresh_token",
            "id_token",
            "apiKey",
            "api_key",
            "API-KEY",
            "bearer",
            "bearer_token",
            "credentials",
            "password",
            "secret",
            "key",
            "token",
            "Authorization",
        ] {
            assert!(is_secret_field(secret), "{secret}");
        }
        for plain in [
            "client_id",
            "token_url",
            "okta_account",
            "idp_public_certs",
            "issuer_url",
            "email_claim_name",
            "name",
            "keys_url",
        ] {
            assert!(!is_secret_field(plain), "{plain}");
        }
    }
}
