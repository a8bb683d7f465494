//! `ocean-github`: syncs GitHub — organizations, repositories, pull requests, issues, teams,
//! users, branches, workflows, deployments, alerts, files and more — into Port, with live
//! updates from GitHub webhooks.
//!
//! It is a port of Python Ocean's GitHub integration (`github-ocean`): the same configuration
//! names, kinds, selector fields, enrichment keys (`__repository`, `__organization`, …), default
//! blueprints and mapping, and webhook path, so an existing Port catalog and mapping keep
//! working. Differences — above all, a failed listing fails its kind instead of looking empty —
//! are listed in the README and in the modules that make them.
//!
//! The binary (`src/main.rs`) is the SDK's entry point around [`Github`]; this library exists
//! so that tests can drive the integration, its client and its webhook processors in process.

pub mod accounts;
pub mod auth;
pub mod client;
pub mod config;
pub mod integration;
pub mod kinds;
pub mod repo_mapping;
pub mod repos;
pub mod selectors;
pub mod webhooks;

pub use client::{GithubClient, GithubError, retry_policy};
pub use config::{GithubConfig, GithubUrls, InvalidConfig};
pub use integration::{BuildError, Github};
pub use kinds::KINDS;
pub use webhooks::WEBHOOK_PATH;
