//! `ocean sail`, `ocean defaults`, `ocean list`, `ocean version`, `ocean completions` and
//! `ocean --help` end to end:
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
    let out = ocean_against(
        &emulator,
        &[
            "sail",
            "integrations/fake",
            "--once",
            "--profile",
            "dev",
            "-l",
            "WARNING",
        ],
    )
    .await;
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

/// Port's API on the emulator, as a user would call it: a token, then `METHOD /v1/PATH`.
async fn port_api(
    emulator: &RunningEmulator,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> reqwest::Response {
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{}/v1/auth/access_token", emulator.base_url()))
        .json(&serde_json::json!({
            "clientId": emulator.client_id(),
            "clientSecret": emulator.client_secret().expose(),
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut request = http
        .request(method, format!("{}/v1/{path}", emulator.base_url()))
        .bearer_auth(token["accessToken"].as_str().unwrap());
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// The identifiers of the blueprints in Port, sorted.
async fn blueprints(emulator: &RunningEmulator) -> Vec<String> {
    let answer: serde_json::Value = port_api(emulator, reqwest::Method::GET, "blueprints", None)
        .await
        .json()
        .await
        .unwrap();
    let mut ids: Vec<String> = answer["blueprints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bp| bp["identifier"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// `ocean ARGS` in the repository against `emulator`, run off the async runtime.
async fn ocean_against(emulator: &RunningEmulator, args: &[&str]) -> Output {
    let mut command = ocean(&repo_root());
    command
        .args(args)
        .env("OCEAN__PORT__BASE_URL", emulator.base_url())
        .env("OCEAN__PORT__CLIENT_ID", emulator.client_id())
        .env(
            "OCEAN__PORT__CLIENT_SECRET",
            emulator.client_secret().expose(),
        )
        .env("OCEAN__INTEGRATION__CONFIG__ITEM_COUNT", "10")
        .env("APPLICATION__HOST", "127.0.0.1")
        .env("APPLICATION__PORT", free_port().to_string());
    tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap()
}

const FAKE_DEFAULTS: [&str; 5] = [
    "benchGroup",
    "benchItem",
    "fakeDeployment",
    "fakeService",
    "fakeTeam",
];

/// `ocean defaults dock` creates exactly the fake integration's default blueprints (next to a
/// user's own, untouched) without a resync; `clean` removes exactly those; a clean after a resync
/// keeps blueprints that have entities unless `--force`, which takes them with their entities.
#[tokio::test(flavor = "multi_thread")]
async fn defaults_dock_then_clean_creates_and_removes_exactly_the_default_blueprints() {
    let emulator = port_emulator::spawn(EmulatorConfig::default())
        .await
        .unwrap();
    let created = port_api(
        &emulator,
        reqwest::Method::POST,
        "blueprints",
        Some(
            serde_json::json!({"identifier": "usersOwn", "title": "Mine",
            "schema": {"properties": {}, "required": []}}),
        ),
    )
    .await;
    assert!(created.status().is_success(), "{}", created.status());
    let ok = |out: &Output| {
        assert!(
            out.status.success(),
            "{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    };

    let dock = &["defaults", "dock", "integrations/fake", "--profile", "dev"];
    let out = ocean_against(&emulator, dock).await;
    ok(&out);
    assert!(
        text(&out.stdout).contains("Docked"),
        "{}",
        text(&out.stdout)
    );
    let mut expected: Vec<&str> = FAKE_DEFAULTS.to_vec();
    expected.push("usersOwn");
    expected.sort();
    assert_eq!(blueprints(&emulator).await, expected);
    assert_eq!(count(&emulator, "fakeTeam").await, 0, "dock runs no resync");

    // Without a terminal no confirmation is asked.
    let clean = &["defaults", "clean", "integrations/fake", "--profile", "dev"];
    let out = ocean_against(&emulator, clean).await;
    ok(&out);
    assert_eq!(blueprints(&emulator).await, ["usersOwn"]);

    // Docked again (the integration says its defaults are no longer initialized), then a
    // resync: the blueprints now have entities.
    ok(&ocean_against(&emulator, dock).await);
    ok(&ocean_against(
        &emulator,
        &[
            "sail",
            "integrations/fake",
            "--once",
            "--profile",
            "dev",
            "-l",
            "WARNING",
        ],
    )
    .await);
    assert_eq!(count(&emulator, "fakeDeployment").await, 100);
    let out = ocean_against(&emulator, clean).await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("'fakeDeployment'") && errors[0].contains("use --force"),
        "{stderr}"
    );
    assert_eq!(blueprints(&emulator).await.len(), 6, "nothing deleted");
    let out = ocean_against(
        &emulator,
        &[
            "defaults",
            "clean",
            "integrations/fake",
            "--force",
            "--wait",
            "--profile",
            "dev",
        ],
    )
    .await;
    ok(&out);
    assert_eq!(blueprints(&emulator).await, ["usersOwn"]);
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

/// `ocean plan` is `ocean sail --dry-run`: against a fresh (local) Port, every entity is a
/// create, and the JSON plan is stdout alone.
#[test]
fn plan_prints_a_dry_run_of_the_integration() {
    let out = ocean(&repo_root().join("integrations/fake"))
        .args([
            "plan",
            "--profile",
            "dev",
            "--output",
            "json",
            "--max-deletes",
            "0",
        ])
        .env("OCEAN__INTEGRATION__CONFIG__ITEM_COUNT", "10")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)));
    assert_eq!(plan["blueprints"]["benchItem"]["create"], 9, "{plan}");
    assert_eq!(plan["blueprints"]["fakeTeam"]["create"], 5, "{plan}");
    assert_eq!(plan["deletion"]["delete"], 0, "{plan}");
    // The plan flags belong to a dry run.
    let misuse = ocean(&repo_root().join("integrations/fake"))
        .args(["sail", "--show", "3"])
        .output()
        .unwrap();
    assert!(!misuse.status.success());
    assert!(
        text(&misuse.stderr).contains("go with --dry-run"),
        "{}",
        text(&misuse.stderr)
    );
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
    let github = lines
        .iter()
        .find(|l| l.starts_with("github "))
        .expect("github is listed");
    assert!(
        github.contains("opt-in (--features kafka)") && github.contains("repository"),
        "{github}"
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
        "test",
        "check",
        "plan",
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
