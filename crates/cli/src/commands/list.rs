//! `ocean list`: the integrations of this workspace (the body is `ocean_cli::integration`).

use anyhow::Context;
use clap::{ArgMatches, Command};
use std::process::ExitCode;

/// Declares `ocean list`.
pub fn cli() -> Command {
    Command::new("list")
        .about("List this workspace's integrations: name, version, Kafka listener, kinds")
}

/// Runs `ocean list`.
pub fn exec(_args: &ArgMatches) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let workspace = ocean_cli::workspace::find_workspace(&cwd)?;
    let integrations = ocean_cli::integration::list(&workspace)?;
    print!("{}", ocean_cli::integration::table(&integrations));
    Ok(ExitCode::SUCCESS)
}
