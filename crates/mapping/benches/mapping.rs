//! Maps the benchmark workload — the `item` records and mapping of the fake integration
//! (`integrations/fake`: a port of Python Ocean's benchmark generator, checked against it there,
//! and its `.port/resources/port-app-config.yml`) — and prints records per second on one thread
//! and on all cores, with the native fast paths and with jaq only. The record count comes from
//! `BENCH_N` (default 100,000). Nothing outside the repository is read.

use ocean_mapping::PortAppConfig;
use ocean_mapping::engine::{CompiledResource, EngineOptions};
use ocean_mapping::jq::read::Reader;
use std::time::Instant;

/// The generator the fake integration serves (one home for the workload's records).
#[path = "../../../integrations/fake/src/items.rs"]
#[allow(dead_code, missing_docs)]
mod items;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const MAPPING: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../integrations/fake/.port/resources/port-app-config.yml"
);

/// Maps all records (parsing from raw JSON bytes included) and returns (entities, seconds).
fn run(resource: &CompiledResource, chunks: &[&[u8]]) -> (usize, f64) {
    let start = Instant::now();
    let mut entities = 0;
    let mut reader = Reader::new();
    for chunk in chunks {
        let items = reader.parse_array(chunk).expect("valid JSON");
        let out = resource.map_items(&items, false);
        entities += out.entities.len();
    }
    (entities, start.elapsed().as_secs_f64())
}

fn main() {
    let n: usize = std::env::var("BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let page: usize = 100;
    let text = std::fs::read_to_string(MAPPING).expect("the fake integration's mapping");
    let config = PortAppConfig::from_yaml_str(&text, MAPPING).expect("valid mapping");
    let resource = config
        .resources
        .iter()
        .find(|r| r.kind == "item")
        .expect("the benchmark's `item` resource");

    // Pages of 100 records as raw JSON, as an HTTP fetcher would receive them.
    let pages: Vec<Vec<u8>> = (0..n as u64)
        .collect::<Vec<_>>()
        .chunks(page)
        .map(|ids| {
            let records: Vec<_> = ids.iter().map(|i| items::make_item(*i, 0)).collect();
            serde_json::to_vec(&records).expect("serialise")
        })
        .collect();
    let pages_ref: Vec<&[u8]> = pages.iter().map(Vec::as_slice).collect();

    for (label, fast) in [("native fast paths + jaq", true), ("jaq only", false)] {
        let options = EngineOptions {
            native_fast_paths: fast,
            ..EngineOptions::default()
        };
        let resource = CompiledResource::compile(resource, &options);
        assert!(resource.compile_problems().is_empty());
        let _ = run(&resource, &pages_ref[..pages_ref.len().min(10)]);
        let (entities, secs) = run(&resource, &pages_ref);
        println!(
            "{label}: 1 thread: {n} records, {entities} entities in {secs:.3} s = {:.0} records/s",
            n as f64 / secs
        );

        let threads = std::thread::available_parallelism().map_or(2, |p| p.get());
        let start = Instant::now();
        let per = pages_ref.len().div_ceil(threads);
        let total: usize = std::thread::scope(|s| {
            let handles: Vec<_> = pages_ref
                .chunks(per.max(1))
                .map(|part| s.spawn(|| run(&resource, part).0))
                .collect();
            handles.into_iter().map(|h| h.join().expect("worker")).sum()
        });
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{label}: {threads} threads: {n} records, {total} entities in {secs:.3} s = {:.0} records/s",
            n as f64 / secs
        );
    }
}
