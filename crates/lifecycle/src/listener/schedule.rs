//! The scheduled resync (docs/lifecycle.md §6): with `scheduled_resync_interval` set, a full resync
//! every interval — the first one after a full interval — whatever the listener type.
//!
//! Each one goes through the [`Coordinator`], so it supersedes a running resync (which reports
//! `aborted` first) and is superseded the same way; its state is reported like any other, with
//! `nextResync` and `intervalInMinuets` counted from when this timer started.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::coordinator::{Coordinator, Trigger};

/// Resyncs every `interval` until `shutdown`.
pub async fn run_schedule(
    coordinator: Arc<Coordinator>,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let interval = interval.max(Duration::from_millis(10));
    coordinator.set_schedule_start(OffsetDateTime::now_utc());
    tracing::info!(
        minutes = interval.as_secs_f64() / 60.0,
        "Scheduled resyncs enabled (scheduled_resync_interval)"
    );
    let mut next = tokio::time::Instant::now() + interval;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = shutdown.cancelled() => return,
        }
        next += interval;
        tracing::info!("Scheduled resync due");
        if coordinator.request(Trigger::Schedule).is_none() {
            return;
        }
    }
}
