//! The SDK's program entry end to end: the `hello` example binary run as a process against the
//! in-process Port emulator, the way users and containers run integrations (flags, files in the
//! working directory, environment, exit codes).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use port_emulator::{EmulatorConfig, RunningEmulator};

/// The example binary `cargo test` builds next to the test executables.
fn hello_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join("examples").join("hello");
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test -p ocean` (which builds examples)",
        path.display()
    );
    path
}

/// A fresh in-process emulator and a project folder for `count` greetings.
async fn start(count: u64) -> (RunningEmulator, tempfile::TempDir) {
    let emulator = port_emulator::spawn(EmulatorConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), count);
    (emulator, dir)
}

fn project(dir: &Path, count: u64) {
    let resources = dir.join(".port/resources");
    std::fs::create_dir_all(&resources).unwrap();
    std::fs::write(
        resources.join("blueprints.json"),
        r#"[{"identifier": "greeting", "title": "Greeting",
             "schema": {"properties": {"text": {"type": "string"}}, "required": []}}]"#,
    )
    .unwrap();
    std::fs::write(
        resources.join("port-app-config.yml"),
        "resources:\n  - kind: greeting\n    selector:\n      query: 'true'\n    port:\n      entity:\n        mappings:\n          identifier: .id\n          title: .text\n          blueprint: '\"greeting\"'\n          properties:\n            text: .text\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("config.yaml"),
        format!("integration:\n  identifier: hello-test\n  config:\n    count: {count}\n    pageSize: 40\n"),
    )
    .unwrap();
}

fn sail(emulator: &RunningEmulator, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(hello_binary());
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("OCEAN__PORT__BASE_URL", emulator.base_url())
        .env("OCEAN__PORT__CLIENT_ID", emulator.client_id())
        .env(
            "OCEAN__PORT__CLIENT_SECRET",
            emulator.client_secret().expose(),
        )
        .env("APPLICATION__LOG_FORMAT", "json");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("the example runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_syncs_and_exits_zero_then_shrinks() {
    let (emulator, dir) = start(250).await;
    let out = tokio::task::block_in_place(|| sail(&emulator, dir.path(), &["--once"], &[]));
    assert!(
        out.status.success(),
        "exit {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(emulator.entity_count("greeting").await.unwrap(), 250);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // JSON lines, and no credential anywhere in them.
    assert!(stdout.lines().all(|l| l.starts_with('{')), "{stdout}");
    assert!(!stdout.contains(emulator.client_secret().expose()));

    project(dir.path(), 200);
    let out = tokio::task::block_in_place(|| sail(&emulator, dir.path(), &["-O"], &[]));
    assert!(out.status.success());
    assert_eq!(emulator.entity_count("greeting").await.unwrap(), 200);
    let states: Vec<String> = emulator
        .resync_states("hello-test")
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.status)
        .collect();
    assert_eq!(states, ["running", "completed", "running", "completed"]);
    emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_exits_two_with_one_line() {
    let (emulator, dir) = start(10).await;
    let out = tokio::task::block_in_place(|| {
        sail(
            &emulator,
            dir.path(),
            &["--once"],
            &[("OCEAN__INITIALIZE_PORT_RESOURCES", "maybe")],
        )
    });
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("OCEAN__INITIALIZE_PORT_RESOURCES"),
        "{stderr}"
    );
    // The typed configuration is checked too.
    std::fs::write(
        dir.path().join("config.yaml"),
        "integration:\n  config:\n    count: many\n",
    )
    .unwrap();
    let out = tokio::task::block_in_place(|| sail(&emulator, dir.path(), &["--once"], &[]));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("count"), "{stderr}");
    assert_eq!(emulator.entity_count("greeting").await.unwrap_or(0), 0);
    emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn print_config_masks_secrets_and_exits_zero() {
    let (emulator, dir) = start(10).await;
    let out = tokio::task::block_in_place(|| sail(&emulator, dir.path(), &["--print-config"], &[]));
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("client_secret: \"[REDACTED]\""), "{stdout}");
    assert!(!stdout.contains(emulator.client_secret().expose()));
    assert!(
        emulator.requests().is_empty(),
        "printing the config calls nothing"
    );
    emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_once_resync_exits_one() {
    let (emulator, dir) = start(10).await;
    // A mapping kind the integration does not fetch fails the resync.
    std::fs::write(
        dir.path().join(".port/resources/port-app-config.yml"),
        "resources:\n  - kind: farewell\n    selector:\n      query: 'true'\n    port:\n      entity:\n        mappings:\n          identifier: .id\n          blueprint: '\"greeting\"'\n",
    )
    .unwrap();
    let out = tokio::task::block_in_place(|| sail(&emulator, dir.path(), &["--once"], &[]));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("did not complete"), "{stderr}");
    emulator.shutdown().await.unwrap();
}

/// SIGTERM while the long-running process is in the middle of a resync: it exits promptly and
/// cleanly, Port's state says `aborted`, and nothing is deleted although the data shrank.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_resync_aborts_it_deletes_nothing_and_exits_within_ten_seconds() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let (emulator, dir) = start(250).await;
    let out = tokio::task::block_in_place(|| sail(&emulator, dir.path(), &["--once"], &[]));
    assert!(out.status.success());
    assert_eq!(emulator.entity_count("greeting").await.unwrap(), 250);

    // The data shrank to 100 and the API is slow: the POLLING process resyncs on start.
    std::fs::write(
        dir.path().join("config.yaml"),
        "integration:\n  identifier: hello-test\n  config:\n    count: 100\n    pageSize: 40\n    pageDelayMs: 2000\n",
    )
    .unwrap();
    let mut child = Command::new(hello_binary())
        .current_dir(dir.path())
        .env_clear()
        .env("OCEAN__PORT__BASE_URL", emulator.base_url())
        .env("OCEAN__PORT__CLIENT_ID", emulator.client_id())
        .env(
            "OCEAN__PORT__CLIENT_SECRET",
            emulator.client_secret().expose(),
        )
        .env("APPLICATION__LOG_FORMAT", "json")
        .env("APPLICATION__HOST", "127.0.0.1")
        .env("APPLICATION__PORT", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the example starts");
    let states = || async {
        emulator
            .resync_states("hello-test")
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.status)
            .collect::<Vec<_>>()
    };
    let mut waited = 0;
    while states().await.len() < 3 {
        assert!(waited < 600, "the second resync never started");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the process exited early"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let signalled = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        if signalled.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("still running 10 s after SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        use std::io::Read;
        let _ = pipe.read_to_string(&mut stderr);
    }
    assert!(exit.success(), "exit {exit:?}: {stderr}");
    assert_eq!(
        states().await,
        ["running", "completed", "running", "aborted"]
    );
    assert_eq!(
        emulator.entity_count("greeting").await.unwrap(),
        250,
        "an aborted resync deletes nothing"
    );
    emulator.shutdown().await.unwrap();
}
