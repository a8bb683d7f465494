//! The Port emulator as a separate process on 127.0.0.1, started for one task and stopped with it.
//!
//! It listens on a port it picks itself (`--port 0`) and announces its URL on its first line of
//! output; everything it prints after that goes to a log file. Credentials are generated per run
//! and given on the command line, so nothing needs to be parsed from its output but the URL.
//! A separate process (rather than the in-process library) keeps its CPU time and memory out of
//! the integration's figures, and is what a user runs themselves.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::process::Managed;

/// The client id the emulator is started with.
pub const CLIENT_ID: &str = "ocean-xtask";

/// A running emulator.
#[derive(Debug)]
pub struct Emulator {
    child: Managed,
    base_url: String,
    client_secret: String,
    log: PathBuf,
}

impl Emulator {
    /// Starts `binary` (the `port-emulator` program), its output going to `log`.
    pub fn start(binary: &Path, log: &Path) -> Result<Emulator> {
        Self::start_with(binary, log, &[])
    }

    /// Starts `binary` with extra command-line arguments (`--fail-rate 0.3`, …).
    pub fn start_with(binary: &Path, log: &Path, extra: &[String]) -> Result<Emulator> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let client_secret = format!("xtask-{}-{nanos:09}", std::process::id());
        let mut log_file =
            File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let stderr = log_file.try_clone()?;
        let mut child = Command::new(binary)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--client-id",
                CLIENT_ID,
            ])
            .args(["--client-secret", &client_secret])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().context("the emulator's output")?;
        let mut child = Managed::new(child, "the Port emulator");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = writeln!(log_file, "{line}");
                if let Some(url) = listening_url(&line) {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(url);
                    }
                }
            }
        });
        let base_url = loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(url) => break url,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(status) = child.try_wait()? {
                        bail!(
                            "the Port emulator exited at start ({status}); its output:\n{}",
                            tail(log, 20)
                        );
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => bail!(
                    "the Port emulator closed its output without announcing its address:\n{}",
                    tail(log, 20)
                ),
            }
        };
        Ok(Emulator {
            child,
            base_url,
            client_secret,
            log: log.to_owned(),
        })
    }

    /// `http://127.0.0.1:PORT` — `OCEAN__PORT__BASE_URL`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The accepted client secret (generated for this run).
    pub fn client_secret(&self) -> &str {
        &self.client_secret
    }

    /// Where its output goes.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// The environment that points an integration at this emulator.
    pub fn ocean_env(&self) -> Vec<(String, String)> {
        vec![
            ("OCEAN__PORT__BASE_URL".into(), self.base_url.clone()),
            ("OCEAN__PORT__CLIENT_ID".into(), CLIENT_ID.into()),
            (
                "OCEAN__PORT__CLIENT_SECRET".into(),
                self.client_secret.clone(),
            ),
        ]
    }

    /// `GET <base_url><path>` as JSON.
    pub fn get(&self, path: &str) -> Result<Value> {
        let url = format!("{}{path}", self.base_url);
        let mut response = ureq::get(&url)
            .call()
            .with_context(|| format!("GET {url}"))?;
        let text = response
            .body_mut()
            .read_to_string()
            .with_context(|| format!("reading the answer of GET {url}"))?;
        serde_json::from_str(&text).with_context(|| format!("GET {url} answered non-JSON: {text}"))
    }

    /// How many requests the emulator answered with an injected fault (each one a retry for
    /// the client, which retries every refusal).
    pub fn injected_faults(&self) -> Result<u64> {
        let answer = self.get("/_emulator/faults")?;
        answer["injected"]
            .as_u64()
            .with_context(|| format!("the injected-fault count is not a number: {answer}"))
    }

    /// How many entities a blueprint has.
    pub fn count(&self, blueprint: &str) -> Result<u64> {
        let answer = self.get(&format!("/_emulator/count?blueprint={blueprint}"))?;
        answer["count"]
            .as_u64()
            .with_context(|| format!("the count of {blueprint} is not a number: {answer}"))
    }

    /// The last resync state an integration reported (`completed`, `failed`, …), if any.
    pub fn last_resync_status(&self, integration: &str) -> Result<Option<String>> {
        let answer = self.get(&format!(
            "/_emulator/integrations/{integration}/resync-states"
        ))?;
        Ok(answer["resyncStates"]
            .as_array()
            .and_then(|states| states.last())
            .and_then(|state| state["status"].as_str())
            .map(str::to_owned))
    }

    /// Stops the emulator (SIGINT, then SIGKILL after a grace period).
    pub fn stop(self) -> Result<()> {
        self.child.stop()?;
        Ok(())
    }
}

/// The URL in the emulator's "listening on http://…" line.
fn listening_url(line: &str) -> Option<String> {
    let (_, rest) = line.split_once("listening on ")?;
    let url = rest.split_whitespace().next()?;
    url.starts_with("http://")
        .then(|| url.trim_end_matches('/').to_owned())
}

/// The last `lines` lines of a log file, indented, for error messages.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_comes_from_the_listening_line() {
        assert_eq!(
            listening_url("Port emulator listening on http://127.0.0.1:40123"),
            Some("http://127.0.0.1:40123".to_owned())
        );
        assert_eq!(
            listening_url("  OCEAN__PORT__BASE_URL=http://127.0.0.1:1"),
            None
        );
        assert_eq!(listening_url("listening on 127.0.0.1:1"), None);
    }
}
