//! Two Python spellings that several crates must reproduce exactly, kept in one place:
//!
//! * [`float_repr`]: Python's `repr(float)`, which is how Python's `json` module writes a float.
//!   The mapping engine needs it to see an item as jq saw it inside Python Ocean, and to turn YAML
//!   numbers into expressions as `str()` does; the Port client needs it to count the bytes of an
//!   upsert request as Python Ocean counts them.
//! * [`parse_bool`]: the text spellings of a boolean that pydantic (v1, what Python Ocean's settings
//!   and port-app-config models use) accepts. Settings, the port-app-config loader and command
//!   line flags all take booleans this way.
//!
//! Pure functions on plain values, no I/O.

/// Python's `repr` of a float: the shortest digits that read back as the same double, positional
/// when the decimal exponent is in `[-4, 16)` (`0.0001`, `1000000000000000.0`, always with a
/// fraction), scientific otherwise with a sign and at least two exponent digits (`1e-05`,
/// `1e+16`, `2.5e-08`). Non-finite values are spelled as `json.dumps` writes them: `NaN`,
/// `Infinity`, `-Infinity`.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }
    // Rust's `{:e}` is the shortest representation that round-trips, as Python's repr is:
    // "1.2345e-7", "5e0".
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp10: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let n = digits.len() as i32;
    let mut out = String::with_capacity(digits.len() + 8);
    if f < 0.0 {
        out.push('-');
    }
    if (-4..16).contains(&exp10) {
        let point = exp10 + 1; // digits before the decimal point
        if point <= 0 {
            out.push_str("0.");
            for _ in point..0 {
                out.push('0');
            }
            out.push_str(&digits);
        } else if point >= n {
            out.push_str(&digits);
            for _ in n..point {
                out.push('0');
            }
            out.push_str(".0");
        } else {
            out.push_str(&digits[..point as usize]);
            out.push('.');
            out.push_str(&digits[point as usize..]);
        }
    } else {
        out.push_str(&digits[..1]);
        if n > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp10 < 0 { '-' } else { '+' });
        let e = exp10.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        out.push_str(&e.to_string());
    }
    out
}

/// A boolean written as text, as pydantic reads it: `true`/`false`, `1`/`0`, `yes`/`no`,
/// `on`/`off`, `t`/`f`, `y`/`n`, in any letter case. Anything else (including surrounding
/// whitespace, which pydantic does not strip) is `None`; callers that accept padded values trim
/// first.
pub fn parse_bool(text: &str) -> Option<bool> {
    const TRUE: [&str; 6] = ["true", "1", "yes", "on", "t", "y"];
    const FALSE: [&str; 6] = ["false", "0", "no", "off", "f", "n"];
    if TRUE.iter().any(|v| text.eq_ignore_ascii_case(v)) {
        Some(true)
    } else if FALSE.iter().any(|v| text.eq_ignore_ascii_case(v)) {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_repr_matches_python() {
        // What CPython 3.11 prints for repr() of the same doubles.
        for (f, python) in [
            (1.0, "1.0"),
            (-2.5, "-2.5"),
            (0.1, "0.1"),
            (123.25, "123.25"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-5, "1.5e-05"),
            (1.5e-7, "1.5e-07"),
            (2.5e-8, "2.5e-08"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (123456789012345.6, "123456789012345.6"),
            (1e300, "1e+300"),
            (-1e100, "-1e+100"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ] {
            assert_eq!(float_repr(f), python, "{f:e}");
        }
    }

    #[test]
    fn float_repr_reads_back_as_the_same_double() {
        for f in [
            0.1 + 0.2,
            1.0 / 3.0,
            6.02214076e23,
            -9.109e-31,
            4503599627370497.0,
        ] {
            assert_eq!(float_repr(f).parse::<f64>().unwrap(), f);
        }
    }

    #[test]
    fn booleans_take_pydantic_spellings_only() {
        for t in [
            "true", "True", "TRUE", "1", "yes", "Yes", "on", "ON", "t", "T", "y", "Y",
        ] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in [
            "false", "False", "0", "no", "NO", "off", "Off", "f", "F", "n", "N",
        ] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        for bad in [
            "", " true", "true ", "2", "enabled", "nope", "truee", "-1", "0.0",
        ] {
            assert_eq!(parse_bool(bad), None, "{bad:?}");
        }
    }
}
