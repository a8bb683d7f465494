//! `ocean-NAME --dry-run`: runs the lifecycle's dry run ([`Ocean::plan`]) and prints the plan —
//! counts per blueprint first, then the first changes of each (`--show`), or the whole plan as
//! JSON (`--output json`) — and picks the exit code: 2 when the plan deletes more than
//! `--max-deletes`, 1 when the resync would not complete, else 0.

use std::fmt::Write as _;
use std::process::ExitCode;

use ocean_lifecycle::{Action, Ocean, PlanOptions, PlanReport};
use serde_json::Value;

use crate::cli::{PlanOutput, Show};

/// Exit code when the plan deletes more than `--max-deletes` entities.
pub(crate) const EXIT_TOO_MANY_DELETES: u8 = 2;

/// Plans, prints and returns the exit code.
pub(crate) async fn run(
    ocean: &Ocean,
    output: PlanOutput,
    show: Option<Show>,
    max_deletes: Option<u64>,
) -> ExitCode {
    let options = PlanOptions {
        show: match show {
            None => Some(10),
            Some(Show::First(n)) => Some(n),
            Some(Show::All) => None,
        },
    };
    let plan = ocean.plan(options).await;
    match output {
        PlanOutput::Json => match serde_json::to_string_pretty(&plan) {
            Ok(text) => println!("{text}"),
            Err(error) => eprintln!("error: the plan could not be written as JSON: {error}"),
        },
        PlanOutput::Text => print!("{}", render(&plan)),
    }
    exit_code(&plan, max_deletes)
}

/// 2 when the plan deletes more than `max_deletes`; 1 when the resync would not complete; 0.
pub(crate) fn exit_code(plan: &PlanReport, max_deletes: Option<u64>) -> ExitCode {
    if let Some(max) = max_deletes {
        if plan.deletes() > max {
            eprintln!(
                "error: the plan deletes {} entit(ies), more than --max-deletes {max}",
                plan.deletes()
            );
            return ExitCode::from(EXIT_TOO_MANY_DELETES);
        }
    }
    if !plan.completes {
        eprintln!("error: the resync would not complete: {}", plan.outcome);
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

fn value(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(80).collect::<String>())
    } else {
        text
    }
}

/// The human view of a plan.
pub(crate) fn render(plan: &PlanReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Dry run: nothing was written to Port.\n");
    let width = plan
        .blueprints
        .keys()
        .map(|b| b.chars().count())
        .max()
        .unwrap_or(0)
        .max("blueprint".len());
    let _ = writeln!(
        out,
        "  {:<width$}  {:>8}  {:>8}  {:>9}  {:>8}",
        "blueprint", "create", "update", "unchanged", "delete"
    );
    for (name, b) in &plan.blueprints {
        let _ = writeln!(
            out,
            "  {name:<width$}  {:>8}  {:>8}  {:>9}  {:>8}",
            b.create, b.update, b.unchanged, b.delete
        );
    }
    let (c, u, n, d) = plan.totals();
    let _ = writeln!(out, "  {:<width$}  {c:>8}  {u:>8}  {n:>9}  {d:>8}", "total");
    let deletion = &plan.deletion;
    out.push('\n');
    if let Some(why) = &deletion.skipped_because {
        let _ = writeln!(
            out,
            "Delete phase: skipped, nothing would be deleted ({why})."
        );
    } else if !deletion.runs {
        let _ = writeln!(out, "Delete phase: would not run.");
    } else if deletion.threshold_exceeded {
        let _ = writeln!(
            out,
            "Delete phase: {} stale of {} owned exceeds entityDeletionThreshold {}: nothing would be deleted.",
            deletion.stale, deletion.owned, deletion.threshold
        );
    } else {
        let _ = write!(
            out,
            "Delete phase: {} stale of {} owned (threshold {}): {} would be deleted",
            deletion.stale, deletion.owned, deletion.threshold, deletion.delete
        );
        if deletion.protected > 0 {
            let _ = write!(
                out,
                ", {} kept because kept entities relate to them",
                deletion.protected
            );
        }
        out.push_str(".\n");
    }
    if !plan.failed_kinds.is_empty() {
        let _ = writeln!(
            out,
            "Failed kinds (their stale entities are never deleted): {}",
            plan.failed_kinds.join(", ")
        );
    }
    for (name, b) in &plan.blueprints {
        if b.changes.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{name}:");
        for change in &b.changes {
            let sign = match change.action {
                Action::Create => "+ create",
                Action::Update => "~ update",
                Action::Delete => "- delete",
            };
            let _ = writeln!(out, "  {sign} {}", change.identifier);
            for field in &change.fields {
                let _ = writeln!(
                    out,
                    "      {}: {} → {}",
                    field.field,
                    value(&field.old),
                    value(&field.new)
                );
            }
        }
        if b.more_changes > 0 {
            let _ = writeln!(
                out,
                "  … {} more change(s) (--show all lists them)",
                b.more_changes
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocean_lifecycle::{BlueprintPlan, Change, DeletionPlan, FieldDiff};
    use serde_json::json;

    fn plan(deletes: u64, completes: bool) -> PlanReport {
        let mut plan = PlanReport {
            completes,
            outcome: if completes { "completed" } else { "failed" }.into(),
            deletion: DeletionPlan {
                runs: true,
                stale: deletes,
                owned: 10,
                threshold: 0.9,
                delete: deletes,
                ..DeletionPlan::default()
            },
            ..PlanReport::default()
        };
        plan.blueprints.insert(
            "svc".into(),
            BlueprintPlan {
                update: 1,
                delete: deletes,
                changes: vec![Change {
                    action: Action::Update,
                    identifier: "a".into(),
                    fields: vec![FieldDiff {
                        field: "properties.tier".into(),
                        old: json!(1),
                        new: json!(2),
                    }],
                }],
                more_changes: 3,
                ..BlueprintPlan::default()
            },
        );
        plan
    }

    #[test]
    fn max_deletes_and_incomplete_resyncs_pick_the_exit_code() {
        let code = |plan: &PlanReport, max| format!("{:?}", exit_code(plan, max));
        let ok = format!("{:?}", ExitCode::SUCCESS);
        let two = format!("{:?}", ExitCode::from(EXIT_TOO_MANY_DELETES));
        let one = format!("{:?}", ExitCode::from(1));
        assert_eq!(code(&plan(3, true), None), ok);
        assert_eq!(code(&plan(3, true), Some(3)), ok);
        assert_eq!(code(&plan(3, true), Some(2)), two);
        assert_eq!(code(&plan(1, true), Some(0)), two);
        assert_eq!(code(&plan(0, true), Some(0)), ok);
        assert_eq!(code(&plan(0, false), Some(0)), one);
    }

    #[test]
    fn the_text_view_has_counts_the_verdict_and_the_field_changes() {
        let text = render(&plan(2, true));
        assert!(
            text.contains("Dry run: nothing was written to Port."),
            "{text}"
        );
        assert!(
            text.contains("2 stale of 10 owned (threshold 0.9): 2 would be deleted"),
            "{text}"
        );
        assert!(
            text.contains("  ~ update a\n      properties.tier: 1 → 2\n"),
            "{text}"
        );
        assert!(text.contains("… 3 more change(s)"), "{text}");
    }
}
