//! `authType: custom` against a local server: the authentication request (JSON or form body,
//! relative or absolute endpoint), its response filling header, query and body templates, one
//! authentication shared by concurrent requests, a new one after a 401 (one resend) and when the
//! interval has passed.

mod common;

use common::{fetch, integration, items, ok};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use wiremock::matchers::{body_json, body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Answers each authentication with a new token: `tok-1`, `tok-2`, …
struct Tokens(Arc<AtomicU32>);

impl Respond for Tokens {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200)
            .set_body_json(json!({"data": {"accessToken": format!("tok-{n}")}, "region": "eu"}))
    }
}

async fn auth_endpoint(server: &MockServer, matcher_body: Value) -> Arc<AtomicU32> {
    let count = Arc::new(AtomicU32::new(0));
    Mock::given(method("POST"))
        .and(path("/v1/auth/access_token"))
        .and(body_json(matcher_body))
        .respond_with(Tokens(count.clone()))
        .mount(server)
        .await;
    count
}

fn config(extra: Value) -> Value {
    let mut config = json!({
        "auth_type": "custom",
        "custom_auth_request": {"endpoint": "/v1/auth/access_token",
            "body": {"clientId": "id", "clientSecret": "cs-secret"}},
        "custom_auth_request_template": "{\"headers\": {\"Authorization\": \"Bearer {{.data.accessToken}}\"}, \"queryParams\": {\"region\": \"{{.region}}\"}}"
    });
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        config[k] = v;
    }
    config
}

#[tokio::test]
async fn one_authentication_fills_headers_and_query_of_every_request() {
    let server = MockServer::start().await;
    let count = auth_endpoint(
        &server,
        json!({"clientId": "id", "clientSecret": "cs-secret"}),
    )
    .await;
    for kind in ["/a", "/b", "/c"] {
        Mock::given(path(kind))
            .and(header("authorization", "Bearer tok-1"))
            .and(query_param("region", "eu"))
            .respond_with(ok(json!([{"id": kind}])))
            .mount(&server)
            .await;
    }
    let custom = integration(&server, config(json!({})));
    let (a, b, c) = tokio::join!(
        items(&custom, "/a", json!({})),
        items(&custom, "/b", json!({})),
        items(&custom, "/c", json!({}))
    );
    assert_eq!((a.len(), b.len(), c.len()), (1, 1, 1));
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "one authentication in flight, then reused"
    );
}

#[tokio::test]
async fn a_401_authenticates_again_and_resends_once() {
    let server = MockServer::start().await;
    let count = auth_endpoint(
        &server,
        json!({"clientId": "id", "clientSecret": "cs-secret"}),
    )
    .await;
    Mock::given(path("/data"))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(path("/data"))
        .and(header("authorization", "Bearer tok-2"))
        .respond_with(ok(json!([{"id": 1}])))
        .mount(&server)
        .await;
    let custom = integration(&server, config(json!({})));
    assert_eq!(items(&custom, "/data", json!({})).await.len(), 1);
    assert_eq!(count.load(Ordering::SeqCst), 2);

    // A 401 that persists fails the kind after the one resend, without leaking the secrets.
    Mock::given(path("/denied"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let err = fetch(&custom, "/denied", json!({}))
        .await
        .unwrap_err()
        .chain();
    assert!(err.contains("/denied") && err.contains("401"), "{err}");
    assert!(!err.contains("tok-") && !err.contains("cs-secret"), "{err}");
}

#[tokio::test]
async fn the_interval_triggers_a_new_authentication() {
    let server = MockServer::start().await;
    let count = Arc::new(AtomicU32::new(0));
    // A form body, an absolute endpoint.
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string("grant_type=client_credentials&client_id=id"))
        .respond_with(Tokens(count.clone()))
        .mount(&server)
        .await;
    Mock::given(path("/data"))
        .respond_with(ok(json!([{"id": 1}])))
        .mount(&server)
        .await;
    let custom = integration(
        &server,
        json!({"auth_type": "custom",
            "custom_auth_request": {"endpoint": format!("{}/oauth/token", server.uri()),
                "bodyForm": "grant_type=client_credentials&client_id=id",
                "reauthenticateIntervalSeconds": 1},
            "custom_auth_request_template": {"headers": {"Authorization": "Bearer {{.data.accessToken}}"}}}),
    );
    items(&custom, "/data", json!({})).await;
    items(&custom, "/data", json!({})).await;
    assert_eq!(count.load(Ordering::SeqCst), 1);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    items(&custom, "/data", json!({})).await;
    assert_eq!(count.load(Ordering::SeqCst), 2);
    let requests = server.received_requests().await.unwrap();
    let last = requests
        .iter()
        .rev()
        .find(|r| r.url.path() == "/data")
        .unwrap();
    assert_eq!(last.headers["authorization"], "Bearer tok-2");
}

#[tokio::test]
async fn a_failing_authentication_fails_the_kind() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/auth/access_token"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&server)
        .await;
    let custom = integration(&server, config(json!({})));
    let err = fetch(&custom, "/data", json!({}))
        .await
        .unwrap_err()
        .chain();
    assert!(
        err.contains("authentication") && err.contains("403"),
        "{err}"
    );
    assert!(!err.contains("cs-secret"), "{err}");
}

#[tokio::test]
async fn body_templates_are_merged_into_post_bodies_and_renewed_after_a_401() {
    let server = MockServer::start().await;
    let count = auth_endpoint(
        &server,
        json!({"clientId": "id", "clientSecret": "cs-secret"}),
    )
    .await;
    // The API takes the token inside the body, beside the selector's own fields.
    Mock::given(method("POST"))
        .and(path("/search"))
        .and(body_json(
            json!({"filter": {"state": "open"}, "session": {"token": "tok-2", "region": "eu"}}),
        ))
        .respond_with(ok(json!({"results": [{"id": 1}, {"id": 2}]})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/search"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let custom = integration(
        &server,
        config(json!({"custom_auth_request_template": {
            "body": {"session": {"token": "{{.data.accessToken}}", "region": "{{.region}}"}}
        }})),
    );
    let got = items(
        &custom,
        "/search",
        json!({"method": "POST", "body": {"filter": {"state": "open"}}, "data_path": ".results"}),
    )
    .await;
    assert_eq!(got, vec![json!({"id": 1}), json!({"id": 2})]);
    assert_eq!(count.load(Ordering::SeqCst), 2, "tok-1 refused, tok-2 used");
    let sent = server.received_requests().await.unwrap();
    let searches: Vec<Value> = sent
        .iter()
        .filter(|r| r.url.path() == "/search")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(searches.len(), 2);
    assert_eq!(searches[0]["session"]["token"], "tok-1");
    assert_eq!(searches[1]["session"]["token"], "tok-2");
}
