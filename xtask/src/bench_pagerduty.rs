//! `cargo xtask bench`'s PagerDuty part: the PagerDuty integration resyncing the fixture
//! PagerDuty (`pagerduty-fixture`, a separate process) into a fresh Port emulator with its
//! default resources.
//!
//! The account: 500 services and 20,000 incidents over the last 25 days (16,000 of them
//! resolved: the resolved-incidents resource lists more than PagerDuty's 10,000-offset limit,
//! so it goes through creation-time windows), with escalation policies, on-calls, schedules,
//! users and teams in proportion. Reported: wall time, requests made, entities per second and
//! the integration's peak RSS.

use anyhow::{Result, bail};
use std::path::PathBuf;

use crate::cargo::{self, Build};
use crate::emulator::{self, Emulator};
use crate::fixture::FixtureProcess;
use crate::measure::Measurement;
use crate::run::{self, RunSpec};
use crate::workspace::Workspace;

/// The token the fixture accepts in the benchmark.
const TOKEN: &str = "u+xtask-bench";
// (Not `pd…`: the integration sends those as OAuth `Bearer` tokens.)

/// The blueprints the default resources write.
const BLUEPRINTS: [&str; 6] = [
    "pagerdutyService",
    "pagerdutyIncident",
    "pagerdutySchedule",
    "pagerdutyOncall",
    "pagerdutyEscalationPolicy",
    "pagerdutyUser",
];

/// The account to resync.
#[derive(Debug, Clone)]
pub struct PagerDutyBenchOptions {
    /// Services.
    pub services: u64,
    /// Incidents.
    pub incidents: u64,
    /// Benchmark this `ocean-pagerduty` executable instead of a release build.
    pub binary: Option<PathBuf>,
}

impl Default for PagerDutyBenchOptions {
    fn default() -> Self {
        PagerDutyBenchOptions {
            services: 500,
            incidents: 20_000,
            binary: None,
        }
    }
}

/// The figures of the resync.
#[derive(Debug, Clone)]
pub struct PagerDutyRun {
    /// Requests the fixture received.
    pub requests: u64,
    /// Of those, `GET /incidents`.
    pub incident_requests: u64,
    /// Entities in Port afterwards.
    pub entities: u64,
    /// The integration process's figures.
    pub run: Measurement,
}

/// Runs the PagerDuty benchmark.
pub fn bench(ws: &Workspace, options: &PagerDutyBenchOptions) -> Result<PagerDutyRun> {
    let mut packages = vec!["port-emulator", "pagerduty-fixture"];
    if options.binary.is_none() {
        packages.push("ocean-pagerduty");
    }
    println!("\nBuilding {} (release)…", packages.join(", "));
    let built = cargo::build(ws, &Build::release(&packages))?;
    let binary = match &options.binary {
        Some(b) => b.clone(),
        None => built.executable("ocean-pagerduty")?,
    };
    let scratch = ws.scratch("bench-pagerduty")?;
    let emulator = Emulator::start(
        &built.executable("port-emulator")?,
        &scratch.join("port-emulator.log"),
    )?;
    let fixture = FixtureProcess::start(
        &built.executable("pagerduty-fixture")?,
        &[
            "--port",
            "0",
            "--token",
            TOKEN,
            "--services",
            &options.services.to_string(),
            "--incidents",
            &options.incidents.to_string(),
        ],
        "the PagerDuty fixture",
        &scratch.join("pagerduty-fixture.log"),
    )?;
    println!(
        "PagerDuty resync: {} services, {} incidents, default resources",
        options.services, options.incidents
    );
    let identifier = "pagerduty-bench";
    let mut env = emulator.ocean_env();
    env.extend(run::once_env(identifier)?);
    env.extend(
        [
            ("OCEAN__INITIALIZE_PORT_RESOURCES", "true".into()),
            ("OCEAN__INTEGRATION__TYPE", "pagerduty".into()),
            ("OCEAN__INTEGRATION__CONFIG__TOKEN", TOKEN.into()),
            ("OCEAN__INTEGRATION__CONFIG__API_URL", fixture.url.clone()),
            ("APPLICATION__LOG_LEVEL", "WARNING".into()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    let log = scratch.join("ocean-pagerduty.log");
    let run = run::run(&RunSpec {
        binary,
        runner: None,
        cwd: ws.integration_dir("pagerduty"),
        env,
        log: log.clone(),
        echo: false,
        measurer: None,
        args: Vec::new(),
    })?;
    let counters = fixture.take_counters()?;
    let status = emulator.last_resync_status(identifier)?;
    let incidents = emulator.count("pagerdutyIncident")?;
    let services = emulator.count("pagerdutyService")?;
    let entities = BLUEPRINTS
        .iter()
        .map(|b| emulator.count(b))
        .sum::<Result<u64>>()?;
    if !run.success()
        || status.as_deref() != Some("completed")
        || incidents != options.incidents
        || services != options.services
    {
        bail!(
            "the PagerDuty resync failed: exit {:?}, resync state {status:?}, {incidents} of {} incidents, {services} of {} services; last lines of {}:\n{}",
            run.code,
            options.incidents,
            options.services,
            ws.display(&log),
            emulator::tail(&log, 15)
        );
    }
    drop(fixture.child);
    emulator.stop()?;
    let result = PagerDutyRun {
        requests: counters["requests"].as_u64().unwrap_or(0),
        incident_requests: counters["by_path"]["GET /incidents"].as_u64().unwrap_or(0),
        entities,
        run,
    };
    println!();
    println!("PagerDuty resync (fixture PagerDuty → ocean-pagerduty → Port emulator):");
    println!(
        "  {:>9} {:>9} {:>17} {:>9} {:>11} {:>10}",
        "wall s", "requests", "GET /incidents", "entities", "entities/s", "peak RSS"
    );
    println!(
        "  {:>9.2} {:>9} {:>17} {:>9} {:>11.0} {:>6.1} MiB",
        result.run.wall.as_secs_f64(),
        result.requests,
        result.incident_requests,
        result.entities,
        result.entities as f64 / result.run.wall.as_secs_f64().max(1e-9),
        result.run.max_rss_mib()
    );
    Ok(result)
}
