//! `KAFKA` (docs/lifecycle.md §5.3): Port tells integrations to resync through a per-organization
//! Kafka topic. The listener joins the integration's consumer group, keeps the messages that ask
//! *this* integration to resync (`ocean_port_client::changelog`) and starts each resync through the
//! [`Coordinator`](crate::coordinator::Coordinator), so a newer request supersedes a running
//! one.
//!
//! Setup ([`Kafka::run`]): the organization id (`GET /organization`), the Kafka credentials when
//! security is on (`GET /kafka-credentials`), the topic from the organization's feature flags (a
//! failed flag lookup means the legacy change-log topic), then a librdkafka consumer
//! ([`config`]). A setup failure ends the listener with [`ListenerExit::Failed`], so the process
//! exits non-zero with the reason instead of running without resyncs.
//!
//! Consumption runs on the async runtime without blocking it: rdkafka's `StreamConsumer` wakes
//! the listener when a message arrives, commits are asynchronous, and the blocking close (leave
//! the group, final commit) runs on a blocking thread.
//!
//! **Offsets are committed once a message is handled**, with one exception that makes requests
//! survive a restart or a failover: while the resync a message started is running, its partition
//! is committed only up to that message. If the process stops before the resync finishes (the
//! resync is aborted by the shutdown, or the process dies), the message is read again — by this
//! integration after a restart, or at once by another instance of it that takes the partition
//! over. A resync that completes, fails, or is superseded by a newer request releases the hold.
//! When the partition moves to another instance during a rebalance while the resync still runs
//! here, it is committed past the message (the resync finishes here; no duplicate elsewhere).
//! The reference commits every message as soon as it is received, so a request whose resync is
//! interrupted is lost. Handled messages are committed at most every [`COMMIT_INTERVAL`] (and at
//! once when a hold starts or ends), and synchronously on close.
//!
//! **Several instances of one integration share the work.** They join one consumer group
//! (`<orgId>.<type>.<identifier>`), Kafka spreads the topic's partitions over them, and when one
//! leaves (or dies, after `session.timeout.ms`) the others take its partitions over. The
//! reference instead exits when the first assignment is empty ("another instance is running").
//! With `cooperative-sticky` a member that joins a group whose partitions are all owned always
//! gets an empty first assignment — partitions move to it only in a second rebalance — so that
//! rule would stop every second instance and break rolling updates, where the new process starts
//! before the old one stops. Here an empty first assignment is logged as a warning and the
//! instance stays in the group as a standby that takes partitions over when the group
//! rebalances. (Running two copies of one integration by mistake is therefore not stopped; they
//! split the requests between them.)
//!
//! `consumer_poll_timeout` has no effect: there is no poll loop to time out (a message wakes the
//! listener at once, and shutdown is immediate). It is accepted for compatibility.

pub mod config;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::future::BoxFuture;
use ocean_config::KafkaSettings;
use ocean_port_client::PortError;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::Message;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tokio::sync::watch;

use super::{EventListener, ListenerContext, ListenerExit};
use crate::coordinator::Trigger;
use crate::report::{AbortReason, ResyncOutcome, ResyncReport};

pub use config::client_properties;
pub use ocean_port_client::changelog::{ResyncCause, TopicKind, Verdict, group_id, judge};

/// The longest time a handled message waits to be committed.
pub const COMMIT_INTERVAL: Duration = Duration::from_secs(1);

/// How long a stopping listener waits for the report of a resync that is just ending.
pub const REPORT_GRACE: Duration = Duration::from_millis(500);

/// Why the KAFKA listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum KafkaListenerError {
    /// `GET /organization` failed; the topic is named after the organization.
    #[error("could not read the organization id from Port (it names the Kafka topic): {0}")]
    OrganizationId(#[source] PortError),
    /// `GET /kafka-credentials` failed.
    #[error(
        "could not read the Kafka credentials from Port (needed because kafka_security_enabled \
         is true): {0}"
    )]
    Credentials(#[source] PortError),
    /// librdkafka refused the configuration.
    #[error("could not create the Kafka consumer for brokers {brokers:?}: {source}")]
    Consumer {
        /// The bootstrap servers.
        brokers: String,
        /// librdkafka's reason.
        #[source]
        source: KafkaError,
    },
    /// Subscribing to the topic failed.
    #[error("could not subscribe to the Kafka topic {topic}: {source}")]
    Subscribe {
        /// The topic.
        topic: String,
        /// librdkafka's reason.
        #[source]
        source: KafkaError,
    },
}

/// The partitions this instance owns, as the consumer group assigned them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assignment {
    /// The topic consumed (empty until the listener has subscribed).
    pub topic: String,
    /// The consumer group.
    pub group_id: String,
    /// The partitions of `topic` this instance owns, sorted.
    pub partitions: Vec<i32>,
    /// How many assignment changes (assign or revoke) the listener has seen; 0 until the group
    /// first assigned this instance (possibly nothing).
    pub changes: u64,
}

/// The KAFKA event listener.
pub struct Kafka {
    settings: KafkaSettings,
    overrides: Vec<(String, String)>,
    assignment: watch::Sender<Assignment>,
}

impl std::fmt::Debug for Kafka {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kafka")
            .field("settings", &self.settings)
            .field("overrides", &self.overrides)
            .finish_non_exhaustive()
    }
}

impl Kafka {
    /// A listener with these settings.
    pub fn new(settings: KafkaSettings) -> Self {
        Kafka {
            settings,
            overrides: Vec::new(),
            assignment: watch::channel(Assignment::default()).0,
        }
    }

    /// Sets a librdkafka consumer property, applied after the ones the settings produce (tests
    /// lower `session.timeout.ms`; an embedding may tune fetching).
    pub fn with_client_property(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.overrides.push((key.into(), value.into()));
        self
    }

    /// Follows the partitions this instance owns.
    pub fn assignment(&self) -> watch::Receiver<Assignment> {
        self.assignment.subscribe()
    }

    async fn connect(&self, ctx: &ListenerContext) -> Result<Connected, KafkaListenerError> {
        let client = &ctx.client;
        let identity = client.identity().clone();
        let org_id = client
            .organization_id()
            .await
            .map_err(KafkaListenerError::OrganizationId)?;
        let kind = match client.feature_flags().await {
            Ok(flags) => TopicKind::from_flags(&flags),
            Err(error) => {
                tracing::warn!(
                    %error,
                    "Could not read the organization's feature flags; consuming the legacy change-log topic"
                );
                TopicKind::ChangeLog
            }
        };
        let credentials = if self.settings.kafka_security_enabled {
            Some(
                client
                    .kafka_credentials()
                    .await
                    .map_err(KafkaListenerError::Credentials)?,
            )
        } else {
            None
        };
        let topic = kind.topic(&org_id);
        let group = group_id(&org_id, &identity);
        let props = client_properties(
            &self.settings,
            &group,
            &identity,
            credentials.as_ref(),
            &self.overrides,
        );
        let brokers = props
            .get("bootstrap.servers")
            .unwrap_or_default()
            .to_owned();
        let mut config = ClientConfig::new();
        for (key, value) in props.iter() {
            config.set(key, value);
        }
        config.set_log_level(RDKafkaLogLevel::Info);
        self.assignment.send_modify(|a| {
            a.topic = topic.clone();
            a.group_id = group.clone();
        });
        let events = ConsumerEvents {
            topic: topic.clone(),
            offsets: Arc::new(Mutex::new(Offsets::default())),
            assignment: self.assignment.clone(),
            assigned_once: AtomicBool::new(false),
            identity: format!("{}/{}", identity.integration_type, identity.identifier),
        };
        let consumer: StreamConsumer<ConsumerEvents> =
            config
                .create_with_context(events)
                .map_err(|source| KafkaListenerError::Consumer {
                    brokers: brokers.clone(),
                    source,
                })?;
        consumer
            .subscribe(&[&topic])
            .map_err(|source| KafkaListenerError::Subscribe {
                topic: topic.clone(),
                source,
            })?;
        tracing::info!(
            %topic,
            group_id = %group,
            %brokers,
            security = self.settings.kafka_security_enabled,
            "Listening to Port's Kafka topic for resync requests"
        );
        Ok(Connected {
            consumer: Arc::new(consumer),
            kind,
            identifier: identity.identifier,
        })
    }

    async fn consume(&self, ctx: &ListenerContext, connected: Connected) -> ListenerExit {
        let Connected {
            consumer,
            kind,
            identifier,
        } = connected;
        let offsets = consumer.context().offsets.clone();
        let topic = consumer.context().topic.clone();
        let assignment = self.assignment.subscribe();
        let mut running: Option<BoxFuture<'static, Arc<ResyncReport>>> = None;
        let mut tick = tokio::time::interval(COMMIT_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ctx.shutdown.cancelled() => break,
                received = consumer.recv() => {
                    let (partition, offset, verdict) = match received {
                        Ok(message) => (
                            message.partition(),
                            message.offset(),
                            judge(kind, &identifier, message.payload()),
                        ),
                        Err(error) => {
                            tracing::warn!(%error, %topic, "Kafka consumer error");
                            continue;
                        }
                    };
                    let owned = assignment.borrow().partitions.contains(&partition);
                    match verdict {
                        Verdict::Resync(cause) => {
                            tracing::info!(
                                %topic, partition, offset,
                                cause = match cause {
                                    ResyncCause::Request => "resync request",
                                    ResyncCause::ConfigChange => "configuration change",
                                },
                                "Port asked for a resync through Kafka"
                            );
                            let handle = tokio::select! {
                                handle = ctx.coordinator.trigger(Trigger::Request) => handle,
                                _ = ctx.shutdown.cancelled() => None,
                            };
                            let mut state = lock(&offsets);
                            if owned {
                                state.handled(partition, offset);
                                state.hold = Some((partition, offset));
                            }
                            match handle {
                                Some(handle) => {
                                    running = Some(Box::pin(async move { handle.wait().await }));
                                    commit(&consumer, &topic, &mut state);
                                }
                                // Shutting down: the message stays uncommitted.
                                None => break,
                            }
                        }
                        Verdict::Ignore(cause) => {
                            tracing::debug!(
                                %topic, partition, offset, reason = cause.as_str(),
                                "Kafka message ignored"
                            );
                            if owned {
                                lock(&offsets).handled(partition, offset);
                            }
                        }
                        Verdict::Malformed(problem) => {
                            tracing::warn!(
                                %topic, partition, offset, %problem,
                                "Skipping a malformed Kafka message"
                            );
                            if owned {
                                lock(&offsets).handled(partition, offset);
                            }
                        }
                    }
                }
                report = wait_for(&mut running) => {
                    running = None;
                    finished(&report, &consumer, &topic);
                }
                _ = tick.tick() => {
                    let mut state = lock(&offsets);
                    if state.dirty {
                        commit(&consumer, &topic, &mut state);
                    }
                }
            }
        }
        // The shutdown can come as the resync ends (its state already `completed` in Port, its
        // report on the way, or `select!` taking the shutdown first): a resync that ends within
        // REPORT_GRACE still releases its message. One still running is aborted by the
        // shutdown after this listener returns, and its message stays held.
        if let Some(running) = running.as_mut()
            && let Ok(report) = tokio::time::timeout(REPORT_GRACE, running).await
        {
            finished(&report, &consumer, &topic);
        }
        close(consumer, topic).await;
        ListenerExit::Stopped
    }
}

/// The resync a message started has ended: unless the shutdown interrupted it, the message is
/// done and its partition is committed past it.
fn finished(report: &ResyncReport, consumer: &StreamConsumer<ConsumerEvents>, topic: &str) {
    if matches!(
        report.outcome,
        ResyncOutcome::Aborted(AbortReason::Shutdown)
    ) {
        return;
    }
    let mut state = lock(&consumer.context().offsets);
    state.hold = None;
    state.dirty = true;
    commit(consumer, topic, &mut state);
}

struct Connected {
    consumer: Arc<StreamConsumer<ConsumerEvents>>,
    kind: TopicKind,
    identifier: String,
}

#[async_trait::async_trait]
impl EventListener for Kafka {
    fn name(&self) -> &'static str {
        "KAFKA"
    }

    async fn run(&self, ctx: ListenerContext) -> ListenerExit {
        let connected = tokio::select! {
            connected = self.connect(&ctx) => connected,
            _ = ctx.shutdown.cancelled() => return ListenerExit::Stopped,
        };
        match connected {
            Ok(connected) => self.consume(&ctx, connected).await,
            Err(error) => {
                tracing::error!(%error, "The KAFKA event listener could not start");
                ListenerExit::Failed(format!("the KAFKA event listener could not start: {error}"))
            }
        }
    }
}

/// Waits for the running resync, or forever when there is none.
async fn wait_for(
    running: &mut Option<BoxFuture<'static, Arc<ResyncReport>>>,
) -> Arc<ResyncReport> {
    match running {
        Some(future) => future.await,
        None => std::future::pending().await,
    }
}

/// Commits, leaves the group and closes the consumer on a blocking thread (librdkafka's close
/// waits for the broker).
async fn close(consumer: Arc<StreamConsumer<ConsumerEvents>>, topic: String) {
    let offsets = consumer.context().offsets.clone();
    let closed = tokio::task::spawn_blocking(move || {
        let list = {
            let mut state = lock(&offsets);
            state.closing = true;
            state.commit_list(&topic)
        };
        if list.count() > 0 {
            if let Err(error) = consumer.commit(&list, CommitMode::Sync) {
                tracing::warn!(%error, %topic, "Could not commit Kafka offsets on close");
            }
        }
        drop(consumer);
    })
    .await;
    match closed {
        Ok(()) => tracing::info!("Closed the Kafka consumer"),
        Err(error) => tracing::warn!(%error, "Closing the Kafka consumer failed"),
    }
}

fn lock(offsets: &Mutex<Offsets>) -> MutexGuard<'_, Offsets> {
    offsets.lock().unwrap_or_else(|e| e.into_inner())
}

/// Asynchronous commit of the handled offsets.
fn commit(consumer: &StreamConsumer<ConsumerEvents>, topic: &str, state: &mut Offsets) {
    let list = state.commit_list(topic);
    state.dirty = false;
    if list.count() == 0 {
        return;
    }
    if let Err(error) = consumer.commit(&list, CommitMode::Async) {
        tracing::warn!(%error, %topic, "Could not commit Kafka offsets");
    }
}

/// What may be committed, per owned partition of the one topic.
#[derive(Debug, Default)]
struct Offsets {
    /// The offset after the last handled message.
    next: BTreeMap<i32, i64>,
    /// The message whose resync is running: its partition is committed up to, not past, it.
    hold: Option<(i32, i64)>,
    /// Handled messages not committed yet.
    dirty: bool,
    /// The consumer is closing (the hold is kept; the revoke commits nothing more).
    closing: bool,
}

impl Offsets {
    fn handled(&mut self, partition: i32, offset: i64) {
        self.next.insert(partition, offset + 1);
        self.dirty = true;
    }

    fn offset_for(&self, partition: i32, next: i64) -> i64 {
        match self.hold {
            Some((held, offset)) if held == partition => next.min(offset),
            _ => next,
        }
    }

    fn commit_list(&self, topic: &str) -> TopicPartitionList {
        let mut list = TopicPartitionList::new();
        for (&partition, &next) in &self.next {
            let offset = self.offset_for(partition, next);
            let _ = list.add_partition_offset(topic, partition, Offset::Offset(offset));
        }
        list
    }
}

/// librdkafka's callbacks: logs, errors, rebalances and commit results.
struct ConsumerEvents {
    topic: String,
    offsets: Arc<Mutex<Offsets>>,
    assignment: watch::Sender<Assignment>,
    assigned_once: AtomicBool,
    identity: String,
}

impl ConsumerEvents {
    fn partitions(&self, list: &TopicPartitionList) -> Vec<i32> {
        let mut partitions: Vec<i32> = list
            .elements_for_topic(&self.topic)
            .iter()
            .map(|e| e.partition())
            .collect();
        partitions.sort_unstable();
        partitions
    }

    fn publish(&self, consumer: &BaseConsumer<Self>) -> Vec<i32> {
        let owned = consumer
            .assignment()
            .map(|list| self.partitions(&list))
            .unwrap_or_default();
        self.assignment.send_modify(|a| {
            a.partitions = owned.clone();
            a.changes += 1;
        });
        owned
    }
}

impl ClientContext for ConsumerEvents {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        match level {
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical => {
                tracing::error!(facility = fac, "librdkafka: {log_message}")
            }
            // librdkafka recovers from these itself (reconnects, retries).
            RDKafkaLogLevel::Error | RDKafkaLogLevel::Warning => {
                tracing::warn!(facility = fac, "librdkafka: {log_message}")
            }
            RDKafkaLogLevel::Notice => tracing::info!(facility = fac, "librdkafka: {log_message}"),
            RDKafkaLogLevel::Info | RDKafkaLogLevel::Debug => {
                tracing::debug!(facility = fac, "librdkafka: {log_message}")
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(%error, reason, "Kafka client error");
    }
}

impl ConsumerContext for ConsumerEvents {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(list) = rebalance else {
            return;
        };
        let revoked = self.partitions(list);
        let mut state = lock(&self.offsets);
        if state.closing {
            return;
        }
        // Commit what was handled before another instance takes the partitions over; a
        // running resync finishes here, so its message is committed too.
        let mut commit = TopicPartitionList::new();
        for partition in &revoked {
            if let Some(next) = state.next.remove(partition) {
                let _ = commit.add_partition_offset(&self.topic, *partition, Offset::Offset(next));
            }
            if state.hold.is_some_and(|(held, _)| held == *partition) {
                state.hold = None;
            }
        }
        if commit.count() > 0 {
            if let Err(error) = consumer.commit(&commit, CommitMode::Async) {
                tracing::warn!(%error, topic = %self.topic, "Could not commit revoked Kafka partitions");
            }
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(list) => {
                let added = self.partitions(list);
                let owned = self.publish(consumer);
                let first = !self.assigned_once.swap(true, Ordering::SeqCst);
                if first && owned.is_empty() {
                    tracing::warn!(
                        topic = %self.topic,
                        integration = %self.identity,
                        "No Kafka partitions assigned: other instances of this integration (same \
                         type and identifier) own them all. This instance stays in the consumer \
                         group and takes partitions over when the group rebalances (an instance \
                         leaves, or partitions move to this one)"
                    );
                } else if !added.is_empty() {
                    tracing::info!(
                        topic = %self.topic, ?added, ?owned,
                        "Kafka partitions assigned"
                    );
                }
            }
            Rebalance::Revoke(list) => {
                let revoked = self.partitions(list);
                let owned = self.publish(consumer);
                tracing::info!(topic = %self.topic, ?revoked, ?owned, "Kafka partitions revoked");
            }
            Rebalance::Error(error) => {
                tracing::warn!(%error, topic = %self.topic, "Kafka consumer group rebalance failed");
            }
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        match result {
            Ok(()) => tracing::debug!(
                topic = %self.topic,
                partitions = ?self.partitions(offsets),
                "Committed Kafka offsets"
            ),
            Err(error) => {
                tracing::warn!(%error, topic = %self.topic, "Could not commit Kafka offsets")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets_of(list: &TopicPartitionList) -> Vec<(i32, Offset)> {
        list.elements()
            .iter()
            .map(|e| (e.partition(), e.offset()))
            .collect()
    }

    #[test]
    fn a_running_resync_holds_its_partition_at_its_message() {
        let mut state = Offsets::default();
        state.handled(0, 4);
        state.handled(1, 9);
        assert_eq!(
            offsets_of(&state.commit_list("t")),
            [(0, Offset::Offset(5)), (1, Offset::Offset(10))]
        );
        // The resync of message 0@5 runs; later messages on partition 0 wait behind it.
        state.handled(0, 5);
        state.hold = Some((0, 5));
        state.handled(0, 6);
        state.handled(1, 10);
        assert_eq!(
            offsets_of(&state.commit_list("t")),
            [(0, Offset::Offset(5)), (1, Offset::Offset(11))]
        );
        state.hold = None;
        assert_eq!(
            offsets_of(&state.commit_list("t")),
            [(0, Offset::Offset(7)), (1, Offset::Offset(11))]
        );
    }
}
