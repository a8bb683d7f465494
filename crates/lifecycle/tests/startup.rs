//! Startup in Port against the emulator: the integration record, the default resources in
//! stages with rollback, the second start that leaves them alone, and the start that finishes
//! what an interrupted one left.

mod common;

use common::*;
use ocean_config::PortResources;
use ocean_lifecycle::{CleanOptions, Ocean, StartupError};
use ocean_port_client::ResourcesOrigin;
use serde_json::{Value, json};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_creates_the_integration_and_defaults_second_start_skips_them() {
    let h = Harness::new(json!({"type": "ONCE"})).await;
    let outcome = h.ocean().start().await.expect("first start");
    assert!(outcome.created && outcome.provisioned);
    assert_eq!(outcome.origin, ResourcesOrigin::Default);

    let integration = h
        .emulator
        .integration(INTEGRATION_ID)
        .await
        .unwrap()
        .expect("integration created");
    assert_eq!(integration["installationId"], json!(INTEGRATION_ID));
    assert_eq!(integration["installationAppType"], json!(INTEGRATION_TYPE));
    assert_eq!(integration["version"], json!(VERSION));
    assert_eq!(integration["changelogDestination"], json!({}));
    assert_eq!(integration["createPortResourcesOrigin"], json!("Default"));
    assert_eq!(integration["actionsProcessingEnabled"], json!(false));
    assert_eq!(integration["incrementalSyncEnabled"], json!(false));
    assert_eq!(integration["arePortResourcesInitialized"], json!(true));
    assert_eq!(integration["processingMode"], json!("dsp"));
    // The default mapping went with the create call, in request form.
    let config = &integration["config"];
    assert_eq!(config["resources"].as_array().map(Vec::len), Some(2));
    assert_eq!(config["resources"][1]["kind"], json!("service"));
    assert_eq!(config["entityDeletionThreshold"], json!(0.9));

    // Blueprints in stages: two bare creates, then two patches with relations, two full.
    assert_eq!(h.count_requests("POST", "/v1/blueprints"), 2);
    assert_eq!(h.count_requests("PATCH", "/v1/blueprints/team"), 2);
    assert_eq!(h.count_requests("PATCH", "/v1/blueprints/service"), 2);
    let service = h.emulator.blueprint("service").await.unwrap().unwrap();
    assert_eq!(service["relations"]["team"]["target"], json!("team"));
    let creates: Vec<_> = h
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/v1/blueprints"))
        .map(|r| r.method)
        .collect();
    assert_eq!(
        creates,
        [
            "GET", "GET", "POST", "POST", "PATCH", "PATCH", "PATCH", "PATCH"
        ]
    );
    // Create, then the drift patch (a fresh record has no processingMode), then initialized.
    assert_eq!(h.count_requests("POST", "/v1/integration"), 1);
    assert_eq!(
        h.count_requests("PATCH", &format!("/v1/integration/{INTEGRATION_ID}")),
        2
    );

    // Second start: nothing created, nothing patched.
    h.emulator.controls().clear_requests();
    let outcome = h.ocean().start().await.expect("second start");
    assert!(!outcome.created && !outcome.provisioned && !outcome.patched);
    let writes: Vec<_> = h
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET" && r.path != "/v1/auth/access_token")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(writes.is_empty(), "second start wrote {writes:?}");
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_blueprint_stage_rolls_back_and_fails_startup() {
    let h = Harness::new(json!({"type": "ONCE"})).await;
    let mut blueprints = blueprints();
    // Stage 2 (relations) points at a blueprint that does not exist: Port refuses the patch.
    blueprints[1]["relations"]["ghost"] =
        json!({"target": "ghost", "required": false, "many": false});
    let resources = PortResources {
        blueprints,
        ..resources()
    };
    let ocean = Ocean::builder(
        h.settings.clone(),
        Arc::new(TestIntegration {
            data: h.data.clone(),
            page_size: 50,
        }),
    )
    .port_client(h.client.clone())
    .resources(resources)
    .build()
    .unwrap();
    let error = ocean.start().await.expect_err("startup must fail");
    match &error {
        StartupError::Blueprints {
            rolled_back,
            errors,
        } => {
            let mut rolled_back = rolled_back.clone();
            rolled_back.sort();
            assert_eq!(rolled_back, ["service", "team"]);
            assert!(errors.iter().any(|e| e.contains("ghost")), "{errors:?}");
        }
        other => panic!("expected a blueprint failure, got {other}"),
    }
    assert!(h.emulator.blueprint("team").await.unwrap().is_none());
    assert!(h.emulator.blueprint("service").await.unwrap().is_none());
    // Not marked initialized (the reference marks it even after a rollback, so its next start
    // never creates the blueprints): the next start, with the mistake fixed, provisions them.
    let integration = h
        .emulator
        .integration(INTEGRATION_ID)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(integration["arePortResourcesInitialized"], json!(true));
    let outcome = h.ocean().start().await.expect("the next start");
    assert!(!outcome.created && outcome.provisioned);
    let service = h.emulator.blueprint("service").await.unwrap().unwrap();
    assert_eq!(service["relations"]["team"]["target"], json!("team"));
    let integration = h
        .emulator
        .integration(INTEGRATION_ID)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(integration["arePortResourcesInitialized"], json!(true));
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_interrupted_after_the_bare_stage_is_finished_by_the_next() {
    let h = Harness::new(json!({"type": "ONCE"})).await;
    // What a start killed between the stages leaves: the integration, not initialized, and
    // the blueprints bare (no relations).
    h.client
        .create_integration(&ocean_port_client::CreateIntegration {
            changelog_destination: json!({}),
            config: Some(mapping()),
            actions_processing_enabled: false,
            incremental_sync_enabled: false,
            origin: ResourcesOrigin::Default,
        })
        .await
        .unwrap();
    for bp in ocean_port_client::DefaultBlueprint::parse_all(&blueprints()).unwrap() {
        h.client.create_blueprint(&bp.bare()).await.unwrap();
    }
    assert!(
        h.emulator.blueprint("service").await.unwrap().unwrap()["relations"]
            .as_object()
            .is_none_or(|r| r.is_empty())
    );
    h.emulator.controls().clear_requests();
    let outcome = h.ocean().start().await.expect("start");
    assert!(outcome.provisioned);
    // No blueprint created again; the bare service gets its relation, the team lacks nothing.
    assert_eq!(h.count_requests("POST", "/v1/blueprints"), 0);
    assert_eq!(h.count_requests("PATCH", "/v1/blueprints/service"), 1);
    assert_eq!(h.count_requests("PATCH", "/v1/blueprints/team"), 0);
    let service = h.emulator.blueprint("service").await.unwrap().unwrap();
    assert_eq!(service["relations"]["team"]["target"], json!("team"));
    let integration = h
        .emulator
        .integration(INTEGRATION_ID)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(integration["arePortResourcesInitialized"], json!(true));
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_blueprint_keeps_what_it_has_and_the_missing_ones_are_created() {
    let h = Harness::new(json!({"type": "ONCE"})).await;
    h.emulator
        .create_blueprint(json!({"identifier": "team", "title": "Team (mine)",
            "schema": {"properties": {"size": {"type": "string", "title": "Mine"},
                "lead": {"type": "string"}}, "required": []}}))
        .await
        .unwrap();
    let outcome = h.ocean().start().await.expect("start");
    assert!(outcome.created && outcome.provisioned);
    assert_eq!(h.count_requests("POST", "/v1/blueprints"), 1);
    // The user's team is not patched: it has every default property (its own `size` wins).
    assert_eq!(h.count_requests("PATCH", "/v1/blueprints/team"), 0);
    let team = h.emulator.blueprint("team").await.unwrap().unwrap();
    assert_eq!(team["title"], json!("Team (mine)"));
    assert_eq!(
        team["schema"]["properties"]["size"],
        json!({"type": "string", "title": "Mine"})
    );
    let service = h.emulator.blueprint("service").await.unwrap().unwrap();
    assert_eq!(service["relations"]["team"]["target"], json!("team"));
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mapping_is_pushed_when_port_has_none() {
    let h = Harness::new(json!({"type": "ONCE"})).await;
    // An integration someone created in Port without a mapping and without defaults.
    h.client
        .create_integration(&ocean_port_client::CreateIntegration {
            changelog_destination: json!({}),
            config: None,
            actions_processing_enabled: false,
            incremental_sync_enabled: false,
            origin: ResourcesOrigin::Default,
        })
        .await
        .unwrap();
    let outcome = h.ocean().start().await.expect("start");
    assert!(!outcome.created && outcome.provisioned);
    assert_eq!(
        h.count_requests("PATCH", &format!("/v1/integration/{INTEGRATION_ID}/config")),
        1
    );
    let integration = h
        .emulator
        .integration(INTEGRATION_ID)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        integration["config"]["resources"][0]["kind"],
        Value::from("team")
    );
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_fail_startup_with_an_auth_error() {
    let h = Harness::new(json!({"type": "ONCE"})).await;
    let mut settings = h.settings.clone();
    settings.port.client_secret = "wrong".into();
    let mut config = ocean_lifecycle::port_client_config(&settings);
    config.retry = h.client.config().retry.clone();
    let client = ocean_port_client::PortClient::new(config).unwrap();
    let ocean = Ocean::builder(
        settings,
        Arc::new(TestIntegration {
            data: h.data.clone(),
            page_size: 50,
        }),
    )
    .port_client(client)
    .build()
    .unwrap();
    let error = ocean.start().await.expect_err("startup must fail");
    assert!(matches!(error, StartupError::Auth(_)), "{error}");
    assert!(!error.to_string().contains("wrong"));
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_deletes_the_defaults_dependents_first_and_dock_puts_back_what_is_missing() {
    let h = Harness::new(json!({"type": "ONCE"})).await;
    h.ocean().start().await.expect("start");
    let mine = json!({"identifier": "mine", "title": "Mine",
        "schema": {"properties": {}, "required": []}});
    h.client.create_blueprint(&mine).await.unwrap();

    let report = h
        .ocean()
        .clean_defaults(CleanOptions::default())
        .await
        .expect("clean");
    // `service` relates to `team`, so it goes first.
    assert_eq!(report.deleted, ["service", "team"]);
    assert!(report.integration_found && !report.destroyed);
    assert!(h.emulator.blueprint("team").await.unwrap().is_none());
    assert!(h.emulator.blueprint("mine").await.unwrap().is_some());
    let integration = h
        .emulator
        .integration(INTEGRATION_ID)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(integration["arePortResourcesInitialized"], json!(false));

    // The next start creates them again.
    assert!(h.ocean().start().await.unwrap().provisioned);
    assert!(h.emulator.blueprint("service").await.unwrap().is_some());

    // A default blueprint deleted by hand: a start leaves it (the defaults are initialized),
    // dock puts it back, and only it.
    h.client.delete_blueprint("service").await.unwrap();
    assert!(!h.ocean().start().await.unwrap().provisioned);
    h.emulator.controls().clear_requests();
    assert!(h.ocean().dock_defaults().await.unwrap().provisioned);
    assert_eq!(h.count_requests("POST", "/v1/blueprints"), 1);
    let service = h.emulator.blueprint("service").await.unwrap().unwrap();
    assert_eq!(service["relations"]["team"]["target"], json!("team"));
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_takes_a_relation_cycle_apart_and_destroy_deletes_the_integration() {
    let h = Harness::new(json!({"type": "ONCE"})).await;
    let cycle = vec![
        json!({"identifier": "left", "title": "Left", "schema": {"properties": {}, "required": []},
            "relations": {"right": {"target": "right", "required": false, "many": false}}}),
        json!({"identifier": "right", "title": "Right", "schema": {"properties": {}, "required": []},
            "relations": {"left": {"target": "left", "required": false, "many": false}}}),
    ];
    let ocean = Ocean::builder(
        h.settings.clone(),
        Arc::new(TestIntegration {
            data: h.data.clone(),
            page_size: 50,
        }),
    )
    .port_client(h.client.clone())
    .resources(PortResources {
        dir: "cycle".into(),
        blueprints: cycle,
        port_app_config: Some(mapping()),
        ..PortResources::default()
    })
    .build()
    .unwrap();
    ocean.start().await.expect("start");
    assert!(h.emulator.blueprint("left").await.unwrap().is_some());
    let report = ocean
        .clean_defaults(CleanOptions {
            destroy: true,
            ..CleanOptions::default()
        })
        .await
        .expect("clean");
    assert_eq!(report.deleted.len(), 2);
    assert!(report.destroyed);
    assert!(h.emulator.blueprint("left").await.unwrap().is_none());
    assert!(h.emulator.blueprint("right").await.unwrap().is_none());
    assert!(
        h.emulator
            .integration(INTEGRATION_ID)
            .await
            .unwrap()
            .is_none()
    );
    // Nothing left to clean: said, not failed.
    let again = ocean.clean_defaults(CleanOptions::default()).await.unwrap();
    assert!(!again.integration_found && again.deleted.is_empty());
    h.emulator.shutdown().await.unwrap();
}
