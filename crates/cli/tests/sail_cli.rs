//! `ocean sail`, `ocean list`, `ocean version`, `ocean completions` and `ocean --help` end to end:
//! the built `ocean` binary, the repository's own integrations, and the Port emulator in this
//! process on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use port_emulator::{EmulatorConfig, RunningEmulator};

/// The repository root (this crate is `crates/cli`).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root exists")
}

/// `ocean ARGS` in `cwd`, without a terminal and without any Port settings of the caller.
fn ocean(cwd: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ocean"));
    command.current_dir(cwd).stdin(Stdio::null());
    for (name, _) in std::env::vars() {
        if name.starts_with("OCEAN__")
            || name.starts_with("PORT_")
            || name.starts_with("APPLICATION__")
        {
            command.env_remove(name);
        }
    }
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A free port on 127.0.0.1 for the integration's HTTP server.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn count(emulator: &RunningEmulator, blueprint: &str) -> u64 {
    let url = format!(
        "{}/_emulator/count?blueprint={blueprint}",
        emulator.base_url()
    );
    let answer: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    answer["count"]
        .as_u64()
        .unwrap_or_else(|| panic!("{url}: {answer}"))
}

/// `ocean sail integrations/fake --once` (dev profile: the binary `cargo test` already built)
/// against an emulator ends with the fake catalog in Port.
#[tokio::test(flavor = "multi_thread")]
async fn sail_once_syncs_the_catalog_into_port() {
    let emulator = port_emulator::spawn(EmulatorConfig::default())
        .await
        .unwrap();
    let root = repo_root();
    let mut command = ocean(&root);
    command
        .args([
            "sail",
            "integrations/fake",
            "--once",
            "--profile",
            "dev",
            "-l",
            "WARNING",
        ])
        .args(["-p", &free_port().to_string()])
        .env("OCEAN__PORT__BASE_URL", emulator.base_url())
        .env("OCEAN__PORT__CLIENT_ID", emulator.client_id())
        .env(
            "OCEAN__PORT__CLIENT_SECRET",
            emulator.client_secret().expose(),
        )
        .env("OCEAN__INTEGRATION__CONFIG__ITEM_COUNT", "10")
        .env("APPLICATION__HOST", "127.0.0.1");
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(count(&emulator, "fakeTeam").await, 5);
    assert_eq!(count(&emulator, "fakeService").await, 20);
    assert_eq!(count(&emulator, "fakeDeployment").await, 100);
}

/// With no Port configured, `ocean sail` starts the local emulator for the run, as `make run`.
#[test]
fn sail_without_port_settings_runs_against_a_local_emulator() {
    let out = ocean(&repo_root().join("integrations/fake"))
        .args([
            "sail",
            "--once",
            "--profile",
            "dev",
            "-p",
            &free_port().to_string(),
        ])
        .env("OCEAN__INTEGRATION__CONFIG__ITEM_COUNT", "10")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("a local Port emulator runs for this session"),
        "{stderr}"
    );
    assert!(stderr.contains("Port emulator stopped."), "{stderr}");
}

#[test]
fn sail_outside_an_integration_fails_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out: Output = ocean(dir.path()).arg("sail").output().unwrap();
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: . is not an Ocean integration: it has no .port/spec.yaml"),
        "{stderr}"
    );
}

#[test]
fn list_shows_the_workspace_integrations() {
    let out = ocean(&repo_root().join("crates"))
        .arg("list")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("NAME"), "{stdout}");
    let fake = lines
        .iter()
        .find(|l| l.starts_with("fake "))
        .expect("fake is listed");
    assert!(
        fake.contains("opt-in (--features kafka)") && fake.contains("team, service"),
        "{fake}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("pagerduty ")),
        "{stdout}"
    );
}

#[test]
fn help_lists_every_command_once_with_one_line() {
    let out = ocean(&repo_root()).arg("--help").output().unwrap();
    let stdout = text(&out.stdout);
    for command in [
        "sail",
        "new",
        "list",
        "map",
        "playground",
        "version",
        "completions",
    ] {
        let lines: Vec<&str> = stdout
            .lines()
            .filter(|l| l.trim_start().starts_with(&format!("{command} ")))
            .collect();
        assert_eq!(lines.len(), 1, "{command}: {stdout}");
    }
    let version = ocean(&repo_root())
        .args(["version", "--short"])
        .output()
        .unwrap();
    assert_eq!(text(&version.stdout).trim(), env!("CARGO_PKG_VERSION"));
    for shell in ["bash", "zsh", "fish"] {
        let out = ocean(&repo_root())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        assert!(text(&out.stdout).contains("sail"), "{shell}");
    }
}
