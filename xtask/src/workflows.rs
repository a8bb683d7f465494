//! The GitHub workflows (`.github/workflows/`) run the Makefile's targets and nothing else: each
//! `run:` line of each step is a `make` call, and each target it names exists. So CI does what a
//! developer's `make lint` / `make test` / `make release` do, and a renamed target breaks a test
//! here instead of a release. (Steps that `uses:` an action — checkout, registry login, the
//! upload of a release — are not shell and are left alone.)

use anyhow::{Context, Result};
use serde_yaml::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::workspace::Workspace;

/// The targets a Makefile defines (rules at the start of a line; not `.PHONY`-like specials).
pub fn make_targets(makefile: &str) -> BTreeSet<String> {
    let mut targets = BTreeSet::new();
    for line in makefile.lines() {
        if line.starts_with(['\t', ' ', '#', '.']) {
            continue;
        }
        let Some((names, rest)) = line.split_once(':') else {
            continue;
        };
        // `VAR := value` and `VAR ::= value` are assignments, not rules.
        if rest.starts_with('=') || rest.starts_with(":=") || names.contains('=') {
            continue;
        }
        for name in names.split_whitespace() {
            if name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                targets.insert(name.to_owned());
            }
        }
    }
    targets
}

/// The shell commands of a `run:` block: lines joined across `\` continuations, blank lines and
/// comments dropped.
pub fn commands(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in script.lines() {
        let line = line.trim();
        if current.is_empty() && (line.is_empty() || line.starts_with('#')) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(body) => {
                current.push_str(body.trim_end());
                current.push(' ');
            }
            None => {
                current.push_str(line);
                out.push(current.trim().to_owned());
                current.clear();
            }
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_owned());
    }
    out
}

/// What is wrong with one shell command of a workflow, given the Makefile's targets: it must be
/// `make [options] [VAR=value…] target…` with every target defined.
pub fn command_problem(command: &str, targets: &BTreeSet<String>) -> Option<String> {
    let mut words = command.split_whitespace();
    if words.next() != Some("make") {
        return Some(format!(
            "runs `{command}`: workflows call Makefile targets, not copies of their steps"
        ));
    }
    let named: Vec<&str> = words
        .filter(|w| !w.starts_with('-') && !w.contains('='))
        .collect();
    if named.is_empty() {
        return Some(format!("`{command}` names no Makefile target"));
    }
    let missing: Vec<&str> = named
        .into_iter()
        .filter(|t| !targets.contains(*t))
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "`{command}` calls {}, which the Makefile does not define",
            missing.join(", ")
        )
    })
}

/// The workflow files, sorted.
pub fn workflow_files(ws: &Workspace) -> Result<Vec<PathBuf>> {
    let dir = ws.root().join(".github/workflows");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("listing {}", dir.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Every problem of every workflow, each naming the file, job and step.
pub fn problems(ws: &Workspace) -> Result<Vec<String>> {
    let makefile = ws.root().join("Makefile");
    let targets = make_targets(
        &std::fs::read_to_string(&makefile)
            .with_context(|| format!("reading {}", makefile.display()))?,
    );
    let mut problems = Vec::new();
    for file in workflow_files(ws)? {
        problems.extend(workflow_problems(&file, &targets)?);
    }
    Ok(problems)
}

/// The problems of one workflow file.
pub fn workflow_problems(file: &Path, targets: &BTreeSet<String>) -> Result<Vec<String>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let workflow: Value =
        serde_yaml::from_str(&text).with_context(|| format!("parsing {}", file.display()))?;
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    let mut problems = Vec::new();
    let mut make_calls = 0;
    let Some(jobs) = workflow.get("jobs").and_then(Value::as_mapping) else {
        return Ok(vec![format!("{name}: no jobs")]);
    };
    for (job_name, job) in jobs {
        let job_name = job_name.as_str().unwrap_or("?");
        let steps = job
            .get("steps")
            .and_then(Value::as_sequence)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (index, step) in steps.iter().enumerate() {
            let Some(script) = step.get("run").and_then(Value::as_str) else {
                continue;
            };
            let step_name = step
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| format!("step {}", index + 1));
            for command in commands(script) {
                match command_problem(&command, targets) {
                    None => make_calls += 1,
                    Some(problem) => {
                        problems.push(format!("{name}: job {job_name}, {step_name}: {problem}"))
                    }
                }
            }
        }
    }
    if make_calls == 0 {
        problems.push(format!("{name}: calls no Makefile target"));
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAKEFILE: &str =
        "SHELL := /bin/bash\nX ?= 1\n.PHONY: a b\n\na:\n\techo a\nb c: a\n# d:\nlint-all :\n";

    #[test]
    fn targets_are_rules_not_assignments() {
        let targets = make_targets(MAKEFILE);
        assert_eq!(
            targets.into_iter().collect::<Vec<_>>(),
            ["a", "b", "c", "lint-all"]
        );
    }

    #[test]
    fn scripts_split_into_commands() {
        assert_eq!(
            commands("# comment\nmake a \\\n  X=1\n\nmake b\n"),
            ["make a X=1", "make b"]
        );
    }

    #[test]
    fn only_existing_make_targets_pass() {
        let targets = make_targets(MAKEFILE);
        assert_eq!(command_problem("make a", &targets), None);
        assert_eq!(
            command_problem("make -s b TAG=\"$GITHUB_REF_NAME\" c", &targets),
            None
        );
        assert!(
            command_problem("make release", &targets)
                .unwrap()
                .contains("release")
        );
        assert!(
            command_problem("cargo test --workspace", &targets)
                .unwrap()
                .contains("not copies")
        );
        assert!(command_problem("make X=1", &targets).is_some());
    }

    #[test]
    fn workflows_are_read_step_by_step() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ci.yml");
        std::fs::write(
            &file,
            "on: push\njobs:\n  t:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: actions/checkout@v4\n      - name: Test\n        run: |\n          make a\n          cargo build\n      - run: make nope\n",
        )
        .unwrap();
        let problems = workflow_problems(&file, &make_targets(MAKEFILE)).unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("ci.yml: job t, Test: runs `cargo build`"));
        assert!(problems[1].starts_with("ci.yml: job t, step 3: `make nope` calls nope"));
    }
}
