//! The organization and its side resources (`docs/port-api.md` §4.6): the organization record
//! (id, feature flags, blocked state; cached), Kafka credentials, migrations and probe reports.
//!
//! Organization secrets (O3) are not here: no framework flow uses them.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use crate::client::PortClient;
use crate::error::PortError;
use crate::transport::Call;
use crate::types::{KafkaCredentials, Migration, Organization};

impl PortClient {
    /// Reads the organization (O1: `GET /organization`), from the cache when it is younger than
    /// `organization_cache_ttl`. Only a successful, non-empty answer is cached.
    pub async fn organization(&self) -> Result<Organization, PortError> {
        let inner = &self.inner;
        {
            let cache = inner
                .organization_cache
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some((at, org)) = cache.as_ref() {
                if at.elapsed() < inner.config.organization_cache_ttl {
                    return Ok(org.clone());
                }
            }
        }
        let (org, empty) = self.fetch_organization().await?;
        if !empty {
            *inner
                .organization_cache
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), org.clone()));
        }
        Ok(org)
    }

    /// Reads the organization without the cache (what `get_org_id` does).
    pub async fn organization_fresh(&self) -> Result<Organization, PortError> {
        self.fetch_organization().await.map(|(org, _)| org)
    }

    /// The organization id (uncached).
    pub async fn organization_id(&self) -> Result<String, PortError> {
        let org = self.organization_fresh().await?;
        org.id.ok_or_else(|| PortError::Decode {
            method: Method::GET,
            path: "/organization".into(),
            message: "the organization has no `id`".into(),
            body: String::new(),
        })
    }

    /// The organization's feature flags (cached with the organization).
    pub async fn feature_flags(&self) -> Result<Vec<String>, PortError> {
        Ok(self.organization().await?.feature_flags)
    }

    async fn fetch_organization(&self) -> Result<(Organization, bool), PortError> {
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default)]
            organization: Option<Value>,
        }
        let inner = &self.inner;
        let call = Call::new(Method::GET, inner.api(&["organization"]));
        let reply = inner.execute(&call).await?.success()?;
        let raw = reply.json::<Answer>()?.organization.unwrap_or(Value::Null);
        let empty = !matches!(&raw, Value::Object(map) if !map.is_empty());
        if empty {
            return Ok((Organization::default(), true));
        }
        let mut org: Organization = serde_json::from_value(raw.clone())
            .map_err(|e| reply.decode_error(&format!("the organization does not parse: {e}")))?;
        org.raw = raw;
        Ok((org, false))
    }

    /// The organization's Kafka credentials (O2: `GET /kafka-credentials`); missing
    /// `credentials` is an error.
    pub async fn kafka_credentials(&self) -> Result<KafkaCredentials, PortError> {
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default)]
            credentials: Option<KafkaCredentials>,
        }
        let inner = &self.inner;
        let call = Call::new(Method::GET, inner.api(&["kafka-credentials"]));
        let reply = inner.execute(&call).await?.success()?;
        reply
            .json::<Answer>()?
            .credentials
            .ok_or_else(|| reply.decode_error("no Kafka credentials in the answer"))
    }

    /// Reads a migration (M1: `GET /migrations/{id}`).
    pub async fn get_migration(&self, id: &str) -> Result<Migration, PortError> {
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default)]
            migration: Option<Value>,
        }
        let inner = &self.inner;
        let call = Call::new(Method::GET, inner.api(&["migrations", id]));
        let reply = inner.execute(&call).await?.success()?;
        let raw = reply
            .json::<Answer>()?
            .migration
            .ok_or_else(|| reply.decode_error("the answer has no `migration`"))?;
        let mut migration: Migration = serde_json::from_value(raw.clone())
            .map_err(|e| reply.decode_error(&format!("the migration does not parse: {e}")))?;
        migration.raw = raw;
        Ok(migration)
    }

    /// Reads a migration every `interval` (Python Ocean: 5 s) until it is no longer running,
    /// and returns its final state.
    pub async fn wait_for_migration(
        &self,
        id: &str,
        interval: Duration,
    ) -> Result<Migration, PortError> {
        loop {
            let migration = self.get_migration(id).await?;
            if !migration.is_in_progress() {
                return Ok(migration);
            }
            tokio::time::sleep(interval).await;
        }
    }

    /// Sends a probe report (P1: `PATCH /org/{org}/integration/probe/{probe}`); `report` is the
    /// report without its `probeId`.
    pub async fn patch_probe_result(
        &self,
        organization_id: &str,
        probe_id: &str,
        report: &Value,
    ) -> Result<(), PortError> {
        let inner = &self.inner;
        let call = Call::new(
            Method::PATCH,
            inner.api(&["org", organization_id, "integration", "probe", probe_id]),
        )
        .json(report)?;
        inner.execute(&call).await?.success().map(|_| ())
    }
}
