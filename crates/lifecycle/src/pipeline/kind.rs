//! One mapping resource through the stages: fetch → map → diff and upsert (docs/lifecycle.md §4.1).
//!
//! ```text
//!  fetcher pages ──take_until(cancel)──▶ examples (first 5 items, masked) ──▶ chunks of ≤ N items
//!      ──▶ map on the blocking pool (itemsToParse + JQ), `buffered(map_workers)`, order kept
//!      ──▶ bookkeeping on this task (counts, keys, problems) ──▶ write jobs (diff + upsert),
//!          at most `load_concurrency` in flight as tasks
//! ```
//!
//! Backpressure: the chunk stream is only polled while fewer than `map_workers` chunks are being
//! mapped and fewer than `load_concurrency` batches are being written, so at most
//! `map_workers + load_concurrency` chunks of a kind are in memory at any time, however many
//! items the kind has. Cancellation is checked between batches: once the resync's token is
//! cancelled the fetcher is dropped, in-flight writes are aborted and the kind reports what it
//! did so far.

use std::pin::pin;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use ocean_mapping::{CompiledResource, ResourceConfig};
use ocean_model::Entity;
use serde_json::{Map, Value};
use tokio::task::JoinSet;

use super::upsert::{WriteOutcome, WriteSpec, write};
use super::{KindSink, RunContext, fetch, map};
use crate::metrics::{EntitiesFailed, EntitiesUpserted};
use crate::progress::KindProgress;
use crate::report::{FailureGroup, FailureTally, KindCounts, KindReport, Refusal};
use crate::services::Services;

/// Errors kept in full per kind (the rest are counted).
const KEPT_ERRORS: usize = 10;

/// Accumulates one kind's report.
struct KindState {
    report: KindReport,
    problems: map::Problems,
    filter_warned: bool,
}

impl KindState {
    fn error(&mut self, message: String) {
        self.report.error_count += 1;
        if self.report.errors.len() < KEPT_ERRORS {
            self.report.errors.push(message);
        }
    }
}

/// Runs one resource; everything the reconciliation needs goes into `sink`. `options` are the
/// mapping's integration-specific top-level options, handed to the fetcher.
pub(super) async fn run_kind(
    services: &Services,
    resource: &ResourceConfig,
    index: usize,
    spec: Arc<WriteSpec>,
    options: &Arc<Map<String, Value>>,
    run: &RunContext,
    sink: &mut KindSink,
) -> KindReport {
    let kind = resource.kind.as_str();
    let started = Instant::now();
    let progress = run.progress.start_kind(kind, index);
    let mut state = KindState {
        report: KindReport {
            kind: kind.to_owned(),
            index,
            counts: KindCounts::default(),
            errors: Vec::new(),
            error_count: 0,
            failures: FailureTally::default(),
            duration: Default::default(),
        },
        problems: map::Problems::default(),
        filter_warned: false,
    };
    tracing::info!(kind, index, "Syncing kind");
    if !services.integration.serves_kind(kind) {
        let message = format!(
            "kind '{kind}' is not implemented by this integration (it fetches: {})",
            services.integration.kinds().join(", ")
        );
        tracing::error!(kind, index, "{message}");
        state.error(message);
    } else {
        stages(
            services, resource, index, spec, options, run, sink, &progress, &mut state,
        )
        .await;
        map::log_misconfigured(&services.client, resource, &state.problems).await;
    }
    progress.finish();
    state.report.duration = started.elapsed();
    let c = &state.report.counts;
    tracing::info!(
        kind,
        index,
        fetched = c.fetched,
        mapped = c.mapped,
        upserted = c.upserted,
        unchanged = c.unchanged,
        failed = c.failed,
        skipped = c.skipped,
        errors = state.report.error_count,
        seconds = format!("{:.2}", state.report.duration.as_secs_f64()),
        "Finished kind"
    );
    state.report
}

#[allow(clippy::too_many_arguments)]
async fn stages(
    services: &Services,
    resource: &ResourceConfig,
    index: usize,
    spec: Arc<WriteSpec>,
    options: &Arc<Map<String, Value>>,
    run: &RunContext,
    sink: &mut KindSink,
    progress: &Arc<KindProgress>,
    state: &mut KindState,
) {
    let kind = resource.kind.clone();
    let compiled = Arc::new(CompiledResource::compile(
        resource,
        &services.config.mapping,
    ));
    for problem in compiled.compile_problems() {
        tracing::warn!(kind = %kind, index, "{problem}");
    }
    let chunk_items = if compiled.has_items_to_parse() {
        services.config.map_chunk_items_to_parse.max(1)
    } else {
        services.config.map_chunk_items.max(1)
    };
    let selector = serde_json::to_value(&resource.selector).unwrap_or(Value::Null);
    let chunks = fetch::chunks(
        services,
        &kind,
        index,
        selector,
        options.clone(),
        run,
        progress,
        chunk_items,
    );
    let mapped = map::map_chunks(chunks, compiled, services.config.map_workers);
    let mut mapped = pin!(mapped);

    // Bookkeeping here, writes as tasks.
    let mut writes: JoinSet<WriteOutcome> = JoinSet::new();
    let mut source_done = false;
    let limit = services.config.load_concurrency.max(1);
    loop {
        if run.cancel.is_cancelled() {
            writes.abort_all();
            break;
        }
        if source_done && writes.is_empty() {
            break;
        }
        let can_pull = !source_done && writes.len() < limit;
        tokio::select! {
            Some(done) = writes.join_next(), if !writes.is_empty() => match done {
                Ok(outcome) => record_write(services, outcome, sink, progress, state),
                Err(e) if e.is_cancelled() => {}
                Err(e) => state.error(format!("an upsert task panicked: {e}")),
            },
            next = mapped.next(), if can_pull => match next {
                None => source_done = true,
                Some(Err(error)) => {
                    let message = error.to_string();
                    tracing::error!(kind = %kind, index, "{message}");
                    state.error(message);
                    source_done = true;
                }
                Some(Ok(chunk)) => {
                    let fetched_at = chunk.fetched_at;
                    let (batches, errors) =
                        map::record(&kind, chunk, &mut state.report.counts, &mut state.problems);
                    for error in errors {
                        state.error(error);
                    }
                    for batch in batches {
                        progress.add_mapped(batch.len() as u64);
                        sink.record_mapped(&batch);
                        spawn_write(&mut writes, spec.clone(), batch, fetched_at, run);
                    }
                }
            },
            _ = run.cancel.token().cancelled() => {}
        }
    }
}

/// Books what a write job did.
fn record_write(
    services: &Services,
    outcome: WriteOutcome,
    sink: &mut KindSink,
    progress: &KindProgress,
    state: &mut KindState,
) {
    let counts = &mut state.report.counts;
    counts.upserted += outcome.upserted;
    counts.unchanged += outcome.unchanged;
    counts.failed += outcome.failed;
    counts.superseded += outcome.superseded;
    progress.add_loaded(outcome.upserted, outcome.unchanged, outcome.failed);
    let kind = state.report.kind.as_str();
    services.metrics.emit(EntitiesUpserted {
        kind,
        count: outcome.upserted,
    });
    services.metrics.emit(EntitiesFailed {
        kind,
        count: outcome.failed,
    });
    for key in outcome.resolved {
        sink.seen.insert(key);
    }
    sink.failed_upserts.extend(outcome.failed_entities);
    for group in outcome.failures.groups() {
        // Each reason is logged once per resync, when first met.
        if sink
            .logged_refusals
            .add(&group.blueprint, &group.reason, &group.example, 0)
        {
            log_refusal(kind, &group);
        }
    }
    state.report.failures.merge(&outcome.failures);
    if let Some(error) = outcome.filter_error {
        if !state.filter_warned {
            state.filter_warned = true;
            tracing::warn!(
                kind = %state.report.kind,
                %error,
                "Could not compare entities with Port; upserting the whole batch"
            );
        }
    }
}

/// The one line that says Port refuses entities for a reason, and what to do about it.
fn log_refusal(kind: &str, group: &FailureGroup) {
    match &group.reason {
        Refusal::MissingBlueprint => tracing::error!(
            kind,
            blueprint = %group.blueprint,
            "Blueprint `{}` does not exist in Port, so Port refuses every entity of it. Create it \
             (an integration creates its default blueprints from .port/resources at start, until \
             they are all in place) or change the mapping's `blueprint` expression; this resync \
             will report failed and delete nothing",
            group.blueprint
        ),
        Refusal::Port { status, message } => tracing::warn!(
            kind,
            blueprint = %group.blueprint,
            status = ?status,
            example = %group.example,
            "Port refused entities: {message}"
        ),
    }
}

/// Runs a write job as a task on the runtime (it only waits on Port, so it needs no thread of
/// its own); it ends early with nothing done when the resync is cancelled.
fn spawn_write(
    writes: &mut JoinSet<WriteOutcome>,
    spec: Arc<WriteSpec>,
    batch: Vec<Entity>,
    fetched_at: Instant,
    run: &RunContext,
) {
    let cancel = run.cancel.token().clone();
    writes.spawn(async move {
        tokio::select! {
            outcome = write(spec, batch, Some(fetched_at)) => outcome,
            _ = cancel.cancelled() => WriteOutcome::default(),
        }
    });
}
