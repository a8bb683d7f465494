//! Number spelling, the way jq 1.8 and Python write numbers.
//!
//! jq 1.8 keeps the literal of a number it parsed (from the input or from the program) until
//! arithmetic touches it, and prints it in decNumber's canonical form (`1.0`, `1E+300`,
//! `2.5E-8`); computed numbers are doubles printed with 17 significant digits at most (`1e+17`,
//! `1e-05`). Python Ocean serialises items with Python's `json` module (floats as `repr`) before
//! jq reads them, and turns what jq returns back into Python values (integral doubles become
//! exact integers). This module holds those spellings and nothing else: no parsing of documents,
//! no arithmetic. Python's `repr(float)` itself is [`ocean_model::python::float_repr`].

use ocean_model::python::float_repr;
use std::cmp::Ordering;

/// The shortest round-trip decimal digits of a finite, non-zero `f.abs()` and the decimal
/// exponent of the first digit (`1234.5` → `("12345", 3)`).
fn shortest_digits(f: f64) -> (String, i32) {
    // Rust's `{:e}` is the shortest representation that round-trips, like Python's repr and
    // jq's dtoa mode 0.
    let s = format!("{:e}", f.abs());
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    (digits, exp.parse().unwrap_or(0))
}

/// How jq 1.8 prints a number that has no literal (`jvp_dtoa_fmt`): shortest digits, fixed
/// notation unless the exponent is below -4 or the number has more than 15 zeros to pad, then
/// `1e+17` / `1.5e-05` style. NaN prints as `null`, infinities as the largest double.
pub fn jq_format(f: f64) -> String {
    let mut out = String::new();
    write_jq(&mut out, f);
    out
}

/// Appends [`jq_format`] of `f` to `out`.
pub fn write_jq(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("null");
        return;
    }
    let f = if f.is_infinite() {
        f64::MAX.copysign(f)
    } else {
        f
    };
    if f == 0.0 {
        out.push_str(if f.is_sign_negative() { "-0" } else { "0" });
        return;
    }
    if f.fract() == 0.0 && f.abs() < 1e16 {
        // The common case: a small integer prints as itself.
        out.push_str(&(f as i64).to_string());
        return;
    }
    if f < 0.0 {
        out.push('-');
    }
    let (digits, exp10) = shortest_digits(f);
    let n = digits.len() as i32;
    let decpt = exp10 + 1;
    if decpt <= -4 || decpt > n + 15 {
        out.push_str(&digits[..1]);
        if n > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        let e = decpt - 1;
        out.push(if e < 0 { '-' } else { '+' });
        let e = e.abs();
        if e < 10 {
            out.push('0');
        }
        out.push_str(&e.to_string());
    } else if decpt <= 0 {
        out.push_str("0.");
        for _ in decpt..0 {
            out.push('0');
        }
        out.push_str(&digits);
    } else if decpt >= n {
        out.push_str(&digits);
        for _ in n..decpt {
            out.push('0');
        }
    } else {
        out.push_str(&digits[..decpt as usize]);
        out.push('.');
        out.push_str(&digits[decpt as usize..]);
    }
}

/// A decimal number split into sign, coefficient digits (no leading zeros; `"0"` for zero) and
/// exponent, as decNumber holds a literal.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    coefficient: String,
    exponent: i64,
}

impl Decimal {
    /// Parses a JSON/jq number literal (`-12.50e3`, `.5`, `1E+2`).
    fn parse(text: &str) -> Option<Decimal> {
        let bytes = text.as_bytes();
        let mut i = 0;
        let mut negative = false;
        if i < bytes.len() && (bytes[i] == b'-' || bytes[i] == b'+') {
            negative = bytes[i] == b'-';
            i += 1;
        }
        let mut coefficient = String::new();
        let mut exponent: i64 = 0;
        let mut seen_digit = false;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            coefficient.push(bytes[i] as char);
            seen_digit = true;
            i += 1;
        }
        if i < bytes.len() && bytes[i] == b'.' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                coefficient.push(bytes[i] as char);
                exponent -= 1;
                seen_digit = true;
                i += 1;
            }
        }
        if !seen_digit {
            return None;
        }
        if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
            i += 1;
            let mut exp_negative = false;
            if i < bytes.len() && (bytes[i] == b'-' || bytes[i] == b'+') {
                exp_negative = bytes[i] == b'-';
                i += 1;
            }
            let start = i;
            let mut e: i64 = 0;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                e = e
                    .saturating_mul(10)
                    .saturating_add((bytes[i] - b'0') as i64);
                i += 1;
            }
            if start == i {
                return None;
            }
            exponent += if exp_negative { -e } else { e };
        }
        if i != bytes.len() {
            return None;
        }
        let trimmed = coefficient.trim_start_matches('0');
        let coefficient = if trimmed.is_empty() {
            "0".to_owned()
        } else {
            trimmed.to_owned()
        };
        Some(Decimal {
            negative,
            coefficient,
            exponent,
        })
    }

    /// decNumber's to-scientific-string.
    fn to_sci_string(&self) -> String {
        let mut out = String::new();
        if self.negative {
            out.push('-');
        }
        let c = &self.coefficient;
        let n = c.len() as i64;
        let adjusted = self.exponent + n - 1;
        if self.exponent <= 0 && adjusted >= -6 {
            if self.exponent == 0 {
                out.push_str(c);
            } else {
                let point = n + self.exponent;
                if point > 0 {
                    out.push_str(&c[..point as usize]);
                    out.push('.');
                    out.push_str(&c[point as usize..]);
                } else {
                    out.push_str("0.");
                    for _ in point..0 {
                        out.push('0');
                    }
                    out.push_str(c);
                }
            }
        } else {
            out.push_str(&c[..1]);
            if n > 1 {
                out.push('.');
                out.push_str(&c[1..]);
            }
            out.push('E');
            if adjusted > 0 {
                out.push('+');
            }
            out.push_str(&adjusted.to_string());
        }
        out
    }

    /// Exact comparison of two decimals.
    fn cmp(&self, other: &Decimal) -> Ordering {
        let zero_a = self.coefficient == "0";
        let zero_b = other.coefficient == "0";
        let sign = |neg: bool, zero: bool| {
            if zero {
                0
            } else if neg {
                -1
            } else {
                1
            }
        };
        let (sa, sb) = (sign(self.negative, zero_a), sign(other.negative, zero_b));
        if sa != sb || sa == 0 {
            return sa.cmp(&sb);
        }
        let magnitude = {
            let (ca, cb) = (
                self.coefficient.trim_end_matches('0'),
                other.coefficient.trim_end_matches('0'),
            );
            let ea = self.exponent + (self.coefficient.len() - ca.len()) as i64;
            let eb = other.exponent + (other.coefficient.len() - cb.len()) as i64;
            let (aa, ab) = (ea + ca.len() as i64, eb + cb.len() as i64);
            aa.cmp(&ab).then_with(|| {
                // Same magnitude: compare digit by digit, padding the shorter with zeros.
                let len = ca.len().max(cb.len());
                let pa = ca.bytes().chain(std::iter::repeat(b'0')).take(len);
                let pb = cb.bytes().chain(std::iter::repeat(b'0')).take(len);
                pa.cmp(pb)
            })
        };
        if sa < 0 {
            magnitude.reverse()
        } else {
            magnitude
        }
    }
}

/// The canonical (decNumber) spelling jq 1.8 keeps for a number literal, or `None` when the
/// text is not a number.
pub fn canonical_literal(text: &str) -> Option<String> {
    Decimal::parse(text).map(|d| d.to_sci_string())
}

/// Compares two canonical literals exactly (jq compares two literal numbers as decimals).
pub fn compare_literals(a: &str, b: &str) -> Option<Ordering> {
    Some(Decimal::parse(a)?.cmp(&Decimal::parse(b)?))
}

/// The literal jq keeps for a float that Python wrote with `repr`, when its spelling differs
/// from how jq would print the bare double (`1.0`, `1E+16`, `0.000015`); `None` when they agree.
pub fn literal_for_python_float(f: f64) -> Option<Box<str>> {
    if !f.is_finite() {
        return None;
    }
    let a = f.abs();
    if f.fract() != 0.0 && (1e-4..1e16).contains(&a) {
        return None;
    }
    canonical_literal(&float_repr(f)).map(String::into_boxed_str)
}

/// The literal jq keeps for an integer written with all its digits (Python ints are exact),
/// when it differs from how jq would print the double it rounds to.
pub fn literal_for_integer_text(digits: &str) -> Option<Box<str>> {
    let unsigned = digits.trim_start_matches('-');
    if unsigned.len() <= 15 {
        return None;
    }
    let canonical = canonical_literal(digits)?;
    // Python normalises `-0` to `0`; longer texts never are zero, so this is the canonical form.
    Some(canonical.into_boxed_str())
}

/// Python's `str()` of the value the jq binding returns for a double: integral doubles are
/// exact Python ints (all digits), others are floats in `repr` form. NaN and infinities never
/// get here (they become null / the largest double first).
pub fn python_str_of_double(f: f64) -> String {
    if f.fract() == 0.0 && f.is_finite() {
        exact_integer_string(f)
    } else {
        float_repr(f)
    }
}

/// All the digits of an integral double (`1e300` → a 301-digit integer), as Python's
/// `int(float)` gives them.
pub fn exact_integer_string(f: f64) -> String {
    if f.abs() < 9.0e15 {
        return (f as i64).to_string();
    }
    if f.abs() < 1.8e19 {
        let s = (f.abs() as u64).to_string();
        return if f < 0.0 { format!("-{s}") } else { s };
    }
    // mantissa * 2^exp with a little base-1e9 big integer.
    let bits = f.abs().to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32 - 1075;
    let mantissa = (bits & ((1u64 << 52) - 1)) | (1u64 << 52);
    let mut limbs: Vec<u64> = vec![mantissa % 1_000_000_000, mantissa / 1_000_000_000];
    for _ in 0..exp.max(0) {
        let mut carry = 0u64;
        for limb in limbs.iter_mut() {
            let v = *limb * 2 + carry;
            *limb = v % 1_000_000_000;
            carry = v / 1_000_000_000;
        }
        if carry > 0 {
            limbs.push(carry);
        }
    }
    while limbs.len() > 1 && limbs.last() == Some(&0) {
        limbs.pop();
    }
    let mut out = String::new();
    if f < 0.0 {
        out.push('-');
    }
    let mut iter = limbs.iter().rev();
    if let Some(first) = iter.next() {
        out.push_str(&first.to_string());
    }
    for limb in iter {
        out.push_str(&format!("{limb:09}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jq_prints_doubles_like_dtoa() {
        let check = |f: f64, s: &str| assert_eq!(jq_format(f), s, "{f:e}");
        check(3.0, "3");
        check(2.5, "2.5");
        check(-0.0, "-0");
        check(1e16, "1e+16");
        check(1e17, "1e+17");
        check(12345678901234567000.0, "12345678901234567000");
        check(0.0001, "0.0001");
        check(0.00001, "1e-05");
        check(123456789012.5, "123456789012.5");
        check(1.5e300, "1.5e+300");
        check(f64::INFINITY, "1.7976931348623157e+308");
        check(f64::NAN, "null");
        check(1e100, "1e+100");
    }

    #[test]
    fn literals_take_decnumber_form() {
        let check = |t: &str, s: &str| assert_eq!(canonical_literal(t).unwrap(), s, "{t}");
        check("1.0", "1.0");
        check("100", "100");
        check("1e2", "1E+2");
        check("1e+300", "1E+300");
        check("2.5e-08", "2.5E-8");
        check("0.00001", "0.00001");
        check("1e-05", "0.00001");
        check("1.50", "1.50");
        check("-0", "-0");
        check("0.0", "0.0");
        check("1e1000", "1E+1000");
        check(".5", "0.5");
        assert_eq!(canonical_literal("abc"), None);
        assert_eq!(canonical_literal("1e"), None);
    }

    #[test]
    fn python_floats_keep_a_literal_only_when_jq_would_print_them_differently() {
        assert_eq!(literal_for_python_float(1.0).as_deref(), Some("1.0"));
        assert_eq!(literal_for_python_float(2.5e-8).as_deref(), Some("2.5E-8"));
        assert_eq!(literal_for_python_float(1e300).as_deref(), Some("1E+300"));
        assert_eq!(literal_for_python_float(2.5), None);
        assert_eq!(literal_for_integer_text("12"), None);
        assert_eq!(
            literal_for_integer_text("12345678901234567890").as_deref(),
            Some("12345678901234567890")
        );
    }

    #[test]
    fn exact_integers_have_all_digits() {
        assert_eq!(
            exact_integer_string(12345678901234567890.0),
            "12345678901234567168"
        );
        assert_eq!(exact_integer_string(-3.0), "-3");
        let big = exact_integer_string(1e300);
        assert_eq!(big.len(), 301);
        assert!(big.starts_with("1000000000000000052504760255204420248704468581108159154915854115511802457988908195786371375080447864043704443832883878176942523235360430575644792184786706982848387200926575803737830233794788090059368953234970799945081119038967640880074652742780142494579258788820056842838115669472196386865459400540160"));
        assert_eq!(python_str_of_double(2.5), "2.5");
    }

    #[test]
    fn decimal_comparison_is_exact() {
        use Ordering::*;
        let check = |a: &str, b: &str, o| assert_eq!(compare_literals(a, b), Some(o), "{a} {b}");
        check("12345678901234567890", "12345678901234567168", Greater);
        check("12345678901234567890", "12345678901234567890", Equal);
        check("1.0", "1", Equal);
        check("1E+2", "100", Equal);
        check("-5", "3", Less);
        check("-5", "-3", Less);
        check("0", "-0", Equal);
        check("0.1", "0.10", Equal);
        check("12345678901234567890", "1.2345678901234567E+19", Greater);
    }
}
