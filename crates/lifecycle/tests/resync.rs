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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selector_error_deletes_nothing() {
    let h = Harness::new(json!({"type": "ONCE"})).await;
    let ocean = h.ocean();
    ocean.start().await.expect("startup");
    assert!(ocean.resync().await.is_success());

    // 30 services gone, and one item whose `enabled` is not a boolean.
    let mut items: Vec<_> = (0..70).map(service).collect();
    items[3]["enabled"] = json!("maybe");
    h.data.set("service", items);
    let report = ocean.resync().await;
    let kind = report.kind(1).unwrap();
    assert_eq!(kind.counts.selector_errors, 1);
    assert!(matches!(
        &report.outcome,
        ResyncOutcome::Failed(FailureReason::KindErrors { kinds, .. }) if kinds == &["service#1"]
    ));
    assert_eq!(report.deletion.deleted, 0);
    assert_eq!(h.stored("service").await, ids("svc", 0..100));
    assert_eq!(h.states().await.last().map(String::as_str), Some("failed"));
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_share_above_the_threshold_deletes_nothing() {
    let h = Harness::new(json!({"type": "ONCE"})).await;
    let ocean = h.ocean();
    ocean.start().await.expect("startup");
    assert!(ocean.resync().await.is_success());

    // Only 2 teams and 2 services remain: 108 of 112 owned entities would go.
    h.data.set("team", (0..2).map(team).collect());
    h.data.set("service", (0..2).map(service).collect());
    let report = ocean.resync().await;
    match &report.outcome {
        ResyncOutcome::Completed(Deletion::ThresholdExceeded {
            stale,
            owned,
            threshold,
        }) => {
            assert_eq!((*stale, *owned), (108, 112));
            assert_eq!(*threshold, 0.9);
        }
        other => panic!("expected the threshold to stop deletion, got {other}"),
    }
    assert!(
        report
            .outcome
            .deletion_skipped_because()
            .unwrap()
            .contains("entityDeletionThreshold")
    );
    assert_eq!(report.deletion.deleted, 0);
    assert_eq!(h.stored("service").await.len(), 100);
    // Python Ocean reports such a resync completed; so does Ocean.
    assert_eq!(
        h.states().await.last().map(String::as_str),
        Some("completed")
    );
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_resync_deletes_nothing_and_reports_aborted() {
    let h = Harness::new(json!({"type": "ONCE"})).await;
    let ocean = h.ocean();
    ocean.start().await.expect("startup");
    assert!(ocean.resync().await.is_success());

    h.data.set("team", (0..6).map(team).collect());
    h.data.set("service", (0..60).map(service).collect());
    h.data
        .block_after_first_page
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let handle = ocean.trigger_resync().await.expect("started");
    let data = h.data.clone();
    eventually("the fetcher to block mid-kind", || {
        let data = data.clone();
        async move { data.blocked.load(std::sync::atomic::Ordering::SeqCst) > 0 }
    })
    .await;
    handle.cancel(ocean_lifecycle::AbortReason::Cancelled);
    let report = handle.wait().await;
    assert_eq!(
        report.outcome,
        ResyncOutcome::Aborted(ocean_lifecycle::AbortReason::Cancelled)
    );
    assert_eq!(report.deletion.deleted, 0);
    assert_eq!(h.stored("team").await, ids("team", 0..12));
    assert_eq!(h.stored("service").await, ids("svc", 0..100));
    assert_eq!(
        h.states().await,
        ["running", "completed", "running", "aborted"]
    );
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_429_and_503_still_give_the_exact_entity_set() {
    let h = Harness::new(json!({"type": "ONCE"})).await;
    h.data.set("service", (0..1000).map(service).collect());
    let ocean = h.ocean();
    ocean.start().await.expect("startup");
    h.emulator.controls().set_fail_rate(0.3);
    let report = ocean.resync().await;
    h.emulator.controls().set_fail_rate(0.0);
    assert_eq!(
        report.outcome,
        ResyncOutcome::Completed(Deletion::NothingStale)
    );
    assert_eq!(report.totals().failed, 0);
    assert_eq!(h.stored("service").await, ids("svc", 0..1000));
    assert!(h.emulator.requests().iter().any(|r| r.injected_fault));

    // And the shrink that follows deletes exactly the stale ones through the faults too.
    h.data.set(
        "service",
        (0..1000).filter(|i| i % 4 != 0).map(service).collect(),
    );
    h.emulator.controls().set_fail_rate(0.3);
    let report = ocean.resync().await;
    h.emulator.controls().set_fail_rate(0.0);
    assert_eq!(report.outcome, ResyncOutcome::Completed(Deletion::Done));
    assert_eq!(
        h.stored("service").await,
        ids("svc", (0..1000).filter(|i| i % 4 != 0))
    );
    h.emulator.shutdown().await.unwrap();
}

/// Writes a new mapping to Port (what a user editing it in Port's UI does).
async fn set_mapping(h: &Harness, mapping: serde_json::Value) {
    h.client
        .patch_integration_config(&mapping, true)
        .await
        .expect("mapping written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_relation_targets_of_kept_entities_are_protected() {
    let h = Harness::new(json!({"type": "ONCE"})).await;
    let ocean = h.ocean();
    ocean.start().await.expect("startup");
    assert!(ocean.resync().await.is_success());

    // team-11 leaves the team list, but svc-11, svc-23, … still belong to it; team-10 is gone
    // entirely (its services too).
    h.data.set(
        "team",
        (0..10)
            .chain([11])
            .map(team)
            .filter(|t| t["id"] != "team-11")
            .collect(),
    );
    h.data.set(
        "service",
        (0..100).filter(|i| i % 12 != 10).map(service).collect(),
    );
    let report = ocean.resync().await;
    assert_eq!(report.outcome, ResyncOutcome::Completed(Deletion::Done));
    assert_eq!(report.deletion.protected, 1);
    assert_eq!(h.stored("team").await, ids("team", (0..10).chain([11])));
    assert_eq!(
        h.stored("service").await,
        ids("svc", (0..100).filter(|i| i % 12 != 10))
    );
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_dependents_stale_entities_are_deleted_one_by_one() {
    let h = Harness::new(json!({"type": "ONCE"})).await;
    let ocean = h.ocean();
    ocean.start().await.expect("startup");
    assert!(ocean.resync().await.is_success());

    let mut mapping = mapping();
    mapping["deleteDependentEntities"] = json!(false);
    set_mapping(&h, mapping).await;
    h.data.set("service", (0..90).map(service).collect());
    h.emulator.controls().clear_requests();
    let report = ocean.resync().await;
    assert_eq!(report.outcome, ResyncOutcome::Completed(Deletion::Done));
    assert_eq!(report.deletion.deleted, 10);
    assert_eq!(h.count_requests("DELETE", ""), 10);
    assert_eq!(h.count_requests("POST", "/bulk/entities/delete"), 0);
    assert_eq!(h.stored("service").await, ids("svc", 0..90));
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_upserts_are_retried_in_dependency_order_at_the_end() {
    let h = Harness::new(json!({"type": "ONCE"})).await;
    let ocean = h.ocean();
    ocean.start().await.expect("startup");
    // Services first, and Port may not create the teams they point at: every service fails
    // until the teams exist, then the end-of-resync retry stores them.
    let mut mapping = mapping();
    mapping["createMissingRelatedEntities"] = json!(false);
    let resources = mapping["resources"].as_array().unwrap().clone();
    mapping["resources"] = json!([resources[1], resources[0]]);
    set_mapping(&h, mapping).await;
    let report = ocean.resync().await;
    assert_eq!(
        report.outcome,
        ResyncOutcome::Completed(Deletion::NothingStale)
    );
    assert_eq!(report.kind(0).unwrap().counts.failed, 100);
    assert_eq!(
        (report.deletion.retried, report.deletion.retried_ok),
        (100, 100)
    );
    assert_eq!(h.stored("service").await, ids("svc", 0..100));
    let svc5 = h
        .emulator
        .entity("service", "svc-5")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(svc5.relations["team"], json!("team-5"));
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_mapping_is_a_no_op_and_an_invalid_one_fails() {
    let h = Harness::new(json!({"type": "ONCE"})).await;
    let ocean = h.ocean();
    ocean.start().await.expect("startup");
    assert!(ocean.resync().await.is_success());

    set_mapping(&h, json!({"resources": []})).await;
    let report = ocean.resync().await;
    assert_eq!(report.outcome, ResyncOutcome::NoResources);
    assert_eq!(h.stored("service").await.len(), 100);

    set_mapping(&h, json!({"resources": [{"kind": "team"}]})).await;
    let report = ocean.resync().await;
    assert!(matches!(
        report.outcome,
        ResyncOutcome::Failed(FailureReason::Mapping(_))
    ));
    assert_eq!(h.stored("service").await.len(), 100);
    assert_eq!(h.states().await.last().map(String::as_str), Some("failed"));
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kind_the_integration_does_not_fetch_fails_the_resync() {
    let h = Harness::new(json!({"type": "ONCE"})).await;
    let ocean = h.ocean();
    ocean.start().await.expect("startup");
    let mut mapping = mapping();
    let mut extra = mapping["resources"][0].clone();
    extra["kind"] = json!("project");
    mapping["resources"].as_array_mut().unwrap().push(extra);
    set_mapping(&h, mapping).await;
    let report = ocean.resync().await;
    let project = report.kind(2).unwrap();
    assert!(
        project.errors[0].contains("not implemented"),
        "{:?}",
        project.errors
    );
    assert!(matches!(report.outcome, ResyncOutcome::Failed(_)));
    // The other kinds were still synced.
    assert_eq!(h.stored("service").await.len(), 100);

    // An integration whose kinds are open-ended (an endpoint name) serves kinds it does not
    // declare: the same resource now syncs.
    h.data.open_kinds.lock().unwrap().push("project".into());
    h.data.set(
        "project",
        (0..3)
            .map(|i| json!({"id": format!("project-{i}"), "name": "P", "size": i}))
            .collect(),
    );
    let report = ocean.resync().await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.kind(2).unwrap().counts.upserted, 3, "{report:?}");
    let teams = h.stored("team").await;
    assert!(teams.contains(&"project-2".to_owned()), "{teams:?}");
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_to_parse_expands_parents_and_misconfigured_fields_are_counted() {
    let h = Harness::new(json!({"type": "ONCE"})).await;
    let ocean = h.ocean();
    ocean.start().await.expect("startup");
    // Each team lists the languages it uses; one service entity per (team, language).
    h.data.set(
        "team",
        (0..12)
            .map(|i| {
                let mut t = team(i);
                t["languages"] = json!(["rust", "go", "python"][..(i % 3) + 1]);
                t
            })
            .collect(),
    );
    set_mapping(
        &h,
        json!({"resources": [
            {"kind": "team", "selector": {"query": "true"}, "port": {
                "itemsToParse": ".languages",
                "entity": {"mappings": {
                    "identifier": ".id + \"-\" + .item",
                    "title": ".name",
                    "blueprint": "\"service\"",
                    "properties": {"language": ".item", "score": ".nope"}
                }}}}
        ]}),
    )
    .await;
    let report = ocean.resync().await;
    assert!(report.is_success(), "{}", report.outcome);
    let kind = report.kind(0).unwrap();
    // 12 parents fetched; 4 × (1 + 2 + 3) = 24 children mapped.
    assert_eq!((kind.counts.fetched, kind.counts.mapped), (12, 24));
    assert!(kind.counts.misconfigured > 0);
    let rust_go = h
        .emulator
        .entity("service", "team-4-go")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rust_go.properties["language"], json!("go"));
    assert_eq!(rust_go.properties["score"], serde_json::Value::Null);
    assert!(
        h.emulator
            .entity("service", "team-3-go")
            .await
            .unwrap()
            .is_none()
    );
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fetcher_never_runs_far_ahead_of_the_upserts() {
    let h = Harness::new(json!({"type": "ONCE"})).await;
    h.data.set("service", (0..4000).map(service).collect());
    let ocean = h.ocean();
    ocean.start().await.expect("startup");
    // Slow Port down so that fetching (instant here) would race ahead without backpressure.
    h.emulator
        .controls()
        .set_latency(std::time::Duration::from_millis(3));
    let handle = ocean.trigger_resync().await.expect("started");
    let progress = handle.progress().clone();
    let watch = tokio::spawn(async move {
        let mut worst = 0u64;
        loop {
            for kind in progress.kinds() {
                let s = kind.snapshot();
                worst = worst.max(s.fetched - (s.upserted + s.unchanged + s.failed).min(s.fetched));
                if kind.kind == "service" && s.finished {
                    return worst;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    });
    let report = handle.wait().await;
    let worst = watch.await.unwrap();
    assert!(report.is_success(), "{}", report.outcome);
    assert_eq!(report.kind(1).unwrap().counts.upserted, 4000);
    // Pages of 50: at most map_workers (2) + load_concurrency (8) chunks in the pipeline, plus
    // the page being counted and the one being split.
    assert!(
        worst <= 12 * 50,
        "the fetcher ran {worst} items ahead of the upserts"
    );
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entities_port_refuses_fail_the_resync_named_by_reason_and_delete_nothing() {
    let h = Harness::new(json!({"type": "ONCE"})).await;
    let ocean = h.ocean();
    ocean.start().await.expect("startup");
    h.data.set("service", (0..1000).map(service).collect());
    assert!(ocean.resync().await.is_success());

    // The mapping now writes services to a blueprint that does not exist in Port.
    let mut mapping = mapping();
    mapping["resources"][1]["port"]["entity"]["mappings"]["blueprint"] = json!("\"ghost\"");
    h.client
        .patch_integration_config(&mapping, false)
        .await
        .unwrap();
    h.emulator.controls().clear_requests();
    let report = ocean.resync().await;
    let ResyncOutcome::Failed(FailureReason::EntityFailures { failed, groups }) = &report.outcome
    else {
        panic!("expected entity failures, got {:?}", report.outcome);
    };
    assert_eq!(*failed, 1000);
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].blueprint, "ghost");
    assert_eq!(groups[0].reason, ocean_lifecycle::Refusal::MissingBlueprint);
    assert_eq!(groups[0].count, 1000);
    assert!(
        report
            .outcome
            .to_string()
            .contains("blueprint `ghost` does not exist in Port — 1000 entities"),
        "{}",
        report.outcome
    );
    assert!(!report.is_success());
    assert_eq!(h.states().await.last().map(String::as_str), Some("failed"));
    // Once Port said the blueprint is missing, later batches are not sent: only the batches
    // already in flight (at most eight of fifty entities, three requests each) reach Port.
    let sent = h.count_requests("POST", "/v1/blueprints/ghost/entities/bulk");
    assert!((1..=24).contains(&sent), "{sent} bulk requests");
    // Nothing deleted: the services written by the first resync are all still there.
    assert_eq!(h.stored("service").await.len(), 1000);
    h.emulator.shutdown().await.unwrap();
}
