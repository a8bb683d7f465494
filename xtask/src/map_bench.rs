//! `ocean map` as a whole process on the benchmark workload, side by side with Python Ocean's
//! own mapping on the same records, on the same machine, in the same run (part of `make bench`).
//!
//! The records come from the workload's `datagen.py` (one JSON array per size, kept under
//! `target/xtask/bench-map/` for the next run). `ocean map` (release build) reads the file,
//! maps it on every core and writes its document to a file; its wall time, CPU time and peak RSS
//! are measured by the `xtask __measure` wrapper. Python Ocean (the venv of
//! [`crate::python_ocean`]) maps a smaller sample with `JQEntityProcessor.parse_items` on as
//! many worker processes as there are cores; only its mapping is timed, so the ratio printed
//! favours Python (its JSON loading is not counted, `ocean map`'s reading and writing are).

use anyhow::{Context, Result, bail};
use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cargo::{self, Build};
use crate::measure::{self, Measurement};
use crate::python_ocean;
use crate::workspace::Workspace;

/// The script that runs Python Ocean's mapping.
const PYTHON_MAP: &str = include_str!("bench/python_map.py");

/// The throughput target of `ocean map` as a whole process, records per second.
pub const TARGET_RECORDS_PER_SECOND: f64 = 150_000.0;
/// The peak RSS target of `ocean map`, MiB.
pub const TARGET_PEAK_RSS_MIB: f64 = 100.0;

/// One measured `ocean map` run.
#[derive(Debug, Clone)]
pub struct MapRun {
    /// Records in the input.
    pub records: u64,
    /// Size of the input, bytes.
    pub input_bytes: u64,
    /// The process's figures.
    pub run: Measurement,
}

impl MapRun {
    /// Records per second of wall time.
    pub fn records_per_second(&self) -> f64 {
        self.records as f64 / self.run.wall.as_secs_f64().max(1e-9)
    }
}

/// Python Ocean's mapping of the sample.
#[derive(Debug, Clone)]
pub struct PythonRun {
    /// Records mapped.
    pub records: u64,
    /// Seconds spent in `parse_items`.
    pub mapping_seconds: f64,
    /// Worker processes (`process_in_queue_max_workers`).
    pub workers: usize,
    /// The whole Python process (loading included).
    pub run: Measurement,
}

impl PythonRun {
    /// Records per second of mapping time.
    pub fn records_per_second(&self) -> f64 {
        self.records as f64 / self.mapping_seconds.max(1e-9)
    }
}

/// Writes the first `n` benchmark records as one JSON array to `path` (kept when present).
fn records_file(ws: &Workspace, dir: &Path, n: u64) -> Result<PathBuf> {
    let path = dir.join(format!("items-{n}.json"));
    if path.is_file() {
        return Ok(path);
    }
    let partial = path.with_extension("partial");
    let out = File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
    let datagen = ws
        .root()
        .join("integrations/fake/tests/bench-workload/datagen.py");
    println!("Generating {n} records with {}…", ws.display(&datagen));
    let status = Command::new("python3")
        .arg(&datagen)
        .arg(n.to_string())
        .stdout(out)
        .status()
        .with_context(|| format!("running python3 {}", datagen.display()))?;
    if !status.success() {
        bail!("{} {n} failed ({status})", datagen.display());
    }
    std::fs::rename(&partial, &path)
        .with_context(|| format!("renaming {} to {}", partial.display(), path.display()))?;
    Ok(path)
}

/// Runs `program args…` under the `xtask __measure` wrapper with stdout written to `stdout`.
fn measured(
    program: &Path,
    args: &[OsString],
    stdout: &Path,
    report: &Path,
) -> Result<Measurement> {
    let _ = std::fs::remove_file(report);
    let xtask = std::env::current_exe().context("locating the xtask executable")?;
    let out = File::create(stdout).with_context(|| format!("creating {}", stdout.display()))?;
    let status = Command::new(xtask)
        .arg("__measure")
        .arg("--report")
        .arg(report)
        .arg("--")
        .arg(program)
        .args(args)
        .stdout(out)
        .status()
        .with_context(|| format!("running {}", program.display()))?;
    let m = measure::read_report(report)?;
    if !status.success() || !m.success() {
        bail!(
            "{} {:?} failed ({status}); its output is in {}",
            program.display(),
            args,
            stdout.display()
        );
    }
    Ok(m)
}

/// Whether the file holds `needle`, read in chunks.
fn contains(path: &Path, needle: &[u8]) -> Result<bool> {
    let mut f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut window: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut chunk)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            return Ok(false);
        }
        window.extend_from_slice(&chunk[..n]);
        if window.windows(needle.len()).any(|w| w == needle) {
            return Ok(true);
        }
        let keep = window.len().saturating_sub(needle.len());
        window.drain(..keep);
    }
}

/// Measures `ocean map` at each size, then Python Ocean on `python_records` records.
pub fn map_bench(
    ws: &Workspace,
    sizes: &[u64],
    python_records: u64,
) -> Result<(Vec<MapRun>, Option<PythonRun>)> {
    println!("Building ocean-cli (release)…");
    let built = cargo::build(ws, &Build::release(&["ocean-cli"]))?;
    let ocean = built.executable("ocean")?;
    let dir = ws.scratch("bench-map")?;
    let config = ws
        .root()
        .join("integrations/fake/tests/bench-workload/resources/port-app-config.yml");
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut runs = Vec::new();
    for &n in sizes {
        let items = records_file(ws, &dir, n)?;
        let input_bytes = std::fs::metadata(&items)?.len();
        println!(
            "\nocean map: {n} records ({:.0} MB)…",
            input_bytes as f64 / 1e6
        );
        let output = dir.join(format!("entities-{n}.json"));
        let args: Vec<OsString> = vec![
            "map".into(),
            "--config".into(),
            config.clone().into(),
            "--kind".into(),
            "item".into(),
            items.into(),
        ];
        let run = measured(
            &ocean,
            &args,
            &output,
            &dir.join(format!("map-{n}.measure.json")),
        )?;
        let expected = format!("],\"selector_dropped\":{},\"selector_errors\":0,", n / 10);
        if !contains(&output, expected.as_bytes())? {
            bail!(
                "ocean map's output {} lacks {expected} (every archived record dropped, no error)",
                output.display()
            );
        }
        let _ = std::fs::remove_file(&output);
        let run = MapRun {
            records: n,
            input_bytes,
            run,
        };
        println!(
            "  {:.2} s, {:.0} records/s, peak RSS {:.1} MiB",
            run.run.wall.as_secs_f64(),
            run.records_per_second(),
            run.run.max_rss_mib()
        );
        runs.push(run);
    }
    let python = if python_records > 0 {
        let venv = python_ocean::ensure_venv(&ws.target_dir())?;
        let items = records_file(ws, &dir, python_records)?;
        let script = dir.join("python_map.py");
        std::fs::write(&script, PYTHON_MAP)
            .with_context(|| format!("writing {}", script.display()))?;
        println!(
            "\nPython Ocean's JQEntityProcessor: {python_records} records, {cores} worker process(es)…"
        );
        let output = dir.join("python-map.json");
        let args: Vec<OsString> = vec![
            script.into(),
            config.clone().into(),
            items.into(),
            cores.to_string().into(),
        ];
        let run = measured(
            &venv.join("bin/python"),
            &args,
            &output,
            &dir.join("python-map.measure.json"),
        )?;
        let text = std::fs::read_to_string(&output)
            .with_context(|| format!("reading {}", output.display()))?;
        let report: serde_json::Value = serde_json::from_str(text.trim())
            .with_context(|| format!("parsing Python's report {}", output.display()))?;
        let seconds = report["seconds"]
            .as_f64()
            .with_context(|| format!("no seconds in {text}"))?;
        let entities = report["entities"].as_u64().unwrap_or(0);
        if entities != python_records - python_records / 10 {
            bail!("Python Ocean mapped {entities} entities of {python_records} records: {text}");
        }
        let python = PythonRun {
            records: python_records,
            mapping_seconds: seconds,
            workers: cores,
            run,
        };
        println!(
            "  {:.2} s of mapping, {:.0} records/s, peak RSS {:.1} MiB",
            seconds,
            python.records_per_second(),
            python.run.max_rss_mib()
        );
        Some(python)
    } else {
        None
    };
    print_table(&runs, python.as_ref(), cores);
    Ok((runs, python))
}

fn print_table(runs: &[MapRun], python: Option<&PythonRun>, cores: usize) {
    println!();
    println!(
        "ocean map as a whole process (read, map on {cores} core(s), write) vs Python Ocean's mapping, same records, same machine:"
    );
    println!(
        "  {:>26} {:>9} {:>9} {:>12} {:>10} {:>11}",
        "", "records", "wall s", "records/s", "CPU s", "peak RSS"
    );
    for run in runs {
        println!(
            "  {:>26} {:>9} {:>9.2} {:>12.0} {:>10.2} {:>7.1} MiB",
            "ocean map",
            run.records,
            run.run.wall.as_secs_f64(),
            run.records_per_second(),
            (run.run.user + run.run.system).as_secs_f64(),
            run.run.max_rss_mib()
        );
    }
    if let Some(p) = python {
        println!(
            "  {:>26} {:>9} {:>9.2} {:>12.0} {:>10.2} {:>7.1} MiB",
            "Python JQEntityProcessor",
            p.records,
            p.mapping_seconds,
            p.records_per_second(),
            (p.run.user + p.run.system).as_secs_f64(),
            p.run.max_rss_mib()
        );
        if let Some(slowest) = runs.iter().map(MapRun::records_per_second).reduce(f64::min) {
            println!(
                "  ocean map (slowest size) / Python Ocean (mapping only): {:.0}×",
                slowest / p.records_per_second()
            );
        }
    }
    let slowest = runs
        .iter()
        .map(MapRun::records_per_second)
        .fold(f64::INFINITY, f64::min);
    let largest = runs.iter().map(|r| r.run.max_rss_mib()).fold(0.0, f64::max);
    println!(
        "  targets: ≥ {TARGET_RECORDS_PER_SECOND:.0} records/s ({}), peak RSS < {TARGET_PEAK_RSS_MIB:.0} MiB ({})",
        if slowest >= TARGET_RECORDS_PER_SECOND {
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
