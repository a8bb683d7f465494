//! `ocean map` end to end: the built binary on files in a temporary directory, its error
//! behaviours, and every mapping conformance case.

#[path = "../../mapping/tests/conformance/harness.rs"]
mod harness;

use harness::Observed;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const CONFIG: &str = r#"
resources:
  - kind: repo
    selector:
      query: '.archived | if type == "boolean" then not else . end'
    port:
      entity:
        mappings:
          identifier: .name
          title: .name | ascii_upcase
          blueprint: '"service"'
          properties:
            lang: .lang
            broken: (.name | ascii_upcase
"#;

const ITEMS: &str = r#"[{"name": "payments", "lang": "go", "archived": false},
                        {"name": "legacy", "archived": true},
                        {"name": "x"}]"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn ocean(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ocean"))
        .args(args)
        .env_remove("OCEAN__ALLOW_ENVIRONMENT_VARIABLES_JQ_ACCESS")
        .output()
        .expect("the ocean binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn maps_items_and_reports_counts_and_misconfigurations() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "port-app-config.yml", CONFIG);
    let items = write(dir.path(), "items.json", ITEMS);
    let out = ocean(&[
        "map",
        "--config",
        config.to_str().unwrap(),
        "--kind",
        "repo",
        items.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["entities"],
        serde_json::json!([{"identifier": "payments", "blueprint": "service", "title": "PAYMENTS",
                            "properties": {"lang": "go", "broken": null}}])
    );
    assert_eq!(v["selector_dropped"], 1);
    assert_eq!(v["selector_errors"], 1);
    assert_eq!(v["skipped"], 0);
    assert_eq!(
        v["misconfigured"],
        serde_json::json!({"properties.broken": "(.name | ascii_upcase"})
    );
    assert_eq!(
        v["failed_selector_entities"],
        serde_json::json!([{"identifier": "legacy", "blueprint": "service", "title": "LEGACY", "properties": {"lang": null, "broken": null}}])
    );
    // The field that does not compile is named with its expression and the compiler's message.
    let err = stderr(&out);
    assert!(
        err.contains("port.entity.mappings.properties.broken"),
        "{err}"
    );
    assert!(err.contains("(.name | ascii_upcase"), "{err}");
    assert!(err.contains("syntax error"), "{err}");
}

#[test]
fn reads_standard_input_and_prints_a_readable_view() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "c.yml", CONFIG);
    let mut child = Command::new(env!("CARGO_BIN_EXE_ocean"))
        .args(["map", "--pretty", "--config", config.to_str().unwrap(), "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(ITEMS.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("1 entity to upsert"), "{text}");
    assert!(text.contains("\"identifier\": \"payments\""), "{text}");
    assert!(
        text.contains("properties.broken: (.name | ascii_upcase  -- does not compile"),
        "{text}"
    );
    assert!(text.contains("Expected boolean value"), "{text}");
}

fn fails_with(args: &[&str], needle: &str) {
    let out = ocean(args);
    assert!(!out.status.success(), "expected a failure for {args:?}");
    let err = stderr(&out);
    assert!(
        err.contains(needle),
        "stderr of {args:?} lacks {needle:?}: {err}"
    );
    assert_eq!(
        err.trim().lines().count(),
        1,
        "one clear line expected: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn rejected_configs_and_inputs_exit_non_zero_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let items = write(dir.path(), "items.json", ITEMS);
    let items = items.to_str().unwrap();
    let bad_yaml = write(
        dir.path(),
        "bad.yml",
        "resources:\n  - kind: repo\n    selector: [\n",
    );
    fails_with(
        &["map", "--config", bad_yaml.to_str().unwrap(), items],
        "bad.yml: invalid YAML at line",
    );
    let missing = write(
        dir.path(),
        "missing.yml",
        &CONFIG.replace("          blueprint: '\"service\"'\n", ""),
    );
    fails_with(
        &["map", "--config", missing.to_str().unwrap(), items],
        "missing.yml: resources[0].port.entity.mappings.blueprint (line",
    );
    let threshold = write(
        dir.path(),
        "t.yml",
        &format!("entityDeletionThreshold: 2\n{CONFIG}"),
    );
    fails_with(
        &["map", "--config", threshold.to_str().unwrap(), items],
        "entityDeletionThreshold",
    );
    let config = write(dir.path(), "ok.yml", CONFIG);
    let config = config.to_str().unwrap();
    let object = write(dir.path(), "object.json", r#"{"name": "x"}"#);
    fails_with(
        &["map", "--config", config, object.to_str().unwrap()],
        "expected a JSON array of items, found object",
    );
    let broken = write(dir.path(), "broken.json", "[{\"name\": }]");
    fails_with(
        &["map", "--config", config, broken.to_str().unwrap()],
        "broken.json: invalid JSON at line 1",
    );
    let scalar_item = write(dir.path(), "scalar.json", "[1]");
    fails_with(
        &["map", "--config", config, scalar_item.to_str().unwrap()],
        "item 0 is number",
    );
    fails_with(
        &["map", "--config", "/nonexistent/c.yml", items],
        "cannot read the config /nonexistent/c.yml",
    );
    let icon = write(
        dir.path(),
        "icon.yml",
        &CONFIG
            .replace(
                "          title:",
                "          icon: '[.name]'\n          title:",
            )
            .replace("            broken: (.name | ascii_upcase\n", ""),
    );
    fails_with(
        &["map", "--config", icon.to_str().unwrap(), items],
        "icon must be a string or null",
    );
}

#[test]
fn environment_access_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "env.yml",
        "resources:\n  - kind: k\n    selector:\n      query: 'true'\n    port:\n      entity:\n        mappings:\n          identifier: .id\n          blueprint: '\"b\"'\n          title: env.OCEAN_CLI_TEST_VAR\n",
    );
    let items = write(dir.path(), "i.json", r#"[{"id": "a"}]"#);
    let run = |access: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_ocean"))
            .args([
                "map",
                "--config",
                config.to_str().unwrap(),
                items.to_str().unwrap(),
            ])
            .env("OCEAN_CLI_TEST_VAR", "visible")
            .env("OCEAN__ALLOW_ENVIRONMENT_VARIABLES_JQ_ACCESS", access)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["entities"][0]["title"].clone()
    };
    assert_eq!(run("true"), "visible");
    assert_eq!(run("false"), serde_json::Value::Null);
}

#[test]
fn runaway_expressions_become_misconfigured_fields() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "runaway.yml",
        "resources:\n  - kind: k\n    selector:\n      query: 'true'\n    port:\n      entity:\n        mappings:\n          identifier: .id\n          blueprint: '\"b\"'\n          properties:\n            deep: 'def f: [f]; f'\n            endless: 'def f: f; f'\n            repeated: '\"x\" * .n'\n",
    );
    let items = write(dir.path(), "i.json", r#"[{"id": "a", "n": 1000000000}]"#);
    let out = ocean(&[
        "map",
        "--config",
        config.to_str().unwrap(),
        items.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["entities"],
        serde_json::json!([{"identifier": "a", "blueprint": "b",
                            "properties": {"deep": null, "endless": null, "repeated": null}}])
    );
    assert_eq!(
        v["misconfigured"],
        serde_json::json!({"properties.deep": "def f: [f]; f", "properties.endless": "def f: f; f",
                           "properties.repeated": "\"x\" * .n"})
    );
}

/// Every mapping conformance case (kept in `ocean-mapping`'s tests) through the built binary, as
/// `check.py --cmd 'ocean map --config {config} --kind {kind} {input}'` would run it: the same
/// environment variables, the same comparison (the harness is shared with the in-process run).
#[test]
fn conformance_cases_pass_through_the_binary() {
    let cases = harness::load_cases(&harness::cases_dir());
    harness::check_all(&cases, |case, kind| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ocean"));
        cmd.arg("map")
            .arg("--config")
            .arg(case.config())
            .arg("--kind")
            .arg(kind)
            .arg(case.input(kind))
            .env(
                "OCEAN__ALLOW_ENVIRONMENT_VARIABLES_JQ_ACCESS",
                if case.env_access { "true" } else { "false" },
            );
        for (name, value) in &case.env {
            match value {
                Some(v) => cmd.env(name, v),
                None => cmd.env_remove(name),
            };
        }
        let out = cmd.output().expect("the ocean binary runs");
        if out.status.success() {
            Observed::from_stdout(&String::from_utf8_lossy(&out.stdout))
        } else {
            let err = stderr(&out);
            assert!(!err.contains("panicked"), "{}: {err}", case.id);
            Observed::Failed(err.trim().lines().last().unwrap_or("").to_owned())
        }
    });
}

const PLAIN: &str = r#"
resources:
  - kind: repo
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: .name
          blueprint: '"service"'
"#;

fn identifiers(stdout: &[u8]) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(stdout).expect("stdout is one JSON document");
    v["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["identifier"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn many_items_on_several_threads_come_out_in_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "c.yml", PLAIN);
    let names: Vec<String> = (0..5000).map(|i| format!("r{i}")).collect();
    let items: Vec<String> = names
        .iter()
        .map(|n| format!("{{\"name\": \"{n}\"}}"))
        .collect();
    let items = write(dir.path(), "i.json", &format!("[{}]", items.join(",")));
    let out = ocean(&[
        "map",
        "--jobs",
        "4",
        "--config",
        config.to_str().unwrap(),
        items.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(identifiers(&out.stdout), names);
}

#[test]
fn ndjson_reports_malformed_lines_by_number_and_maps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "c.yml", PLAIN);
    let items = write(
        dir.path(),
        "i.ndjson",
        "{\"name\": \"a\"}\n{\"name\": \n\n{\"name\": \"b\"}\n\"text\"\n{\"name\": \"c\"}\n",
    );
    let out = ocean(&[
        "map",
        "--ndjson",
        "--config",
        config.to_str().unwrap(),
        items.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(identifiers(&out.stdout), ["a", "b", "c"]);
    let err = stderr(&out);
    assert!(err.contains("i.ndjson: line 2: invalid JSON"), "{err}");
    assert!(
        err.contains("i.ndjson: line 5: the item is string, but raw items must be JSON objects"),
        "{err}"
    );
    assert!(err.contains("2 line(s) could not be mapped"), "{err}");
}

#[test]
fn a_truncated_array_is_reported_with_its_byte_offset_after_the_items_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "c.yml", PLAIN);
    let text = "[{\"name\": \"a\"}, {\"name\": \"b\"}, {\"name\": \"c";
    let mut child = Command::new(env!("CARGO_BIN_EXE_ocean"))
        .args(["map", "--config", config.to_str().unwrap(), "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(identifiers(&out.stdout), ["a", "b"]);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "<stdin>: the array is truncated: the input ends at byte {}",
            text.len()
        )),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
