//! From the merged sources to typed [`Settings`]: one setting at a time (so that every problem
//! is reported, not just the first), then the cross-setting checks of the contract (ranges, Redis
//! TLS, spec-dependent runtime checks), warnings, and the provenance shown when printing.

use std::collections::BTreeMap;

use figment::error::{Actual, Kind};
use figment::value::{Dict, Value as FValue};
use figment::{Figment, Profile, Provider};
use ocean_model::Secret;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::Build;
use super::sources::split_key;
use crate::Problem;
use crate::case::decamelize;
use crate::integration_config::{self, ConfigIssue, IntegrationConfig};
use crate::registry::{self, SettingKind};
use crate::settings::*;

const DEFAULT_BROKERS: &str = "b-1-public.publicclusterprod.t9rw6w.c1.kafka.eu-west-1.amazonaws.com:9196,b-2-public.publicclusterprod.t9rw6w.c1.kafka.eu-west-1.amazonaws.com:9196,b-3-public.publicclusterprod.t9rw6w.c1.kafka.eu-west-1.amazonaws.com:9196";

pub(super) fn json_scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Some(value.to_string()),
        _ => None,
    }
}

pub(super) fn actual_parts(actual: &Actual) -> (Option<String>, &'static str) {
    match actual {
        Actual::Bool(b) => (Some(b.to_string()), "a boolean"),
        Actual::Unsigned(n) => (Some(n.to_string()), "a number"),
        Actual::Signed(n) => (Some(n.to_string()), "a number"),
        Actual::Float(n) => (Some(n.to_string()), "a number"),
        Actual::Char(c) => (Some(Value::String(c.to_string()).to_string()), "a string"),
        Actual::Str(s) => (Some(Value::String(s.clone()).to_string()), "a string"),
        Actual::Unit | Actual::Option => (None, "null"),
        Actual::Seq => (None, "a list"),
        Actual::Map => (None, "a mapping"),
        _ => (None, "a value of another type"),
    }
}

/// The Kafka brokers as a comma list (`host:port,host:port`), as librdkafka wants them: a JSON
/// array of strings (in text or as a list) is joined with commas, spaces around commas and
/// empty entries are dropped, and anything else — text that only looks like a JSON array — is
/// kept as written (librdkafka then reports what it cannot resolve).
pub(crate) fn kafka_brokers(text: &str) -> String {
    let trimmed = text.trim();
    if trimmed.starts_with('[') && trimmed.ends_with(']') {
        return match serde_json::from_str::<Vec<String>>(trimmed) {
            Ok(list) => join_brokers(list.iter().map(String::as_str)),
            Err(_) => text.to_owned(),
        };
    }
    join_brokers(trimmed.split(','))
}

fn join_brokers<'a>(brokers: impl Iterator<Item = &'a str>) -> String {
    brokers
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}

/// Kafka brokers: text (a JSON array in text is joined) or a list.
struct Brokers(String);

impl<'de> Deserialize<'de> for Brokers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            List(Vec<String>),
        }
        match Raw::deserialize(d)? {
            Raw::Text(t) => Ok(Brokers(kafka_brokers(&t))),
            Raw::List(l) => Ok(Brokers(join_brokers(l.iter().map(String::as_str)))),
        }
    }
}

/// The incremental-sync interval as the reference parses it: a number of minutes, or text:
/// empty → 15, digits → minutes, `<n><unit>` with s/m/h/d/w.
struct Minutes(i64);

pub(super) fn parse_minutes(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.is_empty() {
        return Some(15);
    }
    if t.chars().all(|c| c.is_ascii_digit()) {
        return t.parse().ok();
    }
    let (number, unit) = t.split_at(t.len() - t.chars().last()?.len_utf8());
    let n: i64 = number.parse().ok()?;
    let seconds_per_unit: i64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    // The reference truncates toward zero (`int(n * fraction)`). A count too large for the
    // arithmetic is not an interval.
    Some(n.checked_mul(seconds_per_unit)? / 60)
}

impl<'de> Deserialize<'de> for Minutes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Minutes;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("minutes")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Minutes, E> {
                Ok(Minutes(v.min(i64::MAX as u64) as i64))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Minutes, E> {
                Ok(Minutes(v))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Minutes, E> {
                if v.fract() == 0.0 && v.abs() < 1e15 {
                    Ok(Minutes(v as i64))
                } else {
                    Err(E::invalid_value(serde::de::Unexpected::Float(v), &self))
                }
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Minutes, E> {
                parse_minutes(v)
                    .map(Minutes)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Minutes, E> {
                Ok(Minutes(15))
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<Minutes, E> {
                Ok(Minutes(15))
            }
        }
        d.deserialize_any(V)
    }
}

/// "expected one of …", and when the value lists several of the allowed values (a template's
/// placeholder such as `KAFKA / WEBHOOK`), a word saying that exactly one must be chosen.
pub(super) fn unknown_variant_message(got: &str, names: &[&str]) -> String {
    let listed = got
        .split(['/', '|', ','])
        .filter(|part| names.iter().any(|n| n.eq_ignore_ascii_case(part.trim())))
        .count();
    if listed >= 2 {
        format!(
            "this is a placeholder listing choices; choose exactly one of {}",
            names.join(", ")
        )
    } else {
        format!("expected one of {}", names.join(", "))
    }
}

/// Walks the masked settings JSON: calls `f(path, leaf)` for every non-object value.
pub(super) fn walk_leaves(
    value: &Value,
    path: &mut Vec<String>,
    f: &mut dyn FnMut(&[String], &Value),
) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                path.push(k.clone());
                walk_leaves(v, path, f);
                path.pop();
            }
        }
        other => f(path, other),
    }
}

impl Build<'_> {
    /// Records a problem at `path`, naming its source; `value` is shown unless sensitive.
    pub(super) fn problem(
        &mut self,
        figment: &Figment,
        path: &[String],
        value: Option<String>,
        message: String,
    ) {
        let key = path.join(".");
        let value = if self.is_sensitive(path) { None } else { value };
        let source = self
            .origin(figment, path)
            .map(|o| self.subject(o, path, value.as_deref()));
        self.problems.push(Problem {
            key,
            source,
            message,
        });
    }

    /// "required" with the ways to set it.
    pub(super) fn missing(&mut self, path: &[String], note: &str) {
        let key = path.join(".");
        let env = crate::case::env_var_name(path);
        let yaml_key: Vec<String> = path.iter().map(|p| registry::camel_case(p)).collect();
        let mut message = format!(
            "required{note}; set {env} or {} in config.yaml",
            yaml_key.join(".")
        );
        if let Some((_, var)) = self.unresolved.iter().find(|(p, _)| p == path) {
            message.push_str(&format!(
                " (config.yaml reads it from environment variable {var}, which is not set)"
            ));
        }
        self.problems.push(Problem {
            key,
            source: None,
            message,
        });
    }

    pub(super) fn figment_problem(
        &mut self,
        figment: &Figment,
        error: figment::Error,
        prefix: &[String],
    ) {
        for e in error {
            // extract_inner appends its own path after the error's; rebuild prefix + inner path.
            let mut inner = e.path.clone();
            if inner.ends_with(prefix) {
                inner.truncate(inner.len() - prefix.len());
            }
            let mut path = prefix.to_vec();
            path.extend(inner);
            let key = path.join(".");
            let expectation = registry::find(&key).map(|d| d.expectation());
            let (value, message) = match &e.kind {
                Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => {
                    let (value, found) = actual_parts(actual);
                    let expected = expectation.unwrap_or_else(|| expected.clone());
                    let found = if value.is_some() && !self.is_sensitive(&path) {
                        String::new()
                    } else {
                        format!(", found {found}")
                    };
                    (value, format!("expected {expected}{found}"))
                }
                Kind::UnknownVariant(got, names) => (
                    Some(Value::String(got.clone()).to_string()),
                    unknown_variant_message(got, names),
                ),
                Kind::MissingField(field) => {
                    let mut missing_path = path.clone();
                    missing_path.push(field.to_string());
                    self.missing(&missing_path, "");
                    continue;
                }
                Kind::Message(m) => (None, m.clone()),
                other => (None, other.to_string()),
            };
            self.problem(figment, &path, value, message);
        }
    }

    /// One setting, or `None` when unset (or invalid, which is recorded).
    pub(super) fn get<T: DeserializeOwned>(&mut self, figment: &Figment, key: &str) -> Option<T> {
        match figment.find_value(key) {
            Err(_) => None,
            Ok(_) => match figment.extract_inner_lossy::<T>(key) {
                Ok(v) => Some(v),
                Err(e) => {
                    self.figment_problem(figment, e, &split_key(key));
                    None
                }
            },
        }
    }

    /// A setting with a default.
    pub(super) fn get_or<T: DeserializeOwned>(
        &mut self,
        figment: &Figment,
        key: &str,
        default: T,
    ) -> T {
        self.get(figment, key).unwrap_or(default)
    }

    /// A section: its struct from whatever keys are set (defaults for the rest).
    pub(super) fn section<T: DeserializeOwned + Default>(
        &mut self,
        figment: &Figment,
        key: &str,
    ) -> T {
        let path = split_key(key);
        match figment.find_value(key) {
            Err(_) | Ok(FValue::Empty(..)) => T::default(),
            Ok(FValue::Dict(..)) => match figment.focus(key).extract_lossy::<T>() {
                Ok(v) => v,
                Err(e) => {
                    self.figment_problem(figment, e, &path);
                    T::default()
                }
            },
            Ok(_) => {
                self.problem(
                    figment,
                    &path,
                    None,
                    "expected a mapping of settings".to_owned(),
                );
                T::default()
            }
        }
    }

    /// A URL setting: trailing slashes stripped, validated.
    pub(super) fn url(&mut self, figment: &Figment, key: &str) -> Option<String> {
        let text: String = self.get(figment, key)?;
        match integration_config::normalise_url(&text) {
            Some(url) => Some(url),
            None => {
                let path = split_key(key);
                let shown = Value::String(text).to_string();
                let expectation = registry::find(key)
                    .map(|d| d.expectation())
                    .unwrap_or_else(|| "a URL".to_owned());
                self.problem(
                    figment,
                    &path,
                    Some(shown),
                    format!("expected {expectation}"),
                );
                None
            }
        }
    }

    pub(super) fn settings(&mut self, figment: &Figment) -> Settings {
        let port = self.port(figment);
        let integration = self.integration(figment);
        let event_listener = self.event_listener(figment);
        let runtime = self.get_or(figment, "runtime", Runtime::OnPrem);
        let mut settings = Settings {
            port,
            integration,
            event_listener,
            initialize_port_resources: self.get_or(figment, "initialize_port_resources", true),
            create_port_resources_origin: self
                .get::<Option<CreatePortResourcesOrigin>>(figment, "create_port_resources_origin")
                .flatten(),
            scheduled_resync_interval: self
                .get::<Option<u64>>(figment, "scheduled_resync_interval")
                .flatten(),
            resources_path: self.get_or(figment, "resources_path", ".port/resources".to_owned()),
            runtime,
            base_url: self.get::<Option<String>>(figment, "base_url").flatten(),
            path_prefix: self.get::<Option<String>>(figment, "path_prefix").flatten(),
            allow_environment_variables_jq_access: self.get_or(
                figment,
                "allow_environment_variables_jq_access",
                true,
            ),
            send_raw_data_examples: self.get_or(figment, "send_raw_data_examples", true),
            status_heartbeat_interval_seconds: self.get_or(
                figment,
                "status_heartbeat_interval_seconds",
                10,
            ),
            client_timeout: self.get_or(figment, "client_timeout", 60),
            oauth_access_token_file_path: self
                .get::<Option<String>>(figment, "oauth_access_token_file_path")
                .flatten(),
            event_workers_count: self.get_or(figment, "event_workers_count", 1),
            events_debug_logging: self.get_or(figment, "events_debug_logging", false),
            max_event_processing_seconds: self.get_or(
                figment,
                "max_event_processing_seconds",
                90.0,
            ),
            max_wait_seconds_before_shutdown: self.get_or(
                figment,
                "max_wait_seconds_before_shutdown",
                5.0,
            ),
            caching_storage_mode: self
                .get::<Option<CachingStorageMode>>(figment, "caching_storage_mode")
                .unwrap_or(Some(CachingStorageMode::Disk)),
            upsert_entities_batch_max_length: self.get_or(
                figment,
                "upsert_entities_batch_max_length",
                20,
            ),
            upsert_entities_batch_max_size_in_bytes: self.get_or(
                figment,
                "upsert_entities_batch_max_size_in_bytes",
                1024 * 1024,
            ),
            delete_entities_max_batch_size: self.get_or(
                figment,
                "delete_entities_max_batch_size",
                1000,
            ),
            yield_items_to_parse_batch_size: self.get_or(
                figment,
                "yield_items_to_parse_batch_size",
                200,
            ),
            process_in_queue_timeout: self.get_or(figment, "process_in_queue_timeout", 120),
            process_in_queue_max_workers: self
                .get(figment, "process_in_queue_max_workers")
                .unwrap_or_else(default_workers),
            lakehouse_enabled: self.get_or(figment, "lakehouse_enabled", true),
            lakehouse_buffer_interval_seconds: self.get_or(
                figment,
                "lakehouse_buffer_interval_seconds",
                10.0,
            ),
            lakehouse_buffer_max_count: self.get_or(figment, "lakehouse_buffer_max_count", 50),
            processing_mode: self.get_or(figment, "processing_mode", ProcessingMode::Dsp),
            disable_ip_outbound_blocker: self
                .get::<Option<bool>>(figment, "disable_ip_outbound_blocker")
                .flatten()
                .unwrap_or(runtime != Runtime::Saas),
            metrics: self.section(figment, "metrics"),
            streaming: self.section(figment, "streaming"),
            ssl: self.section(figment, "ssl"),
            actions_processor: self.section(figment, "actions_processor"),
            live_events: self.section(figment, "live_events"),
            identity_propagation: self.section(figment, "identity_propagation"),
            provenance: BTreeMap::new(),
            warnings: Vec::new(),
        };
        self.validate(figment, &settings);
        self.collect_warnings(figment, &settings);
        settings.provenance = self.provenance(figment, &settings);
        settings.warnings = std::mem::take(&mut self.warnings);
        settings
    }

    pub(super) fn port(&mut self, figment: &Figment) -> PortSettings {
        self.require_section(figment, "port");
        let client_id = self.get::<Secret>(figment, "port.client_id");
        let client_secret = self.get::<Secret>(figment, "port.client_secret");
        for (value, key) in [(&client_id, "client_id"), (&client_secret, "client_secret")] {
            if value.is_none() && !figment.contains(&format!("port.{key}")) {
                self.missing(&["port".to_owned(), key.to_owned()], "");
            }
        }
        let base_url = self
            .url(figment, "port.base_url")
            .unwrap_or_else(|| "https://api.getport.io".to_owned());
        let app_url = self.url(figment, "port.app_url");
        let mcp_url = match self.url(figment, "port.mcp_url") {
            Some(url) => url,
            None => match derive_mcp_url(&base_url) {
                Some(url) => url,
                None => {
                    self.problem(
                        figment,
                        &split_key("port.base_url"),
                        Some(Value::String(base_url.clone()).to_string()),
                        "has no host name to derive port.mcp_url from; set OCEAN__PORT__MCP_URL"
                            .to_owned(),
                    );
                    String::new()
                }
            },
        };
        PortSettings {
            client_id: client_id.unwrap_or_default(),
            client_secret: client_secret.unwrap_or_default(),
            base_url,
            app_url,
            mcp_url,
            port_app_config_cache_ttl: self.get_or(figment, "port.port_app_config_cache_ttl", 60),
            feature_flags_cache_ttl_seconds: self.get_or(
                figment,
                "port.feature_flags_cache_ttl_seconds",
                300.0,
            ),
            blueprint_cache_ttl_seconds: self.get_or(
                figment,
                "port.blueprint_cache_ttl_seconds",
                120.0,
            ),
        }
    }

    /// Records a problem when a section key holds a non-mapping value.
    pub(super) fn require_section(&mut self, figment: &Figment, key: &str) {
        if let Ok(value) = figment.find_value(key) {
            if !matches!(value, FValue::Dict(..)) {
                self.problem(
                    figment,
                    &split_key(key),
                    None,
                    "expected a mapping of settings".to_owned(),
                );
            }
        }
    }

    pub(super) fn integration(&mut self, figment: &Figment) -> IntegrationSettings {
        self.require_section(figment, "integration");
        let info = &self.loader.integration;
        let given_type = self
            .get::<String>(figment, "integration.type")
            .filter(|t| !t.is_empty());
        let integration_type = given_type
            .unwrap_or_else(|| info.name.clone())
            .to_lowercase();
        if integration_type.is_empty() {
            self.missing(
                &split_key("integration.type"),
                " (the integration binary did not provide a name)",
            );
        }
        let identifier = self
            .get::<String>(figment, "integration.identifier")
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| format!("my-{integration_type}-integration"));
        let interval = self
            .get::<Minutes>(figment, "integration.incremental_sync_interval")
            .map(|m| m.0)
            .unwrap_or(15);
        let incremental_sync_interval = if [15, 30, 60].contains(&interval) {
            interval as u64
        } else {
            let key = "integration.incremental_sync_interval";
            let shown = figment
                .find_value(key)
                .ok()
                .and_then(|v| v.deserialize::<Value>().ok())
                .and_then(|v| json_scalar(&v));
            self.problem(
                figment,
                &split_key(key),
                shown,
                format!("expected 15, 30 or 60 minutes, got {interval}"),
            );
            15
        };
        IntegrationSettings {
            identifier,
            integration_type,
            version: info.version.clone(),
            config: self.integration_config(figment),
            incremental_sync_enabled: self.get_or(
                figment,
                "integration.incremental_sync_enabled",
                false,
            ),
            incremental_sync_interval,
        }
    }

    /// `integration.config`, validated against the spec when there is one.
    pub(super) fn integration_config(&mut self, figment: &Figment) -> IntegrationConfig {
        let base = split_key("integration.config");
        let raw: Map<String, Value> = match figment.find_value("integration.config") {
            Err(_) | Ok(FValue::Empty(..)) => Map::new(),
            Ok(value) => match value.deserialize::<Value>() {
                Ok(Value::Object(map)) => map,
                Ok(Value::String(text)) => match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Object(map)) => map,
                    _ => {
                        self.problem(
                            figment,
                            &base,
                            None,
                            "expected a mapping (or a JSON object)".to_owned(),
                        );
                        Map::new()
                    }
                },
                _ => {
                    self.problem(figment, &base, None, "expected a mapping".to_owned());
                    Map::new()
                }
            },
        };
        // One spelling per key; keys from JSON text may still be camelCase.
        let mut values = Map::new();
        let mut given_keys: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in raw {
            let normal = integration_config::normalise_key(&k);
            given_keys.insert(normal.clone(), k);
            values.insert(normal, v);
        }
        let Some(spec) = &self.loader.spec else {
            return IntegrationConfig::unvalidated(values);
        };
        let (config, issues) = integration_config::validate(&spec.configurations, values);
        for issue in issues {
            let key = match &issue {
                ConfigIssue::Invalid { key, .. } | ConfigIssue::Undeclared { key } => key.clone(),
                ConfigIssue::Missing { key, .. } => key.clone(),
                ConfigIssue::BadDefault { name, .. } => decamelize(name),
            };
            let written = given_keys.get(&key).cloned().unwrap_or(key.clone());
            let mut path = base.clone();
            path.push(written);
            let message = integration_config::issue_message(&issue);
            match issue {
                ConfigIssue::Undeclared { .. } => {
                    let place = self
                        .origin(figment, &path)
                        .map(|o| self.place(o, &path))
                        .unwrap_or_else(|| path.join("."));
                    self.warnings.push(format!("{place}: {message}"));
                }
                ConfigIssue::Missing { .. } | ConfigIssue::BadDefault { .. } => {
                    let mut problem_path = base.clone();
                    problem_path.push(key);
                    self.problems.push(Problem {
                        key: problem_path.join("."),
                        source: None,
                        message,
                    });
                }
                ConfigIssue::Invalid { .. } => {
                    let shown = figment
                        .find_value(&path.join("."))
                        .ok()
                        .and_then(|v| v.deserialize::<Value>().ok())
                        .and_then(|v| json_scalar(&v));
                    self.problem(figment, &path, shown, message);
                }
            }
        }
        config
    }

    pub(super) fn event_listener(&mut self, figment: &Figment) -> EventListenerSettings {
        self.require_section(figment, "event_listener");
        let listener_type = self
            .get(figment, "event_listener.type")
            .unwrap_or(EventListenerType::Polling);
        let listener = match listener_type {
            EventListenerType::Polling => EventListener::Polling(PollingSettings {
                interval: self.get_or(figment, "event_listener.interval", 60),
                resync_on_start: self.get_or(figment, "event_listener.resync_on_start", true),
            }),
            EventListenerType::Kafka => EventListener::Kafka(KafkaSettings {
                brokers: self
                    .get::<Brokers>(figment, "event_listener.brokers")
                    .map(|b| b.0)
                    .unwrap_or_else(|| DEFAULT_BROKERS.to_owned()),
                security_protocol: self.get_or(
                    figment,
                    "event_listener.security_protocol",
                    "SASL_SSL".to_owned(),
                ),
                authentication_mechanism: self.get_or(
                    figment,
                    "event_listener.authentication_mechanism",
                    "SCRAM-SHA-512".to_owned(),
                ),
                kafka_security_enabled: self.get_or(
                    figment,
                    "event_listener.kafka_security_enabled",
                    true,
                ),
                consumer_poll_timeout: self.get_or(
                    figment,
                    "event_listener.consumer_poll_timeout",
                    1,
                ),
            }),
            EventListenerType::Webhook => {
                let present = figment.contains("event_listener.app_host");
                let app_host = self.url(figment, "event_listener.app_host");
                if app_host.is_none() && !present {
                    self.missing(
                        &split_key("event_listener.app_host"),
                        " when event_listener.type is WEBHOOK",
                    );
                }
                let resync_token = self
                    .get::<Option<Secret>>(figment, "event_listener.resync_token")
                    .flatten()
                    .filter(|t| !t.expose().trim().is_empty());
                EventListener::Webhook(WebhookSettings {
                    app_host: Secret::new(app_host.unwrap_or_default()),
                    resync_token,
                })
            }
            EventListenerType::Once => EventListener::Once,
            EventListenerType::WebhooksOnly => EventListener::WebhooksOnly,
            EventListenerType::ActionsOnly => EventListener::ActionsOnly,
        };
        let mut settings = EventListenerSettings::with_defaults(listener);
        if let Some(v) = self.get(figment, "event_listener.should_resync") {
            settings.should_resync = v;
        }
        if let Some(v) = self.get(figment, "event_listener.should_process_webhooks") {
            settings.should_process_webhooks = v;
        }
        if let Some(v) = self.get(figment, "event_listener.should_run_actions") {
            settings.should_run_actions = v;
        }
        settings
    }

    /// Range checks from the registry, TLS consistency, spec-dependent checks.
    pub(super) fn validate(&mut self, figment: &Figment, settings: &Settings) {
        let shown = serde_json::to_value(settings).unwrap_or(Value::Null);
        let mut out_of_range: Vec<(Vec<String>, String, String)> = Vec::new();
        walk_leaves(&shown, &mut Vec::new(), &mut |path, leaf| {
            let Some(doc) = registry::find(&path.join(".")) else {
                return;
            };
            let Some(n) = leaf.as_f64() else {
                return;
            };
            let bad = match doc.kind {
                SettingKind::Int { min, max, .. } => {
                    n < min as f64 || max.is_some_and(|m| n > m as f64)
                }
                SettingKind::Float { positive, .. } => positive && n <= 0.0,
                _ => false,
            };
            if bad {
                out_of_range.push((path.to_vec(), leaf.to_string(), doc.expectation()));
            }
        });
        for (path, value, expectation) in out_of_range {
            self.problem(
                figment,
                &path,
                Some(value),
                format!("expected {expectation}"),
            );
        }

        let redis = &settings.live_events.redis;
        let tls_scheme = url::Url::parse(&redis.url)
            .map(|u| u.scheme().eq_ignore_ascii_case("rediss"))
            .unwrap_or(false);
        if redis.enable_tls && !tls_scheme {
            self.problem(
                figment,
                &split_key("live_events.redis.enable_tls"),
                None,
                "enable_tls is true but live_events.redis.url does not use rediss://; use a rediss:// URL or set enable_tls to false".to_owned(),
            );
        } else if !redis.enable_tls && tls_scheme {
            self.problem(
                figment,
                &split_key("live_events.redis.url"),
                None,
                "the URL uses rediss:// but live_events.redis.enable_tls is false; set enable_tls to true or use a redis:// URL".to_owned(),
            );
        }
        let has_cert = redis.cert.as_deref().is_some_and(|c| !c.is_empty());
        let has_key = redis.private_key.as_ref().is_some_and(|k| !k.is_empty());
        if has_cert != has_key {
            let key = if has_cert {
                "live_events.redis.cert"
            } else {
                "live_events.redis.private_key"
            };
            self.problem(
                figment,
                &split_key(key),
                None,
                "Redis mutual TLS needs both live_events.redis.cert and live_events.redis.private_key".to_owned(),
            );
        }

        let spec = self.loader.spec.as_ref();
        if settings.runtime == Runtime::Saas {
            let message = match spec {
                None => Some(
                    "runtime Saas needs the integration's .port/spec file (spec.json, spec.yaml or spec.yml) to confirm it can run as SaaS",
                ),
                Some(s) if !s.allows_saas() => {
                    Some("this integration cannot run as Saas (its spec sets saas.enabled: false)")
                }
                _ => None,
            };
            if let Some(message) = message {
                self.problem(
                    figment,
                    &split_key("runtime"),
                    Some("\"Saas\"".to_owned()),
                    message.to_owned(),
                );
            }
        }
        if settings.actions_processor.enabled && !spec.is_some_and(|s| s.actions_processing_enabled)
        {
            self.problem(
                figment,
                &split_key("actions_processor.enabled"),
                Some("true".to_owned()),
                "this integration does not support running as an actions processor (its spec does not set actionsProcessingEnabled: true)".to_owned(),
            );
        }
        if settings.identity_propagation.enabled && !settings.actions_processor.enabled {
            self.problem(
                figment,
                &split_key("identity_propagation.enabled"),
                Some("true".to_owned()),
                "identity propagation needs the actions processor; set OCEAN__ACTIONS_PROCESSOR__ENABLED=true or disable identity propagation".to_owned(),
            );
        }
    }

    pub(super) fn collect_warnings(&mut self, figment: &Figment, settings: &Settings) {
        let is_mode = |k: &str, v: &str| {
            k.eq_ignore_ascii_case("OCEAN__PROCESS_EXECUTION_MODE") && !v.is_empty()
        };
        let execution_mode = self.loader.env.iter().any(|(k, v)| is_mode(k, v))
            || self
                .dotenv
                .is_some_and(|(_, d)| d.entries.iter().any(|e| is_mode(&e.key, &e.value)));
        if execution_mode {
            self.warnings.push(
                "OCEAN__PROCESS_EXECUTION_MODE is no longer supported and is ignored: Ocean always runs as a single process".to_owned(),
            );
        }
        for (label, ssl) in [
            ("Port API", &settings.ssl.port),
            ("Third-party", &settings.ssl.third_party),
        ] {
            if !ssl.verify {
                self.warnings.push(format!(
                    "{label} SSL settings are non-default (verify=false)"
                ));
            } else if !ssl.x509.strict {
                self.warnings.push(format!(
                    "{label} SSL settings are non-default (x509.strict=false)"
                ));
            }
        }
        let root = figment
            .data()
            .ok()
            .and_then(|mut profiles| profiles.remove(&Profile::Default));
        if let Some(root) = root {
            let mut unknown = Vec::new();
            find_unknown(&root, &mut Vec::new(), &mut unknown);
            for path in unknown {
                let place = self
                    .origin(figment, &path)
                    .map(|o| self.place(o, &path))
                    .unwrap_or_else(|| path.join("."));
                self.warnings
                    .push(format!("{place}: not a known setting; ignored"));
            }
        }
    }

    /// Where each printed value came from.
    pub(super) fn provenance(
        &self,
        figment: &Figment,
        settings: &Settings,
    ) -> BTreeMap<String, String> {
        let shown = serde_json::to_value(settings).unwrap_or(Value::Null);
        let mut out = BTreeMap::new();
        walk_leaves(&shown, &mut Vec::new(), &mut |path, _| {
            let key = path.join(".");
            let source = match self.origin(figment, path) {
                Some(origin) => self.place(origin, path),
                None => match key.as_str() {
                    "integration.version" => "the integration binary".to_owned(),
                    "integration.type" => "the integration binary".to_owned(),
                    "integration.identifier" => "derived from integration.type".to_owned(),
                    "port.mcp_url" => "derived from port.base_url".to_owned(),
                    "disable_ip_outbound_blocker" => "derived from runtime".to_owned(),
                    "process_in_queue_max_workers" => "default (available CPUs)".to_owned(),
                    k if k.starts_with("integration.config.") => "default (spec)".to_owned(),
                    _ => "default".to_owned(),
                },
            };
            out.insert(key, source);
        });
        out
    }
}

/// Collects keys that are neither settings nor sections (integration config, vault extras and
/// listener fields are allowed).
pub(super) fn find_unknown(dict: &Dict, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    for (key, value) in dict {
        path.push(key.clone());
        let dotted = path.join(".");
        let allowed = dotted == "integration.config"
            || dotted.starts_with("identity_propagation.vault.")
            || (path.len() == 1 && registry::KNOWN_EXTRAS.contains(&key.as_str()))
            || (path.len() == 2
                && path[0] == "event_listener"
                && registry::LISTENER_FIELDS.iter().any(|(f, _)| f == key));
        if !allowed {
            if registry::is_section(&dotted) {
                if let FValue::Dict(_, inner) = value {
                    find_unknown(inner, path, out);
                }
            } else if registry::find(&dotted).is_none() {
                out.push(path.clone());
            }
        }
        path.pop();
    }
}

pub(super) fn derive_mcp_url(base_url: &str) -> Option<String> {
    let parsed = url::Url::parse(base_url).ok()?;
    let host = parsed.host_str().filter(|h| !h.is_empty())?;
    let host = host.strip_prefix("api.").unwrap_or(host);
    let netloc = match parsed.port() {
        Some(port) => format!("mcp.{host}:{port}"),
        None => format!("mcp.{host}"),
    };
    Some(format!("{}://{netloc}/v1", parsed.scheme()))
}

pub(super) fn default_workers() -> u64 {
    std::thread::available_parallelism()
        .map(|n| n.get() as u64)
        .unwrap_or(1)
}
