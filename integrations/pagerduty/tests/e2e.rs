//! End to end: the integration embedded in Ocean, wiremock standing in for PagerDuty and the
//! in-process Port emulator for Port. A cold resync provisions the default blueprints and
//! writes every kind; a kind that fails (PagerDuty answers garbage) deletes nothing; once
//! PagerDuty answers again, the incident that disappeared is deleted.

mod common;

use common::{dir, pagerduty};
use ocean::Ocean;
use ocean::lifecycle::{Deletion, FailureReason, ResyncOutcome};
use ocean_config::{IntegrationInfo, Loader, Spec};
use ocean_pagerduty::{PagerDuty, PagerDutyConfig, RetryPolicy};
use port_emulator::{EmulatorConfig, RunningEmulator};
use serde_json::json;
use std::sync::Arc;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn ocean(emulator: &RunningEmulator, pagerduty: &MockServer) -> Ocean {
    let settings = Loader::new(IntegrationInfo::new("pagerduty", "0.1.0"))
        .spec(Some(Spec::load(&dir()).unwrap().unwrap()))
        .set(
            "port",
            json!({
                "client_id": emulator.client_id(),
                "client_secret": emulator.client_secret().expose(),
                "base_url": emulator.base_url(),
            }),
        )
        .set(
            "integration",
            json!({"identifier": "pd-e2e", "type": "pagerduty",
                   "config": {"token": common::TOKEN, "api_url": pagerduty.uri()}}),
        )
        .set("event_listener", json!({"type": "ONCE"}))
        .set("initialize_port_resources", json!(true))
        .load()
        .expect("settings load");
    let config: PagerDutyConfig = settings.integration_config().expect("typed config");
    let integration = PagerDuty::with_retry_policy(config, RetryPolicy::fast()).unwrap();
    Ocean::builder(settings, Arc::new(integration))
        .resources_from(dir())
        .build()
        .expect("ocean builds")
}

async fn stored(emulator: &RunningEmulator, blueprint: &str) -> Vec<String> {
    let mut ids: Vec<String> = emulator
        .entities(blueprint)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.identifier)
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resyncs_into_the_emulator_and_delete_only_after_a_complete_listing() {
    let emulator = port_emulator::spawn(EmulatorConfig::default())
        .await
        .expect("emulator");
    let server = pagerduty().await;
    let ocean = ocean(&emulator, &server).await;
    ocean.start().await.expect("startup");

    // 1. Cold: blueprints provisioned from .port/resources, every kind written.
    let report = ocean.resync().await;
    assert_eq!(
        report.outcome,
        ResyncOutcome::Completed(Deletion::NothingStale),
        "{report:?}"
    );
    assert_eq!(
        stored(&emulator, "pagerdutyService").await,
        ["PSV1API", "PSV2CHK", "PSV3SRCH"]
    );
    assert_eq!(
        stored(&emulator, "pagerdutyIncident").await,
        ["Q1AAA", "Q2BBB", "Q3CCC"]
    );
    assert_eq!(
        stored(&emulator, "pagerdutySchedule").await,
        ["PSC1CORE", "PSC2PAY"]
    );
    assert_eq!(
        stored(&emulator, "pagerdutyEscalationPolicy").await,
        ["PEP1CORE", "PEP2PAY"]
    );
    assert_eq!(
        stored(&emulator, "pagerdutyOncall").await,
        [
            "PU1ANNA-PSC1CORE-2024-04-29T09:00:00Z",
            "PU2BEN-PSC2PAY-2024-05-01T06:00:00Z",
            "PU3CHLOE-PSC1CORE-2024-04-29T09:00:00Z",
            "PU4DEV-PSC2PAY-2024-05-01T06:00:00Z"
        ]
    );
    let api = emulator
        .entity("pagerdutyService", "PSV1API")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(api.properties["oncall"], "anna.lindqvist@acme.example");
    assert_eq!(api.properties["meanSecondsToResolve"], 3120);
    let incident = emulator
        .entity("pagerdutyIncident", "Q2BBB")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(incident.relations["pagerdutyService"], "PSV2CHK");
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
        stored(&emulator, "pagerdutyIncident").await,
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
        stored(&emulator, "pagerdutyIncident").await,
        ["Q1AAA", "Q2BBB"]
    );
    assert_eq!(
        stored(&emulator, "pagerdutyService").await,
        ["PSV1API", "PSV2CHK", "PSV3SRCH"]
    );
}
