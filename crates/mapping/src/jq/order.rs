//! The order in which jq 1.8.2 evaluates the operands of a binary operator, which jaq does not
//! follow.
//!
//! jq evaluates the right operand first and loops over its outputs outermost:
//! `[(1,2) + (10,20)]` is `[11,12,21,22]`, and in `(. + empty) + error("x")` the error wins
//! because it comes first. jaq runs the left operand first and outermost (`[11,21,12,22]`, and
//! no error). The same holds for comparisons and for string interpolation, whose later parts
//! vary slowest in jq (`"\((1,2))-\((3,4))"` gives `1-3`, `2-3`, `1-4`, `2-4`).
//!
//! So a program is rewritten before jaq compiles it: `l op r` becomes
//! `r as $!r | l as $!l | $!l op $!r` and an interpolated string binds its parts last to first,
//! but only where an operand may give other than exactly one output: for operands that always
//! give one value (or one error) the orders cannot be told apart, and the common case keeps
//! jaq's direct evaluation. The variables are spelled so that no program can name them.

use super::ast::visit;
use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{BinaryOp, Pattern, Term};
use jaq_core::path::{Opt, Part};

const RIGHT: &str = "$!r";
const LEFT: &str = "$!l";

/// Builtins that give exactly one output (or an error) for any input; a program that defines a
/// function of the same name loses the guarantee for it.
const SINGLE_BUILTINS: &[&str] = &[
    "not",
    "length",
    "utf8bytelength",
    "type",
    "tostring",
    "tojson",
    "fromjson",
    "tonumber",
    "ascii_downcase",
    "ascii_upcase",
    "floor",
    "ceil",
    "round",
    "fabs",
    "sqrt",
    "keys",
    "keys_unsorted",
    "to_entries",
    "from_entries",
    "reverse",
    "sort",
    "unique",
    "min",
    "max",
    "add",
    "trim",
    "ltrim",
    "rtrim",
    "explode",
    "implode",
    "now",
    "null",
    "true",
    "false",
];

/// Rewrites `t` so that jaq evaluates operands in jq's order; says whether anything changed.
pub fn rewrite(t: &mut Term<&str>) -> bool {
    let mut defined: Vec<&str> = Vec::new();
    visit(t, &mut |t| {
        if let Term::Def(defs, _) = t {
            defined.extend(defs.iter().map(|d| d.name));
        }
    });
    let single_call = |name: &str| SINGLE_BUILTINS.contains(&name) && !defined.contains(&name);
    let mut changed = false;
    visit(t, &mut |t| match t {
        Term::BinOp(l, BinaryOp::Math(_) | BinaryOp::Cmp(_), r)
            if !(single(l, &single_call) && single(r, &single_call)) =>
        {
            let Term::BinOp(l, op, r) = std::mem::take(t) else {
                unreachable!("matched above")
            };
            let body = Term::BinOp(Box::new(Term::Var(LEFT)), op, Box::new(Term::Var(RIGHT)));
            *t = bind(*r, RIGHT, bind(*l, LEFT, body));
            changed = true;
        }
        Term::Str(_, parts)
            if parts
                .iter()
                .filter(|p| matches!(p, StrPart::Term(_)))
                .count()
                > 1
                && parts.iter().any(|p| match p {
                    StrPart::Term(t) => !single(t, &single_call),
                    _ => false,
                }) =>
        {
            let Term::Str(fmt, parts) = std::mem::take(t) else {
                unreachable!("matched above")
            };
            let mut bound = Vec::new();
            let parts: Vec<_> = parts
                .into_iter()
                .map(|p| match p {
                    StrPart::Term(t) => {
                        let name = PART_VARS[bound.len().min(PART_VARS.len() - 1)];
                        bound.push((name, t));
                        StrPart::Term(Term::Var(name))
                    }
                    other => other,
                })
                .collect();
            if bound.len() > PART_VARS.len() {
                // More parts than names: leave this string as jaq evaluates it.
                let restored = restore(parts, bound);
                *t = Term::Str(fmt, restored);
                return;
            }
            let mut out = Term::Str(fmt, parts);
            // The first part is bound innermost, so the last one varies slowest.
            for (name, part) in bound {
                out = bind(part, name, out);
            }
            *t = out;
            changed = true;
        }
        _ => {}
    });
    changed
}

/// Names for the parts of one interpolated string.
const PART_VARS: &[&str] = &[
    "$!s0", "$!s1", "$!s2", "$!s3", "$!s4", "$!s5", "$!s6", "$!s7", "$!s8", "$!s9", "$!s10",
    "$!s11", "$!s12", "$!s13", "$!s14", "$!s15",
];

fn restore<'s>(
    parts: Vec<StrPart<&'s str, Term<&'s str>>>,
    bound: Vec<(&'s str, Term<&'s str>)>,
) -> Vec<StrPart<&'s str, Term<&'s str>>> {
    let mut bound = bound.into_iter();
    parts
        .into_iter()
        .map(|p| match p {
            StrPart::Term(_) => StrPart::Term(bound.next().expect("one per part").1),
            other => other,
        })
        .collect()
}

/// `value as $name | body`.
fn bind<'s>(value: Term<&'s str>, name: &'s str, body: Term<&'s str>) -> Term<&'s str> {
    Term::BinOp(
        Box::new(value),
        BinaryOp::Pipe(Some(Pattern::Var(name))),
        Box::new(body),
    )
}

/// Whether `t` gives exactly one output or an error for any input (conservative).
fn single(t: &Term<&str>, single_call: &impl Fn(&str) -> bool) -> bool {
    let s = |t: &Term<&str>| single(t, single_call);
    match t {
        Term::Id | Term::Num(_) | Term::Var(_) | Term::Arr(_) => true,
        Term::Str(_, parts) => parts.iter().all(|p| match p {
            StrPart::Term(t) => s(t),
            _ => true,
        }),
        Term::Obj(entries) => entries
            .iter()
            .all(|(k, v)| s(k) && v.as_ref().is_none_or(s)),
        Term::Neg(t) => s(t),
        Term::BinOp(l, BinaryOp::Math(_) | BinaryOp::Cmp(_) | BinaryOp::Pipe(None), r) => {
            s(l) && s(r)
        }
        Term::IfThenElse(branches, else_) => {
            branches.iter().all(|(c, t)| s(c) && s(t)) && else_.as_deref().is_none_or(s)
        }
        Term::Path(t, path) => {
            s(t) && path.0.iter().all(|(part, opt)| {
                matches!(opt, Opt::Essential)
                    && match part {
                        Part::Index(i) => s(i),
                        Part::Range(Some(from), Some(to)) => s(from) && s(to),
                        Part::Range(Some(b), None) | Part::Range(None, Some(b)) => s(b),
                        Part::Range(None, None) => false,
                    }
            })
        }
        Term::Call(name, args) => args.is_empty() && single_call(name),
        _ => false,
    }
}
