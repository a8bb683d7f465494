//! The `.port` folder agrees with the code and with GitHub's data: the spec's names and defaults
//! are the code's (credentials named by their variables when missing), its features list every
//! kind, the default mapping (and the all-kinds test mapping) map every field of what the
//! integration fetches into properties and relations their blueprints declare, and
//! `.port/examples/<kind>.json` holds sample items (a list) of every kind that map cleanly.
//!
//! `OCEAN_GITHUB_WRITE_EXAMPLES=1 cargo test -p ocean-github --test resources` rewrites the
//! examples from the fixture GitHub.

mod common;

use common::{acme, config, dir, github, integration, items};
use ocean_config::{IntegrationInfo, Loader, PortResources, Spec};
use ocean_github::{GithubConfig, KINDS};
use ocean_mapping::{CompiledResource, EngineOptions, PortAppConfig};
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn load(env: &[(&str, &str)]) -> Result<GithubConfig, String> {
    let spec = Spec::load(&dir())
        .expect("spec parses")
        .expect("spec exists");
    let mut vars = vec![
        ("OCEAN__PORT__CLIENT_ID", "id"),
        ("OCEAN__PORT__CLIENT_SECRET", "secret"),
    ];
    vars.extend_from_slice(env);
    let settings = Loader::new(IntegrationInfo::new("github-ocean", "0.1.0"))
        .spec(Some(spec))
        .env(vars)
        .load()
        .map_err(|e| e.to_string())?;
    let config: GithubConfig = settings.integration_config().map_err(|e| e.to_string())?;
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

#[test]
fn reference_variable_names_carry_over_and_defaults_are_the_code_s() {
    let config = load(&[("OCEAN__INTEGRATION__CONFIG__GITHUB_TOKEN", "ghp_abc")]).unwrap();
    assert_eq!(config, GithubConfig::with_token("ghp_abc"));
    let config = load(&[
        ("OCEAN__INTEGRATION__CONFIG__GITHUB_APP_ID", "12"),
        (
            "OCEAN__INTEGRATION__CONFIG__GITHUB_APP_PRIVATE_KEY",
            "-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----",
        ),
        ("OCEAN__INTEGRATION__CONFIG__GITHUB_ORGANIZATION", "acme"),
        (
            "OCEAN__INTEGRATION__CONFIG__GITHUB_HOST",
            "https://ghe.acme.example/api/v3/",
        ),
        ("OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET", "whsec"),
        ("OCEAN__INTEGRATION__CONFIG__SKIP_WEBHOOK_PATCHING", "true"),
        (
            "OCEAN__INTEGRATION__CONFIG__RESYNC_RATELIMIT_RESERVATION_THRESHOLD",
            "80",
        ),
    ])
    .unwrap();
    assert_eq!(config.github_app_id.as_deref(), Some("12"));
    assert_eq!(config.organization(), Some("acme"));
    assert_eq!(
        config.urls().unwrap().graphql,
        "https://ghe.acme.example/api/graphql"
    );
    assert!(config.skip_webhook_patching);
    assert_eq!(config.reservation_threshold().unwrap(), 80);
    let err = load(&[]).unwrap_err();
    assert!(
        err.contains("OCEAN__INTEGRATION__CONFIG__GITHUB_TOKEN"),
        "{err}"
    );
    let spec = Spec::load(&dir()).unwrap().unwrap();
    let sensitive: Vec<String> = spec
        .configurations
        .iter()
        .filter(|c| c.sensitive)
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(
        sensitive,
        ["githubToken", "githubAppPrivateKey", "webhookSecret"]
    );
}

#[test]
fn the_spec_lists_every_kind() {
    let spec = Spec::load(&dir()).unwrap().unwrap();
    let features: BTreeSet<String> = spec.exporter_kinds().unwrap().into_iter().collect();
    let kinds: BTreeSet<String> = KINDS.iter().map(|k| (*k).to_owned()).collect();
    assert_eq!(features, kinds);
}

fn mapping(resources: &PortResources) -> PortAppConfig {
    PortAppConfig::from_json(resources.port_app_config.as_ref().expect("a mapping"))
        .expect("the mapping is valid")
}

/// Fields that are null for some items by nature (an open pull request has no `closed_at`).
const NULLABLE: [&str; 3] = [
    "properties.closedAt",
    "properties.mergedAt",
    "properties.leadTimeHours",
];

/// Maps `raw` with `resource` and checks every entity against the blueprints.
fn map_checked(
    resource: &ocean_mapping::ResourceConfig,
    blueprints: &[Value],
    raw: &[Value],
) -> Vec<Value> {
    let compiled = CompiledResource::compile(resource, &EngineOptions::default());
    assert!(
        compiled.compile_problems().is_empty(),
        "{:?}",
        compiled.compile_problems()
    );
    let outcome = compiled.map_values(raw, false);
    assert!(
        outcome.selector_errors.is_empty() && outcome.batch_error.is_none(),
        "kind {}",
        resource.kind
    );
    assert_eq!(outcome.skipped, 0, "kind {}", resource.kind);
    let misconfigured: Vec<&String> = outcome
        .misconfigured
        .keys()
        .filter(|k| !NULLABLE.contains(&k.as_str()))
        .collect();
    assert!(
        misconfigured.is_empty(),
        "kind {}: misconfigured {:?}",
        resource.kind,
        outcome.misconfigured
    );
    assert_eq!(outcome.entities.len(), raw.len(), "kind {}", resource.kind);
    outcome
        .entities
        .into_iter()
        .map(|entity| {
            let entity = serde_json::to_value(&entity).unwrap();
            ocean::testing::assert_declared(&entity, blueprints);
            entity
        })
        .collect()
}

#[tokio::test]
async fn the_default_mapping_maps_every_field_into_declared_properties() {
    let resources = PortResources::load_dir(&dir().join(".port/resources")).unwrap();
    let app = mapping(&resources);
    assert_eq!(app.extra.get("repositoryType"), Some(&json!("all")));
    let kinds: Vec<&str> = app.resources.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["organization", "repository", "pull-request"]);
    let gh = github(vec![acme(3)]).await;
    let cache = tempfile::tempdir().unwrap();
    let it = integration(config(&gh, &cache));
    for resource in &app.resources {
        let raw = items(
            &it,
            &resource.kind,
            serde_json::to_value(&resource.selector).unwrap(),
        )
        .await;
        assert!(!raw.is_empty());
        let entities = map_checked(resource, &resources.blueprints, &raw);
        if resource.kind == "pull-request" {
            let pr = &entities[0];
            assert_eq!(pr["properties"]["prNumber"], raw[0]["number"]);
            assert_eq!(
                pr["identifier"],
                format!(
                    "{}{}",
                    raw[0]["__repository"].as_str().unwrap(),
                    raw[0]["id"]
                )
            );
            assert_eq!(pr["properties"]["leadTimeHours"], Value::Null);
        }
    }
}

#[tokio::test]
async fn every_kind_has_an_example_that_maps_cleanly() {
    let resources = PortResources::load_dir(&dir().join("tests/resources/all-kinds")).unwrap();
    let app = mapping(&resources);
    if std::env::var_os("OCEAN_GITHUB_WRITE_EXAMPLES").is_some() {
        let gh = github(vec![acme(3)]).await;
        let cache = tempfile::tempdir().unwrap();
        let it = integration(config(&gh, &cache));
        for resource in &app.resources {
            let raw = items(
                &it,
                &resource.kind,
                serde_json::to_value(&resource.selector).unwrap(),
            )
            .await;
            let file = dir()
                .join(".port/examples")
                .join(format!("{}.json", resource.kind));
            std::fs::write(
                file,
                serde_json::to_string_pretty(&raw[..1]).unwrap() + "\n",
            )
            .unwrap();
        }
    }
    let mapped: BTreeSet<&str> = app.resources.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(mapped, KINDS.iter().copied().collect());
    for resource in &app.resources {
        let file = dir()
            .join(".port/examples")
            .join(format!("{}.json", resource.kind));
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let examples: Vec<Value> = serde_json::from_str(&text).unwrap();
        assert!(!examples.is_empty(), "{}", file.display());
        map_checked(resource, &resources.blueprints, &examples);
    }
}
