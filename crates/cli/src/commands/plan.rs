//! `ocean plan [PATH]`: `ocean sail --dry-run` — one resync planned, nothing written to Port.

use clap::{Arg, ArgMatches, Command, value_parser};
use std::path::PathBuf;
use std::process::ExitCode;

use super::sail::{plan_args, plan_passthrough};

/// Declares `ocean plan`.
pub fn cli() -> Command {
    Command::new("plan")
        .about("Show what a resync of the integration in PATH would do, writing nothing to Port")
        .long_about(
            "Runs the integration in PATH as `ocean sail --dry-run`: one full resync that reads \
             the third party and Port but writes nothing (no upsert, no delete, no resync state, \
             no default resources), then prints the plan: per blueprint, the entities to create, \
             to update (field by field), left unchanged and to delete, with the deletion \
             threshold's verdict and the kinds that failed. Exit code 2 when the plan deletes \
             more than --max-deletes entities, 1 when the resync would not complete.",
        )
        .arg(
            Arg::new("path")
                .value_name("PATH")
                .default_value(".")
                .value_parser(value_parser!(PathBuf))
                .help("The integration folder (it holds .port/spec.yaml)"),
        )
        .arg(
            Arg::new("log-level")
                .short('l')
                .long("log-level")
                .value_name("LEVEL")
                .default_value("WARNING")
                .help("DEBUG, INFO, WARNING, ERROR or CRITICAL (APPLICATION__LOG_LEVEL wins)"),
        )
        .arg(
            Arg::new("profile")
                .long("profile")
                .value_name("PROFILE")
                .default_value("release")
                .help("The cargo profile to build with inside a workspace"),
        )
        .args(plan_args())
}

/// Runs `ocean plan`.
pub fn exec(args: &ArgMatches) -> anyhow::Result<ExitCode> {
    let mut passthrough = vec!["--dry-run".to_owned()];
    if let Some(level) = args.get_one::<String>("log-level") {
        passthrough.extend(["--log-level".to_owned(), level.clone()]);
    }
    plan_passthrough(args, &mut passthrough);
    super::sail::run(args, passthrough)
}
