//! How many entities go in one bulk upsert request (`docs/port-api.md` §4.3.2): the first ten
//! entities are measured as Python's `json.dumps` would write them, the average is inflated by
//! half, and the chunk holds as many as fit the byte budget — never more than the count limit,
//! never fewer than one. Same numbers as Python Ocean, so the two produce the same requests for
//! the same data.
//!
//! Python's estimate looks at the first ten entities only, so a large entity further on could
//! make a request far bigger than the budget (Port answers 413). [`bulk_chunks`] therefore also
//! measures every request body as it will be sent and closes a chunk early rather than exceed
//! the budget: a request holds at most `max_entities` entities and at most `max_bytes` bytes,
//! unless it is a single entity that is larger than the budget on its own.

use std::borrow::Borrow;

use ocean_model::Entity;

use crate::config::BulkLimits;
use crate::pyfmt::{ByteCounter, python_json_len};

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

/// The bytes of a bulk upsert body around its entities: `{"entities":[` and `]}`.
const BODY_OVERHEAD: usize = r#"{"entities":[]}"#.len();

/// Splits `entities`, in order, into the chunks of bulk upsert requests: at most
/// [`bulk_chunk_size`] entities each (Python Ocean's chunking), and closed early where the next
/// entity would push the request body (compact JSON, as sent) past `max_bytes`. An entity larger
/// than the budget on its own goes alone. Empty input gives no chunks.
pub fn bulk_chunks<'a, E: Borrow<Entity>>(entities: &'a [E], limits: &BulkLimits) -> Vec<&'a [E]> {
    let size = bulk_chunk_size(entities, limits);
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut body = BODY_OVERHEAD;
    for (i, entity) in entities.iter().enumerate() {
        let len = compact_json_len(entity.borrow());
        let count = i - start;
        if count > 0 && (count >= size || body + 1 + len > limits.max_bytes) {
            chunks.push(&entities[start..i]);
            start = i;
            body = BODY_OVERHEAD + len;
        } else {
            body += len + usize::from(count > 0); // the comma before all but the first
        }
    }
    if start < entities.len() {
        chunks.push(&entities[start..]);
    }
    chunks
}

/// The length of `entity` serialised as the request body carries it.
fn compact_json_len(entity: &Entity) -> usize {
    let mut counter = ByteCounter(0);
    match serde_json::to_writer(&mut counter, entity) {
        Ok(()) => counter.0,
        // Entities are JSON values with string keys and cannot fail; count what was written.
        Err(_) => counter.0,
    }
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

    /// The request body exactly as the client sends it.
    fn body_len(chunk: &[&Entity]) -> usize {
        serde_json::to_vec(&crate::entities::BulkBody { entities: chunk })
            .expect("serialisable")
            .len()
    }

    #[test]
    fn a_large_entity_past_the_first_ten_closes_the_chunk() {
        // Python's estimate says 20 per request; the 600 KB entities would make 6 MB requests.
        let mut entities: Vec<_> = (0..10).map(|i| entity(&format!("e{i}"), 10)).collect();
        entities.extend((10..30).map(|i| entity(&format!("e{i}"), 600_000)));
        let refs: Vec<&Entity> = entities.iter().collect();
        let chunks = bulk_chunks(&refs, &BulkLimits::default());
        let sizes: Vec<usize> = chunks.iter().map(|c| c.len()).collect();
        assert_eq!(sizes[0], 11, "{sizes:?}");
        assert!(sizes[1..].iter().all(|n| *n == 1), "{sizes:?}");
        for c in &chunks {
            assert!(body_len(c) <= 1_048_576);
        }
        // Small entities still go twenty at a time, as in Python Ocean.
        let small: Vec<_> = (0..45).map(|i| entity(&format!("e{i}"), 10)).collect();
        let sizes: Vec<usize> = bulk_chunks(&small, &BulkLimits::default())
            .iter()
            .map(|c| c.len())
            .collect();
        assert_eq!(sizes, [20, 20, 5]);
        assert!(bulk_chunks(&[] as &[Entity], &BulkLimits::default()).is_empty());
    }

    mod generated {
        use super::*;
        use proptest::prelude::*;

        fn entities() -> impl Strategy<Value = Vec<Entity>> {
            let size = prop_oneof![8 => 0usize..2_000, 1 => 0usize..1_500_000];
            let id = prop_oneof![Just("id".to_owned()), "\\PC{0,12}", r#"[é✓"\\\n\x01]{0,6}"#];
            prop::collection::vec((id, size), 0..60).prop_map(|items| {
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, (id, n))| entity(&format!("{id}-{i}"), n))
                    .collect()
            })
        }

        fn limits() -> impl Strategy<Value = BulkLimits> {
            prop_oneof![
                Just(BulkLimits::default()),
                (1usize..25, 64usize..2_000_000).prop_map(|(max_entities, max_bytes)| BulkLimits {
                    max_entities,
                    max_bytes,
                }),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]

            /// Every upsert request holds at most `max_entities` entities and at most
            /// `max_bytes` bytes of body (a lone entity larger than that excepted), and the
            /// requests together carry every entity once, in order.
            #[test]
            fn upsert_requests_stay_within_the_limits(entities in entities(), limits in limits()) {
                let refs: Vec<&Entity> = entities.iter().collect();
                let chunks = bulk_chunks(&refs, &limits);
                let mut seen = 0;
                for chunk in &chunks {
                    prop_assert!(!chunk.is_empty());
                    prop_assert!(chunk.len() <= limits.max_entities);
                    let body = body_len(chunk);
                    prop_assert!(
                        body <= limits.max_bytes || chunk.len() == 1,
                        "{} entities in {} bytes over a {}-byte budget", chunk.len(), body, limits.max_bytes
                    );
                    for e in chunk.iter() {
                        prop_assert!(std::ptr::eq(*e, &entities[seen]));
                        seen += 1;
                    }
                }
                prop_assert_eq!(seen, entities.len());
            }
        }
    }
}
