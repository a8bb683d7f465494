//! Port's response objects, typed for the fields Ocean reads (`docs/port-api.md` §4);
//! a blueprint keeps the raw JSON it was read from.
//!
//! Fields are optional wherever Port may omit them: a freshly created integration has no
//! `processingMode`, a blueprint may have no relations. Wrong *types* are decode errors.

use std::collections::BTreeMap;

use ocean_model::Secret;
use serde::Deserialize;
use serde_json::{Map, Value};

/// An integration record (`GET /integration/{id}` → `integration`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Integration {
    /// The integration identifier.
    #[serde(default)]
    pub installation_id: Option<String>,
    /// `OnPrem` or `Saas…` (runtime compatibility check).
    #[serde(default)]
    pub installation_type: Option<String>,
    /// The integration type Port has on record.
    #[serde(default)]
    pub installation_app_type: Option<String>,
    /// The integration version Port has on record.
    #[serde(default)]
    pub version: Option<String>,
    /// Where Port sends change notifications (`{}`, `{"type": "KAFKA"}`, ...).
    #[serde(default)]
    pub changelog_destination: Option<Value>,
    /// Whether the actions processor is on.
    #[serde(default)]
    pub actions_processing_enabled: Option<bool>,
    /// Whether incremental sync is on.
    #[serde(default)]
    pub incremental_sync_enabled: Option<bool>,
    /// `dsp` or `ocean-core`; absent on a freshly created integration.
    #[serde(default)]
    pub processing_mode: Option<String>,
    /// Who creates the default resources (`Empty`, `Default`, `Port`).
    #[serde(default)]
    pub create_port_resources_origin: Option<String>,
    /// Whether the default resources were created.
    #[serde(default)]
    pub are_port_resources_initialized: Option<bool>,
    /// The port-app-config (mapping) as Port stores it; the mapping crate parses it.
    #[serde(default)]
    pub config: Option<Value>,
    /// The last reported resync state.
    #[serde(default)]
    pub resync_state: Option<ResyncStateInfo>,
    /// Where logs are shipped.
    #[serde(default)]
    pub log_attributes: Option<IngestAttributes>,
    /// Where sync metrics and heartbeats are sent.
    #[serde(default)]
    pub metric_attributes: Option<IngestAttributes>,
    /// Where raw data goes (lakehouse).
    #[serde(default)]
    pub ingest_attributes: Option<IngestAttributes>,
    /// The SaaS spec (`spec.appSpec.scheduledResyncInterval`, ...), as Port sent it.
    #[serde(default)]
    pub spec: Option<Value>,
    /// Status information (`statusInfo.updatedAt`), as Port sent it.
    #[serde(default)]
    pub status_info: Option<Value>,
}

impl Integration {
    /// Reads an integration object.
    pub fn from_value(raw: Value) -> Result<Self, serde_json::Error> {
        serde_json::from_value(raw)
    }

    /// Whether the stored mapping is a non-empty object (what default provisioning waits for).
    pub fn has_config(&self) -> bool {
        matches!(&self.config, Some(Value::Object(map)) if !map.is_empty())
    }

    /// The status of the last reported resync (`running`, `completed`, ...).
    pub fn resync_status(&self) -> Option<&str> {
        self.resync_state.as_ref()?.status.as_deref()
    }
}

/// `integration.resyncState`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResyncStateInfo {
    /// `running`, `completed`, `failed` or `aborted`.
    #[serde(default)]
    pub status: Option<String>,
    /// When Port last recorded a state change (the polling watermark).
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// `logAttributes` / `metricAttributes` / `ingestAttributes` of an integration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestAttributes {
    /// The URL to post to.
    #[serde(default)]
    pub ingest_url: Option<String>,
}

/// A pending resync request (`GET /integration/{id}/resync-request` → `request`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResyncRequest {
    /// The request id.
    #[serde(default)]
    pub id: Option<String>,
    /// When it was requested (ISO-8601); the only field Ocean uses.
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// A blueprint (`GET /blueprints/{id}` → `blueprint`), as far as Ocean reads one.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Blueprint {
    /// The blueprint identifier.
    pub identifier: String,
    /// Its title.
    #[serde(default)]
    pub title: Option<String>,
    /// Its team, when set.
    #[serde(default)]
    pub team: Option<Value>,
    /// Its property schema.
    #[serde(default)]
    pub schema: BlueprintSchema,
    /// Its relations by name.
    #[serde(default)]
    pub relations: BTreeMap<String, BlueprintRelation>,
    /// The whole object as Port sent it.
    #[serde(skip)]
    pub raw: Value,
}

impl Blueprint {
    /// Reads a blueprint object, keeping the raw JSON.
    pub fn from_value(raw: Value) -> Result<Self, serde_json::Error> {
        let mut parsed: Blueprint = serde_json::from_value(raw.clone())?;
        parsed.raw = raw;
        Ok(parsed)
    }
}

/// A blueprint's `schema`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct BlueprintSchema {
    /// Property definitions by name.
    #[serde(default)]
    pub properties: Map<String, Value>,
    /// Names of required properties.
    #[serde(default)]
    pub required: Vec<String>,
}

/// One relation of a blueprint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct BlueprintRelation {
    /// The target blueprint.
    pub target: String,
    /// Whether the relation must be set.
    #[serde(default)]
    pub required: bool,
    /// Whether it holds a list of targets.
    #[serde(default)]
    pub many: bool,
    /// Its title.
    #[serde(default)]
    pub title: Option<String>,
}

/// The organization (`GET /organization` → `organization`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    /// The organization id.
    #[serde(default)]
    pub id: Option<String>,
    /// Enabled feature flags (`USE_PROVISIONED_DEFAULTS`, `LAKEHOUSE_ELIGIBLE`, ...).
    #[serde(default)]
    pub feature_flags: Vec<String>,
    /// Whether the organization is blocked.
    #[serde(default)]
    pub is_blocked: bool,
    /// The whole object as Port sent it.
    #[serde(skip)]
    pub raw: Value,
}

impl Organization {
    /// Whether a feature flag is on.
    pub fn has_feature_flag(&self, flag: &str) -> bool {
        self.feature_flags.iter().any(|f| f == flag)
    }
}

/// A migration (`GET /migrations/{id}` → `migration`), started by deleting a blueprint with its
/// entities.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Migration {
    /// The migration id.
    #[serde(default)]
    pub id: Option<String>,
    /// `PENDING`, `INITIALIZING`, `RUNNING`, `COMPLETED`, `FAILED`, ...
    #[serde(default)]
    pub status: Option<String>,
    /// The blueprint it works on.
    #[serde(default)]
    pub source_blueprint: Option<String>,
    /// The whole object as Port sent it.
    #[serde(skip)]
    pub raw: Value,
}

impl Migration {
    /// Whether the migration is still going (`RUNNING`, `INITIALIZING` or `PENDING`).
    pub fn is_in_progress(&self) -> bool {
        matches!(
            self.status.as_deref(),
            Some("RUNNING" | "INITIALIZING" | "PENDING")
        )
    }
}

/// SASL credentials for Port's Kafka (`GET /kafka-credentials` → `credentials`).
#[derive(Clone, Debug, Deserialize)]
pub struct KafkaCredentials {
    /// The SASL user name.
    pub username: String,
    /// The SASL password (never printed).
    pub password: Secret,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integration_reads_what_ocean_uses_and_keeps_the_rest() {
        let raw = json!({
            "installationId": "my-jira",
            "installationType": "OnPrem",
            "config": {},
            "resyncState": {"status": "running", "updatedAt": "2026-01-01T10:00:00Z"},
            "logAttributes": {"ingestUrl": "http://logs"},
            "processingMode": null,
            "somethingNew": {"x": 1}
        });
        let i = Integration::from_value(raw.clone()).unwrap();
        assert_eq!(i.installation_type.as_deref(), Some("OnPrem"));
        assert_eq!(i.resync_status(), Some("running"));
        assert_eq!(i.processing_mode, None);
        assert!(!i.has_config());
        assert_eq!(
            i.log_attributes.unwrap().ingest_url.as_deref(),
            Some("http://logs")
        );
        let with_config = Integration::from_value(json!({"config": {"resources": []}})).unwrap();
        assert!(with_config.has_config());
    }

    #[test]
    fn blueprint_relations_default() {
        let bp = Blueprint::from_value(json!({
            "identifier": "svc",
            "schema": {"properties": {"a": {"type": "string"}}, "required": ["a"]},
            "relations": {"owner": {"target": "team", "required": true}}
        }))
        .unwrap();
        assert_eq!(bp.schema.required, vec!["a"]);
        assert!(bp.relations["owner"].required);
        assert!(!bp.relations["owner"].many);
    }

    #[test]
    fn kafka_password_is_not_printed() {
        let creds: KafkaCredentials =
            serde_json::from_value(json!({"username": "u", "password": "p4ss"})).unwrap();
        assert!(!format!("{creds:?}").contains("p4ss"));
        assert_eq!(creds.password.expose(), "p4ss");
    }
}
