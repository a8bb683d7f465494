//! A small client for PagerDuty's REST API v2 on the SDK's HTTP toolkit (`ocean::http`):
//! authentication, classic offset pagination, and the PagerDuty specifics of both.
//!
//! Every request carries `Authorization: Token token=…` (or `Bearer …` for OAuth access tokens,
//! which start with `pd`, as in the reference) and `Accept: application/vnd.pagerduty+json;version=2`.
//! Retries, rate limits and errors are the toolkit's: at most ten requests in flight; a `429` is
//! retried after the wait PagerDuty asks for (`Retry-After`, or `ratelimit-reset` once
//! `ratelimit-remaining` is 0), a transient `5xx` or connection failure of a GET (or a read-only
//! POST such as analytics) a bounded number of times with exponential backoff — both limits in
//! the [`RetryPolicy`]; a POST that may have created something is never resent. Errors name the
//! request (`GET https://api.pagerduty.com/incidents?offset=100&limit=100`) and never contain the
//! token.
//!
//! It is deliberately not a typed model of PagerDuty: items stay `serde_json::Value`s, exactly
//! as PagerDuty sent them, because the mapping (JQ) is what reads them. It does not implement
//! cursor pagination (only the analytics and audit APIs use it) nor the Events API.

use futures::stream::{BoxStream, StreamExt as _, TryStreamExt};
use ocean::http::limit::RateLimitHeaders;
use ocean::http::{
    AuthError, Credentials, HttpClient, HttpError, Issued, PageOf, Pagination, RefreshingAuth,
    Reserve, Response, StatusCode, header::HeaderMap, paginate,
};
use ocean::{BuildContext, Secret};
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use ocean::http::RetryPolicy;

use crate::config::PagerDutyConfig;

/// The media type of REST API v2.
pub const ACCEPT_V2: &str = "application/vnd.pagerduty+json;version=2";

/// Items asked for per page (PagerDuty's maximum for classic pagination).
pub const PAGE_SIZE: u64 = 100;

/// PagerDuty's classic pagination refuses `offset + limit` beyond this (a 400).
pub const MAX_OFFSET: u64 = 10_000;

/// Requests in flight at once, per client (as the reference).
pub const MAX_CONCURRENT_REQUESTS: usize = 10;

/// How often an OAuth access-token file is read again (it may have been rotated); a 401 reads it
/// at once.
pub const TOKEN_FILE_RECHECK: Duration = Duration::from_secs(5);

/// The share of PagerDuty's per-minute budget left untouched: requests wait for the window's
/// reset once 90 % of it is used (as the reference), so a resync does not run into 429s.
pub const RESERVE: f64 = 0.1;

/// The analytics API's daily quota header (`daily-ratelimit-remaining`); with it,
/// `daily-ratelimit-reset` says when the quota comes back (seconds).
pub const DAILY_REMAINING: &str = "daily-ratelimit-remaining";
const DAILY_RESET: &str = "daily-ratelimit-reset";

/// Query parameters in order; array filters repeat their `name[]` key.
pub type Query = Vec<(String, String)>;

/// Why a PagerDuty request failed (the toolkit's error: it names the request, never the token).
pub type ClientError = HttpError;

/// A PagerDuty REST API v2 client; cheap to clone (one connection pool, one request budget).
#[derive(Clone)]
pub struct PagerDutyClient {
    http: HttpClient,
    daily: Arc<DailyQuota>,
}

/// The analytics API's daily quota as last seen: once exhausted, analytics calls are skipped
/// (not waited for) until it resets, and that is said once.
#[derive(Debug, Default)]
struct DailyQuota {
    exhausted_until: Mutex<Option<Instant>>,
    warned: AtomicBool,
}

impl DailyQuota {
    fn observe(&self, headers: &HeaderMap) {
        if !daily_quota_exhausted(headers) {
            return;
        }
        let reset = headers
            .get(DAILY_RESET)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
            // Without a reset time: a day, PagerDuty's window.
            .unwrap_or(Duration::from_secs(24 * 3600));
        *self
            .exhausted_until
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(Instant::now() + reset);
    }

    fn exhausted(&self) -> bool {
        let mut until = self
            .exhausted_until
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match *until {
            Some(at) if at > Instant::now() => true,
            Some(_) => {
                *until = None;
                self.warned.store(false, Ordering::Relaxed);
                false
            }
            None => false,
        }
    }
}

/// Whether an answer says the analytics API's daily quota is used up.
pub fn daily_quota_exhausted(headers: &HeaderMap) -> bool {
    headers
        .get(DAILY_REMAINING)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .is_some_and(|remaining| remaining <= 0)
}

/// Why an analytics call returned nothing.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// The analytics API's daily quota is used up (the call was not made, or was refused).
    #[error("PagerDuty's analytics daily quota is used up")]
    DailyQuota,
    /// The call failed.
    #[error(transparent)]
    Client(#[from] ClientError),
}

impl fmt::Debug for PagerDutyClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PagerDutyClient")
            .field("api_url", &self.api_url())
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
        Self::with_context(config, retry, &BuildContext::default())
    }

    /// A client with an explicit retry policy and the framework's settings: its timeout
    /// (`OCEAN__CLIENT_TIMEOUT`, as the reference's `client_timeout`) and, when
    /// `OCEAN__OAUTH_ACCESS_TOKEN_FILE_PATH` is set, the token read from that file instead of
    /// `token` — read again every [`TOKEN_FILE_RECHECK`] and after a 401, so a rotated token is
    /// picked up without a restart.
    pub fn with_context(
        config: &PagerDutyConfig,
        retry: RetryPolicy,
        context: &BuildContext,
    ) -> Result<Self, ClientError> {
        let builder = HttpClient::builder("PagerDuty");
        let builder = match context.oauth_access_token_file() {
            Some(path) => builder.authenticator(Arc::new(token_file_auth(path.to_owned()))),
            None => builder.credentials(token_credentials(config.token.expose()).map_err(|e| {
                HttpError::Build {
                    service: "PagerDuty".into(),
                    reason: format!("the token cannot be sent: {e}"),
                }
            })?),
        };
        let http = builder
            .base_url(&config.api_url)
            .header("accept", ACCEPT_V2)
            .user_agent(concat!("ocean-pagerduty/", env!("CARGO_PKG_VERSION")))
            .timeout(context.client_timeout())
            .concurrency(MAX_CONCURRENT_REQUESTS)
            .rate_limit_headers(RateLimitHeaders::ietf().reserve(Reserve::Fraction(RESERVE)))
            // A 429 for the analytics API's daily quota will not pass within a resync: it is
            // returned at once, and analytics are skipped until the quota resets.
            .no_retry_when(|status, headers| {
                status == StatusCode::TOO_MANY_REQUESTS && daily_quota_exhausted(headers)
            })
            .retry(retry)
            .build()?;
        Ok(PagerDutyClient {
            http,
            daily: Arc::default(),
        })
    }

    /// The API URL requests go to (with a trailing `/`).
    pub fn api_url(&self) -> &str {
        self.http.base_url().map(|u| u.as_str()).unwrap_or_default()
    }

    /// The toolkit client underneath (its statistics, its limiter).
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// `GET {path}` with `query`, as JSON.
    pub async fn get(&self, path: &str, query: &[(String, String)]) -> Result<Value, ClientError> {
        let response = self
            .http
            .get(path)
            .query_pairs(query.iter().cloned())
            .send()
            .await?;
        json_or_null(&response)
    }

    /// `GET {path}`, or `None` when PagerDuty answers 404.
    pub async fn get_optional(
        &self,
        path: &str,
        query: &[(String, String)],
    ) -> Result<Option<Value>, ClientError> {
        match self.get(path, query).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST {path}` with a JSON body, as JSON. Not resent after a 5xx or a lost connection
    /// (it may have been processed); see [`post_query`](Self::post_query) for read-only POSTs.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        json_or_null(&self.http.post(path).json(body).send().await?)
    }

    /// A read-only `POST {path}` (analytics queries), retried like a GET.
    pub async fn post_query(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        let request = self.http.post(path).json(body).idempotent(true);
        json_or_null(&request.send().await?)
    }

    /// A `POST` to the analytics API (`analytics/…`, read-only), minding its daily quota: while
    /// the quota is used up, no request is made; the first time in a quota window, one warning
    /// says so.
    pub async fn analytics(&self, path: &str, body: &Value) -> Result<Value, AnalyticsError> {
        if self.daily.exhausted() {
            return Err(self.daily_quota_error());
        }
        let request = self.http.post(path).json(body).idempotent(true);
        match request.send().await {
            Ok(response) => {
                self.daily.observe(response.headers());
                Ok(json_or_null(&response)?)
            }
            Err(error) => match error.headers() {
                Some(headers) if daily_quota_exhausted(headers) => {
                    self.daily.observe(headers);
                    Err(self.daily_quota_error())
                }
                _ => Err(error.into()),
            },
        }
    }

    fn daily_quota_error(&self) -> AnalyticsError {
        if !self.daily.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "PagerDuty's analytics daily quota is used up: analytics are left null \
                 (`__analytics: null`) until it resets; everything else syncs as usual"
            );
        }
        AnalyticsError::DailyQuota
    }

    /// Every page of a classic-paginated list endpoint (`GET /{path}?offset=…&limit=100`), the
    /// items read from `key`. Stops when PagerDuty says `more: false` (or sends an empty page).
    /// A list longer than PagerDuty's offset limit ([`MAX_OFFSET`]) yields its first 10,000
    /// items, then an error saying so (so its kind deletes nothing) instead of PagerDuty's 400.
    /// Incidents, which PagerDuty can list by date range, go through
    /// [`incidents`](Self::incidents) instead.
    pub fn paginate(
        &self,
        path: &str,
        key: &str,
        query: Query,
    ) -> BoxStream<'static, Result<Vec<Value>, ClientError>> {
        self.paginate_from(path, key, query, 0)
    }

    /// [`paginate`](Self::paginate) from offset `start`.
    fn paginate_from(
        &self,
        path: &str,
        key: &str,
        query: Query,
        start: u64,
    ) -> BoxStream<'static, Result<Vec<Value>, ClientError>> {
        let parse_key = key.to_owned();
        let key = key.to_owned();
        let request = self.http.get(path).query_pairs(query);
        paginate(
            request,
            Pagination::offset("offset", "limit", PAGE_SIZE).start_at(start),
            move |response| list_page(response, &parse_key),
        )
        // PagerDuty may cap `limit` below what was asked; `more` says when to stop.
        .stop_on_short_page(false)
        .max_pages(MAX_OFFSET.saturating_sub(start) / PAGE_SIZE)
        .into_stream()
        .map_err(move |error| match error {
            HttpError::Pagination { request, .. } => HttpError::Pagination {
                request,
                reason: format!(
                    "PagerDuty lists at most {MAX_OFFSET} {key} by offset and says more exist: \
                     the first {MAX_OFFSET} were synced, and nothing of this kind is deleted; \
                     narrow the listing (since/until, statuses, team_ids) under {MAX_OFFSET}"
                ),
            },
            other => other,
        })
        .boxed()
    }

    /// The first page of a classic list with PagerDuty's count of the whole listing
    /// (`total=true`).
    async fn counted_page(
        &self,
        path: &str,
        key: &str,
        query: &Query,
    ) -> Result<Counted, ClientError> {
        let response = self
            .http
            .get(path)
            .query_pairs(query.iter().cloned())
            .set_query("offset", "0")
            .set_query("limit", PAGE_SIZE.to_string())
            .set_query("total", "true")
            .send()
            .await?;
        let page = list_page(&response, key)?;
        Ok(Counted {
            more: page.more.unwrap_or(false),
            total: page.total,
            items: page.items,
        })
    }

    /// The `created_at` of the first incident of `query` in this order (`asc` or `desc`).
    async fn incident_bound(&self, query: &Query, order: &str) -> Result<Option<i64>, ClientError> {
        let answer = self
            .http
            .get("incidents")
            .query_pairs(query.iter().cloned())
            .set_query("sort_by", format!("created_at:{order}"))
            .set_query("limit", "1")
            .set_query("offset", "0")
            .send()
            .await?;
        let body: Value = answer.json()?;
        Ok(body["incidents"]
            .get(0)
            .and_then(|incident| incident["created_at"].as_str())
            .and_then(parse_time))
    }

    /// Every incident `query` selects, however many (`GET /incidents`, pages of 100).
    ///
    /// The first page asks PagerDuty for the listing's total. Up to [`MAX_OFFSET`] the rest is
    /// paged by offset. Past it, the listing is split by `created_at` into windows
    /// (`since`/`until`, at most [`MAX_WINDOW`] wide) of about [`WINDOW_TARGET`] incidents each,
    /// between the first and the last incident `query` selects; a window that still counts more
    /// than the offset limit is halved until it fits. Each window keeps only the incidents
    /// created inside it, so none is yielded twice whatever PagerDuty's bounds include. A
    /// window of one second that still holds more than the limit yields its first 10,000 and
    /// fails the listing (nothing of the kind is deleted).
    pub fn incidents(&self, query: Query) -> BoxStream<'static, Result<Vec<Value>, ClientError>> {
        let client = self.clone();
        let plan = async move {
            let first = client
                .counted_page("incidents", "incidents", &query)
                .await?;
            let total = first.total.unwrap_or(0);
            if !first.more || total <= MAX_OFFSET {
                return Ok(client.rest_of(query, first, None));
            }
            // The listing's own bounds, without the date arguments the windows replace.
            let (earliest, latest) = (
                client.incident_bound(&query, "asc").await?,
                client.incident_bound(&query, "desc").await?,
            );
            let (Some(earliest), Some(latest)) = (earliest, latest) else {
                tracing::warn!(
                    total,
                    "PagerDuty counts more incidents than it lists by offset, but their creation \
                     times cannot be read: listing the first {MAX_OFFSET}"
                );
                return Ok(client.rest_of(query, first, None));
            };
            let windows = Window::split_even(earliest, latest + 1, total);
            tracing::info!(
                total,
                windows = windows.len(),
                "PagerDuty counts more incidents than it lists by offset ({MAX_OFFSET}): \
                 listing them by creation time, window by window"
            );
            let base: Query = query
                .into_iter()
                .filter(|(k, _)| !matches!(k.as_str(), "since" | "until" | "date_range"))
                .collect();
            let state = Windows {
                client,
                base,
                pending: windows.into_iter().rev().collect(),
                current: None,
            };
            Ok(state.into_stream())
        };
        futures::stream::once(plan).try_flatten().boxed()
    }

    /// The first page, then the rest of its listing by offset; with a window, only the
    /// incidents created inside it.
    fn rest_of(
        &self,
        query: Query,
        first: Counted,
        window: Option<Window>,
    ) -> BoxStream<'static, Result<Vec<Value>, ClientError>> {
        let start = first.items.len() as u64;
        let head = futures::stream::iter([Ok(first.items)]);
        let pages = if first.more && start > 0 {
            head.chain(self.paginate_from("incidents", "incidents", query, start))
                .boxed()
        } else {
            head.boxed()
        };
        pages
            .map_ok(move |mut items| {
                if let Some(window) = window {
                    items.retain(|incident| window.holds(incident));
                }
                items
            })
            .try_filter(|items| futures::future::ready(!items.is_empty()))
            .boxed()
    }
    /// Every item of a list endpoint, all pages collected.
    pub async fn list_all(
        &self,
        path: &str,
        key: &str,
        query: Query,
    ) -> Result<Vec<Value>, ClientError> {
        let pages: Vec<Vec<Value>> = self.paginate(path, key, query).try_collect().await?;
        Ok(pages.into_iter().flatten().collect())
    }
}

/// The `Authorization` credentials of a token (trimmed).
fn token_credentials(token: &str) -> Result<Credentials, AuthError> {
    Credentials::header("authorization", &Secret::new(authorization(token.trim())))
}

/// Credentials from an OAuth access-token file, read again every [`TOKEN_FILE_RECHECK`] and
/// after a 401.
fn token_file_auth(path: PathBuf) -> RefreshingAuth {
    RefreshingAuth::new(move || {
        let path = path.clone();
        async move {
            let credentials = token_credentials(&read_token_file(&path).await?)?;
            Ok(Issued {
                credentials,
                expires_in: None,
            })
        }
    })
    .max_age(TOKEN_FILE_RECHECK)
}

/// The token in `path`, trimmed; an error names the file (never its content).
async fn read_token_file(path: &Path) -> Result<String, AuthError> {
    let text = tokio::fs::read_to_string(path).await.map_err(|e| {
        AuthError::new(format!(
            "reading the OAuth access token file {} (OCEAN__OAUTH_ACCESS_TOKEN_FILE_PATH): {e}",
            path.display()
        ))
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(AuthError::new(format!(
            "the OAuth access token file {} (OCEAN__OAUTH_ACCESS_TOKEN_FILE_PATH) is empty",
            path.display()
        )));
    }
    Ok(token.to_owned())
}

/// A first page with the listing's total.
struct Counted {
    items: Vec<Value>,
    more: bool,
    total: Option<u64>,
}

/// Incidents aimed for per window when a listing is split by creation time (half the offset
/// limit, so that a window still fits after incidents were added to it).
pub const WINDOW_TARGET: u64 = MAX_OFFSET / 2;

/// The widest window asked for, in seconds: PagerDuty refuses `since`–`until` ranges longer
/// than 6 months.
pub const MAX_WINDOW: i64 = 179 * 24 * 3600;

/// A range of creation times, `[since, until)` in epoch seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    since: i64,
    until: i64,
}

impl Window {
    /// `[since, until)` cut into equal windows, enough for `total` incidents to come about
    /// [`WINDOW_TARGET`] per window, none wider than [`MAX_WINDOW`].
    fn split_even(since: i64, until: i64, total: u64) -> Vec<Window> {
        let span = (until - since).max(1);
        let by_count = total.div_ceil(WINDOW_TARGET).max(1) as i64;
        let by_width = (span + MAX_WINDOW - 1) / MAX_WINDOW;
        let count = by_count.max(by_width).min(span);
        let width = (span + count - 1) / count;
        (0..count)
            .map(|i| Window {
                since: since + i * width,
                until: (since + (i + 1) * width).min(until),
            })
            .filter(|w| w.since < w.until)
            .collect()
    }

    /// The two halves, if the window is wider than a second.
    fn halves(self) -> Option<(Window, Window)> {
        (self.until - self.since >= 2).then(|| {
            let middle = self.since + (self.until - self.since) / 2;
            (
                Window {
                    since: self.since,
                    until: middle,
                },
                Window {
                    since: middle,
                    until: self.until,
                },
            )
        })
    }

    /// The query for this window: a second wider on each side (PagerDuty's bounds may or may
    /// not include their instant); [`holds`](Self::holds) keeps each incident in one window.
    fn query(&self, base: &Query) -> Query {
        let mut query = base.clone();
        query.push(("since".into(), epoch_iso(self.since - 1)));
        query.push(("until".into(), epoch_iso(self.until + 1)));
        query
    }

    /// Whether the incident was created in this window (an unreadable time is kept).
    fn holds(&self, incident: &Value) -> bool {
        match incident["created_at"].as_str().and_then(parse_time) {
            Some(at) => self.since <= at && at < self.until,
            None => true,
        }
    }
}

/// Incident windows being listed one after the other; a window that counts more than the
/// offset limit is halved first.
struct Windows {
    client: PagerDutyClient,
    base: Query,
    /// Windows still to list, the next one last.
    pending: Vec<Window>,
    current: Option<BoxStream<'static, Result<Vec<Value>, ClientError>>>,
}

impl Windows {
    fn into_stream(self) -> BoxStream<'static, Result<Vec<Value>, ClientError>> {
        futures::stream::try_unfold(self, |mut state| async move {
            loop {
                if let Some(pages) = state.current.as_mut() {
                    match pages.try_next().await? {
                        Some(items) => return Ok(Some((items, state))),
                        None => state.current = None,
                    }
                }
                let Some(window) = state.pending.pop() else {
                    return Ok(None);
                };
                let query = window.query(&state.base);
                let first = state
                    .client
                    .counted_page("incidents", "incidents", &query)
                    .await?;
                if first.more && first.total.is_some_and(|t| t > MAX_OFFSET) {
                    if let Some((early, late)) = window.halves() {
                        state.pending.push(late);
                        state.pending.push(early);
                        continue;
                    }
                }
                state.current = Some(state.client.rest_of(query, first, Some(window)));
            }
        })
        .boxed()
    }
}

/// An RFC 3339 time as epoch seconds.
fn parse_time(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// Epoch seconds as RFC 3339 (UTC).
fn epoch_iso(epoch: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(epoch)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// One page of a classic list: the items under `key` and `more`.
fn list_page(response: &Response, key: &str) -> Result<PageOf<Value>, ClientError> {
    let mut body: Value = response.json()?;
    let items = match body.get_mut(key).map(Value::take) {
        Some(Value::Array(items)) => items,
        _ => return Err(response.shape_error(format!("a list under `{key}`"))),
    };
    let more = body.get("more").and_then(Value::as_bool).unwrap_or(false);
    // `total` is only counted when asked for (`total=true`).
    let total = body.get("total").and_then(Value::as_u64);
    Ok(PageOf::items(items).more(Some(more)).total(total))
}

/// The body as JSON, `null` when empty (a 204).
fn json_or_null(response: &Response) -> Result<Value, ClientError> {
    if response.body().is_empty() {
        Ok(Value::Null)
    } else {
        response.json()
    }
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
    fn debug_output_has_no_token() {
        let client = PagerDutyClient::new(&PagerDutyConfig::with_token("secret-token-1")).unwrap();
        let printed = format!("{client:?}");
        assert!(!printed.contains("secret-token-1"), "{printed}");
        assert!(printed.contains("api.pagerduty.com"), "{printed}");
    }
}
