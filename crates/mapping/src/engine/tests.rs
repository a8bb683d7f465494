use super::*;
use crate::config::PortAppConfig;
use serde_json::json;

/// Compiles the single resource of `yaml` (a list of one resource) with `options`.
fn resource_with(yaml: &str, options: &EngineOptions) -> CompiledResource {
    let config = PortAppConfig::from_yaml_str(&format!("resources:\n{yaml}"), "test.yml")
        .expect("valid config");
    CompiledResource::compile(&config.resources[0], options)
}

fn resource(yaml: &str) -> CompiledResource {
    resource_with(yaml, &EngineOptions::default())
}

fn mapping(selector: &str, mappings: &str) -> String {
    let body: String = mappings
        .lines()
        .map(|l| format!("          {l}\n"))
        .collect();
    format!(
        "  - kind: thing\n    selector:\n      query: '{selector}'\n    port:\n      entity:\n        mappings:\n{body}"
    )
}

fn entities(out: &BatchOutcome) -> Value {
    serde_json::to_value(&out.entities).unwrap()
}

fn run(r: &CompiledResource, items: Value) -> BatchOutcome {
    r.map_values(items.as_array().unwrap(), false)
}

#[test]
fn maps_fields_keeping_types_and_first_outputs() {
    let r = resource(&mapping(
        "true",
        "identifier: .code\ntitle: .labels[]\nblueprint: '\"gadget\"'\nproperties:\n  weight: .kg * 1000\n  tags: .labels\n  none: .labels[] | select(. == \"zz\")",
    ));
    let out = run(&r, json!([{"code": 17, "labels": ["x", "y"], "kg": 1.5}]));
    assert_eq!(
        entities(&out),
        json!([{"identifier": 17, "blueprint": "gadget", "title": "x",
                "properties": {"weight": 1500, "tags": ["x", "y"], "none": null}}])
    );
    assert_eq!(
        out.misconfigured,
        IndexMap::from([(
            "properties.none".to_owned(),
            Some(".labels[] | select(. == \"zz\")".to_owned())
        )])
    );
}

#[test]
fn selector_must_give_a_boolean() {
    let r = resource(&mapping(
        ".active",
        "identifier: .id\nblueprint: '\"b\"'\nproperties:\n  p: .missing",
    ));
    let out = run(
        &r,
        json!([{"id": "a", "active": true}, {"id": "b", "active": false}, {"id": "c"}, {"id": "d", "active": "yes"}]),
    );
    assert_eq!(
        entities(&out),
        json!([{"identifier": "a", "blueprint": "b", "properties": {"p": null}}])
    );
    assert_eq!(out.selector_dropped, 1);
    assert_eq!(
        out.selector_errors
            .iter()
            .map(|e| e.item)
            .collect::<Vec<_>>(),
        [2, 3]
    );
    assert!(
        out.selector_errors[0]
            .message
            .contains("Expected boolean value"),
        "{:?}",
        out.selector_errors
    );
    // Only the item that passed contributes misconfigurations.
    assert_eq!(out.misconfigured.len(), 1);
}

#[test]
fn selector_errors_and_non_compiling_selectors_are_per_item_errors() {
    let r = resource(&mapping(
        ".n | tonumber > 1",
        "identifier: .id\nblueprint: '\"b\"'",
    ));
    let out = run(&r, json!([{"id": "a", "n": "5"}, {"id": "b", "n": "five"}]));
    assert_eq!(out.entities.len(), 1);
    assert_eq!(out.selector_errors.len(), 1);
    let broken = resource(&mapping(".n | | x", "identifier: .id\nblueprint: '\"b\"'"));
    assert_eq!(broken.compile_problems()[0].field, "selector.query");
    assert_eq!(run(&broken, json!([{"id": "a"}])).selector_errors.len(), 1);
}

#[test]
fn live_event_mode_returns_entities_failing_the_selector() {
    let r = resource(&mapping(".open", "identifier: .id\nblueprint: '\"b\"'"));
    let out = r.map_values(
        json!([{"id": "a", "open": true}, {"id": "b", "open": false}])
            .as_array()
            .unwrap(),
        true,
    );
    assert_eq!(
        entities(&out),
        json!([{"identifier": "a", "blueprint": "b"}])
    );
    assert_eq!(
        serde_json::to_value(&out.failed_selector_entities).unwrap(),
        json!([{"identifier": "b", "blueprint": "b"}])
    );
}

#[test]
fn falsy_identifiers_or_blueprints_skip_the_item() {
    let r = resource(&mapping("true", "identifier: .id\nblueprint: .bp"));
    let out = run(
        &r,
        json!([
            {"id": "", "bp": "b"}, {"id": 0, "bp": "b"}, {"id": 0.0, "bp": "b"}, {"id": [], "bp": "b"},
            {"id": {}, "bp": "b"}, {"id": false, "bp": "b"}, {"id": null, "bp": "b"}, {"id": "ok", "bp": ""},
            {"id": " ", "bp": true}, {"id": [1], "bp": 3}
        ]),
    );
    assert_eq!(out.skipped, 8);
    assert_eq!(
        entities(&out),
        json!([{"identifier": " ", "blueprint": true}, {"identifier": [1], "blueprint": 3}])
    );
    // Only null is reported, and the skipped items still report.
    assert_eq!(out.misconfigured.keys().collect::<Vec<_>>(), ["identifier"]);
}

#[test]
fn errors_and_compile_errors_give_null_and_are_reported_with_the_field() {
    let r = resource(&mapping(
        "true",
        "identifier: .id\nblueprint: '\"b\"'\nproperties:\n  bad: .id | tonumber\n  syntax: .id | | x\n  unknown: .id | frobnicate",
    ));
    let out = run(&r, json!([{"id": "a"}]));
    assert_eq!(
        entities(&out)[0]["properties"],
        json!({"bad": null, "syntax": null, "unknown": null})
    );
    assert_eq!(out.misconfigured.len(), 3);
    let problems = r.compile_problems();
    assert_eq!(problems.len(), 2);
    assert_eq!(problems[0].field, "port.entity.mappings.properties.syntax");
    assert_eq!(problems[0].expression, ".id | | x");
    assert!(
        problems[1].message.contains("frobnicate/0 is not defined"),
        "{}",
        problems[1]
    );
    assert!(problems[1].to_string().contains("kind 'thing'"));
}

#[test]
fn search_queries_evaluate_every_leaf_and_report_paths_without_indexes() {
    let r = resource(&mapping(
        "true",
        "identifier: .id\nblueprint: '\"b\"'\nrelations:\n  svc:\n    combinator: '\"and\"'\n    rules:\n      - property: '\"$identifier\"'\n        operator: '\"=\"'\n        value: .svc\n      - combinator: or\n        rules:\n          - property: '\"x\"'\n            operator: '\"in\"'\n            value: '[.a, .b]'",
    ));
    let out = run(&r, json!([{"id": "i", "a": 1}]));
    assert_eq!(
        entities(&out)[0]["relations"]["svc"],
        json!({"combinator": "and", "rules": [
            {"property": "$identifier", "operator": "=", "value": null},
            {"combinator": null, "rules": [{"property": "x", "operator": "in", "value": [1, null]}]}]})
    );
    assert_eq!(
        out.misconfigured.keys().cloned().collect::<Vec<_>>(),
        [
            "relations.svc.rules.value",
            "relations.svc.rules.combinator"
        ]
    );
}

#[test]
fn yaml_null_fields_are_sent_as_null_and_reported_without_expression() {
    let r = resource(&mapping(
        "true",
        "identifier: .id\nblueprint: '\"b\"'\ntitle: null\nteam: null",
    ));
    let out = run(&r, json!([{"id": "a"}]));
    assert_eq!(
        entities(&out),
        json!([{"identifier": "a", "blueprint": "b", "title": null, "team": null}])
    );
    assert_eq!(out.misconfigured.get("title"), Some(&None));
}

#[test]
fn icon_and_team_are_coerced_and_a_list_icon_fails_the_batch() {
    let r = resource(&mapping(
        "true",
        "identifier: .id\nblueprint: '\"b\"'\nicon: .icon\nteam: .team",
    ));
    let out = run(
        &r,
        json!([{"id": "a", "icon": 7, "team": false}, {"id": "b", "icon": 2.5, "team": ["t"]}, {"id": "c", "icon": true, "team": 1e20}]),
    );
    assert_eq!(
        entities(&out),
        json!([{"identifier": "a", "blueprint": "b", "icon": "7", "team": "False"},
               {"identifier": "b", "blueprint": "b", "icon": "2.5", "team": ["t"]},
               {"identifier": "c", "blueprint": "b", "icon": "True", "team": "100000000000000000000"}])
    );
    let bad = run(
        &r,
        json!([{"id": "a", "icon": "ok"}, {"id": "b", "icon": ["x"]}]),
    );
    assert!(bad.batch_error.is_some() && bad.entities.is_empty());
}

#[test]
fn numbers_come_back_as_the_jq_binding_returns_them() {
    let r = resource(&mapping(
        "true",
        "identifier: .id\nblueprint: '\"b\"'\nproperties:\n  half: .n / 2\n  whole: .f\n  big: .big\n  nan: nan\n  inf: infinite\n  text: .f | tostring",
    ));
    let out = r.map_items(
        &crate::jq::read::Reader::new()
            .parse_array(br#"[{"id":"a","n":4,"f":3.0,"big":12345678901234567890}]"#)
            .unwrap(),
        false,
    );
    let props = &entities(&out)[0]["properties"];
    assert_eq!(props["half"], json!(2));
    assert_eq!(props["whole"], json!(3));
    assert_eq!(props["big"], json!(12345678901234567168u64));
    assert_eq!(props["nan"], json!(null));
    assert_eq!(props["inf"], json!(f64::MAX));
    assert_eq!(props["text"], json!("3.0"));
}

#[test]
fn environment_access_follows_the_option() {
    let yaml = mapping(
        "true",
        "identifier: .id\nblueprint: '\"b\"'\nproperties:\n  a: env.OCEAN_TEST_REGION\n  b: $ENV.OCEAN_TEST_REGION",
    );
    let vars = [("OCEAN_TEST_REGION".to_owned(), "eu".to_owned())];
    let on = resource_with(&yaml, &EngineOptions::with_env(vars.clone()));
    assert_eq!(
        entities(&run(&on, json!([{"id": "x"}])))[0]["properties"],
        json!({"a": "eu", "b": "eu"})
    );
    let off = resource_with(
        &yaml,
        &EngineOptions {
            allow_env_access: false,
            ..EngineOptions::with_env(vars)
        },
    );
    assert_eq!(
        entities(&run(&off, json!([{"id": "x"}])))[0]["properties"],
        json!({"a": null, "b": null})
    );
}

#[test]
fn single_quotes_are_rewritten_before_compiling() {
    let r = resource(&mapping(
        "true",
        "identifier: .org + '/' + .repo\nblueprint: \"'repo'\"\ntitle: .repo | test('^o')",
    ));
    let out = run(&r, json!([{"org": "port", "repo": "ocean"}]));
    assert_eq!(
        entities(&out),
        json!([{"identifier": "port/ocean", "blueprint": "repo", "title": null}])
    );
}

fn itp(extra: &str) -> String {
    format!(
        "  - kind: repo\n    selector:\n      query: 'true'\n    port:\n{extra}      entity:\n        mappings:\n          identifier: .name + \":\" + (.item.id | tostring)\n          blueprint: '\"pr\"'\n          properties:\n            rest: .pulls\n"
    )
}

#[test]
fn items_to_parse_expands_deletes_and_names() {
    let r = resource(&itp("      itemsToParse: .pulls\n"));
    let parents = vec![crate::jq::read::from_json(
        &json!({"name": "o", "pulls": [{"id": 1}, {"id": 2}]}),
    )];
    let exp = r.expand_items_to_parse(parents);
    assert_eq!(exp.batches.len(), 1);
    let out = r.map_items(&exp.batches[0], false);
    assert_eq!(
        entities(&out),
        json!([{"identifier": "o:1", "blueprint": "pr", "properties": {"rest": null}},
               {"identifier": "o:2", "blueprint": "pr", "properties": {"rest": null}}])
    );
    let named = resource(&itp(
        "      itemsToParse: .pulls\n      itemsToParseName: pr\n      itemsToParseTopLevelTransform: false\n",
    ));
    let exp = named.expand_items_to_parse(vec![crate::jq::read::from_json(
        &json!({"name": "o", "pulls": [{"id": 1}]}),
    )]);
    let Val::Obj(child) = &exp.batches[0][0] else {
        panic!()
    };
    assert!(child.contains_key("pr") && child.contains_key("pulls") && !child.contains_key("item"));
}

#[test]
fn items_to_parse_skips_non_lists_and_unpathable_expressions_and_chunks() {
    let r = resource(&itp("      itemsToParse: .pulls\n"));
    let exp = r.expand_items_to_parse(vec![
        crate::jq::read::from_json(&json!({"name": "a", "pulls": "nope"})),
        crate::jq::read::from_json(&json!({"name": "b"})),
    ]);
    assert!(exp.batches.is_empty());
    assert_eq!(exp.skipped_parents.len(), 2);
    let unpathable = resource(&itp("      itemsToParse: '[.a, .b]'\n"));
    let exp = unpathable
        .expand_items_to_parse(vec![crate::jq::read::from_json(&json!({"a": 1, "b": 2}))]);
    assert!(exp.batches.is_empty());
    assert!(exp.skipped_parents[0].reason.contains("del(.)"));
    let small = resource_with(
        &itp("      itemsToParse: .pulls\n"),
        &EngineOptions {
            items_to_parse_batch_size: 2,
            ..EngineOptions::default()
        },
    );
    let pulls: Vec<Value> = (0..5).map(|i| json!({"id": i})).collect();
    let exp = small.expand_items_to_parse(vec![crate::jq::read::from_json(
        &json!({"name": "c", "pulls": pulls}),
    )]);
    assert_eq!(
        exp.batches.iter().map(Vec::len).collect::<Vec<_>>(),
        [2, 2, 1]
    );
}

#[test]
fn deletion_paths_follow_oceans_heuristic() {
    let check = |e: &str, p: Option<&str>| assert_eq!(deletion_path(e).as_deref(), p, "{e}");
    check(".files", Some(".files"));
    check("  .data.list ", Some(".data.list"));
    check(".files | map(select(.s > 2))", Some(".files"));
    check(". as $r | .a.b // []", Some(".a.b"));
    check("(.x.y | .[0])", Some(".x.y"));
    check(".[\"k\"][0]", Some(".[\"k\"][0]"));
    check("$items | .a", Some(".a"));
    check("[.a[], .b[]]", None);
    check(".", None);
    check("(.a", None);
}

#[test]
fn python_round_trip_normalises_numbers() {
    let v = crate::jq::read::Reader::new()
        .parse(br#"[1.0, 12345678901234567890, 2.5, 1e300]"#)
        .unwrap();
    assert_eq!(
        python_round_trip(&v).to_json(),
        format!(
            "[1,12345678901234567168,2.5,{}]",
            num::exact_integer_string(1e300)
        )
    );
}

#[test]
fn lifecycle_entry_points_expand_and_parse_bytes() {
    let r = resource(&itp(
        "      itemsToParse: .pulls\n      itemsToParseName: item\n",
    ));
    let (outcomes, skipped) = r.map_values_expanded(
        json!([{"name": "a", "pulls": [{"id": 1}]}, {"name": "b", "pulls": null}])
            .as_array()
            .unwrap(),
        false,
    );
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].entities[0].identifier, json!("a:1"));
    assert_eq!(skipped.len(), 1);
    let plain = resource(&mapping(
        "true",
        "identifier: .id | tostring\nblueprint: '\"b\"'",
    ));
    let out = plain
        .map_json_bytes(br#"[{"id": 1.0}, {"id": 12345678901234567890}]"#, false)
        .unwrap();
    assert_eq!(
        entities(&out),
        json!([{"identifier": "1.0", "blueprint": "b"}, {"identifier": "12345678901234567890", "blueprint": "b"}])
    );
    assert!(plain.map_json_bytes(b"{}", false).is_err());
}

#[test]
fn runaway_expressions_fail_their_field_and_the_batch_goes_on() {
    let r = resource(&mapping(
        "true",
        "identifier: .id\nblueprint: '\"b\"'\nproperties:\n  deep: 'def f: [f]; f'\n  endless: 'def f: f; f'\n  repeated: '\"x\" * .n'\n  fine: .n",
    ));
    assert!(
        r.compile_problems().is_empty(),
        "{:?}",
        r.compile_problems()
    );
    // The lifecycle maps on tokio's blocking threads: 2 MiB of stack.
    let out = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let out = run(
                &r,
                json!([{"id": "a", "n": 1000000000u64}, {"id": "b", "n": 2}]),
            );
            (entities(&out), out.misconfigured)
        })
        .unwrap()
        .join()
        .expect("mapping returns instead of crashing");
    assert_eq!(
        out.0,
        json!([
            {"identifier": "a", "blueprint": "b",
             "properties": {"deep": null, "endless": null, "repeated": null, "fine": 1000000000u64}},
            {"identifier": "b", "blueprint": "b",
             "properties": {"deep": null, "endless": null, "repeated": "xx", "fine": 2}},
        ])
    );
    assert_eq!(
        out.1.keys().collect::<Vec<_>>(),
        [
            "properties.deep",
            "properties.endless",
            "properties.repeated"
        ]
    );
}

#[test]
fn failing_fields_keep_jq_first_message() {
    let r = resource(&mapping(
        "true",
        "identifier: .id\nblueprint: '\"b\"'\nproperties:\n  n: .name | tonumber\n  missing: .nope\n  broken: .name |",
    ));
    let out = run(
        &r,
        json!([{"id": "a", "name": "x"}, {"id": "b", "name": "y"}]),
    );
    assert_eq!(
        entities(&out),
        json!([
            {"identifier": "a", "blueprint": "b", "properties": {"n": null, "missing": null, "broken": null}},
            {"identifier": "b", "blueprint": "b", "properties": {"n": null, "missing": null, "broken": null}}
        ])
    );
    // A null that is not an error (`.nope`) has no message; the runtime error keeps the first
    // item's message, and a compile error its compiler message.
    assert_eq!(
        out.field_errors.keys().collect::<Vec<_>>(),
        ["properties.n", "properties.broken"]
    );
    assert!(
        out.field_errors["properties.n"].contains("\"x\""),
        "{:?}",
        out.field_errors
    );
    assert_eq!(
        Some(&out.field_errors["properties.broken"]),
        r.compile_problems()
            .iter()
            .find(|p| p.field.ends_with("properties.broken"))
            .map(|p| &p.message)
    );
    assert_eq!(out.misconfigured.len(), 3);
}
