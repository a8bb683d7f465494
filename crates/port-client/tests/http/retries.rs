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
async fn a_500_on_a_read_is_retried_a_few_times_then_reported() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v1/integration/my-jira"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .mount(&server)
        .await;
    let mut config = config_for(&server.uri());
    config.retry = fast_policy(10);
    let client_with_budget = PortClient::new(config).unwrap();
    let err = client_with_budget.get_integration().await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert!(
        err.to_string().contains("GET /integration/my-jira"),
        "{err}"
    );
    assert!(err.to_string().contains("boom"), "{err}");
    // The first try and three retries in doubt, although the policy allows ten.
    assert_eq!(
        received_on(&server, "/v1/integration/my-jira").await.len(),
        4
    );
    assert_eq!(client_with_budget.metrics().retries, 3);
    drop(client);
}

#[tokio::test]
async fn a_500_on_a_create_is_not_retried() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/blueprints"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .mount(&server)
        .await;
    let err = client
        .create_blueprint(&json!({"identifier": "svc"}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    // Port may have created it: a second POST could answer 409 or create a copy.
    assert_eq!(received_on(&server, "/v1/blueprints").await.len(), 1);
    assert_eq!(client.metrics().retries, 0);
}

#[tokio::test]
async fn a_refused_patch_is_retried() {
    let (server, client) = setup().await;
    Mock::given(method("PATCH"))
        .and(path("/v1/integration/my-jira"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v1/integration/my-jira"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"integration": {}})))
        .mount(&server)
        .await;
    client
        .patch_integration(&IntegrationPatch::default())
        .await
        .unwrap();
    assert_eq!(
        received_on(&server, "/v1/integration/my-jira").await.len(),
        3
    );
    assert_eq!(client.metrics().retries, 2);
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
async fn refused_creates_are_retried() {
    // 429 and 503 mean Port did not process the request: sending it again cannot duplicate.
    let (server, client) = setup().await;
    for status in [429, 503] {
        Mock::given(method("POST"))
            .and(path("/v1/blueprints"))
            .respond_with(ResponseTemplate::new(status))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/v1/blueprints"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"blueprint": {"identifier": "svc"}})),
        )
        .mount(&server)
        .await;
    client
        .create_blueprint(&json!({"identifier": "svc"}))
        .await
        .unwrap();
    assert_eq!(received_on(&server, "/v1/blueprints").await.len(), 3);
    assert_eq!(client.metrics().retries, 2);
}

#[tokio::test]
async fn a_timeout_after_sending_retries_reads_but_not_creates() {
    let server = wiremock::MockServer::start().await;
    mount_token(&server, "t1").await;
    for (verb, route) in [("GET", "/v1/organization"), ("POST", "/v1/pages")] {
        Mock::given(method(verb))
            .and(path(route))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
            .mount(&server)
            .await;
    }
    let mut config = config_for(&server.uri());
    config.timeout = Duration::from_millis(150);
    config.retry = fast_policy(10);
    let client = PortClient::new(config).unwrap();
    let err = client.organization_id().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(received_on(&server, "/v1/organization").await.len(), 4);
    let err = client
        .create_page(&json!({"identifier": "p"}))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
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
    assert!(
        inner.is_unsent(),
        "a refused connection never reached Port: {inner:?}"
    );
    assert!(err.to_string().contains("POST /auth/access_token"), "{err}");
    let m = client.metrics();
    assert_eq!(m.transport_errors, 4);
    assert_eq!(m.retries, 3);
}
