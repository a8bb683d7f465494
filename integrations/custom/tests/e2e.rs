//! End to end: the integration embedded in Ocean, wiremock standing in for the API and the
//! in-process Port emulator for Port, with a mapping of two kinds (one fanned out over a path
//! parameter). A cold resync writes both; a kind whose endpoint fails deletes nothing; once the
//! endpoint answers again, the member that disappeared is deleted.

mod common;

use common::ok;
use ocean::lifecycle::{Deletion, FailureReason, ResyncOutcome};
use ocean::testing::TestOcean;
use ocean_custom::{Custom, CustomConfig, RetryPolicy};
use serde_json::json;
use wiremock::matchers::{header, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MAPPING: &str = r#"createMissingRelatedEntities: true
deleteDependentEntities: true
resources:
  - kind: /api/v1/teams
    selector:
      query: 'true'
      data_path: .teams
    port:
      entity:
        mappings:
          identifier: .id | tostring
          title: .name
          blueprint: '"team"'
  - kind: /api/v1/teams/{team_id}/members
    selector:
      query: 'true'
      data_path: .members
      path_parameters:
        team_id:
          endpoint: /api/v1/teams
          data_path: .teams
          field: .id
          filter: .status == "active"
    port:
      entity:
        mappings:
          identifier: .email
          title: .name
          blueprint: '"member"'
          relations:
            team: .__team_id
"#;

const BLUEPRINTS: &str = r#"[
  {"identifier": "team", "title": "Team", "schema": {"properties": {}}},
  {"identifier": "member", "title": "Member", "schema": {"properties": {}},
   "relations": {"team": {"title": "Team", "target": "team", "many": false, "required": false}}}
]"#;

/// The integration's folder with a test mapping and blueprints in place of the (empty) defaults.
fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let port = dir.path().join(".port");
    std::fs::create_dir_all(port.join("resources")).unwrap();
    std::fs::copy(
        common::dir().join(".port/spec.yaml"),
        port.join("spec.yaml"),
    )
    .unwrap();
    std::fs::write(port.join("resources/port-app-config.yml"), MAPPING).unwrap();
    std::fs::write(port.join("resources/blueprints.json"), BLUEPRINTS).unwrap();
    dir
}

async fn api() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/teams"))
        .and(header("authorization", "Bearer e2e-token"))
        .and(query_param("page", "1"))
        .respond_with(ok(json!({"teams": [
            {"id": 1, "name": "Core", "status": "active"},
            {"id": 2, "name": "Payments", "status": "active"},
            {"id": 3, "name": "Legacy", "status": "archived"}
        ], "next_page": null})))
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/teams/1/members"))
        .respond_with(ok(json!({"members": [
            {"email": "ann@acme.example", "name": "Ann"},
            {"email": "bo@acme.example", "name": "Bo"}
        ]})))
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/teams/2/members"))
        .respond_with(ok(
            json!({"members": [{"email": "cy@acme.example", "name": "Cy"}]}),
        ))
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resyncs_into_the_emulator_and_deletes_only_after_a_complete_listing() {
    let server = api().await;
    let folder = folder();
    let ocean = TestOcean::builder("custom", folder.path())
        .identifier("custom-e2e")
        .config(
            json!({"base_url": server.uri(), "auth_type": "bearer_token",
            "api_token": "e2e-token", "pagination_type": "page"}),
        )
        .start(|config: CustomConfig| async move {
            Ok(Custom::with_retry_policy(
                config,
                RetryPolicy::default().fast(),
            )?)
        })
        .await
        .expect("the integration starts");

    // 1. Cold: blueprints provisioned, both kinds written, members related to their team.
    let report = ocean.resync().await;
    assert_eq!(
        report.outcome,
        ResyncOutcome::Completed(Deletion::NothingStale),
        "{report:?}"
    );
    assert_eq!(ocean.identifiers("team").await, ["1", "2", "3"]);
    assert_eq!(
        ocean.identifiers("member").await,
        ["ann@acme.example", "bo@acme.example", "cy@acme.example"]
    );
    let cy = ocean.entity("member", "cy@acme.example").await.unwrap();
    assert_eq!(cy.relations["team"], "2");

    // 2. One team's members fail after retries: that kind fails, nothing is deleted.
    Mock::given(path("/api/v1/teams/1/members"))
        .respond_with(ResponseTemplate::new(500))
        .with_priority(1)
        .up_to_n_times(4)
        .mount(&server)
        .await;
    let report = ocean.resync().await;
    assert!(
        matches!(&report.outcome, ResyncOutcome::Failed(FailureReason::KindErrors { kinds, .. })
            if kinds.iter().any(|k| k.contains("members"))),
        "{:?}",
        report.outcome
    );
    assert_eq!(ocean.identifiers("member").await.len(), 3);

    // 3. Bo left team 1: the next complete resync deletes Bo.
    Mock::given(path("/api/v1/teams/1/members"))
        .respond_with(ok(
            json!({"members": [{"email": "ann@acme.example", "name": "Ann"}]}),
        ))
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
        ocean.identifiers("member").await,
        ["ann@acme.example", "cy@acme.example"]
    );
    assert_eq!(ocean.identifiers("team").await, ["1", "2", "3"]);
    ocean.shutdown().await;
}
