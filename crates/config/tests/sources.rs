//! Each configuration source on its own, and the precedence between them.

mod support;

use ocean_config::{EventListener, EventListenerType, Runtime};
use serde_json::json;
use support::{case, with_credentials};

fn interval(settings: &ocean_config::Settings) -> u64 {
    match &settings.event_listener.listener {
        EventListener::Polling(p) => p.interval,
        other => panic!("expected POLLING, got {other:?}"),
    }
}

#[test]
fn defaults_apply_when_nothing_is_set() {
    let s = with_credentials().ok();
    assert_eq!(s.port.client_id.expose(), "cid");
    assert_eq!(s.port.base_url, "https://api.getport.io");
    assert_eq!(s.port.mcp_url, "https://mcp.getport.io/v1");
    assert_eq!(s.integration.integration_type, "jira");
    assert_eq!(s.integration.identifier, "my-jira-integration");
    assert_eq!(s.integration.version, "1.2.3");
    assert_eq!(s.integration.incremental_sync_interval, 15);
    assert_eq!(s.event_listener.listener_type(), EventListenerType::Polling);
    assert_eq!(interval(&s), 60);
    assert!(s.event_listener.should_resync);
    assert!(s.initialize_port_resources);
    assert_eq!(s.runtime, Runtime::OnPrem);
    assert!(s.disable_ip_outbound_blocker);
    assert_eq!(s.resources_path, ".port/resources");
    assert_eq!(s.upsert_entities_batch_max_size_in_bytes, 1_048_576);
    assert_eq!(s.live_events.redis.url, "redis://localhost:6379");
    assert_eq!(s.identity_propagation.vault.secret_prefix, "port/tokens");
    assert!(s.process_in_queue_max_workers >= 1);
    assert!(s.warnings().is_empty(), "{:?}", s.warnings());
}

#[test]
fn yaml_env_dotenv_and_overrides_in_precedence_order() {
    let yaml = "port:\n  clientId: y\n  clientSecret: y\neventListener:\n  type: POLLING\n  interval: 10\nscheduledResyncInterval: 1\n";
    // YAML alone.
    let only_yaml = case().yaml(yaml);
    assert_eq!(interval(&only_yaml.ok()), 10);
    assert_eq!(only_yaml.ok().scheduled_resync_interval, Some(1));
    // .env beats YAML, for nested and top-level keys alike.
    let dotenv = case()
        .yaml(yaml)
        .dotenv("OCEAN__EVENT_LISTENER__INTERVAL=20\nOCEAN__SCHEDULED_RESYNC_INTERVAL=2\n");
    assert_eq!(interval(&dotenv.ok()), 20);
    assert_eq!(dotenv.ok().scheduled_resync_interval, Some(2));
    // The environment beats .env.
    let env = case()
        .yaml(yaml)
        .dotenv("OCEAN__EVENT_LISTENER__INTERVAL=20\n")
        .env("OCEAN__EVENT_LISTENER__INTERVAL", "30");
    assert_eq!(interval(&env.ok()), 30);
    // Overrides beat everything.
    let overridden = case()
        .yaml(yaml)
        .env("OCEAN__EVENT_LISTENER__INTERVAL", "30")
        .set("event_listener.interval", json!(40));
    assert_eq!(interval(&overridden.ok()), 40);
}

#[test]
fn once_overrides_a_literal_yaml_listener_type() {
    // The reference lets `eventListener.type: POLLING` in config.yaml win over `--once`.
    let c = with_credentials().yaml("eventListener:\n  type: POLLING\n  interval: 5\n");
    let settings = c.loader().once().load().unwrap();
    assert_eq!(
        settings.event_listener.listener_type(),
        EventListenerType::Once
    );
    assert!(settings.event_listener.should_resync);
    assert!(!settings.event_listener.should_process_webhooks);
    assert!(!settings.event_listener.should_run_actions);
    let probe = c.loader().probe().load().unwrap();
    assert!(!probe.event_listener.should_resync);
}

#[test]
fn camel_and_snake_case_yaml_keys_are_equivalent() {
    let camel = case().yaml(
        "initializePortResources: false\nport:\n  clientId: a\n  clientSecret: b\n  baseUrl: https://api.us.getport.io/\neventListener:\n  type: KAFKA\n  kafkaSecurityEnabled: false\nactionsProcessor:\n  runsBufferHighWatermark: 5\nliveEvents:\n  redis:\n    blockMs: 7\n",
    );
    let snake = case().yaml(
        "initialize_port_resources: false\nport:\n  client_id: a\n  client_secret: b\n  base_url: https://api.us.getport.io/\nevent_listener:\n  type: KAFKA\n  kafka_security_enabled: false\nactions_processor:\n  runs_buffer_high_watermark: 5\nlive_events:\n  redis:\n    block_ms: 7\n",
    );
    for c in [camel, snake] {
        let s = c.ok();
        assert!(!s.initialize_port_resources);
        assert_eq!(s.port.base_url, "https://api.us.getport.io");
        assert_eq!(s.port.mcp_url, "https://mcp.us.getport.io/v1");
        match &s.event_listener.listener {
            EventListener::Kafka(k) => assert!(!k.kafka_security_enabled),
            other => panic!("{other:?}"),
        }
        assert_eq!(s.actions_processor.runs_buffer_high_watermark, 5);
        assert_eq!(s.live_events.redis.block_ms, 7);
    }
}

#[test]
fn yaml_providers_fill_only_unset_keys() {
    let yaml = "port:\n  clientId: \"{{ from env PORT_CLIENT_ID }}\"\n  clientSecret: \"{{ from env PORT_CLIENT_SECRET }}\"\nintegration:\n  identifier: \"{{ from env MY_ID }}\"\n  config:\n    token: \"{{ from env JIRA_TOKEN }}\"\n";
    let c = case()
        .yaml(yaml)
        .env("PORT_CLIENT_ID", "from-provider")
        .env("OCEAN__PORT__CLIENT_SECRET", "from-env-var")
        .env("PORT_CLIENT_SECRET", "provider-loses")
        .env("JIRA_TOKEN", "t0k");
    let s = c.ok();
    assert_eq!(s.port.client_id.expose(), "from-provider");
    assert_eq!(s.port.client_secret.expose(), "from-env-var");
    // MY_ID is not set: the key stays unset and the default applies.
    assert_eq!(s.integration.identifier, "my-jira-integration");
    assert_eq!(s.integration.config.get("token"), Some(&json!("t0k")));
}

#[test]
fn yaml_providers_fall_back_to_dotenv_values() {
    let c = case()
        .yaml("port:\n  clientId: \"{{ from env PORT_CLIENT_ID }}\"\n  clientSecret: s\n")
        .dotenv("PORT_CLIENT_ID=from-dotenv\n");
    assert_eq!(c.ok().port.client_id.expose(), "from-dotenv");
}

#[test]
fn an_unset_provider_variable_is_named_when_the_key_is_required() {
    let c = case().yaml(
        "port:\n  clientId: \"{{ from env PORT_CLIENT_ID }}\"\n  clientSecret: \"{{ from env PORT_CLIENT_SECRET }}\"\n",
    );
    assert_eq!(
        c.err(),
        "invalid configuration:\n\
         - port.client_id: required; set OCEAN__PORT__CLIENT_ID or port.clientId in config.yaml (config.yaml reads it from environment variable PORT_CLIENT_ID, which is not set)\n\
         - port.client_secret: required; set OCEAN__PORT__CLIENT_SECRET or port.clientSecret in config.yaml (config.yaml reads it from environment variable PORT_CLIENT_SECRET, which is not set)"
    );
}

#[test]
fn unknown_provider_types_leave_the_key_unset_with_a_warning() {
    let c = with_credentials().yaml("integration:\n  identifier: \"{{ from vault my/secret }}\"\n");
    let s = c.ok();
    assert_eq!(s.integration.identifier, "my-jira-integration");
    assert_eq!(
        c.scrub(&s.warnings().join("\n")),
        "<dir>/config.yaml integration.identifier: unknown value provider \"vault\" (only \"env\" exists); the key is left unset"
    );
}

#[test]
fn json_values_in_environment_variables() {
    let s = with_credentials()
        .env(
            "OCEAN__EVENT_LISTENER",
            r#"{"type":"KAFKA","securityProtocol":"PLAINTEXT"}"#,
        )
        .env("OCEAN__EVENT_LISTENER__BROKERS", r#"["a:9096","b:9096"]"#)
        .ok();
    match &s.event_listener.listener {
        EventListener::Kafka(k) => {
            assert_eq!(k.brokers, "a:9096,b:9096");
            assert_eq!(k.security_protocol, "PLAINTEXT");
            assert_eq!(k.authentication_mechanism, "SCRAM-SHA-512");
            assert_eq!(k.consumer_poll_timeout, 1);
        }
        other => panic!("{other:?}"),
    }
    // A nested variable beats the same key inside a JSON parent.
    let s = with_credentials()
        .env(
            "OCEAN__PORT",
            r#"{"base_url": "https://a.example.com", "client_id": "json-id"}"#,
        )
        .env("OCEAN__PORT__BASE_URL", "https://b.example.com/")
        .ok();
    assert_eq!(s.port.base_url, "https://b.example.com");
    assert_eq!(s.port.client_id.expose(), "cid");
}

#[test]
fn kafka_defaults_and_malformed_broker_json_kept_verbatim() {
    let s = with_credentials()
        .env("OCEAN__EVENT_LISTENER__TYPE", "KAFKA")
        .env("OCEAN__EVENT_LISTENER__BROKERS", "[broken")
        .ok();
    match &s.event_listener.listener {
        EventListener::Kafka(k) => {
            assert_eq!(k.brokers, "[broken");
            assert_eq!(k.security_protocol, "SASL_SSL");
            assert!(k.kafka_security_enabled);
        }
        other => panic!("{other:?}"),
    }
    let s = with_credentials()
        .yaml("eventListener:\n  type: KAFKA\n  brokers: [x:1, y:2]\n")
        .ok();
    match &s.event_listener.listener {
        EventListener::Kafka(k) => assert_eq!(k.brokers, "x:1,y:2"),
        other => panic!("{other:?}"),
    }
    let s = with_credentials()
        .env("OCEAN__EVENT_LISTENER__TYPE", "KAFKA")
        .ok();
    match &s.event_listener.listener {
        EventListener::Kafka(k) => assert!(k.brokers.starts_with("b-1-public.publicclusterprod")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn environment_names_are_case_insensitive() {
    let s = case()
        .env("ocean__port__client_id", "lower")
        .env("Ocean__Port__Client_Secret", "mixed")
        .env("OCEAN__event_listener__type", "once")
        .ok();
    assert_eq!(s.port.client_id.expose(), "lower");
    assert_eq!(s.port.client_secret.expose(), "mixed");
    assert_eq!(s.event_listener.listener_type(), EventListenerType::Once);
}

#[test]
fn dotenv_quotes_comments_and_export() {
    let s = case()
        .dotenv(
            "# Port credentials\nexport OCEAN__PORT__CLIENT_ID='single # quoted'\nOCEAN__PORT__CLIENT_SECRET=\"double\\tquoted\" # comment\nOCEAN__INTEGRATION__IDENTIFIER=plain value # trailing comment\nOCEAN__EVENT_LISTENER='{\"type\": \"ONCE\"}'\n",
        )
        .ok();
    assert_eq!(s.port.client_id.expose(), "single # quoted");
    assert_eq!(s.port.client_secret.expose(), "double\tquoted");
    assert_eq!(s.integration.identifier, "plain value");
    assert_eq!(s.event_listener.listener_type(), EventListenerType::Once);
}

#[test]
fn integration_type_and_identifier() {
    let s = with_credentials()
        .env("OCEAN__INTEGRATION__TYPE", "GitHub")
        .ok();
    assert_eq!(s.integration.integration_type, "github");
    assert_eq!(s.integration.identifier, "my-github-integration");
    let s = with_credentials()
        .env("OCEAN__INTEGRATION__IDENTIFIER", "My-Install")
        .env("OCEAN__INTEGRATION__TYPE", "")
        .ok();
    assert_eq!(s.integration.identifier, "My-Install");
    assert_eq!(s.integration.integration_type, "jira");
}

#[test]
fn empty_values_for_typed_settings_mean_unset() {
    let s = with_credentials()
        .env("OCEAN__SCHEDULED_RESYNC_INTERVAL", "")
        .env("OCEAN__INTEGRATION__INCREMENTAL_SYNC_INTERVAL", "")
        .env("OCEAN__BASE_URL", "")
        .ok();
    assert_eq!(s.scheduled_resync_interval, None);
    assert_eq!(s.integration.incremental_sync_interval, 15);
    assert_eq!(s.base_url.as_deref(), Some(""));
    assert_eq!(
        s.warnings(),
        ["OCEAN__SCHEDULED_RESYNC_INTERVAL (environment) is empty and is treated as unset"]
    );
}

#[test]
fn empty_credentials_do_not_hide_values_from_lower_sources() {
    // Helm renders unset values as empty strings.
    let c = case()
        .yaml("port:\n  clientId: from-yaml\n  clientSecret: from-yaml\n")
        .env("OCEAN__PORT__CLIENT_ID", "")
        .env("OCEAN__PORT__BASE_URL", "");
    let s = c.ok();
    assert_eq!(s.port.client_id.expose(), "from-yaml");
    assert_eq!(s.port.base_url, "https://api.getport.io");
    let c = case()
        .env("OCEAN__PORT__CLIENT_ID", "")
        .env("OCEAN__PORT__CLIENT_SECRET", "s");
    assert_eq!(
        c.err(),
        "invalid configuration: port.client_id: required; set OCEAN__PORT__CLIENT_ID or port.clientId in config.yaml"
    );
}

#[test]
fn booleans_and_numbers_parse_from_text() {
    let s = with_credentials()
        .env("OCEAN__INITIALIZE_PORT_RESOURCES", "no")
        .env("OCEAN__SEND_RAW_DATA_EXAMPLES", "0")
        .env("OCEAN__LAKEHOUSE_ENABLED", "False")
        .env("OCEAN__EVENTS_DEBUG_LOGGING", "on")
        .env("OCEAN__MAX_EVENT_PROCESSING_SECONDS", "12.5")
        .env("OCEAN__METRICS__ENABLED", "t")
        .env("OCEAN__STREAMING__ENABLED", "Y")
        .yaml("eventListener:\n  interval: 10.0\nssl:\n  port:\n    verify: 'off'\n")
        .ok();
    assert!(s.metrics.enabled);
    assert!(s.streaming.enabled);
    assert!(!s.ssl.port.verify);
    assert_eq!(
        s.event_listener.listener_type(),
        ocean_config::EventListenerType::Polling
    );
    match &s.event_listener.listener {
        EventListener::Polling(p) => assert_eq!(p.interval, 10),
        other => panic!("{other:?}"),
    }
    assert!(!s.initialize_port_resources);
    assert!(!s.send_raw_data_examples);
    assert!(!s.lakehouse_enabled);
    assert!(s.events_debug_logging);
    assert_eq!(s.max_event_processing_seconds, 12.5);
}

#[test]
fn null_in_yaml_clears_nullable_settings() {
    let s = with_credentials()
        .yaml("cachingStorageMode: null\nactionsProcessor:\n  maxRunsBufferUtilPctPerAction: null\nliveEvents:\n  redis:\n    streamTtlSeconds: null\n")
        .ok();
    assert_eq!(s.caching_storage_mode, None);
    assert_eq!(
        s.actions_processor.max_runs_buffer_util_pct_per_action,
        None
    );
    assert_eq!(s.live_events.redis.stream_ttl_seconds, None);
}

#[test]
fn saas_runtime_turns_on_the_ip_blocker_unless_set() {
    let saas = "saas:\n  enabled: true\n";
    let s = with_credentials()
        .env("OCEAN__RUNTIME", "Saas")
        .spec(saas)
        .ok();
    assert!(!s.disable_ip_outbound_blocker);
    let s = with_credentials()
        .env("OCEAN__RUNTIME", "Saas")
        .env("OCEAN__DISABLE_IP_OUTBOUND_BLOCKER", "true")
        .spec(saas)
        .ok();
    assert!(s.disable_ip_outbound_blocker);
    let s = with_credentials()
        .env("OCEAN__DISABLE_IP_OUTBOUND_BLOCKER", "false")
        .ok();
    assert!(!s.disable_ip_outbound_blocker);
}

#[test]
fn application_settings_come_from_env_then_dotenv_then_flags() {
    use ocean_config::{ApplicationFlags, LogLevel};
    let c = case()
        .dotenv("APPLICATION__PORT=9001\n")
        .env("APPLICATION__LOG_LEVEL", "DEBUG");
    let app = c
        .loader()
        .load_application(ApplicationFlags {
            log_level: Some(LogLevel::Error),
            port: Some(8080),
        })
        .unwrap();
    assert_eq!(app.log_level, LogLevel::Debug);
    assert_eq!(app.port, 9001);
    assert!(app.enable_http_logging);
}
