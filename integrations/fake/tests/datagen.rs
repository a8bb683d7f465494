//! The `item` records equal the benchmark generator's: runs `tests/bench-workload/datagen.py` and compares
//! its JSON output with [`ocean_fake::items::make_item`], value for value, for two revisions.
//!
//! The generator is kept beside the tests (`tests/bench-workload/datagen.py`); the test needs
//! `python3` and fails, saying so, without it.

use ocean_fake::items::make_item;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

const RECORDS: u64 = 2000;

fn datagen() -> Result<PathBuf, String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/bench-workload/datagen.py");
    if !script.is_file() {
        return Err(format!("{} does not exist", script.display()));
    }
    match Command::new("python3").arg("--version").output() {
        Ok(out) if out.status.success() => Ok(script),
        Ok(out) => Err(format!("python3 --version failed: {}", out.status)),
        Err(err) => Err(format!("python3 cannot be run: {err}")),
    }
}

fn python_items(script: &PathBuf, revision: u64) -> Vec<Value> {
    let out = Command::new("python3")
        .arg(script)
        .arg(RECORDS.to_string())
        .arg(revision.to_string())
        .output()
        .expect("running datagen.py");
    assert!(
        out.status.success(),
        "datagen.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("datagen.py prints a JSON array")
}

fn check_revision(revision: u64) {
    let script = match datagen() {
        Ok(script) => script,
        Err(reason) => {
            panic!("comparing with datagen.py needs python3 and the file: {reason}")
        }
    };
    let expected = python_items(&script, revision);
    assert_eq!(expected.len() as u64, RECORDS);
    let mut archived = 0;
    for (i, want) in expected.iter().enumerate() {
        let got = make_item(i as u64, revision);
        assert_eq!(
            &got, want,
            "record {i} of revision {revision} differs:\n ours:   {got}\n python: {want}"
        );
        archived += usize::from(got["archived"] == Value::Bool(true));
    }
    // The records really differ from each other in what the mapping reads.
    assert_eq!(archived, RECORDS as usize / 10);
}

#[test]
fn revision_0_matches_datagen_py() {
    check_revision(0);
}

#[test]
fn revision_1_matches_datagen_py() {
    check_revision(1);
}

#[test]
fn revision_1_changes_one_record_in_twenty() {
    let changed = (0..RECORDS)
        .filter(|&i| make_item(i, 0) != make_item(i, 1))
        .count();
    assert_eq!(changed as u64, RECORDS / 20);
}
