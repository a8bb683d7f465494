//! The streamed output against what `ocean map` printed when it mapped the whole input at once
//! (`map_kind`, then one `serde_json` document): byte for byte, at every batch size.

use super::output::{Writer, encode};
use ocean_mapping::PortAppConfig;
use ocean_mapping::engine::EngineOptions;
use ocean_mapping::jq::read::Reader;
use ocean_mapping::preview::{KindOutcome, map_kind};
use ocean_mapping::stream::{Format, ItemReader, KindMapper, map_ordered};
use serde_json::{Map, Value, json};

const CONFIG: &str = r#"
resources:
  - kind: svc
    selector:
      query: .keep
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"a"'
          title: .title
          properties:
            n: .n
            missing: .nope
  - kind: svc
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"b"'
"#;

/// The document `ocean map` printed before it streamed.
fn whole_input_report(o: &KindOutcome) -> String {
    let misconfigured: Map<String, Value> = o
        .misconfigured
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().map_or(Value::Null, Value::String)))
        .collect();
    let v = json!({
        "entities": o.entities,
        "selector_dropped": o.selector_dropped,
        "selector_errors": o.selector_errors.len(),
        "skipped": o.skipped,
        "misconfigured": misconfigured,
        "failed_selector_entities": o.failed_selector_entities,
    });
    format!("{}\n", serde_json::to_string(&v).unwrap())
}

fn items(n: usize) -> String {
    let items: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"id": "e{i}", "keep": {}, "n": {}, "title": "T\u00e9 {i}", "x": [1.50, 1e3]}}"#,
                i % 4 != 0,
                i as f64 / 3.0
            )
        })
        .collect();
    format!("[{}]", items.join(",\n"))
}

fn streamed(config: &PortAppConfig, text: &str, batch: usize, threads: usize) -> String {
    let mapper = KindMapper::new(config, "svc", &EngineOptions::default());
    let mut out = Vec::new();
    let mut writer = Writer::new(&mut out, false, "svc", "items.json", mapper.resources()).unwrap();
    map_ordered(
        ItemReader::new(text.as_bytes(), Format::Array).with_batch_items(batch),
        threads,
        |reader, b| encode(mapper.map_batch(reader, &b), false),
        |b| writer.absorb(b),
    );
    let ending = writer.finish(mapper.compile_problems()).unwrap();
    assert!(ending.fatal.is_none() && ending.item_errors == 0);
    String::from_utf8(out).unwrap()
}

#[test]
fn the_streamed_document_is_byte_identical_to_the_whole_input_one() {
    let config = PortAppConfig::from_yaml_str(CONFIG, "c.yml").unwrap();
    for n in [0, 1, 5, 300] {
        let text = items(n);
        let whole = map_kind(
            &config,
            "svc",
            &Reader::new().parse_array(text.as_bytes()).unwrap(),
            &EngineOptions::default(),
        );
        let expected = whole_input_report(&whole);
        for (batch, threads) in [(1, 1), (7, 3), (512, 2)] {
            assert_eq!(
                streamed(&config, &text, batch, threads),
                expected,
                "{n} items, batches of {batch} on {threads} threads"
            );
        }
    }
}
