//! Dry runs: what a resync *would* do, without writing anything to Port.
//!
//! A dry run is a full resync — fetch, map, the changed-entity comparison, the stale listing and
//! the deletion threshold — whose writes are replaced by bookkeeping: per blueprint, the entities
//! that would be created, updated (with the fields that change) and left unchanged, and the
//! stale ones that would be deleted, with the threshold's verdict and the kinds that failed (a
//! failed kind means nothing is deleted, as in a real resync). Nothing is upserted or deleted,
//! no resync state or integration update is sent, no default resources are created, and no raw
//! examples or metrics are posted: the only requests to Port are reads.
//!
//! Memory stays bounded: each batch is compared with Port's copies and dropped, and only the
//! counts and the first `show` changes of each blueprint are kept.

use std::collections::BTreeMap;
use std::sync::Mutex;

use ocean_model::{Entity, EntityKey};
use ocean_port_client::compare::{FieldChange, changed_fields};
use serde::Serialize;
use serde_json::Value;

/// What to keep of a dry run.
#[derive(Debug, Clone, Copy)]
pub struct PlanOptions {
    /// Changes listed per blueprint (creates, updates and deletes together); `None`: all.
    pub show: Option<usize>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions { show: Some(10) }
    }
}

/// What a change would do to an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Not in Port: it would be created.
    Create,
    /// In Port with other values: it would be updated.
    Update,
    /// In Port, owned by the integration and not produced: it would be deleted.
    Delete,
}

/// One field an update would change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldDiff {
    /// `title`, `team`, `properties.NAME` or `relations.NAME`.
    pub field: String,
    /// Port's value now (absent: `null`).
    pub old: Value,
    /// The value the resync would write (absent: `null`).
    pub new: Value,
}

/// One entity's change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// What would happen.
    pub action: Action,
    /// The entity's identifier.
    pub identifier: String,
    /// For an update, the fields that change.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldDiff>,
}

/// The plan of one blueprint.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BlueprintPlan {
    /// Entities that would be created.
    pub create: u64,
    /// Entities that would be updated.
    pub update: u64,
    /// Entities Port holds unchanged.
    pub unchanged: u64,
    /// Stale entities that would be deleted.
    pub delete: u64,
    /// The first changes (see [`PlanOptions::show`]).
    pub changes: Vec<Change>,
    /// Changes not listed.
    pub more_changes: u64,
}

/// What reconciliation would do.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeletionPlan {
    /// Whether the delete phase would run at all (every kind succeeded, the listing worked).
    pub runs: bool,
    /// Why it would not, when it would not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped_because: Option<String>,
    /// Stale entities: owned by the integration in Port, not produced by this resync.
    pub stale: u64,
    /// Entities the integration would own after the resync.
    pub owned: u64,
    /// `entityDeletionThreshold`.
    pub threshold: f64,
    /// Whether the stale share exceeds it (then nothing is deleted).
    pub threshold_exceeded: bool,
    /// Stale entities kept because a kept entity relates to them.
    pub protected: u64,
    /// Entities that would be deleted.
    pub delete: u64,
}

/// A dry run's result.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PlanReport {
    /// Per blueprint, by identifier.
    pub blueprints: BTreeMap<String, BlueprintPlan>,
    /// The delete phase.
    pub deletion: DeletionPlan,
    /// Kinds that failed (their errors): their blueprints' stale entities are never deleted.
    pub failed_kinds: Vec<String>,
    /// How the resync itself ended (the outcome a real one would report).
    pub outcome: String,
    /// Whether a real resync would report `completed`.
    pub completes: bool,
}

impl PlanReport {
    /// Entities that would be deleted, in all.
    pub fn deletes(&self) -> u64 {
        self.deletion.delete
    }

    /// Totals: (create, update, unchanged, delete).
    pub fn totals(&self) -> (u64, u64, u64, u64) {
        self.blueprints
            .values()
            .fold((0, 0, 0, 0), |(c, u, n, d), b| {
                (c + b.create, u + b.update, n + b.unchanged, d + b.delete)
            })
    }
}

/// Collects a dry run's plan while the resync runs (shared by its concurrent batches).
#[derive(Debug, Default)]
pub struct Plan {
    show: Option<usize>,
    report: Mutex<PlanReport>,
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Plan {
    /// An empty plan.
    pub fn new(options: PlanOptions) -> Self {
        Plan {
            show: options.show,
            report: Mutex::new(PlanReport::default()),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut PlanReport) -> R) -> R {
        f(&mut self.report.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn push(&self, plan: &mut BlueprintPlan, change: Change) {
        if self.show.is_none_or(|n| plan.changes.len() < n) {
            plan.changes.push(change);
        } else {
            plan.more_changes += 1;
        }
    }

    /// Books one mapped entity against Port's copy (`None`: not in Port). Returns whether the
    /// resync would write it (a create or an update).
    pub fn record(&self, mapped: &Entity, in_port: Option<&Entity>) -> bool {
        let blueprint = text(&mapped.blueprint);
        let identifier = text(&mapped.identifier);
        let fields: Option<Vec<FieldChange>> = in_port.map(|p| changed_fields(p, mapped));
        let written = fields.as_ref().is_none_or(|f| !f.is_empty());
        self.with(|r| {
            let plan = r.blueprints.entry(blueprint).or_default();
            match fields {
                None => {
                    plan.create += 1;
                    self.push(
                        plan,
                        Change {
                            action: Action::Create,
                            identifier,
                            fields: Vec::new(),
                        },
                    );
                }
                Some(fields) if fields.is_empty() => plan.unchanged += 1,
                Some(fields) => {
                    plan.update += 1;
                    let fields = fields
                        .into_iter()
                        .map(|f| FieldDiff {
                            field: f.field,
                            old: f.old.unwrap_or(Value::Null),
                            new: f.new.unwrap_or(Value::Null),
                        })
                        .collect();
                    self.push(
                        plan,
                        Change {
                            action: Action::Update,
                            identifier,
                            fields,
                        },
                    );
                }
            }
        });
        written
    }

    /// Books an entity sent with a search identifier (Port resolves it when writing, so it
    /// cannot be compared): an update of whatever it matches.
    pub fn record_unresolved(&self, mapped: &Entity) {
        let blueprint = text(&mapped.blueprint);
        self.with(|r| {
            let plan = r.blueprints.entry(blueprint).or_default();
            plan.update += 1;
            self.push(
                plan,
                Change {
                    action: Action::Update,
                    identifier: text(&mapped.identifier),
                    fields: Vec::new(),
                },
            );
        });
    }

    /// Books the stale entities reconciliation would delete.
    pub fn record_deletes(&self, keys: &[EntityKey]) {
        self.with(|r| {
            for key in keys {
                let plan = r.blueprints.entry(key.blueprint.clone()).or_default();
                plan.delete += 1;
                self.push(
                    plan,
                    Change {
                        action: Action::Delete,
                        identifier: key.identifier.clone(),
                        fields: Vec::new(),
                    },
                );
            }
        });
    }

    /// Sets the delete phase's verdict.
    pub fn set_deletion(&self, deletion: DeletionPlan) {
        self.with(|r| r.deletion = deletion);
    }

    /// The plan so far, completed by the resync's failed kinds and outcome.
    pub fn finish(
        &self,
        failed_kinds: Vec<String>,
        outcome: String,
        completes: bool,
    ) -> PlanReport {
        self.with(|r| {
            let mut report = std::mem::take(r);
            report.failed_kinds = failed_kinds;
            report.outcome = outcome;
            report.completes = completes;
            report
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn e(v: Value) -> Entity {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn creates_updates_unchanged_and_deletes_are_counted_and_the_first_listed() {
        let plan = Plan::new(PlanOptions { show: Some(2) });
        let a = e(json!({"identifier": "a", "blueprint": "svc", "properties": {"x": 1}}));
        let a_old = e(json!({"identifier": "a", "blueprint": "svc", "properties": {"x": 0}}));
        plan.record(&a, Some(&a_old));
        plan.record(&a, Some(&a));
        plan.record(&e(json!({"identifier": "b", "blueprint": "svc"})), None);
        plan.record_deletes(&[EntityKey::from_strs("svc", "z")]);
        let report = plan.finish(Vec::new(), "completed".into(), true);
        let svc = &report.blueprints["svc"];
        assert_eq!(
            (svc.create, svc.update, svc.unchanged, svc.delete),
            (1, 1, 1, 1)
        );
        assert_eq!(svc.changes.len(), 2);
        assert_eq!(svc.more_changes, 1);
        assert_eq!(
            svc.changes[0].fields,
            vec![FieldDiff {
                field: "properties.x".into(),
                old: json!(0),
                new: json!(1)
            }]
        );
        assert_eq!(report.totals(), (1, 1, 1, 1));
    }
}
