//! One rate limiter per credential and API (REST, GraphQL), shared by every kind and webhook
//! that uses the credential: GitHub counts the quota per credential, so this is where the
//! integration keeps track of it.
//!
//! - **Primary limits.** Every GitHub answer carries `x-ratelimit-limit`, `-remaining` and
//!   `-reset` (epoch seconds). Between answers the limiter counts down locally for the requests
//!   it lets through. During a resync, once `resyncRatelimitReservationThreshold` percent of the
//!   quota is used, resync requests wait for the reset, so the rest stays for webhooks; any
//!   request waits when the quota is gone.
//! - **Secondary limits.** A `retry-after` on a 403/429, or a 403/429 with `remaining: 0`,
//!   pauses every request of the credential until then (not only the one that got it).
//! - **Concurrency.** At most [`REST_CONCURRENCY`] REST and [`GRAPHQL_CONCURRENCY`] GraphQL
//!   requests are in flight per credential; a request waiting for a reset holds no slot.

use reqwest::header::HeaderMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{Semaphore, SemaphorePermit};

/// REST requests in flight per credential (as the reference).
pub const REST_CONCURRENCY: usize = 10;
/// GraphQL requests in flight per credential (as the reference).
pub const GRAPHQL_CONCURRENCY: usize = 5;

/// Who is asking: a resync is held back by the reservation threshold, live events are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A full resync.
    Resync,
    /// A webhook, the startup hook registration, anything else.
    Live,
}

/// The quota as GitHub last reported it, counted down locally since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Requests (or GraphQL points) per window.
    pub limit: u64,
    /// What is left in this window.
    pub remaining: u64,
    /// When the window resets, in epoch seconds.
    pub reset: u64,
}

impl Quota {
    /// The quota GitHub's `x-ratelimit-*` headers describe, if all three are present.
    pub fn from_headers(headers: &HeaderMap) -> Option<Quota> {
        let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
        Some(Quota {
            limit: number("x-ratelimit-limit")?,
            remaining: number("x-ratelimit-remaining")?,
            reset: number("x-ratelimit-reset")?,
        })
    }

    /// The share of the quota used, in percent.
    pub fn used_percent(&self) -> u64 {
        if self.limit == 0 {
            return 100;
        }
        (self.limit.saturating_sub(self.remaining)) * 100 / self.limit
    }
}

#[derive(Debug, Default)]
struct State {
    quota: Option<Quota>,
    /// A secondary limit (or an exhausted quota): nobody sends before this.
    paused_until: Option<SystemTime>,
}

/// What the limiter decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Go,
    Wait(Duration),
}

fn epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn at_epoch(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

/// The limiter of one credential and API.
#[derive(Debug)]
pub struct RateLimiter {
    name: String,
    state: Mutex<State>,
    permits: Semaphore,
    concurrency: usize,
    threshold: u8,
}

/// A request's slot: hold it until the answer is read.
pub struct Slot<'a> {
    _permit: SemaphorePermit<'a>,
}

impl RateLimiter {
    /// A limiter named for logs (`rest pat`, `graphql installation:42`), with `concurrency`
    /// slots and the reservation threshold in percent.
    pub fn new(name: impl Into<String>, concurrency: usize, threshold: u8) -> Self {
        RateLimiter {
            name: name.into(),
            state: Mutex::new(State::default()),
            permits: Semaphore::new(concurrency),
            concurrency,
            threshold,
        }
    }

    /// The quota as last known (counted down locally since GitHub's last report).
    pub fn quota(&self) -> Option<Quota> {
        self.lock().quota
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn decide(&self, state: &mut State, now: SystemTime, purpose: Purpose) -> Decision {
        if let Some(until) = state.paused_until {
            match until.duration_since(now) {
                Ok(wait) if !wait.is_zero() => return Decision::Wait(wait),
                _ => state.paused_until = None,
            }
        }
        let Some(quota) = state.quota.as_mut() else {
            return Decision::Go;
        };
        let now_epoch = epoch(now);
        if now_epoch >= quota.reset {
            // A new window: the next answer tells its figures.
            state.quota = None;
            return Decision::Go;
        }
        // One second past the reset, so that the window has turned when we come back.
        let until_reset = Duration::from_secs(quota.reset - now_epoch + 1);
        if purpose == Purpose::Resync && quota.used_percent() >= u64::from(self.threshold) {
            return Decision::Wait(until_reset);
        }
        if quota.remaining <= 1 {
            return Decision::Wait(until_reset);
        }
        quota.remaining -= 1;
        Decision::Go
    }

    /// Waits until a request may be sent, then takes a slot. `max_wait` bounds any single
    /// wait; a longer one is returned as an error (seconds GitHub asked for).
    pub async fn acquire(&self, purpose: Purpose, max_wait: Duration) -> Result<Slot<'_>, u64> {
        loop {
            let decision = {
                let mut state = self.lock();
                self.decide(&mut state, SystemTime::now(), purpose)
            };
            match decision {
                Decision::Go => break,
                Decision::Wait(wait) if wait > max_wait => return Err(wait.as_secs()),
                Decision::Wait(wait) => {
                    tracing::info!(
                        limiter = %self.name,
                        seconds = wait.as_secs_f64(),
                        ?purpose,
                        "GitHub rate limit: waiting for the quota's reset"
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
        let permit = self
            .permits
            .acquire()
            .await
            .expect("the limiter's semaphore is never closed");
        Ok(Slot { _permit: permit })
    }

    /// Takes GitHub's figures from an answer's headers. Requests still in flight are counted
    /// against what GitHub reported.
    pub fn observe(&self, headers: &HeaderMap) {
        let Some(reported) = Quota::from_headers(headers) else {
            return;
        };
        let in_flight = (self.concurrency - self.permits.available_permits()) as u64;
        let mut state = self.lock();
        let estimate = Quota {
            remaining: reported
                .remaining
                .saturating_sub(in_flight.saturating_sub(1)),
            ..reported
        };
        match state.quota {
            Some(known) if known.reset > reported.reset => {} // an answer from an older window
            _ => state.quota = Some(estimate),
        }
    }

    /// Records a rate-limited answer: every request of this credential pauses until GitHub's
    /// `retry-after` (seconds) or the quota's reset. Returns how long that is from now.
    pub fn limited(&self, headers: &HeaderMap, fallback: Duration) -> Duration {
        let now = SystemTime::now();
        let until = match retry_after(headers, now) {
            Some(until) => until,
            None => match Quota::from_headers(headers) {
                Some(q) if q.remaining == 0 => at_epoch(q.reset + 1),
                _ => now + fallback,
            },
        };
        let mut state = self.lock();
        if let Some(q) = Quota::from_headers(headers) {
            state.quota = Some(q);
        }
        if state.paused_until.is_none_or(|p| p < until) {
            state.paused_until = Some(until);
        }
        until.duration_since(now).unwrap_or_default()
    }
}

/// `retry-after` as a moment: seconds, or an HTTP date.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<SystemTime> {
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(now + Duration::from_secs(seconds));
    }
    let format = time::format_description::well_known::Rfc2822;
    let date = time::OffsetDateTime::parse(value, &format).ok()?;
    Some(at_epoch(date.unix_timestamp().max(0) as u64))
}

/// Whether an answer is GitHub saying "rate limited": 429, or 403 with an exhausted quota or a
/// `retry-after` (secondary limit). A plain 403 is a permission error.
pub fn is_rate_limited(status: reqwest::StatusCode, headers: &HeaderMap) -> bool {
    match status.as_u16() {
        429 => true,
        403 => {
            headers.contains_key("retry-after")
                || headers
                    .get("x-ratelimit-remaining")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.trim() == "0")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn quota_headers(limit: u64, remaining: u64, reset: u64) -> HeaderMap {
        headers(&[
            ("x-ratelimit-limit", limit.to_string()),
            ("x-ratelimit-remaining", remaining.to_string()),
            ("x-ratelimit-reset", reset.to_string()),
        ])
    }

    #[test]
    fn resyncs_stop_at_the_threshold_and_live_events_go_on() {
        let limiter = RateLimiter::new("rest test", 10, 95);
        let now = SystemTime::now();
        let reset = epoch(now) + 100;
        limiter.observe(&quota_headers(5000, 300, reset));
        let mut state = limiter.lock();
        assert_eq!(
            limiter.decide(&mut state, now, Purpose::Resync),
            Decision::Go
        );
        state.quota.as_mut().unwrap().remaining = 250;
        match limiter.decide(&mut state, now, Purpose::Resync) {
            Decision::Wait(d) => assert!((99..=101).contains(&d.as_secs()), "{d:?}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(limiter.decide(&mut state, now, Purpose::Live), Decision::Go);
        assert_eq!(state.quota.unwrap().remaining, 249);
        state.quota.as_mut().unwrap().remaining = 1;
        assert!(matches!(
            limiter.decide(&mut state, now, Purpose::Live),
            Decision::Wait(_)
        ));
        // Past the reset the window is forgotten.
        let later = at_epoch(reset + 1);
        assert_eq!(
            limiter.decide(&mut state, later, Purpose::Resync),
            Decision::Go
        );
        assert!(state.quota.is_none());
    }

    #[test]
    fn a_threshold_of_zero_or_a_hundred() {
        let now = SystemTime::now();
        let reset = epoch(now) + 60;
        let strict = RateLimiter::new("strict", 10, 100);
        strict.observe(&quota_headers(100, 2, reset));
        assert_eq!(
            strict.decide(&mut strict.lock(), now, Purpose::Resync),
            Decision::Go
        );
        let none = RateLimiter::new("none", 10, 0);
        none.observe(&quota_headers(100, 100, reset));
        assert!(matches!(
            none.decide(&mut none.lock(), now, Purpose::Resync),
            Decision::Wait(_)
        ));
    }

    #[test]
    fn secondary_limits_pause_everyone() {
        let limiter = RateLimiter::new("rest", 10, 95);
        let h = headers(&[("retry-after", "30".into())]);
        assert!(is_rate_limited(reqwest::StatusCode::FORBIDDEN, &h));
        let wait = limiter.limited(&h, Duration::from_secs(1));
        assert!((29..=30).contains(&wait.as_secs()), "{wait:?}");
        let now = SystemTime::now();
        assert!(matches!(
            limiter.decide(&mut limiter.lock(), now, Purpose::Live),
            Decision::Wait(_)
        ));
    }

    #[test]
    fn only_rate_limit_answers_count_as_rate_limits() {
        let exhausted = quota_headers(5000, 0, 1);
        assert!(is_rate_limited(reqwest::StatusCode::FORBIDDEN, &exhausted));
        assert!(is_rate_limited(
            reqwest::StatusCode::TOO_MANY_REQUESTS,
            &HeaderMap::new()
        ));
        let fine = quota_headers(5000, 12, 1);
        assert!(!is_rate_limited(reqwest::StatusCode::FORBIDDEN, &fine));
        assert!(!is_rate_limited(
            reqwest::StatusCode::FORBIDDEN,
            &HeaderMap::new()
        ));
        assert!(!is_rate_limited(reqwest::StatusCode::NOT_FOUND, &exhausted));
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let h = headers(&[("retry-after", "5".into())]);
        assert_eq!(retry_after(&h, now), Some(now + Duration::from_secs(5)));
        let h = headers(&[("retry-after", "Tue, 14 Nov 2023 22:13:30 GMT".into())]);
        assert_eq!(
            retry_after(&h, now),
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_010))
        );
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }
}
