//! Two bits of Python's text formats that Port-facing behaviour depends on:
//!
//! * the byte length of `json.dumps(value)` with Python's defaults (`", "` and `": "`
//!   separators, `ensure_ascii=True`, `repr` floats) — the bulk-upsert chunk size is computed
//!   from it (`docs/port-api.md` §4.3.2), and matching it keeps Ocean's batches identical;
//! * `datetime.isoformat()` of an aware UTC time (`2026-01-01T10:00:00.123456+00:00`, fraction
//!   omitted when zero) — the form Port receives in resync-state and datasource queries.
//!
//! The length is counted by serialising through a custom `serde_json` formatter into a byte
//! counter, so nothing is allocated per entity.

use std::io::{self, Write};

use ocean_model::python::float_repr;
use serde::Serialize;
use serde_json::ser::Formatter;
use time::{OffsetDateTime, UtcOffset};

/// The UTF-8 length of `json.dumps(value)` as Python's standard library writes it.
pub fn python_json_len<T: Serialize + ?Sized>(value: &T) -> usize {
    let mut counter = ByteCounter(0);
    let mut ser = serde_json::Serializer::with_formatter(&mut counter, PythonFormatter);
    match value.serialize(&mut ser) {
        Ok(()) => counter.0,
        // Only non-string map keys can fail, and entities have none; an estimate is enough.
        Err(_) => counter.0,
    }
}

/// A sink that only counts.
pub(crate) struct ByteCounter(pub(crate) usize);

impl Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes JSON the way Python's `json.dumps` does by default.
struct PythonFormatter;

impl Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // `ensure_ascii`: everything outside space..tilde is written as \uXXXX per UTF-16 unit.
        let mut start = 0;
        for (i, ch) in fragment.char_indices() {
            if (' '..='~').contains(&ch) {
                continue;
            }
            w.write_all(&fragment.as_bytes()[start..i])?;
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                write!(w, "\\u{unit:04x}")?;
            }
            start = i + ch.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[start..])
    }

    fn write_f64<W: ?Sized + Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        w.write_all(float_repr(value).as_bytes())
    }

    fn write_f32<W: ?Sized + Write>(&mut self, w: &mut W, value: f32) -> io::Result<()> {
        w.write_all(float_repr(f64::from(value)).as_bytes())
    }
}

/// Python's `datetime.isoformat()` of the same instant in UTC.
pub fn python_isoformat(at: OffsetDateTime) -> String {
    let utc = at.to_offset(UtcOffset::UTC);
    let micros = utc.microsecond();
    let fraction = if micros == 0 {
        String::new()
    } else {
        format!(".{micros:06}")
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{fraction}+00:00",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn check_len(value: serde_json::Value, python_dumps: &str) {
        assert_eq!(
            python_json_len(&value),
            python_dumps.len(),
            "{python_dumps}"
        );
    }

    #[test]
    fn json_length_matches_python_dumps() {
        // Expected strings are what CPython 3.13's json.dumps prints for the same values.
        check_len(json!({"a": 1, "b": [1, 2]}), r#"{"a": 1, "b": [1, 2]}"#);
        check_len(json!([]), "[]");
        check_len(json!({}), "{}");
        check_len(json!({"é": "naïve"}), r#"{"\u00e9": "na\u00efve"}"#);
        check_len(json!("😀"), r#""\ud83d\ude00""#);
        check_len(json!("a\"b\\c\n\u{1}\u{7f}"), r#""a\"b\\c\n\u0001\u007f""#);
        check_len(
            json!([1.0, 0.1, 1e16, 1.5e-7]),
            "[1.0, 0.1, 1e+16, 1.5e-07]",
        );
        check_len(json!({"x": null, "y": true}), r#"{"x": null, "y": true}"#);
    }

    #[test]
    fn isoformat_matches_python() {
        assert_eq!(
            python_isoformat(datetime!(2026-01-01 10:00:00.123456 UTC)),
            "2026-01-01T10:00:00.123456+00:00"
        );
        assert_eq!(
            python_isoformat(datetime!(2026-01-01 11:00:00 UTC)),
            "2026-01-01T11:00:00+00:00"
        );
        assert_eq!(
            python_isoformat(datetime!(2026-01-01 12:00:00.5 +02:00)),
            "2026-01-01T10:00:00.500000+00:00"
        );
        // Nanoseconds below a microsecond are dropped, as Python has no room for them.
        assert_eq!(
            python_isoformat(datetime!(2026-01-01 10:00:00.000000999 UTC)),
            "2026-01-01T10:00:00+00:00"
        );
    }
}
