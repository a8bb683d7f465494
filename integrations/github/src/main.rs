//! The `ocean-github` program: the SDK's entry point around [`ocean_github::Github`] — command
//! line (`ocean sail`'s flags), settings (the GitHub credentials are checked there, naming their
//! variables), logs and the lifecycle; this file only builds the integration from its typed
//! configuration.
//!
//! mimalloc is the allocator, as for every integration: musl's (the static build) is slow under
//! concurrent allocation.

use ocean_github::{Github, GithubConfig};
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ocean::run(
        ocean::manifest!("github-ocean"),
        |config: GithubConfig| async move { Ok(Github::new(config)?) },
    )
}
