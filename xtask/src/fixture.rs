//! Fixture API processes the benchmarks run beside an integration: started, waited for, their
//! counters read.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::emulator;
use crate::process::Managed;

/// A running fixture API process (`github-fixture`, `pagerduty-fixture`): started with its
/// arguments, ready once it printed `listening on URL`.
pub struct FixtureProcess {
    /// The process (killed when dropped).
    pub child: Managed,
    /// Its base URL.
    pub url: String,
}

impl FixtureProcess {
    /// Starts `binary` with `args`, its output in `log`; `name` names it in errors.
    pub fn start(binary: &Path, args: &[&str], name: &str, log: &Path) -> Result<FixtureProcess> {
        let mut log_file =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let stderr = log_file.try_clone()?;
        let mut child = Command::new(binary)
            .args(args)
            .stdin(Stdio::null())
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().context("the fixture's output")?;
        let mut child = Managed::new(child, name.to_owned());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = writeln!(log_file, "{line}");
                if let Some(url) = line.strip_prefix("listening on ") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(url.trim().to_owned());
                    }
                }
            }
        });
        let url = loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(url) => break url,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(status) = child.try_wait()? {
                        bail!(
                            "{name} exited at start ({status}):\n{}",
                            emulator::tail(log, 20)
                        );
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => bail!(
                    "{name} closed its output without its address:\n{}",
                    emulator::tail(log, 20)
                ),
            }
        };
        Ok(FixtureProcess { child, url })
    }

    /// What it counted since the last reset (`GET /_fixture/reset`), then resets.
    pub fn take_counters(&self) -> Result<Value> {
        let url = format!("{}/_fixture/reset", self.url);
        let mut response = ureq::get(&url)
            .call()
            .with_context(|| format!("GET {url}"))?;
        let text = response.body_mut().read_to_string()?;
        serde_json::from_str(&text).with_context(|| format!("GET {url} answered non-JSON: {text}"))
    }
}
