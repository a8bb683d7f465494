//! The GitHub API client: one per credential, shared by every kind and webhook that uses it,
//! built on the SDK's HTTP toolkit (`ocean::http`).
//!
//! - Two [`HttpClient`]s per credential, REST and GraphQL (GitHub counts their quotas apart),
//!   each with its own rate limiter and concurrency limit ([`REST_CONCURRENCY`],
//!   [`GRAPHQL_CONCURRENCY`]); every kind and webhook of the credential shares them.
//! - Primary limits from `x-ratelimit-*`: once `resyncRatelimitReservationThreshold` percent of
//!   the quota is used, resync requests wait for the reset and leave the rest to live events
//!   ([`Purpose::Live`] requests spend the reserve); secondary limits (`retry-after`, a 403
//!   with `remaining: 0`) pause every request of the credential and are waited out (up to
//!   [`MAX_RATE_LIMIT_WAIT`] per wait), not failed. GraphQL's `RATE_LIMITED` errors pause the
//!   GraphQL limiter for a minute.
//! - Retries ([`retry_policy`]): 5xx and connection failures with exponential backoff; a
//!   `500`/`502`/`504` on a paginated request first halves the page size (down to
//!   [`MIN_PAGE_SIZE`], keeping the offset: `page` is rewritten) as the reference does; a 401
//!   with an installation token mints a new token once. A `POST` that may have created
//!   something (a webhook) is not retried.
//! - Headers on every request: `Authorization: Bearer …` (only to the API's origin),
//!   `Accept: application/vnd.github+json`, `X-GitHub-Api-Version: 2022-11-28`.
//! - Conditional requests: every `GET` sends the `ETag` of its cached answer, and a `304` is
//!   answered from the [`cache`] (GitHub does not count it against the quota).
//!
//! Errors name the request and never a token ([`GithubError`]). Items stay `serde_json::Value`s,
//! exactly as GitHub sent them: the mapping is what reads them.

pub mod cache;
pub mod error;

pub use cache::{CachedAnswer, EtagCache};
pub use error::{GithubError, error_message};

use crate::auth::Credential;
use crate::config::GithubUrls;
use bytes::Bytes;
use futures::stream::BoxStream;
use ocean::http::{
    AuthError, Authenticator, Credentials, HttpClient, HttpError, Method, RateLimitHeaders,
    RateLimiter, Request, RequestLabel, Reserve, Response, RetryPolicy, SharedStats,
};
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
/// REST requests in flight per credential (as the reference).
pub const REST_CONCURRENCY: usize = 10;
/// GraphQL requests in flight per credential (as the reference).
pub const GRAPHQL_CONCURRENCY: usize = 5;
/// How long one request may take, body included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// The longest single wait for a rate limit's reset; a longer one fails the request.
pub const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(3600);
/// How long a GraphQL `RATE_LIMITED` error (which carries no reset time) pauses the credential's
/// GraphQL requests.
pub const GRAPHQL_RATE_LIMIT_PAUSE: Duration = Duration::from_secs(60);

/// The integration's retry policy: 4 retries of a 5xx or a failed connection (5 attempts in
/// all), 10 of rate-limited answers, 1 s doubling to 60 s. Tests pass `retry_policy().fast()`.
pub fn retry_policy() -> RetryPolicy {
    RetryPolicy {
        max_retries: 4,
        rate_limit_retries: Some(10),
        ..RetryPolicy::default()
    }
}

/// Who is asking: a resync is held back by the reservation threshold, live events are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A full resync.
    Resync,
    /// A webhook, the startup hook registration, anything else.
    Live,
}

/// Counters of what the clients did, for logs, the benchmark and tests.
#[derive(Debug, Default)]
pub struct Stats {
    http: SharedStats,
    graphql_rate_limited: AtomicU64,
    degraded: Mutex<BTreeMap<String, u64>>,
}

/// A snapshot of [`Stats`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// HTTP requests sent (every attempt).
    pub requests: u64,
    /// Of those, answered `304 Not Modified` from the cache.
    pub not_modified: u64,
    /// Rate-limited answers waited out (GraphQL `RATE_LIMITED` errors included).
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
        let http = self.http.snapshot();
        StatsSnapshot {
            requests: http.requests,
            not_modified: http.not_modified,
            rate_limited: http.rate_limited + self.graphql_rate_limited.load(Ordering::Relaxed),
            retries: http.retries,
            degraded: self
                .degraded
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }
}

/// A successful answer (fresh, or from the cache after a `304`): the `Link` header, the body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The request it answers (for errors about its content).
    pub label: RequestLabel,
    /// The `Link` header, for pagination.
    pub link: Option<String>,
    /// The body.
    pub body: Bytes,
}

/// The GitHub client of one credential; cheap to clone.
#[derive(Clone)]
pub struct GithubClient {
    inner: Arc<Inner>,
    purpose: Purpose,
}

struct Inner {
    rest: HttpClient,
    graphql: HttpClient,
    urls: GithubUrls,
    credential: Credential,
    scope: String,
    cache_scope: String,
    cache: Option<EtagCache>,
    /// The policy of a request whose page can still shrink: a 500, 502 or 504 is returned at
    /// once, so that the page is asked for again smaller.
    shrinkable: RetryPolicy,
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
    /// Retries and waits ([`retry_policy`]).
    pub policy: RetryPolicy,
    /// The resync reservation threshold, percent.
    pub threshold: u8,
    /// The conditional-request cache, if any.
    pub cache: Option<EtagCache>,
    /// Shared counters.
    pub stats: Arc<Stats>,
}

/// A credential as the SDK's clients use it: a bearer token (a PAT, the App's JWT, an
/// installation token minted on demand); a 401 on an installation token mints a new one.
struct CredentialAuth(Credential);

#[ocean::prelude::async_trait]
impl Authenticator for CredentialAuth {
    async fn credentials(&self) -> Result<Arc<Credentials>, AuthError> {
        let token = self
            .0
            .token()
            .await
            .map_err(|e| AuthError::new(e.to_string()))?;
        Credentials::bearer(&token).map(Arc::new)
    }

    async fn rejected(&self, _used: &Arc<Credentials>) -> bool {
        self.0.refresh().await
    }
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

/// `policy` less the retries of the gateway errors a smaller page may avoid: a request whose
/// page can still shrink gets them back at once and asks again for a smaller page.
fn shrinkable_policy(policy: &RetryPolicy) -> RetryPolicy {
    let mut shrinkable = policy.clone();
    shrinkable
        .retry_statuses
        .retain(|s| !matches!(s, 500 | 502 | 504));
    shrinkable
}

/// Whether an error is the gateway error that a smaller page may avoid.
fn is_gateway_error(error: &HttpError) -> bool {
    error
        .status()
        .is_some_and(|s| matches!(s.as_u16(), 500 | 502 | 504))
}

impl GithubClient {
    /// A client for `credential`.
    pub fn new(credential: Credential, options: ClientOptions) -> Result<Self, GithubError> {
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
        // GitHub's threshold is the share of the quota a resync may use; the SDK's reserve is
        // the share it leaves.
        let reserve = Reserve::Fraction(f64::from(100 - options.threshold.min(100)) / 100.0);
        let auth: Arc<dyn Authenticator> = Arc::new(CredentialAuth(credential.clone()));
        let build = |base: &str, concurrency: usize| {
            HttpClient::builder("GitHub")
                .base_url(base)
                .user_agent(concat!("ocean-github/", env!("CARGO_PKG_VERSION")))
                .header("accept", ACCEPT_GITHUB)
                .header("x-github-api-version", API_VERSION)
                .timeout(REQUEST_TIMEOUT)
                .retry(options.policy.clone())
                .concurrency(concurrency)
                .limiter(
                    RateLimiter::new(None, Some(RateLimitHeaders::github().reserve(reserve)))
                        .max_wait(MAX_RATE_LIMIT_WAIT),
                )
                .max_rate_limit_wait(MAX_RATE_LIMIT_WAIT)
                .authenticator(auth.clone())
                .shared_stats(&options.stats.http)
                .build()
        };
        let rest = build(&options.urls.rest, REST_CONCURRENCY)?;
        let graphql = build(&options.urls.graphql, GRAPHQL_CONCURRENCY)?;
        let shrinkable = shrinkable_policy(&options.policy);
        Ok(GithubClient {
            inner: Arc::new(Inner {
                rest,
                graphql,
                urls: options.urls,
                credential,
                scope,
                cache_scope,
                cache: options.cache,
                shrinkable,
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
        let answer = self.rest(Method::GET, &url, None, None).await?;
        parse_json(&answer)
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

    /// A REST `POST` with a JSON body. `idempotent`: whether sending it twice does no harm (a
    /// token mint), so that a 5xx or a lost connection may be retried; a `POST` that creates
    /// something (a webhook) is sent once.
    pub async fn post_json(
        &self,
        url: &str,
        body: &Value,
        idempotent: bool,
    ) -> Result<Value, GithubError> {
        let answer = self
            .rest(Method::POST, url, Some(body), Some(idempotent))
            .await?;
        parse_json_or_empty(&answer)
    }

    /// A REST `PATCH` with a JSON body (it sets values: sending it twice does no harm).
    pub async fn patch_json(&self, url: &str, body: &Value) -> Result<Value, GithubError> {
        let answer = self
            .rest(Method::PATCH, url, Some(body), Some(true))
            .await?;
        parse_json_or_empty(&answer)
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
                let answer = client.rest(Method::GET, &url, None, None).await?;
                let items = list_items(&answer, envelope)?;
                next = answer
                    .link
                    .as_deref()
                    .and_then(|link| ocean::http::find_link(link, "next"));
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
        let mut body = serde_json::json!({"query": query, "variables": variables});
        let mut limited = 0;
        loop {
            let shrinkable = reduce_graphql_page(&body).is_some();
            // A query reads: sending it twice does no harm.
            let mut request = self
                .inner
                .graphql
                .post(&self.inner.urls.graphql)
                .json(&body)
                .idempotent(true)
                .spend_reserve(self.purpose == Purpose::Live);
            if shrinkable {
                request = request.retry(self.inner.shrinkable.clone());
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(error) if shrinkable && is_gateway_error(&error) => {
                    tracing::warn!(query = name, %error, "GitHub answered with a gateway error: retrying with a smaller page");
                    body = reduce_graphql_page(&body).unwrap_or(body);
                    continue;
                }
                Err(error) => return Err(error.into()),
            };
            let value: Value = response.json()?;
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
            if types.contains(&"RATE_LIMITED")
                && limited < self.inner.shrinkable.rate_limit_budget()
            {
                limited += 1;
                self.inner
                    .stats
                    .graphql_rate_limited
                    .fetch_add(1, Ordering::Relaxed);
                self.inner
                    .graphql
                    .limiter()
                    .pause_for(GRAPHQL_RATE_LIMIT_PAUSE);
                tracing::warn!(
                    query = name,
                    seconds = GRAPHQL_RATE_LIMIT_PAUSE.as_secs(),
                    "GitHub GraphQL rate limit: pausing GraphQL requests"
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
                request: response.label().clone(),
                query: name.to_owned(),
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

    /// Sends one REST request with the credential's client, the page-size reduction and the
    /// conditional-request cache (`GET`s only).
    async fn rest(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        idempotent: Option<bool>,
    ) -> Result<Answer, GithubError> {
        let inner = &*self.inner;
        let is_get = method == Method::GET;
        let mut url = url.to_owned();
        loop {
            // Only the validator now: the cached body is read after a 304, so a request waiting
            // for its slot holds no body.
            let etag = match (&inner.cache, is_get) {
                (Some(cache), true) => cache.etag(&inner.cache_scope, &url).await,
                _ => None,
            };
            let smaller = if is_get { reduce_page_size(&url) } else { None };
            let mut request: Request = inner
                .rest
                .request(method.clone(), &url)
                .spend_reserve(self.purpose == Purpose::Live);
            if let Some(etag) = &etag {
                request = request.if_none_match(etag);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            if let Some(idempotent) = idempotent {
                request = request.idempotent(idempotent);
            }
            if smaller.is_some() {
                request = request.retry(inner.shrinkable.clone());
            }
            let error = match request.send().await {
                Ok(response) => return self.answer(&url, response, etag.is_some(), is_get).await,
                Err(error) => error,
            };
            if let (Some(smaller), true) = (smaller, is_gateway_error(&error)) {
                tracing::warn!(%error, "GitHub answered with a gateway error: retrying with a smaller page");
                url = smaller;
                continue;
            }
            if etag.is_some() {
                if let Some(cache) = &inner.cache {
                    cache.remove(&inner.cache_scope, &url).await;
                }
            }
            return Err(error.into());
        }
    }

    /// The answer of a 2xx or 304: a 304 from the cache, a fresh `GET`'s answer into it.
    async fn answer(
        &self,
        url: &str,
        response: Response,
        conditional: bool,
        is_get: bool,
    ) -> Result<Answer, GithubError> {
        let inner = &*self.inner;
        let label = response.label().clone();
        if response.is_not_modified() {
            let cached = match (&inner.cache, conditional) {
                (Some(cache), true) => cache.get(&inner.cache_scope, url).await,
                _ => None,
            };
            return match cached {
                Some(cached) => Ok(Answer {
                    label,
                    link: cached.link,
                    body: cached.body,
                }),
                None => Err(response
                    .shape_error("a body: it answered 304 Not Modified, and no cached answer was there to use")
                    .into()),
            };
        }
        let link = response.header("link").map(str::to_owned);
        if let (Some(cache), Some(etag), true) = (&inner.cache, response.etag(), is_get) {
            let answer = CachedAnswer {
                etag: etag.to_owned(),
                link: link.clone(),
                body: response.body().clone(),
            };
            cache.put(&inner.cache_scope, url, &answer).await;
        }
        Ok(Answer {
            label,
            link,
            body: response.into_body(),
        })
    }
}

fn parse_json(answer: &Answer) -> Result<Value, GithubError> {
    serde_json::from_slice(&answer.body).map_err(|source| {
        GithubError::Http(HttpError::Decode {
            request: answer.label.clone(),
            source,
        })
    })
}

fn parse_json_or_empty(answer: &Answer) -> Result<Value, GithubError> {
    if answer.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    parse_json(answer)
}

/// The items of one page: the body if it is a list, else the list under `envelope`.
fn list_items(answer: &Answer, envelope: Option<&str>) -> Result<Vec<Value>, GithubError> {
    let shape = |what: String| {
        GithubError::Http(HttpError::Shape {
            request: answer.label.clone(),
            what,
        })
    };
    let list = match (parse_json(answer)?, envelope) {
        (Value::Array(items), _) => items,
        (Value::Object(mut map), Some(key)) => match map.remove(key) {
            Some(Value::Array(items)) => items,
            _ => return Err(shape(format!("a list under `{key}`"))),
        },
        _ => return Err(shape("a list".to_owned())),
    };
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn answer(body: &'static [u8]) -> Answer {
        let url = url::Url::parse("https://x/a").unwrap();
        Answer {
            label: RequestLabel::new("GitHub", &Method::GET, &url, &[]),
            link: None,
            body: Bytes::from_static(body),
        }
    }

    #[test]
    fn pages_are_lists_or_envelopes() {
        assert_eq!(list_items(&answer(b"[1,2]"), None).unwrap().len(), 2);
        let envelope = answer(br#"{"total_count":1,"workflows":[{}]}"#);
        assert_eq!(list_items(&envelope, Some("workflows")).unwrap().len(), 1);
        let err = list_items(&answer(br#"{"message":"x"}"#), Some("workflows")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("a list under `workflows`") && text.contains("GET https://x/a"),
            "{text}"
        );
    }

    #[test]
    fn a_page_that_can_shrink_is_not_retried_at_its_size_on_a_gateway_error() {
        let policy = retry_policy();
        assert_eq!(
            (policy.max_retries, policy.rate_limit_retries),
            (4, Some(10))
        );
        let shrinkable = shrinkable_policy(&policy);
        for status in [500, 502, 504] {
            assert!(policy.is_retryable_status(status));
            assert!(!shrinkable.is_retryable_status(status));
        }
        assert!(shrinkable.is_retryable_status(503) && shrinkable.is_retryable_status(429));
    }
}
