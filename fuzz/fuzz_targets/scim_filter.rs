//! SCIM `filter` expressions, as a client sends them in a query: each parses, or is refused
//! as `invalidFilter` (400). Nothing panics or overflows the stack, however deep the brackets
//! (the corpus holds the 8,000-deep filter that once aborted the process).
#![no_main]

use libfuzzer_sys::fuzz_target;
use seats_server::scim::filter;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for refused in [filter::users(text).err(), filter::groups(text).err()].into_iter().flatten() {
        assert_eq!(refused.status.as_u16(), 400, "{text:?}");
        assert_eq!(refused.scim_type, Some("invalidFilter"), "{text:?}");
    }
});
