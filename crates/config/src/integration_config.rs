//! The integration's own configuration (`integration.config`): validated against the spec's
//! `configurations`, then handed to integration code as its own typed struct.
//!
//! Validation follows the reference: snake_case keys, `url` values without trailing slash,
//! `object`/`array` values JSON-decoded from text, defaults coerced to their type, required values
//! enforced. Keys the spec does not declare are kept as given and reach the integration (as they
//! do in Python Ocean for an integration without a spec file, e.g. `my_git_token` in its README's
//! `config.yaml`); an undeclared key whose name looks like a credential ([`looks_secret`]) is
//! treated as sensitive. Two more deliberate differences: the `number` type is accepted, and
//! numbers or booleans given for a `string` field are converted to text instead of rejected.
//!
//! This module knows nothing about where values came from; the loader attaches sources to the
//! [`ConfigIssue`]s it returns. Integration code should never need the untyped map: it calls
//! [`IntegrationConfig::deserialize`].

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, DeserializeOwned, Visitor};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use ocean_model::python::parse_bool;

use crate::ConfigError;
use crate::case::decamelize;
use crate::spec::{ConfigurationSpec, ConfigurationType};

/// Words of a snake_case key that mark its value as a credential wherever they appear.
const SECRET_WORDS: [&str; 8] = [
    "passwd",
    "pwd",
    "passphrase",
    "credential",
    "credentials",
    "apikey",
    "privatekey",
    "pat",
];

/// Endings of a word that mark its value as a credential (`token`, `apitoken`, `webhooksecret`).
const SECRET_WORD_ENDINGS: [&str; 6] = [
    "token",
    "tokens",
    "secret",
    "secrets",
    "password",
    "passwords",
];

/// Sensitive values shorter than this that are only *guessed* secret (by key name) are redacted
/// when printed but not masked in logs: masking `id` or `1` everywhere would ruin every log line.
pub(crate) const MIN_GUESSED_SECRET_LEN: usize = 4;

/// The integration's configuration after validation.
#[derive(Clone, Default, PartialEq)]
pub struct IntegrationConfig {
    values: Map<String, Value>,
    sensitive: BTreeSet<String>,
    /// Sensitive keys whose sensitivity is guessed from the name, not declared by a spec.
    guessed: BTreeSet<String>,
    validated: bool,
}

/// Something wrong with one `integration.config` value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ConfigIssue {
    /// A required configuration has no value.
    Missing {
        /// The snake_case key.
        key: String,
        /// The spec name (camelCase).
        name: String,
    },
    /// A value does not fit its declared type.
    Invalid {
        /// The key as given.
        key: String,
        /// What was expected.
        expected: String,
        /// What kind of value was found.
        found: &'static str,
    },
    /// The spec's default does not fit the declared type.
    BadDefault {
        /// The spec name.
        name: String,
        /// What was expected.
        expected: String,
    },
    /// A key that the spec does not declare (kept as given, unvalidated).
    Undeclared {
        /// The key as given.
        key: String,
    },
}

impl IntegrationConfig {
    /// A configuration that was not validated (no spec): values are kept as given, and values
    /// under secret-looking keys (`token`, `secret`, `password`, …) are treated as sensitive.
    pub fn unvalidated(values: Map<String, Value>) -> Self {
        let sensitive: BTreeSet<String> =
            values.keys().filter(|k| looks_secret(k)).cloned().collect();
        IntegrationConfig {
            values,
            guessed: sensitive.clone(),
            sensitive,
            validated: false,
        }
    }

    /// Validates `values` (keys snake_case or camelCase) against the spec's configurations.
    /// Errors list every problem; they never contain a value.
    pub fn validate(
        configurations: &[ConfigurationSpec],
        values: Map<String, Value>,
    ) -> Result<Self, ConfigError> {
        let (config, issues) = validate(configurations, values);
        let problems: Vec<crate::Problem> = issues
            .into_iter()
            .filter(|i| !matches!(i, ConfigIssue::Undeclared { .. }))
            .map(|issue| crate::Problem {
                key: issue_key(&issue),
                source: None,
                message: issue_message(&issue),
            })
            .collect();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid { problems })
        }
    }

    /// The value of a key (snake_case).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    /// Every value by snake_case key. Sensitive values are included: do not log this map.
    pub fn values(&self) -> &Map<String, Value> {
        &self.values
    }

    /// Whether a key holds a secret: spec `sensitive: true`, or a key the spec does not declare
    /// whose name looks like a credential (see [`looks_secret`]).
    pub fn is_sensitive(&self, key: &str) -> bool {
        self.sensitive.contains(key)
    }

    /// Whether the values were validated against a spec.
    pub fn is_validated(&self) -> bool {
        self.validated
    }

    /// Sensitive values rendered as text, including non-strings (for scrubbing messages).
    /// Values of keys only guessed sensitive are left out when shorter than
    /// [`MIN_GUESSED_SECRET_LEN`] characters.
    pub(crate) fn sensitive_texts(&self) -> Vec<String> {
        self.sensitive
            .iter()
            .filter_map(|k| Some((k, self.values.get(k)?)))
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k, text)
            })
            .filter(|(k, s)| {
                !s.is_empty()
                    && s != "null"
                    && (!self.guessed.contains(*k) || s.chars().count() >= MIN_GUESSED_SECRET_LEN)
            })
            .map(|(_, s)| s)
            .collect()
    }

    /// Deserialises the configuration into the integration's own struct.
    ///
    /// Keys are snake_case (`api_token`). When `T` is a struct whose field names differ only by
    /// case convention (`#[serde(rename_all = "camelCase")]` → `apiToken`), keys are matched to
    /// them. Errors name the field and never contain a sensitive value.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        let mut map = self.values.clone();
        if let Some(fields) = struct_fields::<T>() {
            for field in fields {
                let snake = decamelize(field);
                if snake != *field && !map.contains_key(*field) {
                    if let Some(v) = map.remove(&snake) {
                        map.insert((*field).to_owned(), v);
                    }
                }
            }
        }
        let mut value = Value::Object(map);
        // Values that arrive as text (environment variables, `.env`) for a setting the spec does
        // not declare stay strings; when the integration's struct wants a number, a boolean or a
        // list there, the text is read as one (`"3000"` → 3000) and deserialisation is retried.
        let mut attempts = 0;
        let result = loop {
            match serde_path_to_error::deserialize::<_, T>(value.clone()) {
                Ok(parsed) => break Ok(parsed),
                Err(e) if attempts < 64 && coerce_text_at(&mut value, e.path()) => attempts += 1,
                Err(e) => break Err(e),
            }
        };
        result.map_err(|e| {
            let path = e.path().to_string();
            let message = ocean_model::Masker::new(self.sensitive_texts())
                .mask(&e.inner().to_string())
                .into_owned();
            ConfigError::IntegrationConfig {
                type_name: std::any::type_name::<T>(),
                key: if path == "." { None } else { Some(path) },
                message,
            }
        })
    }
}

/// Replaces the string at `path` with the number, boolean, array or object it spells (JSON text);
/// `false` when there is no string there or it spells none of them (so the original error stands).
fn coerce_text_at(root: &mut Value, path: &serde_path_to_error::Path) -> bool {
    use serde_path_to_error::Segment;
    let mut node = root;
    for segment in path.iter() {
        node = match (segment, node) {
            (Segment::Map { key }, Value::Object(map)) => match map.get_mut(key.as_str()) {
                Some(v) => v,
                None => return false,
            },
            (Segment::Seq { index }, Value::Array(items)) => match items.get_mut(*index) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    let Value::String(text) = node else {
        return false;
    };
    let trimmed = text.trim();
    let parsed = match trimmed.to_ascii_lowercase().as_str() {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => match serde_json::from_str::<Value>(trimmed) {
            Ok(value @ (Value::Number(_) | Value::Array(_) | Value::Object(_))) => value,
            _ => return false,
        },
    };
    *node = parsed;
    true
}

impl fmt::Debug for IntegrationConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (k, v) in &self.values {
            if self.sensitive.contains(k) {
                map.entry(k, &ocean_model::Secret::REDACTED);
            } else {
                map.entry(k, v);
            }
        }
        map.finish()
    }
}

impl Serialize for IntegrationConfig {
    /// Serialises with every sensitive value replaced by `[REDACTED]` (for printing).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.values.len()))?;
        for (k, v) in &self.values {
            if self.sensitive.contains(k) && !v.is_null() {
                map.serialize_entry(k, ocean_model::Secret::REDACTED)?;
            } else {
                map.serialize_entry(k, v)?;
            }
        }
        map.end()
    }
}

pub(crate) fn issue_key(issue: &ConfigIssue) -> String {
    match issue {
        ConfigIssue::Missing { key, .. }
        | ConfigIssue::Invalid { key, .. }
        | ConfigIssue::Undeclared { key } => format!("integration.config.{key}"),
        ConfigIssue::BadDefault { name, .. } => format!("integration.config.{}", decamelize(name)),
    }
}

pub(crate) fn issue_message(issue: &ConfigIssue) -> String {
    match issue {
        ConfigIssue::Missing { key, name } => format!(
            "required by the integration's spec (configuration \"{name}\"); set {} or integration.config.{name} in config.yaml",
            crate::case::env_var_name(&["integration", "config", key.as_str()])
        ),
        ConfigIssue::Invalid {
            expected, found, ..
        } => format!("expected {expected}, found {found}"),
        ConfigIssue::BadDefault { name, expected } => format!(
            "the spec's default for configuration \"{name}\" is not {expected}; fix .port/spec"
        ),
        ConfigIssue::Undeclared { key } => {
            let secret = if looks_secret(key) {
                "; its name looks like a credential, so it is treated as a secret"
            } else {
                ""
            };
            format!(
                "not declared in the spec's configurations; passed to the integration as written, unvalidated{secret}"
            )
        }
    }
}

/// Validates `values` against `configurations`; returns the validated config and every issue.
pub(crate) fn validate(
    configurations: &[ConfigurationSpec],
    values: Map<String, Value>,
) -> (IntegrationConfig, Vec<ConfigIssue>) {
    let mut remaining: Vec<(String, Value)> = values
        .into_iter()
        .map(|(k, v)| (normalise_key(&k), v))
        .collect();
    let mut out = Map::new();
    let mut sensitive = BTreeSet::new();
    let mut issues = Vec::new();
    for spec in configurations {
        let key = spec.key();
        let position = remaining
            .iter()
            .rposition(|(k, _)| *k == key || k.eq_ignore_ascii_case(&key));
        let given = position.map(|i| remaining.remove(i).1);
        // Any other spelling of the same key is a duplicate of lower precedence: drop it.
        remaining.retain(|(k, _)| !k.eq_ignore_ascii_case(&key));
        if spec.sensitive {
            sensitive.insert(key.clone());
        }
        // Empty text for a non-text type (as Helm renders unset values) counts as not given.
        let given = given
            .filter(|v| !(spec.config_type != ConfigurationType::String && v.as_str() == Some("")));
        let value = match given {
            Some(Value::Null) | None => match &spec.default {
                Some(default) if !default.is_null() => match coerce(spec.config_type, default) {
                    Ok(v) => v,
                    Err(expected) => {
                        issues.push(ConfigIssue::BadDefault {
                            name: spec.name.clone(),
                            expected,
                        });
                        continue;
                    }
                },
                _ if spec.required => {
                    issues.push(ConfigIssue::Missing {
                        key,
                        name: spec.name.clone(),
                    });
                    continue;
                }
                _ => Value::Null,
            },
            Some(v) => match coerce(spec.config_type, &v) {
                Ok(v) => v,
                Err(expected) => {
                    issues.push(ConfigIssue::Invalid {
                        key,
                        expected,
                        found: kind_of(&v),
                    });
                    continue;
                }
            },
        };
        out.insert(key, value);
    }
    // Undeclared keys are kept (the last spelling of each wins, as for declared ones).
    let mut guessed = BTreeSet::new();
    for (key, value) in remaining {
        if looks_secret(&key) {
            sensitive.insert(key.clone());
            guessed.insert(key.clone());
        }
        if !issues
            .iter()
            .any(|i| matches!(i, ConfigIssue::Undeclared { key: k } if *k == key))
        {
            issues.push(ConfigIssue::Undeclared { key: key.clone() });
        }
        out.insert(key, value);
    }
    (
        IntegrationConfig {
            values: out,
            sensitive,
            guessed,
            validated: true,
        },
        issues,
    )
}

/// Whether a key name suggests a credential; used for keys no spec declares (a declared key is
/// sensitive exactly when its spec says so).
///
/// The rule, on the snake_case key split into `_`-separated words: some word ends with `token`,
/// `secret` or `password` (or their plurals: `api_token`, `apitoken`, `webhook_secret`), or is
/// one of `passwd`, `pwd`, `passphrase`, `credential(s)`, `apikey`, `privatekey`, `pat`; or the
/// last word is `key` (`api_key`, `private_key`, `ssh_key`, but not `key_field`).
pub fn looks_secret(key: &str) -> bool {
    let snake = decamelize(key).to_lowercase();
    let words: Vec<&str> = snake
        .split(['_', '-', '.'])
        .filter(|w| !w.is_empty())
        .collect();
    words.last() == Some(&"key")
        || words
            .iter()
            .any(|w| SECRET_WORDS.contains(w) || SECRET_WORD_ENDINGS.iter().any(|e| w.ends_with(e)))
}

/// Top-level keys are compared in snake_case, whichever spelling was given.
pub(crate) fn normalise_key(key: &str) -> String {
    decamelize(key)
}

/// What kind of JSON value this is, for messages that must not show the value.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Strips trailing slashes (unless the value is just `/`) and checks that the rest is a URL.
pub(crate) fn normalise_url(text: &str) -> Option<String> {
    let trimmed = if text == "/" {
        text
    } else {
        text.trim_end_matches('/')
    };
    url::Url::parse(trimmed).ok()?;
    Some(trimmed.to_owned())
}

fn type_expectation(t: ConfigurationType) -> &'static str {
    match t {
        ConfigurationType::String => "a string",
        ConfigurationType::Url => "a URL (like https://example.com)",
        ConfigurationType::Integer => "an integer",
        ConfigurationType::Number => "a number",
        ConfigurationType::Boolean => "true or false",
        ConfigurationType::Object => "a JSON object",
        ConfigurationType::Array => "a JSON array",
    }
}

/// Converts a value to the declared type, or says what was expected.
pub(crate) fn coerce(t: ConfigurationType, value: &Value) -> Result<Value, String> {
    let expected = || type_expectation(t).to_owned();
    match (t, value) {
        (ConfigurationType::String, Value::String(_)) => Ok(value.clone()),
        (ConfigurationType::String, Value::Number(n)) => Ok(Value::String(n.to_string())),
        (ConfigurationType::String, Value::Bool(b)) => Ok(Value::String(b.to_string())),
        (ConfigurationType::Url, Value::String(s)) => {
            normalise_url(s).map(Value::String).ok_or_else(expected)
        }
        (ConfigurationType::Integer, Value::Number(n)) => {
            if n.is_i64() || n.is_u64() {
                Ok(value.clone())
            } else {
                match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                        Ok(Value::Number((f as i64).into()))
                    }
                    _ => Err(expected()),
                }
            }
        }
        (ConfigurationType::Integer, Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(|i| Value::Number(i.into()))
            .map_err(|_| expected()),
        (ConfigurationType::Number, Value::Number(_)) => Ok(value.clone()),
        (ConfigurationType::Number, Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(expected),
        (ConfigurationType::Boolean, Value::Bool(_)) => Ok(value.clone()),
        (ConfigurationType::Boolean, Value::String(s)) => {
            parse_bool(s.trim()).map(Value::Bool).ok_or_else(expected)
        }
        (ConfigurationType::Boolean, Value::Number(n)) => match n.as_u64() {
            Some(0) => Ok(Value::Bool(false)),
            Some(1) => Ok(Value::Bool(true)),
            _ => Err(expected()),
        },
        (ConfigurationType::Object, Value::Object(_)) => Ok(value.clone()),
        (ConfigurationType::Array, Value::Array(_)) => Ok(value.clone()),
        (ConfigurationType::Object | ConfigurationType::Array, Value::String(s)) => {
            match serde_json::from_str::<Value>(s) {
                Ok(decoded @ Value::Object(_)) if t == ConfigurationType::Object => Ok(decoded),
                Ok(decoded @ Value::Array(_)) if t == ConfigurationType::Array => Ok(decoded),
                _ => Err(format!("{} (or its JSON text)", type_expectation(t))),
            }
        }
        _ => Err(expected()),
    }
}

/// The field names of `T` when it deserialises as a struct, found by asking it to deserialise
/// from a probe that records the names serde passes and then stops.
fn struct_fields<T: DeserializeOwned>() -> Option<&'static [&'static str]> {
    match T::deserialize(FieldProbe) {
        Err(ProbeStop(fields)) => fields,
        Ok(_) => None,
    }
}

#[derive(Debug)]
struct ProbeStop(Option<&'static [&'static str]>);

impl fmt::Display for ProbeStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field probe")
    }
}

impl std::error::Error for ProbeStop {}

impl de::Error for ProbeStop {
    fn custom<M: fmt::Display>(_: M) -> Self {
        ProbeStop(None)
    }
}

struct FieldProbe;

impl<'de> de::Deserializer<'de> for FieldProbe {
    type Error = ProbeStop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ProbeStop> {
        Err(ProbeStop(None))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, ProbeStop> {
        Err(ProbeStop(Some(fields)))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    fn spec(yaml: &str) -> Vec<ConfigurationSpec> {
        serde_json::from_value(crate::yaml::parse(yaml).unwrap()).unwrap()
    }

    const SPEC: &str = r#"
- {name: apiToken, type: string, required: true, sensitive: true}
- {name: baseUrl, type: url, required: true}
- {name: pageSize, type: integer, default: "25"}
- {name: ratio, type: number}
- {name: verbose, type: boolean, default: false}
- {name: headers, type: object}
- {name: projects, type: array}
- {name: optional, type: string}
"#;

    fn values(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn coerces_defaults_decodes_and_normalises() {
        let (config, issues) = validate(
            &spec(SPEC),
            values(json!({
                "api_token": "tok",
                "baseUrl": "https://example.com//",
                "ratio": "0.5",
                "verbose": "yes",
                "headers": "{\"X-Key\": \"v\"}",
                "projects": "[\"a\", \"b\"]",
                "extra": 1
            })),
        );
        assert_eq!(
            Value::Object(config.values().clone()),
            json!({
                "api_token": "tok",
                "base_url": "https://example.com",
                "page_size": 25,
                "ratio": 0.5,
                "verbose": true,
                "headers": {"X-Key": "v"},
                "projects": ["a", "b"],
                "optional": null,
                "extra": 1
            })
        );
        assert!(config.is_sensitive("api_token"));
        assert!(!config.is_sensitive("base_url"));
        assert_eq!(
            issues,
            vec![ConfigIssue::Undeclared {
                key: "extra".into()
            }]
        );
    }

    #[test]
    fn reports_missing_and_wrong_types_without_values() {
        let err = IntegrationConfig::validate(
            &spec(SPEC),
            values(json!({"base_url": "/", "page_size": "ten", "headers": "[1]", "projects": {"a": 1}})),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration:\n\
             - integration.config.api_token: required by the integration's spec (configuration \"apiToken\"); set OCEAN__INTEGRATION__CONFIG__API_TOKEN or integration.config.apiToken in config.yaml\n\
             - integration.config.base_url: expected a URL (like https://example.com), found a string\n\
             - integration.config.page_size: expected an integer, found a string\n\
             - integration.config.headers: expected a JSON object (or its JSON text), found a string\n\
             - integration.config.projects: expected a JSON array, found a mapping"
        );
    }

    #[test]
    fn check_coercions() {
        let check = |t, input: Value, expected: Result<Value, &str>| {
            assert_eq!(
                coerce(t, &input),
                expected.map_err(str::to_owned),
                "{t:?} {input}"
            );
        };
        use ConfigurationType as T;
        check(T::String, json!(10), Ok(json!("10")));
        check(T::String, json!([1]), Err("a string"));
        check(
            T::Url,
            json!("http://example/"),
            Ok(json!("http://example")),
        );
        check(
            T::Url,
            json!("not a url"),
            Err("a URL (like https://example.com)"),
        );
        check(T::Url, json!("/"), Err("a URL (like https://example.com)"));
        check(
            T::Url,
            json!("http:///"),
            Err("a URL (like https://example.com)"),
        );
        check(T::Integer, json!(10.0), Ok(json!(10)));
        check(T::Integer, json!(" 42 "), Ok(json!(42)));
        check(T::Integer, json!(1.5), Err("an integer"));
        check(T::Number, json!("1e3"), Ok(json!(1000.0)));
        check(T::Boolean, json!("OFF"), Ok(json!(false)));
        check(T::Boolean, json!(1), Ok(json!(true)));
        check(T::Boolean, json!("maybe"), Err("true or false"));
        check(
            T::Object,
            json!("not json"),
            Err("a JSON object (or its JSON text)"),
        );
        check(T::Array, json!("[1,2]"), Ok(json!([1, 2])));
    }

    #[test]
    fn empty_text_for_typed_values_means_not_given() {
        let (config, issues) = validate(
            &spec(SPEC),
            values(
                json!({"api_token": "", "base_url": "https://x", "page_size": "", "headers": ""}),
            ),
        );
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(config.get("api_token"), Some(&json!("")));
        assert_eq!(config.get("page_size"), Some(&json!(25)));
        assert_eq!(config.get("headers"), Some(&json!(null)));
    }

    #[test]
    fn bad_defaults_are_reported_against_the_spec() {
        let (_, issues) = validate(
            &spec("- {name: n, type: integer, default: abc}"),
            Map::new(),
        );
        assert_eq!(
            issues,
            vec![ConfigIssue::BadDefault {
                name: "n".into(),
                expected: "an integer".into()
            }]
        );
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Snake {
        api_token: ocean_model::Secret,
        page_size: u32,
        #[serde(default)]
        projects: Vec<String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Camel {
        api_token: String,
        page_size: u32,
        base_url: String,
    }

    fn loaded() -> IntegrationConfig {
        IntegrationConfig::validate(
            &spec(SPEC),
            values(
                json!({"apiToken": "sekret-7x", "baseUrl": "https://x/", "projects": "[\"p\"]"}),
            ),
        )
        .unwrap()
    }

    #[test]
    fn deserialises_into_snake_and_camel_structs() {
        let snake: Snake = loaded().deserialize().unwrap();
        assert_eq!(snake.api_token.expose(), "sekret-7x");
        assert_eq!(snake.page_size, 25);
        assert_eq!(snake.projects, ["p"]);
        let camel: Camel = loaded().deserialize().unwrap();
        assert_eq!(
            camel,
            Camel {
                api_token: "sekret-7x".into(),
                page_size: 25,
                base_url: "https://x".into()
            }
        );
    }

    #[test]
    fn typed_errors_name_the_field_and_hide_secrets() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Wrong {
            api_token: u32,
        }
        let err = loaded().deserialize::<Wrong>().unwrap_err().to_string();
        assert!(err.contains("integration.config.api_token"), "{err}");
        assert!(err.contains("[REDACTED]"), "{err}");
        assert!(!err.contains("sekret-7x"), "{err}");
    }

    #[test]
    fn debug_and_serialize_mask_sensitive_values() {
        let config = loaded();
        let debug = format!("{config:?}");
        assert!(debug.contains("\"api_token\": \"[REDACTED]\""), "{debug}");
        assert!(!debug.contains("sekret-7x"), "{debug}");
        let shown = serde_json::to_value(&config).unwrap();
        assert_eq!(shown["api_token"], "[REDACTED]");
        assert_eq!(shown["base_url"], "https://x");
    }

    #[test]
    fn unvalidated_configs_guess_secrets_by_key() {
        let config = IntegrationConfig::unvalidated(values(
            json!({"github_token": "t", "app_private_key": "k", "org": "o"}),
        ));
        assert!(config.is_sensitive("github_token"));
        assert!(config.is_sensitive("app_private_key"));
        assert!(!config.is_sensitive("org"));
        assert!(!config.is_validated());
    }

    #[test]
    fn secret_looking_key_names() {
        for yes in [
            "my_git_token",
            "myGitToken",
            "apitoken",
            "webhookSecret",
            "client_secrets",
            "db_password",
            "passwd",
            "api_key",
            "apiKey",
            "private_key",
            "key",
            "github_pat",
            "sasl_passphrase",
            "gcp_credentials",
        ] {
            assert!(looks_secret(yes), "{yes}");
        }
        for no in [
            "org",
            "some_other_integration_config",
            "key_field",
            "monkey",
            "keyboard_layout",
            "page_size",
            "path",
            "author",
        ] {
            assert!(!looks_secret(no), "{no}");
        }
    }

    #[test]
    fn undeclared_keys_are_kept_and_secret_looking_ones_masked() {
        let (config, issues) = validate(
            &spec("- {name: org, type: string}"),
            values(json!({
                "org": "acme",
                "myGitToken": "random-token-value",
                "some_other_integration_config": "Very important information",
                "sort_key": "id"
            })),
        );
        assert_eq!(
            config.get("my_git_token"),
            Some(&json!("random-token-value"))
        );
        assert_eq!(
            config.get("some_other_integration_config"),
            Some(&json!("Very important information"))
        );
        assert!(config.is_sensitive("my_git_token"));
        assert!(!config.is_sensitive("some_other_integration_config"));
        assert_eq!(issues.len(), 3, "{issues:?}");
        let shown = serde_json::to_value(&config).unwrap();
        assert_eq!(shown["my_git_token"], "[REDACTED]");
        assert_eq!(shown["sort_key"], "[REDACTED]");
        assert!(!format!("{config:?}").contains("random-token-value"));
        // Masked in logs too, except guessed secrets too short to mask without ruining logs.
        let texts = config.sensitive_texts();
        assert!(
            texts.contains(&"random-token-value".to_owned()),
            "{texts:?}"
        );
        assert!(!texts.contains(&"id".to_owned()), "{texts:?}");
        #[derive(Deserialize)]
        struct Typed {
            my_git_token: String,
            org: String,
        }
        let typed: Typed = config.deserialize().unwrap();
        assert_eq!(
            (typed.my_git_token.as_str(), typed.org.as_str()),
            ("random-token-value", "acme")
        );
    }
}
