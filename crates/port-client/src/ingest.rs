//! Calls to the per-integration ingest URLs Port hands out in the integration record
//! (`docs/port-api.md` §4.8, G1–G4): log shipping, sync metrics and the heartbeat. The caller passes
//! the URL it read from `logAttributes` / `metricAttributes` (and caches it); the client adds
//! the same auth headers as for the API.
//!
//! The lakehouse write (G5) is not here: it only runs for organizations with the lakehouse
//! feature flag, which the first milestone does not support.

use reqwest::Method;
use serde_json::{Value, json};

use crate::client::PortClient;
use crate::error::PortError;
use crate::transport::Call;

impl PortClient {
    /// Ships log records (G1: `POST {logAttributes.ingestUrl}` with `{"logs": [...]}`).
    pub async fn ingest_logs(&self, ingest_url: &str, logs: &[Value]) -> Result<(), PortError> {
        let inner = &self.inner;
        let call = Call::new(Method::POST, inner.absolute(ingest_url, &[])?)
            .json(&json!({ "logs": logs }))?;
        inner.execute(&call).await?.success().map(|_| ())
    }

    /// Sends per-resync metrics (G2: `POST {metricAttributes.ingestUrl}/syncMetrics` with
    /// `{"syncKindsMetrics": [...]}`).
    pub async fn post_sync_metrics(
        &self,
        ingest_url: &str,
        metrics: &[Value],
    ) -> Result<(), PortError> {
        let inner = &self.inner;
        let call = Call::new(Method::POST, inner.absolute(ingest_url, &["syncMetrics"])?)
            .json(&json!({ "syncKindsMetrics": metrics }))?;
        inner.execute(&call).await?.success().map(|_| ())
    }

    /// Sends one kind's metrics (G3: `PUT {ingestUrl}/syncMetrics/resync/{eventId}/kind/{kindId}`
    /// with `{"syncKindMetrics": ...}`; both segments percent-encoded, `/` as `%2F`).
    pub async fn put_kind_metrics(
        &self,
        ingest_url: &str,
        event_id: &str,
        kind_identifier: &str,
        metrics: &Value,
    ) -> Result<(), PortError> {
        let inner = &self.inner;
        let target = inner.absolute(
            ingest_url,
            &["syncMetrics", "resync", event_id, "kind", kind_identifier],
        )?;
        let call = Call::new(Method::PUT, target).json(&json!({ "syncKindMetrics": metrics }))?;
        inner.execute(&call).await?.success().map(|_| ())
    }

    /// Sends the liveness heartbeat of a running resync (G4: `POST {ingestUrl}/heartbeat` with
    /// `{"eventId": ...}`).
    pub async fn post_heartbeat(&self, ingest_url: &str, event_id: &str) -> Result<(), PortError> {
        let inner = &self.inner;
        let call = Call::new(Method::POST, inner.absolute(ingest_url, &["heartbeat"])?)
            .harmless_to_repeat()
            .json(&json!({ "eventId": event_id }))?;
        inner.execute(&call).await?.success().map(|_| ())
    }
}
