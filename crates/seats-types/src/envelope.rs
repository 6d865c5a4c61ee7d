//! The v4 response envelope shared by every endpoint.

use serde::{Deserialize, Serialize};

/// `{"success", "errors", "messages", "result", "result_info"?}`, the body of every response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Envelope<T> {
    pub success: bool,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub errors: Vec<Message>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub messages: Vec<Message>,
    /// `null` on failure; always written, so clients that expect the key find it.
    pub result: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_info: Option<ResultInfo>,
}

impl<T> Envelope<T> {
    /// A successful response without pagination.
    pub fn ok(result: T) -> Self {
        Self {
            success: true,
            errors: Vec::new(),
            messages: Vec::new(),
            result: Some(result),
            result_info: None,
        }
    }

    /// A successful response with `result_info`.
    pub fn page(result: T, info: ResultInfo) -> Self {
        Self {
            result_info: Some(info),
            ..Self::ok(result)
        }
    }

    /// A failed response: `success: false`, `result: null`.
    pub fn failure(errors: Vec<Message>) -> Self {
        Self {
            success: false,
            errors,
            messages: Vec::new(),
            result: None,
            result_info: None,
        }
    }
}

/// One entry of `errors` or `messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    /// Cloudflare error code (>= 1000). Wide, because real codes exceed `u16`.
    pub code: i64,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// Underlying errors, e.g. 6111 under 6003.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub error_chain: Option<Vec<Message>>,
}

impl Message {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            documentation_url: None,
            source: None,
            error_chain: None,
        }
    }

    /// Points the message at a part of the request body (a JSON Pointer; `""` is the whole body).
    pub fn with_pointer(mut self, pointer: impl Into<String>) -> Self {
        self.source = Some(Source {
            pointer: Some(pointer.into()),
        });
        self
    }

    pub fn with_chain(mut self, chain: Vec<Message>) -> Self {
        self.error_chain = Some(chain);
        self
    }

    /// The `source.pointer`, if any.
    pub fn pointer(&self) -> Option<&str> {
        self.source.as_ref()?.pointer.as_deref()
    }
}

/// Where in the request an error lies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Source {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
}

/// Pagination details of a collection response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResultInfo {
    /// Number of results in this response.
    #[serde(default)]
    pub count: u64,
    /// Current page, from 1.
    #[serde(default)]
    pub page: u64,
    #[serde(default)]
    pub per_page: u64,
    /// Results matching the request across all pages.
    #[serde(default)]
    pub total_count: u64,
    #[serde(default)]
    pub total_pages: u64,
    /// Cursor-paged listings only (device registrations): where the next page starts, empty
    /// after the last. Left out of the OpenAPI schema of the page-numbered listings, whose
    /// `result_info` is Cloudflare's; the cursor-paged ones document theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub cursor: Option<String>,
}

impl ResultInfo {
    /// The `result_info` of a response that returns all `n` results at once.
    pub fn single_page(n: u64) -> Self {
        Self {
            count: n,
            page: 1,
            per_page: n,
            total_count: n,
            total_pages: 1,
            cursor: None,
        }
    }

    /// The `result_info` of page `page` (from 1) holding `count` of `total_count` results.
    pub fn paged(page: u64, per_page: u64, count: u64, total_count: u64) -> Self {
        Self {
            count,
            page,
            per_page,
            total_count,
            total_pages: total_count.div_ceil(per_page.max(1)),
            cursor: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_writes_null_result_and_omits_result_info() {
        let env: Envelope<()> = Envelope::failure(vec![Message::new(7000, "No route for that URI")]);
        let json = serde_json::to_value(&env).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"success": false, "errors": [{"code": 7000, "message": "No route for that URI"}],
                "messages": [], "result": null})
        );
    }

    #[test]
    fn decodes_wide_codes_and_ignores_unknown_fields() {
        let env: Envelope<serde_json::Value> = serde_json::from_str(
            r#"{"success":false,"errors":[{"code":100000123,"message":"x","extra":1}],"result":null,"new":true}"#,
        )
        .unwrap();
        assert_eq!(env.errors[0].code, 100_000_123);
        assert!(env.messages.is_empty());
    }

    #[test]
    fn total_pages_rounds_up() {
        assert_eq!(ResultInfo::paged(3, 1000, 500, 2500).total_pages, 3);
        assert_eq!(ResultInfo::paged(1, 1000, 0, 0).total_pages, 0);
    }
}
