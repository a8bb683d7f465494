//! Stage 3, diff: of a batch of mapped entities, which must be written to Port.
//!
//! Two filters, both resyncs only:
//! - the live-write fence ([`crate::fence`]): an entity a live event wrote after the resync
//!   fetched its page is not written again (the live event's copy is newer);
//! - the changed-entity filter: Port's copies are read (50 identifiers per search, restricted to
//!   this integration's datasource and to the fields the mapping writes) and entities Port holds
//!   unchanged are dropped. Batches of ten entities or fewer, and batches with a search
//!   identifier or search relation (whose stored form cannot be compared), are not filtered, as
//!   in Python Ocean. If a search fails the whole batch is written (the caller warns once).

use std::collections::HashMap;
use std::time::Instant;

use ocean_model::{Entity, EntityKey};
use ocean_port_client::compare::is_changed;
use ocean_port_client::{PortClient, PortError, SEARCH_IDENTIFIERS_CHUNK, UserAgentFeature};
use serde_json::Value;

use crate::fence::LiveWrites;

/// Batches of at most this many entities are upserted without comparing (Python Ocean's
/// `MIN_ENTITIES_TO_MAP`).
pub const FILTER_MIN_ENTITIES: usize = 10;

/// What the diff of one batch kept and dropped.
#[derive(Debug, Default)]
pub(crate) struct Diffed {
    /// The entities to write, in batch order.
    pub to_write: Vec<Entity>,
    /// Entities Port holds unchanged.
    pub unchanged: u64,
    /// Entities a live event wrote after their page was fetched.
    pub superseded: u64,
    /// Why the changed-entity filter was bypassed, if it was.
    pub filter_error: Option<PortError>,
}

/// Drops what the fence and the changed-entity filter say need not be written. `include` is
/// `None` when the filter is off; `fetched_at` is when the batch's page arrived (resyncs).
pub(crate) async fn diff(
    client: &PortClient,
    fence: Option<&LiveWrites>,
    include: Option<&[String]>,
    entities: Vec<Entity>,
    fetched_at: Option<Instant>,
) -> Diffed {
    let mut diffed = Diffed::default();
    let entities = match (fence, fetched_at) {
        (Some(fence), Some(fetched_at)) if fence.is_recording() => {
            let before = entities.len();
            let kept: Vec<Entity> = entities
                .into_iter()
                .filter(|e| !fence.written_after(&e.key(), fetched_at))
                .collect();
            diffed.superseded = (before - kept.len()) as u64;
            if diffed.superseded > 0 {
                tracing::info!(
                    entities = diffed.superseded,
                    "Not writing entities that a live event updated after this resync fetched them"
                );
            }
            kept
        }
        _ => entities,
    };
    diffed.to_write = match include {
        Some(include) if should_filter(&entities) => {
            match changed_only(client, &entities, include).await {
                Ok(changed) => {
                    diffed.unchanged = (entities.len() - changed.len()) as u64;
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
                    diffed.filter_error = Some(error);
                    entities
                }
            }
        }
        _ => entities,
    };
    diffed
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
) -> Result<Vec<usize>, PortError> {
    let in_port = port_copies(client, entities, include).await?;
    Ok(entities
        .iter()
        .enumerate()
        .filter(|(_, entity)| {
            in_port
                .get(&entity.key())
                .is_none_or(|current| is_changed(current, entity))
        })
        .map(|(i, _)| i)
        .collect())
}

/// Port's copies of `entities` (none may use a search identifier), restricted to `include`,
/// searched per blueprint in chunks of identifiers: what the changed-entity filter and a dry
/// run compare each mapped entity with.
pub(crate) async fn port_copies(
    client: &PortClient,
    entities: &[Entity],
    include: &[String],
) -> Result<HashMap<EntityKey, Entity>, PortError> {
    let include: Vec<&str> = include.iter().map(String::as_str).collect();
    let mut groups: Vec<(&Value, Vec<usize>)> = Vec::new();
    for (i, entity) in entities.iter().enumerate() {
        match groups.iter_mut().find(|(bp, _)| **bp == entity.blueprint) {
            Some((_, members)) => members.push(i),
            None => groups.push((&entity.blueprint, vec![i])),
        }
    }
    let mut all = HashMap::new();
    for (blueprint, members) in groups {
        for chunk in members.chunks(SEARCH_IDENTIFIERS_CHUNK) {
            let ids: Vec<&Value> = chunk.iter().map(|&i| &entities[i].identifier).collect();
            let found = client
                .search_by_identifiers(blueprint, &ids, &include, UserAgentFeature::Exporter)
                .await?;
            all.extend(found.into_iter().map(|e| (e.key(), e)));
        }
    }
    Ok(all)
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
    use serde_json::json;

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
        let fence = LiveWrites::new();
        let entities: Vec<Entity> = (0..3)
            .map(|i| e(json!({"identifier": format!("svc-{i}"), "blueprint": "service"})))
            .collect();
        let _recording = fence.recording();
        let fetched_at = Instant::now();
        fence.record(
            entities.iter().map(Entity::key).collect::<Vec<_>>().iter(),
            Instant::now(),
        );
        // Every entity is superseded: nothing is left to write (the client is never called).
        let diffed = diff(
            &unused_client(),
            Some(&fence),
            None,
            entities,
            Some(fetched_at),
        )
        .await;
        assert_eq!(diffed.superseded, 3);
        assert!(diffed.to_write.is_empty());
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
