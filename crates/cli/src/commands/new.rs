//! `ocean new`: scaffold a new integration into `integrations/<slug>/` of the Ocean workspace
//! (the body is `ocean_cli::scaffold`).

use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};
use ocean_cli::scaffold::{Given, NewRequest};
use std::path::PathBuf;
use std::process::ExitCode;

/// Declares `ocean new`.
pub fn cli() -> Command {
    Command::new("new")
        .about("Scaffold a new integration into integrations/<NAME> of the Ocean workspace")
        .long_about(
            "Creates integrations/<NAME>/ from the workspace's templates/integration/: a package \
             ocean-<NAME> with a typed config, an API client, the .port folder, a Makefile, a \
             Dockerfile and a test that resyncs it against the Port emulator. Asks for whatever \
             the options do not give, unless --no-interactive is set or there is no terminal.",
        )
        .arg(
            Arg::new("name")
                .value_name("NAME")
                .help("The integration's slug: lowercase letters, digits and hyphens (e.g. my-system)"),
        )
        .arg(
            Arg::new("path")
                .long("path")
                .value_name("DIR")
                .value_parser(value_parser!(PathBuf))
                .help("The Ocean workspace to add it to (default: the one around the current directory)"),
        )
        .arg(
            Arg::new("title")
                .long("title")
                .value_name("TEXT")
                .help("Display name of the third-party system (default: from NAME, e.g. My System)"),
        )
        .arg(
            Arg::new("description")
                .long("description")
                .value_name("TEXT")
                .help("One-line description (default: \"<title> integration for Port\")"),
        )
        .arg(
            Arg::new("kind")
                .long("kind")
                .value_name("KIND")
                .help("The first kind it syncs, as the API lists it (default: project)"),
        )
        .arg(
            Arg::new("webhook")
                .long("webhook")
                .action(ArgAction::SetTrue)
                .conflicts_with("no-webhook")
                .help("Include a webhook processor for live events"),
        )
        .arg(
            Arg::new("no-webhook")
                .long("no-webhook")
                .action(ArgAction::SetTrue)
                .help("Do not include a webhook processor (the default)"),
        )
        .arg(
            Arg::new("no-interactive")
                .long("no-interactive")
                .action(ArgAction::SetTrue)
                .help("Never prompt: NAME is required, everything else takes its default"),
        )
}

/// Runs `ocean new`.
pub fn exec(args: &ArgMatches) -> anyhow::Result<ExitCode> {
    ocean_cli::scaffold::new_integration(NewRequest {
        workspace: args.get_one::<PathBuf>("path").cloned(),
        given: Given {
            slug: args.get_one::<String>("name").cloned(),
            title: args.get_one::<String>("title").cloned(),
            description: args.get_one::<String>("description").cloned(),
            kind: args.get_one::<String>("kind").cloned(),
            webhook: match (args.get_flag("webhook"), args.get_flag("no-webhook")) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            },
        },
        no_interactive: args.get_flag("no-interactive"),
    })
}
