//! Ocean's runtime: startup, the resync engine, reconciliation, event listeners and the HTTP
//! server.
//!
//! An integration implements [`Integration`] (the third-party side only: fetch raw items per
//! kind); everything else — configuration, Port registration and defaults, mapping, batching,
//! upserts, stale-entity deletion, resync state, logs — happens here.

pub mod integration;
pub mod webhook;

pub use integration::{
    BoxError, FetchContext, FetchError, Integration, Page, PageStream, StartContext,
};
pub use webhook::{
    WebhookBodyError, WebhookEvent, WebhookProcessor, WebhookRejection, WebhookResults,
    WebhookRoute,
};
