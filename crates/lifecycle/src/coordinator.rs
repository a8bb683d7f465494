//! One resync at a time. Every trigger — the ONCE and POLLING listeners now, the scheduled
//! resync, webhooks and Kafka later — asks the [`Coordinator`], which reports the resync state to
//! Port around each run (docs/lifecycle.md §4.4): `running` before, then `completed`, `failed` or
//! `aborted`.
//!
//! A new request supersedes a running resync: the running one is cancelled, and the coordinator
//! **waits for it to finish and report `aborted`** before the new one reports `running`. The
//! reference cancels and starts the new resync without waiting, so the old run's late `aborted`
//! can overwrite the new run's `running` in Port; here the order in Port is always
//! `aborted`, `running`, then the final state.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ocean_port_client::{PortClient, ResyncStateUpdate, ResyncStatus};
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::metrics::ResyncFinished;
use crate::pipeline::{self, ResyncCancel};
use crate::progress::ResyncProgress;
use crate::report::{AbortReason, DeletionReport, ResyncOutcome, ResyncReport};
use crate::services::Services;

/// What asked for a resync (for logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The process started (ONCE, or POLLING's `resync_on_start`).
    Startup,
    /// Port recorded a resync request (POLLING).
    Request,
    /// The scheduled interval elapsed.
    Schedule,
    /// An authenticated `POST /resync` (the WEBHOOK listener).
    Webhook,
    /// Code asked (tests, embedding).
    Manual,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Startup => "startup",
            Trigger::Request => "resync request",
            Trigger::Schedule => "schedule",
            Trigger::Webhook => "POST /resync",
            Trigger::Manual => "manual",
        }
    }
}

struct Running {
    cancel: ResyncCancel,
    task: JoinHandle<()>,
    done: watch::Receiver<Option<Arc<ResyncReport>>>,
}

/// A started resync: wait for its report or cancel it.
#[derive(Clone)]
pub struct ResyncHandle {
    id: String,
    cancel: ResyncCancel,
    done: watch::Receiver<Option<Arc<ResyncReport>>>,
    progress: Arc<ResyncProgress>,
}

impl ResyncHandle {
    /// The resync's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Live counters of the resync.
    pub fn progress(&self) -> &Arc<ResyncProgress> {
        &self.progress
    }

    /// Cancels it (it reports `aborted`).
    pub fn cancel(&self, reason: AbortReason) {
        self.cancel.cancel(reason);
    }

    /// Waits until the resync has finished and its final state was reported to Port.
    pub async fn wait(&self) -> Arc<ResyncReport> {
        let mut done = self.done.clone();
        loop {
            if let Some(report) = done.borrow_and_update().clone() {
                return report;
            }
            if done.changed().await.is_err() {
                // The task is gone without a report (it panicked): say so as an abort.
                return Arc::new(lost_report(&self.id));
            }
        }
    }
}

fn lost_report(id: &str) -> ResyncReport {
    ResyncReport {
        id: id.to_owned(),
        started_at: OffsetDateTime::now_utc(),
        duration: Duration::ZERO,
        kinds: Vec::new(),
        deletion: DeletionReport::default(),
        outcome: ResyncOutcome::Aborted(AbortReason::Cancelled),
    }
}

/// Serialises resyncs and reports their state.
pub struct Coordinator {
    services: Arc<Services>,
    client: PortClient,
    interval_minutes: Option<u64>,
    schedule_start: Mutex<OffsetDateTime>,
    current: tokio::sync::Mutex<Option<Running>>,
    closed: Mutex<bool>,
    watermark: Mutex<Option<String>>,
    running_watermark: Mutex<Option<String>>,
    latest: watch::Sender<Option<ResyncHandle>>,
}

impl Coordinator {
    /// A coordinator running resyncs with `services`; `interval_minutes`
    /// (`scheduled_resync_interval`) fills `nextResync` and `intervalInMinuets` in the state
    /// reports.
    pub(crate) fn new(services: Arc<Services>, interval_minutes: Option<u64>) -> Self {
        let client = services.client.clone();
        Coordinator {
            services,
            client,
            interval_minutes,
            schedule_start: Mutex::new(OffsetDateTime::now_utc()),
            current: tokio::sync::Mutex::new(None),
            closed: Mutex::new(false),
            watermark: Mutex::new(None),
            running_watermark: Mutex::new(None),
            latest: watch::channel(None).0,
        }
    }

    /// The services resyncs run with.
    pub(crate) fn services(&self) -> &Arc<Services> {
        &self.services
    }

    /// `resyncState.updatedAt` as Port returned it for the latest state report (the POLLING
    /// listener's integration-state watermark).
    pub fn state_watermark(&self) -> Option<String> {
        self.watermark
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// `resyncState.updatedAt` as Port returned it for the latest `running` report: when, in
    /// Port's clock, the latest resync started.
    pub fn running_watermark(&self) -> Option<String> {
        self.running_watermark
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The scheduled resync's timer started at `at`: `nextResync` is counted from it.
    pub fn set_schedule_start(&self, at: OffsetDateTime) {
        *self
            .schedule_start
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = at;
    }

    fn schedule_start(&self) -> OffsetDateTime {
        *self
            .schedule_start
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The scheduled resync interval in minutes, if any.
    pub fn interval_minutes(&self) -> Option<u64> {
        self.interval_minutes
    }

    /// Whether [`Coordinator::shutdown`] was called (no resync starts any more).
    pub fn is_closed(&self) -> bool {
        *self.closed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks for a resync without waiting for it to start (a running one is first cancelled
    /// and reports `aborted`, in the background). Returns the id the resync will have; `None`
    /// once shut down.
    pub fn request(self: &Arc<Self>, trigger: Trigger) -> Option<String> {
        if self.is_closed() {
            return None;
        }
        let id = uuid::Uuid::new_v4().to_string();
        let this = self.clone();
        let started = id.clone();
        tokio::spawn(async move {
            this.trigger_with_id(trigger, started).await;
        });
        Some(id)
    }

    /// Follows the latest started resync (for progress displays).
    pub fn subscribe(&self) -> watch::Receiver<Option<ResyncHandle>> {
        self.latest.subscribe()
    }

    /// Starts a resync, first cancelling a running one and waiting until it has reported
    /// `aborted`. `None` once the coordinator is shut down.
    pub async fn trigger(self: &Arc<Self>, trigger: Trigger) -> Option<ResyncHandle> {
        self.trigger_with_id(trigger, uuid::Uuid::new_v4().to_string())
            .await
    }

    /// [`Coordinator::trigger`] with the id the resync gets.
    pub async fn trigger_with_id(
        self: &Arc<Self>,
        trigger: Trigger,
        id: String,
    ) -> Option<ResyncHandle> {
        let mut current = self.current.lock().await;
        if *self.closed.lock().unwrap_or_else(|e| e.into_inner()) {
            return None;
        }
        if let Some(running) = current.as_mut() {
            if running.done.borrow().is_none() {
                tracing::warn!(
                    trigger = trigger.as_str(),
                    "Aborting the running resync: a newer resync request supersedes it"
                );
                running.cancel.cancel(AbortReason::Superseded);
            }
            // Kept in `current` while waiting: if this call is dropped (shutdown), `shutdown`
            // still finds the run and waits for its `aborted` report.
            if !running.task.is_finished() {
                let _ = (&mut running.task).await;
            }
        }
        let cancel = ResyncCancel::new();
        let progress = Arc::new(ResyncProgress::new(id.clone()));
        let (done_tx, done_rx) = watch::channel(None);
        tracing::info!(trigger = trigger.as_str(), resync_id = %id, "Starting a full resync");
        let task = tokio::spawn({
            let this = self.clone();
            let id = id.clone();
            let cancel = cancel.clone();
            let progress = progress.clone();
            async move {
                let report = this.run_and_report(&id, &cancel, progress).await;
                let _ = done_tx.send(Some(Arc::new(report)));
            }
        });
        let handle = ResyncHandle {
            id,
            cancel: cancel.clone(),
            done: done_rx.clone(),
            progress,
        };
        *current = Some(Running {
            cancel,
            task,
            done: done_rx,
        });
        self.latest.send_replace(Some(handle.clone()));
        Some(handle)
    }

    /// Whether a resync is running.
    pub async fn is_running(&self) -> bool {
        let current = self.current.lock().await;
        current.as_ref().is_some_and(|r| r.done.borrow().is_none())
    }

    /// Refuses new resyncs, cancels the running one (it reports `aborted`) and waits up to
    /// `grace` for it. A run that does not stop in time is dropped and reported `aborted` here.
    pub async fn shutdown(&self, grace: Duration) {
        *self.closed.lock().unwrap_or_else(|e| e.into_inner()) = true;
        let mut current = self.current.lock().await;
        let Some(mut running) = current.take() else {
            return;
        };
        if running.done.borrow().is_some() || running.task.is_finished() {
            return;
        }
        tracing::warn!("Shutting down: aborting the running resync");
        running.cancel.cancel(AbortReason::Shutdown);
        if tokio::time::timeout(grace, &mut running.task)
            .await
            .is_err()
        {
            running.task.abort();
            tracing::warn!("The resync did not stop in time; reporting it aborted");
            self.report_state(ResyncStateUpdate::after_resync(
                ResyncStatus::Aborted,
                OffsetDateTime::now_utc(),
                self.interval_minutes,
                self.schedule_start(),
            ))
            .await;
        }
    }

    async fn run_and_report(
        &self,
        id: &str,
        cancel: &ResyncCancel,
        progress: Arc<ResyncProgress>,
    ) -> ResyncReport {
        self.report_state(ResyncStateUpdate::before_resync(
            OffsetDateTime::now_utc(),
            self.interval_minutes,
            self.schedule_start(),
        ))
        .await;
        let report = pipeline::run(&self.services, id, cancel, progress).await;
        self.services.metrics.emit(ResyncFinished {
            outcome: report.status().as_str(),
            duration: report.duration,
        });
        self.report_state(ResyncStateUpdate::after_resync(
            report.status(),
            OffsetDateTime::now_utc(),
            self.interval_minutes,
            self.schedule_start(),
        ))
        .await;
        report
    }

    async fn report_state(&self, update: ResyncStateUpdate) {
        match self.client.update_resync_state(&update).await {
            Ok(watermark) => {
                if watermark.is_some() {
                    if update.status == ResyncStatus::Running {
                        *self
                            .running_watermark
                            .lock()
                            .unwrap_or_else(|e| e.into_inner()) = watermark.clone();
                    }
                    *self.watermark.lock().unwrap_or_else(|e| e.into_inner()) = watermark;
                }
            }
            Err(error) => tracing::error!(
                status = update.status.as_str(),
                %error,
                "Could not report the resync state to Port"
            ),
        }
    }
}
