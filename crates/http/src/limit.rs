//! Pacing requests so that an API's limits are respected before it has to refuse anything.
//!
//! A [`RateLimiter`] gates every attempt of every client that shares it (one per credential:
//! clones share state). It combines three things:
//!
//! - a configured [`Rate`] (`n` requests per period, as a token bucket that allows a burst of
//!   `n`);
//! - the budget the API reports in its responses ([`RateLimitHeaders`]: remaining requests and
//!   when the window resets — GitHub's `x-ratelimit-*`, PagerDuty's and the IETF draft's
//!   `ratelimit-*`): once the remaining count falls to the [`Reserve`], requests wait for the
//!   reset instead of running into 429s;
//! - pauses the API asked for (`Retry-After` on a rate-limited answer), which hold every request,
//!   not only the refused one.
//!
//! The limiter is written here rather than taken from `governor`: the budget comes from
//! response headers, not from a fixed quota, and waits use tokio's clock, so tests run them on
//! paused time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName};
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::retry::parse_retry_header;

/// A configured request rate: at most `requests` per `per`, with bursts of up to `requests`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Requests allowed per period (at least 1).
    pub requests: u32,
    /// The period.
    pub per: Duration,
}

impl Rate {
    /// `requests` per second.
    pub fn per_second(requests: u32) -> Self {
        Rate {
            requests,
            per: Duration::from_secs(1),
        }
    }

    /// `requests` per minute.
    pub fn per_minute(requests: u32) -> Self {
        Rate {
            requests,
            per: Duration::from_secs(60),
        }
    }

    fn per_second_f64(&self) -> f64 {
        f64::from(self.requests.max(1)) / self.per.as_secs_f64().max(1e-9)
    }
}

/// How much of the reported budget to leave untouched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reserve {
    /// Wait for the reset once this many requests remain (GitHub's
    /// `resyncRatelimitReservationThreshold`).
    Requests(u64),
    /// Wait once this fraction of the limit remains (0.1: pause at 90 % used, as PagerDuty's
    /// reference does). Needs the limit header; without it nothing is reserved.
    Fraction(f64),
}

/// Which response headers report the budget.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimitHeaders {
    /// Requests left in the window.
    pub remaining: HeaderName,
    /// When the window resets: seconds from now, or a Unix epoch second (values above
    /// 10 000), or a date ([`parse_retry_header`]).
    pub reset: HeaderName,
    /// The window's size, if sent (needed by [`Reserve::Fraction`]).
    pub limit: Option<HeaderName>,
    /// What to leave untouched.
    pub reserve: Reserve,
}

impl RateLimitHeaders {
    /// GitHub's `x-ratelimit-remaining`, `x-ratelimit-reset` (epoch), `x-ratelimit-limit`;
    /// nothing reserved.
    pub fn github() -> Self {
        RateLimitHeaders {
            remaining: HeaderName::from_static("x-ratelimit-remaining"),
            reset: HeaderName::from_static("x-ratelimit-reset"),
            limit: Some(HeaderName::from_static("x-ratelimit-limit")),
            reserve: Reserve::Requests(0),
        }
    }

    /// The IETF draft's (and PagerDuty's) `ratelimit-remaining`, `ratelimit-reset` (seconds),
    /// `ratelimit-limit`; nothing reserved.
    pub fn ietf() -> Self {
        RateLimitHeaders {
            remaining: HeaderName::from_static("ratelimit-remaining"),
            reset: HeaderName::from_static("ratelimit-reset"),
            limit: Some(HeaderName::from_static("ratelimit-limit")),
            reserve: Reserve::Requests(0),
        }
    }

    /// The same headers with this reserve.
    pub fn reserve(mut self, reserve: Reserve) -> Self {
        self.reserve = reserve;
        self
    }

    fn reserved(&self, limit: Option<u64>) -> u64 {
        match self.reserve {
            Reserve::Requests(n) => n,
            Reserve::Fraction(f) => limit
                .map(|l| (l as f64 * f.clamp(0.0, 1.0)).ceil() as u64)
                .unwrap_or(0),
        }
    }
}

/// The budget last reported.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Budget {
    remaining: u64,
    limit: Option<u64>,
    reset_at: Instant,
}

#[derive(Debug)]
struct State {
    tokens: f64,
    refilled_at: Instant,
    paused_until: Option<Instant>,
    budget: Option<Budget>,
}

/// A wait the limiter would have to make that is longer than allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitTooLong(pub Duration);

/// Paces requests: a configured rate, the reported budget, pauses asked for. Cheap to clone;
/// clones share their state.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    rate: Option<Rate>,
    headers: Option<RateLimitHeaders>,
    max_wait: Duration,
    state: Arc<Mutex<State>>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new(None, None)
    }
}

impl RateLimiter {
    /// A limiter with an optional configured rate and optional budget headers; it refuses to
    /// wait longer than one hour at a time ([`max_wait`](Self::max_wait)).
    pub fn new(rate: Option<Rate>, headers: Option<RateLimitHeaders>) -> Self {
        RateLimiter {
            rate,
            headers,
            max_wait: Duration::from_secs(3600),
            state: Arc::new(Mutex::new(State {
                tokens: rate.map(|r| f64::from(r.requests.max(1))).unwrap_or(0.0),
                refilled_at: Instant::now(),
                paused_until: None,
                budget: None,
            })),
        }
    }

    /// The longest single wait accepted; a longer one fails the request instead.
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// The configured budget headers.
    pub fn headers(&self) -> Option<&RateLimitHeaders> {
        self.headers.as_ref()
    }

    /// Waits until one more request may start, and counts it.
    pub async fn acquire(&self) -> Result<(), WaitTooLong> {
        self.acquire_for(false).await
    }

    /// Like [`acquire`](Self::acquire); with `spend_reserve`, the request may use the budget's
    /// [`Reserve`] and waits only when nothing at all remains (what the reserve is kept for:
    /// live events, while a resync waits for the reset).
    pub async fn acquire_for(&self, spend_reserve: bool) -> Result<(), WaitTooLong> {
        loop {
            let wait = self.try_acquire(Instant::now(), spend_reserve);
            match wait {
                None => return Ok(()),
                Some(wait) if wait > self.max_wait => return Err(WaitTooLong(wait)),
                Some(wait) => {
                    tracing::debug!(wait_seconds = wait.as_secs_f64(), "rate limit: waiting");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Takes a slot now (`None`), or says how long to wait before trying again.
    fn try_acquire(&self, now: Instant, spend_reserve: bool) -> Option<Duration> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(until) = state.paused_until {
            if until > now {
                return Some(until - now);
            }
            state.paused_until = None;
        }
        if let (Some(headers), Some(budget)) = (&self.headers, state.budget) {
            if budget.reset_at <= now {
                state.budget = None;
            } else if budget.remaining
                <= if spend_reserve {
                    0
                } else {
                    headers.reserved(budget.limit)
                }
            {
                return Some(budget.reset_at - now);
            }
        }
        if let Some(rate) = self.rate {
            let per_second = rate.per_second_f64();
            let capacity = f64::from(rate.requests.max(1));
            let elapsed = now.duration_since(state.refilled_at).as_secs_f64();
            state.tokens = (state.tokens + elapsed * per_second).min(capacity);
            state.refilled_at = now;
            if state.tokens < 1.0 {
                let missing = (1.0 - state.tokens) / per_second;
                return Some(Duration::from_secs_f64(missing).max(Duration::from_micros(1)));
            }
            state.tokens -= 1.0;
        }
        if let Some(budget) = state.budget.as_mut() {
            budget.remaining = budget.remaining.saturating_sub(1);
        }
        None
    }

    /// Reads the budget from a response's headers (when budget headers are configured).
    /// Returns the time until the reset when the response says nothing remains.
    pub fn observe(&self, headers: &HeaderMap) -> Option<Duration> {
        let config = self.headers.as_ref()?;
        let number = |name: &HeaderName| -> Option<u64> {
            headers.get(name)?.to_str().ok()?.trim().parse().ok()
        };
        let remaining = number(&config.remaining)?;
        let reset_in = headers
            .get(&config.reset)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_header(v, OffsetDateTime::now_utc()))?;
        let limit = config.limit.as_ref().and_then(number);
        let now = Instant::now();
        let reset_at = now + reset_in;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let reserved = config.reserved(limit);
        if remaining <= reserved
            && state
                .budget
                .is_none_or(|b| b.remaining > reserved || b.reset_at < reset_at)
        {
            tracing::info!(
                remaining,
                reset_in_seconds = reset_in.as_secs(),
                "rate limit budget reached its reserve; pausing requests until the reset"
            );
        }
        state.budget = Some(Budget {
            remaining,
            limit,
            reset_at,
        });
        (remaining == 0).then_some(reset_in)
    }

    /// Holds every request for `wait` (what a rate-limited answer asked for).
    pub fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.paused_until.is_none_or(|u| u < until) {
            state.paused_until = Some(until);
        }
    }

    /// Requests left in the reported budget, if one is known and its window has not reset.
    pub fn remaining(&self) -> Option<u64> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state
            .budget
            .filter(|b| b.reset_at > Instant::now())
            .map(|b| b.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[tokio::test(start_paused = true)]
    async fn a_configured_rate_allows_a_burst_then_paces() {
        let limiter = RateLimiter::new(Some(Rate::per_second(2)), None);
        let start = Instant::now();
        for _ in 0..6 {
            limiter.acquire().await.unwrap();
        }
        // Two at once, then one every half second.
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(2000) && elapsed < Duration::from_millis(2100),
            "{elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_reported_budget_pauses_at_the_reserve_until_the_reset() {
        let limiter = RateLimiter::new(
            None,
            Some(RateLimitHeaders::ietf().reserve(Reserve::Fraction(0.1))),
        );
        assert_eq!(
            limiter.observe(&headers(&[
                ("ratelimit-limit", "100"),
                ("ratelimit-remaining", "12"),
                ("ratelimit-reset", "30"),
            ])),
            None
        );
        assert_eq!(limiter.remaining(), Some(12));
        let start = Instant::now();
        limiter.acquire().await.unwrap();
        limiter.acquire().await.unwrap();
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert_eq!(limiter.remaining(), Some(10));
        // 10 left of 100 = the 10 % reserve: wait for the reset, then go.
        limiter.acquire().await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(30));
        assert_eq!(limiter.remaining(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_that_may_spend_the_reserve_go_on_until_nothing_remains() {
        let limiter = RateLimiter::new(
            None,
            Some(RateLimitHeaders::github().reserve(Reserve::Fraction(0.05))),
        );
        let reset = OffsetDateTime::now_utc().unix_timestamp() + 100;
        limiter.observe(&headers(&[
            ("x-ratelimit-limit", "100"),
            ("x-ratelimit-remaining", "6"),
            ("x-ratelimit-reset", &reset.to_string()),
        ]));
        let start = Instant::now();
        limiter.acquire().await.unwrap();
        assert_eq!(limiter.remaining(), Some(5));
        // 5 of 100 left: the 5 % reserve. A resync's request would wait for the reset; a live
        // event's spends the reserve, down to the last request.
        for left in (0..5).rev() {
            limiter.acquire_for(true).await.unwrap();
            assert_eq!(limiter.remaining(), Some(left));
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        limiter.acquire_for(true).await.unwrap();
        assert!(
            start.elapsed() >= Duration::from_secs(98),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn github_epoch_resets_pauses_and_the_longest_wait() {
        let limiter = RateLimiter::new(None, Some(RateLimitHeaders::github()));
        let reset = OffsetDateTime::now_utc().unix_timestamp() + 3;
        let exhausted = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &reset.to_string()),
        ]);
        let wait = limiter.observe(&exhausted).unwrap();
        assert!(
            wait <= Duration::from_secs(3) && wait >= Duration::from_secs(2),
            "{wait:?}"
        );
        let start = Instant::now();
        limiter.acquire().await.unwrap();
        assert!(start.elapsed() >= Duration::from_secs(2));
        // A pause holds every request; one longer than allowed is refused.
        let limiter = RateLimiter::default().max_wait(Duration::from_secs(10));
        limiter.pause_for(Duration::from_secs(4));
        limiter.pause_for(Duration::from_secs(1));
        let start = Instant::now();
        limiter.acquire().await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(4));
        limiter.pause_for(Duration::from_secs(60));
        assert_eq!(
            limiter.acquire().await,
            Err(WaitTooLong(Duration::from_secs(60)))
        );
        // Headers missing or unreadable: no budget.
        let limiter = RateLimiter::new(None, Some(RateLimitHeaders::github()));
        assert_eq!(
            limiter.observe(&headers(&[("x-ratelimit-remaining", "x")])),
            None
        );
        assert_eq!(limiter.remaining(), None);
    }
}
