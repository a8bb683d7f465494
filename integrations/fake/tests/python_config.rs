//! Python Ocean's README `config.yaml`, as a migrating user has it, run with `ocean-fake` as a
//! process: accepted by `--print-config` with `triggerChannel.type` WEBHOOK or KAFKA (the legacy
//! name read as `eventListener`, with a warning), and with `baseUrl` ending in `/v1` pointed at
//! the in-process Port emulator, a `--once` run syncs the catalog.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ocean::testing::{EmulatorConfig, spawn_emulator};

/// The README's file, with `type` and `baseUrl` as given; everything else as written.
fn readme_yaml(listener_type: &str, base_url: &str) -> String {
    format!(
        r#"port:
  clientId: PORT_CLIENT_ID # Can be loaded via environment variable: PORT_CLIENT_ID
  clientSecret: PORT_CLIENT_SECRET # Can be loaded via environment variable: PORT_CLIENT_SECRET
  baseUrl: {base_url}
# The trigger channel to use for the integration service.
triggerChannel:
  type: {listener_type}
integration:
  # The name of the integration.
  identifier: "my_integration"
  # The type of the integration.
  type: "PagerDuty"
  config:
    my_git_token: "random"
    some_other_integration_config: "Very important information"
"#
    )
}

fn integration_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `ocean-fake ARGS <integration folder>` run from `cwd` (where `config.yaml` is), with only
/// `env` in its environment.
fn fake(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ocean-fake"));
    command
        .args(args)
        .arg(integration_dir())
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("APPLICATION__LOG_FORMAT", "json");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("ocean-fake runs")
}

fn project(yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.yaml"), yaml).unwrap();
    dir
}

#[test]
fn print_config_accepts_the_readme_file_and_shows_the_chosen_listener() {
    // KAFKA as written; WEBHOOK with the public URL Port calls, which WEBHOOK needs (in Python
    // Ocean too), given the way the README's comments suggest: an environment variable.
    for (listener, env) in [
        ("KAFKA", vec![]),
        (
            "WEBHOOK",
            vec![(
                "OCEAN__EVENT_LISTENER__APP_HOST",
                "https://ocean.example.com",
            )],
        ),
    ] {
        let dir = project(&readme_yaml(listener, "https://api.getport.io/v1"));
        let out = fake(dir.path(), &["--print-config"], &env);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{listener}: {stderr}\n{stdout}");
        let listener_line = format!("  type: \"{listener}\"  # triggerChannel.type (");
        assert!(stdout.contains(&listener_line), "{listener}: {stdout}");
        assert!(
            stdout.contains("identifier: \"my_integration\""),
            "{stdout}"
        );
        // The undeclared keys are kept; the secret-looking one is not printed.
        assert!(stdout.contains("my_git_token: \"[REDACTED]\""), "{stdout}");
        assert!(
            stdout.contains("some_other_integration_config: \"Very important information\""),
            "{stdout}"
        );
        assert!(!stdout.contains("\"random\""), "{stdout}");
        assert!(
            stderr.contains(
                "triggerChannel is the legacy name of eventListener and is read as eventListener"
            ),
            "{stderr}"
        );
    }
}

#[test]
fn print_config_rejects_the_placeholder_in_one_line_naming_the_choices() {
    let dir = project(&readme_yaml("KAFKA / WEBHOOK", "https://api.getport.io/v1"));
    let out = fake(dir.path(), &["--print-config"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("triggerChannel.type=\"KAFKA / WEBHOOK\" (")
            && stderr.contains("config.yaml line 7): this is a placeholder listing choices; choose exactly one of POLLING, KAFKA, WEBHOOK, ONCE, WEBHOOKS_ONLY, ACTIONS_ONLY"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_syncs_the_catalog_with_a_base_url_ending_in_v1() {
    let emulator = spawn_emulator(EmulatorConfig::default()).await.unwrap();
    let base_url = format!("{}/v1", emulator.base_url());
    let dir = project(&readme_yaml("KAFKA", &base_url));
    let secret = emulator.client_secret().expose().to_owned();
    let env = [
        // The README's comments: the credentials come from the environment.
        ("OCEAN__PORT__CLIENT_ID", emulator.client_id()),
        ("OCEAN__PORT__CLIENT_SECRET", secret.as_str()),
        // A small catalog.
        ("OCEAN__INTEGRATION__CONFIG__TEAM_COUNT", "3"),
        ("OCEAN__INTEGRATION__CONFIG__SERVICE_COUNT", "6"),
        ("OCEAN__INTEGRATION__CONFIG__DEPLOYMENT_COUNT", "10"),
        ("OCEAN__INTEGRATION__CONFIG__ITEM_COUNT", "0"),
    ];
    let out = tokio::task::block_in_place(|| fake(dir.path(), &["--once"], &env));
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "exit {:?}\n{logs}", out.status);
    for (blueprint, count) in [("fakeTeam", 3), ("fakeService", 6), ("fakeDeployment", 10)] {
        assert_eq!(
            emulator.entity_count(blueprint).await.unwrap(),
            count,
            "{blueprint}"
        );
    }
    let states: Vec<String> = emulator
        .resync_states("my_integration")
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.status)
        .collect();
    assert_eq!(states, ["running", "completed"]);
    assert!(
        logs.contains("triggerChannel is the legacy name of eventListener"),
        "{logs}"
    );
    assert!(!logs.contains(&secret), "the client secret leaked");
    emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_base_url_that_is_not_ports_api_is_named_not_the_credentials() {
    let emulator = spawn_emulator(EmulatorConfig::default()).await.unwrap();
    let base_url = format!("{}/not-port", emulator.base_url());
    let dir = project(&readme_yaml("KAFKA", &base_url));
    let secret = emulator.client_secret().expose().to_owned();
    let env = [
        ("OCEAN__PORT__CLIENT_ID", emulator.client_id()),
        ("OCEAN__PORT__CLIENT_SECRET", secret.as_str()),
    ];
    let out = tokio::task::block_in_place(|| fake(dir.path(), &["--once"], &env));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "POST {base_url}/v1/auth/access_token answered 404: there is no Port API at this base URL; set OCEAN__PORT__BASE_URL (port.baseUrl)"
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(!stderr.contains("client id"), "{stderr}");
    emulator.shutdown().await.unwrap();
}
