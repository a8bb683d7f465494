//! Shared fixtures of the lifecycle's end-to-end tests: a small in-test integration with data
//! the test can change between resyncs, failure and blocking switches, and a harness that
//! starts the in-process Port emulator and builds an [`Ocean`] against it — settings given
//! explicitly, never read from the process environment.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ocean_config::{IntegrationInfo, Loader, PortResources, Settings};
use ocean_lifecycle::{
    EngineConfig, FetchContext, FetchError, Integration, Ocean, Page, PageStream, RunOutcome,
    RuntimeError, port_client_config,
};
use ocean_port_client::{PortClient, RetryPolicy, port_retry_policy};
use port_emulator::{EmulatorConfig, RunningEmulator};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub const INTEGRATION_ID: &str = "test-int";
pub const INTEGRATION_TYPE: &str = "test";
pub const VERSION: &str = "0.1.0";
pub const DATASOURCE: &str = "port-ocean/test/0.1.0/test-int/exporter";

/// Raw data and behaviour switches of [`TestIntegration`], shared with the test.
#[derive(Default)]
pub struct Data {
    pub items: Mutex<HashMap<String, Vec<Value>>>,
    /// Kinds whose fetcher fails after yielding their first page.
    pub failing: Mutex<Vec<String>>,
    /// When set, fetchers stop after their first page until `release` is notified (or the fetch
    /// is cancelled).
    pub block_after_first_page: AtomicBool,
    pub release: Notify,
    /// Fetchers that reached the block.
    pub blocked: AtomicUsize,
    pub fetches: AtomicUsize,
    /// Kinds served besides the declared `team` and `service` (an open-ended integration).
    pub open_kinds: Mutex<Vec<String>>,
}

impl Data {
    pub fn set(&self, kind: &str, items: Vec<Value>) {
        self.items.lock().unwrap().insert(kind.to_owned(), items);
    }

    pub fn fail(&self, kind: &str) {
        self.failing.lock().unwrap().push(kind.to_owned());
    }
}

/// Fetches `team` and `service` from [`Data`] in pages of `page_size`.
pub struct TestIntegration {
    pub data: Arc<Data>,
    pub page_size: usize,
}

#[async_trait::async_trait]
impl Integration for TestIntegration {
    fn kinds(&self) -> Vec<String> {
        vec!["team".into(), "service".into()]
    }

    fn serves_kind(&self, kind: &str) -> bool {
        self.kinds().iter().any(|k| k == kind)
            || self
                .data
                .open_kinds
                .lock()
                .unwrap()
                .iter()
                .any(|k| k == kind)
    }

    fn fetch(&self, ctx: FetchContext) -> PageStream {
        let data = self.data.clone();
        let kind = ctx.kind().to_owned();
        let items = data
            .items
            .lock()
            .unwrap()
            .get(&kind)
            .cloned()
            .unwrap_or_default();
        let fail = data.failing.lock().unwrap().contains(&kind);
        let page_size = self.page_size;
        data.fetches.fetch_add(1, Ordering::SeqCst);
        Box::pin(async_stream::try_stream! {
            let pages: Vec<Page> = items.chunks(page_size).map(<[Value]>::to_vec).collect();
            for (i, page) in pages.into_iter().enumerate() {
                if i == 1 && fail {
                    Err(FetchError::new(format!("the {kind} API answered 500")))?;
                }
                if i == 1 && data.block_after_first_page.load(Ordering::SeqCst) {
                    data.blocked.fetch_add(1, Ordering::SeqCst);
                    tokio::select! {
                        _ = data.release.notified() => {}
                        _ = ctx.cancellation().cancelled() => {}
                    }
                }
                yield page;
            }
        })
    }
}

pub fn team(i: usize) -> Value {
    json!({"id": format!("team-{i}"), "name": format!("Team {i}"), "size": i})
}

pub fn service(i: usize) -> Value {
    json!({
        "id": format!("svc-{i}"),
        "name": format!("Service {i}"),
        "lang": if i % 2 == 0 { "rust" } else { "go" },
        "score": i * 10,
        "team": format!("team-{}", i % 12),
        "enabled": true,
    })
}

pub fn blueprints() -> Vec<Value> {
    vec![
        json!({
            "identifier": "team", "title": "Team",
            "schema": {"properties": {"size": {"type": "number"}}, "required": []}
        }),
        json!({
            "identifier": "service", "title": "Service",
            "schema": {"properties": {
                "language": {"type": "string"},
                "score": {"type": "number"}
            }, "required": []},
            "relations": {"team": {"target": "team", "title": "Team", "required": false, "many": false}}
        }),
    ]
}

pub fn mapping() -> Value {
    json!({
        "createMissingRelatedEntities": true,
        "deleteDependentEntities": true,
        "entityDeletionThreshold": 0.9,
        "resources": [
            {"kind": "team", "selector": {"query": "true"}, "port": {"entity": {"mappings": {
                "identifier": ".id", "title": ".name", "blueprint": "\"team\"",
                "properties": {"size": ".size"}
            }}}},
            {"kind": "service", "selector": {"query": ".enabled"}, "port": {"entity": {"mappings": {
                "identifier": ".id", "title": ".name", "blueprint": "\"service\"",
                "properties": {"language": ".lang", "score": ".score"},
                "relations": {"team": ".team"}
            }}}}
        ]
    })
}

pub fn resources() -> PortResources {
    PortResources {
        dir: "test-resources".into(),
        blueprints: blueprints(),
        port_app_config: Some(mapping()),
        ..PortResources::default()
    }
}

/// The emulator, the settings and the data of one test.
pub struct Harness {
    pub emulator: RunningEmulator,
    pub data: Arc<Data>,
    pub settings: Settings,
    pub client: PortClient,
}

impl Harness {
    pub async fn new(listener: Value) -> Harness {
        Harness::with_emulator(EmulatorConfig::default(), listener).await
    }

    pub async fn with_emulator(config: EmulatorConfig, listener: Value) -> Harness {
        let emulator = port_emulator::spawn(config).await.expect("emulator starts");
        let settings = settings_for(&emulator, listener);
        let mut client_config = port_client_config(&settings);
        client_config.retry = RetryPolicy {
            base_delay: Duration::from_millis(2),
            max_backoff: Duration::from_millis(20),
            max_retries: 12,
            ..port_retry_policy()
        };
        let client = PortClient::new(client_config).expect("client");
        let data = Arc::new(Data::default());
        data.set("team", (0..12).map(team).collect());
        data.set("service", (0..100).map(service).collect());
        Harness {
            emulator,
            data,
            settings,
            client,
        }
    }

    pub fn ocean(&self) -> Ocean {
        self.ocean_with(self.settings.clone())
    }

    pub fn ocean_with(&self, settings: Settings) -> Ocean {
        let integration = Arc::new(TestIntegration {
            data: self.data.clone(),
            page_size: 50,
        });
        Ocean::builder(settings, integration)
            .port_client(self.client.clone())
            .resources(resources())
            .engine_config(EngineConfig {
                map_workers: 2,
                ..EngineConfig::default()
            })
            .build()
            .expect("runtime builds")
    }

    /// Identifiers stored in the emulator for a blueprint, sorted.
    pub async fn stored(&self, blueprint: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .emulator
            .entities(blueprint)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.identifier)
            .collect();
        ids.sort();
        ids
    }

    pub async fn states(&self) -> Vec<String> {
        self.emulator
            .resync_states(INTEGRATION_ID)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.status)
            .collect()
    }

    /// Requests whose path ends with `suffix` and method is `method`.
    pub fn count_requests(&self, method: &str, suffix: &str) -> usize {
        self.emulator
            .requests()
            .iter()
            .filter(|r| r.method == method && r.path.ends_with(suffix))
            .count()
    }
}

pub fn settings_for(emulator: &RunningEmulator, listener: Value) -> Settings {
    Loader::new(IntegrationInfo::new(INTEGRATION_TYPE, VERSION))
        .set(
            "port",
            json!({
                "client_id": emulator.client_id(),
                "client_secret": emulator.client_secret().expose(),
                "base_url": emulator.base_url(),
            }),
        )
        .set(
            "integration",
            json!({"identifier": INTEGRATION_ID, "type": INTEGRATION_TYPE}),
        )
        .set("event_listener", listener)
        .load()
        .expect("settings load")
}

/// A runtime running in the background ([`spawn`]).
pub type RunTask = tokio::task::JoinHandle<Result<RunOutcome, RuntimeError>>;

/// Runs `ocean` (its listener, until the token is cancelled) in the background; returns the
/// shutdown token and the task.
pub fn spawn(ocean: &Arc<Ocean>) -> (CancellationToken, RunTask) {
    let shutdown = CancellationToken::new();
    let task = tokio::spawn({
        let ocean = ocean.clone();
        let shutdown = shutdown.clone();
        async move { ocean.run(shutdown).await }
    });
    (shutdown, task)
}

pub fn ids(prefix: &str, range: impl IntoIterator<Item = usize>) -> Vec<String> {
    let mut ids: Vec<String> = range.into_iter().map(|i| format!("{prefix}-{i}")).collect();
    ids.sort();
    ids
}

/// Waits (up to 30 s) until `condition` holds.
pub async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..600 {
        if condition().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}
