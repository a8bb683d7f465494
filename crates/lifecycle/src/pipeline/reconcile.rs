//! Reconciliation (docs/lifecycle.md §4.3): after a resync in which every kind succeeded, delete the
//! entities this integration owns in Port that the resync did not produce.
//!
//! Safety rules, in order:
//! - the caller runs this only when no kind failed and the resync was not cancelled;
//! - the owned entities are listed with `before = resync start`, so anything written during the
//!   resync is never a candidate;
//! - nothing is deleted when the stale share exceeds `entityDeletionThreshold`
//!   ([`exceeds_threshold`]);
//! - with `createMissingRelatedEntities`, a stale entity that a kept entity relates to is kept
//!   (safe delete).
//!
//! One deliberate difference from Python Ocean: the threshold's denominator is every entity the
//! integration owns now — those listed as not updated since the resync started *plus* those the
//! resync wrote — not only the listed ones. Python divides by the listed entities alone, so a
//! resync in which every remaining entity changed sees a 100 % stale share and never deletes.

use std::collections::HashSet;

use futures::future::join_all;
use ocean_mapping::PortAppConfig;
use ocean_model::{Entity, EntityKey};
use ocean_port_client::{
    DeleteOptions, DeleteOutcome, EventInfo, PortClient, SingleUpsert, UpsertOptions,
    UserAgentFeature,
};
use time::OffsetDateTime;

use super::order::dependency_order;
use super::{KindSink, RelationTargets, ResyncCancel, SeenKeys};
use crate::plan::{DeletionPlan, Plan};
use crate::report::{Deletion, DeletionReport, FailureReason, ReconcileError, ResyncOutcome};

/// Whether deleting `stale` of `owned` entities exceeds the threshold (a share in `[0, 1]`).
pub fn exceeds_threshold(stale: usize, owned: usize, threshold: f64) -> bool {
    if stale == 0 || owned == 0 {
        return false;
    }
    stale as f64 / owned as f64 > threshold
}

/// Upserts failed entities one by one, relation targets first (on a dependency cycle, in the
/// original order). Returns (retried, succeeded).
pub(crate) async fn retry_failed(
    client: &PortClient,
    failed: Vec<Entity>,
    options: &UpsertOptions,
) -> (usize, usize) {
    let order = match dependency_order(&failed) {
        Ok(order) => order,
        Err(cycle) => {
            tracing::warn!(
                "Cannot order the failed entities by their relations ({cycle}); retrying them in their original order. Set createMissingRelatedEntities and deleteDependentEntities in the mapping to allow cyclic relations."
            );
            (0..failed.len()).collect()
        }
    };
    tracing::info!(
        entities = failed.len(),
        "Retrying failed upserts one by one in dependency order"
    );
    let mut ok = 0;
    for i in order {
        match client.upsert_entity(&failed[i], options).await {
            Ok(SingleUpsert::Upserted(_)) => ok += 1,
            Ok(other) => {
                tracing::warn!(entity = %failed[i].key(), outcome = ?other, "Retried upsert did not store the entity")
            }
            Err(error) => {
                tracing::warn!(entity = %failed[i].key(), %error, "Retried upsert failed")
            }
        }
    }
    (failed.len(), ok)
}

/// The stale entities that safe delete lets go: not seen, and — when `protect` is given — not
/// the target of a kept entity's relation.
pub fn deletable(
    stale: Vec<EntityKey>,
    seen: &SeenKeys,
    protect: Option<&HashSet<EntityKey>>,
) -> (Vec<EntityKey>, usize) {
    let mut protected = 0;
    let keep: Vec<EntityKey> = stale
        .into_iter()
        .filter(|key| !seen.contains(key))
        .filter(|key| {
            let is_target = protect.is_some_and(|p| p.contains(key));
            if is_target {
                protected += 1;
            }
            !is_target
        })
        .collect();
    (keep, protected)
}

/// The relation targets of kept entities as keys, target blueprints resolved from the source
/// blueprints' relation definitions. A relation the blueprint does not define is skipped with a
/// warning, as in Python Ocean.
pub(crate) async fn resolve_targets(
    client: &PortClient,
    targets: &RelationTargets,
) -> Result<HashSet<EntityKey>, ReconcileError> {
    let mut keys = HashSet::new();
    let mut blueprints: Vec<&str> = targets.iter().map(|(bp, _, _)| bp).collect();
    blueprints.sort_unstable();
    blueprints.dedup();
    let fetched = join_all(blueprints.iter().map(|bp| client.get_blueprint(bp))).await;
    let mut definitions = std::collections::HashMap::new();
    for (bp, result) in blueprints.iter().zip(fetched) {
        match result {
            Ok(Some(blueprint)) => {
                definitions.insert(*bp, blueprint);
            }
            Ok(None) => return Err(ReconcileError::MissingBlueprint((*bp).to_owned())),
            Err(error) => {
                return Err(ReconcileError::ReadBlueprint {
                    blueprint: (*bp).to_owned(),
                    error: error.into(),
                });
            }
        }
    }
    for (bp, relation, ids) in targets.iter() {
        let Some(definition) = definitions.get(bp).and_then(|b| b.relations.get(relation)) else {
            tracing::warn!(
                blueprint = bp,
                relation,
                "Relation found in entities but not in their blueprint"
            );
            continue;
        };
        for id in ids {
            keys.insert(EntityKey::from_strs(definition.target.clone(), id.clone()));
        }
    }
    Ok(keys)
}

/// Lists, decides and deletes — or, in a dry run (`plan`), books what it would delete and
/// deletes nothing. Returns the resync's outcome.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn reconcile(
    client: &PortClient,
    app: &PortAppConfig,
    sink: &KindSink,
    started_at: OffsetDateTime,
    resync_id: &str,
    cancel: &ResyncCancel,
    report: &mut DeletionReport,
    plan: Option<&Plan>,
) -> ResyncOutcome {
    // Only the stale keys are kept: memory grows with what is to delete, not with the catalog.
    let mut stale: Vec<EntityKey> = Vec::new();
    let listed = match client
        .for_each_own_entity(Some(started_at), |key| {
            if !sink.seen.contains(&key) {
                stale.push(key);
            }
        })
        .await
    {
        Ok(listed) => listed,
        Err(error) => {
            tracing::error!(%error, "Could not list the integration's entities in Port; skipping the delete phase");
            return ResyncOutcome::Failed(FailureReason::Reconciliation(
                ReconcileError::ListOwned(error.into()),
            ));
        }
    };
    report.owned_before = Some(listed);
    report.stale = stale.len();
    let threshold = app.entity_deletion_threshold;
    let verdict = |stale: usize, owned: usize, exceeded: bool, protected: usize, delete: usize| {
        DeletionPlan {
            runs: true,
            skipped_because: None,
            stale: stale as u64,
            owned: owned as u64,
            threshold,
            threshold_exceeded: exceeded,
            protected: protected as u64,
            delete: delete as u64,
        }
    };
    if stale.is_empty() {
        if let Some(plan) = plan {
            plan.set_deletion(verdict(0, sink.seen.len(), false, 0, 0));
        }
        tracing::info!(owned = listed, "No stale entities to delete");
        return ResyncOutcome::Completed(Deletion::NothingStale);
    }
    // Everything the integration owns now: listed (not updated since the start) ∪ seen.
    // listed ∩ seen = listed − stale, so |listed ∪ seen| = seen + stale.
    let owned_now = sink.seen.len() + stale.len();
    if exceeds_threshold(stale.len(), owned_now, threshold) {
        if let Some(plan) = plan {
            plan.set_deletion(verdict(stale.len(), owned_now, true, 0, 0));
        }
        let decision = Deletion::ThresholdExceeded {
            stale: stale.len(),
            owned: owned_now,
            threshold,
        };
        tracing::warn!("Skipping deletion of stale entities: {decision}");
        return ResyncOutcome::Completed(decision);
    }
    if cancel.is_cancelled() {
        return ResyncOutcome::Aborted(cancel.reason());
    }
    let protect = match (&sink.relation_targets, app.create_missing_related_entities) {
        (Some(targets), true) if !targets.is_empty() => {
            match resolve_targets(client, targets).await {
                Ok(keys) => Some(keys),
                Err(error) => {
                    tracing::error!(%error, "Could not resolve the relation targets of kept entities; skipping the delete phase");
                    return ResyncOutcome::Failed(FailureReason::Reconciliation(error));
                }
            }
        }
        _ => None,
    };
    let stale_count = stale.len();
    let (to_delete, protected) = deletable(stale, &sink.seen, protect.as_ref());
    report.protected = protected;
    if let Some(plan) = plan {
        plan.record_deletes(&to_delete);
        plan.set_deletion(verdict(
            stale_count,
            owned_now,
            false,
            protected,
            to_delete.len(),
        ));
        return ResyncOutcome::Completed(Deletion::Done);
    }
    if protected > 0 {
        tracing::info!(
            protected,
            "Keeping stale entities that kept entities relate to (createMissingRelatedEntities is on)"
        );
    }
    tracing::info!(
        deleting = to_delete.len(),
        owned = owned_now,
        "Deleting stale entities"
    );
    let options = DeleteOptions {
        delete_dependents: app.delete_dependent_entities,
        event: Some(EventInfo::resync(resync_id.to_owned())),
        feature: Some(UserAgentFeature::Exporter),
    };
    let (deleted, failed) = if app.delete_dependent_entities {
        delete_bulk(client, &to_delete, &options).await
    } else {
        delete_one_by_one(client, to_delete, &options, cancel).await
    };
    report.deleted = deleted;
    report.delete_failures = failed;
    ResyncOutcome::Completed(Deletion::Done)
}

/// Bulk deletes per blueprint, all blueprints at once (Port deletes dependents too).
async fn delete_bulk(
    client: &PortClient,
    keys: &[EntityKey],
    options: &DeleteOptions,
) -> (usize, usize) {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for key in keys {
        match groups.iter_mut().find(|(bp, _)| *bp == key.blueprint) {
            Some((_, ids)) => ids.push(&key.identifier),
            None => groups.push((&key.blueprint, vec![&key.identifier])),
        }
    }
    let reports = join_all(
        groups
            .iter()
            .map(|(bp, ids)| client.delete_entities_bulk(bp, ids, options)),
    )
    .await;
    let deleted: usize = reports.iter().map(|r| r.deleted.len()).sum();
    for report in &reports {
        for error in &report.errors {
            tracing::error!(%error, "Deleting a batch of stale entities failed");
        }
    }
    (deleted, keys.len().saturating_sub(deleted))
}

/// One entity per request without deleting dependents. Entities Port refuses (others still
/// depend on them) are retried after the rest, as long as a pass makes progress.
async fn delete_one_by_one(
    client: &PortClient,
    keys: Vec<EntityKey>,
    options: &DeleteOptions,
    cancel: &ResyncCancel,
) -> (usize, usize) {
    let mut pending = keys;
    let mut deleted = 0;
    loop {
        let mut refused = Vec::new();
        let before = pending.len();
        for key in pending {
            if cancel.is_cancelled() {
                return (deleted, before);
            }
            match client
                .delete_entity(&key.blueprint, &key.identifier, options)
                .await
            {
                Ok(DeleteOutcome::Deleted) => deleted += 1,
                Ok(DeleteOutcome::NotFound) => {}
                Err(error) => refused.push((key, error)),
            }
        }
        if refused.is_empty() {
            return (deleted, 0);
        }
        if refused.len() == before {
            for (key, error) in &refused {
                tracing::error!(entity = %key, %error, "Could not delete a stale entity");
            }
            return (deleted, refused.len());
        }
        pending = refused.into_iter().map(|(k, _)| k).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_arithmetic() {
        let check = |stale, owned, threshold, expected| {
            assert_eq!(
                exceeds_threshold(stale, owned, threshold),
                expected,
                "{stale}/{owned} vs {threshold}"
            );
        };
        check(0, 0, 0.9, false);
        check(0, 10, 0.0, false);
        check(9, 10, 0.9, false);
        check(10, 10, 0.9, true);
        check(5, 10, 0.5, false);
        check(6, 10, 0.5, true);
        check(1, 10, 0.0, true);
        check(10, 10, 1.0, false);
    }

    #[test]
    fn safe_delete_keeps_seen_and_protected_targets() {
        let mut seen = SeenKeys::default();
        seen.insert(EntityKey::from_strs("svc", "kept"));
        let stale = vec![
            EntityKey::from_strs("svc", "kept"),
            EntityKey::from_strs("svc", "gone"),
            EntityKey::from_strs("team", "t1"),
            EntityKey::from_strs("team", "t2"),
        ];
        let protect: HashSet<EntityKey> = [EntityKey::from_strs("team", "t1")].into();
        let (delete, protected) = deletable(stale.clone(), &seen, Some(&protect));
        assert_eq!(
            delete,
            vec![
                EntityKey::from_strs("svc", "gone"),
                EntityKey::from_strs("team", "t2")
            ]
        );
        assert_eq!(protected, 1);
        let (delete, protected) = deletable(stale, &seen, None);
        assert_eq!(delete.len(), 3);
        assert_eq!(protected, 0);
    }
}
