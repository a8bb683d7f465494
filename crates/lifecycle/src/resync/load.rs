//! The load stage of a batch — the state applier shared by resyncs and live events: the live
//! write fence (see [`crate::fence`], resyncs only), the changed-entity filter (lifecycle.md
//! §4.1 step 6, resyncs only), then the bulk upsert, reduced to what the rest needs (counts,
//! resolved keys, and the failed entities when they will be retried).
//!
//! A load job owns its entities and runs as its own task, so several batches upsert at once
//! while later pages are still being fetched and mapped. Refused entities are tallied by
//! blueprint and reason; once Port has said a blueprint does not exist, later entities of it
//! are counted as refused for that reason without sending them. The filter searches Port in chunks of
//! 50 identifiers per blueprint, restricted to this integration's datasource and to the fields
//! the mapping writes; if any search fails the whole batch is upserted (a warning says so).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ocean_model::{Entity, EntityKey};
use ocean_port_client::{
    FailureCause, PortClient, UpsertFailure, UpsertOptions, UpsertOutcome, UserAgentFeature,
};
use serde_json::{Value, json};

use crate::compare::is_changed;
use crate::fence::LiveWrites;
use crate::report::{FailureTally, Refusal};

/// Identifiers per changed-entity search, as in Python Ocean.
pub const SEARCH_CHUNK: usize = 50;

/// Batches of at most this many entities are upserted without comparing (Python Ocean's
/// `MIN_ENTITIES_TO_MAP`).
pub const FILTER_MIN_ENTITIES: usize = 10;

/// What every load job of one kind shares.
pub(crate) struct LoadSpec {
    pub client: PortClient,
    pub options: UpsertOptions,
    /// Fields to read back for the comparison (`title`, `properties.url`, …); `None` disables
    /// the changed-entity filter.
    pub include: Option<Vec<String>>,
    /// Keep failed entities for the end-of-resync retry.
    pub keep_failed: bool,
    /// Skip entities a live event wrote after their page was fetched (resyncs only).
    pub fence: Option<Arc<LiveWrites>>,
    /// Blueprints Port said do not exist, shared by the load jobs of one resync (or event).
    pub missing_blueprints: Arc<MissingBlueprints>,
}

/// The blueprints Port answered `not_found` for during one resync.
#[derive(Debug, Default)]
pub(crate) struct MissingBlueprints(Mutex<HashSet<String>>);

impl MissingBlueprints {
    fn contains(&self, blueprint: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(blueprint)
    }

    fn insert(&self, blueprint: String) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(blueprint);
    }
}

/// The reason an upsert failure is grouped under.
fn refusal(failure: &UpsertFailure) -> Refusal {
    match failure.cause {
        FailureCause::MissingBlueprint => Refusal::MissingBlueprint,
        FailureCause::Entity | FailureCause::Request => Refusal::Port {
            status: failure.status,
            message: failure.message.clone(),
        },
    }
}

/// An entity's blueprint as text (a string as it is, anything else as JSON).
fn blueprint_text(entity: &Entity) -> String {
    match &entity.blueprint {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What one load job did.
#[derive(Debug, Default)]
pub(crate) struct LoadOutcome {
    pub upserted: u64,
    pub unchanged: u64,
    pub failed: u64,
    /// Entities not written because a live event wrote them after their page was fetched.
    pub superseded: u64,
    /// Failed entities, when the spec keeps them.
    pub failed_entities: Vec<Entity>,
    /// Keys Port resolved for entities sent with a search identifier.
    pub resolved: Vec<EntityKey>,
    /// Why the changed-entity filter was bypassed, if it was.
    pub filter_error: Option<String>,
    /// The failed entities by blueprint and reason.
    pub failures: FailureTally,
}

/// Runs the fence, the filter and the upsert for one batch whose raw items were fetched at
/// `fetched_at` (resyncs).
pub(crate) async fn load(
    spec: Arc<LoadSpec>,
    entities: Vec<Entity>,
    fetched_at: Option<Instant>,
) -> LoadOutcome {
    let mut outcome = LoadOutcome::default();
    let entities = match (&spec.fence, fetched_at) {
        (Some(fence), Some(fetched_at)) if fence.is_recording() => {
            let before = entities.len();
            let kept: Vec<Entity> = entities
                .into_iter()
                .filter(|e| !fence.written_after(&e.key(), fetched_at))
                .collect();
            outcome.superseded = (before - kept.len()) as u64;
            if outcome.superseded > 0 {
                tracing::info!(
                    entities = outcome.superseded,
                    "Not writing entities that a live event updated after this resync fetched them"
                );
            }
            kept
        }
        _ => entities,
    };
    let to_write = match &spec.include {
        Some(include) if should_filter(&entities) => {
            match changed_only(&spec.client, &entities, include).await {
                Ok(changed) => {
                    outcome.unchanged = (entities.len() - changed.len()) as u64;
                    let mut flags = changed.into_iter().peekable();
                    let mut kept = Vec::new();
                    for (i, entity) in entities.into_iter().enumerate() {
                        if flags.peek() == Some(&i) {
                            flags.next();
                            kept.push(entity);
                        }
                    }
                    kept
                }
                Err(error) => {
                    outcome.filter_error = Some(error);
                    entities
                }
            }
        }
        _ => entities,
    };
    // Entities of a blueprint Port already said is missing would only be refused again.
    let (to_write, doomed): (Vec<Entity>, Vec<Entity>) = to_write
        .into_iter()
        .partition(|e| !spec.missing_blueprints.contains(&blueprint_text(e)));
    for entity in &doomed {
        outcome.failed += 1;
        outcome.failures.add(
            &blueprint_text(entity),
            &Refusal::MissingBlueprint,
            &entity.identifier.to_string(),
            1,
        );
    }
    if to_write.is_empty() {
        return outcome;
    }
    let results = spec.client.upsert_entities(&to_write, &spec.options).await;
    for (entity, result) in to_write.into_iter().zip(results) {
        match result {
            UpsertOutcome::Upserted { identifier } => {
                outcome.upserted += 1;
                if entity.uses_search_identifier() {
                    outcome
                        .resolved
                        .push(EntityKey::new(&entity.blueprint, &identifier));
                }
            }
            UpsertOutcome::SearchIdentifierMiss => {}
            UpsertOutcome::Failed(failure) => {
                outcome.failed += 1;
                let blueprint = blueprint_text(&entity);
                let reason = refusal(&failure);
                outcome
                    .failures
                    .add(&blueprint, &reason, &entity.identifier.to_string(), 1);
                if reason == Refusal::MissingBlueprint {
                    // Retrying it one by one at the end would be refused the same way.
                    spec.missing_blueprints.insert(blueprint);
                } else if spec.keep_failed {
                    outcome.failed_entities.push(entity);
                }
            }
        }
    }
    outcome
}

/// Whether a batch goes through the filter: more than ten entities, none of them using a search
/// identifier or a search relation (whose stored form cannot be compared).
fn should_filter(entities: &[Entity]) -> bool {
    entities.len() > FILTER_MIN_ENTITIES
        && !entities
            .iter()
            .any(|e| e.uses_search_identifier() || e.uses_search_relation())
}

/// The positions (ascending) of the entities that differ from Port's copy or are not in Port.
async fn changed_only(
    client: &PortClient,
    entities: &[Entity],
    include: &[String],
) -> Result<Vec<usize>, String> {
    let include: Vec<&str> = include.iter().map(String::as_str).collect();
    // Group by blueprint so that each search names one blueprint.
    let mut groups: Vec<(Value, Vec<usize>)> = Vec::new();
    for (i, entity) in entities.iter().enumerate() {
        match groups.iter_mut().find(|(bp, _)| *bp == entity.blueprint) {
            Some((_, members)) => members.push(i),
            None => groups.push((entity.blueprint.clone(), vec![i])),
        }
    }
    let mut changed = Vec::new();
    for (blueprint, members) in groups {
        for chunk in members.chunks(SEARCH_CHUNK) {
            let ids: Vec<&Value> = chunk.iter().map(|&i| &entities[i].identifier).collect();
            let query = json!({
                "combinator": "and",
                "rules": [
                    {"property": "$identifier", "operator": "in", "value": ids},
                    {"property": "$blueprint", "operator": "=", "value": blueprint},
                ],
            });
            let found = client
                .search_entities(&query, &include, UserAgentFeature::Exporter)
                .await
                .map_err(|e| e.to_string())?;
            let in_port: HashMap<EntityKey, Entity> =
                found.into_iter().map(|e| (e.key(), e)).collect();
            for &i in chunk {
                let entity = &entities[i];
                match in_port.get(&entity.key()) {
                    Some(current) if !is_changed(current, entity) => {}
                    _ => changed.push(i),
                }
            }
        }
    }
    changed.sort_unstable();
    Ok(changed)
}

/// The fields to read back for a resource: `title` and `team` when mapped, then every mapped
/// property and relation (Python Ocean's `include` list).
pub(crate) fn include_fields(mapping: &ocean_mapping::config::EntityMapping) -> Vec<String> {
    let mut fields = Vec::new();
    if mapping.title.is_some() {
        fields.push("title".to_owned());
    }
    if mapping.team.is_some() {
        fields.push("team".to_owned());
    }
    for (name, _) in mapping.properties.iter().flatten() {
        fields.push(format!("properties.{name}"));
    }
    for (name, _) in mapping.relations.iter().flatten() {
        fields.push(format!("relations.{name}"));
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(v: Value) -> Entity {
        serde_json::from_value(v).unwrap()
    }

    /// A client that must never be called (nothing listens on the discard port).
    fn unused_client() -> PortClient {
        let identity = ocean_port_client::IntegrationIdentity::new("t", "0.1.0", "t");
        PortClient::new(ocean_port_client::PortClientConfig::new(
            "http://127.0.0.1:9",
            "id",
            "secret",
            identity,
        ))
        .unwrap()
    }

    #[tokio::test]
    async fn entities_a_live_event_wrote_after_the_fetch_are_not_written() {
        let fence = Arc::new(LiveWrites::new());
        let spec = Arc::new(LoadSpec {
            client: unused_client(),
            options: UpsertOptions::default(),
            include: None,
            keep_failed: false,
            fence: Some(fence.clone()),
            missing_blueprints: Arc::default(),
        });
        let entities: Vec<Entity> = (0..3)
            .map(|i| e(json!({"identifier": format!("svc-{i}"), "blueprint": "service"})))
            .collect();
        let _recording = fence.recording();
        let fetched_at = Instant::now();
        fence.record(
            entities.iter().map(Entity::key).collect::<Vec<_>>().iter(),
            Instant::now(),
        );
        // Every entity is superseded: nothing is sent (the client would fail to connect).
        let outcome = load(spec, entities, Some(fetched_at)).await;
        assert_eq!(outcome.superseded, 3);
        assert_eq!((outcome.upserted, outcome.failed), (0, 0));
    }

    #[test]
    fn small_or_search_batches_are_not_filtered() {
        let plain: Vec<Entity> = (0..11)
            .map(|i| e(json!({"identifier": format!("e{i}"), "blueprint": "svc"})))
            .collect();
        assert!(should_filter(&plain));
        assert!(!should_filter(&plain[..10]));
        let mut with_search = plain.clone();
        with_search[7] = e(json!({"identifier": "x", "blueprint": "svc",
            "relations": {"r": {"combinator": "and", "rules": []}}}));
        assert!(!should_filter(&with_search));
        let mut with_team_query = plain;
        with_team_query[3] = e(
            json!({"identifier": "x", "blueprint": "svc", "team": {"combinator": "and", "rules": []}}),
        );
        assert!(!should_filter(&with_team_query));
    }
}
