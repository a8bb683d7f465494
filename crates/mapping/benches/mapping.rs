//! Maps the shared benchmark workload (`<shared>/bench`: records from `datagen.py`, mapping
//! `resources/port-app-config.yml`) and prints records per second on one thread and on all
//! cores. The shared directory comes from `OCEAN_SHARED_DIR` (default `<workspace>/../shared`);
//! the record count from `BENCH_N` (default 100,000).

use ocean_mapping::PortAppConfig;
use ocean_mapping::engine::{CompiledResource, EngineOptions};
use ocean_mapping::jq::read::Reader;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn shared_dir() -> PathBuf {
    std::env::var_os("OCEAN_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

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
    let shared = shared_dir();
    let n: usize = std::env::var("BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let page: usize = 100;
    let data = Command::new("python3")
        .arg(shared.join("bench/datagen.py"))
        .arg(n.to_string())
        .output()
        .expect("python3 runs datagen.py");
    assert!(
        data.status.success(),
        "datagen.py failed: {}",
        String::from_utf8_lossy(&data.stderr)
    );
    let config_path = shared.join("bench/resources/port-app-config.yml");
    let text = std::fs::read_to_string(&config_path).expect("bench mapping");
    let config = PortAppConfig::from_yaml_str(&text, &config_path.display().to_string())
        .expect("valid mapping");

    // Pages of 100 records as raw JSON, as an HTTP fetcher would receive them.
    let all: serde_json::Value = serde_json::from_slice(&data.stdout).expect("records");
    let pages: Vec<Vec<u8>> = all
        .as_array()
        .expect("array")
        .chunks(page)
        .map(|c| serde_json::to_vec(c).expect("serialise"))
        .collect();
    let pages_ref: Vec<&[u8]> = pages.iter().map(Vec::as_slice).collect();

    for (label, fast) in [("native fast paths + jaq", true), ("jaq only", false)] {
        let options = EngineOptions {
            native_fast_paths: fast,
            ..EngineOptions::default()
        };
        let resource = CompiledResource::compile(&config.resources[0], &options);
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
