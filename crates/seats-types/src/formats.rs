//! The formats the API accepts for identifiers and credentials (docs/contract.md §2, §3, §5).
//!
//! They are chosen to accept every real Cloudflare credential while refusing what cannot be one.

/// The API token of `seats serve --demo` (and of Cloudflare's documentation examples).
pub const DEMO_API_TOKEN: &str = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY";
/// The global API key of the demo member `user@example.com`.
pub const DEMO_API_KEY: &str = "144c9defac04969c7bfad8efaa8ea194";

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

/// An email, as a credential or a user's address [ours, after RFC 5321 and RFC 6531]:
/// `local@domain`, at most 254 characters in all.
/// * the local part: 1–64 characters, a dot-atom — runs of ASCII letters, digits and
///   ``!#$%&'*+/=?^_`{|}~-`` (or non-ASCII letters) separated by single dots, with no dot
///   first or last; quoted local parts are not accepted;
/// * the domain: at most 253 characters of labels separated by single dots, each label 1–63
///   ASCII letters, digits and hyphens (or non-ASCII letters) that neither starts nor ends
///   with a hyphen; address literals (`[192.0.2.1]`) are not accepted.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    s.len() <= 254 && is_dot_atom(local) && is_domain(domain)
}

fn is_international(c: char) -> bool {
    !c.is_ascii() && !c.is_whitespace() && !c.is_control()
}

fn is_dot_atom(local: &str) -> bool {
    (1..=64).contains(&local.chars().count())
        && local.split('.').all(|atom| {
            !atom.is_empty()
                && atom
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c) || is_international(c))
        })
}

/// A host name: labels of letters, digits and hyphens (see [`is_email`]).
pub fn is_domain(domain: &str) -> bool {
    (1..=253).contains(&domain.len())
        && domain.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || is_international(c))
        })
}

/// Longest name of a user, an account, an organization or a token, in characters [ours].
pub const MAX_NAME_CHARS: usize = 255;
/// Longest device id, in characters [ours].
pub const MAX_DEVICE_ID_CHARS: usize = 128;

/// The one rule for free text (names, device ids) [ours]: at most `max` characters, none a
/// control character (NUL, tab, CR, LF, DEL and the C1 range). Says what is wrong, naming
/// `field`.
pub fn text_problem(field: &str, s: &str, max: usize) -> Option<String> {
    if s.chars().count() > max {
        Some(format!("{field} must be at most {max} characters"))
    } else if s.chars().any(char::is_control) {
        Some(format!("{field} must not contain control characters"))
    } else {
        None
    }
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
    fn emails_follow_dot_atoms_and_host_names() {
        for good in [
            "user@example.com",
            "first.last+tag@sub.example.co.uk",
            "o'brien@example.ie",
            "x@localhost",
            "jörg@bücher.example",
            "a_b-c!#$%&*/=?^`{|}~@e-x.example",
        ] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "<a@example.com>",
            "a@example..com",
            "a@-example.com",
            "a@example-.com",
            "a@.example.com",
            "a@example.com.",
            ".a@example.com",
            "a.@example.com",
            "a..b@example.com",
            "\"quoted\"@example.com",
            "a@[192.0.2.1]",
            "a\u{0}b@example.com",
            "a@exa mple.com",
            "a@exa_mple.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
        let local = "l".repeat(64);
        assert!(is_email(&format!("{local}@example.com")));
        assert!(!is_email(&format!("{local}l@example.com")));
        let label = "d".repeat(63);
        assert!(is_email(&format!("a@{label}.com")));
        assert!(!is_email(&format!("a@{label}d.com")));
        // 254 in all, not one more.
        let domain = format!(
            "{}.{}.{}.{}",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(59)
        );
        assert_eq!(format!("{local}@{domain}").len(), 64 + 1 + 251);
        assert!(!is_email(&format!("{local}@{domain}")));
        let domain = format!(
            "{}.{}.{}.{}",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61)
        );
        assert!(!is_domain(&format!("{domain}.e")));
        assert!(is_email(&format!("{}@{}", "l".repeat(64 - 2), &domain[..254 - 63])));
    }

    #[test]
    fn text_is_bounded_and_has_no_control_characters() {
        assert_eq!(text_problem("name", &"é".repeat(255), 255), None);
        assert_eq!(
            text_problem("name", &"é".repeat(256), 255).as_deref(),
            Some("name must be at most 255 characters")
        );
        for bad in ["a\u{0}b", "a\nb", "a\tb", "a\u{7f}b", "a\u{85}b"] {
            assert_eq!(
                text_problem("name", bad, 255).as_deref(),
                Some("name must not contain control characters"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn seat_uids() {
        assert_eq!(seat_uid_problem("f174e90a-fafe-4643-bbbc-4a0ed4fc8415"), None);
        assert!(seat_uid_problem("").is_some());
        assert!(seat_uid_problem(&"x".repeat(37)).is_some());
        assert!(seat_uid_problem("a\u{7}b").is_some());
    }
}
