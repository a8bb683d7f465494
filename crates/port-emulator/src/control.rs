//! The emulator's in-memory run-time state: issued access tokens, injected faults (fail rate,
//! rate limit, latency, fail-next) and the request log; and [`Controls`], the handle tests and
//! the admin routes use to change them while the emulator runs.
//!
//! None of this is persisted: after a restart every client fetches a new token, which is what
//! happens with Port too when a token expires. Faults are decided before a request reaches its
//! handler, so a faulted request never changes stored state.

use crate::clock;
use crate::error::ApiError;
use crate::model::RecordedRequest;
use axum::http::{HeaderValue, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ocean_model::Secret;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Faults injected into every API request (admin routes excluded).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultSettings {
    /// Fraction (0.0–1.0) of requests answered 503 or 429 (half each) without being handled.
    pub fail_rate: f64,
    /// Requests per second accepted; beyond that, 429 with `Retry-After`. `None`: unlimited.
    pub rate_limit: Option<u32>,
    /// Delay added before answering each request, in milliseconds.
    pub latency_ms: u64,
    /// Seeds the choice of which requests fail (and how), so that a run with the same requests
    /// in the same order meets the same faults. `None`: a fresh random seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// Shared by the HTTP handlers and every [`Controls`] handle.
pub(crate) struct Shared {
    pub(crate) client_id: String,
    pub(crate) client_secret: Secret,
    pub(crate) bound: SocketAddr,
    pub(crate) max_body_bytes: usize,
    pub(crate) feature_flags: Vec<String>,
    pub(crate) provision_enabled: Vec<String>,
    faults: Mutex<FaultState>,
    tokens: Mutex<TokenState>,
    requests: Mutex<RequestLog>,
}

struct FaultState {
    settings: FaultSettings,
    bucket: Option<Bucket>,
    fail_next: VecDeque<u16>,
    rng: StdRng,
    /// Requests answered with an injected fault so far.
    injected: u64,
}

fn rng_for(seed: Option<u64>) -> StdRng {
    match seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => StdRng::from_os_rng(),
    }
}

/// A token bucket holding at most one second's worth of requests.
struct Bucket {
    rate: f64,
    tokens: f64,
    refilled: Instant,
}

impl Bucket {
    fn new(rate: u32) -> Bucket {
        let rate = f64::from(rate.max(1));
        Bucket {
            rate,
            tokens: rate,
            refilled: Instant::now(),
        }
    }

    /// Takes one token, or says how long until one is available.
    fn take(&mut self) -> Result<(), Duration> {
        let now = Instant::now();
        let elapsed = now.duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}

struct TokenState {
    ttl: Duration,
    live: HashMap<String, Instant>,
}

struct RequestLog {
    capacity: usize,
    entries: VecDeque<RecordedRequest>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves consistent data (plain fields), so a
    // poisoned lock is still usable.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What the fault layer decided for one request.
pub(crate) struct Verdict {
    pub(crate) latency: Duration,
    pub(crate) fault: Option<ApiError>,
}

impl Shared {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        client_id: String,
        client_secret: Secret,
        bound: SocketAddr,
        max_body_bytes: usize,
        feature_flags: Vec<String>,
        provision_enabled: Vec<String>,
        faults: FaultSettings,
        token_ttl: Duration,
        request_log_capacity: usize,
    ) -> Shared {
        Shared {
            client_id,
            client_secret,
            bound,
            max_body_bytes,
            feature_flags,
            provision_enabled,
            faults: Mutex::new(FaultState {
                settings: faults,
                bucket: faults.rate_limit.map(Bucket::new),
                fail_next: VecDeque::new(),
                rng: rng_for(faults.seed),
                injected: 0,
            }),
            tokens: Mutex::new(TokenState {
                ttl: token_ttl,
                live: HashMap::new(),
            }),
            requests: Mutex::new(RequestLog {
                capacity: request_log_capacity,
                entries: VecDeque::new(),
            }),
        }
    }

    /// Decides whether this request is delayed and/or failed.
    pub(crate) fn verdict(&self) -> Verdict {
        let mut state = lock(&self.faults);
        let latency = Duration::from_millis(state.settings.latency_ms);
        if let Some(status) = state.fail_next.pop_front() {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            state.injected += 1;
            return Verdict {
                latency,
                fault: Some(injected(status, None)),
            };
        }
        if let Some(bucket) = &mut state.bucket
            && let Err(wait) = bucket.take()
        {
            let secs = wait.as_secs_f64().ceil().max(1.0);
            state.injected += 1;
            return Verdict {
                latency,
                fault: Some(injected(StatusCode::TOO_MANY_REQUESTS, Some(secs as u64))),
            };
        }
        let rate = state.settings.fail_rate;
        if rate > 0.0 && state.rng.random::<f64>() < rate {
            let status = if state.rng.random::<bool>() {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::TOO_MANY_REQUESTS
            };
            state.injected += 1;
            return Verdict {
                latency,
                fault: Some(injected(status, None)),
            };
        }
        Verdict {
            latency,
            fault: None,
        }
    }

    /// Issues a new access token; answers it and its lifetime in seconds.
    pub(crate) fn issue_token(&self, org_id: &str) -> (String, u64) {
        let mut tokens = lock(&self.tokens);
        let now = Instant::now();
        tokens.live.retain(|_, expires| *expires > now);
        let ttl = tokens.ttl;
        let issued = clock::now_micros() / 1_000_000;
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(
            json!({
                "orgId": org_id,
                "clientId": self.client_id,
                "isMachine": true,
                "iat": issued,
                "exp": issued + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
                "jti": uuid::Uuid::new_v4().to_string(),
            })
            .to_string(),
        );
        let signature = URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes());
        let token = format!("{header}.{payload}.{signature}");
        tokens.live.insert(token.clone(), now + ttl);
        (token, ttl.as_secs())
    }

    /// Whether the token was issued here and has not expired.
    pub(crate) fn token_valid(&self, token: &str) -> bool {
        lock(&self.tokens)
            .live
            .get(token)
            .is_some_and(|expires| *expires > Instant::now())
    }

    pub(crate) fn record(&self, request: RecordedRequest) {
        let mut log = lock(&self.requests);
        if log.entries.len() >= log.capacity {
            log.entries.pop_front();
        }
        log.entries.push_back(request);
    }
}

fn injected(status: StatusCode, retry_after: Option<u64>) -> ApiError {
    let (code, message) = match status {
        StatusCode::TOO_MANY_REQUESTS => (
            "too_many_requests",
            "Rate limit exceeded (injected by the emulator)",
        ),
        _ => (
            "service_unavailable",
            "Service unavailable (injected by the emulator)",
        ),
    };
    let error = ApiError::new(status, code, message);
    match retry_after.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
        Some(value) => error.with_header(header::RETRY_AFTER, value),
        None => error,
    }
}

/// Changes faults and tokens of a running emulator, and reads its request log. Cloneable; every
/// clone controls the same emulator.
#[derive(Clone)]
pub struct Controls {
    pub(crate) shared: Arc<Shared>,
}

impl Controls {
    /// The faults currently injected.
    pub fn settings(&self) -> FaultSettings {
        lock(&self.shared.faults).settings
    }

    /// Replaces all fault settings at once.
    pub fn set(&self, settings: FaultSettings) {
        let mut state = lock(&self.shared.faults);
        if state.settings.rate_limit != settings.rate_limit {
            state.bucket = settings.rate_limit.map(Bucket::new);
        }
        if settings.seed.is_some() {
            state.rng = rng_for(settings.seed);
        }
        state.settings = settings;
    }

    /// Restarts the fault choices from `seed`.
    pub fn set_seed(&self, seed: u64) {
        let mut state = lock(&self.shared.faults);
        state.settings.seed = Some(seed);
        state.rng = rng_for(Some(seed));
    }

    /// How many requests were answered with an injected fault so far.
    pub fn injected_faults(&self) -> u64 {
        lock(&self.shared.faults).injected
    }

    /// Answers this fraction (0.0–1.0) of requests with 503 or 429.
    pub fn set_fail_rate(&self, fail_rate: f64) {
        lock(&self.shared.faults).settings.fail_rate = fail_rate.clamp(0.0, 1.0);
    }

    /// Limits requests per second (`None`: unlimited); beyond it, 429 with `Retry-After`.
    pub fn set_rate_limit(&self, per_second: Option<u32>) {
        let mut state = lock(&self.shared.faults);
        state.settings.rate_limit = per_second;
        state.bucket = per_second.map(Bucket::new);
    }

    /// Delays every answer by this long.
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.shared.faults).settings.latency_ms =
            u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
    }

    /// Answers the next `count` API requests with `status` (e.g. 503, 429, 500), whatever they
    /// are, before any other fault applies.
    pub fn fail_next(&self, count: usize, status: u16) {
        let mut state = lock(&self.shared.faults);
        state.fail_next.extend(std::iter::repeat_n(status, count));
    }

    /// Makes every token issued so far invalid: the next call with one gets a 401.
    pub fn expire_tokens(&self) {
        lock(&self.shared.tokens).live.clear();
    }

    /// Sets the lifetime (`expiresIn`) of tokens issued from now on.
    pub fn set_token_ttl(&self, ttl: Duration) {
        lock(&self.shared.tokens).ttl = ttl;
    }

    /// The lifetime of tokens issued from now on.
    pub fn token_ttl(&self) -> Duration {
        lock(&self.shared.tokens).ttl
    }

    /// Every API request answered so far (oldest first, up to the log's capacity).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests)
            .entries
            .iter()
            .cloned()
            .collect()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        lock(&self.shared.requests).entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(faults: FaultSettings) -> Shared {
        Shared::new(
            "id".into(),
            Secret::new("secret"),
            "127.0.0.1:1".parse().unwrap(),
            1024,
            vec![],
            vec![],
            faults,
            Duration::from_secs(60),
            2,
        )
    }

    #[test]
    fn fail_next_comes_first_and_runs_out() {
        let shared = Arc::new(shared(FaultSettings::default()));
        let controls = Controls {
            shared: shared.clone(),
        };
        controls.fail_next(2, 503);
        assert_eq!(shared.verdict().fault.map(|f| f.status.as_u16()), Some(503));
        assert_eq!(shared.verdict().fault.map(|f| f.status.as_u16()), Some(503));
        assert!(shared.verdict().fault.is_none());
    }

    #[test]
    fn fail_rate_one_fails_everything_with_429_or_503() {
        let shared = shared(FaultSettings {
            fail_rate: 1.0,
            ..FaultSettings::default()
        });
        for _ in 0..20 {
            let status = shared.verdict().fault.map(|f| f.status.as_u16());
            assert!(matches!(status, Some(429 | 503)), "{status:?}");
        }
    }

    #[test]
    fn a_seed_repeats_the_same_faults_and_they_are_counted() {
        let run = |seed| {
            let shared = shared(FaultSettings {
                fail_rate: 0.3,
                seed: Some(seed),
                ..FaultSettings::default()
            });
            let statuses: Vec<Option<u16>> = (0..200)
                .map(|_| shared.verdict().fault.map(|f| f.status.as_u16()))
                .collect();
            let injected = lock(&shared.faults).injected;
            (statuses, injected)
        };
        let (first, injected) = run(7);
        assert_eq!(run(7).0, first);
        assert_ne!(run(8).0, first);
        let failed = first.iter().filter(|s| s.is_some()).count() as u64;
        assert_eq!(injected, failed);
        // About 30 %, both kinds.
        assert!((30..=90).contains(&failed), "{failed}");
        assert!(first.contains(&Some(429)) && first.contains(&Some(503)));
    }

    #[test]
    fn rate_limit_answers_429_with_retry_after() {
        let shared = shared(FaultSettings {
            rate_limit: Some(3),
            ..FaultSettings::default()
        });
        for _ in 0..3 {
            assert!(shared.verdict().fault.is_none());
        }
        let fault = shared
            .verdict()
            .fault
            .expect("the fourth request is limited");
        assert_eq!(fault.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(
            fault
                .headers
                .iter()
                .any(|(n, v)| n == header::RETRY_AFTER && v == "1")
        );
    }

    #[test]
    fn tokens_expire_on_demand() {
        let shared = Arc::new(shared(FaultSettings::default()));
        let (token, ttl) = shared.issue_token("org");
        assert_eq!(ttl, 60);
        assert_eq!(token.split('.').count(), 3);
        assert!(shared.token_valid(&token));
        assert!(!shared.token_valid("forged"));
        Controls {
            shared: shared.clone(),
        }
        .expire_tokens();
        assert!(!shared.token_valid(&token));
    }

    #[test]
    fn request_log_keeps_the_newest() {
        let shared = Arc::new(shared(FaultSettings::default()));
        for i in 0..3u16 {
            shared.record(RecordedRequest {
                method: "GET".into(),
                path: format!("/{i}"),
                query: None,
                user_agent: None,
                status: 200,
                injected_fault: false,
                received_at_micros: 0,
                duration_micros: 0,
            });
        }
        let paths: Vec<String> = Controls { shared }
            .requests()
            .into_iter()
            .map(|r| r.path)
            .collect();
        assert_eq!(paths, vec!["/1", "/2"]);
    }
}
