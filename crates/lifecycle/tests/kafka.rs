//! The KAFKA event listener end to end, against a real Kafka-protocol broker (`tansu`, see
//! `kafka_support`) and the in-process Port emulator: which messages resync, committed offsets
//! across a restart, the org flag's resync-requests topic, malformed messages, two instances
//! sharing a topic's partitions with failover, and a setup failure that ends the run with an
//! error.

#![cfg(feature = "kafka")]

mod common;
mod kafka_support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use kafka_support::{Broker, Producer};
use ocean_config::{EventListener as ListenerSettings, KafkaSettings};
use ocean_lifecycle::{Assignment, Kafka};
use ocean_lifecycle::{EngineConfig, Ocean, RuntimeError};
use ocean_lifecycle::{EventListener, ListenerContext, ListenerExit};
use ocean_port_client::changelog::RESYNC_REQUESTS_TOPIC_FLAG;
use port_emulator::EmulatorConfig;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Logs go to the test's output (shown when it fails); `RUST_LOG` overrides the filter.
fn logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// A broker. A machine that cannot install one fails the test: this test file runs only when
/// asked for (`--features kafka`, as `make test` does), so a missing prerequisite is an error.
fn broker() -> Broker {
    logs();
    match kafka_support::tansu() {
        Ok(tansu) => Broker::start(&tansu),
        Err(reason) => panic!("cannot run the Kafka tests: {reason}"),
    }
}

fn kafka_settings(h: &Harness) -> KafkaSettings {
    match &h.settings.event_listener.listener {
        ListenerSettings::Kafka(k) => k.clone(),
        other => panic!("expected KAFKA settings, got {other:?}"),
    }
}

/// A listener tuned for a test broker: short group timeouts, and a new group reads from the
/// start of the topic (so a message sent before the first assignment is not missed).
fn listener(h: &Harness) -> Kafka {
    Kafka::new(kafka_settings(h))
        .with_client_property("session.timeout.ms", "2000")
        .with_client_property("heartbeat.interval.ms", "250")
        .with_client_property("auto.offset.reset", "earliest")
}

async fn harness(broker: &Broker, emulator: EmulatorConfig) -> Harness {
    let h = Harness::with_emulator(
        emulator,
        json!({"type": "KAFKA", "brokers": broker.bootstrap, "kafka_security_enabled": false}),
    )
    .await;
    h.ocean().start().await.expect("startup in the emulator");
    h
}

async fn org_id(h: &Harness) -> String {
    h.client.organization_id().await.expect("organization id")
}

fn group(org: &str) -> String {
    format!("{org}.{INTEGRATION_TYPE}.{INTEGRATION_ID}")
}

/// One integration process: its own runtime (engine, coordinator) and data, and the listener.
struct Instance {
    ocean: Arc<Ocean>,
    data: Arc<Data>,
    shutdown: CancellationToken,
    task: JoinHandle<ListenerExit>,
    assignment: watch::Receiver<Assignment>,
}

impl Instance {
    fn start(h: &Harness, kafka: Kafka) -> Instance {
        let data = Arc::new(Data::default());
        data.set("team", (0..3).map(team).collect());
        data.set("service", (0..5).map(service).collect());
        let ocean = Ocean::builder(
            h.settings.clone(),
            Arc::new(TestIntegration {
                data: data.clone(),
                page_size: 2,
            }),
        )
        .port_client(h.client.clone())
        .resources(resources())
        .engine_config(EngineConfig {
            map_workers: 1,
            ..EngineConfig::default()
        })
        .build()
        .expect("runtime builds");
        let ocean = Arc::new(ocean);
        let shutdown = CancellationToken::new();
        let assignment = kafka.assignment();
        let ctx = ListenerContext {
            coordinator: ocean.coordinator().clone(),
            client: h.client.clone(),
            shutdown: shutdown.clone(),
        };
        let task = tokio::spawn(async move { kafka.run(ctx).await });
        Instance {
            ocean,
            data,
            shutdown,
            task,
            assignment,
        }
    }

    /// Waits until the instance owns exactly `partitions`.
    async fn owns(&mut self, partitions: &[i32]) {
        let waited = tokio::time::timeout(
            Duration::from_secs(60),
            self.assignment
                .wait_for(|a| a.changes > 0 && a.partitions == partitions),
        )
        .await
        .is_ok_and(|changed| changed.is_ok());
        assert!(
            waited,
            "timed out waiting to own {partitions:?}; owns {:?}",
            *self.assignment.borrow()
        );
    }

    fn partitions(&self) -> Vec<i32> {
        self.assignment.borrow().partitions.clone()
    }

    /// Full resyncs this instance fetched (each fetches both kinds).
    fn resyncs(&self) -> usize {
        self.data.fetches.load(Ordering::SeqCst) / 2
    }

    /// Stops the listener (it commits and leaves the group), then the runtime.
    async fn stop(self) -> ListenerExit {
        self.shutdown.cancel();
        let exit = self.task.await.expect("the listener does not panic");
        self.ocean.shutdown().await;
        exit
    }
}

async fn completed(h: &Harness) -> usize {
    h.states()
        .await
        .iter()
        .filter(|s| s.as_str() == "completed")
        .count()
}

fn resync_request(integration: &str) -> String {
    json!({"action": "RESYNC", "context": {"integrationId": integration}}).to_string()
}

/// A change of this integration's configuration in Port, with the changelog destination given.
fn config_change(destination: &str) -> String {
    json!({
        "action": "UPDATE",
        "context": {"integrationId": INTEGRATION_ID},
        "diff": {
            "before": {"identifier": INTEGRATION_ID, "updatedAt": "2026-01-01T00:00:00.000Z"},
            "after": {
                "identifier": INTEGRATION_ID,
                "updatedAt": "2026-01-02T00:00:00.000Z",
                "resyncState": {"status": "completed", "updatedAt": "2026-01-01T00:00:00.000Z"}
            }
        },
        "changelogDestination": {"type": destination}
    })
    .to_string()
}

async fn send_all(producer: &Producer, topic: &str, messages: &[String]) {
    for message in messages {
        producer.send(topic, None, message).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_log_messages_resync_only_for_this_integration_and_offsets_survive_a_restart() {
    let broker = broker();
    let h = harness(&broker, EmulatorConfig::default()).await;
    let org = org_id(&h).await;
    let topic = format!("{org}.change.log");
    broker.create_topic(&topic, 1).await;
    let producer = broker.producer();

    let mut first = Instance::start(&h, listener(&h));
    first.owns(&[0]).await;
    assert_eq!(first.assignment.borrow().topic, topic);
    assert_eq!(first.assignment.borrow().group_id, group(&org));

    let state_update = json!({
        "diff": {"after": {
            "identifier": INTEGRATION_ID,
            "updatedAt": "2026-01-03T00:00:00.000Z",
            "resyncState": {"status": "running", "updatedAt": "2026-01-03T00:00:00.000Z"}
        }},
        "changelogDestination": {"type": "KAFKA"}
    });
    let deletion = json!({
        "action": "DELETE",
        "diff": {"before": {"identifier": INTEGRATION_ID}, "after": null},
        "changelogDestination": {"type": "KAFKA"}
    });
    let ignored_then_one_request = [
        resync_request("another-integration"),
        state_update.to_string(),
        deletion.to_string(),
        config_change("WEBHOOK"),
        // Malformed: logged and skipped, the listener goes on.
        "this is not JSON".to_owned(),
        "[1, 2, 3]".to_owned(),
        json!({"action": "RESYNC", "context": INTEGRATION_ID}).to_string(),
        // The only one that asks this integration to resync.
        resync_request(INTEGRATION_ID),
    ];
    send_all(&producer, &topic, &ignored_then_one_request).await;
    // Messages are handled in partition order, so once the request's resync has completed every
    // earlier message was judged: none of them resynced.
    eventually("the requested resync", || async {
        completed(&h).await == 1
    })
    .await;
    assert_eq!(h.states().await, ["running", "completed"]);
    assert_eq!(first.resyncs(), 1);
    assert_eq!(h.stored("service").await.len(), 5, "the resync synced");

    // A configuration change sent to Kafka resyncs too.
    producer.send(&topic, None, &config_change("KAFKA")).await;
    eventually("the configuration-change resync", || async {
        completed(&h).await == 2
    })
    .await;
    assert_eq!(first.resyncs(), 2);

    assert!(matches!(first.stop().await, ListenerExit::Stopped));
    let handled = ignored_then_one_request.len() as i64 + 1;
    assert_eq!(
        broker.committed(&group(&org), &topic, &[0]).await,
        [Some(handled)],
        "every handled message is committed"
    );

    // A request made while no instance runs is picked up on restart; the old ones are not
    // re-run (they would supersede each other and report `aborted`).
    producer
        .send(&topic, None, &resync_request(INTEGRATION_ID))
        .await;
    let second = Instance::start(&h, listener(&h));
    eventually("the resync after the restart", || async {
        completed(&h).await == 3
    })
    .await;
    assert_eq!(
        h.states().await,
        [
            "running",
            "completed",
            "running",
            "completed",
            "running",
            "completed"
        ]
    );
    assert_eq!(second.resyncs(), 1);
    assert!(matches!(second.stop().await, ListenerExit::Stopped));
    assert_eq!(
        broker.committed(&group(&org), &topic, &[0]).await,
        [Some(handled + 1)]
    );
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_org_flag_selects_the_resync_requests_topic() {
    let broker = broker();
    let emulator = EmulatorConfig {
        feature_flags: vec![RESYNC_REQUESTS_TOPIC_FLAG.to_owned()],
        ..EmulatorConfig::default()
    };
    let h = harness(&broker, emulator).await;
    let org = org_id(&h).await;
    let requests = format!("{org}.integration.resync.requests");
    let change_log = format!("{org}.change.log");
    broker.create_topic(&requests, 1).await;
    broker.create_topic(&change_log, 1).await;
    let producer = broker.producer();
    // On the legacy topic: not consumed with the flag on.
    producer
        .send(&change_log, None, &resync_request(INTEGRATION_ID))
        .await;

    let mut instance = Instance::start(&h, listener(&h));
    instance.owns(&[0]).await;
    assert_eq!(instance.assignment.borrow().topic, requests);
    let messages: Vec<String> = [
        json!({"context": {"integrationId": "another-integration"}}),
        json!({"context": {}}),
        json!({"context": {"integrationId": INTEGRATION_ID}}),
    ]
    .iter()
    .map(Value::to_string)
    .collect();
    send_all(&producer, &requests, &messages).await;
    eventually("the requested resync", || async {
        completed(&h).await == 1
    })
    .await;
    assert_eq!(h.states().await, ["running", "completed"]);
    assert_eq!(instance.resyncs(), 1);
    assert!(matches!(instance.stop().await, ListenerExit::Stopped));
    assert_eq!(
        broker.committed(&group(&org), &requests, &[0]).await,
        [Some(3)]
    );
    h.emulator.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_partitions_and_one_takes_over_when_the_other_stops() {
    let broker = broker();
    let h = harness(&broker, EmulatorConfig::default()).await;
    let org = org_id(&h).await;
    let topic = format!("{org}.change.log");
    broker.create_topic(&topic, 2).await;
    let producer = broker.producer();

    let mut a = Instance::start(&h, listener(&h));
    a.owns(&[0, 1]).await;
    let mut b = Instance::start(&h, listener(&h));
    // Cooperative rebalancing: `a` gives up one partition, `b` gets it.
    b.assignment
        .wait_for(|x| x.partitions.len() == 1)
        .await
        .unwrap();
    let b_part = b.partitions()[0];
    let a_part = 1 - b_part;
    a.owns(&[a_part]).await;

    // Each instance runs the request that lands on its partition.
    producer
        .send(&topic, Some(a_part), &resync_request(INTEGRATION_ID))
        .await;
    eventually("a's resync", || async { a.resyncs() == 1 }).await;
    producer
        .send(&topic, Some(b_part), &resync_request(INTEGRATION_ID))
        .await;
    eventually("b's resync", || async { b.resyncs() == 1 }).await;
    eventually("both completed", || async { completed(&h).await == 2 }).await;

    // `a` stops in the middle of a resync: the request was not fulfilled, so its message stays
    // uncommitted and `b`, taking the partition over, runs it.
    a.data.block_after_first_page.store(true, Ordering::SeqCst);
    producer
        .send(&topic, Some(a_part), &resync_request(INTEGRATION_ID))
        .await;
    eventually("a's resync to start", || async {
        a.data.blocked.load(Ordering::SeqCst) == 1
    })
    .await;
    assert!(matches!(a.stop().await, ListenerExit::Stopped));
    b.owns(&[0, 1]).await;
    eventually("b re-runs the interrupted request", || async {
        b.resyncs() == 2
    })
    .await;

    // New messages on the partition `a` had go to `b`.
    producer
        .send(&topic, Some(a_part), &resync_request(INTEGRATION_ID))
        .await;
    eventually("b's resync of a new message", || async { b.resyncs() == 3 }).await;
    eventually("b's resyncs completed", || async {
        completed(&h).await == 4
    })
    .await;
    assert!(matches!(b.stop().await, ListenerExit::Stopped));
    assert_eq!(
        broker
            .committed(&group(&org), &topic, &[a_part, b_part])
            .await,
        [Some(3), Some(1)]
    );
    h.emulator.shutdown().await.unwrap();
}

/// Needs no broker: librdkafka refuses the configuration before connecting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_that_cannot_start_fails_the_run() {
    logs();
    let h = Harness::new(json!({
        "type": "KAFKA",
        "brokers": "127.0.0.1:9",
        "security_protocol": "NOT_A_PROTOCOL",
    }))
    .await;
    let ocean = h.ocean();
    let error = ocean
        .run(CancellationToken::new())
        .await
        .expect_err("the listener cannot start");
    let RuntimeError::ListenerFailed(reason) = &error else {
        panic!("expected a listener failure, got {error:?}");
    };
    assert!(
        reason.contains("could not create the Kafka consumer")
            && reason.contains("security.protocol"),
        "{reason}"
    );
    assert!(!reason.contains("port-emulator"), "no password in {reason}");
    assert_eq!(h.count_requests("GET", "/kafka-credentials"), 1);
    h.emulator.shutdown().await.unwrap();
}
