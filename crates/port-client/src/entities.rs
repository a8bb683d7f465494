//! Entities (`docs/port-api.md` §4.3, calls E1–E6): bulk upsert with Python Ocean's chunking and
//! per-entity results, the single upsert it falls back to on 413, bulk and single delete,
//! listing the integration's own entities for stale detection, and searching them.
//!
//! Results are data, not errors: a bulk upsert returns one [`UpsertOutcome`] per entity (failed
//! chunks included), and a bulk delete reports what was deleted alongside the batch errors. The
//! lifecycle decides what a failure means for the resync. What to upsert, the changed-entity
//! filter and the ordering of deletions are the lifecycle's too.

use std::collections::HashMap;

use futures::StreamExt;
use futures::future::join_all;
use ocean_model::{Entity, EntityKey};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::batch::bulk_chunks;
use crate::client::PortClient;
use crate::config::UserAgentFeature;
use crate::error::PortError;
use crate::pyfmt::python_isoformat;
use crate::transport::{Call, Reply};

/// Entities per page when listing the integration's own entities. Python Ocean asks for 5000;
/// Port answers with whole entities, so a 5000-entity page held in memory was the largest
/// allocation of a resync of an unchanged catalog (measured on the GitHub benchmark: peak RSS
/// 45 → 38.5 MiB with 1000). Fewer requests matter less than that: one per 1000 entities.
pub const DATASOURCE_PAGE_SIZE: u64 = 1000;

/// Identifiers per [`PortClient::search_by_identifiers`] call, as in Python Ocean.
pub const SEARCH_IDENTIFIERS_CHUNK: usize = 50;

/// What kind of work a request belongs to; sent as `ocean_info_event_type` on entity writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// A full resync (also sends `ocean_info_resync_id`).
    Resync,
    /// A live event (webhook).
    HttpRequest,
    /// An action run.
    ActionRun,
    /// An incremental resync.
    IncrementalResync,
    /// Startup hooks.
    Start,
    /// A probe.
    OnProbe,
}

impl EventType {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Resync => "resync",
            EventType::HttpRequest => "http_request",
            EventType::ActionRun => "action_run",
            EventType::IncrementalResync => "incremental_resync",
            EventType::Start => "start",
            EventType::OnProbe => "on_probe",
        }
    }
}

/// The event a write happens in (`docs/port-api.md` §1.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventInfo {
    /// The event type.
    pub event_type: EventType,
    /// The event's UUID.
    pub id: String,
}

impl EventInfo {
    /// A resync event with its id.
    pub fn resync(id: impl Into<String>) -> Self {
        EventInfo {
            event_type: EventType::Resync,
            id: id.into(),
        }
    }

    /// The `ocean_info_*` query parameters: the type always, the id only for resyncs.
    pub fn query_params(&self) -> Vec<(&'static str, String)> {
        let mut params = vec![("ocean_info_event_type", self.event_type.as_str().to_owned())];
        if self.event_type == EventType::Resync {
            params.push(("ocean_info_resync_id", self.id.clone()));
        }
        params
    }
}

/// How entities are upserted (from the port-app-config) and in which event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpsertOptions {
    /// `merge` (`enableMergeEntity`, default true).
    pub merge: bool,
    /// `create_missing_related_entities` (default true).
    pub create_missing_related_entities: bool,
    /// `validation_only` (always false in framework flows).
    pub validation_only: bool,
    /// The event the write belongs to, if any.
    pub event: Option<EventInfo>,
    /// The User-Agent feature; `Exporter` by default, which makes the integration the owner.
    pub feature: Option<UserAgentFeature>,
}

impl Default for UpsertOptions {
    fn default() -> Self {
        UpsertOptions {
            merge: true,
            create_missing_related_entities: true,
            validation_only: false,
            event: None,
            feature: Some(UserAgentFeature::Exporter),
        }
    }
}

impl UpsertOptions {
    /// The query string of an upsert, in Python Ocean's order.
    pub fn query_params(&self) -> Vec<(&'static str, String)> {
        let mut params = vec![
            ("upsert", "true".to_owned()),
            ("merge", self.merge.to_string()),
            (
                "create_missing_related_entities",
                self.create_missing_related_entities.to_string(),
            ),
            ("validation_only", self.validation_only.to_string()),
        ];
        if let Some(event) = &self.event {
            params.extend(event.query_params());
        }
        params
    }
}

/// How entities are deleted and in which event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteOptions {
    /// `delete_dependents` (`deleteDependentEntities`, default true).
    pub delete_dependents: bool,
    /// The event the deletion belongs to, if any.
    pub event: Option<EventInfo>,
    /// The User-Agent feature (`Exporter` by default).
    pub feature: Option<UserAgentFeature>,
}

impl Default for DeleteOptions {
    fn default() -> Self {
        DeleteOptions {
            delete_dependents: true,
            event: None,
            feature: Some(UserAgentFeature::Exporter),
        }
    }
}

impl DeleteOptions {
    /// The query string of a delete.
    pub fn query_params(&self) -> Vec<(&'static str, String)> {
        let mut params = vec![("delete_dependents", self.delete_dependents.to_string())];
        if let Some(event) = &self.event {
            params.extend(event.query_params());
        }
        params
    }
}

/// What happened to one entity of a bulk upsert.
#[derive(Clone, Debug, PartialEq)]
pub enum UpsertOutcome {
    /// Port stored it, under this identifier (the resolved one for a search identifier).
    Upserted {
        /// The identifier Port returned.
        identifier: Value,
    },
    /// Its search identifier matched nothing (Port reported identifier `"unknown"`): dropped,
    /// neither success nor failure.
    SearchIdentifierMiss,
    /// It was not stored.
    Failed(UpsertFailure),
}

impl UpsertOutcome {
    /// Whether Port stored the entity.
    pub fn is_upserted(&self) -> bool {
        matches!(self, UpsertOutcome::Upserted { .. })
    }

    /// Whether the entity failed.
    pub fn is_failed(&self) -> bool {
        matches!(self, UpsertOutcome::Failed(_))
    }
}

/// Why an entity was not stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpsertFailure {
    /// The status Port gave (the entity's `statusCode`, or the whole request's), if any.
    pub status: Option<u16>,
    /// Port's message, or the request error.
    pub message: String,
    /// Whether the entity itself, its whole request, or its blueprint was the problem.
    pub cause: FailureCause,
}

/// What made Port refuse an entity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureCause {
    /// Port refused this entity (its own error in a bulk answer, or its single upsert).
    Entity,
    /// The whole request failed (after retries); every entity of it shares the error.
    Request,
    /// The blueprint does not exist in Port: the bulk route answered 404 `not_found`.
    MissingBlueprint,
}

impl UpsertFailure {
    fn entity(status: Option<u16>, message: impl Into<String>) -> Self {
        UpsertFailure {
            status,
            message: message.into(),
            cause: FailureCause::Entity,
        }
    }
}

/// What a single upsert (E1) returned.
#[derive(Clone, Debug, PartialEq)]
pub enum SingleUpsert {
    /// Stored; the entity as Port returned it (or as sent, when Port returned none).
    Upserted(Box<Entity>),
    /// Port returned the identifier still as a search query: nothing matched.
    SearchIdentifierUnresolved,
    /// Port answered 404 `not_found`: a related entity it needs does not exist yet.
    UnmetDependency,
}

/// What a single delete (E3) found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// The entity was deleted.
    Deleted,
    /// Port answered 404: it was already gone.
    NotFound,
}

/// What a bulk delete did: the identifiers Port deleted (partial success is normal) and the
/// errors of batches that failed as a whole.
#[derive(Debug, Default)]
pub struct BulkDeleteReport {
    /// Identifiers Port reported in `deletedEntities`.
    pub deleted: Vec<String>,
    /// One error per failed batch.
    pub errors: Vec<PortError>,
}

/// The body of a bulk upsert.
#[derive(Serialize)]
pub(crate) struct BulkBody<'a> {
    pub(crate) entities: &'a [&'a Entity],
}

/// The answer of a bulk upsert (200 or 207).
#[derive(Deserialize)]
struct BulkAnswer {
    #[serde(default)]
    entities: Option<Vec<BulkSuccess>>,
    #[serde(default)]
    errors: Option<Vec<BulkError>>,
}

#[derive(Deserialize)]
struct BulkSuccess {
    index: usize,
    #[serde(default)]
    identifier: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkError {
    index: usize,
    #[serde(default)]
    identifier: Value,
    #[serde(default)]
    status_code: Option<u16>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// The blueprint of an entity as a URL segment (a string as it is, anything else as JSON).
fn blueprint_of(entity: &Entity) -> String {
    match &entity.blueprint {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Maps a bulk answer onto the chunk's entities by `index`.
fn outcomes_from_answer(len: usize, answer: BulkAnswer) -> Vec<UpsertOutcome> {
    let missing = || {
        UpsertOutcome::Failed(UpsertFailure::entity(
            None,
            "Port reported no result for this entity",
        ))
    };
    let mut outcomes: Vec<Option<UpsertOutcome>> = vec![None; len];
    for error in answer.errors.unwrap_or_default() {
        let Some(slot) = outcomes.get_mut(error.index) else {
            continue;
        };
        *slot = Some(if error.identifier == json!("unknown") {
            UpsertOutcome::SearchIdentifierMiss
        } else {
            UpsertOutcome::Failed(UpsertFailure::entity(
                error.status_code,
                error
                    .message
                    .or(error.error)
                    .unwrap_or_else(|| "Port reported an error without a message".into()),
            ))
        });
    }
    // A success wins over an error for the same index, as in Python Ocean.
    for success in answer.entities.unwrap_or_default() {
        if let Some(slot) = outcomes.get_mut(success.index) {
            *slot = Some(UpsertOutcome::Upserted {
                identifier: success.identifier,
            });
        }
    }
    outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(missing))
        .collect()
}

fn all_failed(len: usize, error: &PortError) -> Vec<UpsertOutcome> {
    let failure = UpsertFailure {
        status: error.status(),
        message: error.to_string(),
        cause: FailureCause::Request,
    };
    vec![UpsertOutcome::Failed(failure); len]
}

/// Port's `{"error": …, "message": …}` body of an error answer.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// The failure of every entity of a bulk request Port answered with an error status: a 404
/// `not_found` on the bulk route means the blueprint does not exist.
fn request_refused(len: usize, reply: &Reply) -> Vec<UpsertOutcome> {
    let body: Option<ErrorBody> = reply.json().ok();
    let not_found = reply.status.as_u16() == 404
        && body
            .as_ref()
            .is_some_and(|b| b.error.as_deref() == Some("not_found"));
    if !not_found {
        return all_failed(len, &reply.http_error());
    }
    let failure = UpsertFailure {
        status: Some(404),
        message: body
            .and_then(|b| b.message)
            .unwrap_or_else(|| "the blueprint was not found".into()),
        cause: FailureCause::MissingBlueprint,
    };
    vec![UpsertOutcome::Failed(failure); len]
}

impl PortClient {
    /// Upserts entities of any blueprints: grouped by blueprint in first-seen order, groups one
    /// after another, each through [`PortClient::upsert_entities_bulk`]. Outcomes are in input
    /// order.
    pub async fn upsert_entities(
        &self,
        entities: &[Entity],
        options: &UpsertOptions,
    ) -> Vec<UpsertOutcome> {
        let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
        let mut group_of: HashMap<String, usize> = HashMap::new();
        for (i, entity) in entities.iter().enumerate() {
            let blueprint = blueprint_of(entity);
            let g = *group_of.entry(blueprint.clone()).or_insert_with(|| {
                groups.push((blueprint, Vec::new()));
                groups.len() - 1
            });
            groups[g].1.push(i);
        }
        let mut outcomes: Vec<Option<UpsertOutcome>> = vec![None; entities.len()];
        for (blueprint, indexes) in groups {
            let group: Vec<&Entity> = indexes.iter().map(|&i| &entities[i]).collect();
            let results = self.upsert_group(&blueprint, &group, options).await;
            for (i, outcome) in indexes.into_iter().zip(results) {
                outcomes[i] = Some(outcome);
            }
        }
        outcomes.into_iter().flatten().collect()
    }

    /// Upserts entities of one blueprint (E2): split into chunks by count and estimated size
    /// (§4.3.2), never a request body over the byte budget ([`crate::batch::bulk_chunks`]),
    /// chunks sent concurrently (at most `bulk_upsert_concurrency` at once). A chunk answered 413
    /// is retried entity by entity (E1); any other failure of a chunk marks all its entities
    /// failed. One outcome per entity, in input order.
    pub async fn upsert_entities_bulk(
        &self,
        blueprint: &str,
        entities: &[Entity],
        options: &UpsertOptions,
    ) -> Vec<UpsertOutcome> {
        let refs: Vec<&Entity> = entities.iter().collect();
        self.upsert_group(blueprint, &refs, options).await
    }

    async fn upsert_group(
        &self,
        blueprint: &str,
        entities: &[&Entity],
        options: &UpsertOptions,
    ) -> Vec<UpsertOutcome> {
        if entities.is_empty() {
            return Vec::new();
        }
        let inner = &self.inner;
        // The chunk futures are built before they are streamed: a closure over borrowed chunks
        // inside the stream combinator would make this future impossible to prove `Send`.
        let chunks: Vec<_> = bulk_chunks(entities, &inner.config.bulk_limits)
            .into_iter()
            .map(|chunk| self.upsert_chunk(blueprint, chunk, options))
            .collect();
        let outcomes: Vec<UpsertOutcome> = futures::stream::iter(chunks)
            .buffered(inner.config.bulk_upsert_concurrency.max(1))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .flatten()
            .collect();
        inner
            .counters
            .upserted(outcomes.iter().filter(|o| o.is_upserted()).count());
        inner
            .counters
            .failed(outcomes.iter().filter(|o| o.is_failed()).count());
        outcomes
    }

    async fn upsert_chunk(
        &self,
        blueprint: &str,
        chunk: &[&Entity],
        options: &UpsertOptions,
    ) -> Vec<UpsertOutcome> {
        let inner = &self.inner;
        let call = Call::new(
            Method::POST,
            inner.api(&["blueprints", blueprint, "entities", "bulk"]),
        )
        .harmless_to_repeat()
        .feature(options.feature)
        .query(&options.query_params())
        .json(&BulkBody { entities: chunk });
        let reply = match call {
            Ok(call) => inner.execute(&call).await,
            Err(e) => Err(e),
        };
        let reply = match reply {
            Ok(reply) => reply,
            Err(error) => {
                tracing::debug!(blueprint, entities = chunk.len(), %error, "Bulk upsert failed");
                return all_failed(chunk.len(), &error);
            }
        };
        if reply.status.as_u16() == 413 {
            tracing::warn!(
                blueprint,
                entities = chunk.len(),
                "Port found the bulk request too large (413); upserting its entities one by one"
            );
            let singles = chunk.iter().map(|entity| self.send_single(entity, options));
            return join_all(singles)
                .await
                .into_iter()
                .map(|result| match result {
                    Ok(SingleUpsert::Upserted(e)) => UpsertOutcome::Upserted {
                        identifier: e.identifier,
                    },
                    Ok(SingleUpsert::SearchIdentifierUnresolved) => {
                        UpsertOutcome::SearchIdentifierMiss
                    }
                    Ok(SingleUpsert::UnmetDependency) => UpsertOutcome::Failed(
                        UpsertFailure::entity(Some(404), "a related entity does not exist"),
                    ),
                    Err(error) => UpsertOutcome::Failed(UpsertFailure::entity(
                        error.status(),
                        error.to_string(),
                    )),
                })
                .collect();
        }
        if !reply.is_success() {
            tracing::debug!(
                blueprint,
                entities = chunk.len(),
                error = %reply.http_error(),
                "Bulk upsert failed"
            );
            return request_refused(chunk.len(), &reply);
        }
        let outcomes = match reply.json::<BulkAnswer>() {
            Ok(answer) => outcomes_from_answer(chunk.len(), answer),
            Err(error) => {
                tracing::error!(blueprint, %error, "Bulk upsert answer could not be read");
                return all_failed(chunk.len(), &error);
            }
        };
        log_entity_failures(blueprint, chunk, &outcomes);
        outcomes
    }

    /// Upserts one entity (E1). `Err` for any HTTP error other than the 404 `not_found` that
    /// means an unmet dependency (Python Ocean, called with `should_raise=False`, counts such
    /// errors as success; the caller can choose to).
    pub async fn upsert_entity(
        &self,
        entity: &Entity,
        options: &UpsertOptions,
    ) -> Result<SingleUpsert, PortError> {
        let result = self.send_single(entity, options).await;
        match &result {
            Ok(SingleUpsert::Upserted(_)) => self.inner.counters.upserted(1),
            Ok(SingleUpsert::UnmetDependency) | Err(_) => self.inner.counters.failed(1),
            Ok(SingleUpsert::SearchIdentifierUnresolved) => {}
        }
        result
    }

    async fn send_single(
        &self,
        entity: &Entity,
        options: &UpsertOptions,
    ) -> Result<SingleUpsert, PortError> {
        let inner = &self.inner;
        let _slot = inner.entity_writes.acquire().await.ok();
        let blueprint = blueprint_of(entity);
        let call = Call::new(
            Method::POST,
            inner.api(&["blueprints", &blueprint, "entities"]),
        )
        .harmless_to_repeat()
        .feature(options.feature)
        .query(&options.query_params())
        .json(entity)?;
        let reply = inner.execute(&call).await?;
        if !reply.is_success() {
            if reply.status.as_u16() == 404 {
                let body: Value = reply.json().unwrap_or(Value::Null);
                let ok = body.get("ok").and_then(Value::as_bool).unwrap_or(false);
                if !ok && body.get("error") == Some(&json!("not_found")) {
                    return Ok(SingleUpsert::UnmetDependency);
                }
            }
            return Err(reply.http_error());
        }
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default)]
            entity: Option<Entity>,
        }
        let stored = reply
            .json::<Answer>()?
            .entity
            .unwrap_or_else(|| entity.clone());
        if stored.identifier.is_object() {
            Ok(SingleUpsert::SearchIdentifierUnresolved)
        } else {
            Ok(SingleUpsert::Upserted(Box::new(stored)))
        }
    }

    /// Deletes entities of one blueprint (E4): batches of at most 100 identifiers, all batches
    /// concurrently (sharing the entity-write gate), `{"entities": [...]}` to
    /// `/blueprints/{bp}/bulk/entities/delete`. Never fails as a whole; see the report.
    pub async fn delete_entities_bulk<S: AsRef<str> + Sync>(
        &self,
        blueprint: &str,
        identifiers: &[S],
        options: &DeleteOptions,
    ) -> BulkDeleteReport {
        let mut report = BulkDeleteReport::default();
        if identifiers.is_empty() {
            return report;
        }
        let size = self
            .inner
            .config
            .delete_batch_size
            .clamp(1, crate::config::MAX_DELETE_BATCH);
        let batches = identifiers
            .chunks(size)
            .map(|batch| self.delete_batch(blueprint, batch, options));
        for result in join_all(batches).await {
            match result {
                Ok(deleted) => report.deleted.extend(deleted),
                Err(error) => {
                    tracing::error!(blueprint, %error, "Bulk delete of a batch failed");
                    report.errors.push(error);
                }
            }
        }
        self.inner.counters.deleted(report.deleted.len());
        report
    }

    async fn delete_batch<S: AsRef<str>>(
        &self,
        blueprint: &str,
        batch: &[S],
        options: &DeleteOptions,
    ) -> Result<Vec<String>, PortError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Answer {
            #[serde(default)]
            deleted_entities: Option<Vec<String>>,
        }
        let inner = &self.inner;
        let _slot = inner.entity_writes.acquire().await.ok();
        let ids: Vec<&str> = batch.iter().map(AsRef::as_ref).collect();
        let call = Call::new(
            Method::POST,
            inner.api(&["blueprints", blueprint, "bulk", "entities", "delete"]),
        )
        .harmless_to_repeat()
        .feature(options.feature)
        .query(&options.query_params())
        .json(&json!({ "entities": ids }))?;
        let reply = inner.execute(&call).await?.success()?;
        Ok(reply.json::<Answer>()?.deleted_entities.unwrap_or_default())
    }

    /// Deletes one entity (E3: `DELETE /blueprints/{bp}/entities/{id}`); 404 is
    /// [`DeleteOutcome::NotFound`], not an error.
    pub async fn delete_entity(
        &self,
        blueprint: &str,
        identifier: &str,
        options: &DeleteOptions,
    ) -> Result<DeleteOutcome, PortError> {
        let inner = &self.inner;
        let _slot = inner.entity_writes.acquire().await.ok();
        let call = Call::new(
            Method::DELETE,
            inner.api(&["blueprints", blueprint, "entities", identifier]),
        )
        .feature(options.feature)
        .query(&options.query_params());
        let reply = inner.execute(&call).await?;
        if reply.status.as_u16() == 404 {
            tracing::info!(
                blueprint,
                identifier,
                "Entity was already deleted from Port"
            );
            return Ok(DeleteOutcome::NotFound);
        }
        reply.success()?;
        inner.counters.deleted(1);
        Ok(DeleteOutcome::Deleted)
    }

    /// Every entity this integration's exporter owns (E5), for stale-entity detection: entities
    /// whose datasource starts with `port-ocean/{type}/` and ends with `/{identifier}/exporter`,
    /// last updated before `before` (the resync start) when given.
    pub async fn list_own_entities(
        &self,
        before: Option<OffsetDateTime>,
    ) -> Result<Vec<EntityKey>, PortError> {
        self.list_datasource_entities(UserAgentFeature::Exporter, before)
            .await
    }

    /// [`list_own_entities`](Self::list_own_entities) one key at a time, page by page, without
    /// collecting them: memory stays one page whatever the catalog's size (reconciliation keeps
    /// only the stale ones). Returns how many were listed.
    pub async fn for_each_own_entity(
        &self,
        before: Option<OffsetDateTime>,
        visit: impl FnMut(EntityKey),
    ) -> Result<usize, PortError> {
        self.visit_datasource_entities(UserAgentFeature::Exporter, before, visit)
            .await
    }

    /// Every entity written by this integration as `feature` (E5:
    /// `POST /blueprints/entities/datasource-entities`, [`DATASOURCE_PAGE_SIZE`] per page,
    /// following `next`).
    pub async fn list_datasource_entities(
        &self,
        feature: UserAgentFeature,
        before: Option<OffsetDateTime>,
    ) -> Result<Vec<EntityKey>, PortError> {
        let mut keys = Vec::new();
        self.visit_datasource_entities(feature, before, |key| keys.push(key))
            .await?;
        Ok(keys)
    }

    /// [`list_datasource_entities`](Self::list_datasource_entities), each key handed to
    /// `visit` as its page arrives; returns how many there were.
    pub async fn visit_datasource_entities(
        &self,
        feature: UserAgentFeature,
        before: Option<OffsetDateTime>,
        mut visit: impl FnMut(EntityKey),
    ) -> Result<usize, PortError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            entities: Option<Vec<KeyOnly>>,
            #[serde(default)]
            next: Option<Value>,
        }
        #[derive(Deserialize)]
        struct KeyOnly {
            #[serde(default)]
            identifier: Value,
            #[serde(default)]
            blueprint: Value,
        }
        let inner = &self.inner;
        let identity = &inner.config.identity;
        let mut body = serde_json::Map::new();
        body.insert(
            "datasource_prefix".into(),
            json!(identity.datasource_prefix()),
        );
        body.insert(
            "datasource_suffix".into(),
            json!(identity.datasource_suffix(feature)),
        );
        body.insert("limit".into(), json!(DATASOURCE_PAGE_SIZE));
        if let Some(before) = before {
            body.insert("before".into(), json!(python_isoformat(before)));
        }
        let mut listed = 0;
        let mut cursor: Option<String> = None;
        loop {
            if let Some(from) = &cursor {
                body.insert("from".into(), json!(from));
            }
            let call = Call::new(
                Method::POST,
                inner.api(&["blueprints", "entities", "datasource-entities"]),
            )
            .harmless_to_repeat()
            .feature(Some(feature))
            .json(&body)?;
            let reply = inner.execute(&call).await?.success()?;
            let page: Page = reply.json()?;
            for e in page.entities.unwrap_or_default() {
                listed += 1;
                visit(EntityKey::new(&e.blueprint, &e.identifier));
            }
            let next = match page.next {
                Some(Value::String(s)) if !s.is_empty() => Some(s),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            };
            match next {
                None => return Ok(listed),
                Some(next) if cursor.as_deref() == Some(next.as_str()) => {
                    return Err(reply.decode_error(
                        "Port returned the same page cursor twice; stopping to avoid a loop",
                    ));
                }
                Some(next) => cursor = Some(next),
            }
        }
    }

    /// This integration's copies of entities of one blueprint, by identifier (E6 with an `in`
    /// rule on `$identifier` and an `=` rule on `$blueprint`): the changed-entity filter and live
    /// deletions read what Port holds with it. `include` lists the fields to return. Callers
    /// send at most [`SEARCH_IDENTIFIERS_CHUNK`] identifiers at once, as Python Ocean does.
    pub async fn search_by_identifiers(
        &self,
        blueprint: &Value,
        identifiers: &[&Value],
        include: &[&str],
        feature: UserAgentFeature,
    ) -> Result<Vec<Entity>, PortError> {
        let query = json!({
            "combinator": "and",
            "rules": [
                {"property": "$identifier", "operator": "in", "value": identifiers},
                {"property": "$blueprint", "operator": "=", "value": blueprint},
            ],
        });
        self.search_entities(&query, include, feature).await
    }

    /// Searches this integration's entities (E6: `POST /entities/search`). When the query has a
    /// non-empty top-level `rules` list, the two datasource rules of `feature` are appended to
    /// it. `include` lists the fields to return; `blueprint` and `identifier` are always added
    /// (entities cannot be read without them).
    pub async fn search_entities(
        &self,
        query: &Value,
        include: &[&str],
        feature: UserAgentFeature,
    ) -> Result<Vec<Entity>, PortError> {
        #[derive(Deserialize)]
        struct Answer {
            entities: Vec<Entity>,
        }
        let inner = &self.inner;
        let identity = &inner.config.identity;
        let mut query = query.clone();
        if let Some(Value::Array(rules)) = query.get_mut("rules") {
            if !rules.is_empty() {
                rules.push(json!({
                    "property": "$datasource",
                    "operator": "contains",
                    "value": identity.datasource_prefix(),
                }));
                rules.push(json!({
                    "property": "$datasource",
                    "operator": "contains",
                    "value": identity.datasource_suffix(feature),
                }));
            }
        }
        let mut params = vec![("exclude_calculated_properties", "true")];
        for required in ["blueprint", "identifier"] {
            if !include.contains(&required) {
                params.push(("include", required));
            }
        }
        params.extend(include.iter().map(|field| ("include", *field)));
        let call = Call::new(Method::POST, inner.api(&["entities", "search"]))
            .harmless_to_repeat()
            .feature(Some(feature))
            .query(&params)
            .json(&query)?;
        let reply = inner.execute(&call).await?.success()?;
        Ok(reply.json::<Answer>()?.entities)
    }
}

/// Logs up to five per-entity failures of a bulk answer (at debug: the caller reports failures
/// grouped by reason).
fn log_entity_failures(blueprint: &str, chunk: &[&Entity], outcomes: &[UpsertOutcome]) {
    let failed: Vec<(usize, &UpsertFailure)> = outcomes
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match o {
            UpsertOutcome::Failed(f) => Some((i, f)),
            _ => None,
        })
        .collect();
    if failed.is_empty() {
        return;
    }
    let sample: Vec<String> = failed
        .iter()
        .take(5)
        .map(|(i, f)| format!("{}: {}", chunk[*i].identifier, f.message))
        .collect();
    tracing::debug!(
        blueprint,
        failed_count = failed.len(),
        sample_errors = ?sample,
        "Bulk upsert completed with entity-specific failures"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(v: Value) -> BulkAnswer {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn bulk_results_map_by_index() {
        let got = outcomes_from_answer(
            5,
            answer(json!({
                "entities": [{"identifier": "a", "index": 0, "created": true},
                             {"identifier": "resolved", "index": 2, "created": false}],
                "errors": [{"identifier": "b", "index": 1, "statusCode": 422,
                            "error": "invalid", "message": "bad property"},
                           {"identifier": "unknown", "index": 3, "statusCode": 404,
                            "error": "not_found"},
                           {"identifier": "x", "index": 99}]
            })),
        );
        assert_eq!(
            got,
            vec![
                UpsertOutcome::Upserted {
                    identifier: json!("a")
                },
                UpsertOutcome::Failed(UpsertFailure::entity(Some(422), "bad property")),
                UpsertOutcome::Upserted {
                    identifier: json!("resolved")
                },
                UpsertOutcome::SearchIdentifierMiss,
                UpsertOutcome::Failed(UpsertFailure::entity(
                    None,
                    "Port reported no result for this entity"
                )),
            ]
        );
    }

    #[test]
    fn error_message_falls_back_to_error_code_and_success_wins() {
        let got = outcomes_from_answer(
            1,
            answer(json!({
                "entities": [{"identifier": "a", "index": 0}],
                "errors": [{"identifier": "a", "index": 0, "error": "conflict"}]
            })),
        );
        assert!(got[0].is_upserted());
        let got = outcomes_from_answer(
            1,
            answer(json!({"errors": [{"identifier": "a", "index": 0, "error": "conflict"}]})),
        );
        assert_eq!(
            got[0],
            UpsertOutcome::Failed(UpsertFailure::entity(None, "conflict"))
        );
        assert_eq!(
            outcomes_from_answer(2, answer(json!({"entities": null}))).len(),
            2
        );
    }

    fn check_query(params: Vec<(&'static str, String)>, expected: &str) {
        let joined: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(joined.join("&"), expected);
    }

    #[test]
    fn query_strings() {
        check_query(
            UpsertOptions::default().query_params(),
            "upsert=true&merge=true&create_missing_related_entities=true&validation_only=false",
        );
        check_query(
            UpsertOptions {
                merge: false,
                create_missing_related_entities: false,
                event: Some(EventInfo::resync("r-1")),
                ..UpsertOptions::default()
            }
            .query_params(),
            "upsert=true&merge=false&create_missing_related_entities=false&validation_only=false\
             &ocean_info_event_type=resync&ocean_info_resync_id=r-1",
        );
        check_query(
            DeleteOptions {
                event: Some(EventInfo {
                    event_type: EventType::HttpRequest,
                    id: "e-1".into(),
                }),
                ..DeleteOptions::default()
            }
            .query_params(),
            "delete_dependents=true&ocean_info_event_type=http_request",
        );
        check_query(
            DeleteOptions {
                delete_dependents: false,
                ..DeleteOptions::default()
            }
            .query_params(),
            "delete_dependents=false",
        );
    }
}
