//! The typed framework settings: what the rest of Ocean reads once configuration is loaded.
//!
//! Field names are the settings keys (`event_listener.interval` is
//! `settings.event_listener` → `EventListener::Polling(p)` → `p.interval`), and each key's
//! environment variable is `OCEAN__` plus the upper-cased path. Credentials are [`Secret`]s, so
//! `Debug` never shows them, and the `Serialize` implementations exist only for printing: every
//! secret serialises as `[REDACTED]`. Loading, defaults precedence and validation live in `load`;
//! this module only declares shapes and per-section defaults.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use ocean_model::Secret;
use serde::{Deserialize, Serialize, Serializer};

use crate::integration_config::IntegrationConfig;

pub(crate) fn redact<S: Serializer>(_: &Secret, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(Secret::REDACTED)
}

pub(crate) fn redact_option<S: Serializer>(v: &Option<Secret>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_str(Secret::REDACTED),
        None => s.serialize_none(),
    }
}

/// Declares a string-valued enum: canonical spellings, case-insensitive parsing, and a
/// deserialisation error that lists every accepted value.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every accepted spelling, canonical case, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The canonical spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text ),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            /// Parses a value, ignoring case.
            fn from_str(s: &str) -> Result<Self, String> {
                $(
                    if s.eq_ignore_ascii_case($text) {
                        return Ok($name::$variant);
                    }
                )+
                Err(format!("expected one of {}", $name::NAMES.join(", ")))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        write!(f, "one of {}", $name::NAMES.join(", "))
                    }
                    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<$name, E> {
                        s.parse()
                            .map_err(|_| E::unknown_variant(s, $name::NAMES))
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

string_enum! {
    /// Which event listener drives resyncs (`event_listener.type`).
    EventListenerType {
        /// Poll Port for resync requests (the default).
        Polling = "POLLING",
        /// Consume Port's Kafka topic.
        Kafka = "KAFKA",
        /// Port calls `POST /resync` on this integration.
        Webhook = "WEBHOOK",
        /// One resync, then exit.
        Once = "ONCE",
        /// No resyncs; live events only.
        WebhooksOnly = "WEBHOOKS_ONLY",
        /// No resyncs; actions processor only.
        ActionsOnly = "ACTIONS_ONLY",
    }
}

string_enum! {
    /// Where the integration runs (`runtime`).
    Runtime {
        /// Self-hosted (the default).
        OnPrem = "OnPrem",
        /// Hosted by Port.
        Saas = "Saas",
    }
}

string_enum! {
    /// Who provisions the default resources (`create_port_resources_origin`).
    CreatePortResourcesOrigin {
        /// Nothing is provisioned.
        Empty = "Empty",
        /// Ocean creates them from `.port/resources`.
        Ocean = "Ocean",
        /// The default behaviour for the runtime.
        Default = "Default",
        /// Port provisions them.
        Port = "Port",
    }
}

string_enum! {
    /// Where handler results are memoised (`caching_storage_mode`).
    CachingStorageMode {
        /// On disk under `/tmp/ocean/.ocean_cache` (the default).
        Disk = "disk",
        /// In process memory.
        Memory = "memory",
    }
}

string_enum! {
    /// Which pipeline processes raw data (`processing_mode`).
    ProcessingMode {
        /// The data-source processor (the default; effective only with Port's org flags).
        Dsp = "dsp",
        /// Mapping inside Ocean.
        OceanCore = "ocean-core",
    }
}

string_enum! {
    /// Where live events are consumed from (`live_events.type`).
    LiveEventsType {
        /// A Redis stream.
        Redis = "REDIS",
    }
}

string_enum! {
    /// Which vault stores propagated identities (`identity_propagation.vault.type`).
    VaultType {
        /// AWS Secrets Manager (the default).
        AwsSecretsManager = "aws_secrets_manager",
        /// A vault client supplied by the integration.
        Custom = "custom",
    }
}

string_enum! {
    /// Log verbosity (`APPLICATION__LOG_LEVEL`).
    LogLevel {
        /// Errors only.
        Error = "ERROR",
        /// Warnings and errors.
        Warning = "WARNING",
        /// Normal operation (the default).
        Info = "INFO",
        /// Everything.
        Debug = "DEBUG",
        /// Critical failures only.
        Critical = "CRITICAL",
    }
}

string_enum! {
    /// How log lines are written (`APPLICATION__LOG_FORMAT`).
    LogFormat {
        /// Human-readable on a terminal, JSON otherwise (the default).
        Auto = "auto",
        /// Human-readable lines.
        Human = "human",
        /// One JSON object per line.
        Json = "json",
    }
}

/// The loaded framework configuration.
///
/// Build it with [`crate::Loader`]. Printing it through [`Settings::render_masked`] or `Debug`
/// never shows a credential.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Port API connection (`port.*`).
    pub port: PortSettings,
    /// This installation and its own configuration (`integration.*`).
    pub integration: IntegrationSettings,
    /// What triggers resyncs (`event_listener.*`).
    pub event_listener: EventListenerSettings,
    /// Create the default blueprints, mapping, actions, … on first start.
    pub initialize_port_resources: bool,
    /// Who provisions the default resources; `None` lets the runtime decide.
    pub create_port_resources_origin: Option<CreatePortResourcesOrigin>,
    /// Minutes between scheduled full resyncs; `None` disables the timer.
    pub scheduled_resync_interval: Option<u64>,
    /// The defaults folder (falls back to `.port/resources`).
    pub resources_path: String,
    /// Self-hosted or hosted by Port.
    pub runtime: Runtime,
    /// Public URL of this integration (webhook targets); `None` when not reachable.
    pub base_url: Option<String>,
    /// Prefix for every HTTP route.
    pub path_prefix: Option<String>,
    /// Whether mapping JQ may read environment variables (`env`, `$ENV`).
    pub allow_environment_variables_jq_access: bool,
    /// Whether to send up to 5 raw items per kind to Port as examples.
    pub send_raw_data_examples: bool,
    /// Seconds between liveness heartbeats (at least 1).
    pub status_heartbeat_interval_seconds: u64,
    /// Third-party HTTP client timeout, seconds.
    pub client_timeout: u64,
    /// File holding an externally managed OAuth token for third-party calls.
    pub oauth_access_token_file_path: Option<String>,
    /// Live-event workers per webhook path.
    pub event_workers_count: u64,
    /// Log masked webhook payloads.
    pub events_debug_logging: bool,
    /// Per-processor timeout for one live event, seconds.
    pub max_event_processing_seconds: f64,
    /// Queue drain time at shutdown, seconds.
    pub max_wait_seconds_before_shutdown: f64,
    /// Where handler results are memoised; `None` disables memoisation.
    pub caching_storage_mode: Option<CachingStorageMode>,
    /// Entities per bulk upsert request.
    pub upsert_entities_batch_max_length: u64,
    /// Byte budget of one bulk upsert request.
    pub upsert_entities_batch_max_size_in_bytes: u64,
    /// Entities per bulk delete request (the Port client caps it at 100).
    pub delete_entities_max_batch_size: u64,
    /// Chunk size when splitting `itemsToParse`.
    pub yield_items_to_parse_batch_size: u64,
    /// Per-item mapping timeout, seconds.
    pub process_in_queue_timeout: u64,
    /// Mapping workers (default: the CPUs available to the process).
    pub process_in_queue_max_workers: u64,
    /// Allow lakehouse writes (also needs Port's org flag).
    pub lakehouse_enabled: bool,
    /// Lakehouse flush interval, seconds.
    pub lakehouse_buffer_interval_seconds: f64,
    /// Lakehouse flush threshold, records.
    pub lakehouse_buffer_max_count: u64,
    /// Which pipeline processes raw data; reported to Port.
    pub processing_mode: ProcessingMode,
    /// Whether the SSRF guard for outbound HTTP is off (default: off unless `runtime` is Saas).
    pub disable_ip_outbound_blocker: bool,
    /// Metric events pushed to a webhook.
    pub metrics: MetricsSettings,
    /// Streamed JSON downloads.
    pub streaming: StreamingSettings,
    /// TLS verification for the Port API and third-party clients.
    pub ssl: SslSettings,
    /// The actions processor.
    pub actions_processor: ActionsProcessorSettings,
    /// Live events consumed from Redis.
    pub live_events: LiveEventsSettings,
    /// Identity propagation for actions.
    pub identity_propagation: IdentityPropagationSettings,
    #[serde(skip)]
    pub(crate) provenance: BTreeMap<String, String>,
    #[serde(skip)]
    pub(crate) warnings: Vec<String>,
}

impl Settings {
    /// Things worth telling the operator that did not stop loading: ignored keys, settings that
    /// no longer do anything, relaxed TLS. Meant to be logged once at startup.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Every credential's text, for a log masker (empty values are left out). Sensitive
    /// integration-config values that are not strings appear as their JSON text.
    pub fn sensitive_values(&self) -> Vec<String> {
        let mut values: Vec<&str> = vec![
            self.port.client_id.expose(),
            self.port.client_secret.expose(),
        ];
        if let EventListener::Webhook(w) = &self.event_listener.listener {
            values.push(w.app_host.expose());
            values.extend(w.resync_token.as_ref().map(Secret::expose));
        }
        let redis = &self.live_events.redis;
        values.extend(redis.password.as_ref().map(Secret::expose));
        values.extend(redis.private_key.as_ref().map(Secret::expose));
        let ip = &self.identity_propagation;
        values.extend(ip.oauth.state_signing_secret.as_ref().map(Secret::expose));
        values.extend(ip.vault.aws_secret_access_key.as_ref().map(Secret::expose));
        let mut values: Vec<String> = values.into_iter().map(str::to_owned).collect();
        values.extend(self.integration.config.sensitive_texts());
        values.retain(|v| !v.is_empty());
        values
    }

    /// The integration's own configuration deserialised into its typed struct.
    ///
    /// Keys are snake_case (`api_token`); a struct declared with
    /// `#[serde(rename_all = "camelCase")]` works too. See [`IntegrationConfig::deserialize`].
    pub fn integration_config<T: serde::de::DeserializeOwned>(
        &self,
    ) -> Result<T, crate::ConfigError> {
        self.integration.config.deserialize()
    }
}

/// Port API connection (`port.*`).
#[derive(Debug, Clone, Serialize)]
pub struct PortSettings {
    /// Port client id.
    #[serde(serialize_with = "redact")]
    pub client_id: Secret,
    /// Port client secret.
    #[serde(serialize_with = "redact")]
    pub client_secret: Secret,
    /// Port API base URL, without trailing slash (`/v1` is appended by the client).
    pub base_url: String,
    /// Port web app URL (identity-propagation redirects).
    pub app_url: Option<String>,
    /// Port MCP URL: explicit, or derived from `base_url` (`https://mcp.<host without api.>/v1`).
    pub mcp_url: String,
    /// Mapping cache lifetime, seconds.
    pub port_app_config_cache_ttl: u64,
    /// Organisation feature-flag cache lifetime, seconds.
    pub feature_flags_cache_ttl_seconds: f64,
    /// Blueprint cache lifetime, seconds.
    pub blueprint_cache_ttl_seconds: f64,
}

/// This installation (`integration.*`).
#[derive(Debug, Clone, Serialize)]
pub struct IntegrationSettings {
    /// Installation identifier in Port (default `my-<type>-integration`).
    pub identifier: String,
    /// Integration type, lower-cased (default: the name the integration binary passes in).
    #[serde(rename = "type")]
    pub integration_type: String,
    /// Integration version, as passed in by the integration binary (not configurable).
    pub version: String,
    /// The integration's own configuration, validated against the spec.
    pub config: IntegrationConfig,
    /// Run an incremental sync instead of a full one in ONCE mode; reported to Port.
    pub incremental_sync_enabled: bool,
    /// Minutes between incremental syncs: 15, 30 or 60.
    pub incremental_sync_interval: u64,
}

/// What triggers resyncs (`event_listener.*`).
#[derive(Debug, Clone)]
pub struct EventListenerSettings {
    /// Whether resyncs run at all.
    pub should_resync: bool,
    /// Whether live events (webhooks) are processed.
    pub should_process_webhooks: bool,
    /// Whether actions are run.
    pub should_run_actions: bool,
    /// The listener and its own settings.
    pub listener: EventListener,
}

/// The listener type with its type-specific settings.
#[derive(Debug, Clone)]
pub enum EventListener {
    /// Poll Port for resync requests.
    Polling(PollingSettings),
    /// Consume Port's Kafka topic.
    Kafka(KafkaSettings),
    /// Port calls `POST /resync`.
    Webhook(WebhookSettings),
    /// One resync, then exit.
    Once,
    /// No resyncs; live events only.
    WebhooksOnly,
    /// No resyncs; actions only.
    ActionsOnly,
}

/// `POLLING` listener settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PollingSettings {
    /// Seconds between checks.
    pub interval: u64,
    /// Resync once when a fresh process starts.
    pub resync_on_start: bool,
}

impl PollingSettings {
    /// The polling interval.
    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.interval)
    }
}

/// `KAFKA` listener settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KafkaSettings {
    /// Comma-separated `host:port` brokers.
    pub brokers: String,
    /// Kafka `security.protocol`.
    pub security_protocol: String,
    /// Kafka `sasl.mechanism`.
    pub authentication_mechanism: String,
    /// Whether to fetch credentials from Port and use SASL.
    pub kafka_security_enabled: bool,
    /// Seconds one poll waits for messages.
    pub consumer_poll_timeout: u64,
}

/// `WEBHOOK` listener settings.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookSettings {
    /// Public base URL of this integration, without trailing slash; Port calls
    /// `<app_host>/resync`. Sensitive, as in the reference.
    #[serde(serialize_with = "redact")]
    pub app_host: Secret,
    /// A token that authorises `POST /resync` as `Authorization: Bearer <token>`, for callers
    /// other than Port (Port's own requests are verified by their signature). Not in Python
    /// Ocean, whose `/resync` has no authentication.
    #[serde(serialize_with = "redact_option")]
    pub resync_token: Option<Secret>,
}

impl EventListenerSettings {
    /// Builds the settings of a listener type with that type's default flags.
    pub fn with_defaults(listener: EventListener) -> Self {
        let t = listener.listener_type();
        EventListenerSettings {
            should_resync: !matches!(
                t,
                EventListenerType::WebhooksOnly | EventListenerType::ActionsOnly
            ),
            should_process_webhooks: !matches!(
                t,
                EventListenerType::Once | EventListenerType::ActionsOnly
            ),
            should_run_actions: !matches!(
                t,
                EventListenerType::Once | EventListenerType::WebhooksOnly
            ),
            listener,
        }
    }

    /// The listener type.
    pub fn listener_type(&self) -> EventListenerType {
        self.listener.listener_type()
    }

    /// What Port is told about how to reach this listener (`changelogDestination`):
    /// `{"type":"KAFKA"}`, `{"type":"WEBHOOK","url":"<app_host>/resync"}` or `{}`.
    ///
    /// The WEBHOOK form contains the (sensitive) `app_host`: send it to Port, never log it.
    pub fn changelog_destination(&self) -> serde_json::Value {
        match &self.listener {
            EventListener::Kafka(_) => serde_json::json!({"type": "KAFKA"}),
            EventListener::Webhook(w) => serde_json::json!({
                "type": "WEBHOOK",
                "url": format!("{}/resync", w.app_host.expose()),
            }),
            _ => serde_json::json!({}),
        }
    }
}

impl EventListener {
    /// The listener type.
    pub fn listener_type(&self) -> EventListenerType {
        match self {
            EventListener::Polling(_) => EventListenerType::Polling,
            EventListener::Kafka(_) => EventListenerType::Kafka,
            EventListener::Webhook(_) => EventListenerType::Webhook,
            EventListener::Once => EventListenerType::Once,
            EventListener::WebhooksOnly => EventListenerType::WebhooksOnly,
            EventListener::ActionsOnly => EventListenerType::ActionsOnly,
        }
    }
}

impl Serialize for EventListenerSettings {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("type", &self.listener_type())?;
        map.serialize_entry("should_resync", &self.should_resync)?;
        map.serialize_entry("should_process_webhooks", &self.should_process_webhooks)?;
        map.serialize_entry("should_run_actions", &self.should_run_actions)?;
        match &self.listener {
            EventListener::Polling(p) => {
                map.serialize_entry("interval", &p.interval)?;
                map.serialize_entry("resync_on_start", &p.resync_on_start)?;
            }
            EventListener::Kafka(k) => {
                map.serialize_entry("brokers", &k.brokers)?;
                map.serialize_entry("security_protocol", &k.security_protocol)?;
                map.serialize_entry("authentication_mechanism", &k.authentication_mechanism)?;
                map.serialize_entry("kafka_security_enabled", &k.kafka_security_enabled)?;
                map.serialize_entry("consumer_poll_timeout", &k.consumer_poll_timeout)?;
            }
            EventListener::Webhook(_) => {
                map.serialize_entry("app_host", Secret::REDACTED)?;
            }
            EventListener::Once | EventListener::WebhooksOnly | EventListener::ActionsOnly => {}
        }
        map.end()
    }
}

/// Metric events pushed to a webhook (`metrics.*`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricsSettings {
    /// Push metric events.
    pub enabled: bool,
    /// Where to push them.
    pub webhook_url: Option<String>,
}

/// Streamed JSON downloads (`streaming.*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamingSettings {
    /// Stream large JSON downloads through a temporary file.
    pub enabled: bool,
    /// Buffer size (named in MB, but the reference's default is a byte count: 20971520).
    pub max_buffer_size_mb: u64,
    /// Chunk size, bytes.
    pub chunk_size: u64,
    /// Temporary directory.
    pub location: String,
}

impl Default for StreamingSettings {
    fn default() -> Self {
        StreamingSettings {
            enabled: false,
            max_buffer_size_mb: 20 * 1024 * 1024,
            chunk_size: 64 * 1024,
            location: "/tmp/ocean/streaming".to_owned(),
        }
    }
}

/// TLS settings per client (`ssl.*`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SslSettings {
    /// For the Port API client.
    pub port: SslClientSettings,
    /// For the third-party HTTP client.
    pub third_party: SslClientSettings,
}

/// TLS settings of one client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SslClientSettings {
    /// Verify certificates at all.
    pub verify: bool,
    /// X.509 verification profile.
    pub x509: SslX509Settings,
}

impl Default for SslClientSettings {
    fn default() -> Self {
        SslClientSettings {
            verify: true,
            x509: SslX509Settings::default(),
        }
    }
}

/// X.509 verification profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SslX509Settings {
    /// Strict X.509 checks; `false` relaxes them.
    pub strict: bool,
}

impl Default for SslX509Settings {
    fn default() -> Self {
        SslX509Settings { strict: true }
    }
}

/// The actions processor (`actions_processor.*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActionsProcessorSettings {
    /// Run as an actions processor (the spec must allow it).
    pub enabled: bool,
    /// Runs queued across all actions before claim polls pause (1..=1000).
    pub runs_buffer_high_watermark: u64,
    /// Milliseconds a claimed run stays invisible to other consumers (1..=600000).
    pub visibility_timeout_ms: u64,
    /// Seconds between claim polls (at least 1).
    pub poll_check_interval_seconds: u64,
    /// Concurrent run workers (at least 1).
    pub workers_count: u64,
    /// Per-action share of the buffer, percent (1..=100); `None` for no limit.
    pub max_runs_buffer_util_pct_per_action: Option<u64>,
}

impl Default for ActionsProcessorSettings {
    fn default() -> Self {
        ActionsProcessorSettings {
            enabled: false,
            runs_buffer_high_watermark: 300,
            visibility_timeout_ms: 60_000,
            poll_check_interval_seconds: 10,
            workers_count: 3,
            max_runs_buffer_util_pct_per_action: Some(30),
        }
    }
}

/// Live events (`live_events.*`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LiveEventsSettings {
    /// The consumer type.
    #[serde(rename = "type")]
    pub live_events_type: LiveEventsType,
    /// Consume live events from the Redis stream.
    pub is_redis_stream_consumer_enabled: bool,
    /// Log full payloads (also needs Port's org flag).
    pub payload_logging_enabled: bool,
    /// The Redis connection.
    pub redis: RedisSettings,
}

impl Default for LiveEventsSettings {
    fn default() -> Self {
        LiveEventsSettings {
            live_events_type: LiveEventsType::Redis,
            is_redis_stream_consumer_enabled: false,
            payload_logging_enabled: false,
            redis: RedisSettings::default(),
        }
    }
}

/// The Redis connection for live events (`live_events.redis.*`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RedisSettings {
    /// `redis://` or (with `enable_tls`) `rediss://` URL.
    pub url: String,
    /// ACL user name.
    pub username: Option<String>,
    /// Password.
    #[serde(serialize_with = "redact_option")]
    pub password: Option<Secret>,
    /// Use TLS (must match the URL scheme).
    pub enable_tls: bool,
    /// Base64 PEM CA bundle.
    pub ca: Option<String>,
    /// Base64 PEM client certificate (needs `private_key`).
    pub cert: Option<String>,
    /// Base64 PEM client private key (needs `cert`).
    #[serde(serialize_with = "redact_option")]
    pub private_key: Option<Secret>,
    /// XREADGROUP block time, milliseconds (at least 1).
    pub block_ms: u64,
    /// Entries per XREADGROUP (at least 1).
    pub read_count: u64,
    /// Stream TTL when the consumer creates it, seconds; `None` for no expiry.
    pub stream_ttl_seconds: Option<u64>,
    /// Run the stream maintenance worker.
    pub stream_maintenance_worker_enabled: bool,
    /// Idle seconds before a pending entry is reclaimed.
    pub pel_stuck_timeout_seconds: u64,
    /// Requeues before a message is dropped.
    pub pel_max_requeue_count: u64,
    /// Seconds between maintenance scans.
    pub stream_maintenance_scan_interval_seconds: f64,
    /// Entries claimed per XAUTOCLAIM.
    pub pel_xautoclaim_count: u64,
    /// Backoff after a maintenance error, seconds.
    pub stream_maintenance_error_backoff_seconds: f64,
    /// Remove idle consumers from the group.
    pub stream_maintenance_consumer_cleanup_enabled: bool,
    /// Idle seconds before a consumer is removed.
    pub stream_maintenance_consumer_cleanup_idle_seconds: u64,
    /// Backoff after a connection error, seconds.
    pub connection_error_backoff_seconds: f64,
    /// Connection retries at startup.
    pub connection_startup_max_retries: u64,
    /// First startup retry delay, seconds.
    pub connection_startup_initial_backoff_seconds: f64,
    /// Exponential base of startup retry delays.
    pub connection_startup_exponential_base: f64,
}

impl Default for RedisSettings {
    fn default() -> Self {
        RedisSettings {
            url: "redis://localhost:6379".to_owned(),
            username: None,
            password: None,
            enable_tls: false,
            ca: None,
            cert: None,
            private_key: None,
            block_ms: 1000,
            read_count: 10,
            stream_ttl_seconds: Some(2_592_000),
            stream_maintenance_worker_enabled: true,
            pel_stuck_timeout_seconds: 600,
            pel_max_requeue_count: 3,
            stream_maintenance_scan_interval_seconds: 30.0,
            pel_xautoclaim_count: 100,
            stream_maintenance_error_backoff_seconds: 5.0,
            stream_maintenance_consumer_cleanup_enabled: true,
            stream_maintenance_consumer_cleanup_idle_seconds: 86_400,
            connection_error_backoff_seconds: 5.0,
            connection_startup_max_retries: 5,
            connection_startup_initial_backoff_seconds: 1.0,
            connection_startup_exponential_base: 2.0,
        }
    }
}

/// Identity propagation for actions (`identity_propagation.*`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IdentityPropagationSettings {
    /// Propagate the acting user's identity (needs the actions processor).
    pub enabled: bool,
    /// Where tokens are stored.
    pub vault: VaultSettings,
    /// OAuth broker settings.
    pub oauth: OAuthSettings,
}

/// The token vault (`identity_propagation.vault.*`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct VaultSettings {
    /// The vault kind.
    #[serde(rename = "type")]
    pub vault_type: VaultType,
    /// Secret name prefix.
    pub secret_prefix: String,
    /// AWS region.
    pub aws_region: Option<String>,
    /// AWS endpoint override (local testing).
    pub endpoint_url: Option<String>,
    /// AWS access key id.
    pub aws_access_key_id: Option<String>,
    /// AWS secret access key (treated as a secret; the reference does not mask it).
    #[serde(serialize_with = "redact_option")]
    pub aws_secret_access_key: Option<Secret>,
}

impl Default for VaultSettings {
    fn default() -> Self {
        VaultSettings {
            vault_type: VaultType::AwsSecretsManager,
            secret_prefix: "port/tokens".to_owned(),
            aws_region: None,
            endpoint_url: None,
            aws_access_key_id: None,
            aws_secret_access_key: None,
        }
    }
}

/// OAuth broker settings (`identity_propagation.oauth.*`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OAuthSettings {
    /// Key that signs OAuth `state` values.
    #[serde(serialize_with = "redact_option")]
    pub state_signing_secret: Option<Secret>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_enums_parse_case_insensitively_and_list_values() {
        assert_eq!("polling".parse(), Ok(EventListenerType::Polling));
        assert_eq!("WEBHOOKS_ONLY".parse(), Ok(EventListenerType::WebhooksOnly));
        assert_eq!("saas".parse(), Ok(Runtime::Saas));
        assert_eq!("ocean-core".parse(), Ok(ProcessingMode::OceanCore));
        assert_eq!(
            "x".parse::<Runtime>(),
            Err("expected one of OnPrem, Saas".to_owned())
        );
        assert_eq!(CachingStorageMode::Disk.to_string(), "disk");
    }

    #[test]
    fn listener_defaults_per_type() {
        let flags = |l| {
            let s = EventListenerSettings::with_defaults(l);
            (
                s.should_resync,
                s.should_process_webhooks,
                s.should_run_actions,
            )
        };
        let polling = EventListener::Polling(PollingSettings {
            interval: 60,
            resync_on_start: true,
        });
        assert_eq!(flags(polling), (true, true, true));
        assert_eq!(flags(EventListener::Once), (true, false, false));
        assert_eq!(flags(EventListener::WebhooksOnly), (false, true, false));
        assert_eq!(flags(EventListener::ActionsOnly), (false, false, true));
    }

    #[test]
    fn changelog_destinations() {
        let webhook =
            EventListenerSettings::with_defaults(EventListener::Webhook(WebhookSettings {
                app_host: Secret::new("https://example.com"),
                resync_token: None,
            }));
        assert_eq!(
            webhook.changelog_destination(),
            serde_json::json!({"type": "WEBHOOK", "url": "https://example.com/resync"})
        );
        assert_eq!(
            EventListenerSettings::with_defaults(EventListener::Once).changelog_destination(),
            serde_json::json!({})
        );
    }
}
