//! `cargo xtask bench` (`make bench`): the end-to-end benchmark, then the crates' own benches.
//!
//! End to end: the fake integration's `item` kind — the benchmark workload's records, mapping and
//! blueprints (`integrations/fake/tests/bench-workload`) — synced once into a fresh emulator (a separate process, release
//! build) for each record count. Reported per run: wall time of the integration process from
//! spawn to exit (startup and reconciliation included), entities per second, CPU time, and the
//! integration's peak RSS (from the kernel's accounting at exit, see [`crate::measure`]).
//!
//! Then a dry run: the largest count resynced into a fresh emulator, then planned again with
//! `--dry-run` at `itemRevision` 1 (wall time and peak RSS beside the resync's; Port must be
//! unchanged afterwards).
//!
//! Then `ocean map` as a whole process on the same records beside Python Ocean's own mapping,
//! both measured in this run ([`crate::map_bench`]).
//!
//! Then the largest run again against an emulator that answers a share of requests (30 % by
//! default) with 429 or 503, seeded: the price of riding out faults, in wall time and retries,
//! beside the fault-free figure. Every entity must still arrive.
//!
//! The resources come from the integration's own `.port/resources` (the `item` resource and the
//! `benchItem`/`benchGroup` blueprints, which a test keeps identical to the workload kept beside the fake's tests), so the
//! benchmark reads nothing outside the integration.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::path::{Path, PathBuf};

use crate::cargo::{self, Build};
use crate::emulator::{self, Emulator};
use crate::measure::Measurement;
use crate::run::{self, RunSpec};
use crate::workspace::Workspace;

/// The throughput target, entities per second.
pub const TARGET_ENTITIES_PER_SECOND: f64 = 18_000.0;
/// The peak RSS target, MiB.
pub const TARGET_PEAK_RSS_MIB: f64 = 30.0;

/// The blueprints and resource kind of the benchmark workload.
const BENCH_BLUEPRINTS: [&str; 2] = ["benchGroup", "benchItem"];
const BENCH_KIND: &str = "item";

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Record counts, one run each.
    pub records: Vec<u64>,
    /// Also run `cargo bench` for the mapping and emulator benches that exist.
    pub micro: bool,
    /// Benchmark this `ocean-fake` executable (e.g. the static build) instead of a release build.
    pub binary: Option<PathBuf>,
    /// The share of requests the emulator fails in the faulted run (0 skips it).
    pub fault_rate: f64,
    /// Record counts of the `ocean map` runs (empty skips them and Python Ocean's).
    pub map_records: Vec<u64>,
    /// Records Python Ocean's mapping is measured on, side by side (0 skips it).
    pub python_records: u64,
}

/// The seed of the faulted run's faults, so that two benchmarks meet the same ones.
pub const FAULT_SEED: u64 = 2026;

/// Faults injected into a run.
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    /// The share of requests answered 429 or 503.
    pub rate: f64,
    /// The seed of the choice.
    pub seed: u64,
}

/// The figures of one end-to-end run.
#[derive(Debug, Clone)]
pub struct E2eRun {
    /// Raw records generated.
    pub records: u64,
    /// Entities the mapping produced (records passing the selector).
    pub mapped: u64,
    /// `benchItem` entities in the emulator afterwards (mapped ones plus relation targets
    /// created as missing).
    pub stored: u64,
    /// The integration process's figures.
    pub run: Measurement,
    /// The faults injected, if any.
    pub faults: Option<Faults>,
    /// Requests the emulator failed on purpose (each retried by the client).
    pub retries: u64,
}

impl E2eRun {
    /// Mapped entities per second of wall time.
    pub fn entities_per_second(&self) -> f64 {
        self.mapped as f64 / self.run.wall.as_secs_f64().max(1e-9)
    }
}

/// Records of `0..n` the benchmark mapping keeps: every one but the archived (`i % 10 == 9`).
pub fn mapped_records(n: u64) -> u64 {
    n - n / 10
}

/// Runs the benchmark.
pub fn bench(ws: &Workspace, options: &BenchOptions) -> Result<Vec<E2eRun>> {
    let mut runs = Vec::new();
    if !options.records.is_empty() {
        runs = end_to_end(ws, options)?;
    }
    if !options.map_records.is_empty() {
        println!();
        crate::map_bench::map_bench(ws, &options.map_records, options.python_records)?;
    }
    if options.micro {
        micro_benches(ws)?;
        println!("\n(End-to-end figures above; the table again:)");
        print_table(&runs);
    }
    Ok(runs)
}

/// The end-to-end runs (and the faulted one), with their table.
fn end_to_end(ws: &Workspace, options: &BenchOptions) -> Result<Vec<E2eRun>> {
    let packages: &[&str] = match options.binary {
        Some(_) => &["port-emulator"],
        None => &["port-emulator", "ocean-fake"],
    };
    println!("Building {} (release)…", packages.join(" and "));
    let built = cargo::build(ws, &Build::release(packages))?;
    let emulator = built.executable("port-emulator")?;
    let binary = match &options.binary {
        Some(binary) => binary.clone(),
        None => built.executable("ocean-fake")?,
    };
    println!("Integration binary: {}", ws.display(&binary));
    let scratch = ws.scratch("bench")?;
    let resources = write_bench_resources(ws, &scratch.join("resources"))?;
    let mut runs = Vec::new();
    for &records in &options.records {
        println!("\nEnd to end: {records} records of kind `item` into a fresh emulator…");
        let run = run_once(ws, &emulator, &binary, &resources, &scratch, records, None)?;
        println!(
            "  {:.2} s, {:.0} entities/s, peak RSS {:.1} MiB",
            run.run.wall.as_secs_f64(),
            run.entities_per_second(),
            run.run.max_rss_mib()
        );
        runs.push(run);
    }
    print_table(&runs);
    if let (Some(&records), true) = (options.records.iter().max(), options.fault_rate > 0.0) {
        let faults = Faults {
            rate: options.fault_rate,
            seed: FAULT_SEED,
        };
        println!(
            "\nEnd to end under faults: {records} records, {:.0} % of requests answered 429 or 503 (seed {})…",
            faults.rate * 100.0,
            faults.seed
        );
        let faulted = run_once(
            ws,
            &emulator,
            &binary,
            &resources,
            &scratch,
            records,
            Some(faults),
        )?;
        let clean = runs.iter().find(|r| r.records == records);
        print_fault_table(clean, &faulted);
        runs.push(faulted);
    }
    if let Some(&records) = options.records.iter().max() {
        println!(
            "\nDry run: {records} records resynced, then planned again at itemRevision 1 (--dry-run)…"
        );
        let (resync, dry) = dry_run_pair(ws, &emulator, &binary, &resources, &scratch, records)?;
        print_dry_run_table(records, &resync, &dry);
    }
    Ok(runs)
}

/// The dry run's targets: at most this multiple of the real resync's wall time…
pub const TARGET_DRY_RUN_TIME_RATIO: f64 = 1.5;
/// …and under this peak RSS, MB (10^6 bytes).
pub const TARGET_DRY_RUN_PEAK_RSS_MB: f64 = 60.0;

/// A resync of `records` into a fresh emulator, then a dry run of the same records at
/// `itemRevision` 1 (a tenth of the items change) against what it stored. The dry run must
/// write nothing: the emulator's counts are the same before and after.
fn dry_run_pair(
    ws: &Workspace,
    emulator_binary: &Path,
    binary: &Path,
    resources: &Path,
    scratch: &Path,
    records: u64,
) -> Result<(Measurement, Measurement)> {
    let identifier = "fake-bench-dry-run";
    let emulator = Emulator::start(
        emulator_binary,
        &scratch.join(format!("port-emulator-{records}-dry-run.log")),
    )?;
    let run = |revision: u64, args: Vec<String>, log: PathBuf| -> Result<Measurement> {
        let mut env = emulator.ocean_env();
        env.extend(run::once_env(identifier)?);
        env.extend(
            [
                (
                    "OCEAN__RESOURCES_PATH",
                    resources.to_string_lossy().into_owned(),
                ),
                ("OCEAN__INITIALIZE_PORT_RESOURCES", "true".into()),
                (
                    "OCEAN__INTEGRATION__CONFIG__ITEM_COUNT",
                    records.to_string(),
                ),
                (
                    "OCEAN__INTEGRATION__CONFIG__ITEM_REVISION",
                    revision.to_string(),
                ),
                ("OCEAN__INTEGRATION__CONFIG__PAGE_SIZE", "100".into()),
                ("APPLICATION__LOG_LEVEL", "WARNING".into()),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
        let measured = run::run(&RunSpec {
            binary: binary.to_owned(),
            runner: None,
            cwd: ws.integration_dir("fake"),
            env,
            log: log.clone(),
            echo: false,
            measurer: None,
            args,
        })?;
        if !measured.success() {
            bail!(
                "the run failed (exit {:?}); last lines of {}:\n{}",
                measured.code,
                ws.display(&log),
                emulator::tail(&log, 15)
            );
        }
        Ok(measured)
    };
    let resync = run(
        0,
        Vec::new(),
        scratch.join(format!("ocean-fake-{records}-resync.log")),
    )?;
    let stored = emulator.count("benchItem")?;
    let plan_log = scratch.join(format!("ocean-fake-{records}-dry-run.log"));
    let dry = run(1, vec!["--dry-run".into()], plan_log.clone())?;
    let after = emulator.count("benchItem")?;
    let plan = std::fs::read_to_string(&plan_log)
        .with_context(|| format!("reading {}", plan_log.display()))?;
    emulator.stop()?;
    if after != stored || !plan.contains("Dry run: nothing was written to Port.") {
        bail!(
            "the dry run changed Port ({stored} → {after} items) or printed no plan; see {}",
            ws.display(&plan_log)
        );
    }
    Ok((resync, dry))
}

fn print_dry_run_table(records: u64, resync: &Measurement, dry: &Measurement) {
    println!();
    println!(
        "Dry run of the benchmark workload ({records} records; the plan compares every entity with Port's copy):"
    );
    println!(
        "  {:>10} {:>9} {:>10} {:>11}",
        "", "wall s", "CPU s", "peak RSS"
    );
    for (label, m) in [("resync", resync), ("dry run", dry)] {
        println!(
            "  {:>10} {:>9.2} {:>10.2} {:>7.1} MiB",
            label,
            m.wall.as_secs_f64(),
            (m.user + m.system).as_secs_f64(),
            m.max_rss_mib()
        );
    }
    let ratio = dry.wall.as_secs_f64() / resync.wall.as_secs_f64().max(1e-9);
    let mb = dry.max_rss_kib as f64 * 1024.0 / 1e6;
    println!(
        "  dry run / resync wall time: {ratio:.2} (target ≤ {TARGET_DRY_RUN_TIME_RATIO}: {}); dry-run peak RSS {mb:.1} MB (target < {TARGET_DRY_RUN_PEAK_RSS_MB:.0} MB: {})",
        if ratio <= TARGET_DRY_RUN_TIME_RATIO {
            "met"
        } else {
            "MISSED"
        },
        if mb < TARGET_DRY_RUN_PEAK_RSS_MB {
            "met"
        } else {
            "MISSED"
        }
    );
}

pub(crate) fn run_once(
    ws: &Workspace,
    emulator_binary: &Path,
    binary: &Path,
    resources: &Path,
    scratch: &Path,
    records: u64,
    faults: Option<Faults>,
) -> Result<E2eRun> {
    let identifier = "fake-bench";
    let suffix = if faults.is_some() { "-faults" } else { "" };
    let extra: Vec<String> = match faults {
        Some(f) => vec![
            "--fail-rate".into(),
            f.rate.to_string(),
            "--fault-seed".into(),
            f.seed.to_string(),
        ],
        None => Vec::new(),
    };
    let emulator = Emulator::start_with(
        emulator_binary,
        &scratch.join(format!("port-emulator-{records}{suffix}.log")),
        &extra,
    )?;
    let mut env = emulator.ocean_env();
    env.extend(run::once_env(identifier)?);
    env.extend(
        [
            (
                "OCEAN__RESOURCES_PATH",
                resources.to_string_lossy().into_owned(),
            ),
            ("OCEAN__INITIALIZE_PORT_RESOURCES", "true".into()),
            (
                "OCEAN__INTEGRATION__CONFIG__ITEM_COUNT",
                records.to_string(),
            ),
            ("OCEAN__INTEGRATION__CONFIG__ITEM_REVISION", "0".into()),
            ("OCEAN__INTEGRATION__CONFIG__PAGE_SIZE", "100".into()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    let log = scratch.join(format!("ocean-fake-{records}{suffix}.log"));
    let run = run::run(&RunSpec {
        binary: binary.to_owned(),
        runner: None,
        cwd: ws.integration_dir("fake"),
        env,
        log: log.clone(),
        echo: false,
        measurer: None,
        args: Vec::new(),
    })?;
    let stored = emulator.count("benchItem")?;
    let status = emulator.last_resync_status(identifier)?;
    let retries = emulator.injected_faults()?;
    emulator.stop()?;
    let mapped = mapped_records(records);
    if !run.success() || status.as_deref() != Some("completed") || stored < mapped {
        bail!(
            "the {records}-record run failed: exit {:?}, resync state {:?}, {stored} of {mapped} \
             entities stored; last lines of {}:\n{}",
            run.code,
            status,
            ws.display(&log),
            emulator::tail(&log, 15)
        );
    }
    Ok(E2eRun {
        records,
        mapped,
        stored,
        run,
        faults,
        retries,
    })
}

/// Writes the benchmark's resources folder (blueprints and mapping) from the fake integration's.
fn write_bench_resources(ws: &Workspace, dir: &Path) -> Result<PathBuf> {
    write_bench_resources_as(ws, dir, BENCH_KIND, &serde_json::Map::new())
}

/// Writes the benchmark's resources folder with the `item` resource under another `kind`, with
/// `selector` fields added to its selector (the Custom integration's endpoint and `data_path`).
pub(crate) fn write_bench_resources_as(
    ws: &Workspace,
    dir: &Path,
    kind: &str,
    selector: &serde_json::Map<String, Value>,
) -> Result<PathBuf> {
    let source = ws.integration_dir("fake").join(".port/resources");
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let blueprints_path = source.join("blueprints.json");
    let blueprints: Value = serde_json::from_str(
        &std::fs::read_to_string(&blueprints_path)
            .with_context(|| format!("reading {}", blueprints_path.display()))?,
    )
    .with_context(|| format!("parsing {}", blueprints_path.display()))?;
    let bench_blueprints: Vec<Value> = blueprints
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| BENCH_BLUEPRINTS.iter().any(|id| b["identifier"] == *id))
        .cloned()
        .collect();
    if bench_blueprints.len() != BENCH_BLUEPRINTS.len() {
        bail!(
            "{} lacks the benchItem/benchGroup blueprints",
            blueprints_path.display()
        );
    }
    std::fs::write(
        dir.join("blueprints.json"),
        serde_json::to_string_pretty(&bench_blueprints)?,
    )?;
    let mapping_path = source.join("port-app-config.yml");
    let mut mapping: Value = serde_yaml::from_str(
        &std::fs::read_to_string(&mapping_path)
            .with_context(|| format!("reading {}", mapping_path.display()))?,
    )
    .with_context(|| format!("parsing {}", mapping_path.display()))?;
    let resources = mapping["resources"]
        .as_array_mut()
        .with_context(|| format!("{} has no resources", mapping_path.display()))?;
    resources.retain(|r| r["kind"] == BENCH_KIND);
    if resources.len() != 1 {
        bail!("{} has no single `item` resource", mapping_path.display());
    }
    resources[0]["kind"] = Value::from(kind);
    for (key, value) in selector {
        resources[0]["selector"][key] = value.clone();
    }
    // JSON is YAML: the resources folder accepts either extension.
    std::fs::write(
        dir.join("port-app-config.json"),
        serde_json::to_string_pretty(&mapping)?,
    )?;
    Ok(dir.to_owned())
}

fn print_fault_table(clean: Option<&E2eRun>, faulted: &E2eRun) {
    println!();
    println!("End-to-end resync under faults (every entity stored, resync completed):");
    println!(
        "  {:>24} {:>9} {:>9} {:>12} {:>9} {:>11}",
        "", "records", "wall s", "entities/s", "retries", "peak RSS"
    );
    let row = |label: &str, run: &E2eRun| {
        println!(
            "  {:>24} {:>9} {:>9.2} {:>12.0} {:>9} {:>7.1} MiB",
            label,
            run.records,
            run.run.wall.as_secs_f64(),
            run.entities_per_second(),
            run.retries,
            run.run.max_rss_mib()
        );
    };
    if let Some(clean) = clean {
        row("no faults", clean);
    }
    let label = faulted
        .faults
        .map(|f| format!("{:.0} % 429/503", f.rate * 100.0))
        .unwrap_or_default();
    row(&label, faulted);
}

fn print_table(runs: &[E2eRun]) {
    println!();
    println!("End-to-end resync of the benchmark workload (fake integration → Port emulator):");
    println!(
        "  {:>9} {:>9} {:>9} {:>12} {:>10} {:>11}",
        "records", "entities", "wall s", "entities/s", "CPU s", "peak RSS"
    );
    for run in runs.iter().filter(|r| r.faults.is_none()) {
        println!(
            "  {:>9} {:>9} {:>9.2} {:>12.0} {:>10.2} {:>7.1} MiB",
            run.records,
            run.mapped,
            run.run.wall.as_secs_f64(),
            run.entities_per_second(),
            (run.run.user + run.run.system).as_secs_f64(),
            run.run.max_rss_mib()
        );
    }
    if let (Some(small), Some(large)) = (runs.first(), runs.last()) {
        if large.records > small.records {
            let growth = large.run.max_rss_kib as f64 - small.run.max_rss_kib as f64;
            let per_record = growth * 1024.0 / (large.records - small.records) as f64;
            println!(
                "  peak RSS grows {:.1} MiB from {} to {} records: {per_record:.0} bytes per extra record",
                growth / 1024.0,
                small.records,
                large.records
            );
        }
    }
    let slowest = runs
        .iter()
        .map(E2eRun::entities_per_second)
        .fold(f64::INFINITY, f64::min);
    let largest = runs.iter().map(|r| r.run.max_rss_mib()).fold(0.0, f64::max);
    println!(
        "  targets: ≥ {TARGET_ENTITIES_PER_SECOND:.0} entities/s ({}), peak RSS < {TARGET_PEAK_RSS_MIB:.0} MiB ({})",
        if slowest >= TARGET_ENTITIES_PER_SECOND {
            "met"
        } else {
            "MISSED"
        },
        if largest < TARGET_PEAK_RSS_MIB {
            "met"
        } else {
            "MISSED"
        },
    );
}

/// The crates' own criterion benches, when they exist.
fn micro_benches(ws: &Workspace) -> Result<()> {
    for (package, folder, bench) in [
        ("ocean-mapping", "crates/mapping", "mapping"),
        ("port-emulator", "crates/port-emulator", "ingest"),
    ] {
        let file = ws
            .root()
            .join(folder)
            .join("benches")
            .join(format!("{bench}.rs"));
        if !file.is_file() {
            println!(
                "\n(no {} — skipping {package}'s {bench} bench)",
                ws.display(&file)
            );
            continue;
        }
        println!("\ncargo bench -p {package} --bench {bench}");
        let status = cargo::cargo()
            .current_dir(ws.root())
            .args(["bench", "-p", package, "--bench", bench])
            .status()
            .with_context(|| format!("running cargo bench -p {package}"))?;
        if !status.success() {
            bail!("cargo bench -p {package} --bench {bench} failed ({status})");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_records_drop_the_archived_tenth() {
        for (n, expected) in [
            (0, 0),
            (9, 9),
            (10, 9),
            (19, 18),
            (20, 18),
            (10_000, 9_000),
            (100_001, 90_001),
        ] {
            let brute = (0..n).filter(|i| i % 10 != 9).count() as u64;
            assert_eq!(brute, expected, "n = {n}");
            assert_eq!(mapped_records(n), expected, "n = {n}");
        }
    }
}
