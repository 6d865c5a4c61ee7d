//! The `--database` URL: which backend, and where.

use std::path::PathBuf;

/// A parsed database URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file, created if missing.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string.
    Postgres(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatabaseUrlError {
    #[error("database URL is empty")]
    Empty,
    #[error("unsupported database URL scheme `{0}`: use sqlite://PATH, a plain file path, or postgres://...")]
    UnknownScheme(String),
}

impl std::str::FromStr for DatabaseUrl {
    type Err = DatabaseUrlError;

    /// `sqlite://RELATIVE/PATH`, `sqlite:///ABSOLUTE/PATH` and a plain path mean a SQLite
    /// file; `postgres://` and `postgresql://` mean PostgreSQL.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(DatabaseUrlError::Empty);
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") || is_keywords(s) {
            return Ok(DatabaseUrl::Postgres(s.to_owned()));
        }
        if let Some(rest) = s.strip_prefix("sqlite://") {
            let path = rest.split('?').next().unwrap_or(rest);
            return if path.is_empty() {
                Err(DatabaseUrlError::Empty)
            } else {
                Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
            };
        }
        if let Some(rest) = s.strip_prefix("sqlite:") {
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(rest)));
        }
        match s.split_once("://") {
            Some((scheme, _)) => Err(DatabaseUrlError::UnknownScheme(scheme.to_owned())),
            None => Ok(DatabaseUrl::Sqlite(PathBuf::from(s))),
        }
    }
}

/// A database URL fit for a log line or `Debug`: the password of a PostgreSQL string (in
/// `user:password@`, a `password=` query parameter, or a `password=` keyword) as `***`.
pub fn redacted(s: &str) -> String {
    let mask_keyword = |text: &str, sep: char| -> String {
        text.split(sep)
            .map(|part| match part.trim_start().split_once('=') {
                Some((key, _)) if key.trim_end() == "password" => format!("{key}=***"),
                _ => part.to_owned(),
            })
            .collect::<Vec<_>>()
            .join(&sep.to_string())
    };
    match s.split_once("://") {
        Some((scheme, rest)) => {
            let (rest, query) = match rest.split_once('?') {
                Some((rest, query)) => (rest, Some(mask_keyword(query, '&'))),
                None => (rest, None),
            };
            let rest = match rest.rsplit_once('@') {
                Some((userinfo, host)) => {
                    let user = userinfo.split(':').next().unwrap_or_default();
                    format!("{user}:***@{host}")
                }
                None => rest.to_owned(),
            };
            match query {
                Some(q) => format!("{scheme}://{rest}?{q}"),
                None => format!("{scheme}://{rest}"),
            }
        }
        // A quoted password may hold spaces: everything after `password=` up to the next
        // keyword is uncertain, so the whole rest of a keyword string after it is hidden.
        None if is_keywords(s) => match s.find("password") {
            Some(at) => format!("{}password=***", &s[..at]),
            None => s.to_owned(),
        },
        None => s.to_owned(),
    }
}

/// libpq's keyword form (`host=db1,db2 port=5432 dbname=seats`): the string begins with one
/// of libpq's connection keywords and `=`. (A SQLite file whose name looks like that needs
/// `sqlite://`.)
fn is_keywords(s: &str) -> bool {
    const KEYWORDS: [&str; 12] = [
        "host",
        "hostaddr",
        "port",
        "dbname",
        "user",
        "password",
        "sslmode",
        "connect_timeout",
        "options",
        "application_name",
        "target_session_attrs",
        "service",
    ];
    let Some((key, _)) = s.trim_start().split_once('=') else {
        return false;
    };
    KEYWORDS.contains(&key.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<DatabaseUrl, DatabaseUrlError> {
        s.parse()
    }

    #[test]
    fn sqlite_forms() {
        assert_eq!(parse("sqlite://seats.db"), Ok(DatabaseUrl::Sqlite("seats.db".into())));
        assert_eq!(
            parse("sqlite://data/seats.db"),
            Ok(DatabaseUrl::Sqlite("data/seats.db".into()))
        );
        assert_eq!(
            parse("sqlite:///var/lib/seats.db"),
            Ok(DatabaseUrl::Sqlite("/var/lib/seats.db".into()))
        );
        assert_eq!(parse("seats.db"), Ok(DatabaseUrl::Sqlite("seats.db".into())));
        assert_eq!(parse("/tmp/x.db"), Ok(DatabaseUrl::Sqlite("/tmp/x.db".into())));
    }

    #[test]
    fn postgres_and_errors() {
        assert!(matches!(
            parse("postgres://localhost/test"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(matches!(
            parse("postgresql://localhost/test"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert_eq!(
            parse("host=db1,db2 port=5432,5433 dbname=seats"),
            Ok(DatabaseUrl::Postgres("host=db1,db2 port=5432,5433 dbname=seats".into()))
        );
        assert_eq!(
            parse("dbname = seats"),
            Ok(DatabaseUrl::Postgres("dbname = seats".into()))
        );
        assert_eq!(parse("seats=1.db"), Ok(DatabaseUrl::Sqlite("seats=1.db".into())));
        assert_eq!(
            redacted("postgres://seats:s3cret@db:5432/seats?sslmode=require&password=s3cret"),
            "postgres://seats:***@db:5432/seats?sslmode=require&password=***"
        );
        assert_eq!(
            redacted("host=db user=seats password='s3 cret' sslmode=require"),
            "host=db user=seats password=***"
        );
        assert_eq!(redacted("sqlite://seats.db"), "sqlite://seats.db");
        assert_eq!(parse("mysql://x"), Err(DatabaseUrlError::UnknownScheme("mysql".into())));
        assert_eq!(parse(""), Err(DatabaseUrlError::Empty));
        assert_eq!(parse("sqlite://"), Err(DatabaseUrlError::Empty));
    }
}
