//! `ONCE` (docs/lifecycle.md §5.2): one full resync with state reporting, then done. The caller exits
//! the process; shutdown during the resync aborts it (nothing deleted, `aborted` reported).

use super::{EventListener, ListenerContext, ListenerExit};
use crate::coordinator::Trigger;
use crate::report::AbortReason;

/// Runs one resync.
#[derive(Debug, Clone, Copy, Default)]
pub struct Once;

#[async_trait::async_trait]
impl EventListener for Once {
    fn name(&self) -> &'static str {
        "ONCE"
    }

    async fn run(&self, ctx: ListenerContext) -> ListenerExit {
        let Some(handle) = ctx.coordinator.trigger(Trigger::Startup).await else {
            return ListenerExit::Stopped;
        };
        tokio::select! {
            report = handle.wait() => ListenerExit::Finished(report),
            _ = ctx.shutdown.cancelled() => {
                handle.cancel(AbortReason::Shutdown);
                ListenerExit::Finished(handle.wait().await)
            }
        }
    }
}
