//! Blueprints (`docs/port-api.md` §4.4, B1–B5) and the default resources created next to them
//! (§4.5: actions, scorecards, pages).
//!
//! Blueprint reads are cached per requested identifier for `blueprint_cache_ttl`; failures are
//! not cached, and a create, patch or delete of a blueprint drops its entry. Bodies of writes are
//! passed through as JSON: the files in `.port/resources` are Port's format already, and the
//! staging of blueprint creation is the lifecycle's business.

use std::time::Instant;

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use crate::client::PortClient;
use crate::config::UserAgentFeature;
use crate::entities::EventInfo;
use crate::error::PortError;
use crate::transport::{Call, Reply};
use crate::types::Blueprint;

#[derive(Deserialize)]
struct BlueprintEnvelope {
    #[serde(default)]
    blueprint: Option<Value>,
}

fn blueprint_json(reply: &Reply) -> Result<Value, PortError> {
    match reply.json::<BlueprintEnvelope>()?.blueprint {
        Some(raw @ Value::Object(_)) => Ok(raw),
        _ => Err(reply.decode_error("the answer has no `blueprint` object")),
    }
}

impl PortClient {
    /// Reads a blueprint (B1: `GET /blueprints/{id}`), from the cache when fresh. `Ok(None)`
    /// when Port answers 404.
    pub async fn get_blueprint(&self, identifier: &str) -> Result<Option<Blueprint>, PortError> {
        let inner = &self.inner;
        let ttl = inner.config.blueprint_cache_ttl;
        {
            let cache = inner
                .blueprint_cache
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some((at, blueprint)) = cache.get(identifier) {
                if at.elapsed() < ttl {
                    return Ok(Some(blueprint.clone()));
                }
            }
        }
        let call = Call::new(Method::GET, inner.api(&["blueprints", identifier]));
        let reply = inner.execute(&call).await?;
        if reply.status.as_u16() == 404 {
            return Ok(None);
        }
        let reply = reply.success()?;
        let blueprint = Blueprint::from_value(blueprint_json(&reply)?)
            .map_err(|e| reply.decode_error(&format!("the blueprint does not parse: {e}")))?;
        inner
            .blueprint_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(identifier.to_owned(), (Instant::now(), blueprint.clone()));
        Ok(Some(blueprint))
    }

    /// Empties the blueprint cache (the lifecycle does at resync start and end).
    pub fn clear_blueprint_cache(&self) {
        self.inner
            .blueprint_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    fn forget_blueprint(&self, identifier: &str) {
        self.inner
            .blueprint_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(identifier);
    }

    /// Creates a blueprint (B2: `POST /blueprints`, as the exporter) and returns Port's JSON.
    pub async fn create_blueprint(&self, blueprint: &Value) -> Result<Value, PortError> {
        let inner = &self.inner;
        let call = Call::new(Method::POST, inner.api(&["blueprints"]))
            .feature(Some(UserAgentFeature::Exporter))
            .json(blueprint)?;
        let reply = inner.execute(&call).await?.success()?;
        let created = blueprint_json(&reply)?;
        if let Some(id) = created.get("identifier").and_then(Value::as_str) {
            self.forget_blueprint(id);
        }
        Ok(created)
    }

    /// Patches a blueprint (B3: `PATCH /blueprints/{id}`, as the exporter).
    pub async fn patch_blueprint(
        &self,
        identifier: &str,
        blueprint: &Value,
    ) -> Result<(), PortError> {
        let inner = &self.inner;
        let call = Call::new(Method::PATCH, inner.api(&["blueprints", identifier]))
            .feature(Some(UserAgentFeature::Exporter))
            .json(blueprint)?;
        let result = inner.execute(&call).await?.success();
        self.forget_blueprint(identifier);
        result.map(|_| ())
    }

    /// Deletes a blueprint without its entities (B4: `DELETE /blueprints/{id}`).
    pub async fn delete_blueprint(&self, identifier: &str) -> Result<(), PortError> {
        let inner = &self.inner;
        let call = Call::new(Method::DELETE, inner.api(&["blueprints", identifier]))
            .feature(Some(UserAgentFeature::Exporter));
        let result = inner.execute(&call).await?.success();
        self.forget_blueprint(identifier);
        result.map(|_| ())
    }

    /// Deletes a blueprint and all its entities (B5:
    /// `DELETE /blueprints/{id}/all-entities?delete_blueprint=true`). Returns the migration id
    /// to follow with [`PortClient::wait_for_migration`], if Port gave one.
    pub async fn delete_blueprint_with_entities(
        &self,
        identifier: &str,
        event: Option<&EventInfo>,
    ) -> Result<Option<String>, PortError> {
        let inner = &self.inner;
        let mut params = vec![("delete_blueprint", "true".to_owned())];
        if let Some(event) = event {
            params.extend(event.query_params());
        }
        let call = Call::new(
            Method::DELETE,
            inner.api(&["blueprints", identifier, "all-entities"]),
        )
        .query(&params);
        let result = inner.execute(&call).await?.success();
        self.forget_blueprint(identifier);
        let reply = result?;
        let body: Value = reply.json()?;
        Ok(body
            .get("migrationId")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned))
    }

    /// Creates an action (B8: `POST /actions`) from an element of `actions.json`.
    pub async fn create_action(&self, action: &Value) -> Result<(), PortError> {
        let inner = &self.inner;
        let call = Call::new(Method::POST, inner.api(&["actions"])).json(action)?;
        inner.execute(&call).await?.success().map(|_| ())
    }

    /// Creates a scorecard on a blueprint (B6: `POST /blueprints/{bp}/scorecards`).
    pub async fn create_scorecard(
        &self,
        blueprint: &str,
        scorecard: &Value,
    ) -> Result<(), PortError> {
        let inner = &self.inner;
        let call = Call::new(
            Method::POST,
            inner.api(&["blueprints", blueprint, "scorecards"]),
        )
        .json(scorecard)?;
        inner.execute(&call).await?.success().map(|_| ())
    }

    /// Creates a page (B7: `POST /pages`) from an element of `pages.json`.
    pub async fn create_page(&self, page: &Value) -> Result<(), PortError> {
        let inner = &self.inner;
        let call = Call::new(Method::POST, inner.api(&["pages"])).json(page)?;
        inner.execute(&call).await?.success().map(|_| ())
    }

    /// Deletes a page (B7: `DELETE /pages/{id}`).
    pub async fn delete_page(&self, identifier: &str) -> Result<(), PortError> {
        let inner = &self.inner;
        let call = Call::new(Method::DELETE, inner.api(&["pages", identifier]));
        inner.execute(&call).await?.success().map(|_| ())
    }
}
