//! A small client for PagerDuty's REST API v2: authentication, classic offset pagination, rate
//! limits and retries, and errors that say which request failed.
//!
//! Every request carries `Authorization: Token token=…` (or `Bearer …` for OAuth access tokens,
//! which start with `pd`, as in the reference) and `Accept: application/vnd.pagerduty+json;version=2`.
//! At most ten requests are in flight at once. A `429` is retried after the delay PagerDuty asks
//! for (`ratelimit-reset` or `Retry-After`, in seconds; exponential backoff when neither is
//! sent), a transient `5xx` or connection failure a bounded number of times with exponential
//! backoff; both limits live in [`RetryPolicy`]. Errors name the request (`GET
//! /incidents?offset=100`) and never contain the token.
//!
//! It is deliberately not a typed model of PagerDuty: items stay `serde_json::Value`s, exactly
//! as PagerDuty sent them, because the mapping (JQ) is what reads them. It does not implement
//! cursor pagination (only the analytics and audit APIs use it) nor the Events API.

use futures::stream::{self, BoxStream, StreamExt};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER, USER_AGENT};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

use crate::config::PagerDutyConfig;

/// The media type of REST API v2.
pub const ACCEPT_V2: &str = "application/vnd.pagerduty+json;version=2";

/// Items asked for per page (PagerDuty's maximum for classic pagination).
pub const PAGE_SIZE: u64 = 100;

/// Requests in flight at once, per client (as the reference).
pub const MAX_CONCURRENT_REQUESTS: usize = 10;

/// Query parameters in order; array filters repeat their `name[]` key.
pub type Query = Vec<(String, String)>;

/// How many times, and how long, to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries of a request answered `429 Too Many Requests`.
    pub rate_limit_retries: u32,
    /// Retries of a request answered `500`, `502`, `503` or `504`, or that could not be sent.
    pub server_error_retries: u32,
    /// The first backoff delay; it doubles on every retry.
    pub base_delay: Duration,
    /// The longest single wait, whatever PagerDuty asks for.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            rate_limit_retries: 8,
            server_error_retries: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A policy with the same retry counts and tiny delays, for tests.
    pub fn fast() -> Self {
        RetryPolicy {
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            ..RetryPolicy::default()
        }
    }

    fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// Which request failed, as it appears in errors: method, path and the page offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLabel {
    method: Method,
    path: String,
    offset: Option<u64>,
}

impl RequestLabel {
    fn new(method: Method, path: &str, offset: Option<u64>) -> Self {
        RequestLabel {
            method,
            path: path.to_owned(),
            offset,
        }
    }
}

impl fmt::Display for RequestLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if let Some(offset) = self.offset {
            write!(f, "?offset={offset}")?;
        }
        Ok(())
    }
}

/// Why a PagerDuty request failed. Messages never contain the token.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The HTTP client could not be built (e.g. no TLS roots).
    #[error("building the PagerDuty HTTP client")]
    Build(#[source] reqwest::Error),
    /// The configured API URL cannot take a path.
    #[error("the PagerDuty API URL {0:?} is not a base URL")]
    BadUrl(String),
    /// The token holds characters that cannot be sent in an HTTP header.
    #[error("the PagerDuty token contains characters that cannot be sent in an HTTP header")]
    BadToken,
    /// The request could not be sent or its answer not read (after retries).
    #[error("could not reach PagerDuty for {request} (attempt {attempts})")]
    Transport {
        /// The request.
        request: RequestLabel,
        /// How many attempts were made.
        attempts: u32,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// PagerDuty answered with an error status (after retries, for 429 and 5xx).
    #[error("PagerDuty answered {request} with {status} (attempt {attempts}): {body}{}", status_hint(*status))]
    Status {
        /// The request.
        request: RequestLabel,
        /// The status code.
        status: StatusCode,
        /// How many attempts were made.
        attempts: u32,
        /// The start of the response body (PagerDuty's error object).
        body: String,
    },
    /// PagerDuty answered 2xx with a body that is not JSON.
    #[error("PagerDuty answered {request} with a body that is not JSON")]
    NotJson {
        /// The request.
        request: RequestLabel,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// PagerDuty answered JSON of an unexpected shape.
    #[error("PagerDuty answered {request} without {what}")]
    Shape {
        /// The request.
        request: RequestLabel,
        /// What was missing (e.g. "a list under `incidents`").
        what: String,
    },
}

impl ClientError {
    /// The HTTP status PagerDuty answered, if the failure was an error status.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether trying the same request later may succeed (rate limits, server errors, network).
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Transport { .. } => true,
            ClientError::Status { status, .. } => {
                *status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
            }
            _ => false,
        }
    }
}

/// A PagerDuty REST API v2 client; cheap to clone (one connection pool, one request budget).
#[derive(Clone)]
pub struct PagerDutyClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: url::Url,
    retry: RetryPolicy,
    permits: Semaphore,
}

impl fmt::Debug for PagerDutyClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PagerDutyClient")
            .field("api_url", &self.inner.base.as_str())
            .finish_non_exhaustive()
    }
}

/// The `Authorization` header for a token: OAuth access tokens (`pd…`) as `Bearer`, REST API
/// keys as `Token token=`.
fn authorization(token: &str) -> String {
    if token.starts_with("pd") {
        format!("Bearer {token}")
    } else {
        format!("Token token={token}")
    }
}

impl PagerDutyClient {
    /// A client for the configured API URL and token, with the default [`RetryPolicy`].
    pub fn new(config: &PagerDutyConfig) -> Result<Self, ClientError> {
        Self::with_policy(config, RetryPolicy::default())
    }

    /// A client with an explicit retry policy.
    pub fn with_policy(config: &PagerDutyConfig, retry: RetryPolicy) -> Result<Self, ClientError> {
        let mut auth = HeaderValue::from_str(&authorization(config.token.expose().trim()))
            .map_err(|_| ClientError::BadToken)?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, auth);
        headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_V2));
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("ocean-pagerduty/", env!("CARGO_PKG_VERSION"))),
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(ClientError::Build)?;
        let trimmed = config.api_url.trim_end_matches('/');
        let base = url::Url::parse(&format!("{trimmed}/"))
            .ok()
            .filter(|u| !u.cannot_be_a_base())
            .ok_or_else(|| ClientError::BadUrl(config.api_url.clone()))?;
        Ok(PagerDutyClient {
            inner: Arc::new(Inner {
                http,
                base,
                retry,
                permits: Semaphore::new(MAX_CONCURRENT_REQUESTS),
            }),
        })
    }

    /// The API URL requests go to (with a trailing `/`).
    pub fn api_url(&self) -> &str {
        self.inner.base.as_str()
    }

    fn url(&self, path: &str) -> url::Url {
        // `path` is ours (`incidents/P123`), never a full URL; ids are URL-safe in PagerDuty.
        self.inner
            .base
            .join(path.trim_start_matches('/'))
            .unwrap_or_else(|_| self.inner.base.clone())
    }

    /// `GET {path}` with `query`, as JSON.
    pub async fn get(&self, path: &str, query: &[(String, String)]) -> Result<Value, ClientError> {
        let label = RequestLabel::new(
            Method::GET,
            &format!("/{}", path.trim_start_matches('/')),
            None,
        );
        self.send(label, Method::GET, path, query, None).await
    }

    /// `GET {path}`, or `None` when PagerDuty answers 404.
    pub async fn get_optional(
        &self,
        path: &str,
        query: &[(String, String)],
    ) -> Result<Option<Value>, ClientError> {
        match self.get(path, query).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST {path}` with a JSON body, as JSON.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        let label = RequestLabel::new(
            Method::POST,
            &format!("/{}", path.trim_start_matches('/')),
            None,
        );
        self.send(label, Method::POST, path, &[], Some(body)).await
    }

    /// Every page of a classic-paginated list endpoint (`GET /{path}?offset=…&limit=100`), the
    /// items read from `key`. Stops when PagerDuty says `more: false` (or sends an empty page).
    pub fn paginate(
        &self,
        path: &str,
        key: &str,
        query: Query,
    ) -> BoxStream<'static, Result<Vec<Value>, ClientError>> {
        struct State {
            client: PagerDutyClient,
            path: String,
            key: String,
            query: Query,
            offset: Option<u64>,
        }
        let state = State {
            client: self.clone(),
            path: path.trim_start_matches('/').to_owned(),
            key: key.to_owned(),
            query,
            offset: Some(0),
        };
        stream::unfold(state, |mut st| async move {
            let offset = st.offset?;
            let result = st.client.page(&st.path, &st.key, &st.query, offset).await;
            match result {
                Ok((items, next)) => {
                    st.offset = next;
                    Some((Ok(items), st))
                }
                Err(e) => {
                    st.offset = None;
                    Some((Err(e), st))
                }
            }
        })
        .boxed()
    }

    /// Every item of a list endpoint, all pages collected.
    pub async fn list_all(
        &self,
        path: &str,
        key: &str,
        query: Query,
    ) -> Result<Vec<Value>, ClientError> {
        let mut pages = self.paginate(path, key, query);
        let mut all = Vec::new();
        while let Some(page) = pages.next().await {
            all.extend(page?);
        }
        Ok(all)
    }

    /// One page: its items and the offset of the next page, if any.
    async fn page(
        &self,
        path: &str,
        key: &str,
        query: &[(String, String)],
        offset: u64,
    ) -> Result<(Vec<Value>, Option<u64>), ClientError> {
        let label = RequestLabel::new(Method::GET, &format!("/{path}"), Some(offset));
        let mut full: Query = Vec::with_capacity(query.len() + 2);
        full.push(("offset".into(), offset.to_string()));
        full.push(("limit".into(), PAGE_SIZE.to_string()));
        full.extend(query.iter().cloned());
        let mut body = self
            .send(label.clone(), Method::GET, path, &full, None)
            .await?;
        let items = match body.get_mut(key).map(Value::take) {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(ClientError::Shape {
                    request: label,
                    what: format!("a list under `{key}`"),
                });
            }
        };
        let more = body.get("more").and_then(Value::as_bool).unwrap_or(false);
        let step = body
            .get("limit")
            .and_then(Value::as_u64)
            .filter(|l| *l > 0)
            .unwrap_or(items.len() as u64);
        let next = (more && !items.is_empty()).then(|| offset + step);
        Ok((items, next))
    }

    async fn send(
        &self,
        label: RequestLabel,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let policy = &self.inner.retry;
        let url = self.url(path);
        let (mut rate_retries, mut server_retries) = (0u32, 0u32);
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let mut request = self
                .inner
                .http
                .request(method.clone(), url.clone())
                .query(query);
            if let Some(body) = body {
                request = request.json(body);
            }
            let outcome = {
                let _permit = self.inner.permits.acquire().await;
                match request.send().await {
                    Ok(response) => {
                        let status = response.status();
                        let headers = response.headers().clone();
                        response.bytes().await.map(|bytes| (status, headers, bytes))
                    }
                    Err(e) => Err(e),
                }
            };
            let (status, headers, bytes) = match outcome {
                Ok(answer) => answer,
                Err(source) => {
                    if server_retries < policy.server_error_retries {
                        server_retries += 1;
                        let delay = policy.backoff(server_retries);
                        tracing::warn!(request = %label, error = %source, ?delay, "PagerDuty request failed; retrying");
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    return Err(ClientError::Transport {
                        request: label,
                        attempts,
                        source,
                    });
                }
            };
            if status == StatusCode::TOO_MANY_REQUESTS && rate_retries < policy.rate_limit_retries {
                rate_retries += 1;
                let delay = requested_delay(&headers)
                    .unwrap_or_else(|| policy.backoff(rate_retries))
                    .min(policy.max_delay);
                tracing::warn!(request = %label, ?delay, "PagerDuty rate limit reached; waiting");
                tokio::time::sleep(delay).await;
                continue;
            }
            let transient = matches!(
                status,
                StatusCode::INTERNAL_SERVER_ERROR
                    | StatusCode::BAD_GATEWAY
                    | StatusCode::SERVICE_UNAVAILABLE
                    | StatusCode::GATEWAY_TIMEOUT
            );
            if transient && server_retries < policy.server_error_retries {
                server_retries += 1;
                let delay = policy.backoff(server_retries);
                tracing::warn!(request = %label, %status, ?delay, "PagerDuty server error; retrying");
                tokio::time::sleep(delay).await;
                continue;
            }
            if !status.is_success() {
                return Err(ClientError::Status {
                    request: label,
                    status,
                    attempts,
                    body: snippet(&bytes),
                });
            }
            if bytes.is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_slice(&bytes).map_err(|source| ClientError::NotJson {
                request: label,
                source,
            });
        }
    }
}

/// What to do about an answer that retrying will not fix.
fn status_hint(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED => " (check the integration's `token`)",
        StatusCode::FORBIDDEN => {
            " (the token may not read this; a read-only key cannot create webhook subscriptions)"
        }
        _ => "",
    }
}

/// The wait PagerDuty asks for: `ratelimit-reset` (seconds until the budget resets), else
/// `Retry-After` in seconds.
fn requested_delay(headers: &HeaderMap) -> Option<Duration> {
    ["ratelimit-reset", RETRY_AFTER.as_str()]
        .iter()
        .filter_map(|name| {
            headers
                .get(*name)?
                .to_str()
                .ok()?
                .trim()
                .parse::<f64>()
                .ok()
        })
        .find(|secs| secs.is_finite() && *secs >= 0.0)
        .map(Duration::from_secs_f64)
}

/// The first 300 characters of a body, on one line.
fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = one_line.chars().take(300).collect();
    if one_line.chars().count() > 300 {
        out.push('…');
    }
    if out.is_empty() {
        out.push_str("(empty body)");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_tokens_are_bearer_and_api_keys_are_token() {
        assert_eq!(authorization("pdus+abc"), "Bearer pdus+abc");
        assert_eq!(
            authorization("y_NbAkKc66ryYTWUXYEu"),
            "Token token=y_NbAkKc66ryYTWUXYEu"
        );
    }

    #[test]
    fn labels_name_method_path_and_offset() {
        assert_eq!(
            RequestLabel::new(Method::GET, "/incidents", Some(100)).to_string(),
            "GET /incidents?offset=100"
        );
        assert_eq!(
            RequestLabel::new(Method::POST, "/webhook_subscriptions", None).to_string(),
            "POST /webhook_subscriptions"
        );
    }

    #[test]
    fn requested_delays_prefer_ratelimit_reset() {
        let check = |pairs: &[(&'static str, &'static str)], expected: Option<Duration>| {
            let mut headers = HeaderMap::new();
            for (k, v) in pairs {
                headers.insert(*k, HeaderValue::from_static(v));
            }
            assert_eq!(requested_delay(&headers), expected, "{pairs:?}");
        };
        check(&[], None);
        check(&[("retry-after", "3")], Some(Duration::from_secs(3)));
        check(
            &[("ratelimit-reset", "7"), ("retry-after", "3")],
            Some(Duration::from_secs(7)),
        );
        check(
            &[("ratelimit-reset", "soon"), ("retry-after", "2")],
            Some(Duration::from_secs(2)),
        );
        check(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")], None);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(5),
            ..RetryPolicy::default()
        };
        let delays: Vec<u64> = (1..=5).map(|r| policy.backoff(r).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 5, 5]);
    }

    #[test]
    fn snippets_are_short_and_single_line() {
        assert_eq!(
            snippet(b"{\"error\":\n {\"message\": \"x\"}}"),
            "{\"error\": {\"message\": \"x\"}}"
        );
        assert_eq!(snippet(b""), "(empty body)");
        assert_eq!(snippet("a".repeat(400).as_bytes()).chars().count(), 301);
    }

    #[test]
    fn debug_output_has_no_token() {
        let client = PagerDutyClient::new(&PagerDutyConfig::with_token("secret-token-1")).unwrap();
        let printed = format!("{client:?}");
        assert!(!printed.contains("secret-token-1"), "{printed}");
        assert!(printed.contains("api.pagerduty.com"), "{printed}");
    }
}
