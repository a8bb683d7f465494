//! `ocean-pagerduty`: syncs PagerDuty services, incidents, schedules, on-calls and escalation
//! policies (and users, teams and other list endpoints) into Port, with live updates from
//! PagerDuty V3 webhooks.
//!
//! It is a port of Python Ocean's `pagerduty` integration: the same kinds, selector fields
//! (`apiQueryParams`, `serviceAnalytics`, `attachOncallUsers`, …), enrichment keys
//! (`__oncall_user`, `__analytics`, `__email`, …), default blueprints and mapping, and webhook
//! path, so an existing Port catalog and mapping keep working. Differences are listed in the
//! README and in the modules that make them.
//!
//! The binary (`src/main.rs`) is the SDK's entry point around [`PagerDuty`]; this library exists
//! so that tests can drive the integration, its client and its webhook processors in process.

pub mod client;
pub mod config;
pub mod enrich;
pub mod integration;
pub mod selectors;
pub mod webhooks;

pub use client::{ClientError, PagerDutyClient, RetryPolicy};
pub use config::{InvalidConfig, PagerDutyConfig};
pub use integration::{BuildError, LIST_KINDS, PagerDuty, SPECIAL_KINDS, is_list_kind};
pub use webhooks::{IncidentProcessor, ServiceProcessor, WEBHOOK_PATH};
