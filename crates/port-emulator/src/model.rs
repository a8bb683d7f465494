//! What the emulator stores, in the shapes tests inspect: entities with their datasource and
//! timestamps, resync-state history, ingested log/metric posts and the request log; and the
//! parsed form of a blueprint that entity validation needs.
//!
//! Blueprints themselves are kept as the JSON the client sent (Port echoes them back with a few
//! added fields); only the parts validation reads are parsed into [`BlueprintRules`].

use crate::clock;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// An entity as the emulator stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntity {
    /// The blueprint it belongs to.
    pub blueprint: String,
    /// Its identifier (unique within the blueprint).
    pub identifier: String,
    /// The title (`Some(Null)` when explicitly written as null, `None` when never written).
    pub title: Option<Value>,
    /// The icon, likewise.
    pub icon: Option<Value>,
    /// The owning teams.
    pub team: Vec<String>,
    /// Property values by property name, as written.
    pub properties: Map<String, Value>,
    /// Relation values by relation name: an identifier, a list of identifiers, or null.
    pub relations: Map<String, Value>,
    /// Who wrote it last: the `User-Agent` of the writing request, e.g.
    /// `port-ocean/fake/0.1.0/my-fake/exporter`.
    pub datasource: String,
    /// When it was first created, in microseconds since the Unix epoch.
    pub created_at_micros: i64,
    /// When it was last written, in microseconds since the Unix epoch.
    pub updated_at_micros: i64,
    /// The client id that wrote it first.
    pub created_by: String,
    /// The client id that wrote it last.
    pub updated_by: String,
}

/// The part of an entity kept as one JSON column.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct EntityBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) title: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) icon: Option<Value>,
    #[serde(default)]
    pub(crate) team: Vec<String>,
    #[serde(default)]
    pub(crate) properties: Map<String, Value>,
    #[serde(default)]
    pub(crate) relations: Map<String, Value>,
    #[serde(default, rename = "createdBy")]
    pub(crate) created_by: String,
    #[serde(default, rename = "updatedBy")]
    pub(crate) updated_by: String,
}

impl StoredEntity {
    /// Port's JSON for this entity. Every property and relation the blueprint declares is
    /// present, `null` when unset, as Port answers it (which is why Ocean ignores a `null` on
    /// Port's side that is absent from the freshly mapped entity).
    pub(crate) fn to_port_json(&self, rules: Option<&BlueprintRules>) -> Value {
        let mut properties = self.properties.clone();
        let mut relations = self.relations.clone();
        if let Some(rules) = rules {
            for name in rules.properties.keys() {
                properties.entry(name.clone()).or_insert(Value::Null);
            }
            for name in rules.relations.keys() {
                relations.entry(name.clone()).or_insert(Value::Null);
            }
        }
        json!({
            "identifier": self.identifier,
            "title": self.title.clone().unwrap_or(Value::Null),
            "icon": self.icon.clone().unwrap_or(Value::Null),
            "blueprint": self.blueprint,
            "team": self.team,
            "properties": properties,
            "relations": relations,
            "createdAt": clock::iso(self.created_at_micros),
            "createdBy": self.created_by,
            "updatedAt": clock::iso(self.updated_at_micros),
            "updatedBy": self.updated_by,
        })
    }

    /// The admin view: Port's JSON plus the datasource.
    pub(crate) fn to_admin_json(&self, rules: Option<&BlueprintRules>) -> Value {
        let mut value = self.to_port_json(rules);
        if let Value::Object(map) = &mut value {
            map.insert(
                "$datasource".to_owned(),
                Value::String(self.datasource.clone()),
            );
        }
        value
    }
}

/// One `PATCH …/resync-state` as received.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResyncStateRecord {
    /// The integration identifier.
    pub integration: String,
    /// The reported status: `running`, `completed`, `failed` or `aborted`.
    pub status: String,
    /// The whole body as sent.
    pub body: Value,
    /// When it was received, in microseconds since the Unix epoch.
    pub received_at_micros: i64,
}

/// One request to an ingest URL (logs, metrics, heartbeat, lakehouse) as received.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IngestRecord {
    /// Which integration's ingest URL was used.
    pub integration: String,
    /// `logs`, `metrics` or `lake`.
    pub channel: String,
    /// The HTTP method.
    pub method: String,
    /// The path below the channel's ingest URL (`/syncMetrics`, `/heartbeat`, … or empty).
    pub path: String,
    /// The JSON body (`null` when the body was empty or not JSON).
    pub body: Value,
    /// When it was received, in microseconds since the Unix epoch.
    pub received_at_micros: i64,
}

/// One request the emulator answered (admin routes excluded).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedRequest {
    /// The HTTP method.
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// The `User-Agent` header, if any.
    pub user_agent: Option<String>,
    /// The status the emulator answered.
    pub status: u16,
    /// Whether the answer was an injected fault (fail rate, rate limit, fail-next).
    pub injected_fault: bool,
    /// When it was received, in microseconds since the Unix epoch.
    pub received_at_micros: i64,
    /// How long answering it took (injected latency included), in microseconds.
    pub duration_micros: u64,
}

/// The JSON type a blueprint property declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PropType {
    String,
    Number,
    Boolean,
    Object,
    Array,
    /// A type this emulator does not check.
    Unchecked,
}

/// What validation checks of one property.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PropRule {
    pub(crate) ty: PropType,
    pub(crate) format: Option<String>,
    pub(crate) enumeration: Option<Vec<Value>>,
    pub(crate) items: Option<Box<PropRule>>,
}

/// What validation checks of one relation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RelationRule {
    pub(crate) target: String,
    pub(crate) many: bool,
    pub(crate) required: bool,
}

/// The parts of a blueprint that entity validation needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct BlueprintRules {
    pub(crate) properties: HashMap<String, PropRule>,
    pub(crate) required: Vec<String>,
    pub(crate) relations: HashMap<String, RelationRule>,
}

impl BlueprintRules {
    /// Reads the rules from a blueprint's JSON; an error names the offending key.
    pub(crate) fn from_blueprint(blueprint: &Value) -> Result<BlueprintRules, String> {
        let mut rules = BlueprintRules::default();
        let schema = match blueprint.get("schema") {
            None | Some(Value::Null) => None,
            Some(Value::Object(schema)) => Some(schema),
            Some(_) => return Err("\"schema\" must be an object".to_owned()),
        };
        if let Some(schema) = schema {
            match schema.get("properties") {
                None | Some(Value::Null) => {}
                Some(Value::Object(props)) => {
                    for (name, spec) in props {
                        let rule = prop_rule(spec)
                            .map_err(|e| format!("schema.properties.{name}: {e}"))?;
                        rules.properties.insert(name.clone(), rule);
                    }
                }
                Some(_) => return Err("\"schema.properties\" must be an object".to_owned()),
            }
            match schema.get("required") {
                None | Some(Value::Null) => {}
                Some(Value::Array(names)) => {
                    for name in names {
                        let Some(name) = name.as_str() else {
                            return Err("\"schema.required\" must list strings".to_owned());
                        };
                        rules.required.push(name.to_owned());
                    }
                }
                Some(_) => return Err("\"schema.required\" must be an array".to_owned()),
            }
        }
        match blueprint.get("relations") {
            None | Some(Value::Null) => {}
            Some(Value::Object(relations)) => {
                for (name, spec) in relations {
                    let Some(target) = spec.get("target").and_then(Value::as_str) else {
                        return Err(format!("relations.{name}.target must be a string"));
                    };
                    rules.relations.insert(
                        name.clone(),
                        RelationRule {
                            target: target.to_owned(),
                            many: spec.get("many").and_then(Value::as_bool).unwrap_or(false),
                            required: spec
                                .get("required")
                                .and_then(Value::as_bool)
                                .unwrap_or(false),
                        },
                    );
                }
            }
            Some(_) => return Err("\"relations\" must be an object".to_owned()),
        }
        Ok(rules)
    }
}

fn prop_rule(spec: &Value) -> Result<PropRule, String> {
    let Value::Object(spec) = spec else {
        return Err("must be an object".to_owned());
    };
    let ty = match spec.get("type").and_then(Value::as_str) {
        Some("string") => PropType::String,
        Some("number") | Some("integer") => PropType::Number,
        Some("boolean") => PropType::Boolean,
        Some("object") => PropType::Object,
        Some("array") => PropType::Array,
        Some(_) => PropType::Unchecked,
        None => return Err("\"type\" is required".to_owned()),
    };
    let enumeration = match spec.get("enum") {
        None | Some(Value::Null) => None,
        Some(Value::Array(values)) => Some(values.clone()),
        Some(_) => return Err("\"enum\" must be an array".to_owned()),
    };
    let items = match spec.get("items") {
        Some(items @ Value::Object(_)) if items.get("type").is_some() => Some(Box::new(
            prop_rule(items).map_err(|e| format!("items: {e}"))?,
        )),
        _ => None,
    };
    Ok(PropRule {
        ty,
        format: spec
            .get("format")
            .and_then(Value::as_str)
            .map(str::to_owned),
        enumeration,
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_bench_blueprint() {
        let bp = json!({
            "identifier": "benchItem", "title": "Bench Item",
            "schema": {"properties": {
                "status": {"type": "string", "enum": ["OPEN", "CLOSED"]},
                "labels": {"type": "array", "items": {"type": "string"}},
                "createdAt": {"type": "string", "format": "date-time"}
            }, "required": ["status"]},
            "relations": {"group": {"target": "benchGroup", "required": false, "many": false}}
        });
        let rules = BlueprintRules::from_blueprint(&bp).unwrap();
        assert_eq!(rules.required, vec!["status".to_owned()]);
        assert_eq!(rules.properties["status"].ty, PropType::String);
        assert_eq!(
            rules.properties["labels"].items.as_ref().map(|i| i.ty),
            Some(PropType::String)
        );
        assert_eq!(
            rules.properties["createdAt"].format.as_deref(),
            Some("date-time")
        );
        assert_eq!(rules.relations["group"].target, "benchGroup");
        assert!(!rules.relations["group"].many);
    }

    #[test]
    fn rejects_a_relation_without_target() {
        let bp = json!({"identifier": "a", "relations": {"r": {"many": true}}});
        assert_eq!(
            BlueprintRules::from_blueprint(&bp).unwrap_err(),
            "relations.r.target must be a string"
        );
    }

    #[test]
    fn fills_unset_properties_with_null() {
        let rules = BlueprintRules::from_blueprint(&json!({
            "schema": {"properties": {"a": {"type": "string"}}},
            "relations": {"r": {"target": "x"}}
        }))
        .unwrap();
        let entity = StoredEntity {
            blueprint: "b".into(),
            identifier: "e".into(),
            title: None,
            icon: None,
            team: vec![],
            properties: Map::new(),
            relations: Map::new(),
            datasource: "ds".into(),
            created_at_micros: 0,
            updated_at_micros: 0,
            created_by: "c".into(),
            updated_by: "c".into(),
        };
        let json = entity.to_port_json(Some(&rules));
        assert_eq!(json["properties"], json!({"a": null}));
        assert_eq!(json["relations"], json!({"r": null}));
        assert_eq!(json["updatedAt"], "1970-01-01T00:00:00.000Z");
    }
}
