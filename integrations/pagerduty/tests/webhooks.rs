//! The webhook processors as the runtime drives them: which events they take, signature checks
//! (good, missing, wrong, several), ordering keys, and the raw items each event produces from the
//! fixture server — plus the subscription created at startup.

mod common;

use common::{config, ctx, fixture, fixture_text, json, pagerduty};
use ocean::{Integration, StartContext, WebhookEvent, WebhookProcessor, WebhookRoute};
use ocean_pagerduty::{PagerDuty, RetryPolicy, WEBHOOK_PATH};
use serde_json::{Value, json};
use std::sync::Arc;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "whsec-5f1c0e";

fn routes(server: &MockServer, secret: Option<&str>) -> Vec<WebhookRoute> {
    let mut config = config(server);
    config.webhook_secret = secret.map(ocean::Secret::new);
    PagerDuty::with_retry_policy(config, RetryPolicy::default().fast())
        .unwrap()
        .webhook_processors()
}

fn processor(routes: &[WebhookRoute], name: &str) -> Arc<dyn WebhookProcessor> {
    let route = routes.iter().find(|r| r.processor.name() == name).unwrap();
    assert_eq!(route.path, WEBHOOK_PATH);
    route.processor.clone()
}

/// The hex signature (without its `v1=`).
fn sign(secret: &str, body: &[u8]) -> String {
    ocean::http::Signature::hmac_sha256().sign(secret.as_bytes(), body)
}

fn event(body: &str, signature: Option<String>) -> WebhookEvent {
    let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
    if let Some(sig) = signature {
        headers.push(("X-PagerDuty-Signature".to_owned(), sig));
    }
    WebhookEvent::new("trace-1", WEBHOOK_PATH, headers, body.to_owned().into()).unwrap()
}

fn signed(file: &str) -> WebhookEvent {
    let body = fixture_text(file);
    let sig = format!("v1={}", sign(SECRET, body.as_bytes()));
    event(&body, Some(sig))
}

fn ids(items: &[Value]) -> Vec<&str> {
    items.iter().map(|i| i["id"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn processors_take_their_own_events() {
    let server = MockServer::start().await;
    let routes = routes(&server, None);
    let incidents = processor(&routes, "pagerduty-incidents");
    let services = processor(&routes, "pagerduty-services");
    let check = |file: &str, incident: bool, service: bool| {
        let e = event(&fixture_text(file), None);
        assert_eq!(incidents.should_process(&e), incident, "{file}");
        assert_eq!(services.should_process(&e), service, "{file}");
    };
    check("webhook.incident.triggered.json", true, false);
    check("webhook.incident.annotated.json", true, false);
    check("webhook.service.updated.json", false, true);
    check("webhook.service.deleted.json", false, true);
    let other = event(
        r#"{"event": {"event_type": "pagey.ping", "data": {}}}"#,
        None,
    );
    assert!(!incidents.should_process(&other) && !services.should_process(&other));

    let e = event(&fixture_text("webhook.incident.annotated.json"), None);
    assert_eq!(incidents.matching_kinds(&e), ["incidents"]);
    assert_eq!(
        incidents.ordering_key(&e).as_deref(),
        Some("incident:Q1AAA")
    );
    assert!(incidents.validate_payload(&e));
    let e = event(&fixture_text("webhook.service.deleted.json"), None);
    assert_eq!(services.matching_kinds(&e), ["services"]);
    assert_eq!(
        services.ordering_key(&e).as_deref(),
        Some("service:PSV9OLD")
    );
    let no_id = event(
        r#"{"event": {"event_type": "service.updated", "data": {}}}"#,
        None,
    );
    assert!(!services.validate_payload(&no_id));
}

#[tokio::test]
async fn signatures_are_checked_when_a_secret_is_set() {
    let server = MockServer::start().await;
    let routes = routes(&server, Some(SECRET));
    let body = fixture_text("webhook.incident.triggered.json");
    let good = sign(SECRET, body.as_bytes());
    let wrong = sign("another-secret", body.as_bytes());
    for name in ["pagerduty-incidents", "pagerduty-services"] {
        let p = processor(&routes, name);
        assert_eq!(
            p.authenticate(&event(&body, Some(format!("v1={good}")))),
            Ok(())
        );
        // While PagerDuty rotates a secret it sends one signature per secret.
        assert_eq!(
            p.authenticate(&event(&body, Some(format!("v1={wrong},v1={good}")))),
            Ok(())
        );
        let rejection =
            |sig: Option<String>| p.authenticate(&event(&body, sig)).unwrap_err().reason;
        assert!(rejection(None).starts_with("missing X-PagerDuty-Signature"));
        assert!(rejection(Some(format!("v1={wrong}"))).starts_with("no v1 signature"));
        // A signature of another body does not pass.
        let tampered = sign(SECRET, b"{}");
        assert!(rejection(Some(format!("v1={tampered}"))).starts_with("no v1 signature"));
        assert!(!rejection(Some(format!("v1={wrong}"))).contains(SECRET));
    }
    // Without a secret, requests are accepted (and checked against the API instead).
    let open = routes_without_secret(&server);
    assert_eq!(
        processor(&open, "pagerduty-incidents").authenticate(&event(&body, None)),
        Ok(())
    );
}

fn routes_without_secret(server: &MockServer) -> Vec<WebhookRoute> {
    routes(server, None)
}

#[tokio::test]
async fn incident_events_upsert_the_incident_as_the_api_shows_it() {
    let server = pagerduty().await;
    let routes = routes(&server, Some(SECRET));
    let p = processor(&routes, "pagerduty-incidents");
    let resource = ctx(
        "incidents",
        json!({"query": "true", "apiQueryParams": {"include": ["assignees"], "since": "2024-01-01"},
               "incidentAnalytics": true}),
    );
    for file in [
        "webhook.incident.triggered.json",
        "webhook.incident.annotated.json",
    ] {
        let results = p.handle(&signed(file), &resource).await.unwrap();
        assert_eq!(ids(&results.updated), ["Q1AAA"], "{file}");
        assert!(results.deleted.is_empty());
        // The API's incident, not the payload's: assignees in full, analytics attached.
        assert_eq!(
            results.updated[0]["assignments"][0]["assignee"]["email"],
            "anna.lindqvist@acme.example"
        );
        assert_eq!(
            results.updated[0]["__analytics"]["seconds_to_first_ack"],
            180
        );
    }
    let requests = server.received_requests().await.unwrap();
    let fetches: Vec<String> = requests
        .iter()
        .filter(|r| r.url.path() == "/incidents/Q1AAA")
        .map(|r| r.url.query().unwrap_or_default().to_owned())
        .collect();
    // Only the resource's include[] applies to one incident; list filters do not.
    assert_eq!(
        fetches,
        ["include%5B%5D=assignees", "include%5B%5D=assignees"]
    );
}

#[tokio::test]
async fn an_incident_outside_the_resource_s_filters_is_deleted_for_that_resource() {
    let server = pagerduty().await;
    let routes = routes(&server, None);
    let p = processor(&routes, "pagerduty-incidents");
    let body = json!({"event": {"event_type": "incident.resolved", "resource_type": "incident",
        "data": {"id": "Q3CCC", "type": "incident", "status": "resolved"}}})
    .to_string();
    let open = ctx(
        "incidents",
        json!({"apiQueryParams": {"statuses": ["triggered", "acknowledged"]}}),
    );
    let results = p.handle(&event(&body, None), &open).await.unwrap();
    assert!(results.updated.is_empty());
    assert_eq!(ids(&results.deleted), ["Q3CCC"]);
    let resolved = ctx(
        "incidents",
        json!({"apiQueryParams": {"statuses": ["resolved"]}}),
    );
    let results = p.handle(&event(&body, None), &resolved).await.unwrap();
    assert_eq!(ids(&results.updated), ["Q3CCC"]);
    assert!(results.deleted.is_empty());
}

#[tokio::test]
async fn an_incident_the_api_does_not_show_yet_is_a_retryable_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/incidents/Q1AAA"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_string(r#"{"error":{"message":"Not Found","code":2100}}"#),
        )
        .mount(&server)
        .await;
    let routes = routes(&server, None);
    let p = processor(&routes, "pagerduty-incidents");
    let err = p
        .handle(
            &event(&fixture_text("webhook.incident.triggered.json"), None),
            &ctx("incidents", json!({})),
        )
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "PagerDuty has no incident Q1AAA yet");
    assert!(p.should_retry(&err));

    let forbidden = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&forbidden)
        .await;
    let routes = routes_without_secret(&forbidden);
    let p = processor(&routes, "pagerduty-incidents");
    let err = p
        .handle(
            &event(&fixture_text("webhook.incident.triggered.json"), None),
            &ctx("incidents", json!({})),
        )
        .await
        .unwrap_err();
    assert!(!p.should_retry(&err), "a 403 will not get better: {err}");
}

#[tokio::test]
async fn service_updates_upsert_the_enriched_service() {
    let server = pagerduty().await;
    let routes = routes(&server, Some(SECRET));
    let p = processor(&routes, "pagerduty-services");
    let results = p
        .handle(
            &signed("webhook.service.updated.json"),
            &ctx("services", json!({"query": "true"})),
        )
        .await
        .unwrap();
    assert_eq!(ids(&results.updated), ["PSV2CHK"]);
    let service = &results.updated[0];
    assert_eq!(service["__oncall_user"].as_array().unwrap().len(), 2);
    assert_eq!(service["__analytics"]["mean_seconds_to_resolve"], 5400);
    assert_eq!(
        service["html_url"],
        fixture("service.PSV2CHK.json")["service"]["html_url"]
    );
    assert!(service.get("__custom_fields").is_none());

    // With `includeCustomFields`, the event's service and incident get them as a resync would.
    for (kind, id) in [("services", "PSV2CHK"), ("incidents", "Q1AAA")] {
        Mock::given(method("GET"))
            .and(path(format!("/{kind}/{id}/custom_fields/values")))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"custom_fields": [{"name": "owner", "value": format!("owner-of-{id}")}]}),
            ))
            .expect(1)
            .mount(&server)
            .await;
    }
    let results = p
        .handle(
            &signed("webhook.service.updated.json"),
            &ctx("services", json!({"includeCustomFields": true})),
        )
        .await
        .unwrap();
    assert_eq!(
        results.updated[0]["__custom_fields"][0]["value"],
        "owner-of-PSV2CHK"
    );
    let incidents = processor(&routes, "pagerduty-incidents");
    let results = incidents
        .handle(
            &signed("webhook.incident.triggered.json"),
            &ctx("incidents", json!({"includeCustomFields": true})),
        )
        .await
        .unwrap();
    assert_eq!(
        results.updated[0]["__custom_fields"][0]["value"],
        "owner-of-Q1AAA"
    );
}

#[tokio::test]
async fn signed_service_deletions_are_trusted_and_unsigned_ones_confirmed() {
    // Signed: the payload's service is deleted without asking the API.
    let server = MockServer::start().await;
    let routes = routes(&server, Some(SECRET));
    let p = processor(&routes, "pagerduty-services");
    let services = ctx("services", json!({}));
    let results = p
        .handle(&signed("webhook.service.deleted.json"), &services)
        .await
        .unwrap();
    assert!(results.updated.is_empty());
    assert_eq!(ids(&results.deleted), ["PSV9OLD"]);
    assert!(server.received_requests().await.unwrap().is_empty());

    // Unsigned and the API agrees (404): deleted.
    let gone = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/services/PSV9OLD"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&gone)
        .await;
    let routes = routes_without_secret(&gone);
    let p = processor(&routes, "pagerduty-services");
    let unsigned = event(&fixture_text("webhook.service.deleted.json"), None);
    let results = p.handle(&unsigned, &services).await.unwrap();
    assert_eq!(ids(&results.deleted), ["PSV9OLD"]);

    // Unsigned but the API still shows it: nothing is deleted.
    let still = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/services/PSV9OLD"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"service": {"id": "PSV9OLD"}})),
        )
        .mount(&still)
        .await;
    let routes = routes_without_secret(&still);
    let p = processor(&routes, "pagerduty-services");
    let err = p.handle(&unsigned, &services).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "PagerDuty still shows service PSV9OLD after an unsigned service.deleted event; not deleting it"
    );
}

#[tokio::test]
async fn startup_creates_the_subscription_once() {
    let server = pagerduty().await;
    Mock::given(method("POST"))
        .and(path("/webhook_subscriptions"))
        .and(body_partial_json(json!({"webhook_subscription": {
            "delivery_method": {"type": "http_delivery_method",
                                "url": "https://ocean.acme.example/integration/webhook"},
            "filter": {"type": "account_reference"},
            "type": "webhook_subscription"}})))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"webhook_subscription": {
                "id": "PWH2NEW", "delivery_method": {"secret": "shown-once"}}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let pd = PagerDuty::with_retry_policy(config(&server), RetryPolicy::default().fast()).unwrap();
    let start = StartContext::new(Some("https://ocean.acme.example/".into()), "my-pd");
    pd.on_start(&start).await.unwrap();
    let posted: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let events = posted[0]["webhook_subscription"]["events"]
        .as_array()
        .unwrap();
    assert!(
        events.contains(&json!("incident.triggered")) && events.contains(&json!("service.deleted"))
    );

    // A subscription for that URL exists already: nothing is created.
    let existing = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/webhook_subscriptions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "webhook_subscriptions": [{"id": "PWH3", "delivery_method": {
                "url": "https://hooks.acme.example/integration/webhook"}}],
            "limit": 100, "offset": 0, "more": false})))
        .mount(&existing)
        .await;
    Mock::given(method("POST"))
        .respond_with(json("teams.json"))
        .expect(0)
        .mount(&existing)
        .await;
    let mut cfg = config(&existing);
    cfg.app_host = Some("https://hooks.acme.example".into());
    let pd = PagerDuty::with_retry_policy(cfg, RetryPolicy::default().fast()).unwrap();
    pd.on_start(&StartContext::new(None, "my-pd"))
        .await
        .unwrap();

    // A ONCE run serves no webhooks: no subscription even with a URL.
    let once = MockServer::start().await;
    let mut cfg = config(&once);
    cfg.app_host = Some("https://hooks.acme.example".into());
    let pd = PagerDuty::with_retry_policy(cfg, RetryPolicy::default().fast()).unwrap();
    pd.on_start(
        &StartContext::new(Some("https://ocean.acme.example".into()), "my-pd")
            .with_listener("ONCE", false),
    )
    .await
    .unwrap();
    assert!(once.received_requests().await.unwrap().is_empty());

    // No URL at all: nothing is asked of PagerDuty.
    let quiet = MockServer::start().await;
    let pd = PagerDuty::with_retry_policy(config(&quiet), RetryPolicy::default().fast()).unwrap();
    pd.on_start(&StartContext::new(None, "my-pd"))
        .await
        .unwrap();
    assert!(quiet.received_requests().await.unwrap().is_empty());
}

/// A 5xx on the subscription's `POST` may hide a subscription that was created: it is not
/// resent (no duplicate), the start reports the failure, and the next start finds it by
/// listing first.
#[tokio::test]
async fn a_failed_subscription_post_is_not_resent() {
    let server = MockServer::start().await;
    let url = "https://ocean.acme.example/integration/webhook";
    Mock::given(method("GET"))
        .and(path("/webhook_subscriptions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "webhook_subscriptions": [], "limit": 100, "offset": 0, "more": false})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/webhook_subscriptions"))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&server)
        .await;
    let pd = PagerDuty::with_retry_policy(config(&server), RetryPolicy::default().fast()).unwrap();
    let start = StartContext::new(Some("https://ocean.acme.example".into()), "my-pd");
    let error = pd.on_start(&start).await.unwrap_err().to_string();
    assert!(
        error.contains("POST") && error.contains("/webhook_subscriptions") && error.contains("502"),
        "{error}"
    );
    // PagerDuty had created it after all: the next start lists it and creates nothing.
    Mock::given(method("GET"))
        .and(path("/webhook_subscriptions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "webhook_subscriptions": [{"id": "PWH9", "delivery_method": {"url": url}}],
            "limit": 100, "offset": 0, "more": false})))
        .mount(&server)
        .await;
    pd.on_start(&start).await.unwrap();
}
