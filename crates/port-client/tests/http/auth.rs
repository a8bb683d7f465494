//! Access tokens: fetched once and shared, renewed when Port's lifetime says so, refreshed
//! single-flight on 401, and never printed.

use std::sync::Arc;

use ocean_port_client::{PortError, ResyncStateUpdate, ResyncStatus};
use serde_json::json;
use time::OffsetDateTime;
use wiremock::matchers::{body_json, header as header_is, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::*;

async fn mount_organization(server: &MockServer, token: &str, status: u16) {
    Mock::given(method("GET"))
        .and(path("/v1/organization"))
        .and(header_is(
            "authorization",
            format!("Bearer {token}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(status)
                .set_body_json(json!({"organization": {"id": "org1", "featureFlags": []}})),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn token_is_fetched_once_and_reused() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/access_token"))
        .and(body_json(
            json!({"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("t1", 10_800)))
        .expect(1)
        .mount(&server)
        .await;
    mount_organization(&server, "t1", 200).await;
    let client = client_for(&server);
    for _ in 0..3 {
        assert_eq!(client.organization_id().await.unwrap(), "org1");
    }
    let token_calls = received_on(&server, "/v1/auth/access_token").await;
    assert_eq!(token_calls.len(), 1);
    assert_eq!(
        header(&token_calls[0], "user-agent"),
        "port-ocean/jira/0.3.1/my-jira"
    );
    assert_eq!(header(&token_calls[0], "authorization"), "");
    assert_eq!(client.metrics().token_fetches, 1);
}

#[tokio::test]
async fn token_is_renewed_when_its_lifetime_is_over() {
    let server = MockServer::start().await;
    // Port says the token lives 0 seconds: every use after the first needs a new one.
    Mock::given(method("POST"))
        .and(path("/v1/auth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("t1", 0)))
        .mount(&server)
        .await;
    mount_organization(&server, "t1", 200).await;
    let client = client_for(&server);
    client.organization_id().await.unwrap();
    client.organization_id().await.unwrap();
    assert_eq!(received_on(&server, "/v1/auth/access_token").await.len(), 2);
    assert_eq!(client.metrics().token_fetches, 2);
}

/// Hands out `t1` first and `t2` afterwards; the API accepts only `t2`.
async fn rotating_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("t1", 10_800)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("t2", 10_800)))
        .with_priority(2)
        .mount(&server)
        .await;
    mount_organization(&server, "t1", 401).await;
    mount_organization(&server, "t2", 200).await;
    server
}

#[tokio::test]
async fn a_401_on_a_retryable_call_refreshes_the_token_and_retries() {
    let server = rotating_server().await;
    let client = client_for(&server);
    assert_eq!(client.organization_id().await.unwrap(), "org1");
    let org_calls = received_on(&server, "/v1/organization").await;
    let auths: Vec<&str> = org_calls
        .iter()
        .map(|r| header(r, "authorization"))
        .collect();
    assert_eq!(auths, vec!["Bearer t1", "Bearer t2"]);
    let m = client.metrics();
    assert_eq!(m.token_fetches, 2);
    assert_eq!(m.retries, 1);
    assert_eq!(m.requests_by_status.get(&401), Some(&1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_401s_cause_one_refresh() {
    let server = rotating_server().await;
    let client = Arc::new(client_for(&server));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let client = Arc::clone(&client);
            tokio::spawn(async move { client.organization_id().await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), "org1");
    }
    // One fetch for the first token, one refresh after all the 401s.
    assert_eq!(received_on(&server, "/v1/auth/access_token").await.len(), 2);
    assert_eq!(client.metrics().token_fetches, 2);
}

#[tokio::test]
async fn a_401_on_a_patch_renews_the_token_and_sends_it_again() {
    let (server, client) = setup().await;
    Mock::given(method("PATCH"))
        .and(path("/v1/integration/my-jira/resync-state"))
        .respond_with(ResponseTemplate::new(401))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v1/integration/my-jira/resync-state"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .mount(&server)
        .await;
    let now = OffsetDateTime::now_utc();
    let update = ResyncStateUpdate::after_resync(ResyncStatus::Completed, now, None, now);
    client.update_resync_state(&update).await.unwrap();
    assert_eq!(
        received_on(&server, "/v1/integration/my-jira/resync-state")
            .await
            .len(),
        2
    );
    // The refused token was replaced before the second attempt.
    assert_eq!(received_on(&server, "/v1/auth/access_token").await.len(), 2);
}

#[tokio::test]
async fn bad_credentials_fail_at_once_and_never_print_secrets() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/access_token"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_string(format!(r#"{{"error":"unknown client {CLIENT_ID}"}}"#)),
        )
        .mount(&server)
        .await;
    let client = client_for(&server);
    let err = client.get_integration().await.unwrap_err();
    assert!(matches!(err, PortError::Auth(_)), "{err:?}");
    assert_eq!(err.status(), Some(401));
    // Refused credentials are final: one request, no retries, no refresh loop.
    assert_eq!(received_on(&server, "/v1/auth/access_token").await.len(), 1);
    assert!(
        err.to_string().contains("check the client id and secret"),
        "{err}"
    );
    let shown = format!("{err} / {err:?} / {client:?} / {:?}", client.config());
    assert!(shown.contains("/auth/access_token"), "{shown}");
    for secret in [CLIENT_ID, CLIENT_SECRET] {
        assert!(!shown.contains(secret), "{secret} leaked in {shown}");
    }
    assert!(shown.contains("[REDACTED]"));
}

#[tokio::test]
async fn the_token_never_appears_in_debug_output() {
    let server = MockServer::start().await;
    mount_token(&server, "eyJ-distinctive-token").await;
    let client = client_for(&server);
    client.authenticate().await.unwrap();
    let shown = format!("{client:?}");
    assert!(!shown.contains("eyJ-distinctive-token"), "{shown}");
    assert!(shown.contains("my-jira"), "{shown}");
}

#[tokio::test]
async fn a_base_url_ending_in_v1_reaches_the_same_routes() {
    let server = MockServer::start().await;
    mount_token(&server, "t1").await;
    mount_organization(&server, "t1", 200).await;
    for base in [
        format!("{}/v1", server.uri()),
        format!("{}/v1/", server.uri()),
    ] {
        let client = PortClient::new(config_for(&base)).expect("client builds");
        assert_eq!(client.api_url().as_str(), format!("{}/v1", server.uri()));
        assert_eq!(client.organization_id().await.unwrap(), "org1");
    }
    assert!(
        received_on(&server, "/v1/v1/auth/access_token")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_404_from_the_token_route_names_the_url_tried_not_the_credentials() {
    // Nothing is mounted: every route answers 404, as a host that is not Port's API does.
    let server = MockServer::start().await;
    let client = PortClient::new(config_for(&format!("{}/api", server.uri()))).expect("builds");
    let err = client.organization_id().await.unwrap_err();
    assert!(
        matches!(&err, PortError::Auth(inner) if matches!(**inner, PortError::WrongBaseUrl { .. })),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "POST {}/api/v1/auth/access_token answered 404: there is no Port API at this base URL; set OCEAN__PORT__BASE_URL",
            server.uri()
        )),
        "{text}"
    );
    assert!(!text.contains("client id"), "{text}");
    // An answer, not a hiccup: asked once.
    assert_eq!(
        received_on(&server, "/api/v1/auth/access_token")
            .await
            .len(),
        1
    );
}
