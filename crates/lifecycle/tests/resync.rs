//! Full resyncs against the in-process Port emulator: what ends up in Port, what is deleted and
//! when nothing may be.

mod common;

use common::*;
use ocean_lifecycle::{Deletion, FailureReason, ResyncOutcome};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resync_stores_then_deletes_the_stale_fifth_then_writes_nothing() {
    let h = Harness::new(json!({"type": "ONCE"})).await;
    let ocean = h.ocean();
    ocean.start().await.expect("startup");

    // 1. Cold: everything is created.
    let report = ocean.resync().await;
    assert_eq!(
        report.outcome,
        ResyncOutcome::Completed(Deletion::NothingStale)
    );
    assert_eq!(h.stored("team").await, ids("team", 0..12));
    assert_eq!(h.stored("service").await, ids("svc", 0..100));
    let services = h.emulator.entities("service").await.unwrap();
    assert!(services.iter().all(|e| e.datasource == DATASOURCE));
    let svc7 = h
        .emulator
        .entity("service", "svc-7")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(svc7.title, Some(json!("Service 7")));
    assert_eq!(svc7.properties["language"], json!("go"));
    assert_eq!(svc7.properties["score"], json!(70));
    assert_eq!(svc7.relations["team"], json!("team-7"));
    let service_kind = report.kind(1).unwrap();
    assert_eq!(
        (
            service_kind.counts.fetched,
            service_kind.counts.mapped,
            service_kind.counts.upserted
        ),
        (100, 100, 100)
    );
    assert_eq!(h.states().await, ["running", "completed"]);
    let examples = h
        .emulator
        .kind_examples(INTEGRATION_ID, "service")
        .await
        .unwrap()
        .expect("examples posted");
    assert_eq!(
        examples,
        json!([service(0), service(1), service(2), service(3), service(4)])
    );

    // 2. A fifth of the services is gone: exactly those are deleted.
    h.data.set(
        "service",
        (0..100).filter(|i| i % 5 != 0).map(service).collect(),
    );
    let report = ocean.resync().await;
    assert_eq!(report.outcome, ResyncOutcome::Completed(Deletion::Done));
    assert_eq!(report.deletion.deleted, 20);
    assert_eq!(report.deletion.stale, 20);
    assert_eq!(
        h.stored("service").await,
        ids("svc", (0..100).filter(|i| i % 5 != 0))
    );
    assert_eq!(h.stored("team").await, ids("team", 0..12));
    assert_eq!(report.kind(1).unwrap().counts.unchanged, 80);

    // 3. Unchanged data: no upsert at all.
    h.emulator.controls().clear_requests();
    let report = ocean.resync().await;
    assert_eq!(
        report.outcome,
        ResyncOutcome::Completed(Deletion::NothingStale)
    );
    assert_eq!(h.count_requests("POST", "/entities/bulk"), 0);
    assert_eq!(report.totals().upserted, 0);
    assert_eq!(report.totals().unchanged, 92);
    assert!(h.count_requests("POST", "/entities/search") > 0);
    assert_eq!(
        h.states().await,
        [
            "running",
            "completed",
            "running",
            "completed",
            "running",
            "completed"
        ]
    );
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_fetcher_deletes_nothing() {
    let h = Harness::new(json!({"type": "ONCE"})).await;
    let ocean = h.ocean();
    ocean.start().await.expect("startup");
    assert!(ocean.resync().await.is_success());

    h.data.set("service", (0..60).map(service).collect());
    h.data.fail("service");
    let report = ocean.resync().await;
    match &report.outcome {
        ResyncOutcome::Failed(FailureReason::KindErrors { kinds, errors }) => {
            assert_eq!(kinds, &["service#1"]);
            assert_eq!(*errors, 1);
        }
        other => panic!("expected a failed kind, got {other}"),
    }
    assert!(report.kind(1).unwrap().errors[0].contains("the service API answered 500"));
    assert_eq!(report.deletion.deleted, 0);
    assert_eq!(h.stored("service").await, ids("svc", 0..100));
    assert_eq!(h.states().await.last().map(String::as_str), Some("failed"));
    h.emulator.shutdown().await.unwrap();
}
