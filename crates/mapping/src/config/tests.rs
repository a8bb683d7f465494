use super::*;
use serde_json::json;

const BASE: &str = r#"
resources:
  - kind: repo
    selector:
      query: .archived == false
    port:
      entity:
        mappings:
          identifier: .name
          blueprint: '"service"'
"#;

fn load(yaml: &str) -> Result<PortAppConfig, ConfigError> {
    PortAppConfig::from_yaml_str(yaml, "port-app-config.yml")
}

/// The base resource with `extra` appended under `mappings:` (10 spaces of indentation).
fn with_mapping(extra: &str) -> String {
    let indented: String = extra.lines().map(|l| format!("          {l}\n")).collect();
    format!("{BASE}{indented}")
}

fn rejected(yaml: &str, path: &str) {
    match load(yaml) {
        Err(ConfigError::Invalid { path: p, .. }) => assert_eq!(p, path, "{yaml}"),
        other => panic!("expected a rejection at {path}, got {other:?}"),
    }
}

#[test]
fn defaults_and_request_form() {
    let c = load(BASE).unwrap();
    assert!(
        c.delete_dependent_entities && c.create_missing_related_entities && c.enable_merge_entity
    );
    assert_eq!(c.entity_deletion_threshold, 0.9);
    let r = &c.resources[0];
    assert!(r.enable_delete());
    assert_eq!(r.port.items_to_parse_name(), "item");
    assert!(r.port.items_to_parse_top_level_transform());
    assert_eq!(
        c.to_request(),
        json!({
            "deleteDependentEntities": true,
            "createMissingRelatedEntities": true,
            "enableMergeEntity": true,
            "entityDeletionThreshold": 0.9,
            "resources": [{
                "kind": "repo",
                "selector": {"query": ".archived == false"},
                "port": {"entity": {"mappings": {"identifier": ".name", "blueprint": "\"service\""}}}
            }]
        })
    );
}

#[test]
fn scalars_are_coerced_with_python_str() {
    let c = load(&with_mapping(
        "title: 42\nicon: true\nproperties:\n  n: 10\n  r: 0.5\n  b: false\n  1: .x",
    ))
    .unwrap();
    let m = &c.resources[0].port.entity.mappings;
    assert_eq!(m.title, Some(Some("42".into())));
    assert_eq!(m.icon, Some(Some("True".into())));
    let props = m.properties.as_ref().unwrap();
    assert_eq!(props[0], ("n".into(), "10".into()));
    assert_eq!(props[1], ("r".into(), "0.5".into()));
    assert_eq!(props[2], ("b".into(), "False".into()));
    assert_eq!(props[3], ("1".into(), ".x".into()));
}

#[test]
fn nulls_are_accepted_only_for_title_icon_and_team() {
    let c = load(&with_mapping("title: null\nicon: ~\nteam:")).unwrap();
    let m = &c.resources[0].port.entity.mappings;
    assert_eq!(
        (m.title.clone(), m.icon.clone(), m.team.clone()),
        (Some(None), Some(None), Some(None))
    );
    rejected(
        &with_mapping("properties:\n  x: null"),
        "resources[0].port.entity.mappings.properties.x",
    );
    rejected(
        &with_mapping("relations:\n  x: null"),
        "resources[0].port.entity.mappings.relations.x",
    );
    rejected(
        &BASE.replace("identifier: .name", "identifier: null"),
        "resources[0].port.entity.mappings.identifier",
    );
}

#[test]
fn lists_where_strings_are_expected_are_rejected() {
    rejected(
        &with_mapping("properties:\n  x: [.a]"),
        "resources[0].port.entity.mappings.properties.x",
    );
    rejected(
        &with_mapping("relations:\n  x: [.a]"),
        "resources[0].port.entity.mappings.relations.x",
    );
    rejected(
        &with_mapping("title: [.a]"),
        "resources[0].port.entity.mappings.title",
    );
}

#[test]
fn required_keys_reject_the_whole_config() {
    rejected(
        &BASE.replace("    selector:\n      query: .archived == false\n", ""),
        "resources[0].selector",
    );
    rejected(
        &BASE.replace("      query: .archived == false\n", "      other: 1\n"),
        "resources[0].selector.query",
    );
    rejected(
        &BASE.replace("          blueprint: '\"service\"'\n", ""),
        "resources[0].port.entity.mappings.blueprint",
    );
    rejected(
        &BASE.replace("  - kind: repo\n", "  - kinds: repo\n"),
        "resources[0].kind",
    );
}

#[test]
fn unknown_keys_are_ignored_but_selector_and_top_level_extras_are_kept() {
    let yaml = BASE
        .replace("resources:", "someFlag: 1\nresources:")
        .replace(
            "      query: .archived == false\n",
            "      query: 'true'\n      includeForks: true\n",
        )
        .replace(
            "          identifier: .name\n",
            "          identifier: .name\n          description: .d\n",
        );
    let c = load(&yaml).unwrap();
    assert_eq!(
        c.resources[0].selector.extra.get("includeForks"),
        Some(&json!(true))
    );
    assert_eq!(
        c.to_request()["resources"][0]["selector"],
        json!({"query": "true", "includeForks": true})
    );
    // Integration options next to `resources` (GitHub's `repositoryType`) are kept, and sent.
    assert_eq!(c.extra.get("someFlag"), Some(&json!(1)));
    assert_eq!(c.to_request()["someFlag"], json!(1));
    assert!(
        c.to_request()["resources"][0]["port"]["entity"]["mappings"]
            .get("description")
            .is_none()
    );
}

#[test]
fn enable_delete_is_a_strict_boolean() {
    let with = |v: &str| {
        BASE.replace(
            "  - kind: repo\n",
            &format!("  - kind: repo\n    enableDelete: {v}\n"),
        )
    };
    assert_eq!(
        load(&with("false")).unwrap().resources[0].enable_delete,
        Some(false)
    );
    assert_eq!(
        load(&with("false")).unwrap().to_request()["resources"][0]["enableDelete"],
        json!(false)
    );
    for bad in ["'false'", "0", "null"] {
        rejected(&with(bad), "resources[0].enableDelete");
    }
}

#[test]
fn deletion_threshold_is_within_zero_and_one() {
    assert_eq!(
        load(&format!("entityDeletionThreshold: 0\n{BASE}"))
            .unwrap()
            .entity_deletion_threshold,
        0.0
    );
    assert_eq!(
        load(&format!("entityDeletionThreshold: '0.5'\n{BASE}"))
            .unwrap()
            .entity_deletion_threshold,
        0.5
    );
    rejected(
        &format!("entityDeletionThreshold: 1.5\n{BASE}"),
        "entityDeletionThreshold",
    );
    rejected(
        &format!("entityDeletionThreshold: -0.1\n{BASE}"),
        "entityDeletionThreshold",
    );
    rejected(
        &format!("entityDeletionThreshold: .nan\n{BASE}"),
        "entityDeletionThreshold",
    );
}

#[test]
fn booleans_accept_pydantic_spellings() {
    let c = load(&format!(
        "enableMergeEntity: 'no'\ndeleteDependentEntities: 0\n{BASE}"
    ))
    .unwrap();
    assert!(!c.enable_merge_entity && !c.delete_dependent_entities);
    rejected(
        &format!("enableMergeEntity: 2\n{BASE}"),
        "enableMergeEntity",
    );
}

#[test]
fn search_queries_validate_rules_then_groups() {
    let c = load(&with_mapping(
        "relations:\n  owner:\n    combinator: '\"and\"'\n    rules:\n      - property: '\"a\"'\n        operator: '\"=\"'\n        value: 5\n      - combinator: '\"or\"'\n        rules: []",
    ))
    .unwrap();
    let rels = c.resources[0]
        .port
        .entity
        .mappings
        .relations
        .as_ref()
        .unwrap();
    let MappingValue::Query(q) = &rels[0].1 else {
        panic!()
    };
    assert_eq!(q.rules.len(), 2);
    assert!(matches!(&q.rules[0], SearchRule::Rule { value, .. } if value == "5"));
    assert!(matches!(&q.rules[1], SearchRule::Query(_)));
    rejected(
        &with_mapping(
            "relations:\n  owner:\n    combinator: '\"and\"'\n    rules:\n      - property: '\"a\"'\n        value: .x",
        ),
        "resources[0].port.entity.mappings.relations.owner.rules[0].operator",
    );
}

#[test]
fn errors_name_file_path_and_line() {
    let err = load(&BASE.replace("          blueprint: '\"service\"'\n", "")).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("port-app-config.yml: resources[0].port.entity.mappings.blueprint (line "),
        "{text}"
    );
    let yaml_err = load("resources: [\n  - a").unwrap_err();
    assert!(matches!(yaml_err, ConfigError::Yaml { .. }), "{yaml_err:?}");
    assert!(load("resources: {}").is_err());
    assert!(load("").is_err());
}

#[test]
fn json_configs_load_the_same_way() {
    let v = json!({"resources": [{"kind": "x", "selector": {"query": true}, "port": {"entity": {"mappings": {"identifier": 10, "blueprint": "\"b\""}}}}]});
    let c = PortAppConfig::from_json(&v).unwrap();
    assert_eq!(c.resources[0].selector.query, "True");
    assert_eq!(
        c.resources[0].port.entity.mappings.identifier,
        MappingValue::Expr("10".into())
    );
    assert_eq!(
        PortAppConfig::from_json(&Value::Null).unwrap(),
        PortAppConfig::default()
    );
    assert_eq!(
        PortAppConfig::from_json(&json!({})).unwrap(),
        PortAppConfig::default()
    );
}
