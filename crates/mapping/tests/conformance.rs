//! The mapping conformance suite, in process: every case under `tests/conformance/cases` (a
//! port-app-config, raw items per kind, and the entities Python Ocean produced from them) run
//! through the engine exactly as `ocean map` runs it, and compared with the expectation (see
//! `tests/conformance/README.md`). `ocean-cli`'s tests run the same cases through the binary.

#[path = "conformance/harness.rs"]
mod harness;

use harness::{Case, Observed};
use ocean_mapping::PortAppConfig;
use ocean_mapping::engine::EngineOptions;
use ocean_mapping::jq::{Val, read::Reader};
use ocean_mapping::preview::map_kind;
use serde_json::{Map, Value, json};

/// Maps one kind of one case the way `ocean map` does and reports it in the same shape.
fn run(case: &Case, kind: &str) -> Observed {
    let config_path = case.config();
    let text = std::fs::read_to_string(&config_path).expect("config.yml is readable");
    if text.trim().is_empty() {
        return Observed::Failed("the config is empty".to_owned());
    }
    let config = match PortAppConfig::from_yaml_str(&text, "config.yml") {
        Ok(c) => c,
        Err(e) => return Observed::Failed(format!("config rejected: {e}")),
    };
    let bytes = std::fs::read(case.input(kind)).expect("the input is readable");
    let items = match Reader::new().parse_array(&bytes) {
        Ok(items) => items,
        Err(e) => return Observed::Failed(format!("input rejected: {e}")),
    };
    if let Some(i) = items.iter().position(|v| !matches!(v, Val::Obj(_))) {
        return Observed::Failed(format!("item {i} is not an object"));
    }
    let options = EngineOptions {
        allow_env_access: case.env_access,
        ..EngineOptions::with_env(case.environment())
    };
    let outcome = map_kind(&config, kind, &items, &options);
    if let Some(e) = &outcome.error {
        return Observed::Failed(format!("the batch fails: {e}"));
    }
    let misconfigured: Map<String, Value> = outcome
        .misconfigured
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().map_or(Value::Null, Value::String)))
        .collect();
    let report = json!({
        "entities": outcome.entities,
        "selector_dropped": outcome.selector_dropped,
        "selector_errors": outcome.selector_errors.len(),
        "skipped": outcome.skipped,
        "misconfigured": misconfigured,
        "failed_selector_entities": outcome.failed_selector_entities,
    });
    Observed::from_stdout(&report.to_string())
}

#[test]
fn python_ocean_mapping_cases_are_reproduced() {
    let cases = harness::load_cases(&harness::cases_dir());
    harness::check_all(&cases, run);
}

/// The harness itself fails on a wrong result: a case checked against a runner that drops the
/// last entity, or that fails where Ocean succeeds, must be reported.
#[test]
fn a_wrong_result_is_reported() {
    let cases = harness::load_cases(&harness::cases_dir());
    let case = cases
        .iter()
        .find(|c| c.id == "arith-basic-operators")
        .expect("the case exists");
    let kind = &case.kinds[0];
    let Observed::Ok(mut good) = run(case, kind) else {
        panic!("the case maps");
    };
    assert!(harness::compare_kind(case, kind, &Observed::Ok(good.clone())).is_empty());
    if let Some(harness::J::Arr(entities)) = good.get_mut("entities") {
        entities.pop();
    }
    let diffs = harness::compare_kind(case, kind, &Observed::Ok(good));
    assert!(
        diffs.iter().any(|d| d.contains("expected 2 items, got 1")),
        "{diffs:?}"
    );
    let diffs = harness::compare_kind(case, kind, &Observed::Failed("boom".into()));
    assert_eq!(diffs, ["failed: boom"]);
    let result = std::panic::catch_unwind(|| {
        harness::check_all(std::slice::from_ref(case), |_, _| {
            Observed::Failed("boom".into())
        })
    });
    assert!(result.is_err(), "check_all must panic on a failing case");
}
