use super::*;
use crate::preview::map_kind;
use std::io::Cursor;

/// A reader that hands out at most `step` bytes per call, so that items straddle refills.
struct Trickle<'a> {
    bytes: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

fn items_of<R: Read>(mut r: ItemReader<R>) -> (Vec<String>, Option<StreamError>) {
    let mut items = Vec::new();
    loop {
        match r.next_batch() {
            Ok(Some(b)) => {
                for i in 0..b.len() {
                    items.push(String::from_utf8(b.item(i).to_vec()).unwrap());
                }
            }
            Ok(None) => return (items, None),
            Err(e) => return (items, Some(e)),
        }
    }
}

const ARRAY: &str =
    "[ {\"a\": \"x]}\\\"\", \"b\": [1, {\"c\": 2}]},\n  {\"a\": 2} ,\"s\\\"\", 17, true ]  \n";

#[test]
fn splits_an_array_into_items_whatever_the_read_sizes() {
    for step in [1, 2, 3, 7, 1000] {
        let reader = ItemReader::new(
            Trickle {
                bytes: ARRAY.as_bytes(),
                step,
            },
            Format::Array,
        )
        .with_batch_items(2);
        let (items, error) = items_of(reader);
        assert!(error.is_none(), "{error:?}");
        assert_eq!(
            items,
            [
                "{\"a\": \"x]}\\\"\", \"b\": [1, {\"c\": 2}]}",
                "{\"a\": 2}",
                "\"s\\\"\"",
                "17",
                "true"
            ],
            "read {step} bytes at a time"
        );
    }
}

#[test]
fn remembers_where_each_item_starts() {
    let mut reader = ItemReader::new(Cursor::new(ARRAY), Format::Array);
    let batch = reader.next_batch().unwrap().unwrap();
    let offset = ARRAY.find("{\"a\": 2}").unwrap();
    assert_eq!(
        batch.position(1),
        Position {
            offset: offset as u64,
            line: 2,
            column: 3
        }
    );
}

#[test]
fn a_truncated_array_ends_with_its_byte_offset_after_the_complete_items() {
    let text = "[{\"a\": 1}, {\"a\": 2}, {\"a\": ";
    let (items, error) = items_of(ItemReader::new(Cursor::new(text), Format::Array));
    assert_eq!(items, ["{\"a\": 1}", "{\"a\": 2}"]);
    match error {
        Some(StreamError::Truncated { offset, items }) => {
            assert_eq!(offset, text.len() as u64);
            assert_eq!(items, 2);
        }
        other => panic!("expected a truncation, got {other:?}"),
    }
    let (items, error) = items_of(ItemReader::new(Cursor::new("[{\"a\": 1},"), Format::Array));
    assert_eq!(items.len(), 1);
    assert!(
        matches!(
            error,
            Some(StreamError::Truncated {
                offset: 10,
                items: 1
            })
        ),
        "{error:?}"
    );
}

#[test]
fn rejects_what_is_not_an_array_or_is_broken_between_items() {
    let (_, error) = items_of(ItemReader::new(Cursor::new(" {\"a\": 1}"), Format::Array));
    assert_eq!(
        error.unwrap().to_string(),
        "expected a JSON array of items, found object"
    );
    let (items, error) = items_of(ItemReader::new(
        Cursor::new("[{\"a\": 1}\n {\"a\": 2}]"),
        Format::Array,
    ));
    assert_eq!(items.len(), 1);
    assert_eq!(
        error.unwrap().to_string(),
        "invalid JSON at line 2, column 2 (byte 11): expected ',' or ']' after an item"
    );
    let (_, error) = items_of(ItemReader::new(Cursor::new("[] x"), Format::Array));
    assert!(
        error
            .unwrap()
            .to_string()
            .contains("trailing characters after the JSON array")
    );
    let (items, error) = items_of(ItemReader::new(Cursor::new(" [ ] "), Format::Array));
    assert!(items.is_empty() && error.is_none());
}

#[test]
fn splits_ndjson_into_lines_and_skips_blank_ones() {
    let text = "{\"a\": 1}\n\n  \n{\"a\": 2}\r\n{\"a\": 3}";
    let mut reader = ItemReader::new(
        Trickle {
            bytes: text.as_bytes(),
            step: 3,
        },
        Format::Ndjson,
    );
    let batch = reader.next_batch().unwrap().unwrap();
    assert_eq!(batch.len(), 3);
    assert_eq!(batch.item(1), b"{\"a\": 2}\r");
    assert_eq!(
        [
            batch.position(0).line,
            batch.position(1).line,
            batch.position(2).line
        ],
        [1, 4, 5]
    );
    assert!(reader.next_batch().unwrap().is_none());
}

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
          properties:
            n: .n
  - kind: svc
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"b"'
"#;

fn config() -> PortAppConfig {
    PortAppConfig::from_yaml_str(CONFIG, "test.yml").unwrap()
}

#[test]
fn ndjson_lines_that_are_malformed_or_not_objects_are_listed_and_the_rest_mapped() {
    let mapper = KindMapper::new(&config(), "svc", &EngineOptions::default());
    let text = "{\"id\": \"x\", \"keep\": true}\n{\"id\": \n[1]\n{\"id\": \"y\", \"keep\": true}\n";
    let mut reader = ItemReader::new(Cursor::new(text), Format::Ndjson);
    let batch = reader.next_batch().unwrap().unwrap();
    let mapped = mapper.map_batch(&mut Reader::new(), &batch);
    assert!(mapped.fatal.is_none());
    let errors: Vec<String> = mapped.item_errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [
            "line 2: invalid JSON at column 8: unexpected end of input",
            "line 3: the item is array, but raw items must be JSON objects"
        ]
    );
    assert_eq!(mapped.resources.len(), 2);
    assert_eq!(mapped.resources[0].entities.len(), 2);
    assert_eq!(mapped.resources[1].entities.len(), 2);
}

#[test]
fn in_an_array_a_bad_item_ends_the_batch_after_the_items_before_it() {
    let mapper = KindMapper::new(&config(), "svc", &EngineOptions::default());
    let text = "[{\"id\": \"x\", \"keep\": true},\n {\"id\": }, {\"id\": \"z\"}]";
    let mut reader = ItemReader::new(Cursor::new(text), Format::Array);
    let batch = reader.next_batch().unwrap().unwrap();
    let mapped = mapper.map_batch(&mut Reader::new(), &batch);
    assert_eq!(mapped.resources[0].entities.len(), 1);
    assert_eq!(
        mapped.fatal.unwrap().to_string(),
        "invalid JSON at line 2, column 9 (byte 36): unexpected character"
    );
    let mut reader = ItemReader::new(Cursor::new("[{\"id\": \"x\"}, 3]"), Format::Array);
    let batch = reader.next_batch().unwrap().unwrap();
    let mapped = mapper.map_batch(&mut Reader::new(), &batch);
    assert_eq!(
        mapped.fatal.unwrap().to_string(),
        "item 1 is number, but raw items must be JSON objects (Ocean rejects the whole result)"
    );
}

fn many_items(n: usize) -> String {
    let items: Vec<String> = (0..n)
        .map(|i| format!("{{\"id\": \"e{i}\", \"keep\": {}, \"n\": {i}}}", i % 3 != 0))
        .collect();
    format!("[{}]", items.join(",\n"))
}

#[test]
fn batches_mapped_on_several_threads_come_back_in_input_order_and_match_the_whole_input() {
    let config = config();
    let options = EngineOptions::default();
    let text = many_items(1000);
    let mapper = KindMapper::new(&config, "svc", &options);
    let source = ItemReader::new(Cursor::new(text.clone()), Format::Array).with_batch_items(7);
    let mut merged: Vec<ResourceOutcome> = Vec::new();
    let mut seen = Vec::new();
    map_ordered(
        source,
        4,
        |reader, batch| {
            // Uneven work: early batches finish last.
            if batch.first_index() < 50 {
                std::thread::yield_now();
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            mapper.map_batch(reader, &batch)
        },
        |result| {
            let batch = result.expect("no stream error");
            seen.push(batch.first_index);
            if merged.is_empty() {
                merged = batch.resources;
            } else {
                for (all, one) in merged.iter_mut().zip(batch.resources) {
                    all.merge(one);
                }
            }
            true
        },
    );
    let expected_starts: Vec<usize> = (0..1000).step_by(7).collect();
    assert_eq!(seen, expected_starts);
    let whole = map_kind(
        &config,
        "svc",
        &Reader::new().parse_array(text.as_bytes()).unwrap(),
        &options,
    );
    let streamed: Vec<_> = merged.iter().flat_map(|r| r.entities.clone()).collect();
    assert_eq!(streamed, whole.entities);
    let failed: Vec<_> = merged
        .iter()
        .flat_map(|r| r.failed_selector_entities.clone().unwrap())
        .collect();
    assert_eq!(Some(failed), whole.failed_selector_entities);
    assert_eq!(
        merged.iter().map(|r| r.selector_dropped).sum::<usize>(),
        whole.selector_dropped
    );
}

#[test]
fn a_stream_error_reaches_the_sink_after_every_batch_before_it_and_the_sink_can_stop() {
    let mut text = many_items(100);
    text.truncate(text.len() - 30);
    let mapper = KindMapper::new(&config(), "svc", &EngineOptions::default());
    let source = ItemReader::new(Cursor::new(text), Format::Array).with_batch_items(10);
    let mut events = Vec::new();
    map_ordered(
        source,
        3,
        |reader, batch| mapper.map_batch(reader, &batch).items,
        |result| {
            events.push(match result {
                Ok(n) => format!("{n}"),
                Err(e) => e.to_string(),
            });
            true
        },
    );
    let last = events.pop().unwrap();
    assert!(last.starts_with("the array is truncated"), "{last}");
    assert_eq!(
        events
            .iter()
            .map(|n| n.parse::<usize>().unwrap())
            .sum::<usize>(),
        99
    );

    let source = ItemReader::new(Cursor::new(many_items(100)), Format::Array).with_batch_items(10);
    let mut calls = 0;
    map_ordered(
        source,
        2,
        |_, batch| batch.len(),
        |_| {
            calls += 1;
            calls < 3
        },
    );
    assert_eq!(calls, 3);
}
