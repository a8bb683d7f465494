//! The subcommands of `ocean`, one module each (`cli()` declares, `exec()` runs).

pub mod check;
pub mod completions;
pub mod defaults;
pub mod list;
pub mod map;
pub mod new;
pub mod plan;
pub mod playground;
pub mod sail;
pub mod test;
pub mod version;

use clap::{ArgMatches, Command};
use std::process::ExitCode;

/// The whole command line.
pub fn cli() -> Command {
    Command::new("ocean")
        .about("Ocean: Port integrations, their mappings and their tools")
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(sail::cli())
        .subcommand(new::cli())
        .subcommand(list::cli())
        .subcommand(defaults::cli())
        .subcommand(map::cli())
        .subcommand(check::cli())
        .subcommand(test::cli())
        .subcommand(plan::cli())
        .subcommand(playground::cli())
        .subcommand(version::cli())
        .subcommand(completions::cli())
}

/// Runs the subcommand `name`.
pub fn exec(name: &str, args: &ArgMatches) -> anyhow::Result<ExitCode> {
    match name {
        "check" => check::exec(args),
        "completions" => completions::exec(args),
        "defaults" => defaults::exec(args),
        "list" => list::exec(args),
        "map" => map::exec(args),
        "new" => new::exec(args),
        "plan" => plan::exec(args),
        "playground" => playground::exec(args),
        "sail" => sail::exec(args),
        "test" => test::exec(args),
        "version" => version::exec(args),
        other => anyhow::bail!("unknown command {other}"),
    }
}
