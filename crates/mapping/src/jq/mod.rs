//! Compiling and running one JQ expression the way Python Ocean does.
//!
//! Ocean's mapping engine evaluates every expression of a mapping with jq 1.8.2 (through the
//! Python `jq` binding). This module gives the same results with jaq: it rewrites the
//! expression as Ocean does (single quotes, the `env`/`$ENV` shadowing when environment access is
//! off), replaces what jaq's parser lacks (`$__loc__`), rejects the builtins jaq has but jq
//! 1.8.2 does not (so they are compile errors, as in Ocean), compiles once with Ocean's jq-1.8
//! definitions and natives layered over jaq's standard library, and runs a program to its
//! **first output** only. It never touches the environment itself: the caller passes the
//! variables a program may read. Every run is bounded (module `guard`): a program that recurses or
//! loops without end fails with a jq-style error instead of crashing or hanging the process.

mod ast;
mod funs;
mod guard;
pub mod num;
mod order;
pub mod read;
mod scan;
pub mod value;

pub use funs::tonumber;
use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Ctx, Vars};
use std::sync::{Arc, OnceLock};
pub use value::Val;

/// Every builtin jq 1.8.2 defines, as `name/arity` (what `builtins` returns).
pub const JQ_BUILTINS: &[&str] = &[
    "IN/1",
    "IN/2",
    "INDEX/1",
    "INDEX/2",
    "JOIN/2",
    "JOIN/3",
    "JOIN/4",
    "abs/0",
    "acos/0",
    "acosh/0",
    "add/0",
    "add/1",
    "all/0",
    "all/1",
    "all/2",
    "any/0",
    "any/1",
    "any/2",
    "arrays/0",
    "ascii_downcase/0",
    "ascii_upcase/0",
    "asin/0",
    "asinh/0",
    "atan/0",
    "atan2/2",
    "atanh/0",
    "booleans/0",
    "bsearch/1",
    "builtins/0",
    "capture/1",
    "capture/2",
    "cbrt/0",
    "ceil/0",
    "combinations/0",
    "combinations/1",
    "contains/1",
    "copysign/2",
    "cos/0",
    "cosh/0",
    "debug/0",
    "debug/1",
    "del/1",
    "delpaths/1",
    "drem/2",
    "empty/0",
    "endswith/1",
    "env/0",
    "erf/0",
    "erfc/0",
    "error/0",
    "error/1",
    "exp/0",
    "exp10/0",
    "exp2/0",
    "explode/0",
    "expm1/0",
    "fabs/0",
    "fdim/2",
    "finites/0",
    "first/0",
    "first/1",
    "flatten/0",
    "flatten/1",
    "floor/0",
    "fma/3",
    "fmax/2",
    "fmin/2",
    "fmod/2",
    "format/1",
    "frexp/0",
    "from_entries/0",
    "fromdate/0",
    "fromdateiso8601/0",
    "fromjson/0",
    "fromstream/1",
    "gamma/0",
    "get_jq_origin/0",
    "get_prog_origin/0",
    "get_search_list/0",
    "getpath/1",
    "gmtime/0",
    "group_by/1",
    "gsub/2",
    "gsub/3",
    "halt/0",
    "halt_error/0",
    "halt_error/1",
    "has/1",
    "have_decnum/0",
    "have_literal_numbers/0",
    "hypot/2",
    "implode/0",
    "in/1",
    "index/1",
    "indices/1",
    "infinite/0",
    "input/0",
    "input_filename/0",
    "input_line_number/0",
    "inputs/0",
    "inside/1",
    "isempty/1",
    "isfinite/0",
    "isinfinite/0",
    "isnan/0",
    "isnormal/0",
    "iterables/0",
    "j0/0",
    "j1/0",
    "jn/2",
    "join/1",
    "keys/0",
    "keys_unsorted/0",
    "last/0",
    "last/1",
    "ldexp/2",
    "length/0",
    "lgamma/0",
    "lgamma_r/0",
    "limit/2",
    "localtime/0",
    "log/0",
    "log10/0",
    "log1p/0",
    "log2/0",
    "logb/0",
    "ltrim/0",
    "ltrimstr/1",
    "map/1",
    "map_values/1",
    "match/1",
    "match/2",
    "max/0",
    "max_by/1",
    "min/0",
    "min_by/1",
    "mktime/0",
    "modf/0",
    "modulemeta/0",
    "nan/0",
    "nearbyint/0",
    "nextafter/2",
    "nexttoward/2",
    "normals/0",
    "not/0",
    "now/0",
    "nth/1",
    "nth/2",
    "nulls/0",
    "numbers/0",
    "objects/0",
    "path/1",
    "paths/0",
    "paths/1",
    "pick/1",
    "pow/2",
    "range/1",
    "range/2",
    "range/3",
    "recurse/0",
    "recurse/1",
    "recurse/2",
    "remainder/2",
    "repeat/1",
    "reverse/0",
    "rindex/1",
    "rint/0",
    "round/0",
    "rtrim/0",
    "rtrimstr/1",
    "scalars/0",
    "scalb/2",
    "scalbln/2",
    "scan/1",
    "scan/2",
    "select/1",
    "setpath/2",
    "significand/0",
    "sin/0",
    "sinh/0",
    "skip/2",
    "sort/0",
    "sort_by/1",
    "split/1",
    "split/2",
    "splits/1",
    "splits/2",
    "sqrt/0",
    "startswith/1",
    "stderr/0",
    "strflocaltime/1",
    "strftime/1",
    "strings/0",
    "strptime/1",
    "sub/2",
    "sub/3",
    "tan/0",
    "tanh/0",
    "test/1",
    "test/2",
    "tgamma/0",
    "to_entries/0",
    "toboolean/0",
    "todate/0",
    "todateiso8601/0",
    "tojson/0",
    "tonumber/0",
    "tostream/0",
    "tostring/0",
    "transpose/0",
    "trim/0",
    "trimstr/1",
    "trunc/0",
    "truncate_stream/1",
    "type/0",
    "unique/0",
    "unique_by/1",
    "until/2",
    "utf8bytelength/0",
    "values/0",
    "walk/1",
    "while/2",
    "with_entries/1",
    "y0/0",
    "y1/0",
    "yn/2",
];

/// The outcome of running a program on one input: its first output, no output, or an error.
#[derive(Debug, Clone)]
pub enum First {
    /// The first value the program produced.
    Value(Val),
    /// The program produced nothing (`empty`, `select` rejecting, `.[]` of `[]`).
    Empty,
    /// The program failed before producing anything; the jq error message.
    Error(String),
}

impl First {
    /// The value, with no output and errors as `null` (what a mapping field gets).
    pub fn or_null(self) -> Val {
        match self {
            First::Value(v) => v,
            First::Empty | First::Error(_) => Val::Null,
        }
    }
}

/// Why an expression did not compile, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CompileError {
    /// The compiler's message (`syntax error: ...`, `frobnicate/0 is not defined`).
    pub message: String,
}

/// A compiled JQ expression. Compiled programs are `Send + Sync`; run them on any thread.
#[derive(Clone)]
pub struct Program {
    filter: Arc<jaq_core::Filter<funs::Data>>,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Program")
    }
}

/// The environment a program sees through `env` and `$ENV`.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: Arc<Vec<(String, String)>>,
}

impl Env {
    /// An environment with the given variables.
    pub fn new(vars: impl IntoIterator<Item = (String, String)>) -> Env {
        Env {
            vars: Arc::new(vars.into_iter().collect()),
        }
    }

    /// The variables as a jq object (built per thread: values are not shared across threads).
    pub fn to_val(&self) -> Val {
        let mut m = value::Map::default();
        for (k, v) in self.vars.iter() {
            m.insert(std::rc::Rc::from(k.as_str()), Val::str(v));
        }
        Val::obj(m)
    }
}

/// Ocean's single-quote rewrite: a `'` that opens (start or after whitespace, not followed by
/// whitespace or `"`) or closes (not after whitespace or `"`, followed by whitespace or the
/// end) a string becomes `"`. Python: `re.sub(r'(^|\s)\'(?!\s|")|(?<!\s|")\'(\s|$)', r'\1"\2', f)`.
pub fn rewrite_single_quotes(expr: &str) -> String {
    static RE: OnceLock<fancy_regex::Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        fancy_regex::Regex::new(r#"(^|\s)'(?!\s|")|(?<!\s|")'(\s|$)"#).expect("valid regex")
    });
    if !expr.contains('\'') {
        return expr.to_owned();
    }
    re.replace_all(expr, "${1}\"${2}").into_owned()
}

/// The text Ocean hands to jq for a mapping expression: quotes rewritten and, without
/// environment access, `env` and `$ENV` shadowed by `{}`.
pub fn preprocess(expr: &str, env_access: bool) -> String {
    let rewritten = rewrite_single_quotes(expr);
    if env_access {
        rewritten
    } else {
        format!("def env: {{}}; {{}} as $ENV | {rewritten}")
    }
}

struct Prelude {
    defs: Vec<jaq_core::load::parse::Def<&'static str>>,
}

fn prelude() -> &'static Prelude {
    static PRELUDE: OnceLock<Prelude> = OnceLock::new();
    PRELUDE.get_or_init(|| {
        let ours = jaq_core::load::parse(include_str!("defs.jq"), |p| p.defs())
            .expect("Ocean's jq definitions parse");
        let builtins = format!(
            "def builtins: [{}];",
            JQ_BUILTINS
                .iter()
                .map(|b| format!("\"{b}\""))
                .collect::<Vec<_>>()
                .join(",")
        );
        let builtins: &'static str = Box::leak(builtins.into_boxed_str());
        let builtins = jaq_core::load::parse(builtins, |p| p.defs()).expect("builtins parse");
        // jaq definitions that Ocean replaces with natives are dropped, so the natives are found.
        let ours_native: Vec<(&str, usize)> = funs::funs().map(|f| (f.0, f.1.len())).collect();
        let mut defs: Vec<_> = jaq_core::defs()
            .chain(jaq_std::defs())
            .filter(|d| !ours_native.contains(&(d.name, d.args.len())))
            .chain(ours)
            .chain(builtins)
            .collect();
        // Loops of the standard library (`while`, `repeat`, `walk`, …) count against the
        // evaluation's budget like the user's own recursion.
        guard::instrument_defs(&mut defs);
        Prelude { defs }
    })
}

fn natives() -> Vec<jaq_core::native::Fun<funs::Data>> {
    let jaq = || jaq_core::funs::<funs::Data>().chain(jaq_std::funs::<funs::Data>());
    let mut out: Vec<_> = funs::funs().collect();
    out.extend(jaq().filter_map(|(name, args, f)| {
        let renamed = match name {
            "limit" => "_jaq_limit",
            "skip" => "_jaq_skip",
            "first" => "_jaq_first",
            _ => return None,
        };
        Some((renamed, args, f))
    }));
    out.extend(jaq());
    out
}

/// Names (with arity) visible to programs that jq 1.8.2 does not define.
fn jaq_only_names() -> &'static std::collections::HashSet<(String, usize)> {
    static NAMES: OnceLock<std::collections::HashSet<(String, usize)>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let jq: std::collections::HashSet<(String, usize)> = JQ_BUILTINS
            .iter()
            .filter_map(|b| {
                let (n, a) = b.rsplit_once('/')?;
                Some((n.to_owned(), a.parse().ok()?))
            })
            .collect();
        let mut visible: Vec<(String, usize)> = prelude()
            .defs
            .iter()
            .map(|d| (d.name.to_owned(), d.args.len()))
            .collect();
        visible.extend(natives().iter().map(|f| (f.0.to_owned(), f.1.len())));
        visible
            .into_iter()
            .filter(|(n, _)| !n.starts_with(['_', '@', '!']))
            .filter(|k| !jq.contains(k))
            .collect()
    })
}

/// Compiles a preprocessed expression (see [`preprocess`]).
///
/// Two rewrites of the program's syntax tree happen on the way, where they change anything:
/// definitions that call themselves get the evaluation bounds of module `guard` (recursion
/// without end is an error, not a crash or a hang), and operators whose operands may give other
/// than one output are evaluated in jq's order (module `order`).
pub fn compile(code: &str) -> Result<Program, CompileError> {
    let code = scan::prepare(code, |name, arity| {
        jaq_only_names().contains(&(name.to_owned(), arity))
    })
    .map_err(|message| CompileError { message })?;
    // Compiled as written first: errors then point at the user's own text.
    let arena = Arena::default();
    let filter = compile_main(&arena, &code, std::iter::empty())?;
    let Some(mut term) = jaq_core::load::parse(&code, |p| p.term()) else {
        return Err(CompileError {
            message: "the expression could not be prepared for evaluation".into(),
        });
    };
    let bounded = guard::instrument_term(&mut term);
    let reordered = order::rewrite(&mut term);
    if !(bounded || reordered) {
        return Ok(Program {
            filter: Arc::new(filter),
        });
    }
    // The rewritten program becomes a definition of the prelude, called by the main text.
    let main = jaq_core::load::parse::Def {
        name: INSTRUMENTED_MAIN,
        args: Vec::new(),
        body: term,
    };
    let filter = compile_main(&arena, INSTRUMENTED_MAIN, [main])?;
    Ok(Program {
        filter: Arc::new(filter),
    })
}

/// The name under which a rewritten program is compiled.
const INSTRUMENTED_MAIN: &str = "__ocean_main";

fn compile_main<'s>(
    arena: &'s Arena,
    code: &'s str,
    extra: impl IntoIterator<Item = jaq_core::load::parse::Def<&'s str>>,
) -> Result<jaq_core::Filter<funs::Data>, CompileError> {
    let loader = Loader::new(prelude().defs.iter().cloned().chain(extra));
    let modules = loader
        .load(arena, File { code, path: () })
        .map_err(|errs| CompileError {
            message: describe_load_errors(code, errs),
        })?;
    jaq_core::Compiler::default()
        .with_funs(natives())
        .with_global_vars(["$ENV"])
        .compile(modules)
        .map_err(|errs| CompileError {
            message: errs
                .into_iter()
                .flat_map(|(_, es)| es)
                .map(|(name, undefined)| match undefined {
                    jaq_core::compile::Undefined::Filter(arity) => {
                        format!("{name}/{arity} is not defined")
                    }
                    other => format!("{} {name} is not defined", other.as_str()),
                })
                .collect::<Vec<_>>()
                .join("; "),
        })
}

fn describe_load_errors(code: &str, errs: jaq_core::load::Errors<&str, ()>) -> String {
    use jaq_core::load::Error;
    let mut out = Vec::new();
    for (_, e) in errs {
        match e {
            Error::Io(es) => out.extend(es.into_iter().map(|(p, m)| format!("{p}: {m}"))),
            Error::Lex(es) => out.extend(es.into_iter().map(|(expect, at)| {
                format!(
                    "syntax error: expected {} at column {}",
                    expect.as_str(),
                    column(code, at)
                )
            })),
            Error::Parse(es) => out.extend(es.into_iter().map(|(expect, found)| {
                if found.is_empty() {
                    format!(
                        "syntax error: expected {} at the end of the expression",
                        expect.as_str()
                    )
                } else {
                    format!(
                        "syntax error: expected {}, found '{found}' at column {}",
                        expect.as_str(),
                        column(code, found)
                    )
                }
            })),
        }
    }
    out.join("; ")
}

fn column(code: &str, part: &str) -> usize {
    let span = jaq_core::load::span(code, part);
    code[..span.start.min(code.len())].chars().count() + 1
}

impl Program {
    /// Runs the program on `input` and returns its first output. `env` is the value of
    /// `$ENV` (and `env`).
    pub fn first(&self, input: Val, env: &Val) -> First {
        guard::reset();
        let ctx = Ctx::<funs::Data>::new(&self.filter.lut, Vars::new([env.clone()]));
        let mut outputs = self.filter.id.run((ctx, input));
        match outputs.next() {
            None => First::Empty,
            Some(Ok(v)) => First::Value(v),
            Some(Err(e)) => First::Error(match e.get_err() {
                Ok(e) => error_text(e),
                Err(_) => "halted".to_owned(),
            }),
        }
    }
}

fn error_text(e: jaq_core::Error<Val>) -> String {
    match e.into_val() {
        Val::Str(s) => s.to_string(),
        v => format!("{} (not a string)", v.to_json()),
    }
}

#[cfg(test)]
mod tests;
