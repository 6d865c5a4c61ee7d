//! Seed files: any bytes are a seed or a list of located problems; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = seats_store::seed::parse(data) {
        assert!(!e.problems.is_empty() || !e.to_string().is_empty());
    }
});
