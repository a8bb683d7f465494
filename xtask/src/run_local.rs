//! `cargo xtask run NAME` (`make run` in an integration folder): build the integration (release)
//! and run it in its folder, so it reads its `.port/`, `config.yaml` and `.env` as in production.
//!
//! Which Port it talks to is the user's choice, made in the usual places: when the environment
//! or the folder's `.env` names Port credentials or a base URL (`OCEAN__PORT__…`, or the
//! `PORT_CLIENT_ID`/`PORT_CLIENT_SECRET`/`PORT_BASE_URL` that the example `config.yaml` reads),
//! the integration runs against that, untouched. Otherwise there is nothing to talk to, so a
//! local Port emulator is started for the run (and stopped with it) rather than failing on
//! missing credentials. The listener is the configured one (POLLING by default: it runs until
//! Ctrl-C); `--once` runs one resync and exits.

use anyhow::{Result, bail};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::cargo::{self, Build};
use crate::emulator::{self, Emulator};
use crate::process::Managed;
use crate::workspace::Workspace;

/// Environment variables that mean "this Port": any one of them set keeps the emulator out.
pub const PORT_VARIABLES: [&str; 6] = [
    "OCEAN__PORT__BASE_URL",
    "OCEAN__PORT__CLIENT_ID",
    "OCEAN__PORT__CLIENT_SECRET",
    "PORT_BASE_URL",
    "PORT_CLIENT_ID",
    "PORT_CLIENT_SECRET",
];

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

/// Builds and runs the integration until it exits (or Ctrl-C).
pub fn run(ws: &Workspace, integration: &str, once: bool) -> Result<()> {
    let dir = ws.integration_dir(integration);
    if !dir.join("Cargo.toml").is_file() {
        bail!(
            "there is no integration `{integration}` (no {})",
            ws.display(&dir)
        );
    }
    let package = Workspace::package(integration);
    let vars: Vec<(String, String)> = std::env::vars().collect();
    let dotenv = std::fs::read_to_string(dir.join(".env")).ok();
    let configured = port_configured(
        vars.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        dotenv.as_deref(),
    );
    let mut packages = vec![package.as_str()];
    if !configured {
        packages.push("port-emulator");
    }
    println!("Building {} (release)…", packages.join(" and "));
    let built = cargo::build(ws, &Build::release(&packages))?;
    let binary = built.executable(&package)?;

    let mut command = Command::new(&binary);
    command
        .current_dir(&dir)
        .stdin(Stdio::null())
        .process_group(0);
    if once {
        command.env("OCEAN__EVENT_LISTENER__TYPE", "ONCE");
    }
    let emulator = if configured {
        println!("Running {package} against the Port configured in your environment / .env.");
        None
    } else {
        let scratch = ws.scratch("run")?;
        let emulator = Emulator::start(
            &built.executable("port-emulator")?,
            &scratch.join("port-emulator.log"),
        )?;
        print_emulator(&emulator, &scratch.join("port-emulator.log"), ws);
        command.envs(emulator.ocean_env());
        // Nothing was configured, so nothing is exposed: the integration's HTTP server listens
        // on 127.0.0.1 unless the user chose otherwise.
        if std::env::var_os("APPLICATION__HOST").is_none() {
            command.env("APPLICATION__HOST", "127.0.0.1");
        }
        Some(emulator)
    };
    println!(
        "{} {}\n",
        ws.display(&binary),
        if once {
            "(one resync)"
        } else {
            "(Ctrl-C stops it)"
        }
    );
    let child = command.spawn()?;
    let status = Managed::new(child, package.clone()).wait()?;
    if let Some(emulator) = emulator {
        emulator.stop()?;
        println!("Port emulator stopped.");
    }
    if !status.success() {
        bail!("{package} exited with {status}");
    }
    Ok(())
}

fn print_emulator(emulator: &Emulator, log: &Path, ws: &Workspace) {
    println!(
        "No Port configured (set OCEAN__PORT__CLIENT_ID, OCEAN__PORT__CLIENT_SECRET and, for \
         another region or an emulator, OCEAN__PORT__BASE_URL), so a local Port emulator runs \
         for this session:"
    );
    println!(
        "  {}  (in memory; log {})",
        emulator.base_url(),
        ws.display(log)
    );
    println!("  browse: {}/_emulator/", emulator.base_url());
    println!(
        "  credentials: client id {}, secret {}",
        emulator::CLIENT_ID,
        emulator.client_secret()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(env: &[(&str, &str)], dotenv: Option<&str>, expected: bool) {
        assert_eq!(
            port_configured(env.iter().copied(), dotenv),
            expected,
            "{env:?} {dotenv:?}"
        );
    }

    #[test]
    fn any_port_setting_means_configured() {
        check(&[], None, false);
        check(
            &[("HOME", "/root"), ("OCEAN__PORT__BASE_URL", "")],
            None,
            false,
        );
        check(&[("OCEAN__PORT__CLIENT_ID", "abc")], None, true);
        check(&[("ocean__port__base_url", "http://x")], None, true);
        check(&[("PORT_CLIENT_SECRET", "s")], None, true);
        check(&[], Some("# comment\nOCEAN__LOG_LEVEL=DEBUG\n"), false);
        check(&[], Some("export OCEAN__PORT__CLIENT_ID=\"abc\"\n"), true);
        check(&[], Some("OCEAN__PORT__CLIENT_ID=''\n"), false);
    }
}
