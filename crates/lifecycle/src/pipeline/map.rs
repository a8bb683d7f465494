//! Stage 2, map: chunks of raw items become entities on the blocking pool (`itemsToParse` and the
//! JQ mapping of `ocean-mapping`), several chunks at once, in order. The problems the mapping
//! returns as data — misconfigured fields, selector errors, skipped items — are booked here per
//! kind, and logged a bounded number of times.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use futures::{Stream, StreamExt};
use ocean_mapping::engine::ParentSkip;
use ocean_mapping::{BatchOutcome, CompiledResource, ResourceConfig};
use ocean_model::Entity;
use ocean_port_client::PortClient;

use super::fetch::Chunk;
use crate::report::KindCounts;

/// A chunk of raw items after mapping.
pub(super) struct Mapped {
    /// When its page arrived from the fetcher (for the live-write fence).
    pub fetched_at: Instant,
    pub fetched: usize,
    pub outcomes: Vec<BatchOutcome>,
    pub skipped_parents: Vec<ParentSkip>,
}

/// Why a chunk could not be mapped: its fetch failed, or the mapping task panicked.
#[derive(Debug, thiserror::Error)]
pub(super) enum MapError {
    /// The fetcher failed.
    #[error("fetching failed: {0}")]
    Fetch(String),
    /// The mapping task panicked.
    #[error("mapping a batch panicked: {0}")]
    Panicked(String),
}

/// Maps chunks on the blocking pool, `workers` at once, keeping their order.
pub(super) fn map_chunks(
    chunks: impl Stream<Item = Chunk> + Send + 'static,
    compiled: Arc<CompiledResource>,
    workers: usize,
) -> impl Stream<Item = Result<Mapped, MapError>> + Send + 'static {
    chunks
        .map(move |chunk| {
            let compiled = compiled.clone();
            async move {
                let (fetched_at, items) = chunk.map_err(|e| MapError::Fetch(e.chain()))?;
                tokio::task::spawn_blocking(move || {
                    let (outcomes, skipped_parents) = compiled.map_values_expanded(&items, false);
                    Mapped {
                        fetched_at,
                        fetched: items.len(),
                        outcomes,
                        skipped_parents,
                    }
                })
                .await
                .map_err(|e| MapError::Panicked(e.to_string()))
            }
        })
        .buffered(workers.max(1))
}

/// The mapping problems of one kind, accumulated over its chunks.
#[derive(Default)]
pub(super) struct Problems {
    /// field → (expression, batches where it was null), in first-seen order.
    misconfigured: Vec<(String, Option<String>, u64)>,
    misconfigured_index: HashMap<String, usize>,
    selector_errors_logged: usize,
    skipped_parents_logged: usize,
}

/// Books a mapped chunk's counters and problems; returns the entity batches to write and the
/// errors that fail the kind (selector errors, a batch that failed to map).
pub(super) fn record(
    kind: &str,
    chunk: Mapped,
    counts: &mut KindCounts,
    problems: &mut Problems,
) -> (Vec<Vec<Entity>>, Vec<String>) {
    counts.fetched += chunk.fetched as u64;
    counts.skipped += chunk.skipped_parents.len() as u64;
    for skip in &chunk.skipped_parents {
        if problems.skipped_parents_logged < 3 {
            problems.skipped_parents_logged += 1;
            tracing::warn!(kind, "{}", skip.reason);
        }
    }
    let mut batches = Vec::new();
    let mut errors = Vec::new();
    for outcome in chunk.outcomes {
        counts.skipped += (outcome.selector_dropped + outcome.skipped) as u64;
        counts.selector_errors += outcome.selector_errors.len() as u64;
        counts.misconfigured += outcome.misconfigured.len() as u64;
        for (field, expression) in outcome.misconfigured {
            match problems.misconfigured_index.get(&field) {
                Some(&i) => {
                    problems.misconfigured[i].1 = expression;
                    problems.misconfigured[i].2 += 1;
                }
                None => {
                    problems
                        .misconfigured_index
                        .insert(field.clone(), problems.misconfigured.len());
                    problems.misconfigured.push((field, expression, 1));
                }
            }
        }
        for error in &outcome.selector_errors {
            if problems.selector_errors_logged < 5 {
                problems.selector_errors_logged += 1;
                tracing::error!(kind, item = error.item, "Selector error: {}", error.message);
            }
        }
        for error in outcome.selector_errors {
            errors.push(format!("selector error: {}", error.message));
        }
        if let Some(error) = outcome.batch_error {
            tracing::error!(kind, "A batch failed to map: {error}");
            errors.push(format!("a batch failed to map: {error}"));
        }
        if outcome.entities.is_empty() {
            continue;
        }
        counts.mapped += outcome.entities.len() as u64;
        batches.push(outcome.entities);
    }
    (batches, errors)
}

/// One line per field that evaluated to null, ERROR when the blueprint requires it.
pub(super) async fn log_misconfigured(
    client: &PortClient,
    resource: &ResourceConfig,
    problems: &Problems,
) {
    if problems.misconfigured.is_empty() {
        return;
    }
    let literal = literal_blueprint(&resource.port.entity.mappings.blueprint);
    let blueprint = match &literal {
        Some(bp) => client.get_blueprint(bp).await.ok().flatten(),
        None => None,
    };
    let kind = &resource.kind;
    for (field, expression, batches) in &problems.misconfigured {
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

    #[test]
    fn literal_blueprints() {
        assert_eq!(literal_blueprint("\"service\"").as_deref(), Some("service"));
        assert_eq!(literal_blueprint(" 'svc' ").as_deref(), Some("svc"));
        assert_eq!(literal_blueprint(".kind"), None);
        assert_eq!(literal_blueprint("\"a\" + .b + \"c\""), None);
    }
}
