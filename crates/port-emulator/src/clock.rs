//! Timestamps as the emulator keeps and shows them.
//!
//! Stored as microseconds since the Unix epoch (so `before` comparisons are exact even for
//! writes a few microseconds apart) and shown the way Port shows them: ISO 8601 in UTC with
//! millisecond precision and a `Z`. It does not try to follow a clock other than the system's.

use std::time::{SystemTime, UNIX_EPOCH};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Microseconds since the Unix epoch, now.
pub(crate) fn now_micros() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
}

/// Port's rendering of a timestamp: `2026-01-01T10:00:00.123Z`.
pub(crate) fn iso(micros: i64) -> String {
    let nanos = i128::from(micros) * 1000;
    let Ok(at) = OffsetDateTime::from_unix_timestamp_nanos(nanos) else {
        return String::from("1970-01-01T00:00:00.000Z");
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// Parses an RFC 3339 timestamp (what Python's `isoformat()` of an aware datetime gives) into
/// microseconds since the epoch.
pub(crate) fn parse_iso(text: &str) -> Option<i64> {
    let at = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_port() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso(1_767_261_600_123_456), "2026-01-01T10:00:00.123Z");
    }

    #[test]
    fn parses_python_isoformat() {
        assert_eq!(
            parse_iso("2026-01-01T10:00:00.123456+00:00"),
            Some(1_767_261_600_123_456)
        );
        assert_eq!(
            parse_iso("2026-01-01T12:00:00+02:00"),
            Some(1_767_261_600_000_000)
        );
        assert_eq!(parse_iso("2026-01-01 10:00"), None);
    }
}
