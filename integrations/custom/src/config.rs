//! The integration's configuration (`integration.config`), under the reference's names: values
//! arrive with snake_case keys (`base_url`), from `config.yaml` (`baseUrl`) or
//! `OCEAN__INTEGRATION__CONFIG__BASE_URL`, so a Python Ocean user's environment works unchanged.
//!
//! The reference declares its numbers as strings (`pageSize: "100"`); both strings and numbers
//! are accepted. [`CustomConfig::validate`] turns the raw values into [`Settings`], refusing an
//! unusable value with an error naming its camelCase key. Secrets (`apiToken`, `password`,
//! `apiKey`) are [`Secret`]s and never print.

use crate::custom_auth::CustomAuth;
use crate::pagination::{PaginationKind, PaginationSettings};
use ocean::Secret;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// A configuration value the integration cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("integration config `{key}`: {reason}")]
pub struct InvalidConfig {
    /// The offending key (camelCase, as in `spec.yaml`).
    pub key: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl InvalidConfig {
    pub(crate) fn new(key: &'static str, reason: impl Into<String>) -> Self {
        InvalidConfig {
            key,
            reason: reason.into(),
        }
    }
}

/// A setting given as a string, a number or a boolean (the reference's spec types numbers as
/// strings, and environment variables are strings).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Loose {
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(serde_json::Number),
    /// A string.
    Text(String),
}

impl Loose {
    fn text(&self) -> String {
        match self {
            Loose::Bool(b) => b.to_string(),
            Loose::Number(n) => n.to_string(),
            Loose::Text(s) => s.trim().to_owned(),
        }
    }

    /// The value as a positive integer, or an error naming `key`.
    pub(crate) fn positive(&self, key: &'static str) -> Result<u64, InvalidConfig> {
        match self.text().parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(InvalidConfig::new(
                key,
                format!("{:?} is not a positive whole number", self.text()),
            )),
        }
    }

    /// The value as a whole number (zero allowed), or an error naming `key`.
    pub(crate) fn whole(&self, key: &'static str) -> Result<u64, InvalidConfig> {
        self.text().parse::<u64>().map_err(|_| {
            InvalidConfig::new(key, format!("{:?} is not a whole number", self.text()))
        })
    }

    fn boolean(&self, key: &'static str) -> Result<bool, InvalidConfig> {
        match self.text().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            other => Err(InvalidConfig::new(
                key,
                format!("{other:?} is not true or false"),
            )),
        }
    }
}

/// The integration's settings as configured (see [`CustomConfig::validate`] for the checked form).
/// Its `Debug` output leaves out every credential, header value and the custom auth request.
#[derive(Clone, PartialEq, Deserialize, Default)]
pub struct CustomConfig {
    /// The API's base URL (`baseUrl`), e.g. `https://api.example.com`. Required.
    #[serde(default)]
    pub base_url: Option<String>,
    /// `none`, `bearer_token`, `basic`, `api_key` or `custom` (`authType`; default `none`).
    #[serde(default)]
    pub auth_type: Option<String>,
    /// The bearer token (`apiToken`).
    #[serde(default)]
    pub api_token: Option<Secret>,
    /// The basic-auth user name (`username`).
    #[serde(default)]
    pub username: Option<String>,
    /// The basic-auth password (`password`).
    #[serde(default)]
    pub password: Option<Secret>,
    /// The API key (`apiKey`).
    #[serde(default)]
    pub api_key: Option<Secret>,
    /// The API key's header (`apiKeyHeader`; default `X-API-Key`).
    #[serde(default)]
    pub api_key_header: Option<String>,
    /// The pagination options every resource uses unless its selector overrides them.
    #[serde(flatten)]
    pub pagination: PaginationOptions,
    /// Seconds a request may take (`timeout`; default 30).
    #[serde(default)]
    pub timeout: Option<Loose>,
    /// Whether TLS certificates are verified (`verifySsl`; default true).
    #[serde(default)]
    pub verify_ssl: Option<Loose>,
    /// Requests in flight at most (`maxConcurrentRequests`; default 10).
    #[serde(default)]
    pub max_concurrent_requests: Option<Loose>,
    /// Headers sent with every request (`customHeaders`): a JSON object, or its text;
    /// `${NAME}` in a value is replaced by the environment variable `NAME`.
    #[serde(default)]
    pub custom_headers: Option<Value>,
    /// The custom authentication request (`customAuthRequest`; `authType: custom`).
    #[serde(default)]
    pub custom_auth_request: Option<Value>,
    /// What the custom authentication response fills in (`customAuthRequestTemplate`).
    #[serde(default)]
    pub custom_auth_request_template: Option<Value>,
}

/// Pagination options as configured, globally or in a selector (every field optional).
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct PaginationOptions {
    /// `none`, `offset`, `page`, `cursor`, `next_link` or `header_link` (`paginationType`).
    #[serde(default, alias = "paginationType")]
    pub pagination_type: Option<String>,
    /// Items per page (`pageSize`; default 100).
    #[serde(default, alias = "pageSize")]
    pub page_size: Option<Loose>,
    /// The offset, page or cursor query parameter (`paginationParam`).
    #[serde(default, alias = "paginationParam")]
    pub pagination_param: Option<String>,
    /// The page-size query parameter (`sizeParam`).
    #[serde(default, alias = "sizeParam")]
    pub size_param: Option<String>,
    /// The first page number (`startPage`; default 1).
    #[serde(default, alias = "startPage")]
    pub start_page: Option<Loose>,
    /// Dot path to the next cursor (`cursorPath`).
    #[serde(default, alias = "cursorPath")]
    pub cursor_path: Option<String>,
    /// Dot path to a value saying more pages follow (`hasMorePath`).
    #[serde(default, alias = "hasMorePath")]
    pub has_more_path: Option<String>,
    /// Dot path to a value saying this is the last page (`lastPagePath`).
    #[serde(default, alias = "lastPagePath")]
    pub last_page_path: Option<String>,
    /// Dot path (or top-level key) of the next page's URL (`nextLinkPath`).
    #[serde(default, alias = "nextLinkPath")]
    pub next_link_path: Option<String>,
    /// The `Link` header relation of the next page (`headerLinkRel`; default `next`).
    #[serde(default, alias = "headerLinkRel")]
    pub header_link_rel: Option<String>,
    /// Dot path to the total number of items (`totalPath`; not in the reference).
    #[serde(default, alias = "totalPath")]
    pub total_path: Option<String>,
    /// Pages of one endpoint at most before the kind fails (`maxPages`; default 10 000).
    #[serde(default, alias = "maxPages")]
    pub max_pages: Option<Loose>,
}

impl PaginationOptions {
    /// These options with `over`'s set values taking precedence.
    pub fn overridden_by(&self, over: &PaginationOptions) -> PaginationOptions {
        fn pick<T: Clone>(over: &Option<T>, base: &Option<T>) -> Option<T> {
            over.clone().or_else(|| base.clone())
        }
        PaginationOptions {
            pagination_type: pick(&over.pagination_type, &self.pagination_type),
            page_size: pick(&over.page_size, &self.page_size),
            pagination_param: pick(&over.pagination_param, &self.pagination_param),
            size_param: pick(&over.size_param, &self.size_param),
            start_page: pick(&over.start_page, &self.start_page),
            cursor_path: pick(&over.cursor_path, &self.cursor_path),
            has_more_path: pick(&over.has_more_path, &self.has_more_path),
            last_page_path: pick(&over.last_page_path, &self.last_page_path),
            next_link_path: pick(&over.next_link_path, &self.next_link_path),
            header_link_rel: pick(&over.header_link_rel, &self.header_link_rel),
            total_path: pick(&over.total_path, &self.total_path),
            max_pages: pick(&over.max_pages, &self.max_pages),
        }
    }

    /// The checked settings.
    pub fn settings(&self) -> Result<PaginationSettings, InvalidConfig> {
        fn blank(s: &Option<String>) -> Option<&str> {
            s.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        let kind = match blank(&self.pagination_type).unwrap_or("none") {
            "none" => PaginationKind::None,
            "offset" => PaginationKind::Offset,
            "page" => PaginationKind::Page,
            "cursor" => PaginationKind::Cursor,
            "next_link" => PaginationKind::NextLink,
            "header_link" => PaginationKind::HeaderLink,
            other => {
                return Err(InvalidConfig::new(
                    "paginationType",
                    format!(
                        "{other:?} is not one of none, offset, page, cursor, next_link, header_link"
                    ),
                ));
            }
        };
        let owned = |s: &Option<String>| blank(s).map(str::to_owned);
        Ok(PaginationSettings {
            kind,
            page_size: match &self.page_size {
                Some(v) => v.positive("pageSize")?,
                None => 100,
            },
            pagination_param: owned(&self.pagination_param),
            size_param: owned(&self.size_param),
            start_page: match &self.start_page {
                Some(v) => v.whole("startPage")?,
                None => 1,
            },
            cursor_path: owned(&self.cursor_path),
            has_more_path: owned(&self.has_more_path),
            last_page_path: owned(&self.last_page_path),
            next_link_path: owned(&self.next_link_path)
                .unwrap_or_else(|| "@odata.nextLink".to_owned()),
            header_link_rel: owned(&self.header_link_rel).unwrap_or_else(|| "next".to_owned()),
            total_path: owned(&self.total_path),
            max_pages: match &self.max_pages {
                Some(v) => v.positive("maxPages")?,
                None => DEFAULT_MAX_PAGES,
            },
        })
    }
}

/// Pages of one endpoint at most, by default.
pub const DEFAULT_MAX_PAGES: u64 = 10_000;

/// How requests are authenticated.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No authentication.
    None,
    /// `Authorization: Bearer <apiToken>`.
    Bearer(Secret),
    /// HTTP basic authentication.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: Secret,
    },
    /// The API key in a header.
    ApiKey {
        /// The header's name.
        header: String,
        /// The key.
        key: Secret,
    },
    /// An authentication request whose response fills header and query templates.
    Custom(Box<CustomAuth>),
}

/// The checked configuration; its `Debug` output leaves out credentials and header values.
#[derive(Clone)]
pub struct Settings {
    /// The base URL, without a trailing `/`.
    pub base_url: String,
    /// The authentication.
    pub auth: Auth,
    /// The global pagination options (selectors may override any of them).
    pub pagination: PaginationOptions,
    /// The request timeout.
    pub timeout: Duration,
    /// Whether TLS certificates are verified.
    pub verify_ssl: bool,
    /// Requests in flight at most.
    pub max_concurrent_requests: usize,
    /// Headers of every request, `${NAME}`s resolved.
    pub custom_headers: BTreeMap<String, String>,
}

/// `[redacted]` when a value is set.
fn redacted<T>(value: &Option<T>) -> &'static str {
    if value.is_some() {
        "Some([redacted])"
    } else {
        "None"
    }
}

impl fmt::Debug for CustomConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomConfig")
            .field("base_url", &self.base_url)
            .field("auth_type", &self.auth_type)
            .field("api_token", &self.api_token)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("api_key", &self.api_key)
            .field("api_key_header", &self.api_key_header)
            .field("pagination", &self.pagination)
            .field("timeout", &self.timeout)
            .field("verify_ssl", &self.verify_ssl)
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field("custom_headers", &redacted(&self.custom_headers))
            .field("custom_auth_request", &redacted(&self.custom_auth_request))
            .field(
                "custom_auth_request_template",
                &self.custom_auth_request_template,
            )
            .finish()
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("base_url", &self.base_url)
            .field("auth", &self.auth)
            .field("pagination", &self.pagination)
            .field("timeout", &self.timeout)
            .field("verify_ssl", &self.verify_ssl)
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field(
                "custom_headers",
                &self.custom_headers.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl CustomConfig {
    /// A configuration for `base_url` with every other setting at its default.
    pub fn with_base_url(base_url: impl Into<String>) -> Self {
        CustomConfig {
            base_url: Some(base_url.into()),
            ..CustomConfig::default()
        }
    }

    /// Checks every value and resolves defaults and `${NAME}`s (from the process environment).
    pub fn validate(&self) -> Result<Settings, InvalidConfig> {
        self.validate_with_env(|name| std::env::var(name).ok())
    }

    /// [`validate`](Self::validate) with `${NAME}`s read by `env`.
    pub fn validate_with_env(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, InvalidConfig> {
        let base_url = self
            .base_url
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                InvalidConfig::new(
                    "baseUrl",
                    "is missing (set OCEAN__INTEGRATION__CONFIG__BASE_URL to the API's base URL)",
                )
            })?;
        let parsed = url::Url::parse(base_url).map_err(|e| {
            InvalidConfig::new("baseUrl", format!("{base_url:?} is not a URL: {e}"))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(InvalidConfig::new(
                "baseUrl",
                format!("{base_url:?} is not an http(s) URL"),
            ));
        }
        let auth = self.auth()?;
        self.pagination.settings()?;
        let timeout = match &self.timeout {
            Some(v) => Duration::from_secs(v.positive("timeout")?),
            None => Duration::from_secs(30),
        };
        let verify_ssl = match &self.verify_ssl {
            Some(v) => v.boolean("verifySsl")?,
            None => true,
        };
        let max_concurrent_requests = match &self.max_concurrent_requests {
            Some(v) => usize::try_from(v.positive("maxConcurrentRequests")?).unwrap_or(usize::MAX),
            None => 10,
        };
        Ok(Settings {
            base_url: base_url.trim_end_matches('/').to_owned(),
            auth,
            pagination: self.pagination.clone(),
            timeout,
            verify_ssl,
            max_concurrent_requests,
            custom_headers: custom_headers(self.custom_headers.as_ref(), &env)?,
        })
    }

    fn auth(&self) -> Result<Auth, InvalidConfig> {
        fn present(secret: &Option<Secret>) -> Option<&Secret> {
            secret.as_ref().filter(|s| !s.expose().trim().is_empty())
        }
        let kind = self
            .auth_type
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or("none");
        match kind {
            "none" => Ok(Auth::None),
            "bearer_token" => present(&self.api_token)
                .map(|t| Auth::Bearer(t.clone()))
                .ok_or_else(|| {
                    InvalidConfig::new("apiToken", "is required with authType bearer_token")
                }),
            "basic" => {
                let username =
                    self.username
                        .clone()
                        .filter(|u| !u.is_empty())
                        .ok_or_else(|| {
                            InvalidConfig::new("username", "is required with authType basic")
                        })?;
                let password = present(&self.password).cloned().ok_or_else(|| {
                    InvalidConfig::new("password", "is required with authType basic")
                })?;
                Ok(Auth::Basic { username, password })
            }
            "api_key" => {
                let key = present(&self.api_key).cloned().ok_or_else(|| {
                    InvalidConfig::new("apiKey", "is required with authType api_key")
                })?;
                let header = self
                    .api_key_header
                    .as_deref()
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                    .unwrap_or("X-API-Key")
                    .to_owned();
                Ok(Auth::ApiKey { header, key })
            }
            "custom" => CustomAuth::parse(
                self.custom_auth_request.as_ref(),
                self.custom_auth_request_template.as_ref(),
            )
            .map(|auth| Auth::Custom(Box::new(auth))),
            other => Err(InvalidConfig::new(
                "authType",
                format!("{other:?} is not one of none, bearer_token, basic, api_key, custom"),
            )),
        }
    }
}

/// `customHeaders`: an object (or its JSON text) of string values, `${NAME}`s resolved by `env`.
fn custom_headers(
    value: Option<&Value>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, InvalidConfig> {
    let key = "customHeaders";
    let object = match value {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::String(text)) if text.trim().is_empty() => return Ok(BTreeMap::new()),
        Some(Value::String(text)) => serde_json::from_str::<Value>(text)
            .map_err(|e| InvalidConfig::new(key, format!("is not a JSON object: {e}")))?,
        Some(other) => other.clone(),
    };
    let Value::Object(map) = object else {
        return Err(InvalidConfig::new(key, "is not a JSON object"));
    };
    let mut headers = BTreeMap::new();
    for (name, value) in map {
        let text = match value {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => {
                return Err(InvalidConfig::new(
                    key,
                    format!("the header {name:?} must have a string value"),
                ));
            }
        };
        let text = expand_env(&text, env);
        if ocean::http::header::HeaderName::try_from(name.as_str()).is_err()
            || ocean::http::header::HeaderValue::from_str(&text).is_err()
        {
            return Err(InvalidConfig::new(
                key,
                format!("the header {name:?} cannot be sent (invalid name or value)"),
            ));
        }
        headers.insert(name, text);
    }
    Ok(headers)
}

/// Replaces every `${NAME}` by the variable's value (an unset variable is left as written, and
/// a warning names it).
pub fn expand_env(text: &str, env: &impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match env(name) {
                    Some(value) => out.push_str(&value),
                    None => {
                        tracing::warn!(
                            variable = name,
                            "customHeaders names an unset environment variable; sending it as written"
                        );
                        out.push_str(&rest[start..start + 2 + end + 1]);
                    }
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(value: Value) -> Result<Settings, String> {
        let config: CustomConfig = serde_json::from_value(value).map_err(|e| e.to_string())?;
        config
            .validate_with_env(|name| (name == "TEAM").then(|| "platform".to_owned()))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_as_the_reference() {
        let s = settings(json!({"base_url": "https://api.example.com/"})).unwrap();
        assert_eq!(s.base_url, "https://api.example.com");
        assert!(matches!(s.auth, Auth::None));
        assert_eq!(s.timeout, Duration::from_secs(30));
        assert!(s.verify_ssl);
        assert_eq!(s.max_concurrent_requests, 10);
        let p = s.pagination.settings().unwrap();
        assert_eq!(p.kind, PaginationKind::None);
        assert_eq!((p.page_size, p.start_page), (100, 1));
        assert_eq!(p.next_link_path, "@odata.nextLink");
        assert_eq!(p.header_link_rel, "next");
        assert_eq!(p.max_pages, DEFAULT_MAX_PAGES);
    }

    #[test]
    fn strings_from_the_environment_are_read_as_numbers_and_booleans() {
        let s = settings(json!({"base_url": "http://127.0.0.1:1", "page_size": "25",
            "pagination_type": "page", "start_page": "0", "verify_ssl": "false",
            "max_concurrent_requests": 3, "timeout": "5", "auth_type": "api_key",
            "api_key": "k", "api_key_header": "X-Token",
            "custom_headers": "{\"X-Team\": \"${TEAM}\", \"X-Missing\": \"${NOPE}\"}"}))
        .unwrap();
        let p = s.pagination.settings().unwrap();
        assert_eq!(
            (p.kind, p.page_size, p.start_page),
            (PaginationKind::Page, 25, 0)
        );
        assert!(!s.verify_ssl);
        assert_eq!(s.max_concurrent_requests, 3);
        assert_eq!(s.timeout, Duration::from_secs(5));
        assert!(
            matches!(&s.auth, Auth::ApiKey { header, key } if header == "X-Token" && key.expose() == "k"),
            "{:?}",
            s.auth
        );
        assert_eq!(s.custom_headers["X-Team"], "platform");
        assert_eq!(s.custom_headers["X-Missing"], "${NOPE}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            (json!({}), "`baseUrl`"),
            (json!({"base_url": "example.com"}), "`baseUrl`"),
            (json!({"base_url": "ftp://example.com"}), "`baseUrl`"),
            (
                json!({"base_url": "http://x", "auth_type": "oauth2"}),
                "`authType`",
            ),
            (
                json!({"base_url": "http://x", "auth_type": "custom"}),
                "`customAuthRequest`: is required",
            ),
            (
                json!({"base_url": "http://x", "auth_type": "bearer_token"}),
                "`apiToken`",
            ),
            (
                json!({"base_url": "http://x", "auth_type": "basic", "username": "u"}),
                "`password`",
            ),
            (
                json!({"base_url": "http://x", "auth_type": "basic", "password": "p"}),
                "`username`",
            ),
            (
                json!({"base_url": "http://x", "auth_type": "api_key"}),
                "`apiKey`",
            ),
            (
                json!({"base_url": "http://x", "page_size": "ten"}),
                "`pageSize`",
            ),
            (
                json!({"base_url": "http://x", "page_size": 0}),
                "`pageSize`",
            ),
            (
                json!({"base_url": "http://x", "pagination_type": "links"}),
                "`paginationType`",
            ),
            (
                json!({"base_url": "http://x", "verify_ssl": "maybe"}),
                "`verifySsl`",
            ),
            (
                json!({"base_url": "http://x", "max_pages": "-1"}),
                "`maxPages`",
            ),
            (
                json!({"base_url": "http://x", "custom_headers": "[1]"}),
                "`customHeaders`",
            ),
            (
                json!({"base_url": "http://x", "custom_headers": {"bad name": "v"}}),
                "`customHeaders`",
            ),
            (
                json!({"base_url": "http://x", "custom_headers": {"a": {}}}),
                "`customHeaders`",
            ),
        ];
        for (value, want) in cases {
            let got = settings(value.clone()).expect_err(&value.to_string());
            assert!(got.contains(want), "{value}: {got:?} lacks {want:?}");
        }
    }

    #[test]
    fn secrets_never_print() {
        let config: CustomConfig = serde_json::from_value(json!({"base_url": "http://x",
            "api_token": "tok-123", "password": "pw-456", "api_key": "key-789"}))
        .unwrap();
        let printed = format!("{config:?}");
        for secret in ["tok-123", "pw-456", "key-789"] {
            assert!(!printed.contains(secret), "{printed}");
        }
        let config: CustomConfig = serde_json::from_value(json!({"base_url": "http://x",
            "auth_type": "custom", "custom_headers": {"X-Auth": "hdr-123"},
            "custom_auth_request": {"endpoint": "/auth", "body": {"secret": "cs-456"}},
            "custom_auth_request_template": {"headers": {"A": "{{.t}}"}}}))
        .unwrap();
        let printed = format!("{config:?} {:?}", config.validate().unwrap());
        for secret in ["hdr-123", "cs-456"] {
            assert!(!printed.contains(secret), "{printed}");
        }
        let err = settings(json!({"base_url": "http://x", "auth_type": "basic",
            "password": "pw-456"}))
        .unwrap_err();
        assert!(!err.contains("pw-456"), "{err}");
    }

    #[test]
    fn selector_options_override_the_global_ones() {
        let global: PaginationOptions =
            serde_json::from_value(json!({"pagination_type": "page", "page_size": "50"})).unwrap();
        let over: PaginationOptions =
            serde_json::from_value(json!({"paginationType": "cursor", "cursorPath": "next"}))
                .unwrap();
        let p = global.overridden_by(&over).settings().unwrap();
        assert_eq!(p.kind, PaginationKind::Cursor);
        assert_eq!(p.page_size, 50);
        assert_eq!(p.cursor_path.as_deref(), Some("next"));
    }
}
