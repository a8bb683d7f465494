//! Contract tests: Ocean's Rust Port client (`ocean-port-client`) against the emulator,
//! in-process, for every endpoint the client has — and the fault test: with 30 % of requests
//! answered 429/503 and the token expired mid-run, a 10,000-entity bulk upsert ends with exactly
//! those entities stored, once each, and the retries visible in the client's metrics.

use ocean_model::{Entity, EntityKey};
use ocean_port_client::{
    BulkLimits, CreateIntegration, DeleteOptions, DeleteOutcome, EventInfo, IntegrationIdentity,
    IntegrationPatch, PortClient, PortClientConfig, ResourcesOrigin, ResyncStateUpdate,
    ResyncStatus, RetryPolicy, SingleUpsert, UpsertOptions, UpsertOutcome, UserAgentFeature,
    port_retry_policy,
};
use port_emulator::{EmulatorConfig, RunningEmulator};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;
use time::OffsetDateTime;

const DATASOURCE: &str = "port-ocean/fake/0.1.0/my-fake/exporter";

fn fast_retries(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        base_delay: Duration::from_millis(1),
        max_backoff: Duration::from_millis(10),
        ..port_retry_policy()
    }
}

fn config_for(emulator: &RunningEmulator) -> PortClientConfig {
    let mut config = PortClientConfig::new(
        emulator.base_url(),
        emulator.client_id(),
        emulator.client_secret().clone(),
        IntegrationIdentity::new("fake", "0.1.0", "my-fake"),
    );
    config.retry = fast_retries(5);
    config
}

async fn start() -> (RunningEmulator, PortClient) {
    start_with(EmulatorConfig::default()).await
}

async fn start_with(config: EmulatorConfig) -> (RunningEmulator, PortClient) {
    let emulator = port_emulator::spawn(config).await.unwrap();
    let client = PortClient::new(config_for(&emulator)).unwrap();
    (emulator, client)
}

fn entity(value: Value) -> Entity {
    serde_json::from_value(value).unwrap()
}

fn service(id: &str, language: &str) -> Entity {
    entity(json!({
        "identifier": id, "blueprint": "service", "title": id.to_uppercase(),
        "properties": {"language": language, "stars": 3},
        "relations": {"team": "platform"}
    }))
}

async fn blueprints(client: &PortClient) {
    client
        .create_blueprint(
            &json!({"identifier": "team", "title": "Team", "schema": {"properties": {}}}),
        )
        .await
        .unwrap();
    client
        .create_blueprint(&json!({
            "identifier": "service", "title": "Service",
            "schema": {"properties": {
                "language": {"type": "string", "enum": ["go", "rust", "python"]},
                "stars": {"type": "number"}
            }, "required": []}
        }))
        .await
        .unwrap();
    client
        .patch_blueprint(
            "service",
            &json!({"relations": {"team": {"title": "Team", "target": "team", "required": false, "many": false}}}),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn organization_and_account() {
    let (emulator, client) = start_with(EmulatorConfig {
        feature_flags: vec!["USE_PROVISIONED_DEFAULTS".into()],
        provision_enabled: vec!["fake".into()],
        ..EmulatorConfig::default()
    })
    .await;
    client.authenticate().await.unwrap();
    let org = client.organization().await.unwrap();
    assert!(org.id.as_deref().is_some_and(|id| id.starts_with("org_")));
    assert!(!org.is_blocked);
    assert_eq!(
        client.feature_flags().await.unwrap(),
        vec!["USE_PROVISIONED_DEFAULTS"]
    );
    assert_eq!(client.organization_id().await.unwrap(), org.id.unwrap());
    assert_eq!(
        client.provision_enabled_integrations().await.unwrap(),
        vec!["fake"]
    );
    let kafka = client.kafka_credentials().await.unwrap();
    assert_eq!(kafka.username, "port-emulator");
    // Every call carried the integration's user agent.
    assert!(emulator.requests().iter().all(|r| {
        r.user_agent
            .as_deref()
            .is_some_and(|ua| ua.starts_with("port-ocean/fake/0.1.0/my-fake"))
    }));

    let wrong = PortClient::new(PortClientConfig {
        client_secret: "wrong".into(),
        retry: fast_retries(1),
        ..config_for(&emulator)
    })
    .unwrap();
    let err = wrong.authenticate().await.unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn integration_record_state_and_ingest() {
    let (emulator, client) = start().await;
    assert!(client.get_integration().await.unwrap().is_none());
    let config = json!({"resources": [{"kind": "item", "selector": {"query": "true"},
        "port": {"entity": {"mappings": {"identifier": ".id", "blueprint": "\"service\""}}}}]});
    let created = client
        .create_integration(&CreateIntegration {
            changelog_destination: json!({}),
            config: Some(config.clone()),
            actions_processing_enabled: false,
            incremental_sync_enabled: false,
            origin: ResourcesOrigin::Default,
        })
        .await
        .unwrap();
    assert_eq!(created.installation_id.as_deref(), Some("my-fake"));
    assert_eq!(created.installation_type.as_deref(), Some("OnPrem"));
    let read = client.get_integration().await.unwrap().unwrap();
    assert_eq!(read.config, Some(config));
    assert_eq!(read.installation_app_type.as_deref(), Some("fake"));
    assert_eq!(read.version.as_deref(), Some("0.1.0"));

    let patched = client
        .patch_integration(&IntegrationPatch {
            processing_mode: Some("ocean-core".into()),
            are_port_resources_initialized: Some(true),
            ..IntegrationPatch::default()
        })
        .await
        .unwrap();
    assert_eq!(patched.processing_mode.as_deref(), Some("ocean-core"));
    assert_eq!(patched.are_port_resources_initialized, Some(true));

    assert!(client.resync_request().await.unwrap().is_none());
    client
        .patch_integration_config(&json!({"resources": []}), false)
        .await
        .unwrap();
    let request = client
        .resync_request()
        .await
        .unwrap()
        .expect("a config change asks for a resync");
    assert!(request.updated_at.is_some());

    let now = OffsetDateTime::now_utc();
    let watermark = client
        .update_resync_state(&ResyncStateUpdate::before_resync(now, Some(60), now))
        .await
        .unwrap();
    assert!(watermark.is_some());
    client
        .update_resync_state(&ResyncStateUpdate::after_resync(
            ResyncStatus::Completed,
            now,
            None,
            now,
        ))
        .await
        .unwrap();
    let states = emulator.resync_states("my-fake").await.unwrap();
    let statuses: Vec<&str> = states.iter().map(|s| s.status.as_str()).collect();
    assert_eq!(statuses, vec!["running", "completed"]);
    assert_eq!(states[0].body["intervalInMinuets"], 60);
    assert!(states[0].body["lastResyncStart"].is_string());
    let current = client.get_integration().await.unwrap().unwrap();
    assert_eq!(
        current.resync_state.unwrap().status.as_deref(),
        Some("completed")
    );

    client
        .post_kind_examples("item", &[json!({"id": 1}), json!({"id": 2})])
        .await
        .unwrap();
    assert_eq!(
        emulator.kind_examples("my-fake", "item").await.unwrap(),
        Some(json!([{"id": 1}, {"id": 2}]))
    );

    assert_eq!(client.get_cursor("item", 0).await.unwrap(), None);
    client
        .save_cursor("item", 0, "2026-01-01T00:00:00+00:00")
        .await
        .unwrap();
    client
        .save_cursor("item", 0, "2026-02-01T00:00:00+00:00")
        .await
        .unwrap();
    assert_eq!(
        client.get_cursor("item", 0).await.unwrap().as_deref(),
        Some("2026-02-01T00:00:00+00:00")
    );

    let logs = current.log_attributes.unwrap().ingest_url.unwrap();
    let metrics = current.metric_attributes.unwrap().ingest_url.unwrap();
    client
        .ingest_logs(&logs, &[json!({"message": "hello", "level": "INFO"})])
        .await
        .unwrap();
    client
        .post_sync_metrics(&metrics, &[json!({"kind": "item"})])
        .await
        .unwrap();
    client
        .put_kind_metrics(&metrics, "event-1", "item-0", &json!({"kind": "item"}))
        .await
        .unwrap();
    client.post_heartbeat(&metrics, "event-1").await.unwrap();
    let ingested: Vec<(String, String, String)> = emulator
        .ingested()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.channel, r.method, r.path))
        .collect();
    let own = |c: &str, m: &str, p: &str| (c.to_owned(), m.to_owned(), p.to_owned());
    assert_eq!(
        ingested,
        vec![
            own("logs", "POST", ""),
            own("metrics", "POST", "/syncMetrics"),
            own("metrics", "PUT", "/syncMetrics/resync/event-1/kind/item-0"),
            own("metrics", "POST", "/heartbeat"),
        ]
    );

    assert!(client.delete_integration().await.unwrap());
    assert!(client.get_integration().await.unwrap().is_none());
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn blueprints_resources_and_migrations() {
    let (emulator, client) = start().await;
    assert!(client.get_blueprint("service").await.unwrap().is_none());
    blueprints(&client).await;
    let bp = client.get_blueprint("service").await.unwrap().unwrap();
    assert_eq!(bp.identifier, "service");
    assert_eq!(bp.relations["team"].target, "team");
    assert!(bp.schema.properties.contains_key("language"));
    let err = client
        .create_blueprint(&json!({"identifier": "service", "title": "Again"}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409));

    client
        .create_action(&json!({"identifier": "deploy", "title": "Deploy"}))
        .await
        .unwrap();
    client
        .create_scorecard(
            "service",
            &json!({"identifier": "quality", "title": "Quality", "rules": []}),
        )
        .await
        .unwrap();
    client
        .create_page(&json!({"identifier": "services", "title": "Services"}))
        .await
        .unwrap();
    client.delete_page("services").await.unwrap();
    assert_eq!(
        client.delete_page("services").await.unwrap_err().status(),
        Some(404)
    );

    let outcomes = client
        .upsert_entities(&[service("a", "go")], &UpsertOptions::default())
        .await;
    assert!(outcomes[0].is_upserted());
    let migration = client
        .delete_blueprint_with_entities("service", None)
        .await
        .unwrap()
        .expect("a migration id");
    let status = client.get_migration(&migration).await.unwrap();
    assert_eq!(status.status.as_deref(), Some("COMPLETED"));
    assert_eq!(status.source_blueprint.as_deref(), Some("service"));
    assert!(emulator.blueprint("service").await.unwrap().is_none());
    // `team` holds the related entity the upsert created: a plain delete is refused.
    assert_eq!(
        client.delete_blueprint("team").await.unwrap_err().status(),
        Some(409)
    );
    client
        .create_blueprint(&json!({"identifier": "scratch", "title": "Scratch"}))
        .await
        .unwrap();
    client.delete_blueprint("scratch").await.unwrap();
    assert!(client.get_blueprint("scratch").await.unwrap().is_none());
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn entities_upsert_search_list_and_delete() {
    let (emulator, client) = start().await;
    blueprints(&client).await;
    let mut invalid = service("bad", "cobol");
    invalid.identifier = json!("bad");
    let miss = entity(json!({
        "identifier": {"combinator": "and", "rules": [{"property": "language", "operator": "=", "value": "none"}]},
        "blueprint": "service", "properties": {"stars": 1}
    }));
    let outcomes = client
        .upsert_entities(
            &[service("a", "go"), invalid, service("b", "rust"), miss],
            &UpsertOptions {
                event: Some(EventInfo::resync("resync-1")),
                ..UpsertOptions::default()
            },
        )
        .await;
    assert_eq!(
        outcomes[0],
        UpsertOutcome::Upserted {
            identifier: json!("a")
        }
    );
    match &outcomes[1] {
        UpsertOutcome::Failed(failure) => {
            assert_eq!(failure.status, Some(422));
            assert!(failure.message.contains("language"), "{}", failure.message);
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(outcomes[2].is_upserted());
    assert_eq!(outcomes[3], UpsertOutcome::SearchIdentifierMiss);
    let stored = emulator.entities("service").await.unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|e| e.datasource == DATASOURCE));
    // The missing related team was created.
    assert!(emulator.entity("team", "platform").await.unwrap().is_some());
    let bulk = emulator
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/blueprints/service/entities/bulk")
        .unwrap();
    assert!(
        bulk.query
            .unwrap()
            .contains("ocean_info_resync_id=resync-1")
    );

    // A search identifier resolving to an existing entity updates it.
    let by_language = entity(json!({
        "identifier": {"combinator": "and", "rules": [{"property": "language", "operator": "=", "value": "rust"}]},
        "blueprint": "service", "properties": {"stars": 42}
    }));
    let outcomes = client
        .upsert_entities_bulk("service", &[by_language], &UpsertOptions::default())
        .await;
    assert_eq!(
        outcomes[0],
        UpsertOutcome::Upserted {
            identifier: json!("b")
        }
    );
    assert_eq!(
        emulator
            .entity("service", "b")
            .await
            .unwrap()
            .unwrap()
            .properties["stars"],
        42
    );

    // Single upsert: stored, or an unmet dependency without create_missing_related_entities.
    match client
        .upsert_entity(&service("c", "python"), &UpsertOptions::default())
        .await
        .unwrap()
    {
        SingleUpsert::Upserted(e) => assert_eq!(e.identifier, json!("c")),
        other => panic!("{other:?}"),
    }
    let mut orphan = service("d", "go");
    orphan.relations = Some(json!({"team": "nobody"}).as_object().cloned().unwrap());
    let no_create = UpsertOptions {
        create_missing_related_entities: false,
        ..UpsertOptions::default()
    };
    assert_eq!(
        client.upsert_entity(&orphan, &no_create).await.unwrap(),
        SingleUpsert::UnmetDependency
    );

    // Search, as the changed-entity filter does it.
    let found = client
        .search_entities(
            &json!({"combinator": "and", "rules": [
                {"property": "$identifier", "operator": "in", "value": ["a", "b", "zzz"]},
                {"property": "$blueprint", "operator": "=", "value": "service"}
            ]}),
            &["title", "properties.language"],
            UserAgentFeature::Exporter,
        )
        .await
        .unwrap();
    let mut ids: Vec<(Value, Option<Value>)> = found
        .into_iter()
        .map(|e| {
            (
                e.identifier,
                e.properties.and_then(|p| p.get("language").cloned()),
            )
        })
        .collect();
    ids.sort_by_key(|(id, _)| id.to_string());
    assert_eq!(
        ids,
        vec![
            (json!("a"), Some(json!("go"))),
            (json!("b"), Some(json!("rust")))
        ]
    );

    // Stale-entity listing: everything this exporter wrote before a point in time.
    let cut = OffsetDateTime::now_utc();
    tokio::time::sleep(Duration::from_millis(5)).await;
    client
        .upsert_entities(&[service("a", "go")], &UpsertOptions::default())
        .await;
    let mut owned = client.list_own_entities(Some(cut)).await.unwrap();
    owned.sort();
    assert_eq!(
        owned,
        vec![
            EntityKey::from_strs("service", "b"),
            EntityKey::from_strs("service", "c"),
            EntityKey::from_strs("team", "platform"),
        ]
    );
    assert_eq!(client.list_own_entities(None).await.unwrap().len(), 4);

    let report = client
        .delete_entities_bulk("service", &["a", "b", "ghost"], &DeleteOptions::default())
        .await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let mut deleted = report.deleted.clone();
    deleted.sort();
    assert_eq!(deleted, vec!["a", "b"]);
    assert_eq!(
        client
            .delete_entity("service", "c", &DeleteOptions::default())
            .await
            .unwrap(),
        DeleteOutcome::Deleted
    );
    assert_eq!(
        client
            .delete_entity("service", "c", &DeleteOptions::default())
            .await
            .unwrap(),
        DeleteOutcome::NotFound
    );
    assert_eq!(emulator.entity_count("service").await.unwrap(), 0);
    let metrics = client.metrics();
    assert_eq!(metrics.entities_deleted, 3);
    emulator.shutdown().await.unwrap();
}

#[tokio::test]
async fn oversized_chunk_falls_back_to_single_upserts() {
    // The emulator refuses bodies over 4 KiB; the client packs up to 20 entities per request,
    // so the chunk is answered 413 and the client sends the entities one by one.
    let (emulator, _) = start_with(EmulatorConfig {
        max_body_bytes: 4096,
        ..EmulatorConfig::default()
    })
    .await;
    let mut config = config_for(&emulator);
    config.bulk_limits = BulkLimits {
        max_entities: 20,
        max_bytes: 10 * 1024 * 1024,
    };
    let client = PortClient::new(config).unwrap();
    blueprints(&client).await;
    let entities: Vec<Entity> = (0..10)
        .map(|i| {
            let mut e = service(&format!("big-{i}"), "go");
            e.title = Some(json!("x".repeat(600)));
            e
        })
        .collect();
    let outcomes = client
        .upsert_entities(&entities, &UpsertOptions::default())
        .await;
    assert!(
        outcomes.iter().all(UpsertOutcome::is_upserted),
        "{outcomes:?}"
    );
    assert_eq!(emulator.entity_count("service").await.unwrap(), 10);
    let requests = emulator.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.path.ends_with("/entities/bulk") && r.status == 413)
    );
    let singles = requests
        .iter()
        .filter(|r| r.path == "/v1/blueprints/service/entities")
        .count();
    assert_eq!(singles, 10);
    emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_entities_through_faults_and_an_expired_token() {
    let (emulator, _) = start().await;
    let mut config = config_for(&emulator);
    // 30 % failures: 20 fast retries make exhausting them (0.3^21) practically impossible.
    config.retry = fast_retries(20);
    let client = PortClient::new(config).unwrap();
    client
        .create_blueprint(&json!({"identifier": "item", "title": "Item",
            "schema": {"properties": {"n": {"type": "number"}, "name": {"type": "string"}}}}))
        .await
        .unwrap();
    emulator.controls().set_fail_rate(0.3);

    const N: usize = 10_000;
    let entities: Vec<Entity> = (0..N)
        .map(|i| {
            entity(
                json!({"identifier": format!("item-{i:05}"), "blueprint": "item",
                "title": format!("Item {i}"), "properties": {"n": i, "name": format!("n{i}")}}),
            )
        })
        .collect();

    // Expire every token once, mid-run, when a third of the entities are stored.
    let watcher = {
        let controls = emulator.controls().clone();
        let base = emulator.base_url();
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            loop {
                let count = http
                    .get(format!("{base}/_emulator/count?blueprint=item"))
                    .send()
                    .await
                    .ok()
                    .map(|r| r.json::<Value>());
                let count = match count {
                    Some(body) => body
                        .await
                        .ok()
                        .and_then(|b| b["count"].as_u64())
                        .unwrap_or(0),
                    None => 0,
                };
                if count >= (N / 3) as u64 {
                    controls.expire_tokens();
                    return count;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };
    let outcomes = client
        .upsert_entities(&entities, &UpsertOptions::default())
        .await;
    let expired_at = watcher.await.unwrap();
    emulator.controls().set_fail_rate(0.0);

    assert_eq!(outcomes.len(), N);
    let failed: Vec<_> = outcomes.iter().filter(|o| !o.is_upserted()).collect();
    assert!(
        failed.is_empty(),
        "{} failed, e.g. {:?}",
        failed.len(),
        failed.first()
    );
    assert!(
        expired_at < N as u64,
        "the token expired before the run ended"
    );

    let stored = emulator.entities("item").await.unwrap();
    assert_eq!(stored.len(), N);
    let unique: HashSet<&str> = stored.iter().map(|e| e.identifier.as_str()).collect();
    assert_eq!(unique.len(), N);
    let expected: HashSet<String> = (0..N).map(|i| format!("item-{i:05}")).collect();
    assert!(stored.iter().all(|e| expected.contains(&e.identifier)));
    assert!(
        stored
            .iter()
            .all(|e| e.properties["n"].is_number() && e.datasource == DATASOURCE)
    );

    // Every refused request was retried, and the client counted each retry.
    let requests = emulator.requests();
    let injected = requests.iter().filter(|r| r.injected_fault).count() as u64;
    let unauthorized = requests.iter().filter(|r| r.status == 401).count() as u64;
    let metrics = client.metrics();
    assert!(
        injected > 100,
        "30 % of ~700 requests were faulted, got {injected}"
    );
    assert!(
        unauthorized >= 1,
        "the expired token was refused at least once"
    );
    assert_eq!(metrics.retries, injected + unauthorized, "{metrics:?}");
    let by_status = |s: u16| metrics.requests_by_status.get(&s).copied().unwrap_or(0);
    assert_eq!(by_status(429) + by_status(503), injected);
    assert_eq!(by_status(401), unauthorized);
    assert_eq!(metrics.entities_upserted, N as u64);
    // One token at the start, one refresh after the expiry.
    assert_eq!(metrics.token_fetches, 2, "{metrics:?}");
    emulator.shutdown().await.unwrap();
}
