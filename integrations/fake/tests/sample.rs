//! `ocean-fake --sample KIND`: the first page of a kind through the integration's own fetcher,
//! printed as JSON, with no Port credentials and no Port to talk to.

use serde_json::Value;
use std::process::{Command, Output};

fn sample(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ocean-fake"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("OCEAN__INTEGRATION__CONFIG__SERVICE_COUNT", "7")
        .env("OCEAN__INTEGRATION__CONFIG__PAGE_SIZE", "5")
        .output()
        .expect("ocean-fake runs")
}

#[test]
fn prints_the_first_page_of_a_kind_as_json() {
    let out = sample(&["--sample", "service", "."]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page: Vec<Value> = serde_json::from_slice(&out.stdout).expect("a JSON array");
    // The first page only: pageSize 5 of 7 services.
    assert_eq!(page.len(), 5);
    assert_eq!(page[0]["id"], "service-0");
    assert!(page[0]["owner"]["team"].is_string(), "{}", page[0]);
}

#[test]
fn an_unknown_kind_is_a_usage_error_naming_the_kinds() {
    let out = sample(&["--sample", "nope", "."]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("\"nope\"") && stderr.contains("service"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}
