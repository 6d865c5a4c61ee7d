//! `page` and `per_page` query parameters, checked with errors that name the parameter.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;

use crate::error::{ApiError, Problem};

/// Largest `per_page` accepted, and the default.
pub const MAX_PER_PAGE: u64 = 1000;

/// A validated page request: `page >= 1`, `1 <= per_page <= 1000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pagination {
    pub page: u64,
    pub per_page: u64,
}

impl Pagination {
    /// The slice of `items` this page covers.
    pub fn slice<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start =
            usize::try_from((self.page - 1).saturating_mul(self.per_page)).unwrap_or(usize::MAX);
        let end = start.saturating_add(usize::try_from(self.per_page).unwrap_or(usize::MAX));
        items
            .get(start.min(items.len())..end.min(items.len()))
            .unwrap_or(&[])
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Pagination {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|_| {
                ApiError::Invalid(vec![Problem::new("", "the query string is not valid")])
            })?;
        let mut problems = Vec::new();
        let mut get = |name: &str, default: u64, max: u64| {
            let Some((_, raw)) = pairs.iter().rev().find(|(k, _)| k == name) else {
                return default;
            };
            match raw.parse::<u64>() {
                Ok(v) if (1..=max).contains(&v) => v,
                _ => {
                    let range = if max == u64::MAX {
                        "at least 1".to_string()
                    } else {
                        format!("between 1 and {max}")
                    };
                    problems.push(Problem::new(
                        format!("/{name}"),
                        format!("{name} must be an integer {range}, got {raw:?}"),
                    ));
                    default
                }
            }
        };
        let page = get("page", 1, u64::MAX);
        let per_page = get("per_page", MAX_PER_PAGE, MAX_PER_PAGE);
        if problems.is_empty() {
            Ok(Pagination { page, per_page })
        } else {
            Err(ApiError::Invalid(problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_pages() {
        let items: Vec<u32> = (0..25).collect();
        assert_eq!(
            Pagination {
                page: 1,
                per_page: 10
            }
            .slice(&items),
            &items[0..10]
        );
        assert_eq!(
            Pagination {
                page: 3,
                per_page: 10
            }
            .slice(&items),
            &items[20..25]
        );
        assert!(Pagination {
            page: 4,
            per_page: 10
        }
        .slice(&items)
        .is_empty());
        assert!(Pagination {
            page: u64::MAX,
            per_page: 1000
        }
        .slice(&items)
        .is_empty());
    }
}
