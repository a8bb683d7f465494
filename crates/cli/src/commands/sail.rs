//! `ocean sail [PATH]`: run the integration in PATH as `make run` does there (the body is
//! `ocean_cli::sail`).

use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};
use ocean_cli::sail::SailOptions;
use std::path::PathBuf;
use std::process::ExitCode;

/// Declares `ocean sail`.
pub fn cli() -> Command {
    Command::new("sail")
        .about("Run the integration in PATH (build it if needed), against Port or a local emulator")
        .long_about(
            "Runs the integration in PATH (default: the current directory) as `make run` does \
             there: inside an Ocean workspace its package is built with cargo (release; nothing \
             to do when up to date), outside one the ocean-NAME executable on PATH is used. It \
             runs with PATH as its working directory. When neither the environment nor PATH/.env \
             configures Port (OCEAN__PORT__CLIENT_ID, …), a local Port emulator is started for \
             the run. The flags are Python Ocean's and are passed to the integration.",
        )
        .disable_version_flag(true)
        .arg(
            Arg::new("path")
                .value_name("PATH")
                .default_value(".")
                .value_parser(value_parser!(PathBuf))
                .help("The integration folder (it holds .port/spec.yaml)"),
        )
        .arg(
            Arg::new("once")
                .short('O')
                .long("once")
                .action(ArgAction::SetTrue)
                .help("Run one full resync and exit"),
        )
        .arg(
            Arg::new("log-level")
                .short('l')
                .long("log-level")
                .value_name("LEVEL")
                .help("DEBUG, INFO, WARNING, ERROR or CRITICAL (APPLICATION__LOG_LEVEL wins)"),
        )
        .arg(
            Arg::new("port")
                .short('p')
                .long("port")
                .value_name("PORT")
                .value_parser(value_parser!(u16))
                .help("The integration's HTTP port (APPLICATION__PORT wins)"),
        )
        .arg(
            Arg::new("initialize-port-resources")
                .short('i')
                .long("initialize-port-resources")
                .value_name("BOOL")
                .help("Create the default blueprints, mapping and other resources on first start"),
        )
        .arg(
            Arg::new("version")
                .long("version")
                .action(ArgAction::SetTrue)
                .help("Print the integration's version (and the SDK's) and exit"),
        )
        .arg(
            Arg::new("profile")
                .long("profile")
                .value_name("PROFILE")
                .default_value("release")
                .help("The cargo profile to build with inside a workspace"),
        )
        .arg(
            Arg::new("dry-run")
                .long("dry-run")
                .action(ArgAction::SetTrue)
                .conflicts_with("once")
                .help(
                    "Plan one resync without writing to Port and print the plan (see `ocean plan`)",
                ),
        )
        .args(plan_args())
}

/// The flags of a dry run's plan (`ocean sail --dry-run`, `ocean plan`), passed to the
/// integration.
pub fn plan_args() -> [Arg; 3] {
    [
        Arg::new("output")
            .long("output")
            .value_name("FORMAT")
            .value_parser(["text", "json"])
            .help("With a dry run: text (counts, then the first changes) or json"),
        Arg::new("show")
            .long("show")
            .value_name("N|all")
            .help("With a dry run: changes listed per blueprint (default 10)"),
        Arg::new("max-deletes")
            .long("max-deletes")
            .value_name("N")
            .value_parser(value_parser!(u64))
            .help("With a dry run: exit with code 2 when the plan deletes more than N entities"),
    ]
}

/// The passthrough flags of [`plan_args`].
pub fn plan_passthrough(args: &ArgMatches, passthrough: &mut Vec<String>) {
    for name in ["output", "show"] {
        if let Some(value) = args.get_one::<String>(name) {
            passthrough.extend([format!("--{name}"), value.clone()]);
        }
    }
    if let Some(max) = args.get_one::<u64>("max-deletes") {
        passthrough.extend(["--max-deletes".to_owned(), max.to_string()]);
    }
}

/// Runs `ocean sail`.
pub fn exec(args: &ArgMatches) -> anyhow::Result<ExitCode> {
    let mut passthrough = Vec::new();
    if args.get_flag("once") {
        passthrough.push("--once".to_owned());
    }
    if let Some(level) = args.get_one::<String>("log-level") {
        passthrough.extend(["--log-level".to_owned(), level.clone()]);
    }
    if let Some(port) = args.get_one::<u16>("port") {
        passthrough.extend(["--port".to_owned(), port.to_string()]);
    }
    if let Some(init) = args.get_one::<String>("initialize-port-resources") {
        passthrough.extend(["--initialize-port-resources".to_owned(), init.clone()]);
    }
    if args.get_flag("version") {
        passthrough.push("--version".to_owned());
    }
    if args.get_flag("dry-run") {
        passthrough.push("--dry-run".to_owned());
        plan_passthrough(args, &mut passthrough);
    } else if ["output", "show", "max-deletes"]
        .iter()
        .any(|name| args.contains_id(name) && args.value_source(name).is_some())
    {
        anyhow::bail!("--output, --show and --max-deletes go with --dry-run");
    }
    run(args, passthrough)
}

/// Runs the integration of `args`' `path`, built with its `profile`, with `passthrough`.
pub fn run(args: &ArgMatches, passthrough: Vec<String>) -> anyhow::Result<ExitCode> {
    ocean_cli::sail::sail(&SailOptions {
        path: args
            .get_one::<PathBuf>("path")
            .expect("has a default")
            .clone(),
        passthrough,
        profile: args
            .get_one::<String>("profile")
            .expect("has a default")
            .clone(),
    })
}
