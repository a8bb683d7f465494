//! The `config.yaml` of Python Ocean's README, as a migrating user has it: the legacy
//! `triggerChannel` (read as `eventListener`, with warnings), its `KAFKA / WEBHOOK` placeholder
//! (a clear error), and `integration.config` keys the spec does not declare (kept, the
//! secret-looking ones masked).

mod support;

use ocean_config::{EventListener, EventListenerType};
use serde_json::json;
use support::{case, with_credentials};

/// Python Ocean's README `config.yaml`, with `type` as given.
fn readme_yaml(listener_type: &str) -> String {
    format!(
        r#"port:
  clientId: PORT_CLIENT_ID # Can be loaded via environment variable: PORT_CLIENT_ID
  clientSecret: PORT_CLIENT_SECRET # Can be loaded via environment variable: PORT_CLIENT_SECRET
  baseUrl: https://api.getport.io/v1
# The trigger channel to use for the integration service.
triggerChannel:
  type: {listener_type}
integration:
  # The name of the integration.
  identifier: "my_integration"
  # The type of the integration.
  type: "PagerDuty"
  config:
    my_git_token: "random"
    some_other_integration_config: "Very important information"
"#
    )
}

const SPEC: &str = "title: X\nconfigurations:\n  - {name: pageSize, type: integer, default: 100}\n";

#[test]
fn trigger_channel_kafka_is_read_as_the_event_listener_with_a_warning() {
    let c = case().yaml(&readme_yaml("KAFKA")).spec(SPEC);
    let s = c.ok();
    assert_eq!(s.event_listener.listener_type(), EventListenerType::Kafka);
    assert_eq!(
        c.scrub(&s.warnings()[0]),
        "triggerChannel (<dir>/config.yaml line 6): triggerChannel is the legacy name of eventListener and is read as eventListener; rename it (OCEAN__EVENT_LISTENER__* in the environment)"
    );
    // The printout names the listener and where it came from.
    let printed = c.scrub(&s.render_masked());
    assert!(
        printed.contains("  type: \"KAFKA\"  # triggerChannel.type (<dir>/config.yaml line 7)"),
        "{printed}"
    );
}

#[test]
fn trigger_channel_webhook_needs_an_app_host_like_event_listener() {
    let c = case().yaml(&readme_yaml("WEBHOOK")).spec(SPEC);
    assert!(
        c.err()
            .contains("event_listener.app_host: required when event_listener.type is WEBHOOK"),
        "{}",
        c.err()
    );
    let c = c.env(
        "OCEAN__EVENT_LISTENER__APP_HOST",
        "https://ocean.example.com/",
    );
    let s = c.ok();
    match &s.event_listener.listener {
        EventListener::Webhook(w) => assert_eq!(w.app_host.expose(), "https://ocean.example.com"),
        other => panic!("{other:?}"),
    }
    // The environment's eventListener key merges with the file's legacy section: no key is
    // set under both names, so there is no conflict to report.
    assert!(
        s.warnings()[0].ends_with(
            "is read as eventListener; rename it (OCEAN__EVENT_LISTENER__* in the environment)"
        ),
        "{:?}",
        s.warnings()
    );
}

#[test]
fn the_placeholder_is_an_error_naming_the_key_file_and_allowed_values() {
    let c = case().yaml(&readme_yaml("KAFKA / WEBHOOK")).spec(SPEC);
    assert_eq!(
        c.err(),
        "invalid configuration: triggerChannel.type=\"KAFKA / WEBHOOK\" (<dir>/config.yaml line 7): this is a placeholder listing choices; choose exactly one of POLLING, KAFKA, WEBHOOK, ONCE, WEBHOOKS_ONLY, ACTIONS_ONLY"
    );
}

#[test]
fn event_listener_wins_over_trigger_channel_and_the_warning_says_so() {
    let yaml = format!(
        "{}eventListener:\n  type: POLLING\n  interval: 5\n",
        readme_yaml("KAFKA")
    );
    let c = case().yaml(&yaml);
    let s = c.ok();
    assert_eq!(s.event_listener.listener_type(), EventListenerType::Polling);
    assert_eq!(
        c.scrub(&s.warnings()[0]),
        "triggerChannel (<dir>/config.yaml line 6): triggerChannel is the legacy name of eventListener, which is also set (eventListener.type (<dir>/config.yaml line 17)); where both set a key, eventListener wins: remove triggerChannel"
    );
    // Also when eventListener comes from a source of lower precedence than the legacy one.
    let c = case()
        .yaml(&yaml)
        .env("OCEAN__TRIGGER_CHANNEL__TYPE", "WEBHOOK");
    let s = c.ok();
    assert_eq!(s.event_listener.listener_type(), EventListenerType::Polling);
    assert!(
        s.warnings()[1].starts_with("OCEAN__TRIGGER_CHANNEL__TYPE (environment): triggerChannel is the legacy name of eventListener, which is also set (eventListener.type ("),
        "{:?}",
        s.warnings()
    );
}

#[test]
fn the_environment_forms_of_the_legacy_name_are_read_too() {
    let c = with_credentials().env("OCEAN__TRIGGER_CHANNEL__TYPE", "once");
    let s = c.ok();
    assert_eq!(s.event_listener.listener_type(), EventListenerType::Once);
    assert_eq!(
        s.warnings(),
        [
            "OCEAN__TRIGGER_CHANNEL__TYPE (environment): triggerChannel is the legacy name of eventListener and is read as eventListener; rename it (OCEAN__EVENT_LISTENER__* in the environment)"
        ]
    );
    let s = with_credentials()
        .env(
            "OCEAN__TRIGGER_CHANNEL",
            r#"{"type": "KAFKA", "brokers": "b:9092"}"#,
        )
        .ok();
    match &s.event_listener.listener {
        EventListener::Kafka(k) => assert_eq!(k.brokers, "b:9092"),
        other => panic!("{other:?}"),
    }
    let c = with_credentials().dotenv("OCEAN__TRIGGER_CHANNEL__TYPE=KAFKA|WEBHOOK\n");
    assert!(
        c.err().contains(
            "OCEAN__TRIGGER_CHANNEL__TYPE=\"KAFKA|WEBHOOK\" (<dir>/.env line 1): this is a placeholder"
        ),
        "{}",
        c.err()
    );
}

#[test]
fn once_overrides_the_legacy_listener_without_calling_it_a_conflict() {
    let c = case()
        .yaml(&readme_yaml("WEBHOOK"))
        .set("event_listener", json!({"type": "ONCE"}));
    let s = c.ok();
    assert_eq!(s.event_listener.listener_type(), EventListenerType::Once);
    assert!(
        s.warnings()[0].contains("is read as eventListener"),
        "{:?}",
        s.warnings()
    );
}

#[test]
fn undeclared_config_keys_reach_the_integration_and_secret_looking_ones_are_masked() {
    let c = case().yaml(&readme_yaml("KAFKA")).spec(SPEC);
    let s = c.ok();
    #[derive(serde::Deserialize)]
    struct Config {
        my_git_token: String,
        some_other_integration_config: String,
        page_size: u32,
    }
    let config: Config = s.integration_config().unwrap();
    assert_eq!(config.my_git_token, "random");
    assert_eq!(
        config.some_other_integration_config,
        "Very important information"
    );
    assert_eq!(config.page_size, 100);
    let printed = s.render_masked();
    assert!(!printed.contains("\"random\""), "{printed}");
    assert!(
        printed.contains("my_git_token: \"[REDACTED]\""),
        "{printed}"
    );
    assert!(
        printed.contains("some_other_integration_config: \"Very important information\""),
        "{printed}"
    );
    assert!(s.sensitive_values().contains(&"random".to_owned()));
    assert!(!format!("{s:?}").contains("\"random\""));
    // The same keys through the environment, camelCase in the file or not.
    let s = case()
        .yaml(&readme_yaml("KAFKA"))
        .spec(SPEC)
        .env("OCEAN__INTEGRATION__CONFIG__MY_GIT_TOKEN", "from-env-123")
        .ok();
    assert_eq!(
        s.integration.config.get("my_git_token"),
        Some(&json!("from-env-123"))
    );
}
