//! Sending one logical request to Port: attach the User-Agent and the token, send, read the
//! whole body, and retry, waiting as the [`RetryPolicy`](crate::RetryPolicy) says and refreshing
//! the token on a 401.
//!
//! Which failures are retried depends on what Port may have done with the request:
//! - **Refused** — an answer that means Port did not apply it (the policy's statuses: 408, 429,
//!   502, 503, 504, and 401 with a renewed token), or a connection that failed before the
//!   request was sent: every call is retried, whatever its method.
//! - **In doubt** — a 500, a timeout or a connection lost after the body was sent: Port may have
//!   applied it. Only calls marked [`Repeat::Harmless`] are retried (at most
//!   [`MAX_RETRIES_IN_DOUBT`] times): reads, searches, upserts (the same entity again), deletes,
//!   PATCH/PUT of a named resource, the token. Calls that create something
//!   ([`Repeat::OnlyIfRefused`]: a blueprint, the integration, an action, a scorecard, a page)
//!   are not, since a second copy or a conflict could follow.
//!
//! Python Ocean retries only idempotent methods and a few marked POSTs, so a 429 on
//! `POST /blueprints` or `PATCH …/resync-state` fails there; Ocean retries every refusal
//! (README, compatibility).
//!
//! A [`Call`] is an immutable description (method, URL, body as shared bytes, headers), so each
//! attempt rebuilds the HTTP request from it with the current token. Whether a non-2xx answer is
//! an error is left to each endpoint: some treat 404 or 413 as an answer.

use std::error::Error as _;
use std::sync::Arc;

use bytes::Bytes;
use reqwest::header::{
    AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, USER_AGENT,
};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use url::Url;

use crate::auth::Token;
use crate::client::Inner;
use crate::config::UserAgentFeature;
use crate::error::{PortError, excerpt};

/// Where a call goes: the full URL and the path shown in errors and logs.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) url: Url,
    pub(crate) path: String,
}

/// At most this many retries of a harmless call whose outcome is in doubt (a 500, a timeout
/// after sending): a 500 that repeats is usually Port's answer, not a hiccup.
pub(crate) const MAX_RETRIES_IN_DOUBT: u32 = 3;

/// Whether sending a call again is harmless when Port may already have applied it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// Repeating it leaves Port as one request would: retried on refusals and on doubt.
    Harmless,
    /// Repeating it after Port applied it would create a second copy or a conflict: retried only
    /// when Port refused it or the connection failed before sending.
    OnlyIfRefused,
}

/// One logical request.
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) target: Target,
    body: Option<Bytes>,
    feature: Option<UserAgentFeature>,
    repeat: Repeat,
    auth: bool,
    final_statuses: &'static [u16],
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Call {
    /// An authenticated request with the plain User-Agent. Every method but POST addresses a
    /// named resource and is [`Repeat::Harmless`]; a POST creates something and is
    /// [`Repeat::OnlyIfRefused`] unless marked with [`Call::harmless_to_repeat`].
    pub(crate) fn new(method: Method, target: Target) -> Self {
        let repeat = if method == Method::POST {
            Repeat::OnlyIfRefused
        } else {
            Repeat::Harmless
        };
        Call {
            method,
            target,
            body: None,
            feature: None,
            repeat,
            auth: true,
            final_statuses: &[],
            headers: Vec::new(),
        }
    }

    /// Statuses that are answers, not hiccups: never retried even when the policy would retry
    /// them (the token request's 401/403 means the credentials are wrong).
    pub(crate) fn final_statuses(mut self, statuses: &'static [u16]) -> Self {
        self.final_statuses = statuses;
        self
    }

    /// Marks a POST whose repetition is harmless (token, upserts, bulk delete, searches).
    pub(crate) fn harmless_to_repeat(mut self) -> Self {
        self.repeat = Repeat::Harmless;
        self
    }

    /// Sends no `Authorization` header (the token request itself).
    pub(crate) fn without_auth(mut self) -> Self {
        self.auth = false;
        self
    }

    /// Appends `/{feature}` to the User-Agent.
    pub(crate) fn feature(mut self, feature: Option<UserAgentFeature>) -> Self {
        self.feature = feature;
        self
    }

    /// Adds a header.
    pub(crate) fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.push((
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ));
        self
    }

    /// Adds query parameters, in order.
    pub(crate) fn query<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        if !pairs.is_empty() {
            let mut q = self.target.url.query_pairs_mut();
            for (k, v) in pairs {
                q.append_pair(k.as_ref(), v.as_ref());
            }
        }
        self
    }

    /// A JSON body already encoded.
    pub(crate) fn body(mut self, body: Bytes) -> Self {
        self.body = Some(body);
        self
    }

    /// A JSON body encoded from a value.
    pub(crate) fn json<T: serde::Serialize + ?Sized>(self, body: &T) -> Result<Self, PortError> {
        match serde_json::to_vec(body) {
            Ok(bytes) => Ok(self.body(Bytes::from(bytes))),
            Err(e) => Err(PortError::Decode {
                method: self.method.clone(),
                path: self.target.path.clone(),
                message: format!("could not encode the request body: {e}"),
                body: String::new(),
            }),
        }
    }
}

/// Port's answer to a call, with the whole body read.
pub(crate) struct Reply {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    redact: Arc<[String; 2]>,
}

impl Reply {
    pub(crate) fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// The answer if it is a 2xx, else the HTTP error describing it.
    pub(crate) fn success(self) -> Result<Reply, PortError> {
        if self.is_success() {
            Ok(self)
        } else {
            Err(self.http_error())
        }
    }

    /// The error describing a non-2xx answer.
    pub(crate) fn http_error(&self) -> PortError {
        PortError::Http {
            method: self.method.clone(),
            path: self.path.clone(),
            status: self.status.as_u16(),
            body: self.excerpt(),
            trace_id: self
                .headers
                .get("x-trace-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        }
    }

    /// The body parsed as JSON of type `T`.
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T, PortError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| self.decode_error(&format!("the body is not the expected JSON ({e})")))
    }

    /// The error describing a body that does not have what Ocean needs.
    pub(crate) fn decode_error(&self, message: &str) -> PortError {
        PortError::Decode {
            method: self.method.clone(),
            path: self.path.clone(),
            message: message.to_owned(),
            body: self.excerpt(),
        }
    }

    fn excerpt(&self) -> String {
        excerpt(&self.body, &[&self.redact[0], &self.redact[1]])
    }
}

impl Inner {
    /// Sends a call, retrying as the policy allows, and returns the last answer Port gave.
    ///
    /// Errors only when no answer came (transport failure after retries) or no token could be
    /// obtained; a non-2xx answer is returned as a [`Reply`].
    pub(crate) async fn execute(&self, call: &Call) -> Result<Reply, PortError> {
        let policy = &self.config.retry;
        let mut token = if call.auth {
            Some(self.token().await?)
        } else {
            None
        };
        let mut retries = 0u32;
        let mut in_doubt = 0u32;
        loop {
            let (reason, headers) = match self.send_once(call, token.as_deref()).await {
                Ok(reply) => {
                    let status = reply.status.as_u16();
                    self.counters.response(status);
                    let verdict = if call.final_statuses.contains(&status) {
                        Verdict::Final
                    } else if policy.is_retryable_status(status) {
                        Verdict::Refused
                    } else if status == 500 {
                        Verdict::InDoubt
                    } else {
                        Verdict::Final
                    };
                    if !self.may_retry(call, verdict, retries, in_doubt) {
                        if !reply.is_success() {
                            tracing::debug!(
                                method = %call.method,
                                path = %call.target.path,
                                status,
                                "Port answered with an error status"
                            );
                        }
                        return Ok(reply);
                    }
                    if verdict == Verdict::InDoubt {
                        in_doubt += 1;
                    }
                    // A 401 on an authenticated call means the token was refused: get another
                    // before waiting (one fetch for all callers that saw it).
                    if status == 401 {
                        if let Some(used) = &token {
                            token = Some(self.renew_token(Some(used.generation)).await?);
                        }
                    }
                    (format!("status {status}"), reply.headers)
                }
                Err(err) => {
                    self.counters.transport_error();
                    let verdict = if err.is_unsent() {
                        Verdict::Refused
                    } else {
                        Verdict::InDoubt
                    };
                    if !self.may_retry(call, verdict, retries, in_doubt) {
                        return Err(err);
                    }
                    if verdict == Verdict::InDoubt {
                        in_doubt += 1;
                    }
                    (err.to_string(), HeaderMap::new())
                }
            };
            retries += 1;
            let wait = policy.delay_before_retry(
                retries,
                &headers,
                OffsetDateTime::now_utc(),
                rand::random::<bool>(),
            );
            self.counters.retry(wait);
            tracing::warn!(
                method = %call.method,
                path = %call.target.path,
                retry = retries,
                max_retries = policy.max_retries,
                wait_seconds = wait.as_secs_f64(),
                "Port request failed ({reason}); retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// Whether a call gets another attempt after a failure of this kind.
    fn may_retry(&self, call: &Call, verdict: Verdict, retries: u32, in_doubt: u32) -> bool {
        if retries >= self.config.retry.max_retries {
            return false;
        }
        match verdict {
            Verdict::Final => false,
            Verdict::Refused => true,
            Verdict::InDoubt => call.repeat == Repeat::Harmless && in_doubt < MAX_RETRIES_IN_DOUBT,
        }
    }

    /// One attempt: build the request, send it, read the whole answer.
    async fn send_once(&self, call: &Call, token: Option<&Token>) -> Result<Reply, PortError> {
        let _slot = self.connections.acquire().await.ok();
        let mut request = self
            .http
            .request(call.method.clone(), call.target.url.clone())
            .header(USER_AGENT, self.user_agent(call.feature));
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, token.header.clone());
        }
        for (name, value) in &call.headers {
            request = request.header(name, value);
        }
        if let Some(body) = &call.body {
            request = request
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body.clone());
        }
        let transport = |e: reqwest::Error| transport_error(call, e);
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(transport)?;
        Ok(Reply {
            method: call.method.clone(),
            path: call.target.path.clone(),
            status,
            headers,
            body,
            redact: Arc::clone(&self.redact),
        })
    }
}

/// What a failed attempt says about Port's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    /// An answer, not a hiccup: returned to the endpoint.
    Final,
    /// Port did not apply the request: it can be sent again, whatever it does.
    Refused,
    /// Port may have applied the request.
    InDoubt,
}

/// Describes a network failure without the URL (which the error already names by path).
fn transport_error(call: &Call, err: reqwest::Error) -> PortError {
    let timeout = err.is_timeout();
    let unsent = err.is_connect() && !timeout;
    let err = err.without_url();
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    PortError::Transport {
        method: call.method.clone(),
        path: call.target.path.clone(),
        message,
        timeout,
        unsent,
    }
}
