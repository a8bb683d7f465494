//! The fence between live events and a running resync, so that neither undoes the other.
//!
//! Two directions:
//! - **A resync must not delete what a live event wrote.** Reconciliation lists the entities it
//!   owns with `before = resync start` (Port's `updatedAt`), so an entity a live event created or
//!   updated while the resync ran is never stale. This is Python Ocean's protection; it lives in
//!   [`reconcile`](crate::reconcile).
//! - **A resync must not overwrite what a live event wrote with older data.** A resync fetches a
//!   page, then maps and upserts it a little later; if a live event wrote (or deleted) one of its
//!   entities in between, the resync's copy is older than Port's and upserting it would revert
//!   the live change (or resurrect a deleted entity). [`LiveWrites`] remembers, while a resync
//!   runs, when live events wrote which entity; the resync's load stage drops an entity written
//!   by a live event after the page it came from was fetched. Python Ocean has no such check.
//!
//! A live event's write is recorded *before* it is sent to Port, so a resync batch checked while
//! the live write is in flight is dropped too. Entries are kept only while a resync runs
//! ([`LiveWrites::resync_started`] … [`LiveWrites::resync_finished`]), so the map never grows
//! without bound in a process that only serves webhooks.
//!
//! Not covered: a *delete* event that waited in the queue while a resync started after it
//! re-created the entity; the delete then still applies (as in Python Ocean).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use ocean_model::EntityKey;

#[derive(Default)]
struct State {
    /// Resyncs running (the coordinator keeps it to one; counted for safety).
    running: usize,
    /// Entity → when a live event last wrote it, during the running resync.
    written: HashMap<EntityKey, Instant>,
}

/// When live events wrote which entity while a resync runs. Shared by the live-event pipeline
/// (which records) and the resync engine (which checks).
#[derive(Default)]
pub struct LiveWrites {
    state: Mutex<State>,
}

impl std::fmt::Debug for LiveWrites {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("LiveWrites")
            .field("running", &state.running)
            .field("entries", &state.written.len())
            .finish()
    }
}

impl LiveWrites {
    /// An empty fence.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A resync started: live writes are recorded from now on.
    pub fn resync_started(&self) {
        self.lock().running += 1;
    }

    /// A resync ended: when none is left running, forget every recorded write.
    pub fn resync_finished(&self) {
        let mut state = self.lock();
        state.running = state.running.saturating_sub(1);
        if state.running == 0 {
            state.written = HashMap::new();
        }
    }

    /// Starts recording for a resync until the returned guard is dropped (even by a cancelled
    /// or aborted resync task).
    pub fn recording(&self) -> Recording<'_> {
        self.resync_started();
        Recording(self)
    }

    /// Whether a resync is running (writes are being recorded).
    pub fn is_recording(&self) -> bool {
        self.lock().running > 0
    }

    /// Records that a live event is about to write (upsert or delete) these entities, at `at`.
    /// Does nothing while no resync runs.
    pub fn record<'a>(&self, keys: impl IntoIterator<Item = &'a EntityKey>, at: Instant) {
        let mut state = self.lock();
        if state.running == 0 {
            return;
        }
        for key in keys {
            let entry = state.written.entry(key.clone()).or_insert(at);
            if *entry < at {
                *entry = at;
            }
        }
    }

    /// Whether a live event wrote `key` after `fetched_at` (so a resync copy fetched then is
    /// older than Port's).
    pub fn written_after(&self, key: &EntityKey, fetched_at: Instant) -> bool {
        self.lock()
            .written
            .get(key)
            .is_some_and(|at| *at >= fetched_at)
    }

    /// Recorded entries.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().written.len()
    }
}

/// Keeps [`LiveWrites`] recording while it lives; see [`LiveWrites::recording`].
#[must_use = "recording stops when the guard is dropped"]
pub struct Recording<'a>(&'a LiveWrites);

impl Drop for Recording<'_> {
    fn drop(&mut self) {
        self.0.resync_finished();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn key(id: &str) -> EntityKey {
        EntityKey::new(&json!("service"), &json!(id))
    }

    #[test]
    fn writes_count_only_during_a_resync_and_after_the_fetch() {
        let fence = LiveWrites::new();
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(1);
        let t2 = t0 + Duration::from_secs(2);
        // No resync: nothing is recorded, so nothing can grow.
        fence.record([&key("a")], t1);
        assert_eq!(fence.len(), 0);

        fence.resync_started();
        fence.record([&key("a"), &key("b")], t1);
        // A page fetched before the live write is older: dropped.
        assert!(fence.written_after(&key("a"), t0));
        // A page fetched after it is newer: kept.
        assert!(!fence.written_after(&key("a"), t2));
        assert!(!fence.written_after(&key("c"), t0));
        // The latest write wins.
        fence.record([&key("a")], t2);
        assert!(fence.written_after(&key("a"), t1 + Duration::from_millis(500)));
        fence.record([&key("a")], t0);
        assert!(fence.written_after(&key("a"), t1 + Duration::from_millis(500)));

        fence.resync_finished();
        assert_eq!(fence.len(), 0);
        {
            let _guard = fence.recording();
            fence.record([&key("z")], t1);
            assert_eq!(fence.len(), 1);
        }
        assert_eq!(fence.len(), 0);
        assert!(!fence.is_recording());
        assert!(!fence.written_after(&key("a"), t0));
    }
}
