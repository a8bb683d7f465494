//! Running an integration binary once (ONCE listener) under measurement, with its output
//! streamed to the terminal (indented) or only to a log file.

use anyhow::{Context, Result};
use std::ffi::OsString;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use crate::measure::{self, Measurement};
use crate::process::{self, Managed};

/// How to run the integration.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The integration's executable.
    pub binary: PathBuf,
    /// The program that runs it, if not run directly (`qemu-aarch64` for a foreign binary).
    pub runner: Option<PathBuf>,
    /// Its working directory (where `.port/` and `config.yaml` are read).
    pub cwd: PathBuf,
    /// Environment variables added to the xtask's own.
    pub env: Vec<(String, String)>,
    /// Where its output is written.
    pub log: PathBuf,
    /// Whether to echo its output to the terminal as well.
    pub echo: bool,
    /// The xtask executable that measures the run (`xtask __measure`); `None`: the running one
    /// (tests, whose executable is not xtask, name `CARGO_BIN_EXE_xtask`).
    pub measurer: Option<PathBuf>,
    /// Arguments of the integration (`--dry-run`).
    pub args: Vec<String>,
}

/// The environment every run gets: one resync then exit, the integration identifier, and its
/// HTTP server on a free port of 127.0.0.1 (never the network, never colliding with another run
/// or with port 8000).
pub fn once_env(identifier: &str) -> Result<Vec<(String, String)>> {
    Ok(vec![
        ("OCEAN__EVENT_LISTENER__TYPE".into(), "ONCE".into()),
        ("OCEAN__INTEGRATION__IDENTIFIER".into(), identifier.into()),
        ("APPLICATION__HOST".into(), "127.0.0.1".into()),
        (
            "APPLICATION__PORT".into(),
            process::free_port()?.to_string(),
        ),
    ])
}

/// Runs the integration to completion and measures it.
pub fn run(spec: &RunSpec) -> Result<Measurement> {
    let report = spec.log.with_extension("measure.json");
    let _ = std::fs::remove_file(&report);
    let xtask = match &spec.measurer {
        Some(xtask) => xtask.clone(),
        None => std::env::current_exe().context("locating the xtask executable")?,
    };
    let mut command: Vec<OsString> = vec!["__measure".into(), "--report".into()];
    command.push(report.clone().into());
    command.push("--".into());
    if let Some(runner) = &spec.runner {
        command.push(runner.clone().into());
    }
    command.push(spec.binary.clone().into());
    command.extend(spec.args.iter().map(OsString::from));
    let log = Arc::new(Mutex::new(
        File::create(&spec.log).with_context(|| format!("creating {}", spec.log.display()))?,
    ));
    let mut child = Command::new(xtask)
        .args(&command)
        .current_dir(&spec.cwd)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", spec.binary.display()))?;
    let pipes = [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    ];
    let name = spec
        .binary
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let child = Managed::new(child, name);
    let copiers: Vec<_> = pipes
        .into_iter()
        .flatten()
        .map(|pipe| {
            let (log, echo) = (log.clone(), spec.echo);
            std::thread::spawn(move || copy_lines(pipe, &log, echo))
        })
        .collect();
    child.wait()?;
    for copier in copiers {
        let _ = copier.join();
    }
    measure::read_report(&report)
}

fn copy_lines(pipe: Box<dyn std::io::Read + Send>, log: &Mutex<File>, echo: bool) {
    for line in BufReader::new(pipe).lines().map_while(Result::ok) {
        if let Ok(mut log) = log.lock() {
            let _ = writeln!(log, "{line}");
        }
        if echo {
            println!("  │ {line}");
        }
    }
}

/// The integration directory's `.port/resources/blueprints.json` identifiers, in file order.
pub fn blueprint_ids(resources: &Path) -> Result<Vec<String>> {
    let path = resources.join("blueprints.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let blueprints: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(blueprints
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|b| b["identifier"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}
