//! One run of the playground: a port-app-config (YAML or JSON text) and raw items (JSON text)
//! in, a [`MapReport`] out — per resource of the chosen kind, the entities, each mapping field
//! with its expression and what went wrong with it, and the items the selector or the identifier
//! dropped. Mapping is `ocean_mapping::preview::map_resource`, the same engine and semantics as
//! a resync; this module only shapes its outcome for the page.

use ocean_mapping::PortAppConfig;
use ocean_mapping::config::{MappingValue, ResourceConfig};
use ocean_mapping::engine::EngineOptions;
use ocean_mapping::jq::Val;
use ocean_mapping::jq::read::Reader;
use ocean_mapping::preview::{ResourceOutcome, map_resource};
use serde::Serialize;
use serde_json::Value;

/// How many entities of one resource the report carries (the count is always complete).
pub const MAX_ENTITIES: usize = 200;

/// What the page shows for one edit.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MapReport {
    /// Why the config was rejected (with the line, for YAML), if it was.
    pub config_error: Option<String>,
    /// Why the items were rejected, if they were.
    pub items_error: Option<String>,
    /// The kinds the config has resources for, in config order, each once.
    pub kinds: Vec<String>,
    /// The kind the items were mapped as.
    pub kind: Option<String>,
    /// How many raw items were given.
    pub items: usize,
    /// One entry per resource of `kind`, in config order.
    pub resources: Vec<ResourceReport>,
}

/// One resource's outcome.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceReport {
    /// The resource's position in the config (0-based).
    pub index: usize,
    /// The resource's kind.
    pub kind: String,
    /// The selector expression.
    pub selector: String,
    /// The `itemsToParse` expression, if any.
    pub items_to_parse: Option<String>,
    /// Items fed to the mapper after items-to-parse expansion.
    pub items_mapped: usize,
    /// Items whose selector gave false (dropped).
    pub selector_dropped: usize,
    /// Items whose selector failed or gave a non-boolean.
    pub selector_errors: Vec<ItemProblem>,
    /// Items that passed the selector but whose identifier or blueprint was empty (skipped).
    pub skipped: usize,
    /// Parents items-to-parse expansion skipped.
    pub skipped_parents: Vec<ItemProblem>,
    /// Every mapping field, in mapping order.
    pub fields: Vec<FieldReport>,
    /// The entities (at most [`MAX_ENTITIES`]).
    pub entities: Vec<Value>,
    /// How many entities the resource produced.
    pub entity_count: usize,
    /// Why Ocean would fail the batch (nothing of it is upserted), if it would.
    pub batch_error: Option<String>,
}

/// A problem with one item.
#[derive(Debug, Clone, Serialize)]
pub struct ItemProblem {
    /// The item's position.
    pub item: usize,
    /// What happened, in Ocean's words.
    pub message: String,
}

/// One mapping field: where it is, its expression, and how it went.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldReport {
    /// Dotted path below the entity (`identifier`, `properties.url`, `relations.team`).
    pub path: String,
    /// The expression as written (a search query as JSON; `None` for a YAML null).
    pub expression: Option<String>,
    /// Whether the field was null for at least one mapped item (Ocean's "misconfigured").
    pub null: bool,
    /// In how many of the produced entities the field is null.
    pub null_entities: usize,
    /// jq's message: the compile error, or the first failure on an item.
    pub error: Option<String>,
    /// Whether `error` is a compile error (the expression is null for every item).
    pub compile_error: bool,
}

/// Maps `items_text` (a JSON array of raw items, or one item) as `kind` (default: the first
/// resource's) through every resource of that kind in `config_text`.
pub fn run(
    config_text: &str,
    items_text: &str,
    kind: Option<&str>,
    options: &EngineOptions,
) -> MapReport {
    let mut report = MapReport::default();
    let config = match load_config(config_text) {
        Ok(config) => config,
        Err(message) => {
            report.config_error = Some(message);
            return report;
        }
    };
    for resource in &config.resources {
        if !report.kinds.contains(&resource.kind) {
            report.kinds.push(resource.kind.clone());
        }
    }
    let kind = kind
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .or_else(|| report.kinds.first().cloned());
    report.kind = kind.clone();
    let items = match read_items(items_text) {
        Ok(items) => items,
        Err(message) => {
            report.items_error = Some(message);
            return report;
        }
    };
    report.items = items.len();
    let Some(kind) = kind else {
        return report;
    };
    for (index, resource) in config.resources_of_kind(&kind) {
        let outcome = map_resource(resource, &items, options);
        report
            .resources
            .push(resource_report(index, resource, outcome));
    }
    report
}

fn load_config(text: &str) -> Result<PortAppConfig, String> {
    if text.trim().is_empty() {
        return Err("The port-app-config is empty".to_owned());
    }
    if text.trim_start().starts_with('{') {
        if let Ok(value) = serde_json::from_str::<Value>(text) {
            return PortAppConfig::from_json(&value).map_err(|e| e.to_string());
        }
    }
    PortAppConfig::from_yaml_str(text, "port-app-config").map_err(|e| e.to_string())
}

fn read_items(text: &str) -> Result<Vec<Val>, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    let items = if trimmed.starts_with('{') {
        let mut bytes = Vec::with_capacity(trimmed.len() + 2);
        bytes.push(b'[');
        bytes.extend_from_slice(trimmed.as_bytes());
        bytes.push(b']');
        Reader::new().parse_array(&bytes)
    } else {
        Reader::new().parse_array(trimmed.as_bytes())
    }
    .map_err(|e| format!("The items are not a JSON array of objects: {e}"))?;
    if let Some((i, bad)) = items
        .iter()
        .enumerate()
        .find(|(_, v)| !matches!(v, Val::Obj(_)))
    {
        return Err(format!(
            "Item {i} is {}, but raw items must be JSON objects (Ocean rejects the whole page)",
            bad.type_name()
        ));
    }
    Ok(items)
}

/// Every mapping field of a resource as (path, expression), in mapping order.
fn fields(resource: &ResourceConfig) -> Vec<(String, Option<String>)> {
    let m = &resource.port.entity.mappings;
    let shown = |v: &MappingValue| match v {
        MappingValue::Expr(e) => e.clone(),
        MappingValue::Query(q) => serde_json::to_string(q).unwrap_or_default(),
    };
    let mut out = vec![("identifier".to_owned(), Some(shown(&m.identifier)))];
    if let Some(title) = &m.title {
        out.push(("title".to_owned(), title.clone()));
    }
    out.push(("blueprint".to_owned(), Some(m.blueprint.clone())));
    if let Some(icon) = &m.icon {
        out.push(("icon".to_owned(), icon.clone()));
    }
    if let Some(team) = &m.team {
        out.push(("team".to_owned(), team.as_ref().map(shown)));
    }
    for (name, expression) in m.properties.iter().flatten() {
        out.push((format!("properties.{name}"), Some(expression.clone())));
    }
    for (name, value) in m.relations.iter().flatten() {
        out.push((format!("relations.{name}"), Some(shown(value))));
    }
    out
}

/// The field's value in an entity's JSON (`properties.url` → `entity.properties.url`).
fn field_value<'a>(entity: &'a Value, path: &str) -> Option<&'a Value> {
    match path.split_once('.') {
        Some((section, name)) => entity.get(section)?.get(name),
        None => entity.get(path),
    }
}

fn resource_report(
    index: usize,
    resource: &ResourceConfig,
    outcome: ResourceOutcome,
) -> ResourceReport {
    let entity_count = outcome.entities.len();
    let entities: Vec<Value> = outcome
        .entities
        .iter()
        .map(|e| serde_json::to_value(e).unwrap_or_default())
        .collect();
    let fields = fields(resource)
        .into_iter()
        .map(|(path, expression)| {
            let compile = outcome
                .compile_problems
                .iter()
                .find(|p| {
                    p.field == format!("port.entity.mappings.{path}")
                        || p.field
                            .starts_with(&format!("port.entity.mappings.{path}."))
                })
                .map(|p| p.message.clone());
            // A search query's leaves report below the field's own path.
            let nested = format!("{path}.");
            let runtime = outcome.field_errors.get(&path).cloned().or_else(|| {
                outcome
                    .field_errors
                    .iter()
                    .find(|(p, _)| p.starts_with(&nested))
                    .map(|(p, m)| format!("{}: {m}", &p[path.len() + 1..]))
            });
            let null = outcome.misconfigured.contains_key(&path)
                || outcome.misconfigured.keys().any(|p| p.starts_with(&nested));
            let null_entities = entities
                .iter()
                .filter(|e| field_value(e, &path).is_none_or(Value::is_null))
                .count();
            FieldReport {
                path,
                expression,
                null,
                null_entities,
                compile_error: compile.is_some(),
                error: compile.or(runtime),
            }
        })
        .collect();
    ResourceReport {
        index,
        kind: resource.kind.clone(),
        selector: resource.selector.query.clone(),
        items_to_parse: resource.port.items_to_parse.clone(),
        items_mapped: outcome.items_mapped,
        selector_dropped: outcome.selector_dropped,
        selector_errors: outcome
            .selector_errors
            .into_iter()
            .map(|e| ItemProblem {
                item: e.item,
                message: e.message,
            })
            .collect(),
        skipped: outcome.skipped,
        skipped_parents: outcome
            .skipped_parents
            .into_iter()
            .map(|p| ItemProblem {
                item: p.item,
                message: p.reason,
            })
            .collect(),
        fields,
        entities: entities.into_iter().take(MAX_ENTITIES).collect(),
        entity_count,
        batch_error: outcome.error.map(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"resources:
  - kind: service
    selector:
      query: .active
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"service"'
          properties:
            language: .language
            port: .port | tonumber
            broken: .name |
          relations:
            team: .team
  - kind: team
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"team"'
"#;

    const ITEMS: &str = r#"[
      {"id": "a", "name": "A", "active": true, "language": "rust", "port": "80", "team": "t1"},
      {"id": "b", "name": "B", "active": true, "language": null, "port": "http", "team": "t1"},
      {"id": "c", "name": "C", "active": false},
      {"id": "", "name": "D", "active": true},
      {"id": "e", "active": "yes"}
    ]"#;

    fn field<'a>(r: &'a ResourceReport, path: &str) -> &'a FieldReport {
        r.fields.iter().find(|f| f.path == path).unwrap()
    }

    #[test]
    fn reports_entities_and_every_problem_next_to_its_field() {
        let report = run(CONFIG, ITEMS, Some("service"), &EngineOptions::default());
        assert_eq!(report.config_error, None);
        assert_eq!(report.kinds, ["service", "team"]);
        assert_eq!(report.items, 5);
        let [r] = report.resources.as_slice() else {
            panic!("{report:?}")
        };
        assert_eq!((r.index, r.selector.as_str()), (0, ".active"));
        assert_eq!(r.entity_count, 2);
        assert_eq!(r.entities[0]["properties"]["port"], 80);
        assert_eq!(r.selector_dropped, 1);
        assert_eq!(r.selector_errors.len(), 1);
        assert_eq!(r.selector_errors[0].item, 4);
        assert_eq!(r.skipped, 1);

        let paths: Vec<&str> = r.fields.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "identifier",
                "title",
                "blueprint",
                "properties.language",
                "properties.port",
                "properties.broken",
                "relations.team"
            ]
        );
        let language = field(r, "properties.language");
        assert!(language.null && language.error.is_none());
        assert_eq!(language.null_entities, 1);
        let port = field(r, "properties.port");
        assert_eq!(port.null_entities, 1);
        assert!(!port.compile_error);
        assert!(
            port.error.as_deref().unwrap().contains("\"http\""),
            "{port:?}"
        );
        let broken = field(r, "properties.broken");
        assert!(broken.compile_error && broken.error.is_some(), "{broken:?}");
        assert_eq!(broken.null_entities, 2);
        let id = field(r, "identifier");
        assert!(!id.null && id.error.is_none());
    }

    #[test]
    fn the_first_kind_is_the_default_and_one_object_is_one_item() {
        let report = run(CONFIG, r#"{"id": "t1"}"#, None, &EngineOptions::default());
        assert_eq!(report.kind.as_deref(), Some("service"));
        let report = run(
            CONFIG,
            r#"{"id": "t1"}"#,
            Some("team"),
            &EngineOptions::default(),
        );
        assert_eq!(report.resources[0].entity_count, 1);
        assert_eq!(report.resources[0].index, 1);
    }

    #[test]
    fn bad_config_and_bad_items_are_explained() {
        let report = run(
            "resources:\n  - kind: [",
            "[]",
            None,
            &EngineOptions::default(),
        );
        assert!(report.config_error.is_some());
        let report = run(CONFIG, "[1, {}]", None, &EngineOptions::default());
        assert_eq!(
            report.items_error.as_deref(),
            Some(
                "Item 0 is number, but raw items must be JSON objects (Ocean rejects the whole page)"
            )
        );
        let report = run(CONFIG, "[{", None, &EngineOptions::default());
        assert!(report.items_error.unwrap().starts_with("The items are not"));
        let report = run("", "[]", None, &EngineOptions::default());
        assert_eq!(
            report.config_error.as_deref(),
            Some("The port-app-config is empty")
        );
    }
}
