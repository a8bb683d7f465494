//! The emulator through plain HTTP, as any Port client sees it: authentication, per-entity
//! validation, bad input, the datasource listing, search, integrations, deletes, faults,
//! persistence with `--db`, and the binary.

mod common;

use common::{BULK, EXPORTER_UA, Harness, item, read};
use port_emulator::{EmulatorConfig, FaultSettings, StoredEntity};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

fn error_code(body: &Value) -> (&Value, &str) {
    (&body["ok"], body["error"].as_str().unwrap_or_default())
}

#[tokio::test]
async fn auth_tokens_and_unknown_routes() {
    let h = Harness::start().await;
    let token_url = h.url("/v1/auth/access_token");

    let wrong = h
        .http
        .post(&token_url)
        .json(&json!({"clientId": h.emulator.client_id(), "clientSecret": "nope"}))
        .send()
        .await
        .unwrap();
    let (status, body) = read(wrong).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), (&json!(false), "unauthorized"));

    let right = h
        .http
        .post(&token_url)
        .json(&json!({"clientId": h.emulator.client_id(), "clientSecret": h.emulator.client_secret().expose()}))
        .send()
        .await
        .unwrap();
    let (status, body) = read(right).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["tokenType"], "Bearer");
    assert_eq!(body["expiresIn"], 10_800);

    let (status, body) = read(h.http.get(h.url("/v1/blueprints")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = read(
        h.http
            .get(h.url("/v1/blueprints"))
            .bearer_auth("forged.token.value")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.get("/v1/blueprints").await.0, StatusCode::OK);

    let (status, body) = h.get("/v1/no-such-route").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), (&json!(false), "not_found"));
    let (status, _) = h.call(Method::PUT, "/v1/organization", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn tokens_expire_after_expires_in_or_on_demand() {
    let h = Harness::start().await;
    h.emulator.controls().expire_tokens();
    let (status, body) = h.get("/v1/organization").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["message"].as_str().unwrap().contains("expired"));
    let fresh = common::token(&h.http, &h.emulator).await;
    let ok = h
        .http
        .get(h.url("/v1/organization"))
        .bearer_auth(&fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);

    // A zero lifetime: the token is already expired when it is handed out.
    h.emulator.controls().set_token_ttl(Duration::ZERO);
    let response = h
        .http
        .post(h.url("/v1/auth/access_token"))
        .json(&json!({"clientId": h.emulator.client_id(), "clientSecret": h.emulator.client_secret().expose()}))
        .send()
        .await
        .unwrap();
    let (_, body) = read(response).await;
    assert_eq!(body["expiresIn"], 0);
    let dead = body["accessToken"].as_str().unwrap();
    let refused = h
        .http
        .get(h.url("/v1/organization"))
        .bearer_auth(dead)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bulk_upsert_reports_errors_per_entity() {
    let h = Harness::start().await;
    h.bench_blueprints().await;
    let mut wrong_type = item("wrong-type");
    wrong_type["properties"]["weight"] = json!("heavy");
    let mut bad_enum = item("bad-enum");
    bad_enum["properties"]["status"] = json!("DONE");
    let mut unknown_prop = item("unknown-prop");
    unknown_prop["properties"]["color"] = json!("red");
    let mut missing_required = item("missing-required");
    missing_required["properties"] = json!({"weight": 1});
    let mut bad_email = item("bad-email");
    bad_email["properties"]["ownerEmail"] = json!("not-an-email");
    let mut bad_labels = item("bad-labels");
    bad_labels["properties"]["labels"] = json!(["ok", 3]);
    let mut many_for_single = item("many-for-single");
    many_for_single["relations"]["group"] = json!(["g1", "g2"]);
    let unmatched_search = json!({
        "identifier": {"combinator": "and", "rules": [
            {"property": "weight", "operator": "=", "value": 999}]},
        "properties": {"status": "OPEN"}
    });
    let entities = json!([
        item("good"),
        wrong_type,
        bad_enum,
        {"identifier": "has space", "properties": {"status": "OPEN"}},
        unknown_prop,
        missing_required,
        bad_email,
        bad_labels,
        many_for_single,
        unmatched_search,
    ]);
    let (status, body) = h.post(BULK, json!({"entities": entities})).await;
    assert_eq!(status, StatusCode::MULTI_STATUS, "{body}");
    assert_eq!(
        body["entities"],
        json!([{"created": true, "identifier": "good", "index": 0}])
    );
    let errors: Vec<(u64, String, u64, String)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["index"].as_u64().unwrap(),
                e["identifier"].as_str().unwrap().to_owned(),
                e["statusCode"].as_u64().unwrap(),
                e["error"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expect =
        |i: u64, id: &str, status: u64, code: &str| (i, id.to_owned(), status, code.to_owned());
    assert_eq!(
        errors,
        vec![
            expect(1, "wrong-type", 422, "schema_mismatch"),
            expect(2, "bad-enum", 422, "schema_mismatch"),
            expect(3, "has space", 422, "invalid_request"),
            expect(4, "unknown-prop", 422, "schema_mismatch"),
            expect(5, "missing-required", 422, "schema_mismatch"),
            expect(6, "bad-email", 422, "schema_mismatch"),
            expect(7, "bad-labels", 422, "schema_mismatch"),
            expect(8, "many-for-single", 422, "schema_mismatch"),
            expect(9, "unknown", 404, "not_found"),
        ]
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("\"weight\" must be number")
    );
    let stored: Vec<String> = h
        .emulator
        .entities("benchItem")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.identifier)
        .collect();
    assert_eq!(stored, vec!["good"]);
    // The missing related group was created as a bare entity owned by the same writer.
    let group = h
        .emulator
        .entity("benchGroup", "g1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(group.datasource, EXPORTER_UA);
    assert_eq!(group.title, None);

    // Without create_missing_related_entities a missing target is a 404 for that entity only.
    let mut orphan = item("orphan");
    orphan["relations"]["group"] = json!("g-missing");
    let (status, body) = h
        .post(
            "/v1/blueprints/benchItem/entities/bulk?upsert=true&merge=true&create_missing_related_entities=false",
            json!({"entities": [orphan, item("fine")]}),
        )
        .await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert_eq!(body["errors"][0]["index"], 0);
    assert_eq!(body["errors"][0]["statusCode"], 404);
    assert_eq!(body["entities"][0]["identifier"], "fine");
    assert!(
        h.emulator
            .entity("benchGroup", "g-missing")
            .await
            .unwrap()
            .is_none()
    );

    // All good: 200, and `created` is false for an update.
    let (status, body) = h
        .post(BULK, json!({"entities": [item("good"), item("new")]}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["entities"][0]["created"], false);
    assert_eq!(body["entities"][1]["created"], true);
    assert_eq!(body["errors"], json!([]));
}

#[tokio::test]
async fn validation_only_and_single_upsert() {
    let h = Harness::start().await;
    h.bench_blueprints().await;
    let (status, body) = h
        .post(
            "/v1/blueprints/benchItem/entities/bulk?upsert=true&validation_only=true&create_missing_related_entities=true",
            json!({"entities": [item("v1")]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(h.emulator.entity_count("benchItem").await.unwrap(), 0);
    assert_eq!(h.emulator.entity_count("benchGroup").await.unwrap(), 0);

    let single = "/v1/blueprints/benchItem/entities?upsert=true&merge=true&create_missing_related_entities=true";
    let (status, body) = h.post(single, item("s1")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["entity"]["identifier"], "s1");
    // Every blueprint property is answered, null when unset.
    assert_eq!(body["entity"]["properties"]["ownerEmail"], Value::Null);
    assert_eq!(body["entity"]["relations"]["group"], "g1");
    let (status, _) = h.post(single, item("s1")).await;
    assert_eq!(status, StatusCode::OK);

    let mut orphan = item("s2");
    orphan["relations"]["group"] = json!("nowhere");
    let (status, body) = h
        .post("/v1/blueprints/benchItem/entities?upsert=true", orphan)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), (&json!(false), "not_found"));

    let (status, _) = h
        .post("/v1/blueprints/benchItem/entities?upsert=false", item("s1"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, body) = h.get("/v1/blueprints/benchItem/entities/s1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["entity"]["title"], "Item s1");
    let (status, _) = h.get("/v1/blueprints/benchItem/entities/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let config = EmulatorConfig {
        max_body_bytes: 4096,
        ..EmulatorConfig::default()
    };
    let h = Harness::with_config(config).await;
    h.bench_blueprints().await;
    let before_blueprints = h.get("/v1/blueprints").await.1;

    let malformed = h
        .http
        .post(h.url(BULK))
        .bearer_auth(&h.token)
        .header("content-type", "application/json")
        .body("{\"entities\": [")
        .send()
        .await
        .unwrap();
    let (status, body) = read(malformed).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), (&json!(false), "bad_request"));

    let (status, body) = h.post(BULK, json!({"entities": {"identifier": "x"}})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(&body), (&json!(false), "invalid_request"));
    let (status, _) = h.post(BULK, json!({"entities": []})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let too_many: Vec<Value> = (0..21).map(|i| item(&format!("i{i}"))).collect();
    let (status, body) = h.post(BULK, json!({"entities": too_many})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["message"].as_str().unwrap().contains("20"));
    let (status, _) = h
        .post(
            &BULK.replace("upsert=true", "upsert=maybe"),
            json!({"entities": [item("a")]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let mut huge = item("huge");
    huge["properties"]["description"] = json!("x".repeat(5000));
    let (status, body) = h.post(BULK, json!({"entities": [huge]})).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(&body), (&json!(false), "payload_too_large"));

    let (status, body) = h
        .post(
            "/v1/blueprints/nope/entities/bulk?upsert=true",
            json!({"entities": [item("a")]}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["message"].as_str().unwrap().contains("nope"));
    let (status, _) = h
        .post("/v1/blueprints", json!({"identifier": "noTitle"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = h
        .patch(
            "/v1/blueprints/benchItem",
            json!({"relations": {"x": {"target": "missingBlueprint"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = h.post("/v1/entities/search", json!({"rules": []})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    assert_eq!(h.emulator.entity_count("benchItem").await.unwrap(), 0);
    assert_eq!(h.emulator.entity_count("benchGroup").await.unwrap(), 0);
    assert_eq!(h.get("/v1/blueprints").await.1, before_blueprints);
}

fn now_iso() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[tokio::test]
async fn datasource_listing_follows_writer_and_before() {
    let h = Harness::start().await;
    h.bench_blueprints().await;
    let old: Vec<Value> = ["o1", "o2", "o3"].iter().map(|i| item(i)).collect();
    assert_eq!(
        h.post(BULK, json!({"entities": old})).await.0,
        StatusCode::OK
    );
    // Another integration's entity must never be listed as ours.
    let other = h
        .http
        .post(h.url(BULK))
        .bearer_auth(&h.token)
        .header("user-agent", "port-ocean/fake/0.1.0/other-fake/exporter")
        .json(&json!({"entities": [item("theirs")]}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(5)).await;
    let resync_start = now_iso();
    tokio::time::sleep(Duration::from_millis(5)).await;
    // Touched during "this resync": not stale.
    assert_eq!(
        h.post(BULK, json!({"entities": [item("o2"), item("n1")]}))
            .await
            .0,
        StatusCode::OK
    );

    let list = |from: Option<String>, limit: u64| {
        let mut body = json!({
            "datasource_prefix": "port-ocean/fake/",
            "datasource_suffix": "/my-fake/exporter",
            "limit": limit,
            "before": resync_start,
        });
        if let Some(from) = from {
            body["from"] = json!(from);
        }
        h.post("/v1/blueprints/entities/datasource-entities", body)
    };
    let (status, page) = list(None, 5000).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let ids = |page: &Value| -> Vec<String> {
        page["entities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{}/{}",
                    e["blueprint"].as_str().unwrap(),
                    e["identifier"].as_str().unwrap()
                )
            })
            .collect()
    };
    // In the order they were first written (g1 was created as o1's missing group).
    assert_eq!(
        ids(&page),
        vec!["benchItem/o1", "benchGroup/g1", "benchItem/o3"]
    );
    assert_eq!(page["next"], Value::Null);

    // Paging with `limit` and `from`/`next` yields the same entities.
    let mut seen = Vec::new();
    let mut from = None;
    loop {
        let (_, page) = list(from, 1).await;
        seen.extend(ids(&page));
        match page["next"].as_str() {
            Some(next) => from = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, vec!["benchItem/o1", "benchGroup/g1", "benchItem/o3"]);

    // Without `before`, everything this integration wrote.
    let (_, all) = h
        .post(
            "/v1/blueprints/entities/datasource-entities",
            json!({"datasource_prefix": "port-ocean/fake/", "datasource_suffix": "/my-fake/exporter"}),
        )
        .await;
    assert_eq!(ids(&all).len(), 5);
    let (status, _) = h
        .post(
            "/v1/blueprints/entities/datasource-entities",
            json!({"before": "last tuesday"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn search_supports_ocean_rules_and_include() {
    let h = Harness::start().await;
    h.bench_blueprints().await;
    let mut heavy = item("heavy");
    heavy["properties"]["weight"] = json!(90);
    heavy["properties"]["labels"] = json!(["red", "blue"]);
    h.post(BULK, json!({"entities": [item("a"), item("b"), heavy]}))
        .await;
    let search = |query: Value| {
        h.post(
            "/v1/entities/search?exclude_calculated_properties=true&include=blueprint&include=identifier&include=properties.weight",
            query,
        )
    };
    // What Ocean's changed-entity filter sends.
    let (status, body) = search(json!({"combinator": "and", "rules": [
        {"property": "$identifier", "operator": "in", "value": ["a", "heavy", "zzz"]},
        {"property": "$blueprint", "operator": "=", "value": "benchItem"},
        {"property": "$datasource", "operator": "contains", "value": "port-ocean/fake/"},
        {"property": "$datasource", "operator": "contains", "value": "/my-fake/exporter"}
    ]}))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["entities"],
        json!([
            {"blueprint": "benchItem", "identifier": "a", "properties": {"weight": 12.5}},
            {"blueprint": "benchItem", "identifier": "heavy", "properties": {"weight": 90}}
        ])
    );
    let (_, body) = search(json!({"combinator": "and", "rules": [
        {"property": "$datasource", "operator": "contains", "value": "/other/exporter"}
    ]}))
    .await;
    assert_eq!(body["entities"], json!([]));
    let (_, body) = search(json!({"combinator": "or", "rules": [
        {"property": "weight", "operator": ">", "value": 50},
        {"property": "$identifier", "operator": "=", "value": "b"}
    ]}))
    .await;
    let found: Vec<&str> = body["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(found, vec!["b", "heavy"]);
    let (_, body) = search(json!({"combinator": "and", "rules": [
        {"property": "labels", "operator": "contains", "value": "red"},
        {"combinator": "or", "rules": [
            {"property": "$title", "operator": "beginsWith", "value": "Item h"},
            {"property": "$title", "operator": "=", "value": "never"}
        ]}
    ]}))
    .await;
    assert_eq!(body["entities"][0]["identifier"], "heavy");
    assert_eq!(body["entities"].as_array().unwrap().len(), 1);
    let (status, body) = search(json!({"combinator": "and", "rules": [
        {"property": "weight", "operator": "between", "value": 1}
    ]}))
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

#[tokio::test]
async fn integration_lifecycle_and_ingest() {
    let h = Harness::start().await;
    let (status, body) = h
        .get("/v1/integration/my-fake?oceanCoreVersion=0.56.2&isPolling=false")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
    let (_, body) = h.get("/v1/integration/provision-enabled").await;
    assert_eq!(body["integrations"], json!([]));
    let (_, body) = h.get("/v1/organization").await;
    assert!(
        body["organization"]["id"]
            .as_str()
            .unwrap()
            .starts_with("org_")
    );
    assert_eq!(body["organization"]["featureFlags"], json!([]));

    let config = json!({"resources": [{"kind": "item", "selector": {"query": "true"}}]});
    let (status, body) = h
        .post(
            "/v1/integration",
            json!({
                "installationId": "my-fake", "installationAppType": "fake", "version": "0.1.0",
                "changelogDestination": {}, "config": config, "actionsProcessingEnabled": false,
                "incrementalSyncEnabled": false, "createPortResourcesOrigin": "Default"
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["integration"]["installationType"], "OnPrem");
    assert_eq!(body["integration"]["config"], config);
    let (status, _) = h
        .post("/v1/integration", json!({"installationId": "my-fake"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (_, body) = h
        .patch(
            "/v1/integration/my-fake",
            json!({"processingMode": "dsp", "version": "0.1.0", "arePortResourcesInitialized": true}),
        )
        .await;
    let integration = &body["integration"];
    assert_eq!(integration["processingMode"], "dsp");
    assert_eq!(integration["arePortResourcesInitialized"], true);
    let logs = integration["logAttributes"]["ingestUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    let metrics = integration["metricAttributes"]["ingestUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(logs.starts_with(&h.emulator.base_url()), "{logs}");

    // No resync request yet; a config change records one.
    assert_eq!(
        h.get("/v1/integration/my-fake/resync-request").await.1["request"],
        Value::Null
    );
    h.patch(
        "/v1/integration/my-fake/config",
        json!({"config": {"resources": []}}),
    )
    .await;
    let (_, body) = h.get("/v1/integration/my-fake/resync-request").await;
    assert!(body["request"]["updatedAt"].is_string(), "{body}");
    assert!(h.emulator.request_resync("my-fake").await.unwrap());
    assert!(!h.emulator.request_resync("nope").await.unwrap());

    for status in ["running", "completed"] {
        let (code, body) = h
            .patch(
                "/v1/integration/my-fake/resync-state",
                json!({"status": status, "lastResyncEnd": null, "nextResync": null, "intervalInMinuets": null}),
            )
            .await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(body["integration"]["resyncState"]["status"], status);
        assert!(body["integration"]["resyncState"]["updatedAt"].is_string());
    }
    let (code, _) = h
        .patch(
            "/v1/integration/my-fake/resync-state",
            json!({"status": "done"}),
        )
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    let history: Vec<String> = h
        .emulator
        .resync_states("my-fake")
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.status)
        .collect();
    assert_eq!(history, vec!["running", "completed"]);

    let (code, _) = h
        .post(
            "/v1/integration/my-fake/kinds/item/examples",
            json!({"examples": [{"id": 1}, {"id": 2}]}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        h.emulator.kind_examples("my-fake", "item").await.unwrap(),
        Some(json!([{"id": 1}, {"id": 2}]))
    );

    // The ingest URLs accept (authenticated) posts and record them.
    let post = |url: String, body: Value| {
        h.http
            .request(Method::POST, url)
            .bearer_auth(&h.token)
            .json(&body)
            .send()
    };
    assert_eq!(
        post(
            logs.clone(),
            json!({"logs": [{"message": "hi", "level": "INFO"}]})
        )
        .await
        .unwrap()
        .status(),
        StatusCode::OK
    );
    assert_eq!(
        post(format!("{metrics}/heartbeat"), json!({"eventId": "e1"}))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let put = h
        .http
        .put(format!("{metrics}/syncMetrics/resync/e1/kind/item-0"))
        .bearer_auth(&h.token)
        .json(&json!({"syncKindMetrics": {"kind": "item"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    assert_eq!(
        h.http
            .post(logs)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let ingested: Vec<(String, String, String)> = h
        .emulator
        .ingested()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.channel, r.method, r.path))
        .collect();
    assert_eq!(
        ingested,
        vec![
            ("logs".to_owned(), "POST".to_owned(), String::new()),
            (
                "metrics".to_owned(),
                "POST".to_owned(),
                "/heartbeat".to_owned()
            ),
            (
                "metrics".to_owned(),
                "PUT".to_owned(),
                "/syncMetrics/resync/e1/kind/item-0".to_owned()
            ),
        ]
    );

    let (code, body) = h
        .call(Method::DELETE, "/v1/integration/my-fake", None)
        .await;
    assert_eq!((code, body["ok"].clone()), (StatusCode::OK, json!(true)));
    assert_eq!(
        h.get("/v1/integration/my-fake").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn blueprints_defaults_and_migrations() {
    let h = Harness::start().await;
    h.bench_blueprints().await;
    let (status, body) = h.get("/v1/blueprints/benchItem").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["blueprint"]["relations"]["group"]["target"],
        "benchGroup"
    );
    assert_eq!(h.get("/v1/blueprints/nope").await.0, StatusCode::NOT_FOUND);
    let (status, body) = h
        .patch("/v1/blueprints/benchItem", json!({"title": "Renamed"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["blueprint"]["title"], "Renamed");
    assert_eq!(body["blueprint"]["schema"]["required"], json!(["status"]));

    for (path, body, key) in [
        (
            "/v1/actions",
            json!({"identifier": "deploy", "title": "Deploy"}),
            "action",
        ),
        (
            "/v1/pages",
            json!({"identifier": "home", "title": "Home"}),
            "page",
        ),
        (
            "/v1/blueprints/benchItem/scorecards",
            json!({"identifier": "quality", "title": "Q", "rules": []}),
            "scorecard",
        ),
    ] {
        let (status, answer) = h.post(path, body.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{path}: {answer}");
        assert_eq!(answer[key]["identifier"], body["identifier"]);
        assert_eq!(h.post(path, body).await.0, StatusCode::CONFLICT, "{path}");
    }
    assert_eq!(h.get("/v1/pages/home").await.0, StatusCode::OK);
    assert_eq!(
        h.call(Method::DELETE, "/v1/pages/home", None).await.0,
        StatusCode::OK
    );
    assert_eq!(h.get("/v1/pages/home").await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        h.post("/v1/blueprints/nope/scorecards", json!({"identifier": "x"}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    h.post(BULK, json!({"entities": [item("a"), item("b")]}))
        .await;
    let (status, body) = h
        .call(Method::DELETE, "/v1/blueprints/benchItem", None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = h
        .call(
            Method::DELETE,
            "/v1/blueprints/benchItem/all-entities?delete_blueprint=true",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let migration = body["migrationId"].as_str().unwrap();
    let (_, body) = h.get(&format!("/v1/migrations/{migration}")).await;
    assert_eq!(body["migration"]["status"], "COMPLETED");
    assert_eq!(body["migration"]["sourceBlueprint"], "benchItem");
    assert_eq!(
        h.get("/v1/blueprints/benchItem").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(h.emulator.entity_count("benchItem").await.unwrap(), 0);
}

#[tokio::test]
async fn deletes_single_bulk_and_dependents() {
    let h = Harness::start().await;
    h.bench_blueprints().await;
    let mut child = item("child");
    child["relations"]["parent"] = json!("parent");
    h.post(
        BULK,
        json!({"entities": [item("parent"), child, item("x"), item("y")]}),
    )
    .await;
    let (status, body) = h
        .post(
            "/v1/blueprints/benchItem/bulk/entities/delete?delete_dependents=true",
            json!({"entities": ["parent", "x", "ghost"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["deletedEntities"], json!(["parent", "x"]));
    // The child went with its parent.
    let left: Vec<String> = h
        .emulator
        .entities("benchItem")
        .await
        .unwrap()
        .into_iter()
        .map(|e: StoredEntity| e.identifier)
        .collect();
    assert_eq!(left, vec!["y"]);
    let (status, _) = h
        .post(
            "/v1/blueprints/benchItem/bulk/entities/delete?delete_dependents=false",
            json!({"entities": (0..101).map(|i| format!("e{i}")).collect::<Vec<_>>()}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = h
        .call(
            Method::DELETE,
            "/v1/blueprints/benchItem/entities/y?delete_dependents=false",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = h
        .call(Method::DELETE, "/v1/blueprints/benchItem/entities/y", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn faults_are_injected_and_change_nothing() {
    let h = Harness::start().await;
    h.bench_blueprints().await;
    h.emulator.controls().fail_next(2, 503);
    let (first, body) = h.post(BULK, json!({"entities": [item("a")]})).await;
    assert_eq!(first, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["ok"], false);
    assert_eq!(
        h.post(BULK, json!({"entities": [item("a")]})).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(h.emulator.entity_count("benchItem").await.unwrap(), 0);
    assert_eq!(
        h.post(BULK, json!({"entities": [item("a")]})).await.0,
        StatusCode::OK
    );
    let faulted = h
        .emulator
        .requests()
        .iter()
        .filter(|r| r.injected_fault && r.path.ends_with("/entities/bulk"))
        .count();
    assert_eq!(faulted, 2);

    h.emulator.controls().set_fail_rate(1.0);
    for i in 0..10 {
        let (status, _) = h
            .post(BULK, json!({"entities": [item(&format!("f{i}"))]}))
            .await;
        assert!(
            status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS,
            "{status}"
        );
    }
    // Admin routes are never faulted.
    let admin = h
        .http
        .get(h.url("/_emulator/entities?blueprint=benchItem"))
        .send()
        .await
        .unwrap();
    let (status, body) = read(admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["count"], 1);
    assert_eq!(body["entities"][0]["$datasource"], EXPORTER_UA);
    let count = h
        .http
        .get(h.url("/_emulator/count?blueprint=benchItem"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        read(count).await.1,
        json!({"blueprint": "benchItem", "count": 1})
    );
    h.emulator.controls().set_fail_rate(0.0);

    // The rate limit answers 429 with Retry-After; set through the admin route.
    let (status, view) = read(
        h.http
            .put(h.url("/_emulator/faults"))
            .json(&json!({"rateLimit": 2, "latencyMs": 1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["rateLimit"], 2);
    assert_eq!(view["latencyMs"], 1);
    let mut limited = None;
    for _ in 0..5 {
        let response = h
            .http
            .get(h.url("/v1/organization"))
            .bearer_auth(&h.token)
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(response);
            break;
        }
    }
    let limited = limited.expect("a burst beyond 2 requests per second is limited");
    assert_eq!(limited.headers()["retry-after"], "1");
    let bad = h
        .http
        .put(h.url("/_emulator/faults"))
        .json(&json!({"failRate": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        h.emulator.controls().settings(),
        FaultSettings {
            fail_rate: 0.0,
            rate_limit: Some(2),
            latency_ms: 1,
            seed: None,
        }
    );
}

#[tokio::test]
async fn state_survives_a_restart_with_a_db_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("port.sqlite");
    let config = EmulatorConfig {
        db_path: Some(path.clone()),
        ..EmulatorConfig::default()
    };
    let h = Harness::with_config(config.clone()).await;
    h.bench_blueprints().await;
    h.post(BULK, json!({"entities": [item("kept-1"), item("kept-2")]}))
        .await;
    h.post(
        "/v1/integration",
        json!({"installationId": "my-fake", "config": {}}),
    )
    .await;
    let org = h.get("/v1/organization").await.1["organization"]["id"].clone();
    let before: Vec<StoredEntity> = h.emulator.entities("benchItem").await.unwrap();
    h.emulator.shutdown().await.unwrap();

    let again = Harness::with_config(config).await;
    let after: Vec<StoredEntity> = again.emulator.entities("benchItem").await.unwrap();
    assert_eq!(after, before);
    assert_eq!(after[0].datasource, EXPORTER_UA);
    assert_eq!(
        again.get("/v1/organization").await.1["organization"]["id"],
        org
    );
    let (_, body) = again.get("/v1/integration/my-fake").await;
    let logs = body["integration"]["logAttributes"]["ingestUrl"]
        .as_str()
        .unwrap();
    assert!(logs.starts_with(&again.emulator.base_url()), "{logs}");
    let (status, body) = again.get("/v1/blueprints/benchItem/entities/kept-2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["entity"]["properties"]["status"], "OPEN");
    again.emulator.shutdown().await.unwrap();
}

/// Stops the child process even when an assertion fails first.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_serves_and_prints_how_to_connect() {
    use std::io::{BufRead, BufReader};
    let mut child = KillOnDrop(
        std::process::Command::new(env!("CARGO_BIN_EXE_port-emulator"))
            .args(["--port", "0", "--latency-ms", "0"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the binary starts"),
    );
    let stdout = child.0.stdout.take().unwrap();
    let lines: Vec<String> = BufReader::new(stdout)
        .lines()
        .take(4)
        .map(|l| l.unwrap())
        .collect();
    let base = lines[1]
        .trim()
        .strip_prefix("OCEAN__PORT__BASE_URL=")
        .unwrap_or_else(|| panic!("{lines:?}"))
        .to_owned();
    assert!(
        lines[2].contains(port_emulator::DEMO_CLIENT_ID),
        "{lines:?}"
    );
    assert!(
        lines[3].contains(port_emulator::DEMO_CLIENT_SECRET),
        "{lines:?}"
    );
    let http = reqwest::Client::new();
    let token = http
        .post(format!("{base}/v1/auth/access_token"))
        .json(&json!({"clientId": port_emulator::DEMO_CLIENT_ID, "clientSecret": port_emulator::DEMO_CLIENT_SECRET}))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::OK);
    drop(child);
}
