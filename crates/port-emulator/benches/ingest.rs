//! Ingest throughput of the emulator: entities per second accepted through bulk upserts of 20
//! sent by Ocean's Rust Port client (`ocean-port-client`) with 8 requests in flight, for an
//! in-memory and a file-backed (WAL) emulator, first creating then updating the entities.
//!
//! The entities have the shape of the shared benchmark workload's `benchItem` (7 properties,
//! 2 relations), so validation and relation checks run as in a real resync. Run with
//! `cargo bench -p port-emulator --bench ingest`; `INGEST_ENTITIES` changes the count.

use ocean_model::Entity;
use ocean_port_client::{IntegrationIdentity, PortClient, PortClientConfig, UpsertOptions};
use port_emulator::EmulatorConfig;
use serde_json::json;
use std::time::Instant;

const CONCURRENT_REQUESTS: usize = 8;

fn blueprints() -> [serde_json::Value; 2] {
    [
        json!({"identifier": "benchGroup", "title": "Bench Group", "schema": {"properties": {}}}),
        json!({
            "identifier": "benchItem", "title": "Bench Item",
            "schema": {"properties": {
                "status": {"type": "string", "enum": ["OPEN", "IN_PROGRESS", "BLOCKED", "CLOSED"]},
                "weight": {"type": "number"},
                "ownerEmail": {"type": "string", "format": "email"},
                "labels": {"type": "array", "items": {"type": "string"}},
                "hotLabels": {"type": "array", "items": {"type": "string"}},
                "createdAt": {"type": "string", "format": "date-time"},
                "description": {"type": "string"}
            }, "required": ["status"]},
            "relations": {
                "group": {"target": "benchGroup", "required": false, "many": false},
                "parent": {"target": "benchItem", "required": false, "many": false}
            }
        }),
    ]
}

fn item(i: usize, revision: usize) -> Entity {
    let statuses = ["OPEN", "IN_PROGRESS", "BLOCKED", "CLOSED"];
    serde_json::from_value(json!({
        "identifier": format!("item-{i:07}"),
        "title": format!("Synthetic item {i} [{}]", statuses[i % 4]),
        "blueprint": "benchItem",
        "properties": {
            "status": statuses[i % 4],
            "weight": (i % 5) * 10 + revision,
            "ownerEmail": format!("user{}@example.com", i % 50),
            "labels": ["alpha", "bravo"],
            "hotLabels": if i % 3 == 0 { json!(["alpha"]) } else { json!([]) },
            "createdAt": "2024-01-01T00:00:00Z",
            "description": if i % 7 == 0 { json!(null) } else { json!(format!("Item {i}: some filler text to make the record realistic")) }
        },
        "relations": {
            "group": format!("group-{}", i % 50),
            "parent": if i % 10 == 0 || i == 0 { json!(null) } else { json!(format!("item-{:07}", i - 1)) }
        }
    }))
    .expect("a valid entity")
}

async fn run(label: &str, config: EmulatorConfig, count: usize) {
    let emulator = port_emulator::spawn(config).await.expect("emulator starts");
    let mut client_config = PortClientConfig::new(
        emulator.base_url(),
        emulator.client_id(),
        emulator.client_secret().clone(),
        IntegrationIdentity::new("fake", "0.1.0", "bench"),
    );
    client_config.bulk_upsert_concurrency = CONCURRENT_REQUESTS;
    let client = PortClient::new(client_config).expect("client builds");
    for blueprint in blueprints() {
        client
            .create_blueprint(&blueprint)
            .await
            .expect("blueprint");
    }
    let options = UpsertOptions::default();
    // Warm-up: connections, prepared statements, allocator.
    let warm: Vec<Entity> = (0..2_000).map(|i| item(count + i, 0)).collect();
    client
        .upsert_entities_bulk("benchItem", &warm, &options)
        .await;

    for (phase, revision) in [("create", 0), ("update", 1)] {
        let entities: Vec<Entity> = (0..count).map(|i| item(i, revision)).collect();
        let started = Instant::now();
        let outcomes = client
            .upsert_entities_bulk("benchItem", &entities, &options)
            .await;
        let elapsed = started.elapsed();
        let accepted = outcomes.iter().filter(|o| o.is_upserted()).count();
        assert_eq!(accepted, count, "every entity is accepted");
        println!(
            "ingest/{label}/{phase}: {count} entities in {:.2} s = {:.0} entities/s \
             (ocean-port-client, bulk requests of 20, {CONCURRENT_REQUESTS} in flight)",
            elapsed.as_secs_f64(),
            accepted as f64 / elapsed.as_secs_f64()
        );
    }
    let stored = emulator.entity_count("benchItem").await.expect("count");
    assert_eq!(stored as usize, count + 2_000);
    emulator.shutdown().await.expect("shutdown");
}

fn main() {
    let count: usize = std::env::var("INGEST_ENTITIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    runtime.block_on(async {
        run("memory", EmulatorConfig::default(), count).await;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let file = EmulatorConfig {
            db_path: Some(dir.path().join("bench.sqlite")),
            ..EmulatorConfig::default()
        };
        run("file-wal", file, count).await;
    });
}
