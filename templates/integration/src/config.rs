//! The integration's own settings: the typed form of `integration.config`.
//!
//! Every field is declared twice, on purpose: once in `.port/spec.yaml` (`configurations`), which
//! is what Port shows and what Ocean validates before the integration starts (types, required
//! values, defaults), and once here, which is what the code reads. Ocean hands the validated
//! values over with snake_case keys, so the spec's `apiUrl` is the field `api_url`.
//!
//! Each setting can be given three ways; the environment wins over `config.yaml`:
//!
//! | Field            | `spec.yaml` / `config.yaml` | Environment variable                         |
//! |------------------|-----------------------------|----------------------------------------------|
//! | `api_url`        | `apiUrl`                    | `OCEAN__INTEGRATION__CONFIG__API_URL`        |
//! | `api_token`      | `apiToken`                  | `OCEAN__INTEGRATION__CONFIG__API_TOKEN`      |
//! | `page_size`      | `pageSize`                  | `OCEAN__INTEGRATION__CONFIG__PAGE_SIZE`      |
{%- if webhook %}
//! | `webhook_secret` | `webhookSecret`             | `OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET` |
{%- endif %}
//!
//! To add a setting: declare it in `spec.yaml` (name, type, `required`, `sensitive`, `default`,
//! description), then add the field here under its snake_case name. Credentials are [`Secret`]s:
//! they never print, not even through `{:?}`.

use ocean::Secret;
use serde::Deserialize;
use url::Url;

/// The settings of ocean-{{ project-name }}, as declared in `.port/spec.yaml`.
#[derive(Debug, Clone, Deserialize)]
pub struct {{ project-name | pascal_case }}Config {
    /// Base URL of the {{ title }} API; list endpoints are relative to it (`apiUrl`).
    pub api_url: Url,
    /// The API token, sent as a bearer token (`apiToken`).
    pub api_token: Secret,
    /// Items per page when listing (`pageSize`; the spec's default is 100).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
{%- if webhook %}
    /// The secret {{ title }} signs webhook deliveries with (`webhookSecret`); without it,
    /// deliveries are accepted unauthenticated.
    #[serde(default)]
    pub webhook_secret: Option<Secret>,
{%- endif %}
}

/// The page size when none is configured (the same default as in `spec.yaml`).
fn default_page_size() -> u32 {
    100
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: serde_json::Value) -> Result<{{ project-name | pascal_case }}Config, String> {
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    #[test]
    fn settings_deserialise_with_defaults_and_the_token_never_prints() {
        let config = parse(json!({
            "api_url": "https://api.example.com/v1",
            "api_token": "t0ken",
        }))
        .unwrap();
        assert_eq!(config.api_url.as_str(), "https://api.example.com/v1");
        assert_eq!(config.api_token.expose(), "t0ken");
        assert_eq!(config.page_size, 100);
{%- if webhook %}
        assert!(config.webhook_secret.is_none());
{%- endif %}
        assert!(!format!("{config:?}").contains("t0ken"));
    }

    #[test]
    fn missing_or_malformed_settings_are_refused() {
        let check = |value, expected: &str| {
            let err = parse(value).unwrap_err();
            assert!(err.contains(expected), "{err:?} lacks {expected:?}");
        };
        check(
            json!({"api_url": "https://api.example.com"}),
            "missing field `api_token`",
        );
        check(
            json!({"api_url": "not a url", "api_token": "t"}),
            "relative URL without a base",
        );
        check(
            json!({"api_url": "https://api.example.com", "api_token": "t", "page_size": -1}),
            "invalid value",
        );
    }
}
