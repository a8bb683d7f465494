//! Live updates end to end: a signed webhook upserts and deletes services through the default
//! mapping in the in-process Port emulator; a forged one is refused and changes nothing.

use ocean::Secret;
use ocean::lifecycle::Ingress;
use ocean::testing::{TestOcean, eventually};
use ocean_fake::webhook::{SIGNATURE_HEADER, WEBHOOK_PATH};
use ocean_fake::{Fake, FakeConfig, catalog};
use serde_json::{Value, json};

const SECRET: &str = "demo-webhook-secret";

fn signed(body: &Value, secret: &str) -> (Vec<(String, String)>, Vec<u8>) {
    let bytes = serde_json::to_vec(body).unwrap();
    let signature = ocean_fake::webhook::signature().sign(secret.as_bytes(), &bytes);
    (vec![(SIGNATURE_HEADER.to_owned(), signature)], bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_webhooks_upsert_and_delete_forged_ones_are_refused() {
    let config = FakeConfig {
        item_count: 0,
        deployment_count: 0,
        webhook_secret: Some(Secret::new(SECRET)),
        ..FakeConfig::default()
    };
    let mut ocean = TestOcean::builder("fake", env!("CARGO_MANIFEST_DIR"))
        .identifier("fake-live")
        .listener(json!({"type": "WEBHOOKS_ONLY"}))
        .start(|_: Value| async move { Ok(Fake::new(config)) })
        .await
        .unwrap();
    assert!(ocean.ocean().processes_webhooks());
    ocean.run_in_background().await;
    assert!(ocean.resync().await.is_success());

    // Rename service-7, and delete service-8.
    let mut renamed = catalog::service(7, 5);
    renamed["name"] = json!("renamed-live");
    for body in [
        json!({"kind": "service", "action": "upsert", "item": renamed}),
        json!({"kind": "service", "action": "delete", "item": catalog::service(8, 5)}),
    ] {
        let (headers, bytes) = signed(&body, SECRET);
        assert!(matches!(
            ocean.webhook(WEBHOOK_PATH, headers, bytes).await,
            Ingress::Accepted(_)
        ));
    }
    // A forged one (another secret): refused, nothing queued.
    let forged = json!({"kind": "service", "action": "delete", "item": catalog::service(9, 5)});
    let (headers, bytes) = signed(&forged, "not-the-secret");
    assert!(matches!(
        ocean.webhook(WEBHOOK_PATH, headers, bytes).await,
        Ingress::Rejected(_)
    ));

    eventually("the live updates reach Port", || async {
        let renamed = ocean.entity("fakeService", "service-7").await;
        let deleted = ocean.entity("fakeService", "service-8").await;
        renamed.is_some_and(|e| e.title == Some(json!("renamed-live"))) && deleted.is_none()
    })
    .await;
    assert!(ocean.entity("fakeService", "service-9").await.is_some());
    assert_eq!(ocean.identifiers("fakeService").await.len(), 19);
    ocean.shutdown().await;
}
