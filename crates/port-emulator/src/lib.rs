//! A local emulator of Port's REST API, backed by SQLite, so that tests, the demo and users
//! without a Port account have a Port-compatible endpoint on 127.0.0.1 — faithful enough that
//! Python Ocean's own `ocean sail` runs against it unchanged.
//!
//! # Use
//!
//! In a test, start it in-process on an ephemeral port and point a client at
//! [`RunningEmulator::base_url`] with [`RunningEmulator::client_id`] and
//! [`RunningEmulator::client_secret`]:
//!
//! ```no_run
//! # async fn demo() -> Result<(), port_emulator::EmulatorError> {
//! let emulator = port_emulator::spawn(port_emulator::EmulatorConfig::default()).await?;
//! println!("Port API at {}/v1", emulator.base_url());
//! emulator.controls().set_fail_rate(0.3); // 30 % of requests answered 429/503
//! // ... run the client ...
//! let stored = emulator.entities("service").await?;
//! emulator.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! As a program: `port-emulator --port 5555 [--client-id ID --client-secret SECRET] [--db PATH]
//! [--fail-rate F] [--rate-limit N] [--latency-ms N]`. `GET /_emulator/` lists the inspection
//! and control routes; `/` (also `/_emulator/ui`) is the catalog view, a read-only page for
//! people: blueprints with their entity counts, entities (search, paging), an entity with its
//! relations both ways, integrations with their resync states over time, and recent requests.
//!
//! # What it implements
//!
//! Every call Python Ocean 0.56.2 makes during `ocean sail` (`docs/port-api.md` §4): the access
//! token, the integration object (read, create, patch, config patch, delete, provision-enabled,
//! resync request, resync state, kind examples, cursors) with ingest URLs for logs and metrics
//! that point back here, blueprints (create, read, patch, replace, delete, delete with all
//! entities + migration), scorecards, actions, pages, the organization, Kafka credentials, and
//! entities: bulk and single upsert validated against the blueprint, search, the datasource
//! listing used for stale-entity deletion, and bulk/single delete. Bearer tokens expire after
//! `expiresIn`. Faults (fail rate, rate limit, latency, fail-next, token expiry) can be injected
//! at start and changed at run time through [`Controls`] or `PUT /_emulator/faults`.
//!
//! It does not run actions, evaluate scorecards, calculation/mirror/aggregation properties,
//! permissions or teams, and does not implement the actions/workflow-run, DSP lifecycle or
//! organization-secret routes (they answer 404 like any unknown route).
//!
//! # Port behaviours that are guesses
//!
//! Port's public documentation gives routes, body schemas and status codes; where it is silent
//! the emulator does the following, which may differ from Port:
//!
//! - Error codes: 400 `bad_request` for a body that is not JSON, 422 `invalid_request` for a body
//!   that does not match the route's schema, 422 `schema_mismatch` for an entity that does not
//!   match its blueprint (unknown property or relation, wrong type, enum, format, missing
//!   required value), 404 `not_found` for a missing blueprint/entity/integration/related entity,
//!   409 `identifier_taken` for creating something that exists, 409 `has_entities` /
//!   `has_dependents` for deletes that would orphan data, 401 `unauthorized`, 413
//!   `payload_too_large`, injected 429 `too_many_requests` and 503 `service_unavailable`.
//! - Bulk upsert answers 200 when every entity was written and 207 as soon as one failed
//!   (including when all failed), so per-entity errors are always readable. Entities are written
//!   in order: one may relate to an entity earlier in the same request, not a later one.
//! - An entity's datasource is the `User-Agent` of the last request that wrote it (`port-api`
//!   without one); related entities created by `create_missing_related_entities` get the
//!   writer's datasource, no title and no properties. Every write moves `updatedAt`, which is
//!   what `before` in the datasource listing compares (strictly earlier).
//! - Entities are answered with every blueprint property and relation present, `null` when
//!   unset; `team` is always a list. A single string given to a `many` relation is stored as a
//!   one-element list. A search-query `team` is accepted and stored as no team.
//! - A search identifier that matches nothing fails with identifier `"unknown"` (404); one that
//!   matches several fails with 422. Unknown properties are refused (422).
//! - Deleting an entity others relate to: with `delete_dependents=true` they are deleted too;
//!   otherwise the request fails (409) if one of them has that relation `required`, else their
//!   relation is cleared. Deleting a blueprint with entities is refused (409).
//! - `PATCH /integration/{id}/config` records a resync request unless `x-skip-resync: true`.
//!   `DELETE /blueprints/{id}/all-entities` completes at once; its migration is `COMPLETED`.
//! - The identifier rule is the one in Port's current API reference (letters of any script,
//!   digits, `@_.+:\/='-`, not `.`/`..`, at most 1000 characters), slightly wider than the
//!   older `^[A-Za-z0-9@_.+:\\/=-]+$`.

mod clock;
mod control;
mod db;
mod error;
mod http;
mod model;
mod query;
mod store;
mod validate;

pub use control::{Controls, FaultSettings};
pub use error::EmulatorError;
pub use model::{IngestRecord, RecordedRequest, ResyncStateRecord, StoredEntity};
pub use ocean_model::Secret;

use crate::control::Shared;
use crate::db::{Db, DbThread};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The client id accepted when none is configured (printed by the binary).
pub const DEMO_CLIENT_ID: &str = "port-emulator-demo-client";
/// The client secret accepted when none is configured (printed by the binary).
pub const DEMO_CLIENT_SECRET: &str = "port-emulator-demo-secret";

/// How to start an emulator. [`Default`] gives an in-memory emulator on an ephemeral port of
/// 127.0.0.1 with the demo credentials and no faults.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The address to listen on (default 127.0.0.1).
    pub host: IpAddr,
    /// The port to listen on; 0 picks a free one (default).
    pub port: u16,
    /// The accepted client id.
    pub client_id: String,
    /// The accepted client secret.
    pub client_secret: Secret,
    /// A SQLite file to keep state in across restarts; `None` keeps it in memory.
    pub db_path: Option<PathBuf>,
    /// The lifetime of issued tokens (`expiresIn`; Port's is 3 hours).
    pub token_ttl: Duration,
    /// Faults injected from the start.
    pub faults: FaultSettings,
    /// The largest accepted request body (Port's limit is 1 MiB).
    pub max_body_bytes: usize,
    /// Organization feature flags answered by `GET /v1/organization`.
    pub feature_flags: Vec<String>,
    /// Integration types answered by `GET /v1/integration/provision-enabled`.
    pub provision_enabled: Vec<String>,
    /// How many requests the request log keeps (the oldest are dropped first).
    pub request_log_capacity: usize,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            client_id: DEMO_CLIENT_ID.to_owned(),
            client_secret: Secret::new(DEMO_CLIENT_SECRET),
            db_path: None,
            token_ttl: Duration::from_secs(3 * 60 * 60),
            faults: FaultSettings::default(),
            max_body_bytes: 1024 * 1024,
            feature_flags: Vec::new(),
            provision_enabled: Vec::new(),
            request_log_capacity: 100_000,
        }
    }
}

/// Starts an emulator: opens its database, binds its socket and serves in a background task
/// of the current Tokio runtime until [`RunningEmulator::shutdown`] (or drop).
pub async fn spawn(config: EmulatorConfig) -> Result<RunningEmulator, EmulatorError> {
    let wanted = SocketAddr::new(config.host, config.port);
    let listener = tokio::net::TcpListener::bind(wanted)
        .await
        .map_err(|source| EmulatorError::Bind {
            addr: wanted,
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| EmulatorError::Bind {
            addr: wanted,
            source,
        })?;
    let (db, db_thread) = Db::start(config.db_path.clone())?;
    let shared = Arc::new(Shared::new(
        config.client_id.clone(),
        config.client_secret.clone(),
        addr,
        config.max_body_bytes,
        config.feature_flags,
        config.provision_enabled,
        config.faults,
        config.token_ttl,
        config.request_log_capacity,
    ));
    let router = http::router(http::AppState {
        db: db.clone(),
        shared: shared.clone(),
    });
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    tracing::info!(%addr, "Port emulator listening");
    Ok(RunningEmulator {
        addr,
        client_id: config.client_id,
        client_secret: config.client_secret,
        controls: Controls { shared },
        db: Some(db),
        db_thread: Some(db_thread),
        stop: Some(stop),
        server: Some(server),
    })
}

/// A started emulator. Dropping it stops the server (without waiting); prefer
/// [`RunningEmulator::shutdown`], which also closes the database.
pub struct RunningEmulator {
    addr: SocketAddr,
    client_id: String,
    client_secret: Secret,
    controls: Controls,
    db: Option<Db>,
    db_thread: Option<DbThread>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

impl std::fmt::Debug for RunningEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningEmulator")
            .field("addr", &self.addr)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .finish_non_exhaustive()
    }
}

impl RunningEmulator {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: what Ocean calls `port.base_url` (the API is under `/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The accepted client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The accepted client secret.
    pub fn client_secret(&self) -> &Secret {
        &self.client_secret
    }

    /// Run-time control: faults, token expiry, the request log.
    pub fn controls(&self) -> &Controls {
        &self.controls
    }

    /// Every API request answered so far, oldest first (admin routes excluded).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.controls.requests()
    }

    async fn call<R, F>(&self, work: F) -> Result<R, EmulatorError>
    where
        R: Send + 'static,
        F: FnOnce(&mut store::Store) -> R + Send + 'static,
    {
        match &self.db {
            Some(db) => db.call(work).await,
            None => Err(EmulatorError::DbGone),
        }
    }

    /// The entities of a blueprint, in the order they were first written.
    pub async fn entities(&self, blueprint: &str) -> Result<Vec<StoredEntity>, EmulatorError> {
        let blueprint = blueprint.to_owned();
        self.call(move |store| store.entities_of(&blueprint))
            .await?
    }

    /// One entity, if it exists.
    pub async fn entity(
        &self,
        blueprint: &str,
        identifier: &str,
    ) -> Result<Option<StoredEntity>, EmulatorError> {
        let (blueprint, identifier) = (blueprint.to_owned(), identifier.to_owned());
        self.call(move |store| store.entity(&blueprint, &identifier))
            .await?
    }

    /// How many entities a blueprint has.
    pub async fn entity_count(&self, blueprint: &str) -> Result<u64, EmulatorError> {
        let blueprint = blueprint.to_owned();
        self.call(move |store| store.count_entities(&blueprint))
            .await?
    }

    /// A blueprint as stored, if it exists.
    pub async fn blueprint(&self, identifier: &str) -> Result<Option<Value>, EmulatorError> {
        let identifier = identifier.to_owned();
        self.call(move |store| store.blueprint(&identifier).map(|b| b.json.clone()))
            .await
    }

    /// Creates a blueprint directly (as `POST /v1/blueprints` would), for test set-up.
    pub async fn create_blueprint(&self, blueprint: Value) -> Result<Value, EmulatorError> {
        let actor = self.client_id.clone();
        self.call(move |store| {
            store
                .create_blueprint(blueprint, &actor, clock::now_micros())
                .map_err(|e| EmulatorError::Rejected {
                    status: e.status.as_u16(),
                    message: e.message,
                })
        })
        .await?
    }

    /// An integration as stored (without the ingest URLs added when it is served).
    pub async fn integration(&self, identifier: &str) -> Result<Option<Value>, EmulatorError> {
        let identifier = identifier.to_owned();
        self.call(move |store| store.integration(&identifier))
            .await?
    }

    /// Every resync state an integration reported, oldest first.
    pub async fn resync_states(
        &self,
        integration: &str,
    ) -> Result<Vec<ResyncStateRecord>, EmulatorError> {
        let integration = integration.to_owned();
        self.call(move |store| store.resync_states(&integration))
            .await?
    }

    /// Everything posted to the ingest URLs (logs, metrics, heartbeats), oldest first.
    pub async fn ingested(&self) -> Result<Vec<IngestRecord>, EmulatorError> {
        self.call(|store| store.ingested()).await?
    }

    /// The raw examples last posted for a kind of an integration.
    pub async fn kind_examples(
        &self,
        integration: &str,
        kind: &str,
    ) -> Result<Option<Value>, EmulatorError> {
        let key = format!("{integration}/{kind}");
        self.call(move |store| store.doc(store::doc::KIND_EXAMPLES, &key))
            .await?
    }

    /// Records a resync request for an integration (what `GET …/resync-request` then answers);
    /// `false` when the integration does not exist.
    pub async fn request_resync(&self, integration: &str) -> Result<bool, EmulatorError> {
        let integration = integration.to_owned();
        let request = self
            .call(move |store| store.request_resync(&integration, clock::now_micros()))
            .await??;
        Ok(request.is_some())
    }

    /// Stops serving (waiting up to 5 s for open requests), then closes the database.
    pub async fn shutdown(mut self) -> Result<(), EmulatorError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let mut outcome = Ok(());
        if let Some(mut server) = self.server.take() {
            match tokio::time::timeout(Duration::from_secs(5), &mut server).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(err))) => outcome = Err(EmulatorError::Serve(err)),
                Ok(Err(join)) => outcome = Err(EmulatorError::ServerTask(join.to_string())),
                Err(_) => {
                    server.abort();
                    let _ = server.await;
                }
            }
        }
        self.db = None;
        if let Some(thread) = self.db_thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        tracing::info!(addr = %self.addr, "Port emulator stopped");
        outcome
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
