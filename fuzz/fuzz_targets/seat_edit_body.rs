//! The PATCH seats body: any bytes either parse into at most `max_batch` items whose seat
//! uids follow the rule, or are refused with located problems; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seats_server::error::ApiError;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    match seats_server::routes::seats::parse_items(body, 10) {
        Ok(items) => {
            assert!(items.len() <= 10);
            for item in items {
                assert_eq!(seats_types::formats::seat_uid_problem(&item.seat_uid), None);
            }
        }
        Err(ApiError::Invalid(problems)) => assert!(!problems.is_empty()),
        Err(other) => panic!("unexpected refusal {other:?}"),
    }
});
