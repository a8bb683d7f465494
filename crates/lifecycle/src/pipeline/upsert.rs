//! Stage 4, upsert: the batch the diff kept goes to Port in bulk, and what Port did is reduced to
//! what the rest needs: counts, keys Port resolved for search identifiers, refused entities
//! tallied by blueprint and reason, and — when they will be retried one by one at the end — the
//! refused entities themselves.
//!
//! [`write`] is one batch's whole job (diff, then upsert), shared by resyncs and live events. A
//! job owns its entities and runs as its own task, so several batches are written at once while
//! later pages are still being fetched and mapped. Once Port has said a blueprint does not
//! exist, later entities of it are counted as refused for that reason without being sent.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ocean_model::{Entity, EntityKey};
use ocean_port_client::{
    FailureCause, PortClient, PortError, UpsertFailure, UpsertOptions, UpsertOutcome,
};
use serde_json::Value;

use super::diff::{diff, port_copies};
use crate::fence::LiveWrites;
use crate::plan::Plan;
use crate::report::{FailureTally, Refusal};

/// What every batch of one kind (or one live event) shares.
pub(crate) struct WriteSpec {
    pub client: PortClient,
    pub options: UpsertOptions,
    /// Fields to read back for the changed-entity filter (`title`, `properties.url`, …);
    /// `None` disables the filter.
    pub include: Option<Vec<String>>,
    /// Keep refused entities for the end-of-resync retry.
    pub keep_failed: bool,
    /// Skip entities a live event wrote after their page was fetched (resyncs only).
    pub fence: Option<Arc<LiveWrites>>,
    /// Blueprints Port said do not exist, shared by the batches of one resync (or event).
    pub missing_blueprints: Arc<MissingBlueprints>,
    /// A dry run's plan: batches are compared with Port's copies and booked there, never
    /// written.
    pub plan: Option<Arc<Plan>>,
}

impl WriteSpec {
    /// The same spec with another `include` list (one per resource).
    pub fn with_include(&self, include: Option<Vec<String>>) -> WriteSpec {
        WriteSpec {
            client: self.client.clone(),
            options: self.options.clone(),
            include,
            keep_failed: self.keep_failed,
            fence: self.fence.clone(),
            missing_blueprints: self.missing_blueprints.clone(),
            plan: self.plan.clone(),
        }
    }
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

/// What one batch's write did.
#[derive(Debug, Default)]
pub(crate) struct WriteOutcome {
    pub upserted: u64,
    pub unchanged: u64,
    pub failed: u64,
    /// Entities not written because a live event wrote them after their page was fetched.
    pub superseded: u64,
    /// Refused entities, when the spec keeps them.
    pub failed_entities: Vec<Entity>,
    /// Keys Port resolved for entities sent with a search identifier.
    pub resolved: Vec<EntityKey>,
    /// Why the changed-entity filter was bypassed, if it was.
    pub filter_error: Option<PortError>,
    /// The refused entities by blueprint and reason.
    pub failures: FailureTally,
}

/// Writes one batch whose raw items were fetched at `fetched_at` (resyncs): the diff, then
/// the upsert of what it kept.
pub(crate) async fn write(
    spec: Arc<WriteSpec>,
    entities: Vec<Entity>,
    fetched_at: Option<Instant>,
) -> WriteOutcome {
    if let Some(plan) = &spec.plan {
        return plan_batch(&spec, plan, entities).await;
    }
    let diffed = diff(
        &spec.client,
        spec.fence.as_deref(),
        spec.include.as_deref(),
        entities,
        fetched_at,
    )
    .await;
    let mut outcome = WriteOutcome {
        unchanged: diffed.unchanged,
        superseded: diffed.superseded,
        filter_error: diffed.filter_error,
        ..WriteOutcome::default()
    };
    upsert(&spec, diffed.to_write, &mut outcome).await;
    outcome
}

/// A dry run's batch: each entity compared with Port's copy and booked in the plan as a
/// create, an update or unchanged. If Port's copies cannot be read, the batch counts as failed
/// (so the plan claims no deletion on an incomplete comparison).
async fn plan_batch(spec: &WriteSpec, plan: &Plan, entities: Vec<Entity>) -> WriteOutcome {
    let mut outcome = WriteOutcome::default();
    let (comparable, unresolved): (Vec<Entity>, Vec<Entity>) = entities
        .into_iter()
        .partition(|e| !e.uses_search_identifier());
    for entity in &unresolved {
        plan.record_unresolved(entity);
        outcome.upserted += 1;
    }
    if comparable.is_empty() {
        return outcome;
    }
    let include = spec.include.as_deref().unwrap_or(&[]);
    match port_copies(&spec.client, &comparable, include).await {
        Ok(copies) => {
            for entity in &comparable {
                if plan.record(entity, copies.get(&entity.key())) {
                    outcome.upserted += 1;
                } else {
                    outcome.unchanged += 1;
                }
            }
        }
        Err(error) => {
            let reason = Refusal::Port {
                status: None,
                message: format!("reading Port's copies for the dry run failed: {error}"),
            };
            for entity in &comparable {
                outcome.failed += 1;
                outcome.failures.add(
                    &blueprint_text(entity),
                    &reason,
                    &entity.identifier.to_string(),
                    1,
                );
            }
        }
    }
    outcome
}

/// Upserts `entities` and books what Port did into `outcome`.
async fn upsert(spec: &WriteSpec, entities: Vec<Entity>, outcome: &mut WriteOutcome) {
    // Entities of a blueprint Port already said is missing would only be refused again.
    let (to_write, doomed): (Vec<Entity>, Vec<Entity>) = entities
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
        return;
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
