//! Ocean's mapping engine: the `port-app-config` types and the transformation of raw third-party
//! items into Port entities through JQ. It does no I/O and knows nothing of HTTP or Port's API.
//!
//! What it owns:
//! - [`config`]: the mapping as plain data ([`PortAppConfig`]), loaded from YAML (PyYAML's YAML
//!   1.1 rules) or JSON with Python Ocean's validation, and its request form.
//! - [`engine`]: a resource compiled once ([`CompiledResource`], `Send + Sync`) and applied to
//!   batches of raw items ([`BatchOutcome`]: entities plus every per-item problem as data).
//! - [`jq`]: JQ evaluation with jq 1.8.2's semantics (what Python Ocean embeds) on top of jaq,
//!   with native evaluation of common expression shapes.
//! - [`preview`]: every resource of a kind over a list of items (`ocean map`).
//! - [`stream`]: the same over an input too large for memory: raw items split out of any
//!   `Read` (JSON array or NDJSON), batches mapped on scoped worker threads, results handed
//!   back in input order (`ocean map` streams through it).
//!
//! What it does not do: fetch items, talk to Port, open files or read settings, log; only
//! [`stream::map_ordered`] starts threads. Callers pass items in and get entities out; [`EngineOptions`] carries the few
//! settings (environment access for `env`/`$ENV`, items-to-parse batch size).
pub mod config;
pub mod engine;
mod fast;
pub mod jq;
pub mod preview;
pub mod stream;

pub use config::{ConfigError, PortAppConfig, ResourceConfig};
pub use engine::{BatchOutcome, CompiledResource, EngineOptions};
