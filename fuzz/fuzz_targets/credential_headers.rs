//! Credential headers: lines `name: value` become a header map; reading the credential from
//! it never panics, and what it accepts has the formats docs/contract.md §2 gives.
#![no_main]

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use seats_server::auth::Credential;

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for line in data.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    if let Ok(Credential::Key { email, .. }) = Credential::from_headers(&headers) {
        assert!(seats_types::formats::is_email(&email));
    }
});
