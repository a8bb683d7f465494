//! `WEBHOOK` (docs/lifecycle.md §5.4): Port calls `POST <app_host>/resync` when a resync is wanted.
//!
//! The route itself is served by the HTTP server ([`crate::http`]), authenticated and answered
//! at once with `202 {"resyncId": …}` while the resync runs through the coordinator; this
//! listener only waits for shutdown. Python Ocean's route has no authentication and holds the
//! request until the resync ends.

use super::{EventListener, ListenerContext, ListenerExit};

/// The WEBHOOK listener.
#[derive(Debug, Clone, Copy, Default)]
pub struct Webhook;

#[async_trait::async_trait]
impl EventListener for Webhook {
    fn name(&self) -> &'static str {
        "WEBHOOK"
    }

    async fn run(&self, ctx: ListenerContext) -> ListenerExit {
        tracing::info!("Waiting for Port to call POST /resync");
        ctx.shutdown.cancelled().await;
        ListenerExit::Stopped
    }
}
