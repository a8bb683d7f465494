//! The `ocean-fake` program: the SDK's entry point around [`ocean_fake::Fake`] — command line
//! (`ocean sail`'s flags), settings, logs, and the lifecycle; this file only builds the
//! integration from its typed configuration.
//!
//! mimalloc is the allocator: musl's (the static build) is slow under concurrent allocation, and
//! mimalloc keeps the glibc and musl builds alike.

use ocean_fake::{Fake, FakeConfig};
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ocean::run(ocean::manifest!("fake"), |config: FakeConfig| async move {
        config.validate()?;
        Ok(Fake::new(config))
    })
}
