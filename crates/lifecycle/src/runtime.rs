//! The assembled runtime of one integration: settings, Port client, engine, coordinator,
//! listener, HTTP server, live events and scheduled resyncs, with the startup sequence and
//! graceful shutdown (docs/lifecycle.md §2, §6, §9).
//!
//! [`Ocean::run`]: bind and serve HTTP (health answers at once, readiness is 503) → startup in
//! Port → `on_start` → live-event workers, scheduled resyncs → ready → the listener until it
//! ends (ONCE) or shutdown is signalled. Shutdown: readiness 503, new webhooks refused (503), the
//! HTTP server stops accepting, and — at the same time — the live-event queues drain for up to
//! `max_wait_seconds_before_shutdown` while a running resync is cancelled (nothing deleted) and
//! reported `aborted`. Every step is bounded, so the process ends within [`SHUTDOWN_GRACE`] plus
//! the HTTP grace.
//!
//! [`Ocean`] is what the SDK's `ocean::run` builds from the process (command line, files,
//! environment) and what tests build directly from an already loaded [`Settings`], an
//! `Arc<dyn Integration>` and optionally a pre-built [`PortClient`] — so tests never touch the
//! process environment, signals or global logging.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ocean_config::{EventListener as ListenerSettings, PortResources, Settings};
use ocean_port_client::{
    BulkLimits, IntegrationIdentity, PortClient, PortClientConfig, PortError, ResyncStatus,
};
use tokio_util::sync::CancellationToken;

use crate::coordinator::{Coordinator, ResyncHandle, Trigger};
use crate::http::auth::ResyncAuth;
use crate::http::{
    HttpServer, HttpState, Readiness, ResyncEndpoint, RunningServer, normalise_prefix, router,
};
use crate::integration::{Integration, StartContext};
use crate::listener::schedule::run_schedule;
use crate::listener::{
    EventListener, ListenerContext, ListenerExit, UnsupportedListener, listener_for,
};
use crate::live::{LiveConfig, LiveEvents};
use crate::metrics::Metrics;
use crate::pipeline::EngineConfig;
use crate::report::ResyncReport;
use crate::services::Services;
use crate::startup::{self, StartupError, StartupOutcome};
use ocean_model::Masker;

/// How long shutdown waits for a running resync to stop (it then reports `aborted`).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(6);

/// How long shutdown waits for HTTP requests in flight.
pub const HTTP_GRACE: Duration = Duration::from_secs(2);

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
    /// The HTTP server could not listen.
    #[error("cannot listen on {addr} (APPLICATION__HOST, APPLICATION__PORT): {source}")]
    Http {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The event listener could not run (the reason says why).
    #[error("{0}")]
    ListenerFailed(String),
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
    http: Option<SocketAddr>,
    live: Option<LiveConfig>,
    schedule: Option<Duration>,
}

impl OceanBuilder {
    /// Serves HTTP on `addr` (health, metrics, webhooks, `POST /resync`) for every listener but
    /// ONCE (ONCE too when `should_process_webhooks` is set). Port 0 picks a free port; see
    /// [`Ocean::http_addr`]. Without it no HTTP server runs.
    pub fn http(mut self, addr: SocketAddr) -> Self {
        self.http = Some(addr);
        self
    }

    /// Overrides the live-event configuration derived from the settings.
    pub fn live_config(mut self, config: LiveConfig) -> Self {
        self.live = Some(config);
        self
    }

    /// Overrides the scheduled-resync interval (`scheduled_resync_interval` is in minutes;
    /// tests need less).
    pub fn schedule_interval(mut self, interval: Duration) -> Self {
        self.schedule = Some(interval);
        self
    }

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
        let services = Arc::new(Services::new(
            client.clone(),
            self.integration.clone(),
            engine_config,
            masker.clone(),
        ));
        let coordinator = Arc::new(Coordinator::new(
            services.clone(),
            self.settings.scheduled_resync_interval,
        ));
        let live_config = self
            .live
            .unwrap_or_else(|| LiveConfig::from_settings(&self.settings));
        let live = Arc::new(LiveEvents::new(
            services,
            self.integration.webhook_processors(),
            live_config,
        ));
        let listener = &self.settings.event_listener;
        let once = matches!(listener.listener, ListenerSettings::Once);
        let serves_http = !once || listener.should_process_webhooks;
        let http = match self.http.filter(|_| serves_http) {
            Some(addr) => Some(bind(addr)?),
            None => None,
        };
        let schedule = self.schedule.or_else(|| {
            self.settings
                .scheduled_resync_interval
                .filter(|m| *m > 0)
                .map(|m| Duration::from_secs(m.saturating_mul(60)))
        });
        Ok(Ocean {
            settings: Arc::new(self.settings),
            integration: self.integration,
            client,
            resources,
            coordinator,
            masker,
            live,
            http_addr: http.as_ref().map(|(addr, _)| *addr),
            http: std::sync::Mutex::new(http),
            ready: Readiness::default(),
            schedule,
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
    live: Arc<LiveEvents>,
    http_addr: Option<SocketAddr>,
    http: std::sync::Mutex<Option<(SocketAddr, std::net::TcpListener)>>,
    ready: Readiness,
    schedule: Option<Duration>,
}

fn bind(addr: SocketAddr) -> Result<(SocketAddr, std::net::TcpListener), RuntimeError> {
    let fail = |source| RuntimeError::Http { addr, source };
    let listener = std::net::TcpListener::bind(addr).map_err(fail)?;
    listener.set_nonblocking(true).map_err(fail)?;
    let bound = listener.local_addr().map_err(fail)?;
    Ok((bound, listener))
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
            http: None,
            live: None,
            schedule: None,
        }
    }

    /// The address the HTTP server listens on (bound when the runtime was built), if it runs.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// Readiness as `/health/ready` reports it.
    pub fn readiness(&self) -> &Readiness {
        &self.ready
    }

    /// The metrics of this runtime.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.coordinator.services().metrics
    }

    /// The live events (webhook processors, queues, workers).
    pub fn live_events(&self) -> &Arc<LiveEvents> {
        &self.live
    }

    /// Whether this runtime processes webhooks (`should_process_webhooks` and at least one
    /// processor).
    pub fn processes_webhooks(&self) -> bool {
        self.settings.event_listener.should_process_webhooks && !self.live.is_empty()
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

    /// `ocean defaults dock`: startup in Port (runtime check, integration create/update) with
    /// the default resources put in place even when Port marks them initialized or
    /// `initialize_port_resources` is off; no listener, no resync.
    pub async fn dock_defaults(&self) -> Result<StartupOutcome, StartupError> {
        startup::dock(&self.client, &self.settings, self.resources.as_ref()).await
    }

    /// `ocean defaults clean`: the default blueprints of `.port/resources` deleted from Port
    /// (with their entities when `options.force`), and the integration too with
    /// `options.destroy`.
    pub async fn clean_defaults(
        &self,
        options: crate::CleanOptions,
    ) -> Result<crate::CleanReport, crate::CleanError> {
        crate::defaults::clean(&self.client, self.resources.as_ref(), options).await
    }

    /// Runs the integration's `on_start` hook in the background (errors are logged).
    pub fn spawn_on_start(&self) {
        let integration = self.integration.clone();
        let listener = self.settings.event_listener.listener_type().as_str();
        let ctx = StartContext::new(
            self.settings.base_url.clone(),
            self.settings.integration.identifier.clone(),
        )
        .with_listener(listener, self.processes_webhooks());
        tokio::spawn(async move {
            if let Err(error) = integration.on_start(&ctx).await {
                tracing::error!(%error, "The integration's on_start hook failed");
            }
        });
    }

    /// A dry run: one full resync that reads Port and the third party but writes nothing —
    /// no upsert, no delete, no resync state, no integration update, no default resources, no
    /// raw examples — and returns its plan ([`crate::plan`]). When the integration is not in
    /// Port yet, the defaults' `port-app-config` is the mapping. Startup must not have run.
    pub async fn plan(&self, options: crate::PlanOptions) -> crate::PlanReport {
        let mut config = self.coordinator.services().config.clone();
        config.send_raw_data_examples = false;
        let services = Services::new(
            self.client.clone(),
            self.integration.clone(),
            config,
            self.masker.clone(),
        );
        let fallback_mapping = self
            .resources
            .as_ref()
            .and_then(|r| r.port_app_config.as_ref())
            .and_then(|m| match ocean_mapping::PortAppConfig::from_json(m) {
                Ok(mapping) => Some(mapping),
                Err(error) => {
                    tracing::warn!(%error, "The default port-app-config does not validate");
                    None
                }
            });
        let plan = Arc::new(crate::Plan::new(options));
        let id = format!(
            "dry-run-{}",
            time::OffsetDateTime::now_utc().unix_timestamp()
        );
        let report = crate::pipeline::dry_run(
            &services,
            &id,
            crate::pipeline::DryRun {
                plan: plan.clone(),
                fallback_mapping,
            },
        )
        .await;
        let failed = report
            .kinds
            .iter()
            .filter(|k| k.failed())
            .map(|k| k.label())
            .collect();
        let completes = report.status() == ResyncStatus::Completed;
        plan.finish(failed, report.outcome.to_string(), completes)
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

    /// Runs the configured event listener until it finishes (ONCE) or `shutdown` is cancelled,
    /// with the HTTP server, live events and scheduled resyncs around it, then shuts everything
    /// down (see the module documentation). Startup in Port must have run.
    pub async fn run_listener(
        &self,
        shutdown: CancellationToken,
    ) -> Result<RunOutcome, RuntimeError> {
        let listener = listener_for(&self.settings.event_listener)?;
        let server = self.serve_http()?;
        self.listen(listener, shutdown, server).await
    }

    /// The whole lifecycle: HTTP server, startup in Port, `on_start`, then the listener.
    pub async fn run(&self, shutdown: CancellationToken) -> Result<RunOutcome, RuntimeError> {
        let listener = listener_for(&self.settings.event_listener)?;
        let server = self.serve_http()?;
        let startup = tokio::select! {
            result = self.start() => match result {
                Ok(startup) => startup,
                Err(error) => {
                    self.stop_all(server).await;
                    return Err(error.into());
                }
            },
            _ = shutdown.cancelled() => {
                self.stop_all(server).await;
                return Ok(RunOutcome::Stopped);
            }
        };
        tracing::info!(
            created = startup.created,
            provisioned = startup.provisioned,
            "Integration ready in Port"
        );
        self.spawn_on_start();
        self.listen(listener, shutdown, server).await
    }

    /// Aborts a running resync (reported `aborted`), refuses new resyncs and webhooks, drains
    /// the live-event queues.
    pub async fn shutdown(&self) {
        self.stop_all(None).await;
    }

    /// Starts serving on the address bound at build time (once).
    fn serve_http(&self) -> Result<Option<RunningServer>, RuntimeError> {
        let Some((addr, listener)) = self.http.lock().unwrap_or_else(|e| e.into_inner()).take()
        else {
            return Ok(None);
        };
        let server =
            HttpServer::from_std(listener).map_err(|source| RuntimeError::Http { addr, source })?;
        let listener_settings = &self.settings.event_listener;
        let resync = match &listener_settings.listener {
            ListenerSettings::Webhook(webhook) => Some(ResyncEndpoint {
                coordinator: self.coordinator.clone(),
                auth: ResyncAuth::new(
                    self.settings.port.client_secret.clone(),
                    webhook.resync_token.clone(),
                ),
            }),
            _ => None,
        };
        let state = HttpState {
            prefix: normalise_prefix(self.settings.path_prefix.as_deref()),
            ready: self.ready.clone(),
            metrics: self.metrics().clone(),
            live: self.processes_webhooks().then(|| self.live.clone()),
            resync,
        };
        Ok(Some(server.serve(router(state))))
    }

    async fn listen(
        &self,
        listener: Box<dyn EventListener>,
        shutdown: CancellationToken,
        server: Option<RunningServer>,
    ) -> Result<RunOutcome, RuntimeError> {
        let settings = &self.settings.event_listener;
        if self.processes_webhooks() {
            self.live.start();
        } else if !self.live.is_empty() {
            tracing::info!(
                listener = listener.name(),
                "Webhooks are not processed by this listener (should_process_webhooks)"
            );
        }
        let once = matches!(settings.listener, ListenerSettings::Once);
        let schedule_stop = CancellationToken::new();
        if let Some(interval) = self.schedule.filter(|_| settings.should_resync && !once) {
            tokio::spawn(run_schedule(
                self.coordinator.clone(),
                interval,
                schedule_stop.clone(),
            ));
        }
        self.ready.set(true);
        tracing::info!(listener = listener.name(), "Starting the event listener");
        let ctx = ListenerContext {
            coordinator: self.coordinator.clone(),
            client: self.client.clone(),
            shutdown: shutdown.clone(),
        };
        let exit = listener.run(ctx).await;
        schedule_stop.cancel();
        self.stop_all(server).await;
        Ok(match exit {
            ListenerExit::Finished(report) => RunOutcome::Once(report),
            ListenerExit::Stopped => RunOutcome::Stopped,
            ListenerExit::Failed(reason) => return Err(RuntimeError::ListenerFailed(reason)),
        })
    }

    /// Shutdown (docs/lifecycle.md §9), every step bounded: not ready, webhooks refused, the HTTP
    /// server stops accepting; live-event queues drain while a running resync is aborted.
    async fn stop_all(&self, server: Option<RunningServer>) {
        self.ready.set(false);
        self.live.close();
        let http = async {
            if let Some(server) = server {
                server.stop(HTTP_GRACE).await;
            }
        };
        tokio::join!(
            http,
            self.live.shutdown(),
            self.coordinator.shutdown(SHUTDOWN_GRACE)
        );
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
