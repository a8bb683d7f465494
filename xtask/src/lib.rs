//! Ocean's developer tasks, run as `cargo xtask <task>` (the alias lives in `.cargo/config.toml`)
//! and behind the Makefile's `demo`, `bench`, `static`, `image` and `check-integrations` targets.
//!
//! Logic that outgrows a Makefile line lives here, in Rust, where it is tested: building with
//! cargo and finding the executables, running the Port emulator and an integration as child
//! processes that never outlive the task, measuring a run (wall time, CPU, peak RSS), static
//! builds, a model of the container images, and the integration folder layout.
//!
//! The library is the `xtask` binary's body, split out so that tests reach it; like a binary it
//! reports errors with `anyhow`, each with what it was doing.
//!
//! Not here: anything integrations or the runtime need at run time (this crate is never
//! published or shipped), and anything needing the network beyond 127.0.0.1 and `rustup`.

pub mod bench;
pub mod bench_custom;
pub mod bench_github;
pub mod bench_pagerduty;
pub mod browser;
pub mod cargo;
pub mod demo;
pub mod docker;
pub mod emulator;
pub mod fixture;
pub mod layout;
pub mod lint;
pub mod map_bench;
pub mod measure;
pub mod process;
pub mod python_ocean;
pub mod release;
pub mod run;
pub mod run_local;
pub mod static_build;
pub mod tools;
pub mod workflows;
pub mod workspace;

pub use workspace::Workspace;
