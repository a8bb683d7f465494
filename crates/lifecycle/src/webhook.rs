//! Live events: what an integration implements to turn third-party webhooks into entity changes.
//!
//! A [`WebhookProcessor`] is registered for a path (see [`Integration::webhook_processors`]);
//! Ocean serves it at `POST {path_prefix}/integration{path}`. For every request Ocean builds a
//! [`WebhookEvent`], asks each processor of that path whether it cares
//! ([`WebhookProcessor::should_process`]) and whether the request is genuine
//! ([`WebhookProcessor::authenticate`] — a rejection answers 401 and nothing is processed), queues
//! it, then calls [`WebhookProcessor::handle`] once per mapping resource of each kind the processor
//! names. The raw items it returns go through the same mapping as a resync (live-event semantics:
//! items failing the selector become deletion candidates), then are upserted or deleted.
//!
//! Processors never talk to Port and never map: they only say which raw items changed.
//!
//! [`Integration::webhook_processors`]: crate::Integration::webhook_processors

use crate::integration::{BoxError, FetchContext};
use ocean_http::signature::Signature;
use serde_json::Value;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

/// One webhook request as Ocean received it: the raw body (for signature checks), its JSON
/// payload, and the headers with lower-cased names.
#[derive(Clone)]
pub struct WebhookEvent {
    trace_id: String,
    path: String,
    headers: Vec<(String, String)>,
    body: bytes::Bytes,
    payload: Value,
    received_at: SystemTime,
}

/// Why a webhook request could not be turned into an event.
#[derive(Debug, thiserror::Error)]
#[error("webhook body for {path} is not JSON: {source}")]
pub struct WebhookBodyError {
    path: String,
    #[source]
    source: serde_json::Error,
}

impl WebhookEvent {
    /// Builds an event from a request: its path (relative to `/integration`), headers and body.
    pub fn new(
        trace_id: impl Into<String>,
        path: impl Into<String>,
        headers: impl IntoIterator<Item = (String, String)>,
        body: bytes::Bytes,
    ) -> Result<Self, WebhookBodyError> {
        let path = path.into();
        let payload = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).map_err(|source| WebhookBodyError {
                path: path.clone(),
                source,
            })?
        };
        Ok(WebhookEvent {
            trace_id: trace_id.into(),
            path,
            headers: headers
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
            body,
            payload,
            received_at: SystemTime::now(),
        })
    }

    /// The id Ocean gave this event (also in every log line about it).
    pub fn trace_id(&self) -> &str {
        &self.trace_id
    }

    /// The path the event arrived on, relative to `/integration` (e.g. `/webhook`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// A header's value by case-insensitive name (the first one if repeated).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All headers, names lower-cased.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The raw request body, exactly as received (what signatures are computed over).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Checks the signature in header `name` against the raw body signed with `secret`, as
    /// `signature` describes it (`Signature::github()` for `sha256=<hex>`, a `v1=` prefix, …);
    /// the rejection names the header and what was wrong, never the secret.
    pub fn verify_signature(
        &self,
        name: &str,
        signature: &Signature,
        secret: &[u8],
    ) -> Result<(), WebhookRejection> {
        signature
            .verify(secret, &self.body, self.header(name))
            .map_err(|e| WebhookRejection::new(format!("{name} {e}")))
    }

    /// The body parsed as JSON (`null` for an empty body).
    pub fn payload(&self) -> &Value {
        &self.payload
    }

    /// When Ocean received the request.
    pub fn received_at(&self) -> SystemTime {
        self.received_at
    }
}

impl fmt::Debug for WebhookEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Headers and body may carry signatures or tokens: never printed.
        f.debug_struct("WebhookEvent")
            .field("trace_id", &self.trace_id)
            .field("path", &self.path)
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// What a processor produced for one kind: raw items whose entities to upsert, and raw items
/// whose entities to delete (both go through the resource's mapping to find the entities).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebhookResults {
    /// Raw items that were created or changed.
    pub updated: Vec<Value>,
    /// Raw items that were deleted in the third-party system.
    pub deleted: Vec<Value>,
}

/// Why a webhook request was refused by a processor's authentication.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("webhook rejected: {reason}")]
pub struct WebhookRejection {
    /// What was wrong (never the secret or the expected signature).
    pub reason: String,
}

impl WebhookRejection {
    /// A rejection with a reason safe to log.
    pub fn new(reason: impl Into<String>) -> Self {
        WebhookRejection {
            reason: reason.into(),
        }
    }
}

/// Turns one kind of third-party webhook into raw items. See the module documentation.
#[async_trait::async_trait]
pub trait WebhookProcessor: Send + Sync + 'static {
    /// A short name for logs and metrics (e.g. `pagerduty-incidents`).
    fn name(&self) -> &str;

    /// Whether this processor handles the event (e.g. by its `event_type`).
    fn should_process(&self, event: &WebhookEvent) -> bool;

    /// The mapping kinds this event produces raw items for.
    fn matching_kinds(&self, event: &WebhookEvent) -> Vec<String>;

    /// Checks that the request is genuine (e.g. an HMAC signature). A rejection answers the
    /// request with 401 and nothing is processed.
    fn authenticate(&self, event: &WebhookEvent) -> Result<(), WebhookRejection>;

    /// Checks the payload's shape before processing; `false` drops the event with a warning.
    fn validate_payload(&self, event: &WebhookEvent) -> bool {
        let _ = event;
        true
    }

    /// Events with the same key are processed one after another, in arrival order (e.g. the
    /// incident id); `None` puts the event in a shared group processed in order.
    fn ordering_key(&self, event: &WebhookEvent) -> Option<String> {
        let _ = event;
        None
    }

    /// Produces the raw items for one mapping resource of a matching kind; may call the third
    /// party's API to fetch the current state of the object the event is about.
    async fn handle(
        &self,
        event: &WebhookEvent,
        resource: &FetchContext,
    ) -> Result<WebhookResults, BoxError>;

    /// Whether a failed `handle` is worth retrying (default: yes; Ocean retries with backoff).
    fn should_retry(&self, error: &BoxError) -> bool {
        let _ = error;
        true
    }

    /// How this processor's failed `handle`s are retried (counts and waits), when it needs
    /// other values than Ocean's (3 retries after 2, 4 and 8 s) — e.g. a third party that
    /// takes long to show a newly created object. Default: Ocean's. The processing time limit
    /// (`max_event_processing_seconds`) still bounds the whole.
    fn retry_policy(&self) -> Option<ocean_http::RetryPolicy> {
        None
    }
}

/// A processor registered on a path (relative to `/integration`, e.g. `/webhook`).
#[derive(Clone)]
pub struct WebhookRoute {
    /// The path, starting with `/`.
    pub path: String,
    /// The processor serving it; several processors may share a path.
    pub processor: Arc<dyn WebhookProcessor>,
}

impl WebhookRoute {
    /// Registers `processor` on `path`.
    pub fn new(path: impl Into<String>, processor: impl WebhookProcessor) -> Self {
        WebhookRoute {
            path: path.into(),
            processor: Arc::new(processor),
        }
    }
}

impl fmt::Debug for WebhookRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookRoute")
            .field("path", &self.path)
            .field("processor", &self.processor.name())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_parse_json_and_find_headers_case_insensitively() {
        let event = WebhookEvent::new(
            "t-1",
            "/webhook",
            [("X-PagerDuty-Signature".to_string(), "v1=abc".to_string())],
            bytes::Bytes::from_static(br#"{"event": {"event_type": "incident.triggered"}}"#),
        )
        .unwrap();
        assert_eq!(event.header("x-pagerduty-signature"), Some("v1=abc"));
        assert_eq!(event.payload()["event"]["event_type"], "incident.triggered");
        assert!(!format!("{event:?}").contains("v1=abc"));
    }

    #[test]
    fn signatures_are_checked_against_the_raw_body() {
        let body = br#"{"id": 1}"#;
        let github = Signature::github();
        let signed = |value: Option<String>| {
            let headers = value.map(|v| ("X-Hub-Signature-256".to_string(), v));
            WebhookEvent::new("t", "/webhook", headers, bytes::Bytes::from_static(body)).unwrap()
        };
        let good = signed(Some(github.sign(b"s3cret", body)));
        assert_eq!(
            good.verify_signature("x-hub-signature-256", &github, b"s3cret"),
            Ok(())
        );
        let reason = |event: WebhookEvent| {
            event
                .verify_signature("x-hub-signature-256", &github, b"s3cret")
                .unwrap_err()
                .reason
        };
        assert_eq!(
            reason(signed(Some(github.sign(b"other", body)))),
            "x-hub-signature-256 does not match the body"
        );
        assert_eq!(reason(signed(None)), "x-hub-signature-256 is missing");
        assert_eq!(
            reason(signed(Some("abc".into()))),
            "x-hub-signature-256 is not of the form sha256=<hex>"
        );
    }

    #[test]
    fn a_body_that_is_not_json_names_the_path() {
        let err =
            WebhookEvent::new("t", "/hook", [], bytes::Bytes::from_static(b"{nope")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("webhook body for /hook is not JSON"),
            "{err}"
        );
    }
}
