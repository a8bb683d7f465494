//! Mapping every resource of one kind over a list of raw items, offline: what `ocean map`
//! prints and what Ocean would upsert for that kind on a resync.
//!
//! This is the whole per-kind pipeline of Python Ocean's async-generator resync path, minus
//! Port: resources of the kind in config order, items-to-parse expansion, batches mapped with
//! the resync semantics, and a second pass with the live-event semantics (`parse_all`) for the
//! entities whose selector is false. It does no I/O.

use crate::config::PortAppConfig;
use crate::engine::{
    BatchError, CompileProblem, CompiledResource, EngineOptions, ParentSkip, SelectorError,
};
use crate::jq::Val;
use indexmap::IndexMap;
use ocean_model::Entity;

/// What one kind's items gave across all its resources.
#[derive(Debug, Clone, Default)]
pub struct KindOutcome {
    /// Entities to upsert, resource 0's first, each in input order.
    pub entities: Vec<Entity>,
    /// Entities of items whose selector was false, from the live-event path; `None` when that
    /// path failed a batch (Ocean raises there).
    pub failed_selector_entities: Option<Vec<Entity>>,
    /// Items whose selector gave false.
    pub selector_dropped: usize,
    /// Items whose selector errored or was not a boolean.
    pub selector_errors: Vec<SelectorError>,
    /// Items that passed the selector but had a falsy identifier or blueprint.
    pub skipped: usize,
    /// Null fields: dotted path → expression as written (`None` for a YAML-null field).
    pub misconfigured: IndexMap<String, Option<String>>,
    /// Expressions that do not compile, per resource.
    pub compile_problems: Vec<CompileProblem>,
    /// Parents that items-to-parse expansion skipped.
    pub skipped_parents: Vec<ParentSkip>,
    /// Items fed to the mapper after expansion.
    pub items_mapped: usize,
    /// Number of resources of the kind.
    pub resources: usize,
    /// The first batch Ocean would fail on the resync path (nothing of that batch is upserted).
    pub error: Option<BatchError>,
}

/// Maps `items` (raw items of `kind`) through every resource of that kind in `config`.
pub fn map_kind(
    config: &PortAppConfig,
    kind: &str,
    items: &[Val],
    options: &EngineOptions,
) -> KindOutcome {
    let mut out = KindOutcome {
        failed_selector_entities: Some(Vec::new()),
        ..KindOutcome::default()
    };
    for (_, resource) in config.resources_of_kind(kind) {
        out.resources += 1;
        let compiled = CompiledResource::compile(resource, options);
        out.compile_problems
            .extend(compiled.compile_problems().iter().cloned());
        let expansion = compiled.expand_items_to_parse(items.to_vec());
        out.skipped_parents.extend(expansion.skipped_parents);
        for batch in &expansion.batches {
            out.items_mapped += batch.len();
            let resync = compiled.map_items(batch, false);
            out.selector_dropped += resync.selector_dropped;
            out.selector_errors.extend(resync.selector_errors);
            out.skipped += resync.skipped;
            for (k, v) in resync.misconfigured {
                out.misconfigured.insert(k, v);
            }
            match resync.batch_error {
                Some(e) => {
                    if out.error.is_none() {
                        out.error = Some(e);
                    }
                }
                None => out.entities.extend(resync.entities),
            }
            let live = compiled.map_items(batch, true);
            match (&mut out.failed_selector_entities, live.batch_error) {
                (Some(failed), None) => failed.extend(live.failed_selector_entities),
                (_, Some(_)) => out.failed_selector_entities = None,
                (None, None) => {}
            }
        }
    }
    out
}
