//! Ocean's runtime: startup in Port, the resync engine, reconciliation, resync-state reporting
//! and the event listeners.
//!
//! An integration implements [`Integration`] (the third-party side only: fetch raw items per
//! kind, optional webhook processors); everything else — Port registration and defaults,
//! mapping, batching, upserts, stale-entity deletion, resync state — happens here.
//!
//! The pieces, outside in (the modules are private; what is public is re-exported here):
//! - [`Ocean`] assembles a runtime from loaded [`ocean_config::Settings`] and an integration, and
//!   runs startup (registration, default resources), `on_start` and the configured event
//!   listener ([`EventListener`]);
//! - [`Coordinator`] keeps resyncs one at a time (a newer request cancels the running one and
//!   waits for it to report `aborted` first) and reports the resync state around each run;
//! - the resync pipeline (`pipeline`: mapping → fetch → map → diff → upsert → reconcile) runs
//!   one full resync over the runtime's shared services and returns a [`ResyncReport`];
//!   reconciliation deletes stale entities only when the whole resync succeeded.
//!
//! Invariants:
//! - the lifecycle never builds or parses Port's wire JSON (the `ocean-port-client` does) and
//!   never evaluates JQ itself (`ocean-mapping` does, on the blocking pool);
//! - integrations never call Port: they only yield raw items;
//! - whatever leaves a resync's completeness in doubt (a failed kind, a selector error, an
//!   entity Port refused, a cancellation, an unreadable mapping) blocks stale-entity deletion,
//!   and the report says why;
//! - memory per kind is bounded by the pipeline's buffers, not by the number of items.
//!
//! Around them: the HTTP server (health, metrics, webhooks, `POST /resync`), live events
//! ([`LiveEvents`]: bounded per-path queues, ordering groups, the same stages as a resync), the
//! fence that keeps live events and a running resync from undoing each other, one metrics
//! vocabulary ([`Metrics`]), and the scheduled resync.

mod coordinator;
mod defaults;
mod fence;
mod http;
mod integration;
mod listener;
mod live;
mod metrics;
mod pipeline;
mod plan;
mod progress;
mod report;
mod runtime;
mod services;
mod startup;
mod webhook;

pub use coordinator::{Coordinator, ResyncHandle, Trigger};
pub use defaults::{CleanError, CleanOptions, CleanReport, MIGRATION_POLL};
pub use integration::{
    BoxError, FetchContext, FetchError, Integration, Page, PageStream, StartContext,
};
#[cfg(feature = "kafka")]
pub use listener::kafka::{Assignment, Kafka};
pub use listener::{EventListener, ListenerContext, ListenerExit};
pub use live::{Ingress, LiveConfig, LiveEvents};
pub use metrics::Metrics;
pub use ocean_model::Masker;
pub use pipeline::{EngineConfig, ResyncCancel};
pub use plan::{
    Action, BlueprintPlan, Change, DeletionPlan, FieldDiff, Plan, PlanOptions, PlanReport,
};
pub use progress::{KindProgress, KindProgressSnapshot, ResyncProgress};
/// The Kafka client the KAFKA listener is built on (feature `kafka`), for tests that produce
/// messages to a broker.
#[cfg(feature = "kafka")]
pub use rdkafka;
pub use report::{
    AbortReason, Deletion, DeletionReport, FailureGroup, FailureReason, FailureTally, KindCounts,
    KindReport, MappingError, ReconcileError, Refusal, ResyncOutcome, ResyncReport,
    SharedPortError,
};
pub use runtime::{Ocean, OceanBuilder, RunOutcome, RuntimeError, port_client_config};
pub use startup::{StartupError, StartupOutcome};
pub use webhook::{
    WebhookBodyError, WebhookEvent, WebhookProcessor, WebhookRejection, WebhookResults,
    WebhookRoute,
};
