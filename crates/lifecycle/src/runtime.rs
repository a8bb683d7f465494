//! The assembled runtime of one integration: settings, Port client, engine, coordinator and
//! listener, with the startup sequence and graceful shutdown (lifecycle.md §2, §9).
//!
//! [`Ocean`] is what the SDK's `ocean::run` builds from the process (command line, files,
//! environment) and what tests build directly from an already loaded [`Settings`], an
//! `Arc<dyn Integration>` and optionally a pre-built [`PortClient`] — so tests never touch the
//! process environment, signals or global logging.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ocean_config::{PortResources, Settings};
use ocean_port_client::{
    BulkLimits, IntegrationIdentity, PortClient, PortClientConfig, PortError, ResyncStatus,
};
use tokio_util::sync::CancellationToken;

use crate::coordinator::{Coordinator, ResyncHandle, Trigger};
use crate::integration::{Integration, StartContext};
use crate::listener::{ListenerContext, ListenerExit, UnsupportedListener, listener_for};
use crate::mask::Masker;
use crate::report::ResyncReport;
use crate::resync::{EngineConfig, ResyncEngine};
use crate::startup::{self, StartupError, StartupOutcome};

/// How long shutdown waits for a running resync to stop (it then reports `aborted`).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Why the runtime could not be built or run.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The Port client could not be built from the settings.
    #[error("invalid Port connection settings: {0}")]
    PortClient(#[source] PortError),
    /// The defaults folder could not be read.
    #[error(transparent)]
    Resources(#[from] ocean_config::ResourcesError),
    /// Startup in Port failed.
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// The configured event listener is not available.
    #[error(transparent)]
    Listener(#[from] UnsupportedListener),
}

/// The Port client configuration the settings describe.
pub fn port_client_config(settings: &Settings) -> PortClientConfig {
    let identity = IntegrationIdentity::new(
        settings.integration.integration_type.clone(),
        settings.integration.version.clone(),
        settings.integration.identifier.clone(),
    );
    let mut config = PortClientConfig::new(
        settings.port.base_url.clone(),
        settings.port.client_id.clone(),
        settings.port.client_secret.clone(),
        identity,
    );
    config.bulk_limits = BulkLimits {
        max_entities: usize::try_from(settings.upsert_entities_batch_max_length)
            .unwrap_or(20)
            .max(1),
        max_bytes: usize::try_from(settings.upsert_entities_batch_max_size_in_bytes)
            .unwrap_or(1_048_576)
            .max(1),
    };
    config.delete_batch_size = usize::try_from(settings.delete_entities_max_batch_size)
        .unwrap_or(100)
        .max(1);
    config.blueprint_cache_ttl =
        Duration::try_from_secs_f64(settings.port.blueprint_cache_ttl_seconds.max(0.0))
            .unwrap_or(config.blueprint_cache_ttl);
    config.organization_cache_ttl =
        Duration::try_from_secs_f64(settings.port.feature_flags_cache_ttl_seconds.max(0.0))
            .unwrap_or(config.organization_cache_ttl);
    config.verify_tls = settings.ssl.port.verify;
    config
}

/// Builds an [`Ocean`].
pub struct OceanBuilder {
    settings: Settings,
    integration: Arc<dyn Integration>,
    client: Option<PortClient>,
    resources: Option<PortResources>,
    resources_base: Option<PathBuf>,
    engine: Option<EngineConfig>,
}

impl OceanBuilder {
    /// Uses this Port client instead of one built from the settings (tests: a fast retry
    /// policy, an emulator's credentials).
    pub fn port_client(mut self, client: PortClient) -> Self {
        self.client = Some(client);
        self
    }

    /// The default resources to provision on first start (instead of reading a folder).
    pub fn resources(mut self, resources: PortResources) -> Self {
        self.resources = Some(resources);
        self
    }

    /// Reads the defaults folder (`resources_path`, else `.port/resources`) under `base`.
    pub fn resources_from(mut self, base: impl Into<PathBuf>) -> Self {
        self.resources_base = Some(base.into());
        self
    }

    /// Overrides the engine configuration derived from the settings.
    pub fn engine_config(mut self, config: EngineConfig) -> Self {
        self.engine = Some(config);
        self
    }

    /// Builds the runtime (no network I/O yet). Needs a Tokio runtime only when used.
    pub fn build(self) -> Result<Ocean, RuntimeError> {
        let client = match self.client {
            Some(client) => client,
            None => PortClient::new(port_client_config(&self.settings))
                .map_err(RuntimeError::PortClient)?,
        };
        let resources = match (self.resources, &self.resources_base) {
            (Some(resources), _) => Some(resources),
            (None, Some(base)) => PortResources::load(base, &self.settings.resources_path)?,
            (None, None) => None,
        };
        let masker = Masker::new(self.settings.sensitive_values());
        let engine_config = self
            .engine
            .unwrap_or_else(|| EngineConfig::from_settings(&self.settings));
        let engine = Arc::new(ResyncEngine::new(
            client.clone(),
            self.integration.clone(),
            engine_config,
            masker.clone(),
        ));
        let coordinator = Arc::new(Coordinator::new(
            engine,
            self.settings.scheduled_resync_interval,
        ));
        Ok(Ocean {
            settings: Arc::new(self.settings),
            integration: self.integration,
            client,
            resources,
            coordinator,
            masker,
        })
    }
}

/// One integration's runtime.
pub struct Ocean {
    settings: Arc<Settings>,
    integration: Arc<dyn Integration>,
    client: PortClient,
    resources: Option<PortResources>,
    coordinator: Arc<Coordinator>,
    masker: Masker,
}

/// How [`Ocean::run`] ended.
#[derive(Debug, Clone)]
pub enum RunOutcome {
    /// The ONCE listener ran its resync.
    Once(Arc<ResyncReport>),
    /// A long-running listener stopped on shutdown.
    Stopped,
}

impl RunOutcome {
    /// The process exit status this outcome calls for: success unless a ONCE resync did not
    /// complete.
    pub fn is_success(&self) -> bool {
        match self {
            RunOutcome::Once(report) => report.status() == ResyncStatus::Completed,
            RunOutcome::Stopped => true,
        }
    }
}

impl Ocean {
    /// Starts building a runtime from loaded settings and an integration.
    pub fn builder(settings: Settings, integration: Arc<dyn Integration>) -> OceanBuilder {
        OceanBuilder {
            settings,
            integration,
            client: None,
            resources: None,
            resources_base: None,
            engine: None,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The Port client.
    pub fn client(&self) -> &PortClient {
        &self.client
    }

    /// The resync coordinator (every trigger goes through it).
    pub fn coordinator(&self) -> &Arc<Coordinator> {
        &self.coordinator
    }

    /// The masker of sensitive values (for log output).
    pub fn masker(&self) -> &Masker {
        &self.masker
    }

    /// Startup in Port: runtime check, integration create/update, default resources.
    pub async fn start(&self) -> Result<StartupOutcome, StartupError> {
        startup::start(&self.client, &self.settings, self.resources.as_ref()).await
    }

    /// Runs the integration's `on_start` hook in the background (errors are logged).
    pub fn spawn_on_start(&self) {
        let integration = self.integration.clone();
        let ctx = StartContext::new(
            self.settings.base_url.clone(),
            self.settings.integration.identifier.clone(),
        );
        tokio::spawn(async move {
            if let Err(error) = integration.on_start(&ctx).await {
                tracing::error!(%error, "The integration's on_start hook failed");
            }
        });
    }

    /// Starts one full resync through the coordinator (state reported to Port).
    pub async fn trigger_resync(&self) -> Option<ResyncHandle> {
        self.coordinator.trigger(Trigger::Manual).await
    }

    /// Runs one full resync and waits for it.
    pub async fn resync(&self) -> Arc<ResyncReport> {
        match self.trigger_resync().await {
            Some(handle) => handle.wait().await,
            None => Arc::new(closed_report()),
        }
    }

    /// Runs the configured event listener until it finishes (ONCE) or `shutdown` is cancelled;
    /// on shutdown a running resync is aborted and reported `aborted`.
    pub async fn run_listener(
        &self,
        shutdown: CancellationToken,
    ) -> Result<RunOutcome, RuntimeError> {
        let listener = listener_for(&self.settings.event_listener)?;
        tracing::info!(listener = listener.name(), "Starting the event listener");
        let ctx = ListenerContext {
            coordinator: self.coordinator.clone(),
            client: self.client.clone(),
            shutdown: shutdown.clone(),
        };
        let exit = listener.run(ctx).await;
        self.coordinator.shutdown(SHUTDOWN_GRACE).await;
        Ok(match exit {
            ListenerExit::Finished(report) => RunOutcome::Once(report),
            ListenerExit::Stopped => RunOutcome::Stopped,
        })
    }

    /// The whole lifecycle: startup in Port, `on_start`, then the listener.
    pub async fn run(&self, shutdown: CancellationToken) -> Result<RunOutcome, RuntimeError> {
        listener_for(&self.settings.event_listener)?;
        let startup = tokio::select! {
            result = self.start() => result?,
            _ = shutdown.cancelled() => return Ok(RunOutcome::Stopped),
        };
        tracing::info!(
            created = startup.created,
            provisioned = startup.provisioned,
            "Integration ready in Port"
        );
        self.spawn_on_start();
        self.run_listener(shutdown).await
    }

    /// Aborts a running resync (reported `aborted`) and refuses new ones.
    pub async fn shutdown(&self) {
        self.coordinator.shutdown(SHUTDOWN_GRACE).await;
    }
}

fn closed_report() -> ResyncReport {
    ResyncReport {
        id: String::new(),
        started_at: time::OffsetDateTime::now_utc(),
        duration: Duration::ZERO,
        kinds: Vec::new(),
        deletion: Default::default(),
        outcome: crate::report::ResyncOutcome::Aborted(crate::report::AbortReason::Shutdown),
    }
}
