//! The full resync (docs/lifecycle.md §4), as a pipeline whose modules read in the order the data
//! flows:
//!
//! 1. [`mapping`] — the `port-app-config` as Port holds it now;
//! 2. per resource, in mapping order ([`kind`]): [`fetch`] (the integration's pages, examples,
//!    chunks) → [`map`] (JQ on the blocking pool, problems as data) → [`diff`] (the live-write
//!    fence and the changed-entity filter) → [`upsert`] (bulk writes, refusals tallied);
//! 3. [`reconcile`] — delete what Port holds for this integration that the resync did not
//!    produce ([`seen`] keys, [`order`] of retries), only when the whole resync succeeded.
//!
//! [`run`] never fails: whatever happens comes back as a [`ResyncReport`] whose outcome says
//! whether stale entities were deleted and, when not, why. It does not report the resync state
//! to Port (the [`Coordinator`](crate::coordinator::Coordinator) does, around it) and does not
//! decide when to run (listeners do). Live events use the same stages (map, then [`upsert::write`]).

pub(crate) mod diff;
pub(crate) mod fetch;
mod kind;
pub(crate) mod map;
pub(crate) mod mapping;
mod order;
mod reconcile;
mod seen;
pub(crate) mod upsert;

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use ocean_config::Settings;
use ocean_mapping::EngineOptions;
use ocean_model::Entity;
use ocean_port_client::{EventInfo, UpsertOptions, UserAgentFeature};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

pub use seen::{RelationTargets, SeenKeys};

use crate::metrics::{EntitiesDeleted, RECONCILIATION_KIND};
use crate::plan::{DeletionPlan, Plan};
use crate::progress::ResyncProgress;
use crate::report::{
    AbortReason, DeletionReport, FailureReason, FailureTally, KindReport, ResyncOutcome,
    ResyncReport,
};
use crate::services::Services;
use upsert::{MissingBlueprints, WriteSpec};

/// How the engine runs: pipeline bounds and the settings it reads.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Send up to five raw items per kind to Port as examples (`send_raw_data_examples`).
    pub send_raw_data_examples: bool,
    /// Mapping options (environment access, itemsToParse batch size).
    pub mapping: EngineOptions,
    /// Chunks mapped at once on the blocking pool (default: the available cores).
    pub map_workers: usize,
    /// Raw items per mapping chunk; larger pages are split (default 100). At most
    /// `map_workers + load_concurrency` chunks of a kind are in memory, so this bounds a kind's
    /// memory whatever page size the API uses (at 500, pages of 500 cost the Custom benchmark
    /// 12 MiB more peak RSS than pages of 100).
    pub map_chunk_items: usize,
    /// Parent items per mapping chunk for resources with `itemsToParse`, whose children
    /// multiply (default 20).
    pub map_chunk_items_to_parse: usize,
    /// Batches in the filter/upsert stage at once (default 8), each an async task with up to
    /// `bulk_upsert_concurrency` requests in flight: enough to keep a high-latency Port busy,
    /// and about half a MiB of peak memory per batch on the benchmark (`make bench`).
    pub load_concurrency: usize,
    /// Skip entities Port already holds unchanged (default true).
    pub changed_entity_filter: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            send_raw_data_examples: true,
            mapping: EngineOptions::default(),
            map_workers: available_cores(),
            map_chunk_items: 100,
            map_chunk_items_to_parse: 20,
            load_concurrency: 8,
            changed_entity_filter: true,
        }
    }
}

impl EngineConfig {
    /// The engine configuration the settings ask for. JQ's `env` sees the process environment
    /// unless `allow_environment_variables_jq_access` is false.
    pub fn from_settings(settings: &Settings) -> Self {
        let mut mapping = if settings.allow_environment_variables_jq_access {
            EngineOptions::with_env(std::env::vars())
        } else {
            EngineOptions::default()
        };
        mapping.allow_env_access = settings.allow_environment_variables_jq_access;
        mapping.items_to_parse_batch_size =
            usize::try_from(settings.yield_items_to_parse_batch_size.max(1)).unwrap_or(200);
        EngineConfig {
            send_raw_data_examples: settings.send_raw_data_examples,
            mapping,
            map_workers: usize::try_from(settings.process_in_queue_max_workers)
                .ok()
                .filter(|w| *w > 0)
                .unwrap_or_else(available_cores),
            ..EngineConfig::default()
        }
    }
}

fn available_cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// Cancels a running resync, remembering why.
#[derive(Debug, Clone, Default)]
pub struct ResyncCancel {
    token: CancellationToken,
    reason: Arc<OnceLock<AbortReason>>,
}

impl ResyncCancel {
    /// A fresh, uncancelled handle.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels the resync; the first reason given wins.
    pub fn cancel(&self, reason: AbortReason) {
        let _ = self.reason.set(reason);
        self.token.cancel();
    }

    /// Whether the resync was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// The token fetchers receive (as a child).
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// Why the resync was cancelled.
    pub fn reason(&self) -> AbortReason {
        self.reason.get().cloned().unwrap_or(AbortReason::Cancelled)
    }
}

/// What one run needs besides the services.
pub(crate) struct RunContext {
    pub id: String,
    pub cancel: ResyncCancel,
    pub progress: Arc<ResyncProgress>,
    /// A dry run's plan (nothing is written), with the mapping to use when Port has none.
    pub dry_run: Option<DryRun>,
}

/// What makes a run a dry run.
#[derive(Clone)]
pub(crate) struct DryRun {
    /// Where the batches and the delete phase are booked instead of written.
    pub plan: Arc<Plan>,
    /// The mapping when the integration is not in Port yet (the defaults' `port-app-config`).
    pub fallback_mapping: Option<ocean_mapping::PortAppConfig>,
}

/// What the kinds of a resync leave for reconciliation.
#[derive(Default)]
pub(crate) struct KindSink {
    pub seen: SeenKeys,
    /// Collected only when `createMissingRelatedEntities` is true (safe delete needs them).
    pub relation_targets: Option<RelationTargets>,
    /// Collected only when `createMissingRelatedEntities` is false (retried at the end).
    pub failed_upserts: Vec<Entity>,
    /// Refusal reasons already logged in this resync (each is logged once).
    pub logged_refusals: FailureTally,
}

impl KindSink {
    /// Keeps what reconciliation needs of a batch of mapped entities: their keys (entities with
    /// a search identifier are keyed by what Port resolves them to, later) and, for safe delete,
    /// their relation targets.
    pub fn record_mapped(&mut self, entities: &[Entity]) {
        for entity in entities {
            if !entity.uses_search_identifier() {
                self.seen.insert(entity.key());
            }
            if let Some(targets) = self.relation_targets.as_mut() {
                targets.record(entity);
            }
        }
    }
}

/// Runs one full resync with the event id `id`. Cancelling `cancel` stops it between batches;
/// it then deletes nothing and reports [`ResyncOutcome::Aborted`].
pub(crate) async fn run(
    services: &Services,
    id: &str,
    cancel: &ResyncCancel,
    progress: Arc<ResyncProgress>,
) -> ResyncReport {
    let run = RunContext {
        id: id.to_owned(),
        cancel: cancel.clone(),
        progress,
        dry_run: None,
    };
    execute(services, run).await
}

/// Runs one full resync as a dry run: every read, no write (see [`crate::plan`]). The plan
/// is in `dry_run.plan` afterwards; the report says how the resync itself went.
pub(crate) async fn dry_run(services: &Services, id: &str, dry_run: DryRun) -> ResyncReport {
    let run = RunContext {
        id: id.to_owned(),
        cancel: ResyncCancel::new(),
        progress: Arc::new(ResyncProgress::new(id)),
        dry_run: Some(dry_run),
    };
    execute(services, run).await
}

async fn execute(services: &Services, run: RunContext) -> ResyncReport {
    let started_at = OffsetDateTime::now_utc();
    let clock = Instant::now();
    let mut kinds = Vec::new();
    let mut deletion = DeletionReport::default();
    services.client.clear_blueprint_cache();
    let recording = services.fence.recording();
    let outcome = run_inner(services, &run, started_at, &mut kinds, &mut deletion).await;
    let id = run.id.as_str();
    drop(recording);
    services.client.clear_blueprint_cache();
    services.metrics.emit(EntitiesDeleted {
        kind: RECONCILIATION_KIND,
        count: deletion.deleted as u64,
    });
    let report = ResyncReport {
        id: id.to_owned(),
        started_at,
        duration: clock.elapsed(),
        kinds,
        deletion,
        outcome,
    };
    log_summary(&report);
    report
}

async fn run_inner(
    services: &Services,
    run: &RunContext,
    started_at: OffsetDateTime,
    kinds: &mut Vec<KindReport>,
    deletion: &mut DeletionReport,
) -> ResyncOutcome {
    let plan = run.dry_run.as_ref().map(|d| d.plan.clone());
    let skip_deletion = |why: String| {
        if let Some(plan) = &plan {
            plan.set_deletion(DeletionPlan {
                skipped_because: Some(why),
                ..DeletionPlan::default()
            });
        }
    };
    let loaded = match (mapping::load(services).await, &run.dry_run) {
        (
            Err(mapping::MappingError::NoIntegration | mapping::MappingError::NoMapping),
            Some(DryRun {
                fallback_mapping: Some(fallback),
                ..
            }),
        ) => {
            tracing::info!(
                "The integration has no mapping in Port yet; planning with the default one"
            );
            Ok(fallback.clone())
        }
        (loaded, _) => loaded,
    };
    let app = match loaded {
        Ok(app) => app,
        Err(error) => {
            skip_deletion(format!("the mapping could not be loaded: {error}"));
            tracing::error!(%error, "Resync failed: the mapping could not be loaded");
            return ResyncOutcome::Failed(FailureReason::Mapping(error));
        }
    };
    if app.resources.is_empty() {
        tracing::info!("Port app config has no resources configured; skipping resync as no-op");
        return ResyncOutcome::NoResources;
    }
    if run.cancel.is_cancelled() {
        return ResyncOutcome::Aborted(run.cancel.reason());
    }
    if let Err(error) = services.integration.on_resync_start().await {
        let error = error.to_string();
        tracing::error!(%error, "The resync-start hook failed; no kind was synced");
        return ResyncOutcome::Failed(FailureReason::ResyncStartHook(error));
    }
    let spec = WriteSpec {
        client: services.client.clone(),
        options: UpsertOptions {
            merge: app.enable_merge_entity,
            create_missing_related_entities: app.create_missing_related_entities,
            validation_only: false,
            event: Some(EventInfo::resync(run.id.clone())),
            feature: Some(UserAgentFeature::Exporter),
        },
        include: None,
        keep_failed: !app.create_missing_related_entities,
        fence: Some(services.fence.clone()),
        missing_blueprints: Arc::new(MissingBlueprints::default()),
        plan: plan.clone(),
    };
    let mut sink = KindSink {
        relation_targets: app
            .create_missing_related_entities
            .then(RelationTargets::default),
        ..KindSink::default()
    };
    let options = Arc::new(app.extra.clone());
    for (index, resource) in app.resources.iter().enumerate() {
        if run.cancel.is_cancelled() {
            break;
        }
        // A dry run always compares (it must tell updates from unchanged entities).
        let include = (services.config.changed_entity_filter || plan.is_some())
            .then(|| diff::include_fields(&resource.port.entity.mappings));
        let spec = Arc::new(spec.with_include(include));
        let report =
            kind::run_kind(services, resource, index, spec, &options, run, &mut sink).await;
        kinds.push(report);
    }
    if run.cancel.is_cancelled() {
        let reason = run.cancel.reason();
        tracing::warn!(%reason, "Resync aborted; skipping the delete phase");
        return ResyncOutcome::Aborted(reason);
    }
    if !sink.failed_upserts.is_empty() {
        let (retried, ok) = reconcile::retry_failed(
            &services.client,
            std::mem::take(&mut sink.failed_upserts),
            &spec.options,
        )
        .await;
        deletion.retried = retried;
        deletion.retried_ok = ok;
    }
    let failed: Vec<&KindReport> = kinds.iter().filter(|k| k.failed()).collect();
    let refused = kinds
        .iter()
        .map(|k| k.counts.failed)
        .sum::<u64>()
        .saturating_sub(deletion.retried_ok as u64);
    if failed.is_empty() && refused > 0 {
        let mut tally = FailureTally::default();
        for kind in kinds.iter() {
            tally.merge(&kind.failures);
        }
        let reason = FailureReason::EntityFailures {
            failed: refused,
            groups: tally.groups(),
        };
        tracing::error!("Resync failed, skipping the delete phase: {reason}");
        skip_deletion(format!("entities were refused: {reason}"));
        return ResyncOutcome::Failed(reason);
    }
    if !failed.is_empty() {
        let errors = failed.iter().map(|k| k.error_count).sum();
        let reason = FailureReason::KindErrors {
            kinds: failed.iter().map(|k| k.label()).collect(),
            errors,
        };
        tracing::error!(
            "Resync failed with {errors} errors, skipping delete phase due to incomplete state ({reason})"
        );
        skip_deletion(format!("kinds failed: {reason}"));
        return ResyncOutcome::Failed(reason);
    }
    let outcome = reconcile::reconcile(
        &services.client,
        &app,
        &sink,
        started_at,
        &run.id,
        &run.cancel,
        deletion,
        plan.as_deref(),
    )
    .await;
    if let (ResyncOutcome::Failed(reason), Some(_)) = (&outcome, &plan) {
        skip_deletion(format!("reconciliation failed: {reason}"));
    }
    if let (ResyncOutcome::Completed(_), None) = (&outcome, &plan) {
        if let Err(error) = services.integration.on_resync_complete().await {
            tracing::error!(%error, "The resync-complete hook failed");
        }
    }
    outcome
}

/// The closing summary: one line per kind and one for the resync.
fn log_summary(report: &ResyncReport) {
    for kind in &report.kinds {
        let c = &kind.counts;
        tracing::info!(
            "{:<24} fetched {:>8}  upserted {:>8}  unchanged {:>8}  failed {:>6}  errors {:>4}  {:>7.2}s",
            kind.label(),
            c.fetched,
            c.upserted,
            c.unchanged,
            c.failed,
            kind.error_count,
            kind.duration.as_secs_f64()
        );
    }
    let t = report.totals();
    let d = &report.deletion;
    let message = format!(
        "Resync {}: fetched {}, upserted {}, unchanged {}, failed {}, deleted {} in {:.2}s",
        report.outcome,
        t.fetched,
        t.upserted,
        t.unchanged,
        t.failed,
        d.deleted,
        report.duration.as_secs_f64()
    );
    match report.outcome {
        ResyncOutcome::Completed(_) | ResyncOutcome::NoResources => {
            tracing::info!(resync_id = %report.id, "{message}")
        }
        ResyncOutcome::Aborted(_) => tracing::warn!(resync_id = %report.id, "{message}"),
        ResyncOutcome::Failed(_) => tracing::error!(resync_id = %report.id, "{message}"),
    }
}
