//! End to end against the in-process Port emulator: the fake integration through the SDK's
//! embeddable runtime (startup in Port, default blueprints and mapping, full resyncs), asserting
//! what Port holds per blueprint — after a first resync, after a resync of a smaller catalog
//! (stale entities deleted, relation targets still in use kept), and after a data revision
//! (unchanged entities skipped).

use ocean::testing::{RunningEmulator, TestOcean};
use ocean_fake::{Fake, FakeConfig};
use std::path::PathBuf;

const IDENTIFIER: &str = "fake-e2e";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The fake integration with `config`, started in `port` (a new emulator when `None`), the way
/// the binary builds it.
async fn ocean(port: Option<RunningEmulator>, config: &FakeConfig) -> TestOcean {
    let mut builder = TestOcean::builder("fake", dir()).identifier(IDENTIFIER);
    if let Some(port) = port {
        builder = builder.port(port);
    }
    let config = config.clone();
    builder
        .start(|_: serde_json::Value| async move { Ok(Fake::new(config)) })
        .await
        .unwrap()
}

async fn counts(emulator: &RunningEmulator) -> Vec<(&'static str, u64)> {
    let mut out = Vec::new();
    for blueprint in [
        "fakeTeam",
        "fakeService",
        "fakeDeployment",
        "benchGroup",
        "benchItem",
    ] {
        out.push((blueprint, emulator.entity_count(blueprint).await.unwrap()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resyncs_create_relate_update_and_delete() {
    // 1. The default catalog into an empty Port: blueprints and mapping provisioned, every kind
    //    synced. benchItem holds the 900 unarchived items and the 10 archived parents among
    //    them, created as missing related entities; benchGroup only such targets.
    let config = FakeConfig::default();
    let first = ocean(None, &config).await;
    let report = first.resync().await;
    assert!(report.is_success(), "{:?}", report.outcome);
    assert_eq!(report.totals().fetched, 5 + 20 + 100 + 1000);
    assert_eq!(report.totals().mapped, 5 + 20 + 100 + 900);
    assert_eq!(report.totals().failed, 0);
    assert_eq!(
        counts(first.port()).await,
        [
            ("fakeTeam", 5),
            ("fakeService", 20),
            ("fakeDeployment", 100),
            ("benchGroup", 25),
            ("benchItem", 910),
        ]
    );
    let service = first
        .port()
        .entity("fakeService", "service-7")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(service.relations["team"], "team-2", "{service:?}");
    assert_eq!(service.properties["language"], "python", "{service:?}");
    let item = first
        .port()
        .entity("benchItem", "item-0000123")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.relations["parent"], "item-0000012", "{item:?}");
    assert_eq!(item.relations["group"], "group-23", "{item:?}");
    assert_eq!(item.properties["status"], "CLOSED", "{item:?}");
    let port = first.stop().await;

    // 2. A smaller catalog: deployments 50.., items 500.. and the archived parents only they
    //    referenced are stale and deleted; archived parents 9..49 stay (kept items relate to
    //    them), as do the groups.
    let smaller = FakeConfig {
        deployment_count: 50,
        item_count: 500,
        ..config.clone()
    };
    let second = ocean(Some(port), &smaller).await;
    let report = second.resync().await;
    assert!(report.is_success(), "{:?}", report.outcome);
    assert_eq!(
        counts(second.port()).await,
        [
            ("fakeTeam", 5),
            ("fakeService", 20),
            ("fakeDeployment", 50),
            ("benchGroup", 25),
            ("benchItem", 455),
        ]
    );
    assert!(report.deletion.deleted >= 50 + 450, "{:?}", report.deletion);
    let port = second.stop().await;

    // 3. Revision 1 of the same catalog: only the items whose score changed (one in twenty)
    //    are written again; the rest are unchanged in Port and skipped.
    let revised = FakeConfig {
        item_revision: 1,
        ..smaller
    };
    let third = ocean(Some(port), &revised).await;
    let report = third.resync().await;
    assert!(report.is_success(), "{:?}", report.outcome);
    let items = report.kinds.iter().find(|k| k.kind == "item").unwrap();
    assert_eq!(items.counts.mapped, 450);
    assert_eq!(items.counts.upserted, 25, "{:?}", items.counts);
    assert_eq!(items.counts.unchanged, 425, "{:?}", items.counts);
    let changed = third
        .port()
        .entity("benchItem", "item-0000020")
        .await
        .unwrap()
        .unwrap();
    let before = ocean_fake::items::make_item(20, 0);
    let weight = changed.properties["weight"].clone();
    let old_weight =
        before["priority"].as_f64().unwrap() * 10.0 + before["score"].as_f64().unwrap().floor();
    assert_eq!(weight.as_f64(), Some(old_weight + 10.0));
    assert_eq!(counts(third.port()).await[4], ("benchItem", 455));
    third.shutdown().await;
}
