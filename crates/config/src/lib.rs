//! Ocean's configuration: typed settings from defaults, `config.yaml`, `.env` and `OCEAN__`
//! environment variables, and the `.port/` folder (spec and default resources).
//!
//! Deployments written for the Python framework keep working unchanged: the same file names,
//! the same keys (camelCase or snake_case in YAML), the same environment variable names, the same
//! `{{ from env NAME }}` providers. Where the reference behaves accidentally (literal nested YAML
//! values beating environment variables, crashes on nested integration config), this crate does
//! what a user would expect instead; `COMPATIBILITY.md` lists each difference.
//!
//! Entry points:
//! - [`Loader`] → [`Settings`] (framework settings) and [`ApplicationSettings`];
//! - [`Settings::integration_config`] → the integration's own typed configuration;
//! - [`Spec`] (`.port/spec.yaml`) and [`PortResources`] (`.port/resources/`);
//! - [`Settings::render_masked`] for printing, [`registry::SETTINGS`] for documentation.
//!
//! This crate does no network I/O and never changes the process environment; the only files it
//! reads are the ones named above.

mod application;
pub mod case;
pub mod dotenv;
mod error;
mod integration_config;
mod load;
pub mod registry;
mod render;
mod resources;
mod settings;
mod spec;
pub mod yaml;

pub use application::{ApplicationFlags, ApplicationSettings};
pub use error::{ConfigError, Problem};
pub use integration_config::{IntegrationConfig, looks_secret};
pub use load::{CONFIG_FILE, DOTENV_FILE, ENV_PREFIX, IntegrationInfo, Loader};
pub use resources::{
    DEFAULT_RESOURCES_DIR, PortResources, RESOURCE_EXTENSIONS, RESOURCE_STEMS, ResourcesError,
    ScorecardPreset,
};
pub use settings::{
    ActionsProcessorSettings, CachingStorageMode, CreatePortResourcesOrigin, EventListener,
    EventListenerSettings, EventListenerType, IdentityPropagationSettings, IntegrationSettings,
    KafkaSettings, LiveEventsSettings, LiveEventsType, LogFormat, LogLevel, MetricsSettings,
    OAuthSettings, PollingSettings, PortSettings, ProcessingMode, RedisSettings, Runtime, Settings,
    SslClientSettings, SslSettings, SslX509Settings, StreamingSettings, VaultSettings, VaultType,
    WebhookSettings,
};
pub use spec::{
    ConfigurationSpec, ConfigurationType, Feature, FeatureResource, SPEC_FILE_CANDIDATES, SaasSpec,
    Spec, SpecError,
};
