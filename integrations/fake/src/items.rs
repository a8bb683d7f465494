//! The benchmark workload's records of kind `item`: a Rust port of `make_item` from
//! `tests/bench-workload/datagen.py`, record for record, so that the end-to-end benchmark maps exactly the
//! data Python Ocean was measured on. A test compares the two generators' JSON output.

use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime, macros::datetime};

const STATUSES: [&str; 4] = ["open", "in_progress", "blocked", "closed"];
const COLORS: [&str; 5] = ["red", "green", "blue", "yellow", "purple"];
const WORDS: [&str; 16] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    "kilo", "lima", "mike", "november", "oscar", "papa",
];
const BASE: OffsetDateTime = datetime!(2024-01-01 0:00 UTC);

/// Formats a timestamp as `datagen.py` does: `%Y-%m-%dT%H:%M:%SZ`.
fn iso(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Python's `round(x, 2)`: the double nearest to `x` rounded half-even at two decimals.
fn round2(x: f64) -> f64 {
    format!("{x:.2}").parse().unwrap_or(x)
}

/// The raw record number `i` of kind `item` at data revision `revision`.
pub fn make_item(i: u64, revision: u64) -> Value {
    let h = i.wrapping_mul(2_654_435_761) & 0xFFFF_FFFF;
    let created = BASE + Duration::minutes(7 * i as i64);
    let mut score = (h % 10_000) as f64 / 100.0;
    if revision != 0 && i % 20 == 0 {
        score = round2(score + 10.0 * revision as f64);
    }
    let user = h % 50;
    let description = if i % 7 == 0 {
        Value::Null
    } else {
        Value::String(format!(
            "Item {i}: {} {} {} {} and some more filler text to make the record realistic",
            WORDS[(h % 16) as usize],
            WORDS[((h >> 4) % 16) as usize],
            WORDS[((h >> 8) % 16) as usize],
            WORDS[((h >> 12) % 16) as usize],
        ))
    };
    let labels: Vec<Value> = (0..i % 4)
        .map(|k| {
            json!({
                "name": format!("label-{}", (i + k) % 20),
                "color": COLORS[((i + k) % 5) as usize],
            })
        })
        .collect();
    let mut item = Map::with_capacity(20);
    item.insert("id".into(), json!(i));
    item.insert("key".into(), json!(format!("ITEM-{i:07}")));
    item.insert("name".into(), json!(format!("Synthetic item {i}")));
    item.insert("description".into(), description);
    item.insert("status".into(), json!(STATUSES[(i % 4) as usize]));
    item.insert("priority".into(), json!(i % 5));
    item.insert("score".into(), json!(score));
    item.insert("active".into(), json!(i % 3 != 0));
    item.insert("archived".into(), json!(i % 10 == 9));
    item.insert("created_at".into(), json!(iso(created)));
    item.insert(
        "updated_at".into(),
        json!(iso(created + Duration::hours((h % 500) as i64))),
    );
    item.insert(
        "owner".into(),
        json!({
            "id": format!("user-{user}"),
            "name": format!("User {user}"),
            "email": format!("user{user}@example.com"),
            "team": {"id": format!("team-{}", i % 8), "name": format!("Team {}", i % 8)},
        }),
    );
    item.insert("labels".into(), Value::Array(labels));
    item.insert(
        "metrics".into(),
        json!({
            "lines": h % 5000,
            "coverage": (h % 101) as f64 / 100.0,
            "history": (0..3).map(|k| (h >> (3 * k)) % 100).collect::<Vec<_>>(),
        }),
    );
    item.insert(
        "group".into(),
        json!({"id": format!("group-{}", i % 25), "name": format!("Group {}", i % 25)}),
    );
    item.insert(
        "parent_key".into(),
        if i >= 10 {
            json!(format!("ITEM-{:07}", i / 10))
        } else {
            Value::Null
        },
    );
    item.insert(
        "links".into(),
        json!({
            "html": format!("https://example.invalid/items/{i}"),
            "api": format!("https://api.example.invalid/v1/items/{i}"),
        }),
    );
    item.insert("deleted_at".into(), Value::Null);
    Value::Object(item)
}
