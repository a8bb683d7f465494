//! The integration's configuration (`integration.config`), with the reference's names so that an
//! existing deployment's `OCEAN__INTEGRATION__CONFIG__GITHUB_TOKEN` etc. carry over, and the URL
//! rules for GitHub.com and GitHub Enterprise Server.
//!
//! Values arrive validated against `.port/spec.yaml` with snake_case keys. Which credential is
//! used follows the reference: a personal access token wins when both a token and App
//! credentials are set; with neither, the integration refuses to start. Secrets are [`Secret`]s:
//! never printed.

use ocean::Secret;
use serde::Deserialize;
use std::path::PathBuf;

/// GitHub.com's REST API (the default `githubHost`).
pub const DEFAULT_GITHUB_HOST: &str = "https://api.github.com";

/// The default `resyncRatelimitReservationThreshold`: a resync pauses once 95 % of the REST
/// quota is used, leaving the rest for webhooks.
pub const DEFAULT_RESERVATION_THRESHOLD: u8 = 95;

/// The integration's settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GithubConfig {
    /// The REST API's base URL (`githubHost`): `https://api.github.com`, or for GitHub
    /// Enterprise Server `https://HOST/api/v3`.
    #[serde(default = "default_host")]
    pub github_host: String,
    /// A personal access token, classic or fine-grained (`githubToken`).
    #[serde(default)]
    pub github_token: Option<Secret>,
    /// The GitHub App's id (`githubAppId`).
    #[serde(default)]
    pub github_app_id: Option<String>,
    /// The GitHub App's private key, PEM or base64 of the PEM (`githubAppPrivateKey`).
    #[serde(default)]
    pub github_app_private_key: Option<Secret>,
    /// The organization (`githubOrganization`): scopes a token to one organization, and picks
    /// the one installation of a GitHub App to use.
    #[serde(default)]
    pub github_organization: Option<String>,
    /// The secret GitHub signs webhooks with (`webhookSecret`), also written into the hooks the
    /// integration creates.
    #[serde(default)]
    pub webhook_secret: Option<Secret>,
    /// Leave existing hooks' configuration alone (`skipWebhookPatching`).
    #[serde(default)]
    pub skip_webhook_patching: bool,
    /// Share of the REST quota, in percent, at which a resync waits for the quota's reset
    /// (`resyncRatelimitReservationThreshold`); webhooks are not held back.
    #[serde(default = "default_threshold")]
    pub resync_ratelimit_reservation_threshold: i64,
    /// Accepted for compatibility (`legacyDispatchWorkflowTracking`): it concerns the
    /// reference's Port actions, which this integration does not run.
    #[serde(default)]
    pub legacy_dispatch_workflow_tracking: bool,
    /// Where answers to conditional requests are kept between resyncs (`httpCacheDir`); unset:
    /// a folder in the system's temporary directory. See [`crate::client::cache`].
    #[serde(default)]
    pub http_cache_dir: Option<String>,
}

fn default_host() -> String {
    DEFAULT_GITHUB_HOST.to_owned()
}

fn default_threshold() -> i64 {
    i64::from(DEFAULT_RESERVATION_THRESHOLD)
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

fn invalid(key: &'static str, reason: impl Into<String>) -> InvalidConfig {
    InvalidConfig {
        key,
        reason: reason.into(),
    }
}

/// Which credential the integration authenticates with.
#[derive(Debug, Clone, PartialEq)]
pub enum CredentialConfig {
    /// A personal access token.
    Token(Secret),
    /// A GitHub App: its id and its private key in PEM.
    App {
        /// The App's id.
        app_id: String,
        /// The private key, PEM text (decoded from base64 when given that way).
        private_key_pem: Secret,
    },
}

/// The URLs of one GitHub (GitHub.com or an Enterprise Server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubUrls {
    /// The REST base, without a trailing slash (`https://ghe.example.com/api/v3`).
    pub rest: String,
    /// The GraphQL endpoint (`https://ghe.example.com/api/graphql`).
    pub graphql: String,
}

impl GithubUrls {
    /// The reference's rules: REST paths are appended to `githubHost` as given (trailing slashes
    /// dropped); GraphQL lives at `/api/graphql` on a host whose REST path starts with `/api/`
    /// (Enterprise Server), else at `/graphql` (`https://api.github.com/graphql`).
    pub fn from_host(host: &str) -> Result<Self, InvalidConfig> {
        let trimmed = host.trim().trim_end_matches('/');
        let url = url::Url::parse(trimmed)
            .map_err(|e| invalid("githubHost", format!("{trimmed:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(invalid(
                "githubHost",
                format!("{trimmed:?} is not an http(s) URL"),
            ));
        }
        let Some(host_name) = url.host_str() else {
            return Err(invalid("githubHost", format!("{trimmed:?} has no host")));
        };
        let authority = match url.port() {
            Some(port) => format!("{host_name}:{port}"),
            None => host_name.to_owned(),
        };
        let origin = format!("{}://{authority}", url.scheme());
        let graphql = if url.path().starts_with("/api/") {
            format!("{origin}/api/graphql")
        } else {
            format!("{origin}/graphql")
        };
        Ok(GithubUrls {
            rest: trimmed.to_owned(),
            graphql,
        })
    }
}

impl GithubConfig {
    /// A configuration with a personal access token and every other setting at its default.
    pub fn with_token(token: impl Into<String>) -> Self {
        GithubConfig {
            github_host: default_host(),
            github_token: Some(Secret::new(token)),
            github_app_id: None,
            github_app_private_key: None,
            github_organization: None,
            webhook_secret: None,
            skip_webhook_patching: false,
            resync_ratelimit_reservation_threshold: default_threshold(),
            legacy_dispatch_workflow_tracking: false,
            http_cache_dir: None,
        }
    }

    /// A configuration with GitHub App credentials and every other setting at its default.
    pub fn with_app(app_id: impl Into<String>, private_key: impl Into<String>) -> Self {
        GithubConfig {
            github_token: None,
            github_app_id: Some(app_id.into()),
            github_app_private_key: Some(Secret::new(private_key)),
            ..GithubConfig::with_token("")
        }
    }

    /// The URLs this configuration talks to.
    pub fn urls(&self) -> Result<GithubUrls, InvalidConfig> {
        GithubUrls::from_host(&self.github_host)
    }

    /// The credential to use: a token when one is set (it wins over App credentials, as in the
    /// reference), else the App's; an error naming the keys when neither is complete.
    pub fn credential(&self) -> Result<CredentialConfig, InvalidConfig> {
        if let Some(token) = self.github_token.as_ref().filter(|t| !blank(t)) {
            return Ok(CredentialConfig::Token(Secret::new(token.expose().trim())));
        }
        let app_id = self
            .github_app_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let key = self.github_app_private_key.as_ref().filter(|k| !blank(k));
        match (app_id, key) {
            (Some(app_id), Some(key)) => Ok(CredentialConfig::App {
                app_id: app_id.to_owned(),
                private_key_pem: decode_private_key(key)?,
            }),
            (Some(_), None) => Err(invalid(
                "githubAppPrivateKey",
                "is required with githubAppId (set OCEAN__INTEGRATION__CONFIG__GITHUB_APP_PRIVATE_KEY)",
            )),
            (None, Some(_)) => Err(invalid(
                "githubAppId",
                "is required with githubAppPrivateKey (set OCEAN__INTEGRATION__CONFIG__GITHUB_APP_ID)",
            )),
            (None, None) => Err(invalid(
                "githubToken",
                "no credentials: set githubToken (OCEAN__INTEGRATION__CONFIG__GITHUB_TOKEN), or \
                 githubAppId and githubAppPrivateKey for a GitHub App",
            )),
        }
    }

    /// The organization, if one is configured and not blank.
    pub fn organization(&self) -> Option<&str> {
        self.github_organization
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// The webhook secret, if one is configured and not blank.
    pub fn webhook_secret(&self) -> Option<&Secret> {
        self.webhook_secret.as_ref().filter(|s| !blank(s))
    }

    /// The reservation threshold, in percent.
    pub fn reservation_threshold(&self) -> Result<u8, InvalidConfig> {
        u8::try_from(self.resync_ratelimit_reservation_threshold)
            .ok()
            .filter(|t| *t <= 100)
            .ok_or_else(|| {
                invalid(
                    "resyncRatelimitReservationThreshold",
                    format!(
                        "must be a percentage between 0 and 100, found {}",
                        self.resync_ratelimit_reservation_threshold
                    ),
                )
            })
    }

    /// The folder of the conditional-request cache.
    pub fn http_cache_dir(&self) -> PathBuf {
        match self.http_cache_dir.as_deref().map(str::trim) {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => std::env::temp_dir().join("ocean-github-http-cache"),
        }
    }

    /// Checks everything serde cannot: the host URL, the credential, the threshold.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        self.urls()?;
        self.credential()?;
        self.reservation_threshold()?;
        Ok(())
    }
}

fn blank(secret: &Secret) -> bool {
    secret.expose().trim().is_empty()
}

/// The App's private key as PEM text: used as given when it is PEM, else decoded from base64
/// (the reference's two accepted forms).
fn decode_private_key(key: &Secret) -> Result<Secret, InvalidConfig> {
    use base64::Engine as _;
    let text = key.expose().trim();
    if text.starts_with("-----BEGIN") {
        return Ok(Secret::new(text));
    }
    let compact: String = text.split_whitespace().collect();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| {
            invalid(
                "githubAppPrivateKey",
                "is neither PEM (-----BEGIN …) nor base64 of a PEM key",
            )
        })?;
    let pem = String::from_utf8(decoded).map_err(|_| {
        invalid(
            "githubAppPrivateKey",
            "decodes from base64 to bytes that are not PEM text",
        )
    })?;
    if !pem.trim_start().starts_with("-----BEGIN") {
        return Err(invalid(
            "githubAppPrivateKey",
            "decodes from base64 to text that is not a PEM key",
        ));
    }
    Ok(Secret::new(pem.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn github_com_and_enterprise_urls_follow_the_reference_rules() {
        let cases = [
            (
                "https://api.github.com",
                "https://api.github.com",
                "https://api.github.com/graphql",
            ),
            (
                "https://api.github.com/",
                "https://api.github.com",
                "https://api.github.com/graphql",
            ),
            (
                "https://ghe.acme.example/api/v3",
                "https://ghe.acme.example/api/v3",
                "https://ghe.acme.example/api/graphql",
            ),
            (
                "https://ghe.acme.example/api/v3/",
                "https://ghe.acme.example/api/v3",
                "https://ghe.acme.example/api/graphql",
            ),
            (
                "http://127.0.0.1:8080/api/v3",
                "http://127.0.0.1:8080/api/v3",
                "http://127.0.0.1:8080/api/graphql",
            ),
            (
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080/graphql",
            ),
        ];
        for (host, rest, graphql) in cases {
            let urls = GithubUrls::from_host(host).unwrap();
            assert_eq!(urls.rest, rest, "{host}");
            assert_eq!(urls.graphql, graphql, "{host}");
        }
        for bad in ["ghe.acme.example", "ftp://ghe.acme.example", ""] {
            let err = GithubUrls::from_host(bad).unwrap_err();
            assert_eq!(err.key, "githubHost", "{bad}");
        }
    }

    #[test]
    fn defaults_and_snake_case_keys() {
        let config: GithubConfig =
            serde_json::from_value(json!({"github_token": "ghp_x"})).unwrap();
        assert_eq!(config, GithubConfig::with_token("ghp_x"));
        assert_eq!(config.reservation_threshold().unwrap(), 95);
        let config: GithubConfig = serde_json::from_value(json!({
            "github_host": "https://ghe.acme.example/api/v3",
            "github_app_id": "123",
            "github_app_private_key": "-----BEGIN RSA PRIVATE KEY-----\nAAA\n-----END RSA PRIVATE KEY-----",
            "github_organization": "acme",
            "webhook_secret": "s",
            "skip_webhook_patching": true,
            "resync_ratelimit_reservation_threshold": 80
        }))
        .unwrap();
        assert_eq!(config.organization(), Some("acme"));
        assert_eq!(config.reservation_threshold().unwrap(), 80);
        assert!(
            matches!(config.credential().unwrap(), CredentialConfig::App { app_id, .. } if app_id == "123")
        );
    }

    #[test]
    fn a_token_wins_over_app_credentials_and_neither_is_refused() {
        let mut config = GithubConfig::with_app("1", "-----BEGIN KEY-----\nx\n-----END KEY-----");
        config.github_token = Some(Secret::new("ghp_t"));
        assert!(
            matches!(config.credential().unwrap(), CredentialConfig::Token(t) if t.expose() == "ghp_t")
        );
        let err = GithubConfig::with_token(" ").credential().unwrap_err();
        assert_eq!(err.key, "githubToken");
        assert!(
            err.to_string()
                .contains("OCEAN__INTEGRATION__CONFIG__GITHUB_TOKEN")
        );
        let mut half = GithubConfig::with_token("");
        half.github_app_id = Some("7".into());
        assert_eq!(half.credential().unwrap_err().key, "githubAppPrivateKey");
    }

    #[test]
    fn the_private_key_may_be_base64_of_the_pem() {
        use base64::Engine as _;
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----";
        let encoded = base64::engine::general_purpose::STANDARD.encode(pem);
        let config = GithubConfig::with_app("1", encoded);
        match config.credential().unwrap() {
            CredentialConfig::App {
                private_key_pem, ..
            } => assert_eq!(private_key_pem.expose(), pem),
            other => panic!("{other:?}"),
        }
        let err = GithubConfig::with_app("1", "not a key!")
            .credential()
            .unwrap_err();
        assert!(err.to_string().contains("neither PEM"), "{err}");
    }

    #[test]
    fn the_threshold_is_a_percentage() {
        let mut config = GithubConfig::with_token("t");
        config.resync_ratelimit_reservation_threshold = 101;
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("between 0 and 100")
        );
        config.resync_ratelimit_reservation_threshold = -1;
        assert!(config.validate().is_err());
        config.resync_ratelimit_reservation_threshold = 0;
        assert!(config.validate().is_ok());
    }

    #[test]
    fn secrets_never_print() {
        let mut config = GithubConfig::with_token("ghp_secret123");
        config.webhook_secret = Some(Secret::new("hook-456"));
        config.github_app_private_key = Some(Secret::new("-----BEGIN KEY-----"));
        let printed = format!("{config:?}");
        assert!(
            !printed.contains("ghp_secret123")
                && !printed.contains("hook-456")
                && !printed.contains("BEGIN"),
            "{printed}"
        );
    }
}
