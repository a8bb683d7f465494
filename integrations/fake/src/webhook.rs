//! Live updates for the demo: the fake "third party" announces a changed or deleted record by
//! webhook, and Ocean maps it with the same mapping as a resync.
//!
//! `POST /integration/webhook` with
//! `{"kind": "service", "action": "upsert" | "delete", "item": {…the raw record…}}`, signed with
//! the `webhookSecret` setting: `X-Fake-Signature: sha256=<hex HMAC-SHA256 of the body>`. A
//! request without a valid signature is answered 401 and changes nothing. The processor is
//! registered only when `webhookSecret` is set. Since the generator has no state, the item in the
//! payload *is* the record: `handle` returns it as is, where a real integration would fetch the
//! object's current state from the API.

use ocean::prelude::*;

use crate::integration::KINDS;

/// The path the processor serves (relative to `/integration`).
pub const WEBHOOK_PATH: &str = "/webhook";

/// The signature header: `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "x-fake-signature";

/// The signature scheme: HMAC-SHA256 of the body, hex, after `sha256=` (GitHub's).
pub fn signature() -> Signature {
    Signature::github()
}

/// Turns the fake's webhooks into raw records.
pub struct FakeWebhook {
    secret: Secret,
}

impl FakeWebhook {
    /// A processor verifying signatures with `secret`.
    pub fn new(secret: Secret) -> Self {
        FakeWebhook { secret }
    }
}

fn kind(event: &WebhookEvent) -> Option<&str> {
    event
        .payload()
        .get("kind")
        .and_then(Value::as_str)
        .filter(|k| KINDS.contains(k))
}

fn action(event: &WebhookEvent) -> Option<&str> {
    event
        .payload()
        .get("action")
        .and_then(Value::as_str)
        .filter(|a| matches!(*a, "upsert" | "delete"))
}

#[async_trait]
impl WebhookProcessor for FakeWebhook {
    fn name(&self) -> &str {
        "fake-catalog"
    }

    fn should_process(&self, event: &WebhookEvent) -> bool {
        kind(event).is_some() && action(event).is_some()
    }

    fn matching_kinds(&self, event: &WebhookEvent) -> Vec<String> {
        kind(event).map(str::to_owned).into_iter().collect()
    }

    fn authenticate(&self, event: &WebhookEvent) -> Result<(), WebhookRejection> {
        event.verify_signature(
            SIGNATURE_HEADER,
            &signature(),
            self.secret.expose().as_bytes(),
        )
    }

    fn validate_payload(&self, event: &WebhookEvent) -> bool {
        event.payload().get("item").is_some_and(Value::is_object)
    }

    fn ordering_key(&self, event: &WebhookEvent) -> Option<String> {
        let id = event.payload().get("item")?.get("id")?;
        Some(format!("{}:{id}", kind(event)?))
    }

    async fn handle(
        &self,
        event: &WebhookEvent,
        _resource: &FetchContext,
    ) -> Result<WebhookResults, BoxError> {
        let item = event.payload()["item"].clone();
        Ok(match action(event) {
            Some("delete") => WebhookResults {
                updated: Vec::new(),
                deleted: vec![item],
            },
            _ => WebhookResults {
                updated: vec![item],
                deleted: Vec::new(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "demo-secret";

    fn event(body: &Value, signature: Option<&str>) -> WebhookEvent {
        let body = serde_json::to_vec(body).unwrap();
        let sig = signature
            .map(str::to_owned)
            .unwrap_or_else(|| super::signature().sign(SECRET.as_bytes(), &body));
        WebhookEvent::new(
            "t",
            WEBHOOK_PATH,
            [("X-Fake-Signature".to_owned(), sig)],
            body.into(),
        )
        .unwrap()
    }

    #[test]
    fn signed_events_of_known_kinds_are_taken() {
        let p = FakeWebhook::new(Secret::new(SECRET));
        let body = json!({"kind": "service", "action": "upsert", "item": {"id": "service-1"}});
        let good = event(&body, None);
        assert!(p.should_process(&good));
        assert_eq!(p.matching_kinds(&good), ["service"]);
        assert!(p.authenticate(&good).is_ok());
        assert!(p.validate_payload(&good));
        assert_eq!(
            p.ordering_key(&good).as_deref(),
            Some("service:\"service-1\"")
        );
        let forged = event(&body, Some("sha256=00"));
        let rejection = p.authenticate(&forged).unwrap_err();
        assert!(!rejection.reason.contains(SECRET));
        assert!(!p.should_process(&event(
            &json!({"kind": "planet", "action": "upsert", "item": {}}),
            None
        )));
        assert!(!p.should_process(&event(
            &json!({"kind": "team", "action": "explode", "item": {}}),
            None
        )));
    }

    #[tokio::test]
    async fn upserts_and_deletes_hand_the_item_back() {
        let p = FakeWebhook::new(Secret::new(SECRET));
        let ctx = FetchContext::new(
            "team",
            0,
            Value::Null,
            None,
            tokio_util::sync::CancellationToken::new(),
        );
        let item = json!({"id": "team-9", "name": "Team 9"});
        let up = p
            .handle(
                &event(
                    &json!({"kind": "team", "action": "upsert", "item": item}),
                    None,
                ),
                &ctx,
            )
            .await
            .unwrap();
        assert_eq!((up.updated, up.deleted), (vec![item.clone()], vec![]));
        let down = p
            .handle(
                &event(
                    &json!({"kind": "team", "action": "delete", "item": item}),
                    None,
                ),
                &ctx,
            )
            .await
            .unwrap();
        assert_eq!((down.updated, down.deleted), (vec![], vec![item]));
    }
}
