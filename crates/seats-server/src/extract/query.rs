//! The query string: `page` and `per_page`, and other parameters, checked with errors that
//! name the parameter (`source.pointer` `/page`).

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;

use crate::error::{ApiError, Problem};

/// Largest `per_page` accepted, and the default.
pub const MAX_PER_PAGE: u64 = 1000;

/// The query string as name-value pairs, in order; a string that cannot be decoded is 12006.
#[derive(Debug, Clone, Default)]
pub struct QueryPairs(pub Vec<(String, String)>);

impl QueryPairs {
    /// The last value given for `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value given for any of `names`, in order (`id=a&id=b`, or `id[]=a`).
    pub fn all(&self, names: &[&str]) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| names.contains(&k.as_str()))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A boolean parameter (`true` or `false`, as the SDKs write it), optional; 12006 naming
    /// it for anything else.
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(raw) => Err(ApiError::Invalid(vec![Problem::new(
                format!("/{name}"),
                format!("{name} must be true or false, got {raw:?}"),
            )])),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::Invalid(vec![Problem::new("", "the query string is not valid")]))?;
        Ok(QueryPairs(pairs))
    }
}

/// A validated page request: `1 <= page <= 2^63 - 1`, `1 <= per_page <= 1000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pagination {
    pub page: u64,
    pub per_page: u64,
}

impl Pagination {
    /// Reads `page` and `per_page`. Handlers that check a permission first call this after.
    pub fn parse(query: &QueryPairs) -> Result<Self, ApiError> {
        let mut problems = Vec::new();
        let mut get = |name: &str, default: u64, max: u64| {
            let Some(raw) = query.get(name) else { return default };
            match raw.parse::<u64>() {
                Ok(v) if (1..=max).contains(&v) => v,
                _ => {
                    let range = format!("between 1 and {max}");
                    problems.push(Problem::new(
                        format!("/{name}"),
                        format!("{name} must be an integer {range}, got {raw:?}"),
                    ));
                    default
                }
            }
        };
        // int64, as Cloudflare's schema types it; a page past the last is empty.
        let page = get("page", 1, i64::MAX as u64);
        let per_page = get("per_page", MAX_PER_PAGE, MAX_PER_PAGE);
        if problems.is_empty() {
            Ok(Pagination { page, per_page })
        } else {
            Err(ApiError::Invalid(problems))
        }
    }

    /// How many items come before this page.
    pub fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(self.per_page)
    }

    /// The slice of `items` this page covers.
    pub fn slice<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = usize::try_from((self.page - 1).saturating_mul(self.per_page)).unwrap_or(usize::MAX);
        let end = start.saturating_add(usize::try_from(self.per_page).unwrap_or(usize::MAX));
        items.get(start.min(items.len())..end.min(items.len())).unwrap_or(&[])
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Pagination {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Pagination::parse(&QueryPairs::from_request_parts(parts, state).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(page: u64, per_page: u64) -> Pagination {
        Pagination { page, per_page }
    }

    #[test]
    fn slices_pages() {
        let items: Vec<u32> = (0..25).collect();
        assert_eq!(page(1, 10).slice(&items), &items[0..10]);
        assert_eq!(page(3, 10).slice(&items), &items[20..25]);
        assert!(page(4, 10).slice(&items).is_empty());
        assert!(page(u64::MAX, 1000).slice(&items).is_empty());
    }

    #[test]
    fn parses_and_names_bad_parameters() {
        let q =
            |pairs: &[(&str, &str)]| QueryPairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        assert_eq!(Pagination::parse(&q(&[])).unwrap(), page(1, 1000));
        assert_eq!(
            Pagination::parse(&q(&[("page", "3"), ("per_page", "7")])).unwrap(),
            page(3, 7)
        );
        let Err(ApiError::Invalid(p)) = Pagination::parse(&q(&[("page", "x"), ("per_page", "0")])) else {
            panic!()
        };
        assert_eq!(
            p.iter().map(|p| p.pointer.as_str()).collect::<Vec<_>>(),
            ["/page", "/per_page"]
        );
    }
}
