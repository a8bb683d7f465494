//! `ocean test` end to end: the built binary on the shipped integrations' mapping tests (they
//! pass), on a copy whose expectation was changed (it fails with a field-level diff, exit 1),
//! and `--update` accepting the current output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ocean(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ocean"))
        .args(args)
        .output()
        .expect("ocean runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn the_shipped_integrations_mapping_tests_pass() {
    for integration in ["fake", "pagerduty"] {
        let path = repo().join("integrations").join(integration);
        let out = ocean(&["test", path.to_str().unwrap()]);
        let shown = text(&out);
        assert!(out.status.success(), "{integration}: {shown}");
        assert!(shown.contains(" 0 failed"), "{integration}: {shown}");
        assert!(!shown.contains("FAIL"), "{integration}: {shown}");
    }
}

#[test]
fn a_changed_expectation_fails_with_a_diff_and_update_accepts_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let fake = repo().join("integrations/fake/.port");
    copy_dir(&fake.join("resources"), &dir.path().join(".port/resources"));
    copy_dir(&fake.join("tests"), &dir.path().join(".port/tests"));
    let expected_path = dir.path().join(".port/tests/item/expected.json");
    let mut expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&expected_path).unwrap()).unwrap();
    // The expectation is changed three ways: a property, a missing entity, a problem count.
    let first = &mut expected["entities"][0];
    let identifier = first["identifier"].as_str().unwrap().to_owned();
    first["properties"]["status"] = "SHIPPED".into();
    expected["entities"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"identifier": "item-extra", "blueprint": "benchItem"}));
    expected["problems"]["selectorDropped"] = 3.into();
    std::fs::write(&expected_path, expected.to_string()).unwrap();

    let path = dir.path().to_str().unwrap();
    let out = ocean(&["test", path]);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(shown.contains("FAIL    item"), "{shown}");
    assert!(
        shown.contains(&format!(
            "benchItem/{identifier}: properties.status: expected \"SHIPPED\", got"
        )),
        "{shown}"
    );
    assert!(
        shown.contains("benchItem/item-extra: expected, not produced"),
        "{shown}"
    );
    assert!(
        shown.contains("problems.selectorDropped: expected 3, got 1"),
        "{shown}"
    );
    assert!(shown.contains("1 failed"), "{shown}");
    // The other cases still pass, and --filter runs only the named ones.
    assert!(shown.contains("ok      team"), "{shown}");
    let out = ocean(&["test", path, "--filter", "team"]);
    assert!(out.status.success(), "{}", text(&out));

    let out = ocean(&["test", path, "--update"]);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("updated item"), "{shown}");
    let out = ocean(&["test", path]);
    assert!(out.status.success(), "{}", text(&out));

    // A case without an expectation fails until --update writes one; a kind the mapping lacks
    // is an error naming the file.
    std::fs::remove_file(&expected_path).unwrap();
    let out = ocean(&["test", path]);
    assert!(
        text(&out).contains("no expected.json yet"),
        "{}",
        text(&out)
    );
    let items = dir.path().join(".port/tests/item/items.json");
    std::fs::write(&items, r#"{"kind": "nope", "items": []}"#).unwrap();
    let out = ocean(&["test", path]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("items.json") && text(&out).contains("\"nope\""),
        "{}",
        text(&out)
    );
}
