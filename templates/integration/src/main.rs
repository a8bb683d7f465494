//! The `ocean-{{ project-name }}` program. Ocean does the rest: the command line (`--once`,
//! `--print-config`, …), settings, logs, Port, mapping, resyncs and shutdown.
//!
//! mimalloc is the allocator: musl's (the static build that ships) is slow under concurrent
//! allocation, and mimalloc keeps the glibc and musl builds alike.

use ocean_{{ crate_name }}::{{ "{" }}{{ project-name | pascal_case }}, {{ project-name | pascal_case }}Config};
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Ocean loads and validates the settings, deserialises `integration.config` into the typed
    // config, and builds the integration with it.
    ocean::run(
        ocean::manifest!("{{ project-name }}"),
        |config: {{ project-name | pascal_case }}Config| async move { Ok({{ project-name | pascal_case }}::new(config)?) },
    )
}
