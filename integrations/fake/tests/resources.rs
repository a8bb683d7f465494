//! The `.port` folder agrees with the code and with the benchmark workload: the spec's defaults
//! are [`FakeConfig::default`], every kind is mapped, the default mapping maps generated records
//! into properties and relations its blueprints declare, and the `item` resource and the
//! `benchItem`/`benchGroup` blueprints are exactly the benchmark's.

use ocean_config::{IntegrationInfo, Loader, PortResources, Spec};
use ocean_fake::{Fake, FakeConfig, KINDS};
use ocean_mapping::{CompiledResource, EngineOptions, PortAppConfig};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The benchmark workload's resources, kept beside the tests (`tests/bench-workload/`).
fn bench_resources() -> PathBuf {
    let bench = dir().join("tests/bench-workload/resources");
    assert!(bench.is_dir(), "{} does not exist", bench.display());
    bench
}

fn resources() -> PortResources {
    PortResources::load_dir(&dir().join(".port/resources")).expect(".port/resources loads")
}

fn mapping() -> PortAppConfig {
    let value = resources().port_app_config.expect("a default mapping");
    PortAppConfig::from_json(&value).expect("the default mapping is valid")
}

fn load(env: &[(&str, &str)]) -> FakeConfig {
    let spec = Spec::load(&dir())
        .expect("spec parses")
        .expect("spec exists");
    let mut vars = vec![
        ("OCEAN__PORT__CLIENT_ID", "id"),
        ("OCEAN__PORT__CLIENT_SECRET", "secret"),
    ];
    vars.extend_from_slice(env);
    Loader::new(IntegrationInfo::new("fake", "0.1.0"))
        .spec(Some(spec))
        .env(vars)
        .load()
        .expect("settings load")
        .integration_config()
        .expect("the integration config fits FakeConfig")
}

#[test]
fn spec_defaults_are_the_code_defaults() {
    assert_eq!(load(&[]), FakeConfig::default());
}

#[test]
fn item_count_and_revision_come_from_their_environment_variables() {
    let config = load(&[
        ("OCEAN__INTEGRATION__CONFIG__ITEM_COUNT", "2500"),
        ("OCEAN__INTEGRATION__CONFIG__ITEM_REVISION", "1"),
        ("OCEAN__INTEGRATION__CONFIG__TEAM_COUNT", "2"),
    ]);
    assert_eq!(
        config,
        FakeConfig {
            item_count: 2500,
            item_revision: 1,
            team_count: 2,
            ..FakeConfig::default()
        }
    );
}

#[test]
fn spec_features_and_mapping_cover_every_kind() {
    let spec = Spec::load(&dir()).unwrap().unwrap();
    assert_eq!(spec.exporter_kinds().unwrap(), KINDS);
    let mapping = mapping();
    let mapped: Vec<&str> = mapping.resources.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(mapped, KINDS);
}

/// Maps the first records of every kind with the default mapping and checks each entity against
/// its blueprint: known blueprint, known properties and relations, relation targets that exist.
#[test]
fn the_default_mapping_fits_the_blueprints() {
    let blueprints = resources().blueprints;
    let blueprint = |id: &str| -> &Value {
        blueprints
            .iter()
            .find(|b| b["identifier"] == id)
            .unwrap_or_else(|| panic!("no blueprint {id}"))
    };
    let fake = Fake::new(FakeConfig::default());
    let mut seen_blueprints = BTreeSet::new();
    for resource in &mapping().resources {
        let compiled = CompiledResource::compile(resource, &EngineOptions::default());
        assert!(
            compiled.compile_problems().is_empty(),
            "{:?}",
            compiled.compile_problems()
        );
        let page = futures::executor::block_on(futures::StreamExt::next(
            &mut fake.pages(&resource.kind).unwrap(),
        ))
        .unwrap()
        .unwrap();
        let outcome = compiled.map_values(&page, false);
        assert!(outcome.selector_errors.is_empty() && outcome.batch_error.is_none());
        assert_eq!(outcome.skipped, 0);
        let expected = if resource.kind == "item" {
            90
        } else {
            page.len()
        };
        assert_eq!(outcome.entities.len(), expected, "kind {}", resource.kind);
        // Only fields that are null in some records by design may evaluate to null.
        for field in outcome.misconfigured.keys() {
            assert!(
                [
                    "properties.description",
                    "relations.rollbackOf",
                    "relations.parent"
                ]
                .contains(&field.as_str()),
                "kind {}: {field} evaluated to null",
                resource.kind
            );
        }
        for entity in &outcome.entities {
            let id = entity.blueprint.as_str().unwrap();
            seen_blueprints.insert(id.to_owned());
            let bp = blueprint(id);
            let schema = &bp["schema"]["properties"];
            for (name, value) in entity.properties.iter().flatten() {
                let declared = &schema[name];
                assert!(declared.is_object(), "{id} has no property {name}");
                if let Some(allowed) = declared["enum"].as_array() {
                    assert!(
                        value.is_null() || allowed.contains(value),
                        "{id}.{name} = {value}"
                    );
                }
            }
            for required in bp["schema"]["required"].as_array().unwrap() {
                let name = required.as_str().unwrap();
                assert!(
                    !entity.properties.as_ref().unwrap()[name].is_null(),
                    "{id}.{name}"
                );
            }
            for (name, _) in entity.relations.iter().flatten() {
                let target = bp["relations"][name]["target"].as_str();
                let target = target.unwrap_or_else(|| panic!("{id} has no relation {name}"));
                blueprint(target);
            }
        }
    }
    assert_eq!(
        seen_blueprints,
        ["benchItem", "fakeDeployment", "fakeService", "fakeTeam"]
            .map(String::from)
            .into()
    );
}

fn read_yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

#[test]
fn the_item_resource_and_its_blueprints_are_the_benchmarks() {
    let bench = bench_resources();
    let ours = read_yaml(&dir().join(".port/resources/port-app-config.yml"));
    let theirs = read_yaml(&bench.join("port-app-config.yml"));
    for flag in [
        "deleteDependentEntities",
        "createMissingRelatedEntities",
        "enableMergeEntity",
    ] {
        assert_eq!(ours[flag], theirs[flag], "{flag}");
    }
    let item = |config: &Value| -> Value {
        let found: Vec<&Value> = config["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["kind"] == "item")
            .collect();
        assert_eq!(found.len(), 1);
        found[0].clone()
    };
    assert_eq!(item(&ours), item(&theirs));

    let bench_blueprints: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(bench.join("blueprints.json")).unwrap())
            .unwrap();
    let ours = resources().blueprints;
    for wanted in &bench_blueprints {
        let id = &wanted["identifier"];
        let found = ours.iter().find(|b| &b["identifier"] == id);
        assert_eq!(found, Some(wanted), "blueprint {id}");
    }
    assert_eq!(bench_blueprints.len(), 2, "{}", json!(bench_blueprints));
}

#[test]
fn the_example_config_yaml_loads_and_the_environment_wins() {
    let spec = Spec::load(&dir()).unwrap();
    let base = [("PORT_CLIENT_ID", "id"), ("PORT_CLIENT_SECRET", "secret")];
    let load = |extra: &[(&str, &str)]| -> FakeConfig {
        let vars = base.iter().chain(extra).copied();
        Loader::new(IntegrationInfo::new("fake", "0.1.0"))
            .cwd(dir())
            .spec(spec.clone())
            .env(vars)
            .load()
            .expect("config.yaml loads with its providers set")
            .integration_config()
            .unwrap()
    };
    assert_eq!(load(&[]), FakeConfig::default());
    assert_eq!(
        load(&[("OCEAN__INTEGRATION__CONFIG__ITEM_COUNT", "100000")]).item_count,
        100_000
    );
}
