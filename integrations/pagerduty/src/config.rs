//! The integration's configuration (`integration.config`): the PagerDuty token, which PagerDuty
//! region to talk to, and how live events reach the integration.
//!
//! Values arrive validated against `.port/spec.yaml` with snake_case keys (`api_url`), from
//! `config.yaml` (`apiUrl`) or `OCEAN__INTEGRATION__CONFIG__API_URL`. A missing `token` is
//! refused by the SDK's validation before this struct is built, naming the variable. The struct
//! never prints a secret: `token` and `webhookSecret` are [`Secret`]s.
//!
//! It deliberately has no knobs for concurrency or page size: the API's own limits (100 items a
//! page, ten requests in flight as the reference) are the right values for every account.

use ocean::Secret;
use serde::Deserialize;

/// PagerDuty's REST API in the US service region (the default).
pub const DEFAULT_API_URL: &str = "https://api.pagerduty.com";

/// The integration's settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PagerDutyConfig {
    /// The REST API key (`token`): an account or user API key (`Token token=…`), or an OAuth
    /// access token (starting with `pd`, sent as `Bearer`).
    pub token: Secret,
    /// The REST API's base URL (`apiUrl`); `https://api.eu.pagerduty.com` for EU accounts.
    #[serde(default = "default_api_url")]
    pub api_url: String,
    /// The public URL of this integration (`appHost`), used to create the PagerDuty webhook
    /// subscription when Ocean's own `baseUrl` is not set.
    #[serde(default)]
    pub app_host: Option<String>,
    /// The signing secret of the PagerDuty webhook subscription (`webhookSecret`). When set,
    /// every webhook must carry a matching `X-PagerDuty-Signature`; see the `webhooks` module
    /// for what happens without it.
    #[serde(default)]
    pub webhook_secret: Option<Secret>,
}

fn default_api_url() -> String {
    DEFAULT_API_URL.to_owned()
}

/// A configuration value the integration cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("integration config `{key}`: {reason}")]
pub struct InvalidConfig {
    /// The offending key (camelCase, as in `spec.yaml`).
    pub key: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl PagerDutyConfig {
    /// A configuration with the given token and every other setting at its default.
    pub fn with_token(token: impl Into<String>) -> Self {
        PagerDutyConfig {
            token: Secret::new(token),
            api_url: default_api_url(),
            app_host: None,
            webhook_secret: None,
        }
    }

    /// Checks what serde cannot: a non-empty token and an `http(s)` API URL.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        if self.token.expose().trim().is_empty() {
            return Err(InvalidConfig {
                key: "token",
                reason: "is empty (set OCEAN__INTEGRATION__CONFIG__TOKEN to a PagerDuty API key)"
                    .into(),
            });
        }
        let url = url::Url::parse(&self.api_url).map_err(|e| InvalidConfig {
            key: "apiUrl",
            reason: format!("{:?} is not a URL: {e}", self.api_url),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(InvalidConfig {
                key: "apiUrl",
                reason: format!("{:?} is not an http(s) URL", self.api_url),
            });
        }
        if let Some(host) = &self.app_host {
            url::Url::parse(host).map_err(|e| InvalidConfig {
                key: "appHost",
                reason: format!("{host:?} is not a URL: {e}"),
            })?;
        }
        Ok(())
    }

    /// The webhook secret, if one is configured and not blank.
    pub fn webhook_secret(&self) -> Option<&Secret> {
        self.webhook_secret
            .as_ref()
            .filter(|s| !s.expose().trim().is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(value: serde_json::Value, expected: Result<PagerDutyConfig, &str>) {
        let parsed: Result<PagerDutyConfig, String> = serde_json::from_value(value)
            .map_err(|e| e.to_string())
            .and_then(|c: PagerDutyConfig| c.validate().map(|()| c).map_err(|e| e.to_string()));
        match (parsed, expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want),
            (Err(got), Err(want)) => assert!(got.contains(want), "{got:?} lacks {want:?}"),
            (got, want) => panic!("got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn defaults_and_overrides() {
        check(
            json!({"token": "u+abc"}),
            Ok(PagerDutyConfig::with_token("u+abc")),
        );
        check(
            json!({"token": "t", "api_url": "https://api.eu.pagerduty.com",
                   "app_host": "https://ocean.example.com", "webhook_secret": "s3cr3t"}),
            Ok(PagerDutyConfig {
                token: Secret::new("t"),
                api_url: "https://api.eu.pagerduty.com".into(),
                app_host: Some("https://ocean.example.com".into()),
                webhook_secret: Some(Secret::new("s3cr3t")),
            }),
        );
    }

    #[test]
    fn unusable_values_are_refused() {
        check(json!({}), Err("missing field `token`"));
        check(json!({"token": "  "}), Err("`token`: is empty"));
        check(
            json!({"token": "t", "api_url": "api.pagerduty.com"}),
            Err("`apiUrl`"),
        );
        check(
            json!({"token": "t", "api_url": "ftp://api.pagerduty.com"}),
            Err("not an http(s) URL"),
        );
        check(json!({"token": "t", "app_host": "nope"}), Err("`appHost`"));
    }

    #[test]
    fn secrets_never_print() {
        let mut config = PagerDutyConfig::with_token("tok-123");
        config.webhook_secret = Some(Secret::new("hook-456"));
        let printed = format!("{config:?}");
        assert!(
            !printed.contains("tok-123") && !printed.contains("hook-456"),
            "{printed}"
        );
    }

    #[test]
    fn a_blank_webhook_secret_counts_as_unset() {
        let mut config = PagerDutyConfig::with_token("t");
        config.webhook_secret = Some(Secret::new(""));
        assert!(config.webhook_secret().is_none());
        config.webhook_secret = Some(Secret::new("x"));
        assert_eq!(config.webhook_secret().map(Secret::expose), Some("x"));
    }
}
