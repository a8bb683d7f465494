//! Blueprints (with their cache), default resources, organization, Kafka credentials,
//! migrations and the ingest URLs.

use std::time::Duration;

use serde_json::json;
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::*;

fn blueprint_answer() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"blueprint": {
        "identifier": "svc",
        "title": "Service",
        "schema": {"properties": {"lang": {"type": "string"}}, "required": ["lang"]},
        "relations": {"owner": {"target": "team", "required": false, "many": true}}
    }}))
}

#[tokio::test]
async fn blueprints_are_cached_until_written() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v1/blueprints/svc"))
        .respond_with(blueprint_answer())
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/blueprints/nope"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v1/blueprints/svc"))
        .respond_with(blueprint_answer())
        .mount(&server)
        .await;
    let bp = client.get_blueprint("svc").await.unwrap().unwrap();
    assert_eq!(bp.schema.required, vec!["lang"]);
    assert!(bp.relations["owner"].many);
    client.get_blueprint("svc").await.unwrap();
    assert_eq!(received_on(&server, "/v1/blueprints/svc").await.len(), 1);
    assert_eq!(client.get_blueprint("nope").await.unwrap(), None);
    client.get_blueprint("nope").await.unwrap();
    assert_eq!(received_on(&server, "/v1/blueprints/nope").await.len(), 2);

    client
        .patch_blueprint("svc", &json!({"title": "S"}))
        .await
        .unwrap();
    client.get_blueprint("svc").await.unwrap();
    let calls = received_on(&server, "/v1/blueprints/svc").await;
    assert_eq!(calls.len(), 3, "get, patch, get again");
    assert_eq!(
        header(&calls[1], "user-agent"),
        "port-ocean/jira/0.3.1/my-jira/exporter"
    );
    client.clear_blueprint_cache();
    client.get_blueprint("svc").await.unwrap();
    assert_eq!(received_on(&server, "/v1/blueprints/svc").await.len(), 4);
}

#[tokio::test]
async fn blueprint_create_and_delete_with_entities() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/blueprints"))
        .and(body_json(json!({"identifier": "svc", "title": "Service"})))
        .respond_with(blueprint_answer())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/blueprints/svc/all-entities"))
        .and(query_param("delete_blueprint", "true"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"migrationId": "m1"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/migrations/m1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"migration": {"id": "m1", "status": "RUNNING"}})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/migrations/m1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"migration": {"id": "m1", "status": "COMPLETED"}})),
        )
        .mount(&server)
        .await;
    let created = client
        .create_blueprint(&json!({"identifier": "svc", "title": "Service"}))
        .await
        .unwrap();
    assert_eq!(created["identifier"], json!("svc"));
    let migration = client
        .delete_blueprint_with_entities("svc", None)
        .await
        .unwrap()
        .unwrap();
    let done = client
        .wait_for_migration(&migration, Duration::from_millis(1))
        .await
        .unwrap();
    assert_eq!(done.status.as_deref(), Some("COMPLETED"));
}

#[tokio::test]
async fn default_resources_are_passed_through() {
    let (server, client) = setup().await;
    for (p, body) in [
        ("/v1/actions", json!({"identifier": "act"})),
        ("/v1/blueprints/svc/scorecards", json!({"identifier": "sc"})),
        ("/v1/pages", json!({"identifier": "pg"})),
    ] {
        Mock::given(method("POST"))
            .and(path(p))
            .and(body_json(body))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
            .expect(1)
            .mount(&server)
            .await;
    }
    client
        .create_action(&json!({"identifier": "act"}))
        .await
        .unwrap();
    client
        .create_scorecard("svc", &json!({"identifier": "sc"}))
        .await
        .unwrap();
    client
        .create_page(&json!({"identifier": "pg"}))
        .await
        .unwrap();
}

#[tokio::test]
async fn organization_is_cached_and_kafka_credentials_are_read() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v1/organization"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"organization": {
                "id": "org1", "featureFlags": ["USE_PROVISIONED_DEFAULTS"], "isBlocked": false
            }})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/kafka-credentials"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"credentials": {"username": "u", "password": "kafka-pass-123"}}),
            ),
        )
        .mount(&server)
        .await;
    let org = client.organization().await.unwrap();
    assert!(org.has_feature_flag("USE_PROVISIONED_DEFAULTS"));
    assert_eq!(
        client.feature_flags().await.unwrap(),
        vec!["USE_PROVISIONED_DEFAULTS"]
    );
    assert_eq!(received_on(&server, "/v1/organization").await.len(), 1);
    assert_eq!(client.organization_id().await.unwrap(), "org1");
    assert_eq!(received_on(&server, "/v1/organization").await.len(), 2);
    let creds = client.kafka_credentials().await.unwrap();
    assert_eq!(creds.password.expose(), "kafka-pass-123");
}

#[tokio::test]
async fn ingest_calls_go_to_the_urls_port_gave() {
    let (server, client) = setup().await;
    let metrics_url = format!("{}/ingest/metrics/", server.uri());
    Mock::given(method("PUT"))
        .and(path(
            "/ingest/metrics/syncMetrics/resync/ev%201/kind/a%2Fb-0",
        ))
        .and(body_json(
            json!({"syncKindMetrics": {"kindIdentifier": "a/b-0"}}),
        ))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/ingest/metrics/heartbeat"))
        .and(body_json(json!({"eventId": "ev 1"})))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/ingest/logs"))
        .and(body_json(json!({"logs": [{"message": "hi"}]})))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    client
        .put_kind_metrics(
            &metrics_url,
            "ev 1",
            "a/b-0",
            &json!({"kindIdentifier": "a/b-0"}),
        )
        .await
        .unwrap();
    client.post_heartbeat(&metrics_url, "ev 1").await.unwrap();
    client
        .ingest_logs(
            &format!("{}/ingest/logs", server.uri()),
            &[json!({"message": "hi"})],
        )
        .await
        .unwrap();
    let beat = &received_on(&server, "/ingest/metrics/heartbeat").await[0];
    assert_eq!(header(beat, "authorization"), "Bearer t1");
}
