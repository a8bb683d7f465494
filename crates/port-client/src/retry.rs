//! The retry policy of `port-api.md` §2 as a plain value: which statuses are retried, how long to
//! wait before retry k (exponential from 0.3 s with ±10 % jitter, or what `Retry-After` /
//! `x-ratelimit-reset` say), the pod's sync-tier factor and the 300 s cap.
//!
//! Everything here is pure: the wait is computed from a retry number, response headers, the
//! current time and a jitter sign, so tests check it without sleeping. Sleeping and re-sending
//! live in the transport. Which *requests* may be retried (methods, marked POSTs) is decided by
//! the caller of each endpoint, not here.

use std::time::Duration;

use reqwest::header::HeaderMap;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

/// Statuses that are retried: 401, 408, 429, 502, 503, 504 (never 500).
pub const DEFAULT_RETRY_STATUSES: [u16; 6] = [401, 408, 429, 502, 503, 504];

/// The headers that may dictate the wait, in the order they are consulted.
pub const RETRY_AFTER_HEADERS: [&str; 2] = ["retry-after", "x-ratelimit-reset"];

/// Header values above this many seconds are read as a Unix epoch time, not a duration.
const EPOCH_THRESHOLD: u64 = 10_000;

/// What kind of pod this is, which stretches every retry wait by a fixed factor so that resync
/// pods back off more than live-event pods (`port-api.md` §2.3 step 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncTier {
    /// `integration.incremental_sync_enabled`: ×1.10.
    IncrementalResync,
    /// The event listener resyncs (POLLING, ONCE, KAFKA, WEBHOOK): ×1.25.
    Resync,
    /// Only processes webhooks: ×1.00.
    LiveEvents,
    /// Only runs actions: ×1.00.
    Actions,
    /// Not known: ×1.00.
    Unknown,
}

impl SyncTier {
    /// The multiplier applied to every computed wait.
    pub fn factor(self) -> f64 {
        match self {
            SyncTier::IncrementalResync => 1.10,
            SyncTier::Resync => 1.25,
            SyncTier::LiveEvents | SyncTier::Actions | SyncTier::Unknown => 1.0,
        }
    }
}

/// When and how long to retry. [`RetryPolicy::default`] is Port's policy in Python Ocean
/// (10 retries, 0.3 s base, ±10 % jitter, 300 s cap, headers honoured, tier factor 1.0);
/// tests shrink `base_delay` to run fast.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (10, so at most 11 requests).
    pub max_retries: u32,
    /// The wait before the first retry, before jitter and tier factor (0.3 s).
    pub base_delay: Duration,
    /// No wait is longer than this (300 s).
    pub max_backoff: Duration,
    /// The exponential wait is moved up or down by exactly this fraction (0.1); must be in
    /// `[0, 0.5]`.
    pub jitter_ratio: f64,
    /// Multiplier of every wait, from [`SyncTier::factor`] (1.0).
    pub tier_factor: f64,
    /// Whether `Retry-After` / `x-ratelimit-reset` decide the wait when they parse (true).
    pub respect_retry_after: bool,
    /// Response statuses that cause a retry.
    pub retry_statuses: Vec<u16>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 10,
            base_delay: Duration::from_millis(300),
            max_backoff: Duration::from_secs(300),
            jitter_ratio: 0.1,
            tier_factor: 1.0,
            respect_retry_after: true,
            retry_statuses: DEFAULT_RETRY_STATUSES.to_vec(),
        }
    }
}

impl RetryPolicy {
    /// The same policy with the factor of the given sync tier.
    pub fn with_sync_tier(mut self, tier: SyncTier) -> Self {
        self.tier_factor = tier.factor();
        self
    }

    /// Whether a response with this status should be retried (if the request is eligible).
    pub fn is_retryable_status(&self, status: u16) -> bool {
        self.retry_statuses.contains(&status)
    }

    /// Checks the values that would make waits meaningless.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if !(0.0..=0.5).contains(&self.jitter_ratio) {
            return Err(format!(
                "retry jitter ratio must be between 0 and 0.5, got {}",
                self.jitter_ratio
            ));
        }
        if !self.tier_factor.is_finite() || self.tier_factor < 0.0 {
            return Err(format!(
                "retry tier factor must be a non-negative number, got {}",
                self.tier_factor
            ));
        }
        Ok(())
    }

    /// The exponential wait before retry `retry` (1-based): `base × 2^(retry-1)`, plus the jitter
    /// (`jitter_up` adds it, otherwise it is subtracted), times the tier factor, capped.
    pub fn exponential_delay(&self, retry: u32, jitter_up: bool) -> Duration {
        let exponent = retry.saturating_sub(1).min(1023) as i32;
        let backoff = self.base_delay.as_secs_f64() * 2f64.powi(exponent);
        let jitter = backoff * self.jitter_ratio;
        let total = if jitter_up {
            backoff + jitter
        } else {
            backoff - jitter
        };
        self.scale(total)
    }

    /// The wait before retry `retry` (1-based) after a response with these headers (empty for
    /// a transport error), at time `now`.
    pub fn delay_before_retry(
        &self,
        retry: u32,
        headers: &HeaderMap,
        now: OffsetDateTime,
        jitter_up: bool,
    ) -> Duration {
        if self.respect_retry_after {
            for name in RETRY_AFTER_HEADERS {
                let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) else {
                    continue;
                };
                let value = value.trim();
                if value.is_empty() {
                    continue;
                }
                if let Some(wait) = parse_retry_header(value, now) {
                    return self.scale(wait.as_secs_f64());
                }
            }
        }
        self.exponential_delay(retry, jitter_up)
    }

    /// Applies the tier factor and the cap to a wait in seconds.
    fn scale(&self, seconds: f64) -> Duration {
        let scaled = (seconds * self.tier_factor).max(0.0);
        let capped = scaled.min(self.max_backoff.as_secs_f64());
        Duration::try_from_secs_f64(capped).unwrap_or(self.max_backoff)
    }
}

/// Reads a `Retry-After` / `x-ratelimit-reset` value as a wait, at time `now`.
///
/// * all digits: a number of seconds, or — above 10 000 — a Unix epoch second, giving the time
///   left until then (zero if it has passed);
/// * an ISO-8601 date-time (with or without offset; without one it is read as UTC), or an HTTP
///   date (`Wed, 21 Oct 2015 07:28:00 GMT`, which Python Ocean ignores): the time left until
///   then, or `None` if it has passed;
/// * anything else: `None`, so the exponential wait applies.
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

/// Parses the date-time forms Port and rate-limited proxies send.
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

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
    }

    #[test]
    fn exponential_waits_with_exact_jitter() {
        let p = policy();
        let expected_base = [0.3, 0.6, 1.2, 2.4, 4.8, 9.6, 19.2, 38.4, 76.8, 153.6];
        for (i, base) in expected_base.iter().enumerate() {
            let k = i as u32 + 1;
            let up = p.exponential_delay(k, true).as_secs_f64();
            let down = p.exponential_delay(k, false).as_secs_f64();
            assert!((up - base * 1.1).abs() < 1e-9, "retry {k}: {up}");
            assert!((down - base * 0.9).abs() < 1e-9, "retry {k}: {down}");
        }
    }

    #[test]
    fn tier_factor_matches_observed_sleeps() {
        // port-api.md §3.1: a resync pod slept 0.825, 1.65, 2.7, 5.4, 13.2 … (retries 2–6).
        let p = policy().with_sync_tier(SyncTier::Resync);
        let checks = [(2, true, 0.825), (3, true, 1.65), (4, false, 2.7)];
        for (k, up, expected) in checks {
            let got = p.exponential_delay(k, up).as_secs_f64();
            assert!((got - expected).abs() < 1e-9, "retry {k}: {got}");
        }
        let got = p.exponential_delay(6, true).as_secs_f64();
        assert!((got - 13.2).abs() < 1e-9, "{got}");
    }

    #[test]
    fn waits_are_capped() {
        let p = policy().with_sync_tier(SyncTier::Resync);
        assert_eq!(p.exponential_delay(11, true), Duration::from_secs(300));
        assert_eq!(p.exponential_delay(5000, false), Duration::from_secs(300));
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("3600"));
        assert_eq!(
            p.delay_before_retry(1, &headers, NOW, true),
            Duration::from_secs(300)
        );
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let p = policy();
        for k in 1..=10 {
            let base = 0.3 * 2f64.powi(k - 1);
            for up in [true, false] {
                let got = p.exponential_delay(k as u32, up).as_secs_f64();
                assert!(got >= base * 0.9 - 1e-9 && got <= base * 1.1 + 1e-9);
            }
        }
    }

    #[test]
    fn headers_win_over_exponential_and_get_the_tier_factor() {
        let p = policy().with_sync_tier(SyncTier::Resync);
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("garbage"));
        headers.insert("x-ratelimit-reset", HeaderValue::from_static("8"));
        assert_eq!(
            p.delay_before_retry(1, &headers, NOW, true),
            Duration::from_secs(10)
        );
        headers.insert("retry-after", HeaderValue::from_static("4"));
        assert_eq!(
            p.delay_before_retry(1, &headers, NOW, true),
            Duration::from_secs(5)
        );
        let ignoring = RetryPolicy {
            respect_retry_after: false,
            ..policy()
        };
        let got = ignoring.delay_before_retry(1, &headers, NOW, true);
        assert!((got.as_secs_f64() - 0.33).abs() < 1e-9);
        // Nothing usable: exponential.
        let got = p.delay_before_retry(2, &HeaderMap::new(), NOW, false);
        assert!((got.as_secs_f64() - 0.675).abs() < 1e-9);
    }

    #[test]
    fn statuses_and_tiers() {
        let p = policy();
        for s in [401, 408, 429, 502, 503, 504] {
            assert!(p.is_retryable_status(s), "{s}");
        }
        for s in [200, 400, 403, 404, 413, 422, 500] {
            assert!(!p.is_retryable_status(s), "{s}");
        }
        assert_eq!(SyncTier::IncrementalResync.factor(), 1.10);
        assert_eq!(SyncTier::LiveEvents.factor(), 1.0);
        assert!(
            RetryPolicy {
                jitter_ratio: 0.6,
                ..policy()
            }
            .validate()
            .is_err()
        );
        assert!(policy().validate().is_ok());
    }
}
