//! Event listeners: what decides *when* a resync runs (docs/lifecycle.md §5). Each listener runs
//! until it is done (ONCE) or the process shuts down, and starts resyncs only through the
//! [`Coordinator`], which keeps them one at a time.
//!
//! Implemented: [`Once`], [`Polling`], [`Idle`] for the listener types that never resync
//! (`WEBHOOKS_ONLY`, `ACTIONS_ONLY`), [`Webhook`] (its `POST /resync` is served by
//! [`crate::http`]), and `Kafka` with the `kafka` feature (without it, [`listener_for`] refuses
//! `KAFKA`). The scheduled resync ([`schedule`]) runs beside any of them.

#[cfg(feature = "kafka")]
pub mod kafka;
mod once;
mod polling;
pub mod schedule;
mod webhook;

use std::sync::Arc;

use ocean_config::{EventListener as ListenerSettings, EventListenerSettings};
use ocean_port_client::PortClient;
use tokio_util::sync::CancellationToken;

use crate::coordinator::Coordinator;
use crate::report::ResyncReport;

#[cfg(feature = "kafka")]
pub use kafka::Kafka;
pub use once::Once;
pub use polling::Polling;
pub use webhook::Webhook;

/// What a listener works with.
#[derive(Clone)]
pub struct ListenerContext {
    /// Every resync goes through it.
    pub coordinator: Arc<Coordinator>,
    /// The Port client (e.g. to poll for resync requests).
    pub client: PortClient,
    /// Cancelled when the process shuts down.
    pub shutdown: CancellationToken,
}

/// How a listener ended.
#[derive(Debug, Clone)]
pub enum ListenerExit {
    /// It ran its one resync (ONCE).
    Finished(Arc<ResyncReport>),
    /// It stopped because of shutdown.
    Stopped,
    /// It could not run (e.g. KAFKA could not reach what it needs); the reason is one line.
    Failed(String),
}

/// Decides when resyncs run.
#[async_trait::async_trait]
pub trait EventListener: Send + Sync {
    /// The listener type, for logs (`POLLING`).
    fn name(&self) -> &'static str;

    /// Runs until done or until `ctx.shutdown` is cancelled.
    async fn run(&self, ctx: ListenerContext) -> ListenerExit;
}

/// Never resyncs (`WEBHOOKS_ONLY`, `ACTIONS_ONLY`, or any listener with `should_resync: false`):
/// waits for shutdown, except a ONCE listener, which is done at once.
#[derive(Debug, Clone, Copy)]
pub struct Idle(pub &'static str);

#[async_trait::async_trait]
impl EventListener for Idle {
    fn name(&self) -> &'static str {
        self.0
    }

    async fn run(&self, ctx: ListenerContext) -> ListenerExit {
        tracing::info!(
            listener = self.0,
            "This event listener does not run resyncs"
        );
        ctx.shutdown.cancelled().await;
        ListenerExit::Stopped
    }
}

/// A listener type this build does not include (KAFKA without the `kafka` feature).
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "the {0} event listener is not in this build: it is the `kafka` Cargo feature (build with \
     `--features kafka`, or `make static FEATURES=kafka`); or choose POLLING, WEBHOOK, \
     WEBHOOKS_ONLY or ONCE (OCEAN__EVENT_LISTENER__TYPE)"
)]
pub struct UnsupportedListener(pub &'static str);

/// The listener the settings ask for.
pub fn listener_for(
    settings: &EventListenerSettings,
) -> Result<Box<dyn EventListener>, UnsupportedListener> {
    let name = settings.listener_type().as_str();
    if !settings.should_resync {
        return Ok(Box::new(Idle(name)));
    }
    match &settings.listener {
        ListenerSettings::Once => Ok(Box::new(Once)),
        ListenerSettings::Polling(p) => Ok(Box::new(Polling::new(p.clone()))),
        ListenerSettings::WebhooksOnly | ListenerSettings::ActionsOnly => Ok(Box::new(Idle(name))),
        #[cfg(feature = "kafka")]
        ListenerSettings::Kafka(k) => Ok(Box::new(Kafka::new(k.clone()))),
        #[cfg(not(feature = "kafka"))]
        ListenerSettings::Kafka(_) => Err(UnsupportedListener("KAFKA")),
        ListenerSettings::Webhook(_) => Ok(Box::new(Webhook)),
    }
}
