//! `ocean version`: this tool's version (the SDK's: they are released together).

use clap::{Arg, ArgAction, ArgMatches, Command};
use std::process::ExitCode;

/// Declares `ocean version`.
pub fn cli() -> Command {
    Command::new("version")
        .about("Print the version of ocean (and of the SDK it ships with)")
        .arg(
            Arg::new("short")
                .short('s')
                .long("short")
                .action(ArgAction::SetTrue)
                .help("Print only the version number"),
        )
}

/// Runs `ocean version`.
pub fn exec(args: &ArgMatches) -> anyhow::Result<ExitCode> {
    println!("{}", ocean_cli::version_line(args.get_flag("short")));
    Ok(ExitCode::SUCCESS)
}
