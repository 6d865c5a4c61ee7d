//! The SQL of a filtered listing, written once for both backends: conditions that name only
//! the filters given (so the planner uses their index), a count, and one page in creation
//! order. Each backend binds the [`Value`]s as its driver does and runs the two statements.

use crate::identity_provider::{ScimGroupFilter, ScimUserFilter};
use crate::value::Value;

/// Where the backends' SQL differs for a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("${n}"),
        }
    }

    fn any_of(self, column: &str, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("{column} IN (SELECT value FROM json_each(?{n}))"),
            Dialect::Postgres => format!("{column} = ANY(${n})"),
        }
    }
}

/// The rows of `table` of one identity provider that match the conditions added.
#[derive(Debug)]
pub(crate) struct Listing {
    dialect: Dialect,
    table: &'static str,
    conditions: Vec<String>,
    pub params: Vec<Value>,
}

impl Listing {
    pub fn new(dialect: Dialect, table: &'static str, provider_id: &str) -> Self {
        Listing {
            dialect,
            table,
            conditions: vec![format!("provider_id = {}", dialect.placeholder(1))],
            params: vec![Value::Text(provider_id.to_owned())],
        }
    }

    /// `column = value`, when a value is given.
    pub fn equals(&mut self, column: &str, value: Option<String>) {
        if let Some(value) = value {
            self.params.push(Value::Text(value));
            self.conditions
                .push(format!("{column} = {}", self.dialect.placeholder(self.params.len())));
        }
    }

    /// `column` is one of `values`, when there are any.
    pub fn any_of(&mut self, column: &str, values: &[String]) {
        if !values.is_empty() {
            self.params.push(Value::List(values.to_vec()));
            self.conditions.push(self.dialect.any_of(column, self.params.len()));
        }
    }

    /// How many rows match, with the parameters as they are now.
    pub fn count_sql(&self) -> String {
        format!(
            "SELECT COUNT(*) FROM {} WHERE {}",
            self.table,
            self.conditions.join(" AND ")
        )
    }

    /// One page of `columns` in creation order; adds its limit and offset to the parameters.
    pub fn page_sql(&mut self, columns: &str, offset: u64, limit: u64) -> String {
        let clamp = |n: u64| Value::Int(i64::try_from(n).unwrap_or(i64::MAX));
        self.params.push(clamp(limit));
        self.params.push(clamp(offset));
        let n = self.params.len();
        format!(
            "SELECT {columns} FROM {} WHERE {} ORDER BY seq LIMIT {} OFFSET {}",
            self.table,
            self.conditions.join(" AND "),
            self.dialect.placeholder(n - 1),
            self.dialect.placeholder(n)
        )
    }
}

/// The SCIM users of a provider that `filter` matches.
pub(crate) fn scim_users(dialect: Dialect, provider_id: &str, filter: ScimUserFilter) -> Listing {
    let mut c = Listing::new(dialect, "scim_users", provider_id);
    c.any_of("id", &filter.ids);
    c.any_of("external_id", &filter.external_ids);
    c.equals("user_name_key", filter.user_name.map(|u| u.to_lowercase()));
    c.equals("email_key", filter.email.map(|e| seats_types::formats::email_key(&e)));
    c.equals("display_name", filter.display_name);
    c
}

/// The SCIM groups of a provider that `filter` matches.
pub(crate) fn scim_groups(dialect: Dialect, provider_id: &str, filter: ScimGroupFilter) -> Listing {
    let mut c = Listing::new(dialect, "scim_groups", provider_id);
    c.any_of("id", &filter.ids);
    c.any_of("external_id", &filter.external_ids);
    c.equals("display_name", filter.display_name);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_filters_given_are_conditions_in_each_dialect() {
        let filter = ScimUserFilter {
            external_ids: vec!["e1".into(), "e2".into()],
            user_name: Some("Alice".into()),
            ..ScimUserFilter::default()
        };
        let mut sqlite = scim_users(Dialect::Sqlite, "p", filter.clone());
        assert_eq!(
            sqlite.count_sql(),
            "SELECT COUNT(*) FROM scim_users WHERE provider_id = ?1 \
             AND external_id IN (SELECT value FROM json_each(?2)) AND user_name_key = ?3"
        );
        assert_eq!(
            sqlite.page_sql("id", 20, 10),
            "SELECT id FROM scim_users WHERE provider_id = ?1 \
             AND external_id IN (SELECT value FROM json_each(?2)) AND user_name_key = ?3 \
             ORDER BY seq LIMIT ?4 OFFSET ?5"
        );
        assert_eq!(
            sqlite.params,
            vec![
                Value::Text("p".into()),
                Value::List(vec!["e1".into(), "e2".into()]),
                Value::Text("alice".into()),
                Value::Int(10),
                Value::Int(20),
            ]
        );
        let mut pg = scim_users(Dialect::Postgres, "p", filter);
        pg.page_sql("id", u64::MAX, 1);
        assert!(pg.count_sql().ends_with("external_id = ANY($2) AND user_name_key = $3"));
        assert_eq!(
            pg.params.last(),
            Some(&Value::Int(i64::MAX)),
            "an offset past i64 is clamped"
        );
    }
}
