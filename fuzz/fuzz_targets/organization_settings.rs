//! Organization settings (API bodies and seed files): any JSON object normalizes or is refused
//! with located problems; what passes keeps only strings within the text rule.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice(data) else {
        return;
    };
    for create in [false, true] {
        match seats_store::organization::normalize(&fields, create) {
            Ok(out) => {
                for key in ["name", "auth_domain"] {
                    if let Some(v) = out.get(key) {
                        let s = v.as_str().expect("a string");
                        assert_eq!(seats_types::formats::text_problem(key, s, 255), None);
                    }
                }
            }
            Err(problems) => assert!(!problems.is_empty()),
        }
    }
});
