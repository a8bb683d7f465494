//! The default blueprints of `.port/resources` in the shapes Port needs them written in.
//!
//! Port refuses a relation to a blueprint that does not exist yet, and a mirror or calculation
//! property over a relation that does not exist yet, so a set of blueprints that refer to each
//! other is created in three stages: every blueprint *bare* (no relations, no ownership, no
//! computed properties), then *with relations*, then *full*.
//!
//! A start can stop anywhere in between (a refusal after retries, a SIGKILL), leaving some
//! blueprints missing and others bare. So that the next start finishes the job without touching
//! what a user made, a default blueprint that already exists is only ever *completed*: the
//! properties, relations and computed properties it lacks are added, and nothing it has is
//! changed or removed ([`DefaultBlueprint::completion`]). Since Port's `PATCH` replaces each
//! top-level key it is given, a completion sends each changed section whole: what Port holds,
//! plus what was missing.

use serde_json::{Map, Value};

use crate::types::Blueprint;

/// Keys of a blueprint that refer to other blueprints' existence: left out of the bare stage.
const LINK_KEYS: [&str; 3] = ["relations", "ownership", "teamInheritance"];

/// Properties computed over relations: left out until the last stage.
const COMPUTED_KEYS: [&str; 3] = [
    "mirrorProperties",
    "calculationProperties",
    "aggregationProperties",
];

/// The stage of a staged creation or completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlueprintStage {
    /// Properties and relations (and ownership, team inheritance).
    Links,
    /// Mirror, calculation and aggregation properties.
    Computed,
}

/// A default blueprint, as written in `.port/resources/blueprints.json`.
#[derive(Clone, Debug, PartialEq)]
pub struct DefaultBlueprint {
    identifier: String,
    full: Map<String, Value>,
}

/// A default blueprint that is not an object with a string `identifier`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("default blueprint #{index} has no string `identifier`")]
pub struct InvalidDefaultBlueprint {
    /// Its position in the list.
    pub index: usize,
}

impl DefaultBlueprint {
    /// Reads the default blueprints of a resources folder, in order.
    pub fn parse_all(
        blueprints: &[Value],
    ) -> Result<Vec<DefaultBlueprint>, InvalidDefaultBlueprint> {
        blueprints
            .iter()
            .enumerate()
            .map(|(index, bp)| {
                let full = bp.as_object().cloned().unwrap_or_default();
                match full.get("identifier").and_then(Value::as_str) {
                    Some(id) if !id.is_empty() => Ok(DefaultBlueprint {
                        identifier: id.to_owned(),
                        full,
                    }),
                    _ => Err(InvalidDefaultBlueprint { index }),
                }
            })
            .collect()
    }

    /// Its identifier.
    pub fn identifier(&self) -> &str {
        &self.identifier
    }

    /// The body that creates it before any other blueprint exists: no relations, ownership,
    /// team inheritance or computed properties.
    pub fn bare(&self) -> Value {
        self.without(&[&LINK_KEYS[..], &COMPUTED_KEYS[..]].concat())
    }

    /// The body of a stage, to `PATCH` onto the bare blueprint this start created.
    pub fn stage(&self, stage: BlueprintStage) -> Value {
        match stage {
            BlueprintStage::Links => self.without(&COMPUTED_KEYS),
            BlueprintStage::Computed => Value::Object(self.full.clone()),
        }
    }

    /// The whole blueprint.
    pub fn full(&self) -> Value {
        Value::Object(self.full.clone())
    }

    /// The blueprints its relations point to (`relations.NAME.target`), itself included when
    /// it relates to itself.
    pub fn relation_targets(&self) -> Vec<&str> {
        self.full
            .get("relations")
            .and_then(Value::as_object)
            .map(|relations| {
                relations
                    .values()
                    .filter_map(|r| r.get("target").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The `PATCH` body that takes every relation, and every computed property that may read
    /// one, off the blueprint: what lets blueprints that relate to each other in a cycle be
    /// deleted one by one.
    pub fn unlinked() -> Value {
        let mut map = Map::new();
        map.insert("relations".into(), Value::Object(Map::new()));
        for key in COMPUTED_KEYS {
            map.insert(key.into(), Value::Object(Map::new()));
        }
        Value::Object(map)
    }

    fn without(&self, keys: &[&str]) -> Value {
        let mut map = self.full.clone();
        for key in keys {
            map.remove(*key);
        }
        Value::Object(map)
    }

    /// What an existing blueprint lacks of this one at `stage`, as a `PATCH` body that keeps
    /// everything it has: `None` when it lacks nothing.
    ///
    /// [`BlueprintStage::Links`] adds missing schema properties and relations, and ownership or
    /// team inheritance when the blueprint has none; [`BlueprintStage::Computed`] adds missing
    /// mirror, calculation and aggregation properties. Entries present on both sides are
    /// left exactly as Port holds them, even when they differ.
    pub fn completion(&self, existing: &Blueprint, stage: BlueprintStage) -> Option<Value> {
        let have = existing.raw.as_object();
        let have_key = |key: &str| have.and_then(|m| m.get(key));
        let mut patch = Map::new();
        match stage {
            BlueprintStage::Links => {
                let ours = self
                    .full
                    .get("schema")
                    .and_then(|s| s.get("properties"))
                    .and_then(Value::as_object);
                let theirs = have_key("schema")
                    .and_then(|s| s.get("properties"))
                    .and_then(Value::as_object);
                if let Some(properties) = union_if_missing(ours, theirs) {
                    let mut schema = have_key("schema")
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default();
                    schema.insert("properties".into(), Value::Object(properties));
                    schema
                        .entry("required")
                        .or_insert_with(|| Value::Array(Vec::new()));
                    patch.insert("schema".into(), Value::Object(schema));
                }
                if let Some(relations) = union_if_missing(
                    self.full.get("relations").and_then(Value::as_object),
                    have_key("relations").and_then(Value::as_object),
                ) {
                    patch.insert("relations".into(), Value::Object(relations));
                }
                for key in ["ownership", "teamInheritance"] {
                    if let Some(value) = self.full.get(key) {
                        if have_key(key).is_none_or(Value::is_null) {
                            patch.insert(key.into(), value.clone());
                        }
                    }
                }
            }
            BlueprintStage::Computed => {
                for key in COMPUTED_KEYS {
                    if let Some(merged) = union_if_missing(
                        self.full.get(key).and_then(Value::as_object),
                        have_key(key).and_then(Value::as_object),
                    ) {
                        patch.insert(key.into(), Value::Object(merged));
                    }
                }
            }
        }
        (!patch.is_empty()).then_some(Value::Object(patch))
    }
}

/// `theirs` with every entry of `ours` it lacks added, or `None` when it lacks none.
fn union_if_missing(
    ours: Option<&Map<String, Value>>,
    theirs: Option<&Map<String, Value>>,
) -> Option<Map<String, Value>> {
    let ours = ours?;
    let mut merged = theirs.cloned().unwrap_or_default();
    let mut added = false;
    for (name, value) in ours {
        if !merged.contains_key(name) {
            merged.insert(name.clone(), value.clone());
            added = true;
        }
    }
    added.then_some(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service() -> DefaultBlueprint {
        DefaultBlueprint::parse_all(&[json!({
            "identifier": "svc", "title": "Service",
            "schema": {"properties": {"lang": {"type": "string"}, "tier": {"type": "number"}}, "required": []},
            "relations": {"team": {"target": "team"}}, "ownership": {"type": "Direct"},
            "teamInheritance": {"path": "team"}, "mirrorProperties": {"m": {"path": "team.$title"}},
            "calculationProperties": {"c": {}}, "aggregationProperties": {"a": {}}
        })])
        .unwrap()
        .remove(0)
    }

    fn existing(v: Value) -> Blueprint {
        Blueprint::from_value(v).unwrap()
    }

    #[test]
    fn relation_targets_and_the_unlinking_body() {
        assert_eq!(service().relation_targets(), vec!["team"]);
        let plain = DefaultBlueprint::parse_all(&[json!({"identifier": "t"})]).unwrap();
        assert!(plain[0].relation_targets().is_empty());
        assert_eq!(
            DefaultBlueprint::unlinked(),
            json!({"relations": {}, "mirrorProperties": {}, "calculationProperties": {},
                "aggregationProperties": {}})
        );
    }

    #[test]
    fn stages_strip_in_order() {
        let bp = service();
        assert_eq!(
            bp.bare(),
            json!({"identifier": "svc", "title": "Service",
                "schema": {"properties": {"lang": {"type": "string"}, "tier": {"type": "number"}}, "required": []}})
        );
        let links = bp.stage(BlueprintStage::Links);
        assert!(links.get("relations").is_some() && links.get("ownership").is_some());
        assert!(links.get("mirrorProperties").is_none());
        assert_eq!(bp.stage(BlueprintStage::Computed), bp.full());
    }

    #[test]
    fn a_bare_blueprint_left_by_an_interrupted_start_is_completed() {
        let bp = service();
        let bare = existing(json!({"identifier": "svc", "title": "Service",
            "schema": {"properties": {"lang": {"type": "string"}, "tier": {"type": "number"}}, "required": []},
            "relations": {}, "createdAt": "2026-01-01T00:00:00Z"}));
        let links = bp.completion(&bare, BlueprintStage::Links).unwrap();
        assert_eq!(
            links,
            json!({"relations": {"team": {"target": "team"}}, "ownership": {"type": "Direct"},
                "teamInheritance": {"path": "team"}})
        );
        let computed = bp.completion(&bare, BlueprintStage::Computed).unwrap();
        assert_eq!(
            computed,
            json!({"mirrorProperties": {"m": {"path": "team.$title"}},
                "calculationProperties": {"c": {}}, "aggregationProperties": {"a": {}}})
        );
        // Once complete, nothing is left to add.
        let complete = existing(bp.full());
        assert_eq!(bp.completion(&complete, BlueprintStage::Links), None);
        assert_eq!(bp.completion(&complete, BlueprintStage::Computed), None);
    }

    #[test]
    fn what_a_user_made_is_kept() {
        let bp = service();
        let users = existing(json!({"identifier": "svc", "title": "My services",
            "schema": {"properties": {"lang": {"type": "number", "title": "Mine"}, "extra": {"type": "string"}},
                "required": ["extra"]},
            "relations": {"team": {"target": "squad"}, "owner": {"target": "user"}},
            "ownership": {"type": "Inherited", "path": "owner"}}));
        let links = bp.completion(&users, BlueprintStage::Links).unwrap();
        // Their `lang`, `extra`, `required`, relations and ownership are untouched; only the
        // missing `tier` property and the team inheritance are added.
        assert_eq!(
            links,
            json!({"schema": {"properties": {"lang": {"type": "number", "title": "Mine"},
                    "extra": {"type": "string"}, "tier": {"type": "number"}}, "required": ["extra"]},
                "teamInheritance": {"path": "team"}})
        );
    }

    #[test]
    fn blueprints_without_identifier_are_refused() {
        assert_eq!(
            DefaultBlueprint::parse_all(&[json!({"identifier": "a"}), json!({"title": "b"})]),
            Err(InvalidDefaultBlueprint { index: 1 })
        );
    }
}
