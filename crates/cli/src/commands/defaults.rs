//! `ocean defaults dock|clean [PATH]` (the body is `ocean_cli::defaults`).

use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};
use ocean_cli::defaults::{Action, DefaultsOptions};
use std::path::PathBuf;
use std::process::ExitCode;

fn path_arg() -> Arg {
    Arg::new("path")
        .value_name("PATH")
        .default_value(".")
        .value_parser(value_parser!(PathBuf))
        .help("The integration folder (it holds .port/spec.yaml)")
}

fn profile_arg() -> Arg {
    Arg::new("profile")
        .long("profile")
        .value_name("PROFILE")
        .default_value("release")
        .help("The cargo profile to build the integration with inside a workspace")
}

fn flag(name: &'static str, short: char, help: &'static str) -> Arg {
    Arg::new(name)
        .short(short)
        .long(name)
        .action(ArgAction::SetTrue)
        .help(help)
}

/// Declares `ocean defaults`.
pub fn cli() -> Command {
    Command::new("defaults")
        .about("Create (dock) or delete (clean) an integration's default resources in Port")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(
            Command::new("dock")
                .about("Create what is missing of the default blueprints, mapping and other resources of .port/resources, without a resync")
                .arg(path_arg())
                .arg(profile_arg()),
        )
        .subcommand(
            Command::new("clean")
                .about("Delete the default blueprints of .port/resources from Port")
                .arg(path_arg())
                .arg(flag("force", 'f', "Delete each default blueprint with all its entities"))
                .arg(flag("wait", 'w', "With --force or --destroy: wait until Port has deleted the entities"))
                .arg(flag("destroy", 'd', "Delete the integration from Port too (implies --force)"))
                .arg(flag("yes", 'y', "Do not ask for confirmation"))
                .arg(profile_arg()),
        )
}

/// Runs `ocean defaults`.
pub fn exec(args: &ArgMatches) -> anyhow::Result<ExitCode> {
    let (name, sub) = args.subcommand().expect("a subcommand is required");
    let action = if name == "dock" {
        Action::Dock
    } else {
        Action::Clean
    };
    let flag = |id: &str| action == Action::Clean && sub.get_flag(id);
    ocean_cli::defaults::defaults(&DefaultsOptions {
        path: sub
            .get_one::<PathBuf>("path")
            .expect("has a default")
            .clone(),
        action,
        force: flag("force"),
        wait: flag("wait"),
        destroy: flag("destroy"),
        yes: flag("yes"),
        profile: sub
            .get_one::<String>("profile")
            .expect("has a default")
            .clone(),
    })
}
