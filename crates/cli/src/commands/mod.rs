//! The subcommands of `ocean`, one module each (`cli()` declares, `exec()` runs).

pub mod map;
pub mod new;
pub mod playground;

use clap::{ArgMatches, Command};
use std::process::ExitCode;

/// The whole command line.
pub fn cli() -> Command {
    Command::new("ocean")
        .about("Ocean: Port integrations, their mappings and their tools")
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(map::cli())
        .subcommand(new::cli())
        .subcommand(playground::cli())
}

/// Runs the subcommand `name`.
pub fn exec(name: &str, args: &ArgMatches) -> anyhow::Result<ExitCode> {
    match name {
        "map" => map::exec(args),
        "new" => new::exec(args),
        "playground" => playground::exec(args),
        other => anyhow::bail!("unknown command {other}"),
    }
}
