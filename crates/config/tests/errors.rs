//! Error messages: each names the key, the source (variable, `.env` line, `config.yaml` line,
//! override) and what was expected.

mod support;

use serde_json::json;
use support::{case, with_credentials};

#[test]
fn environment_value_of_the_wrong_type() {
    let c = with_credentials().env("OCEAN__EVENT_LISTENER__INTERVAL", "abc");
    assert_eq!(
        c.err(),
        "invalid configuration: OCEAN__EVENT_LISTENER__INTERVAL=\"abc\" (environment): expected an integer number of seconds"
    );
}

#[test]
fn dotenv_value_names_file_and_line() {
    let c = with_credentials().dotenv("# comment\nOCEAN__INITIALIZE_PORT_RESOURCES=maybe\n");
    assert_eq!(
        c.err(),
        "invalid configuration: OCEAN__INITIALIZE_PORT_RESOURCES=\"maybe\" (<dir>/.env line 2): expected true or false"
    );
}

#[test]
fn yaml_value_names_file_line_and_key_as_written() {
    let c = with_credentials().yaml("eventListener:\n  type: POLLING\n  interval: soon\n");
    assert_eq!(
        c.err(),
        "invalid configuration: eventListener.interval=\"soon\" (<dir>/config.yaml line 3): expected an integer number of seconds"
    );
    let c = with_credentials().yaml("runtime: Cloud\n");
    assert_eq!(
        c.err(),
        "invalid configuration: runtime=\"Cloud\" (<dir>/config.yaml line 1): expected one of OnPrem, Saas"
    );
}

#[test]
fn json_environment_values_name_the_inner_key() {
    let c = with_credentials().env(
        "OCEAN__EVENT_LISTENER",
        r#"{"type": "POLLING", "interval": "x"}"#,
    );
    assert_eq!(
        c.err(),
        "invalid configuration: OCEAN__EVENT_LISTENER key interval=\"x\" (environment): expected an integer number of seconds"
    );
    let c = with_credentials().env("OCEAN__EVENT_LISTENER", r#"{"type": "#);
    assert_eq!(
        c.err(),
        "invalid configuration: OCEAN__EVENT_LISTENER (environment): expected a JSON object of settings: EOF while parsing a value at line 1 column 9"
    );
    let c = with_credentials().env("OCEAN__EVENT_LISTENER", "POLLING");
    assert_eq!(
        c.err(),
        "invalid configuration: OCEAN__EVENT_LISTENER (environment): expected a JSON object of settings: expected value at line 1 column 1"
    );
}

#[test]
fn override_values_are_attributed_to_the_command_line() {
    let c = with_credentials().set("event_listener", json!({"type": "SOMETIMES"}));
    assert_eq!(
        c.err(),
        "invalid configuration: event_listener.type=\"SOMETIMES\" (command-line override): expected one of POLLING, KAFKA, WEBHOOK, ONCE, WEBHOOKS_ONLY, ACTIONS_ONLY"
    );
}

#[test]
fn all_problems_are_reported_together() {
    let c = case()
        .env("OCEAN__CLIENT_TIMEOUT", "-5")
        .env("OCEAN__ACTIONS_PROCESSOR__WORKERS_COUNT", "0")
        .env("OCEAN__INTEGRATION__INCREMENTAL_SYNC_INTERVAL", "45m");
    assert_eq!(
        c.err(),
        "invalid configuration:\n\
         - port.client_id: required; set OCEAN__PORT__CLIENT_ID or port.clientId in config.yaml\n\
         - port.client_secret: required; set OCEAN__PORT__CLIENT_SECRET or port.clientSecret in config.yaml\n\
         - OCEAN__INTEGRATION__INCREMENTAL_SYNC_INTERVAL=\"45m\" (environment): expected 15, 30 or 60 minutes, got 45\n\
         - OCEAN__CLIENT_TIMEOUT=-5 (environment): expected an integer number of seconds\n\
         - OCEAN__ACTIONS_PROCESSOR__WORKERS_COUNT=0 (environment): expected an integer of at least 1"
    );
}

#[test]
fn webhook_listener_needs_a_valid_app_host() {
    let c = with_credentials().env("OCEAN__EVENT_LISTENER__TYPE", "WEBHOOK");
    assert_eq!(
        c.err(),
        "invalid configuration: event_listener.app_host: required when event_listener.type is WEBHOOK; set OCEAN__EVENT_LISTENER__APP_HOST or eventListener.appHost in config.yaml"
    );
    let c = with_credentials()
        .env("OCEAN__EVENT_LISTENER__TYPE", "WEBHOOK")
        .env("OCEAN__EVENT_LISTENER__APP_HOST", "not a url");
    // app_host is sensitive: its value is not shown.
    assert_eq!(
        c.err(),
        "invalid configuration: OCEAN__EVENT_LISTENER__APP_HOST (environment): expected a URL (like https://example.com)"
    );
}

#[test]
fn invalid_urls_are_rejected() {
    let c = with_credentials().env("OCEAN__PORT__BASE_URL", "api.getport.io");
    assert_eq!(
        c.err(),
        "invalid configuration: OCEAN__PORT__BASE_URL=\"api.getport.io\" (environment): expected a URL (like https://example.com)"
    );
}

#[test]
fn a_section_given_a_scalar_is_an_error() {
    let c = with_credentials().yaml("metrics: true\n");
    assert_eq!(
        c.err(),
        "invalid configuration: metrics (<dir>/config.yaml line 1): expected a mapping of settings"
    );
}

#[test]
fn malformed_config_yaml_reports_its_line() {
    let c = with_credentials().yaml("port:\n  clientId: [unclosed\nruntime: OnPrem\n");
    assert_eq!(
        c.err(),
        "<dir>/config.yaml: invalid YAML at line 3 column 8: did not find expected ',' or ']'"
    );
    let c = with_credentials().yaml("- a\n- b\n");
    assert_eq!(
        c.err(),
        "<dir>/config.yaml: (document): expected a mapping of settings, found a list"
    );
}

#[test]
fn startup_checks_that_depend_on_the_spec() {
    let c = with_credentials().env("OCEAN__RUNTIME", "Saas");
    assert_eq!(
        c.err(),
        "invalid configuration: OCEAN__RUNTIME=\"Saas\" (environment): runtime Saas needs the integration's .port/spec file (spec.json, spec.yaml or spec.yml) to confirm it can run as SaaS"
    );
    let c = with_credentials()
        .env("OCEAN__RUNTIME", "Saas")
        .spec("saas:\n  enabled: false\n");
    assert_eq!(
        c.err(),
        "invalid configuration: OCEAN__RUNTIME=\"Saas\" (environment): this integration cannot run as Saas (its spec sets saas.enabled: false)"
    );
    let c = with_credentials()
        .env("OCEAN__ACTIONS_PROCESSOR__ENABLED", "true")
        .spec("title: x\n");
    assert_eq!(
        c.err(),
        "invalid configuration: OCEAN__ACTIONS_PROCESSOR__ENABLED=true (environment): this integration does not support running as an actions processor (its spec does not set actionsProcessingEnabled: true)"
    );
    let c = with_credentials().env("OCEAN__IDENTITY_PROPAGATION__ENABLED", "1");
    assert_eq!(
        c.err(),
        "invalid configuration: OCEAN__IDENTITY_PROPAGATION__ENABLED=true (environment): identity propagation needs the actions processor; set OCEAN__ACTIONS_PROCESSOR__ENABLED=true or disable identity propagation"
    );
}

#[test]
fn redis_tls_must_be_consistent() {
    let check = |vars: &[(&str, &str)], expected: &str| {
        let mut c = with_credentials();
        for (k, v) in vars {
            c = c.env(k, v);
        }
        assert_eq!(c.err(), expected, "{vars:?}");
    };
    check(
        &[("OCEAN__LIVE_EVENTS__REDIS__URL", "rediss://cache:6379")],
        "invalid configuration: OCEAN__LIVE_EVENTS__REDIS__URL (environment): the URL uses rediss:// but live_events.redis.enable_tls is false; set enable_tls to true or use a redis:// URL",
    );
    check(
        &[("OCEAN__LIVE_EVENTS__REDIS__ENABLE_TLS", "true")],
        "invalid configuration: OCEAN__LIVE_EVENTS__REDIS__ENABLE_TLS (environment): enable_tls is true but live_events.redis.url does not use rediss://; use a rediss:// URL or set enable_tls to false",
    );
    check(
        &[
            ("OCEAN__LIVE_EVENTS__REDIS__URL", "rediss://cache:6379"),
            ("OCEAN__LIVE_EVENTS__REDIS__ENABLE_TLS", "true"),
            ("OCEAN__LIVE_EVENTS__REDIS__CERT", "Y2VydA=="),
        ],
        "invalid configuration: OCEAN__LIVE_EVENTS__REDIS__CERT (environment): Redis mutual TLS needs both live_events.redis.cert and live_events.redis.private_key",
    );
}

#[test]
fn missing_integration_name_is_reported() {
    let c = with_credentials();
    let err = ocean_config::Loader::new(ocean_config::IntegrationInfo::new("", "0"))
        .cwd(c.dir.path())
        .env([
            ("OCEAN__PORT__CLIENT_ID", "a"),
            ("OCEAN__PORT__CLIENT_SECRET", "b"),
        ])
        .load()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid configuration: integration.type: required (the integration binary did not provide a name); set OCEAN__INTEGRATION__TYPE or integration.type in config.yaml"
    );
}
