//! When to retry an HTTP request and how long to wait first, as a plain value.
//!
//! One policy type serves every client in the workspace: the third-party [`HttpClient`]
//! (crate::HttpClient), Port's client (which builds Python Ocean's exact values on it) and the
//! lifecycle's retries of a webhook processor. Everything here is pure: a wait is computed from
//! a retry number, response headers, the current time and a jitter draw, so tests check it
//! without sleeping. Sleeping and re-sending live in the clients, which also decide which
//! *requests* may be retried (methods, idempotency).

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

/// Header values above this many seconds are read as a Unix epoch time, not a duration.
const EPOCH_THRESHOLD: u64 = 10_000;

/// When and how long to retry.
///
/// The wait before retry `k` is the server's (a parseable [`retry_after_headers`] value) when
/// [`respect_retry_after`] is on, else `base_delay × 2^(k-1)` moved by up to `jitter_ratio` of
/// itself; either is multiplied by `tier_factor` and capped at `max_backoff`.
///
/// [`RetryPolicy::default`] is the policy for third-party APIs: 3 retries of server errors and
/// transport failures, 8 of rate-limited answers, 1 s doubling to at most 60 s with ±25 %
/// jitter, `Retry-After` honoured, statuses 408, 429, 500, 502, 503, 504. Port's policy (Python
/// Ocean's values) is built on the same type by `ocean-port-client`.
///
/// [`retry_after_headers`]: RetryPolicy::retry_after_headers
/// [`respect_retry_after`]: RetryPolicy::respect_retry_after
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt, for retryable statuses and transport failures.
    pub max_retries: u32,
    /// Retries of rate-limited answers (429, or what a client's rule calls rate-limited),
    /// counted apart from `max_retries`; `None`: they count against `max_retries`.
    pub rate_limit_retries: Option<u32>,
    /// The wait before the first retry, before jitter and factor.
    pub base_delay: Duration,
    /// No wait is longer than this, whatever the server asks for.
    pub max_backoff: Duration,
    /// The exponential wait moves up or down by at most this fraction of itself; in `[0, 0.5]`.
    pub jitter_ratio: f64,
    /// Multiplier of every wait (Port's sync-tier factor; 1.0 elsewhere).
    pub tier_factor: f64,
    /// Whether the headers in `retry_after_headers` decide the wait when they parse.
    pub respect_retry_after: bool,
    /// The headers that may dictate the wait, in the order they are consulted
    /// (see [`parse_retry_header`] for the forms understood).
    pub retry_after_headers: Vec<HeaderName>,
    /// Response statuses that cause a retry.
    pub retry_statuses: Vec<u16>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            rate_limit_retries: Some(8),
            base_delay: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            jitter_ratio: 0.25,
            tier_factor: 1.0,
            respect_retry_after: true,
            retry_after_headers: vec![reqwest::header::RETRY_AFTER],
            retry_statuses: vec![408, 429, 500, 502, 503, 504],
        }
    }
}

/// A [`RetryPolicy`] whose values make waits meaningless.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidRetryPolicy {
    /// `jitter_ratio` outside `[0, 0.5]`.
    #[error("retry jitter ratio must be between 0 and 0.5, got {0}")]
    Jitter(f64),
    /// `tier_factor` negative or not finite.
    #[error("retry tier factor must be a non-negative number, got {0}")]
    Factor(f64),
}

impl RetryPolicy {
    /// The same policy with waits shrunk to milliseconds (same counts and statuses), for tests.
    pub fn fast(self) -> Self {
        RetryPolicy {
            base_delay: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            ..self
        }
    }

    /// A policy that never retries.
    pub fn never() -> Self {
        RetryPolicy {
            max_retries: 0,
            rate_limit_retries: Some(0),
            ..RetryPolicy::default()
        }
    }

    /// Whether a response with this status should be retried (if the request is eligible).
    pub fn is_retryable_status(&self, status: u16) -> bool {
        self.retry_statuses.contains(&status)
    }

    /// How many retries a rate-limited answer may have.
    pub fn rate_limit_budget(&self) -> u32 {
        self.rate_limit_retries.unwrap_or(self.max_retries)
    }

    /// Checks the values that would make waits meaningless.
    pub fn validate(&self) -> Result<(), InvalidRetryPolicy> {
        if !(0.0..=0.5).contains(&self.jitter_ratio) {
            return Err(InvalidRetryPolicy::Jitter(self.jitter_ratio));
        }
        if !self.tier_factor.is_finite() || self.tier_factor < 0.0 {
            return Err(InvalidRetryPolicy::Factor(self.tier_factor));
        }
        Ok(())
    }

    /// The exponential wait before retry `retry` (1-based) with the whole jitter added
    /// (`jitter_up`) or subtracted: Port's form, where the direction is a coin toss.
    pub fn exponential_delay(&self, retry: u32, jitter_up: bool) -> Duration {
        self.backoff(retry, if jitter_up { 1.0 } else { -1.0 })
    }

    /// The exponential wait before retry `retry` (1-based): `base × 2^(retry-1)`, moved by
    /// `jitter × jitter_ratio` of itself (`jitter` in `[-1, 1]`, e.g. a uniform draw), times the
    /// tier factor, capped.
    pub fn backoff(&self, retry: u32, jitter: f64) -> Duration {
        let exponent = retry.saturating_sub(1).min(1023) as i32;
        let backoff = self.base_delay.as_secs_f64() * 2f64.powi(exponent);
        let jitter = jitter.clamp(-1.0, 1.0) * self.jitter_ratio;
        self.scale(backoff * (1.0 + jitter))
    }

    /// The wait the response headers ask for (the first parseable `retry_after_headers` value),
    /// if the policy honours them; not yet scaled or capped.
    pub fn requested_wait(&self, headers: &HeaderMap, now: OffsetDateTime) -> Option<Duration> {
        if !self.respect_retry_after {
            return None;
        }
        self.retry_after_headers.iter().find_map(|name| {
            let value = headers.get(name)?.to_str().ok()?.trim();
            if value.is_empty() {
                return None;
            }
            parse_retry_header(value, now)
        })
    }

    /// The wait before retry `retry` (1-based): `requested` (what the server asked for) when
    /// given, else the exponential wait with `jitter` in `[-1, 1]`; scaled and capped.
    pub fn wait(&self, retry: u32, requested: Option<Duration>, jitter: f64) -> Duration {
        match requested {
            Some(wait) => self.scale(wait.as_secs_f64()),
            None => self.backoff(retry, jitter),
        }
    }

    /// The wait before retry `retry` (1-based) after a response with these headers (empty for
    /// a transport error), at time `now`, with the jitter added (`jitter_up`) or subtracted.
    pub fn delay_before_retry(
        &self,
        retry: u32,
        headers: &HeaderMap,
        now: OffsetDateTime,
        jitter_up: bool,
    ) -> Duration {
        let requested = self.requested_wait(headers, now);
        self.wait(retry, requested, if jitter_up { 1.0 } else { -1.0 })
    }

    /// Applies the tier factor and the cap to a wait in seconds.
    fn scale(&self, seconds: f64) -> Duration {
        let scaled = (seconds * self.tier_factor).max(0.0);
        let capped = scaled.min(self.max_backoff.as_secs_f64());
        Duration::try_from_secs_f64(capped).unwrap_or(self.max_backoff)
    }
}

/// Reads a `Retry-After`-style value (also `x-ratelimit-reset`, `ratelimit-reset`) as a wait,
/// at time `now`.
///
/// * all digits: a number of seconds, or — above 10 000 — a Unix epoch second, giving the time
///   left until then (zero if it has passed);
/// * an ISO-8601 date-time (with or without offset; without one it is read as UTC), or an HTTP
///   date (`Wed, 21 Oct 2015 07:28:00 GMT`): the time left until then, or `None` if it has
///   passed;
/// * anything else (negative or decimal numbers included): `None`, so the exponential wait
///   applies.
pub fn parse_retry_header(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let Ok(number) = value.parse::<u64>() else {
            // More digits than a u64 holds: an absurd epoch, far in the future.
            return None;
        };
        if number > EPOCH_THRESHOLD {
            let left = number as i128 - now.unix_timestamp() as i128;
            return Some(Duration::from_secs(left.max(0) as u64));
        }
        return Some(Duration::from_secs(number));
    }
    let when = parse_date_time(value)?;
    let left = when - now;
    if left.is_positive() {
        Duration::try_from(left).ok()
    } else {
        None
    }
}

/// Parses the date-time forms APIs and rate-limiting proxies send.
fn parse_date_time(value: &str) -> Option<OffsetDateTime> {
    if let Ok(dt) = OffsetDateTime::parse(value, &Rfc3339) {
        return Some(dt);
    }
    // RFC 3339 requires an upper-case T and an offset; ISO 8601 readers accept more.
    let naive_formats = [
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]"),
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond]"),
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
        format_description!("[year]-[month]-[day]T[hour]:[minute]"),
    ];
    for format in naive_formats {
        if let Ok(dt) = PrimitiveDateTime::parse(value, &format) {
            return Some(dt.assume_utc());
        }
    }
    if let Ok(date) = Date::parse(value, format_description!("[year]-[month]-[day]")) {
        return Some(date.midnight().assume_utc());
    }
    let http_date = format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    PrimitiveDateTime::parse(value, &http_date)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-01-01 10:00:00 UTC);

    fn check(value: &str, expected: Option<f64>) {
        let got = parse_retry_header(value, NOW).map(|d| d.as_secs_f64());
        assert_eq!(got, expected, "header value {value:?}");
    }

    #[test]
    fn retry_header_forms() {
        check("0", Some(0.0));
        check("30", Some(30.0));
        check(" 7 ", Some(7.0));
        check("10000", Some(10_000.0));
        // Epoch seconds: 10:00:30 and a time already past.
        check(&(NOW.unix_timestamp() + 30).to_string(), Some(30.0));
        check(&(NOW.unix_timestamp() - 30).to_string(), Some(0.0));
        check("2026-01-01T10:01:00Z", Some(60.0));
        check("2026-01-01T12:01:00+02:00", Some(60.0));
        check("2026-01-01T10:00:02.5Z", Some(2.5));
        check("2026-01-01T10:00:10", Some(10.0));
        check("2026-01-02", Some(14.0 * 3600.0));
        check("Thu, 01 Jan 2026 10:00:45 GMT", Some(45.0));
        // In the past, or not a time at all: ignored.
        check("2025-12-31T10:00:00Z", None);
        check("soon", None);
        check("-5", None);
        check("1.5", None);
        check("", None);
        check("99999999999999999999999", None);
    }

    #[test]
    fn exponential_waits_double_with_bounded_jitter() {
        let p = RetryPolicy::default();
        for k in 1..=6u32 {
            let base = 2f64.powi(k as i32 - 1);
            assert!((p.backoff(k, 0.0).as_secs_f64() - base).abs() < 1e-9);
            assert!((p.backoff(k, 1.0).as_secs_f64() - base * 1.25).abs() < 1e-9);
            assert!((p.backoff(k, -1.0).as_secs_f64() - base * 0.75).abs() < 1e-9);
            // Out-of-range draws are clamped.
            assert_eq!(p.backoff(k, 7.0), p.backoff(k, 1.0));
        }
        assert_eq!(p.backoff(7, 1.0), Duration::from_secs(60));
        assert_eq!(p.backoff(u32::MAX, 0.0), Duration::from_secs(60));
    }

    #[test]
    fn headers_win_over_exponential_and_are_capped() {
        let p = RetryPolicy::default();
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("garbage"));
        assert_eq!(p.requested_wait(&headers, NOW), None);
        headers.insert("retry-after", HeaderValue::from_static("4"));
        assert_eq!(
            p.delay_before_retry(1, &headers, NOW, true),
            Duration::from_secs(4)
        );
        headers.insert("retry-after", HeaderValue::from_static("3600"));
        assert_eq!(
            p.delay_before_retry(1, &headers, NOW, true),
            Duration::from_secs(60)
        );
        // Only the configured headers count.
        let mut other = HeaderMap::new();
        other.insert("x-ratelimit-reset", HeaderValue::from_static("8"));
        assert_eq!(p.requested_wait(&other, NOW), None);
        let ignoring = RetryPolicy {
            respect_retry_after: false,
            ..RetryPolicy::default()
        };
        assert_eq!(
            ignoring.delay_before_retry(2, &headers, NOW, false),
            Duration::from_millis(1500)
        );
    }

    #[test]
    fn budgets_statuses_and_validation() {
        let p = RetryPolicy::default();
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(p.is_retryable_status(s), "{s}");
        }
        for s in [200, 304, 400, 401, 403, 404, 422] {
            assert!(!p.is_retryable_status(s), "{s}");
        }
        assert_eq!(p.rate_limit_budget(), 8);
        let shared = RetryPolicy {
            rate_limit_retries: None,
            ..RetryPolicy::default()
        };
        assert_eq!(shared.rate_limit_budget(), 3);
        assert_eq!(RetryPolicy::never().rate_limit_budget(), 0);
        assert!(p.validate().is_ok());
        let bad = RetryPolicy {
            jitter_ratio: 0.6,
            ..RetryPolicy::default()
        };
        assert_eq!(bad.validate(), Err(InvalidRetryPolicy::Jitter(0.6)));
        let bad = RetryPolicy {
            tier_factor: f64::NAN,
            ..RetryPolicy::default()
        };
        assert!(bad.validate().is_err());
        let fast = RetryPolicy::default().fast();
        assert_eq!(fast.max_retries, 3);
        assert_eq!(fast.backoff(10, 1.0), Duration::from_millis(5));
    }
}
