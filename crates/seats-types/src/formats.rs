//! The formats the API accepts for identifiers and credentials (SPEC §2, §3, §5).
//!
//! They are chosen to accept every real Cloudflare credential while refusing what cannot be one.

/// An account id: exactly 32 lowercase hex characters.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// An API token: 1–255 characters of `[A-Za-z0-9._~+/=-]`.
pub fn is_api_token(s: &str) -> bool {
    (1..=255).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._~+/=-".contains(&b))
}

/// A global API key: 32–64 ASCII letters and digits.
pub fn is_api_key(s: &str) -> bool {
    (32..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// An email as a credential or user address: one `@` with text on both sides, at most 255
/// characters, no whitespace or control characters.
pub fn is_email(s: &str) -> bool {
    let mut parts = s.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    s.len() <= 255 && !local.is_empty() && !domain.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A seat uid: 1–36 characters, no control characters.
pub fn seat_uid_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        Some("seat_uid must not be empty")
    } else if s.chars().count() > 36 {
        Some("seat_uid must be at most 36 characters")
    } else if s.chars().any(char::is_control) {
        Some("seat_uid must not contain control characters")
    } else {
        None
    }
}

/// Folds an email for comparison: ASCII case folding only, as Cloudflare compares them.
pub fn email_key(email: &str) -> String {
    email.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids() {
        assert!(is_account_id("699d98642c564d2e855e9661899b7252"));
        assert!(!is_account_id("699D98642C564D2E855E9661899B7252"));
        assert!(!is_account_id("699d98642c564d2e855e9661899b725"));
        assert!(!is_account_id("699d98642c564d2e855e9661899b7252a"));
        assert!(!is_account_id("g99d98642c564d2e855e9661899b7252"));
    }

    #[test]
    fn credentials() {
        assert!(is_api_token("Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY"));
        assert!(is_api_token("a.b_c~d+e/f=g-h"));
        assert!(!is_api_token(""));
        assert!(!is_api_token("has space"));
        assert!(!is_api_token(&"a".repeat(256)));
        assert!(is_api_key("144c9defac04969c7bfad8efaa8ea194"));
        assert!(!is_api_key("144c9defac04969c7bfad8efaa8ea19"));
        assert!(!is_api_key("144c9defac04969c7bfad8efaa8ea19-"));
        assert!(is_email("user@example.com"));
        assert!(!is_email("user.example.com"));
        assert!(!is_email("a@b@c"));
        assert!(!is_email("@example.com"));
        assert!(!is_email("user@"));
        assert!(!is_email("us er@example.com"));
    }

    #[test]
    fn seat_uids() {
        assert_eq!(seat_uid_problem("f174e90a-fafe-4643-bbbc-4a0ed4fc8415"), None);
        assert!(seat_uid_problem("").is_some());
        assert!(seat_uid_problem(&"x".repeat(37)).is_some());
        assert!(seat_uid_problem("a\u{7}b").is_some());
    }
}
