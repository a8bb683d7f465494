//! Live updates end to end: a signed webhook upserts and deletes services through the default
//! mapping in the in-process Port emulator; a forged one is refused and changes nothing.

use ocean::Ocean;
use ocean::config::{IntegrationInfo, Loader, Spec};
use ocean::lifecycle::Ingress;
use ocean::{Secret, hmac_sha256_hex};
use ocean_fake::webhook::{SIGNATURE_HEADER, WEBHOOK_PATH};
use ocean_fake::{Fake, FakeConfig, catalog};
use port_emulator::EmulatorConfig;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const SECRET: &str = "demo-webhook-secret";

fn signed(body: &Value, secret: &str) -> (Vec<(String, String)>, Vec<u8>) {
    let bytes = serde_json::to_vec(body).unwrap();
    let signature = format!("sha256={}", hmac_sha256_hex(secret.as_bytes(), &bytes));
    (vec![(SIGNATURE_HEADER.to_owned(), signature)], bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_webhooks_upsert_and_delete_forged_ones_are_refused() {
    let emulator = port_emulator::spawn(EmulatorConfig::default())
        .await
        .unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let settings = Loader::new(IntegrationInfo::new("fake", "0.1.0"))
        .spec(Spec::load(&dir).unwrap())
        .env([
            ("OCEAN__PORT__BASE_URL", emulator.base_url()),
            ("OCEAN__PORT__CLIENT_ID", emulator.client_id().to_owned()),
            (
                "OCEAN__PORT__CLIENT_SECRET",
                emulator.client_secret().expose().to_owned(),
            ),
            ("OCEAN__INTEGRATION__IDENTIFIER", "fake-live".to_owned()),
            ("OCEAN__EVENT_LISTENER__TYPE", "WEBHOOKS_ONLY".to_owned()),
        ])
        .load()
        .unwrap();
    let config = FakeConfig {
        item_count: 0,
        deployment_count: 0,
        webhook_secret: Some(Secret::new(SECRET)),
        ..FakeConfig::default()
    };
    let ocean = Arc::new(
        Ocean::builder(settings, Arc::new(Fake::new(config)))
            .resources_from(&dir)
            .build()
            .unwrap(),
    );
    assert!(ocean.processes_webhooks());
    let shutdown = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn({
        let (ocean, shutdown) = (ocean.clone(), shutdown.clone());
        async move { ocean.run(shutdown).await }
    });
    for _ in 0..600 {
        if ocean.readiness().get() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ocean.resync().await.is_success());
    let live = ocean.live_events();

    // Rename service-7, and delete service-8.
    let mut renamed = catalog::service(7, 5);
    renamed["name"] = json!("renamed-live");
    for body in [
        json!({"kind": "service", "action": "upsert", "item": renamed}),
        json!({"kind": "service", "action": "delete", "item": catalog::service(8, 5)}),
    ] {
        let (headers, bytes) = signed(&body, SECRET);
        assert!(matches!(
            live.ingest(WEBHOOK_PATH, headers, bytes.into()).await,
            Ingress::Accepted(_)
        ));
    }
    // A forged one (another secret): refused, nothing queued.
    let forged = json!({"kind": "service", "action": "delete", "item": catalog::service(9, 5)});
    let (headers, bytes) = signed(&forged, "not-the-secret");
    assert!(matches!(
        live.ingest(WEBHOOK_PATH, headers, bytes.into()).await,
        Ingress::Rejected(_)
    ));

    let mut done = false;
    for _ in 0..600 {
        let renamed = emulator.entity("fakeService", "service-7").await.unwrap();
        let deleted = emulator.entity("fakeService", "service-8").await.unwrap();
        if renamed.is_some_and(|e| e.title == Some(json!("renamed-live"))) && deleted.is_none() {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(done, "the live updates never reached Port");
    assert!(
        emulator
            .entity("fakeService", "service-9")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(emulator.entity_count("fakeService").await.unwrap(), 19);
    shutdown.cancel();
    running.await.unwrap().unwrap();
    emulator.shutdown().await.unwrap();
}
