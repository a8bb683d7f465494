//! Building with cargo from inside the xtask, and finding what was built.
//!
//! Executables are located from cargo's JSON messages rather than guessed from the profile and
//! target names, so `CARGO_TARGET_DIR`, custom profiles and cross targets need no special cases.
//! Cargo's own progress and diagnostics still go to the terminal.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::tools::Zigbuild;
use crate::workspace::Workspace;

/// What to build.
#[derive(Debug, Clone)]
pub struct Build {
    /// Packages (`-p`).
    pub packages: Vec<String>,
    /// The profile (`release`, `dist`, …).
    pub profile: String,
    /// Target triples other than the host's (`--target`, one each; several build in one run).
    pub targets: Vec<String>,
    /// Extra environment for cargo (e.g. target-specific `RUSTFLAGS`).
    pub env: Vec<(String, String)>,
    /// Cargo features to enable on top of the defaults (`--features`).
    pub features: Vec<String>,
    /// Build through `cargo-zigbuild` (Zig as C compiler and linker) instead of plain cargo.
    pub zigbuild: Option<Zigbuild>,
}

impl Build {
    /// A release build of `packages` for the host.
    pub fn release(packages: &[&str]) -> Build {
        Build {
            packages: packages.iter().map(|p| (*p).to_owned()).collect(),
            profile: "release".to_owned(),
            targets: Vec::new(),
            env: Vec::new(),
            features: Vec::new(),
            zigbuild: None,
        }
    }
}

/// What a build produced.
#[derive(Debug, Clone)]
pub struct Built {
    /// Binary name and path of each executable, in the order cargo announced them.
    pub executables: Vec<(String, PathBuf)>,
    /// How long cargo ran.
    pub elapsed: Duration,
}

impl Built {
    /// The executable of binary `name` (of the last target built, when there were several).
    pub fn executable(&self, name: &str) -> Result<PathBuf> {
        self.executables
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, path)| path.clone())
            .with_context(|| format!("cargo built no binary named `{name}`"))
    }

    /// The executable of binary `name` built for `triple` (its path has a `triple` folder).
    pub fn executable_for(&self, name: &str, triple: &str) -> Result<PathBuf> {
        self.executables
            .iter()
            .find(|(n, path)| n == name && path.components().any(|c| c.as_os_str() == triple))
            .map(|(_, path)| path.clone())
            .with_context(|| format!("cargo built no binary named `{name}` for {triple}"))
    }
}

/// The cargo that runs this xtask (`$CARGO`), else `cargo` from `PATH`.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs `cargo build` (or `cargo-zigbuild zigbuild`) and returns the executables it produced.
pub fn build(ws: &Workspace, build: &Build) -> Result<Built> {
    let (mut cmd, verb) = match &build.zigbuild {
        Some(zigbuild) => (zigbuild.command(ws), "cargo zigbuild"),
        None => {
            let mut cmd = cargo();
            cmd.current_dir(ws.root()).arg("build");
            (cmd, "cargo build")
        }
    };
    cmd.args(["--message-format=json-render-diagnostics", "--profile"])
        .arg(&build.profile);
    for package in &build.packages {
        cmd.args(["-p", package]);
    }
    for target in &build.targets {
        cmd.args(["--target", target]);
    }
    if !build.features.is_empty() {
        cmd.args(["--features", &build.features.join(",")]);
    }
    cmd.envs(build.env.iter().map(|(k, v)| (k, v)));
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let what = format!(
        "{verb} --profile {} -p {}",
        build.profile,
        build.packages.join(" -p ")
    );
    let started = Instant::now();
    let mut child = cmd.spawn().with_context(|| format!("starting {what}"))?;
    let mut executables = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.with_context(|| format!("reading the output of {what}"))?;
            if let Some(found) = executable(&line) {
                executables.push(found);
            }
        }
    }
    let status = child
        .wait()
        .with_context(|| format!("waiting for {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(Built {
        executables,
        elapsed: started.elapsed(),
    })
}

/// The binary name and path announced by one JSON message line, if it announces an executable.
fn executable(line: &str) -> Option<(String, PathBuf)> {
    let message: Value = serde_json::from_str(line).ok()?;
    if message["reason"] != "compiler-artifact" {
        return None;
    }
    let path = message["executable"].as_str()?;
    let kinds = message["target"]["kind"].as_array()?;
    if !kinds.iter().any(|k| k == "bin") {
        return None;
    }
    let name = message["target"]["name"].as_str()?;
    Some((name.to_owned(), PathBuf::from(path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(line: &str, expected: Option<(&str, &str)>) {
        let got = executable(line);
        let got = got.as_ref().map(|(n, p)| (n.as_str(), p.to_str().unwrap()));
        assert_eq!(got, expected);
    }

    #[test]
    fn executables_come_from_bin_artifacts_only() {
        check(
            r#"{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"ocean-fake"},"executable":"/t/release/ocean-fake"}"#,
            Some(("ocean-fake", "/t/release/ocean-fake")),
        );
        check(
            r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"ocean_fake"},"executable":null}"#,
            None,
        );
        check(
            r#"{"reason":"compiler-artifact","target":{"kind":["custom-build"],"name":"build-script-build"},"executable":"/t/b"}"#,
            None,
        );
        check(r#"{"reason":"build-finished","success":true}"#, None);
        check("not json", None);
    }

    #[test]
    fn executables_are_found_per_target() {
        let built = Built {
            executables: vec![
                (
                    "ocean-fake".into(),
                    "/t/x86_64-unknown-linux-musl/dist/ocean-fake".into(),
                ),
                (
                    "ocean-fake".into(),
                    "/t/aarch64-unknown-linux-musl/dist/ocean-fake".into(),
                ),
            ],
            elapsed: Duration::ZERO,
        };
        assert_eq!(
            built
                .executable_for("ocean-fake", "aarch64-unknown-linux-musl")
                .unwrap(),
            PathBuf::from("/t/aarch64-unknown-linux-musl/dist/ocean-fake")
        );
        assert!(
            built
                .executable_for("ocean-fake", "riscv64gc-unknown-linux-musl")
                .is_err()
        );
        assert!(built.executable("ocean-emulator").is_err());
    }
}
