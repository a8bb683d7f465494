//! What a resync did, as data: per-kind counters, the reconciliation's result and the final
//! outcome with the reason stale entities were (or were not) deleted.
//!
//! The engine returns a [`ResyncReport`] for every resync, whatever happened; tests assert it,
//! the closing summary line is printed from it and the resync state reported to Port is derived
//! from it ([`ResyncReport::status`]). Nothing here talks to Port or logs.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ocean_port_client::{PortError, ResyncStatus};

pub use crate::pipeline::mapping::MappingError;
use time::OffsetDateTime;

/// The result of one full resync.
#[derive(Debug, Clone)]
pub struct ResyncReport {
    /// The resync's event id (sent to Port as `ocean_info_resync_id`).
    pub id: String,
    /// When the resync started (entities last updated before it and not seen are stale).
    pub started_at: OffsetDateTime,
    /// Wall-clock duration.
    pub duration: Duration,
    /// One entry per mapping resource, in mapping order (resources never started are absent).
    pub kinds: Vec<KindReport>,
    /// What reconciliation found and did.
    pub deletion: DeletionReport,
    /// How the resync ended.
    pub outcome: ResyncOutcome,
}

impl ResyncReport {
    /// The state reported to Port: `completed`, `failed` or `aborted`.
    pub fn status(&self) -> ResyncStatus {
        self.outcome.status()
    }

    /// Whether the resync completed (possibly without deleting, see [`ResyncOutcome`]).
    pub fn is_success(&self) -> bool {
        self.status() == ResyncStatus::Completed
    }

    /// The kind report of the resource at `index` of the mapping.
    pub fn kind(&self, index: usize) -> Option<&KindReport> {
        self.kinds.iter().find(|k| k.index == index)
    }

    /// Totals over every kind.
    pub fn totals(&self) -> KindCounts {
        let mut total = KindCounts::default();
        for kind in &self.kinds {
            total.add(&kind.counts);
        }
        total
    }
}

/// How a resync ended. Only [`ResyncOutcome::Completed`] with
/// [`Deletion::Done`] or [`Deletion::NothingStale`] deleted (or had nothing to delete).
#[derive(Debug, Clone, PartialEq)]
pub enum ResyncOutcome {
    /// Every kind succeeded; reconciliation ran (see the deletion decision).
    Completed(Deletion),
    /// The mapping has no resources: nothing synced, nothing deleted (a successful no-op).
    NoResources,
    /// The resync ran but something left the data incomplete; nothing was deleted.
    Failed(FailureReason),
    /// The resync was cancelled (superseded by a newer one, or shutdown); nothing was deleted.
    Aborted(AbortReason),
}

impl ResyncOutcome {
    /// The state reported to Port.
    pub fn status(&self) -> ResyncStatus {
        match self {
            ResyncOutcome::Completed(_) | ResyncOutcome::NoResources => ResyncStatus::Completed,
            ResyncOutcome::Failed(_) => ResyncStatus::Failed,
            ResyncOutcome::Aborted(_) => ResyncStatus::Aborted,
        }
    }

    /// Why stale entities were not deleted, when they were not.
    pub fn deletion_skipped_because(&self) -> Option<String> {
        match self {
            ResyncOutcome::Completed(Deletion::Done | Deletion::NothingStale) => None,
            ResyncOutcome::Completed(Deletion::ThresholdExceeded {
                stale,
                owned,
                threshold,
            }) => Some(format!(
                "{stale} of {owned} owned entities are stale ({:.1} %), above the entityDeletionThreshold of {:.1} %",
                ratio(*stale, *owned) * 100.0,
                threshold * 100.0
            )),
            ResyncOutcome::NoResources => Some("the mapping has no resources".to_owned()),
            ResyncOutcome::Failed(reason) => Some(reason.to_string()),
            ResyncOutcome::Aborted(reason) => Some(reason.to_string()),
        }
    }
}

impl fmt::Display for ResyncOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResyncOutcome::Completed(Deletion::Done) => f.write_str("completed"),
            ResyncOutcome::Completed(Deletion::NothingStale) => {
                f.write_str("completed (nothing stale)")
            }
            ResyncOutcome::Completed(d @ Deletion::ThresholdExceeded { .. }) => {
                write!(f, "completed without deleting: {d}")
            }
            ResyncOutcome::NoResources => f.write_str("completed (no resources in the mapping)"),
            ResyncOutcome::Failed(reason) => write!(f, "failed, nothing deleted: {reason}"),
            ResyncOutcome::Aborted(reason) => write!(f, "aborted, nothing deleted: {reason}"),
        }
    }
}

/// What reconciliation decided after a successful resync.
#[derive(Debug, Clone, PartialEq)]
pub enum Deletion {
    /// Stale entities were deleted (individual delete errors are counted in the report).
    Done,
    /// Nothing owned in Port was stale.
    NothingStale,
    /// Too large a share of the owned entities was stale; nothing was deleted. Python Ocean
    /// reports such a resync `completed`, and so does Ocean.
    ThresholdExceeded {
        /// Stale entities.
        stale: usize,
        /// Entities owned by the integration in Port (updated before the resync started).
        owned: usize,
        /// The mapping's `entityDeletionThreshold`.
        threshold: f64,
    },
}

impl fmt::Display for Deletion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Deletion::Done => f.write_str("stale entities deleted"),
            Deletion::NothingStale => f.write_str("nothing stale"),
            Deletion::ThresholdExceeded {
                stale,
                owned,
                threshold,
            } => write!(
                f,
                "{stale} of {owned} owned entities are stale ({:.1} %), above the entityDeletionThreshold of {:.1} %",
                ratio(*stale, *owned) * 100.0,
                threshold * 100.0
            ),
        }
    }
}

fn ratio(stale: usize, owned: usize) -> f64 {
    if owned == 0 {
        0.0
    } else {
        stale as f64 / owned as f64
    }
}

/// Why a resync failed. Every variant blocks stale-entity deletion.
#[derive(Debug, Clone, PartialEq)]
pub enum FailureReason {
    /// The mapping could not be read from Port, or does not validate.
    Mapping(MappingError),
    /// An `on_resync_start` hook failed; no kind was processed.
    ResyncStartHook(String),
    /// One or more kinds failed (fetcher error, kind not implemented, selector errors, a failed
    /// batch).
    KindErrors {
        /// The failed kinds, as `kind#index`.
        kinds: Vec<String>,
        /// The number of errors across them.
        errors: usize,
    },
    /// Listing the integration's own entities in Port (or the blueprints of relation targets)
    /// failed, so the stale entities are unknown.
    Reconciliation(ReconcileError),
    /// Port refused entities (after the end-of-resync retry, when it ran): the catalog in Port
    /// is missing them.
    EntityFailures {
        /// Entities Port did not store.
        failed: u64,
        /// Why, most common first.
        groups: Vec<FailureGroup>,
    },
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureReason::Mapping(e) => write!(f, "the mapping could not be loaded: {e}"),
            FailureReason::ResyncStartHook(e) => write!(f, "the resync-start hook failed: {e}"),
            FailureReason::KindErrors { kinds, errors } => write!(
                f,
                "{errors} error(s) in kind(s) {}; the state in Port is incomplete",
                kinds.join(", ")
            ),
            FailureReason::Reconciliation(e) => {
                write!(f, "stale entities could not be determined: {e}")
            }
            FailureReason::EntityFailures { failed, groups } => {
                write!(f, "Port refused {failed} entities")?;
                for (i, group) in groups.iter().take(3).enumerate() {
                    f.write_str(if i == 0 { ": " } else { "; " })?;
                    write!(f, "{group}")?;
                }
                if groups.len() > 3 {
                    write!(f, "; and {} other reason(s)", groups.len() - 3)?;
                }
                Ok(())
            }
        }
    }
}

/// Why reconciliation could not decide what is stale.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReconcileError {
    /// Listing the entities the integration owns failed.
    #[error("listing the integration's entities failed: {0}")]
    ListOwned(SharedPortError),
    /// A blueprint of kept entities with relations does not exist.
    #[error("blueprint '{0}' does not exist in Port")]
    MissingBlueprint(String),
    /// Reading a blueprint of kept entities with relations failed.
    #[error("reading blueprint '{blueprint}' failed: {error}")]
    ReadBlueprint {
        /// The blueprint.
        blueprint: String,
        /// What Port or the network said.
        error: SharedPortError,
    },
}

/// A Port error that reports can hold, clone and compare (by what it says).
#[derive(Debug, Clone)]
pub struct SharedPortError(pub Arc<PortError>);

impl From<PortError> for SharedPortError {
    fn from(error: PortError) -> Self {
        SharedPortError(Arc::new(error))
    }
}

impl PartialEq for SharedPortError {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.to_string() == other.0.to_string()
    }
}

impl fmt::Display for SharedPortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SharedPortError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref())
    }
}

/// Why a resync was cancelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AbortReason {
    /// A newer resync request superseded it.
    Superseded,
    /// The process is shutting down.
    Shutdown,
    /// Cancelled by the embedding code.
    Cancelled,
}

impl fmt::Display for AbortReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AbortReason::Superseded => "superseded by a newer resync request",
            AbortReason::Shutdown => "the process is shutting down",
            AbortReason::Cancelled => "cancelled",
        })
    }
}

/// Counters of one kind (or totals).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindCounts {
    /// Raw items the fetcher yielded.
    pub fetched: u64,
    /// Entities the mapping produced (selector passed, identifier and blueprint set).
    pub mapped: u64,
    /// Entities Port stored.
    pub upserted: u64,
    /// Entities skipped because Port already holds them unchanged.
    pub unchanged: u64,
    /// Entities Port refused (after the end-of-resync retry, when it ran).
    pub failed: u64,
    /// Entities not written because a live event wrote them after the resync fetched them
    /// (see [`crate::fence`]).
    pub superseded: u64,
    /// Items the mapping skipped: selector false, empty identifier or blueprint, or parents
    /// that produced no `itemsToParse` children.
    pub skipped: u64,
    /// Items whose selector errored.
    pub selector_errors: u64,
    /// Fields that evaluated to null (counted once per field per batch).
    pub misconfigured: u64,
}

impl KindCounts {
    /// Adds another set of counters.
    pub fn add(&mut self, other: &KindCounts) {
        self.fetched += other.fetched;
        self.mapped += other.mapped;
        self.upserted += other.upserted;
        self.unchanged += other.unchanged;
        self.failed += other.failed;
        self.superseded += other.superseded;
        self.skipped += other.skipped;
        self.selector_errors += other.selector_errors;
        self.misconfigured += other.misconfigured;
    }
}

/// What happened to one mapping resource.
#[derive(Debug, Clone)]
pub struct KindReport {
    /// The kind.
    pub kind: String,
    /// The resource's position in the mapping.
    pub index: usize,
    /// The counters.
    pub counts: KindCounts,
    /// Errors that failed the kind (each one blocks deletion), at most a few kept in full.
    pub errors: Vec<String>,
    /// How many errors there were in all (`errors` keeps the first ones).
    pub error_count: usize,
    /// The entities Port refused, by blueprint and reason.
    pub failures: FailureTally,
    /// Time spent on the kind.
    pub duration: Duration,
}

impl KindReport {
    /// Whether the kind failed.
    pub fn failed(&self) -> bool {
        self.error_count > 0
    }

    /// `kind#index`, how failed kinds are named.
    pub fn label(&self) -> String {
        format!("{}#{}", self.kind, self.index)
    }
}

/// Entities Port refused for one reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureGroup {
    /// The blueprint they were written to.
    pub blueprint: String,
    /// Why Port refused them.
    pub reason: Refusal,
    /// How many.
    pub count: u64,
    /// The identifier of one of them.
    pub example: String,
}

/// Why Port refused an entity, as grouped in reports.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// The blueprint does not exist in Port.
    MissingBlueprint,
    /// Port's message (and status, when it gave one).
    Port {
        /// The status.
        status: Option<u16>,
        /// The message.
        message: String,
    },
}

impl fmt::Display for FailureGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entities = if self.count == 1 {
            "entity"
        } else {
            "entities"
        };
        match &self.reason {
            Refusal::MissingBlueprint => write!(
                f,
                "blueprint `{}` does not exist in Port — {} {entities}",
                self.blueprint, self.count
            ),
            Refusal::Port { status, message } => {
                write!(
                    f,
                    "{} {entities} of blueprint `{}`",
                    self.count, self.blueprint
                )?;
                if let Some(status) = status {
                    write!(f, " ({status})")?;
                }
                write!(f, ": {message} (e.g. `{}`)", self.example)
            }
        }
    }
}

/// Refused entities grouped by blueprint and reason. The number of groups is bounded: refusals
/// of reasons beyond them are only counted, in `other`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailureTally {
    groups: Vec<FailureGroup>,
    /// Refusals whose group did not fit.
    pub other: u64,
}

/// Distinct (blueprint, reason) groups a tally keeps.
const MAX_FAILURE_GROUPS: usize = 32;

impl FailureTally {
    /// Counts `count` refusals of one reason. Returns whether the group is new to this tally.
    pub fn add(&mut self, blueprint: &str, reason: &Refusal, example: &str, count: u64) -> bool {
        if let Some(group) = self
            .groups
            .iter_mut()
            .find(|g| g.blueprint == blueprint && &g.reason == reason)
        {
            group.count += count;
            return false;
        }
        if self.groups.len() >= MAX_FAILURE_GROUPS {
            self.other += count;
            return false;
        }
        self.groups.push(FailureGroup {
            blueprint: blueprint.to_owned(),
            reason: reason.clone(),
            count,
            example: example.to_owned(),
        });
        true
    }

    /// Adds another tally's counts.
    pub fn merge(&mut self, other: &FailureTally) {
        for g in &other.groups {
            self.add(&g.blueprint, &g.reason, &g.example, g.count);
        }
        self.other += other.other;
    }

    /// Whether nothing was refused.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.other == 0
    }

    /// The groups, most common first.
    pub fn groups(&self) -> Vec<FailureGroup> {
        let mut groups = self.groups.clone();
        groups.sort_by_key(|g| std::cmp::Reverse(g.count));
        groups
    }
}

/// What reconciliation found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeletionReport {
    /// Entities owned by the integration in Port that were last updated before the resync
    /// started (`None` when reconciliation did not list them).
    pub owned_before: Option<usize>,
    /// Owned entities not seen in this resync.
    pub stale: usize,
    /// Stale entities kept because a kept entity relates to them.
    pub protected: usize,
    /// Entities deleted.
    pub deleted: usize,
    /// Entities whose deletion failed.
    pub delete_failures: usize,
    /// Failed upserts retried one by one at the end (`createMissingRelatedEntities: false`).
    pub retried: usize,
    /// Of those, how many succeeded on retry.
    pub retried_ok: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_grouped_and_named_most_common_first() {
        let mut tally = FailureTally::default();
        let missing = Refusal::MissingBlueprint;
        let invalid = Refusal::Port {
            status: Some(422),
            message: "property `tier` must be a number".into(),
        };
        assert!(tally.add("benchItem", &missing, "\"i-1\"", 20));
        assert!(!tally.add("benchItem", &missing, "\"i-9\"", 14_380));
        assert!(tally.add("fakeService", &invalid, "\"svc-3\"", 3));
        let mut other = FailureTally::default();
        other.add("fakeService", &invalid, "\"svc-4\"", 2);
        tally.merge(&other);
        let groups = tally.groups();
        assert_eq!(groups[0].count, 14_400);
        assert_eq!(groups[1].count, 5);
        let reason = FailureReason::EntityFailures {
            failed: 14_405,
            groups,
        };
        assert_eq!(
            reason.to_string(),
            "Port refused 14405 entities: blueprint `benchItem` does not exist in Port — 14400 \
             entities; 5 entities of blueprint `fakeService` (422): property `tier` must be a \
             number (e.g. `\"svc-3\"`)"
        );
        assert_eq!(ResyncOutcome::Failed(reason).status(), ResyncStatus::Failed);
    }

    #[test]
    fn a_tally_keeps_a_bounded_number_of_groups() {
        let mut tally = FailureTally::default();
        for i in 0..(MAX_FAILURE_GROUPS + 5) {
            tally.add(&format!("bp{i}"), &Refusal::MissingBlueprint, "x", 1);
        }
        assert_eq!(tally.groups().len(), MAX_FAILURE_GROUPS);
        assert_eq!(tally.other, 5);
        assert!(!tally.is_empty());
    }
}
