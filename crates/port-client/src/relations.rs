//! How Port reads a relation value: an identifier, a list of them, or a search query whose
//! exact `$identifier =` rules (nested groups included) name targets too. The lifecycle uses it
//! to keep relation targets from stale deletion and to order failed upserts targets first.

use ocean_model::EntityKey;
use serde_json::Value;

/// The identifier keys a relation value may point at (`relation_target_identifier_keys`).
pub fn relation_target_keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Null => {}
        Value::Array(items) => {
            for item in items {
                target_keys_of_one(item, out);
            }
        }
        other => target_keys_of_one(other, out),
    }
}

fn target_keys_of_one(value: &Value, out: &mut Vec<String>) {
    out.push(EntityKey::new(&Value::Null, value).identifier);
    if let Value::Object(query) = value {
        exact_identifier_rules(query, out);
    }
}

fn exact_identifier_rules(query: &serde_json::Map<String, Value>, out: &mut Vec<String>) {
    let Some(Value::Array(rules)) = query.get("rules") else {
        return;
    };
    for rule in rules {
        let Value::Object(rule) = rule else { continue };
        if rule.get("rules").is_some_and(truthy) {
            exact_identifier_rules(rule, out);
        }
        if rule.get("property") == Some(&Value::from("$identifier"))
            && rule.get("operator") == Some(&Value::from("="))
        {
            if let Some(value) = rule.get("value") {
                out.push(EntityKey::new(&Value::Null, value).identifier);
            }
        }
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::String(s) => !s.is_empty(),
        Value::Number(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(value: Value) -> Vec<String> {
        let mut out = Vec::new();
        relation_target_keys(&value, &mut out);
        out
    }

    #[test]
    fn identifiers_lists_and_exact_rules_of_queries_are_targets() {
        assert_eq!(keys(json!("a")), ["a"]);
        assert_eq!(keys(json!(null)), Vec::<String>::new());
        assert_eq!(keys(json!(["a", "b"])), ["a", "b"]);
        let query = json!({"combinator": "and", "rules": [
            {"property": "$identifier", "operator": "=", "value": "x"},
            {"property": "$title", "operator": "=", "value": "not a target"},
            {"combinator": "or", "rules": [
                {"property": "$identifier", "operator": "=", "value": "y"}
            ]}
        ]});
        let got = keys(query);
        // The query itself (as a key) first, then its exact identifier rules.
        assert_eq!(&got[1..], ["x", "y"]);
    }
}
