//! Measuring one program run: wall time, CPU time and peak resident memory.
//!
//! The peak RSS of a process is only exactly known once it has exited, from the kernel's resource
//! accounting of the parent that reaps it (`getrusage(RUSAGE_CHILDREN)`, the `ru_maxrss` of
//! `wait4`). Those figures cover every child a process has reaped, so the xtask — whose own
//! children include cargo — re-runs itself as a tiny wrapper (`xtask __measure`) whose only child
//! is the measured program; the wrapper writes a JSON report. Signals the wrapper gets (Ctrl-C,
//! a stop request) are passed on to the program.

use anyhow::{Context, Result, bail};
use nix::sys::resource::{UsageWho, getrusage};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

static CHILD: AtomicI32 = AtomicI32::new(0);

/// The figures of one measured run.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// The exit code, or `None` when a signal ended it.
    pub code: Option<i32>,
    /// Wall time from spawn to exit.
    pub wall: Duration,
    /// CPU time in user mode.
    pub user: Duration,
    /// CPU time in kernel mode.
    pub system: Duration,
    /// Peak resident set size, in KiB.
    pub max_rss_kib: u64,
}

impl Measurement {
    /// Whether it exited with status 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Peak RSS in MiB.
    pub fn max_rss_mib(&self) -> f64 {
        self.max_rss_kib as f64 / 1024.0
    }

    fn to_json(&self) -> Value {
        json!({
            "code": self.code,
            "wallMicros": self.wall.as_micros() as u64,
            "userMicros": self.user.as_micros() as u64,
            "systemMicros": self.system.as_micros() as u64,
            "maxRssKib": self.max_rss_kib,
        })
    }

    /// Reads a report written by [`run_and_report`].
    pub fn from_json(value: &Value) -> Result<Measurement> {
        let micros = |key: &str| -> Result<Duration> {
            value[key]
                .as_u64()
                .map(Duration::from_micros)
                .with_context(|| format!("measurement report without `{key}`: {value}"))
        };
        Ok(Measurement {
            code: value["code"].as_i64().map(|c| c as i32),
            wall: micros("wallMicros")?,
            user: micros("userMicros")?,
            system: micros("systemMicros")?,
            max_rss_kib: value["maxRssKib"]
                .as_u64()
                .with_context(|| format!("measurement report without `maxRssKib`: {value}"))?,
        })
    }
}

/// The wrapper's work: runs `command` (stdio inherited), waits, writes the report to `report`
/// and returns the program's exit code.
pub fn run_and_report(report: &Path, command: &[OsString]) -> Result<i32> {
    let (program, args) = command.split_first().context("no command to measure")?;
    ctrlc::set_handler(|| {
        let pid = CHILD.load(Ordering::SeqCst);
        if pid > 0 {
            let _ = kill(Pid::from_raw(pid), Signal::SIGINT);
        }
    })
    .context("installing the signal handler")?;
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .spawn()
        .with_context(|| format!("starting {}", program.to_string_lossy()))?;
    CHILD.store(i32::try_from(child.id()).unwrap_or(0), Ordering::SeqCst);
    let status = child.wait().context("waiting for the measured program")?;
    let wall = started.elapsed();
    CHILD.store(0, Ordering::SeqCst);
    let usage =
        getrusage(UsageWho::RUSAGE_CHILDREN).context("reading the child's resource usage")?;
    let time = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(t.tv_sec().max(0) as u64)
            + Duration::from_micros(t.tv_usec().max(0) as u64)
    };
    let measurement = Measurement {
        code: status.code(),
        wall,
        user: time(usage.user_time()),
        system: time(usage.system_time()),
        // Linux reports ru_maxrss in KiB.
        max_rss_kib: usage.max_rss().max(0) as u64,
    };
    std::fs::write(report, measurement.to_json().to_string())
        .with_context(|| format!("writing {}", report.display()))?;
    Ok(status.code().unwrap_or(128 + 2))
}

/// Reads the report the wrapper wrote.
pub fn read_report(report: &Path) -> Result<Measurement> {
    let text = std::fs::read_to_string(report)
        .with_context(|| format!("reading the measurement report {}", report.display()))?;
    if text.trim().is_empty() {
        bail!("the measurement report {} is empty", report.display());
    }
    let value: Value = serde_json::from_str(&text)
        .with_context(|| format!("parsing the measurement report {}", report.display()))?;
    Measurement::from_json(&value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_round_trip() {
        let m = Measurement {
            code: Some(3),
            wall: Duration::from_millis(1500),
            user: Duration::from_micros(700_001),
            system: Duration::from_micros(12),
            max_rss_kib: 20_480,
        };
        assert_eq!(Measurement::from_json(&m.to_json()).unwrap(), m);
        assert!(!m.success());
        assert_eq!(m.max_rss_mib(), 20.0);
        let killed = Measurement { code: None, ..m };
        assert_eq!(
            Measurement::from_json(&killed.to_json()).unwrap().code,
            None
        );
    }
}
