//! SCIM filters (RFC 7644 §3.4.2.2), the part identity providers send: equality tests joined
//! by `and`. Attribute names are case-insensitive. What the store cannot answer through an
//! index (`or`, `co`, `sw`, `pr`, ...) is refused with `invalidFilter` rather than scanned.
//!
//! Users: `userName`, `externalId`, `id`, `displayName`, `emails.value`,
//! `emails[type eq "work"].value` (any type) and `emails[value eq "..."]`.
//! Groups: `displayName`, `externalId`, `id`.
//!
//! Parsing goes one bracket deep at most: a bracket inside a bracket is refused
//! (`invalidFilter`), so the work is linear in the filter's length and the stack is flat.

use seats_store::identity_provider::{ScimGroupFilter, ScimUserFilter};

use super::error::ScimError;

/// One `attribute eq "value"` test.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Equals {
    /// The attribute path, lowercased, with a bracketed filter reduced to its attribute:
    /// `emails[type eq "work"].value` -> `emails.value`.
    path: String,
    value: String,
}

/// Splits `filter` into its `and`-joined equality tests.
fn parse(filter: &str) -> Result<Vec<Equals>, ScimError> {
    let mut tokens = Tokens {
        rest: filter.trim(),
        nested: false,
    };
    let mut tests = Vec::new();
    loop {
        tests.push(tokens.equals()?);
        if tokens.rest.is_empty() {
            return Ok(tests);
        }
        match tokens.word()?.to_ascii_lowercase().as_str() {
            "and" => {}
            other => {
                return Err(ScimError::invalid_filter(format!(
                    "unsupported operator {other:?} (only `and` joins tests)"
                )))
            }
        }
    }
}

struct Tokens<'a> {
    rest: &'a str,
    /// Inside a `[...]`: another bracket is refused. RFC 7644's grammar has no value filter
    /// within another (`valFilter` holds attribute expressions only), and refusing keeps the
    /// parse one level deep however deep a client nests them.
    nested: bool,
}

impl<'a> Tokens<'a> {
    /// The next run of non-space characters (a bracketed part counts as one run).
    fn word(&mut self) -> Result<&'a str, ScimError> {
        let s = self.rest.trim_start();
        let mut depth = 0;
        let mut end = s.len();
        let mut in_string = false;
        for (i, c) in s.char_indices() {
            match c {
                '"' => in_string = !in_string,
                '[' if !in_string => depth += 1,
                ']' if !in_string => depth -= 1,
                c if c.is_whitespace() && depth == 0 && !in_string => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        if end == 0 {
            return Err(ScimError::invalid_filter("the filter ends too early"));
        }
        self.rest = s[end..].trim_start();
        Ok(&s[..end])
    }

    /// A JSON string literal.
    fn string(&mut self) -> Result<String, ScimError> {
        let s = self.rest.trim_start();
        if !s.starts_with('"') {
            return Err(ScimError::invalid_filter("a comparison value must be a quoted string"));
        }
        let mut escaped = false;
        for (i, c) in s.char_indices().skip(1) {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    let value: String = serde_json::from_str(&s[..=i])
                        .map_err(|_| ScimError::invalid_filter("the comparison value is not a valid string"))?;
                    self.rest = s[i + 1..].trim_start();
                    return Ok(value);
                }
                _ => escaped = false,
            }
        }
        Err(ScimError::invalid_filter("the comparison value is not closed"))
    }

    fn equals(&mut self) -> Result<Equals, ScimError> {
        let attribute = self.word()?;
        if self.nested && attribute.contains('[') {
            return Err(ScimError::invalid_filter("a [...] filter cannot hold another [...]"));
        }
        let path = reduce(attribute)?;
        if let Some(value) = bracket_value(attribute)? {
            // `emails[value eq "x"]` is itself a complete test.
            return Ok(Equals { path, value });
        }
        let op = self.word()?;
        if !op.eq_ignore_ascii_case("eq") {
            return Err(ScimError::invalid_filter(format!(
                "unsupported operator {op:?} (only `eq`)"
            )));
        }
        Ok(Equals {
            path,
            value: self.string()?,
        })
    }
}

/// `emails[type eq "work"].value` -> `emails.value`; `emails[value eq "x"]` -> `emails.value`.
fn reduce(attribute: &str) -> Result<String, ScimError> {
    let lower = attribute.to_ascii_lowercase();
    let lower = lower
        .strip_prefix("urn:ietf:params:scim:schemas:core:2.0:user:")
        .or_else(|| lower.strip_prefix("urn:ietf:params:scim:schemas:core:2.0:group:"))
        .unwrap_or(&lower)
        .to_owned();
    match lower.split_once('[') {
        None => Ok(lower),
        Some((outer, rest)) => {
            let (inner, after) = rest
                .split_once(']')
                .ok_or_else(|| ScimError::invalid_filter("an unclosed `[`"))?;
            if after.is_empty() {
                // The bracket names the attribute compared: `emails[value eq "x"]`.
                let inner_attr = inner.split_whitespace().next().unwrap_or_default();
                return Ok(format!("{outer}.{inner_attr}"));
            }
            Ok(format!("{outer}{after}"))
        }
    }
}

/// The value of `attr[sub eq "value"]` when the bracket ends the attribute.
fn bracket_value(attribute: &str) -> Result<Option<String>, ScimError> {
    let Some((_, rest)) = attribute.split_once('[') else {
        return Ok(None);
    };
    let Some(inner) = rest.strip_suffix(']') else {
        return Ok(None);
    };
    let mut tokens = Tokens {
        rest: inner,
        nested: true,
    };
    let test = tokens.equals()?;
    if test.path == "type" {
        // `emails[type eq "work"]` alone names no value to compare.
        return Err(ScimError::invalid_filter(
            "compare a value: emails[type eq \"work\"].value eq \"...\"",
        ));
    }
    Ok(Some(test.value))
}

fn once(slot: &mut Option<String>, value: String, what: &str) -> Result<(), ScimError> {
    match slot {
        Some(existing) if *existing != value => Err(ScimError::invalid_filter(format!(
            "two different {what} values match nothing"
        ))),
        _ => {
            *slot = Some(value);
            Ok(())
        }
    }
}

/// A user filter from the `filter` query parameter.
pub fn users(filter: &str) -> Result<ScimUserFilter, ScimError> {
    let mut out = ScimUserFilter::default();
    for test in parse(filter)? {
        match test.path.as_str() {
            "username" => once(&mut out.user_name, test.value, "userName")?,
            "externalid" => out.external_ids.push(test.value),
            "id" => out.ids.push(test.value),
            "displayname" => once(&mut out.display_name, test.value, "displayName")?,
            "emails.value" | "emails" => once(&mut out.email, test.value, "email")?,
            other => {
                return Err(ScimError::invalid_filter(format!(
                    "filtering on {other:?} is not supported (userName, externalId, id, displayName, emails.value)"
                )))
            }
        }
    }
    if out.external_ids.len() > 1 || out.ids.len() > 1 {
        return Err(ScimError::invalid_filter("at most one externalId and one id test"));
    }
    Ok(out)
}

/// A group filter from the `filter` query parameter.
pub fn groups(filter: &str) -> Result<ScimGroupFilter, ScimError> {
    let mut out = ScimGroupFilter::default();
    for test in parse(filter)? {
        match test.path.as_str() {
            "displayname" => once(&mut out.display_name, test.value, "displayName")?,
            "externalid" => out.external_ids.push(test.value),
            "id" => out.ids.push(test.value),
            other => {
                return Err(ScimError::invalid_filter(format!(
                    "filtering on {other:?} is not supported (displayName, externalId, id)"
                )))
            }
        }
    }
    if out.external_ids.len() > 1 || out.ids.len() > 1 {
        return Err(ScimError::invalid_filter("at most one externalId and one id test"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filters_identity_providers_send() {
        let f = users(r#"userName eq "Ada@Example.com""#).unwrap();
        assert_eq!(f.user_name.as_deref(), Some("Ada@Example.com"));
        let f = users(r#"externalId eq "00u1""#).unwrap();
        assert_eq!(f.external_ids, vec!["00u1"]);
        let f = users(r#"emails[type eq "work"].value eq "ada@example.com""#).unwrap();
        assert_eq!(f.email.as_deref(), Some("ada@example.com"));
        let f = users(r#"emails[value eq "ada@example.com"]"#).unwrap();
        assert_eq!(f.email.as_deref(), Some("ada@example.com"));
        let f = users(r#"USERNAME EQ "a" and externalId eq "b\"c""#).unwrap();
        assert_eq!(
            (f.user_name.as_deref(), f.external_ids),
            (Some("a"), vec!["b\"c".to_owned()])
        );
        let f = users(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x""#).unwrap();
        assert_eq!(f.user_name.as_deref(), Some("x"));
        let g = groups(r#"displayName eq "Engineering Team""#).unwrap();
        assert_eq!(g.display_name.as_deref(), Some("Engineering Team"));
    }

    #[test]
    fn brackets_nested_deeper_than_the_stack_allows_are_refused_not_followed() {
        // 100,000 levels: far past what recursion would survive on a 2 MiB worker stack.
        let depth = 100_000;
        let filter = format!("{}userName eq \"x\"{}", "a[".repeat(depth), "]".repeat(depth));
        let e = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || users(&filter).unwrap_err())
            .unwrap()
            .join()
            .expect("parsing a deep filter must not overflow a small stack");
        assert_eq!(e.scim_type, Some("invalidFilter"));
        assert_eq!(e.detail, "a [...] filter cannot hold another [...]");
    }

    #[test]
    fn what_is_not_supported_is_invalid_filter() {
        for filter in [
            r#"userName co "a""#,
            r#"userName eq "a" or userName eq "b""#,
            r#"title eq "x""#,
            r#"userName eq a"#,
            r#"userName eq "a"#,
            "userName",
            r#"emails[type eq "work"]"#,
            r#"userName eq "a" and userName eq "b""#,
            r#"emails[value eq "a"[value eq "b"]]"#,
        ] {
            let e = users(filter).unwrap_err();
            assert_eq!(e.scim_type, Some("invalidFilter"), "{filter}");
            assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST, "{filter}");
        }
    }
}
