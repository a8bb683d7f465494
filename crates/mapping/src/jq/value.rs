//! The JSON value jq programs run on, with jq 1.8's semantics.
//!
//! jaq is generic over its value type; Ocean brings its own instead of `jaq-json`'s so that the
//! observable behaviour is jq 1.8.2's (what Python Ocean embeds) rather than jaq's: numbers are
//! doubles that remember their literal until arithmetic touches them, `4/2` is `2`, object keys
//! are strings only, `"ab" * 0` is `""`, comparisons and sort order are jq's, and values print as
//! jq prints them. Values are reference counted (`Rc`) and so stay on the thread that built them;
//! compiled programs are shared between threads, values never are.

use super::num;
use indexmap::IndexMap;
use jaq_core::path::Opt;
use jaq_core::{Exn, ValX, val};
use std::cmp::Ordering;
use std::fmt;
use std::rc::Rc;

/// An object: string keys in insertion order, as jq keeps and prints them.
pub type Map = IndexMap<Rc<str>, Val, foldhash::fast::RandomState>;

/// A jq error carrying a [`Val`].
pub type Error = jaq_core::Error<Val>;

/// The longest string an expression may build by repetition or concatenation (16 MiB, far more
/// than Port accepts in a whole upsert request): `"x" * .n` on a third-party `n` must not make
/// the process allocate gigabytes.
pub const MAX_STRING_BYTES: usize = 16 << 20;

/// The most elements an expression may build by concatenating arrays (doubling an array thirty
/// times would otherwise ask for billions).
pub const MAX_ARRAY_LEN: usize = 4_000_000;

/// A value or a jq error.
pub type ValR<T = Val> = Result<T, Error>;

/// A number that still has the spelling jq 1.8 keeps for literals.
#[derive(Debug)]
pub struct Lit {
    /// The double the literal rounds to (what arithmetic uses).
    pub value: f64,
    /// The canonical decNumber spelling (`1.0`, `1E+300`, all digits of a big integer).
    pub text: Box<str>,
}

/// A JSON value as jq sees it.
#[derive(Clone, Debug, Default)]
pub enum Val {
    /// `null`
    #[default]
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number without a kept literal.
    Num(f64),
    /// A number with its literal (unmodified input numbers and program literals whose spelling
    /// differs from the double's).
    Lit(Rc<Lit>),
    /// A string.
    Str(Rc<str>),
    /// An array.
    Arr(Rc<Vec<Val>>),
    /// An object.
    Obj(Rc<Map>),
}

/// Builds a jq error from a message.
pub fn err(msg: impl Into<String>) -> Error {
    Error::new(Val::from(msg.into()))
}

impl Val {
    /// A string value.
    pub fn str(s: &str) -> Val {
        Val::Str(Rc::from(s))
    }

    /// A number value, keeping `text` as its literal when jq would print the double differently.
    pub fn num_with_literal(value: f64, text: Option<Box<str>>) -> Val {
        match text {
            Some(text) => Val::Lit(Rc::new(Lit { value, text })),
            None => Val::Num(value),
        }
    }

    /// An object value.
    pub fn obj(map: Map) -> Val {
        Val::Obj(Rc::new(map))
    }

    /// An array value.
    pub fn arr(items: Vec<Val>) -> Val {
        Val::Arr(Rc::new(items))
    }

    /// The numeric value, for numbers.
    pub fn as_num(&self) -> Option<f64> {
        match self {
            Val::Num(f) => Some(*f),
            Val::Lit(l) => Some(l.value),
            _ => None,
        }
    }

    /// The text, for strings.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    /// jq's type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Null => "null",
            Val::Bool(_) => "boolean",
            Val::Num(_) | Val::Lit(_) => "number",
            Val::Str(_) => "string",
            Val::Arr(_) => "array",
            Val::Obj(_) => "object",
        }
    }

    fn type_order(&self) -> u8 {
        match self {
            Val::Null => 0,
            Val::Bool(false) => 1,
            Val::Bool(true) => 2,
            Val::Num(_) | Val::Lit(_) => 3,
            Val::Str(_) => 4,
            Val::Arr(_) => 5,
            Val::Obj(_) => 6,
        }
    }

    /// jq truthiness: everything but `null` and `false`.
    pub fn truthy(&self) -> bool {
        !matches!(self, Val::Null | Val::Bool(false))
    }

    /// Compact JSON the way jq prints it (`tojson`, `tostring` of non-strings).
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    /// Appends the compact JSON of `self` to `out`.
    pub fn write_json(&self, out: &mut String) {
        match self {
            Val::Null => out.push_str("null"),
            Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Val::Num(f) => num::write_jq(out, *f),
            Val::Lit(l) => out.push_str(&l.text),
            Val::Str(s) => write_json_str(out, s),
            Val::Arr(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_json(out);
                }
                out.push(']');
            }
            Val::Obj(o) => {
                out.push('{');
                for (i, (k, v)) in o.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json_str(out, k);
                    out.push(':');
                    v.write_json(out);
                }
                out.push('}');
            }
        }
    }

    /// `type (value)` as jq writes a value into an error message, truncated.
    pub fn describe(&self) -> String {
        let mut dump = self.to_json();
        if dump.len() > 28 {
            let mut cut = 25;
            while !dump.is_char_boundary(cut) {
                cut -= 1;
            }
            dump.truncate(cut);
            dump.push_str("...");
        }
        format!("{} ({dump})", self.type_name())
    }

    /// jq's `tostring`: strings as they are, everything else as compact JSON.
    pub fn to_jq_string(&self) -> Rc<str> {
        match self {
            Val::Str(s) => s.clone(),
            other => Rc::from(other.to_json()),
        }
    }

    /// `length`: code points of a string, elements, keys, 0 for null, absolute value of a number.
    pub fn length(&self) -> ValR<Val> {
        Ok(match self {
            Val::Null => Val::Num(0.0),
            Val::Bool(_) => return Err(err(format!("{} has no length", self.describe()))),
            Val::Num(f) => Val::Num(f.abs()),
            Val::Lit(l) => {
                if l.value < 0.0 {
                    Val::Num(l.value.abs())
                } else {
                    self.clone()
                }
            }
            Val::Str(s) => Val::Num(s.chars().count() as f64),
            Val::Arr(a) => Val::Num(a.len() as f64),
            Val::Obj(o) => Val::Num(o.len() as f64),
        })
    }

    /// `.[k]` (jq's `jv_get`), with `Ok(None)` where the result is null because nothing is
    /// there.
    pub fn get(&self, key: &Val) -> ValR<Val> {
        match (self, key) {
            (Val::Obj(o), Val::Str(k)) => Ok(o.get(&**k).cloned().unwrap_or(Val::Null)),
            (Val::Null, Val::Str(_) | Val::Num(_) | Val::Lit(_) | Val::Null) => Ok(Val::Null),
            (Val::Arr(a), k @ (Val::Num(_) | Val::Lit(_))) => {
                let f = k.as_num().unwrap_or(f64::NAN);
                Ok(array_index(a.len(), f).map_or(Val::Null, |i| a[i].clone()))
            }
            (Val::Arr(a), Val::Arr(sub)) => Ok(indices_of_subarray(a, sub)),
            (Val::Null, Val::Obj(_)) => Ok(Val::Null),
            (Val::Arr(_) | Val::Str(_), Val::Obj(o)) => {
                let start = o.get("start").cloned();
                let end = o.get("end").cloned();
                slice(self, start.as_ref(), end.as_ref())
            }
            (
                Val::Str(_)
                | Val::Arr(_)
                | Val::Obj(_)
                | Val::Num(_)
                | Val::Lit(_)
                | Val::Bool(_)
                | Val::Null,
                k,
            ) => Err(err(match k {
                Val::Str(s) => format!("Cannot index {} with \"{s}\"", self.type_name()),
                _ => format!("Cannot index {} with {}", self.type_name(), k.type_name()),
            })),
        }
    }

    /// `.[]` on arrays and objects.
    pub fn iter_values(&self) -> ValR<Vec<Val>> {
        match self {
            Val::Arr(a) => Ok(a.to_vec()),
            Val::Obj(o) => Ok(o.values().cloned().collect()),
            _ => Err(err(format!("Cannot iterate over {}", self.describe()))),
        }
    }

    /// jq's addition.
    pub fn plus(self, rhs: Val) -> ValR<Val> {
        use Val::*;
        match (self, rhs) {
            (Null, x) | (x, Null) => Ok(x),
            (l @ (Num(_) | Lit(_)), r @ (Num(_) | Lit(_))) => {
                Ok(Num(l.as_num().unwrap_or(0.0) + r.as_num().unwrap_or(0.0)))
            }
            (Str(l), Str(r)) => {
                if l.len() + r.len() > MAX_STRING_BYTES {
                    return Err(err(format!(
                        "{} and {} cannot be added: the result would be longer than {MAX_STRING_BYTES} bytes",
                        Str(l).describe(),
                        Str(r).describe()
                    )));
                }
                let mut s = String::with_capacity(l.len() + r.len());
                s.push_str(&l);
                s.push_str(&r);
                Ok(Val::from(s))
            }
            (Arr(mut l), Arr(r)) => {
                if l.len() + r.len() > MAX_ARRAY_LEN {
                    return Err(err(format!(
                        "{} and {} cannot be added: the result would have more than {MAX_ARRAY_LEN} elements",
                        Arr(l).describe(),
                        Arr(r).describe()
                    )));
                }
                Rc::make_mut(&mut l).extend(r.iter().cloned());
                Ok(Arr(l))
            }
            (Obj(mut l), Obj(r)) => {
                let m = Rc::make_mut(&mut l);
                for (k, v) in r.iter() {
                    m.insert(k.clone(), v.clone());
                }
                Ok(Obj(l))
            }
            (l, r) => Err(err(format!(
                "{} and {} cannot be added",
                l.describe(),
                r.describe()
            ))),
        }
    }

    /// jq's subtraction.
    pub fn minus(self, rhs: Val) -> ValR<Val> {
        use Val::*;
        match (self, rhs) {
            (l @ (Num(_) | Lit(_)), r @ (Num(_) | Lit(_))) => {
                Ok(Num(l.as_num().unwrap_or(0.0) - r.as_num().unwrap_or(0.0)))
            }
            (Arr(mut l), Arr(r)) => {
                Rc::make_mut(&mut l).retain(|x| !r.iter().any(|y| x == y));
                Ok(Arr(l))
            }
            (l, r) => Err(err(format!(
                "{} and {} cannot be subtracted",
                l.describe(),
                r.describe()
            ))),
        }
    }

    /// jq's multiplication (numbers, string repetition, deep object merge).
    pub fn times(self, rhs: Val) -> ValR<Val> {
        use Val::*;
        match (self, rhs) {
            (l @ (Num(_) | Lit(_)), r @ (Num(_) | Lit(_))) => {
                Ok(Num(l.as_num().unwrap_or(0.0) * r.as_num().unwrap_or(0.0)))
            }
            (Str(s), n @ (Num(_) | Lit(_))) | (n @ (Num(_) | Lit(_)), Str(s)) => {
                let n = n.as_num().unwrap_or(f64::NAN);
                if n.is_nan() || n < 0.0 {
                    Ok(Null)
                } else {
                    let times = n.min(u32::MAX as f64) as usize;
                    if s.len().saturating_mul(times) > MAX_STRING_BYTES {
                        // jq's words; its own limit is 2 GiB.
                        return Err(err("Repeat string result too long"));
                    }
                    Ok(Val::from(s.repeat(times)))
                }
            }
            (Obj(l), Obj(r)) => Ok(Obj(deep_merge(l, &r))),
            (l, r) => Err(err(format!(
                "{} and {} cannot be multiplied",
                l.describe(),
                r.describe()
            ))),
        }
    }

    /// jq's division (numbers, string splitting).
    pub fn divide(self, rhs: Val) -> ValR<Val> {
        use Val::*;
        match (self, rhs) {
            (l @ (Num(_) | Lit(_)), r @ (Num(_) | Lit(_))) => {
                let (a, b) = (l.as_num().unwrap_or(0.0), r.as_num().unwrap_or(0.0));
                if b == 0.0 {
                    Err(err(format!(
                        "{} and {} cannot be divided because the divisor is zero",
                        l.describe(),
                        r.describe()
                    )))
                } else {
                    Ok(Num(a / b))
                }
            }
            (Str(l), Str(r)) => Ok(split_str(&l, &r)),
            (l, r) => Err(err(format!(
                "{} and {} cannot be divided",
                l.describe(),
                r.describe()
            ))),
        }
    }

    /// jq's remainder: both sides truncated to integers (saturating), C sign rules.
    pub fn modulo(self, rhs: Val) -> ValR<Val> {
        use Val::*;
        match (self, rhs) {
            (l @ (Num(_) | Lit(_)), r @ (Num(_) | Lit(_))) => {
                let (a, b) = (l.as_num().unwrap_or(0.0), r.as_num().unwrap_or(0.0));
                if a.is_nan() || b.is_nan() {
                    return Ok(Num(f64::NAN));
                }
                let (ia, ib) = (dtoi(a), dtoi(b));
                if ib == 0 {
                    return Err(err(format!(
                        "{} and {} cannot be divided (remainder) because the divisor is zero",
                        l.describe(),
                        r.describe()
                    )));
                }
                Ok(Num(ia.wrapping_rem(ib) as f64))
            }
            (l, r) => Err(err(format!(
                "{} and {} cannot be divided (remainder)",
                l.describe(),
                r.describe()
            ))),
        }
    }

    /// jq's negation; a literal stays a literal.
    pub fn negate(self) -> ValR<Val> {
        match self {
            // jq keeps literals of every number it parsed, and negating a literal zero gives 0.
            Val::Num(0.0) => Ok(Val::Num(0.0)),
            Val::Num(f) => Ok(Val::Num(-f)),
            Val::Lit(l) => {
                let is_zero = !l.text.bytes().any(|b| (b'1'..=b'9').contains(&b));
                let text = match l.text.strip_prefix('-') {
                    Some(t) => t.to_owned(),
                    None if is_zero => l.text.to_string(),
                    None => format!("-{}", l.text),
                };
                Ok(Val::Lit(Rc::new(Lit {
                    value: -l.value,
                    text: text.into_boxed_str(),
                })))
            }
            other => Err(err(format!("{} cannot be negated", other.describe()))),
        }
    }
}

/// Clamps a double to an integer the way jq's `dtoi` does.
pub fn dtoi(f: f64) -> i64 {
    if f < i64::MIN as f64 {
        i64::MIN
    } else if f >= i64::MAX as f64 {
        i64::MAX
    } else {
        f as i64
    }
}

/// The array position `.[f]` reads, if any (floor, negative from the end).
fn array_index(len: usize, f: f64) -> Option<usize> {
    if f.is_nan() {
        return None;
    }
    let i = f.floor();
    let i = if i < 0.0 { i + len as f64 } else { i };
    (i >= 0.0 && i < len as f64).then_some(i as usize)
}

fn indices_of_subarray(a: &[Val], sub: &[Val]) -> Val {
    if sub.is_empty() {
        return Val::Null;
    }
    let mut out = Vec::new();
    if a.len() >= sub.len() {
        for i in 0..=a.len() - sub.len() {
            if a[i..i + sub.len()] == *sub {
                out.push(Val::Num(i as f64));
            }
        }
    }
    Val::arr(out)
}

fn split_str(s: &str, sep: &str) -> Val {
    if s.is_empty() {
        return Val::arr(Vec::new());
    }
    if sep.is_empty() {
        // jq 1.8 splits into characters... as bytes of UTF-8? It splits into code points.
        return Val::arr(s.chars().map(|c| Val::from(c.to_string())).collect());
    }
    Val::arr(s.split(sep).map(Val::str).collect())
}

fn deep_merge(mut l: Rc<Map>, r: &Map) -> Rc<Map> {
    let m = Rc::make_mut(&mut l);
    for (k, v) in r.iter() {
        match (m.get_mut(&**k), v) {
            (Some(Val::Obj(lo)), Val::Obj(ro)) => {
                let merged = deep_merge(lo.clone(), ro);
                *lo = merged;
            }
            _ => {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    l
}

/// Resolves a slice bound: floor for the start, ceil for the end, negatives from the end,
/// clamped to `[0, len]`.
fn bound(v: Option<&Val>, len: usize, is_end: bool) -> ValR<Option<usize>> {
    match v {
        None | Some(Val::Null) => Ok(None),
        Some(n @ (Val::Num(_) | Val::Lit(_))) => {
            let f = n.as_num().unwrap_or(0.0);
            let f = if is_end { f.ceil() } else { f.floor() };
            let f = if f < 0.0 { f + len as f64 } else { f };
            Ok(Some(f.clamp(0.0, len as f64) as usize))
        }
        Some(other) => Err(err(format!(
            "Start and end indices of an array slice must be numbers, not {}",
            other.type_name()
        ))),
    }
}

/// `.[start:end]` on strings (by code point), arrays and null.
pub fn slice(v: &Val, start: Option<&Val>, end: Option<&Val>) -> ValR<Val> {
    match v {
        Val::Null => Ok(Val::Null),
        Val::Arr(a) => {
            let s = bound(start, a.len(), false)?.unwrap_or(0);
            let e = bound(end, a.len(), true)?.unwrap_or(a.len());
            Ok(if e > s {
                Val::arr(a[s..e].to_vec())
            } else {
                Val::arr(Vec::new())
            })
        }
        Val::Str(s) => {
            let len = s.chars().count();
            let st = bound(start, len, false)?.unwrap_or(0);
            let en = bound(end, len, true)?.unwrap_or(len);
            if en <= st {
                return Ok(Val::str(""));
            }
            let text: String = s.chars().skip(st).take(en - st).collect();
            Ok(Val::from(text))
        }
        other => Err(err(format!(
            "Cannot index {} with object",
            other.type_name()
        ))),
    }
}

/// Writes `s` as a JSON string the way jq does (control characters and DEL escaped, non-ASCII
/// kept).
pub fn write_json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\t' => Some("\\t"),
            '\r' => Some("\\r"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => out.push_str(&format!("\\u{:04x}", c as u32)),
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
    out.push('"');
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

impl PartialEq for Val {
    fn eq(&self, other: &Self) -> bool {
        self.cmp_jq(other) == Ordering::Equal && !is_nan(self) && !is_nan(other)
    }
}

fn is_nan(v: &Val) -> bool {
    matches!(v, Val::Num(f) if f.is_nan())
}

impl Eq for Val {}

impl PartialOrd for Val {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Val {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_jq(other)
    }
}

impl Val {
    /// jq's total order: null < false < true < numbers < strings < arrays < objects; NaN below
    /// every number; two literals compare as exact decimals.
    pub fn cmp_jq(&self, other: &Val) -> Ordering {
        let (ta, tb) = (self.type_order(), other.type_order());
        if ta != tb {
            return ta.cmp(&tb);
        }
        match (self, other) {
            (Val::Lit(a), Val::Lit(b)) => {
                num::compare_literals(&a.text, &b.text).unwrap_or(Ordering::Equal)
            }
            (a @ (Val::Num(_) | Val::Lit(_)), b) => {
                let (x, y) = (a.as_num().unwrap_or(0.0), b.as_num().unwrap_or(0.0));
                match (x.is_nan(), y.is_nan()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    _ => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
                }
            }
            (Val::Str(a), Val::Str(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Val::Arr(a), Val::Arr(b)) => {
                for (x, y) in a.iter().zip(b.iter()) {
                    let o = x.cmp_jq(y);
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                a.len().cmp(&b.len())
            }
            (Val::Obj(a), Val::Obj(b)) => {
                let mut ka: Vec<&Rc<str>> = a.keys().collect();
                let mut kb: Vec<&Rc<str>> = b.keys().collect();
                ka.sort_by(|x, y| x.as_bytes().cmp(y.as_bytes()));
                kb.sort_by(|x, y| x.as_bytes().cmp(y.as_bytes()));
                for (x, y) in ka.iter().zip(kb.iter()) {
                    let o = x.as_bytes().cmp(y.as_bytes());
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                let o = ka.len().cmp(&kb.len());
                if o != Ordering::Equal {
                    return o;
                }
                for k in ka {
                    let o = a[&**k].cmp_jq(&b[&**k]);
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                Ordering::Equal
            }
            _ => Ordering::Equal,
        }
    }
}

impl From<bool> for Val {
    fn from(b: bool) -> Self {
        Val::Bool(b)
    }
}

impl From<isize> for Val {
    fn from(i: isize) -> Self {
        if i.unsigned_abs() >= 1_000_000_000_000_000 {
            // Program literals this large keep their digits, as jq 1.8 does.
            Val::num_with_literal(i as f64, Some(i.to_string().into_boxed_str()))
        } else {
            Val::Num(i as f64)
        }
    }
}

impl From<usize> for Val {
    fn from(i: usize) -> Self {
        Val::Num(i as f64)
    }
}

impl From<f64> for Val {
    fn from(f: f64) -> Self {
        Val::Num(f)
    }
}

impl From<String> for Val {
    fn from(s: String) -> Self {
        Val::Str(Rc::from(s))
    }
}

impl From<val::Range<Val>> for Val {
    fn from(r: val::Range<Val>) -> Self {
        let mut m = Map::default();
        if let Some(s) = r.start {
            m.insert(Rc::from("start"), s);
        }
        if let Some(e) = r.end {
            m.insert(Rc::from("end"), e);
        }
        Val::obj(m)
    }
}

impl FromIterator<Val> for Val {
    fn from_iter<T: IntoIterator<Item = Val>>(iter: T) -> Self {
        Val::arr(iter.into_iter().collect())
    }
}

impl std::ops::Add for Val {
    type Output = ValR<Val>;
    fn add(self, rhs: Val) -> ValR<Val> {
        Val::plus(self, rhs)
    }
}

impl std::ops::Sub for Val {
    type Output = ValR<Val>;
    fn sub(self, rhs: Val) -> ValR<Val> {
        Val::minus(self, rhs)
    }
}

impl std::ops::Mul for Val {
    type Output = ValR<Val>;
    fn mul(self, rhs: Val) -> ValR<Val> {
        Val::times(self, rhs)
    }
}

impl std::ops::Div for Val {
    type Output = ValR<Val>;
    fn div(self, rhs: Val) -> ValR<Val> {
        Val::divide(self, rhs)
    }
}

impl std::ops::Rem for Val {
    type Output = ValR<Val>;
    fn rem(self, rhs: Val) -> ValR<Val> {
        Val::modulo(self, rhs)
    }
}

impl std::ops::Neg for Val {
    type Output = ValR<Val>;
    fn neg(self) -> ValR<Val> {
        Val::negate(self)
    }
}

fn iter_err(v: &Val) -> Error {
    err(format!("Cannot iterate over {}", v.describe()))
}

impl jaq_core::ValT for Val {
    fn from_num(n: &str) -> ValR<Val> {
        let value: f64 = n.parse().unwrap_or(f64::NAN);
        let plain = num::jq_format(value);
        let significant = n.bytes().take_while(|b| *b != b'e' && *b != b'E');
        if plain == n && significant.filter(u8::is_ascii_digit).count() <= 15 {
            // Short and spelled as jq prints the double: the literal adds nothing.
            return Ok(Val::Num(value));
        }
        let text = num::canonical_literal(n).map(String::into_boxed_str);
        Ok(match text {
            Some(t) => Val::num_with_literal(value, Some(t)),
            None => Val::Num(value),
        })
    }

    fn from_map<I: IntoIterator<Item = (Self, Self)>>(iter: I) -> ValR<Val> {
        let mut m = Map::default();
        for (k, v) in iter {
            match k {
                Val::Str(k) => {
                    m.insert(k, v);
                }
                other => {
                    return Err(err(format!(
                        "Object keys must be strings, not {}",
                        other.type_name()
                    )));
                }
            }
        }
        Ok(Val::obj(m))
    }

    fn key_values(self) -> Box<dyn Iterator<Item = ValR<(Val, Val)>>> {
        match self {
            Val::Arr(a) => Box::new(
                a.iter()
                    .cloned()
                    .enumerate()
                    .map(|(i, v)| Ok((Val::Num(i as f64), v)))
                    .collect::<Vec<_>>()
                    .into_iter(),
            ),
            Val::Obj(o) => Box::new(
                o.iter()
                    .map(|(k, v)| Ok((Val::Str(k.clone()), v.clone())))
                    .collect::<Vec<_>>()
                    .into_iter(),
            ),
            other => Box::new(std::iter::once(Err(iter_err(&other)))),
        }
    }

    fn values(self) -> Box<dyn Iterator<Item = ValR<Val>>> {
        match self {
            Val::Arr(a) => match Rc::try_unwrap(a) {
                Ok(a) => Box::new(a.into_iter().map(Ok)),
                Err(a) => Box::new(RcIter { arr: a, pos: 0 }),
            },
            Val::Obj(o) => Box::new(o.values().cloned().collect::<Vec<_>>().into_iter().map(Ok)),
            other => Box::new(std::iter::once(Err(iter_err(&other)))),
        }
    }

    fn index(self, index: &Val) -> ValR<Val> {
        self.get(index)
    }

    fn range(self, range: val::Range<&Val>) -> ValR<Val> {
        slice(&self, range.start, range.end)
    }

    fn map_values<'a, I: Iterator<Item = ValX<'a, Val>>>(
        self,
        opt: Opt,
        f: impl Fn(Val) -> I,
    ) -> ValX<'a, Val> {
        match self {
            Val::Arr(a) => {
                let mut out = Vec::with_capacity(a.len());
                for v in a.iter().cloned() {
                    if let Some(y) = f(v).next() {
                        out.push(y?);
                    }
                }
                Ok(Val::arr(out))
            }
            Val::Obj(o) => {
                let mut out = Map::default();
                for (k, v) in o.iter() {
                    if let Some(y) = f(v.clone()).next() {
                        out.insert(k.clone(), y?);
                    }
                }
                Ok(Val::obj(out))
            }
            v => opt.fail(v, |v| Exn::from(iter_err(&v))),
        }
    }

    fn map_index<'a, I: Iterator<Item = ValX<'a, Val>>>(
        mut self,
        index: &Val,
        opt: Opt,
        f: impl Fn(Val) -> I,
    ) -> ValX<'a, Val> {
        if let (Val::Str(_) | Val::Arr(_), Val::Obj(o)) = (&self, index) {
            let start = o.get("start").cloned();
            let end = o.get("end").cloned();
            return jaq_core::ValT::map_range(self, start.as_ref()..end.as_ref(), opt, f);
        }
        match (&mut self, index) {
            (Val::Null, Val::Str(k)) => {
                let mut m = Map::default();
                if let Some(y) = f(Val::Null).next().transpose()? {
                    m.insert(k.clone(), y);
                }
                Ok(Val::obj(m))
            }
            (Val::Obj(o), Val::Str(k)) => {
                let m = Rc::make_mut(o);
                match m.get_index_of(&**k) {
                    Some(i) => {
                        let v = std::mem::take(&mut m[i]);
                        match f(v).next().transpose()? {
                            Some(y) => m[i] = y,
                            None => {
                                m.shift_remove_index(i);
                            }
                        }
                    }
                    None => {
                        if let Some(y) = f(Val::Null).next().transpose()? {
                            m.insert(k.clone(), y);
                        }
                    }
                }
                Ok(self)
            }
            (Val::Null, n @ (Val::Num(_) | Val::Lit(_))) => {
                let i = n.as_num().unwrap_or(0.0);
                if i < 0.0 {
                    return opt.fail(self, |_| {
                        Exn::from(err("Out of bounds negative array index"))
                    });
                }
                let mut a = vec![Val::Null; i as usize + 1];
                match f(Val::Null).next().transpose()? {
                    Some(y) => a[i as usize] = y,
                    None => {
                        a.pop();
                    }
                }
                Ok(Val::arr(a))
            }
            (Val::Arr(a), n @ (Val::Num(_) | Val::Lit(_))) => {
                let f64i = n.as_num().unwrap_or(f64::NAN).floor();
                let len = a.len() as f64;
                let i = if f64i < 0.0 { f64i + len } else { f64i };
                if i.is_nan() || i < 0.0 {
                    return opt.fail(self, |_| {
                        Exn::from(err("Out of bounds negative array index"))
                    });
                }
                let i = i as usize;
                let a = Rc::make_mut(a);
                if i >= a.len() {
                    a.resize(i + 1, Val::Null);
                }
                let x = std::mem::take(&mut a[i]);
                match f(x).next().transpose()? {
                    Some(y) => a[i] = y,
                    None => {
                        a.remove(i);
                    }
                }
                Ok(self)
            }
            _ => {
                let e = match index {
                    Val::Str(s) => format!("Cannot index {} with \"{s}\"", self.type_name()),
                    k => format!("Cannot index {} with {}", self.type_name(), k.type_name()),
                };
                opt.fail(self, |_| Exn::from(err(e)))
            }
        }
    }

    fn map_range<'a, I: Iterator<Item = ValX<'a, Val>>>(
        self,
        range: val::Range<&Val>,
        opt: Opt,
        f: impl Fn(Val) -> I,
    ) -> ValX<'a, Val> {
        match &self {
            Val::Arr(a) => {
                let s = match bound(range.start, a.len(), false) {
                    Ok(s) => s.unwrap_or(0),
                    Err(e) => return opt.fail(self, |_| Exn::from(e)),
                };
                let e = match bound(range.end, a.len(), true) {
                    Ok(e) => e.unwrap_or(a.len()).max(s),
                    Err(e) => return opt.fail(self, |_| Exn::from(e)),
                };
                let sub = Val::arr(a[s..e].to_vec());
                let y = f(sub).next().transpose()?.unwrap_or(Val::arr(Vec::new()));
                match y {
                    Val::Arr(y) => {
                        let mut out = a[..s].to_vec();
                        out.extend(y.iter().cloned());
                        out.extend(a[e..].iter().cloned());
                        Ok(Val::arr(out))
                    }
                    other => Err(Exn::from(err(format!(
                        "A slice of an array can only be assigned another array, not {}",
                        other.type_name()
                    )))),
                }
            }
            Val::Null => {
                let y = f(Val::Null).next().transpose()?.unwrap_or(Val::Null);
                Ok(y)
            }
            _ => {
                let e = format!(
                    "Cannot update field at object index of {}",
                    self.type_name()
                );
                opt.fail(self, |_| Exn::from(err(e)))
            }
        }
    }

    fn as_bool(&self) -> bool {
        self.truthy()
    }

    fn into_string(self) -> Val {
        match self {
            s @ Val::Str(_) => s,
            other => Val::from(other.to_json()),
        }
    }
}

/// Iterates a shared array without copying it first.
struct RcIter {
    arr: Rc<Vec<Val>>,
    pos: usize,
}

impl Iterator for RcIter {
    type Item = ValR<Val>;
    fn next(&mut self) -> Option<Self::Item> {
        let v = self.arr.get(self.pos)?.clone();
        self.pos += 1;
        Some(Ok(v))
    }
}

impl jaq_std::ValT for Val {
    fn into_seq<S: FromIterator<Self>>(self) -> Result<S, Self> {
        match self {
            Val::Arr(a) => match Rc::try_unwrap(a) {
                Ok(a) => Ok(a.into_iter().collect()),
                Err(a) => Ok(a.iter().cloned().collect()),
            },
            other => Err(other),
        }
    }

    fn is_int(&self) -> bool {
        self.as_num()
            .is_some_and(|f| f.is_finite() && f.fract() == 0.0)
    }

    fn as_isize(&self) -> Option<isize> {
        let f = self.as_num()?;
        (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as isize)
    }

    fn as_f64(&self) -> Option<f64> {
        self.as_num()
    }

    fn is_utf8_str(&self) -> bool {
        matches!(self, Val::Str(_))
    }

    fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Val::Str(s) => Some(s.as_bytes()),
            _ => None,
        }
    }

    fn as_sub_str(&self, sub: &[u8]) -> Self {
        Val::from(String::from_utf8_lossy(sub).into_owned())
    }

    fn from_utf8_bytes(b: impl AsRef<[u8]> + Send + 'static) -> Self {
        Val::from(String::from_utf8_lossy(b.as_ref()).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jaq_core::ValT as _;

    fn n(f: f64) -> Val {
        Val::Num(f)
    }

    #[test]
    fn arithmetic_follows_jq() {
        assert_eq!(n(4.0).divide(n(2.0)).unwrap().to_json(), "2");
        assert_eq!(Val::Null.plus(n(5.0)).unwrap(), n(5.0));
        assert!(Val::Null.times(n(2.0)).is_err());
        assert_eq!(Val::str("ab").times(n(0.0)).unwrap(), Val::str(""));
        assert_eq!(Val::str("ab").times(n(2.7)).unwrap(), Val::str("abab"));
        assert_eq!(Val::str("ab").times(n(-1.0)).unwrap(), Val::Null);
        assert_eq!(n(5.0).modulo(n(-2.0)).unwrap(), n(1.0));
        assert_eq!(n(-5.0).modulo(n(2.0)).unwrap(), n(-1.0));
        assert_eq!(n(1e19).modulo(n(7.0)).unwrap(), n(0.0));
        assert!(n(5.0).modulo(n(0.5)).is_err());
        assert!(n(1.0).divide(n(0.0)).is_err());
    }

    #[test]
    fn literals_survive_until_arithmetic() {
        let big = Val::from_num("12345678901234567890").unwrap();
        assert_eq!(big.to_json(), "12345678901234567890");
        assert_eq!(
            big.clone().negate().unwrap().to_json(),
            "-12345678901234567890"
        );
        assert_eq!(
            big.clone().plus(n(0.0)).unwrap().to_json(),
            "12345678901234567000"
        );
        let rounded = Val::from_num("12345678901234567168").unwrap();
        assert_ne!(big, rounded);
        assert_eq!(big.clone().plus(n(0.0)).unwrap(), rounded);
        assert_eq!(Val::from_num("1.0").unwrap().to_json(), "1.0");
        assert_eq!(Val::from_num("10").unwrap().to_json(), "10");
    }

    #[test]
    fn order_is_jqs() {
        let mut vs = [
            Val::str("a"),
            n(1.0),
            Val::Null,
            Val::Bool(true),
            Val::Bool(false),
            Val::arr(vec![]),
            Val::obj(Map::default()),
            n(f64::NAN),
        ];
        vs.sort();
        let json: Vec<String> = vs.iter().map(Val::to_json).collect();
        assert_eq!(
            json,
            ["null", "false", "true", "null", "1", "\"a\"", "[]", "{}"]
        );
        assert_ne!(n(f64::NAN), n(f64::NAN));
    }

    #[test]
    fn indexing_and_slicing() {
        let a = Val::arr(vec![n(0.0), n(1.0), n(2.0), n(3.0)]);
        assert_eq!(a.get(&n(1.7)).unwrap(), n(1.0));
        assert_eq!(a.get(&n(-1.0)).unwrap(), n(3.0));
        assert_eq!(a.get(&n(9.0)).unwrap(), Val::Null);
        assert_eq!(
            slice(&a, Some(&n(1.2)), Some(&n(2.5))).unwrap().to_json(),
            "[1,2]"
        );
        let s = Val::str("abcdef");
        assert_eq!(
            slice(&s, Some(&n(1.5)), Some(&n(3.5))).unwrap(),
            Val::str("bcd")
        );
        assert!(s.get(&Val::str("x")).is_err());
        assert_eq!(Val::Null.get(&Val::str("x")).unwrap(), Val::Null);
    }

    #[test]
    fn strings_escape_like_jq() {
        assert_eq!(Val::str("a\"b\n\u{1}é").to_json(), "\"a\\\"b\\n\\u0001é\"");
    }
}
