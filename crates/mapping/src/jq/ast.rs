//! Walking the syntax tree of a jq program, for the rewrites that make jaq evaluate as jq
//! 1.8.2 does and within bounds (`guard`, `order`).

use jaq_core::load::lex::StrPart;
use jaq_core::load::parse::{BinaryOp, Pattern, Term};
use jaq_core::path::Part;

/// Whether `t` calls a filter named in `names` (any arity, any scope: a shadowing inner
/// definition only makes this conservative).
pub fn calls(t: &mut Term<&str>, names: &[&str]) -> bool {
    let mut found = false;
    visit(t, &mut |t| {
        if matches!(t, Term::Call(n, _) if names.contains(n)) {
            found = true;
        }
    });
    found
}

/// [`calls`] on a term borrowed immutably.
pub fn calls_in(t: &Term<&str>, names: &[&str]) -> bool {
    // `visit` needs `&mut`; a clone keeps this a query (arguments are small terms).
    calls(&mut t.clone(), names)
}

/// Calls `f` on `t` and on every term inside it, parents before children: `f` may replace the
/// term, and the children visited are those of what it leaves in place.
pub fn visit<'s>(t: &mut Term<&'s str>, f: &mut impl FnMut(&mut Term<&'s str>)) {
    f(t);
    match t {
        Term::Id | Term::Recurse | Term::Num(_) | Term::Var(_) | Term::Break(_) => {}
        Term::Str(_, parts) => {
            for p in parts {
                if let StrPart::Term(t) = p {
                    visit(t, f);
                }
            }
        }
        Term::Arr(t) => {
            if let Some(t) = t {
                visit(t, f);
            }
        }
        Term::Obj(entries) => {
            for (k, v) in entries {
                visit(k, f);
                if let Some(v) = v {
                    visit(v, f);
                }
            }
        }
        Term::Neg(t) | Term::Label(_, t) => visit(t, f),
        Term::BinOp(l, op, r) => {
            visit(l, f);
            if let BinaryOp::Pipe(Some(p)) = op {
                visit_pattern(p, f);
            }
            visit(r, f);
        }
        Term::Fold(_, xs, p, args) => {
            visit(xs, f);
            visit_pattern(p, f);
            for a in args {
                visit(a, f);
            }
        }
        Term::TryCatch(t, c) => {
            visit(t, f);
            if let Some(c) = c {
                visit(c, f);
            }
        }
        Term::IfThenElse(branches, else_) => {
            for (c, t) in branches {
                visit(c, f);
                visit(t, f);
            }
            if let Some(e) = else_ {
                visit(e, f);
            }
        }
        Term::Def(defs, t) => {
            for d in defs {
                visit(&mut d.body, f);
            }
            visit(t, f);
        }
        Term::Call(_, args) => {
            for a in args {
                visit(a, f);
            }
        }
        Term::Path(t, path) => {
            visit(t, f);
            for (part, _) in &mut path.0 {
                match part {
                    Part::Index(i) => visit(i, f),
                    Part::Range(from, to) => {
                        if let Some(t) = from {
                            visit(t, f);
                        }
                        if let Some(t) = to {
                            visit(t, f);
                        }
                    }
                }
            }
        }
    }
}

fn visit_pattern<'s>(p: &mut Pattern<&'s str>, f: &mut impl FnMut(&mut Term<&'s str>)) {
    match p {
        Pattern::Var(_) => {}
        Pattern::Arr(ps) => {
            for p in ps {
                visit_pattern(p, f);
            }
        }
        Pattern::Obj(entries) => {
            for (k, p) in entries {
                visit(k, f);
                visit_pattern(p, f);
            }
        }
    }
}
