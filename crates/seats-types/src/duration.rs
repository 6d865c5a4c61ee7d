//! Go's duration syntax (`730h`, `1h30m`, `2.5h`, `300ms`, `1µs`), as Cloudflare takes it for
//! `user_seat_expiration_inactive_time`.

use std::time::Duration;

/// Parses a Go duration string into a duration; negative durations are refused.
///
/// The grammar is Go's `time.ParseDuration`: an optional sign, then one or more decimal
/// numbers each with a unit (`ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`); `0` alone is zero.
pub fn parse_go_duration(s: &str) -> Result<Duration, String> {
    let invalid = || format!("invalid duration {s:?}");
    let mut rest = s;
    let negative = match rest.as_bytes().first() {
        Some(b'-') => {
            rest = &rest[1..];
            true
        }
        Some(b'+') => {
            rest = &rest[1..];
            false
        }
        _ => false,
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total_nanos: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after_int) = rest.split_at(int_len);
        let (frac_part, after_num) = match after_int.strip_prefix('.') {
            Some(f) => {
                let n = f.bytes().take_while(u8::is_ascii_digit).count();
                f.split_at(n)
            }
            None => ("", after_int),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_len = after_num
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after_num.len());
        let (unit, after_unit) = after_num.split_at(unit_len);
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("missing unit in duration {s:?}")),
            _ => return Err(format!("unknown unit {unit:?} in duration {s:?}")),
        };
        let int: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        let mut nanos = int.checked_mul(unit_nanos).ok_or_else(invalid)?;
        // The fraction, to nanosecond precision.
        let mut scale = unit_nanos;
        for d in frac_part.bytes() {
            scale /= 10;
            if scale == 0 {
                break;
            }
            nanos += u128::from(d - b'0') * scale;
        }
        total_nanos = total_nanos.checked_add(nanos).ok_or_else(invalid)?;
        rest = after_unit;
    }
    // Go's durations are int64 nanoseconds.
    if total_nanos > i64::MAX as u128 {
        return Err(invalid());
    }
    if negative && total_nanos > 0 {
        return Err(format!("duration {s:?} is negative"));
    }
    Ok(Duration::from_nanos(total_nanos as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(hours: f64) -> Duration {
        Duration::from_secs_f64(hours * 3600.0)
    }

    #[test]
    fn go_examples() {
        assert_eq!(parse_go_duration("730h"), Ok(h(730.0)));
        assert_eq!(parse_go_duration("1h30m"), Ok(h(1.5)));
        assert_eq!(parse_go_duration("2.5h"), Ok(h(2.5)));
        assert_eq!(parse_go_duration("43800m"), Ok(h(730.0)));
        assert_eq!(parse_go_duration("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(parse_go_duration("1µs"), Ok(Duration::from_micros(1)));
        assert_eq!(parse_go_duration("1μs"), Ok(Duration::from_micros(1)));
        assert_eq!(parse_go_duration("1us1ns"), Ok(Duration::from_nanos(1001)));
        assert_eq!(parse_go_duration(".5h"), Ok(h(0.5)));
        assert_eq!(parse_go_duration("1.h"), Ok(h(1.0)));
        assert_eq!(parse_go_duration("+5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_go_duration("2562047h"), Ok(h(2_562_047.0)));
    }

    #[test]
    fn rejects_what_go_rejects() {
        for bad in ["", "h", "1", "1x", "1hh", "1h 30m", ".h", "-", "2562048h", "1d"] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?}");
        }
        assert!(parse_go_duration("-1h").unwrap_err().contains("negative"));
    }
}
