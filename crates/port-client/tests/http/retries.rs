//! The retry policy on the wire: which statuses and methods are retried, `Retry-After`,
//! transport errors, exhaustion, and the counters that show it.

use std::net::TcpListener;
use std::time::Duration;

use ocean_model::Entity;
use ocean_port_client::{IntegrationPatch, PortClient, PortError, RetryPolicy, UpsertOptions};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::*;

#[tokio::test]
async fn retry_after_is_honoured_and_counted() {
    let server = wiremock::MockServer::start().await;
    mount_token(&server, "t1").await;
    Mock::given(method("GET"))
        .and(path("/v1/integration/provision-enabled"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "20"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/integration/provision-enabled"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"integrations": ["jira"]})))
        .mount(&server)
        .await;
    let mut config = config_for(&server.uri());
    // 20 s from the header, shrunk by the tier factor to 20 ms (the exponential wait would be
    // about 1 ms).
    config.retry = RetryPolicy {
        tier_factor: 0.001,
        ..fast_policy(3)
    };
    let client = PortClient::new(config).unwrap();
    assert_eq!(
        client.provision_enabled_integrations().await.unwrap(),
        vec!["jira"]
    );
    let m = client.metrics();
    assert_eq!(m.retries, 1);
    let waited = m.retry_wait.as_micros();
    assert!(
        (19_990..=20_010).contains(&waited),
        "computed wait {waited} µs"
    );
    assert_eq!(m.requests_by_status.get(&429), Some(&1));
    assert_eq!(m.requests_by_status.get(&200), Some(&2));
}

#[tokio::test]
async fn a_500_is_not_retried() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v1/integration/my-jira"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .mount(&server)
        .await;
    let err = client.get_integration().await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert!(
        err.to_string().contains("GET /integration/my-jira"),
        "{err}"
    );
    assert!(err.to_string().contains("boom"), "{err}");
    assert_eq!(
        received_on(&server, "/v1/integration/my-jira").await.len(),
        1
    );
    assert_eq!(client.metrics().retries, 0);
}

#[tokio::test]
async fn a_patch_is_sent_once_even_on_503() {
    let (server, client) = setup().await;
    Mock::given(method("PATCH"))
        .and(path("/v1/integration/my-jira"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let err = client
        .patch_integration(&IntegrationPatch::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(
        received_on(&server, "/v1/integration/my-jira").await.len(),
        1
    );
}

#[tokio::test]
async fn retries_stop_after_the_budget_and_return_the_last_answer() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v1/organization"))
        .respond_with(ResponseTemplate::new(503).insert_header("x-trace-id", "tr-1"))
        .mount(&server)
        .await;
    let err = client.organization_id().await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(err.to_string().contains("trace id tr-1"), "{err}");
    // First try and three retries (fast_policy(3)).
    assert_eq!(received_on(&server, "/v1/organization").await.len(), 4);
    let m = client.metrics();
    assert_eq!(m.retries, 3);
    assert_eq!(m.requests_by_status.get(&503), Some(&4));
}

#[tokio::test]
async fn marked_posts_are_retried() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/blueprints/svc/entities/bulk"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/blueprints/svc/entities/bulk"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"entities": [{"identifier": "a", "index": 0, "created": true}]}),
            ),
        )
        .mount(&server)
        .await;
    let entity = Entity {
        identifier: json!("a"),
        blueprint: json!("svc"),
        ..Entity::default()
    };
    let outcomes = client
        .upsert_entities_bulk("svc", &[entity], &UpsertOptions::default())
        .await;
    assert!(outcomes[0].is_upserted());
    assert_eq!(
        received_on(&server, "/v1/blueprints/svc/entities/bulk")
            .await
            .len(),
        3
    );
    assert_eq!(client.metrics().retries, 2);
}

#[tokio::test]
async fn unmarked_posts_are_not_retried() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/pages"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let err = client
        .create_page(&json!({"identifier": "p"}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(received_on(&server, "/v1/pages").await.len(), 1);
}

#[tokio::test]
async fn transport_errors_are_retried_then_reported() {
    // A port nobody listens on.
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut config = config_for(&format!("http://127.0.0.1:{port}"));
    config.connect_timeout = Duration::from_secs(5);
    let client = PortClient::new(config).unwrap();
    let err = client.get_integration().await.unwrap_err();
    // The token request is the first to fail.
    let PortError::Auth(inner) = &err else {
        panic!("expected an auth error, got {err:?}");
    };
    assert!(matches!(**inner, PortError::Transport { .. }), "{inner:?}");
    assert!(err.to_string().contains("POST /auth/access_token"), "{err}");
    let m = client.metrics();
    assert_eq!(m.transport_errors, 4);
    assert_eq!(m.retries, 3);
}
