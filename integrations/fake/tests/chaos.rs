//! Under faults, nothing lost and nothing stuck: the `ocean-fake` binary against a Port emulator
//! that answers 30 % of requests (every route, the token's included) with 429 or 503, compared
//! with the same runs against a fault-free emulator.
//!
//! - a cold start into an empty Port, then a shrinking resync: the same entities as without
//!   faults, the same deletions;
//! - a burst of signed live events: every upsert and delete applied;
//! - a start killed (SIGKILL) in the middle of provisioning the default resources: the next start
//!   finishes it and syncs the catalog.
//!
//! The faults are seeded (`CHAOS_SEED`, default below): a failure names its seed, and the same
//! seed replays the same fault sequence.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use ocean::testing::{EmulatorConfig, FaultSettings, RunningEmulator, spawn_emulator};
use serde_json::{Value, json};

/// The seed used when `CHAOS_SEED` is not set.
const DEFAULT_SEED: u64 = 0x0CEA_2026;

const IDENTIFIER: &str = "fake-chaos";
const SECRET: &str = "chaos-webhook-secret";
const BLUEPRINTS: [&str; 5] = [
    "fakeTeam",
    "fakeService",
    "fakeDeployment",
    "benchGroup",
    "benchItem",
];

fn seed() -> u64 {
    std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED)
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

async fn emulator(faulty: bool, latency_ms: u64) -> RunningEmulator {
    let faults = FaultSettings {
        fail_rate: if faulty { 0.3 } else { 0.0 },
        seed: Some(seed()),
        latency_ms,
        ..FaultSettings::default()
    };
    spawn_emulator(EmulatorConfig {
        faults,
        ..EmulatorConfig::default()
    })
    .await
    .expect("the emulator starts")
}

/// The catalog sizes of a run.
#[derive(Clone, Copy)]
struct Catalog {
    services: u64,
    deployments: u64,
    items: u64,
}

const FULL: Catalog = Catalog {
    services: 20,
    deployments: 100,
    items: 400,
};

const SHRUNK: Catalog = Catalog {
    services: 12,
    deployments: 60,
    items: 250,
};

/// `ocean-fake` with its settings pointing at `emulator`, run from the integration's folder.
fn fake(emulator: &RunningEmulator, catalog: Catalog) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ocean-fake"));
    command
        .current_dir(std::env::temp_dir())
        .arg(dir())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("OCEAN__PORT__BASE_URL", emulator.base_url())
        .env("OCEAN__PORT__CLIENT_ID", emulator.client_id())
        .env(
            "OCEAN__PORT__CLIENT_SECRET",
            emulator.client_secret().expose(),
        )
        .env("OCEAN__INTEGRATION__IDENTIFIER", IDENTIFIER)
        .env("OCEAN__INITIALIZE_PORT_RESOURCES", "true")
        .env("OCEAN__INTEGRATION__CONFIG__TEAM_COUNT", "5")
        .env(
            "OCEAN__INTEGRATION__CONFIG__SERVICE_COUNT",
            catalog.services.to_string(),
        )
        .env(
            "OCEAN__INTEGRATION__CONFIG__DEPLOYMENT_COUNT",
            catalog.deployments.to_string(),
        )
        .env(
            "OCEAN__INTEGRATION__CONFIG__ITEM_COUNT",
            catalog.items.to_string(),
        )
        .env("OCEAN__INTEGRATION__CONFIG__PAGE_SIZE", "50")
        .env("OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET", SECRET)
        .env("APPLICATION__LOG_LEVEL", "WARNING")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs `ocean-fake --once` to its end (at most five minutes) and returns its status and stderr.
async fn once(emulator: &RunningEmulator, catalog: Catalog) -> (ExitStatus, String) {
    let mut command = fake(emulator, catalog);
    command.arg("--once");
    let child = command.spawn().expect("ocean-fake starts");
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    (
        output.status,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn once_ok(emulator: &RunningEmulator, catalog: Catalog, what: &str) {
    let (status, stderr) = once(emulator, catalog).await;
    assert!(
        status.success(),
        "{what} (CHAOS_SEED={}): ocean-fake exited with {status}\n{stderr}",
        seed()
    );
}

/// What Port holds, without the bookkeeping that differs between runs (times, datasource).
type Snapshot = BTreeMap<(String, String), Value>;

async fn snapshot(emulator: &RunningEmulator) -> Snapshot {
    let mut all = BTreeMap::new();
    for blueprint in BLUEPRINTS {
        for e in emulator.entities(blueprint).await.unwrap() {
            all.insert(
                (e.blueprint, e.identifier),
                json!({"title": e.title, "properties": e.properties, "relations": e.relations,
                    "team": e.team}),
            );
        }
    }
    all
}

/// The differences between two snapshots, for a readable failure.
fn diff(expected: &Snapshot, got: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    for (key, value) in expected {
        match got.get(key) {
            None => out.push(format!("missing {key:?}")),
            Some(other) if other != value => {
                out.push(format!("differs {key:?}: want {value}, got {other}"))
            }
            _ => {}
        }
    }
    for key in got.keys() {
        if !expected.contains_key(key) {
            out.push(format!("extra {key:?}"));
        }
    }
    out.truncate(20);
    out
}

fn assert_same(expected: &Snapshot, got: &Snapshot, what: &str) {
    let differences = diff(expected, got);
    assert!(
        differences.is_empty(),
        "{what} (CHAOS_SEED={}): {} expected, {} in Port; first differences:\n{}",
        seed(),
        expected.len(),
        got.len(),
        differences.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_start_and_shrinking_resync_under_faults() {
    let reference = emulator(false, 0).await;
    let chaos = emulator(true, 0).await;

    once_ok(&reference, FULL, "cold start, fault-free").await;
    once_ok(&chaos, FULL, "cold start under faults").await;
    let expected = snapshot(&reference).await;
    assert!(expected.len() > 500, "{} entities", expected.len());
    assert_same(&expected, &snapshot(&chaos).await, "after the cold start");
    let injected = chaos.controls().injected_faults();
    assert!(injected > 20, "only {injected} faults happened");

    once_ok(&reference, SHRUNK, "shrinking resync, fault-free").await;
    once_ok(&chaos, SHRUNK, "shrinking resync under faults").await;
    let shrunk = snapshot(&reference).await;
    assert!(shrunk.len() < expected.len());
    assert_same(
        &shrunk,
        &snapshot(&chaos).await,
        "after the shrinking resync",
    );

    reference.shutdown().await.unwrap();
    chaos.shutdown().await.unwrap();
}

/// A free port on 127.0.0.1.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `ocean-fake` serving live events (no resync of its own) on a free port.
struct Serving {
    child: Child,
    port: u16,
}

impl Serving {
    fn start(emulator: &RunningEmulator) -> Serving {
        let port = free_port();
        let child = fake(emulator, FULL)
            .env("OCEAN__EVENT_LISTENER__TYPE", "WEBHOOKS_ONLY")
            .env("APPLICATION__HOST", "127.0.0.1")
            .env("APPLICATION__PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ocean-fake starts");
        Serving { child, port }
    }

    /// Waits until the process answers its readiness probe.
    async fn ready(&mut self, http: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let url = format!("http://127.0.0.1:{}/health/ready", self.port);
            if let Ok(r) = http.get(&url).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("ocean-fake exited with {status} before it was ready");
            }
            assert!(Instant::now() < deadline, "ocean-fake never became ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sign(body: &[u8]) -> String {
    ocean_fake::webhook::signature().sign(SECRET.as_bytes(), body)
}

/// The burst: every entity appears at most once, so the order of handling does not matter.
fn burst() -> Vec<Value> {
    let mut events = Vec::new();
    for i in 0..FULL.services {
        let id = format!("service-{i}");
        events.push(if i % 4 == 0 {
            json!({"kind": "service", "action": "delete", "item": {"id": id}})
        } else {
            json!({"kind": "service", "action": "upsert", "item": {
                "id": id, "name": format!("Renamed {i}"), "language": "rust", "tier": 1,
                "repository": {"url": format!("https://git.example.com/{id}")},
                "owner": {"team": "team-0"}}})
        });
    }
    for i in 0..20 {
        events.push(json!({"kind": "service", "action": "upsert", "item": {
            "id": format!("service-new-{i}"), "name": format!("New {i}"), "language": "go", "tier": 2,
            "repository": {"url": "https://git.example.com/new"}, "owner": {"team": "team-1"}}}));
    }
    events
}

async fn send_burst(http: &reqwest::Client, port: u16) {
    let url = format!("http://127.0.0.1:{port}/integration/webhook");
    let sends = burst().into_iter().map(|event| {
        let body = serde_json::to_vec(&event).unwrap();
        let signature = sign(&body);
        let url = url.clone();
        async move {
            let r = http
                .post(&url)
                .header("content-type", "application/json")
                .header("x-fake-signature", signature)
                .body(body)
                .send()
                .await
                .expect("the webhook is answered");
            assert!(r.status().is_success(), "webhook answered {}", r.status());
        }
    });
    futures::future::join_all(sends).await;
}

/// Waits until Port holds `expected`, or fails with the differences after two minutes.
async fn converge(emulator: &RunningEmulator, expected: &Snapshot, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let got = snapshot(emulator).await;
        if diff(expected, &got).is_empty() {
            return;
        }
        if Instant::now() > deadline {
            assert_same(expected, &got, what);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_live_events_under_faults_is_applied_in_full() {
    let reference = emulator(false, 0).await;
    let chaos = emulator(true, 0).await;
    once_ok(&reference, FULL, "cold start, fault-free").await;
    once_ok(&chaos, FULL, "cold start under faults").await;

    let http = reqwest::Client::new();
    let mut on_reference = Serving::start(&reference);
    on_reference.ready(&http).await;
    send_burst(&http, on_reference.port).await;
    let mut on_chaos = Serving::start(&chaos);
    on_chaos.ready(&http).await;
    send_burst(&http, on_chaos.port).await;

    // The services after the burst: renamed and new ones, without the deleted ones (whose
    // deployments Port deletes with them, deleteDependentEntities being on).
    let mut services: Snapshot = snapshot(&reference)
        .await
        .into_iter()
        .filter(|((bp, _), _)| bp == "fakeService")
        .collect();
    for event in burst() {
        let id = event["item"]["id"].as_str().unwrap().to_owned();
        let key = ("fakeService".to_owned(), id);
        if event["action"] == "delete" {
            services.remove(&key);
        } else {
            let item = &event["item"];
            services.insert(
                key,
                json!({"title": item["name"], "team": [],
                    "properties": {"language": item["language"], "tier": item["tier"],
                        "repository": item["repository"]["url"]},
                    "relations": {"team": item["owner"]["team"]}}),
            );
        }
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let expected = loop {
        let all = snapshot(&reference).await;
        let got: Snapshot = all
            .iter()
            .filter(|((bp, _), _)| bp == "fakeService")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if diff(&services, &got).is_empty() {
            break all;
        }
        if Instant::now() > deadline {
            assert_same(&services, &got, "the burst, fault-free");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    converge(&chaos, &expected, "the burst under faults").await;
    drop(on_reference);
    drop(on_chaos);
    reference.shutdown().await.unwrap();
    chaos.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_killed_while_provisioning_is_finished_by_the_next() {
    let reference = emulator(false, 0).await;
    once_ok(&reference, FULL, "cold start, fault-free").await;
    let expected = snapshot(&reference).await;

    // Slow answers widen the window between the first blueprint created and the last stage.
    let chaos = emulator(true, 150).await;
    let log_path =
        std::env::temp_dir().join(format!("ocean-fake-chaos-{}.log", std::process::id()));
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = fake(&chaos, FULL)
        .arg("--once")
        .env("APPLICATION__LOG_LEVEL", "DEBUG")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("ocean-fake starts");
    let log_tail = || {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let created = chaos
            .requests()
            .iter()
            .any(|r| r.method == "POST" && r.path == "/v1/blueprints" && r.status < 300);
        if created {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "CHAOS_SEED={}: ocean-fake exited with {status} before creating a blueprint:\n{}",
                seed(),
                log_tail()
            );
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "CHAOS_SEED={}: no blueprint was created in two minutes:\n{}",
                seed(),
                log_tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    let _ = std::fs::remove_file(&log_path);
    let integration = chaos.integration(IDENTIFIER).await.unwrap();
    assert_ne!(
        integration
            .as_ref()
            .map(|i| &i["arePortResourcesInitialized"]),
        Some(&json!(true)),
        "the kill came after provisioning had finished; nothing was interrupted"
    );

    chaos.controls().set_latency(Duration::ZERO);
    once_ok(&chaos, FULL, "the start after the kill").await;
    let integration = chaos.integration(IDENTIFIER).await.unwrap().unwrap();
    assert_eq!(integration["arePortResourcesInitialized"], json!(true));
    for blueprint in ["fakeService", "fakeDeployment"] {
        let want = reference.blueprint(blueprint).await.unwrap().unwrap();
        let got = chaos.blueprint(blueprint).await.unwrap().unwrap();
        assert_eq!(got["relations"], want["relations"], "{blueprint}");
        assert_eq!(got["schema"], want["schema"], "{blueprint}");
    }
    assert_same(
        &expected,
        &snapshot(&chaos).await,
        "after the start that followed the kill",
    );
    reference.shutdown().await.unwrap();
    chaos.shutdown().await.unwrap();
}
