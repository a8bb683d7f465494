//! `ocean sail [PATH]`: run the integration in a folder the way `make run` does there.
//!
//! Inside an Ocean workspace the integration's package is built with cargo (release by default;
//! cargo does nothing when the binary is up to date) and the executable cargo reports is run.
//! Outside a workspace, an `ocean-NAME` executable on `PATH` is run instead. Either way it runs
//! with the folder as its working directory, so it reads its `.port/`, `config.yaml` and `.env`
//! as in production, and Python Ocean's sail flags are passed through to it.
//!
//! Which Port it talks to is decided as `make run` decides: when the environment or the folder's
//! `.env` names Port credentials or a base URL, that Port; otherwise a local Port emulator is
//! started in this process for the run (and stopped with it), and its address and credentials
//! are printed.

use anyhow::{Context, bail};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use crate::integration::Integration;

/// Environment variables that mean "this Port": any one of them set keeps the emulator out.
pub const PORT_VARIABLES: [&str; 6] = [
    "OCEAN__PORT__BASE_URL",
    "OCEAN__PORT__CLIENT_ID",
    "OCEAN__PORT__CLIENT_SECRET",
    "PORT_BASE_URL",
    "PORT_CLIENT_ID",
    "PORT_CLIENT_SECRET",
];

/// What `ocean sail` was asked for.
#[derive(Debug, Clone)]
pub struct SailOptions {
    /// The integration folder.
    pub path: PathBuf,
    /// Python Ocean's sail flags, as given, passed to the integration unchanged
    /// (`--once`, `--log-level X`, `--port N`, `--initialize-port-resources B`, `--version`).
    pub passthrough: Vec<String>,
    /// The cargo profile to build with inside a workspace (`release`, as `make run`).
    pub profile: String,
}

/// Whether the user configured a Port: in `env` (name, value) or in the folder's `.env` text.
pub fn port_configured<'a>(
    env: impl IntoIterator<Item = (&'a str, &'a str)>,
    dotenv: Option<&str>,
) -> bool {
    let set = |name: &str, value: &str| {
        PORT_VARIABLES.contains(&name.trim().to_ascii_uppercase().as_str())
            && !value.trim().trim_matches(['"', '\'']).is_empty()
    };
    env.into_iter().any(|(k, v)| set(k, v))
        || dotenv.is_some_and(|text| {
            text.lines().any(|line| {
                let line = line.trim().trim_start_matches("export ");
                line.split_once('=').is_some_and(|(k, v)| set(k, v))
            })
        })
}

/// Runs the integration in `options.path` until it exits; its exit code is returned.
pub fn sail(options: &SailOptions) -> anyhow::Result<ExitCode> {
    let integration = Integration::open(&options.path)?;
    let binary = executable(&integration, &options.profile)?;
    let asks_version = options.passthrough.iter().any(|a| a == "--version");
    let vars: Vec<(String, String)> = std::env::vars().collect();
    let dotenv = std::fs::read_to_string(integration.dir.join(".env")).ok();
    let configured = asks_version
        || port_configured(
            vars.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            dotenv.as_deref(),
        );

    let mut command = Command::new(&binary);
    command
        .args(&options.passthrough)
        .current_dir(&integration.dir);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        // The integration gets Ctrl-C from the terminal itself and stops gracefully; this
        // process stays up meanwhile (it may be serving the emulator the integration talks to).
        tokio::spawn(async { while tokio::signal::ctrl_c().await.is_ok() {} });
        let emulator = if configured {
            None
        } else {
            let emulator = port_emulator::spawn(port_emulator::EmulatorConfig::default())
                .await
                .context("starting the local Port emulator")?;
            print_emulator(&emulator);
            command
                .env("OCEAN__PORT__BASE_URL", emulator.base_url())
                .env("OCEAN__PORT__CLIENT_ID", emulator.client_id())
                .env(
                    "OCEAN__PORT__CLIENT_SECRET",
                    emulator.client_secret().expose(),
                );
            // Nothing was configured, so nothing is exposed: the integration's HTTP server
            // listens on 127.0.0.1 unless the user chose otherwise.
            if std::env::var_os("APPLICATION__HOST").is_none() {
                command.env("APPLICATION__HOST", "127.0.0.1");
            }
            Some(emulator)
        };
        eprintln!(
            "Running {} in {}",
            binary.display(),
            integration.dir.display()
        );
        let status = tokio::task::spawn_blocking(move || command.status())
            .await
            .context("waiting for the integration")?
            .with_context(|| format!("running {}", binary.display()))?;
        if let Some(emulator) = emulator {
            emulator
                .shutdown()
                .await
                .context("stopping the local Port emulator")?;
            eprintln!("Port emulator stopped.");
        }
        let code = status
            .code()
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(1);
        Ok(ExitCode::from(code))
    })
}

/// The integration's executable: built with cargo in `profile` inside a workspace, else the
/// `ocean-NAME` on `PATH`.
pub fn executable(integration: &Integration, profile: &str) -> anyhow::Result<PathBuf> {
    match integration.workspace() {
        Some(workspace) => build(workspace, integration, profile),
        None => on_path(&integration.binary_name()).with_context(|| {
            format!(
                "{} is outside an Ocean workspace and no {} executable is on PATH",
                integration.dir.display(),
                integration.binary_name()
            )
        }),
    }
}

fn print_emulator(emulator: &port_emulator::RunningEmulator) {
    eprintln!(
        "No Port configured (set OCEAN__PORT__CLIENT_ID, OCEAN__PORT__CLIENT_SECRET and, for \
         another region or an emulator, OCEAN__PORT__BASE_URL), so a local Port emulator runs \
         for this session:"
    );
    eprintln!("  {}  (in memory)", emulator.base_url());
    eprintln!("  browse: {}/_emulator/", emulator.base_url());
    eprintln!(
        "  credentials: client id {}, secret {}",
        emulator.client_id(),
        emulator.client_secret().expose()
    );
}

/// Builds the integration's package in `workspace` with `profile` and returns its executable
/// (from cargo's JSON messages, so `CARGO_TARGET_DIR` and custom profiles need no special case).
pub fn build(
    workspace: &Path,
    integration: &Integration,
    profile: &str,
) -> anyhow::Result<PathBuf> {
    let package = integration.package.as_deref().with_context(|| {
        format!(
            "{} has no Cargo.toml naming its package",
            integration.dir.display()
        )
    })?;
    eprintln!("Building {package} ({profile}; nothing to do when it is up to date)…");
    let mut child = cargo()
        .args(["build", "--message-format=json-render-diagnostics"])
        .args(["--profile", profile, "-p", package])
        .current_dir(workspace)
        .stdout(Stdio::piped())
        .spawn()
        .context("running cargo build")?;
    let stdout = child.stdout.take().context("cargo's output")?;
    let mut executable = None;
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if message["reason"] == "compiler-artifact"
            && message["target"]["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"))
            && message["target"]["name"] == integration.binary_name().as_str()
        {
            executable = message["executable"].as_str().map(PathBuf::from);
        }
    }
    let status = child.wait().context("waiting for cargo build")?;
    if !status.success() {
        bail!("cargo build --profile {profile} -p {package} failed ({status})");
    }
    executable.with_context(|| format!("cargo built no binary named {}", integration.binary_name()))
}

/// The cargo that runs this tool (`$CARGO`), else `cargo` from `PATH`.
fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// The executable `name` in one of `PATH`'s directories.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_port_setting_means_configured() {
        let check = |env: &[(&str, &str)], dotenv: Option<&str>| {
            port_configured(env.iter().copied(), dotenv)
        };
        assert!(!check(&[], None));
        assert!(!check(&[("OCEAN__PORT__BASE_URL", " ")], None));
        assert!(check(&[("ocean__port__client_id", "abc")], None));
        assert!(check(&[("PORT_CLIENT_SECRET", "s")], None));
        assert!(!check(&[], Some("# c\nOCEAN__LOG_LEVEL=DEBUG\n")));
        assert!(check(&[], Some("export OCEAN__PORT__CLIENT_ID=\"abc\"\n")));
        assert!(!check(&[], Some("OCEAN__PORT__CLIENT_ID=''\n")));
    }
}
