//! `ocean::testing` itself: an in-test integration started against the in-process emulator,
//! resynced, restarted with less data in the same Port (stale entities deleted), and fed a
//! signed webhook.

use std::path::Path;

use ocean::http::Signature;
use ocean::lifecycle::Ingress;
use ocean::prelude::*;
use ocean::testing::{TestOcean, eventually};

#[derive(Deserialize)]
struct GreetConfig {
    count: usize,
}

struct Greetings {
    count: usize,
}

const SECRET: &[u8] = b"hook-secret";

struct Renames;

#[async_trait]
impl WebhookProcessor for Renames {
    fn name(&self) -> &str {
        "renames"
    }

    fn should_process(&self, _event: &WebhookEvent) -> bool {
        true
    }

    fn matching_kinds(&self, _event: &WebhookEvent) -> Vec<String> {
        vec!["greeting".into()]
    }

    fn authenticate(&self, event: &WebhookEvent) -> Result<(), WebhookRejection> {
        event.verify_signature("x-signature", &Signature::github(), SECRET)
    }

    async fn handle(
        &self,
        event: &WebhookEvent,
        _resource: &FetchContext,
    ) -> Result<WebhookResults, BoxError> {
        Ok(WebhookResults {
            updated: vec![event.payload().clone()],
            deleted: vec![],
        })
    }
}

impl Integration for Greetings {
    fn kinds(&self) -> Vec<String> {
        vec!["greeting".into()]
    }

    fn fetch(&self, _ctx: FetchContext) -> PageStream {
        let items: Page = (0..self.count)
            .map(|i| json!({"id": format!("g-{i}"), "text": format!("hello {i}")}))
            .collect();
        Box::pin(stream::iter([Ok(items)]))
    }

    fn webhook_processors(&self) -> Vec<WebhookRoute> {
        vec![WebhookRoute::new("/webhook", Renames)]
    }
}

fn project(dir: &Path) {
    let resources = dir.join(".port/resources");
    std::fs::create_dir_all(&resources).unwrap();
    std::fs::write(
        resources.join("blueprints.json"),
        r#"[{"identifier": "greeting", "title": "Greeting",
             "schema": {"properties": {"text": {"type": "string"}}, "required": []}}]"#,
    )
    .unwrap();
    std::fs::write(
        resources.join("port-app-config.yml"),
        "resources:\n  - kind: greeting\n    selector:\n      query: 'true'\n    port:\n      entity:\n        mappings:\n          identifier: .id\n          title: .text\n          blueprint: '\"greeting\"'\n          properties:\n            text: .text\n",
    )
    .unwrap();
}

async fn start(
    dir: &Path,
    count: usize,
    port: Option<ocean::testing::RunningEmulator>,
) -> TestOcean {
    let mut builder = TestOcean::builder("greet", dir)
        .config(json!({"count": count}))
        .listener(json!({"type": "WEBHOOKS_ONLY"}));
    if let Some(port) = port {
        builder = builder.port(port);
    }
    builder
        .start(|config: GreetConfig| async move {
            Ok(Greetings {
                count: config.count,
            })
        })
        .await
        .expect("the integration starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resyncs_restarts_and_webhooks_against_the_emulator() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());

    let ocean = start(dir.path(), 3, None).await;
    assert!(ocean.resync().await.is_success());
    assert_eq!(ocean.identifiers("greeting").await, ["g-0", "g-1", "g-2"]);

    // The same Port, a smaller catalog: the stale entity goes.
    let port = ocean.stop().await;
    let mut ocean = start(dir.path(), 2, Some(port)).await;
    assert!(ocean.resync().await.is_success());
    assert_eq!(ocean.identifiers("greeting").await, ["g-0", "g-1"]);

    ocean.run_in_background().await;
    let body = serde_json::to_vec(&json!({"id": "g-1", "text": "renamed"})).unwrap();
    let signature = Signature::github().sign(SECRET, &body);
    let forged = Signature::github().sign(b"wrong", &body);
    let headers = |s: String| vec![("x-signature".to_owned(), s)];
    assert!(matches!(
        ocean
            .webhook("/webhook", headers(forged), body.clone())
            .await,
        Ingress::Rejected(_)
    ));
    assert!(matches!(
        ocean.webhook("/webhook", headers(signature), body).await,
        Ingress::Accepted(_)
    ));
    eventually("the webhook's rename reaches Port", || async {
        ocean
            .entity("greeting", "g-1")
            .await
            .is_some_and(|e| e.title == Some(json!("renamed")))
    })
    .await;
    ocean.shutdown().await;
}

#[tokio::test]
async fn invalid_configuration_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let err = TestOcean::builder("greet", dir.path())
        .config(json!({"count": "many"}))
        .start(|config: GreetConfig| async move {
            Ok(Greetings {
                count: config.count,
            })
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, ocean::testing::TestError::Settings(_)),
        "{err}"
    );
}
