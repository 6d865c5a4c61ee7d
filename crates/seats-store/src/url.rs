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
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
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
        assert_eq!(parse("mysql://x"), Err(DatabaseUrlError::UnknownScheme("mysql".into())));
        assert_eq!(parse(""), Err(DatabaseUrlError::Empty));
        assert_eq!(parse("sqlite://"), Err(DatabaseUrlError::Empty));
    }
}
