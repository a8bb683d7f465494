//! The changed-entity filter's comparison: is a freshly mapped entity different from the copy
//! Port holds, given how Port stores entities?
//!
//! Python Ocean's rules: `title` equal; `team` equal (lists compared sorted); `properties` and
//! `relations` equal as JSON, ignoring a key whose value is `null` in Port's copy and absent from
//! the mapped entity. `icon` is not compared. Entities using a search identifier or a search
//! relation are never filtered (the caller checks that).
//!
//! One deliberate difference: teams are normalised before comparing (absent or `null` = no team,
//! a single string = a one-element list). Port always answers a list, so under Python's rule an
//! entity whose team is mapped to a plain string (or to null) compares as changed on every
//! resync and is rewritten forever; here it compares equal when Port holds exactly that team.
//! Numbers keep their exact JSON form (`1` and `1.0` differ), as Python's `json.dumps` does.

use ocean_model::Entity;
use serde_json::{Map, Value};

/// Whether `mapped` must be written to Port given Port's current copy `in_port`.
pub fn is_changed(in_port: &Entity, mapped: &Entity) -> bool {
    if title(in_port) != title(mapped) {
        return true;
    }
    if teams(in_port.team.as_ref()) != teams(mapped.team.as_ref()) {
        return true;
    }
    !fields_equal(in_port.properties.as_ref(), mapped.properties.as_ref())
        || !fields_equal(in_port.relations.as_ref(), mapped.relations.as_ref())
}

/// One field that differs between Port's copy and the mapped entity: `title`, `team`,
/// `properties.NAME` or `relations.NAME`, with Port's value and the mapped one (`None`: absent).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    /// The field's path.
    pub field: String,
    /// Port's value.
    pub old: Option<Value>,
    /// The mapped value.
    pub new: Option<Value>,
}

/// The fields [`is_changed`] sees differ, by its rules: empty exactly when `is_changed` is
/// false.
pub fn changed_fields(in_port: &Entity, mapped: &Entity) -> Vec<FieldChange> {
    let mut out = Vec::new();
    if title(in_port) != title(mapped) {
        out.push(FieldChange {
            field: "title".into(),
            old: in_port.title.clone(),
            new: mapped.title.clone(),
        });
    }
    if teams(in_port.team.as_ref()) != teams(mapped.team.as_ref()) {
        out.push(FieldChange {
            field: "team".into(),
            old: in_port.team.clone(),
            new: mapped.team.clone(),
        });
    }
    for (name, port, mine) in [
        ("properties", &in_port.properties, &mapped.properties),
        ("relations", &in_port.relations, &mapped.relations),
    ] {
        let empty = Map::new();
        let port = port.as_ref().unwrap_or(&empty);
        let mine = mine.as_ref().unwrap_or(&empty);
        let mut keys: Vec<&String> = port
            .iter()
            .filter(|(k, v)| !v.is_null() || mine.contains_key(*k))
            .map(|(k, _)| k)
            .chain(mine.keys())
            .collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let (old, new) = (port.get(key), mine.get(key));
            if old != new {
                out.push(FieldChange {
                    field: format!("{name}.{key}"),
                    old: old.cloned(),
                    new: new.cloned(),
                });
            }
        }
    }
    out
}

fn title(entity: &Entity) -> &Value {
    entity.title.as_ref().unwrap_or(&Value::Null)
}

/// The team as a sorted list of its members (by their JSON text, so mixed values sort too).
fn teams(team: Option<&Value>) -> Vec<String> {
    let mut members: Vec<String> = match team {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(text).collect(),
        Some(other) => vec![text(other)],
    };
    members.sort();
    members
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Python's `are_entities_fields_equal(port, mapped)`: Port's `null` keys that the mapping does
/// not write are ignored; everything else must be equal (objects compare regardless of key
/// order at every depth). An absent map counts as empty.
fn fields_equal(in_port: Option<&Map<String, Value>>, mapped: Option<&Map<String, Value>>) -> bool {
    let empty = Map::new();
    let in_port = in_port.unwrap_or(&empty);
    let mapped = mapped.unwrap_or(&empty);
    let considered = in_port
        .iter()
        .filter(|(k, v)| !v.is_null() || mapped.contains_key(*k));
    let mut count = 0;
    for (key, value) in considered {
        count += 1;
        match mapped.get(key) {
            Some(other) if other == value => {}
            _ => return false,
        }
    }
    count == mapped.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entity(v: Value) -> Entity {
        let mut v = v;
        v["identifier"] = json!("a");
        v["blueprint"] = json!("svc");
        serde_json::from_value(v).unwrap()
    }

    fn check(in_port: Value, mapped: Value, changed: bool) {
        let (port, mine) = (entity(in_port.clone()), entity(mapped.clone()));
        assert_eq!(
            is_changed(&port, &mine),
            changed,
            "port {in_port} vs mapped {mapped}"
        );
        // The field-level view agrees with the verdict.
        assert_eq!(
            !changed_fields(&port, &mine).is_empty(),
            changed,
            "fields of port {in_port} vs mapped {mapped}"
        );
    }

    #[test]
    fn changed_fields_name_each_difference() {
        let fields = changed_fields(
            &entity(
                json!({"title": "A", "properties": {"x": 1, "gone": null, "y": 2},
                "relations": {"r": "t1"}}),
            ),
            &entity(
                json!({"title": "B", "properties": {"x": 1, "y": 3, "z": true},
                "relations": {"r": "t2"}}),
            ),
        );
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            names,
            ["title", "properties.y", "properties.z", "relations.r"]
        );
        assert_eq!(fields[1].old, Some(json!(2)));
        assert_eq!(fields[2].old, None);
        assert_eq!(fields[2].new, Some(json!(true)));
    }

    #[test]
    fn identical_entities_are_unchanged() {
        check(
            json!({"title": "A", "properties": {"x": 1, "y": {"b": 2, "a": [1, 2]}}, "relations": {"r": "t"}}),
            json!({"title": "A", "properties": {"y": {"a": [1, 2], "b": 2}, "x": 1}, "relations": {"r": "t"}}),
            false,
        );
        check(json!({}), json!({}), false);
        check(json!({"title": "🚀 A"}), json!({"title": "🚀 A"}), false);
    }

    #[test]
    fn titles_compare_exactly() {
        check(json!({"title": "A"}), json!({"title": "B"}), true);
        check(json!({"title": null}), json!({}), false);
        check(json!({"title": "A"}), json!({}), true);
    }

    #[test]
    fn nulls_in_port_are_ignored_only_when_the_mapping_omits_the_key() {
        check(
            json!({"properties": {"x": 1, "unset": null}}),
            json!({"properties": {"x": 1}}),
            false,
        );
        check(
            json!({"properties": {"x": null}}),
            json!({"properties": {"x": 0}}),
            true,
        );
        // A null the mapping writes is compared.
        check(
            json!({"properties": {"x": null}}),
            json!({"properties": {"x": null}}),
            false,
        );
        // A mapped null against a value in Port is a change.
        check(
            json!({"properties": {"x": 5}}),
            json!({"properties": {"x": null}}),
            true,
        );
        // A mapped key Port does not have is a change.
        check(
            json!({"properties": {}}),
            json!({"properties": {"x": null}}),
            true,
        );
        check(json!({}), json!({"properties": {"x": 1}}), true);
    }

    #[test]
    fn values_and_numbers_compare_as_json() {
        check(
            json!({"properties": {"x": 1}}),
            json!({"properties": {"x": 1.0}}),
            true,
        );
        check(
            json!({"properties": {"x": [1, 2]}}),
            json!({"properties": {"x": [2, 1]}}),
            true,
        );
        check(
            json!({"properties": {"x": "1"}}),
            json!({"properties": {"x": 1}}),
            true,
        );
    }

    #[test]
    fn relations_follow_the_same_rules() {
        check(
            json!({"relations": {"owner": "t1", "other": null}}),
            json!({"relations": {"owner": "t1"}}),
            false,
        );
        check(
            json!({"relations": {"owner": "t1"}}),
            json!({"relations": {"owner": "t2"}}),
            true,
        );
    }

    #[test]
    fn teams_compare_sorted_and_normalised() {
        check(
            json!({"team": ["b", "a"]}),
            json!({"team": ["a", "b"]}),
            false,
        );
        check(json!({"team": ["a"]}), json!({"team": ["a", "b"]}), true);
        check(json!({"team": ["a"]}), json!({"team": "a"}), false);
        check(json!({"team": []}), json!({"team": null}), false);
        check(json!({"team": []}), json!({}), false);
        check(json!({"team": ["a"]}), json!({"team": null}), true);
    }

    #[test]
    fn icon_is_not_compared() {
        check(json!({"icon": "Github"}), json!({"icon": "Gitlab"}), false);
    }
}
