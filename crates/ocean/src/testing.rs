//! An emulator-backed runtime for integration tests (feature `testing`; add
//! `ocean = { workspace = true, features = ["testing"] }` to an integration's
//! `[dev-dependencies]`, so that production binaries never link the emulator).
//!
//! [`TestOcean::builder`] starts the Port emulator in process on 127.0.0.1, builds settings
//! pointed at it (never read from the process environment), builds the integration from its
//! typed configuration exactly as [`ocean::run`](crate::run) does, registers it in the emulator
//! with its default blueprints and mapping, and hands back a [`TestOcean`]: run a resync, read
//! what Port holds, send webhooks, shut down.
//!
//! ```no_run
//! # use ocean::prelude::*;
//! # #[derive(Deserialize)] struct MyConfig { api_url: String }
//! # struct My; impl Integration for My {
//! #   fn kinds(&self) -> Vec<String> { vec![] }
//! #   fn fetch(&self, _: FetchContext) -> PageStream { Box::pin(stream::empty()) } }
//! use ocean::testing::TestOcean;
//!
//! # async fn test() {
//! let ocean = TestOcean::builder("my-system", env!("CARGO_MANIFEST_DIR"))
//!     .config(json!({"api_url": "http://127.0.0.1:9999"}))
//!     .start(|config: MyConfig| async move { Ok(My) })
//!     .await
//!     .expect("the integration starts");
//! let report = ocean.resync().await;
//! assert!(report.is_success(), "{report:?}");
//! assert_eq!(ocean.identifiers("myService").await, ["a", "b"]);
//! ocean.shutdown().await;
//! # }
//! ```

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::BuildContext;
use futures::StreamExt as _;
use ocean_config::{IntegrationInfo, Loader, Spec};
use ocean_lifecycle::Ingress;
use ocean_lifecycle::{
    BoxError, FetchError, Integration, Ocean, Page, PageStream, ResyncReport, RunOutcome,
    RuntimeError, port_client_config,
};
use ocean_port_client::{PortClient, RetryPolicy, port_retry_policy};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use port_emulator::{
    EmulatorConfig, FaultSettings, RecordedRequest, RunningEmulator, StoredEntity,
    spawn as spawn_emulator,
};

/// Why a test runtime could not start.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// The emulator did not start.
    #[error("starting the Port emulator: {0}")]
    Emulator(#[from] port_emulator::EmulatorError),
    /// `.port/spec.yaml` could not be read.
    #[error("reading {dir}/.port/spec.yaml: {reason}")]
    Spec {
        /// The integration's folder.
        dir: String,
        /// What was wrong.
        reason: String,
    },
    /// The settings (or the integration's typed configuration) are invalid.
    #[error("invalid settings: {0}")]
    Settings(String),
    /// The integration's build function failed.
    #[error("the integration could not be built: {0}")]
    Build(BoxError),
    /// The runtime could not be built or could not start in Port.
    #[error("Ocean could not start: {0}")]
    Start(String),
}

/// Builds a [`TestOcean`]: the integration's type and folder, its configuration, the listener
/// and any other settings.
#[derive(Debug)]
pub struct TestOceanBuilder {
    integration_type: String,
    dir: PathBuf,
    identifier: String,
    config: Value,
    listener: Value,
    settings: Vec<(String, Value)>,
    emulator: EmulatorConfig,
    port: Option<RunningEmulator>,
    initialize: bool,
}

impl TestOceanBuilder {
    /// The integration's identifier in Port (default `{type}-test`).
    pub fn identifier(mut self, identifier: impl Into<String>) -> Self {
        self.identifier = identifier.into();
        self
    }

    /// The integration's configuration (`integration.config`), keys in snake_case
    /// (`api_url` for the spec's `apiUrl`); validated against `.port/spec.yaml` as at startup.
    pub fn config(mut self, config: Value) -> Self {
        self.config = config;
        self
    }

    /// The event listener (default `{"type": "ONCE"}`; `{"type": "WEBHOOKS_ONLY"}` for live
    /// events without resyncs).
    pub fn listener(mut self, listener: Value) -> Self {
        self.listener = listener;
        self
    }

    /// Any other setting, by its top-level key (`"send_raw_data_examples"`, `"scheduled_resync_interval"`).
    pub fn set(mut self, key: impl Into<String>, value: Value) -> Self {
        self.settings.push((key.into(), value));
        self
    }

    /// The emulator's configuration (faults, rate limits).
    pub fn emulator(mut self, config: EmulatorConfig) -> Self {
        self.emulator = config;
        self
    }

    /// Start in this emulator (what an earlier [`TestOcean::stop`] returned) instead of a new
    /// one: a restart with another configuration, against the same Port.
    pub fn port(mut self, emulator: RunningEmulator) -> Self {
        self.port = Some(emulator);
        self
    }

    /// Skip creating the integration and its default resources in Port at start.
    pub fn without_initialization(mut self) -> Self {
        self.initialize = false;
        self
    }

    /// Starts the emulator, builds the integration from its typed configuration with `build`
    /// (as `ocean::run` does), and starts Ocean in the emulator.
    pub async fn start<C, F, Fut, I>(self, build: F) -> Result<TestOcean, TestError>
    where
        C: DeserializeOwned,
        F: FnOnce(C) -> Fut,
        Fut: Future<Output = Result<I, BoxError>>,
        I: Integration,
    {
        self.start_with(|config: C, _: BuildContext| build(config))
            .await
    }

    /// [`start`](Self::start) with the framework's [`BuildContext`] (as `ocean::run_with`):
    /// the client timeout and OAuth token file of the settings (see [`set`](Self::set)).
    pub async fn start_with<C, F, Fut, I>(self, build: F) -> Result<TestOcean, TestError>
    where
        C: DeserializeOwned,
        F: FnOnce(C, BuildContext) -> Fut,
        Fut: Future<Output = Result<I, BoxError>>,
        I: Integration,
    {
        let emulator = match self.port {
            Some(emulator) => emulator,
            None => port_emulator::spawn(self.emulator.clone()).await?,
        };
        let spec = Spec::load(&self.dir).map_err(|e| TestError::Spec {
            dir: self.dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut loader = Loader::new(IntegrationInfo::new(&self.integration_type, "0.0.0-test"))
            .spec(spec)
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
                json!({
                    "identifier": self.identifier,
                    "type": self.integration_type,
                    "config": self.config,
                }),
            )
            .set("event_listener", self.listener)
            .set("initialize_port_resources", json!(self.initialize));
        for (key, value) in self.settings {
            loader = loader.set(&key, value);
        }
        let settings = loader
            .load()
            .map_err(|e| TestError::Settings(e.to_string()))?;
        let config: C = settings
            .integration_config()
            .map_err(|e| TestError::Settings(e.to_string()))?;
        let context = BuildContext::from_settings(&settings);
        let integration = build(config, context).await.map_err(TestError::Build)?;
        // Port calls retry quickly: a test waits milliseconds, not Python Ocean's seconds.
        let mut client_config = port_client_config(&settings);
        client_config.retry = RetryPolicy {
            base_delay: Duration::from_millis(2),
            max_backoff: Duration::from_millis(50),
            ..port_retry_policy()
        };
        let client = PortClient::new(client_config).map_err(|e| TestError::Start(e.to_string()))?;
        let ocean = Ocean::builder(settings, Arc::new(integration))
            .resources_from(&self.dir)
            .port_client(client)
            .build()
            .map_err(|e| TestError::Start(e.to_string()))?;
        ocean
            .start()
            .await
            .map_err(|e| TestError::Start(e.to_string()))?;
        Ok(TestOcean {
            emulator,
            ocean: Arc::new(ocean),
            running: None,
        })
    }
}

/// An integration running in Ocean against the in-process Port emulator.
pub struct TestOcean {
    emulator: RunningEmulator,
    ocean: Arc<Ocean>,
    running: Option<(
        CancellationToken,
        JoinHandle<Result<RunOutcome, RuntimeError>>,
    )>,
}

impl std::fmt::Debug for TestOcean {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestOcean")
            .field("port", &self.emulator.base_url())
            .field("running", &self.running.is_some())
            .finish_non_exhaustive()
    }
}

impl TestOcean {
    /// A builder for the integration of `integration_type` whose folder (with `.port/`) is
    /// `dir` — usually `env!("CARGO_MANIFEST_DIR")`.
    pub fn builder(integration_type: &str, dir: impl AsRef<Path>) -> TestOceanBuilder {
        TestOceanBuilder {
            integration_type: integration_type.to_owned(),
            dir: dir.as_ref().to_path_buf(),
            identifier: format!("{integration_type}-test"),
            config: json!({}),
            listener: json!({"type": "ONCE"}),
            settings: Vec::new(),
            emulator: EmulatorConfig::default(),
            port: None,
            initialize: true,
        }
    }

    /// The emulator (entities, requests received, fault controls).
    pub fn port(&self) -> &RunningEmulator {
        &self.emulator
    }

    /// The runtime.
    pub fn ocean(&self) -> &Arc<Ocean> {
        &self.ocean
    }

    /// Runs one full resync and returns its report.
    pub async fn resync(&self) -> Arc<ResyncReport> {
        self.ocean.resync().await
    }

    /// The entities of a blueprint that Port holds.
    pub async fn entities(&self, blueprint: &str) -> Vec<StoredEntity> {
        self.emulator
            .entities(blueprint)
            .await
            .unwrap_or_else(|e| panic!("reading {blueprint} entities from the emulator: {e}"))
    }

    /// One entity, if Port holds it.
    pub async fn entity(&self, blueprint: &str, identifier: &str) -> Option<StoredEntity> {
        self.emulator
            .entity(blueprint, identifier)
            .await
            .unwrap_or_else(|e| panic!("reading {blueprint}/{identifier} from the emulator: {e}"))
    }

    /// The identifiers of a blueprint's entities, sorted.
    pub async fn identifiers(&self, blueprint: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .entities(blueprint)
            .await
            .into_iter()
            .map(|e| e.identifier)
            .collect();
        ids.sort();
        ids
    }

    /// Runs the integration's `on_start` hook and the listener in the background (webhooks are
    /// processed only while it runs; startup in Port already ran) and waits until the runtime
    /// is ready. Use a listener that keeps running (`WEBHOOKS_ONLY`, `POLLING`): `ONCE` ends
    /// after its resync.
    pub async fn run_in_background(&mut self) {
        if self.running.is_some() {
            return;
        }
        let shutdown = CancellationToken::new();
        self.ocean.spawn_on_start();
        let task = tokio::spawn({
            let (ocean, shutdown) = (self.ocean.clone(), shutdown.clone());
            async move { ocean.run_listener(shutdown).await }
        });
        self.running = Some((shutdown, task));
        let ready = self.ocean.clone();
        eventually("the runtime is ready", || {
            let ready = ready.clone();
            async move { ready.readiness().get() }
        })
        .await;
    }

    /// Delivers a webhook to `path` (relative to `/integration`, e.g. `/webhook`) as the HTTP
    /// server would: the processors authenticate it, and an accepted one is queued.
    pub async fn webhook(
        &self,
        path: &str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Ingress {
        self.ocean
            .live_events()
            .ingest(path, headers, body.into())
            .await
    }

    /// Stops the listener (if running) and the runtime, then the emulator.
    pub async fn shutdown(self) {
        self.stop()
            .await
            .shutdown()
            .await
            .unwrap_or_else(|e| panic!("stopping the emulator: {e}"));
    }

    /// Stops the listener (if running) and the runtime, and returns the emulator, still
    /// running with everything it holds (for [`TestOceanBuilder::port`]).
    pub async fn stop(mut self) -> RunningEmulator {
        if let Some((shutdown, task)) = self.running.take() {
            shutdown.cancel();
            match task.await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => panic!("the runtime failed: {e}"),
                Err(e) => panic!("the runtime's task failed: {e}"),
            }
        } else {
            self.ocean.shutdown().await;
        }
        self.emulator
    }
}

/// Waits (polling every 50 ms, up to 30 s) until `condition` holds; panics naming `what`
/// otherwise.
pub async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..600 {
        if condition().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Every page of a kind's stream (what [`Integration::fetch`] returns), stopping at the first
/// error, which comes back with the pages before it.
pub async fn pages(mut stream: PageStream) -> (Vec<Page>, Option<FetchError>) {
    let mut pages = Vec::new();
    while let Some(page) = stream.next().await {
        match page {
            Ok(page) => pages.push(page),
            Err(e) => return (pages, Some(e)),
        }
    }
    (pages, None)
}

/// Asserts that a mapped entity (as JSON) writes only properties and relations its blueprint
/// declares, `blueprints` being the integration's default blueprints
/// (`.port/resources/blueprints.json`); returns the blueprint's identifier. Panics naming the
/// blueprint and the key otherwise: Port would refuse the entity.
pub fn assert_declared(entity: &Value, blueprints: &[Value]) -> String {
    let bp_id = entity["blueprint"]
        .as_str()
        .unwrap_or_else(|| panic!("the entity has no blueprint: {entity}"))
        .to_owned();
    let bp = blueprints
        .iter()
        .find(|b| b["identifier"] == bp_id)
        .unwrap_or_else(|| panic!("no default blueprint {bp_id}"));
    for key in entity["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
    {
        assert!(
            bp["schema"]["properties"].get(key).is_some(),
            "{bp_id} has no property {key}"
        );
    }
    for key in entity["relations"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
    {
        assert!(
            bp["relations"].get(key).is_some(),
            "{bp_id} has no relation {key}"
        );
    }
    bp_id
}
