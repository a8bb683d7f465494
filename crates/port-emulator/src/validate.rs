//! Checks one incoming entity against its blueprint, the way Port rejects bad entities: the
//! identifier's pattern and length, every property's JSON type, `enum` and cheap formats, array
//! item types, relation names and shapes (`many` or not), required properties and relations.
//!
//! This module is pure: it turns the raw JSON into a [`Candidate`] whose search identifiers,
//! search relations and relation targets the store then resolves against what it holds. It
//! does not check formats that need outside knowledge (`user`, `team`, `markdown`, `yaml`,
//! `proto`, …), calculation/mirror/aggregation properties, or team existence.

use crate::model::{BlueprintRules, PropRule, PropType};
use crate::query::Query;
use axum::http::StatusCode;
use serde_json::{Map, Value};
use std::sync::LazyLock;

/// Port's entity identifier rule (its current API reference): letters of any script, digits
/// and `@ _ . + : \ / = ' -`, not `.` or `..`, at most 1000 characters.
static IDENTIFIER: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^[\p{L}0-9@_.+:\\/='\-]+$").unwrap_or_else(|e| panic!("{e}"))
});

/// The longest identifier Port accepts.
pub(crate) const MAX_IDENTIFIER_CHARS: usize = 1000;

/// Port's blueprint identifier rule.
static BLUEPRINT_IDENTIFIER: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^[A-Za-z0-9@_.:\\/=\-]+$").unwrap_or_else(|e| panic!("{e}"))
});

/// Why one entity of a request was refused.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EntityError {
    pub(crate) status: StatusCode,
    pub(crate) error: &'static str,
    pub(crate) message: String,
}

impl EntityError {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        EntityError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "invalid_request",
            message: message.into(),
        }
    }

    pub(crate) fn mismatch(message: impl Into<String>) -> Self {
        EntityError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "schema_mismatch",
            message: message.into(),
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        EntityError {
            status: StatusCode::NOT_FOUND,
            error: "not_found",
            message: message.into(),
        }
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        EntityError {
            status: StatusCode::CONFLICT,
            error: "identifier_taken",
            message: message.into(),
        }
    }
}

/// How an entity names itself.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum IdentifierSpec {
    Literal(String),
    /// A search query that must match exactly one existing entity of the blueprint.
    Search(Query),
}

/// One relation value as written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RelationSpec {
    Null,
    One(String),
    Many(Vec<String>),
    /// A search query over the relation's target blueprint.
    Search(Query),
}

/// An entity that passed the checks that need no stored data. `None` fields were absent from
/// the request (so a merge keeps the stored value).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Candidate {
    pub(crate) identifier: IdentifierSpec,
    pub(crate) title: Option<Value>,
    pub(crate) icon: Option<Value>,
    pub(crate) team: Option<Vec<String>>,
    pub(crate) properties: Option<Map<String, Value>>,
    pub(crate) relations: Option<Vec<(String, RelationSpec)>>,
}

/// Checks an entity identifier; the error is Port-like prose.
pub(crate) fn check_identifier(identifier: &str) -> Result<(), String> {
    if identifier.chars().count() > MAX_IDENTIFIER_CHARS {
        return Err(format!(
            "identifier must NOT have more than {MAX_IDENTIFIER_CHARS} characters"
        ));
    }
    if identifier == "." || identifier == ".." || !IDENTIFIER.is_match(identifier) {
        return Err(format!(
            "identifier {identifier:?} must match pattern \"^(?!\\.{{1,2}}$)[\\p{{L}}0-9@_.+:\\\\/='-]+$\""
        ));
    }
    Ok(())
}

/// Checks a blueprint identifier.
pub(crate) fn check_blueprint_identifier(identifier: &str) -> Result<(), String> {
    if BLUEPRINT_IDENTIFIER.is_match(identifier) {
        Ok(())
    } else {
        Err(format!(
            "identifier {identifier:?} must match pattern \"^[A-Za-z0-9@_.:\\\\/=-]+$\""
        ))
    }
}

/// Reads and checks an incoming entity against its blueprint's rules.
pub(crate) fn parse_candidate(
    raw: &Value,
    blueprint: &str,
    rules: &BlueprintRules,
) -> Result<Candidate, EntityError> {
    let Value::Object(map) = raw else {
        return Err(EntityError::invalid("an entity must be a JSON object"));
    };
    let identifier = match map.get("identifier") {
        Some(Value::String(id)) => {
            check_identifier(id).map_err(EntityError::invalid)?;
            IdentifierSpec::Literal(id.clone())
        }
        Some(query @ Value::Object(_)) => IdentifierSpec::Search(
            Query::parse(query)
                .map_err(|e| EntityError::invalid(format!("search identifier: {e}")))?,
        ),
        Some(_) => {
            return Err(EntityError::invalid(
                "identifier must be a string or a search query object",
            ));
        }
        None => {
            return Err(EntityError::invalid(
                "an entity must have required property 'identifier'",
            ));
        }
    };
    let title = optional_string(map, "title")?;
    let icon = optional_string(map, "icon")?;
    let team = match map.get("team") {
        None => None,
        Some(Value::Null) | Some(Value::Object(_)) => Some(Vec::new()),
        Some(Value::String(team)) => Some(vec![team.clone()]),
        Some(Value::Array(teams)) => Some(
            teams
                .iter()
                .map(|t| {
                    t.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| EntityError::invalid("team must list strings"))
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(_) => {
            return Err(EntityError::invalid(
                "team must be a string, a list of strings or a search query",
            ));
        }
    };
    let properties = match map.get("properties") {
        None | Some(Value::Null) => None,
        Some(Value::Object(props)) => {
            for (name, value) in props {
                let Some(rule) = rules.properties.get(name) else {
                    return Err(EntityError::mismatch(format!(
                        "property {name:?} does not exist in blueprint {blueprint:?}"
                    )));
                };
                check_value(rule, value)
                    .map_err(|e| EntityError::mismatch(format!("property {name:?} {e}")))?;
            }
            Some(props.clone())
        }
        Some(_) => return Err(EntityError::invalid("properties must be an object")),
    };
    let relations = match map.get("relations") {
        None | Some(Value::Null) => None,
        Some(Value::Object(relations)) => Some(
            relations
                .iter()
                .map(|(name, value)| {
                    let Some(rule) = rules.relations.get(name) else {
                        return Err(EntityError::mismatch(format!(
                            "relation {name:?} does not exist in blueprint {blueprint:?}"
                        )));
                    };
                    relation_spec(name, rule.many, value).map(|spec| (name.clone(), spec))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(_) => return Err(EntityError::invalid("relations must be an object")),
    };
    Ok(Candidate {
        identifier,
        title,
        icon,
        team,
        properties,
        relations,
    })
}

/// Checks that every required property and relation has a value in the final entity.
pub(crate) fn check_required(
    properties: &Map<String, Value>,
    relations: &Map<String, Value>,
    rules: &BlueprintRules,
) -> Result<(), EntityError> {
    for name in &rules.required {
        if properties.get(name).is_none_or(Value::is_null) {
            return Err(EntityError::mismatch(format!(
                "required property {name:?} is missing"
            )));
        }
    }
    for (name, rule) in &rules.relations {
        let empty = match relations.get(name) {
            None | Some(Value::Null) => true,
            Some(Value::Array(items)) => items.is_empty(),
            Some(_) => false,
        };
        if rule.required && empty {
            return Err(EntityError::mismatch(format!(
                "required relation {name:?} is missing"
            )));
        }
    }
    Ok(())
}

fn optional_string(map: &Map<String, Value>, key: &str) -> Result<Option<Value>, EntityError> {
    match map.get(key) {
        None => Ok(None),
        Some(v @ (Value::Null | Value::String(_))) => Ok(Some(v.clone())),
        Some(_) => Err(EntityError::invalid(format!("{key} must be a string"))),
    }
}

fn relation_spec(name: &str, many: bool, value: &Value) -> Result<RelationSpec, EntityError> {
    let check = |id: &str| {
        check_identifier(id).map_err(|e| EntityError::invalid(format!("relation {name:?}: {e}")))
    };
    match value {
        Value::Null => Ok(RelationSpec::Null),
        Value::String(id) => {
            check(id)?;
            Ok(if many {
                RelationSpec::Many(vec![id.clone()])
            } else {
                RelationSpec::One(id.clone())
            })
        }
        Value::Array(items) => {
            if !many {
                return Err(EntityError::mismatch(format!(
                    "relation {name:?} is not a \"many\" relation and must be a single identifier"
                )));
            }
            let ids = items
                .iter()
                .map(|item| match item {
                    Value::String(id) => check(id).map(|()| id.clone()),
                    _ => Err(EntityError::invalid(format!(
                        "relation {name:?} must list identifiers (strings)"
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(RelationSpec::Many(ids))
        }
        Value::Object(_) => Query::parse(value)
            .map(RelationSpec::Search)
            .map_err(|e| EntityError::invalid(format!("relation {name:?} search query: {e}"))),
        _ => Err(EntityError::invalid(format!(
            "relation {name:?} must be an identifier, a list of identifiers, a search query or null"
        ))),
    }
}

/// Checks one property value against its rule; `null` is always accepted (it unsets).
pub(crate) fn check_value(rule: &PropRule, value: &Value) -> Result<(), String> {
    if value.is_null() {
        return Ok(());
    }
    let type_ok = match rule.ty {
        PropType::String => value.is_string(),
        PropType::Number => value.is_number(),
        PropType::Boolean => value.is_boolean(),
        PropType::Object => value.is_object(),
        PropType::Array => value.is_array(),
        PropType::Unchecked => true,
    };
    if !type_ok {
        return Err(format!(
            "must be {}, got {}",
            type_name(rule.ty),
            json_type(value)
        ));
    }
    if let Some(allowed) = &rule.enumeration
        && !allowed.iter().any(|a| same(a, value))
    {
        return Err(format!(
            "must be equal to one of the allowed values {}, got {value}",
            Value::Array(allowed.clone())
        ));
    }
    if let (Some(format), Value::String(text)) = (&rule.format, value) {
        check_format(format, text)?;
    }
    if let (Some(items), Value::Array(values)) = (&rule.items, value) {
        for (i, item) in values.iter().enumerate() {
            check_value(items, item).map_err(|e| format!("item {i} {e}"))?;
        }
    }
    Ok(())
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn check_format(format: &str, text: &str) -> Result<(), String> {
    let ok = match format {
        "date-time" | "timer" => crate::clock::parse_iso(text).is_some(),
        "email" => {
            let mut parts = text.splitn(2, '@');
            let local = parts.next().unwrap_or_default();
            let domain = parts.next().unwrap_or_default();
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !text.contains(char::is_whitespace)
        }
        "url" | "uri" => url::Url::parse(text).is_ok(),
        "ipv4" => text.parse::<std::net::Ipv4Addr>().is_ok(),
        "ipv6" => text.parse::<std::net::Ipv6Addr>().is_ok(),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("must match format {format:?}, got {text:?}"))
    }
}

fn type_name(ty: PropType) -> &'static str {
    match ty {
        PropType::String => "string",
        PropType::Number => "number",
        PropType::Boolean => "boolean",
        PropType::Object => "object",
        PropType::Array => "array",
        PropType::Unchecked => "any",
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> BlueprintRules {
        BlueprintRules::from_blueprint(&json!({
            "identifier": "benchItem",
            "schema": {"properties": {
                "status": {"type": "string", "enum": ["OPEN", "CLOSED"]},
                "weight": {"type": "number"},
                "active": {"type": "boolean"},
                "ownerEmail": {"type": "string", "format": "email"},
                "createdAt": {"type": "string", "format": "date-time"},
                "link": {"type": "string", "format": "url"},
                "labels": {"type": "array", "items": {"type": "string"}},
                "meta": {"type": "object"}
            }, "required": ["status"]},
            "relations": {
                "group": {"target": "benchGroup", "many": false},
                "tags": {"target": "tag", "many": true},
                "owner": {"target": "user", "required": true}
            }
        }))
        .unwrap()
    }

    /// Parses `entity` and returns `Ok(())` or the error message.
    fn check(entity: Value, expected: Result<(), &str>) {
        let got = parse_candidate(&entity, "benchItem", &rules())
            .map(|_| ())
            .map_err(|e| e.message);
        match (&got, expected) {
            (Ok(()), Ok(())) => {}
            (Err(msg), Err(want)) if msg.contains(want) => {}
            _ => panic!("{entity}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn identifiers() {
        for ok in [
            "a",
            "ITEM-0000001",
            "a.b",
            "x@y.z",
            "a/b:c=d+e",
            "דוד",
            "o'brien",
        ] {
            assert_eq!(check_identifier(ok), Ok(()), "{ok}");
        }
        for bad in [".", "..", "", "has space", "a#b", "a?b", "a*b"] {
            assert!(check_identifier(bad).is_err(), "{bad}");
        }
        assert!(check_identifier(&"x".repeat(1000)).is_ok());
        assert!(check_identifier(&"x".repeat(1001)).is_err());
        assert!(check_blueprint_identifier("benchItem").is_ok());
        assert!(check_blueprint_identifier("bench item").is_err());
    }

    #[test]
    fn properties() {
        check(
            json!({"identifier": "a", "properties": {"status": "OPEN"}}),
            Ok(()),
        );
        check(
            json!({"identifier": "a", "properties": {"status": "DONE"}}),
            Err("allowed values"),
        );
        check(
            json!({"identifier": "a", "properties": {"weight": "12"}}),
            Err("property \"weight\" must be number, got string"),
        );
        check(
            json!({"identifier": "a", "properties": {"weight": null}}),
            Ok(()),
        );
        check(
            json!({"identifier": "a", "properties": {"active": 1}}),
            Err("boolean"),
        );
        check(
            json!({"identifier": "a", "properties": {"ownerEmail": "nobody"}}),
            Err("format \"email\""),
        );
        check(
            json!({"identifier": "a", "properties": {"ownerEmail": "a@b.io"}}),
            Ok(()),
        );
        check(
            json!({"identifier": "a", "properties": {"createdAt": "2024-01-01T00:00:00Z"}}),
            Ok(()),
        );
        check(
            json!({"identifier": "a", "properties": {"createdAt": "yesterday"}}),
            Err("date-time"),
        );
        check(
            json!({"identifier": "a", "properties": {"link": "not a url"}}),
            Err("url"),
        );
        check(
            json!({"identifier": "a", "properties": {"labels": ["x", 1]}}),
            Err("item 1 must be string"),
        );
        check(
            json!({"identifier": "a", "properties": {"meta": {"k": 1}}}),
            Ok(()),
        );
        check(
            json!({"identifier": "a", "properties": {"nope": 1}}),
            Err("property \"nope\" does not exist in blueprint \"benchItem\""),
        );
    }

    #[test]
    fn shapes() {
        check(json!({"identifier": 7}), Err("identifier must be a string"));
        check(json!({}), Err("required property 'identifier'"));
        check(json!("x"), Err("JSON object"));
        check(
            json!({"identifier": "a", "title": 3}),
            Err("title must be a string"),
        );
        check(json!({"identifier": "a", "team": ["t", 1]}), Err("team"));
        check(json!({"identifier": "a b"}), Err("must match pattern"));
        check(
            json!({"identifier": {"combinator": "and", "rules": [
                {"property": "$identifier", "operator": "=", "value": "a"}]}}),
            Ok(()),
        );
    }

    #[test]
    fn relations() {
        check(
            json!({"identifier": "a", "relations": {"group": "g1"}}),
            Ok(()),
        );
        check(
            json!({"identifier": "a", "relations": {"group": ["g1"]}}),
            Err("not a \"many\" relation"),
        );
        check(
            json!({"identifier": "a", "relations": {"tags": ["t1", "t2"]}}),
            Ok(()),
        );
        check(
            json!({"identifier": "a", "relations": {"tags": "t1"}}),
            Ok(()),
        );
        check(
            json!({"identifier": "a", "relations": {"group": null}}),
            Ok(()),
        );
        check(
            json!({"identifier": "a", "relations": {"nope": "x"}}),
            Err("relation \"nope\" does not exist"),
        );
        check(
            json!({"identifier": "a", "relations": {"group": "bad id"}}),
            Err("must match pattern"),
        );
        let many = parse_candidate(
            &json!({"identifier": "a", "relations": {"tags": "t1"}}),
            "benchItem",
            &rules(),
        )
        .unwrap();
        assert_eq!(
            many.relations,
            Some(vec![(
                "tags".to_owned(),
                RelationSpec::Many(vec!["t1".to_owned()])
            )])
        );
    }

    #[test]
    fn required() {
        let rules = rules();
        let props = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert!(
            check_required(
                &props(json!({"status": "OPEN"})),
                &props(json!({"owner": "u"})),
                &rules
            )
            .is_ok()
        );
        assert_eq!(
            check_required(
                &props(json!({"status": null})),
                &props(json!({"owner": "u"})),
                &rules
            )
            .unwrap_err()
            .message,
            "required property \"status\" is missing"
        );
        assert_eq!(
            check_required(&props(json!({"status": "OPEN"})), &Map::new(), &rules)
                .unwrap_err()
                .message,
            "required relation \"owner\" is missing"
        );
    }
}
