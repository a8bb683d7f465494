//! Counters of what the client did, for the lifecycle to export to Prometheus: requests by
//! status code, transport errors, retries and the time they waited, token fetches, entities
//! upserted / failed / deleted.
//!
//! They are plain relaxed atomics bumped on the request path; reading them takes a
//! [`MetricsSnapshot`]. No labels beyond the status code: per-kind counts belong to the
//! lifecycle, which knows the kind.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Status codes 100–599 get their own counter; anything else is counted under 0.
const STATUS_SLOTS: usize = 600;

/// The live counters (shared by every clone of a client).
pub(crate) struct Counters {
    statuses: Box<[AtomicU64]>,
    transport_errors: AtomicU64,
    retries: AtomicU64,
    retry_wait_micros: AtomicU64,
    token_fetches: AtomicU64,
    entities_upserted: AtomicU64,
    entities_failed: AtomicU64,
    entities_deleted: AtomicU64,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            statuses: (0..STATUS_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            transport_errors: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            retry_wait_micros: AtomicU64::new(0),
            token_fetches: AtomicU64::new(0),
            entities_upserted: AtomicU64::new(0),
            entities_failed: AtomicU64::new(0),
            entities_deleted: AtomicU64::new(0),
        }
    }
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn response(&self, status: u16) {
        let slot = usize::from(status);
        let slot = if (100..STATUS_SLOTS).contains(&slot) {
            slot
        } else {
            0
        };
        bump(&self.statuses[slot], 1);
    }

    pub(crate) fn transport_error(&self) {
        bump(&self.transport_errors, 1);
    }

    pub(crate) fn retry(&self, wait: Duration) {
        bump(&self.retries, 1);
        bump(
            &self.retry_wait_micros,
            u64::try_from(wait.as_micros()).unwrap_or(u64::MAX),
        );
    }

    pub(crate) fn token_fetch(&self) {
        bump(&self.token_fetches, 1);
    }

    pub(crate) fn upserted(&self, n: usize) {
        bump(&self.entities_upserted, n as u64);
    }

    pub(crate) fn failed(&self, n: usize) {
        bump(&self.entities_failed, n as u64);
    }

    pub(crate) fn deleted(&self, n: usize) {
        bump(&self.entities_deleted, n as u64);
    }

    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let requests_by_status = self
            .statuses
            .iter()
            .enumerate()
            .filter_map(|(status, c)| {
                let n = read(c);
                (n > 0).then_some((status as u16, n))
            })
            .collect();
        MetricsSnapshot {
            requests_by_status,
            transport_errors: read(&self.transport_errors),
            retries: read(&self.retries),
            retry_wait: Duration::from_micros(read(&self.retry_wait_micros)),
            token_fetches: read(&self.token_fetches),
            entities_upserted: read(&self.entities_upserted),
            entities_failed: read(&self.entities_failed),
            entities_deleted: read(&self.entities_deleted),
        }
    }
}

/// A copy of the client's counters at one moment. All counts are totals since the client was
/// built (Prometheus counters).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// HTTP responses received, by status code (every attempt, retried or not; 0 = out of range).
    pub requests_by_status: BTreeMap<u16, u64>,
    /// Attempts that got no HTTP response (connect error, timeout, reset).
    pub transport_errors: u64,
    /// Retries made (each retry is one extra attempt).
    pub retries: u64,
    /// The total time retries were scheduled to wait (computed waits, not measured).
    pub retry_wait: Duration,
    /// Access tokens obtained (first fetch, expiry renewals and 401-triggered refreshes).
    pub token_fetches: u64,
    /// Entities Port confirmed as upserted.
    pub entities_upserted: u64,
    /// Entities whose upsert failed (per-entity errors, failed chunks, failed single upserts).
    pub entities_failed: u64,
    /// Entities Port reported as deleted.
    pub entities_deleted: u64,
}

impl MetricsSnapshot {
    /// All responses received, whatever their status.
    pub fn total_responses(&self) -> u64 {
        self.requests_by_status.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_counts_statuses_and_totals() {
        let c = Counters::default();
        c.response(200);
        c.response(200);
        c.response(429);
        c.response(42);
        c.retry(Duration::from_millis(300));
        c.retry(Duration::from_millis(600));
        c.upserted(5);
        let s = c.snapshot();
        assert_eq!(
            s.requests_by_status,
            BTreeMap::from([(0, 1), (200, 2), (429, 1)])
        );
        assert_eq!(s.total_responses(), 4);
        assert_eq!(s.retries, 2);
        assert_eq!(s.retry_wait, Duration::from_millis(900));
        assert_eq!(s.entities_upserted, 5);
    }
}
