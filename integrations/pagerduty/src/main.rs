//! The `ocean-pagerduty` program: the SDK's entry point around [`ocean_pagerduty::PagerDuty`] —
//! command line (`ocean sail`'s flags), settings (a missing `token` is refused there, naming
//! `OCEAN__INTEGRATION__CONFIG__TOKEN`), logs and the lifecycle; this file only builds the
//! integration from its typed configuration.
//!
//! mimalloc is the allocator, as for every integration: musl's (the static build) is slow under
//! concurrent allocation.

use ocean_pagerduty::{PagerDuty, PagerDutyConfig, RetryPolicy};
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ocean::run_with(
        ocean::manifest!("pagerduty"),
        |config: PagerDutyConfig, context| async move {
            Ok(PagerDuty::with_context(
                config,
                RetryPolicy::default(),
                &context,
            )?)
        },
    )
}
