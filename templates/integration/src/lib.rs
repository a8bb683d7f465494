//! # ocean-{{ project-name }}
//!
//! {{ description }}
//!
//! The integration is three small pieces, and Ocean is everything else:
//!
//! - [`config`]: the typed settings, mirroring `.port/spec.yaml`;
//! - [`client`]: the {{ title }} API client (requests, pagination, errors);
//! - [`integration`]: the kinds, and which API listing fetches each one{% if webhook %};
//! - [`webhook`]: live events, turning {{ title }} webhooks into changed items{% endif %}.
//!
//! The binary (`src/main.rs`) hands the config to Ocean's entry point. The library exists so
//! tests can run the integration in process (`tests/resync.rs`).

pub mod client;
pub mod config;
pub mod integration;
{%- if webhook %}
pub mod webhook;
{%- endif %}

pub use client::{ClientError, {{ project-name | pascal_case }}Client};
pub use config::{{ project-name | pascal_case }}Config;
pub use integration::{KINDS, {{ project-name | pascal_case }}};
