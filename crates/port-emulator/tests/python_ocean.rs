//! A real client no one here wrote: Python Ocean's own `ocean sail` (port-ocean 0.56.2, ONCE
//! event listener) runs the tiny integration in `tests/python-integration/` against the emulator,
//! twice: a cold start that creates the integration, the blueprints and 30 entities, then a run
//! with 20 items whose reconciliation lists the integration's entities by datasource and deletes
//! the 10 stale ones.
//!
//! Python Ocean is installed into a venv under the workspace `target/` (reused when present) by
//! `xtask::python_ocean`, which `make bench` uses too.
//! The test runs only when asked for (`--features python-ocean-tests`, as `make test` does), so a
//! machine without Python ≥ 3.11 fails it rather than skipping it.
//! `sail` listens on 0.0.0.0:8000 with no host setting in 0.56.2, so a few lines of Python wrap
//! `uvicorn.run` to force 127.0.0.1 and a free port before calling Ocean's CLI entry point.

use port_emulator::{EmulatorConfig, RunningEmulator, StoredEntity};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

const INTEGRATION_ID: &str = "emulator-sample";
const INTEGRATION_TYPE: &str = "sample";
/// The user agent Python Ocean writes entities with: type, version (from pyproject), identifier.
const DATASOURCE: &str = "port-ocean/sample/0.1.0/emulator-sample/exporter";
/// How long one `ocean sail` may take before the test fails instead of hanging.
const SAIL_TIMEOUT: Duration = Duration::from_secs(300);

/// Starts Ocean's CLI with `uvicorn.run` bound to loopback and the port in `SAIL_HTTP_PORT`.
const SAIL_ON_LOOPBACK: &str = r#"
import os, sys
import uvicorn
_run = uvicorn.run
def _loopback_run(app, *args, **kwargs):
    kwargs["host"] = "127.0.0.1"
    kwargs["port"] = int(os.environ["SAIL_HTTP_PORT"])
    return _run(app, *args, **kwargs)
uvicorn.run = _loopback_run
from port_ocean.cli.cli import cli_start
sys.argv = ["ocean", "sail", "."]
cli_start()
"#;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// Runs `ocean sail` once in `workdir` against the emulator; panics with its log on failure.
async fn sail(venv: &Path, workdir: &Path, emulator: &RunningEmulator, items: usize, run: &str) {
    let log = workdir.join(format!("sail-{run}.log"));
    let log_file = std::fs::File::create(&log).unwrap();
    let mut command = tokio::process::Command::new(venv.join("bin/python"));
    for (name, _) in std::env::vars() {
        if name.starts_with("OCEAN__") || name.starts_with("APPLICATION__") {
            command.env_remove(name);
        }
    }
    command
        .arg("-c")
        .arg(SAIL_ON_LOOPBACK)
        .current_dir(workdir)
        .env("SAIL_HTTP_PORT", free_port().to_string())
        .env("SAMPLE_ITEM_COUNT", items.to_string())
        .env("OCEAN__PORT__BASE_URL", emulator.base_url())
        .env("OCEAN__PORT__CLIENT_ID", emulator.client_id())
        .env(
            "OCEAN__PORT__CLIENT_SECRET",
            emulator.client_secret().expose(),
        )
        .env("OCEAN__EVENT_LISTENER__TYPE", "ONCE")
        .env("OCEAN__INTEGRATION__IDENTIFIER", INTEGRATION_ID)
        .env("OCEAN__INTEGRATION__TYPE", INTEGRATION_TYPE)
        .env("OCEAN__INITIALIZE_PORT_RESOURCES", "true")
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .kill_on_drop(true);
    let mut child = command.spawn().expect("ocean sail starts");
    let status = match tokio::time::timeout(SAIL_TIMEOUT, child.wait()).await {
        Ok(status) => status.expect("ocean sail is awaited"),
        Err(_) => {
            let _ = child.kill().await;
            panic!(
                "ocean sail ({run}) did not finish within {SAIL_TIMEOUT:?}; its log:\n{}",
                tail(&log)
            );
        }
    };
    assert!(
        status.success(),
        "ocean sail ({run}) exited with {status}; its log:\n{}",
        tail(&log)
    );
}

fn identifiers(entities: &[StoredEntity]) -> Vec<String> {
    let mut ids: Vec<String> = entities.iter().map(|e| e.identifier.clone()).collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_ocean_sail_resyncs_into_the_emulator() {
    // The same venv `make bench` uses, installed by the same code on first use.
    let target = manifest_dir().join("../../target");
    let venv = tokio::task::spawn_blocking(move || xtask::python_ocean::ensure_venv(&target))
        .await
        .unwrap()
        .expect("Python Ocean installs (Python >= 3.11 on PATH and the package index reachable)");
    let workdir = tempfile::tempdir().unwrap();
    copy_dir(
        &manifest_dir().join("tests/python-integration"),
        workdir.path(),
    );
    let emulator = port_emulator::spawn(EmulatorConfig::default())
        .await
        .unwrap();

    // Cold start: integration, blueprints, 30 items and their 3 groups.
    sail(&venv, workdir.path(), &emulator, 30, "cold").await;

    let states: Vec<String> = emulator
        .resync_states(INTEGRATION_ID)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.status)
        .collect();
    assert_eq!(states, vec!["running", "completed"]);

    let integration = emulator
        .integration(INTEGRATION_ID)
        .await
        .unwrap()
        .expect("sail created the integration");
    assert_eq!(integration["installationAppType"], INTEGRATION_TYPE);
    assert_eq!(integration["version"], "0.1.0");
    assert_eq!(integration["arePortResourcesInitialized"], true);
    assert_eq!(
        integration["config"]["resources"][0]["port"]["entity"]["mappings"]["blueprint"],
        "\"sampleItem\""
    );
    let blueprint = emulator.blueprint("sampleItem").await.unwrap().unwrap();
    assert_eq!(blueprint["relations"]["group"]["target"], "sampleGroup");

    let items = emulator.entities("sampleItem").await.unwrap();
    let expected: Vec<String> = (0..30).map(|i| format!("item-{i:03}")).collect();
    assert_eq!(identifiers(&items), expected);
    assert!(items.iter().all(|e| e.datasource == DATASOURCE));
    let item7 = items.iter().find(|e| e.identifier == "item-007").unwrap();
    assert_eq!(item7.title, Some(json!("Sample item 7")));
    assert_eq!(
        Value::Object(item7.properties.clone()),
        json!({"status": "CLOSED", "score": 10.5, "tags": ["t1"], "ownerEmail": "user7@example.com"})
    );
    assert_eq!(item7.relations["group"], "group-1");
    let item5 = items.iter().find(|e| e.identifier == "item-005").unwrap();
    assert_eq!(item5.properties["ownerEmail"], Value::Null);
    let groups = emulator.entities("sampleGroup").await.unwrap();
    assert_eq!(identifiers(&groups), vec!["group-0", "group-1", "group-2"]);
    assert!(groups.iter().all(|e| e.datasource == DATASOURCE));

    let examples = emulator
        .kind_examples(INTEGRATION_ID, "item")
        .await
        .unwrap()
        .expect("sail posted kind examples");
    assert_eq!(examples.as_array().map(Vec::len), Some(5));
    let ingested = emulator.ingested().await.unwrap();
    assert!(ingested.iter().any(|r| r.channel == "logs"));
    assert!(
        ingested
            .iter()
            .any(|r| r.channel == "metrics" && r.path == "/syncMetrics")
    );

    let bulk_writes = |emulator: &RunningEmulator| {
        emulator
            .requests()
            .iter()
            .filter(|r| r.path == "/v1/blueprints/sampleItem/entities/bulk")
            .count()
    };
    let cold_writes = bulk_writes(&emulator);
    assert!(
        cold_writes >= 2,
        "30 entities need at least two bulk requests of 20"
    );

    // Second run, the source shrank to 20 items: reconciliation lists our entities by
    // datasource (`before` = resync start) and deletes the 10 stale items; the groups stay
    // because kept items still relate to them.
    sail(&venv, workdir.path(), &emulator, 20, "shrunk").await;

    let states: Vec<String> = emulator
        .resync_states(INTEGRATION_ID)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.status)
        .collect();
    assert_eq!(states, vec!["running", "completed", "running", "completed"]);
    let items = emulator.entities("sampleItem").await.unwrap();
    let expected: Vec<String> = (0..20).map(|i| format!("item-{i:03}")).collect();
    assert_eq!(identifiers(&items), expected);
    assert_eq!(emulator.entity_count("sampleGroup").await.unwrap(), 3);
    let requests = emulator.requests();
    let listed = requests
        .iter()
        .filter(|r| r.path == "/v1/blueprints/entities/datasource-entities")
        .count();
    let deletes: Vec<_> = requests
        .iter()
        .filter(|r| r.path == "/v1/blueprints/sampleItem/bulk/entities/delete")
        .collect();
    assert_eq!(listed, 2, "one reconciliation listing per run");
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].status, 200);
    assert!(
        requests
            .iter()
            .filter(|r| r.path.starts_with("/v1/"))
            .all(|r| r
                .user_agent
                .as_deref()
                .is_some_and(|ua| ua.starts_with("port-ocean/sample/0.1.0/emulator-sample"))),
        "every API call carries Python Ocean's user agent"
    );
    // The unchanged 20 items were compared through search (Ocean's changed-entity filter)
    // and found identical, so none was written again.
    assert!(
        requests
            .iter()
            .any(|r| r.path == "/v1/entities/search" && r.status == 200)
    );
    assert_eq!(
        bulk_writes(&emulator),
        cold_writes,
        "unchanged entities were rewritten"
    );

    emulator.shutdown().await.unwrap();
}
