//! The integration record on the wire: read (404 → none), create, patch, mapping write,
//! resync-state, resync request, kind examples, provisioning poll and cursor.

use std::time::Duration;

use ocean_port_client::{
    CreateIntegration, IntegrationPatch, ProvisionPoll, ResourcesOrigin, ResyncStateUpdate,
    ResyncStatus,
};
use serde_json::{Value, json};
use time::macros::datetime;
use wiremock::matchers::{body_json, header as header_is, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::*;

#[tokio::test]
async fn reading_a_missing_integration_gives_none() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v1/integration/my-jira"))
        .and(query_param("oceanCoreVersion", "0.56.2"))
        .and(query_param("isPolling", "false"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"ok": false})))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(client.get_integration().await.unwrap(), None);
    let sent = &received_on(&server, "/v1/integration/my-jira").await[0];
    assert_eq!(header(sent, "user-agent"), "port-ocean/jira/0.3.1/my-jira");
}

#[tokio::test]
async fn reading_an_integration_parses_what_ocean_uses() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v1/integration/my-jira"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"integration": {
                "installationId": "my-jira",
                "installationType": "OnPrem",
                "config": {"resources": [{"kind": "issue"}]},
                "resyncState": {"status": "running", "updatedAt": "2026-01-01T10:00:00.000Z"},
                "metricAttributes": {"ingestUrl": "http://127.0.0.1:1/metrics"},
                "arePortResourcesInitialized": true
            }})),
        )
        .mount(&server)
        .await;
    let integration = client.get_integration().await.unwrap().unwrap();
    assert_eq!(integration.installation_type.as_deref(), Some("OnPrem"));
    assert_eq!(integration.resync_status(), Some("running"));
    assert_eq!(integration.are_port_resources_initialized, Some(true));
    assert_eq!(
        integration.config.as_ref().unwrap()["resources"][0]["kind"],
        json!("issue")
    );
    assert_eq!(integration.installation_id.as_deref(), Some("my-jira"));
}

#[tokio::test]
async fn create_sends_the_reference_body() {
    let (server, client) = setup().await;
    let expected = json!({
        "installationId": "my-jira",
        "installationAppType": "jira",
        "version": "0.3.1",
        "changelogDestination": {},
        "config": {"resources": []},
        "actionsProcessingEnabled": false,
        "incrementalSyncEnabled": false,
        "createPortResourcesOrigin": "Default"
    });
    Mock::given(method("POST"))
        .and(path("/v1/integration"))
        .and(body_json(expected))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"integration": {"installationId": "my-jira"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let created = client
        .create_integration(&CreateIntegration {
            changelog_destination: json!({}),
            config: Some(json!({"resources": []})),
            actions_processing_enabled: false,
            incremental_sync_enabled: false,
            origin: ResourcesOrigin::Default,
        })
        .await
        .unwrap();
    assert_eq!(created.installation_id.as_deref(), Some("my-jira"));
    let sent = &received_on(&server, "/v1/integration").await[0];
    assert!(query(sent).is_empty());
}

#[tokio::test]
async fn port_origin_asks_port_to_create_resources_and_polls_for_the_config() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/integration"))
        .and(query_param("integration_modes", "create_resources"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"integration": {"config": {}}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/integration/my-jira"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"integration": {"config": {}}})),
        )
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/integration/my-jira"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"integration": {"config": {"resources": [{"kind": "x"}]}}})),
        )
        .mount(&server)
        .await;
    let request = CreateIntegration {
        changelog_destination: json!({}),
        config: None,
        actions_processing_enabled: false,
        incremental_sync_enabled: false,
        origin: ResourcesOrigin::Port,
    };
    let sent_body = client.create_integration(&request).await.unwrap();
    assert!(!sent_body.has_config());
    let poll = ProvisionPoll {
        attempts: 5,
        initial: Duration::from_millis(1),
        factor: 1.55,
    };
    let provisioned = client.wait_for_provisioned_config(poll).await.unwrap();
    assert!(provisioned.has_config());
    assert_eq!(
        received_on(&server, "/v1/integration/my-jira").await.len(),
        3
    );
    let created: Value =
        serde_json::from_slice(&received_on(&server, "/v1/integration").await[0].body).unwrap();
    assert_eq!(created["config"], json!({}));
    assert_eq!(created["createPortResourcesOrigin"], json!("Port"));

    let never = ProvisionPoll {
        attempts: 2,
        initial: Duration::from_millis(1),
        factor: 1.0,
    };
    server.reset().await;
    mount_token(&server, "t1").await;
    Mock::given(method("GET"))
        .and(path("/v1/integration/my-jira"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"integration": {}})))
        .mount(&server)
        .await;
    let err = client.wait_for_provisioned_config(never).await.unwrap_err();
    assert!(err.to_string().contains("after 2 checks"), "{err}");
}

#[tokio::test]
async fn patch_always_sends_the_version() {
    let (server, client) = setup().await;
    Mock::given(method("PATCH"))
        .and(path("/v1/integration/my-jira"))
        .and(body_json(
            json!({"arePortResourcesInitialized": true, "version": "0.3.1"}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"integration": {"version": "0.3.1"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let patched = client
        .patch_integration(&IntegrationPatch {
            are_port_resources_initialized: Some(true),
            ..IntegrationPatch::default()
        })
        .await
        .unwrap();
    assert_eq!(patched.version.as_deref(), Some("0.3.1"));
}

#[tokio::test]
async fn a_spec_patch_waits_while_the_integration_is_in_progress() {
    let server = wiremock::MockServer::start().await;
    mount_token(&server, "t1").await;
    let mut config = config_for(&server.uri());
    config.spec_patch_delay = Duration::from_millis(1);
    let client = ocean_port_client::PortClient::new(config).unwrap();
    let in_progress =
        || ResponseTemplate::new(400).set_body_json(json!({"error": "integration_is_in_progress"}));
    Mock::given(method("PATCH"))
        .and(path("/v1/integration/my-jira"))
        .respond_with(in_progress())
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v1/integration/my-jira"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"integration": {}})))
        .mount(&server)
        .await;
    // Without a spec, the 400 is final.
    let err = client
        .patch_integration(&IntegrationPatch::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(
        err.to_string().contains("integration_is_in_progress"),
        "{err}"
    );
    // With one, it is sent again until Port is ready: one more 400, then success.
    client
        .patch_integration(&IntegrationPatch {
            spec: Some(json!({"appSpec": {}})),
            ..IntegrationPatch::default()
        })
        .await
        .unwrap();
    let sent = received_on(&server, "/v1/integration/my-jira").await;
    assert_eq!(sent.len(), 3);
    let last: Value = serde_json::from_slice(&sent[2].body).unwrap();
    assert_eq!(last, json!({"spec": {"appSpec": {}}, "version": "0.3.1"}));
}

#[tokio::test]
async fn mapping_write_can_skip_the_resync() {
    let (server, client) = setup().await;
    Mock::given(method("PATCH"))
        .and(path("/v1/integration/my-jira/config"))
        .and(header_is("x-skip-resync", "true"))
        .and(body_json(json!({"config": {"resources": []}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"integration": {}})))
        .expect(1)
        .mount(&server)
        .await;
    client
        .patch_integration_config(&json!({"resources": []}), true)
        .await
        .unwrap();
}

#[tokio::test]
async fn resync_state_returns_the_new_watermark() {
    let (server, client) = setup().await;
    let start = datetime!(2026-01-01 09:00:00 UTC);
    let now = datetime!(2026-01-01 10:00:00.5 UTC);
    Mock::given(method("PATCH"))
        .and(path("/v1/integration/my-jira/resync-state"))
        .and(body_json(json!({
            "status": "running",
            "lastResyncEnd": null,
            "lastResyncStart": "2026-01-01T10:00:00.500000+00:00",
            "nextResync": "2026-01-01T10:30:00+00:00",
            "intervalInMinuets": 30
        })))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"integration": {
                "resyncState": {"status": "running", "updatedAt": "2026-01-01T10:00:01.000Z"}
            }})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let watermark = client
        .update_resync_state(&ResyncStateUpdate::before_resync(now, Some(30), start))
        .await
        .unwrap();
    assert_eq!(watermark.as_deref(), Some("2026-01-01T10:00:01.000Z"));
    let _ = ResyncStatus::Completed;
}

#[tokio::test]
async fn resync_request_may_be_null() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v1/integration/my-jira/resync-request"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"request": null})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/integration/my-jira/resync-request"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"request": {"id": "r1", "updatedAt": "2026-01-01T10:00:00Z"}}),
            ),
        )
        .mount(&server)
        .await;
    assert_eq!(client.resync_request().await.unwrap(), None);
    let request = client.resync_request().await.unwrap().unwrap();
    assert_eq!(request.updated_at.as_deref(), Some("2026-01-01T10:00:00Z"));
}

#[tokio::test]
async fn kind_examples_and_cursor() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path(
            "/v1/integration/my-jira/kinds/pull%20request/examples",
        ))
        .and(body_json(json!({"examples": [{"a": 1}]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .expect(1)
        .mount(&server)
        .await;
    client
        .post_kind_examples("pull request", &[json!({"a": 1})])
        .await
        .unwrap();

    Mock::given(method("PUT"))
        .and(path("/v1/integration/my-jira/cursor"))
        .and(query_param("kind", "issue"))
        .and(query_param("index", "0"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/integration/my-jira/cursor"))
        .and(body_json(json!({"primary": "2026-01-01T10:00:00+00:00"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .expect(1)
        .mount(&server)
        .await;
    client
        .save_cursor("issue", 0, "2026-01-01T10:00:00+00:00")
        .await
        .unwrap();
    Mock::given(method("GET"))
        .and(path("/v1/integration/my-jira/cursor"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"cursor": {"primary": "2026-01-01T10:00:00+00:00"}})),
        )
        .mount(&server)
        .await;
    assert_eq!(
        client.get_cursor("issue", 0).await.unwrap().as_deref(),
        Some("2026-01-01T10:00:00+00:00")
    );
}
