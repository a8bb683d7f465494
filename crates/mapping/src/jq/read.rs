//! Getting items into jq values and results back out.
//!
//! Python Ocean hands jq each item as Python's `json` module writes it, and reads back what the
//! jq binding returns. Both directions are reproduced here: [`Reader`] parses raw JSON bytes
//! straight into [`Val`]s (integers keep all their digits as literals, floats take the spelling
//! Python's `repr` gives them, object keys are shared between items), [`from_json`] converts a
//! `serde_json::Value` the same way, and [`to_json`] turns a result into the value Ocean sends
//! (integral doubles as integers, NaN as null, infinities as the largest double). No I/O here.

use super::num;
use super::value::{Map, Val};
use serde_json::{Number, Value};
use std::collections::HashMap;
use std::rc::Rc;

/// A JSON syntax error with its byte offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON at line {line}, column {column}: {message}")]
pub struct JsonError {
    /// What was wrong.
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in bytes).
    pub column: usize,
}

/// Parses JSON text into [`Val`]s, sharing object keys between the values it builds.
#[derive(Default)]
pub struct Reader {
    keys: HashMap<Box<[u8]>, Rc<str>, foldhash::fast::RandomState>,
}

struct Cursor<'a, 'r> {
    bytes: &'a [u8],
    pos: usize,
    reader: &'r mut Reader,
    scratch: Vec<u8>,
}

const MAX_DEPTH: usize = 512;

impl Reader {
    /// A reader with an empty key cache.
    pub fn new() -> Reader {
        Reader::default()
    }

    /// Parses one JSON document (surrounding whitespace allowed).
    pub fn parse(&mut self, bytes: &[u8]) -> Result<Val, JsonError> {
        let mut c = Cursor {
            bytes,
            pos: 0,
            reader: self,
            scratch: Vec::new(),
        };
        c.skip_ws();
        let v = c.value(0)?;
        c.skip_ws();
        if c.pos != c.bytes.len() {
            return Err(c.error("trailing characters after the JSON value"));
        }
        Ok(v)
    }

    /// Parses a JSON array and returns its elements; anything else is an error naming what was
    /// found instead.
    pub fn parse_array(&mut self, bytes: &[u8]) -> Result<Vec<Val>, JsonError> {
        match self.parse(bytes)? {
            Val::Arr(a) => Ok(Rc::try_unwrap(a).unwrap_or_else(|a| (*a).clone())),
            other => Err(JsonError {
                message: format!(
                    "expected a JSON array of items, found {}",
                    other.type_name()
                ),
                line: 1,
                column: 1,
            }),
        }
    }

    fn key(&mut self, bytes: &[u8]) -> Rc<str> {
        if let Some(k) = self.keys.get(bytes) {
            return k.clone();
        }
        let k: Rc<str> = Rc::from(String::from_utf8_lossy(bytes).as_ref());
        if self.keys.len() < 4096 {
            self.keys.insert(bytes.into(), k.clone());
        }
        k
    }
}

impl Cursor<'_, '_> {
    fn error(&self, message: &str) -> JsonError {
        let upto = &self.bytes[..self.pos.min(self.bytes.len())];
        let line = upto.iter().filter(|b| **b == b'\n').count() + 1;
        let column = self.pos - upto.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1) + 1;
        JsonError {
            message: message.to_owned(),
            line,
            column,
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b) = self.bytes.get(self.pos) {
            if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn expect_lit(&mut self, lit: &[u8], v: Val) -> Result<Val, JsonError> {
        if self.bytes[self.pos..].starts_with(lit) {
            self.pos += lit.len();
            Ok(v)
        } else {
            Err(self.error("unexpected character"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Val, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        match self.bytes.get(self.pos) {
            None => Err(self.error("unexpected end of input")),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => {
                let s = self.string()?;
                Ok(Val::Str(Rc::from(s)))
            }
            Some(b't') => self.expect_lit(b"true", Val::Bool(true)),
            Some(b'f') => self.expect_lit(b"false", Val::Bool(false)),
            Some(b'n') => self.expect_lit(b"null", Val::Null),
            Some(b'N') => self.expect_lit(b"NaN", Val::Num(f64::NAN)),
            Some(b'I') => self.expect_lit(b"Infinity", Val::Num(f64::INFINITY)),
            Some(b'-') if self.bytes[self.pos..].starts_with(b"-Infinity") => {
                self.pos += 9;
                Ok(Val::Num(f64::NEG_INFINITY))
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("unexpected character")),
        }
    }

    fn number(&mut self) -> Result<Val, JsonError> {
        let start = self.pos;
        if self.bytes[self.pos] == b'-' {
            self.pos += 1;
        }
        let int_start = self.pos;
        while self.pos < self.bytes.len() && self.bytes[self.pos].is_ascii_digit() {
            self.pos += 1;
        }
        if self.pos == int_start {
            return Err(self.error("invalid number"));
        }
        if self.bytes[int_start] == b'0' && self.pos - int_start > 1 {
            return Err(self.error("invalid number (leading zero)"));
        }
        let mut is_float = false;
        if self.bytes.get(self.pos) == Some(&b'.') {
            is_float = true;
            self.pos += 1;
            let frac = self.pos;
            while self.pos < self.bytes.len() && self.bytes[self.pos].is_ascii_digit() {
                self.pos += 1;
            }
            if frac == self.pos {
                return Err(self.error("invalid number"));
            }
        }
        if matches!(self.bytes.get(self.pos), Some(b'e' | b'E')) {
            is_float = true;
            self.pos += 1;
            if matches!(self.bytes.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            let exp = self.pos;
            while self.pos < self.bytes.len() && self.bytes[self.pos].is_ascii_digit() {
                self.pos += 1;
            }
            if exp == self.pos {
                return Err(self.error("invalid number"));
            }
        }
        // The slice is ASCII digits and signs only.
        let text = std::str::from_utf8(&self.bytes[start..self.pos]).unwrap_or("0");
        if is_float {
            let f: f64 = text.parse().unwrap_or(f64::NAN);
            Ok(Val::num_with_literal(f, num::literal_for_python_float(f)))
        } else if text.len() <= 15 {
            // Exact in a double and printed the same way by jq.
            let i: i64 = text.parse().unwrap_or(0);
            Ok(Val::Num(i as f64))
        } else {
            let f: f64 = text.parse().unwrap_or(f64::NAN);
            Ok(Val::num_with_literal(
                f,
                num::literal_for_integer_text(text),
            ))
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let h = self
            .bytes
            .get(self.pos..self.pos + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| self.error("invalid \\u escape"))?;
        self.pos += 4;
        Ok(h)
    }

    /// Parses a string starting at the opening quote; returns its text.
    fn string(&mut self) -> Result<String, JsonError> {
        let raw = self.string_bytes()?;
        Ok(match String::from_utf8(raw) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    fn string_bytes(&mut self) -> Result<Vec<u8>, JsonError> {
        self.pos += 1;
        let start = self.pos;
        // Fast path: no escapes.
        while let Some(&b) = self.bytes.get(self.pos) {
            match b {
                b'"' => {
                    let out = self.bytes[start..self.pos].to_vec();
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => break,
                0..=0x1f => return Err(self.error("control character in string")),
                _ => self.pos += 1,
            }
        }
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        out.extend_from_slice(&self.bytes[start..self.pos]);
        loop {
            let Some(&b) = self.bytes.get(self.pos) else {
                return Err(self.error("unterminated string"));
            };
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.bytes.get(self.pos) else {
                        return Err(self.error("unterminated string"));
                    };
                    self.pos += 1;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut c = self.hex4()?;
                            if (0xd800..0xdc00).contains(&c)
                                && self.bytes[self.pos..].starts_with(b"\\u")
                            {
                                let save = self.pos;
                                self.pos += 2;
                                let low = self.hex4()?;
                                if (0xdc00..0xe000).contains(&low) {
                                    c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
                                } else {
                                    self.pos = save;
                                }
                            }
                            let ch = char::from_u32(c).unwrap_or('\u{fffd}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Err(self.error("invalid escape")),
                    }
                }
                0..=0x1f => return Err(self.error("control character in string")),
                _ => out.push(b),
            }
        }
        let result = out.clone();
        self.scratch = out;
        Ok(result)
    }

    fn array(&mut self, depth: usize) -> Result<Val, JsonError> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(Val::arr(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Val::arr(items));
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Val, JsonError> {
        self.pos += 1;
        let mut map = Map::default();
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(Val::obj(map));
        }
        loop {
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b'"') {
                return Err(self.error("expected a string key"));
            }
            let raw = self.string_bytes()?;
            let key = self.reader.key(&raw);
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b':') {
                return Err(self.error("expected ':'"));
            }
            self.pos += 1;
            self.skip_ws();
            let v = self.value(depth + 1)?;
            map.insert(key, v);
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Val::obj(map));
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }
}

/// Converts a `serde_json::Value` into a [`Val`] with the literals Python Ocean's jq would see.
pub fn from_json(v: &Value) -> Val {
    match v {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => from_number(n),
        Value::String(s) => Val::str(s),
        Value::Array(a) => Val::arr(a.iter().map(from_json).collect()),
        Value::Object(o) => {
            let mut m = Map::with_capacity_and_hasher(o.len(), Default::default());
            for (k, v) in o {
                m.insert(Rc::from(k.as_str()), from_json(v));
            }
            Val::obj(m)
        }
    }
}

fn from_number(n: &Number) -> Val {
    if let Some(i) = n.as_i64() {
        if i.unsigned_abs() < 1_000_000_000_000_000 {
            return Val::Num(i as f64);
        }
        return Val::num_with_literal(i as f64, num::literal_for_integer_text(&i.to_string()));
    }
    if let Some(u) = n.as_u64() {
        return Val::num_with_literal(u as f64, num::literal_for_integer_text(&u.to_string()));
    }
    let f = n.as_f64().unwrap_or(f64::NAN);
    Val::num_with_literal(f, num::literal_for_python_float(f))
}

/// The JSON value Python Ocean gets back from jq for `v`: integral doubles become integers
/// (exact where they fit 64 bits), NaN becomes null, infinities the largest double.
pub fn to_json(v: &Val) -> Value {
    match v {
        Val::Null => Value::Null,
        Val::Bool(b) => Value::Bool(*b),
        Val::Num(f) => number_to_json(*f),
        Val::Lit(l) => number_to_json(l.value),
        Val::Str(s) => Value::String(s.to_string()),
        Val::Arr(a) => Value::Array(a.iter().map(to_json).collect()),
        Val::Obj(o) => Value::Object(o.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect()),
    }
}

/// Converts a result number the way the jq binding does.
pub fn number_to_json(f: f64) -> Value {
    if f.is_nan() {
        return Value::Null;
    }
    let f = if f.is_infinite() {
        f64::MAX.copysign(f)
    } else {
        f
    };
    if f.fract() == 0.0 {
        if (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
            return Value::Number(Number::from(f as i64));
        }
        if (0.0..1.844_674_407_370_955_2e19).contains(&f) {
            return Value::Number(Number::from(f as u64));
        }
    }
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(s: &str) -> Val {
        Reader::new().parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn numbers_take_python_spellings() {
        let check = |s: &str, jq: &str| assert_eq!(parse(s).to_json(), jq, "{s}");
        check("1.0", "1.0");
        check("2.5e-08", "2.5E-8");
        check("1e+300", "1E+300");
        check("1.50", "1.5");
        check("1E2", "100.0");
        check("12345678901234567890", "12345678901234567890");
        check("-0", "0");
        check("12", "12");
        check("[1, {\"a\": 0.1}]", "[1,{\"a\":0.1}]");
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(parse(r#""a\u00e9\ud83d\ude00\n""#), Val::str("aé😀\n"));
        assert_eq!(parse(r#""\ud800x""#), Val::str("\u{fffd}x"));
    }

    #[test]
    fn duplicate_keys_keep_the_first_position_and_the_last_value() {
        assert_eq!(
            parse(r#"{"a":1,"b":2,"a":3}"#).to_json(),
            r#"{"a":3,"b":2}"#
        );
    }

    #[test]
    fn errors_point_at_the_place() {
        let e = Reader::new().parse(b"[1,\n  x]").unwrap_err();
        assert_eq!((e.line, e.column), (2, 3));
        assert!(Reader::new().parse(b"[1] 2").is_err());
        assert!(Reader::new().parse_array(b"{}").is_err());
    }

    #[test]
    fn results_convert_like_the_jq_binding() {
        assert_eq!(to_json(&Val::Num(2.0)), json!(2));
        assert_eq!(to_json(&Val::Num(-0.0)), json!(0));
        assert_eq!(to_json(&Val::Num(f64::NAN)), json!(null));
        assert_eq!(to_json(&Val::Num(f64::INFINITY)), json!(f64::MAX));
        assert_eq!(
            to_json(&parse("12345678901234567890")),
            json!(12345678901234567168u64)
        );
        assert_eq!(to_json(&parse("2.5")), json!(2.5));
    }

    #[test]
    fn serde_values_convert_like_parsed_text() {
        let v = json!({"a": 1.0, "b": 12345678901234567890u64, "c": [true, null, "x"]});
        assert_eq!(
            from_json(&v).to_json(),
            r#"{"a":1.0,"b":12345678901234567890,"c":[true,null,"x"]}"#
        );
    }

    mod generated {
        //! The reader against serde_json on generated documents: the same values (numbers
        //! compared as doubles, since the reader keeps Python's spellings), and on arbitrary or
        //! damaged text, never a panic and never a rejection of what serde_json accepts.

        use super::*;
        use proptest::prelude::*;

        /// Numbers as doubles; everything else exactly, object keys in order.
        fn same(a: &Value, b: &Value) -> bool {
            match (a, b) {
                (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
                (Value::Array(x), Value::Array(y)) => {
                    x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
                }
                (Value::Object(x), Value::Object(y)) => {
                    x.len() == y.len()
                        && x.iter().zip(y).all(|((k, a), (l, b))| k == l && same(a, b))
                }
                _ => a == b,
            }
        }

        fn document() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<u64>().prop_map(Value::from),
                any::<f64>()
                    .prop_filter("JSON numbers are finite", |f| f.is_finite())
                    .prop_map(Value::from),
                any::<String>().prop_map(Value::String),
                // Escapes, control characters and non-ASCII, densely.
                r#"[\\"\x00-\x1f/a-z\u{80}-\u{10ffff}]{0,8}"#.prop_map(Value::String),
            ];
            leaf.prop_recursive(4, 48, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                    prop::collection::vec((any::<String>(), inner), 0..6)
                        .prop_map(|kvs| Value::Object(kvs.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn reader_agrees_with_serde_json(doc in document(), pretty in any::<bool>()) {
                let text = if pretty {
                    serde_json::to_string_pretty(&doc)
                } else {
                    serde_json::to_string(&doc)
                }
                .expect("serialisable");
                let read = Reader::new().parse(text.as_bytes());
                prop_assert!(read.is_ok(), "{:?} on {}", read.err(), text);
                let back = to_json(&read.expect("checked"));
                prop_assert!(same(&doc, &back), "{} read back as {}", text, back);
                // From serde values the conversion agrees with parsing the text.
                prop_assert!(same(&to_json(&from_json(&doc)), &back));
            }

            #[test]
            fn reader_never_panics_and_accepts_what_serde_json_accepts(
                doc in document(),
                edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 0..4),
                noise in prop::collection::vec(any::<u8>(), 0..24),
            ) {
                let mut bytes = serde_json::to_vec(&doc).expect("serialisable");
                for (at, byte, kind) in edits {
                    let i = at.index(bytes.len() + 1);
                    match kind {
                        0 => bytes.insert(i, byte),
                        1 if i < bytes.len() => {
                            bytes.remove(i);
                        }
                        _ if i < bytes.len() => bytes[i] = byte,
                        _ => {}
                    }
                }
                for candidate in [bytes, noise] {
                    let read = Reader::new().parse(&candidate);
                    if let Ok(expected) = serde_json::from_slice::<Value>(&candidate) {
                        let got = read.map(|v| to_json(&v));
                        prop_assert!(
                            got.as_ref().is_ok_and(|v| same(&expected, v)),
                            "{:?}: serde_json reads {}, the reader {:?}",
                            String::from_utf8_lossy(&candidate), expected, got
                        );
                    }
                }
            }
        }
    }
}
