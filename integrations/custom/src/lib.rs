//! `ocean-custom`: syncs any REST API into Port by configuration alone. Each resource's `kind`
//! is an endpoint path of the configured `baseUrl`; its selector says how to call it (method,
//! query, headers, body, pagination) and where the items are (`data_path`, JQ).
//!
//! It is a port of Python Ocean's `custom` integration ("Ocean Custom"): the same configuration
//! names and defaults, selector fields and `__{param}` keys, so an existing installation keeps
//! working. The differences (every kind fails closed, pagination that always ends, every path
//! parameter resolved, per-resource pagination) are listed in the README. Not supported yet:
//! `body` templates of custom authentication (refused at startup).
//!
//! The binary (`src/main.rs`) is the SDK's entry point around [`Custom`]; this library exists
//! so that tests can drive the integration in process.

pub mod config;
pub mod custom_auth;
pub mod data_path;
pub mod integration;
pub mod pagination;
pub mod selector;

pub use config::{CustomConfig, InvalidConfig, Settings};
pub use integration::{BuildError, Custom, USER_AGENT};
pub use ocean::http::RetryPolicy;
