//! The GitHub API client: one per credential, shared by every kind and webhook that uses it.
//!
//! - REST requests with `Link` pagination (`per_page=100`, the `next` URL followed as given),
//!   GraphQL requests with cursor pagination.
//! - Headers on every request: `Authorization: Bearer …`, `Accept: application/vnd.github+json`,
//!   `X-GitHub-Api-Version: 2022-11-28`.
//! - The credential's [`RateLimiter`]s (REST and GraphQL): primary limits with the reservation
//!   threshold for resyncs, secondary limits, bounded concurrency.
//! - Retries: rate-limited answers are waited out (never failed, up to
//!   [`RetryPolicy::max_wait`] per wait); 5xx and connection failures are retried with
//!   exponential backoff; a `500`/`502`/`504` on a paginated request first halves the page size
//!   (down to 25, keeping the offset: `page` is rewritten) as the reference does; a 401 with an
//!   installation token mints a new token once.
//! - Conditional requests: every `GET` sends the `ETag` of its cached answer, and a `304` is
//!   answered from the [`cache`] (GitHub does not count it against the quota).
//!
//! Errors name the request and never a token ([`GithubError`]). Items stay `serde_json::Value`s,
//! exactly as GitHub sent them: the mapping is what reads them.

pub mod cache;
pub mod error;
pub mod ratelimit;

pub use cache::{CachedAnswer, EtagCache};
pub use error::{GithubError, RequestLabel, error_message};
pub use ratelimit::{Purpose, Quota, RateLimiter};

use crate::auth::Credential;
use crate::config::GithubUrls;
use bytes::Bytes;
use futures::stream::BoxStream;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, USER_AGENT};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The media type GitHub's REST API documents.
pub const ACCEPT_GITHUB: &str = "application/vnd.github+json";
/// The REST API version the integration is written against.
pub const API_VERSION: &str = "2022-11-28";
/// Items asked for per REST page (GitHub's maximum).
pub const PAGE_SIZE: u32 = 100;
/// The smallest page a 5xx makes the client fall back to (as the reference).
pub const MIN_PAGE_SIZE: u32 = 25;
/// Nodes asked for per GraphQL page (as the reference).
pub const GRAPHQL_PAGE_SIZE: u32 = 25;

/// How many times, and how long, to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts of a request that fails with a 5xx or cannot be sent (the first included).
    pub max_attempts: u32,
    /// Rate-limited answers waited out for one request before giving up.
    pub rate_limit_retries: u32,
    /// The first backoff delay; it doubles on every retry.
    pub base_delay: Duration,
    /// The longest backoff delay.
    pub max_delay: Duration,
    /// The longest single wait for a rate limit's reset; longer waits fail the request.
    pub max_wait: Duration,
    /// The timeout of one request.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            rate_limit_retries: 10,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_wait: Duration::from_secs(3600),
            timeout: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The same retry counts with tiny delays, for tests (rate-limit waits still last as long
    /// as the server asks, up to 10 s).
    pub fn fast() -> Self {
        RetryPolicy {
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            max_wait: Duration::from_secs(10),
            timeout: Duration::from_secs(20),
            ..RetryPolicy::default()
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// Counters of what the client did, for logs, the benchmark and tests.
#[derive(Debug, Default)]
pub struct Stats {
    requests: AtomicU64,
    not_modified: AtomicU64,
    rate_limited: AtomicU64,
    retries: AtomicU64,
    degraded: Mutex<BTreeMap<String, u64>>,
}

/// A snapshot of [`Stats`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// HTTP requests sent (every attempt).
    pub requests: u64,
    /// Of those, answered `304 Not Modified` from the cache.
    pub not_modified: u64,
    /// Rate-limited answers waited out.
    pub rate_limited: u64,
    /// Retries after a 5xx or a connection failure.
    pub retries: u64,
    /// Optional enrichments that failed and were left out, by `kind/enrichment`.
    pub degraded: BTreeMap<String, u64>,
}

impl Stats {
    /// Counts an optional enrichment that failed (the item is synced without it).
    pub fn degraded(&self, what: &str) {
        let mut map = self.degraded.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry(what.to_owned()).or_default() += 1;
    }

    /// The counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            not_modified: self.not_modified.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            degraded: self
                .degraded
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }
}

/// Which of GitHub's APIs a request goes to (they have separate quotas).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    Rest,
    GraphQl,
}

/// An answer: status, the `Link` header, the body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status (a `304` answered from the cache is reported as `200`).
    pub status: StatusCode,
    /// The `Link` header, for pagination.
    pub link: Option<String>,
    /// The body.
    pub body: Bytes,
    /// Whether the body came from the cache after a `304`.
    pub from_cache: bool,
}

/// The GitHub client of one credential; cheap to clone.
#[derive(Clone)]
pub struct GithubClient {
    inner: Arc<Inner>,
    purpose: Purpose,
}

struct Inner {
    http: reqwest::Client,
    urls: GithubUrls,
    credential: Credential,
    scope: String,
    cache_scope: String,
    rest: RateLimiter,
    graphql: RateLimiter,
    cache: Option<EtagCache>,
    policy: RetryPolicy,
    stats: Arc<Stats>,
}

impl fmt::Debug for GithubClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GithubClient")
            .field("rest", &self.inner.urls.rest)
            .field("scope", &self.inner.scope)
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

/// What a client is built from besides its credential.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The URLs of the GitHub to talk to.
    pub urls: GithubUrls,
    /// Retries and waits.
    pub policy: RetryPolicy,
    /// The resync reservation threshold, percent.
    pub threshold: u8,
    /// The conditional-request cache, if any.
    pub cache: Option<EtagCache>,
    /// Shared counters.
    pub stats: Arc<Stats>,
}

/// `GET` URL plus query pairs, percent-encoded.
pub fn with_query(url: &str, query: &[(&str, String)]) -> String {
    if query.is_empty() {
        return url.to_owned();
    }
    match url::Url::parse(url) {
        Ok(mut u) => {
            {
                let mut pairs = u.query_pairs_mut();
                for (k, v) in query {
                    pairs.append_pair(k, v);
                }
            }
            u.to_string()
        }
        Err(_) => url.to_owned(),
    }
}

/// The URL of the `rel="next"` page in a `Link` header.
pub fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let mut pieces = part.split(';');
        let target = pieces.next()?.trim();
        let is_next = pieces.any(|p| {
            let p = p.trim();
            p == "rel=\"next\"" || p == "rel=next"
        });
        if !is_next {
            return None;
        }
        let url = target.strip_prefix('<')?.strip_suffix('>')?;
        Some(url.to_owned())
    })
}

/// The same request with half the page size (at least [`MIN_PAGE_SIZE`]) and its `page`
/// rewritten to keep the offset; `None` when the page is already that small.
pub fn reduce_page_size(url: &str) -> Option<String> {
    let mut parsed = url::Url::parse(url).ok()?;
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let per_page: u32 = pairs
        .iter()
        .find(|(k, _)| k == "per_page")
        .and_then(|(_, v)| v.parse().ok())?;
    if per_page <= MIN_PAGE_SIZE {
        return None;
    }
    let smaller = (per_page / 2).max(MIN_PAGE_SIZE);
    {
        let mut query = parsed.query_pairs_mut();
        query.clear();
        for (k, v) in &pairs {
            match k.as_str() {
                "per_page" => query.append_pair(k, &smaller.to_string()),
                "page" => {
                    let page: u64 = v.parse().unwrap_or(1).max(1);
                    let offset = (page - 1) * u64::from(per_page);
                    query.append_pair(k, &(offset / u64::from(smaller) + 1).to_string())
                }
                _ => query.append_pair(k, v),
            };
        }
    }
    Some(parsed.to_string())
}

/// A GraphQL request with a smaller `first` (halved, at least 1); `None` at 1.
fn reduce_graphql_page(body: &Value) -> Option<Value> {
    let first = body.pointer("/variables/first")?.as_u64()?;
    if first <= 1 {
        return None;
    }
    let mut body = body.clone();
    body["variables"]["first"] = Value::from((first / 2).max(1));
    Some(body)
}

impl GithubClient {
    /// A client for `credential`.
    pub fn new(credential: Credential, options: ClientOptions) -> Result<Self, GithubError> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_GITHUB));
        headers.insert(
            "x-github-api-version",
            HeaderValue::from_static(API_VERSION),
        );
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("ocean-github/", env!("CARGO_PKG_VERSION"))),
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(10))
            .timeout(options.policy.timeout)
            .build()
            .map_err(GithubError::Build)?;
        let scope = credential.scope();
        let cache_scope = match &credential {
            // Two tokens are two users: their answers are kept apart.
            Credential::Token { token } => {
                use sha2::Digest as _;
                let digest = sha2::Sha256::digest(token.expose().as_bytes());
                format!("pat:{}", hex::encode(&digest[..8]))
            }
            _ => scope.clone(),
        };
        let key = format!("{} {scope}", options.urls.rest);
        Ok(GithubClient {
            inner: Arc::new(Inner {
                http,
                rest: RateLimiter::new(
                    format!("rest {key}"),
                    ratelimit::REST_CONCURRENCY,
                    options.threshold,
                ),
                graphql: RateLimiter::new(
                    format!("graphql {key}"),
                    ratelimit::GRAPHQL_CONCURRENCY,
                    options.threshold,
                ),
                urls: options.urls,
                credential,
                scope,
                cache_scope,
                cache: options.cache,
                policy: options.policy,
                stats: options.stats,
            }),
            purpose: Purpose::Live,
        })
    }

    /// The same client for `purpose` (same credential, limiters and cache).
    pub fn with_purpose(&self, purpose: Purpose) -> Self {
        GithubClient {
            inner: self.inner.clone(),
            purpose,
        }
    }

    /// The credential's rate-limit scope (`pat`, `installation:42`).
    pub fn scope(&self) -> &str {
        &self.inner.scope
    }

    /// The credential.
    pub fn credential(&self) -> &Credential {
        &self.inner.credential
    }

    /// The shared counters.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.inner.stats
    }

    /// The REST limiter (tests and logs).
    pub fn rest_limiter(&self) -> &RateLimiter {
        &self.inner.rest
    }

    /// The URLs this client talks to.
    pub fn urls(&self) -> &GithubUrls {
        &self.inner.urls
    }

    /// The REST URL of a path given as segments, each percent-encoded
    /// (`["repos", "acme", "api", "branches", "feat/x"]`).
    pub fn url(&self, segments: &[&str]) -> String {
        let mut url = url::Url::parse(&self.inner.urls.rest).expect("validated at startup");
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(segments);
        }
        url.to_string()
    }

    /// A REST `GET` of `url` plus `query`, as JSON.
    pub async fn get_json(
        &self,
        url: &str,
        query: &[(&str, String)],
    ) -> Result<Value, GithubError> {
        let url = with_query(url, query);
        let answer = self.send(Method::GET, &url, None, Api::Rest).await?;
        parse_json(&url, &answer.body)
    }

    /// Like [`GithubClient::get_json`], with `404` (and the statuses in `absent`) as `None`.
    pub async fn get_optional(
        &self,
        url: &str,
        query: &[(&str, String)],
        absent: &[u16],
    ) -> Result<Option<Value>, GithubError> {
        match self.get_json(url, query).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) if e.status().is_some_and(|s| absent.contains(&s.as_u16())) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A REST `POST` with a JSON body.
    pub async fn post_json(&self, url: &str, body: &Value) -> Result<Value, GithubError> {
        let answer = self
            .send(Method::POST, url, Some(body.clone()), Api::Rest)
            .await?;
        parse_json_or_empty(url, &answer.body)
    }

    /// A REST `PATCH` with a JSON body.
    pub async fn patch_json(&self, url: &str, body: &Value) -> Result<Value, GithubError> {
        let answer = self
            .send(Method::PATCH, url, Some(body.clone()), Api::Rest)
            .await?;
        parse_json_or_empty(url, &answer.body)
    }

    /// Every page of a REST list: `url` plus `query` plus `per_page=100`, then each `Link`
    /// `next` as given. Items are the body (a list) or the list under `envelope`
    /// (`workflow_runs`, `items`, …). Ends at the last page or an empty one.
    pub fn paginate(
        &self,
        url: &str,
        query: &[(&str, String)],
        envelope: Option<&'static str>,
    ) -> BoxStream<'static, Result<Vec<Value>, GithubError>> {
        let mut query = query.to_vec();
        if !query.iter().any(|(k, _)| *k == "per_page") {
            query.push(("per_page", PAGE_SIZE.to_string()));
        }
        let first = with_query(url, &query);
        let client = self.clone();
        Box::pin(async_stream::try_stream! {
            let mut next = Some(first);
            while let Some(url) = next.take() {
                let answer = client.send(Method::GET, &url, None, Api::Rest).await?;
                let items = list_items(&url, &answer.body, envelope)?;
                next = answer.link.as_deref().and_then(next_link);
                if items.is_empty() {
                    break;
                }
                yield items;
            }
        })
    }

    /// A GraphQL query; the answer's `data`. Errors in the answer fail the request, unless every
    /// one of them is of a type in `tolerated` (e.g. `NOT_FOUND`): then the partial `data` is
    /// returned.
    pub async fn graphql(
        &self,
        name: &str,
        query: &str,
        variables: Value,
        tolerated: &[&str],
    ) -> Result<Value, GithubError> {
        let body = serde_json::json!({"query": query, "variables": variables});
        let url = self.inner.urls.graphql.clone();
        let label = RequestLabel(format!("POST graphql {name}"));
        let mut limited = 0;
        loop {
            let answer = self
                .send(Method::POST, &url, Some(body.clone()), Api::GraphQl)
                .await?;
            let value = parse_json(&url, &answer.body)?;
            let errors = value
                .get("errors")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if errors.is_empty() {
                return Ok(value.get("data").cloned().unwrap_or(Value::Null));
            }
            let types: Vec<&str> = errors
                .iter()
                .map(|e| e.get("type").and_then(Value::as_str).unwrap_or("ERROR"))
                .collect();
            if types.contains(&"RATE_LIMITED") && limited < self.inner.policy.rate_limit_retries {
                limited += 1;
                self.inner
                    .stats
                    .rate_limited
                    .fetch_add(1, Ordering::Relaxed);
                let wait = self
                    .inner
                    .graphql
                    .limited(&HeaderMap::new(), Duration::from_secs(60));
                tracing::warn!(
                    query = name,
                    seconds = wait.as_secs(),
                    "GitHub GraphQL rate limit"
                );
                continue;
            }
            if types.iter().all(|t| tolerated.contains(t)) {
                tracing::debug!(query = name, ?types, "GraphQL errors tolerated");
                return Ok(value.get("data").cloned().unwrap_or(Value::Null));
            }
            let messages = errors
                .iter()
                .take(5)
                .map(|e| {
                    format!(
                        "{}: {}",
                        e.get("type").and_then(Value::as_str).unwrap_or("ERROR"),
                        e.get("message").and_then(Value::as_str).unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            return Err(GithubError::GraphQl {
                request: label,
                messages,
            });
        }
    }

    /// Every page of a GraphQL connection: `variables.first` (default
    /// [`GRAPHQL_PAGE_SIZE`]) and `after` walk the cursor; `path` is the connection's location in
    /// `data` (`["organization", "membersWithRole"]`); items are its `node_key` list (`nodes`,
    /// or `edges`). A `null` on the path ends the listing with no items.
    pub fn graphql_paginate(
        &self,
        name: &'static str,
        query: &'static str,
        variables: Value,
        path: &'static [&'static str],
        node_key: &'static str,
    ) -> BoxStream<'static, Result<Vec<Value>, GithubError>> {
        let client = self.clone();
        Box::pin(async_stream::try_stream! {
            let mut after: Option<String> = None;
            loop {
                let mut vars = variables.clone();
                if vars.get("first").is_none_or(Value::is_null) {
                    vars["first"] = Value::from(GRAPHQL_PAGE_SIZE);
                }
                vars["after"] = after.clone().map(Value::from).unwrap_or(Value::Null);
                let data = client.graphql(name, query, vars, &[]).await?;
                let mut connection = &data;
                for key in path {
                    connection = connection.get(*key).unwrap_or(&Value::Null);
                }
                if connection.is_null() {
                    break;
                }
                let nodes: Vec<Value> = connection
                    .get(node_key)
                    .and_then(Value::as_array)
                    .map(|n| n.iter().filter(|v| !v.is_null()).cloned().collect())
                    .unwrap_or_default();
                let has_next = connection
                    .pointer("/pageInfo/hasNextPage")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                after = connection
                    .pointer("/pageInfo/endCursor")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let done = nodes.is_empty() || !has_next || after.is_none();
                if !nodes.is_empty() {
                    yield nodes;
                }
                if done {
                    break;
                }
            }
        })
    }

    /// Sends one request with the limiter, retries, page-size reduction and the cache.
    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<Value>,
        api: Api,
    ) -> Result<Answer, GithubError> {
        let inner = &*self.inner;
        let limiter = match api {
            Api::Rest => &inner.rest,
            Api::GraphQl => &inner.graphql,
        };
        let policy = &inner.policy;
        let mut url = url.to_owned();
        let mut body = body;
        let mut attempts = 0u32;
        let mut failures = 0u32;
        let mut limited = 0u32;
        let mut refreshed = false;
        loop {
            attempts += 1;
            let label = || RequestLabel::new(&method, &url);
            let slot = limiter
                .acquire(self.purpose, policy.max_wait)
                .await
                .map_err(|wait_seconds| GithubError::RateLimitTooLong {
                    request: label(),
                    wait_seconds,
                    max_seconds: policy.max_wait.as_secs(),
                })?;
            let authorization = inner.credential.authorization().await?;
            let cached = match (&inner.cache, method == Method::GET) {
                (Some(cache), true) => cache.get(&inner.cache_scope, &url).await,
                _ => None,
            };
            let mut request = inner
                .http
                .request(method.clone(), &url)
                .header(AUTHORIZATION, authorization);
            if let Some(cached) = &cached {
                request = request.header("if-none-match", &cached.etag);
            }
            if let Some(body) = &body {
                request = request.json(body);
            }
            inner.stats.requests.fetch_add(1, Ordering::Relaxed);
            let sent = request.send().await;
            let (status, headers, bytes) = match sent {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    limiter.observe(&headers);
                    match response.bytes().await {
                        Ok(bytes) => (status, headers, bytes),
                        Err(source) => {
                            drop(slot);
                            failures += 1;
                            if failures >= policy.max_attempts {
                                return Err(GithubError::Transport {
                                    request: label(),
                                    attempts,
                                    source,
                                });
                            }
                            inner.stats.retries.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(policy.backoff(failures)).await;
                            continue;
                        }
                    }
                }
                Err(source) => {
                    drop(slot);
                    failures += 1;
                    if failures >= policy.max_attempts {
                        return Err(GithubError::Transport {
                            request: label(),
                            attempts,
                            source,
                        });
                    }
                    inner.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(request = %label(), error = %source, "retrying a GitHub request");
                    tokio::time::sleep(policy.backoff(failures)).await;
                    continue;
                }
            };
            drop(slot);
            let link = headers
                .get("link")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if status == StatusCode::NOT_MODIFIED {
                if let Some(cached) = cached {
                    inner.stats.not_modified.fetch_add(1, Ordering::Relaxed);
                    return Ok(Answer {
                        status: StatusCode::OK,
                        link: cached.link,
                        body: cached.body,
                        from_cache: true,
                    });
                }
            }
            if status.is_success() {
                if let (Some(cache), true) = (&inner.cache, method == Method::GET) {
                    if let Some(etag) = headers.get("etag").and_then(|v| v.to_str().ok()) {
                        let answer = CachedAnswer {
                            etag: etag.to_owned(),
                            link: link.clone(),
                            body: bytes.clone(),
                        };
                        cache.put(&inner.cache_scope, &url, &answer).await;
                    }
                }
                return Ok(Answer {
                    status,
                    link,
                    body: bytes,
                    from_cache: false,
                });
            }
            if ratelimit::is_rate_limited(status, &headers) && limited < policy.rate_limit_retries {
                limited += 1;
                inner.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                let wait = limiter.limited(
                    &headers,
                    policy.backoff(limited).max(Duration::from_secs(1)),
                );
                tracing::warn!(
                    request = %label(),
                    status = status.as_u16(),
                    seconds = wait.as_secs_f64(),
                    "GitHub rate limit reached: waiting, then retrying"
                );
                continue;
            }
            if status == StatusCode::UNAUTHORIZED && !refreshed && inner.credential.refresh().await
            {
                refreshed = true;
                continue;
            }
            let server_error = status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT;
            if matches!(status.as_u16(), 500 | 502 | 504) {
                let reduced = match api {
                    Api::Rest if method == Method::GET => reduce_page_size(&url).map(|u| (u, None)),
                    Api::GraphQl => body
                        .as_ref()
                        .and_then(reduce_graphql_page)
                        .map(|b| (url.clone(), Some(b))),
                    _ => None,
                };
                if let Some((smaller, new_body)) = reduced {
                    tracing::warn!(
                        request = %label(),
                        status = status.as_u16(),
                        "GitHub answered with a gateway error: retrying with a smaller page"
                    );
                    inner.stats.retries.fetch_add(1, Ordering::Relaxed);
                    url = smaller;
                    if new_body.is_some() {
                        body = new_body;
                    }
                    continue;
                }
            }
            if server_error {
                failures += 1;
                if failures < policy.max_attempts {
                    inner.stats.retries.fetch_add(1, Ordering::Relaxed);
                    let delay = ratelimit::retry_after(&headers, std::time::SystemTime::now())
                        .and_then(|t| t.duration_since(std::time::SystemTime::now()).ok())
                        .map(|d| d.min(policy.max_delay))
                        .unwrap_or_else(|| policy.backoff(failures));
                    tracing::debug!(request = %label(), status = status.as_u16(), "retrying a GitHub request");
                    tokio::time::sleep(delay).await;
                    continue;
                }
            }
            if cached.is_some() {
                if let Some(cache) = &inner.cache {
                    cache.remove(&inner.cache_scope, &url).await;
                }
            }
            return Err(GithubError::Status {
                request: label(),
                status,
                attempts,
                message: error_message(&bytes),
            });
        }
    }
}

fn parse_json(url: &str, body: &[u8]) -> Result<Value, GithubError> {
    serde_json::from_slice(body).map_err(|source| GithubError::NotJson {
        request: RequestLabel::new(&Method::GET, url),
        source,
    })
}

fn parse_json_or_empty(url: &str, body: &[u8]) -> Result<Value, GithubError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    parse_json(url, body)
}

/// The items of one page: the body if it is a list, else the list under `envelope`.
fn list_items(url: &str, body: &[u8], envelope: Option<&str>) -> Result<Vec<Value>, GithubError> {
    let value = parse_json(url, body)?;
    let list = match (value, envelope) {
        (Value::Array(items), _) => items,
        (Value::Object(mut map), Some(key)) => match map.remove(key) {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(GithubError::Shape {
                    request: RequestLabel::new(&Method::GET, url),
                    what: format!("a list under `{key}`"),
                });
            }
        },
        _ => {
            return Err(GithubError::Shape {
                request: RequestLabel::new(&Method::GET, url),
                what: "a list".to_owned(),
            });
        }
    };
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_are_found_among_the_others() {
        let link = r#"<https://api.github.com/organizations/1/repos?per_page=100&page=2>; rel="next", <https://api.github.com/organizations/1/repos?per_page=100&page=20>; rel="last""#;
        assert_eq!(
            next_link(link).as_deref(),
            Some("https://api.github.com/organizations/1/repos?per_page=100&page=2")
        );
        let last = r#"<https://x/?page=1>; rel="prev", <https://x/?page=1>; rel="first""#;
        assert_eq!(next_link(last), None);
        assert_eq!(next_link(""), None);
    }

    #[test]
    fn page_size_halves_to_25_and_keeps_the_offset() {
        let url = "https://x/repos?state=open&per_page=100&page=3";
        let half = reduce_page_size(url).unwrap();
        assert_eq!(half, "https://x/repos?state=open&per_page=50&page=5");
        let quarter = reduce_page_size(&half).unwrap();
        assert_eq!(quarter, "https://x/repos?state=open&per_page=25&page=9");
        assert_eq!(reduce_page_size(&quarter), None);
        assert_eq!(
            reduce_page_size("https://x/r?per_page=100").unwrap(),
            "https://x/r?per_page=50"
        );
        assert_eq!(reduce_page_size("https://x/r"), None);
    }

    #[test]
    fn graphql_pages_shrink_to_one() {
        let body = serde_json::json!({"query": "q", "variables": {"first": 25}});
        let smaller = reduce_graphql_page(&body).unwrap();
        assert_eq!(smaller["variables"]["first"], 12);
        let one = serde_json::json!({"variables": {"first": 1}});
        assert_eq!(reduce_graphql_page(&one), None);
    }

    #[test]
    fn queries_are_encoded() {
        assert_eq!(
            with_query(
                "https://x/search/repositories",
                &[("q", "org:acme topic:a b".into())]
            ),
            "https://x/search/repositories?q=org%3Aacme+topic%3Aa+b"
        );
    }

    #[test]
    fn pages_are_lists_or_envelopes() {
        assert_eq!(list_items("u", b"[1,2]", None).unwrap().len(), 2);
        assert_eq!(
            list_items(
                "u",
                br#"{"total_count":1,"workflows":[{}]}"#,
                Some("workflows")
            )
            .unwrap()
            .len(),
            1
        );
        let err = list_items("https://x/a", br#"{"message":"x"}"#, Some("workflows")).unwrap_err();
        assert!(
            err.to_string().contains("a list under `workflows`"),
            "{err}"
        );
    }
}
