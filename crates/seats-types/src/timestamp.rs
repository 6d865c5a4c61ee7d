//! Timestamps as the API writes them: RFC 3339, UTC, six fractional digits, `Z`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, SubsecRound, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time with microsecond precision.
///
/// Written as `2014-01-01T05:20:00.123450Z`; read from any RFC 3339 timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// Truncates to whole microseconds, the precision we store and write.
    pub fn from_datetime(t: DateTime<Utc>) -> Self {
        Self(t.trunc_subsecs(6))
    }

    pub fn as_datetime(&self) -> DateTime<Utc> {
        self.0
    }

    /// Microseconds since the Unix epoch.
    pub fn unix_micros(&self) -> i64 {
        self.0.timestamp_micros()
    }

    pub fn from_unix_micros(micros: i64) -> Option<Self> {
        DateTime::from_timestamp_micros(micros).map(Self)
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Self::from_datetime(t)
    }
}

impl Timestamp {
    /// The text the API writes, built from the date's parts without a format string (a
    /// response holds two per seat, and interpreting `%Y-%m-%d…` each time was a tenth of a
    /// PATCH's response encoding).
    fn write_rfc3339<'b>(&self, buf: &'b mut [u8; 27]) -> &'b str {
        fn digits(out: &mut [u8], mut value: u32) {
            for slot in out.iter_mut().rev() {
                *slot = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        let t = self.0.naive_utc();
        let (date, time) = (t.date(), t.time());
        // chrono's years run from -262143 to 262142; the API's run from 0 to 9999, and a time
        // outside them is written by chrono's own formatter instead (see `fmt`).
        *buf = *b"0000-00-00T00:00:00.000000Z";
        digits(&mut buf[0..4], date.year() as u32);
        digits(&mut buf[5..7], date.month());
        digits(&mut buf[8..10], date.day());
        digits(&mut buf[11..13], time.hour());
        digits(&mut buf[14..16], time.minute());
        digits(&mut buf[17..19], time.second());
        // A leap second is written as second 60 by chrono; keep its 60 and the fraction.
        let nanos = time.nanosecond();
        if nanos >= 1_000_000_000 {
            digits(&mut buf[17..19], 60);
        }
        digits(&mut buf[20..26], (nanos % 1_000_000_000) / 1000);
        std::str::from_utf8(buf).expect("ASCII digits")
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if (0..=9999).contains(&self.0.year()) {
            f.write_str(self.write_rfc3339(&mut [0; 27]))
        } else {
            write!(f, "{}", self.0.format("%Y-%m-%dT%H:%M:%S%.6fZ"))
        }
    }
}

/// The error of parsing something that is not an RFC 3339 timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampParseError(String);

impl fmt::Display for TimestampParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not an RFC 3339 timestamp: {}", self.0)
    }
}

impl std::error::Error for TimestampParseError {}

impl FromStr for Timestamp {
    type Err = TimestampParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| Self::from_datetime(t.with_timezone(&Utc)))
            .map_err(|e| TimestampParseError(e.to_string()))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if (0..=9999).contains(&self.0.year()) {
            s.serialize_str(self.write_rfc3339(&mut [0; 27]))
        } else {
            s.collect_str(self)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_six_digits_and_z() {
        let t: Timestamp = "2014-01-01T05:20:00.12345Z".parse().unwrap();
        assert_eq!(t.to_string(), "2014-01-01T05:20:00.123450Z");
        let t: Timestamp = "2014-01-01T07:20:00+02:00".parse().unwrap();
        assert_eq!(t.to_string(), "2014-01-01T05:20:00.000000Z");
    }

    #[test]
    fn truncates_below_microseconds() {
        let t: Timestamp = "2014-01-01T05:20:00.123456789Z".parse().unwrap();
        assert_eq!(t.to_string(), "2014-01-01T05:20:00.123456Z");
        assert_eq!(Timestamp::from_unix_micros(t.unix_micros()), Some(t));
    }

    #[test]
    fn written_as_chrono_formats_it_at_every_kind_of_date() {
        let micros = [
            0,
            1,
            -1,
            951_782_400_000_000,     // 2000-02-29
            253_402_300_799_999_999, // 9999-12-31T23:59:59.999999
            -62_135_596_800_000_000, // 0001-01-01
            -62_167_219_200_000_000, // 0000-01-01
            -62_167_219_200_000_001, // the last microsecond of year -1
            253_402_300_800_000_000, // 10000-01-01
            1_796_083_200_123_456,
        ];
        for m in micros {
            let t = Timestamp::from_unix_micros(m).unwrap();
            let expected = t.0.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
            assert_eq!(t.to_string(), expected, "{m}");
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("{expected:?}"), "{m}");
        }
        // A leap second, which chrono keeps as a nanosecond count past one second.
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_micro_opt(23, 59, 59, 1_500_000)
            .unwrap()
            .and_utc();
        let t = Timestamp(leap);
        assert_eq!(t.to_string(), leap.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
    }

    #[test]
    fn rejects_non_rfc3339() {
        assert!("2014-01-01 05:20".parse::<Timestamp>().is_err());
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
    }
}
