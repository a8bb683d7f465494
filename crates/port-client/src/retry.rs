//! Port's retry policy (`docs/port-api.md` §2): Python Ocean's values — which statuses are retried,
//! how long to wait before retry k (exponential from 0.3 s with ±10 % jitter, or what
//! `Retry-After` / `x-ratelimit-reset` say), the pod's sync-tier factor and the 300 s cap — on
//! the workspace's one policy type, [`ocean_http::RetryPolicy`], which also owns the backoff
//! computation and the `Retry-After` parser.
//!
//! Sleeping and re-sending live in the transport. Which *requests* may be retried (methods,
//! marked POSTs) is decided by the caller of each endpoint, not here.

use std::time::Duration;

use reqwest::header::HeaderName;

pub use ocean_http::retry::{InvalidRetryPolicy, RetryPolicy, parse_retry_header};

/// Statuses that are retried: 401, 408, 429, 502, 503, 504 (never 500).
pub const DEFAULT_RETRY_STATUSES: [u16; 6] = [401, 408, 429, 502, 503, 504];

/// The headers that may dictate the wait, in the order they are consulted.
pub const RETRY_AFTER_HEADERS: [&str; 2] = ["retry-after", "x-ratelimit-reset"];

/// What kind of pod this is, which stretches every retry wait by a fixed factor so that resync
/// pods back off more than live-event pods (`docs/port-api.md` §2.3 step 3).
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

/// Port's policy in Python Ocean: 10 retries (11 requests at most, rate-limited answers
/// included), 0.3 s base, exactly ±10 % jitter, 300 s cap on every wait (headers' too),
/// `Retry-After` then `x-ratelimit-reset` honoured, statuses [`DEFAULT_RETRY_STATUSES`],
/// tier factor 1.0. Tests shrink `base_delay` to run fast.
pub fn port_retry_policy() -> RetryPolicy {
    RetryPolicy {
        max_retries: 10,
        rate_limit_retries: None,
        base_delay: Duration::from_millis(300),
        max_backoff: Duration::from_secs(300),
        jitter_ratio: 0.1,
        tier_factor: 1.0,
        respect_retry_after: true,
        retry_after_headers: RETRY_AFTER_HEADERS
            .iter()
            .map(|h| HeaderName::from_static(h))
            .collect(),
        retry_statuses: DEFAULT_RETRY_STATUSES.to_vec(),
    }
}

/// [`port_retry_policy`] with the factor of the given sync tier.
pub fn port_retry_policy_for(tier: SyncTier) -> RetryPolicy {
    RetryPolicy {
        tier_factor: tier.factor(),
        ..port_retry_policy()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};
    use time::OffsetDateTime;
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
        port_retry_policy()
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
        // docs/port-api.md §3.1: a resync pod slept 0.825, 1.65, 2.7, 5.4, 13.2 … (retries 2–6).
        let p = port_retry_policy_for(SyncTier::Resync);
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
        let p = port_retry_policy_for(SyncTier::Resync);
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
        let p = port_retry_policy_for(SyncTier::Resync);
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
        // 429s share the one budget of 10.
        assert_eq!(policy().rate_limit_budget(), 10);
        assert!(policy().validate().is_ok());
    }
}
