//! What a SCIM client sends that the server parses itself: `filter` expressions and PATCH
//! bodies. A filter parses or is refused as `invalidFilter`; a PATCH applies, leaving a JSON
//! object, or is refused with a 400 and a `scimType`. Nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seats_server::scim::{filter, patch};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for refused in [filter::users(text).err(), filter::groups(text).err()].into_iter().flatten() {
            assert_eq!(refused.scim_type, Some("invalidFilter"), "{text:?}");
        }
    }
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let mut resource = serde_json::json!({"userName": "a", "name": {"givenName": "A"},
        "emails": [{"type": "work", "value": "a@example.com"}], "members": [{"value": "1"}]})
    .as_object()
    .unwrap()
    .clone();
    if let Err(refused) = patch::apply(&mut resource, &body) {
        assert_eq!(refused.status.as_u16(), 400);
        assert!(refused.scim_type.is_some(), "{refused:?}");
    }
    serde_json::to_string(&resource).expect("the resource stays JSON");
});
