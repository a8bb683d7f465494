//! A typed async client for Port's REST API — the only crate in Ocean that knows Port's wire
//! JSON (`docs/port-api.md` is its contract).
//!
//! It owns: authentication (client id and secret → cached access token, renewed before expiry
//! and refreshed single-flight on 401), the retry policy of Python Ocean (statuses, eligible
//! POSTs, exponential backoff with jitter and tier factor, `Retry-After`), the exact User-Agent
//! Port uses as an entity's datasource, every endpoint the lifecycle needs (integration record,
//! resync state, entities with Python's bulk chunking and per-entity results, stale-entity
//! listing and search, blueprints, default resources, organization, Kafka credentials,
//! migrations, ingest URLs), typed answers, and counters for Prometheus.
//!
//! It does not own: deciding what to write (mapping, changed-entity filter, reconciliation,
//! deletion order, drift detection — the lifecycle), reading settings (the config crate builds a
//! [`PortClientConfig`]), masking secrets in raw examples, or logging policy for the errors it
//! returns. Results that are data (a failed entity in a bulk upsert, a failed delete batch) are
//! returned as data; only calls that fail as a whole return [`PortError`].
//!
//! Left out on purpose: the lakehouse write, the DSP lifecycle API, actions and workflow runs,
//! identity propagation and organization secrets — flows the first milestone does not run.

mod auth;
pub mod batch;
mod blueprints;
pub mod changelog;
mod client;
pub mod compare;
mod config;
mod defaults;
mod entities;
mod error;
mod ingest;
mod integrations;
mod metrics;
mod organization;
pub mod pyfmt;
mod relations;
pub mod retry;
pub mod signature;
mod transport;
mod types;

pub use client::PortClient;
pub use config::{
    BulkLimits, DEFAULT_BASE_URL, DEFAULT_BULK_MAX_BYTES, DEFAULT_BULK_MAX_ENTITIES,
    DEFAULT_OCEAN_CORE_VERSION, IntegrationIdentity, MAX_DELETE_BATCH, PortClientConfig,
    UserAgentFeature,
};
pub use defaults::{BlueprintStage, DefaultBlueprint, InvalidDefaultBlueprint};
pub use entities::{
    BulkDeleteReport, DATASOURCE_PAGE_SIZE, DeleteOptions, DeleteOutcome, EventInfo, EventType,
    FailureCause, SEARCH_IDENTIFIERS_CHUNK, SingleUpsert, UpsertFailure, UpsertOptions,
    UpsertOutcome,
};
pub use error::PortError;
pub use integrations::{
    CreateIntegration, IntegrationPatch, ProvisionPoll, ResourcesOrigin, ResyncStateUpdate,
    ResyncStatus, next_resync_time,
};
pub use metrics::MetricsSnapshot;
pub use relations::relation_target_keys;
pub use retry::{RetryPolicy, SyncTier, port_retry_policy, port_retry_policy_for};
pub use types::{
    Blueprint, BlueprintRelation, BlueprintSchema, IngestAttributes, Integration, KafkaCredentials,
    Migration, Organization, ResyncRequest, ResyncStateInfo,
};
