//! Native builtins that make jaq behave as jq 1.8.2 does.
//!
//! jaq's own builtins are generic and close to jq, but not equal: jq's regex functions return
//! code-point offsets and Oniguruma semantics, its date functions follow glibc's `strptime` /
//! `strftime` / `timegm`, its formats (`@csv`, `@tsv`, `@sh`, `@base64d`) and conversions
//! (`tonumber`, `tojson`, `length`, `contains`, `has`, `indices`) have their own rules and error
//! cases. The functions here implement those rules on [`Val`]; the jq-level definitions built on
//! them live in `defs.jq`. Nothing here does I/O; `now` is the only clock read.

use super::guard;
use super::num;
use super::read::Reader;
use super::value::{Error, Map, Val, err, slice};
use jaq_core::box_iter::box_once;
use jaq_core::native::{Filter, Fun, bome, run, v};
use jaq_core::{Cv, Exn, RunPtr, ValX, ValXs, data::JustLut};

type ValR<T> = Result<T, Error>;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// The data type jaq runs Ocean's programs with.
pub type Data = JustLut<Val>;

type Native = Filter<RunPtr<Data>>;

fn unary(mut cv: Cv<'_, Data>, f: fn(Val, Val) -> ValR<Val>) -> ValXs<'_, Val> {
    let y = cv.0.pop_var();
    bome(f(cv.1, y))
}

/// The natives Ocean adds or replaces (looked up before jaq's own).
pub fn funs() -> impl Iterator<Item = Fun<Data>> {
    let list: Vec<Native> = vec![
        ("length", v(0), |cv| bome(cv.1.length())),
        ("type", v(0), |cv| bome(Ok(Val::str(cv.1.type_name())))),
        ("tojson", v(0), |cv| bome(Ok(Val::from(cv.1.to_json())))),
        ("fromjson", v(0), |cv| bome(fromjson(&cv.1))),
        ("tonumber", v(0), |cv| bome(tonumber(cv.1))),
        ("toboolean", v(0), |cv| bome(toboolean(cv.1))),
        ("contains", v(1), |cv| unary(cv, contains_checked)),
        ("has", v(1), |cv| unary(cv, has)),
        ("indices", v(1), |cv| unary(cv, indices)),
        ("startswith", v(1), |cv| {
            unary(cv, |s, p| fix(s, p, "startswith", |a, b| a.starts_with(b)))
        }),
        ("endswith", v(1), |cv| {
            unary(cv, |s, p| fix(s, p, "endswith", |a, b| a.ends_with(b)))
        }),
        ("split", v(1), |cv| unary(cv, split1)),
        ("trim", v(0), |cv| bome(trim(cv.1, "trim", str::trim))),
        ("ltrim", v(0), |cv| {
            bome(trim(cv.1, "ltrim", str::trim_start))
        }),
        ("rtrim", v(0), |cv| bome(trim(cv.1, "rtrim", str::trim_end))),
        ("floor", v(0), |cv| bome(math(cv.1, "floor", f64::floor))),
        ("ceil", v(0), |cv| bome(math(cv.1, "ceil", f64::ceil))),
        ("round", v(0), |cv| bome(math(cv.1, "round", f64::round))),
        ("fabs", v(0), |cv| bome(math(cv.1, "fabs", f64::abs))),
        ("sqrt", v(0), |cv| bome(math(cv.1, "sqrt", f64::sqrt))),
        ("trunc", v(0), |cv| bome(math(cv.1, "trunc", f64::trunc))),
        ("delpaths", v(1), |cv| unary(cv, delpaths)),
        ("nan", v(0), |_| bome(Ok(Val::Num(f64::NAN)))),
        ("infinite", v(0), |_| bome(Ok(Val::Num(f64::INFINITY)))),
        ("isnan", v(0), |cv| {
            bome(match cv.1.as_num() {
                Some(f) => Ok(Val::Bool(f.is_nan())),
                None => Err(err("number required")),
            })
        }),
        ("exp10", v(0), |cv| {
            bome(math(cv.1, "exp10", |x| 10f64.powf(x)))
        }),
        ("bsearch", v(1), |cv| unary(cv, bsearch)),
        ("_match_impl", v(3), |mut cv| {
            let test = cv.0.pop_var();
            let flags = cv.0.pop_var();
            let re = cv.0.pop_var();
            bome(match_impl(&cv.1, &re, &flags, test.truthy()))
        }),
        ("_format", v(1), |cv| unary(cv, format)),
        ("mktime", v(0), |cv| bome(mktime(&cv.1))),
        ("gmtime", v(0), |cv| bome(gmtime(&cv.1))),
        ("localtime", v(0), |cv| bome(gmtime(&cv.1))),
        ("strftime", v(1), |cv| {
            unary(cv, |t, f| strftime(&t, &f, "GMT"))
        }),
        ("strflocaltime", v(1), |cv| {
            unary(cv, |t, f| strftime(&t, &f, "UTC"))
        }),
        ("strptime", v(1), |cv| unary(cv, strptime)),
        ("_input_error", v(0), |_| bome(Err(err("No more inputs")))),
        ("range", v(3), |mut cv| {
            let by = cv.0.pop_var();
            let to = cv.0.pop_var();
            let from = cv.0.pop_var();
            Box::new(range(from, to, by))
        }),
        ("_slice", v(2), |mut cv| {
            let end = cv.0.pop_var();
            let start = cv.0.pop_var();
            bome(slice(&cv.1, Some(&start), Some(&end)))
        }),
    ];
    list.into_iter().map(run::<Data>).chain([tick()])
}

/// The tick of [`guard`]: the identity that spends one step. It is transparent to paths and
/// updates too, as the definitions it is inserted into may be used in `path(…)` or `… |= …`.
fn tick() -> Fun<Data> {
    let native = jaq_core::Native::new(|cv| bome(guard::tick().map(|()| cv.1)))
        .with_paths(|cv| match guard::tick() {
            Ok(()) => box_once(Ok(cv.1)),
            Err(e) => box_once(Err(Exn::from(e))),
        })
        .with_update(|cv, f| match guard::tick() {
            Ok(()) => f(cv.1),
            Err(e) => box_once(Err(Exn::from(e))),
        });
    (guard::TICK, v(0), native)
}

/// jaq's `range/3` (what `range/1` and `range/2` call), one step of the evaluation's budget per
/// output.
fn range<'a>(from: Val, to: Val, by: Val) -> impl Iterator<Item = ValX<'a, Val>> + 'a {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let direction = by.partial_cmp(&Val::Num(0.0)).unwrap_or(Equal);
    let mut next = Some(Ok(from));
    std::iter::from_fn(move || {
        let x = match next.take()? {
            Ok(x) => x,
            Err(e) => return Some(Err(Exn::from(e))),
        };
        let more = match direction {
            Greater => x < to,
            Less => x > to,
            Equal => x != to,
        };
        if !more {
            return None;
        }
        if let Err(e) = guard::tick() {
            return Some(Err(Exn::from(e)));
        }
        next = Some(x.clone() + by.clone());
        Some(Ok(x))
    })
}

fn fromjson(v: &Val) -> ValR<Val> {
    let Val::Str(s) = v else {
        return Err(err(format!("{} cannot be parsed as JSON", v.describe())));
    };
    let text = s.trim();
    if text == "nan" || text == "-nan" {
        return Ok(Val::Num(f64::NAN));
    }
    Reader::new()
        .parse(text.as_bytes())
        .map_err(|e| err(format!("{} (while parsing '{s}')", e.message)))
}

fn parse_number_text(s: &str) -> Option<Val> {
    let t = s;
    if t == "nan" || t == "-nan" {
        return Some(Val::Num(f64::NAN));
    }
    let canonical = num::canonical_literal(t)?;
    let value: f64 = t.parse().ok()?;
    let plain = num::jq_format(value);
    Some(if plain == canonical {
        Val::Num(value)
    } else {
        Val::num_with_literal(value, Some(canonical.into_boxed_str()))
    })
}

/// `tonumber`: numbers as they are, numeric strings parsed (keeping their literal).
pub fn tonumber(v: Val) -> ValR<Val> {
    match &v {
        Val::Num(_) | Val::Lit(_) => Ok(v),
        Val::Str(s) => parse_number_text(s)
            .ok_or_else(|| err(format!("{} cannot be parsed as a number", v.describe()))),
        _ => Err(err(format!(
            "{} cannot be parsed as a number",
            v.describe()
        ))),
    }
}

fn toboolean(v: Val) -> ValR<Val> {
    match &v {
        Val::Bool(_) => Ok(v),
        Val::Str(s) if &**s == "true" => Ok(Val::Bool(true)),
        Val::Str(s) if &**s == "false" => Ok(Val::Bool(false)),
        _ => Err(err(format!(
            "{} cannot be parsed as a boolean",
            v.describe()
        ))),
    }
}

fn contains(a: &Val, b: &Val) -> Option<bool> {
    Some(match (a, b) {
        (Val::Obj(x), Val::Obj(y)) => {
            for (k, yv) in y.iter() {
                match x.get(&**k) {
                    Some(xv) => {
                        if !contains(xv, yv)? {
                            return Some(false);
                        }
                    }
                    None => return Some(false),
                }
            }
            true
        }
        (Val::Arr(x), Val::Arr(y)) => {
            for yv in y.iter() {
                let mut found = false;
                for xv in x.iter() {
                    if xv.type_name() == yv.type_name() && contains(xv, yv)? {
                        found = true;
                        break;
                    }
                }
                if !found {
                    return Some(false);
                }
            }
            true
        }
        (Val::Str(x), Val::Str(y)) => x.contains(&**y),
        _ if a.type_name() == b.type_name() => a == b,
        _ => return None,
    })
}

fn contains_checked(a: Val, b: Val) -> ValR<Val> {
    contains(&a, &b).map(Val::Bool).ok_or_else(|| {
        err(format!(
            "{} and {} cannot have their containment checked",
            a.describe(),
            b.describe()
        ))
    })
}

fn has(v: Val, k: Val) -> ValR<Val> {
    match (&v, &k) {
        (Val::Obj(o), Val::Str(s)) => Ok(Val::Bool(o.contains_key(&**s))),
        (Val::Arr(a), Val::Num(_) | Val::Lit(_)) => {
            let i = k.as_num().unwrap_or(-1.0);
            Ok(Val::Bool(i >= 0.0 && i < a.len() as f64))
        }
        (Val::Null, _) => Ok(Val::Bool(false)),
        _ => Err(err(format!(
            "Cannot check whether {} has a {} key",
            v.type_name(),
            k.type_name()
        ))),
    }
}

fn indices(v: Val, i: Val) -> ValR<Val> {
    match (&v, &i) {
        (Val::Null, _) => Ok(Val::Null),
        (Val::Str(s), Val::Str(p)) => {
            if p.is_empty() {
                return Ok(Val::Null);
            }
            let mut out = Vec::new();
            let bytes = s.as_bytes();
            let pat = p.as_bytes();
            for (char_index, (byte_index, _)) in s.char_indices().enumerate() {
                if bytes[byte_index..].starts_with(pat) {
                    out.push(Val::Num(char_index as f64));
                }
            }
            Ok(Val::arr(out))
        }
        (Val::Arr(_), Val::Arr(_)) => v.get(&i),
        (Val::Arr(_), _) => v.get(&Val::arr(vec![i.clone()])),
        _ => v.get(&i),
    }
}

fn fix(s: Val, p: Val, name: &str, f: fn(&str, &str) -> bool) -> ValR<Val> {
    match (&s, &p) {
        (Val::Str(a), Val::Str(b)) => Ok(Val::Bool(f(a, b))),
        _ => Err(err(format!("{name}() requires string inputs"))),
    }
}

fn split1(s: Val, sep: Val) -> ValR<Val> {
    match (s, sep) {
        (Val::Str(s), Val::Str(sep)) => Val::Str(s).divide(Val::Str(sep)),
        _ => Err(err("split input and separator must be strings")),
    }
}

fn trim(v: Val, name: &str, f: fn(&str) -> &str) -> ValR<Val> {
    match &v {
        Val::Str(s) => {
            let t = f(s);
            Ok(if t.len() == s.len() {
                v.clone()
            } else {
                Val::str(t)
            })
        }
        _ => Err(err(format!("{name} input must be a string"))),
    }
}

fn math(v: Val, name: &str, f: fn(f64) -> f64) -> ValR<Val> {
    match v.as_num() {
        Some(x) => Ok(Val::Num(f(x))),
        None => Err(err(format!("{} number required for {name}", v.describe()))),
    }
}

fn bsearch(v: Val, target: Val) -> ValR<Val> {
    let Val::Arr(a) = &v else {
        return Err(err(format!("{} cannot be searched from", v.describe())));
    };
    Ok(Val::Num(match a.binary_search_by(|x| x.cmp_jq(&target)) {
        Ok(i) => i as f64,
        Err(i) => -1.0 - i as f64,
    }))
}

fn path_cmp_desc(a: &Val, b: &Val) -> std::cmp::Ordering {
    b.cmp(a)
}

fn delpaths(v: Val, paths: Val) -> ValR<Val> {
    let Val::Arr(paths) = paths else {
        return Err(err("Paths must be specified as an array"));
    };
    let mut paths: Vec<Val> = paths.to_vec();
    paths.sort_by(path_cmp_desc);
    let mut out = v;
    for p in paths {
        let Val::Arr(p) = p else {
            return Err(err("Path must be specified as an array"));
        };
        out = delpath(out, &p)?;
    }
    Ok(out)
}

fn delpath(v: Val, path: &[Val]) -> ValR<Val> {
    let Some((first, rest)) = path.split_first() else {
        return Ok(Val::Null);
    };
    if v == Val::Null {
        return Ok(Val::Null);
    }
    if rest.is_empty() {
        return match (v, first) {
            (Val::Obj(mut o), Val::Str(k)) => {
                Rc::make_mut(&mut o).shift_remove(&**k);
                Ok(Val::Obj(o))
            }
            (Val::Arr(mut a), n @ (Val::Num(_) | Val::Lit(_))) => {
                let len = a.len() as f64;
                let i = n.as_num().unwrap_or(0.0).floor();
                let i = if i < 0.0 { i + len } else { i };
                if i < 0.0 {
                    return Err(err("Out of bounds negative array index"));
                }
                if i < len {
                    Rc::make_mut(&mut a).remove(i as usize);
                }
                Ok(Val::Arr(a))
            }
            (Val::Arr(a), Val::Obj(o)) => {
                let len = a.len();
                let s = slice(
                    &Val::arr((0..len).map(|i| Val::Num(i as f64)).collect()),
                    o.get("start"),
                    o.get("end"),
                )?;
                let Val::Arr(idx) = s else {
                    return Ok(Val::Arr(a));
                };
                let drop: Vec<usize> = idx
                    .iter()
                    .filter_map(|x| x.as_num())
                    .map(|f| f as usize)
                    .collect();
                let kept = a
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !drop.contains(i))
                    .map(|(_, x)| x.clone())
                    .collect();
                Ok(Val::arr(kept))
            }
            (v, k) => Err(err(format!(
                "Cannot delete field at {} index of {}",
                k.type_name(),
                v.type_name()
            ))),
        };
    }
    let child = v.get(first)?;
    let new_child = delpath(child, rest)?;
    match (v, first) {
        (Val::Obj(mut o), Val::Str(k)) => {
            if o.contains_key(&**k) {
                Rc::make_mut(&mut o).insert(k.clone(), new_child);
            }
            Ok(Val::Obj(o))
        }
        (Val::Arr(mut a), n @ (Val::Num(_) | Val::Lit(_))) => {
            let len = a.len() as f64;
            let i = n.as_num().unwrap_or(0.0).floor();
            let i = if i < 0.0 { i + len } else { i };
            if i >= 0.0 && i < len {
                Rc::make_mut(&mut a)[i as usize] = new_child;
            }
            Ok(Val::Arr(a))
        }
        (v, _) => Ok(v),
    }
}

// ---------------------------------------------------------------------------------------------
// Regular expressions
// ---------------------------------------------------------------------------------------------

thread_local! {
    static REGEX_CACHE: RefCell<HashMap<(String, String), Rc<fancy_regex::Regex>>> =
        RefCell::new(HashMap::new());
}

struct Flags {
    global: bool,
    skip_empty: bool,
}

fn compile_regex(re: &str, flags: &str) -> Result<(Rc<fancy_regex::Regex>, Flags), Error> {
    let mut prefix = String::new();
    let mut f = Flags {
        global: false,
        skip_empty: false,
    };
    for c in flags.chars() {
        match c {
            'g' => f.global = true,
            'n' => f.skip_empty = true,
            'i' => prefix.push('i'),
            'x' => prefix.push('x'),
            'p' => prefix.push('s'),
            's' | 'l' => {}
            _ => return Err(err(format!("{flags} is not a valid modifier string"))),
        }
    }
    let key = (re.to_owned(), prefix.clone());
    let cached = REGEX_CACHE.with(|c| c.borrow().get(&key).cloned());
    if let Some(r) = cached {
        return Ok((r, f));
    }
    let pattern = if prefix.is_empty() {
        re.to_owned()
    } else {
        format!("(?{prefix}){re}")
    };
    let compiled = fancy_regex::Regex::new(&pattern)
        .map_err(|e| err(format!("{re} (at offset 0) is not a valid regex: {e}")))?;
    let compiled = Rc::new(compiled);
    REGEX_CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() > 256 {
            c.clear();
        }
        c.insert(key, compiled.clone());
    });
    Ok((compiled, f))
}

fn char_offset(s: &str, byte: usize) -> usize {
    s[..byte].chars().count()
}

fn match_impl(input: &Val, re: &Val, flags: &Val, test: bool) -> ValR<Val> {
    let Val::Str(s) = input else {
        return Err(err(format!(
            "{} cannot be matched, as it is not a string",
            input.describe()
        )));
    };
    let Val::Str(re_s) = re else {
        return Err(err(format!("{} is not a string", re.describe())));
    };
    let flags_s = match flags {
        Val::Null => "",
        Val::Str(f) => f,
        other => return Err(err(format!("{} is not a string", other.describe()))),
    };
    let (regex, f) = compile_regex(re_s, flags_s)?;
    let names: Vec<Option<String>> = regex
        .capture_names()
        .skip(1)
        .map(|n| n.map(str::to_owned))
        .collect();
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos <= s.len() {
        let caps = match regex.captures_from_pos(s, pos) {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => return Err(err(format!("regex error: {e}"))),
        };
        let Some(m) = caps.get(0) else { break };
        let empty = m.start() == m.end();
        if !(f.skip_empty && empty) {
            if test {
                return Ok(Val::Bool(true));
            }
            out.push(match_object(s, &caps, &names));
            if !f.global {
                break;
            }
        }
        pos = if empty {
            match s[m.end()..].chars().next() {
                Some(c) => m.end() + c.len_utf8(),
                None => s.len() + 1,
            }
        } else {
            m.end()
        };
    }
    if test {
        return Ok(Val::Bool(false));
    }
    Ok(Val::arr(out))
}

fn match_object(s: &str, caps: &fancy_regex::Captures<'_>, names: &[Option<String>]) -> Val {
    let m = caps.get(0).expect("group 0 always matches");
    let mut obj = Map::default();
    obj.insert(
        Rc::from("offset"),
        Val::Num(char_offset(s, m.start()) as f64),
    );
    obj.insert(
        Rc::from("length"),
        Val::Num(m.as_str().chars().count() as f64),
    );
    obj.insert(Rc::from("string"), Val::str(m.as_str()));
    let mut groups = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let mut g = Map::default();
        match caps.get(i + 1) {
            Some(c) => {
                g.insert(
                    Rc::from("offset"),
                    Val::Num(char_offset(s, c.start()) as f64),
                );
                g.insert(
                    Rc::from("length"),
                    Val::Num(c.as_str().chars().count() as f64),
                );
                g.insert(Rc::from("string"), Val::str(c.as_str()));
            }
            None => {
                g.insert(Rc::from("offset"), Val::Num(-1.0));
                g.insert(Rc::from("length"), Val::Num(0.0));
                g.insert(Rc::from("string"), Val::Null);
            }
        }
        g.insert(
            Rc::from("name"),
            name.as_deref().map_or(Val::Null, Val::str),
        );
        groups.push(Val::obj(g));
    }
    obj.insert(Rc::from("captures"), Val::arr(groups));
    Val::obj(obj)
}

// ---------------------------------------------------------------------------------------------
// Formats
// ---------------------------------------------------------------------------------------------

fn format(v: Val, name: Val) -> ValR<Val> {
    let Val::Str(name) = name else {
        return Err(err(format!("{} is not a valid format", name.describe())));
    };
    match &*name {
        "json" => Ok(Val::from(v.to_json())),
        "text" => Ok(Val::Str(v.to_jq_string())),
        "csv" | "tsv" => {
            let Val::Arr(items) = &v else {
                return Err(err(format!(
                    "{} cannot be {name}-formatted, only an array can be",
                    v.describe()
                )));
            };
            let mut out = String::new();
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(if &*name == "csv" { ',' } else { '\t' });
                }
                match x {
                    Val::Null => {}
                    Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                    Val::Num(_) | Val::Lit(_) => out.push_str(&x.to_json()),
                    Val::Str(s) if &*name == "csv" => {
                        out.push('"');
                        out.push_str(&s.replace('"', "\"\""));
                        out.push('"');
                    }
                    Val::Str(s) => {
                        for c in s.chars() {
                            match c {
                                '\\' => out.push_str("\\\\"),
                                '\t' => out.push_str("\\t"),
                                '\n' => out.push_str("\\n"),
                                '\r' => out.push_str("\\r"),
                                c => out.push(c),
                            }
                        }
                    }
                    other => {
                        return Err(err(format!(
                            "{} is not valid in a csv row",
                            other.describe()
                        )));
                    }
                }
            }
            Ok(Val::from(out))
        }
        "html" => {
            let s = v.to_jq_string();
            let mut out = String::with_capacity(s.len());
            for c in s.chars() {
                match c {
                    '<' => out.push_str("&lt;"),
                    '>' => out.push_str("&gt;"),
                    '&' => out.push_str("&amp;"),
                    '\'' => out.push_str("&apos;"),
                    '"' => out.push_str("&quot;"),
                    c => out.push(c),
                }
            }
            Ok(Val::from(out))
        }
        "uri" => {
            let s = v.to_jq_string();
            let mut out = String::with_capacity(s.len());
            for b in s.bytes() {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                    out.push(b as char);
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            Ok(Val::from(out))
        }
        "sh" => {
            let quote = |x: &Val| -> Result<String, Error> {
                match x {
                    Val::Str(s) => Ok(format!("'{}'", s.replace('\'', "'\\''"))),
                    Val::Arr(_) | Val::Obj(_) => Err(err(format!(
                        "{} can not be escaped for shell",
                        x.describe()
                    ))),
                    other => Ok(other.to_json()),
                }
            };
            match &v {
                Val::Arr(items) => {
                    let parts: Vec<String> = items.iter().map(quote).collect::<Result<_, _>>()?;
                    Ok(Val::from(parts.join(" ")))
                }
                other => Ok(Val::from(quote(other)?)),
            }
        }
        "base64" => Ok(Val::from(base64_encode(v.to_jq_string().as_bytes()))),
        "base64d" => {
            let s = v.to_jq_string();
            match base64_decode(&s) {
                Some(bytes) => Ok(Val::from(jq_lossy_utf8(&bytes))),
                None => Err(err(format!("{} is not valid base64 data", v.describe()))),
            }
        }
        other => Err(err(format!("{other} is not a valid format"))),
    }
}

/// Decodes UTF-8 the way jq does: each invalid sequence (an out-of-place byte, or a lead byte
/// with missing continuations, swallowing what follows it up to its expected length) becomes one
/// U+FFFD.
pub fn jq_lossy_utf8(bytes: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_owned();
    }
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let first = bytes[i];
        let len = match first {
            0x00..=0x7f => 1,
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            _ => 0,
        };
        if len == 0 {
            out.push('\u{fffd}');
            i += 1;
            continue;
        }
        if i + len > bytes.len() {
            out.push('\u{fffd}');
            break;
        }
        match std::str::from_utf8(&bytes[i..i + len]) {
            Ok(s) => {
                out.push_str(s);
                i += len;
            }
            Err(_) => {
                out.push('\u{fffd}');
                let bad = (1..len)
                    .find(|k| bytes[i + k] & 0xc0 != 0x80)
                    .unwrap_or(len);
                i += bad;
            }
        }
    }
    out
}

/// jq's lenient base64 decoder: standard alphabet, padding optional, leftover bits ignored.
const JQ_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

fn base64_encode(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Decodes as jq does: everything from the first `=` on is ignored, any other character
/// outside the alphabet is an error, and so is a lone trailing character.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let body = s.split('=').next().unwrap_or_default();
    JQ_BASE64.decode(body).ok()
}

// ---------------------------------------------------------------------------------------------
// Dates (UTC; glibc semantics)
// ---------------------------------------------------------------------------------------------

/// Days since 1970-01-01 of the proleptic Gregorian date `mday` days into month `mon` (0-11,
/// or beyond: 12 is January of the next year) of `year`, as glibc's `timegm` normalises it
/// (`2023-02-30` is March 2). `None` outside the years `time` represents (±9999).
fn epoch_days(year: i64, mon: i64, mday: i64) -> Option<i64> {
    let year = i32::try_from(year.checked_add(mon.div_euclid(12))?).ok()?;
    let month = time::Month::try_from(u8::try_from(mon.rem_euclid(12) + 1).ok()?).ok()?;
    let first = time::Date::from_calendar_date(year, month, 1).ok()?;
    let epoch = time::Date::from_calendar_date(1970, time::Month::January, 1).ok()?;
    i64::from(first.to_julian_day() - epoch.to_julian_day()).checked_add(mday.checked_sub(1)?)
}

/// The weekday (0 = Sunday) of a day counted from 1970-01-01.
fn weekday(days: i64) -> Option<i64> {
    let epoch = time::Date::from_calendar_date(1970, time::Month::January, 1).ok()?;
    let julian = i32::try_from(days.checked_add(i64::from(epoch.to_julian_day()))?).ok()?;
    let date = time::Date::from_julian_day(julian).ok()?;
    Some(i64::from(date.weekday().number_days_from_sunday()))
}

/// Broken-down time: year, month (0-11), day, hour, minute, second, weekday, yearday.
#[derive(Clone, Copy, Debug, Default)]
struct Tm {
    year: i64,
    mon: i64,
    mday: i64,
    hour: i64,
    min: i64,
    sec: f64,
    wday: i64,
    yday: i64,
}

/// Seconds since the epoch of a broken-down UTC time (glibc's `timegm`, fields normalised);
/// `None` when the date is out of range or the arithmetic overflows.
fn timegm(tm: &Tm) -> Option<i64> {
    let days = epoch_days(tm.year, tm.mon, tm.mday)?;
    days.checked_mul(86400)?
        .checked_add(tm.hour.checked_mul(3600)?)?
        .checked_add(tm.min.checked_mul(60)?)?
        .checked_add(tm.sec.trunc() as i64)
}

/// The broken-down UTC time of seconds since the epoch (glibc's `gmtime`, fractional seconds
/// kept); `None` outside the years `time` represents.
fn tm_from_epoch(t: f64) -> Option<Tm> {
    let secs = t.floor();
    if !secs.is_finite() || secs.abs() >= 9.0e15 {
        return None;
    }
    let at = time::OffsetDateTime::from_unix_timestamp(secs as i64).ok()?;
    Some(Tm {
        year: i64::from(at.year()),
        mon: i64::from(u8::from(at.month())) - 1,
        mday: i64::from(at.day()),
        hour: i64::from(at.hour()),
        min: i64::from(at.minute()),
        sec: f64::from(at.second()) + (t - secs),
        wday: i64::from(at.weekday().number_days_from_sunday()),
        yday: i64::from(at.ordinal()) - 1,
    })
}

fn tm_to_val(tm: &Tm) -> Val {
    Val::arr(vec![
        Val::Num(tm.year as f64),
        Val::Num(tm.mon as f64),
        Val::Num(tm.mday as f64),
        Val::Num(tm.hour as f64),
        Val::Num(tm.min as f64),
        Val::Num(tm.sec),
        Val::Num(tm.wday as f64),
        Val::Num(tm.yday as f64),
    ])
}

fn tm_from_val(v: &Val, who: &str) -> Result<Tm, Error> {
    let Val::Arr(a) = v else {
        return Err(err(format!("{who} requires array inputs")));
    };
    if a.len() < 6 {
        return Err(err(format!("{who} requires array of 6 numbers")));
    }
    let mut n = [0f64; 8];
    for (i, x) in a.iter().take(8).enumerate() {
        n[i] = x
            .as_num()
            .ok_or_else(|| err(format!("{who} requires parsed datetime inputs")))?;
    }
    // jq stores each field in a C `int`, clamped (NaN becomes 0 here).
    let int = |f: f64| f.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i64;
    Ok(Tm {
        year: int(n[0]),
        mon: int(n[1]),
        mday: int(n[2]),
        hour: int(n[3]),
        min: int(n[4]),
        sec: n[5],
        wday: int(n[6]),
        yday: int(n[7]),
    })
}

fn mktime(v: &Val) -> ValR<Val> {
    let tm = tm_from_val(v, "mktime")?;
    let t = timegm(&tm).ok_or_else(|| err("invalid gmtime representation"))?;
    Ok(Val::Num(t as f64))
}

fn gmtime(v: &Val) -> ValR<Val> {
    let t = v
        .as_num()
        .ok_or_else(|| err("gmtime() requires a number"))?;
    Ok(tm_to_val(&epoch_to_tm(t)?))
}

fn epoch_to_tm(t: f64) -> ValR<Tm> {
    tm_from_epoch(t)
        .ok_or_else(|| err("error converting number of seconds since epoch to datetime"))
}

const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn iso_week(tm: &Tm) -> (i64, i64) {
    // ISO 8601 week number and week-based year.
    let wday = (tm.wday + 6) % 7; // Monday = 0
    let mut year = tm.year;
    let mut week = (tm.yday - wday + 10) / 7;
    let days_in = |y: i64| i32::try_from(y).map_or(365, |y| i64::from(time::util::days_in_year(y)));
    if week < 1 {
        year -= 1;
        let days_prev = days_in(year);
        week = (tm.yday + days_prev - wday + 10) / 7;
    } else {
        let days = days_in(year);
        if tm.yday - wday + 10 > days + 6 && week == 53 && (tm.yday - wday) >= days - 3 {
            year += 1;
            week = 1;
        }
    }
    (year, week)
}

fn strftime(t: &Val, fmt: &Val, zone: &str) -> ValR<Val> {
    let tm = match t {
        Val::Num(_) | Val::Lit(_) => epoch_to_tm(t.as_num().unwrap_or(0.0))?,
        Val::Arr(_) => tm_from_val(t, "strftime/1")?,
        _ => return Err(err("strftime/1 requires parsed datetime inputs")),
    };
    let Val::Str(fmt) = fmt else {
        return Err(err("strftime/1 requires a string format"));
    };
    Ok(Val::from(format_tm(&tm, fmt, zone)))
}

fn format_tm(tm: &Tm, fmt: &str, zone: &str) -> String {
    let mut out = String::new();
    let mut chars = fmt.chars();
    let hour12 = if tm.hour % 12 == 0 { 12 } else { tm.hour % 12 };
    let sec = tm.sec.trunc() as i64;
    let day = DAYS[tm.wday.rem_euclid(7) as usize];
    let month = MONTHS[tm.mon.rem_euclid(12) as usize];
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(d) = chars.next() else {
            out.push('%');
            break;
        };
        let s = match d {
            'Y' => tm.year.to_string(),
            'C' => format!("{:02}", tm.year.div_euclid(100)),
            'y' => format!("{:02}", tm.year.rem_euclid(100)),
            'm' => format!("{:02}", tm.mon + 1),
            'd' => format!("{:02}", tm.mday),
            'e' => format!("{:2}", tm.mday),
            'H' => format!("{:02}", tm.hour),
            'k' => format!("{:2}", tm.hour),
            'I' => format!("{hour12:02}"),
            'l' => format!("{hour12:2}"),
            'M' => format!("{:02}", tm.min),
            'S' => format!("{sec:02}"),
            'j' => format!("{:03}", tm.yday + 1),
            'a' => day[..3].to_owned(),
            'A' => day.to_owned(),
            'b' | 'h' => month[..3].to_owned(),
            'B' => month.to_owned(),
            'p' => if tm.hour < 12 { "AM" } else { "PM" }.to_owned(),
            'P' => if tm.hour < 12 { "am" } else { "pm" }.to_owned(),
            'u' => (if tm.wday == 0 { 7 } else { tm.wday }).to_string(),
            'w' => tm.wday.to_string(),
            'U' => format!("{:02}", (tm.yday + 7 - tm.wday) / 7),
            'W' => format!("{:02}", (tm.yday + 7 - (tm.wday + 6) % 7) / 7),
            'V' => format!("{:02}", iso_week(tm).1),
            'G' => iso_week(tm).0.to_string(),
            'g' => format!("{:02}", iso_week(tm).0.rem_euclid(100)),
            'Z' => zone.to_owned(),
            'z' => "+0000".to_owned(),
            's' => timegm(tm).map_or_else(String::new, |t| t.to_string()),
            'D' => format_tm(tm, "%m/%d/%y", zone),
            'F' => format_tm(tm, "%Y-%m-%d", zone),
            'T' => format_tm(tm, "%H:%M:%S", zone),
            'R' => format_tm(tm, "%H:%M", zone),
            'r' => format_tm(tm, "%I:%M:%S %p", zone),
            'c' => format_tm(tm, "%a %b %e %H:%M:%S %Y", zone),
            'x' => format_tm(tm, "%m/%d/%y", zone),
            'X' => format_tm(tm, "%H:%M:%S", zone),
            'n' => "\n".to_owned(),
            't' => "\t".to_owned(),
            '%' => "%".to_owned(),
            other => format!("%{other}"),
        };
        out.push_str(&s);
    }
    out
}

struct Scan<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Scan<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn number(&mut self, max_digits: usize, min: i64, max: i64) -> Option<i64> {
        self.skip_ws();
        let mut neg = false;
        if self.pos < self.s.len() && (self.s[self.pos] == b'-' || self.s[self.pos] == b'+') {
            neg = self.s[self.pos] == b'-';
            self.pos += 1;
        }
        let start = self.pos;
        let mut n: i64 = 0;
        while self.pos < self.s.len()
            && self.pos - start < max_digits
            && self.s[self.pos].is_ascii_digit()
        {
            n = n * 10 + (self.s[self.pos] - b'0') as i64;
            self.pos += 1;
        }
        if self.pos == start {
            return None;
        }
        let n = if neg { -n } else { n };
        (min..=max).contains(&n).then_some(n)
    }

    fn name(&mut self, names: &[&str]) -> Option<usize> {
        self.skip_ws();
        let rest = &self.s[self.pos..];
        for (i, full) in names.iter().enumerate() {
            for cand in [full.as_bytes(), &full.as_bytes()[..3]] {
                if rest.len() >= cand.len() && rest[..cand.len()].eq_ignore_ascii_case(cand) {
                    self.pos += cand.len();
                    return Some(i);
                }
            }
        }
        None
    }
}

fn parse_tm(fmt: &str, tm: &mut Tm, pm: &mut Option<bool>, sc: &mut Scan<'_>) -> Option<()> {
    let f = fmt.as_bytes();
    let mut i = 0;
    while i < f.len() {
        let c = f[i];
        if c.is_ascii_whitespace() {
            sc.skip_ws();
            i += 1;
            continue;
        }
        if c != b'%' || i + 1 >= f.len() {
            if sc.pos < sc.s.len() && sc.s[sc.pos] == c {
                sc.pos += 1;
                i += 1;
                continue;
            }
            return None;
        }
        let d = f[i + 1];
        i += 2;
        match d {
            b'Y' => tm.year = sc.number(4, -9999, 9999)?,
            b'm' => tm.mon = sc.number(2, 1, 12)? - 1,
            b'd' | b'e' => tm.mday = sc.number(2, 1, 31)?,
            b'H' | b'k' => tm.hour = sc.number(2, 0, 23)?,
            b'I' | b'l' => tm.hour = sc.number(2, 1, 12)? % 12,
            b'M' => tm.min = sc.number(2, 0, 59)?,
            b'S' => tm.sec = sc.number(2, 0, 61)? as f64,
            b'j' => tm.yday = sc.number(3, 1, 366)? - 1,
            b'y' => {
                let y = sc.number(2, 0, 99)?;
                tm.year = if y < 69 { 2000 + y } else { 1900 + y };
            }
            b'C' => {
                let c = sc.number(2, 0, 99)?;
                tm.year = c * 100 + tm.year.rem_euclid(100);
            }
            b'a' | b'A' => tm.wday = sc.name(&DAYS)? as i64,
            b'b' | b'B' | b'h' => tm.mon = sc.name(&MONTHS)? as i64,
            b'p' => {
                sc.skip_ws();
                let rest = &sc.s[sc.pos..];
                if rest.len() >= 2 && rest[..2].eq_ignore_ascii_case(b"AM") {
                    *pm = Some(false);
                } else if rest.len() >= 2 && rest[..2].eq_ignore_ascii_case(b"PM") {
                    *pm = Some(true);
                } else {
                    return None;
                }
                sc.pos += 2;
            }
            b'T' => parse_tm("%H:%M:%S", tm, pm, sc)?,
            b'D' => parse_tm("%m/%d/%y", tm, pm, sc)?,
            b'F' => parse_tm("%Y-%m-%d", tm, pm, sc)?,
            b'R' => parse_tm("%H:%M", tm, pm, sc)?,
            b'z' => {
                sc.skip_ws();
                if sc.pos < sc.s.len() && sc.s[sc.pos] == b'Z' {
                    sc.pos += 1;
                } else {
                    if sc.pos >= sc.s.len() || !matches!(sc.s[sc.pos], b'+' | b'-') {
                        return None;
                    }
                    sc.pos += 1;
                    let start = sc.pos;
                    while sc.pos < sc.s.len()
                        && (sc.s[sc.pos].is_ascii_digit() || sc.s[sc.pos] == b':')
                        && sc.pos - start < 5
                    {
                        sc.pos += 1;
                    }
                    if sc.pos - start < 2 {
                        return None;
                    }
                }
            }
            b'Z' => {
                while sc.pos < sc.s.len() && !sc.s[sc.pos].is_ascii_whitespace() {
                    sc.pos += 1;
                }
            }
            b's' => {
                let n = sc.number(20, i64::MIN, i64::MAX)?;
                *tm = tm_from_epoch(n as f64)?;
            }
            b'n' | b't' => sc.skip_ws(),
            b'%' if sc.pos < sc.s.len() && sc.s[sc.pos] == b'%' => sc.pos += 1,
            _ => return None,
        }
    }
    Some(())
}

fn strptime(s: Val, fmt: Val) -> ValR<Val> {
    let Val::Str(input) = &s else {
        return Err(err("strptime/1 requires string inputs and arguments"));
    };
    let Val::Str(f) = &fmt else {
        return Err(err("strptime/1 requires string inputs and arguments"));
    };
    let mut tm = Tm::default();
    let mut pm = None;
    let mut sc = Scan {
        s: input.as_bytes(),
        pos: 0,
    };
    let fail = || err(format!("date \"{input}\" does not match format \"{f}\""));
    parse_tm(f, &mut tm, &mut pm, &mut sc).ok_or_else(fail)?;
    if pm == Some(true) {
        tm.hour += 12;
    }
    let rest = &input[sc.pos..];
    if !rest.chars().all(char::is_whitespace) {
        return Err(fail());
    }
    let days = epoch_days(tm.year, tm.mon, tm.mday).ok_or_else(fail)?;
    let jan1 = epoch_days(tm.year, 0, 1).ok_or_else(fail)?;
    tm.wday = weekday(days).ok_or_else(fail)?;
    tm.yday = days - jan1;
    let out = tm_to_val(&tm);
    if rest.is_empty() {
        Ok(out)
    } else {
        // jq 1.8 appends unparsed trailing whitespace to the result.
        let Val::Arr(mut a) = out else { return Ok(out) };
        Rc::make_mut(&mut a).push(Val::str(rest));
        Ok(Val::Arr(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        let tm = tm_from_epoch(1425599621.25).unwrap();
        assert_eq!(tm_to_val(&tm).to_json(), "[2015,2,5,23,53,41.25,4,63]");
        assert_eq!(timegm(&tm), Some(1425599621));
        let feb30 = Tm {
            year: 2023,
            mon: 1,
            mday: 30,
            ..Tm::default()
        };
        let t = timegm(&feb30).unwrap();
        assert_eq!(
            format_tm(&tm_from_epoch(t as f64).unwrap(), "%Y-%m-%d", "GMT"),
            "2023-03-02"
        );
        assert_eq!(
            format_tm(
                &tm,
                "%A %a %B %b %j %e %u %w %U %V %G %Z %z %c %D %T %I %p %s %C %y",
                "GMT"
            ),
            "Thursday Thu March Mar 064  5 4 4 09 10 2015 GMT +0000 Thu Mar  5 23:53:41 2015 03/05/15 23:53:41 11 PM 1425599621 20 15"
        );
    }

    #[test]
    fn strptime_is_strict_about_the_format() {
        let p = |s: &str, f: &str| strptime(Val::str(s), Val::str(f)).map(|v| v.to_json());
        assert_eq!(
            p("2015-03-05T23:51:47Z", "%Y-%m-%dT%H:%M:%SZ").unwrap(),
            "[2015,2,5,23,51,47,4,63]"
        );
        assert!(p("2015-03-05T23:51:47+02:00", "%Y-%m-%dT%H:%M:%SZ").is_err());
        assert!(p("2015-03-05T23:51:47.5Z", "%Y-%m-%dT%H:%M:%SZ").is_err());
        assert_eq!(
            p("10 Mar 2021", "%d %b %Y").unwrap(),
            "[2021,2,10,0,0,0,3,68]"
        );
        assert_eq!(
            p("2021-03-10 ", "%Y-%m-%d").unwrap(),
            "[2021,2,10,0,0,0,3,68,\" \"]"
        );
    }

    #[test]
    fn out_of_range_dates_are_errors_not_overflows() {
        let arr = |xs: &[f64]| Val::arr(xs.iter().map(|x| Val::Num(*x)).collect());
        let message = |r: ValR<Val>| r.map(|v| v.to_json()).unwrap_err().into_val().to_json();
        assert_eq!(
            message(mktime(&arr(&[1e300, 0.0, 1.0, 0.0, 0.0, 0.0]))),
            "\"invalid gmtime representation\""
        );
        assert_eq!(
            message(mktime(&arr(&[2020.0, 1e18, 1e18, 1e18, 1e18, 0.0]))),
            "\"invalid gmtime representation\""
        );
        assert_eq!(
            message(gmtime(&Val::Num(1e300))),
            "\"error converting number of seconds since epoch to datetime\""
        );
        assert!(gmtime(&Val::Num(f64::NAN)).is_err());
        // Any numbers format without overflowing.
        let wild = arr(&[
            f64::MAX,
            -1e300,
            f64::NAN,
            1e300,
            -1e300,
            1e300,
            1e300,
            -1e300,
        ]);
        assert!(strftime(&wild, &Val::str("%Y %m %d %j %U %V %G %s %c"), "GMT").is_ok());
        // Years jq gives and `time` holds still work: the last day of year 9999.
        assert_eq!(
            mktime(&arr(&[9999.0, 11.0, 31.0, 0.0, 0.0, 0.0]))
                .unwrap()
                .to_json(),
            "253402214400"
        );
    }

    #[test]
    fn base64_is_lenient_about_padding() {
        assert_eq!(base64_encode(b"x"), "eA==");
        assert_eq!(base64_decode("YWJ").unwrap(), b"ab");
        assert_eq!(base64_decode("YQ").unwrap(), b"a");
        assert!(base64_decode("!!").is_none());
        assert!(
            base64_decode("YWJjZ").is_none(),
            "a lone trailing character"
        );
        assert_eq!(base64_decode("YWI=trailing junk").unwrap(), b"ab");
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode("héllo".as_bytes()), "aMOpbGxv");
    }
}
