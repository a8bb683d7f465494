//! HTTP behaviour of the Port client against fixture servers on 127.0.0.1 (wiremock): auth and
//! token refresh, retries, entities, integrations, blueprints and organization.
//!
//! Delays are shrunk through the retry policy value; nothing asserts on elapsed time. Retry
//! waits are checked through the client's counters, which record the computed wait.

mod auth;
mod entities;
mod integrations;
mod resources;
mod retries;

use std::time::Duration;

use ocean_port_client::{
    IntegrationIdentity, PortClient, PortClientConfig, RetryPolicy, port_retry_policy,
};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The client id every test client uses.
pub const CLIENT_ID: &str = "test-client-id-7f3a";
/// The client secret every test client uses.
pub const CLIENT_SECRET: &str = "test-client-secret-91bc";

/// A policy with millisecond waits, so retry tests run fast.
pub fn fast_policy(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        base_delay: Duration::from_millis(1),
        max_backoff: Duration::from_millis(20),
        ..port_retry_policy()
    }
}

/// A configuration for a fixture server, with fast retries.
pub fn config_for(base_url: &str) -> PortClientConfig {
    let mut config = PortClientConfig::new(
        base_url,
        CLIENT_ID,
        CLIENT_SECRET,
        IntegrationIdentity::new("Jira", "0.3.1", "my-jira"),
    );
    config.retry = fast_policy(3);
    config
}

/// A client for a fixture server.
pub fn client_for(server: &MockServer) -> PortClient {
    PortClient::new(config_for(&server.uri())).expect("client builds")
}

/// A token endpoint answer.
pub fn token_body(token: &str, expires_in: u64) -> serde_json::Value {
    json!({"accessToken": token, "expiresIn": expires_in, "tokenType": "Bearer"})
}

/// Mounts a token endpoint that always hands out `token`, valid for three hours.
pub async fn mount_token(server: &MockServer, token: &str) {
    Mock::given(method("POST"))
        .and(path("/v1/auth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(token, 10_800)))
        .mount(server)
        .await;
}

/// A server with a token endpoint, and a client pointed at it.
pub async fn setup() -> (MockServer, PortClient) {
    let server = MockServer::start().await;
    mount_token(&server, "t1").await;
    let client = client_for(&server);
    (server, client)
}

/// Requests the server received on one path.
pub async fn received_on(server: &MockServer, p: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == p)
        .collect()
}

/// A request header as text (empty when absent).
pub fn header<'a>(request: &'a Request, name: &str) -> &'a str {
    request
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The query pairs of a request, in order.
pub fn query(request: &Request) -> Vec<(String, String)> {
    request
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}
