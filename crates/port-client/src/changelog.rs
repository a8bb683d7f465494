//! Port's Kafka topics for an organization and the messages on them: which topic carries
//! resync requests, the consumer group of an integration, and which messages ask *this*
//! integration to resync — a pure function of the topic kind, the integration identifier and
//! the message value. The KAFKA listener (in the lifecycle) consumes; this module reads.
//!
//! The rules are the reference's, in its order:
//! - resync-requests topic: resync iff `context.integrationId` is this integration;
//! - change-log topic: resync iff `action == "RESYNC"` for this integration; otherwise look at
//!   `diff.after` (the integration after a change) and ignore a deletion (`after: null`),
//!   another integration, or a pure state update (`after.updatedAt ==
//!   after.resyncState.updatedAt`); what is left resyncs only when the message's
//!   `changelogDestination.type` is `KAFKA`.
//!
//! A missing object counts as empty (`{}`), as the reference's `.get(key, {})` does. Where the
//! reference would crash on a value of the wrong shape (a string where an object is expected, a
//! message that is not a JSON object, `null` anywhere but `diff.after`), the message is
//! [`Verdict::Malformed`]: the listener logs and skips it. Values are compared as JSON, so an
//! `integrationId` of `1` never matches the identifier `"1"`.

use serde_json::{Map, Value};

use crate::config::IntegrationIdentity;

/// The organization feature flag that moves resync requests to their own topic.
pub const RESYNC_REQUESTS_TOPIC_FLAG: &str =
    "OCEAN_KAFKA_INTEGRATION_RESYNC_REQUESTS_TOPIC_ENABLED";

/// Which of Port's per-organization topics the listener consumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicKind {
    /// `<orgId>.change.log`: every change in the organization, filtered down to this
    /// integration's resync requests and configuration changes.
    ChangeLog,
    /// `<orgId>.integration.resync.requests`: resync requests only.
    ResyncRequests,
}

impl TopicKind {
    /// The kind the organization's feature flags select.
    pub fn from_flags<S: AsRef<str>>(flags: &[S]) -> TopicKind {
        if flags
            .iter()
            .any(|flag| flag.as_ref() == RESYNC_REQUESTS_TOPIC_FLAG)
        {
            TopicKind::ResyncRequests
        } else {
            TopicKind::ChangeLog
        }
    }

    /// The topic name for an organization.
    pub fn topic(self, org_id: &str) -> String {
        match self {
            TopicKind::ChangeLog => format!("{org_id}.change.log"),
            TopicKind::ResyncRequests => format!("{org_id}.integration.resync.requests"),
        }
    }
}

/// The consumer group of one integration: `<orgId>.<type>.<identifier>`. Every instance of the
/// same integration joins it (they share the partitions); different integrations never share
/// one (the reference's literal `no-security` group, used when security is off, made every
/// integration on a self-hosted broker share one group, so each saw only some requests).
pub fn group_id(org_id: &str, identity: &IntegrationIdentity) -> String {
    format!(
        "{org_id}.{}.{}",
        identity.integration_type, identity.identifier
    )
}

/// Why a message resyncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResyncCause {
    /// An explicit resync request for this integration.
    Request,
    /// This integration's configuration changed in Port (change-log topic).
    ConfigChange,
}

/// Why a message is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoreCause {
    /// It is about another integration (or no integration).
    OtherIntegration,
    /// The integration was deleted (`diff.after` is null).
    Deleted,
    /// Only the integration's resync state changed.
    StateUpdate,
    /// A configuration change whose changelog destination is not Kafka.
    NotKafkaDestination,
    /// The message has no value (a tombstone).
    Empty,
}

impl IgnoreCause {
    /// A short description for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            IgnoreCause::OtherIntegration => "not for this integration",
            IgnoreCause::Deleted => "an integration deletion",
            IgnoreCause::StateUpdate => "a resync state update",
            IgnoreCause::NotKafkaDestination => "changelog destination is not KAFKA",
            IgnoreCause::Empty => "no value",
        }
    }
}

/// What to do with one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Run a full resync.
    Resync(ResyncCause),
    /// Nothing to do.
    Ignore(IgnoreCause),
    /// Not a JSON object of the expected shape; the text says what is wrong.
    Malformed(String),
}

/// Judges a raw message value (`None`: a tombstone).
pub fn judge(kind: TopicKind, identifier: &str, payload: Option<&[u8]>) -> Verdict {
    let Some(payload) = payload else {
        return Verdict::Ignore(IgnoreCause::Empty);
    };
    match serde_json::from_slice::<Value>(payload) {
        Ok(value) => judge_value(kind, identifier, &value),
        Err(error) => Verdict::Malformed(format!("not JSON: {error}")),
    }
}

/// Judges a parsed message value.
pub fn judge_value(kind: TopicKind, identifier: &str, message: &Value) -> Verdict {
    match judge_inner(kind, identifier, message) {
        Ok(verdict) => verdict,
        Err(problem) => Verdict::Malformed(problem),
    }
}

fn judge_inner(kind: TopicKind, identifier: &str, message: &Value) -> Result<Verdict, String> {
    let Value::Object(message) = message else {
        return Err(format!(
            "the value is {}, not an object",
            type_name(message)
        ));
    };
    let for_us = |value: Option<&Value>| value.and_then(Value::as_str) == Some(identifier);
    let context = object(message, "context", "context")?;
    let context_integration = context.and_then(|c| c.get("integrationId"));
    if kind == TopicKind::ResyncRequests {
        return Ok(if for_us(context_integration) {
            Verdict::Resync(ResyncCause::Request)
        } else {
            Verdict::Ignore(IgnoreCause::OtherIntegration)
        });
    }
    if for_us(context_integration)
        && message.get("action").and_then(Value::as_str) == Some("RESYNC")
    {
        return Ok(Verdict::Resync(ResyncCause::Request));
    }
    let diff = object(message, "diff", "diff")?;
    let after = match diff.and_then(|d| d.get("after")) {
        Some(Value::Null) => return Ok(Verdict::Ignore(IgnoreCause::Deleted)),
        Some(Value::Object(after)) => Some(after),
        Some(other) => {
            return Err(format!("diff.after is {}, not an object", type_name(other)));
        }
        None => None,
    };
    if !for_us(after.and_then(|a| a.get("identifier"))) {
        return Ok(Verdict::Ignore(IgnoreCause::OtherIntegration));
    }
    let updated_at = after.and_then(|a| a.get("updatedAt"));
    let state = match after {
        Some(after) => object(after, "resyncState", "diff.after.resyncState")?,
        None => None,
    };
    if updated_at == state.and_then(|s| s.get("updatedAt")) {
        return Ok(Verdict::Ignore(IgnoreCause::StateUpdate));
    }
    let destination = object(message, "changelogDestination", "changelogDestination")?;
    Ok(
        if destination
            .and_then(|d| d.get("type"))
            .and_then(Value::as_str)
            == Some("KAFKA")
        {
            Verdict::Resync(ResyncCause::ConfigChange)
        } else {
            Verdict::Ignore(IgnoreCause::NotKafkaDestination)
        },
    )
}

/// `parent[key]` as an object: `None` when missing, an error when it is anything but an object.
fn object<'a>(
    parent: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<&'a Map<String, Value>>, String> {
    match parent.get(key) {
        None => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(other) => Err(format!("{path} is {}, not an object", type_name(other))),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ME: &str = "my-jira";

    #[test]
    fn the_topic_follows_the_resync_requests_flag() {
        assert_eq!(TopicKind::from_flags::<&str>(&[]), TopicKind::ChangeLog);
        assert_eq!(
            TopicKind::from_flags(&["OTHER_FLAG", RESYNC_REQUESTS_TOPIC_FLAG]),
            TopicKind::ResyncRequests
        );
        assert_eq!(
            TopicKind::from_flags(&["ocean_kafka_integration_resync_requests_topic_enabled"]),
            TopicKind::ChangeLog,
            "flags are case-sensitive"
        );
        assert_eq!(TopicKind::ChangeLog.topic("org_1"), "org_1.change.log");
        assert_eq!(
            TopicKind::ResyncRequests.topic("org_1"),
            "org_1.integration.resync.requests"
        );
    }

    #[test]
    fn the_group_is_one_per_integration() {
        let me = IntegrationIdentity::new("Jira", "1.0.0", "my-jira");
        assert_eq!(group_id("org_1", &me), "org_1.jira.my-jira");
        let other = IntegrationIdentity::new("jira", "1.0.0", "other-jira");
        assert_ne!(group_id("org_1", &me), group_id("org_1", &other));
    }

    fn check(kind: TopicKind, message: Value, expected: Verdict) {
        assert_eq!(judge_value(kind, ME, &message), expected, "{message}");
    }

    fn resync(cause: ResyncCause) -> Verdict {
        Verdict::Resync(cause)
    }

    fn ignore(cause: IgnoreCause) -> Verdict {
        Verdict::Ignore(cause)
    }

    fn malformed(text: &str) -> Verdict {
        Verdict::Malformed(text.to_owned())
    }

    /// A configuration change of this integration, sent to Kafka.
    fn change() -> Value {
        json!({
            "diff": {"after": {
                "identifier": ME,
                "updatedAt": "2026-01-02T00:00:00.000Z",
                "resyncState": {"updatedAt": "2026-01-01T00:00:00.000Z"}
            }},
            "changelogDestination": {"type": "KAFKA"}
        })
    }

    fn with(mut base: Value, pointer: &str, value: Value) -> Value {
        *base.pointer_mut(pointer).expect(pointer) = value;
        base
    }

    #[test]
    fn resync_requests_topic_matches_the_integration_id_only() {
        use TopicKind::ResyncRequests as R;
        check(
            R,
            json!({"context": {"integrationId": ME}}),
            resync(ResyncCause::Request),
        );
        check(
            R,
            json!({"action": "ANYTHING", "context": {"integrationId": ME}}),
            resync(ResyncCause::Request),
        );
        check(
            R,
            json!({"context": {"integrationId": "other"}}),
            ignore(IgnoreCause::OtherIntegration),
        );
        check(R, json!({}), ignore(IgnoreCause::OtherIntegration));
        check(
            R,
            json!({"context": {"integrationId": 7}}),
            ignore(IgnoreCause::OtherIntegration),
        );
        // A change-log shaped message on this topic is not a request.
        check(R, change(), ignore(IgnoreCause::OtherIntegration));
        check(
            R,
            json!({"context": "my-jira"}),
            malformed("context is a string, not an object"),
        );
        check(
            R,
            json!({"context": null}),
            malformed("context is null, not an object"),
        );
    }

    #[test]
    fn change_log_resync_action_for_this_integration() {
        use TopicKind::ChangeLog as C;
        check(
            C,
            json!({"action": "RESYNC", "context": {"integrationId": ME}}),
            resync(ResyncCause::Request),
        );
        // RESYNC for another integration, and another action for this one, fall through to
        // the diff rules (no diff: not this integration).
        check(
            C,
            json!({"action": "RESYNC", "context": {"integrationId": "other"}}),
            ignore(IgnoreCause::OtherIntegration),
        );
        check(
            C,
            json!({"action": "UPDATE", "context": {"integrationId": ME}}),
            ignore(IgnoreCause::OtherIntegration),
        );
        check(
            C,
            json!({"action": "resync", "context": {"integrationId": ME}}),
            ignore(IgnoreCause::OtherIntegration),
        );
        check(
            C,
            json!({"action": "RESYNC"}),
            ignore(IgnoreCause::OtherIntegration),
        );
    }

    #[test]
    fn change_log_configuration_changes() {
        use TopicKind::ChangeLog as C;
        check(C, change(), resync(ResyncCause::ConfigChange));
        // Deleted integration.
        check(
            C,
            with(change(), "/diff/after", Value::Null),
            ignore(IgnoreCause::Deleted),
        );
        // Another integration.
        check(
            C,
            with(change(), "/diff/after/identifier", json!("other")),
            ignore(IgnoreCause::OtherIntegration),
        );
        check(
            C,
            with(change(), "/diff/after", json!({})),
            ignore(IgnoreCause::OtherIntegration),
        );
        check(
            C,
            json!({"diff": {}}),
            ignore(IgnoreCause::OtherIntegration),
        );
        // A pure state update: both timestamps equal (also both missing).
        check(
            C,
            with(
                change(),
                "/diff/after/resyncState/updatedAt",
                json!("2026-01-02T00:00:00.000Z"),
            ),
            ignore(IgnoreCause::StateUpdate),
        );
        check(
            C,
            json!({"diff": {"after": {"identifier": ME}}, "changelogDestination": {"type": "KAFKA"}}),
            ignore(IgnoreCause::StateUpdate),
        );
        // No resync state yet: a change.
        check(
            C,
            json!({"diff": {"after": {"identifier": ME, "updatedAt": "t"}},
                   "changelogDestination": {"type": "KAFKA"}}),
            resync(ResyncCause::ConfigChange),
        );
        // Destination other than Kafka, or none.
        check(
            C,
            with(change(), "/changelogDestination/type", json!("WEBHOOK")),
            ignore(IgnoreCause::NotKafkaDestination),
        );
        check(
            C,
            with(change(), "/changelogDestination", json!({})),
            ignore(IgnoreCause::NotKafkaDestination),
        );
        let mut no_destination = change();
        no_destination
            .as_object_mut()
            .unwrap()
            .remove("changelogDestination");
        check(C, no_destination, ignore(IgnoreCause::NotKafkaDestination));
    }

    #[test]
    fn wrong_shapes_are_malformed() {
        use TopicKind::ChangeLog as C;
        check(
            C,
            json!([1, 2]),
            malformed("the value is an array, not an object"),
        );
        check(
            C,
            json!("RESYNC"),
            malformed("the value is a string, not an object"),
        );
        check(
            C,
            json!({"context": ["x"]}),
            malformed("context is an array, not an object"),
        );
        check(
            C,
            json!({"diff": null}),
            malformed("diff is null, not an object"),
        );
        check(
            C,
            json!({"diff": {"after": "x"}}),
            malformed("diff.after is a string, not an object"),
        );
        check(
            C,
            with(change(), "/diff/after/resyncState", Value::Null),
            malformed("diff.after.resyncState is null, not an object"),
        );
        check(
            C,
            with(change(), "/changelogDestination", json!("KAFKA")),
            malformed("changelogDestination is a string, not an object"),
        );
        // Shapes past the deciding rule do not matter.
        check(
            C,
            json!({"action": "RESYNC", "context": {"integrationId": ME}, "diff": 3}),
            resync(ResyncCause::Request),
        );
    }

    #[test]
    fn raw_payloads() {
        assert_eq!(
            judge(TopicKind::ChangeLog, ME, None),
            ignore(IgnoreCause::Empty)
        );
        assert!(matches!(
            judge(TopicKind::ChangeLog, ME, Some(b"not json")),
            Verdict::Malformed(text) if text.starts_with("not JSON: ")
        ));
        assert_eq!(
            judge(
                TopicKind::ResyncRequests,
                ME,
                Some(br#"{"context":{"integrationId":"my-jira"}}"#)
            ),
            resync(ResyncCause::Request)
        );
    }
}
