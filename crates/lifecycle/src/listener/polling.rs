//! `POLLING` (docs/lifecycle.md §5.1): check Port for resync requests every `interval` seconds and
//! resync when a new one appears; optionally resync once when a fresh process starts.
//!
//! A check runs at start and then `interval` after each check completes; the resync itself runs
//! in the coordinator's task, so polling continues during it and a newer request supersedes it
//! (the coordinator reports the old one `aborted` before the new one starts).
//!
//! Watermarks ([`PollState`]): a request triggers when its `updatedAt` is strictly newer than the
//! baseline — the last request acted on, else the start of the startup resync, else the
//! integration-state watermark (`resyncState.updatedAt` of the latest state report). One
//! difference from the reference: after a startup resync the baseline is the time (in Port's
//! clock) that resync started, where the reference uses an empty baseline, so there any pending
//! request — even one older than the startup resync — causes a second, redundant resync.

use std::time::Duration;

use ocean_config::PollingSettings;
use time::OffsetDateTime;
use time::format_description::well_known::{Iso8601, Rfc3339};

use super::{EventListener, ListenerContext, ListenerExit};
use crate::coordinator::Trigger;

/// Parses a Port timestamp (`2026-01-01T10:00:00.000Z`, any ISO-8601 with an offset).
pub fn parse_timestamp(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(text, &Iso8601::DEFAULT))
        .ok()
}

/// What polling remembers between checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollState {
    /// A startup resync was triggered.
    pub startup_resync: bool,
    /// When (Port's clock) the startup resync started, once known.
    pub startup_baseline: Option<String>,
    /// `updatedAt` of the last request acted on.
    pub last_request: Option<String>,
}

/// What one check decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollDecision {
    /// Resync for the request with this `updatedAt`.
    Request(String),
    /// Nothing to do.
    Nothing,
}

impl PollState {
    /// Whether this check should resync at startup, before looking at requests: a fresh
    /// process (no startup resync yet, no state reported) with `resync_on_start`.
    pub fn startup_due(&self, resync_on_start: bool, state_watermark: Option<&str>) -> bool {
        resync_on_start && !self.startup_resync && state_watermark.is_none_or(str::is_empty)
    }

    /// The decision for a pending request with `updated_at`, given the integration-state
    /// watermark.
    pub fn decide_request(
        &self,
        updated_at: Option<&str>,
        state_watermark: Option<&str>,
    ) -> PollDecision {
        let Some(updated_at) = updated_at else {
            return PollDecision::Nothing;
        };
        let Some(requested) = parse_timestamp(updated_at) else {
            return PollDecision::Nothing;
        };
        let baseline = self
            .last_request
            .as_deref()
            .or(self.startup_baseline.as_deref())
            .or(state_watermark);
        match baseline.and_then(parse_timestamp) {
            Some(baseline) if requested <= baseline => PollDecision::Nothing,
            _ => PollDecision::Request(updated_at.to_owned()),
        }
    }
}

/// The POLLING listener.
#[derive(Debug, Clone)]
pub struct Polling {
    settings: PollingSettings,
}

impl Polling {
    /// A listener with these settings.
    pub fn new(settings: PollingSettings) -> Self {
        Polling { settings }
    }

    async fn check(&self, ctx: &ListenerContext, state: &mut PollState) {
        let coordinator = &ctx.coordinator;
        if state.startup_resync && state.startup_baseline.is_none() {
            // The startup resync has reported `running` by now (it is the first thing it does).
            state.startup_baseline = coordinator.running_watermark();
        }
        let watermark = coordinator.state_watermark();
        if state.startup_due(self.settings.resync_on_start, watermark.as_deref()) {
            state.startup_resync = true;
            tracing::info!("Resyncing on startup (resync_on_start)");
            coordinator.trigger(Trigger::Startup).await;
            return;
        }
        let request = match ctx.client.resync_request().await {
            Ok(request) => request,
            Err(error) => {
                tracing::warn!(%error, "Could not check Port for resync requests");
                return;
            }
        };
        let updated_at = request.and_then(|r| r.updated_at);
        match state.decide_request(updated_at.as_deref(), watermark.as_deref()) {
            PollDecision::Request(at) => {
                tracing::info!(requested_at = %at, "Port requested a resync");
                state.last_request = Some(at);
                coordinator.trigger(Trigger::Request).await;
            }
            PollDecision::Nothing => {}
        }
    }
}

#[async_trait::async_trait]
impl EventListener for Polling {
    fn name(&self) -> &'static str {
        "POLLING"
    }

    async fn run(&self, ctx: ListenerContext) -> ListenerExit {
        let interval = Duration::from_secs(self.settings.interval.max(1));
        tracing::info!(
            interval_seconds = interval.as_secs(),
            "Polling Port for resync requests"
        );
        let mut state = PollState::default();
        loop {
            tokio::select! {
                _ = self.check(&ctx, &mut state) => {}
                _ = ctx.shutdown.cancelled() => return ListenerExit::Stopped,
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = ctx.shutdown.cancelled() => return ListenerExit::Stopped,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T1: &str = "2026-01-01T10:00:00.000Z";
    const T2: &str = "2026-01-01T10:05:00.000Z";
    const T3: &str = "2026-01-01T10:10:00Z";

    #[test]
    fn timestamps_parse_with_offsets_only() {
        assert!(parse_timestamp(T1).is_some());
        assert!(parse_timestamp("2026-01-01T10:00:00+02:00").is_some());
        assert!(parse_timestamp("not a date").is_none());
        assert!(parse_timestamp("").is_none());
        assert!(parse_timestamp(T1) < parse_timestamp(T3));
    }

    #[test]
    fn startup_resync_only_on_a_fresh_process() {
        let fresh = PollState::default();
        assert!(fresh.startup_due(true, None));
        assert!(fresh.startup_due(true, Some("")));
        assert!(!fresh.startup_due(false, None));
        assert!(!fresh.startup_due(true, Some(T1)));
        let after = PollState {
            startup_resync: true,
            ..PollState::default()
        };
        assert!(!after.startup_due(true, None));
    }

    #[test]
    fn requests_trigger_only_when_newer_than_the_baseline() {
        let check = |state: &PollState, req: Option<&str>, wm: Option<&str>, expected: bool| {
            let got = state.decide_request(req, wm);
            assert_eq!(
                got != PollDecision::Nothing,
                expected,
                "{state:?} request {req:?} watermark {wm:?}: {got:?}"
            );
        };
        let fresh = PollState::default();
        // Missing or invalid request timestamps never trigger.
        check(&fresh, None, None, false);
        check(&fresh, Some("garbage"), None, false);
        // No baseline at all: any valid request triggers.
        check(&fresh, Some(T1), None, true);
        check(&fresh, Some(T1), Some("garbage"), true);
        // Against the integration-state watermark: strictly newer only.
        check(&fresh, Some(T1), Some(T2), false);
        check(&fresh, Some(T2), Some(T2), false);
        check(&fresh, Some(T3), Some(T2), true);
        // The last request acted on wins over the watermark; the same one never triggers twice.
        let acted = PollState {
            last_request: Some(T2.to_owned()),
            ..PollState::default()
        };
        check(&acted, Some(T2), None, false);
        check(&acted, Some(T2), Some(T1), false);
        check(&acted, Some(T3), Some(T3), true);
        // After a startup resync: requests older than its start do not trigger, newer ones do.
        let started = PollState {
            startup_resync: true,
            startup_baseline: Some(T2.to_owned()),
            last_request: None,
        };
        check(&started, Some(T1), Some(T3), false);
        check(&started, Some(T3), Some("2026-01-01T11:00:00Z"), true);
    }
}
