//! Live events: PagerDuty V3 webhooks turned into fresh raw items, and the webhook subscription
//! the integration creates at startup.
//!
//! Two processors share the path `/webhook` (served at `/integration/webhook`, as the
//! reference): [`IncidentProcessor`] for `incident.*` events and [`ServiceProcessor`] for
//! `service.created`, `service.updated` and `service.deleted`. Neither trusts the payload's
//! copy of the object: the incident or service is fetched from the API with the resource's own
//! `include[]` and enrichments, so a live event produces exactly what a resync would. Events are
//! ordered per incident or service id.
//!
//! Authentication: with `webhookSecret` set, a request must carry `X-PagerDuty-Signature` with at
//! least one `v1=<hex>` entry equal to the HMAC-SHA256 of the raw body under that secret (several
//! entries appear while PagerDuty rotates a secret); anything else is rejected. Without a secret
//! — the reference never checks signatures, and a subscription created by the integration has a
//! secret PagerDuty shows only once — requests are accepted, but an unsigned event can only make
//! the integration re-read PagerDuty: upserts always come from the API, and a `service.deleted`
//! deletes only once the API answers 404 for that service. Setting a secret is still the way to
//! stop strangers from making the integration call PagerDuty.
//!
//! Deliberate differences from the reference: events about an incident's sub-objects (notes,
//! responders, status updates) resolve the incident through `data.incident.id` instead of using
//! the sub-object's id; an incident that no longer passes the resource's status, urgency,
//! service or team filters is returned as deleted for that resource, as the next resync would
//! do; service events apply the resource's analytics setting like a resync does.

use crate::client::{ClientError, PagerDutyClient, RetryPolicy};
use crate::enrich;
use crate::integration::{ServicePlan, Shared};
use crate::selectors::{IncidentSelector, SelectorError, parse_selector};
use ocean::http::signature::{Signature, SignatureError};
use ocean::{
    BoxError, FetchContext, WebhookEvent, WebhookProcessor, WebhookRejection, WebhookResults,
};
use serde_json::{Value, json};
use std::sync::Arc;

/// The path the processors are registered on (relative to `/integration`).
pub const WEBHOOK_PATH: &str = "/webhook";

/// The signature header PagerDuty V3 webhooks carry.
pub const SIGNATURE_HEADER: &str = "x-pagerduty-signature";

/// Incident events the subscription asks for (the reference's list); any other `incident.*`
/// event that reaches the path is processed too.
pub const INCIDENT_EVENTS: [&str; 13] = [
    "incident.acknowledged",
    "incident.annotated",
    "incident.delegated",
    "incident.escalated",
    "incident.priority_updated",
    "incident.reassigned",
    "incident.reopened",
    "incident.resolved",
    "incident.status_update_published",
    "incident.responder.added",
    "incident.responder.replied",
    "incident.triggered",
    "incident.unacknowledged",
];

/// Service events that upsert the service.
pub const SERVICE_UPSERT_EVENTS: [&str; 2] = ["service.created", "service.updated"];

/// Service events that delete the service.
pub const SERVICE_DELETE_EVENTS: [&str; 1] = ["service.deleted"];

/// Every event type the subscription created at startup asks for.
pub fn subscribed_events() -> Vec<&'static str> {
    SERVICE_UPSERT_EVENTS
        .iter()
        .chain(INCIDENT_EVENTS.iter())
        .chain(SERVICE_DELETE_EVENTS.iter())
        .copied()
        .collect()
}

/// PagerDuty's signature scheme: HMAC-SHA256 of the raw body, hex, after `v1=`; several
/// comma-separated while a secret rotates.
pub fn signature_scheme() -> Signature {
    Signature::hmac_sha256().prefix("v1=")
}

/// Checks `X-PagerDuty-Signature` (`v1=<hex>[,v1=<hex>…]`) against the HMAC-SHA256 of `body`
/// under `secret`, in constant time per candidate. Rejections never contain the secret or the
/// expected signature.
pub fn verify_signature(
    secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), WebhookRejection> {
    signature_scheme()
        .verify(secret, body, header)
        .map_err(|e| {
            WebhookRejection::new(match e {
                SignatureError::Missing => "missing X-PagerDuty-Signature header (webhookSecret is set, so every PagerDuty webhook must be signed)",
                SignatureError::Malformed(_) => "X-PagerDuty-Signature has no v1= signature",
                SignatureError::Mismatch => "no v1 signature in X-PagerDuty-Signature matches the body signed with webhookSecret",
            })
        })
}

/// The event's type (`event.event_type`).
pub fn event_type(payload: &Value) -> Option<&str> {
    payload["event"]["event_type"].as_str()
}

/// The incident an event is about: `event.data.id` when the data is the incident itself,
/// `event.data.incident.id` when it is a note, responder request, status update, ….
pub fn incident_id(payload: &Value) -> Option<&str> {
    let data = &payload["event"]["data"];
    if let Some(id) = data["incident"]["id"].as_str() {
        return Some(id);
    }
    match data["type"].as_str() {
        None | Some("incident") | Some("incident_reference") => data["id"].as_str(),
        Some(_) => None,
    }
}

/// The service an event is about (`event.data.id`).
pub fn service_id(payload: &Value) -> Option<&str> {
    payload["event"]["data"]["id"].as_str()
}

/// Why handling an event failed.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The event does not say which object it is about.
    #[error("PagerDuty event {event_type:?} carries no {what} id")]
    NoId {
        /// The event type.
        event_type: String,
        /// `incident` or `service`.
        what: &'static str,
    },
    /// The API does not show the object yet (PagerDuty is eventually consistent right after
    /// creation); worth retrying.
    #[error("PagerDuty has no {what} {id} yet")]
    NotVisible {
        /// `incident` or `service`.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// An unsigned `service.deleted` for a service the API still shows; worth retrying, since
    /// the API may lag the event.
    #[error(
        "PagerDuty still shows service {id} after an unsigned service.deleted event; not deleting it"
    )]
    StillExists {
        /// The service id.
        id: String,
    },
    /// The resource's selector is unusable.
    #[error(transparent)]
    Selector(#[from] SelectorError),
    /// A PagerDuty request failed.
    #[error("fetching the event's object from PagerDuty")]
    Client(#[from] ClientError),
}

impl HandleError {
    fn retryable(&self) -> bool {
        match self {
            HandleError::NotVisible { .. } | HandleError::StillExists { .. } => true,
            HandleError::Client(e) => e.is_transient(),
            HandleError::NoId { .. } | HandleError::Selector(_) => false,
        }
    }
}

fn authenticate(shared: &Shared, event: &WebhookEvent) -> Result<(), WebhookRejection> {
    match shared.config.webhook_secret() {
        Some(secret) => verify_signature(
            secret.expose().as_bytes(),
            event.body(),
            event.header(SIGNATURE_HEADER),
        ),
        None => Ok(()),
    }
}

fn should_retry(error: &BoxError) -> bool {
    error
        .downcast_ref::<HandleError>()
        .map(HandleError::retryable)
        .unwrap_or(true)
}

/// Turns `incident.*` events into the incident as the API shows it now.
pub struct IncidentProcessor {
    shared: Arc<Shared>,
}

impl IncidentProcessor {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        IncidentProcessor { shared }
    }

    async fn fetch(
        &self,
        event: &WebhookEvent,
        resource: &FetchContext,
    ) -> Result<WebhookResults, HandleError> {
        let payload = event.payload();
        let id = incident_id(payload).ok_or_else(|| HandleError::NoId {
            event_type: event_type(payload).unwrap_or_default().to_owned(),
            what: "incident",
        })?;
        let selector: IncidentSelector = parse_selector("incidents", resource.selector())?;
        let include = match &selector.api_query_params {
            Some(q) => q.include_query()?,
            None => Vec::new(),
        };
        let client = &self.shared.client;
        let answer = client
            .get_optional(&format!("incidents/{id}"), &include)
            .await?;
        let Some(mut incident) = answer
            .map(|mut a| a["incident"].take())
            .filter(Value::is_object)
        else {
            return Err(HandleError::NotVisible {
                what: "incident",
                id: id.to_owned(),
            });
        };
        if selector.incident_analytics {
            enrich::attach_incident_analytics(client, std::slice::from_mut(&mut incident)).await;
        }
        if selector.include_custom_fields {
            let one = std::slice::from_mut(&mut incident);
            enrich::attach_custom_fields(client, "incidents", one).await;
        }
        let admitted = selector
            .api_query_params
            .as_ref()
            .is_none_or(|q| q.admits(&incident));
        Ok(if admitted {
            WebhookResults {
                updated: vec![incident],
                deleted: Vec::new(),
            }
        } else {
            WebhookResults {
                updated: Vec::new(),
                deleted: vec![incident],
            }
        })
    }
}

#[ocean::prelude::async_trait]
impl WebhookProcessor for IncidentProcessor {
    fn name(&self) -> &str {
        "pagerduty-incidents"
    }

    fn should_process(&self, event: &WebhookEvent) -> bool {
        event_type(event.payload()).is_some_and(|t| t.starts_with("incident."))
    }

    fn matching_kinds(&self, _event: &WebhookEvent) -> Vec<String> {
        vec!["incidents".to_owned()]
    }

    fn authenticate(&self, event: &WebhookEvent) -> Result<(), WebhookRejection> {
        authenticate(&self.shared, event)
    }

    fn validate_payload(&self, event: &WebhookEvent) -> bool {
        incident_id(event.payload()).is_some()
    }

    fn ordering_key(&self, event: &WebhookEvent) -> Option<String> {
        incident_id(event.payload()).map(|id| format!("incident:{id}"))
    }

    async fn handle(
        &self,
        event: &WebhookEvent,
        resource: &FetchContext,
    ) -> Result<WebhookResults, BoxError> {
        Ok(self.fetch(event, resource).await?)
    }

    fn should_retry(&self, error: &BoxError) -> bool {
        should_retry(error)
    }
}

/// Turns `service.*` events into the service as the API shows it now, or its deletion.
pub struct ServiceProcessor {
    shared: Arc<Shared>,
}

impl ServiceProcessor {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        ServiceProcessor { shared }
    }

    async fn fetch(
        &self,
        event: &WebhookEvent,
        resource: &FetchContext,
    ) -> Result<WebhookResults, HandleError> {
        let payload = event.payload();
        let kind = event_type(payload).unwrap_or_default();
        let id = service_id(payload).ok_or_else(|| HandleError::NoId {
            event_type: kind.to_owned(),
            what: "service",
        })?;
        let deleted = SERVICE_DELETE_EVENTS.contains(&kind);
        let data = payload["event"]["data"].clone();
        if deleted && self.shared.config.webhook_secret().is_some() {
            // Signed (authenticate ran first): PagerDuty says so, no need to ask again.
            return Ok(WebhookResults {
                updated: Vec::new(),
                deleted: vec![data],
            });
        }
        let plan = ServicePlan::new(resource.selector())?;
        let include = match &plan.selector.api_query_params {
            Some(q) => q.include_query()?,
            None => Vec::new(),
        };
        let client = &self.shared.client;
        let answer = client
            .get_optional(&format!("services/{id}"), &include)
            .await?;
        let service = answer
            .map(|mut a| a["service"].take())
            .filter(Value::is_object);
        match (deleted, service) {
            (true, None) => Ok(WebhookResults {
                updated: Vec::new(),
                deleted: vec![data],
            }),
            (true, Some(_)) => Err(HandleError::StillExists { id: id.to_owned() }),
            (false, None) => Err(HandleError::NotVisible {
                what: "service",
                id: id.to_owned(),
            }),
            (false, Some(mut service)) => {
                plan.enrich(client, std::slice::from_mut(&mut service))
                    .await?;
                Ok(WebhookResults {
                    updated: vec![service],
                    deleted: Vec::new(),
                })
            }
        }
    }
}

#[ocean::prelude::async_trait]
impl WebhookProcessor for ServiceProcessor {
    fn name(&self) -> &str {
        "pagerduty-services"
    }

    fn should_process(&self, event: &WebhookEvent) -> bool {
        event_type(event.payload()).is_some_and(|t| {
            SERVICE_UPSERT_EVENTS.contains(&t) || SERVICE_DELETE_EVENTS.contains(&t)
        })
    }

    fn matching_kinds(&self, _event: &WebhookEvent) -> Vec<String> {
        vec!["services".to_owned()]
    }

    fn authenticate(&self, event: &WebhookEvent) -> Result<(), WebhookRejection> {
        authenticate(&self.shared, event)
    }

    fn validate_payload(&self, event: &WebhookEvent) -> bool {
        service_id(event.payload()).is_some()
    }

    fn ordering_key(&self, event: &WebhookEvent) -> Option<String> {
        service_id(event.payload()).map(|id| format!("service:{id}"))
    }

    async fn handle(
        &self,
        event: &WebhookEvent,
        resource: &FetchContext,
    ) -> Result<WebhookResults, BoxError> {
        Ok(self.fetch(event, resource).await?)
    }

    fn should_retry(&self, error: &BoxError) -> bool {
        should_retry(error)
    }

    /// As long as the reference waits for a new service to show in the API: 5 retries after
    /// 1, 2, 4, 8 and 16 s (PagerDuty may take that long after `service.created`).
    fn retry_policy(&self) -> Option<RetryPolicy> {
        Some(service_retry_policy())
    }
}

/// The retries of a service event: 5, after 1, 2, 4, 8 and 16 s, no jitter.
pub fn service_retry_policy() -> RetryPolicy {
    RetryPolicy {
        max_retries: 5,
        rate_limit_retries: None,
        base_delay: std::time::Duration::from_secs(1),
        max_backoff: std::time::Duration::from_secs(16),
        jitter_ratio: 0.0,
        ..RetryPolicy::default()
    }
}

/// Makes sure a PagerDuty webhook subscription delivers to `url`: does nothing when one already
/// does, creates an account-wide one for [`subscribed_events`] otherwise.
///
/// The `POST` is sent once, never retried: after a 5xx or a lost answer it may have created the
/// subscription, and the next start, which lists first, finds it. With `webhookSecret` set, a
/// subscription the integration creates signs with a secret PagerDuty just generated, which the
/// integration does not keep: every event would be refused, so this warns with what to do.
pub async fn ensure_subscription(
    client: &PagerDutyClient,
    url: &str,
    secret_configured: bool,
) -> Result<(), ClientError> {
    let existing = client
        .list_all("webhook_subscriptions", "webhook_subscriptions", Vec::new())
        .await?;
    if let Some(sub) = existing
        .iter()
        .find(|s| s["delivery_method"]["url"].as_str() == Some(url))
    {
        tracing::info!(subscription = %sub["id"], %url, "PagerDuty webhook subscription already exists");
        return Ok(());
    }
    let body = json!({
        "webhook_subscription": {
            "delivery_method": {"type": "http_delivery_method", "url": url},
            "description": "Port Ocean Integration",
            "events": subscribed_events(),
            "filter": {"type": "account_reference"},
            "type": "webhook_subscription",
        }
    });
    let created = client.post("webhook_subscriptions", &body).await?;
    let id = &created["webhook_subscription"]["id"];
    if secret_configured {
        tracing::warn!(
            subscription = %id,
            %url,
            "created a PagerDuty webhook subscription, which signs with a new secret of \
             PagerDuty's, not webhookSecret: every event will be refused (401) until \
             webhookSecret is that subscription's secret. Either create the subscription \
             yourself in PagerDuty and set webhookSecret to its secret, or unset webhookSecret"
        );
    } else {
        tracing::info!(
            subscription = %id,
            %url,
            "created a PagerDuty webhook subscription (its signing secret is not stored; to \
             verify signatures, set webhookSecret to the secret of a subscription you create \
             yourself)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hex signature (without its `v1=`).
    fn sign(secret: &str, body: &[u8]) -> String {
        Signature::hmac_sha256().sign(secret.as_bytes(), body)
    }

    #[test]
    fn a_new_service_is_waited_for_as_long_as_the_reference_does() {
        let policy = service_retry_policy();
        let waits: Vec<u64> = (1..=policy.max_retries)
            .map(|retry| policy.backoff(retry, 1.0).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16]);
    }

    #[test]
    fn signatures() {
        let body = br#"{"event":{"event_type":"incident.triggered"}}"#;
        let good = sign("s3cret", body);
        let other = sign("other", body);
        let check = |header: Option<&str>, expected: Result<(), &str>| {
            let got = verify_signature(b"s3cret", body, header);
            match (got, expected) {
                (Ok(()), Ok(())) => {}
                (Err(e), Err(want)) => {
                    assert!(e.reason.contains(want), "{:?} lacks {want:?}", e.reason);
                    assert!(!e.reason.contains(&good));
                }
                (got, want) => panic!("{header:?}: got {got:?}, expected {want:?}"),
            }
        };
        check(Some(&format!("v1={good}")), Ok(()));
        check(Some(&format!("v1={other},v1={good}")), Ok(()));
        check(Some(&format!("v1={good}, v1={other}")), Ok(()));
        check(Some(&format!("v1={}", good.to_uppercase())), Ok(()));
        check(None, Err("missing X-PagerDuty-Signature"));
        check(Some(""), Err("missing X-PagerDuty-Signature"));
        check(Some(&format!("v1={other}")), Err("no v1 signature"));
        check(Some("v1=zz-not-hex"), Err("has no v1= signature"));
        check(Some(&format!("v0={good}")), Err("has no v1= signature"));
        check(Some(&good), Err("has no v1= signature"));
    }

    #[test]
    fn incident_ids_come_from_the_incident_not_its_sub_objects() {
        let check = |data: Value, expected: Option<&str>| {
            let payload = json!({"event": {"event_type": "incident.x", "data": data}});
            assert_eq!(incident_id(&payload), expected);
        };
        check(json!({"id": "PINC1", "type": "incident"}), Some("PINC1"));
        check(json!({"id": "PINC1"}), Some("PINC1"));
        check(
            json!({"id": "PNOTE", "type": "incident_note", "incident": {"id": "PINC2", "type": "incident_reference"}}),
            Some("PINC2"),
        );
        check(json!({"id": "PRESP", "type": "incident_responder"}), None);
        check(json!(null), None);
    }

    #[test]
    fn the_subscription_asks_for_every_handled_event() {
        let events = subscribed_events();
        assert_eq!(events.len(), 16);
        assert!(events.contains(&"service.deleted") && events.contains(&"incident.triggered"));
    }
}
