//! Go durations (`--statement-timeout`, the clock, organization settings): any text is a
//! duration or an error message; never a panic or an overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match seats_types::parse_go_duration(text) {
        Ok(_) => assert!(!text.is_empty()),
        Err(message) => assert!(!message.is_empty()),
    }
});
