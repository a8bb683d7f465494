//! Ocean's runtime: startup in Port, the resync engine, reconciliation, resync-state reporting
//! and the event listeners.
//!
//! An integration implements [`Integration`] (the third-party side only: fetch raw items per
//! kind, optional webhook processors); everything else — Port registration and defaults,
//! mapping, batching, upserts, stale-entity deletion, resync state — happens here.
//!
//! The pieces, outside in:
//! - [`Ocean`] assembles a runtime from loaded [`ocean_config::Settings`] and an integration, and
//!   runs [`startup`], `on_start` and the configured [`listener`];
//! - [`Coordinator`] keeps resyncs one at a time (a newer request cancels the running one and
//!   waits for it to report `aborted` first) and reports the resync state around each run;
//! - [`ResyncEngine`] runs one full resync and returns a [`ResyncReport`];
//! - [`reconcile`] deletes stale entities — only when the whole resync succeeded.
//!
//! Invariants:
//! - the lifecycle never parses Port's wire JSON itself (the `ocean-port-client` does) and never
//!   evaluates JQ itself (`ocean-mapping` does, on the blocking pool);
//! - integrations never call Port: they only yield raw items;
//! - whatever leaves a resync's completeness in doubt (a failed kind, a selector error, a
//!   cancellation, an unreadable mapping) blocks stale-entity deletion, and the report says why;
//! - memory per kind is bounded by the pipeline's buffers, not by the number of items.
//!
//! Around them: the HTTP server ([`http`]: health, metrics, webhooks, `POST /resync`), live
//! events ([`live`]: bounded per-path queues, ordering groups, the same mapping and state
//! applier as a resync), the [`fence`] that keeps live events and a running resync from undoing
//! each other, one metrics vocabulary ([`metrics`]), and the scheduled resync.
//!
//! Left for the next issues: metrics reporting to Port and log shipping.

pub mod compare;
pub mod coordinator;
pub mod fence;
pub mod http;
pub mod integration;
pub mod listener;
pub mod live;
pub mod mask;
pub mod metrics;
pub mod order;
pub mod progress;
pub mod reconcile;
pub mod report;
pub mod resync;
pub mod runtime;
pub mod startup;
pub mod webhook;

pub use coordinator::{Coordinator, ResyncHandle, Trigger};
pub use integration::{
    BoxError, FetchContext, FetchError, Integration, Page, PageStream, StartContext,
};
pub use live::{LiveConfig, LiveEvents};
pub use mask::Masker;
pub use metrics::Metrics;
pub use progress::{KindProgress, KindProgressSnapshot, ResyncProgress};
pub use report::{
    AbortReason, Deletion, DeletionReport, FailureGroup, FailureReason, FailureTally, KindCounts,
    KindReport, Refusal, ResyncOutcome, ResyncReport,
};
pub use resync::{EngineConfig, ResyncCancel, ResyncEngine};
pub use runtime::{Ocean, OceanBuilder, RunOutcome, RuntimeError, port_client_config};
pub use startup::{StartupError, StartupOutcome};
pub use webhook::{
    WebhookBodyError, WebhookEvent, WebhookProcessor, WebhookRejection, WebhookResults,
    WebhookRoute, hmac_sha256_hex, verify_hmac_sha256_hex,
};
