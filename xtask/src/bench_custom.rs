//! `cargo xtask bench`'s Custom part: `ocean-custom` paging through a local REST API that serves
//! the benchmark workload's records (`custom-fixture`, a separate process: 200,000 records in
//! pages of 500 by default, offset pagination with a total, a bearer token), mapped by the
//! workload's own mapping into a fresh Port emulator, beside the fake integration on the same
//! records in the same run.
//!
//! The two differ only in where the records come from: generated in process (fake) or fetched
//! and parsed page by page over HTTP (custom). Reported: wall time, entities per second, the
//! ratio of the two, and each one's peak RSS, against the targets (custom within 20 % of fake's
//! entities per second, under 40 MB of peak RSS).

use anyhow::{Result, bail};
use serde_json::{Map, Value, json};
use std::path::PathBuf;

use crate::bench::{self, E2eRun};
use crate::cargo::{self, Build};
use crate::emulator::{self, Emulator};
use crate::fixture::FixtureProcess;
use crate::measure::Measurement;
use crate::run::{self, RunSpec};
use crate::workspace::Workspace;

/// The token the fixture accepts in the benchmark.
const TOKEN: &str = "xtask-bench-token";
/// The endpoint the resource reads.
const ENDPOINT: &str = "/items";
/// Custom's entities per second may be at most this much below fake's.
pub const TARGET_SHORTFALL: f64 = 0.20;
/// The peak RSS target of the custom integration, MB (10^6 bytes).
pub const TARGET_PEAK_RSS_MB: f64 = 40.0;

/// What to run.
#[derive(Debug, Clone)]
pub struct CustomBenchOptions {
    /// Records the API serves.
    pub items: u64,
    /// Records per page.
    pub page_size: u64,
    /// Benchmark this `ocean-custom` executable instead of a release build.
    pub binary: Option<PathBuf>,
    /// Compare with this `ocean-fake` executable instead of a release build.
    pub fake_binary: Option<PathBuf>,
}

impl Default for CustomBenchOptions {
    fn default() -> Self {
        CustomBenchOptions {
            items: 200_000,
            page_size: 500,
            binary: None,
            fake_binary: None,
        }
    }
}

/// The figures of both runs.
#[derive(Debug, Clone)]
pub struct CustomRun {
    /// Requests the API received.
    pub requests: u64,
    /// Entities the mapping produced.
    pub mapped: u64,
    /// The custom integration's process.
    pub run: Measurement,
    /// The fake integration on the same records.
    pub fake: E2eRun,
}

impl CustomRun {
    /// Mapped entities per second of wall time.
    pub fn entities_per_second(&self) -> f64 {
        self.mapped as f64 / self.run.wall.as_secs_f64().max(1e-9)
    }
}

/// Runs the Custom benchmark.
pub fn bench(ws: &Workspace, options: &CustomBenchOptions) -> Result<CustomRun> {
    let mut packages = vec!["port-emulator", "custom-fixture"];
    if options.binary.is_none() {
        packages.push("ocean-custom");
    }
    if options.fake_binary.is_none() {
        packages.push("ocean-fake");
    }
    println!("\nBuilding {} (release)…", packages.join(", "));
    let built = cargo::build(ws, &Build::release(&packages))?;
    let binary = match &options.binary {
        Some(b) => b.clone(),
        None => built.executable("ocean-custom")?,
    };
    let fake_binary = match &options.fake_binary {
        Some(b) => b.clone(),
        None => built.executable("ocean-fake")?,
    };
    let emulator_binary = built.executable("port-emulator")?;
    let scratch = ws.scratch("bench-custom")?;
    let items = options.items;

    println!("Fake integration: {items} records generated in process…");
    let fake_resources =
        bench::write_bench_resources_as(ws, &scratch.join("fake-resources"), "item", &Map::new())?;
    let fake = bench::run_once(
        ws,
        &emulator_binary,
        &fake_binary,
        &fake_resources,
        &scratch,
        items,
        None,
    )?;

    println!(
        "Custom integration: {items} records from the fixture API, pages of {}…",
        options.page_size
    );
    let selector = Map::from_iter([("data_path".to_owned(), json!(".items"))]);
    let resources =
        bench::write_bench_resources_as(ws, &scratch.join("resources"), ENDPOINT, &selector)?;
    let emulator = Emulator::start(&emulator_binary, &scratch.join("port-emulator.log"))?;
    let fixture = FixtureProcess::start(
        &built.executable("custom-fixture")?,
        &[
            "--port",
            "0",
            "--token",
            TOKEN,
            "--items",
            &items.to_string(),
        ],
        "the custom fixture API",
        &scratch.join("custom-fixture.log"),
    )?;
    let identifier = "custom-bench";
    let mut env = emulator.ocean_env();
    env.extend(run::once_env(identifier)?);
    env.extend(
        [
            (
                "OCEAN__RESOURCES_PATH",
                resources.to_string_lossy().into_owned(),
            ),
            ("OCEAN__INITIALIZE_PORT_RESOURCES", "true".into()),
            ("OCEAN__INTEGRATION__TYPE", "custom".into()),
            ("OCEAN__INTEGRATION__CONFIG__BASE_URL", fixture.url.clone()),
            (
                "OCEAN__INTEGRATION__CONFIG__AUTH_TYPE",
                "bearer_token".into(),
            ),
            ("OCEAN__INTEGRATION__CONFIG__API_TOKEN", TOKEN.into()),
            (
                "OCEAN__INTEGRATION__CONFIG__PAGINATION_TYPE",
                "offset".into(),
            ),
            (
                "OCEAN__INTEGRATION__CONFIG__PAGE_SIZE",
                options.page_size.to_string(),
            ),
            ("OCEAN__INTEGRATION__CONFIG__TOTAL_PATH", "total".into()),
            ("APPLICATION__LOG_LEVEL", "WARNING".into()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    let log = scratch.join("ocean-custom.log");
    let run = run::run(&RunSpec {
        binary,
        runner: None,
        cwd: ws.integration_dir("custom"),
        env,
        log: log.clone(),
        echo: false,
        measurer: None,
        args: Vec::new(),
    })?;
    let counters: Value = fixture.take_counters()?;
    let status = emulator.last_resync_status(identifier)?;
    let stored = emulator.count("benchItem")?;
    let mapped = bench::mapped_records(items);
    if !run.success() || status.as_deref() != Some("completed") || stored < mapped {
        bail!(
            "the Custom resync failed: exit {:?}, resync state {status:?}, {stored} of {mapped} \
             entities stored; last lines of {}:\n{}",
            run.code,
            ws.display(&log),
            emulator::tail(&log, 15)
        );
    }
    drop(fixture.child);
    emulator.stop()?;
    let result = CustomRun {
        requests: counters["requests"].as_u64().unwrap_or(0),
        mapped,
        run,
        fake,
    };
    print_table(&result, options);
    Ok(result)
}

fn print_table(result: &CustomRun, options: &CustomBenchOptions) {
    println!();
    println!(
        "Custom integration (fixture API, {} records in pages of {} → ocean-custom → Port emulator), beside the fake integration on the same records:",
        options.items, options.page_size
    );
    println!(
        "  {:>8} {:>9} {:>9} {:>9} {:>12} {:>10} {:>11}",
        "", "requests", "entities", "wall s", "entities/s", "CPU s", "peak RSS"
    );
    let row = |label: &str, requests: Option<u64>, run: &Measurement, eps: f64| {
        println!(
            "  {:>8} {:>9} {:>9} {:>9.2} {:>12.0} {:>10.2} {:>7.1} MiB",
            label,
            requests.map_or("-".to_owned(), |r| r.to_string()),
            result.mapped,
            run.wall.as_secs_f64(),
            eps,
            (run.user + run.system).as_secs_f64(),
            run.max_rss_mib()
        );
    };
    row(
        "fake",
        None,
        &result.fake.run,
        result.fake.entities_per_second(),
    );
    row(
        "custom",
        Some(result.requests),
        &result.run,
        result.entities_per_second(),
    );
    let ratio = result.entities_per_second() / result.fake.entities_per_second().max(1e-9);
    let rss_mb = result.run.max_rss_kib as f64 * 1024.0 / 1e6;
    println!(
        "  custom/fake entities/s: {ratio:.2} (target ≥ {:.2}: {}); custom peak RSS {rss_mb:.1} MB (target < {TARGET_PEAK_RSS_MB:.0} MB: {})",
        1.0 - TARGET_SHORTFALL,
        if ratio >= 1.0 - TARGET_SHORTFALL {
            "met"
        } else {
            "MISSED"
        },
        if rss_mb < TARGET_PEAK_RSS_MB {
            "met"
        } else {
            "MISSED"
        },
    );
}
