//! Port's search query language, the subset Ocean and its integrations use: nested `and`/`or`
//! groups of rules over `$identifier`, `$blueprint`, `$title`, `$team`, `$datasource`, `$icon`,
//! `$createdAt`, `$updatedAt` and property names, with the string, number and emptiness
//! operators.
//!
//! Used by `/v1/entities/search`, by search identifiers and by search relations. It evaluates a
//! query against one stored entity at a time; narrowing the candidates with indexes is the
//! store's job (see [`Query::narrowing`]). Relation rules (`relatedTo`), date presets and
//! `between` are not supported and are answered as invalid queries.

use crate::clock;
use crate::model::StoredEntity;
use serde_json::Value;
use std::cmp::Ordering;

/// A parsed search query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Query {
    /// `{"combinator": "and"|"or", "rules": [...]}`.
    Group { all: bool, rules: Vec<Query> },
    /// `{"property": ..., "operator": ..., "value": ...}`.
    Rule {
        property: String,
        operator: Operator,
        value: Value,
    },
}

/// The operators supported in rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operator {
    Eq,
    NotEq,
    In,
    NotIn,
    Contains,
    DoesNotContain,
    ContainsAny,
    BeginsWith,
    DoesNotBeginWith,
    EndsWith,
    DoesNotEndWith,
    IsEmpty,
    IsNotEmpty,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Operator {
    fn parse(text: &str) -> Option<Operator> {
        Some(match text {
            "=" => Operator::Eq,
            "!=" => Operator::NotEq,
            "in" => Operator::In,
            "notIn" => Operator::NotIn,
            "contains" => Operator::Contains,
            "doesNotContains" => Operator::DoesNotContain,
            "containsAny" => Operator::ContainsAny,
            "beginsWith" => Operator::BeginsWith,
            "doesNotBeginsWith" => Operator::DoesNotBeginWith,
            "endsWith" => Operator::EndsWith,
            "doesNotEndsWith" => Operator::DoesNotEndWith,
            "isEmpty" => Operator::IsEmpty,
            "isNotEmpty" => Operator::IsNotEmpty,
            ">" => Operator::Gt,
            ">=" => Operator::Gte,
            "<" => Operator::Lt,
            "<=" => Operator::Lte,
            _ => return None,
        })
    }

    fn needs_value(self) -> bool {
        !matches!(self, Operator::IsEmpty | Operator::IsNotEmpty)
    }
}

/// What a query says for sure about the blueprint and identifiers of any entity it matches,
/// so the store can use its indexes instead of scanning.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Narrowing {
    pub(crate) blueprint: Option<String>,
    pub(crate) identifiers: Option<Vec<String>>,
}

impl Query {
    /// Parses a query object; the error says which rule is wrong and why.
    pub(crate) fn parse(value: &Value) -> Result<Query, String> {
        Self::parse_at(value, "query")
    }

    fn parse_at(value: &Value, at: &str) -> Result<Query, String> {
        let Value::Object(map) = value else {
            return Err(format!("\"{at}\" must be an object"));
        };
        if let Some(combinator) = map.get("combinator") {
            let all = match combinator.as_str() {
                Some("and") => true,
                Some("or") => false,
                _ => return Err(format!("\"{at}.combinator\" must be \"and\" or \"or\"")),
            };
            let Some(Value::Array(rules)) = map.get("rules") else {
                return Err(format!("\"{at}\" must have required property 'rules'"));
            };
            let rules = rules
                .iter()
                .enumerate()
                .map(|(i, rule)| Self::parse_at(rule, &format!("{at}.rules[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Query::Group { all, rules });
        }
        if map.contains_key("rules") {
            return Err(format!("\"{at}\" must have required property 'combinator'"));
        }
        let Some(operator_text) = map.get("operator").and_then(Value::as_str) else {
            return Err(format!("\"{at}\" must have required property 'operator'"));
        };
        let Some(operator) = Operator::parse(operator_text) else {
            return Err(format!(
                "\"{at}.operator\" {operator_text:?} is not supported by the emulator"
            ));
        };
        let Some(property) = map.get("property").and_then(Value::as_str) else {
            return Err(format!(
                "\"{at}\" must have required property 'property' (a string)"
            ));
        };
        let value = match map.get("value") {
            Some(value) => value.clone(),
            None if operator.needs_value() => {
                return Err(format!("\"{at}\" must have required property 'value'"));
            }
            None => Value::Null,
        };
        if matches!(
            operator,
            Operator::In | Operator::NotIn | Operator::ContainsAny
        ) && !value.is_array()
        {
            return Err(format!(
                "\"{at}.value\" must be an array for {operator_text}"
            ));
        }
        Ok(Query::Rule {
            property: property.to_owned(),
            operator,
            value,
        })
    }

    /// Whether the entity satisfies the query.
    pub(crate) fn matches(&self, entity: &StoredEntity) -> bool {
        match self {
            Query::Group { all: true, rules } => rules.iter().all(|r| r.matches(entity)),
            Query::Group { all: false, rules } => rules.iter().any(|r| r.matches(entity)),
            Query::Rule {
                property,
                operator,
                value,
            } => {
                let field = field(entity, property);
                apply(*operator, &field, value)
            }
        }
    }

    /// The blueprint and identifiers every match must have, when the query pins them down
    /// through top-level `and` rules.
    pub(crate) fn narrowing(&self) -> Narrowing {
        let mut narrowing = Narrowing::default();
        let rules: &[Query] = match self {
            Query::Group { all: true, rules } => rules,
            rule @ Query::Rule { .. } => std::slice::from_ref(rule),
            Query::Group { all: false, .. } => return narrowing,
        };
        for rule in rules {
            let Query::Rule {
                property,
                operator,
                value,
            } = rule
            else {
                continue;
            };
            match (property.as_str(), operator, value) {
                ("$blueprint", Operator::Eq, Value::String(bp)) => {
                    narrowing.blueprint = Some(bp.clone());
                }
                ("$identifier", Operator::Eq, Value::String(id)) => {
                    narrowing.identifiers = Some(vec![id.clone()]);
                }
                ("$identifier", Operator::In, Value::Array(ids)) => {
                    narrowing.identifiers = Some(
                        ids.iter()
                            .filter_map(|id| id.as_str().map(str::to_owned))
                            .collect(),
                    );
                }
                _ => {}
            }
        }
        narrowing
    }
}

fn field(entity: &StoredEntity, property: &str) -> Value {
    match property {
        "$identifier" => Value::String(entity.identifier.clone()),
        "$blueprint" => Value::String(entity.blueprint.clone()),
        "$title" => entity.title.clone().unwrap_or(Value::Null),
        "$icon" => entity.icon.clone().unwrap_or(Value::Null),
        "$team" => Value::Array(entity.team.iter().cloned().map(Value::String).collect()),
        "$datasource" => Value::String(entity.datasource.clone()),
        "$createdAt" => Value::String(clock::iso(entity.created_at_micros)),
        "$updatedAt" => Value::String(clock::iso(entity.updated_at_micros)),
        name => entity.properties.get(name).cloned().unwrap_or(Value::Null),
    }
}

fn apply(operator: Operator, field: &Value, value: &Value) -> bool {
    match operator {
        Operator::Eq => equals(field, value),
        Operator::NotEq => !equals(field, value),
        Operator::In => in_list(field, value),
        Operator::NotIn => !in_list(field, value),
        Operator::Contains => contains(field, value),
        Operator::DoesNotContain => !contains(field, value),
        Operator::ContainsAny => value
            .as_array()
            .is_some_and(|wanted| wanted.iter().any(|w| contains(field, w))),
        Operator::BeginsWith => str_pair(field, value).is_some_and(|(f, v)| f.starts_with(v)),
        Operator::DoesNotBeginWith => {
            !str_pair(field, value).is_some_and(|(f, v)| f.starts_with(v))
        }
        Operator::EndsWith => str_pair(field, value).is_some_and(|(f, v)| f.ends_with(v)),
        Operator::DoesNotEndWith => !str_pair(field, value).is_some_and(|(f, v)| f.ends_with(v)),
        Operator::IsEmpty => is_empty(field),
        Operator::IsNotEmpty => !is_empty(field),
        Operator::Gt => compare(field, value) == Some(Ordering::Greater),
        Operator::Gte => matches!(
            compare(field, value),
            Some(Ordering::Greater | Ordering::Equal)
        ),
        Operator::Lt => compare(field, value) == Some(Ordering::Less),
        Operator::Lte => matches!(
            compare(field, value),
            Some(Ordering::Less | Ordering::Equal)
        ),
    }
}

/// Equality; numbers compare by value (`1` equals `1.0`), arrays match when any element does.
fn equals(field: &Value, value: &Value) -> bool {
    match (field, value) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Array(items), v) if !v.is_array() => items.iter().any(|i| equals(i, v)),
        (a, b) => a == b,
    }
}

fn in_list(field: &Value, list: &Value) -> bool {
    let Some(list) = list.as_array() else {
        return false;
    };
    match field {
        Value::Array(items) => items.iter().any(|i| list.iter().any(|v| equals(i, v))),
        f => list.iter().any(|v| equals(f, v)),
    }
}

fn contains(field: &Value, value: &Value) -> bool {
    match (field, value) {
        (Value::String(f), Value::String(v)) => f.contains(v.as_str()),
        (Value::Array(items), v) => items.iter().any(|i| equals(i, v) || contains_str(i, v)),
        _ => false,
    }
}

fn contains_str(item: &Value, value: &Value) -> bool {
    matches!((item, value), (Value::String(i), Value::String(v)) if i.contains(v.as_str()))
}

fn str_pair<'a>(field: &'a Value, value: &'a Value) -> Option<(&'a str, &'a str)> {
    Some((field.as_str()?, value.as_str()?))
}

fn is_empty(field: &Value) -> bool {
    match field {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Orders numbers by value, timestamps by time, other strings lexicographically.
fn compare(field: &Value, value: &Value) -> Option<Ordering> {
    match (field, value) {
        (Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        (Value::String(a), Value::String(b)) => match (clock::parse_iso(a), clock::parse_iso(b)) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => Some(a.as_str().cmp(b.as_str())),
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    fn entity() -> StoredEntity {
        let mut properties = Map::new();
        properties.insert("status".into(), json!("OPEN"));
        properties.insert("weight".into(), json!(42));
        properties.insert("labels".into(), json!(["red", "blue"]));
        properties.insert("description".into(), Value::Null);
        StoredEntity {
            blueprint: "benchItem".into(),
            identifier: "item-0000001".into(),
            title: Some(json!("Synthetic item 1")),
            icon: None,
            team: vec!["platform".into()],
            properties,
            relations: Map::new(),
            datasource: "port-ocean/fake/0.1.0/my-fake/exporter".into(),
            created_at_micros: 1_767_261_600_000_000,
            updated_at_micros: 1_767_261_600_000_000,
            created_by: "c".into(),
            updated_by: "c".into(),
        }
    }

    fn check(query: Value, expected: bool) {
        let parsed = Query::parse(&query).unwrap_or_else(|e| panic!("{query}: {e}"));
        assert_eq!(parsed.matches(&entity()), expected, "{query}");
    }

    #[test]
    fn operators() {
        let rule = |p: &str, o: &str, v: Value| json!({"property": p, "operator": o, "value": v});
        check(rule("$identifier", "=", json!("item-0000001")), true);
        check(rule("$identifier", "!=", json!("item-0000001")), false);
        check(
            rule("$identifier", "in", json!(["a", "item-0000001"])),
            true,
        );
        check(rule("$identifier", "notIn", json!(["a"])), true);
        check(rule("$blueprint", "=", json!("benchItem")), true);
        check(
            rule("$datasource", "contains", json!("port-ocean/fake/")),
            true,
        );
        check(
            rule("$datasource", "contains", json!("/my-fake/exporter")),
            true,
        );
        check(
            rule("$datasource", "contains", json!("/other/exporter")),
            false,
        );
        check(
            rule("$datasource", "beginsWith", json!("port-ocean/")),
            true,
        );
        check(rule("$datasource", "endsWith", json!("/exporter")), true);
        check(
            rule("$datasource", "doesNotEndsWith", json!("/gitops")),
            true,
        );
        check(rule("$title", "doesNotContains", json!("item")), false);
        check(rule("$team", "=", json!("platform")), true);
        check(rule("status", "=", json!("OPEN")), true);
        check(rule("weight", "=", json!(42.0)), true);
        check(rule("weight", ">", json!(41)), true);
        check(rule("weight", "<=", json!(41)), false);
        check(rule("labels", "contains", json!("red")), true);
        check(
            rule("labels", "containsAny", json!(["green", "blue"])),
            true,
        );
        check(rule("$createdAt", ">", json!("2025-12-31T00:00:00Z")), true);
        check(
            json!({"property": "description", "operator": "isEmpty"}),
            true,
        );
        check(
            json!({"property": "status", "operator": "isNotEmpty"}),
            true,
        );
        check(json!({"property": "missing", "operator": "isEmpty"}), true);
    }

    #[test]
    fn combinators() {
        check(
            json!({"combinator": "and", "rules": [
                {"property": "$identifier", "operator": "=", "value": "item-0000001"},
                {"property": "$blueprint", "operator": "=", "value": "benchItem"}
            ]}),
            true,
        );
        check(
            json!({"combinator": "and", "rules": [
                {"property": "$identifier", "operator": "=", "value": "item-0000001"},
                {"combinator": "or", "rules": [
                    {"property": "status", "operator": "=", "value": "CLOSED"},
                    {"property": "weight", "operator": "<", "value": 10}
                ]}
            ]}),
            false,
        );
        check(json!({"combinator": "or", "rules": []}), false);
        check(json!({"combinator": "and", "rules": []}), true);
    }

    #[test]
    fn rejects_malformed_queries() {
        let err = |q: Value| Query::parse(&q).unwrap_err();
        assert_eq!(
            err(json!({"rules": []})),
            "\"query\" must have required property 'combinator'"
        );
        assert!(err(json!({"combinator": "xor", "rules": []})).contains("combinator"));
        assert!(
            err(json!({"combinator": "and", "rules": [{"property": "a", "operator": "~", "value": 1}]}))
                .contains("query.rules[0].operator")
        );
        assert!(err(json!({"property": "a", "operator": "in", "value": "x"})).contains("array"));
        assert!(err(json!({"property": "a", "operator": "="})).contains("'value'"));
    }

    #[test]
    fn narrowing_from_top_level_and() {
        let q = Query::parse(&json!({"combinator": "and", "rules": [
            {"property": "$identifier", "operator": "in", "value": ["a", "b"]},
            {"property": "$blueprint", "operator": "=", "value": "svc"},
            {"property": "$datasource", "operator": "contains", "value": "x"}
        ]}))
        .unwrap();
        assert_eq!(
            q.narrowing(),
            Narrowing {
                blueprint: Some("svc".into()),
                identifiers: Some(vec!["a".into(), "b".into()])
            }
        );
        let or = Query::parse(&json!({"combinator": "or", "rules": [
            {"property": "$blueprint", "operator": "=", "value": "svc"}
        ]}))
        .unwrap();
        assert_eq!(or.narrowing(), Narrowing::default());
    }
}
