//! `ocean-fake --dry-run` as a process against the in-process emulator: after a real resync,
//! a plan of a smaller catalog lists the deletes and exits 2 past `--max-deletes`, the JSON plan
//! is one object on stdout (logs go to stderr), and Port is left as it was.

use std::path::PathBuf;
use std::process::{Command, Output};

use ocean::testing::{EmulatorConfig, RunningEmulator, spawn_emulator};
use serde_json::Value;

/// `ocean-fake ARGS <integration folder>` against `port`, with `items` records.
fn fake(port: &RunningEmulator, args: &[&str], items: u32) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ocean-fake"))
        .args(args)
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("OCEAN__PORT__BASE_URL", port.base_url())
        .env("OCEAN__PORT__CLIENT_ID", port.client_id())
        .env("OCEAN__PORT__CLIENT_SECRET", port.client_secret().expose())
        .env("OCEAN__INTEGRATION__IDENTIFIER", "fake-dry-run")
        .env("OCEAN__INTEGRATION__CONFIG__ITEM_COUNT", items.to_string())
        .env("APPLICATION__LOG_FORMAT", "json")
        .env("APPLICATION__PORT", "0")
        .output()
        .expect("ocean-fake runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_deletes_fails_a_plan_that_deletes_too_much() {
    let port = spawn_emulator(EmulatorConfig::default())
        .await
        .expect("the emulator starts");
    let run = |args: &'static [&'static str], items: u32| {
        let port = &port;
        tokio::task::block_in_place(move || fake(port, args, items))
    };
    let once = run(&["--once"], 100);
    assert!(once.status.success(), "{}", text(&once));
    let stored = port.entity_count("benchItem").await.unwrap();

    // 100 → 80 items: the stored items of 80..99 (the archived ones never were) and a relation
    // target created for one of them would be deleted.
    let plan = run(&["--dry-run", "--max-deletes", "0", "--show", "all"], 80);
    assert_eq!(plan.status.code(), Some(2), "{}", text(&plan));
    let stdout = String::from_utf8_lossy(&plan.stdout);
    assert!(
        stdout.starts_with("Dry run: nothing was written to Port."),
        "{stdout}"
    );
    assert!(stdout.contains("  - delete item-0000098\n"), "{stdout}");
    assert!(
        String::from_utf8_lossy(&plan.stderr).contains("more than --max-deletes 0"),
        "{}",
        text(&plan)
    );

    let json = run(
        &["--dry-run", "--output", "json", "--max-deletes", "1000"],
        80,
    );
    assert!(json.status.success(), "{}", text(&json));
    let plan: Value = serde_json::from_slice(&json.stdout).expect("stdout is the JSON plan alone");
    let items = &plan["blueprints"]["benchItem"];
    assert_eq!(items["create"], 0);
    assert_eq!(items["update"], 0);
    assert_eq!(items["unchanged"], 72);
    assert_eq!(items["delete"], 19, "{items}");
    assert_eq!(plan["completes"], true);
    // Nothing was written: Port still holds every item.
    assert_eq!(port.entity_count("benchItem").await.unwrap(), stored);
}
