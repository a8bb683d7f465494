//! Every framework setting's environment variable, written out by hand from the contract
//! (crates/config/CONFIGURATION.md, "Environment variables"), set to a non-default value and read back from the typed field it must reach.

mod support;

use ocean_config::{EventListener, Settings, registry};
use support::with_credentials;

type Getter = fn(&Settings) -> String;

fn polling(s: &Settings) -> &ocean_config::PollingSettings {
    match &s.event_listener.listener {
        EventListener::Polling(p) => p,
        other => panic!("expected POLLING, got {other:?}"),
    }
}

fn kafka(s: &Settings) -> &ocean_config::KafkaSettings {
    match &s.event_listener.listener {
        EventListener::Kafka(k) => k,
        other => panic!("expected KAFKA, got {other:?}"),
    }
}

fn webhook(s: &Settings) -> &ocean_config::WebhookSettings {
    match &s.event_listener.listener {
        EventListener::Webhook(w) => w,
        other => panic!("expected WEBHOOK, got {other:?}"),
    }
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or("None".to_owned(), ToString::to_string)
}

/// (variable, value, other variables it needs, field, expected field value)
type Row = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    Getter,
    &'static str,
);

const ROWS: &[Row] = &[
    (
        "OCEAN__PORT__CLIENT_ID",
        "id-1",
        &[],
        |s| s.port.client_id.expose().into(),
        "id-1",
    ),
    (
        "OCEAN__PORT__CLIENT_SECRET",
        "secret-1",
        &[],
        |s| s.port.client_secret.expose().into(),
        "secret-1",
    ),
    (
        "OCEAN__PORT__BASE_URL",
        "https://api.us.port.io/",
        &[],
        |s| s.port.base_url.clone(),
        "https://api.us.port.io",
    ),
    (
        "OCEAN__PORT__APP_URL",
        "https://app.port.io/",
        &[],
        |s| opt(&s.port.app_url),
        "https://app.port.io",
    ),
    (
        "OCEAN__PORT__MCP_URL",
        "https://mcp.example.com/v1",
        &[],
        |s| s.port.mcp_url.clone(),
        "https://mcp.example.com/v1",
    ),
    (
        "OCEAN__PORT__PORT_APP_CONFIG_CACHE_TTL",
        "5",
        &[],
        |s| s.port.port_app_config_cache_ttl.to_string(),
        "5",
    ),
    (
        "OCEAN__PORT__FEATURE_FLAGS_CACHE_TTL_SECONDS",
        "1.5",
        &[],
        |s| s.port.feature_flags_cache_ttl_seconds.to_string(),
        "1.5",
    ),
    (
        "OCEAN__PORT__BLUEPRINT_CACHE_TTL_SECONDS",
        "2.5",
        &[],
        |s| s.port.blueprint_cache_ttl_seconds.to_string(),
        "2.5",
    ),
    (
        "OCEAN__INTEGRATION__IDENTIFIER",
        "install-1",
        &[],
        |s| s.integration.identifier.clone(),
        "install-1",
    ),
    (
        "OCEAN__INTEGRATION__TYPE",
        "GitLab",
        &[],
        |s| s.integration.integration_type.clone(),
        "gitlab",
    ),
    (
        "OCEAN__INTEGRATION__CONFIG__SOME_KEY",
        "v",
        &[],
        |s| s.integration.config.get("some_key").unwrap().to_string(),
        "\"v\"",
    ),
    (
        "OCEAN__INTEGRATION__INCREMENTAL_SYNC_ENABLED",
        "true",
        &[],
        |s| s.integration.incremental_sync_enabled.to_string(),
        "true",
    ),
    (
        "OCEAN__INTEGRATION__INCREMENTAL_SYNC_INTERVAL",
        "1h",
        &[],
        |s| s.integration.incremental_sync_interval.to_string(),
        "60",
    ),
    (
        "OCEAN__EVENT_LISTENER__TYPE",
        "WEBHOOKS_ONLY",
        &[],
        |s| s.event_listener.listener_type().to_string(),
        "WEBHOOKS_ONLY",
    ),
    (
        "OCEAN__EVENT_LISTENER__SHOULD_RESYNC",
        "false",
        &[],
        |s| s.event_listener.should_resync.to_string(),
        "false",
    ),
    (
        "OCEAN__EVENT_LISTENER__SHOULD_PROCESS_WEBHOOKS",
        "false",
        &[],
        |s| s.event_listener.should_process_webhooks.to_string(),
        "false",
    ),
    (
        "OCEAN__EVENT_LISTENER__SHOULD_RUN_ACTIONS",
        "false",
        &[],
        |s| s.event_listener.should_run_actions.to_string(),
        "false",
    ),
    (
        "OCEAN__EVENT_LISTENER__INTERVAL",
        "45",
        &[],
        |s| polling(s).interval.to_string(),
        "45",
    ),
    (
        "OCEAN__EVENT_LISTENER__RESYNC_ON_START",
        "false",
        &[],
        |s| polling(s).resync_on_start.to_string(),
        "false",
    ),
    (
        "OCEAN__EVENT_LISTENER__BROKERS",
        "k1:9096,k2:9096",
        &[("OCEAN__EVENT_LISTENER__TYPE", "KAFKA")],
        |s| kafka(s).brokers.clone(),
        "k1:9096,k2:9096",
    ),
    (
        "OCEAN__EVENT_LISTENER__SECURITY_PROTOCOL",
        "SSL",
        &[("OCEAN__EVENT_LISTENER__TYPE", "KAFKA")],
        |s| kafka(s).security_protocol.clone(),
        "SSL",
    ),
    (
        "OCEAN__EVENT_LISTENER__AUTHENTICATION_MECHANISM",
        "PLAIN",
        &[("OCEAN__EVENT_LISTENER__TYPE", "KAFKA")],
        |s| kafka(s).authentication_mechanism.clone(),
        "PLAIN",
    ),
    (
        "OCEAN__EVENT_LISTENER__KAFKA_SECURITY_ENABLED",
        "false",
        &[("OCEAN__EVENT_LISTENER__TYPE", "KAFKA")],
        |s| kafka(s).kafka_security_enabled.to_string(),
        "false",
    ),
    (
        "OCEAN__EVENT_LISTENER__CONSUMER_POLL_TIMEOUT",
        "3",
        &[("OCEAN__EVENT_LISTENER__TYPE", "KAFKA")],
        |s| kafka(s).consumer_poll_timeout.to_string(),
        "3",
    ),
    (
        "OCEAN__EVENT_LISTENER__APP_HOST",
        "https://hook.example.com/",
        &[("OCEAN__EVENT_LISTENER__TYPE", "WEBHOOK")],
        |s| webhook(s).app_host.expose().into(),
        "https://hook.example.com",
    ),
    (
        "OCEAN__EVENT_LISTENER__RESYNC_TOKEN",
        "s3cret-token",
        &[
            ("OCEAN__EVENT_LISTENER__TYPE", "WEBHOOK"),
            (
                "OCEAN__EVENT_LISTENER__APP_HOST",
                "https://hook.example.com",
            ),
        ],
        |s| {
            webhook(s)
                .resync_token
                .as_ref()
                .map_or("None".into(), |t| t.expose().into())
        },
        "s3cret-token",
    ),
    (
        "OCEAN__INITIALIZE_PORT_RESOURCES",
        "false",
        &[],
        |s| s.initialize_port_resources.to_string(),
        "false",
    ),
    (
        "OCEAN__CREATE_PORT_RESOURCES_ORIGIN",
        "Port",
        &[],
        |s| opt(&s.create_port_resources_origin),
        "Port",
    ),
    (
        "OCEAN__SCHEDULED_RESYNC_INTERVAL",
        "1440",
        &[],
        |s| opt(&s.scheduled_resync_interval),
        "1440",
    ),
    (
        "OCEAN__RESOURCES_PATH",
        "defaults",
        &[],
        |s| s.resources_path.clone(),
        "defaults",
    ),
    (
        "OCEAN__RUNTIME",
        "Saas",
        &[],
        |s| s.runtime.to_string(),
        "Saas",
    ),
    (
        "OCEAN__BASE_URL",
        "https://me.example.com",
        &[],
        |s| opt(&s.base_url),
        "https://me.example.com",
    ),
    (
        "OCEAN__PATH_PREFIX",
        "/x",
        &[],
        |s| opt(&s.path_prefix),
        "/x",
    ),
    (
        "OCEAN__ALLOW_ENVIRONMENT_VARIABLES_JQ_ACCESS",
        "false",
        &[],
        |s| s.allow_environment_variables_jq_access.to_string(),
        "false",
    ),
    (
        "OCEAN__SEND_RAW_DATA_EXAMPLES",
        "false",
        &[],
        |s| s.send_raw_data_examples.to_string(),
        "false",
    ),
    (
        "OCEAN__STATUS_HEARTBEAT_INTERVAL_SECONDS",
        "11",
        &[],
        |s| s.status_heartbeat_interval_seconds.to_string(),
        "11",
    ),
    (
        "OCEAN__CLIENT_TIMEOUT",
        "61",
        &[],
        |s| s.client_timeout.to_string(),
        "61",
    ),
    (
        "OCEAN__OAUTH_ACCESS_TOKEN_FILE_PATH",
        "/run/token",
        &[],
        |s| opt(&s.oauth_access_token_file_path),
        "/run/token",
    ),
    (
        "OCEAN__EVENT_WORKERS_COUNT",
        "4",
        &[],
        |s| s.event_workers_count.to_string(),
        "4",
    ),
    (
        "OCEAN__EVENTS_DEBUG_LOGGING",
        "true",
        &[],
        |s| s.events_debug_logging.to_string(),
        "true",
    ),
    (
        "OCEAN__MAX_EVENT_PROCESSING_SECONDS",
        "91.5",
        &[],
        |s| s.max_event_processing_seconds.to_string(),
        "91.5",
    ),
    (
        "OCEAN__MAX_WAIT_SECONDS_BEFORE_SHUTDOWN",
        "6",
        &[],
        |s| s.max_wait_seconds_before_shutdown.to_string(),
        "6",
    ),
    (
        "OCEAN__CACHING_STORAGE_MODE",
        "memory",
        &[],
        |s| opt(&s.caching_storage_mode),
        "memory",
    ),
    (
        "OCEAN__UPSERT_ENTITIES_BATCH_MAX_LENGTH",
        "21",
        &[],
        |s| s.upsert_entities_batch_max_length.to_string(),
        "21",
    ),
    (
        "OCEAN__UPSERT_ENTITIES_BATCH_MAX_SIZE_IN_BYTES",
        "2048",
        &[],
        |s| s.upsert_entities_batch_max_size_in_bytes.to_string(),
        "2048",
    ),
    (
        "OCEAN__DELETE_ENTITIES_MAX_BATCH_SIZE",
        "99",
        &[],
        |s| s.delete_entities_max_batch_size.to_string(),
        "99",
    ),
    (
        "OCEAN__YIELD_ITEMS_TO_PARSE_BATCH_SIZE",
        "201",
        &[],
        |s| s.yield_items_to_parse_batch_size.to_string(),
        "201",
    ),
    (
        "OCEAN__PROCESS_IN_QUEUE_TIMEOUT",
        "121",
        &[],
        |s| s.process_in_queue_timeout.to_string(),
        "121",
    ),
    (
        "OCEAN__PROCESS_IN_QUEUE_MAX_WORKERS",
        "7",
        &[],
        |s| s.process_in_queue_max_workers.to_string(),
        "7",
    ),
    (
        "OCEAN__LAKEHOUSE_ENABLED",
        "false",
        &[],
        |s| s.lakehouse_enabled.to_string(),
        "false",
    ),
    (
        "OCEAN__LAKEHOUSE_BUFFER_INTERVAL_SECONDS",
        "11",
        &[],
        |s| s.lakehouse_buffer_interval_seconds.to_string(),
        "11",
    ),
    (
        "OCEAN__LAKEHOUSE_BUFFER_MAX_COUNT",
        "51",
        &[],
        |s| s.lakehouse_buffer_max_count.to_string(),
        "51",
    ),
    (
        "OCEAN__PROCESSING_MODE",
        "ocean-core",
        &[],
        |s| s.processing_mode.to_string(),
        "ocean-core",
    ),
    (
        "OCEAN__DISABLE_IP_OUTBOUND_BLOCKER",
        "false",
        &[],
        |s| s.disable_ip_outbound_blocker.to_string(),
        "false",
    ),
    (
        "OCEAN__METRICS__ENABLED",
        "true",
        &[],
        |s| s.metrics.enabled.to_string(),
        "true",
    ),
    (
        "OCEAN__METRICS__WEBHOOK_URL",
        "https://m.example.com",
        &[],
        |s| opt(&s.metrics.webhook_url),
        "https://m.example.com",
    ),
    (
        "OCEAN__STREAMING__ENABLED",
        "true",
        &[],
        |s| s.streaming.enabled.to_string(),
        "true",
    ),
    (
        "OCEAN__STREAMING__MAX_BUFFER_SIZE_MB",
        "10",
        &[],
        |s| s.streaming.max_buffer_size_mb.to_string(),
        "10",
    ),
    (
        "OCEAN__STREAMING__CHUNK_SIZE",
        "1024",
        &[],
        |s| s.streaming.chunk_size.to_string(),
        "1024",
    ),
    (
        "OCEAN__STREAMING__LOCATION",
        "/var/tmp/s",
        &[],
        |s| s.streaming.location.clone(),
        "/var/tmp/s",
    ),
    (
        "OCEAN__SSL__PORT__VERIFY",
        "false",
        &[],
        |s| s.ssl.port.verify.to_string(),
        "false",
    ),
    (
        "OCEAN__SSL__PORT__X509__STRICT",
        "false",
        &[],
        |s| s.ssl.port.x509.strict.to_string(),
        "false",
    ),
    (
        "OCEAN__SSL__THIRD_PARTY__VERIFY",
        "false",
        &[],
        |s| s.ssl.third_party.verify.to_string(),
        "false",
    ),
    (
        "OCEAN__SSL__THIRD_PARTY__X509__STRICT",
        "false",
        &[],
        |s| s.ssl.third_party.x509.strict.to_string(),
        "false",
    ),
    (
        "OCEAN__ACTIONS_PROCESSOR__ENABLED",
        "true",
        &[],
        |s| s.actions_processor.enabled.to_string(),
        "true",
    ),
    (
        "OCEAN__ACTIONS_PROCESSOR__RUNS_BUFFER_HIGH_WATERMARK",
        "1000",
        &[],
        |s| s.actions_processor.runs_buffer_high_watermark.to_string(),
        "1000",
    ),
    (
        "OCEAN__ACTIONS_PROCESSOR__VISIBILITY_TIMEOUT_MS",
        "600000",
        &[],
        |s| s.actions_processor.visibility_timeout_ms.to_string(),
        "600000",
    ),
    (
        "OCEAN__ACTIONS_PROCESSOR__POLL_CHECK_INTERVAL_SECONDS",
        "1",
        &[],
        |s| s.actions_processor.poll_check_interval_seconds.to_string(),
        "1",
    ),
    (
        "OCEAN__ACTIONS_PROCESSOR__WORKERS_COUNT",
        "8",
        &[],
        |s| s.actions_processor.workers_count.to_string(),
        "8",
    ),
    (
        "OCEAN__ACTIONS_PROCESSOR__MAX_RUNS_BUFFER_UTIL_PCT_PER_ACTION",
        "100",
        &[],
        |s| opt(&s.actions_processor.max_runs_buffer_util_pct_per_action),
        "100",
    ),
    (
        "OCEAN__LIVE_EVENTS__TYPE",
        "REDIS",
        &[],
        |s| s.live_events.live_events_type.to_string(),
        "REDIS",
    ),
    (
        "OCEAN__LIVE_EVENTS__IS_REDIS_STREAM_CONSUMER_ENABLED",
        "true",
        &[],
        |s| s.live_events.is_redis_stream_consumer_enabled.to_string(),
        "true",
    ),
    (
        "OCEAN__LIVE_EVENTS__PAYLOAD_LOGGING_ENABLED",
        "true",
        &[],
        |s| s.live_events.payload_logging_enabled.to_string(),
        "true",
    ),
    (
        "OCEAN__LIVE_EVENTS__REDIS__URL",
        "redis://cache:6380",
        &[],
        |s| s.live_events.redis.url.clone(),
        "redis://cache:6380",
    ),
    (
        "OCEAN__LIVE_EVENTS__REDIS__USERNAME",
        "ocean",
        &[],
        |s| opt(&s.live_events.redis.username),
        "ocean",
    ),
    (
        "OCEAN__LIVE_EVENTS__REDIS__PASSWORD",
        "pw",
        &[],
        |s| {
            s.live_events
                .redis
                .password
                .as_ref()
                .unwrap()
                .expose()
                .into()
        },
        "pw",
    ),
    (
        "OCEAN__LIVE_EVENTS__REDIS__ENABLE_TLS",
        "true",
        &[("OCEAN__LIVE_EVENTS__REDIS__URL", "rediss://cache:6380")],
        |s| s.live_events.redis.enable_tls.to_string(),
        "true",
    ),
    (
        "OCEAN__LIVE_EVENTS__REDIS__CA",
        "Y2E=",
        &[],
        |s| opt(&s.live_events.redis.ca),
        "Y2E=",
    ),
    (
        "OCEAN__LIVE_EVENTS__REDIS__CERT",
        "Y2VydA==",
        &[("OCEAN__LIVE_EVENTS__REDIS__PRIVATE_KEY", "a2V5")],
        |s| opt(&s.live_events.redis.cert),
        "Y2VydA==",
    ),
    (
        "OCEAN__LIVE_EVENTS__REDIS__PRIVATE_KEY",
        "a2V5",
        &[("OCEAN__LIVE_EVENTS__REDIS__CERT", "Y2VydA==")],
        |s| {
            s.live_events
                .redis
                .private_key
                .as_ref()
                .unwrap()
                .expose()
                .into()
        },
        "a2V5",
    ),
    (
        "OCEAN__LIVE_EVENTS__REDIS__BLOCK_MS",
        "2000",
        &[],
        |s| s.live_events.redis.block_ms.to_string(),
        "2000",
    ),
    (
        "OCEAN__LIVE_EVENTS__REDIS__READ_COUNT",
        "20",
        &[],
        |s| s.live_events.redis.read_count.to_string(),
        "20",
    ),
    (
        "OCEAN__LIVE_EVENTS__REDIS__STREAM_TTL_SECONDS",
        "7200",
        &[],
        |s| opt(&s.live_events.redis.stream_ttl_seconds),
        "7200",
    ),
    (
        "OCEAN__LIVE_EVENTS__REDIS__STREAM_MAINTENANCE_WORKER_ENABLED",
        "false",
        &[],
        |s| {
            s.live_events
                .redis
                .stream_maintenance_worker_enabled
                .to_string()
        },
        "false",
    ),
    (
        "OCEAN__LIVE_EVENTS__REDIS__PEL_STUCK_TIMEOUT_SECONDS",
        "601",
        &[],
        |s| s.live_events.redis.pel_stuck_timeout_seconds.to_string(),
        "601",
    ),
    (
        "OCEAN__LIVE_EVENTS__REDIS__PEL_MAX_REQUEUE_COUNT",
        "4",
        &[],
        |s| s.live_events.redis.pel_max_requeue_count.to_string(),
        "4",
    ),
    (
        "OCEAN__LIVE_EVENTS__REDIS__PEL_XAUTOCLAIM_COUNT",
        "101",
        &[],
        |s| s.live_events.redis.pel_xautoclaim_count.to_string(),
        "101",
    ),
    (
        "OCEAN__LIVE_EVENTS__REDIS__STREAM_MAINTENANCE_SCAN_INTERVAL_SECONDS",
        "31",
        &[],
        |s| {
            s.live_events
                .redis
                .stream_maintenance_scan_interval_seconds
                .to_string()
        },
        "31",
    ),
    (
        "OCEAN__LIVE_EVENTS__REDIS__STREAM_MAINTENANCE_ERROR_BACKOFF_SECONDS",
        "6",
        &[],
        |s| {
            s.live_events
                .redis
                .stream_maintenance_error_backoff_seconds
                .to_string()
        },
        "6",
    ),
    (
        "OCEAN__LIVE_EVENTS__REDIS__STREAM_MAINTENANCE_CONSUMER_CLEANUP_ENABLED",
        "false",
        &[],
        |s| {
            s.live_events
                .redis
                .stream_maintenance_consumer_cleanup_enabled
                .to_string()
        },
        "false",
    ),
    (
        "OCEAN__LIVE_EVENTS__REDIS__STREAM_MAINTENANCE_CONSUMER_CLEANUP_IDLE_SECONDS",
        "100",
        &[],
        |s| {
            s.live_events
                .redis
                .stream_maintenance_consumer_cleanup_idle_seconds
                .to_string()
        },
        "100",
    ),
    (
        "OCEAN__LIVE_EVENTS__REDIS__CONNECTION_ERROR_BACKOFF_SECONDS",
        "0.5",
        &[],
        |s| {
            s.live_events
                .redis
                .connection_error_backoff_seconds
                .to_string()
        },
        "0.5",
    ),
    (
        "OCEAN__LIVE_EVENTS__REDIS__CONNECTION_STARTUP_MAX_RETRIES",
        "0",
        &[],
        |s| {
            s.live_events
                .redis
                .connection_startup_max_retries
                .to_string()
        },
        "0",
    ),
    (
        "OCEAN__LIVE_EVENTS__REDIS__CONNECTION_STARTUP_INITIAL_BACKOFF_SECONDS",
        "0.25",
        &[],
        |s| {
            s.live_events
                .redis
                .connection_startup_initial_backoff_seconds
                .to_string()
        },
        "0.25",
    ),
    (
        "OCEAN__LIVE_EVENTS__REDIS__CONNECTION_STARTUP_EXPONENTIAL_BASE",
        "3",
        &[],
        |s| {
            s.live_events
                .redis
                .connection_startup_exponential_base
                .to_string()
        },
        "3",
    ),
    (
        "OCEAN__IDENTITY_PROPAGATION__ENABLED",
        "true",
        &[("OCEAN__ACTIONS_PROCESSOR__ENABLED", "true")],
        |s| s.identity_propagation.enabled.to_string(),
        "true",
    ),
    (
        "OCEAN__IDENTITY_PROPAGATION__VAULT__TYPE",
        "custom",
        &[],
        |s| s.identity_propagation.vault.vault_type.to_string(),
        "custom",
    ),
    (
        "OCEAN__IDENTITY_PROPAGATION__VAULT__SECRET_PREFIX",
        "p/t",
        &[],
        |s| s.identity_propagation.vault.secret_prefix.clone(),
        "p/t",
    ),
    (
        "OCEAN__IDENTITY_PROPAGATION__VAULT__AWS_REGION",
        "eu-west-1",
        &[],
        |s| opt(&s.identity_propagation.vault.aws_region),
        "eu-west-1",
    ),
    (
        "OCEAN__IDENTITY_PROPAGATION__VAULT__ENDPOINT_URL",
        "http://127.0.0.1:4566",
        &[],
        |s| opt(&s.identity_propagation.vault.endpoint_url),
        "http://127.0.0.1:4566",
    ),
    (
        "OCEAN__IDENTITY_PROPAGATION__VAULT__AWS_ACCESS_KEY_ID",
        "AKIA1",
        &[],
        |s| opt(&s.identity_propagation.vault.aws_access_key_id),
        "AKIA1",
    ),
    (
        "OCEAN__IDENTITY_PROPAGATION__VAULT__AWS_SECRET_ACCESS_KEY",
        "aws-s",
        &[],
        |s| {
            s.identity_propagation
                .vault
                .aws_secret_access_key
                .as_ref()
                .unwrap()
                .expose()
                .into()
        },
        "aws-s",
    ),
    (
        "OCEAN__IDENTITY_PROPAGATION__OAUTH__STATE_SIGNING_SECRET",
        "sign",
        &[],
        |s| {
            s.identity_propagation
                .oauth
                .state_signing_secret
                .as_ref()
                .unwrap()
                .expose()
                .into()
        },
        "sign",
    ),
];

#[test]
fn every_environment_variable_reaches_its_field() {
    let spec = "saas:\n  enabled: true\nactionsProcessingEnabled: true\nconfigurations:\n  - {name: someKey, type: string}\n";
    let mut failures = Vec::new();
    for (var, value, extra, get, expected) in ROWS {
        let mut c = with_credentials().spec(spec).env(var, value);
        for (k, v) in *extra {
            c = c.env(k, v);
        }
        match c.load() {
            Ok(settings) => {
                let got = get(&settings);
                if got != *expected {
                    failures.push(format!(
                        "{var}={value}: field is {got:?}, expected {expected:?}"
                    ));
                }
            }
            Err(e) => failures.push(format!("{var}={value}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_table_and_the_registry_name_the_same_variables() {
    let table: Vec<&str> = ROWS
        .iter()
        .map(|r| r.0)
        .filter(|v| !v.starts_with("OCEAN__INTEGRATION__CONFIG__"))
        .collect();
    let registry: Vec<String> = registry::SETTINGS.iter().map(|s| s.env_var()).collect();
    let missing_from_table: Vec<&String> = registry
        .iter()
        .filter(|v| !table.contains(&v.as_str()))
        .collect();
    let missing_from_registry: Vec<&&str> = table
        .iter()
        .filter(|v| !registry.iter().any(|r| r == *v))
        .collect();
    assert!(
        missing_from_table.is_empty() && missing_from_registry.is_empty(),
        "only in the registry: {missing_from_table:?}; only in the table: {missing_from_registry:?}"
    );
}
