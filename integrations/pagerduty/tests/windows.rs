//! Incidents past PagerDuty's 10,000-offset limit, against the local PagerDuty
//! (`pagerduty-fixture`), which refuses `offset + limit > 10000` as PagerDuty does: the listing
//! is split into creation-time windows that each fit, every incident is fetched once, and a
//! storm that no window can split fails its kind instead of silently missing incidents.

mod common;

use ocean::lifecycle::{Deletion, ResyncOutcome};
use ocean::testing::TestOcean;
use ocean_pagerduty::{PagerDuty, PagerDutyConfig, RetryPolicy};
use pagerduty_fixture::{Fixture, Spec};
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn integration(fixture: &Fixture) -> PagerDuty {
    let mut config = PagerDutyConfig::with_token("fixture-token");
    config.api_url = fixture.url();
    PagerDuty::with_retry_policy(config, RetryPolicy::default().fast()).unwrap()
}

async fn incident_ids(fixture: &Fixture, selector: Value) -> Vec<String> {
    let ids: Vec<String> = common::items(&integration(fixture), "incidents", selector)
        .await
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "an incident was listed twice");
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twelve_thousand_incidents_are_listed_in_windows_that_fit() {
    let fixture = Fixture::start(Spec::new("fixture-token", 20, 12_000))
        .await
        .unwrap();
    let ids = incident_ids(&fixture, json!({})).await;
    assert_eq!(sorted(ids), fixture.incident_ids(&[]));
    let counters = fixture.counters();
    assert_eq!(counters.past_offset_limit, 0, "{counters:?}");
    // 120 pages, plus a count per window and the two bounds: not much more than a plain listing.
    let requests = counters.by_path["GET /incidents"];
    assert!(requests < 135, "{requests} requests");

    // `date_range=all` lists the same incidents (its windows replace it with since/until).
    let ids = incident_ids(&fixture, json!({"apiQueryParams": {"date_range": "all"}})).await;
    assert_eq!(sorted(ids), fixture.incident_ids(&[]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_holding_an_incident_storm_is_halved_until_it_fits() {
    let mut spec = Spec::new("fixture-token", 20, 25_000);
    // 21,000 incidents within ten minutes: the even split's last window holds them all.
    spec.burst = 21_000;
    spec.burst_seconds = 600;
    let fixture = Fixture::start(spec).await.unwrap();
    let ids = incident_ids(
        &fixture,
        json!({"apiQueryParams": {"statuses": ["resolved"], "date_range": "all"}}),
    )
    .await;
    assert_eq!(sorted(ids), fixture.incident_ids(&["resolved"]));
    assert_eq!(fixture.counters().past_offset_limit, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_the_limit_in_one_second_fails_the_kind_after_the_first_ten_thousand() {
    let mut spec = Spec::new("fixture-token", 5, 10_150);
    spec.burst = 10_150;
    spec.burst_seconds = 0;
    let fixture = Fixture::start(spec).await.unwrap();
    let (pages, error) = common::fetch(&integration(&fixture), "incidents", json!({})).await;
    let listed: usize = pages.iter().map(Vec::len).sum();
    assert_eq!(listed, 10_000);
    let error = error.expect("the kind fails").chain();
    assert!(error.contains("at most 10000 incidents"), "{error}");
    assert!(error.contains("nothing of this kind is deleted"), "{error}");
    assert_eq!(fixture.counters().past_offset_limit, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_listing_costs_no_extra_request() {
    let fixture = Fixture::start(Spec::new("fixture-token", 5, 450))
        .await
        .unwrap();
    let ids = incident_ids(&fixture, json!({})).await;
    assert_eq!(ids.len(), 450);
    assert_eq!(fixture.counters().by_path["GET /incidents"], 5);
}

/// The default resources end to end: 15,000 incidents, of which 12,000 resolved (the second
/// incidents resource's listing, past the offset limit), all reach the emulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_incident_past_the_offset_limit_reaches_the_emulator() {
    let fixture = Fixture::start(Spec::new("fixture-token", 50, 15_000))
        .await
        .unwrap();
    let ocean = TestOcean::builder("pagerduty", common::dir())
        .identifier("pd-windows")
        .config(json!({"token": "fixture-token", "api_url": fixture.url()}))
        .start(|config: PagerDutyConfig| async move {
            Ok(PagerDuty::with_retry_policy(
                config,
                RetryPolicy::default().fast(),
            )?)
        })
        .await
        .expect("the integration starts");
    let report = ocean.resync().await;
    assert_eq!(
        report.outcome,
        ResyncOutcome::Completed(Deletion::NothingStale),
        "{report:?}"
    );
    assert_eq!(
        ocean.identifiers("pagerdutyIncident").await,
        fixture.incident_ids(&[])
    );
    assert_eq!(ocean.identifiers("pagerdutyService").await.len(), 50);
    assert_eq!(fixture.counters().past_offset_limit, 0);
    ocean.shutdown().await;
}
