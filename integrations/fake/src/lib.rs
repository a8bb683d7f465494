//! `ocean-fake`: an integration whose third party is a generator, for the demo, tests and the
//! end-to-end benchmark.
//!
//! It serves four kinds: `team`, `service` (owned by a team), `deployment` (of a service) — a
//! small related catalog that shows relations in Port — and `item`, the benchmark workload's
//! records (`tests/bench-workload/datagen.py`, ported record for record). How many of each is set in its
//! configuration ([`FakeConfig`]). It talks to nothing: no network, no files, no clock, so it
//! isolates Ocean's own cost and behaviour.
//!
//! The binary (`src/main.rs`) is the SDK's entry point around [`Fake`]; this library exists so
//! that tests can run the integration in process.

pub mod catalog;
pub mod config;
pub mod integration;
pub mod items;
pub mod webhook;

pub use config::{FakeConfig, InvalidConfig};
pub use integration::{Fake, KINDS};
