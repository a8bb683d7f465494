//! Live progress of the running resync: per-kind counters the engine bumps as batches move
//! through the pipeline, readable at any time by a display (the SDK's progress bars on a TTY)
//! without slowing the pipeline down (relaxed atomics, no locks on the hot path).
//!
//! These counters are for people watching; the authoritative numbers are in the
//! [`ResyncReport`](crate::ResyncReport) returned at the end.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Progress of one resync.
#[derive(Debug)]
pub struct ResyncProgress {
    id: String,
    started: Instant,
    kinds: Mutex<Vec<Arc<KindProgress>>>,
}

impl ResyncProgress {
    /// Progress of the resync `id`, starting now.
    pub fn new(id: impl Into<String>) -> Self {
        ResyncProgress {
            id: id.into(),
            started: Instant::now(),
            kinds: Mutex::new(Vec::new()),
        }
    }

    /// The resync's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// When the resync started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Registers a kind that is starting and returns its counters.
    pub fn start_kind(&self, kind: &str, index: usize) -> Arc<KindProgress> {
        let progress = Arc::new(KindProgress {
            kind: kind.to_owned(),
            index,
            started: Instant::now(),
            fetched: AtomicU64::new(0),
            mapped: AtomicU64::new(0),
            upserted: AtomicU64::new(0),
            unchanged: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            finished: AtomicBool::new(false),
        });
        self.kinds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(progress.clone());
        progress
    }

    /// Every kind started so far, in order.
    pub fn kinds(&self) -> Vec<Arc<KindProgress>> {
        self.kinds.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Counters of one kind of the running resync.
#[derive(Debug)]
pub struct KindProgress {
    /// The kind.
    pub kind: String,
    /// The resource's position in the mapping.
    pub index: usize,
    started: Instant,
    fetched: AtomicU64,
    mapped: AtomicU64,
    upserted: AtomicU64,
    unchanged: AtomicU64,
    failed: AtomicU64,
    finished: AtomicBool,
}

/// A consistent-enough copy of a kind's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindProgressSnapshot {
    /// Raw items fetched.
    pub fetched: u64,
    /// Entities mapped.
    pub mapped: u64,
    /// Entities written.
    pub upserted: u64,
    /// Entities skipped as unchanged.
    pub unchanged: u64,
    /// Entities Port refused.
    pub failed: u64,
    /// Whether the kind is done.
    pub finished: bool,
}

impl KindProgress {
    /// When the kind started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Reads the counters.
    pub fn snapshot(&self) -> KindProgressSnapshot {
        KindProgressSnapshot {
            fetched: self.fetched.load(Ordering::Relaxed),
            mapped: self.mapped.load(Ordering::Relaxed),
            upserted: self.upserted.load(Ordering::Relaxed),
            unchanged: self.unchanged.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            finished: self.finished.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn add_fetched(&self, n: u64) {
        self.fetched.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_mapped(&self, n: u64) {
        self.mapped.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_loaded(&self, upserted: u64, unchanged: u64, failed: u64) {
        self.upserted.fetch_add(upserted, Ordering::Relaxed);
        self.unchanged.fetch_add(unchanged, Ordering::Relaxed);
        self.failed.fetch_add(failed, Ordering::Relaxed);
    }

    pub(crate) fn finish(&self) {
        self.finished.store(true, Ordering::Relaxed);
    }
}
