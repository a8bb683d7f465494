//! Dependency order of entities: relation targets before the entities that reference them
//! (docs/lifecycle.md §4.3 step 1), for the one-by-one retry of failed upserts.
//!
//! A dependency is a relation value equal to another entity's identifier, matched on the
//! identifier alone (any blueprint, as Python Ocean does), plus the values of exact
//! `$identifier =` rules inside search-query relations (nested groups included).
//! Self-references are ignored. On a cycle the caller gets [`Cycle`] and decides (the retry then
//! goes in the original order).
//!
//! The order is deterministic: among entities whose dependencies are satisfied, the earliest in
//! the input comes first (Kahn's algorithm over input positions), so an input without
//! dependencies comes back unchanged.

use std::collections::{BTreeSet, HashMap};

use ocean_model::{Entity, EntityKey};
use ocean_port_client::relation_target_keys;

/// The entities form a dependency cycle; no order puts every target first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the entities depend on each other in a cycle ({} entities involved)", .0)]
pub struct Cycle(pub usize);

/// The positions of `entities` in dependency order (targets first), or [`Cycle`].
pub fn dependency_order(entities: &[Entity]) -> Result<Vec<usize>, Cycle> {
    let n = entities.len();
    let keys: Vec<EntityKey> = entities.iter().map(Entity::key).collect();
    let mut by_identifier: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, key) in keys.iter().enumerate() {
        by_identifier
            .entry(key.identifier.as_str())
            .or_default()
            .push(i);
    }
    // dependents[t] = entities that must come after t; pending[i] = unmet dependencies of i.
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut pending = vec![0usize; n];
    let mut targets = Vec::new();
    for (i, entity) in entities.iter().enumerate() {
        targets.clear();
        for value in entity.relations.iter().flat_map(|r| r.values()) {
            relation_target_keys(value, &mut targets);
        }
        let mut deps = BTreeSet::new();
        for target in &targets {
            for &j in by_identifier.get(target.as_str()).into_iter().flatten() {
                if keys[j] != keys[i] {
                    deps.insert(j);
                }
            }
        }
        for j in deps {
            dependents[j].push(i);
            pending[i] += 1;
        }
    }
    let mut ready: BTreeSet<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &d in &dependents[i] {
            pending[d] -= 1;
            if pending[d] == 0 {
                ready.insert(d);
            }
        }
    }
    if order.len() == n {
        Ok(order)
    } else {
        Err(Cycle(n - order.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn e(id: &str, relations: Value) -> Entity {
        serde_json::from_value(
            json!({"identifier": id, "blueprint": "svc", "relations": relations}),
        )
        .unwrap()
    }

    fn ids(entities: &[Entity]) -> Vec<String> {
        let order = dependency_order(entities).unwrap();
        order
            .iter()
            .map(|&i| entities[i].key().identifier)
            .collect()
    }

    #[test]
    fn independent_entities_keep_their_order() {
        let list = [e("a", json!({})), e("b", json!({})), e("c", json!({}))];
        assert_eq!(ids(&list), ["a", "b", "c"]);
        assert_eq!(dependency_order(&[]).unwrap(), Vec::<usize>::new());
    }

    #[test]
    fn targets_come_first_along_a_chain() {
        let list = [
            e("a", json!({"dep": "b"})),
            e("b", json!({"dep": "c"})),
            e("c", json!({})),
        ];
        assert_eq!(ids(&list), ["c", "b", "a"]);
    }

    #[test]
    fn self_references_and_unknown_targets_are_ignored() {
        let list = [
            e("a", json!({"me": "a", "x": "nowhere"})),
            e("b", json!({"dep": null})),
        ];
        assert_eq!(ids(&list), ["a", "b"]);
    }

    #[test]
    fn lists_and_exact_identifier_rules_count() {
        let list = [
            e("a", json!({"deps": ["x", "b"]})),
            e(
                "c",
                json!({"q": {"combinator": "and", "rules": [
                    {"property": "$title", "operator": "contains", "value": "a"},
                    {"combinator": "or", "rules": [
                        {"property": "$identifier", "operator": "=", "value": "d"}
                    ]}
                ]}}),
            ),
            e("b", json!({})),
            e("d", json!({})),
        ];
        assert_eq!(ids(&list), ["b", "a", "d", "c"]);
    }

    #[test]
    fn matches_identifiers_of_any_blueprint() {
        let other: Entity =
            serde_json::from_value(json!({"identifier": "t", "blueprint": "team"})).unwrap();
        let list = [e("a", json!({"owner": "t"})), other];
        assert_eq!(ids(&list), ["t", "a"]);
    }

    #[test]
    fn cycles_are_reported() {
        let list = [
            e("a", json!({"dep": "b"})),
            e("b", json!({"dep": "a"})),
            e("c", json!({})),
        ];
        assert_eq!(dependency_order(&list), Err(Cycle(2)));
    }
}
