//! The `ocean-custom` program: the SDK's entry point around [`ocean_custom::Custom`] — command
//! line, settings (`OCEAN__INTEGRATION__CONFIG__BASE_URL`, …), logs and the lifecycle; this file
//! only builds the integration from its typed configuration.
//!
//! mimalloc is the allocator, as for every integration: musl's (the static build) is slow under
//! concurrent allocation.

use ocean_custom::{Custom, CustomConfig, RetryPolicy};
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ocean::run_with(
        ocean::manifest!("custom"),
        |config: CustomConfig, context| async move {
            Ok(Custom::with_context(
                config,
                RetryPolicy::default(),
                &context,
            )?)
        },
    )
}
