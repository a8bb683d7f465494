//! One table describing every framework setting: key, type, default, sensitivity, meaning.
//!
//! It is the single source for what error messages say is expected, which values are never shown,
//! which keys are known (anything else is reported as ignored), the range checks done after
//! loading, and the documentation. The typed structs in `settings` are the other half; the
//! crate's tests check that every row here reaches its field through its environment variable.

use crate::case::env_var_name;

/// The shape of a setting's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SettingKind {
    /// `true`/`false` (also `1/0`, `yes/no`, `on/off` from text).
    Bool,
    /// A whole number with an optional unit and bounds.
    Int {
        /// Unit word for messages (`seconds`), or empty.
        unit: &'static str,
        /// Smallest accepted value (0 when unbounded below).
        min: u64,
        /// Largest accepted value, if bounded.
        max: Option<u64>,
    },
    /// A number with an optional unit.
    Float {
        /// Unit word for messages, or empty.
        unit: &'static str,
        /// Whether it must be greater than 0.
        positive: bool,
    },
    /// Free text.
    Text,
    /// A credential.
    Secret,
    /// A URL; trailing `/` is stripped.
    Url,
    /// One of fixed spellings (case-insensitive).
    Enum(&'static [&'static str]),
    /// Incremental-sync interval: minutes as a number or `15m`/`1h`; 15, 30 or 60.
    Minutes,
    /// Kafka brokers: comma-separated text or a JSON array.
    Brokers,
}

/// One framework setting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SettingDoc {
    /// Dotted snake_case key (`event_listener.interval`).
    pub key: &'static str,
    /// Value shape.
    pub kind: SettingKind,
    /// Whether `null` is accepted.
    pub nullable: bool,
    /// The default, as documentation text (`60`, `null`, `required`).
    pub default: &'static str,
    /// Whether the value is a secret (masked everywhere).
    pub sensitive: bool,
    /// What it does.
    pub description: &'static str,
}

impl SettingDoc {
    /// The environment variable that sets it (`OCEAN__EVENT_LISTENER__INTERVAL`).
    pub fn env_var(&self) -> String {
        let path: Vec<&str> = self.key.split('.').collect();
        env_var_name(&path)
    }

    /// What a valid value looks like, for error messages.
    pub fn expectation(&self) -> String {
        let base = match self.kind {
            SettingKind::Bool => "true or false".to_owned(),
            SettingKind::Int { unit, min, max } => {
                let mut s = if unit.is_empty() {
                    "an integer".to_owned()
                } else {
                    format!("an integer number of {unit}")
                };
                match (min, max) {
                    (0, None) => {}
                    (min, None) => s.push_str(&format!(" of at least {min}")),
                    (min, Some(max)) => s.push_str(&format!(" between {min} and {max}")),
                }
                s
            }
            SettingKind::Float { unit, positive } => {
                let mut s = if unit.is_empty() {
                    "a number".to_owned()
                } else {
                    format!("a number of {unit}")
                };
                if positive {
                    s.push_str(" greater than 0");
                }
                s
            }
            SettingKind::Text | SettingKind::Secret => "a string".to_owned(),
            SettingKind::Url => "a URL (like https://example.com)".to_owned(),
            SettingKind::Enum(names) => format!("one of {}", names.join(", ")),
            SettingKind::Minutes => {
                "15, 30 or 60 minutes (a number of minutes, or like \"30m\" or \"1h\")".to_owned()
            }
            SettingKind::Brokers => {
                "comma-separated host:port brokers, or a JSON array of them".to_owned()
            }
        };
        if self.nullable {
            format!("{base}, or null")
        } else {
            base
        }
    }

    /// Whether an empty environment value is a value of its own ("empty text"; for the
    /// incremental interval, 15 minutes) rather than "unset". Empty credentials and URLs mean
    /// unset: neither can be empty, and Helm renders unset values as empty strings.
    pub fn is_text(&self) -> bool {
        matches!(
            self.kind,
            SettingKind::Text | SettingKind::Brokers | SettingKind::Minutes
        )
    }
}

/// Keys whose value is a mapping of further settings; JSON text is accepted for them.
pub const SECTIONS: &[&str] = &[
    "port",
    "integration",
    "integration.config",
    "event_listener",
    "metrics",
    "streaming",
    "ssl",
    "ssl.port",
    "ssl.port.x509",
    "ssl.third_party",
    "ssl.third_party.x509",
    "actions_processor",
    "live_events",
    "live_events.redis",
    "identity_propagation",
    "identity_propagation.vault",
    "identity_propagation.oauth",
];

/// Keys that are read elsewhere (CLI fallbacks) or only warned about; never reported as unknown.
pub const KNOWN_EXTRAS: &[&str] = &["probe_id", "probe_reporting_mode", "process_execution_mode"];

/// Event-listener fields and the listener types they belong to.
pub const LISTENER_FIELDS: &[(&str, &str)] = &[
    ("interval", "POLLING"),
    ("resync_on_start", "POLLING"),
    ("brokers", "KAFKA"),
    ("security_protocol", "KAFKA"),
    ("authentication_mechanism", "KAFKA"),
    ("kafka_security_enabled", "KAFKA"),
    ("consumer_poll_timeout", "KAFKA"),
    ("app_host", "WEBHOOK"),
    ("resync_token", "WEBHOOK"),
];

/// Looks a setting up by dotted key.
pub fn find(key: &str) -> Option<&'static SettingDoc> {
    SETTINGS.iter().find(|s| s.key == key)
}

/// Whether a dotted key is a section.
pub fn is_section(key: &str) -> bool {
    SECTIONS.contains(&key)
}

const fn int(unit: &'static str) -> SettingKind {
    SettingKind::Int {
        unit,
        min: 0,
        max: None,
    }
}

const fn int_min(unit: &'static str, min: u64) -> SettingKind {
    SettingKind::Int {
        unit,
        min,
        max: None,
    }
}

const fn int_range(unit: &'static str, min: u64, max: u64) -> SettingKind {
    SettingKind::Int {
        unit,
        min,
        max: Some(max),
    }
}

const fn float(unit: &'static str) -> SettingKind {
    SettingKind::Float {
        unit,
        positive: false,
    }
}

const fn positive(unit: &'static str) -> SettingKind {
    SettingKind::Float {
        unit,
        positive: true,
    }
}

macro_rules! settings {
    ($( $key:literal : $kind:expr, $default:literal, $nullable:literal, $sensitive:literal, $desc:literal; )*) => {
        /// Every framework setting, in documentation order.
        pub const SETTINGS: &[SettingDoc] = &[
            $( SettingDoc {
                key: $key,
                kind: $kind,
                default: $default,
                nullable: $nullable,
                sensitive: $sensitive,
                description: $desc,
            }, )*
        ];
    };
}

const LISTENER_TYPES: &[&str] = &[
    "POLLING",
    "KAFKA",
    "WEBHOOK",
    "ONCE",
    "WEBHOOKS_ONLY",
    "ACTIONS_ONLY",
];

settings! {
    "port.client_id": SettingKind::Secret, "required", false, true, "Port client id.";
    "port.client_secret": SettingKind::Secret, "required", false, true, "Port client secret.";
    "port.base_url": SettingKind::Url, "https://api.getport.io", false, false, "Port API base URL (`/v1` is appended).";
    "port.app_url": SettingKind::Url, "null", true, false, "Port web app URL, for identity-propagation redirects.";
    "port.mcp_url": SettingKind::Url, "derived from port.base_url", true, false, "Port MCP URL; by default `https://mcp.<base host without api.>/v1`.";
    "port.port_app_config_cache_ttl": int("seconds"), "60", false, false, "How long the mapping fetched from Port is cached.";
    "port.feature_flags_cache_ttl_seconds": float("seconds"), "300", false, false, "How long organisation feature flags are cached.";
    "port.blueprint_cache_ttl_seconds": float("seconds"), "120", false, false, "How long blueprints are cached.";
    "integration.identifier": SettingKind::Text, "my-<type>-integration", false, false, "Installation identifier in Port.";
    "integration.type": SettingKind::Text, "the integration's name", false, false, "Integration type (always lower-cased).";
    "integration.incremental_sync_enabled": SettingKind::Bool, "false", false, false, "Run an incremental sync instead of a full resync in ONCE mode; reported to Port.";
    "integration.incremental_sync_interval": SettingKind::Minutes, "15", false, false, "Minutes between incremental syncs: 15, 30 or 60 (`15m`, `1h` accepted).";
    "event_listener.type": SettingKind::Enum(LISTENER_TYPES), "POLLING", false, false, "What triggers resyncs.";
    "event_listener.should_resync": SettingKind::Bool, "false for WEBHOOKS_ONLY and ACTIONS_ONLY, else true", false, false, "Whether resyncs run at all.";
    "event_listener.should_process_webhooks": SettingKind::Bool, "false for ONCE and ACTIONS_ONLY, else true", false, false, "Whether live events are processed.";
    "event_listener.should_run_actions": SettingKind::Bool, "false for ONCE and WEBHOOKS_ONLY, else true", false, false, "Whether actions run.";
    "event_listener.interval": int("seconds"), "60", false, false, "POLLING: seconds between checks for resync requests.";
    "event_listener.resync_on_start": SettingKind::Bool, "true", false, false, "POLLING: resync when a fresh process starts.";
    "event_listener.brokers": SettingKind::Brokers, "Port's public brokers", false, false, "KAFKA: brokers, comma-separated or a JSON array.";
    "event_listener.security_protocol": SettingKind::Text, "SASL_SSL", false, false, "KAFKA: security protocol.";
    "event_listener.authentication_mechanism": SettingKind::Text, "SCRAM-SHA-512", false, false, "KAFKA: SASL mechanism.";
    "event_listener.kafka_security_enabled": SettingKind::Bool, "true", false, false, "KAFKA: fetch credentials from Port and use SASL.";
    "event_listener.consumer_poll_timeout": int("seconds"), "1", false, false, "KAFKA: seconds one poll waits for messages.";
    "event_listener.app_host": SettingKind::Url, "required for WEBHOOK", false, true, "WEBHOOK: public URL Port calls (`<app_host>/resync`).";
    "event_listener.resync_token": SettingKind::Secret, "null", true, true, "WEBHOOK: a token that also authorises `POST /resync` (`Authorization: Bearer …`); Port's own calls are verified by their signature.";
    "initialize_port_resources": SettingKind::Bool, "true", false, false, "Create the default blueprints, mapping, actions, scorecards and pages on first start.";
    "create_port_resources_origin": SettingKind::Enum(&["Empty", "Ocean", "Default", "Port"]), "null", true, false, "Who provisions the default resources.";
    "scheduled_resync_interval": int("minutes"), "null", true, false, "Minutes between scheduled full resyncs; unset disables them.";
    "resources_path": SettingKind::Text, ".port/resources", false, false, "Defaults folder (falls back to `.port/resources`).";
    "runtime": SettingKind::Enum(&["OnPrem", "Saas"]), "OnPrem", false, false, "Where the integration runs; Saas needs a spec that allows it.";
    "base_url": SettingKind::Text, "null", true, false, "Public URL of this integration (enables live events).";
    "path_prefix": SettingKind::Text, "null", true, false, "Prefix for every HTTP route.";
    "allow_environment_variables_jq_access": SettingKind::Bool, "true", false, false, "Let mapping JQ read environment variables.";
    "send_raw_data_examples": SettingKind::Bool, "true", false, false, "Send up to 5 raw items per kind to Port as examples.";
    "status_heartbeat_interval_seconds": int_min("seconds", 1), "10", false, false, "Seconds between liveness heartbeats.";
    "client_timeout": int("seconds"), "60", false, false, "Third-party HTTP client timeout.";
    "oauth_access_token_file_path": SettingKind::Text, "null", true, false, "File holding an externally managed OAuth token for third-party calls.";
    "event_workers_count": int(""), "1", false, false, "Live-event workers per webhook path.";
    "events_debug_logging": SettingKind::Bool, "false", false, false, "Log masked webhook payloads.";
    "max_event_processing_seconds": float("seconds"), "90", false, false, "Timeout for processing one live event.";
    "max_wait_seconds_before_shutdown": float("seconds"), "5", false, false, "Queue drain time at shutdown.";
    "caching_storage_mode": SettingKind::Enum(&["disk", "memory"]), "disk", true, false, "Where handler results are memoised.";
    "upsert_entities_batch_max_length": int(""), "20", false, false, "Entities per bulk upsert request.";
    "upsert_entities_batch_max_size_in_bytes": int("bytes"), "1048576", false, false, "Byte budget of one bulk upsert request.";
    "delete_entities_max_batch_size": int(""), "1000", false, false, "Entities per bulk delete request (capped at 100).";
    "yield_items_to_parse_batch_size": int(""), "200", false, false, "Chunk size when splitting itemsToParse.";
    "process_in_queue_timeout": int("seconds"), "120", false, false, "Per-item mapping timeout.";
    "process_in_queue_max_workers": int(""), "the CPUs available to the process", false, false, "Mapping workers.";
    "lakehouse_enabled": SettingKind::Bool, "true", false, false, "Allow lakehouse writes (also needs Port's org flag).";
    "lakehouse_buffer_interval_seconds": float("seconds"), "10", false, false, "Lakehouse flush interval.";
    "lakehouse_buffer_max_count": int(""), "50", false, false, "Lakehouse flush threshold.";
    "processing_mode": SettingKind::Enum(&["dsp", "ocean-core"]), "dsp", false, false, "Raw-data pipeline; reported to Port.";
    "disable_ip_outbound_blocker": SettingKind::Bool, "true unless runtime is Saas", true, false, "Turn off the SSRF guard for outbound HTTP.";
    "metrics.enabled": SettingKind::Bool, "false", false, false, "Also push metric events to a webhook.";
    "metrics.webhook_url": SettingKind::Text, "null", true, false, "That webhook.";
    "streaming.enabled": SettingKind::Bool, "false", false, false, "Stream large JSON downloads through a temporary file.";
    "streaming.max_buffer_size_mb": int(""), "20971520", false, false, "Streaming buffer size.";
    "streaming.chunk_size": int("bytes"), "65536", false, false, "Streaming chunk size.";
    "streaming.location": SettingKind::Text, "/tmp/ocean/streaming", false, false, "Streaming temporary directory.";
    "ssl.port.verify": SettingKind::Bool, "true", false, false, "Verify the Port API's TLS certificate.";
    "ssl.port.x509.strict": SettingKind::Bool, "true", false, false, "Strict X.509 checks for the Port API.";
    "ssl.third_party.verify": SettingKind::Bool, "true", false, false, "Verify third-party TLS certificates.";
    "ssl.third_party.x509.strict": SettingKind::Bool, "true", false, false, "Strict X.509 checks for third parties.";
    "actions_processor.enabled": SettingKind::Bool, "false", false, false, "Run as an actions processor (the spec must set actionsProcessingEnabled).";
    "actions_processor.runs_buffer_high_watermark": int_range("", 1, 1000), "300", false, false, "Runs queued across all actions before claiming pauses.";
    "actions_processor.visibility_timeout_ms": int_range("milliseconds", 1, 600_000), "60000", false, false, "How long a claimed run stays invisible to other consumers.";
    "actions_processor.poll_check_interval_seconds": int_min("seconds", 1), "10", false, false, "Seconds between claim polls.";
    "actions_processor.workers_count": int_min("", 1), "3", false, false, "Concurrent run workers.";
    "actions_processor.max_runs_buffer_util_pct_per_action": int_range("percent", 1, 100), "30", true, false, "Share of the buffer one action may fill.";
    "live_events.type": SettingKind::Enum(&["REDIS"]), "REDIS", false, false, "Live-events consumer.";
    "live_events.is_redis_stream_consumer_enabled": SettingKind::Bool, "false", false, false, "Consume live events from Redis.";
    "live_events.payload_logging_enabled": SettingKind::Bool, "false", false, false, "Log full live-event payloads (also needs Port's org flag).";
    "live_events.redis.url": SettingKind::Text, "redis://localhost:6379", false, false, "Redis URL (`rediss://` requires enable_tls).";
    "live_events.redis.username": SettingKind::Text, "null", true, false, "Redis user.";
    "live_events.redis.password": SettingKind::Secret, "null", true, true, "Redis password.";
    "live_events.redis.enable_tls": SettingKind::Bool, "false", false, false, "Use TLS (must match the URL scheme).";
    "live_events.redis.ca": SettingKind::Text, "null", true, false, "Base64 PEM CA bundle.";
    "live_events.redis.cert": SettingKind::Text, "null", true, false, "Base64 PEM client certificate (needs private_key).";
    "live_events.redis.private_key": SettingKind::Secret, "null", true, true, "Base64 PEM client key (needs cert).";
    "live_events.redis.block_ms": int_min("milliseconds", 1), "1000", false, false, "XREADGROUP block time.";
    "live_events.redis.read_count": int_min("", 1), "10", false, false, "Entries per XREADGROUP.";
    "live_events.redis.stream_ttl_seconds": int_min("seconds", 1), "2592000", true, false, "Stream TTL when the consumer creates it; null for none.";
    "live_events.redis.stream_maintenance_worker_enabled": SettingKind::Bool, "true", false, false, "Run the stream maintenance worker.";
    "live_events.redis.pel_stuck_timeout_seconds": int_min("seconds", 1), "600", false, false, "Idle time before a pending entry is reclaimed.";
    "live_events.redis.pel_max_requeue_count": int_min("", 1), "3", false, false, "Requeues before a message is dropped.";
    "live_events.redis.pel_xautoclaim_count": int_min("", 1), "100", false, false, "Entries claimed per XAUTOCLAIM.";
    "live_events.redis.stream_maintenance_scan_interval_seconds": positive("seconds"), "30", false, false, "Seconds between maintenance scans.";
    "live_events.redis.stream_maintenance_error_backoff_seconds": positive("seconds"), "5", false, false, "Backoff after a maintenance error.";
    "live_events.redis.stream_maintenance_consumer_cleanup_enabled": SettingKind::Bool, "true", false, false, "Remove idle consumers from the group.";
    "live_events.redis.stream_maintenance_consumer_cleanup_idle_seconds": int_min("seconds", 1), "86400", false, false, "Idle time before a consumer is removed.";
    "live_events.redis.connection_error_backoff_seconds": positive("seconds"), "5", false, false, "Backoff after a connection error.";
    "live_events.redis.connection_startup_max_retries": int(""), "5", false, false, "Connection retries at startup.";
    "live_events.redis.connection_startup_initial_backoff_seconds": positive("seconds"), "1", false, false, "First startup retry delay.";
    "live_events.redis.connection_startup_exponential_base": positive(""), "2", false, false, "Exponential base of startup retry delays.";
    "identity_propagation.enabled": SettingKind::Bool, "false", false, false, "Propagate the acting user's identity (needs the actions processor).";
    "identity_propagation.vault.type": SettingKind::Enum(&["aws_secrets_manager", "custom"]), "aws_secrets_manager", false, false, "Token vault.";
    "identity_propagation.vault.secret_prefix": SettingKind::Text, "port/tokens", false, false, "Secret name prefix.";
    "identity_propagation.vault.aws_region": SettingKind::Text, "null", true, false, "AWS region.";
    "identity_propagation.vault.endpoint_url": SettingKind::Text, "null", true, false, "AWS endpoint override (local testing).";
    "identity_propagation.vault.aws_access_key_id": SettingKind::Text, "null", true, false, "AWS access key id.";
    "identity_propagation.vault.aws_secret_access_key": SettingKind::Secret, "null", true, true, "AWS secret access key.";
    "identity_propagation.oauth.state_signing_secret": SettingKind::Secret, "null", true, true, "Key that signs OAuth state values.";
}

/// The settings reference as a Markdown table (for `CONFIGURATION.md`).
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| Environment variable | config.yaml key | Type | Default | Meaning |\n|---|---|---|---|---|\n",
    );
    for s in SETTINGS {
        let yaml_key: Vec<String> = s.key.split('.').map(camel_case).collect();
        let mut kind = match s.kind {
            SettingKind::Bool => "bool".to_owned(),
            SettingKind::Int { unit: "", .. } => "int".to_owned(),
            SettingKind::Int { unit, .. } => format!("int ({unit})"),
            SettingKind::Float { unit: "", .. } => "number".to_owned(),
            SettingKind::Float { unit, .. } => format!("number ({unit})"),
            SettingKind::Text => "string".to_owned(),
            SettingKind::Secret => "string".to_owned(),
            SettingKind::Url => "URL".to_owned(),
            SettingKind::Enum(names) => names.join(" \\| "),
            SettingKind::Minutes => "minutes".to_owned(),
            SettingKind::Brokers => "list".to_owned(),
        };
        if s.nullable {
            kind.push_str(" \\| null");
        }
        if s.sensitive {
            kind.push_str(", secret");
        }
        let default = if s.default.contains(' ') || s.default == "required" {
            s.default.to_owned()
        } else {
            format!("`{}`", s.default)
        };
        out.push_str(&format!(
            "| `{}` | `{}` | {kind} | {default} | {} |\n",
            s.env_var(),
            yaml_key.join("."),
            s.description
        ));
    }
    out
}

/// `client_id` → `clientId`.
pub(crate) fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_sections_exist() {
        for (i, a) in SETTINGS.iter().enumerate() {
            assert!(
                SETTINGS[i + 1..].iter().all(|b| b.key != a.key),
                "duplicate {}",
                a.key
            );
            if let Some((parent, _)) = a.key.rsplit_once('.') {
                assert!(is_section(parent), "{} has no section {parent}", a.key);
            }
        }
    }

    #[test]
    fn yaml_spellings_convert_back_to_the_keys() {
        for s in SETTINGS {
            for segment in s.key.split('.') {
                assert_eq!(
                    crate::case::decamelize(&camel_case(segment)),
                    segment,
                    "{}",
                    s.key
                );
            }
        }
    }

    #[test]
    fn expectations_read_naturally() {
        let check = |key: &str, expected: &str| {
            assert_eq!(find(key).unwrap().expectation(), expected, "{key}");
        };
        check("event_listener.interval", "an integer number of seconds");
        check(
            "actions_processor.runs_buffer_high_watermark",
            "an integer between 1 and 1000",
        );
        check(
            "scheduled_resync_interval",
            "an integer number of minutes, or null",
        );
        check("runtime", "one of OnPrem, Saas");
        check(
            "live_events.redis.connection_error_backoff_seconds",
            "a number of seconds greater than 0",
        );
        assert_eq!(
            find("event_listener.app_host").unwrap().env_var(),
            "OCEAN__EVENT_LISTENER__APP_HOST"
        );
    }
}
