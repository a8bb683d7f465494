//! The mapping conformance suite's runner, shared by two test targets: `ocean-mapping`'s
//! `tests/conformance.rs` (the engine in process) and `ocean-cli`'s `tests/map_cli.rs` (the
//! `ocean map` binary). Both hand each case and kind to a runner and compare what it observed
//! with `expected.json` here, so the two cannot drift apart.
//!
//! The comparison follows what Python Ocean's output means (see `README.md` beside the cases):
//! entities are compared in order; objects must have the same keys (in any order); numbers are
//! equal when their mathematical values are (`1` equals `1.0`, an integer equals the double with
//! exactly its value, `1e300` equals the 301-digit integer Ocean sends); booleans never equal
//! numbers. JSON is read by the small parser below, which keeps each number's spelling, so that
//! integers are compared with all their digits and no part of the engine under test judges it.

#![allow(dead_code)] // Each test target uses a different part.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The cases' folder (`crates/mapping/tests/conformance/cases`).
pub fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("mapping")
        .join("tests")
        .join("conformance")
        .join("cases")
}

/// The fewest cases the suite may hold: a guard against a folder emptied by accident.
pub const MIN_CASES: usize = 120;

/// Optional outputs that are compared when a runner reports them.
pub const OPTIONAL_KEYS: [&str; 5] = [
    "selector_dropped",
    "selector_errors",
    "skipped",
    "misconfigured",
    "failed_selector_entities",
];

const MAX_DIFFS: usize = 3;

/// One case: a port-app-config, raw items per kind, and what Python Ocean produced.
#[derive(Debug)]
pub struct Case {
    /// The case's folder.
    pub dir: PathBuf,
    /// Its id (`arith-basic-operators`).
    pub id: String,
    /// The kinds to map, in order.
    pub kinds: Vec<String>,
    /// Ocean's `allow_environment_variables_jq_access` for this case (default true).
    pub env_access: bool,
    /// Environment variables to set (`None`: must be unset).
    pub env: Vec<(String, Option<String>)>,
    /// `expected.json`'s `kinds` object: kind → expectation.
    expected: BTreeMap<String, J>,
}

impl Case {
    /// The config's path.
    pub fn config(&self) -> PathBuf {
        self.dir.join("config.yml")
    }

    /// The raw items' path for `kind`.
    pub fn input(&self, kind: &str) -> PathBuf {
        self.dir.join(format!("input.{kind}.json"))
    }

    /// The process environment with this case's variables set and unset, as the runner of
    /// `ocean map` would pass it on.
    pub fn environment(&self) -> Vec<(String, String)> {
        let mut vars: BTreeMap<String, String> = std::env::vars().collect();
        for (k, v) in &self.env {
            match v {
                Some(v) => vars.insert(k.clone(), v.clone()),
                None => vars.remove(k),
            };
        }
        vars.into_iter().collect()
    }
}

/// Loads every case under `root` (each folder holding a `case.json`), sorted by folder name.
pub fn load_cases(root: &Path) -> Vec<Case> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap_or_else(|e| {
            panic!(
                "cannot read the conformance cases at {}: {e}",
                root.display()
            )
        })
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.join("case.json").is_file())
        .collect();
    dirs.sort();
    let cases: Vec<Case> = dirs.into_iter().map(|d| load_case(&d)).collect();
    assert!(
        cases.len() >= MIN_CASES,
        "only {} conformance cases under {} (expected at least {MIN_CASES})",
        cases.len(),
        root.display()
    );
    cases
}

fn read_json(path: &Path) -> J {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn load_case(dir: &Path) -> Case {
    let meta = read_json(&dir.join("case.json"));
    let expected = read_json(&dir.join("expected.json"));
    let field = |name: &str| {
        meta.get(name)
            .unwrap_or_else(|| panic!("{}: case.json has no {name}", dir.display()))
    };
    let id = field("id").as_str().expect("id is a string").to_owned();
    let kinds = match field("kinds") {
        J::Arr(a) => a
            .iter()
            .map(|k| k.as_str().expect("kinds are strings").to_owned())
            .collect(),
        other => panic!("{id}: kinds is {other:?}"),
    };
    let env_access = match field("env_access") {
        J::Null => true,
        J::Bool(b) => *b,
        other => panic!("{id}: env_access is {other:?}"),
    };
    let env = match meta.get("env") {
        None | Some(J::Null) => Vec::new(),
        Some(J::Obj(o)) => o
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned)))
            .collect(),
        Some(other) => panic!("{id}: env is {other:?}"),
    };
    let expected = match expected.get("kinds") {
        Some(J::Obj(o)) => o.iter().cloned().collect(),
        other => panic!("{id}: expected.json has no kinds object: {other:?}"),
    };
    Case {
        dir: dir.to_owned(),
        id,
        kinds,
        env_access,
        env,
        expected,
    }
}

/// What a runner observed for one case and kind.
#[derive(Debug)]
pub enum Observed {
    /// The mapping succeeded: `entities` and whichever optional keys the runner reports.
    Ok(BTreeMap<String, J>),
    /// The config was rejected or the batch failed (a non-zero exit), with why.
    Failed(String),
}

impl Observed {
    /// Reads what `ocean map` printed: a JSON array of entities, or an object with an
    /// `entities` array and optional counts.
    pub fn from_stdout(stdout: &str) -> Observed {
        match parse(stdout) {
            Err(e) => Observed::Failed(format!("stdout is not JSON ({e})")),
            Ok(J::Arr(a)) => Observed::Ok(BTreeMap::from([("entities".to_owned(), J::Arr(a))])),
            Ok(J::Obj(o))
                if matches!(
                    o.iter().find(|(k, _)| k == "entities"),
                    Some((_, J::Arr(_)))
                ) =>
            {
                Observed::Ok(
                    o.into_iter()
                        .filter(|(k, _)| k == "entities" || OPTIONAL_KEYS.contains(&k.as_str()))
                        .collect(),
                )
            }
            Ok(_) => Observed::Failed(
                "stdout must be a JSON array or an object with an 'entities' array".to_owned(),
            ),
        }
    }
}

/// The differences between `case`'s expectation for `kind` and what was observed (empty when
/// they agree).
pub fn compare_kind(case: &Case, kind: &str, observed: &Observed) -> Vec<String> {
    let expected = case
        .expected
        .get(kind)
        .unwrap_or_else(|| panic!("{}: expected.json has no kind {kind}", case.id));
    let outcome = expected.get("outcome").and_then(J::as_str).unwrap_or("?");
    match (outcome, observed) {
        ("ok", Observed::Failed(why)) => vec![format!("failed: {why}")],
        ("ok", Observed::Ok(got)) => {
            let mut diffs = Vec::new();
            for key in std::iter::once("entities").chain(OPTIONAL_KEYS) {
                let Some(actual) = got.get(key) else {
                    if key == "entities" {
                        diffs.push("entities: missing from the output".to_owned());
                    }
                    continue;
                };
                match expected.get(key) {
                    None | Some(J::Null) => continue, // not defined by the reference here
                    Some(e) => diff(e, actual, key, &mut diffs),
                }
                if diffs.len() >= MAX_DIFFS {
                    break;
                }
            }
            diffs
        }
        (other, Observed::Ok(_)) => {
            vec![format!(
                "expected {other} (a failure), but the mapping succeeded"
            )]
        }
        (_, Observed::Failed(_)) => Vec::new(),
    }
}

/// Runs every kind of every case through `run` and panics, listing each failing case, unless
/// all agree with their expectations. Prints `N passed, M failed` either way.
pub fn check_all(cases: &[Case], run: impl Fn(&Case, &str) -> Observed + Sync) {
    let results: Vec<(String, Vec<String>)> = std::thread::scope(|s| {
        let run = &run;
        let workers: Vec<_> = cases
            .chunks(cases.len().div_ceil(4).max(1))
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|case| {
                            let mut problems = Vec::new();
                            for kind in &case.kinds {
                                let observed = run(case, kind);
                                for d in compare_kind(case, kind, &observed) {
                                    problems.push(if case.kinds.len() > 1 {
                                        format!("[{kind}] {d}")
                                    } else {
                                        d
                                    });
                                }
                            }
                            (case.id.clone(), problems)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a conformance worker panicked"))
            .collect()
    });
    let failures: Vec<String> = results
        .iter()
        .filter(|(_, p)| !p.is_empty())
        .map(|(id, p)| format!("FAIL {id}: {}", p.join("; ")))
        .collect();
    let kinds: usize = cases.iter().map(|c| c.kinds.len()).sum();
    let summary = format!(
        "{} passed, {} failed ({} cases, {kinds} kinds)",
        results.len() - failures.len(),
        failures.len(),
        results.len()
    );
    println!("{summary}");
    assert!(
        failures.is_empty(),
        "mapping conformance: {summary}\n{}",
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// JSON values with exact numbers
// ---------------------------------------------------------------------------------------------

/// A number as Python's `json` reads it: an integer with all its digits, or a double.
#[derive(Debug, Clone)]
pub enum Num {
    /// An integer's digits (with `-` when negative; zero is `0`).
    Int(String),
    /// A number written with a fraction or an exponent.
    Float(f64),
}

impl PartialEq for Num {
    fn eq(&self, other: &Num) -> bool {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => a == b,
            (Num::Float(a), Num::Float(b)) => a == b,
            (Num::Int(i), Num::Float(f)) | (Num::Float(f), Num::Int(i)) => {
                f.is_finite()
                    && f.fract() == 0.0
                    && ocean_mapping::jq::num::exact_integer_string(*f) == *i
            }
        }
    }
}

/// A JSON value whose numbers keep their exact value.
#[derive(Debug, Clone)]
pub enum J {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number.
    Num(Num),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<J>),
    /// An object, keys in document order.
    Obj(Vec<(String, J)>),
}

impl J {
    fn get(&self, key: &str) -> Option<&J> {
        match self {
            J::Obj(o) => o.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            J::Str(s) => Some(s),
            _ => None,
        }
    }

    fn short(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        if s.chars().count() > 80 {
            s = s.chars().take(77).collect::<String>() + "...";
        }
        s
    }

    fn write(&self, out: &mut String) {
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Num(Num::Int(i)) => out.push_str(i),
            J::Num(Num::Float(f)) => out.push_str(&format!("{f:?}")),
            J::Str(s) => out.push_str(&format!("{s:?}")),
            J::Arr(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    x.write(out);
                }
                out.push(']');
            }
            J::Obj(o) => {
                out.push('{');
                for (i, (k, v)) in o.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&format!("{k:?}:"));
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

fn diff(expected: &J, actual: &J, path: &str, out: &mut Vec<String>) {
    if out.len() >= MAX_DIFFS {
        return;
    }
    let at = if path.is_empty() { "<root>" } else { path };
    let mismatch = |out: &mut Vec<String>| {
        out.push(format!(
            "{at}: expected {}, got {}",
            expected.short(),
            actual.short()
        ))
    };
    match (expected, actual) {
        (J::Num(a), J::Num(b)) => {
            if a != b {
                mismatch(out);
            }
        }
        (J::Obj(e), J::Obj(a)) => {
            let missing: Vec<&str> = e
                .iter()
                .filter(|(k, _)| actual.get(k).is_none())
                .map(|(k, _)| k.as_str())
                .collect();
            let extra: Vec<&str> = a
                .iter()
                .filter(|(k, _)| expected.get(k).is_none())
                .map(|(k, _)| k.as_str())
                .collect();
            if !missing.is_empty() {
                out.push(format!("{at}: missing keys {missing:?}"));
            }
            if !extra.is_empty() {
                out.push(format!("{at}: unexpected keys {extra:?}"));
            }
            for (k, v) in e {
                if let Some(w) = actual.get(k) {
                    let sub = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    diff(v, w, &sub, out);
                }
            }
        }
        (J::Arr(e), J::Arr(a)) => {
            if e.len() != a.len() {
                out.push(format!("{at}: expected {} items, got {}", e.len(), a.len()));
            }
            for (i, (x, y)) in e.iter().zip(a).enumerate() {
                diff(x, y, &format!("{path}[{i}]"), out);
                if out.len() >= MAX_DIFFS {
                    break;
                }
            }
        }
        (J::Null, J::Null) => {}
        (J::Bool(a), J::Bool(b)) if a == b => {}
        (J::Str(a), J::Str(b)) if a == b => {}
        _ => mismatch(out),
    }
}

/// Parses JSON text (Python's `json` also accepts `NaN` and `Infinity`, and so does this).
pub fn parse(text: &str) -> Result<J, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        pos: 0,
    };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.pos != p.s.len() {
        return Err(p.fail("trailing characters"));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn fail(&self, what: &str) -> String {
        format!("{what} at byte {}", self.pos)
    }

    fn ws(&mut self) {
        while matches!(self.s.get(self.pos), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.s[self.pos..].starts_with(lit.as_bytes()) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<J, String> {
        if depth > 1000 {
            return Err(self.fail("nesting too deep"));
        }
        match self.s.get(self.pos) {
            Some(b'{') => {
                self.pos += 1;
                let mut o = Vec::new();
                self.ws();
                if self.eat("}") {
                    return Ok(J::Obj(o));
                }
                loop {
                    self.ws();
                    if self.s.get(self.pos) != Some(&b'"') {
                        return Err(self.fail("expected a key"));
                    }
                    let k = self.string()?;
                    self.ws();
                    if !self.eat(":") {
                        return Err(self.fail("expected ':'"));
                    }
                    self.ws();
                    o.push((k, self.value(depth + 1)?));
                    self.ws();
                    if self.eat("}") {
                        return Ok(J::Obj(o));
                    }
                    if !self.eat(",") {
                        return Err(self.fail("expected ',' or '}'"));
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                let mut a = Vec::new();
                self.ws();
                if self.eat("]") {
                    return Ok(J::Arr(a));
                }
                loop {
                    self.ws();
                    a.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat("]") {
                        return Ok(J::Arr(a));
                    }
                    if !self.eat(",") {
                        return Err(self.fail("expected ',' or ']'"));
                    }
                }
            }
            Some(b'"') => self.string().map(J::Str),
            _ if self.eat("null") => Ok(J::Null),
            _ if self.eat("true") => Ok(J::Bool(true)),
            _ if self.eat("false") => Ok(J::Bool(false)),
            _ if self.eat("NaN") => Ok(J::Num(Num::Float(f64::NAN))),
            _ if self.eat("Infinity") => Ok(J::Num(Num::Float(f64::INFINITY))),
            _ if self.eat("-Infinity") => Ok(J::Num(Num::Float(f64::NEG_INFINITY))),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.fail("unexpected character")),
        }
    }

    fn number(&mut self) -> Result<J, String> {
        let start = self.pos;
        let mut float = false;
        while let Some(&b) = self.s.get(self.pos) {
            match b {
                b'0'..=b'9' | b'-' | b'+' => {}
                b'.' | b'e' | b'E' => float = true,
                _ => break,
            }
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).expect("ASCII");
        if float {
            text.parse()
                .map(|f| J::Num(Num::Float(f)))
                .map_err(|_| self.fail("invalid number"))
        } else {
            let digits = text.strip_prefix('-').unwrap_or(text);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(self.fail("invalid number"));
            }
            let digits = digits.trim_start_matches('0');
            Ok(J::Num(Num::Int(
                match (digits.is_empty(), text.starts_with('-')) {
                    (true, _) => "0".to_owned(),
                    (false, true) => format!("-{digits}"),
                    (false, false) => digits.to_owned(),
                },
            )))
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self
            .s
            .get(self.pos..self.pos + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| self.fail("invalid \\u escape"))?;
        self.pos += 4;
        Ok(h)
    }

    fn string(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.s.get(self.pos) else {
                return Err(self.fail("unterminated string"));
            };
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.pos) else {
                        return Err(self.fail("unterminated escape"));
                    };
                    self.pos += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xd800..0xdc00).contains(&hi) && self.eat("\\u") {
                                let lo = self.hex4()?;
                                0x10000 + ((hi - 0xd800) << 10) + (lo.wrapping_sub(0xdc00) & 0x3ff)
                            } else {
                                hi
                            };
                            char::from_u32(code).unwrap_or('\u{fffd}')
                        }
                        _ => return Err(self.fail("invalid escape")),
                    };
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                _ => out.push(b),
            }
        }
        String::from_utf8(out).map_err(|_| self.fail("invalid UTF-8"))
    }
}

#[cfg(test)]
mod self_tests {
    use super::*;

    fn eq(a: &str, b: &str) -> bool {
        let mut d = Vec::new();
        diff(&parse(a).unwrap(), &parse(b).unwrap(), "", &mut d);
        d.is_empty()
    }

    #[test]
    fn numbers_compare_by_exact_value() {
        assert!(eq("1", "1.0"));
        assert!(eq("-0", "0"));
        assert!(eq("12345678901234567168", "1.2345678901234567e19"));
        assert!(!eq("12345678901234567890", "1.2345678901234567e19"));
        assert!(!eq("9007199254740993", "9007199254740992"));
        let exact = ocean_mapping::jq::num::exact_integer_string(1e300);
        assert!(eq(&exact, "1e300"));
        assert!(!eq(&format!("1{}", "0".repeat(300)), "1e300"));
        assert!(!eq("1", "true"));
        assert!(!eq("0.1", "0.10000000000000002"));
    }

    #[test]
    fn objects_ignore_key_order_but_not_missing_keys() {
        assert!(eq(
            r#"{"a": 1, "b": [1, {"c": null}]}"#,
            r#"{"b": [1.0, {"c": null}], "a": 1}"#
        ));
        assert!(!eq(r#"{"a": 1}"#, r#"{"a": 1, "title": null}"#));
        assert!(!eq(r#"[1, 2]"#, r#"[2, 1]"#));
        assert!(!eq(r#""é""#, r#""e""#));
        assert!(eq(r#""\u00e9\ud83d\ude00""#, "\"é😀\""));
    }
}
