//! Property tests for the parsers that read untrusted input.

use std::time::Duration;

use proptest::prelude::*;
use seats_types::{formats, parse_go_duration, Timestamp};

proptest! {
    #[test]
    fn go_durations_add_up(h in 0u64..100_000, m in 0u64..1000, s in 0u64..1000, ms in 0u64..1000) {
        let text = format!("{h}h{m}m{s}s{ms}ms");
        let expected = Duration::from_secs(h * 3600 + m * 60 + s) + Duration::from_millis(ms);
        prop_assert_eq!(parse_go_duration(&text), Ok(expected));
    }

    #[test]
    fn fractional_hours_match_minutes(tenths in 0u64..100_000) {
        let text = format!("{}.{}h", tenths / 10, tenths % 10);
        prop_assert_eq!(parse_go_duration(&text), Ok(Duration::from_secs(tenths * 360)));
    }

    #[test]
    fn duration_parser_never_panics(s in "\\PC{0,24}") {
        let _ = parse_go_duration(&s);
    }

    #[test]
    fn timestamps_round_trip(micros in 0i64..4_102_444_800_000_000) {
        let t = Timestamp::from_unix_micros(micros).unwrap();
        let text = t.to_string();
        prop_assert_eq!(text.len(), 27);
        prop_assert_eq!(text.parse::<Timestamp>(), Ok(t));
    }

    #[test]
    fn account_ids_are_exactly_32_lowercase_hex(s in "[0-9a-f]{32}", other in "\\PC{0,40}") {
        prop_assert!(formats::is_account_id(&s));
        let hex32 = other.len() == 32 && other.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        prop_assert_eq!(formats::is_account_id(&other), hex32);
    }

    #[test]
    fn tokens_and_keys_follow_their_alphabets(s in "\\PC{0,70}") {
        let token_ok = !s.is_empty() && s.len() <= 255 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._~+/=-".contains(&b));
        prop_assert_eq!(formats::is_api_token(&s), token_ok);
        let key_ok = (32..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric());
        prop_assert_eq!(formats::is_api_key(&s), key_ok);
    }
}
