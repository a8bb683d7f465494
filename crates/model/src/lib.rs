//! The shared vocabulary of Ocean: the [`Entity`] a mapping produces and Port stores, and the
//! [`EntityKey`] that says when two entities are the same one.
//!
//! It also holds [`Secret`], the wrapper every credential travels in so that it never reaches a
//! log line, an error message or a `Debug` dump.
//!
//! [`python`] holds the two Python spellings several crates must reproduce exactly (`repr` of a
//! float, pydantic's boolean texts), so that each has one home.
//!
//! These are plain data types. The mapping engine builds them, the Port client puts them on the
//! wire, the lifecycle keeps their keys for reconciliation. Nothing here does I/O or evaluates JQ.

mod mask;
pub mod python;

pub use mask::{MIN_SECRET_LEN, Masker};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// One Port entity as Ocean sends it in an upsert (Port's wire shape, `docs/port-api.md` §4.3.1).
///
/// Only keys that the mapping wrote are present: `None` means "not mapped, omit the key", while
/// `Some(Value::Null)` means "mapped, evaluated to null, send `null`". `identifier` and
/// `blueprint` are normally strings, but a mapping may produce any JSON value (a search-query
/// object for the identifier, a number, ...) and Ocean forwards it unchanged, as Python Ocean does.
#[derive(Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Entity {
    /// The entity's identifier: a string, or a search query object resolved by Port.
    pub identifier: Value,
    /// The blueprint the entity belongs to.
    pub blueprint: Value,
    /// The title, when the mapping has one.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub title: Option<Value>,
    /// The icon (a string or null), when the mapping has one.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub icon: Option<Value>,
    /// The owning team(s): a string, a list, a search query object or null.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub team: Option<Value>,
    /// Property values by property name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Map<String, Value>>,
    /// Relation targets by relation name: an identifier, a list of them, or a search query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relations: Option<Map<String, Value>>,
}

/// Deserialises a key that is present in the JSON as `Some`, even when its value is `null`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

impl fmt::Debug for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The compact JSON form is what a person debugging a mapping wants to read.
        match serde_json::to_string(self) {
            Ok(json) => f.write_str(&json),
            Err(_) => f.write_str("<entity>"),
        }
    }
}

impl Entity {
    /// The key that identifies this entity in Port (`docs/mapping.md` §6).
    pub fn key(&self) -> EntityKey {
        EntityKey::new(&self.blueprint, &self.identifier)
    }

    /// Whether the identifier is a search query (an object) rather than a concrete identifier.
    pub fn uses_search_identifier(&self) -> bool {
        self.identifier.is_object()
    }

    /// Whether any relation value or the team is a search query object (`docs/mapping.md` §8).
    pub fn uses_search_relation(&self) -> bool {
        let relation_is_query = self
            .relations
            .as_ref()
            .is_some_and(|rels| rels.values().any(Value::is_object));
        let team_is_query = match &self.team {
            Some(Value::Object(_)) => true,
            Some(Value::Array(items)) => items.iter().any(Value::is_object),
            _ => false,
        };
        relation_is_query || team_is_query
    }
}

/// The identity of an entity: its blueprint and its normalised identifier (`docs/mapping.md` §6).
///
/// A string is used as it is; other scalars are written as JSON (`42` → `"42"`); an object
/// (search query) or array is written as JSON with sorted keys, so equal queries give equal keys.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EntityKey {
    /// The blueprint identifier.
    pub blueprint: String,
    /// The normalised entity identifier.
    pub identifier: String,
}

impl EntityKey {
    /// Builds the key of an entity from its blueprint and identifier values.
    pub fn new(blueprint: &Value, identifier: &Value) -> Self {
        EntityKey {
            blueprint: normalise(blueprint),
            identifier: normalise(identifier),
        }
    }

    /// Builds the key from plain strings, as Port returns them.
    pub fn from_strs(blueprint: impl Into<String>, identifier: impl Into<String>) -> Self {
        EntityKey {
            blueprint: blueprint.into(),
            identifier: identifier.into(),
        }
    }
}

impl fmt::Debug for EntityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.blueprint, self.identifier)
    }
}

impl fmt::Display for EntityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.blueprint, self.identifier)
    }
}

/// Writes a JSON value as the string form used in keys.
fn normalise(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Object(_) | Value::Array(_) => sorted_json(value),
        other => other.to_string(),
    }
}

/// Compact JSON with object keys sorted at every level.
fn sorted_json(value: &Value) -> String {
    fn sort(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.clone(), sort(v)))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    sort(value).to_string()
}

/// A credential (Port client secret, API token, webhook secret): readable on purpose through
/// [`Secret::expose`], never through `Debug`, `Display` or serialisation.
///
/// It deliberately implements neither `Display` nor `Serialize`, so a secret cannot end up in a
/// formatted message or a JSON document without an explicit `expose()` at the call site.
#[derive(Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The text shown instead of a secret wherever one would be printed.
    pub const REDACTED: &'static str = "[REDACTED]";

    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The credential itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the credential is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::REDACTED)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_and_null_keys_round_trip_differently() {
        let with_null: Entity =
            serde_json::from_value(json!({"identifier": "a", "blueprint": "b", "title": null}))
                .unwrap();
        assert_eq!(with_null.title, Some(Value::Null));
        assert_eq!(with_null.icon, None);
        assert_eq!(
            serde_json::to_value(&with_null).unwrap(),
            json!({"identifier": "a", "blueprint": "b", "title": null})
        );
    }

    #[test]
    fn secrets_do_not_debug_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "[REDACTED]");
        assert_eq!(s.expose(), "hunter2");
        let parsed: Secret = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(parsed.expose(), "abc");
    }

    #[test]
    fn keys_normalise_identifiers() {
        assert_eq!(
            EntityKey::new(&json!("svc"), &json!("a")),
            EntityKey::from_strs("svc", "a")
        );
        assert_eq!(EntityKey::new(&json!("svc"), &json!(42)).identifier, "42");
        let q1 = json!({"rules": [{"value": "x", "property": "p"}], "combinator": "and"});
        let q2 = json!({"combinator": "and", "rules": [{"property": "p", "value": "x"}]});
        assert_eq!(
            EntityKey::new(&json!("b"), &q1),
            EntityKey::new(&json!("b"), &q2)
        );
    }

    #[test]
    fn search_relations_are_detected_on_values() {
        let mut e = Entity {
            identifier: json!("a"),
            blueprint: json!("b"),
            ..Entity::default()
        };
        assert!(!e.uses_search_relation());
        e.team = Some(json!([{"combinator": "and", "rules": []}]));
        assert!(e.uses_search_relation());
    }
}
