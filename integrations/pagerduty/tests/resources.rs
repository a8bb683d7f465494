//! The `.port` folder agrees with the code and with PagerDuty's data: the spec makes `token`
//! required (naming its environment variable when missing) and its defaults are the code's; the
//! default mapping, run over what the integration fetches from the fixture server, maps every
//! field (no misconfigured field), into properties and relations its blueprints declare, and
//! gives the expected entities.

mod common;

use common::{dir, integration, items, pagerduty};
use ocean_config::{IntegrationInfo, Loader, PortResources, Spec};
use ocean_mapping::{CompiledResource, EngineOptions, PortAppConfig};
use ocean_pagerduty::{PagerDutyConfig, SPECIAL_KINDS};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

fn resources() -> PortResources {
    PortResources::load_dir(&dir().join(".port/resources")).expect(".port/resources loads")
}

fn mapping() -> PortAppConfig {
    let value = resources().port_app_config.expect("a default mapping");
    PortAppConfig::from_json(&value).expect("the default mapping is valid")
}

fn load(env: &[(&str, &str)]) -> Result<PagerDutyConfig, String> {
    let spec = Spec::load(&dir())
        .expect("spec parses")
        .expect("spec exists");
    let mut vars = vec![
        ("OCEAN__PORT__CLIENT_ID", "id"),
        ("OCEAN__PORT__CLIENT_SECRET", "secret"),
    ];
    vars.extend_from_slice(env);
    let settings = Loader::new(IntegrationInfo::new("pagerduty", "0.1.0"))
        .spec(Some(spec))
        .env(vars)
        .load()
        .map_err(|e| e.to_string())?;
    settings.integration_config().map_err(|e| e.to_string())
}

#[test]
fn token_is_required_and_named_by_its_variable() {
    let err = load(&[]).unwrap_err();
    assert!(err.contains("OCEAN__INTEGRATION__CONFIG__TOKEN"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
}

#[test]
fn spec_defaults_are_the_code_defaults_and_secrets_stay_secret() {
    let config = load(&[("OCEAN__INTEGRATION__CONFIG__TOKEN", "u+abc")]).unwrap();
    assert_eq!(config, PagerDutyConfig::with_token("u+abc"));
    let config = load(&[
        ("OCEAN__INTEGRATION__CONFIG__TOKEN", "u+abc"),
        (
            "OCEAN__INTEGRATION__CONFIG__API_URL",
            "https://api.eu.pagerduty.com/",
        ),
        ("OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET", "whsec"),
        (
            "OCEAN__INTEGRATION__CONFIG__APP_HOST",
            "https://ocean.acme.example",
        ),
    ])
    .unwrap();
    assert_eq!(config.api_url, "https://api.eu.pagerduty.com");
    assert_eq!(config.webhook_secret().map(|s| s.expose()), Some("whsec"));
    assert_eq!(
        config.app_host.as_deref(),
        Some("https://ocean.acme.example")
    );
    let spec = Spec::load(&dir()).unwrap().unwrap();
    let sensitive: Vec<String> = spec
        .configurations
        .iter()
        .filter(|c| c.sensitive)
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(sensitive, ["token", "webhookSecret"]);
    // Port-hosted OAuth installs fill `token` from the grant, as the reference's spec says.
    let oauth = spec
        .saas
        .as_ref()
        .and_then(|s| s.oauth_configuration.clone())
        .expect("saas.oauthConfiguration");
    assert_eq!(
        oauth["requiredSecrets"][0],
        json!({"name": "token", "value": ".oauthData.accessToken",
               "description": "\"Access Token for Pagerduty OAuth2 integration\""})
    );
}

#[test]
fn spec_features_and_mapping_cover_the_special_kinds() {
    let spec = Spec::load(&dir()).unwrap().unwrap();
    let features: BTreeSet<String> = spec.exporter_kinds().unwrap().into_iter().collect();
    let special: BTreeSet<String> = SPECIAL_KINDS.iter().map(|k| (*k).to_owned()).collect();
    assert_eq!(features, special);
    // The reference's default resources: two of incidents (open, resolved), and users.
    let mapped: Vec<String> = mapping().resources.iter().map(|r| r.kind.clone()).collect();
    assert_eq!(
        mapped,
        [
            "services",
            "incidents",
            "incidents",
            "schedules",
            "oncalls",
            "escalation_policies",
            "users"
        ]
    );
    let statuses: Vec<Value> = mapping()
        .resources
        .iter()
        .filter(|r| r.kind == "incidents")
        .map(|r| selector_of(r)["apiQueryParams"]["statuses"].clone())
        .collect();
    assert_eq!(
        statuses,
        [json!(["triggered", "acknowledged"]), json!(["resolved"])]
    );
}

/// The blueprints and mapping are the reference's: same identifiers and property names.
#[test]
fn blueprints_keep_the_reference_identifiers_and_properties() {
    let blueprints = resources().blueprints;
    let shape: BTreeMap<String, (Vec<String>, Vec<String>)> = blueprints
        .iter()
        .map(|b| {
            let keys = |v: &Value| {
                v.as_object()
                    .map(|o| o.keys().cloned().collect())
                    .unwrap_or_default()
            };
            (
                b["identifier"].as_str().unwrap().to_owned(),
                (keys(&b["schema"]["properties"]), keys(&b["relations"])),
            )
        })
        .collect();
    let expected = json!({
        "pagerdutyUser": [["role", "url", "job_title", "contact_methods", "description", "teams",
            "time_zone", "email"], []],
        "pagerdutyService": [["status", "url", "oncall", "secondaryOncall", "escalationLevels",
            "meanSecondsToResolve", "meanSecondsToFirstAck", "meanSecondsToEngage"], []],
        "pagerdutyIncident": [["status", "url", "urgency", "priority", "description", "assignees",
            "escalation_policy", "created_at", "updated_at", "triggered_by"], ["pagerdutyService"]],
        "pagerdutySchedule": [["url", "timezone", "description", "users"], []],
        "pagerdutyOncall": [["url", "user", "startDate", "endDate"],
            ["pagerdutySchedule", "pagerdutyEscalationPolicy"]],
        "pagerdutyEscalationPolicy": [["url", "summary", "primaryOncall", "escalationRules"], []],
    });
    assert_eq!(serde_json::to_value(&shape).unwrap(), expected);
}

fn selector_of(resource: &ocean_mapping::ResourceConfig) -> Value {
    serde_json::to_value(&resource.selector).unwrap()
}

/// Maps what each kind fetches from the fixture server and checks every entity against its
/// blueprint; returns the entities by blueprint.
async fn map_default(server: &wiremock::MockServer) -> BTreeMap<String, Vec<Value>> {
    let blueprints = resources().blueprints;
    let pd = integration(server);
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for resource in &mapping().resources {
        let raw = items(&pd, &resource.kind, selector_of(resource)).await;
        assert!(!raw.is_empty(), "kind {}", resource.kind);
        let compiled = CompiledResource::compile(resource, &EngineOptions::default());
        assert!(
            compiled.compile_problems().is_empty(),
            "{:?}",
            compiled.compile_problems()
        );
        let outcome = compiled.map_values(&raw, false);
        assert!(outcome.selector_errors.is_empty() && outcome.batch_error.is_none());
        assert_eq!(outcome.skipped, 0, "kind {}", resource.kind);
        assert!(
            outcome.misconfigured.is_empty(),
            "kind {}: misconfigured {:?}",
            resource.kind,
            outcome.misconfigured
        );
        assert_eq!(outcome.entities.len(), raw.len(), "kind {}", resource.kind);
        for entity in outcome.entities {
            let entity = serde_json::to_value(&entity).unwrap();
            let bp_id = ocean::testing::assert_declared(&entity, &blueprints);
            // The fixture ignores `statuses[]`: both incidents resources see every incident;
            // the first resource's entity is kept.
            let same = out.entry(bp_id).or_default();
            if !same.iter().any(|e| e["identifier"] == entity["identifier"]) {
                same.push(entity);
            }
        }
    }
    out
}

fn find<'a>(entities: &'a BTreeMap<String, Vec<Value>>, bp: &str, id: &str) -> &'a Value {
    entities[bp]
        .iter()
        .find(|e| e["identifier"] == id)
        .unwrap_or_else(|| panic!("no {bp} {id}"))
}

#[tokio::test]
async fn the_default_mapping_maps_every_field_of_the_fixtures() {
    let server = pagerduty().await;
    let entities = map_default(&server).await;
    let counts: BTreeMap<&str, usize> = entities
        .iter()
        .map(|(k, v)| (k.as_str(), v.len()))
        .collect();
    assert_eq!(
        serde_json::to_value(counts).unwrap(),
        json!({"pagerdutyEscalationPolicy": 2, "pagerdutyIncident": 3, "pagerdutyOncall": 4,
               "pagerdutySchedule": 2, "pagerdutyService": 3, "pagerdutyUser": 4})
    );

    let api = find(&entities, "pagerdutyService", "PSV1API");
    assert_eq!(api["title"], "Public API");
    assert_eq!(
        api["properties"],
        json!({"status": "active", "url": "https://acme-corp.pagerduty.com/service-directory/PSV1API",
               "oncall": "anna.lindqvist@acme.example", "secondaryOncall": "chloe.martin@acme.example",
               "escalationLevels": 2, "meanSecondsToResolve": 3120, "meanSecondsToFirstAck": 240,
               "meanSecondsToEngage": 300})
    );

    let checkout = find(&entities, "pagerdutyIncident", "Q2BBB");
    assert_eq!(checkout["title"], "Checkout error rate at 4%");
    assert_eq!(
        checkout["relations"],
        json!({"pagerdutyService": "PSV2CHK"})
    );
    assert_eq!(
        checkout["properties"],
        json!({"status": "acknowledged", "url": "https://acme-corp.pagerduty.com/incidents/Q2BBB",
               "urgency": "high", "assignees": ["dev.raman@acme.example", "ben.okafor@acme.example"],
               "escalation_policy": "Payments Escalation", "created_at": "2024-05-01T09:15:00Z",
               "updated_at": "2024-05-01T09:17:42Z", "priority": "P2",
               "description": "Checkout error rate at 4%", "triggered_by": "Ben Okafor"})
    );

    let anna = find(&entities, "pagerdutyUser", "PU1ANNA");
    assert_eq!(anna["title"], "Anna Lindqvist");
    assert_eq!(anna["properties"]["email"], "anna.lindqvist@acme.example");
    assert_eq!(anna["properties"]["teams"], json!(["Core Platform"]));
    assert_eq!(anna["properties"]["job_title"], "Staff SRE");

    let core = find(&entities, "pagerdutySchedule", "PSC1CORE");
    assert_eq!(
        core["properties"]["users"],
        json!(["anna.lindqvist@acme.example", "chloe.martin@acme.example"])
    );
    assert_eq!(core["properties"]["timezone"], "Europe/Stockholm");

    let shift = find(
        &entities,
        "pagerdutyOncall",
        "PU4DEV-PSC2PAY-2024-05-01T06:00:00Z",
    );
    assert_eq!(shift["title"], "Dev Raman");
    assert_eq!(
        shift["relations"],
        json!({"pagerdutySchedule": "PSC2PAY", "pagerdutyEscalationPolicy": "PEP2PAY"})
    );
    assert_eq!(shift["properties"]["user"], "dev.raman@acme.example");

    let policy = find(&entities, "pagerdutyEscalationPolicy", "PEP2PAY");
    assert_eq!(
        policy["properties"]["primaryOncall"],
        "dev.raman@acme.example"
    );
    assert_eq!(policy["properties"]["summary"], "Payments Escalation");
    assert_eq!(
        policy["properties"]["escalationRules"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// `.port/examples/<kind>.json` holds sample items (as the integration fetches them, enrichments
/// included) of every kind of the default mapping, and they map cleanly. Rewritten from the
/// fixture with `OCEAN_PAGERDUTY_WRITE_EXAMPLES=1`.
#[tokio::test]
async fn every_default_kind_has_examples_that_map_cleanly() {
    let blueprints = resources().blueprints;
    let examples = dir().join(".port/examples");
    if std::env::var_os("OCEAN_PAGERDUTY_WRITE_EXAMPLES").is_some() {
        let server = pagerduty().await;
        let pd = integration(&server);
        std::fs::create_dir_all(&examples).unwrap();
        for resource in &mapping().resources {
            let raw = items(&pd, &resource.kind, selector_of(resource)).await;
            let text = serde_json::to_string_pretty(&raw[..raw.len().min(2)]).unwrap();
            std::fs::write(
                examples.join(format!("{}.json", resource.kind)),
                text + "\n",
            )
            .unwrap();
        }
    }
    for resource in &mapping().resources {
        let file = examples.join(format!("{}.json", resource.kind));
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let raw: Vec<Value> = serde_json::from_str(&text).unwrap();
        assert!(!raw.is_empty(), "{}", file.display());
        let compiled = CompiledResource::compile(resource, &EngineOptions::default());
        let outcome = compiled.map_values(&raw, false);
        assert!(
            outcome.misconfigured.is_empty() && outcome.skipped == 0,
            "{}: {:?}",
            file.display(),
            outcome.misconfigured
        );
        for entity in &outcome.entities {
            ocean::testing::assert_declared(&serde_json::to_value(entity).unwrap(), &blueprints);
        }
    }
}
