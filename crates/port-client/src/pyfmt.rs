//! Two bits of Python's text formats that Port-facing behaviour depends on:
//!
//! * the byte length of `json.dumps(value)` with Python's defaults (`", "` and `": "`
//!   separators, `ensure_ascii=True`, `repr` floats) — the bulk-upsert chunk size is computed
//!   from it (`port-api.md` §4.3.2), and matching it keeps Ocean's batches identical;
//! * `datetime.isoformat()` of an aware UTC time (`2026-01-01T10:00:00.123456+00:00`, fraction
//!   omitted when zero) — the form Port receives in resync-state and datasource queries.
//!
//! The length is counted by serialising through a custom `serde_json` formatter into a byte
//! counter, so nothing is allocated per entity.

use std::io::{self, Write};

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
struct ByteCounter(usize);

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
        w.write_all(python_float_repr(value).as_bytes())
    }

    fn write_f32<W: ?Sized + Write>(&mut self, w: &mut W, value: f32) -> io::Result<()> {
        w.write_all(python_float_repr(f64::from(value)).as_bytes())
    }
}

/// Python's `repr(float)`: the shortest round-tripping digits, positional when the decimal
/// exponent is in `[-4, 16)`, else scientific with a signed two-digit exponent (`1e+16`).
pub(crate) fn python_float_repr(value: f64) -> String {
    if !value.is_finite() {
        // json.dumps writes these bare; serde_json never produces them from a Value.
        return if value.is_nan() {
            "NaN".into()
        } else if value > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "1.2345e-7", "5e0", "-1e16".
    let sci = format!("{value:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        if point <= 0 {
            format!("{sign}0.{}{digits}", "0".repeat((-point) as usize))
        } else if point as usize >= digits.len() {
            let zeros = "0".repeat(point as usize - digits.len());
            format!("{sign}{digits}{zeros}.0")
        } else {
            let (int, frac) = digits.split_at(point as usize);
            format!("{sign}{int}.{frac}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() {
            first.to_owned()
        } else {
            format!("{first}.{rest}")
        };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exp.abs())
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

    fn check_float(value: f64, python_repr: &str) {
        assert_eq!(python_float_repr(value), python_repr, "{value}");
    }

    #[test]
    fn float_repr_matches_python() {
        check_float(1.0, "1.0");
        check_float(-2.5, "-2.5");
        check_float(0.1, "0.1");
        check_float(0.0001, "0.0001");
        check_float(0.00001, "1e-05");
        check_float(1.5e-7, "1.5e-07");
        check_float(1e15, "1000000000000000.0");
        check_float(1e16, "1e+16");
        check_float(123456789012345.6, "123456789012345.6");
        check_float(1.7976931348623157e308, "1.7976931348623157e+308");
        check_float(-1e100, "-1e+100");
        check_float(0.0, "0.0");
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
