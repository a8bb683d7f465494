//! Live events (docs/lifecycle.md §7): webhooks the third party pushes, turned into entity upserts and
//! deletions through the same mapping as a resync.
//!
//! ```text
//!  POST {prefix}/integration{path}
//!    ingress (on the request): JSON? → processors that want it → every one authenticates
//!       → queue of the path (bounded; the request waits for room)           → 200 {"status":"ok"}
//!    worker (event_workers_count per path, one event per ordering group at a time):
//!       mapping (cached port_app_config_cache_ttl) → handle() per matching resource, retried,
//!       bounded by max_event_processing_seconds → map with parse_all → fence → upsert (the
//!       resync's state applier, no changed-entity filter) → delete candidates found in Port
//!       under this integration's datasource
//! ```
//!
//! Differences from Python Ocean, each deliberate:
//! - a processor's `authenticate` runs on the request, so a forged request gets 401 and is never
//!   queued (Python answers 200 and fails later), and `handle` is never called for an event that
//!   did not authenticate;
//! - no processor interested → 200 `{"status": "not supported"}`, nothing queued; a body that
//!   is not JSON → 400;
//! - the queue is bounded and holds the sender instead of growing without limit;
//! - events of one ordering group are processed in order, groups in parallel (Python runs
//!   `event_workers_count` workers over one FIFO, so two events about one object can race);
//! - the deletion check searches Port for up to 50 candidates per request instead of one;
//! - live writes are fenced against a running resync (see [`crate::fence`]).
//!
//! Not here: the Redis-stream ingress, the lakehouse and DSP modes, action processors.

pub mod queue;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures::FutureExt;
use futures::future::join_all;
use ocean_config::Settings;
use ocean_mapping::{CompiledResource, PortAppConfig};
use ocean_model::{Entity, EntityKey};
use ocean_port_client::{
    DeleteOptions, DeleteOutcome, EventInfo, EventType, SEARCH_IDENTIFIERS_CHUNK, UpsertOptions,
    UserAgentFeature,
};
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::integration::FetchContext;
use crate::metrics::{
    EntitiesDeleted, EntitiesFailed, EntitiesUpserted, WebhookEventDone, WebhookOutcome,
    WebhookQueueDepth,
};
use crate::pipeline::mapping::{self, MappingError};
use crate::pipeline::upsert::{MissingBlueprints, WriteSpec, write};
use crate::services::Services;
use crate::webhook::{WebhookEvent, WebhookProcessor, WebhookResults, WebhookRoute};
use queue::{GroupQueue, PushError};

pub use ocean_http::RetryPolicy;

/// Python Ocean's retry policy for a processor's `handle`: 3 retries, waiting 2, 4 and 8 s
/// (`1 s × 2^attempt`), at most 30 s, no jitter, on the workspace's one policy type. Which
/// errors are retried is the processor's [`should_retry`](WebhookProcessor::should_retry).
pub fn handler_retry_policy() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        rate_limit_retries: None,
        base_delay: Duration::from_secs(2),
        max_backoff: Duration::from_secs(30),
        jitter_ratio: 0.0,
        tier_factor: 1.0,
        respect_retry_after: false,
        retry_after_headers: Vec::new(),
        retry_statuses: Vec::new(),
    }
}

/// How live events are queued and processed.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// Workers per path (`event_workers_count`, at least 1).
    pub workers: usize,
    /// Events that may wait per path (default 1000).
    pub queue_capacity: usize,
    /// How long a request waits for room in a full queue before it is answered 503 (30 s).
    pub enqueue_wait: Duration,
    /// Time limit of one processor's work on one event, retries included
    /// (`max_event_processing_seconds`).
    pub max_processing: Duration,
    /// Retries of a failed `handle`.
    pub retry: RetryPolicy,
    /// How long the mapping read from Port is reused (`port.port_app_config_cache_ttl`).
    pub mapping_ttl: Duration,
    /// How long shutdown waits for the queues to drain (`max_wait_seconds_before_shutdown`).
    pub drain_timeout: Duration,
    /// Log every accepted event's masked payload, base64-encoded (`events_debug_logging`).
    pub debug_logging: bool,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            workers: 1,
            queue_capacity: 1000,
            enqueue_wait: Duration::from_secs(30),
            max_processing: Duration::from_secs(90),
            retry: handler_retry_policy(),
            mapping_ttl: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(5),
            debug_logging: false,
        }
    }
}

impl LiveConfig {
    /// The configuration the settings ask for.
    pub fn from_settings(settings: &Settings) -> Self {
        let secs =
            |s: f64, default: Duration| Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(default);
        let defaults = LiveConfig::default();
        LiveConfig {
            workers: usize::try_from(settings.event_workers_count)
                .unwrap_or(1)
                .max(1),
            max_processing: secs(
                settings.max_event_processing_seconds,
                defaults.max_processing,
            ),
            mapping_ttl: Duration::from_secs(settings.port.port_app_config_cache_ttl),
            drain_timeout: secs(
                settings.max_wait_seconds_before_shutdown,
                defaults.drain_timeout,
            ),
            debug_logging: settings.events_debug_logging,
            ..defaults
        }
    }
}

/// What the ingress did with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingress {
    /// Queued under this trace id.
    Accepted(String),
    /// No processor of the path wants it; nothing queued.
    Unsupported,
    /// A processor's authentication refused it; nothing queued.
    Rejected(String),
    /// The body is not JSON.
    Invalid(String),
    /// The queue stayed full, or the process is stopping; nothing queued.
    Overloaded(String),
    /// No processor is registered on this path.
    UnknownPath,
}

struct Queued {
    event: WebhookEvent,
    /// Positions of the processors that want it (in the path's list).
    interested: Vec<usize>,
}

struct PathState {
    path: String,
    processors: Vec<Arc<dyn WebhookProcessor>>,
    queue: GroupQueue<Queued>,
}

/// The mapping as live events use it: compiled once per read from Port.
struct LiveMapping {
    app: PortAppConfig,
    compiled: Vec<Arc<CompiledResource>>,
    selectors: Vec<Value>,
    /// The mapping's integration-specific top-level options (`PortAppConfig::extra`).
    options: Arc<serde_json::Map<String, Value>>,
}

struct MappingCache {
    ttl: Duration,
    current: tokio::sync::Mutex<Option<(Instant, Arc<LiveMapping>)>>,
}

/// Every webhook path of one integration: ingress, queues, workers, shutdown.
pub struct LiveEvents {
    services: Arc<Services>,
    config: LiveConfig,
    paths: BTreeMap<String, Arc<PathState>>,
    mapping: MappingCache,
    workers: std::sync::Mutex<Vec<JoinHandle<()>>>,
    stop: CancellationToken,
}

impl std::fmt::Debug for LiveEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveEvents")
            .field("paths", &self.paths.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl LiveEvents {
    /// The live events of `routes` (several processors may share a path), writing through the
    /// runtime's client, mapping options, metrics and fence.
    pub(crate) fn new(
        services: Arc<Services>,
        routes: Vec<WebhookRoute>,
        config: LiveConfig,
    ) -> Self {
        let mut grouped: BTreeMap<String, Vec<Arc<dyn WebhookProcessor>>> = BTreeMap::new();
        for route in routes {
            let path = normalise_path(&route.path);
            grouped.entry(path).or_default().push(route.processor);
        }
        let paths = grouped
            .into_iter()
            .map(|(path, processors)| {
                let state = PathState {
                    path: path.clone(),
                    processors,
                    queue: GroupQueue::new(config.queue_capacity),
                };
                (path, Arc::new(state))
            })
            .collect();
        LiveEvents {
            mapping: MappingCache {
                ttl: config.mapping_ttl,
                current: tokio::sync::Mutex::new(None),
            },
            services,
            config,
            paths,
            workers: std::sync::Mutex::new(Vec::new()),
            stop: CancellationToken::new(),
        }
    }

    /// The registered paths (relative to `/integration`).
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.paths.keys().map(String::as_str)
    }

    /// Whether any processor is registered.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Events waiting on `path`.
    pub fn queued(&self, path: &str) -> usize {
        self.paths.get(path).map_or(0, |p| p.queue.len())
    }

    /// Takes a request for `path`: parses, picks the interested processors, authenticates, and
    /// queues it (waiting for room up to the configured limit).
    pub async fn ingest(
        &self,
        path: &str,
        headers: Vec<(String, String)>,
        body: bytes::Bytes,
    ) -> Ingress {
        let Some(state) = self.paths.get(path) else {
            return Ingress::UnknownPath;
        };
        let metrics = &self.services.metrics;
        let done = |outcome| {
            metrics.emit(WebhookEventDone {
                path,
                outcome,
                count: 1,
            })
        };
        let trace_id = uuid::Uuid::new_v4().to_string();
        let event = match WebhookEvent::new(trace_id.clone(), path, headers, body) {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(path, %error, "Refusing a webhook whose body is not JSON");
                done(WebhookOutcome::Invalid);
                return Ingress::Invalid(error.to_string());
            }
        };
        let interested: Vec<usize> = state
            .processors
            .iter()
            .enumerate()
            .filter(|(_, p)| p.should_process(&event))
            .map(|(i, _)| i)
            .collect();
        if interested.is_empty() {
            tracing::warn!(
                path,
                trace_id,
                "Webhook event not supported: no processor of this path handles it"
            );
            done(WebhookOutcome::Unsupported);
            return Ingress::Unsupported;
        }
        for &i in &interested {
            let processor = &state.processors[i];
            if let Err(rejection) = processor.authenticate(&event) {
                tracing::warn!(
                    path,
                    trace_id,
                    processor = processor.name(),
                    reason = %rejection.reason,
                    "Webhook refused by authentication"
                );
                done(WebhookOutcome::Rejected);
                return Ingress::Rejected(rejection.reason);
            }
        }
        let group = state.processors[interested[0]]
            .ordering_key(&event)
            .unwrap_or_default();
        if self.config.debug_logging {
            log_payload(&self.services, &event);
        }
        let queued = Queued { event, interested };
        match state
            .queue
            .push(&group, queued, self.config.enqueue_wait)
            .await
        {
            Ok(depth) => {
                metrics.emit(WebhookQueueDepth { path, depth });
                tracing::debug!(path, trace_id, depth, "Webhook event queued");
                Ingress::Accepted(trace_id)
            }
            Err(error) => {
                match error {
                    PushError::Full(_) => {
                        tracing::warn!(path, trace_id, %error, "Webhook refused: the queue is full")
                    }
                    PushError::Closed => {
                        tracing::info!(path, trace_id, "Webhook refused: shutting down")
                    }
                }
                done(WebhookOutcome::Overloaded);
                Ingress::Overloaded(error.to_string())
            }
        }
    }

    /// Starts the workers of every path.
    pub fn start(self: &Arc<Self>) {
        let mut workers = self.workers.lock().unwrap_or_else(|e| e.into_inner());
        if !workers.is_empty() {
            return;
        }
        for state in self.paths.values() {
            for worker in 0..self.config.workers.max(1) {
                let this = self.clone();
                let state = state.clone();
                workers.push(tokio::spawn(async move {
                    this.work(state, worker).await;
                }));
            }
        }
        if !self.paths.is_empty() {
            tracing::info!(
                paths = ?self.paths.keys().collect::<Vec<_>>(),
                workers_per_path = self.config.workers,
                "Processing live events"
            );
        }
    }

    /// Refuses new events from now on (requests waiting for room are answered 503).
    pub fn close(&self) {
        for state in self.paths.values() {
            state.queue.close();
        }
    }

    /// Stops taking events, lets the workers drain the queues for up to the configured time,
    /// then stops them; events still queued are counted as abandoned.
    pub async fn shutdown(&self) {
        for state in self.paths.values() {
            state.queue.close();
        }
        let workers: Vec<JoinHandle<()>> =
            std::mem::take(&mut *self.workers.lock().unwrap_or_else(|e| e.into_inner()));
        if workers.is_empty() {
            self.abandon_rest();
            return;
        }
        let aborts: Vec<_> = workers.iter().map(JoinHandle::abort_handle).collect();
        if tokio::time::timeout(self.config.drain_timeout, join_all(workers))
            .await
            .is_err()
        {
            tracing::warn!(
                seconds = self.config.drain_timeout.as_secs_f64(),
                "Live-event queues did not drain in time; stopping their workers"
            );
            self.stop.cancel();
            for abort in aborts {
                abort.abort();
            }
        }
        self.abandon_rest();
    }

    fn abandon_rest(&self) {
        for state in self.paths.values() {
            let left = state.queue.drain_remaining();
            if left > 0 {
                tracing::warn!(
                    path = %state.path,
                    events = left,
                    "Live events dropped at shutdown (not processed)"
                );
                self.services.metrics.emit(WebhookEventDone {
                    path: &state.path,
                    outcome: WebhookOutcome::Abandoned,
                    count: left as u64,
                });
            }
            self.services.metrics.emit(WebhookQueueDepth {
                path: &state.path,
                depth: 0,
            });
        }
    }

    async fn work(&self, state: Arc<PathState>, worker: usize) {
        let metrics = self.services.metrics.clone();
        while let Some((group, queued)) = state.queue.pop().await {
            metrics.emit(WebhookQueueDepth {
                path: &state.path,
                depth: state.queue.len(),
            });
            let trace_id = queued.event.trace_id().to_owned();
            let outcome = AssertUnwindSafe(self.process(&state, queued))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| {
                    tracing::error!(
                        path = %state.path,
                        trace_id,
                        worker,
                        "Processing a live event panicked"
                    );
                    WebhookOutcome::Failed
                });
            metrics.emit(WebhookEventDone {
                path: &state.path,
                outcome,
                count: 1,
            });
            state.queue.done(&group);
        }
    }

    /// Processes one queued event (docs/lifecycle.md §7.3).
    async fn process(&self, state: &PathState, queued: Queued) -> WebhookOutcome {
        let event = queued.event;
        let path = state.path.as_str();
        let trace_id = event.trace_id().to_owned();
        let mapping = match self.mapping().await {
            Ok(mapping) => mapping,
            Err(error) => {
                tracing::error!(path, trace_id, %error, "Live event dropped: the mapping could not be loaded");
                return WebhookOutcome::Failed;
            }
        };
        let mut matches: Vec<(Arc<dyn WebhookProcessor>, usize)> = Vec::new();
        let mut invalid = false;
        for &i in &queued.interested {
            let processor = &state.processors[i];
            if !processor.validate_payload(&event) {
                tracing::warn!(
                    path,
                    trace_id,
                    processor = processor.name(),
                    "Live event payload is invalid for this processor"
                );
                invalid = true;
                continue;
            }
            for kind in processor.matching_kinds(&event) {
                for (index, resource) in mapping.app.resources.iter().enumerate() {
                    if resource.kind == kind {
                        matches.push((processor.clone(), index));
                    }
                }
            }
        }
        if matches.is_empty() {
            if invalid {
                return WebhookOutcome::Invalid;
            }
            tracing::info!(
                path,
                trace_id,
                "Webhook processors handle this event, but none of its kinds is in the mapping"
            );
            return WebhookOutcome::Processed;
        }
        let handled = join_all(matches.iter().map(|(processor, index)| {
            let ctx = FetchContext::new(
                mapping.app.resources[*index].kind.clone(),
                *index,
                mapping.selectors[*index].clone(),
                None,
                self.stop.child_token(),
            )
            .with_app_options(mapping.options.clone());
            let event = &event;
            async move {
                let result = self.handle(processor.as_ref(), event, &ctx).await;
                (*index, processor.name().to_owned(), result)
            }
        }))
        .await;
        let mut results = Vec::new();
        let mut failed = false;
        for (index, processor, result) in handled {
            match result {
                Ok(r) => results.push((index, r)),
                Err(error) => {
                    failed = true;
                    tracing::error!(path, trace_id, processor, kind = %mapping.app.resources[index].kind, %error, "Live event processing failed");
                }
            }
        }
        if !self.apply(&mapping, results, &trace_id).await {
            failed = true;
        }
        if failed {
            WebhookOutcome::Failed
        } else {
            WebhookOutcome::Processed
        }
    }

    /// `handle` with retries, bounded by the processing time limit.
    async fn handle(
        &self,
        processor: &dyn WebhookProcessor,
        event: &WebhookEvent,
        ctx: &FetchContext,
    ) -> Result<WebhookResults, HandleError> {
        let own = processor.retry_policy();
        let retry = own.as_ref().unwrap_or(&self.config.retry);
        let attempts = async {
            let mut attempt = 0;
            loop {
                match processor.handle(event, ctx).await {
                    Ok(results) => return Ok(results),
                    Err(error) if attempt < retry.max_retries && processor.should_retry(&error) => {
                        attempt += 1;
                        let delay = retry.backoff(attempt, 0.0);
                        tracing::warn!(
                            processor = processor.name(),
                            trace_id = event.trace_id(),
                            attempt,
                            delay_seconds = delay.as_secs_f64(),
                            %error,
                            "Live event handling failed; retrying"
                        );
                        tokio::time::sleep(delay).await;
                    }
                    Err(error) => return Err(HandleError::Processor(error.to_string())),
                }
            }
        };
        match tokio::time::timeout(self.config.max_processing, attempts).await {
            Ok(result) => result,
            Err(_) => Err(HandleError::TimedOut(self.config.max_processing)),
        }
    }

    /// Maps the results and writes them. Returns false when some entity failed.
    async fn apply(
        &self,
        mapping: &Arc<LiveMapping>,
        results: Vec<(usize, WebhookResults)>,
        trace_id: &str,
    ) -> bool {
        if results
            .iter()
            .all(|(_, r)| r.updated.is_empty() && r.deleted.is_empty())
        {
            return true;
        }
        let mapped = {
            let mapping = mapping.clone();
            tokio::task::spawn_blocking(move || map_results(&mapping, &results)).await
        };
        let Ok(mapped) = mapped else {
            tracing::error!(trace_id, "Mapping a live event's items panicked");
            return false;
        };
        let upsert_keys: HashSet<EntityKey> = mapped
            .upserts
            .iter()
            .flat_map(|(_, entities)| entities.iter().map(Entity::key))
            .collect();
        let mut seen = HashSet::new();
        let removals: Vec<(String, Entity)> = mapped
            .removals
            .into_iter()
            .filter(|(_, e)| {
                let key = e.key();
                !upsert_keys.contains(&key) && seen.insert(key)
            })
            .collect();
        let now = Instant::now();
        let fence = &self.services.fence;
        fence.record(upsert_keys.iter(), now);
        let removal_keys: Vec<EntityKey> = removals.iter().map(|(_, e)| e.key()).collect();
        fence.record(removal_keys.iter(), now);

        let app = &mapping.app;
        let event = EventInfo {
            event_type: EventType::HttpRequest,
            id: trace_id.to_owned(),
        };
        let spec = Arc::new(WriteSpec {
            client: self.services.client.clone(),
            options: UpsertOptions {
                merge: app.enable_merge_entity,
                create_missing_related_entities: app.create_missing_related_entities,
                validation_only: false,
                event: Some(event.clone()),
                feature: Some(UserAgentFeature::Exporter),
            },
            include: None,
            keep_failed: false,
            fence: None,
            missing_blueprints: Arc::new(MissingBlueprints::default()),
            plan: None,
        });
        let metrics = &self.services.metrics;
        let mut ok = true;
        for (kind, entities) in mapped.upserts {
            if entities.is_empty() {
                continue;
            }
            let outcome = write(spec.clone(), entities, None).await;
            metrics.emit(EntitiesUpserted {
                kind: &kind,
                count: outcome.upserted,
            });
            metrics.emit(EntitiesFailed {
                kind: &kind,
                count: outcome.failed,
            });
            if outcome.failed > 0 {
                ok = false;
                let reasons: Vec<String> = outcome
                    .failures
                    .groups()
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                tracing::warn!(
                    trace_id,
                    kind,
                    failed = outcome.failed,
                    ?reasons,
                    "Live event: Port refused entities"
                );
            }
        }
        if !removals.is_empty() {
            let options = DeleteOptions {
                delete_dependents: app.delete_dependent_entities,
                event: Some(event),
                feature: Some(UserAgentFeature::Exporter),
            };
            ok &= self.delete_found(removals, &options, trace_id).await;
        }
        ok
    }

    /// Deletes the candidates that exist in Port under this integration's datasource.
    async fn delete_found(
        &self,
        removals: Vec<(String, Entity)>,
        options: &DeleteOptions,
        trace_id: &str,
    ) -> bool {
        let client = &self.services.client;
        let metrics = &self.services.metrics;
        // blueprint → [(identifier, kind)]
        let mut by_blueprint: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for (kind, entity) in removals {
            match (entity.blueprint.as_str(), entity.identifier.as_str()) {
                (Some(bp), Some(id)) => by_blueprint
                    .entry(bp.to_owned())
                    .or_default()
                    .push((id.to_owned(), kind)),
                _ => tracing::debug!(
                    trace_id,
                    entity = %entity.key(),
                    "Not deleting an entity with a search identifier or blueprint"
                ),
            }
        }
        let mut ok = true;
        let mut deleted: HashMap<String, u64> = HashMap::new();
        for (blueprint, candidates) in by_blueprint {
            let blueprint_value = Value::String(blueprint.clone());
            for chunk in candidates.chunks(SEARCH_IDENTIFIERS_CHUNK) {
                let ids: Vec<Value> = chunk
                    .iter()
                    .map(|(id, _)| Value::String(id.clone()))
                    .collect();
                let ids: Vec<&Value> = ids.iter().collect();
                let found = match client
                    .search_by_identifiers(&blueprint_value, &ids, &[], UserAgentFeature::Exporter)
                    .await
                {
                    Ok(found) => found,
                    Err(error) => {
                        ok = false;
                        tracing::error!(trace_id, blueprint, %error, "Live event: could not look up entities to delete");
                        continue;
                    }
                };
                let present: HashSet<String> = found
                    .iter()
                    .filter_map(|e| e.identifier.as_str().map(str::to_owned))
                    .collect();
                for (id, kind) in chunk {
                    if !present.contains(id) {
                        tracing::debug!(trace_id, blueprint, identifier = %id, "Not deleting: not in Port under this integration");
                        continue;
                    }
                    match client.delete_entity(&blueprint, id, options).await {
                        Ok(DeleteOutcome::Deleted) => {
                            *deleted.entry(kind.clone()).or_default() += 1;
                        }
                        Ok(_) => {}
                        Err(error) => {
                            ok = false;
                            tracing::error!(trace_id, blueprint, identifier = %id, %error, "Live event: deleting an entity failed");
                        }
                    }
                }
            }
        }
        for (kind, count) in deleted {
            metrics.emit(EntitiesDeleted { kind: &kind, count });
        }
        ok
    }

    /// The mapping, read from Port at most once per TTL and compiled once per read.
    async fn mapping(&self) -> Result<Arc<LiveMapping>, MappingError> {
        let mut current = self.mapping.current.lock().await;
        if let Some((at, mapping)) = current.as_ref() {
            if at.elapsed() < self.mapping.ttl {
                return Ok(mapping.clone());
            }
        }
        let app = mapping::load(&self.services).await?;
        let options = self.services.config.mapping.clone();
        let mapping = tokio::task::spawn_blocking(move || {
            let compiled = app
                .resources
                .iter()
                .map(|r| Arc::new(CompiledResource::compile(r, &options)))
                .collect();
            let selectors = app
                .resources
                .iter()
                .map(|r| serde_json::to_value(&r.selector).unwrap_or(Value::Null))
                .collect();
            LiveMapping {
                options: Arc::new(app.extra.clone()),
                app,
                compiled,
                selectors,
            }
        })
        .await
        .map_err(|e| MappingError::Invalid(format!("compiling the mapping panicked: {e}")))?;
        let mapping = Arc::new(mapping);
        *current = Some((Instant::now(), mapping.clone()));
        Ok(mapping)
    }
}

/// Why a processor's `handle` gave no results.
#[derive(Debug, thiserror::Error)]
enum HandleError {
    /// It failed (after the retries it allowed).
    #[error("{0}")]
    Processor(String),
    /// It did not finish within `max_event_processing_seconds`.
    #[error("timed out after {:.0} s (max_event_processing_seconds)", .0.as_secs_f64())]
    TimedOut(Duration),
}

/// Entities to upsert per kind, and deletion candidates with their kind.
struct MappedResults {
    upserts: Vec<(String, Vec<Entity>)>,
    removals: Vec<(String, Entity)>,
}

/// Maps processors' raw results with live-event semantics (`parse_all`): passed entities of
/// updated items are upserted; entities of updated items failing the selector and passed
/// entities of deleted items are deletion candidates.
fn map_results(mapping: &LiveMapping, results: &[(usize, WebhookResults)]) -> MappedResults {
    let mut upserts: Vec<(String, Vec<Entity>)> = Vec::new();
    let mut removals = Vec::new();
    for (index, result) in results {
        let compiled = &mapping.compiled[*index];
        let kind = mapping.app.resources[*index].kind.clone();
        let mut entities = Vec::new();
        if !result.updated.is_empty() {
            let (outcomes, _) = compiled.map_values_expanded(&result.updated, true);
            for outcome in outcomes {
                log_problems(&kind, &outcome);
                entities.extend(outcome.entities);
                removals.extend(
                    outcome
                        .failed_selector_entities
                        .into_iter()
                        .map(|e| (kind.clone(), e)),
                );
            }
        }
        if !result.deleted.is_empty() {
            let (outcomes, _) = compiled.map_values_expanded(&result.deleted, true);
            for outcome in outcomes {
                log_problems(&kind, &outcome);
                removals.extend(outcome.entities.into_iter().map(|e| (kind.clone(), e)));
            }
        }
        match upserts.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, list)) => list.extend(entities),
            None => upserts.push((kind, entities)),
        }
    }
    MappedResults { upserts, removals }
}

fn log_problems(kind: &str, outcome: &ocean_mapping::BatchOutcome) {
    for error in &outcome.selector_errors {
        tracing::warn!(kind, "Live event: selector error: {}", error.message);
    }
    if let Some(error) = &outcome.batch_error {
        tracing::warn!(kind, "Live event: items failed to map: {error:?}");
    }
}

/// `events_debug_logging`: the masked payload, base64-encoded, at most 1 MiB of JSON.
fn log_payload(services: &Services, event: &WebhookEvent) {
    const MAX: usize = 1024 * 1024;
    let masked = services.masker.mask_json(event.payload());
    let mut bytes = serde_json::to_vec(&masked).unwrap_or_default();
    let truncated = bytes.len() > MAX;
    bytes.truncate(MAX);
    tracing::info!(
        trace_id = event.trace_id(),
        truncated,
        base64_masked_webhook_debug_payload =
            base64::engine::general_purpose::STANDARD.encode(&bytes),
        "Got webhook event"
    );
}

/// `/webhook`, `webhook/` and `/webhook/` are the same path.
pub fn normalise_path(path: &str) -> String {
    let trimmed = path.trim().trim_matches('/');
    format!("/{trimmed}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_follow_python_ocean() {
        let policy = handler_retry_policy();
        let delays: Vec<u64> = (1..=3).map(|a| policy.backoff(a, 1.0).as_secs()).collect();
        assert_eq!(delays, [2, 4, 8]);
        assert_eq!(policy.backoff(10, -1.0), Duration::from_secs(30));
        assert!(policy.validate().is_ok());
    }

    #[test]
    fn paths_are_normalised() {
        for (input, expected) in [
            ("/webhook", "/webhook"),
            ("webhook", "/webhook"),
            ("/webhook/", "/webhook"),
            ("/a/b", "/a/b"),
        ] {
            assert_eq!(normalise_path(input), expected, "{input}");
        }
    }
}
