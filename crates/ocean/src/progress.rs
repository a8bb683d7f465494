//! The live progress display of `--once` runs on a terminal: one line per kind with items
//! fetched, mapped, upserted, unchanged and failed, and the rate, on stderr.
//!
//! It only reads the engine's relaxed counters a few times a second; it never slows the
//! pipeline and is not shown when logs are JSON or stderr is not a terminal.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use ocean_lifecycle::Coordinator;

use crate::logging::ProgressSlot;

/// Follows the coordinator's resyncs and draws their progress until the process ends.
pub(crate) async fn display(coordinator: Arc<Coordinator>, slot: ProgressSlot) {
    let mut resyncs = coordinator.subscribe();
    loop {
        let handle = resyncs.borrow_and_update().clone();
        if let Some(handle) = handle {
            show(&handle, &slot).await;
        }
        if resyncs.changed().await.is_err() {
            return;
        }
    }
}

async fn show(handle: &ocean_lifecycle::ResyncHandle, slot: &ProgressSlot) {
    let bars = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(8));
    *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(bars.clone());
    let style = ProgressStyle::with_template("{spinner:.cyan} {prefix:<22.bold} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let mut lines: HashMap<usize, ProgressBar> = HashMap::new();
    let progress = handle.progress().clone();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let done = handle.wait();
    tokio::pin!(done);
    loop {
        let finished = tokio::select! {
            _ = tick.tick() => false,
            _ = &mut done => true,
        };
        for kind in progress.kinds() {
            let bar = lines.entry(kind.index).or_insert_with(|| {
                let bar = bars.add(ProgressBar::new_spinner());
                bar.set_style(style.clone());
                bar.set_prefix(format!("{}#{}", kind.kind, kind.index));
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            });
            if bar.is_finished() {
                continue;
            }
            let s = kind.snapshot();
            let seconds = kind.started().elapsed().as_secs_f64().max(0.001);
            bar.set_message(format!(
                "fetched {:>9}  mapped {:>9}  upserted {:>9}  unchanged {:>9}  failed {:>6}  {:>8.0} items/s",
                s.fetched,
                s.mapped,
                s.upserted,
                s.unchanged,
                s.failed,
                s.fetched as f64 / seconds
            ));
            if s.finished {
                bar.finish();
            }
        }
        if finished {
            break;
        }
    }
    for bar in lines.values() {
        if !bar.is_finished() {
            bar.finish();
        }
    }
    *slot.lock().unwrap_or_else(|e| e.into_inner()) = None;
}
