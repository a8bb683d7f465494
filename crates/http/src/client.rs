//! The HTTP client integrations call third-party APIs with.
//!
//! One [`HttpClient`] per API and credential, cheap to clone (clones share the connection pool,
//! the concurrency limit, the rate limiter and the statistics). A call is a [`Request`] — a
//! plain value that can be cloned and changed, which is what the paginators do — sent with
//! [`Request::send`], which:
//!
//! 1. waits for the [`RateLimiter`] (configured rate, reported budget, pauses asked for) and a
//!    concurrency slot (held only while the attempt is in flight, not while waiting to retry);
//! 2. adds the credentials (only to URLs of the base URL's origin, so a next link to another
//!    host never receives them) and sends, reading the whole body;
//! 3. on a rate-limited answer (429, or 403 with `Retry-After` or an exhausted budget — GitHub's
//!    secondary and primary limits) pauses every request for what the API asked (`Retry-After`,
//!    else the budget's reset, else the policy's backoff) and retries, up to the policy's
//!    rate-limit budget; any method, since the API did not process it;
//! 4. on a 401 with renewable credentials, renews them and sends once more;
//! 5. on a retryable status (5xx, 408) or a transport error retries idempotent requests (GET,
//!    HEAD, PUT, DELETE, OPTIONS, or any request marked [`Request::idempotent`]) with the
//!    policy's backoff;
//! 6. returns the answer for 2xx and 304, else an [`HttpError`] naming the request.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{
    CONTENT_TYPE, ETAG, HeaderMap, HeaderName, HeaderValue, IF_NONE_MATCH, LINK, RETRY_AFTER,
};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use url::Url;

use crate::auth::{Authenticator, Credentials, StaticAuth};
use crate::error::{HttpError, RequestLabel, excerpt};
use crate::limit::{Rate, RateLimitHeaders, RateLimiter};
use crate::link::find_link;
use crate::retry::RetryPolicy;

/// Decides that an error answer must not be retried, whatever the policy says (e.g. a daily
/// quota that will not come back within the resync).
pub type NoRetryRule = dyn Fn(StatusCode, &HeaderMap) -> bool + Send + Sync;

/// Counts of what a client did, for logs, tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Attempts sent (first tries and retries).
    pub requests: u64,
    /// Retries after an error status or transport failure.
    pub retries: u64,
    /// Answers that were rate-limited.
    pub rate_limited: u64,
    /// Answers `304 Not Modified`.
    pub not_modified: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
    not_modified: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> Stats {
        Stats {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            not_modified: self.not_modified.load(Ordering::Relaxed),
        }
    }
}

/// [`Stats`] counted together by several clients (e.g. every credential's clients of one
/// integration), given to each with [`HttpClientBuilder::shared_stats`]. Cheap to clone.
#[derive(Clone, Default)]
pub struct SharedStats(Arc<Counters>);

impl SharedStats {
    /// What the clients sharing these counters have done so far.
    pub fn snapshot(&self) -> Stats {
        self.0.snapshot()
    }
}

impl fmt::Debug for SharedStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.snapshot(), f)
    }
}

/// Builds an [`HttpClient`].
pub struct HttpClientBuilder {
    service: String,
    base_url: Option<String>,
    headers: HeaderMap,
    invalid: Vec<String>,
    user_agent: String,
    timeout: Duration,
    connect_timeout: Duration,
    accept_invalid_certs: bool,
    retry: RetryPolicy,
    concurrency: usize,
    rate: Option<Rate>,
    budget: Option<RateLimitHeaders>,
    limiter: Option<RateLimiter>,
    max_rate_limit_wait: Duration,
    auth: Option<Arc<dyn Authenticator>>,
    secret_params: Vec<String>,
    no_retry: Option<Arc<NoRetryRule>>,
    counters: Option<Arc<Counters>>,
}

impl fmt::Debug for HttpClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClientBuilder")
            .field("service", &self.service)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl HttpClientBuilder {
    /// The base URL relative paths are joined to (a trailing `/` is added when missing, so
    /// `https://api.example.com/v1` + `items` is `…/v1/items`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// A header sent with every request (`Accept`, an API version).
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        let name = name.as_ref();
        match (
            HeaderName::try_from(name),
            HeaderValue::from_str(value.as_ref()),
        ) {
            (Ok(n), Ok(v)) => {
                self.headers.insert(n, v);
            }
            _ => self
                .invalid
                .push(format!("the header {name:?} cannot be sent")),
        }
        self
    }

    /// The `User-Agent` (default `ocean-http/<version>`; integrations pass their own).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// How long one attempt may take, body included (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long connecting may take (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Accept any TLS certificate (a `verifySsl: false` setting). Off by default.
    pub fn accept_invalid_certs(mut self, accept: bool) -> Self {
        self.accept_invalid_certs = accept;
        self
    }

    /// The retry policy of every request (default [`RetryPolicy::default`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// At most this many requests in flight at once (default 10).
    pub fn concurrency(mut self, limit: usize) -> Self {
        self.concurrency = limit.max(1);
        self
    }

    /// At most this request rate (none by default).
    pub fn rate_limit(mut self, rate: Rate) -> Self {
        self.rate = Some(rate);
        self
    }

    /// Read the API's budget from these response headers and pause at its reserve.
    pub fn rate_limit_headers(mut self, headers: RateLimitHeaders) -> Self {
        self.budget = Some(headers);
        self
    }

    /// Share this limiter (e.g. one per credential across several clients) instead of building
    /// one from [`rate_limit`](Self::rate_limit) and
    /// [`rate_limit_headers`](Self::rate_limit_headers).
    pub fn limiter(mut self, limiter: RateLimiter) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// The longest pause a rate limit may impose before a request fails instead (default 1 h).
    pub fn max_rate_limit_wait(mut self, wait: Duration) -> Self {
        self.max_rate_limit_wait = wait;
        self
    }

    /// Fixed credentials.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.auth = Some(Arc::new(StaticAuth(Arc::new(credentials))));
        self
    }

    /// Credentials from an [`Authenticator`] (renewed on expiry and on 401).
    pub fn authenticator(mut self, auth: Arc<dyn Authenticator>) -> Self {
        self.auth = Some(auth);
        self
    }

    /// A query parameter whose value is redacted in labels and errors (besides the usual
    /// `token`, `api_key`, …).
    pub fn secret_query_param(mut self, name: impl Into<String>) -> Self {
        self.secret_params.push(name.into());
        self
    }

    /// Error answers for which `rule` holds are returned at once, never retried.
    pub fn no_retry_when<F>(mut self, rule: F) -> Self
    where
        F: Fn(StatusCode, &HeaderMap) -> bool + Send + Sync + 'static,
    {
        self.no_retry = Some(Arc::new(rule));
        self
    }

    /// Counts into these shared counters instead of the client's own; its
    /// [`HttpClient::stats`] then reports the shared totals.
    pub fn shared_stats(mut self, stats: &SharedStats) -> Self {
        self.counters = Some(stats.0.clone());
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<HttpClient, HttpError> {
        let build_error = |reason: String| HttpError::Build {
            service: self.service.clone(),
            reason,
        };
        if let Some(reason) = self.invalid.first() {
            return Err(build_error(reason.clone()));
        }
        self.retry
            .validate()
            .map_err(|e| build_error(e.to_string()))?;
        let base = match &self.base_url {
            None => None,
            Some(raw) => {
                let with_slash = if raw.ends_with('/') {
                    raw.clone()
                } else {
                    format!("{raw}/")
                };
                let url = Url::parse(&with_slash).map_err(|e| HttpError::Url {
                    service: self.service.clone(),
                    url: raw.clone(),
                    reason: e.to_string(),
                })?;
                if url.cannot_be_a_base() || !matches!(url.scheme(), "http" | "https") {
                    return Err(HttpError::Url {
                        service: self.service.clone(),
                        url: raw.clone(),
                        reason: "an http(s) URL that can take paths is needed".into(),
                    });
                }
                Some(url)
            }
        };
        let http = reqwest::Client::builder()
            .default_headers(self.headers.clone())
            .user_agent(self.user_agent.clone())
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .danger_accept_invalid_certs(self.accept_invalid_certs)
            .build()
            .map_err(|e| build_error(e.to_string()))?;
        let limiter = self.limiter.unwrap_or_else(|| {
            RateLimiter::new(self.rate, self.budget).max_wait(self.max_rate_limit_wait)
        });
        Ok(HttpClient {
            inner: Arc::new(Inner {
                service: self.service,
                base,
                http,
                retry: self.retry,
                permits: Semaphore::new(self.concurrency),
                limiter,
                max_rate_limit_wait: self.max_rate_limit_wait,
                auth: self.auth,
                secret_params: self.secret_params,
                no_retry: self.no_retry,
                counters: self.counters.unwrap_or_default(),
            }),
        })
    }
}

/// A client of one third-party API. Cheap to clone.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    service: String,
    base: Option<Url>,
    http: reqwest::Client,
    retry: RetryPolicy,
    permits: Semaphore,
    limiter: RateLimiter,
    max_rate_limit_wait: Duration,
    auth: Option<Arc<dyn Authenticator>>,
    secret_params: Vec<String>,
    no_retry: Option<Arc<NoRetryRule>>,
    counters: Arc<Counters>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("service", &self.inner.service)
            .field("base_url", &self.inner.base.as_ref().map(Url::as_str))
            .field("authenticated", &self.inner.auth.is_some())
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A builder for a client of `service` (its name in errors and logs: `PagerDuty`).
    pub fn builder(service: impl Into<String>) -> HttpClientBuilder {
        HttpClientBuilder {
            service: service.into(),
            base_url: None,
            headers: HeaderMap::new(),
            invalid: Vec::new(),
            user_agent: concat!("ocean-http/", env!("CARGO_PKG_VERSION")).to_owned(),
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            accept_invalid_certs: false,
            retry: RetryPolicy::default(),
            concurrency: 10,
            rate: None,
            budget: None,
            limiter: None,
            max_rate_limit_wait: Duration::from_secs(3600),
            auth: None,
            secret_params: Vec::new(),
            no_retry: None,
            counters: None,
        }
    }

    /// The service's name.
    pub fn service(&self) -> &str {
        &self.inner.service
    }

    /// The base URL, if one was given.
    pub fn base_url(&self) -> Option<&Url> {
        self.inner.base.as_ref()
    }

    /// The client's rate limiter (shared by its clones).
    pub fn limiter(&self) -> &RateLimiter {
        &self.inner.limiter
    }

    /// What the client (with the clients it shares [`SharedStats`] with) has done so far.
    pub fn stats(&self) -> Stats {
        self.inner.counters.snapshot()
    }

    /// The URL of `path`: an absolute `http(s)` URL as is, else joined to the base URL.
    pub fn url(&self, path: &str) -> Result<Url, HttpError> {
        self.parse_url(path).map_err(|bad| HttpError::Url {
            service: self.inner.service.clone(),
            url: bad.given,
            reason: bad.reason,
        })
    }

    fn parse_url(&self, path: &str) -> Result<Url, BadUrl> {
        let invalid = |reason: String| BadUrl {
            given: path.to_owned(),
            reason,
        };
        if let Ok(url) = Url::parse(path) {
            if matches!(url.scheme(), "http" | "https") {
                return Ok(url);
            }
        }
        let base = self.inner.base.as_ref().ok_or_else(|| {
            invalid("a relative path needs the client's base URL, and none was set".into())
        })?;
        base.join(path.trim_start_matches('/'))
            .map_err(|e| invalid(e.to_string()))
    }

    /// A request of `method` to `path` (relative to the base URL, or absolute).
    pub fn request(&self, method: Method, path: &str) -> Request {
        Request {
            client: self.clone(),
            method,
            url: self.parse_url(path),
            headers: HeaderMap::new(),
            body: None,
            idempotent: None,
            spend_reserve: false,
            retry: None,
            invalid: None,
        }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Request {
        self.request(Method::GET, path)
    }

    /// `POST path`.
    pub fn post(&self, path: &str) -> Request {
        self.request(Method::POST, path)
    }

    /// `PUT path`.
    pub fn put(&self, path: &str) -> Request {
        self.request(Method::PUT, path)
    }

    /// `PATCH path`.
    pub fn patch(&self, path: &str) -> Request {
        self.request(Method::PATCH, path)
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> Request {
        self.request(Method::DELETE, path)
    }

    fn label(&self, method: &Method, url: &Url, credentials: Option<&Credentials>) -> RequestLabel {
        let mut secret_params = self.inner.secret_params.clone();
        if let Some(c) = credentials {
            secret_params.extend(c.query_names().map(str::to_owned));
        }
        RequestLabel::new(&self.inner.service, method, url, &secret_params)
    }

    /// Whether credentials go to `url`: with a base URL, only to its origin.
    fn authenticates(&self, url: &Url) -> bool {
        self.inner
            .base
            .as_ref()
            .is_none_or(|base| base.origin() == url.origin())
    }

    async fn execute(&self, request: &Request) -> Result<Response, HttpError> {
        let inner = &self.inner;
        let url = match &request.url {
            Ok(url) => url.clone(),
            Err(bad) => {
                return Err(HttpError::Url {
                    service: inner.service.clone(),
                    url: bad.given.clone(),
                    reason: bad.reason.clone(),
                });
            }
        };
        let policy = request.retry.as_ref().unwrap_or(&inner.retry);
        let idempotent = request.idempotent.unwrap_or(matches!(
            request.method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        ));
        let auth = inner.auth.as_ref().filter(|_| self.authenticates(&url));
        let shared_budget = policy.rate_limit_retries.is_none();
        let (mut failures, mut limited, mut attempts) = (0u32, 0u32, 0u32);
        let mut renewed = false;
        loop {
            attempts += 1;
            let credentials = match auth {
                Some(auth) => Some(auth.credentials().await.map_err(|e| HttpError::Auth {
                    service: inner.service.clone(),
                    request: self.label(&request.method, &url, None),
                    reason: e.0,
                })?),
                None => None,
            };
            let label = || self.label(&request.method, &url, credentials.as_deref());
            if let Err(too_long) = inner.limiter.acquire_for(request.spend_reserve).await {
                return Err(HttpError::RateLimitTooLong {
                    request: label(),
                    wait_seconds: too_long.0.as_secs(),
                    max_seconds: inner.max_rate_limit_wait.as_secs(),
                });
            }
            if let Some(invalid) = &request.invalid {
                return Err(HttpError::Shape {
                    request: label(),
                    what: format!("a request that can be sent ({invalid})"),
                });
            }
            let mut outgoing = reqwest::Request::new(request.method.clone(), url.clone());
            *outgoing.headers_mut() = request.headers.clone();
            if let Some((content_type, body)) = &request.body {
                outgoing
                    .headers_mut()
                    .insert(CONTENT_TYPE, content_type.clone());
                *outgoing.body_mut() = Some(body.clone().into());
            }
            if let Some(c) = &credentials
                && let Err(why) = c.apply(&mut outgoing)
            {
                return Err(HttpError::Unsendable {
                    request: label(),
                    why,
                });
            }
            inner.counters.requests.fetch_add(1, Ordering::Relaxed);
            let answer = {
                let _slot = inner.permits.acquire().await;
                match inner.http.execute(outgoing).await {
                    Ok(response) => {
                        let status = response.status();
                        let headers = response.headers().clone();
                        let final_url = response.url().clone();
                        response
                            .bytes()
                            .await
                            .map(|body| (status, headers, final_url, body))
                    }
                    Err(e) => Err(e),
                }
            };
            let (status, headers, final_url, body) = match answer {
                Ok(answer) => answer,
                Err(source) => {
                    // reqwest's message repeats the URL with its query (credentials included);
                    // the label says which request it was.
                    let source = source.without_url();
                    let may_retry = idempotent
                        && if shared_budget {
                            failures + limited < policy.max_retries
                        } else {
                            failures < policy.max_retries
                        };
                    if !may_retry {
                        return Err(HttpError::Transport {
                            request: label(),
                            attempts,
                            source,
                        });
                    }
                    failures += 1;
                    let wait = policy.backoff(failures, jitter());
                    inner.counters.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(request = %label(), error = %source, attempt = attempts, wait_seconds = wait.as_secs_f64(), "{} request failed; retrying", inner.service);
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            let exhausted_for = inner.limiter.observe(&headers);
            if status.is_success() || status == StatusCode::NOT_MODIFIED {
                if status == StatusCode::NOT_MODIFIED {
                    inner.counters.not_modified.fetch_add(1, Ordering::Relaxed);
                }
                return Ok(Response {
                    label: label(),
                    status,
                    headers,
                    url: final_url,
                    body,
                });
            }
            let status_error = |attempts: u32| {
                let secrets = credentials
                    .as_ref()
                    .map(|c| c.secret_values())
                    .unwrap_or_default();
                HttpError::Status {
                    request: label(),
                    status,
                    attempts,
                    body: excerpt(&body, &secrets),
                    headers: Box::new(headers.clone()),
                }
            };
            if status == StatusCode::UNAUTHORIZED && !renewed {
                if let (Some(auth), Some(used)) = (auth, &credentials) {
                    if auth.rejected(used).await {
                        renewed = true;
                        tracing::info!(request = %label(), "{} refused the credentials; renewing them and sending again", inner.service);
                        continue;
                    }
                }
            }
            if inner
                .no_retry
                .as_ref()
                .is_some_and(|rule| rule(status, &headers))
            {
                return Err(status_error(attempts));
            }
            let retry_after = policy.requested_wait(&headers, OffsetDateTime::now_utc());
            let rate_limited = status == StatusCode::TOO_MANY_REQUESTS
                || (status == StatusCode::FORBIDDEN
                    && (exhausted_for.is_some() || headers.contains_key(RETRY_AFTER)));
            if rate_limited {
                inner.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
                let may_retry = if shared_budget {
                    failures + limited < policy.max_retries
                } else {
                    limited < policy.rate_limit_budget()
                };
                if !may_retry {
                    return Err(status_error(attempts));
                }
                limited += 1;
                match retry_after.or(exhausted_for) {
                    Some(wait) => {
                        tracing::warn!(request = %label(), %status, wait_seconds = wait.as_secs_f64(), "{} rate limit reached; pausing requests", inner.service);
                        inner.limiter.pause_for(wait);
                    }
                    None => {
                        let wait = policy.backoff(limited, jitter());
                        tracing::warn!(request = %label(), %status, wait_seconds = wait.as_secs_f64(), "{} rate limit reached; retrying", inner.service);
                        tokio::time::sleep(wait).await;
                    }
                }
                continue;
            }
            let may_retry = idempotent
                && policy.is_retryable_status(status.as_u16())
                && if shared_budget {
                    failures + limited < policy.max_retries
                } else {
                    failures < policy.max_retries
                };
            if !may_retry {
                return Err(status_error(attempts));
            }
            failures += 1;
            inner.counters.retries.fetch_add(1, Ordering::Relaxed);
            let wait = policy.wait(failures, retry_after, jitter());
            tracing::warn!(request = %label(), %status, attempt = attempts, wait_seconds = wait.as_secs_f64(), "{} answered an error; retrying", inner.service);
            tokio::time::sleep(wait).await;
        }
    }
}

/// A path that formed no URL, kept until the request is sent.
#[derive(Debug, Clone)]
struct BadUrl {
    given: String,
    reason: String,
}

/// A uniform draw in `[-1, 1]` for the backoff's jitter.
fn jitter() -> f64 {
    rand::random_range(-1.0..=1.0)
}

/// One request to send: method, URL, headers, body and how to retry it. A plain value: clone it
/// to send variations (the paginators change its query or URL per page).
#[derive(Clone)]
pub struct Request {
    client: HttpClient,
    method: Method,
    url: Result<Url, BadUrl>,
    headers: HeaderMap,
    body: Option<(HeaderValue, Bytes)>,
    idempotent: Option<bool>,
    spend_reserve: bool,
    retry: Option<RetryPolicy>,
    invalid: Option<String>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = match &self.url {
            Ok(url) => crate::error::redact_url(url, &self.client.inner.secret_params),
            Err(bad) => bad.given.clone(),
        };
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &url)
            .finish_non_exhaustive()
    }
}

impl Request {
    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The URL (with its query), unless the path could not form one.
    pub fn url(&self) -> Option<&Url> {
        self.url.as_ref().ok()
    }

    /// How errors name this request (method and redacted URL).
    pub fn label(&self) -> RequestLabel {
        match &self.url {
            Ok(url) => self.client.label(&self.method, url, None),
            Err(bad) => {
                RequestLabel::unparsed(&self.client.inner.service, &self.method, &bad.given)
            }
        }
    }

    /// The client the request is sent with.
    pub fn client(&self) -> &HttpClient {
        &self.client
    }

    /// The same request to another URL (absolute, or relative to the base URL).
    pub fn with_url(mut self, path_or_url: &str) -> Self {
        self.url = self.client.parse_url(path_or_url);
        self
    }

    /// The same request to this URL.
    pub fn with_parsed_url(mut self, url: Url) -> Self {
        self.url = Ok(url);
        self
    }

    /// Appends a query parameter (repeated names stay repeated: `statuses[]=a&statuses[]=b`).
    pub fn query(mut self, name: &str, value: impl AsRef<str>) -> Self {
        if let Ok(url) = &mut self.url {
            url.query_pairs_mut().append_pair(name, value.as_ref());
        }
        self
    }

    /// Appends query parameters in order.
    pub fn query_pairs<K, V>(mut self, pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut pairs = pairs.into_iter().peekable();
        if let (Ok(url), Some(_)) = (&mut self.url, pairs.peek()) {
            let mut query = url.query_pairs_mut();
            for (k, v) in pairs {
                query.append_pair(k.as_ref(), v.as_ref());
            }
        }
        self
    }

    /// Sets a query parameter, replacing every value it had.
    pub fn set_query(mut self, name: &str, value: impl AsRef<str>) -> Self {
        if let Ok(url) = &mut self.url {
            set_query(url, name, Some(value.as_ref()));
        }
        self
    }

    /// Removes a query parameter.
    pub fn remove_query(mut self, name: &str) -> Self {
        if let Ok(url) = &mut self.url {
            set_query(url, name, None);
        }
        self
    }

    /// Adds a header to this request.
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        let name = name.as_ref();
        match (
            HeaderName::try_from(name),
            HeaderValue::from_str(value.as_ref()),
        ) {
            (Ok(n), Ok(v)) => {
                self.headers.append(n, v);
            }
            _ => self.invalid = Some(format!("the header {name:?} cannot be sent")),
        }
        self
    }

    /// `If-None-Match: etag`: a conditional request, answered `304 Not Modified` (with no body,
    /// and not counted against GitHub's rate limit) when nothing changed.
    pub fn if_none_match(self, etag: &str) -> Self {
        self.header(IF_NONE_MATCH, etag)
    }

    /// A JSON body.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => {
                self.body = Some((
                    HeaderValue::from_static("application/json"),
                    Bytes::from(bytes),
                ));
            }
            Err(e) => self.invalid = Some(format!("the JSON body cannot be serialised: {e}")),
        }
        self
    }

    /// A form body (`application/x-www-form-urlencoded`).
    pub fn form<K: AsRef<str>, V: AsRef<str>>(
        mut self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.body = Some((
            HeaderValue::from_static("application/x-www-form-urlencoded"),
            Bytes::from(encoded),
        ));
        self
    }

    /// A body of any type.
    pub fn body(mut self, content_type: &str, body: impl Into<Bytes>) -> Self {
        match HeaderValue::from_str(content_type) {
            Ok(ct) => self.body = Some((ct, body.into())),
            Err(_) => {
                self.invalid = Some(format!("the content type {content_type:?} cannot be sent"))
            }
        }
        self
    }

    /// Whether transport failures and 5xx answers may be retried (by default only for GET,
    /// HEAD, PUT, DELETE and OPTIONS). Mark read-only POSTs (searches, analytics queries) so.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = Some(idempotent);
        self
    }

    /// Whether this request may use the rate-limit budget's [`Reserve`](crate::Reserve) (a
    /// live event's request), instead of waiting for the reset once only the reserve is left
    /// (a resync's). Off by default.
    pub fn spend_reserve(mut self, spend: bool) -> Self {
        self.spend_reserve = spend;
        self
    }

    /// This request's own retry policy instead of the client's.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Sends the request (retrying as the policy allows); the answer is 2xx or 304.
    pub async fn send(&self) -> Result<Response, HttpError> {
        self.client.execute(self).await
    }

    /// Sends the request and reads the body as JSON (`T = serde_json::Value` for raw items).
    pub async fn send_json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        self.send().await?.json()
    }
}

/// Replaces (or, with `None`, removes) every value of a query parameter.
fn set_query(url: &mut Url, name: &str, value: Option<&str>) {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if pairs.is_empty() && value.is_none() {
        url.set_query(None);
        return;
    }
    let mut query = url.query_pairs_mut();
    query.clear().extend_pairs(pairs);
    if let Some(value) = value {
        query.append_pair(name, value);
    }
}

/// An answer: 2xx, or 304 for a conditional request. The body is read in full.
#[derive(Debug, Clone)]
pub struct Response {
    label: RequestLabel,
    status: StatusCode,
    headers: HeaderMap,
    url: Url,
    body: Bytes,
}

impl Response {
    /// The request it answers (for errors about its content).
    pub fn label(&self) -> &RequestLabel {
        &self.label
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Whether it is `304 Not Modified` (the conditional request's resource is unchanged).
    pub fn is_not_modified(&self) -> bool {
        self.status == StatusCode::NOT_MODIFIED
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// The `ETag`, for a later [`Request::if_none_match`].
    pub fn etag(&self) -> Option<&str> {
        self.header(ETAG.as_str())
    }

    /// The URL that answered (after redirects).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The target of the `Link` header's `rel` link (e.g. `next`), resolved against the URL.
    pub fn link(&self, rel: &str) -> Option<Url> {
        let value = self
            .headers
            .get_all(LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ");
        let target = find_link(&value, rel)?;
        self.url.join(&target).ok()
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The body, owned.
    pub fn into_body(self) -> Bytes {
        self.body
    }

    /// The body as JSON (`T = serde_json::Value` for raw items); an error names the request.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|source| HttpError::Decode {
            request: self.label.clone(),
            source,
        })
    }

    /// An error saying the body lacks `what` (e.g. "a list under `incidents`").
    pub fn shape_error(&self, what: impl Into<String>) -> HttpError {
        HttpError::Shape {
            request: self.label.clone(),
            what: what.into(),
        }
    }
}
