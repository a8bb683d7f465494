//! The integration record in Port (`docs/port-api.md` §4.2, calls I1–I10): read, create, patch,
//! write the mapping, delete, the provision-enabled list, resync requests and resync state, kind
//! examples and the incremental-sync cursor.
//!
//! The client sends and parses; it does not decide. Drift detection, the choice of resources
//! origin and the masking of secrets in kind examples belong to the lifecycle. Resync-state
//! errors are returned like any other (Python Ocean logs and ignores them; the caller does that).

use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::client::PortClient;
use crate::error::PortError;
use crate::pyfmt::python_isoformat;
use crate::transport::{Call, Reply};
use crate::types::{Integration, ResyncRequest};

/// Who creates the integration's default resources (`createPortResourcesOrigin`). Python's
/// `Ocean` value is sent as `Default`, so it has no variant here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourcesOrigin {
    /// Nothing is created; the mapping starts empty.
    Empty,
    /// Ocean creates the resources of `.port/resources`.
    Default,
    /// Port provisions them (`?integration_modes=create_resources`).
    Port,
}

impl ResourcesOrigin {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourcesOrigin::Empty => "Empty",
            ResourcesOrigin::Default => "Default",
            ResourcesOrigin::Port => "Port",
        }
    }
}

/// The body of `POST /integration` (I2) besides what the client already knows (identifier, type
/// and version come from the [`IntegrationIdentity`](crate::IntegrationIdentity)).
#[derive(Clone, Debug, PartialEq)]
pub struct CreateIntegration {
    /// `{}`, `{"type": "KAFKA"}` or `{"type": "WEBHOOK", "url": ".../resync"}`.
    pub changelog_destination: Value,
    /// The port-app-config in request form; `None` sends `{}`.
    pub config: Option<Value>,
    /// `actionsProcessingEnabled`.
    pub actions_processing_enabled: bool,
    /// `incrementalSyncEnabled`.
    pub incremental_sync_enabled: bool,
    /// `createPortResourcesOrigin`; `Port` also adds `?integration_modes=create_resources`.
    pub origin: ResourcesOrigin,
}

/// The fields of `PATCH /integration/{id}` (I3). Only the fields set are sent; `version` (the
/// identity's) is always sent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IntegrationPatch {
    /// `installationAppType` (sent when non-empty).
    pub installation_app_type: Option<String>,
    /// `config`: the port-app-config in request form.
    pub config: Option<Value>,
    /// `arePortResourcesInitialized`.
    pub are_port_resources_initialized: Option<bool>,
    /// `actionsProcessingEnabled`.
    pub actions_processing_enabled: Option<bool>,
    /// `incrementalSyncEnabled`.
    pub incremental_sync_enabled: Option<bool>,
    /// `changelogDestination`.
    pub changelog_destination: Option<Value>,
    /// `processingMode` (`dsp` or `ocean-core`).
    pub processing_mode: Option<String>,
    /// `oauthBrokerUrl`.
    pub oauth_broker_url: Option<String>,
    /// `spec`; a patch carrying it is retried while Port answers 400
    /// `integration_is_in_progress` (8 attempts, 2 s ×1.5).
    pub spec: Option<Value>,
}

impl IntegrationPatch {
    /// The JSON body, keys in Python Ocean's order, `version` last.
    pub fn to_body(&self, version: &str) -> Value {
        let mut body = Map::new();
        if let Some(t) = self
            .installation_app_type
            .as_ref()
            .filter(|t| !t.is_empty())
        {
            body.insert("installationAppType".into(), json!(t));
        }
        if let Some(config) = &self.config {
            body.insert("config".into(), config.clone());
        }
        let flags = [
            (
                "arePortResourcesInitialized",
                self.are_port_resources_initialized,
            ),
            ("actionsProcessingEnabled", self.actions_processing_enabled),
            ("incrementalSyncEnabled", self.incremental_sync_enabled),
        ];
        for (key, value) in flags {
            if let Some(value) = value {
                body.insert(key.into(), json!(value));
            }
        }
        if let Some(dest) = &self.changelog_destination {
            body.insert("changelogDestination".into(), dest.clone());
        }
        if let Some(mode) = &self.processing_mode {
            body.insert("processingMode".into(), json!(mode));
        }
        if let Some(url) = &self.oauth_broker_url {
            body.insert("oauthBrokerUrl".into(), json!(url));
        }
        if let Some(spec) = &self.spec {
            body.insert("spec".into(), spec.clone());
        }
        body.insert("version".into(), json!(version));
        Value::Object(body)
    }
}

/// How long to wait for Port to provision default resources (§4.2.2): `attempts` reads, the
/// first wait `initial`, each next one `int(previous × factor)` seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProvisionPoll {
    /// Reads before giving up (30).
    pub attempts: u32,
    /// The first wait (3 s).
    pub initial: Duration,
    /// The growth of the wait (1.55).
    pub factor: f64,
}

impl Default for ProvisionPoll {
    fn default() -> Self {
        ProvisionPoll {
            attempts: 30,
            initial: Duration::from_secs(3),
            factor: 1.55,
        }
    }
}

impl ProvisionPoll {
    /// The wait after `wait`: multiplied, then cut to whole seconds as Python's `int()` does
    /// (sub-second waits, used by tests, are kept as they are).
    pub fn next_wait(&self, wait: Duration) -> Duration {
        let next = wait.as_secs_f64() * self.factor;
        let next = if next >= 1.0 { next.trunc() } else { next };
        Duration::try_from_secs_f64(next).unwrap_or(wait)
    }
}

/// The status reported to `PATCH /integration/{id}/resync-state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResyncStatus {
    /// A resync started.
    Running,
    /// It finished and reconciliation ran.
    Completed,
    /// It failed (or skipped deletion because of errors).
    Failed,
    /// It was cancelled (shutdown or superseded).
    Aborted,
}

impl ResyncStatus {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            ResyncStatus::Running => "running",
            ResyncStatus::Completed => "completed",
            ResyncStatus::Failed => "failed",
            ResyncStatus::Aborted => "aborted",
        }
    }
}

/// One resync-state report (I8). Build it with [`ResyncStateUpdate::before_resync`] or
/// [`ResyncStateUpdate::after_resync`].
#[derive(Clone, Debug, PartialEq)]
pub struct ResyncStateUpdate {
    /// The status.
    pub status: ResyncStatus,
    /// `lastResyncStart`: sent only when set (the "before" report).
    pub last_resync_start: Option<OffsetDateTime>,
    /// `lastResyncEnd`: always sent, `null` when unset.
    pub last_resync_end: Option<OffsetDateTime>,
    /// `nextResync`: the next scheduled resync, or `null`.
    pub next_resync: Option<OffsetDateTime>,
    /// `intervalInMinuets` (sic): the schedule interval in minutes, or `null`.
    pub interval_minutes: Option<u64>,
}

impl ResyncStateUpdate {
    /// The report sent when a resync starts at `now`. With an interval (0 counts as none),
    /// `nextResync` is the next multiple of it after `now`, counted from `schedule_start` (the
    /// process start, or the SaaS integration's `statusInfo.updatedAt`).
    pub fn before_resync(
        now: OffsetDateTime,
        interval_minutes: Option<u64>,
        schedule_start: OffsetDateTime,
    ) -> Self {
        let interval = interval_minutes.filter(|m| *m > 0);
        ResyncStateUpdate {
            status: ResyncStatus::Running,
            last_resync_start: Some(now),
            last_resync_end: None,
            next_resync: interval.map(|m| next_resync_time(m, schedule_start, now)),
            interval_minutes: interval,
        }
    }

    /// The report sent when a resync ends at `now` with `status`.
    pub fn after_resync(
        status: ResyncStatus,
        now: OffsetDateTime,
        interval_minutes: Option<u64>,
        schedule_start: OffsetDateTime,
    ) -> Self {
        let interval = interval_minutes.filter(|m| *m > 0);
        ResyncStateUpdate {
            status,
            last_resync_start: None,
            last_resync_end: Some(now),
            next_resync: interval.map(|m| next_resync_time(m, schedule_start, now)),
            interval_minutes: interval,
        }
    }

    /// The JSON body, with Python's key order, spelling and timestamp format.
    pub fn to_body(&self) -> Value {
        let iso =
            |t: &Option<OffsetDateTime>| t.map_or(Value::Null, |t| json!(python_isoformat(t)));
        let mut body = Map::new();
        body.insert("status".into(), json!(self.status.as_str()));
        body.insert("lastResyncEnd".into(), iso(&self.last_resync_end));
        if self.last_resync_start.is_some() {
            body.insert("lastResyncStart".into(), iso(&self.last_resync_start));
        }
        body.insert("nextResync".into(), iso(&self.next_resync));
        body.insert("intervalInMinuets".into(), json!(self.interval_minutes));
        Value::Object(body)
    }
}

/// The first `start + n × interval` strictly after whole intervals elapsed by `now`.
pub fn next_resync_time(
    interval_minutes: u64,
    start: OffsetDateTime,
    now: OffsetDateTime,
) -> OffsetDateTime {
    let interval = time::Duration::minutes(interval_minutes.min(i64::MAX as u64 / 60) as i64);
    let elapsed = now - start;
    let passed = (elapsed.as_seconds_f64() / interval.as_seconds_f64()).floor();
    start + interval * (passed + 1.0)
}

/// The `{"integration": ...}` envelope of integration answers.
#[derive(Deserialize)]
struct IntegrationEnvelope {
    #[serde(default)]
    integration: Option<Value>,
}

fn integration_of(reply: &Reply) -> Result<Option<Integration>, PortError> {
    let envelope: IntegrationEnvelope = reply.json()?;
    match envelope.integration {
        None | Some(Value::Null) => Ok(None),
        Some(raw) => Integration::from_value(raw).map(Some).map_err(|e| {
            reply.decode_error(&format!("the integration object does not parse: {e}"))
        }),
    }
}

fn required_integration(reply: &Reply) -> Result<Integration, PortError> {
    integration_of(reply)?.ok_or_else(|| reply.decode_error("the answer has no `integration`"))
}

impl PortClient {
    /// Reads this integration (I1: `GET /integration/{id}?oceanCoreVersion=…&isPolling=false`).
    /// `Ok(None)` when Port answers 404 (not created yet).
    pub async fn get_integration(&self) -> Result<Option<Integration>, PortError> {
        let inner = &self.inner;
        let call = Call::new(
            Method::GET,
            inner.api(&["integration", &inner.config.identity.identifier]),
        )
        .query(&[
            ("oceanCoreVersion", inner.config.ocean_core_version.as_str()),
            ("isPolling", "false"),
        ]);
        let reply = inner.execute(&call).await?;
        if reply.status.as_u16() == 404 {
            return Ok(None);
        }
        let reply = reply.success()?;
        Ok(Some(integration_of(&reply)?.unwrap_or_default()))
    }

    /// Creates this integration (I2: `POST /integration`) and returns Port's record. With the
    /// `Port` origin, follow with [`PortClient::wait_for_provisioned_config`].
    pub async fn create_integration(
        &self,
        request: &CreateIntegration,
    ) -> Result<Integration, PortError> {
        let inner = &self.inner;
        let identity = &inner.config.identity;
        let body = json!({
            "installationId": identity.identifier,
            "installationAppType": identity.integration_type,
            "version": identity.version,
            "changelogDestination": request.changelog_destination,
            "config": request.config.clone().unwrap_or_else(|| json!({})),
            "actionsProcessingEnabled": request.actions_processing_enabled,
            "incrementalSyncEnabled": request.incremental_sync_enabled,
            "createPortResourcesOrigin": request.origin.as_str(),
        });
        let mut call = Call::new(Method::POST, inner.api(&["integration"])).json(&body)?;
        if request.origin == ResourcesOrigin::Port {
            call = call.query(&[("integration_modes", "create_resources")]);
        }
        let reply = inner.execute(&call).await?.success()?;
        required_integration(&reply)
    }

    /// Reads the integration until Port has provisioned a non-empty mapping (§4.2.2); a read
    /// that fails with an HTTP error counts as "not yet".
    pub async fn wait_for_provisioned_config(
        &self,
        poll: ProvisionPoll,
    ) -> Result<Integration, PortError> {
        let mut wait = poll.initial;
        for attempt in 1..=poll.attempts {
            match self.get_integration().await {
                Ok(Some(integration)) if integration.has_config() => return Ok(integration),
                Ok(_) | Err(PortError::Http { .. }) => {}
                Err(other) => return Err(other),
            }
            tracing::info!(
                attempt,
                attempts = poll.attempts,
                wait_seconds = wait.as_secs_f64(),
                "The integration's configuration is still being provisioned by Port"
            );
            tokio::time::sleep(wait).await;
            wait = poll.next_wait(wait);
        }
        Err(PortError::ProvisionTimeout {
            attempts: poll.attempts,
        })
    }

    /// Patches this integration (I3: `PATCH /integration/{id}`, never retried except the `spec`
    /// in-progress loop) and returns Port's record.
    pub async fn patch_integration(
        &self,
        patch: &IntegrationPatch,
    ) -> Result<Integration, PortError> {
        let inner = &self.inner;
        let body = patch.to_body(&inner.config.identity.version);
        let call = Call::new(
            Method::PATCH,
            inner.api(&["integration", &inner.config.identity.identifier]),
        )
        .json(&body)?;
        let mut delay = inner.config.spec_patch_delay;
        let mut attempt = 1;
        loop {
            let reply = inner.execute(&call).await?;
            if reply.is_success() {
                return required_integration(&reply);
            }
            let in_progress = reply.status.as_u16() == 400
                && reply
                    .json::<Value>()
                    .is_ok_and(|v| v.get("error") == Some(&json!("integration_is_in_progress")));
            if patch.spec.is_none() || !in_progress || attempt >= 8 {
                return Err(reply.http_error());
            }
            tracing::info!(
                attempt,
                "The integration is still updating; retrying the spec patch"
            );
            tokio::time::sleep(delay).await;
            delay = delay.mul_f64(1.5);
            attempt += 1;
        }
    }

    /// Writes the mapping (I4: `PATCH /integration/{id}/config` with `{"config": …}`);
    /// `skip_resync` adds `x-skip-resync: true` (the SaaS runtime does).
    pub async fn patch_integration_config(
        &self,
        config: &Value,
        skip_resync: bool,
    ) -> Result<Integration, PortError> {
        let inner = &self.inner;
        let mut call = Call::new(
            Method::PATCH,
            inner.api(&["integration", &inner.config.identity.identifier, "config"]),
        )
        .json(&json!({ "config": config }))?;
        if skip_resync {
            call = call.header("x-skip-resync", "true");
        }
        let reply = inner.execute(&call).await?.success()?;
        required_integration(&reply)
    }

    /// Deletes this integration (I5). Returns Port's `ok`.
    pub async fn delete_integration(&self) -> Result<bool, PortError> {
        let inner = &self.inner;
        let call = Call::new(
            Method::DELETE,
            inner.api(&["integration", &inner.config.identity.identifier]),
        );
        let reply = inner.execute(&call).await?.success()?;
        let body: Value = reply.json()?;
        Ok(body.get("ok").and_then(Value::as_bool).unwrap_or(false))
    }

    /// The integration types Port provisions defaults for (I6: `GET /integration/provision-enabled`).
    pub async fn provision_enabled_integrations(&self) -> Result<Vec<String>, PortError> {
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default)]
            integrations: Option<Vec<String>>,
        }
        let inner = &self.inner;
        let call = Call::new(
            Method::GET,
            inner.api(&["integration", "provision-enabled"]),
        );
        let reply = inner.execute(&call).await?.success()?;
        Ok(reply.json::<Answer>()?.integrations.unwrap_or_default())
    }

    /// The pending resync request, if any (I7: `GET /integration/{id}/resync-request`).
    pub async fn resync_request(&self) -> Result<Option<ResyncRequest>, PortError> {
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default)]
            request: Option<ResyncRequest>,
        }
        let inner = &self.inner;
        let call = Call::new(
            Method::GET,
            inner.api(&[
                "integration",
                &inner.config.identity.identifier,
                "resync-request",
            ]),
        );
        let reply = inner.execute(&call).await?.success()?;
        Ok(reply.json::<Answer>()?.request)
    }

    /// Reports the resync state (I8: `PATCH /integration/{id}/resync-state`, never retried).
    /// Returns the new `integration.resyncState.updatedAt`, the polling watermark.
    pub async fn update_resync_state(
        &self,
        update: &ResyncStateUpdate,
    ) -> Result<Option<String>, PortError> {
        let inner = &self.inner;
        let call = Call::new(
            Method::PATCH,
            inner.api(&[
                "integration",
                &inner.config.identity.identifier,
                "resync-state",
            ]),
        )
        .json(&update.to_body())?;
        let reply = inner.execute(&call).await?.success()?;
        if reply.body.iter().all(u8::is_ascii_whitespace) {
            // Nothing to read the watermark from; the state was still recorded.
            return Ok(None);
        }
        let integration = integration_of(&reply)?;
        Ok(integration
            .and_then(|i| i.resync_state)
            .and_then(|s| s.updated_at))
    }

    /// Sends raw examples of a kind (I9: `POST /integration/{id}/kinds/{kind}/examples`). The
    /// caller masks secrets in them first and sends at most five.
    pub async fn post_kind_examples(
        &self,
        kind: &str,
        examples: &[Value],
    ) -> Result<(), PortError> {
        let inner = &self.inner;
        let call = Call::new(
            Method::POST,
            inner.api(&[
                "integration",
                &inner.config.identity.identifier,
                "kinds",
                kind,
                "examples",
            ]),
        )
        .json(&json!({ "examples": examples }))?;
        inner.execute(&call).await?.success().map(|_| ())
    }

    /// The incremental-sync cursor of a resource (I10: `GET /integration/{id}/cursor`), as the
    /// ISO string Port stores; `None` on the first run.
    pub async fn get_cursor(&self, kind: &str, index: usize) -> Result<Option<String>, PortError> {
        let inner = &self.inner;
        let index = index.to_string();
        let call = Call::new(
            Method::GET,
            inner.api(&["integration", &inner.config.identity.identifier, "cursor"]),
        )
        .query(&[("kind", kind), ("index", index.as_str())]);
        let reply = inner.execute(&call).await?.success()?;
        let body: Value = reply.json()?;
        Ok(body
            .get("cursor")
            .and_then(|c| c.get("primary"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned))
    }

    /// Saves the cursor of a resource: `PUT …/cursor`, and `POST` when the PUT answers 404.
    pub async fn save_cursor(
        &self,
        kind: &str,
        index: usize,
        primary: &str,
    ) -> Result<(), PortError> {
        let inner = &self.inner;
        let index = index.to_string();
        let target = inner.api(&["integration", &inner.config.identity.identifier, "cursor"]);
        let query = [("kind", kind), ("index", index.as_str())];
        let body = json!({ "primary": primary });
        let put = Call::new(Method::PUT, target.clone())
            .query(&query)
            .json(&body)?;
        let reply = inner.execute(&put).await?;
        if reply.status.as_u16() != 404 {
            return reply.success().map(|_| ());
        }
        let post = Call::new(Method::POST, target)
            .harmless_to_repeat()
            .query(&query)
            .json(&body)?;
        inner.execute(&post).await?.success().map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn resync_state_bodies() {
        let start = datetime!(2026-01-01 09:30:00.250000 UTC);
        let now = datetime!(2026-01-01 10:00:00.123456 UTC);
        let before = ResyncStateUpdate::before_resync(now, Some(60), start);
        let body = before.to_body();
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"status":"running","lastResyncEnd":null,"lastResyncStart":"2026-01-01T10:00:00.123456+00:00","nextResync":"2026-01-01T10:30:00.250000+00:00","intervalInMinuets":60}"#
        );
        let after = ResyncStateUpdate::after_resync(
            ResyncStatus::Completed,
            datetime!(2026-01-01 10:05:00 UTC),
            None,
            start,
        );
        assert_eq!(
            serde_json::to_string(&after.to_body()).unwrap(),
            r#"{"status":"completed","lastResyncEnd":"2026-01-01T10:05:00+00:00","nextResync":null,"intervalInMinuets":null}"#
        );
        // An interval of 0 is "no interval", as `interval or setting` is in Python.
        assert_eq!(
            ResyncStateUpdate::before_resync(now, Some(0), start).interval_minutes,
            None
        );
    }

    #[test]
    fn next_resync_is_the_next_multiple_after_now() {
        let start = datetime!(2026-01-01 00:00:00 UTC);
        let check = |now, expected| assert_eq!(next_resync_time(60, start, now), expected);
        check(
            datetime!(2026-01-01 00:00:00 UTC),
            datetime!(2026-01-01 01:00:00 UTC),
        );
        check(
            datetime!(2026-01-01 00:59:59 UTC),
            datetime!(2026-01-01 01:00:00 UTC),
        );
        check(
            datetime!(2026-01-01 01:00:00 UTC),
            datetime!(2026-01-01 02:00:00 UTC),
        );
        check(
            datetime!(2026-01-01 05:30:00 UTC),
            datetime!(2026-01-01 06:00:00 UTC),
        );
    }

    #[test]
    fn patch_body_sends_set_fields_and_always_version() {
        let patch = IntegrationPatch {
            are_port_resources_initialized: Some(true),
            ..IntegrationPatch::default()
        };
        assert_eq!(
            serde_json::to_string(&patch.to_body("0.1.0")).unwrap(),
            r#"{"arePortResourcesInitialized":true,"version":"0.1.0"}"#
        );
        let drift = IntegrationPatch {
            installation_app_type: Some("jira".into()),
            changelog_destination: Some(json!({})),
            actions_processing_enabled: Some(false),
            incremental_sync_enabled: Some(false),
            processing_mode: Some("dsp".into()),
            ..IntegrationPatch::default()
        };
        assert_eq!(
            serde_json::to_string(&drift.to_body("1.2.3")).unwrap(),
            r#"{"installationAppType":"jira","actionsProcessingEnabled":false,"incrementalSyncEnabled":false,"changelogDestination":{},"processingMode":"dsp","version":"1.2.3"}"#
        );
        let empty_type = IntegrationPatch {
            installation_app_type: Some(String::new()),
            ..IntegrationPatch::default()
        };
        assert_eq!(empty_type.to_body("v"), json!({"version": "v"}));
    }

    #[test]
    fn provision_poll_waits_like_python() {
        let poll = ProvisionPoll::default();
        let mut wait = poll.initial;
        let mut seen = vec![];
        for _ in 0..8 {
            seen.push(wait.as_secs());
            wait = poll.next_wait(wait);
        }
        assert_eq!(seen, vec![3, 4, 6, 9, 13, 20, 31, 48]);
    }
}
