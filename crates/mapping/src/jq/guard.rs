//! Bounds on one evaluation, so that a runaway expression fails like any other jq error instead
//! of taking the process down.
//!
//! jaq evaluates lazily with native recursion and has no limits of its own: `def f: [f]; f`
//! recurses until the thread's stack overflows (which aborts the process), and `def f: f; f` is
//! a tail call that loops forever. In a running integration either one would stop every kind.
//!
//! Every loop in a jq program is a recursive definition (jq's `while`, `until`, `repeat`,
//! `recurse(f)`, `walk`… are defined that way) or a native generator (`range`). So the body of
//! every definition that refers to itself — the user's and the prelude's alike — is compiled as
//! `!ocean_tick | body`, and our `range` native ticks once per output. A tick spends one step of
//! the evaluation's budget ([`MAX_STEPS`]) and checks that the thread still has
//! [`STACK_RED_ZONE`] bytes of stack; when either runs out, the evaluation fails with a jq-style
//! error, so a mapping field becomes null (misconfigured) for that item and the rest goes on.
//! Definitions that do not refer to themselves, and the native fast paths, pay nothing.

use super::ast::{calls, calls_in, visit};
use super::value::{Error, err};
use jaq_core::load::parse::{BinaryOp, Def, Term};
use std::cell::Cell;

/// The name of the tick native. It cannot be written in a jq program, so no user definition can
/// shadow it.
pub const TICK: &str = "!ocean_tick";

/// Recursive calls and generator outputs one evaluation may make: far beyond what a mapping
/// needs (walking an item of several hundred thousand nodes, `range` over as many numbers), small
/// enough that
/// a program that never ends stops within a fraction of a second.
pub const MAX_STEPS: u64 = 1_000_000;

/// Stack the evaluation leaves unused: what jaq needs between two ticks and to unwind the error.
pub const STACK_RED_ZONE: usize = 256 * 1024;

thread_local! {
    static STEPS_LEFT: Cell<u64> = const { Cell::new(MAX_STEPS) };
}

/// Gives the evaluation about to start on this thread its full budget.
pub fn reset() {
    STEPS_LEFT.set(MAX_STEPS);
}

/// Spends one step; fails when the budget or the stack is exhausted.
pub fn tick() -> Result<(), Error> {
    let left = STEPS_LEFT.get();
    if left == 0 {
        return Err(err(format!(
            "evaluation stopped after {MAX_STEPS} steps (does the expression loop forever?)"
        )));
    }
    STEPS_LEFT.set(left - 1);
    if stacker::remaining_stack().is_some_and(|r| r < STACK_RED_ZONE) {
        // Stop for good: the error unwinds through the recursion, and nothing may recurse deeper
        // while it does.
        STEPS_LEFT.set(0);
        return Err(err(
            "recursion too deep (the expression calls itself without end?)",
        ));
    }
    Ok(())
}

/// Instruments every self-referring definition in `defs` (and in definitions nested in them).
pub fn instrument_defs(defs: &mut [Def<&str>]) {
    for d in defs {
        wrap_if_recursive(d);
        instrument_term(&mut d.body);
    }
}

/// Instruments every self-referring definition nested anywhere in `t`; says whether there was
/// one.
pub fn instrument_term(t: &mut Term<&str>) -> bool {
    let mut changed = false;
    // Parents are visited before children, so each definition is wrapped once, and the
    // definitions nested in its body are reached after.
    visit(t, &mut |t| {
        if let Term::Def(defs, _) = t {
            for d in defs {
                changed |= wrap_if_recursive(d);
            }
        }
    });
    changed
}

fn wrap_if_recursive(d: &mut Def<&str>) -> bool {
    if !calls(&mut d.body, &[d.name]) {
        return false;
    }
    // A filter parameter handed on to a call (`def f(g): [g | f(g)]`) is a closure over the
    // caller's closure: evaluating it at depth n recurses n levels in jaq without passing through
    // a definition's body. Ticking in each argument that mentions one keeps that chain in check.
    let params: Vec<&str> = d
        .args
        .iter()
        .copied()
        .filter(|a| !a.starts_with('$'))
        .collect();
    if !params.is_empty() {
        visit(&mut d.body, &mut |t| {
            if let Term::Call(_, args) = t {
                for a in args.iter_mut().filter(|a| calls_in(a, &params)) {
                    *a = ticked(std::mem::take(a));
                }
            }
        });
    }
    d.body = ticked(std::mem::take(&mut d.body));
    true
}

/// `!ocean_tick | t`.
fn ticked(t: Term<&str>) -> Term<&str> {
    Term::BinOp(
        Box::new(Term::Call(TICK, Vec::new())),
        BinaryOp::Pipe(None),
        Box::new(t),
    )
}
