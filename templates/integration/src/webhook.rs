//! Live events: {{ title }} webhook deliveries turned into entity changes between resyncs.
//!
//! Ocean serves the processor at `POST {baseUrl}/integration/webhook` (register that URL in
//! {{ title }}). A delivery is a JSON event such as
//! `{"type": "{{ kind }}.updated", "data": {"id": "…"}}` (`.created`, `.updated` or `.deleted`).
//! For every delivery Ocean asks the processor whether it is genuine ([`SIGNATURE_HEADER`]) and
//! which raw items it changed; it maps them with the same mapping as a resync, then upserts or
//! deletes the entities.
//!
//! An update is not trusted as a snapshot: deliveries can arrive late or out of order, so the
//! processor fetches the item's current state from the API. Adapt the event shape, the
//! signature scheme and [`{{ kind | pascal_case }}Events::should_process`] to {{ title }}'s real
//! webhooks; the rest stays as it is.

use crate::client::{{ project-name | pascal_case }}Client;
use crate::integration::{{ kind | shouty_snake_case }};
use ocean::Secret;
use ocean::prelude::{
    BoxError, FetchContext, Signature, WebhookEvent, WebhookProcessor, WebhookRejection,
    WebhookResults, async_trait,
};

/// The header carrying a delivery's signature: `sha256=` and the hex HMAC-SHA256 of the raw
/// body, keyed with the webhook secret.
pub const SIGNATURE_HEADER: &str = "x-{{ project-name }}-signature";

/// How {{ title }} signs deliveries ([`Signature`] also has HMAC-SHA1, Base64 digests and other
/// prefixes such as `v1=`).
pub fn signature() -> Signature {
    Signature::hmac_sha256().prefix("sha256=")
}

/// The prefix of event types this processor handles (`{{ kind }}.updated`, ...).
const EVENT_PREFIX: &str = "{{ kind }}.";

/// Turns `{{ kind }}.*` deliveries into changed `{{ kind }}` items.
#[derive(Debug, Clone)]
pub struct {{ kind | pascal_case }}Events {
    client: {{ project-name | pascal_case }}Client,
    secret: Option<Secret>,
}

impl {{ kind | pascal_case }}Events {
    /// A processor fetching current state with `client`, checking signatures with `secret`
    /// (without one, every delivery is accepted).
    pub fn new(client: {{ project-name | pascal_case }}Client, secret: Option<Secret>) -> Self {
        {{ kind | pascal_case }}Events { client, secret }
    }
}

/// The event's type (`{{ kind }}.updated`), if it has one.
fn event_type(event: &WebhookEvent) -> Option<&str> {
    event.payload()["type"].as_str()
}

/// The id of the item the event is about.
fn item_id(event: &WebhookEvent) -> Option<&str> {
    event.payload()["data"]["id"].as_str()
}

#[async_trait]
impl WebhookProcessor for {{ kind | pascal_case }}Events {
    fn name(&self) -> &str {
        "{{ project-name }}-{{ kind }}"
    }

    fn should_process(&self, event: &WebhookEvent) -> bool {
        event_type(event).is_some_and(|t| t.starts_with(EVENT_PREFIX))
    }

    fn matching_kinds(&self, _event: &WebhookEvent) -> Vec<String> {
        vec![{{ kind | shouty_snake_case }}.to_owned()]
    }

    fn authenticate(&self, event: &WebhookEvent) -> Result<(), WebhookRejection> {
        let Some(secret) = &self.secret else {
            return Ok(());
        };
        // Constant-time, over the raw body as received.
        event.verify_signature(SIGNATURE_HEADER, &signature(), secret.expose().as_bytes())
    }

    fn validate_payload(&self, event: &WebhookEvent) -> bool {
        item_id(event).is_some()
    }

    fn ordering_key(&self, event: &WebhookEvent) -> Option<String> {
        item_id(event).map(str::to_owned)
    }

    async fn handle(
        &self,
        event: &WebhookEvent,
        _resource: &FetchContext,
    ) -> Result<WebhookResults, BoxError> {
        let data = event.payload()["data"].clone();
        let id = item_id(event).ok_or("the event has no data.id")?;
        let deleted = || WebhookResults {
            updated: vec![],
            deleted: vec![data.clone()],
        };
        if event_type(event) == Some("{{ kind }}.deleted") {
            return Ok(deleted());
        }
        match self.client.get("{{ kind_plural }}", id).await {
            Ok(item) => Ok(WebhookResults {
                updated: vec![item],
                deleted: vec![],
            }),
            // Deleted since the event was sent.
            Err(err) if err.is_not_found() => Ok(deleted()),
            Err(err) => Err(err.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{{ project-name | pascal_case }}Config;
    use serde_json::{Value, json};
    use tokio_util::sync::CancellationToken;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const SECRET: &str = "webhook-secret";

    fn processor(api: &MockServer) -> {{ kind | pascal_case }}Events {
        let config: {{ project-name | pascal_case }}Config = serde_json::from_value(json!({
            "api_url": format!("{}/v1", api.uri()),
            "api_token": "t0ken",
        }))
        .unwrap();
        let client = {{ project-name | pascal_case }}Client::new(&config).unwrap();
        {{ kind | pascal_case }}Events::new(client, Some(Secret::new(SECRET)))
    }

    /// A delivery of `payload`, signed with `key` (unsigned when `None`).
    fn delivery(payload: &Value, key: Option<&str>) -> WebhookEvent {
        let body = serde_json::to_vec(payload).unwrap();
        let headers = key.map(|key| {
            let signature = signature().sign(key.as_bytes(), &body);
            (SIGNATURE_HEADER.to_owned(), signature)
        });
        WebhookEvent::new("trace-1", "/webhook", headers, body.into()).unwrap()
    }

    fn resource() -> FetchContext {
        FetchContext::new({{ kind | shouty_snake_case }}, 0, Value::Null, None, CancellationToken::new())
    }

    #[tokio::test]
    async fn only_deliveries_signed_with_the_secret_are_accepted() {
        let api = MockServer::start().await;
        let events = processor(&api);
        let payload = json!({"type": "{{ kind }}.updated", "data": {"id": "{{ kind }}-1"}});

        let signed = delivery(&payload, Some(SECRET));
        assert_eq!(events.authenticate(&signed), Ok(()));
        let rejection = |event| events.authenticate(&event).unwrap_err().reason;
        assert_eq!(
            rejection(delivery(&payload, Some("another secret"))),
            format!("{SIGNATURE_HEADER} does not match the body")
        );
        let unsigned = delivery(&payload, None);
        assert_eq!(rejection(unsigned), format!("{SIGNATURE_HEADER} is missing"));

        let without_secret = {{ kind | pascal_case }}Events {
            secret: None,
            ..events
        };
        assert_eq!(without_secret.authenticate(&delivery(&payload, None)), Ok(()));
    }

    #[tokio::test]
    async fn events_of_the_kind_are_processed_and_others_ignored() {
        let api = MockServer::start().await;
        let events = processor(&api);
        let event = |payload: Value| delivery(&payload, None);
        let updated = event(json!({"type": "{{ kind }}.updated", "data": {"id": "a"}}));
        let other = event(json!({"type": "billing.updated", "data": {"id": "a"}}));
        let no_id = event(json!({"type": "{{ kind }}.updated", "data": {}}));

        assert!(events.should_process(&updated));
        assert!(!events.should_process(&other));
        assert!(events.validate_payload(&updated) && !events.validate_payload(&no_id));
        assert_eq!(events.matching_kinds(&updated), vec!["{{ kind }}".to_owned()]);
        assert_eq!(events.ordering_key(&updated).as_deref(), Some("a"));
    }

    #[tokio::test]
    async fn updates_fetch_the_current_item_and_deletions_and_vanished_items_delete() {
        let api = MockServer::start().await;
        let current = json!({"id": "{{ kind }}-1", "name": "Renamed", "status": "active"});
        Mock::given(method("GET"))
            .and(path("/v1/{{ kind_plural }}/{{ kind }}-1"))
            .and(header("authorization", "Bearer t0ken"))
            .respond_with(ResponseTemplate::new(200).set_body_json(&current))
            .mount(&api)
            .await;
        Mock::given(method("GET"))
            .and(path("/v1/{{ kind_plural }}/{{ kind }}-2"))
            .respond_with(ResponseTemplate::new(404))
            .mount(&api)
            .await;
        let events = processor(&api);
        let handle = |payload: Value| {
            let events = events.clone();
            async move {
                let event = delivery(&payload, None);
                events.handle(&event, &resource()).await.unwrap()
            }
        };
        let results = |updated: Vec<Value>, deleted: Vec<Value>| WebhookResults { updated, deleted };

        let event = json!({"type": "{{ kind }}.updated", "data": {"id": "{{ kind }}-1"}});
        assert_eq!(handle(event).await, results(vec![current], vec![]));

        let data = json!({"id": "{{ kind }}-1", "name": "Gone"});
        let event = json!({"type": "{{ kind }}.deleted", "data": data});
        assert_eq!(handle(event).await, results(vec![], vec![data]));

        // Created, then deleted before the delivery was handled.
        let data = json!({"id": "{{ kind }}-2"});
        let event = json!({"type": "{{ kind }}.created", "data": data});
        assert_eq!(handle(event).await, results(vec![], vec![data]));
    }
}
