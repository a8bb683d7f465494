//! Shared test helpers: fixtures, a wiremock server standing in for PagerDuty, and the
//! integration pointed at it.

#![allow(dead_code)]

use ocean::{FetchContext, FetchError, Integration, Page};
use ocean_pagerduty::{PagerDuty, PagerDutyConfig, RetryPolicy};
use serde_json::Value;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The token every test integration uses.
pub const TOKEN: &str = "u+test-token-7f3a";

pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture's text.
pub fn fixture_text(name: &str) -> String {
    let file = dir().join("tests/fixtures").join(name);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// A fixture as JSON.
pub fn fixture(name: &str) -> Value {
    serde_json::from_str(&fixture_text(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub fn json(name: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/json")
        .set_body_string(fixture_text(name))
}

/// A server answering every list and enrichment endpoint the default mapping uses, from the
/// fixtures (services and incidents over two pages).
pub async fn pagerduty() -> MockServer {
    let server = MockServer::start().await;
    let page = |p: &'static str, offset: &'static str, file: &'static str| {
        Mock::given(method("GET"))
            .and(path(p))
            .and(query_param("offset", offset))
            .respond_with(json(file))
    };
    page("/services", "0", "services.page0.json")
        .mount(&server)
        .await;
    page("/services", "2", "services.page1.json")
        .mount(&server)
        .await;
    page("/incidents", "0", "incidents.page0.json")
        .mount(&server)
        .await;
    page("/incidents", "2", "incidents.page1.json")
        .mount(&server)
        .await;
    page("/schedules", "0", "schedules.json")
        .mount(&server)
        .await;
    page("/users", "0", "users.json").mount(&server).await;
    page("/escalation_policies", "0", "escalation_policies.json")
        .mount(&server)
        .await;
    page("/teams", "0", "teams.json").mount(&server).await;
    page("/webhook_subscriptions", "0", "webhook_subscriptions.json")
        .mount(&server)
        .await;
    // On-call entries: per escalation policy for enrichments, the window listing for the kind.
    Mock::given(method("GET"))
        .and(path("/oncalls"))
        .and(wiremock::matchers::query_param_contains(
            "escalation_policy_ids[]",
            "PEP",
        ))
        .respond_with(json("oncalls.by_policy.json"))
        .with_priority(1)
        .mount(&server)
        .await;
    page("/oncalls", "0", "oncalls.json").mount(&server).await;
    Mock::given(method("POST"))
        .and(path("/analytics/metrics/incidents/services"))
        .respond_with(json("analytics.services.json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/incidents/Q1AAA"))
        .respond_with(json("incident.Q1AAA.json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/incidents/Q3CCC"))
        .respond_with(json("incident.Q3CCC.json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/services/PSV2CHK"))
        .respond_with(json("service.PSV2CHK.json"))
        .mount(&server)
        .await;
    // Raw incident analytics, one query per page of incidents: only Q1AAA has any.
    let q1: Value = serde_json::from_str(&fixture_text("analytics.incident.Q1AAA.json")).unwrap();
    Mock::given(method("POST"))
        .and(path("/analytics/raw/incidents"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "data": [q1], "more": false, "last": "Q1AAA", "limit": 100})))
        .mount(&server)
        .await;
    server
}

/// The config of an integration talking to `server`.
pub fn config(server: &MockServer) -> PagerDutyConfig {
    let mut config = PagerDutyConfig::with_token(TOKEN);
    config.api_url = server.uri();
    config
}

/// The integration talking to `server`, with short retry delays.
pub fn integration(server: &MockServer) -> PagerDuty {
    PagerDuty::with_retry_policy(config(server), RetryPolicy::default().fast()).unwrap()
}

pub fn ctx(kind: &str, selector: Value) -> FetchContext {
    FetchContext::new(kind, 0, selector, None, CancellationToken::new())
}

/// Every page of a kind, stopping at the first error (returned with the pages before it).
pub async fn fetch(
    integration: &PagerDuty,
    kind: &str,
    selector: Value,
) -> (Vec<Page>, Option<FetchError>) {
    ocean::testing::pages(integration.fetch(ctx(kind, selector))).await
}

/// Every item of a kind; panics on an error.
pub async fn items(integration: &PagerDuty, kind: &str, selector: Value) -> Vec<Value> {
    let (pages, error) = fetch(integration, kind, selector).await;
    if let Some(e) = error {
        panic!("fetching {kind}: {}", e.chain());
    }
    pages.into_iter().flatten().collect()
}
