//! `cargo xtask demo` (`make demo`): a new user's first minute. Builds the emulator and an
//! integration (release), starts the emulator on a free port of 127.0.0.1, runs one resync of the
//! integration against it, and prints what landed where and how to look at it.
//!
//! The emulator keeps its catalog in memory and is stopped at the end (also on failure and on
//! Ctrl-C); `--keep` leaves it running until Ctrl-C so that the printed links can be opened.
//! The static-binary check reuses [`run_demo`] with its own binary.

use anyhow::{Result, bail};
use std::path::PathBuf;
use std::time::Instant;

use crate::cargo::{self, Build};
use crate::emulator::{self, Emulator};
use crate::measure::Measurement;
use crate::process;
use crate::run::{self, RunSpec};
use crate::workspace::Workspace;

/// What to run.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The integration (folder name under `integrations/`).
    pub integration: String,
    /// A prebuilt integration binary to run instead of a release build of it.
    pub binary: Option<PathBuf>,
    /// The program that runs the binary (`qemu-aarch64` for an aarch64 binary on x86_64).
    pub runner: Option<PathBuf>,
    /// Extra environment for the integration (`OCEAN__INTEGRATION__CONFIG__ITEM_COUNT=…`).
    pub env: Vec<(String, String)>,
    /// Keep the emulator running after the summary, until Ctrl-C.
    pub keep: bool,
    /// Echo the integration's log to the terminal.
    pub echo_logs: bool,
    /// The xtask executable that measures the integration's run (`None`: the running one).
    pub measurer: Option<PathBuf>,
}

/// What a demo run found.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// Entities per blueprint of the integration's `blueprints.json`, in file order.
    pub entities: Vec<(String, u64)>,
    /// The integration run's figures.
    pub run: Measurement,
    /// The last resync state the integration reported.
    pub resync_status: Option<String>,
}

/// Builds what is needed, then runs the demo.
pub fn demo(ws: &Workspace, options: &DemoOptions) -> Result<DemoReport> {
    let package = Workspace::package(&options.integration);
    let started = Instant::now();
    // `ocean-cli` too: the `ocean` command the README shows next (`ocean sail`, `make new`)
    // then starts at once; it shares most of its dependencies with the emulator.
    let mut packages = vec!["port-emulator", "ocean-cli"];
    if options.binary.is_none() {
        packages.push(&package);
    }
    println!(
        "Building {} (release; the first build takes a few minutes)…",
        packages.join(" and ")
    );
    let built = cargo::build(ws, &Build::release(&packages))?;
    let emulator = built.executable("port-emulator")?;
    let binary = match &options.binary {
        Some(binary) => binary.clone(),
        None => built.executable(&package)?,
    };
    println!("Built in {:.1} s.", started.elapsed().as_secs_f64());
    run_demo(ws, options, &emulator, &binary)
}

/// An emulator after one resync of an integration into it, still running.
#[derive(Debug)]
pub struct DemoRun {
    /// The emulator, holding the integration's catalog.
    pub emulator: Emulator,
    /// The integration's identifier in it (`<integration>-demo`).
    pub identifier: String,
    /// What the resync gave.
    pub report: DemoReport,
    /// The integration's log file.
    pub log: PathBuf,
}

impl DemoRun {
    /// What went wrong, if anything: the integration failed, the resync did not complete, or
    /// a blueprint of the integration stayed empty.
    pub fn problem(&self) -> Option<String> {
        problem(&self.report)
    }

    /// The catalog view's URL.
    pub fn catalog_url(&self) -> String {
        format!("{}/", self.emulator.base_url())
    }
}

/// Starts the emulator on a free port and resyncs the integration into it once (ONCE
/// listener); the emulator is left running in the answer, whatever the outcome.
pub fn resync_once(
    ws: &Workspace,
    options: &DemoOptions,
    emulator_binary: &std::path::Path,
    binary: &std::path::Path,
) -> Result<DemoRun> {
    let dir = ws.integration_dir(&options.integration);
    let scratch = ws.scratch("demo")?;
    let identifier = format!("{}-demo", options.integration);
    let emulator = Emulator::start(emulator_binary, &scratch.join("port-emulator.log"))?;
    println!(
        "\nPort emulator listening on {} (in memory).",
        emulator.base_url()
    );
    let under = options
        .runner
        .as_ref()
        .map(|r| format!(" under {}", r.display()))
        .unwrap_or_default();
    println!(
        "Running {}{under} once against it (ONCE listener)…",
        ws.display(binary)
    );
    let mut env = emulator.ocean_env();
    env.extend(run::once_env(&identifier)?);
    // Readable lines on the terminal (the default picks JSON when output is not a terminal).
    env.push(("APPLICATION__LOG_FORMAT".into(), "human".into()));
    env.extend(options.env.iter().cloned());
    let log = scratch.join(format!("{}.log", Workspace::package(&options.integration)));
    let measurement = run::run(&RunSpec {
        binary: binary.to_owned(),
        runner: options.runner.clone(),
        cwd: dir.clone(),
        env,
        log: log.clone(),
        echo: options.echo_logs,
        measurer: options.measurer.clone(),
        args: Vec::new(),
    })?;
    let blueprints = run::blueprint_ids(&dir.join(".port/resources"))?;
    let mut entities = Vec::new();
    for blueprint in &blueprints {
        entities.push((blueprint.clone(), emulator.count(blueprint)?));
    }
    let resync_status = emulator.last_resync_status(&identifier)?;
    Ok(DemoRun {
        emulator,
        identifier,
        report: DemoReport {
            entities,
            run: measurement,
            resync_status,
        },
        log,
    })
}

/// Runs the demo with given binaries; fails when the resync did not complete or left a
/// blueprint of the integration empty.
pub fn run_demo(
    ws: &Workspace,
    options: &DemoOptions,
    emulator_binary: &std::path::Path,
    binary: &std::path::Path,
) -> Result<DemoReport> {
    let DemoRun {
        emulator,
        identifier,
        report,
        log,
    } = resync_once(ws, options, emulator_binary, binary)?;
    print_summary(ws, options, &emulator, &identifier, &report, &log);
    let problem = problem(&report);
    if options.keep && problem.is_none() {
        println!(
            "\nThe emulator keeps running (catalog view: {}/): press Ctrl-C to stop it.",
            emulator.base_url()
        );
        process::wait_for_interrupt();
    }
    emulator.stop()?;
    println!("Port emulator stopped.");
    if let Some(problem) = problem {
        bail!(
            "{problem}\nlast lines of the integration's log ({}):\n{}",
            ws.display(&log),
            emulator::tail(&log, 15)
        );
    }
    Ok(report)
}

/// What went wrong, if anything.
fn problem(report: &DemoReport) -> Option<String> {
    if !report.run.success() {
        return Some(format!(
            "the integration exited with {}",
            report
                .run
                .code
                .map(|c| format!("status {c}"))
                .unwrap_or_else(|| "a signal".into())
        ));
    }
    if report.resync_status.as_deref() != Some("completed") {
        return Some(format!(
            "the resync did not complete (last reported state: {})",
            report.resync_status.as_deref().unwrap_or("none")
        ));
    }
    let empty: Vec<&str> = report
        .entities
        .iter()
        .filter(|(_, n)| *n == 0)
        .map(|(b, _)| b.as_str())
        .collect();
    if !empty.is_empty() {
        return Some(format!("no entities were written to {}", empty.join(", ")));
    }
    None
}

fn print_summary(
    ws: &Workspace,
    options: &DemoOptions,
    emulator: &Emulator,
    identifier: &str,
    report: &DemoReport,
    log: &std::path::Path,
) {
    let total: u64 = report.entities.iter().map(|(_, n)| n).sum();
    let seconds = report.run.wall.as_secs_f64();
    println!();
    println!(
        "Resync {}: the integration ran {seconds:.2} s from start to exit, peak memory {:.1} MiB.",
        report.resync_status.as_deref().unwrap_or("state unknown"),
        report.run.max_rss_mib()
    );
    println!();
    println!("  {:<20} {:>9}", "blueprint", "entities");
    for (blueprint, count) in &report.entities {
        println!("  {blueprint:<20} {count:>9}");
    }
    println!("  {:<20} {total:>9}", "total");
    let url = emulator.base_url();
    let first = report
        .entities
        .first()
        .map(|(b, _)| b.as_str())
        .unwrap_or("BLUEPRINT");
    println!();
    println!("Where to look:");
    println!("  {url}/                                the catalog view (open it in a browser)");
    println!("  {url}/_emulator/                      every inspection route");
    println!("  {url}/_emulator/entities?blueprint={first}");
    println!("  {url}/_emulator/blueprints");
    println!("  {url}/_emulator/integrations/{identifier}/resync-states");
    println!(
        "  logs: {} and {}",
        ws.display(log),
        ws.display(emulator.log())
    );
    println!();
    println!(
        "Run it again:  make demo   (or cargo xtask demo --keep to keep the emulator up, --help for more)"
    );
    if options.keep {
        println!(
            "Point another integration at it: OCEAN__PORT__BASE_URL={url} \
             OCEAN__PORT__CLIENT_ID={} OCEAN__PORT__CLIENT_SECRET={}",
            emulator::CLIENT_ID,
            emulator.client_secret()
        );
    } else {
        println!("The emulator stops now; `make demo KEEP=1` leaves it running until Ctrl-C.");
    }
    println!(
        "Against your own emulator or Port: see integrations/{}/README.md (`make run`).",
        options.integration
    );
}
