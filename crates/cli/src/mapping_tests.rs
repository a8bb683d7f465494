//! `ocean test`: mapping tests kept beside the mapping, run offline.
//!
//! A case is a folder under `.port/tests/` of an integration:
//!
//! ```text
//! .port/tests/<case>/items.json      {"kind": "item", "items": [ raw items… ]}
//! .port/tests/<case>/expected.json   {"entities": [ entities… ], "problems": { … }}
//! ```
//!
//! Each case's items are mapped through every resource of its kind in the integration's
//! `port-app-config` exactly as a resync maps them, and the entities compared with the expected
//! ones — by blueprint and identifier, in any order, field by field. `problems` is optional: when
//! present, the mapping's problems (items dropped by the selector, selector errors, items skipped
//! for a falsy identifier, fields that came out null, expressions that do not compile, a batch
//! Ocean would fail) must be exactly those. `--update` writes what the mapping gives now as the
//! expectation.

use anyhow::{Context, bail};
use ocean_mapping::PortAppConfig;
use ocean_mapping::engine::EngineOptions;
use ocean_mapping::jq::read::Reader;
use ocean_mapping::preview::{KindOutcome, map_kind};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The folder of cases under an integration.
pub const CASES_DIR: &str = ".port/tests";
/// A case's raw items.
pub const ITEMS_FILE: &str = "items.json";
/// A case's expectation.
pub const EXPECTED_FILE: &str = "expected.json";

/// The result of one case.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The mapping gave what was expected.
    Passed,
    /// It did not: one line per difference.
    Failed(Vec<String>),
    /// `--update` wrote the current output as the expectation.
    Updated,
}

/// One case's outcome.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case's folder name.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// Raw items in the case.
    pub items: usize,
    /// Entities the mapping produced.
    pub entities: usize,
    /// The verdict.
    pub verdict: Verdict,
}

/// Every case's outcome.
#[derive(Debug, Clone)]
pub struct Report {
    /// The mapping the cases ran against.
    pub config: PathBuf,
    /// The cases folder.
    pub cases_dir: PathBuf,
    /// One per case, in name order.
    pub cases: Vec<CaseResult>,
}

impl Report {
    /// Cases that failed.
    pub fn failed(&self) -> usize {
        self.cases
            .iter()
            .filter(|c| matches!(c.verdict, Verdict::Failed(_)))
            .count()
    }

    /// The human report: one line per case, the differences under each failing one.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "ocean test: {} case(s) in {} against {}",
            self.cases.len(),
            self.cases_dir.display(),
            self.config.display()
        );
        for case in &self.cases {
            let summary = format!(
                "{} (kind {}: {} item(s) → {} entit(ies))",
                case.name, case.kind, case.items, case.entities
            );
            match &case.verdict {
                Verdict::Passed => {
                    let _ = writeln!(out, "  ok      {summary}");
                }
                Verdict::Updated => {
                    let _ = writeln!(out, "  updated {summary}");
                }
                Verdict::Failed(lines) => {
                    let _ = writeln!(out, "  FAIL    {summary}");
                    for line in lines {
                        let _ = writeln!(out, "          {line}");
                    }
                }
            }
        }
        let updated = self
            .cases
            .iter()
            .filter(|c| c.verdict == Verdict::Updated)
            .count();
        let failed = self.failed();
        let _ = write!(
            out,
            "{} passed, {failed} failed",
            self.cases.len() - failed - updated
        );
        if updated > 0 {
            let _ = write!(out, ", {updated} updated");
        }
        if failed > 0 {
            let _ = write!(
                out,
                "\n(`ocean test --update` accepts the current output as the expectation)"
            );
        }
        out.push('\n');
        out
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The integration's folder.
    pub path: PathBuf,
    /// The mapping (default `.port/resources/port-app-config.yml` of the integration).
    pub config: Option<PathBuf>,
    /// Write the current output as each case's expectation.
    pub update: bool,
    /// Only the cases whose name contains this.
    pub filter: Option<String>,
}

/// Runs every case.
pub fn run(options: &Options) -> anyhow::Result<Report> {
    let config_path = match &options.config {
        Some(c) => c.clone(),
        None => crate::check::default_config(&options.path)?,
    };
    let config = crate::check::load_config(&config_path)?;
    let cases_dir = options.path.join(CASES_DIR);
    let mut names: Vec<String> = std::fs::read_dir(&cases_dir)
        .with_context(|| {
            format!(
                "cannot read {} (each case is a folder there holding {ITEMS_FILE} and \
                 {EXPECTED_FILE})",
                cases_dir.display()
            )
        })?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            options
                .filter
                .as_ref()
                .is_none_or(|f| n.contains(f.as_str()))
        })
        .collect();
    names.sort();
    if names.is_empty() {
        bail!("{} holds no case folder", cases_dir.display());
    }
    let engine = EngineOptions {
        allow_env_access: false,
        ..EngineOptions::default()
    };
    let cases = names
        .into_iter()
        .map(|name| {
            run_case(
                &config,
                &cases_dir.join(&name),
                name,
                &engine,
                options.update,
            )
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Report {
        config: config_path,
        cases_dir,
        cases,
    })
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}

fn run_case(
    config: &PortAppConfig,
    dir: &Path,
    name: String,
    engine: &EngineOptions,
    update: bool,
) -> anyhow::Result<CaseResult> {
    let items_path = dir.join(ITEMS_FILE);
    let input = read_json(&items_path)?;
    let kind = input["kind"]
        .as_str()
        .with_context(|| format!("{}: `kind` (a string) is required", items_path.display()))?
        .to_owned();
    let raw = input["items"]
        .as_array()
        .with_context(|| format!("{}: `items` (a list) is required", items_path.display()))?;
    if config.resources_of_kind(&kind).next().is_none() {
        bail!(
            "{}: the mapping has no resource of kind {kind:?}",
            items_path.display()
        );
    }
    let bytes = serde_json::to_vec(raw)?;
    let items = Reader::new()
        .parse_array(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", items_path.display()))?;
    let outcome = map_kind(config, &kind, &items, engine);
    let entities: Vec<Value> = outcome
        .entities
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()?;
    let problems = problems(&outcome);
    let expected_path = dir.join(EXPECTED_FILE);
    let mut result = CaseResult {
        name,
        kind,
        items: raw.len(),
        entities: entities.len(),
        verdict: Verdict::Passed,
    };
    let expected = if expected_path.is_file() {
        Some(read_json(&expected_path)?)
    } else {
        None
    };
    let differences = match &expected {
        None => vec![format!(
            "no {EXPECTED_FILE} yet ({} entit(ies) produced)",
            entities.len()
        )],
        Some(expected) => {
            let want = expected["entities"].as_array().with_context(|| {
                format!(
                    "{}: `entities` (a list) is required",
                    expected_path.display()
                )
            })?;
            let mut lines = diff_entities(want, &entities);
            if let Some(want) = expected.get("problems") {
                lines.extend(diff_problems(want, &problems));
            }
            lines
        }
    };
    if differences.is_empty() {
        return Ok(result);
    }
    if update {
        // Problems are written when the case already checks them or the mapping has some.
        let mut doc = Map::new();
        doc.insert("entities".into(), Value::Array(entities));
        let keep_problems = expected
            .as_ref()
            .is_some_and(|e| e.get("problems").is_some());
        if keep_problems || problems.as_object().is_some_and(|p| !p.is_empty()) {
            doc.insert("problems".into(), problems);
        }
        let text = serde_json::to_string_pretty(&Value::Object(doc))? + "\n";
        std::fs::write(&expected_path, text)
            .with_context(|| format!("writing {}", expected_path.display()))?;
        result.verdict = Verdict::Updated;
    } else {
        result.verdict = Verdict::Failed(differences);
    }
    Ok(result)
}

/// The mapping's problems as the expectation spells them; empty ones are left out.
pub fn problems(outcome: &KindOutcome) -> Value {
    let mut p = Map::new();
    if outcome.selector_dropped > 0 {
        p.insert("selectorDropped".into(), json!(outcome.selector_dropped));
    }
    if !outcome.selector_errors.is_empty() {
        p.insert(
            "selectorErrors".into(),
            outcome
                .selector_errors
                .iter()
                .map(|e| json!(format!("item {}: {}", e.item, e.message)))
                .collect(),
        );
    }
    if outcome.skipped > 0 {
        p.insert("skipped".into(), json!(outcome.skipped));
    }
    if !outcome.misconfigured.is_empty() {
        p.insert(
            "nullFields".into(),
            outcome
                .misconfigured
                .iter()
                .map(|(path, expr)| (path.clone(), json!(expr)))
                .collect::<Map<_, _>>()
                .into(),
        );
    }
    if !outcome.compile_problems.is_empty() {
        p.insert(
            "compileProblems".into(),
            outcome
                .compile_problems
                .iter()
                .map(|c| json!(format!("{}: {}", c.field, c.message)))
                .collect(),
        );
    }
    if let Some(error) = &outcome.error {
        p.insert("batchError".into(), json!(error.to_string()));
    }
    Value::Object(p)
}

/// `blueprint/identifier` of an entity, as the diff names it.
fn key(entity: &Value) -> String {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    format!(
        "{}/{}",
        text(&entity["blueprint"]),
        text(&entity["identifier"])
    )
}

/// Compact JSON, cut to a readable length.
fn show(value: Option<&Value>) -> String {
    match value {
        None => "(absent)".to_owned(),
        Some(v) => {
            let text = v.to_string();
            if text.chars().count() > 100 {
                format!("{}…", text.chars().take(100).collect::<String>())
            } else {
                text
            }
        }
    }
}

/// The differences between expected and produced entities, matched by blueprint and identifier
/// (the n-th of a repeated key with the n-th), field by field inside `properties` and
/// `relations`.
pub fn diff_entities(expected: &[Value], produced: &[Value]) -> Vec<String> {
    fn group(entities: &[Value]) -> BTreeMap<(String, usize), &Value> {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        entities
            .iter()
            .map(|e| {
                let k = key(e);
                let n = seen.entry(k.clone()).or_default();
                *n += 1;
                ((k, *n), e)
            })
            .collect()
    }
    let want = group(expected);
    let got = group(produced);
    let mut lines = Vec::new();
    for ((k, n), w) in &want {
        let label = if *n > 1 {
            format!("{k} (#{n})")
        } else {
            k.clone()
        };
        match got.get(&(k.clone(), *n)) {
            None => lines.push(format!("{label}: expected, not produced")),
            Some(g) => lines.extend(
                diff_fields(w, g)
                    .into_iter()
                    .map(|line| format!("{label}: {line}")),
            ),
        }
    }
    for (k, n) in got.keys() {
        if !want.contains_key(&(k.clone(), *n)) {
            lines.push(format!("{k}: produced, not expected"));
        }
    }
    lines
}

fn diff_fields(want: &Value, got: &Value) -> Vec<String> {
    let empty = Map::new();
    let want = want.as_object().unwrap_or(&empty);
    let got = got.as_object().unwrap_or(&empty);
    let mut lines = Vec::new();
    let mut fields: Vec<&String> = want.keys().chain(got.keys()).collect();
    fields.sort();
    fields.dedup();
    for field in fields {
        let (w, g) = (want.get(field), got.get(field));
        if w == g {
            continue;
        }
        match (w, g) {
            (Some(Value::Object(wm)), Some(Value::Object(gm)))
                if field == "properties" || field == "relations" =>
            {
                let mut names: Vec<&String> = wm.keys().chain(gm.keys()).collect();
                names.sort();
                names.dedup();
                for name in names {
                    let (wv, gv) = (wm.get(name), gm.get(name));
                    if wv != gv {
                        lines.push(format!(
                            "{field}.{name}: expected {}, got {}",
                            show(wv),
                            show(gv)
                        ));
                    }
                }
            }
            _ => lines.push(format!("{field}: expected {}, got {}", show(w), show(g))),
        }
    }
    lines
}

fn diff_problems(want: &Value, got: &Value) -> Vec<String> {
    let empty = Map::new();
    let want = want.as_object().unwrap_or(&empty);
    let got = got.as_object().unwrap_or(&empty);
    let mut names: Vec<&String> = want.keys().chain(got.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| want.get(*n) != got.get(*n))
        .map(|n| {
            format!(
                "problems.{n}: expected {}, got {}",
                show(want.get(n)),
                show(got.get(n))
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_are_matched_by_key_and_compared_field_by_field() {
        let want = vec![
            json!({"identifier": "a", "blueprint": "svc", "title": "A",
                   "properties": {"tier": 1, "lang": "go"}, "relations": {"team": "x"}}),
            json!({"identifier": "b", "blueprint": "svc", "properties": {}}),
        ];
        let got = vec![
            json!({"identifier": "c", "blueprint": "svc", "properties": {}}),
            json!({"identifier": "a", "blueprint": "svc", "title": "A",
                   "properties": {"tier": 2, "lang": "go", "new": true}, "relations": {"team": "x"}}),
        ];
        let lines = diff_entities(&want, &got);
        assert_eq!(
            lines,
            vec![
                "svc/a: properties.new: expected (absent), got true",
                "svc/a: properties.tier: expected 1, got 2",
                "svc/b: expected, not produced",
                "svc/c: produced, not expected",
            ]
        );
        assert!(diff_entities(&want, &want).is_empty());
    }

    #[test]
    fn problems_differ_by_name() {
        let lines = diff_problems(
            &json!({"selectorDropped": 1}),
            &json!({"selectorDropped": 2, "skipped": 1}),
        );
        assert_eq!(
            lines,
            vec![
                "problems.selectorDropped: expected 1, got 2",
                "problems.skipped: expected (absent), got 1",
            ]
        );
    }
}
