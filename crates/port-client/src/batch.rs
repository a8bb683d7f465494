//! How many entities go in one bulk upsert request (`port-api.md` §4.3.2): the first ten
//! entities are measured as Python's `json.dumps` would write them, the average is inflated by
//! half, and the chunk holds as many as fit the byte budget — never more than the count limit,
//! never fewer than one.
//!
//! Same numbers as Python Ocean, so the two produce the same requests for the same data.

use std::borrow::Borrow;

use ocean_model::Entity;

use crate::config::BulkLimits;
use crate::pyfmt::python_json_len;

/// Entities measured to estimate the size of one.
pub const SIZE_SAMPLE: usize = 10;

/// The safety factor applied to the measured average.
pub const SIZE_MULTIPLIER: f64 = 1.5;

/// The chunk size for a list of entities (1 for an empty list).
pub fn bulk_chunk_size<E: Borrow<Entity>>(entities: &[E], limits: &BulkLimits) -> usize {
    if entities.is_empty() {
        return 1;
    }
    let sample = &entities[..entities.len().min(SIZE_SAMPLE)];
    let total: usize = sample.iter().map(|e| python_json_len(e.borrow())).sum();
    let average = total as f64 / sample.len() as f64;
    let estimated = ((average * SIZE_MULTIPLIER) as usize).max(1);
    limits.max_entities.min(limits.max_bytes / estimated).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value, json};

    fn entity(id: &str, payload_bytes: usize) -> Entity {
        let mut props = Map::new();
        props.insert("blob".into(), Value::String("x".repeat(payload_bytes)));
        Entity {
            identifier: json!(id),
            blueprint: json!("svc"),
            properties: Some(props),
            ..Entity::default()
        }
    }

    fn check(entities: &[Entity], expected: usize) {
        assert_eq!(bulk_chunk_size(entities, &BulkLimits::default()), expected);
    }

    #[test]
    fn chunk_sizes_follow_the_reference_cases() {
        check(&[] as &[Entity], 1);
        let small: Vec<_> = (0..50).map(|i| entity(&format!("e{i}"), 10)).collect();
        check(&small, 20);
        // ~100 KB entities: 1 MiB / (1.5 × ~100 KB) = 6.
        let large: Vec<_> = (0..30).map(|i| entity(&format!("e{i}"), 100_000)).collect();
        let n = bulk_chunk_size(&large, &BulkLimits::default());
        assert!((5..=15).contains(&n), "{n}");
        assert_eq!(n, 6);
        // One entity bigger than the whole budget still goes, alone.
        check(&[entity("huge", 2_000_000)], 1);
    }

    #[test]
    fn estimate_uses_python_lengths_exactly() {
        // {"identifier": "a", "blueprint": "svc", "properties": {"blob": "xxxx"}} is 71 bytes in
        // Python; int(71 × 1.5) = 106; a 1060-byte budget fits 10, one byte less fits 9.
        let e = entity("a", 4);
        assert_eq!(crate::pyfmt::python_json_len(&e), 71);
        let limits = |max_bytes| BulkLimits {
            max_entities: 20,
            max_bytes,
        };
        let pair = [e.clone(), e];
        assert_eq!(bulk_chunk_size(&pair, &limits(1060)), 10);
        assert_eq!(bulk_chunk_size(&pair, &limits(1059)), 9);
    }

    #[test]
    fn only_the_first_ten_are_measured() {
        let mut entities: Vec<_> = (0..10).map(|i| entity(&format!("e{i}"), 10)).collect();
        entities.push(entity("big", 5_000_000));
        check(&entities, 20);
    }
}
