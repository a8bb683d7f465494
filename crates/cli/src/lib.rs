//! The body of the `ocean` command-line tool, as a library that tests reach.
//!
//! The binary (`src/main.rs` and `src/commands/`) only declares each subcommand's arguments with
//! clap and calls one function here. Like the binary, this library reports errors with `anyhow`,
//! each saying what it was doing and with what input: it is the tool's body, not an API other
//! crates build on.

pub mod scaffold;
pub mod workspace;
