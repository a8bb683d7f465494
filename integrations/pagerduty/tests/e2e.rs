//! End to end: the integration embedded in Ocean, wiremock standing in for PagerDuty and the
//! in-process Port emulator for Port. A cold resync provisions the default blueprints and
//! writes every kind; a kind that fails (PagerDuty answers garbage) deletes nothing; once
//! PagerDuty answers again, the incident that disappeared is deleted.

mod common;

use common::{dir, pagerduty};
use ocean::lifecycle::{Deletion, FailureReason, ResyncOutcome};
use ocean::testing::TestOcean;
use ocean_pagerduty::{PagerDuty, PagerDutyConfig, RetryPolicy};
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn ocean(pagerduty: &MockServer) -> TestOcean {
    TestOcean::builder("pagerduty", dir())
        .identifier("pd-e2e")
        .config(json!({"token": common::TOKEN, "api_url": pagerduty.uri()}))
        .start(|config: PagerDutyConfig| async move {
            Ok(PagerDuty::with_retry_policy(
                config,
                RetryPolicy::default().fast(),
            )?)
        })
        .await
        .expect("the integration starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resyncs_into_the_emulator_and_delete_only_after_a_complete_listing() {
    let server = pagerduty().await;
    let ocean = ocean(&server).await;

    // 1. Cold: blueprints provisioned from .port/resources, every kind written.
    let report = ocean.resync().await;
    assert_eq!(
        report.outcome,
        ResyncOutcome::Completed(Deletion::NothingStale),
        "{report:?}"
    );
    assert_eq!(
        ocean.identifiers("pagerdutyService").await,
        ["PSV1API", "PSV2CHK", "PSV3SRCH"]
    );
    assert_eq!(
        ocean.identifiers("pagerdutyIncident").await,
        ["Q1AAA", "Q2BBB", "Q3CCC"]
    );
    assert_eq!(
        ocean.identifiers("pagerdutySchedule").await,
        ["PSC1CORE", "PSC2PAY"]
    );
    assert_eq!(
        ocean.identifiers("pagerdutyEscalationPolicy").await,
        ["PEP1CORE", "PEP2PAY"]
    );
    assert_eq!(
        ocean.identifiers("pagerdutyOncall").await,
        [
            "PU1ANNA-PSC1CORE-2024-04-29T09:00:00Z",
            "PU2BEN-PSC2PAY-2024-05-01T06:00:00Z",
            "PU3CHLOE-PSC1CORE-2024-04-29T09:00:00Z",
            "PU4DEV-PSC2PAY-2024-05-01T06:00:00Z"
        ]
    );
    assert_eq!(
        ocean.identifiers("pagerdutyUser").await,
        ["PU1ANNA", "PU2BEN", "PU3CHLOE", "PU4DEV"]
    );
    let api = ocean.entity("pagerdutyService", "PSV1API").await.unwrap();
    assert_eq!(api.properties["oncall"], "anna.lindqvist@acme.example");
    assert_eq!(api.properties["meanSecondsToResolve"], 3120);
    let incident = ocean.entity("pagerdutyIncident", "Q2BBB").await.unwrap();
    assert_eq!(incident.relations["pagerdutyService"], "PSV2CHK");
    assert_eq!(incident.properties["triggered_by"], "Ben Okafor");
    assert_eq!(
        incident.properties["url"],
        "https://acme-corp.pagerduty.com/incidents/Q2BBB"
    );
    assert!(
        incident.datasource.contains("pagerduty"),
        "{}",
        incident.datasource
    );

    // 2. PagerDuty answers the second incidents page with HTML: the kind fails, nothing is
    //    deleted.
    Mock::given(method("GET"))
        .and(path("/incidents"))
        .and(query_param("offset", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"))
        .with_priority(1)
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let report = ocean.resync().await;
    assert!(
        matches!(&report.outcome, ResyncOutcome::Failed(FailureReason::KindErrors { kinds, .. }) if kinds.iter().any(|k| k.starts_with("incidents"))),
        "{:?}",
        report.outcome
    );
    assert_eq!(
        ocean.identifiers("pagerdutyIncident").await,
        ["Q1AAA", "Q2BBB", "Q3CCC"]
    );

    // 3. The incident is gone from PagerDuty's listing: the next complete resync deletes it.
    Mock::given(method("GET"))
        .and(path("/incidents"))
        .and(query_param("offset", "2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"incidents": [], "limit": 2, "offset": 2, "more": false})),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    let report = ocean.resync().await;
    assert_eq!(
        report.outcome,
        ResyncOutcome::Completed(Deletion::Done),
        "{:?}",
        report.outcome
    );
    assert_eq!(
        ocean.identifiers("pagerdutyIncident").await,
        ["Q1AAA", "Q2BBB"]
    );
    assert_eq!(
        ocean.identifiers("pagerdutyService").await,
        ["PSV1API", "PSV2CHK", "PSV3SRCH"]
    );
    ocean.shutdown().await;
}
