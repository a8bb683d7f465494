//! The event listeners end to end: ONCE through `Ocean::run`, POLLING reacting to resync
//! requests recorded in the emulator, supersession without the reference's state race, and
//! shutdown in the middle of a resync.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use common::*;
use ocean_lifecycle::{Deletion, ResyncOutcome, RunOutcome};
use serde_json::json;
use tokio_util::sync::CancellationToken;

fn polls(h: &Harness) -> usize {
    h.count_requests("GET", "/resync-request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_runs_startup_and_one_resync() {
    let h = Harness::new(json!({"type": "ONCE"})).await;
    let ocean = h.ocean();
    let outcome = ocean.run(CancellationToken::new()).await.expect("runs");
    match &outcome {
        RunOutcome::Once(report) => {
            assert_eq!(
                report.outcome,
                ResyncOutcome::Completed(Deletion::NothingStale)
            )
        }
        other => panic!("expected a ONCE outcome, got {other:?}"),
    }
    assert!(outcome.is_success());
    assert_eq!(h.stored("service").await.len(), 100);
    assert_eq!(h.states().await, ["running", "completed"]);
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_runs_exactly_one_resync_per_request() {
    let h = Harness::new(json!({"type": "POLLING", "interval": 1, "resync_on_start": false})).await;
    let ocean = Arc::new(h.ocean());
    let (shutdown, running) = spawn(&ocean);
    eventually("two polls", || async { polls(&h) >= 2 }).await;
    assert!(h.states().await.is_empty(), "no resync without a request");

    assert!(h.emulator.request_resync(INTEGRATION_ID).await.unwrap());
    eventually("the requested resync to complete", || async {
        h.states().await.len() == 2
    })
    .await;
    let seen = polls(&h);
    eventually("two more polls", || async { polls(&h) >= seen + 2 }).await;
    assert_eq!(h.states().await, ["running", "completed"]);
    assert_eq!(h.stored("service").await.len(), 100);

    shutdown.cancel();
    let outcome = running.await.unwrap().expect("runs");
    assert!(matches!(outcome, RunOutcome::Stopped));
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_request_supersedes_the_running_resync_in_order() {
    let h = Harness::new(json!({"type": "POLLING", "interval": 1, "resync_on_start": false})).await;
    h.data.block_after_first_page.store(true, Ordering::SeqCst);
    let ocean = Arc::new(h.ocean());
    let (shutdown, running) = spawn(&ocean);
    eventually("a first poll", || async { polls(&h) >= 1 }).await;
    assert!(h.emulator.request_resync(INTEGRATION_ID).await.unwrap());
    eventually("the first resync to block", || async {
        h.data.blocked.load(Ordering::SeqCst) == 1
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    assert!(h.emulator.request_resync(INTEGRATION_ID).await.unwrap());
    eventually("the second resync to block", || async {
        h.data.blocked.load(Ordering::SeqCst) == 2
    })
    .await;
    assert_eq!(h.states().await, ["running", "aborted", "running"]);

    h.data.block_after_first_page.store(false, Ordering::SeqCst);
    h.data.release.notify_waiters();
    eventually("the second resync to complete", || async {
        h.states().await.len() == 4
    })
    .await;
    assert_eq!(
        h.states().await,
        ["running", "aborted", "running", "completed"]
    );
    assert_eq!(h.stored("service").await, ids("svc", 0..100));

    shutdown.cancel();
    running.await.unwrap().expect("runs");
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_during_a_resync_aborts_it_and_deletes_nothing() {
    let h = Harness::new(json!({"type": "POLLING", "interval": 1, "resync_on_start": true})).await;
    // A first, complete resync stores everything.
    let ocean = Arc::new(h.ocean());
    ocean.start().await.expect("startup");
    assert!(ocean.resync().await.is_success());

    // A fresh process whose data shrank; it blocks mid-resync and is told to stop.
    h.data.set("service", (0..60).map(service).collect());
    h.data.block_after_first_page.store(true, Ordering::SeqCst);
    let ocean = Arc::new(h.ocean());
    let (shutdown, running) = spawn(&ocean);
    eventually("the startup resync to block", || async {
        h.data.blocked.load(Ordering::SeqCst) == 1
    })
    .await;
    shutdown.cancel();
    let outcome = running.await.unwrap().expect("runs");
    assert!(matches!(outcome, RunOutcome::Stopped));
    assert_eq!(
        h.states().await,
        ["running", "completed", "running", "aborted"]
    );
    assert_eq!(h.stored("service").await, ids("svc", 0..100));
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_polling_resync_is_reported_and_polling_goes_on() {
    let h = Harness::new(json!({"type": "POLLING", "interval": 1, "resync_on_start": true})).await;
    h.data.set("service", (0..120).map(service).collect());
    h.data.fail("service");
    let ocean = Arc::new(h.ocean());
    let (shutdown, running) = spawn(&ocean);
    eventually("the startup resync to fail", || async {
        h.states().await.len() == 2
    })
    .await;
    assert_eq!(h.states().await, ["running", "failed"]);

    h.data.failing.lock().unwrap().clear();
    assert!(h.emulator.request_resync(INTEGRATION_ID).await.unwrap());
    eventually("the requested resync to complete", || async {
        h.states().await.len() == 4
    })
    .await;
    assert_eq!(
        h.states().await,
        ["running", "failed", "running", "completed"]
    );
    assert_eq!(h.stored("service").await, ids("svc", 0..120));
    shutdown.cancel();
    running.await.unwrap().expect("runs");
    h.emulator.shutdown().await.unwrap();
}
