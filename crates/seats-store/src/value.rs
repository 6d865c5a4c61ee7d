//! A value bound to a statement written once for both backends ([`crate::listing`],
//! [`crate::export::writes`]). Each backend binds it as its driver does (`sqlite/mod.rs`,
//! `postgres/mod.rs`); statements use PostgreSQL's placeholders (`$1`, `$2`, …), which the
//! SQLite backend reads as `?1`, `?2`, ….

/// A value to bind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Text(String),
    Bool(bool),
    Bytes(Vec<u8>),
    /// Bound as a JSON array on SQLite, as `text[]` on PostgreSQL.
    List(Vec<String>),
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Int(n)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Text(s)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Text(s.to_owned())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<Vec<u8>> for Value {
    fn from(b: Vec<u8>) -> Value {
        Value::Bytes(b)
    }
}

impl From<Vec<String>> for Value {
    fn from(list: Vec<String>) -> Value {
        Value::List(list)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

/// `sql` with PostgreSQL's placeholders (`$1`) written as SQLite's (`?1`).
pub(crate) fn sqlite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_sqlite_ones_and_nothing_else_changes() {
        assert_eq!(
            sqlite_placeholders("UPDATE t SET a = $2, b = '$x' WHERE id = $1 AND c = $10"),
            "UPDATE t SET a = ?2, b = '$x' WHERE id = ?1 AND c = ?10"
        );
    }

    #[test]
    fn options_are_null_or_the_value() {
        assert_eq!(Value::from(None::<String>), Value::Null);
        assert_eq!(Value::from(Some(3i64)), Value::Int(3));
    }
}
