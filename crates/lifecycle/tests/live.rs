//! Live events, the HTTP server and the listeners that need it, end to end against the
//! in-process Port emulator: webhooks upserting and deleting through the mapping, a forged
//! request refused, a 10 000-event burst with nothing lost, `/metrics` values, `POST /resync`
//! (WEBHOOK), WEBHOOKS_ONLY, the scheduled resync, and a live write surviving a running resync.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use ocean_config::{IntegrationInfo, Loader, Settings};
use ocean_http::signature::Signature;
use ocean_lifecycle::{
    BoxError, EngineConfig, FetchContext, Integration, LiveConfig, Ocean, PageStream, RunOutcome,
    WebhookEvent, WebhookProcessor, WebhookRejection, WebhookResults, WebhookRoute,
};
use ocean_port_client::signature::sign as port_signature;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const WEBHOOK_SECRET: &str = "webhook-test-secret";

/// `{"kind": K, "action": "upsert"|"delete", "item": {...}}`, signed with `x-test-signature`
/// (base64 HMAC-SHA256 of the body).
struct TestProcessor;

fn scheme() -> Signature {
    Signature::hmac_sha256().base64()
}

fn sign(body: &[u8]) -> String {
    scheme().sign(WEBHOOK_SECRET.as_bytes(), body)
}

#[async_trait::async_trait]
impl WebhookProcessor for TestProcessor {
    fn name(&self) -> &str {
        "test-items"
    }

    fn should_process(&self, event: &WebhookEvent) -> bool {
        event.payload().get("kind").is_some_and(Value::is_string)
    }

    fn matching_kinds(&self, event: &WebhookEvent) -> Vec<String> {
        vec![
            event.payload()["kind"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        ]
    }

    fn authenticate(&self, event: &WebhookEvent) -> Result<(), WebhookRejection> {
        event.verify_signature("x-test-signature", &scheme(), WEBHOOK_SECRET.as_bytes())
    }

    fn ordering_key(&self, event: &WebhookEvent) -> Option<String> {
        event.payload()["item"]["id"].as_str().map(str::to_owned)
    }

    async fn handle(
        &self,
        event: &WebhookEvent,
        _resource: &FetchContext,
    ) -> Result<WebhookResults, BoxError> {
        let item = event.payload()["item"].clone();
        Ok(match event.payload()["action"].as_str() {
            Some("delete") => WebhookResults {
                updated: vec![],
                deleted: vec![item],
            },
            _ => WebhookResults {
                updated: vec![item],
                deleted: vec![],
            },
        })
    }
}

/// A processor whose code panics (an integration bug).
struct Exploding;

#[async_trait::async_trait]
impl WebhookProcessor for Exploding {
    fn name(&self) -> &str {
        "exploding"
    }

    fn should_process(&self, _event: &WebhookEvent) -> bool {
        panic!("token=hunter2 leaked into a panic message");
    }

    fn matching_kinds(&self, _event: &WebhookEvent) -> Vec<String> {
        Vec::new()
    }

    fn authenticate(&self, _event: &WebhookEvent) -> Result<(), WebhookRejection> {
        Ok(())
    }

    async fn handle(
        &self,
        _event: &WebhookEvent,
        _resource: &FetchContext,
    ) -> Result<WebhookResults, BoxError> {
        Ok(WebhookResults::default())
    }
}

/// The common test integration plus [`TestProcessor`] on `/webhook` (and a panicking one on
/// `/explode`).
struct WithWebhooks(TestIntegration);

#[async_trait::async_trait]
impl Integration for WithWebhooks {
    fn kinds(&self) -> Vec<String> {
        self.0.kinds()
    }

    fn fetch(&self, ctx: FetchContext) -> PageStream {
        self.0.fetch(ctx)
    }

    fn webhook_processors(&self) -> Vec<WebhookRoute> {
        vec![
            WebhookRoute::new("/webhook", TestProcessor),
            WebhookRoute::new("/explode", Exploding),
        ]
    }
}

fn settings(h: &Harness, listener: Value, extra: &[(&str, Value)]) -> Settings {
    let mut loader = Loader::new(IntegrationInfo::new(INTEGRATION_TYPE, VERSION))
        .set(
            "port",
            json!({
                "client_id": h.emulator.client_id(),
                "client_secret": h.emulator.client_secret().expose(),
                "base_url": h.emulator.base_url(),
            }),
        )
        .set(
            "integration",
            json!({"identifier": INTEGRATION_ID, "type": INTEGRATION_TYPE}),
        )
        .set("event_listener", listener);
    for (key, value) in extra {
        loader = loader.set(key, value.clone());
    }
    loader.load().expect("settings load")
}

fn build(h: &Harness, settings: Settings, live: LiveConfig) -> Arc<Ocean> {
    build_with(h, settings, live, None)
}

fn build_with(
    h: &Harness,
    settings: Settings,
    live: LiveConfig,
    schedule: Option<Duration>,
) -> Arc<Ocean> {
    let integration = Arc::new(WithWebhooks(TestIntegration {
        data: h.data.clone(),
        page_size: 50,
    }));
    let mut builder = Ocean::builder(settings, integration)
        .port_client(h.client.clone())
        .resources(resources())
        .engine_config(EngineConfig {
            map_workers: 2,
            ..EngineConfig::default()
        })
        .live_config(live)
        .http(SocketAddr::from(([127, 0, 0, 1], 0)));
    if let Some(interval) = schedule {
        builder = builder.schedule_interval(interval);
    }
    Arc::new(builder.build().expect("runtime builds"))
}

fn live_config() -> LiveConfig {
    LiveConfig {
        workers: 4,
        mapping_ttl: Duration::from_secs(60),
        ..LiveConfig::default()
    }
}

async fn wait_ready(ocean: &Ocean) {
    let ocean_ready = || async { ocean.readiness().get() };
    eventually("the integration to be ready", ocean_ready).await;
}

/// Builds and starts a WEBHOOKS_ONLY runtime with the default live-event settings, ready for
/// requests; returns it with its shutdown token and task.
async fn start_webhooks_only(h: &Harness) -> (Arc<Ocean>, CancellationToken, RunTask) {
    let ocean = build(
        h,
        settings(h, json!({"type": "WEBHOOKS_ONLY"}), &[]),
        live_config(),
    );
    let (shutdown, task) = spawn(&ocean);
    wait_ready(&ocean).await;
    (ocean, shutdown, task)
}

fn url(ocean: &Ocean, path: &str) -> String {
    format!("http://{}{path}", ocean.http_addr().expect("HTTP server"))
}

async fn post_event(http: &reqwest::Client, ocean: &Ocean, event: &Value) -> reqwest::Response {
    let body = serde_json::to_vec(event).unwrap();
    http.post(url(ocean, "/integration/webhook"))
        .header("x-test-signature", sign(&body))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request")
}

/// The value of one sample line of `/metrics` (0 when absent).
fn sample(metrics: &str, series: &str) -> u64 {
    metrics
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

async fn scrape(http: &reqwest::Client, ocean: &Ocean) -> String {
    let response = http.get(url(ocean, "/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    response.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_upsert_and_delete_through_the_mapping_and_metrics_count_them() {
    let h = Harness::new(json!({"type": "WEBHOOKS_ONLY"})).await;
    let (ocean, shutdown, task) = start_webhooks_only(&h).await;
    // A full resync first (WEBHOOKS_ONLY never starts one itself; code may).
    assert!(ocean.resync().await.is_success());
    assert_eq!(h.stored("service").await.len(), 100);
    let http = reqwest::Client::new();

    // A new service, a service whose selector now fails (deleted), a deleted service, and a
    // deletion of something Port does not hold.
    let mut new = service(500);
    new["name"] = json!("Brand new");
    let mut disabled = service(3);
    disabled["enabled"] = json!(false);
    for event in [
        json!({"kind": "service", "action": "upsert", "item": new}),
        json!({"kind": "service", "action": "upsert", "item": disabled}),
        json!({"kind": "service", "action": "delete", "item": service(4)}),
        json!({"kind": "service", "action": "delete", "item": service(999)}),
    ] {
        let response = post_event(&http, &ocean, &event).await;
        assert_eq!(response.status(), 200);
        assert!(response.headers().contains_key("x-request-id"));
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"status": "ok"})
        );
    }
    let processed = || async {
        let text = scrape(&reqwest::Client::new(), &ocean).await;
        sample(
            &text,
            r#"ocean_webhook_events_total{path="/webhook",outcome="processed"}"#,
        ) == 4
    };
    eventually("four events processed", processed).await;
    let mut expected = ids("svc", (0..100).filter(|i| *i != 3 && *i != 4));
    expected.push("svc-500".into());
    expected.sort();
    assert_eq!(h.stored("service").await, expected);
    let stored = h
        .emulator
        .entity("service", "svc-500")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.title, Some(json!("Brand new")));
    assert_eq!(stored.relations["team"], json!("team-8"));
    assert_eq!(stored.datasource, DATASOURCE);

    // Exact values after one resync and four events.
    let text = scrape(&http, &ocean).await;
    let check = |series: &str, value: u64| {
        assert_eq!(sample(&text, series), value, "{series}\n{text}");
    };
    check(r#"ocean_items_fetched_total{kind="team"}"#, 12);
    check(r#"ocean_items_fetched_total{kind="service"}"#, 100);
    check(r#"ocean_entities_upserted_total{kind="team"}"#, 12);
    check(r#"ocean_entities_upserted_total{kind="service"}"#, 101);
    check(r#"ocean_entities_failed_total{kind="service"}"#, 0);
    check(r#"ocean_entities_deleted_total{kind="service"}"#, 2);
    check(
        r#"ocean_entities_deleted_total{kind="__reconciliation__"}"#,
        0,
    );
    check(r#"ocean_resyncs_total{outcome="completed"}"#, 1);
    check("ocean_resync_duration_seconds_count", 1);
    check(
        r#"ocean_webhook_events_total{path="/webhook",outcome="processed"}"#,
        4,
    );
    check(r#"ocean_webhook_queue_depth{path="/webhook"}"#, 0);
    // The Port client's counters, read at scrape time (no Port call happens in between).
    let snapshot = h.client.metrics();
    for (status, n) in &snapshot.requests_by_status {
        check(
            &format!(r#"ocean_port_requests_total{{status="{status}"}}"#),
            *n,
        );
    }
    check("ocean_port_retries_total", snapshot.retries);
    // The same body at /metrics/.
    let slash = http.get(url(&ocean, "/metrics/")).send().await.unwrap();
    assert_eq!(slash.status(), 200);

    shutdown.cancel();
    assert!(matches!(task.await.unwrap(), Ok(RunOutcome::Stopped)));
    assert!(h.states().await.len() == 2, "only the resync code started");
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_webhook_gets_401_and_changes_nothing() {
    let h = Harness::new(json!({"type": "WEBHOOKS_ONLY"})).await;
    let (ocean, shutdown, task) = start_webhooks_only(&h).await;
    let http = reqwest::Client::new();
    let body = serde_json::to_vec(&json!({"kind": "service", "item": service(1)})).unwrap();
    let forged = http
        .post(url(&ocean, "/integration/webhook"))
        .header("x-test-signature", sign(b"something else"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let unsigned = http
        .post(url(&ocean, "/integration/webhook"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    let not_json = http
        .post(url(&ocean, "/integration/webhook"))
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    let unsupported = post_event(&http, &ocean, &json!({"something": "else"})).await;
    assert_eq!(unsupported.status(), 200);
    assert_eq!(
        unsupported.json::<Value>().await.unwrap()["status"],
        "not supported"
    );
    let unknown = http
        .post(url(&ocean, "/integration/elsewhere"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    // A panic in integration code: 500 with a short body that leaks nothing, and the server
    // goes on serving.
    let exploded = http
        .post(url(&ocean, "/integration/explode"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(exploded.status(), 500);
    assert!(exploded.headers().contains_key("x-request-id"));
    assert_eq!(exploded.text().await.unwrap(), "Internal server error");

    let text = scrape(&http, &ocean).await;
    assert_eq!(
        sample(
            &text,
            r#"ocean_webhook_events_total{path="/webhook",outcome="rejected"}"#
        ),
        2
    );
    assert_eq!(
        sample(
            &text,
            r#"ocean_webhook_events_total{path="/webhook",outcome="invalid"}"#
        ),
        1
    );
    assert_eq!(
        sample(
            &text,
            r#"ocean_webhook_events_total{path="/webhook",outcome="unsupported"}"#
        ),
        1
    );
    assert_eq!(ocean.live_events().queued("/webhook"), 0);
    assert!(h.stored("service").await.is_empty(), "nothing written");
    assert_eq!(h.count_requests("POST", "/bulk/entities"), 0);
    shutdown.cancel();
    task.await.unwrap().unwrap();
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_10000_events_over_50_connections_loses_none() {
    let h = Harness::new(json!({"type": "WEBHOOKS_ONLY"})).await;
    // A small queue, so that the burst meets backpressure.
    let config = LiveConfig {
        workers: 8,
        queue_capacity: 64,
        ..live_config()
    };
    let ocean = build(
        &h,
        settings(&h, json!({"type": "WEBHOOKS_ONLY"}), &[]),
        config,
    );
    let (shutdown, task) = spawn(&ocean);
    wait_ready(&ocean).await;
    // The relation target exists, so only services are written.
    assert!(ocean.resync().await.is_success());
    const CONNECTIONS: usize = 50;
    const PER_CONNECTION: usize = 200;
    let senders: Vec<_> = (0..CONNECTIONS)
        .map(|c| {
            let ocean = ocean.clone();
            tokio::spawn(async move {
                // One client per sender: its own connection.
                let http = reqwest::Client::new();
                let mut statuses = Vec::new();
                for i in 0..PER_CONNECTION {
                    let n = 10_000 + c * PER_CONNECTION + i;
                    let event = json!({"kind": "service", "action": "upsert", "item": service(n)});
                    statuses.push(post_event(&http, &ocean, &event).await.status().as_u16());
                }
                statuses
            })
        })
        .collect();
    for sender in senders {
        let statuses = sender.await.unwrap();
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    }
    let total = CONNECTIONS * PER_CONNECTION;
    eventually("every event to be an entity", || async {
        h.emulator.entity_count("service").await.unwrap() == (100 + total) as u64
    })
    .await;
    let text = scrape(&reqwest::Client::new(), &ocean).await;
    assert_eq!(
        sample(
            &text,
            r#"ocean_webhook_events_total{path="/webhook",outcome="processed"}"#
        ),
        total as u64
    );
    assert_eq!(
        sample(&text, r#"ocean_entities_upserted_total{kind="service"}"#),
        (100 + total) as u64
    );
    shutdown.cancel();
    task.await.unwrap().unwrap();
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_listener_resyncs_on_an_authenticated_post_and_answers_at_once() {
    let h = Harness::new(json!({"type": "POLLING"})).await;
    let listener = json!({"type": "WEBHOOK", "app_host": "https://ocean.example.com", "resync_token": "tok3n"});
    let ocean = build(&h, settings(&h, listener, &[]), live_config());
    let (shutdown, task) = spawn(&ocean);
    wait_ready(&ocean).await;
    let http = reqwest::Client::new();
    let resync_url = url(&ocean, "/resync");
    // Unauthenticated, a wrong token, a stale or wrong signature: 401, no resync.
    let none = http.post(&resync_url).send().await.unwrap();
    assert_eq!(none.status(), 401);
    let wrong = http
        .post(&resync_url)
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let body = br#"{"action":"RESYNC"}"#;
    let secret = h.emulator.client_secret().expose().to_owned();
    let old = "1000000000";
    let stale = http
        .post(&resync_url)
        .header("x-port-timestamp", old)
        .header(
            "x-port-signature",
            port_signature(secret.as_bytes(), old, body),
        )
        .body(body.as_slice())
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 401);
    assert!(h.states().await.is_empty());

    // Signed by Port: 202 with the resync's id, at once; the resync runs.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    h.data.block_after_first_page.store(true, Ordering::SeqCst);
    let signed = http
        .post(&resync_url)
        .header("x-port-timestamp", &now)
        .header(
            "x-port-signature",
            port_signature(secret.as_bytes(), &now, body),
        )
        .body(body.as_slice())
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 202);
    let answer: Value = signed.json().await.unwrap();
    assert!(answer["resyncId"].as_str().is_some_and(|id| id.len() == 36));
    // It answered while the resync is still blocked mid-way.
    eventually("the resync to block", || async {
        h.data.blocked.load(Ordering::SeqCst) == 1
    })
    .await;
    assert_eq!(h.states().await, ["running"]);
    h.data.block_after_first_page.store(false, Ordering::SeqCst);
    h.data.release.notify_waiters();
    eventually("the resync to complete", || async {
        h.states().await.len() == 2
    })
    .await;
    assert_eq!(h.stored("service").await.len(), 100);

    // The configured bearer token works too.
    let token = http
        .post(&resync_url)
        .bearer_auth("tok3n")
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 202);
    eventually("the second resync to complete", || async {
        h.states().await.len() == 4
    })
    .await;
    assert_eq!(
        h.states().await,
        ["running", "completed", "running", "completed"]
    );
    shutdown.cancel();
    task.await.unwrap().unwrap();
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_only_processes_events_and_never_resyncs() {
    let h = Harness::new(json!({"type": "WEBHOOKS_ONLY"})).await;
    let ocean = build(
        &h,
        settings(&h, json!({"type": "WEBHOOKS_ONLY"}), &[]),
        live_config(),
    );
    let http = reqwest::Client::new();
    let (shutdown, task) = spawn(&ocean);
    // Health answers before startup completes; readiness only after.
    let live = http.get(url(&ocean, "/health/live")).send().await.unwrap();
    assert_eq!(live.status(), 200);
    let body: Value = live.json().await.unwrap();
    assert_eq!(
        (body["status"].as_str(), body["check"].as_str()),
        (Some("healthy"), Some("live"))
    );
    wait_ready(&ocean).await;
    let ready = http.get(url(&ocean, "/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let response = post_event(
        &http,
        &ocean,
        &json!({"kind": "team", "action": "upsert", "item": team(40)}),
    )
    .await;
    assert_eq!(response.status(), 200);
    eventually("the team to be stored", || async {
        h.stored("team").await == ["team-40"]
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(h.states().await.is_empty(), "WEBHOOKS_ONLY never resyncs");
    assert_eq!(h.count_requests("GET", "/resync-request"), 0);
    shutdown.cancel();
    task.await.unwrap().unwrap();
    assert!(!ocean.readiness().get(), "not ready once stopped");
    // After shutdown nothing answers.
    assert!(http.get(url(&ocean, "/health/live")).send().await.is_err());
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_resyncs_run_every_interval_and_report_the_next_one() {
    let h = Harness::new(json!({"type": "POLLING"})).await;
    let listener = json!({"type": "POLLING", "interval": 3600, "resync_on_start": false});
    let settings = settings(&h, listener, &[("scheduled_resync_interval", json!(1))]);
    let ocean = build_with(
        &h,
        settings,
        live_config(),
        Some(Duration::from_millis(400)),
    );
    let (shutdown, task) = spawn(&ocean);
    wait_ready(&ocean).await;
    eventually("two scheduled resyncs", || async {
        h.states().await.len() >= 4
    })
    .await;
    let states = h.emulator.resync_states(INTEGRATION_ID).await.unwrap();
    assert_eq!(
        states
            .iter()
            .take(4)
            .map(|s| s.status.as_str())
            .collect::<Vec<_>>(),
        ["running", "completed", "running", "completed"]
    );
    for state in &states[..4] {
        assert_eq!(state.body["intervalInMinuets"], 1, "{}", state.body);
        assert!(state.body["nextResync"].is_string(), "{}", state.body);
    }
    shutdown.cancel();
    task.await.unwrap().unwrap();
    assert_eq!(h.stored("service").await.len(), 100);
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_write_during_a_resync_is_not_deleted_by_it() {
    let h = Harness::new(json!({"type": "WEBHOOKS_ONLY"})).await;
    let (ocean, shutdown, task) = start_webhooks_only(&h).await;
    assert!(ocean.resync().await.is_success());
    // A resync that blocks mid-way; meanwhile a webhook creates a service the third party's
    // listing does not have yet.
    h.data.block_after_first_page.store(true, Ordering::SeqCst);
    let resync = tokio::spawn({
        let ocean = ocean.clone();
        async move { ocean.resync().await }
    });
    eventually("the resync to block", || async {
        h.data.blocked.load(Ordering::SeqCst) == 1
    })
    .await;
    let http = reqwest::Client::new();
    let response = post_event(
        &http,
        &ocean,
        &json!({"kind": "service", "action": "upsert", "item": service(777)}),
    )
    .await;
    assert_eq!(response.status(), 200);
    eventually("the live write", || async {
        h.emulator
            .entity("service", "svc-777")
            .await
            .unwrap()
            .is_some()
    })
    .await;
    h.data.block_after_first_page.store(false, Ordering::SeqCst);
    h.data.release.notify_waiters();
    let report = resync.await.unwrap();
    assert!(report.is_success(), "{:?}", report.outcome);
    // Reconciliation lists owned entities updated before the resync started: svc-777 is not
    // stale, so it stays.
    assert!(
        h.emulator
            .entity("service", "svc-777")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(h.stored("service").await.len(), 101);
    shutdown.cancel();
    task.await.unwrap().unwrap();
    h.emulator.shutdown().await.unwrap();
}
