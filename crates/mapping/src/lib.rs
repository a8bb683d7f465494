//! Ocean's mapping engine: the `port-app-config` types and the transformation of raw third-party
//! items into Port entities through JQ. It does no I/O and knows nothing of HTTP or Port's API.
pub mod config;
pub mod engine;
mod fast;
pub mod jq;
pub mod preview;

pub use config::{ConfigError, PortAppConfig, ResourceConfig};
pub use engine::{BatchOutcome, CompiledResource, EngineOptions};
