//! One mapping resource through the pipeline: fetch → map → load (lifecycle.md §4.1).
//!
//! ```text
//!  fetcher pages ──take_until(cancel)──▶ examples (first 5 items, masked) ──▶ chunks of ≤ N items
//!      ──▶ map on the blocking pool (itemsToParse + JQ), `buffered(map_workers)`, order kept
//!      ──▶ bookkeeping on this task (counts, keys, problems) ──▶ load jobs (filter + upsert),
//!          at most `load_concurrency` in flight as tasks
//! ```
//!
//! Backpressure: the page stream is only polled while fewer than `map_workers` chunks are being
//! mapped and fewer than `load_concurrency` batches are loading, so at most
//! `map_workers + load_concurrency` chunks of a kind are in memory at any time, however many
//! items the kind has. Cancellation is checked between batches: once the resync's token is
//! cancelled the fetcher is dropped, in-flight loads are aborted and the kind reports what it
//! did so far.

use std::collections::HashMap;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use futures::StreamExt;
use ocean_mapping::engine::ParentSkip;
use ocean_mapping::{BatchOutcome, CompiledResource, ResourceConfig};
use ocean_model::Entity;
use serde_json::Value;
use tokio::task::JoinSet;

use super::load::{LoadOutcome, LoadSpec, load};
use super::{KindSink, ResyncEngine};
use crate::integration::{FetchContext, FetchError, Page};
use crate::metrics::{EntitiesFailed, EntitiesUpserted, ItemsFetched};
use crate::progress::KindProgress;
use crate::report::{FailureTally, KindCounts, KindReport, Refusal};

/// Raw examples sent to Port per kind.
pub const EXAMPLES_PER_KIND: usize = 5;

/// Errors kept in full per kind (the rest are counted).
const KEPT_ERRORS: usize = 10;

/// A chunk of raw items after mapping.
struct Mapped {
    /// When its page arrived from the fetcher (for the live-write fence).
    fetched_at: Instant,
    fetched: usize,
    outcomes: Vec<BatchOutcome>,
    skipped_parents: Vec<ParentSkip>,
}

/// Accumulates one kind's report.
struct KindState {
    report: KindReport,
    /// field → (expression, batches where it was null), in first-seen order.
    misconfigured: Vec<(String, Option<String>, u64)>,
    misconfigured_index: HashMap<String, usize>,
    selector_errors_logged: usize,
    skipped_parents_logged: usize,
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

impl ResyncEngine {
    /// Runs one resource; everything the reconciliation needs goes into `sink`.
    pub(super) async fn run_kind(
        &self,
        resource: &ResourceConfig,
        index: usize,
        spec: Arc<LoadSpec>,
        options: &Arc<serde_json::Map<String, Value>>,
        run: &super::RunContext,
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
            misconfigured: Vec::new(),
            misconfigured_index: HashMap::new(),
            selector_errors_logged: 0,
            skipped_parents_logged: 0,
            filter_warned: false,
        };
        tracing::info!(kind, index, "Syncing kind");
        if !self.integration.kinds().iter().any(|k| k == kind) {
            let message = format!(
                "kind '{kind}' is not implemented by this integration (it fetches: {})",
                self.integration.kinds().join(", ")
            );
            tracing::error!(kind, index, "{message}");
            state.error(message);
        } else {
            self.pipeline(
                resource, index, spec, options, run, sink, &progress, &mut state,
            )
            .await;
            self.log_misconfigured(resource, &state).await;
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
    async fn pipeline(
        &self,
        resource: &ResourceConfig,
        index: usize,
        spec: Arc<LoadSpec>,
        options: &Arc<serde_json::Map<String, Value>>,
        run: &super::RunContext,
        sink: &mut KindSink,
        progress: &Arc<KindProgress>,
        state: &mut KindState,
    ) {
        let kind = resource.kind.clone();
        let compiled = Arc::new(CompiledResource::compile(resource, &self.config.mapping));
        for problem in compiled.compile_problems() {
            tracing::warn!(kind = %kind, index, "{problem}");
        }
        let selector = serde_json::to_value(&resource.selector).unwrap_or(Value::Null);
        let ctx = FetchContext::new(
            kind.clone(),
            index,
            selector,
            Some(run.id.clone()),
            run.cancel.token().child_token(),
        )
        .with_app_options(options.clone());
        let pages = self
            .integration
            .fetch(ctx)
            .take_until(run.cancel.token().clone().cancelled_owned());

        // Stage 1: count, send examples, split big pages.
        let remaining_examples =
            Arc::new(AtomicUsize::new(if self.config.send_raw_data_examples {
                EXAMPLES_PER_KIND
            } else {
                0
            }));
        let chunk_items = if compiled.has_items_to_parse() {
            self.config.map_chunk_items_to_parse.max(1)
        } else {
            self.config.map_chunk_items.max(1)
        };
        let examples_client = spec.client.clone();
        let masker = self.masker.clone();
        let fetch_progress = progress.clone();
        let kind_for_examples = kind.clone();
        let metrics = self.metrics.clone();
        let pages = pages
            .then(move |page: Result<Page, FetchError>| {
                let remaining = remaining_examples.clone();
                let client = examples_client.clone();
                let masker = masker.clone();
                let kind = kind_for_examples.clone();
                let progress = fetch_progress.clone();
                let metrics = metrics.clone();
                async move {
                    let page = page?;
                    let fetched_at = Instant::now();
                    progress.add_fetched(page.len() as u64);
                    metrics.emit(ItemsFetched {
                        kind: &kind,
                        count: page.len() as u64,
                    });
                    let want = remaining.load(Ordering::Relaxed).min(page.len());
                    if want > 0 {
                        let examples: Vec<Value> =
                            page[..want].iter().map(|v| masker.mask_json(v)).collect();
                        match client.post_kind_examples(&kind, &examples).await {
                            Ok(()) => {
                                remaining.fetch_sub(want, Ordering::Relaxed);
                            }
                            Err(error) => {
                                tracing::warn!(kind = %kind, %error, "Could not send raw data examples to Port");
                            }
                        }
                    }
                    Ok((fetched_at, page))
                }
            })
            .flat_map(move |page: Result<(Instant, Page), FetchError>| {
                let (fetched_at, page) = match page {
                    Ok((at, page)) => (at, Ok(page)),
                    Err(e) => (Instant::now(), Err(e)),
                };
                futures::stream::iter(
                    split(page, chunk_items)
                        .into_iter()
                        .map(move |chunk| chunk.map(|c| (fetched_at, c))),
                )
            });

        // Stage 2: map on the blocking pool, several chunks at once, order kept.
        let map_compiled = compiled.clone();
        let mapped = pages
            .map(move |chunk: Result<(Instant, Page), FetchError>| {
                let compiled = map_compiled.clone();
                async move {
                    let (fetched_at, items) =
                        chunk.map_err(|e| format!("fetching failed: {}", e.chain()))?;
                    tokio::task::spawn_blocking(move || {
                        let (outcomes, skipped_parents) =
                            compiled.map_values_expanded(&items, false);
                        Mapped {
                            fetched_at,
                            fetched: items.len(),
                            outcomes,
                            skipped_parents,
                        }
                    })
                    .await
                    .map_err(|e| format!("mapping a batch panicked: {e}"))
                }
            })
            .buffered(self.config.map_workers.max(1));
        let mut mapped = pin!(mapped);

        // Stage 3: bookkeeping here, loads as tasks.
        let mut loads: JoinSet<LoadOutcome> = JoinSet::new();
        let mut source_done = false;
        let limit = self.config.load_concurrency.max(1);
        loop {
            if run.cancel.is_cancelled() {
                loads.abort_all();
                break;
            }
            if source_done && loads.is_empty() {
                break;
            }
            let can_pull = !source_done && loads.len() < limit;
            tokio::select! {
                Some(done) = loads.join_next(), if !loads.is_empty() => match done {
                    Ok(outcome) => self.record_load(outcome, sink, progress, state),
                    Err(e) if e.is_cancelled() => {}
                    Err(e) => state.error(format!("an upsert task panicked: {e}")),
                },
                next = mapped.next(), if can_pull => match next {
                    None => source_done = true,
                    Some(Err(message)) => {
                        tracing::error!(kind = %kind, index, "{message}");
                        state.error(message);
                        source_done = true;
                    }
                    Some(Ok(chunk)) => {
                        let fetched_at = chunk.fetched_at;
                        for job in self.record_mapped(chunk, sink, progress, state) {
                            spawn_load(
                                &mut loads,
                                spec.clone(),
                                job,
                                fetched_at,
                                run.cancel.token().clone(),
                            );
                        }
                    }
                },
                _ = run.cancel.token().cancelled() => {}
            }
        }
    }

    /// Books a mapped chunk; returns the entity batches to load.
    fn record_mapped(
        &self,
        chunk: Mapped,
        sink: &mut KindSink,
        progress: &KindProgress,
        state: &mut KindState,
    ) -> Vec<Vec<Entity>> {
        let kind = state.report.kind.clone();
        let counts = &mut state.report.counts;
        counts.fetched += chunk.fetched as u64;
        counts.skipped += chunk.skipped_parents.len() as u64;
        for skip in &chunk.skipped_parents {
            if state.skipped_parents_logged < 3 {
                state.skipped_parents_logged += 1;
                tracing::warn!(kind = %kind, "{}", skip.reason);
            }
        }
        let mut jobs = Vec::new();
        for outcome in chunk.outcomes {
            let counts = &mut state.report.counts;
            counts.skipped += (outcome.selector_dropped + outcome.skipped) as u64;
            counts.selector_errors += outcome.selector_errors.len() as u64;
            counts.misconfigured += outcome.misconfigured.len() as u64;
            for (field, expression) in outcome.misconfigured {
                match state.misconfigured_index.get(&field) {
                    Some(&i) => {
                        state.misconfigured[i].1 = expression;
                        state.misconfigured[i].2 += 1;
                    }
                    None => {
                        state
                            .misconfigured_index
                            .insert(field.clone(), state.misconfigured.len());
                        state.misconfigured.push((field, expression, 1));
                    }
                }
            }
            for error in &outcome.selector_errors {
                if state.selector_errors_logged < 5 {
                    state.selector_errors_logged += 1;
                    tracing::error!(kind = %kind, item = error.item, "Selector error: {}", error.message);
                }
            }
            for error in outcome.selector_errors {
                state.error(format!("selector error: {}", error.message));
            }
            if let Some(error) = outcome.batch_error {
                tracing::error!(kind = %kind, "A batch failed to map: {error}");
                state.error(format!("a batch failed to map: {error}"));
            }
            if outcome.entities.is_empty() {
                continue;
            }
            state.report.counts.mapped += outcome.entities.len() as u64;
            progress.add_mapped(outcome.entities.len() as u64);
            for entity in &outcome.entities {
                if !entity.uses_search_identifier() {
                    sink.seen.insert(entity.key());
                }
                if let Some(targets) = sink.relation_targets.as_mut() {
                    targets.record(entity);
                }
            }
            jobs.push(outcome.entities);
        }
        jobs
    }

    fn record_load(
        &self,
        outcome: LoadOutcome,
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
        self.metrics.emit(EntitiesUpserted {
            kind,
            count: outcome.upserted,
        });
        self.metrics.emit(EntitiesFailed {
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

    /// One line per field that evaluated to null, ERROR when the blueprint requires it.
    async fn log_misconfigured(&self, resource: &ResourceConfig, state: &KindState) {
        if state.misconfigured.is_empty() {
            return;
        }
        let literal = literal_blueprint(&resource.port.entity.mappings.blueprint);
        let blueprint = match &literal {
            Some(bp) => self.client.get_blueprint(bp).await.ok().flatten(),
            None => None,
        };
        let kind = &state.report.kind;
        for (field, expression, batches) in &state.misconfigured {
            let required = blueprint.as_ref().is_some_and(|bp| {
                if let Some(name) = field.strip_prefix("properties.") {
                    bp.schema.required.iter().any(|r| r == name)
                } else if let Some(name) = field.strip_prefix("relations.") {
                    bp.relations.get(name).is_some_and(|r| r.required)
                } else {
                    false
                }
            });
            let expression = expression.as_deref().unwrap_or("null");
            let message = format!(
                "Unable to find valid data for: '{field}': {expression} (null, missing, or misconfigured) in {batches} batch(es) of kind '{kind}'"
            );
            if required {
                tracing::error!(kind = %kind, field = %field, batches, "{message}");
            } else {
                tracing::warn!(kind = %kind, field = %field, batches, "{message}");
            }
        }
    }
}

/// The one line that says Port refuses entities for a reason, and what to do about it.
fn log_refusal(kind: &str, group: &crate::report::FailureGroup) {
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

/// Runs a load job as a task on the runtime (it only waits on Port, so it needs no thread of its
/// own); it ends early with nothing done when the resync is cancelled.
fn spawn_load(
    loads: &mut JoinSet<LoadOutcome>,
    spec: Arc<LoadSpec>,
    job: Vec<Entity>,
    fetched_at: Instant,
    cancel: tokio_util::sync::CancellationToken,
) {
    loads.spawn(async move {
        tokio::select! {
            outcome = load(spec, job, Some(fetched_at)) => outcome,
            _ = cancel.cancelled() => LoadOutcome::default(),
        }
    });
}

/// A page as chunks of at most `size` items (an error passes through).
fn split(page: Result<Page, FetchError>, size: usize) -> Vec<Result<Page, FetchError>> {
    let page = match page {
        Ok(page) => page,
        Err(e) => return vec![Err(e)],
    };
    if page.len() <= size {
        return vec![Ok(page)];
    }
    let mut chunks = Vec::with_capacity(page.len().div_ceil(size));
    let mut items = page.into_iter();
    loop {
        let chunk: Vec<Value> = items.by_ref().take(size).collect();
        if chunk.is_empty() {
            break;
        }
        chunks.push(Ok(chunk));
    }
    chunks
}

/// The blueprint of a mapping when it is a literal (`'"service"'`), as Python Ocean strips it.
fn literal_blueprint(expression: &str) -> Option<String> {
    let e = expression.trim();
    let inner = e
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| e.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))?;
    (!inner.is_empty() && !inner.contains(['"', '\'', '\\'])).then(|| inner.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pages_split_into_bounded_chunks() {
        let page: Page = (0..7).map(|i| json!(i)).collect();
        let chunks: Vec<usize> = split(Ok(page), 3)
            .into_iter()
            .map(|c| c.unwrap().len())
            .collect();
        assert_eq!(chunks, [3, 3, 1]);
        assert_eq!(split(Ok(vec![]), 3).len(), 1);
        assert!(split(Err(FetchError::new("x")), 3)[0].is_err());
    }

    #[test]
    fn literal_blueprints() {
        assert_eq!(literal_blueprint("\"service\"").as_deref(), Some("service"));
        assert_eq!(literal_blueprint(" 'svc' ").as_deref(), Some("svc"));
        assert_eq!(literal_blueprint(".kind"), None);
        assert_eq!(literal_blueprint("\"a\" + .b + \"c\""), None);
    }
}
