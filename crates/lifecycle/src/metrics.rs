//! One metrics vocabulary for every integration, served at `GET {prefix}/metrics`.
//!
//! Observability goes through **typed internal events** (Vector's pattern): one struct per thing
//! that happened ([`ItemsFetched`], [`EntitiesUpserted`], [`ResyncFinished`],
//! [`WebhookEventDone`], …). Emitting one logs it and bumps its metric, with a fixed name and
//! fixed labels, so every integration reports the same series and no component invents its own:
//!
//! | series | labels | meaning |
//! |---|---|---|
//! | `ocean_items_fetched_total` | `kind` | raw items the integration yielded in resyncs |
//! | `ocean_entities_upserted_total` | `kind` | entities Port stored (resyncs and live events) |
//! | `ocean_entities_failed_total` | `kind` | entities Port refused |
//! | `ocean_entities_deleted_total` | `kind` | entities deleted (`__reconciliation__` for stale entities of a resync) |
//! | `ocean_resyncs_total` | `outcome` | finished resyncs: `completed`, `failed`, `aborted` |
//! | `ocean_resync_duration_seconds` | | histogram of resync durations |
//! | `ocean_webhook_events_total` | `path`, `outcome` | webhook requests by final outcome (see [`WebhookOutcome`]) |
//! | `ocean_webhook_queue_depth` | `path` | live events waiting to be processed |
//! | `ocean_port_requests_total` | `status` | HTTP responses from Port, every attempt (`0`: no response) |
//! | `ocean_port_retries_total` | | retried Port requests |
//!
//! The two `ocean_port_*` series are read from the Port client's own counters at scrape time
//! rather than mirrored. Python Ocean's per-kind/phase gauges (`duration_seconds{kind,phase}`,
//! `object_count{…}`, resource-usage gauges) are not reproduced. Everything is per [`Metrics`]
//! instance, never global, so several runtimes in one process (tests) do not mix.

use std::fmt::Write as _;
use std::time::Duration;

use ocean_port_client::PortClient;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The `kind` pseudo-value of deletions made by a resync's reconciliation (Python Ocean's
/// pseudo-kind of the same name).
pub const RECONCILIATION_KIND: &str = "__reconciliation__";

/// The content type of [`Metrics::render`]'s output when the scraper asks for OpenMetrics.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The content type otherwise (Python Ocean's).
pub const TEXT_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookLabels {
    path: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PathLabel {
    path: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

/// The registry and every series of one runtime. Cheap to share (`Arc`); emitting is lock-free
/// except for the first use of a label value.
pub struct Metrics {
    registry: Registry,
    items_fetched: Family<KindLabel, Counter>,
    entities_upserted: Family<KindLabel, Counter>,
    entities_failed: Family<KindLabel, Counter>,
    entities_deleted: Family<KindLabel, Counter>,
    resyncs: Family<OutcomeLabel, Counter>,
    resync_duration: Histogram,
    webhook_events: Family<WebhookLabels, Counter>,
    webhook_queue_depth: Family<PathLabel, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(None)
    }
}

impl Metrics {
    /// A fresh set of series; with a Port client, its request and retry counters are exported
    /// too.
    pub fn new(client: Option<PortClient>) -> Self {
        let mut registry = Registry::default();
        let items_fetched = Family::<KindLabel, Counter>::default();
        let entities_upserted = Family::<KindLabel, Counter>::default();
        let entities_failed = Family::<KindLabel, Counter>::default();
        let entities_deleted = Family::<KindLabel, Counter>::default();
        let resyncs = Family::<OutcomeLabel, Counter>::default();
        // 1 s … ~4.5 h.
        let resync_duration = Histogram::new(exponential_buckets(1.0, 2.0, 15));
        let webhook_events = Family::<WebhookLabels, Counter>::default();
        let webhook_queue_depth = Family::<PathLabel, Gauge>::default();
        registry.register(
            "ocean_items_fetched",
            "Raw items the integration yielded during resyncs",
            items_fetched.clone(),
        );
        registry.register(
            "ocean_entities_upserted",
            "Entities Port stored, from resyncs and live events",
            entities_upserted.clone(),
        );
        registry.register(
            "ocean_entities_failed",
            "Entities Port refused to store",
            entities_failed.clone(),
        );
        registry.register(
            "ocean_entities_deleted",
            "Entities deleted from Port (kind __reconciliation__: stale entities of a resync)",
            entities_deleted.clone(),
        );
        registry.register(
            "ocean_resyncs",
            "Finished full resyncs by outcome",
            resyncs.clone(),
        );
        registry.register(
            "ocean_resync_duration_seconds",
            "Duration of full resyncs",
            resync_duration.clone(),
        );
        registry.register(
            "ocean_webhook_events",
            "Webhook requests by final outcome",
            webhook_events.clone(),
        );
        registry.register(
            "ocean_webhook_queue_depth",
            "Live events waiting to be processed",
            webhook_queue_depth.clone(),
        );
        if let Some(client) = client {
            registry.register_collector(Box::new(PortClientCollector { client }));
        }
        Metrics {
            registry,
            items_fetched,
            entities_upserted,
            entities_failed,
            entities_deleted,
            resyncs,
            resync_duration,
            webhook_events,
            webhook_queue_depth,
        }
    }

    /// Emits an internal event: logs it and bumps its series.
    pub fn emit(&self, event: impl InternalEvent) {
        event.emit(self);
    }

    /// Every series in the OpenMetrics text format (which Prometheus also reads as
    /// `text/plain`), ending with `# EOF`.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
            let _ = writeln!(out, "# metrics could not be encoded");
        }
        out
    }

    /// The current value of a `kind`-labelled counter (`ocean_entities_upserted_total`, …), for
    /// tests and summaries; `None` for an unknown series name.
    pub fn kind_count(&self, series: &str, kind: &str) -> Option<u64> {
        let family = match series {
            "ocean_items_fetched_total" => &self.items_fetched,
            "ocean_entities_upserted_total" => &self.entities_upserted,
            "ocean_entities_failed_total" => &self.entities_failed,
            "ocean_entities_deleted_total" => &self.entities_deleted,
            _ => return None,
        };
        Some(
            family
                .get_or_create(&KindLabel {
                    kind: kind.to_owned(),
                })
                .get(),
        )
    }
}

/// Something that happened, with the metric it bumps. See the module documentation.
pub trait InternalEvent {
    /// Logs the event and updates its series.
    fn emit(self, metrics: &Metrics);
}

/// A resync fetched a page of raw items of `kind`.
#[derive(Debug, Clone, Copy)]
pub struct ItemsFetched<'a> {
    /// The kind.
    pub kind: &'a str,
    /// Items in the page.
    pub count: u64,
}

impl InternalEvent for ItemsFetched<'_> {
    fn emit(self, metrics: &Metrics) {
        tracing::trace!(kind = self.kind, count = self.count, "Items fetched");
        bump(&metrics.items_fetched, self.kind, self.count);
    }
}

/// Port stored entities of `kind`.
#[derive(Debug, Clone, Copy)]
pub struct EntitiesUpserted<'a> {
    /// The kind whose mapping produced them.
    pub kind: &'a str,
    /// How many.
    pub count: u64,
}

impl InternalEvent for EntitiesUpserted<'_> {
    fn emit(self, metrics: &Metrics) {
        tracing::trace!(kind = self.kind, count = self.count, "Entities upserted");
        bump(&metrics.entities_upserted, self.kind, self.count);
    }
}

/// Port refused entities of `kind`.
#[derive(Debug, Clone, Copy)]
pub struct EntitiesFailed<'a> {
    /// The kind whose mapping produced them.
    pub kind: &'a str,
    /// How many.
    pub count: u64,
}

impl InternalEvent for EntitiesFailed<'_> {
    fn emit(self, metrics: &Metrics) {
        if self.count > 0 {
            tracing::debug!(kind = self.kind, count = self.count, "Entities failed");
        }
        bump(&metrics.entities_failed, self.kind, self.count);
    }
}

/// Entities were deleted from Port.
#[derive(Debug, Clone, Copy)]
pub struct EntitiesDeleted<'a> {
    /// The kind (a live event's resource), or [`RECONCILIATION_KIND`].
    pub kind: &'a str,
    /// How many.
    pub count: u64,
}

impl InternalEvent for EntitiesDeleted<'_> {
    fn emit(self, metrics: &Metrics) {
        if self.count > 0 {
            tracing::debug!(kind = self.kind, count = self.count, "Entities deleted");
        }
        bump(&metrics.entities_deleted, self.kind, self.count);
    }
}

/// A full resync ended.
#[derive(Debug, Clone, Copy)]
pub struct ResyncFinished {
    /// `completed`, `failed` or `aborted` (the state reported to Port).
    pub outcome: &'static str,
    /// How long it ran.
    pub duration: Duration,
}

impl InternalEvent for ResyncFinished {
    fn emit(self, metrics: &Metrics) {
        tracing::debug!(
            outcome = self.outcome,
            seconds = self.duration.as_secs_f64(),
            "Resync finished"
        );
        metrics
            .resyncs
            .get_or_create(&OutcomeLabel {
                outcome: self.outcome,
            })
            .inc();
        metrics.resync_duration.observe(self.duration.as_secs_f64());
    }
}

/// The final outcome of one webhook request; each request is counted once, at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// Processed; every matching processor succeeded (including "no kind of it is mapped").
    Processed,
    /// Processed, but a processor failed (after retries) or timed out.
    Failed,
    /// Refused by a processor's authentication (401, nothing queued).
    Rejected,
    /// The body was not JSON, or a processor found the payload invalid.
    Invalid,
    /// No processor of the path wanted it (200 "not supported", nothing queued).
    Unsupported,
    /// The queue stayed full for the whole wait, or the process was stopping (503).
    Overloaded,
    /// Still queued when shutdown's drain time ran out.
    Abandoned,
}

impl WebhookOutcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookOutcome::Processed => "processed",
            WebhookOutcome::Failed => "failed",
            WebhookOutcome::Rejected => "rejected",
            WebhookOutcome::Invalid => "invalid",
            WebhookOutcome::Unsupported => "unsupported",
            WebhookOutcome::Overloaded => "overloaded",
            WebhookOutcome::Abandoned => "abandoned",
        }
    }
}

/// A webhook request reached its final outcome.
#[derive(Debug, Clone, Copy)]
pub struct WebhookEventDone<'a> {
    /// The path relative to `/integration` (e.g. `/webhook`).
    pub path: &'a str,
    /// What became of it.
    pub outcome: WebhookOutcome,
    /// How many (shutdown counts abandoned events in one go).
    pub count: u64,
}

impl InternalEvent for WebhookEventDone<'_> {
    fn emit(self, metrics: &Metrics) {
        tracing::trace!(
            path = self.path,
            outcome = self.outcome.as_str(),
            "Webhook event done"
        );
        metrics
            .webhook_events
            .get_or_create(&WebhookLabels {
                path: self.path.to_owned(),
                outcome: self.outcome.as_str(),
            })
            .inc_by(self.count);
    }
}

/// The number of live events waiting on a path changed.
#[derive(Debug, Clone, Copy)]
pub struct WebhookQueueDepth<'a> {
    /// The path.
    pub path: &'a str,
    /// Events waiting.
    pub depth: usize,
}

impl InternalEvent for WebhookQueueDepth<'_> {
    fn emit(self, metrics: &Metrics) {
        metrics
            .webhook_queue_depth
            .get_or_create(&PathLabel {
                path: self.path.to_owned(),
            })
            .set(i64::try_from(self.depth).unwrap_or(i64::MAX));
    }
}

fn bump(family: &Family<KindLabel, Counter>, kind: &str, by: u64) {
    family
        .get_or_create(&KindLabel {
            kind: kind.to_owned(),
        })
        .inc_by(by);
}

/// Exports the Port client's counters at scrape time.
#[derive(Debug)]
struct PortClientCollector {
    client: PortClient,
}

impl Collector for PortClientCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let snapshot = self.client.metrics();
        let requests = ConstCounter::new(0u64);
        let mut rows: Vec<(String, u64)> = snapshot
            .requests_by_status
            .iter()
            .map(|(status, n)| (status.to_string(), *n))
            .collect();
        if snapshot.transport_errors > 0 {
            let zero = rows.iter_mut().find(|(s, _)| s == "0");
            match zero {
                Some(row) => row.1 += snapshot.transport_errors,
                None => rows.insert(0, ("0".to_owned(), snapshot.transport_errors)),
            }
        }
        {
            let mut family = encoder.encode_descriptor(
                "ocean_port_requests",
                "HTTP responses from Port by status (every attempt; 0: no response)",
                None,
                requests.metric_type(),
            )?;
            for (status, n) in rows {
                let labels = StatusLabel { status };
                ConstCounter::new(n).encode(family.encode_family(&labels)?)?;
            }
        }
        let retries = ConstCounter::new(snapshot.retries);
        let metric = encoder.encode_descriptor(
            "ocean_port_retries",
            "Port requests retried",
            None,
            retries.metric_type(),
        )?;
        retries.encode(metric)?;
        Ok(())
    }
}

/// Whether a scraper's `Accept` header asks for OpenMetrics.
pub fn wants_openmetrics(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| a.contains("application/openmetrics-text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample lines of `text` whose series starts with `prefix`, sorted.
    fn samples(text: &str, prefix: &str) -> Vec<String> {
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with(prefix))
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    }

    #[test]
    fn events_render_with_fixed_names_and_labels() {
        let m = Metrics::default();
        m.emit(ItemsFetched {
            kind: "service",
            count: 40,
        });
        m.emit(ItemsFetched {
            kind: "service",
            count: 2,
        });
        m.emit(EntitiesUpserted {
            kind: "service",
            count: 41,
        });
        m.emit(EntitiesFailed {
            kind: "service",
            count: 1,
        });
        m.emit(EntitiesDeleted {
            kind: RECONCILIATION_KIND,
            count: 3,
        });
        m.emit(ResyncFinished {
            outcome: "completed",
            duration: Duration::from_millis(1500),
        });
        m.emit(WebhookEventDone {
            path: "/webhook",
            outcome: WebhookOutcome::Rejected,
            count: 1,
        });
        m.emit(WebhookQueueDepth {
            path: "/webhook",
            depth: 7,
        });
        let text = m.render();
        assert_eq!(
            samples(&text, "ocean_items_fetched_total"),
            [r#"ocean_items_fetched_total{kind="service"} 42"#]
        );
        assert_eq!(
            samples(&text, "ocean_entities_upserted_total"),
            [r#"ocean_entities_upserted_total{kind="service"} 41"#]
        );
        assert_eq!(
            samples(&text, "ocean_entities_failed_total"),
            [r#"ocean_entities_failed_total{kind="service"} 1"#]
        );
        assert_eq!(
            samples(&text, "ocean_entities_deleted_total"),
            [r#"ocean_entities_deleted_total{kind="__reconciliation__"} 3"#]
        );
        assert_eq!(
            samples(&text, "ocean_resyncs_total"),
            [r#"ocean_resyncs_total{outcome="completed"} 1"#]
        );
        assert!(
            text.contains("ocean_resync_duration_seconds_count 1"),
            "{text}"
        );
        assert!(
            text.contains("ocean_resync_duration_seconds_sum 1.5"),
            "{text}"
        );
        assert!(
            text.contains(r#"ocean_resync_duration_seconds_bucket{le="2.0"} 1"#),
            "{text}"
        );
        assert_eq!(
            samples(&text, "ocean_webhook_events_total"),
            [r#"ocean_webhook_events_total{path="/webhook",outcome="rejected"} 1"#]
        );
        assert_eq!(
            samples(&text, "ocean_webhook_queue_depth"),
            [r#"ocean_webhook_queue_depth{path="/webhook"} 7"#]
        );
        assert!(text.contains("# TYPE ocean_entities_upserted counter"));
        assert!(text.ends_with("# EOF\n"));
        assert_eq!(
            m.kind_count("ocean_entities_upserted_total", "service"),
            Some(41)
        );
        assert_eq!(m.kind_count("nope", "service"), None);
    }

    #[test]
    fn openmetrics_is_negotiated_from_accept() {
        assert!(wants_openmetrics(Some(
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
        )));
        assert!(!wants_openmetrics(Some("text/plain")));
        assert!(!wants_openmetrics(None));
    }
}
