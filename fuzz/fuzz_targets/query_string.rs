//! Query strings: decoded as the server decodes them, then `page`/`per_page` read; what is
//! accepted is within the documented bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seats_server::extract::query::{Pagination, QueryPairs, MAX_PER_PAGE};

fuzz_target!(|data: &[u8]| {
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(data) else {
        return;
    };
    if let Ok(page) = Pagination::parse(&QueryPairs(pairs)) {
        assert!(page.page >= 1 && page.page <= i64::MAX as u64);
        assert!((1..=MAX_PER_PAGE).contains(&page.per_page));
        let _ = page.slice(&[0u8; 3]);
    }
});
