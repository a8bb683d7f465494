//! A loaded configuration document before validation: YAML (with PyYAML's YAML 1.1 scalar
//! rules) or JSON, with the line each value came from.
//!
//! Python Ocean reads `port-app-config.yml` with `yaml.safe_load` and validates the result with
//! pydantic; what a scalar *is* (`yes` is a boolean, `017` is 15, `1e5` is a string,
//! `2024-01-01` is a date, a plain `=` is an error) therefore follows YAML 1.1 as PyYAML
//! implements it, not YAML 1.2. This module reproduces that resolution on top of an event
//! parser, keeps line numbers for error messages, and converts `serde_json` values (the mapping
//! Port returns) into the same tree. It does not validate anything.

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;

/// A value of the configuration document.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `null`, `~` or nothing.
    Null,
    /// A boolean (`true`, `yes`, `on`, …).
    Bool(bool),
    /// An integer, as decimal digits (Python ints are unbounded).
    Int(String),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Spanned>),
    /// A mapping in document order (a repeated key keeps its first position and last value, as a
    /// Python dict does).
    Map(Vec<(Spanned, Spanned)>),
    /// A value of a type the configuration model never accepts (a date, a timestamp).
    Other(&'static str),
}

/// A node and the line it starts on (1-based), when known.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned {
    /// The value.
    pub node: Node,
    /// Its line in the source, if it came from text.
    pub line: Option<usize>,
}

/// A YAML document that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What went wrong.
    pub message: String,
}

impl Node {
    /// Python's name for the type of this value, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "boolean",
            Node::Int(_) => "integer",
            Node::Float(_) => "float",
            Node::Str(_) => "string",
            Node::Seq(_) => "list",
            Node::Map(_) => "mapping",
            Node::Other(t) => t,
        }
    }

    /// The node as JSON (for keeping integration-specific selector fields).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Node::Null | Node::Other(_) => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(digits) => digits
                .parse::<i64>()
                .map(Value::from)
                .or_else(|_| digits.parse::<u64>().map(Value::from))
                .unwrap_or_else(|_| {
                    serde_json::Number::from_f64(digits.parse().unwrap_or(0.0))
                        .map_or(Value::Null, Value::Number)
                }),
            Node::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Node::Str(s) => Value::String(s.clone()),
            Node::Seq(items) => Value::Array(items.iter().map(|i| i.node.to_json()).collect()),
            Node::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (key_text(&k.node), v.node.to_json()))
                    .collect(),
            ),
        }
    }
}

/// The text Python's `str()` gives a mapping key.
pub fn key_text(node: &Node) -> String {
    match node {
        Node::Str(s) => s.clone(),
        Node::Int(d) => d.clone(),
        Node::Float(f) => ocean_model::python::float_repr(*f),
        Node::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        Node::Null => "None".to_owned(),
        other => other.type_name().to_owned(),
    }
}

/// Converts a JSON value (as Python's `json` module would have loaded it).
pub fn from_json(v: &serde_json::Value) -> Spanned {
    use serde_json::Value;
    let node = match v {
        Value::Null => Node::Null,
        Value::Bool(b) => Node::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Node::Int(i.to_string()),
            (_, Some(u)) => Node::Int(u.to_string()),
            _ => Node::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Node::Str(s.clone()),
        Value::Array(a) => Node::Seq(a.iter().map(from_json).collect()),
        Value::Object(o) => Node::Map(
            o.iter()
                .map(|(k, v)| {
                    (
                        Spanned {
                            node: Node::Str(k.clone()),
                            line: None,
                        },
                        from_json(v),
                    )
                })
                .collect(),
        ),
    };
    Spanned { node, line: None }
}

/// Loads the first YAML document of `text` with PyYAML's `safe_load` semantics. An empty
/// document is `Null`.
pub fn load_yaml(text: &str) -> Result<Spanned, YamlError> {
    let mut loader = Loader {
        parser: Parser::new_from_str(text),
        anchors: HashMap::new(),
    };
    loop {
        let (ev, span) = loader.next()?;
        match ev {
            Event::StreamStart | Event::DocumentStart(_) | Event::Nothing => continue,
            Event::StreamEnd | Event::DocumentEnd => {
                return Ok(Spanned {
                    node: Node::Null,
                    line: Some(span.start.line()),
                });
            }
            other => return loader.node(other, span),
        }
    }
}

struct Loader<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    anchors: HashMap<usize, Spanned>,
}

fn yaml_error(span: &Span, message: impl Into<String>) -> YamlError {
    YamlError {
        line: span.start.line(),
        column: span.start.col() + 1,
        message: message.into(),
    }
}

impl<'a> Loader<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), YamlError> {
        match self.parser.next_event() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => Err(YamlError {
                line: e.marker().line(),
                column: e.marker().col() + 1,
                message: e.info().to_owned(),
            }),
            None => Err(YamlError {
                line: 1,
                column: 1,
                message: "unexpected end of the document".to_owned(),
            }),
        }
    }

    fn node(&mut self, ev: Event<'a>, span: Span) -> Result<Spanned, YamlError> {
        let line = Some(span.start.line());
        let (node, anchor) = match ev {
            Event::Alias(id) => {
                return self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| yaml_error(&span, "found undefined alias"));
            }
            Event::Scalar(value, style, anchor, tag) => {
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                (
                    resolve_scalar(&value, style, tag.as_deref(), &span)?,
                    anchor,
                )
            }
            Event::SequenceStart(anchor, tag) => {
                check_collection_tag(
                    tag.map(|t| format!("{}{}", t.handle, t.suffix)),
                    "seq",
                    &span,
                )?;
                let mut items = Vec::new();
                loop {
                    let (ev, sp) = self.next()?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(ev, sp)?);
                }
                (Node::Seq(items), anchor)
            }
            Event::MappingStart(anchor, tag) => {
                check_collection_tag(
                    tag.map(|t| format!("{}{}", t.handle, t.suffix)),
                    "map",
                    &span,
                )?;
                let mut entries: Vec<(Spanned, Spanned)> = Vec::new();
                let mut merges: Vec<Spanned> = Vec::new();
                loop {
                    let (ev, sp) = self.next()?;
                    if matches!(ev, Event::MappingEnd) {
                        break;
                    }
                    let is_merge =
                        matches!(&ev, Event::Scalar(v, ScalarStyle::Plain, _, None) if v == "<<");
                    let key = self.node(ev, sp)?;
                    let (vev, vsp) = self.next()?;
                    let value = self.node(vev, vsp)?;
                    if is_merge {
                        merges.push(value);
                        continue;
                    }
                    insert(&mut entries, key, value);
                }
                // Merge keys (`<<: *base`) fill in what the mapping does not set itself.
                for merge in merges {
                    let sources = match merge.node {
                        Node::Map(m) => vec![m],
                        Node::Seq(items) => items
                            .into_iter()
                            .map(|i| match i.node {
                                Node::Map(m) => Ok(m),
                                _ => Err(yaml_error(&span, "expected a mapping for merging")),
                            })
                            .collect::<Result<_, _>>()?,
                        _ => {
                            return Err(yaml_error(
                                &span,
                                "expected a mapping or list of mappings for merging",
                            ));
                        }
                    };
                    for source in sources {
                        for (k, v) in source {
                            if !entries.iter().any(|(ek, _)| ek.node == k.node) {
                                entries.push((k, v));
                            }
                        }
                    }
                }
                (Node::Map(entries), anchor)
            }
            _ => return Err(yaml_error(&span, "unexpected YAML event")),
        };
        let out = Spanned { node, line };
        if anchor > 0 {
            self.anchors.insert(anchor, out.clone());
        }
        Ok(out)
    }
}

fn insert(entries: &mut Vec<(Spanned, Spanned)>, key: Spanned, value: Spanned) {
    if let Some(slot) = entries.iter_mut().find(|(k, _)| k.node == key.node) {
        slot.1 = value;
    } else {
        entries.push((key, value));
    }
}

fn check_collection_tag(tag: Option<String>, kind: &str, span: &Span) -> Result<(), YamlError> {
    match tag.as_deref() {
        None | Some("!") => Ok(()),
        Some(t) if t == format!("tag:yaml.org,2002:{kind}") || t == format!("!!{kind}") => Ok(()),
        Some(t) => Err(yaml_error(
            span,
            format!("could not determine a constructor for the tag '{t}'"),
        )),
    }
}

/// Resolves a scalar as PyYAML's SafeLoader does.
fn resolve_scalar(
    value: &str,
    style: ScalarStyle,
    tag: Option<&str>,
    span: &Span,
) -> Result<Node, YamlError> {
    let tag = tag.map(|t| {
        t.strip_prefix("tag:yaml.org,2002:")
            .map_or(t.to_owned(), |s| format!("!!{s}"))
    });
    let kind = match tag.as_deref() {
        Some("!!str") | Some("!") => return Ok(Node::Str(value.to_owned())),
        Some("!!int") => "int",
        Some("!!float") => "float",
        Some("!!bool") => "bool",
        Some("!!null") => "null",
        Some("!!timestamp") => "timestamp",
        Some("!!binary") => return Ok(Node::Other("bytes")),
        Some(other) => {
            return Err(yaml_error(
                span,
                format!("could not determine a constructor for the tag '{other}'"),
            ));
        }
        None if style != ScalarStyle::Plain => return Ok(Node::Str(value.to_owned())),
        None => implicit_kind(value),
    };
    let bad = |what: &str| yaml_error(span, format!("invalid {what} value '{value}'"));
    Ok(match kind {
        "null" => Node::Null,
        "bool" => match value.to_ascii_lowercase().as_str() {
            "yes" | "true" | "on" => Node::Bool(true),
            "no" | "false" | "off" => Node::Bool(false),
            _ => return Err(bad("boolean")),
        },
        "int" => Node::Int(construct_int(value).ok_or_else(|| bad("integer"))?),
        "float" => Node::Float(construct_float(value).ok_or_else(|| bad("float"))?),
        "timestamp" => Node::Other(if value.len() == 10 {
            "date"
        } else {
            "datetime"
        }),
        "value" => {
            return Err(yaml_error(
                span,
                "could not determine a constructor for the tag 'tag:yaml.org,2002:value'",
            ));
        }
        _ => Node::Str(value.to_owned()),
    })
}

fn implicit_kind(v: &str) -> &'static str {
    match v {
        "" | "~" | "null" | "Null" | "NULL" => return "null",
        "yes" | "Yes" | "YES" | "no" | "No" | "NO" | "true" | "True" | "TRUE" | "false"
        | "False" | "FALSE" | "on" | "On" | "ON" | "off" | "Off" | "OFF" => return "bool",
        "=" => return "value",
        _ => {}
    }
    if is_int(v) {
        "int"
    } else if is_float(v) {
        "float"
    } else if is_timestamp(v) {
        "timestamp"
    } else {
        "str"
    }
}

fn strip_sign(v: &str) -> &str {
    v.strip_prefix(['-', '+']).unwrap_or(v)
}

fn all(s: &str, f: impl Fn(char) -> bool) -> bool {
    !s.is_empty() && s.chars().all(f)
}

/// `[-+]?0b[0-1_]+ | [-+]?0[0-7_]+ | [-+]?(0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+ |
/// [-+]?[1-9][0-9_]*(:[0-5]?[0-9])+`
fn is_int(v: &str) -> bool {
    let s = strip_sign(v);
    if let Some(b) = s.strip_prefix("0b") {
        return all(b, |c| c == '0' || c == '1' || c == '_');
    }
    if let Some(h) = s.strip_prefix("0x") {
        return all(h, |c| c.is_ascii_hexdigit() || c == '_');
    }
    if s == "0" {
        return true;
    }
    if let Some(o) = s.strip_prefix('0') {
        return all(o, |c| ('0'..='7').contains(&c) || c == '_');
    }
    if s.contains(':') {
        let mut parts = s.split(':');
        let first = parts.next().unwrap_or("");
        return first.starts_with(|c: char| ('1'..='9').contains(&c))
            && all(first, |c| c.is_ascii_digit() || c == '_')
            && parts.all(sexagesimal_part);
    }
    s.starts_with(|c: char| ('1'..='9').contains(&c)) && all(s, |c| c.is_ascii_digit() || c == '_')
}

fn sexagesimal_part(p: &str) -> bool {
    matches!(p.len(), 1 | 2)
        && p.chars().all(|c| c.is_ascii_digit())
        && (p.len() == 1 || ('0'..='5').contains(&p.chars().next().unwrap_or('9')))
}

/// `[-+]?([0-9][0-9_]*)\.[0-9_]*([eE][-+][0-9]+)? | \.[0-9_]+([eE][-+][0-9]+)? |
/// [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]* | [-+]?\.(inf|Inf|INF) | \.(nan|NaN|NAN)`
fn is_float(v: &str) -> bool {
    if matches!(v, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let signed = v.starts_with(['-', '+']);
    let s = strip_sign(v);
    if matches!(s, ".inf" | ".Inf" | ".INF") {
        return true;
    }
    let exp_ok = |e: &str| {
        e.is_empty() || {
            let e = e.strip_prefix(['e', 'E']);
            e.is_some_and(|e| {
                e.strip_prefix(['-', '+'])
                    .is_some_and(|d| all(d, |c| c.is_ascii_digit()))
            })
        }
    };
    if let Some(rest) = s.strip_prefix('.') {
        if signed {
            return false;
        }
        let digits_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '_'))
            .unwrap_or(rest.len());
        return digits_end > 0 && exp_ok(&rest[digits_end..]);
    }
    let Some(dot) = s.find('.') else { return false };
    let (int, frac) = (&s[..dot], &s[dot + 1..]);
    if int.contains(':') {
        let mut parts = int.split(':');
        let first = parts.next().unwrap_or("");
        return first.starts_with(|c: char| c.is_ascii_digit())
            && all(first, |c| c.is_ascii_digit() || c == '_')
            && parts.all(sexagesimal_part)
            && frac.chars().all(|c| c.is_ascii_digit() || c == '_');
    }
    if !(int.starts_with(|c: char| c.is_ascii_digit())
        && all(int, |c| c.is_ascii_digit() || c == '_'))
    {
        return false;
    }
    let digits_end = frac
        .find(|c: char| !(c.is_ascii_digit() || c == '_'))
        .unwrap_or(frac.len());
    exp_ok(&frac[digits_end..])
}

fn is_timestamp(v: &str) -> bool {
    let b = v.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    if b.len() == 10 {
        return (0..4).all(digit)
            && b[4] == b'-'
            && digit(5)
            && digit(6)
            && b[7] == b'-'
            && digit(8)
            && digit(9);
    }
    b.len() > 10 && (0..4).all(digit) && b[4] == b'-' && v[5..].contains(':') && {
        let rest = &v[5..];
        rest.starts_with(|c: char| c.is_ascii_digit())
            && rest
                .chars()
                .all(|c| c.is_ascii_digit() || "-:.TtZz +".contains(c))
    }
}

fn construct_int(v: &str) -> Option<String> {
    let cleaned: String = v.chars().filter(|c| *c != '_').collect();
    let (neg, s) = match cleaned.strip_prefix('-') {
        Some(s) => (true, s.to_owned()),
        None => (
            false,
            cleaned.strip_prefix('+').unwrap_or(&cleaned).to_owned(),
        ),
    };
    let value: i128 = if s == "0" {
        0
    } else if let Some(b) = s.strip_prefix("0b") {
        i128::from_str_radix(b, 2).ok()?
    } else if let Some(h) = s.strip_prefix("0x") {
        i128::from_str_radix(h, 16).ok()?
    } else if let Some(octal) = s.strip_prefix('0') {
        i128::from_str_radix(octal, 8).ok()?
    } else if s.contains(':') {
        s.split(':')
            .try_fold(0i128, |acc, p| Some(acc * 60 + p.parse::<i128>().ok()?))?
    } else {
        return Some(if neg && s != "0" {
            format!("-{}", s.trim_start_matches('0'))
        } else {
            s.trim_start_matches('0').to_owned()
        });
    };
    Some((if neg { -value } else { value }).to_string())
}

fn construct_float(v: &str) -> Option<f64> {
    let cleaned: String = v
        .chars()
        .filter(|c| *c != '_')
        .collect::<String>()
        .to_ascii_lowercase();
    let (sign, s) = match cleaned.strip_prefix('-') {
        Some(s) => (-1.0, s.to_owned()),
        None => (
            1.0,
            cleaned.strip_prefix('+').unwrap_or(&cleaned).to_owned(),
        ),
    };
    if s == ".inf" {
        return Some(sign * f64::INFINITY);
    }
    if s == ".nan" {
        return Some(f64::NAN);
    }
    if s.contains(':') {
        let mut value = 0.0;
        for p in s.split(':') {
            value = value * 60.0 + p.parse::<f64>().ok()?;
        }
        return Some(sign * value);
    }
    s.parse::<f64>().ok().map(|f| sign * f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(text: &str) -> Node {
        match load_yaml(&format!("a: {text}")).unwrap().node {
            Node::Map(mut m) => m.remove(0).1.node,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn scalars_resolve_like_pyyaml() {
        let check = |t: &str, n: Node| assert_eq!(scalar(t), n, "{t}");
        check("1e5", Node::Str("1e5".into()));
        check("1.0e+5", Node::Float(100000.0));
        check("017", Node::Int("15".into()));
        check("0o17", Node::Str("0o17".into()));
        check("1_000", Node::Int("1000".into()));
        check("1:30", Node::Int("90".into()));
        check("yes", Node::Bool(true));
        check("Off", Node::Bool(false));
        check("2024-01-01", Node::Other("date"));
        check(".inf", Node::Float(f64::INFINITY));
        check("", Node::Null);
        check("~", Node::Null);
        check("0x1F", Node::Int("31".into()));
        check("+12", Node::Int("12".into()));
        check("-0", Node::Int("0".into()));
        check("10", Node::Int("10".into()));
        check("0.5", Node::Float(0.5));
        check("'10'", Node::Str("10".into()));
        check("\"true\"", Node::Str("true".into()));
        check("!!str 10", Node::Str("10".into()));
        check(".name", Node::Str(".name".into()));
        check("'\"x\"'", Node::Str("\"x\"".into()));
        assert!(load_yaml("a: =").is_err());
    }

    #[test]
    fn anchors_merges_and_duplicates() {
        let doc = load_yaml("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\nd: 1\nd: 2\n").unwrap();
        let Node::Map(m) = doc.node else { panic!() };
        assert_eq!(m.len(), 3);
        assert_eq!(m[2].1.node, Node::Int("2".into()));
        let Node::Map(c) = &m[1].1.node else { panic!() };
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].1.node, Node::Int("3".into()));
        assert_eq!(m[1].0.line, Some(2));
    }

    #[test]
    fn syntax_errors_have_lines() {
        let e = load_yaml("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.line >= 1, "{e:?}");
        assert_eq!(load_yaml("").unwrap().node, Node::Null);
    }
}
