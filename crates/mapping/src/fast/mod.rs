//! Native evaluation of the expression shapes real mappings use most, without jaq.
//!
//! Running a jaq program costs a microsecond or more even for `.name`; most mapping fields are
//! plain paths, literals, concatenations, `ascii_downcase`, `[.x[].y]`, `select` filters and
//! `if . == null then null else f end`. [`Expr::parse`] accepts exactly a small subset of jq's
//! grammar (paths, `.[]`, literals, `|`, `[…]`, `select`, `if`, `not`, `and`/`or`, `//`,
//! comparisons, arithmetic and a few zero-argument builtins) and refuses everything else, which
//! then goes to jaq. Evaluation reuses the very operations the jaq path uses (`Val::add`,
//! `Val::get`, jq's ordering, the same builtins), and the tests run every shape through both
//! paths on varied data. Compiled expressions hold no `Val`, so they are `Send + Sync`.

use crate::jq::First;
use crate::jq::value::{Val, err};
use std::rc::Rc;

/// A parsed expression of the native subset.
#[derive(Debug, Clone)]
pub struct Expr {
    root: Node,
}

#[derive(Debug, Clone)]
enum Lit {
    Null,
    Bool(bool),
    Num(f64, Option<Box<str>>),
    Str(Box<str>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Builtin {
    AsciiDowncase,
    AsciiUpcase,
    ToString,
    Length,
    Floor,
    Ceil,
    Round,
    Not,
    Type,
    ToNumber,
}

#[derive(Debug, Clone)]
enum Node {
    Identity,
    Field(Box<str>),
    Index(f64),
    Iterate,
    Literal(Lit),
    Pipe(Box<Node>, Box<Node>),
    Comma(Box<Node>, Box<Node>),
    Collect(Box<Node>),
    Binary(Op, Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Alt(Box<Node>, Box<Node>),
    If(Box<Node>, Box<Node>, Box<Node>),
    Select(Box<Node>),
    Call(Builtin),
    Empty,
}

type Res<T> = Result<T, String>;

impl Node {
    /// Whether the node yields at most one output for any input.
    fn single(&self) -> bool {
        match self {
            Node::Identity
            | Node::Field(_)
            | Node::Index(_)
            | Node::Literal(_)
            | Node::Collect(_)
            | Node::Call(_)
            | Node::Empty => true,
            Node::Iterate | Node::Comma(..) => false,
            Node::Pipe(a, b) | Node::Alt(a, b) => a.single() && b.single(),
            Node::Binary(_, a, b) | Node::And(a, b) | Node::Or(a, b) => a.single() && b.single(),
            Node::If(c, a, b) => c.single() && a.single() && b.single(),
            Node::Select(c) => c.single(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Dot,
    DotField(String),
    Ident(String),
    Str(String),
    Num(String),
    Punct(&'static str),
}

fn tokenize(s: &str) -> Option<Vec<Tok>> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    const PUNCT: [&str; 20] = [
        "==", "!=", "<=", ">=", "//", "|", ",", "(", ")", "[", "]", "+", "-", "*", "/", "%", "<",
        ">", "?", ";",
    ];
    'outer: while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'.' {
            let start = i + 1;
            let mut j = start;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if j > start && !b[start].is_ascii_digit() {
                out.push(Tok::DotField(s[start..j].to_owned()));
            } else if j > start {
                return None; // `.5` and friends: leave to jaq
            } else {
                out.push(Tok::Dot);
            }
            i = j;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            if i < b.len() && b[i] == b':' {
                return None; // module paths, object keys
            }
            out.push(Tok::Ident(s[start..i].to_owned()));
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i < b.len() && b[i] == b'.' {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
                i += 1;
                if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                    i += 1;
                }
                let e = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                if e == i {
                    return None;
                }
            }
            if i < b.len() && (b[i].is_ascii_alphabetic() || b[i] == b'_' || b[i] == b'.') {
                return None;
            }
            out.push(Tok::Num(s[start..i].to_owned()));
            continue;
        }
        if c == b'"' {
            i += 1;
            let mut text = String::new();
            loop {
                let ch = s[i..].chars().next()?;
                i += ch.len_utf8();
                match ch {
                    '"' => break,
                    '\\' => {
                        let e = s[i..].chars().next()?;
                        i += 1;
                        match e {
                            '"' => text.push('"'),
                            '\\' => text.push('\\'),
                            '/' => text.push('/'),
                            'b' => text.push('\u{8}'),
                            'f' => text.push('\u{c}'),
                            'n' => text.push('\n'),
                            'r' => text.push('\r'),
                            't' => text.push('\t'),
                            _ => return None, // \u escapes and interpolation: jaq
                        }
                    }
                    c => text.push(c),
                }
            }
            out.push(Tok::Str(text));
            continue;
        }
        if c == b'#' {
            return None;
        }
        for p in PUNCT {
            if s[i..].starts_with(p) {
                out.push(Tok::Punct(p));
                i += p.len();
                continue 'outer;
            }
        }
        return None;
    }
    Some(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Punct(q)) if *q == p) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_ident(&mut self, w: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Ident(q)) if q == w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn pipe(&mut self) -> Option<Node> {
        let mut lhs = self.alt()?;
        while self.eat_punct(",") {
            let rhs = self.alt()?;
            lhs = Node::Comma(Box::new(lhs), Box::new(rhs));
        }
        if self.eat_punct("|") {
            let rhs = self.pipe()?;
            return Some(Node::Pipe(Box::new(lhs), Box::new(rhs)));
        }
        Some(lhs)
    }

    fn alt(&mut self) -> Option<Node> {
        let lhs = self.or()?;
        if self.eat_punct("//") {
            let rhs = self.alt()?;
            if !lhs.single() {
                return None;
            }
            return Some(Node::Alt(Box::new(lhs), Box::new(rhs)));
        }
        Some(lhs)
    }

    fn or(&mut self) -> Option<Node> {
        let mut lhs = self.and()?;
        while self.eat_ident("or") {
            let rhs = self.and()?;
            if !(lhs.single() && rhs.single()) {
                return None;
            }
            lhs = Node::Or(Box::new(lhs), Box::new(rhs));
        }
        Some(lhs)
    }

    fn and(&mut self) -> Option<Node> {
        let mut lhs = self.cmp()?;
        while self.eat_ident("and") {
            let rhs = self.cmp()?;
            if !(lhs.single() && rhs.single()) {
                return None;
            }
            lhs = Node::And(Box::new(lhs), Box::new(rhs));
        }
        Some(lhs)
    }

    fn cmp(&mut self) -> Option<Node> {
        let lhs = self.additive()?;
        let op = match self.peek() {
            Some(Tok::Punct("==")) => Op::Eq,
            Some(Tok::Punct("!=")) => Op::Ne,
            Some(Tok::Punct("<")) => Op::Lt,
            Some(Tok::Punct("<=")) => Op::Le,
            Some(Tok::Punct(">")) => Op::Gt,
            Some(Tok::Punct(">=")) => Op::Ge,
            _ => return Some(lhs),
        };
        self.pos += 1;
        let rhs = self.additive()?;
        binary(op, lhs, rhs)
    }

    fn additive(&mut self) -> Option<Node> {
        let mut lhs = self.multiplicative()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Punct("+")) => Op::Add,
                Some(Tok::Punct("-")) => Op::Sub,
                _ => return Some(lhs),
            };
            self.pos += 1;
            let rhs = self.multiplicative()?;
            lhs = binary(op, lhs, rhs)?;
        }
    }

    fn multiplicative(&mut self) -> Option<Node> {
        let mut lhs = self.postfix()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Punct("*")) => Op::Mul,
                Some(Tok::Punct("/")) => Op::Div,
                Some(Tok::Punct("%")) => Op::Rem,
                _ => return Some(lhs),
            };
            self.pos += 1;
            let rhs = self.postfix()?;
            lhs = binary(op, lhs, rhs)?;
        }
    }

    fn postfix(&mut self) -> Option<Node> {
        let mut node = self.primary()?;
        loop {
            match self.peek() {
                Some(Tok::DotField(f)) => {
                    let f = f.clone();
                    self.pos += 1;
                    node = pipe(node, Node::Field(f.into()));
                }
                Some(Tok::Punct("[")) => {
                    self.pos += 1;
                    node = pipe(node, self.bracket()?);
                }
                Some(Tok::Dot) if matches!(self.toks.get(self.pos + 1), Some(Tok::Punct("["))) => {
                    self.pos += 2;
                    node = pipe(node, self.bracket()?);
                }
                _ => return Some(node),
            }
        }
    }

    /// After `[` in suffix position: `]`, `"key"]` or `number]`.
    fn bracket(&mut self) -> Option<Node> {
        let node = match self.peek()?.clone() {
            Tok::Punct("]") => Node::Iterate,
            Tok::Str(s) => {
                self.pos += 1;
                Node::Field(s.into())
            }
            Tok::Num(n) => {
                self.pos += 1;
                Node::Index(n.parse().ok()?)
            }
            Tok::Punct("-") => match self.toks.get(self.pos + 1)?.clone() {
                Tok::Num(n) => {
                    self.pos += 2;
                    Node::Index(-n.parse::<f64>().ok()?)
                }
                _ => return None,
            },
            _ => return None,
        };
        if !self.eat_punct("]") {
            return None;
        }
        Some(node)
    }

    fn primary(&mut self) -> Option<Node> {
        let tok = self.peek()?.clone();
        self.pos += 1;
        Some(match tok {
            Tok::Dot => {
                if matches!(self.peek(), Some(Tok::Punct("["))) {
                    self.pos += 1;
                    self.bracket()?
                } else {
                    Node::Identity
                }
            }
            Tok::DotField(f) => Node::Field(f.into()),
            Tok::Str(s) => Node::Literal(Lit::Str(s.into())),
            Tok::Num(n) => Node::Literal(number_literal(&n)?),
            Tok::Punct("(") => {
                let inner = self.pipe()?;
                if !self.eat_punct(")") {
                    return None;
                }
                inner
            }
            Tok::Punct("[") => {
                let inner = self.pipe()?;
                if !self.eat_punct("]") {
                    return None;
                }
                Node::Collect(Box::new(inner))
            }
            Tok::Ident(w) => match w.as_str() {
                "null" => Node::Literal(Lit::Null),
                "true" => Node::Literal(Lit::Bool(true)),
                "false" => Node::Literal(Lit::Bool(false)),
                "empty" => Node::Empty,
                "not" => Node::Call(Builtin::Not),
                "ascii_downcase" => Node::Call(Builtin::AsciiDowncase),
                "ascii_upcase" => Node::Call(Builtin::AsciiUpcase),
                "tostring" => Node::Call(Builtin::ToString),
                "length" => Node::Call(Builtin::Length),
                "floor" => Node::Call(Builtin::Floor),
                "ceil" => Node::Call(Builtin::Ceil),
                "round" => Node::Call(Builtin::Round),
                "type" => Node::Call(Builtin::Type),
                "tonumber" => Node::Call(Builtin::ToNumber),
                "select" => {
                    if !self.eat_punct("(") {
                        return None;
                    }
                    let cond = self.pipe()?;
                    if !self.eat_punct(")") || !cond.single() {
                        return None;
                    }
                    Node::Select(Box::new(cond))
                }
                "if" => self.if_rest()?,
                _ => return None,
            },
            _ => return None,
        })
        .and_then(|n| {
            // A call with arguments we do not know (e.g. `length(x)`) is not ours.
            if matches!(n, Node::Call(_) | Node::Empty)
                && matches!(self.peek(), Some(Tok::Punct("(")))
            {
                None
            } else {
                Some(n)
            }
        })
    }

    /// After `if`: `cond then a (elif c then b)* (else d)? end`.
    fn if_rest(&mut self) -> Option<Node> {
        let cond = self.pipe()?;
        if !cond.single() || !self.eat_ident("then") {
            return None;
        }
        let then = self.pipe()?;
        let otherwise = if self.eat_ident("elif") {
            return self
                .if_rest()
                .map(|rest| Node::If(Box::new(cond), Box::new(then), Box::new(rest)));
        } else if self.eat_ident("else") {
            let e = self.pipe()?;
            if !self.eat_ident("end") {
                return None;
            }
            e
        } else if self.eat_ident("end") {
            Node::Identity
        } else {
            return None;
        };
        Some(Node::If(
            Box::new(cond),
            Box::new(then),
            Box::new(otherwise),
        ))
    }
}

fn pipe(a: Node, b: Node) -> Node {
    match a {
        Node::Identity => b,
        a => Node::Pipe(Box::new(a), Box::new(b)),
    }
}

fn binary(op: Op, lhs: Node, rhs: Node) -> Option<Node> {
    (lhs.single() && rhs.single()).then(|| Node::Binary(op, Box::new(lhs), Box::new(rhs)))
}

/// A number literal as jaq builds it: machine integers directly, everything else through the
/// literal-keeping constructor.
fn number_literal(text: &str) -> Option<Lit> {
    use jaq_core::ValT;
    let v = match text.parse::<isize>() {
        Ok(i) => Val::from(i),
        Err(_) => Val::from_num(text).ok()?,
    };
    Some(match v {
        Val::Num(f) => Lit::Num(f, None),
        Val::Lit(l) => Lit::Num(l.value, Some(l.text.clone())),
        _ => return None,
    })
}

impl Expr {
    /// Parses `code` (quotes already rewritten) if it lies entirely within the native subset.
    pub fn parse(code: &str) -> Option<Expr> {
        let toks = tokenize(code)?;
        if toks.is_empty() {
            return None;
        }
        let mut p = Parser { toks, pos: 0 };
        let root = p.pipe()?;
        (p.pos == p.toks.len()).then_some(Expr { root })
    }

    /// The first output on `input`, as jq would give it.
    pub fn first(&self, input: &Val) -> First {
        if self.root.single() {
            return match eval1(&self.root, input) {
                Ok(Some(v)) => First::Value(v),
                Ok(None) => First::Empty,
                Err(e) => First::Error(e),
            };
        }
        let mut found = None;
        let r = eval(&self.root, input, &mut |v| {
            found = Some(v);
            Ok(false)
        });
        match (found, r) {
            (Some(v), _) => First::Value(v),
            (None, Ok(_)) => First::Empty,
            (None, Err(e)) => First::Error(e),
        }
    }
}

fn lit(l: &Lit) -> Val {
    match l {
        Lit::Null => Val::Null,
        Lit::Bool(b) => Val::Bool(*b),
        Lit::Num(f, text) => Val::num_with_literal(*f, text.clone()),
        Lit::Str(s) => Val::Str(Rc::from(&**s)),
    }
}

fn field(v: &Val, key: &str) -> Res<Val> {
    match v {
        Val::Obj(o) => Ok(o.get(key).cloned().unwrap_or(Val::Null)),
        Val::Null => Ok(Val::Null),
        other => Err(format!("Cannot index {} with \"{key}\"", other.type_name())),
    }
}

fn error_text(e: crate::jq::value::Error) -> String {
    match e.into_val() {
        Val::Str(s) => s.to_string(),
        v => v.to_json(),
    }
}

fn call(b: Builtin, v: Val) -> Res<Val> {
    let fail = |what: &str, v: &Val| format!("{} {what}", v.describe());
    match b {
        Builtin::Not => Ok(Val::Bool(!v.truthy())),
        Builtin::AsciiDowncase | Builtin::AsciiUpcase => match &v {
            Val::Str(s) => {
                let t = if b == Builtin::AsciiDowncase {
                    s.to_ascii_lowercase()
                } else {
                    s.to_ascii_uppercase()
                };
                Ok(if t == **s { v } else { Val::from(t) })
            }
            other => Err(fail("cannot be case-converted", other)),
        },
        Builtin::ToString => Ok(Val::Str(v.to_jq_string())),
        Builtin::Length => v.length().map_err(error_text),
        Builtin::Floor | Builtin::Ceil | Builtin::Round => match v.as_num() {
            Some(x) => Ok(Val::Num(match b {
                Builtin::Floor => x.floor(),
                Builtin::Ceil => x.ceil(),
                _ => x.round(),
            })),
            None => Err(fail("number required", &v)),
        },
        Builtin::Type => Ok(Val::str(v.type_name())),
        Builtin::ToNumber => crate::jq::tonumber(v).map_err(error_text),
    }
}

fn binop(op: Op, l: Val, r: Val) -> Res<Val> {
    let cmp = |f: fn(std::cmp::Ordering) -> bool| Ok(Val::Bool(f(l.cmp_jq(&r))));
    match op {
        Op::Add => l.plus(r).map_err(error_text),
        Op::Sub => l.minus(r).map_err(error_text),
        Op::Mul => l.times(r).map_err(error_text),
        Op::Div => l.divide(r).map_err(error_text),
        Op::Rem => l.modulo(r).map_err(error_text),
        Op::Eq => Ok(Val::Bool(l == r)),
        Op::Ne => Ok(Val::Bool(l != r)),
        Op::Lt => cmp(|o| o.is_lt()),
        Op::Le => cmp(|o| o.is_le()),
        Op::Gt => cmp(|o| o.is_gt()),
        Op::Ge => cmp(|o| o.is_ge()),
    }
}

/// Evaluates a node that yields at most one output.
fn eval1(n: &Node, input: &Val) -> Res<Option<Val>> {
    Ok(Some(match n {
        Node::Identity => input.clone(),
        Node::Field(k) => field(input, k)?,
        Node::Index(i) => input.get(&Val::Num(*i)).map_err(error_text)?,
        Node::Literal(l) => lit(l),
        Node::Empty => return Ok(None),
        Node::Call(b) => call(*b, input.clone())?,
        Node::Pipe(a, b) => match eval1(a, input)? {
            Some(v) => return eval1(b, &v),
            None => return Ok(None),
        },
        Node::Collect(inner) => {
            let mut items = Vec::new();
            eval(inner, input, &mut |v| {
                items.push(v);
                Ok(true)
            })?;
            Val::arr(items)
        }
        Node::Binary(op, a, b) => {
            // jq evaluates the right operand first.
            let Some(r) = eval1(b, input)? else {
                return Ok(None);
            };
            let Some(l) = eval1(a, input)? else {
                return Ok(None);
            };
            binop(*op, l, r)?
        }
        Node::And(a, b) => {
            let Some(l) = eval1(a, input)? else {
                return Ok(None);
            };
            if !l.truthy() {
                return Ok(Some(Val::Bool(false)));
            }
            let Some(r) = eval1(b, input)? else {
                return Ok(None);
            };
            Val::Bool(r.truthy())
        }
        Node::Or(a, b) => {
            let Some(l) = eval1(a, input)? else {
                return Ok(None);
            };
            if l.truthy() {
                return Ok(Some(Val::Bool(true)));
            }
            let Some(r) = eval1(b, input)? else {
                return Ok(None);
            };
            Val::Bool(r.truthy())
        }
        Node::Alt(a, b) => match eval1(a, input)? {
            Some(v) if v.truthy() => v,
            _ => return eval1(b, input),
        },
        Node::If(c, t, e) => {
            let Some(cond) = eval1(c, input)? else {
                return Ok(None);
            };
            return eval1(if cond.truthy() { t } else { e }, input);
        }
        Node::Select(c) => {
            let Some(cond) = eval1(c, input)? else {
                return Ok(None);
            };
            if cond.truthy() {
                input.clone()
            } else {
                return Ok(None);
            }
        }
        Node::Iterate | Node::Comma(..) => unreachable_multi()?,
    }))
}

fn unreachable_multi() -> Res<Val> {
    Err(error_text(err(
        "internal: multi-output node evaluated as single",
    )))
}

/// Streams the outputs of `n` to `k` until `k` returns `false`. Returns `Ok(false)` when
/// stopped early.
fn eval(n: &Node, input: &Val, k: &mut dyn FnMut(Val) -> Res<bool>) -> Res<bool> {
    if n.single() {
        return match eval1(n, input)? {
            Some(v) => k(v),
            None => Ok(true),
        };
    }
    match n {
        Node::Iterate => match input {
            Val::Arr(a) => {
                for v in a.iter() {
                    if !k(v.clone())? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Val::Obj(o) => {
                for v in o.values() {
                    if !k(v.clone())? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            other => Err(format!("Cannot iterate over {}", other.describe())),
        },
        Node::Pipe(a, b) => eval(a, input, &mut |v| eval(b, &v, k)),
        Node::Comma(a, b) => {
            if !eval(a, input, k)? {
                return Ok(false);
            }
            eval(b, input, k)
        }
        Node::Alt(a, b) => {
            // Only reached with a multi-output right side (the left side is single).
            match eval1(a, input)? {
                Some(v) if v.truthy() => k(v),
                _ => eval(b, input, k),
            }
        }
        Node::If(c, t, e) => match eval1(c, input)? {
            Some(cond) => eval(if cond.truthy() { t } else { e }, input, k),
            None => Ok(true),
        },
        _ => Err("internal: unexpected multi-output node".to_owned()),
    }
}

#[cfg(test)]
mod tests;
