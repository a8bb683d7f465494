//! `ocean check` end to end: the built binary on a fixture integration with one of each mistake
//! (each reported with its resource, field and expression; errors and warnings apart; exit 1),
//! on every shipped integration (no error), with `--config`, `--blueprints`, `--items`, and
//! with `--port` against the Port emulator.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn broken() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check/broken")
}

fn ocean(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ocean"))
        .args(args)
        .output()
        .expect("ocean runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json_report(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            stdout(o),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// The finding of `list` at `resource` and `field` whose message contains `message`.
fn find<'a>(list: &'a Value, resource: u64, field: &str, message: &str) -> Option<&'a Value> {
    list.as_array().unwrap().iter().find(|f| {
        f["resource"] == resource
            && f["field"] == field
            && f["message"].as_str().unwrap().contains(message)
    })
}

#[track_caller]
fn expect(
    report: &Value,
    severity: &str,
    (resource, kind, field, expression, message): (u64, &str, &str, &str, &str),
) {
    let other = if severity == "errors" {
        "warnings"
    } else {
        "errors"
    };
    let found = find(&report[severity], resource, field, message).unwrap_or_else(|| {
        panic!(
            "no {severity} entry for resource {resource} {field} ~ {message:?} in {:#}",
            report
        )
    });
    assert_eq!(found["kind"], kind, "{found}");
    assert_eq!(found["expression"], expression, "{found}");
    assert!(
        find(&report[other], resource, field, message).is_none(),
        "{field} ~ {message:?} is also among the {other}"
    );
}

#[test]
fn every_mistake_of_the_broken_fixture_is_reported() {
    let path = broken();
    let out = ocean(&["check", path.to_str().unwrap(), "--output", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report = json_report(&out);
    let p = "port.entity.mappings";
    let errors = [
        // A property the blueprint does not have (with the likely intended one).
        (
            0,
            "service",
            &*format!("{p}.properties.teir"),
            ".tier",
            "did you mean \"tier\"?",
        ),
        // A property Port computes.
        (
            0,
            "service",
            &format!("{p}.properties.link"),
            ".url",
            "calculationProperties",
        ),
        // A relation the blueprint does not have.
        (
            0,
            "service",
            &format!("{p}.relations.squad"),
            ".squad",
            "relation \"squad\" does not exist on blueprint \"service\"",
        ),
        // Sample values against the schema: type, enum, date-time, array items.
        (
            0,
            "service",
            &format!("{p}.properties.tier"),
            ".tier",
            "expects a number, the mapping gives a string (2 of 3 mapped sample(s), e.g. \"gold\")",
        ),
        (
            0,
            "service",
            &format!("{p}.properties.language"),
            ".lang",
            "enum",
        ),
        (
            0,
            "service",
            &format!("{p}.properties.createdAt"),
            ".created",
            "RFC 3339",
        ),
        (
            0,
            "service",
            &format!("{p}.properties.tags"),
            ".tags",
            "an element: the blueprint expects a string",
        ),
        // Expressions that do not compile (a syntax error; a jaq builtin jq 1.8 lacks).
        (
            1,
            "team",
            &format!("{p}.properties.members"),
            "(.members | tostring",
            "does not compile",
        ),
        (
            1,
            "team",
            &format!("{p}.properties.slug"),
            ".name | tobytes",
            "tobytes/0 is not defined",
        ),
        // A kind the spec does not declare; a blueprint missing from the file.
        (
            2,
            "deploymnet",
            "kind",
            "deploymnet",
            "did you mean \"deployment\"?",
        ),
        (
            2,
            "deploymnet",
            &format!("{p}.blueprint"),
            "\"deploy\"",
            "blueprint \"deploy\" is not in the blueprints file",
        ),
        // Empty identifiers: Ocean skips those items.
        (
            3,
            "service",
            &format!("{p}.identifier"),
            ".slug",
            "empty string",
        ),
        // A computed blueprint is checked per sample, against the blueprint each names.
        (
            3,
            "service",
            &format!("{p}.properties.tier"),
            ".tier",
            "expects a number",
        ),
    ];
    for e in errors {
        expect(&report, "errors", e);
    }
    let warnings = [
        // A relation target that is not in the file (it may exist in Port).
        (
            0,
            "service",
            &*format!("{p}.relations.owners"),
            "[.owners[]]",
            "targets blueprint \"person\", which is not in the blueprints file",
        ),
        // A field null for every sample.
        (
            0,
            "service",
            &format!("{p}.properties.summary"),
            ".summary",
            "null for every sample (3 mapped)",
        ),
        // Numeric identifiers.
        (
            1,
            "team",
            &format!("{p}.identifier"),
            ".num",
            "a number: Port identifiers are strings (add `| tostring`) (2 of 2 mapped sample(s), e.g. 1)",
        ),
        // A blueprint that is not a constant.
        (
            3,
            "service",
            &format!("{p}.blueprint"),
            ".bp",
            "not a constant string",
        ),
        // A selector that drops every sample.
        (
            4,
            "team",
            "selector.query",
            ".archived == true",
            "drops every sample item (2 of 2)",
        ),
    ];
    for w in warnings {
        expect(&report, "warnings", w);
    }
    // Each problem once per resource and field: one `tier` type error for resource 0, however
    // many samples have it; the samples' identifiers that are fine are not reported.
    let tier = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["resource"] == 0 && f["field"] == format!("{p}.properties.tier"))
        .collect::<Vec<_>>();
    assert_eq!(tier.len(), 1);
    assert_eq!(tier[0]["count"], 2);
    assert_eq!(tier[0]["example"], "gold");
    assert!(find(&report["errors"], 0, &format!("{p}.identifier"), "").is_none());
    // A field that does not compile is reported once, as an error (not again as always null).
    assert!(
        find(
            &report["warnings"],
            1,
            &format!("{p}.properties.members"),
            ""
        )
        .is_none()
    );
    assert_eq!(report["errors"].as_array().unwrap().len(), errors.len());
    assert_eq!(report["warnings"].as_array().unwrap().len(), warnings.len());
}

#[test]
fn the_human_report_lists_errors_then_warnings_then_a_summary() {
    let path = broken();
    let out = ocean(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    let last_error = lines
        .iter()
        .rposition(|l| l.starts_with("error: "))
        .unwrap();
    let first_warning = lines
        .iter()
        .position(|l| l.starts_with("warning: "))
        .unwrap();
    assert!(last_error < first_warning, "{text}");
    assert!(
        text.contains(
            "error: resource 0 (kind \"service\"): port.entity.mappings.properties.teir: \
             property \"teir\" does not exist on blueprint \"service\"; did you mean \"tier\"?\n    \
             expression: .tier\n"
        ),
        "{text}"
    );
    let summary = lines.last().unwrap();
    assert!(
        summary.starts_with("ocean check: FAILED: 13 error(s), 5 warning(s) in 5 resource(s)"),
        "{summary}"
    );
    assert!(
        summary.contains("sample items of service (3), team (2); none for deploymnet"),
        "{summary}"
    );
}

#[test]
fn every_shipped_integration_passes() {
    for name in ["fake", "pagerduty", "github", "custom"] {
        let path = repo().join("integrations").join(name);
        let out = ocean(&["check", path.to_str().unwrap(), "--output", "json"]);
        let report = json_report(&out);
        assert_eq!(report["errors"], json!([]), "{name}: {report:#}");
        assert!(out.status.success(), "{name}");
        let text = ocean(&["check", path.to_str().unwrap()]);
        assert!(text.status.success(), "{name}");
        assert!(
            stdout(&text)
                .lines()
                .last()
                .unwrap()
                .starts_with("ocean check: passed: 0 error(s)"),
            "{name}: {}",
            stdout(&text)
        );
    }
}

#[test]
fn files_can_be_named_and_items_given_for_a_kind() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let config = write(
        "mapping.yml",
        r#"
resources:
  - kind: svc
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"svc"'
          properties:
            up: .up
"#,
    );
    let blueprints = write(
        "bps.json",
        r#"[{"identifier": "svc", "schema": {"properties": {"up": {"type": "boolean"}}}}]"#,
    );
    let items = write(
        "items.json",
        r#"[{"id": "a", "up": true}, {"id": "b", "up": "yes"}]"#,
    );
    let out = ocean(&[
        "check",
        dir.path().to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--blueprints",
        blueprints.to_str().unwrap(),
        "--items",
        items.to_str().unwrap(),
        "--kind",
        "svc",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report = json_report(&out);
    assert_eq!(
        report["errors"],
        json!([{
            "resource": 0, "kind": "svc", "field": "port.entity.mappings.properties.up",
            "expression": ".up", "count": 1, "example": "yes",
            "message": "the blueprint expects a boolean, the mapping gives a string (1 of 2 mapped sample(s), e.g. \"yes\")",
        }])
    );
    // Without a spec, kinds are not checked, and that is said.
    assert!(
        find(&report["warnings"], 0, "kind", "").is_none()
            && report["warnings"][0]["message"]
                .as_str()
                .unwrap()
                .contains("has no .port/spec.yaml: kinds are not checked"),
        "{report:#}"
    );

    // Without blueprints, only what needs none is checked.
    let out = ocean(&[
        "check",
        dir.path().to_str().unwrap(),
        "-c",
        config.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("no blueprints file"),
        "{}",
        stdout(&out)
    );

    // --items needs --kind; a folder without a mapping is one line of error.
    let out = ocean(&["check", "--items", items.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let out = ocean(&["check", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("has no port-app-config"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_checks_against_the_blueprints_port_holds() {
    let emulator = port_emulator::spawn(port_emulator::EmulatorConfig::default())
        .await
        .expect("the emulator starts");
    // Port's `service` has the property the mapping misspells; the file's does not.
    let file = broken().join(".port/resources/blueprints.json");
    let mut blueprints: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    // Relation targets first (Port refuses a relation to a blueprint it lacks).
    blueprints.insert(
        0,
        json!({"identifier": "person", "title": "Person", "schema": {"properties": {}}}),
    );
    blueprints.sort_by_key(|b| b["identifier"] == "service");
    for mut blueprint in blueprints {
        if blueprint["identifier"] == "service" {
            blueprint["schema"]["properties"]["teir"] = json!({"type": "string", "title": "Teir"});
        }
        emulator.create_blueprint(blueprint).await.unwrap();
    }
    let run = |with_credentials: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ocean"));
        command
            .args([
                "check",
                broken().to_str().unwrap(),
                "--port",
                "--output",
                "json",
            ])
            .env_remove("OCEAN__PORT__CLIENT_ID")
            .env_remove("OCEAN__PORT__CLIENT_SECRET")
            .env("OCEAN__PORT__BASE_URL", emulator.base_url());
        if with_credentials {
            command
                .env("OCEAN__PORT__CLIENT_ID", emulator.client_id())
                .env(
                    "OCEAN__PORT__CLIENT_SECRET",
                    emulator.client_secret().expose(),
                );
        }
        tokio::task::block_in_place(|| command.output().expect("ocean runs"))
    };
    let out = run(true);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json_report(&out);
    let messages: Vec<String> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        !messages
            .iter()
            .any(|m| m.contains("\"teir\" does not exist")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("relation \"squad\" does not exist")),
        "{messages:?}"
    );
    // Only reads reached Port.
    assert!(
        emulator
            .requests()
            .iter()
            .all(|r| r.method == "GET" || r.path.ends_with("/access_token")),
        "{:?}",
        emulator.requests()
    );
    let missing = run(false);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("OCEAN__PORT__CLIENT_ID"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
}
