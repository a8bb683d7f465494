//! Mapping raw items offline, with everything a person needs to see what a mapping does: what
//! `ocean map` prints, what the mapping playground shows, and what Ocean would upsert for a kind
//! on a resync.
//!
//! This is the whole per-kind pipeline of Python Ocean's async-generator resync path, minus
//! Port: resources of the kind in config order, items-to-parse expansion, batches mapped with
//! the resync semantics, and a second pass with the live-event semantics (`parse_all`) for the
//! entities whose selector is false. [`map_resource`] is one resource of it, [`map_kind`] every
//! resource of a kind. It does no I/O.

use crate::config::{PortAppConfig, ResourceConfig};
use crate::engine::{
    BatchError, CompileProblem, CompiledResource, EngineOptions, ParentSkip, SelectorError,
};
use crate::jq::Val;
use indexmap::IndexMap;
use ocean_model::Entity;

/// What one resource gave for a list of items.
#[derive(Debug, Clone, Default)]
pub struct ResourceOutcome {
    /// Entities to upsert, in input order (empty for a batch Ocean fails, see `error`).
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
    /// Null fields whose expression failed: dotted path → jq's message for the first failure.
    pub field_errors: IndexMap<String, String>,
    /// Expressions that do not compile.
    pub compile_problems: Vec<CompileProblem>,
    /// Parents that items-to-parse expansion skipped.
    pub skipped_parents: Vec<ParentSkip>,
    /// Items fed to the mapper after expansion.
    pub items_mapped: usize,
    /// The first batch Ocean would fail on the resync path (nothing of that batch is upserted).
    pub error: Option<BatchError>,
}

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
    /// Null fields whose expression failed: dotted path → jq's message for the first failure.
    pub field_errors: IndexMap<String, String>,
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

/// Maps `items` (raw items of the resource's kind) through one resource: compiled once,
/// items-to-parse expansion, then every batch with the resync semantics and again with the
/// live-event semantics.
pub fn map_resource(
    resource: &ResourceConfig,
    items: &[Val],
    options: &EngineOptions,
) -> ResourceOutcome {
    let compiled = CompiledResource::compile(resource, options);
    let mut out = map_compiled_batch(&compiled, items.to_vec(), 0);
    out.compile_problems = compiled.compile_problems().to_vec();
    out
}

/// Maps one batch of raw items through a compiled resource, as [`map_resource`] does for the
/// whole input: items-to-parse expansion, then each expanded batch with the resync semantics
/// and, when some item's selector was false, again with the live-event semantics. `first_index`
/// is the input position of `items[0]`: skipped parents (and, without `itemsToParse`, selector
/// errors) are numbered from it. `compile_problems` is left empty.
pub fn map_compiled_batch(
    compiled: &CompiledResource,
    items: Vec<Val>,
    first_index: usize,
) -> ResourceOutcome {
    let mut out = ResourceOutcome {
        failed_selector_entities: Some(Vec::new()),
        ..ResourceOutcome::default()
    };
    let shift_selector_errors = !compiled.has_items_to_parse();
    let expansion = compiled.expand_items_to_parse(items);
    out.skipped_parents = expansion.skipped_parents;
    for p in &mut out.skipped_parents {
        p.item += first_index;
    }
    for batch in &expansion.batches {
        out.items_mapped += batch.len();
        let resync = compiled.map_items(batch, false);
        out.selector_dropped += resync.selector_dropped;
        out.selector_errors
            .extend(resync.selector_errors.into_iter().map(|mut e| {
                if shift_selector_errors {
                    e.item += first_index;
                }
                e
            }));
        out.skipped += resync.skipped;
        out.misconfigured.extend(resync.misconfigured);
        for (path, message) in resync.field_errors {
            out.field_errors.entry(path).or_insert(message);
        }
        let resync_failed = resync.batch_error.is_some();
        match resync.batch_error {
            Some(e) => {
                if out.error.is_none() {
                    out.error = Some(e);
                }
            }
            None => out.entities.extend(resync.entities),
        }
        // The live-event pass maps the items whose selector passes exactly as the resync pass
        // did (same entities, same batch error); only the items whose selector is false add
        // something: the deletion candidates, and possibly a batch error of their own.
        let live_failed = if resync.selector_dropped == 0 {
            resync_failed
        } else {
            let live = compiled.map_failed_selector_items(batch);
            if let Some(failed) = &mut out.failed_selector_entities {
                failed.extend(live.failed_selector_entities);
            }
            resync_failed || live.batch_error.is_some()
        };
        if live_failed {
            out.failed_selector_entities = None;
        }
    }
    out
}

impl ResourceOutcome {
    /// Appends the outcome of a later batch of the same resource (entities after entities,
    /// counts added, the first error kept).
    pub fn merge(&mut self, later: ResourceOutcome) {
        self.entities.extend(later.entities);
        match (
            &mut self.failed_selector_entities,
            later.failed_selector_entities,
        ) {
            (Some(all), Some(failed)) => all.extend(failed),
            (_, None) => self.failed_selector_entities = None,
            (None, Some(_)) => {}
        }
        self.selector_dropped += later.selector_dropped;
        self.selector_errors.extend(later.selector_errors);
        self.skipped += later.skipped;
        self.misconfigured.extend(later.misconfigured);
        for (path, message) in later.field_errors {
            self.field_errors.entry(path).or_insert(message);
        }
        self.compile_problems.extend(later.compile_problems);
        self.skipped_parents.extend(later.skipped_parents);
        self.items_mapped += later.items_mapped;
        if self.error.is_none() {
            self.error = later.error;
        }
    }
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
        let one = map_resource(resource, items, options);
        out.entities.extend(one.entities);
        match (
            &mut out.failed_selector_entities,
            one.failed_selector_entities,
        ) {
            (Some(all), Some(failed)) => all.extend(failed),
            (_, None) => out.failed_selector_entities = None,
            (None, Some(_)) => {}
        }
        out.selector_dropped += one.selector_dropped;
        out.selector_errors.extend(one.selector_errors);
        out.skipped += one.skipped;
        out.misconfigured.extend(one.misconfigured);
        for (path, message) in one.field_errors {
            out.field_errors.entry(path).or_insert(message);
        }
        out.compile_problems.extend(one.compile_problems);
        out.skipped_parents.extend(one.skipped_parents);
        out.items_mapped += one.items_mapped;
        if out.error.is_none() {
            out.error = one.error;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jq::read::Reader;

    const CONFIG: &str = r#"
resources:
  - kind: svc
    selector:
      query: .keep
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"a"'
          properties:
            n: .n | tonumber
  - kind: svc
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"b"'
"#;

    #[test]
    fn a_kind_is_its_resources_in_order() {
        let config = PortAppConfig::from_yaml_str(CONFIG, "test.yml").unwrap();
        let items = Reader::new()
            .parse_array(
                br#"[{"id": "x", "keep": true, "n": "1"}, {"id": "y", "keep": false, "n": "z"}]"#,
            )
            .unwrap();
        let options = EngineOptions::default();
        let first = map_resource(&config.resources[0], &items, &options);
        assert_eq!(first.entities.len(), 1);
        assert_eq!(first.selector_dropped, 1);
        assert_eq!(
            first.failed_selector_entities.as_ref().map(Vec::len),
            Some(1)
        );
        // The failing item was only mapped on the live-event path: the resync path saw no error.
        assert!(first.field_errors.is_empty());
        let kind = map_kind(&config, "svc", &items, &options);
        assert_eq!(kind.resources, 2);
        assert_eq!(kind.items_mapped, 4);
        let blueprints: Vec<String> = kind
            .entities
            .iter()
            .map(|e| e.blueprint.to_string())
            .collect();
        assert_eq!(blueprints, ["\"a\"", "\"b\"", "\"b\""]);
        assert_eq!(kind.selector_dropped, 1);
    }

    #[test]
    fn the_live_event_pass_sees_the_errors_of_items_whose_selector_is_false() {
        let config = PortAppConfig::from_yaml_str(
            r#"
resources:
  - kind: svc
    selector:
      query: .keep
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"a"'
          icon: .icon
"#,
            "test.yml",
        )
        .unwrap();
        let items = Reader::new()
            .parse_array(
                br#"[{"id": "x", "keep": true, "icon": "ok"}, {"id": "y", "keep": false, "icon": "ok"},
                     {"id": "z", "keep": false, "icon": ["bad"]}]"#,
            )
            .unwrap();
        let options = EngineOptions::default();
        let one = map_resource(&config.resources[0], &items[..2], &options);
        assert_eq!(one.entities.len(), 1);
        assert_eq!(one.failed_selector_entities.map(|f| f.len()), Some(1));
        let all = map_resource(&config.resources[0], &items, &options);
        // The resync path never maps `z`; the live-event path does and fails its batch.
        assert!(all.error.is_none());
        assert_eq!(all.entities.len(), 1);
        assert!(all.failed_selector_entities.is_none());
    }
}
