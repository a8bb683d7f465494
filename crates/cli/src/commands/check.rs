//! `ocean check`: static checks of an integration's port-app-config against its blueprints, its
//! kinds and its sample items.

use anyhow::Context;
use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};
use ocean_cli::check::{self, Options};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Declares `ocean check`.
pub fn cli() -> Command {
    Command::new("check")
        .about("Check a port-app-config against its blueprints, its kinds and sample items")
        .long_about(
            "Checks the integration's port-app-config (PATH/.port/resources/port-app-config.yml) \
             without running it: kinds the spec (PATH/.port/spec.yaml) does not declare, \
             expressions that do not compile, blueprints, properties and relations missing from \
             the blueprints (PATH/.port/resources/blueprints.json) and, with sample items \
             (PATH/.port/examples/<KIND>.json, a JSON array; or PATH/.port/examples/<KIND>/*.json, \
             one item per file; or --items FILE --kind KIND), every mapped value against the \
             blueprint's schema: types, enums, date-times, identifiers, relations, selectors \
             that drop every sample and fields null for every sample.\n\n\
             Each problem names the resource (its 0-based index and kind), the field and the \
             expression; problems seen in samples are reported once per resource and field, \
             with a count and an example. Errors (what Ocean or Port would reject or silently \
             drop) come first, then warnings (possibly legitimate). Exits 1 when there is an \
             error, 0 otherwise.",
        )
        .arg(
            Arg::new("path")
                .value_name("PATH")
                .default_value(".")
                .value_parser(value_parser!(PathBuf))
                .help("The integration's folder"),
        )
        .arg(
            Arg::new("config")
                .long("config")
                .short('c')
                .value_name("PORT_APP_CONFIG")
                .value_parser(value_parser!(PathBuf))
                .help("The mapping (default: PATH/.port/resources/port-app-config.yml)"),
        )
        .arg(
            Arg::new("blueprints")
                .long("blueprints")
                .short('b')
                .value_name("FILE")
                .value_parser(value_parser!(PathBuf))
                .help(
                    "The blueprints, a JSON array (default: PATH/.port/resources/blueprints.json)",
                ),
        )
        .arg(
            Arg::new("port")
                .long("port")
                .action(ArgAction::SetTrue)
                .conflicts_with("blueprints")
                .help(
                    "Check against the blueprints in Port (OCEAN__PORT__CLIENT_ID, \
                     OCEAN__PORT__CLIENT_SECRET, OCEAN__PORT__BASE_URL) instead of the file",
                ),
        )
        .arg(
            Arg::new("items")
                .long("items")
                .value_name("FILE")
                .requires("kind")
                .value_parser(value_parser!(PathBuf))
                .help("Sample items of --kind, a JSON array (instead of PATH/.port/examples/)"),
        )
        .arg(
            Arg::new("kind")
                .long("kind")
                .short('k')
                .value_name("KIND")
                .requires("items")
                .help("The kind of the --items"),
        )
        .arg(
            Arg::new("output")
                .long("output")
                .short('o')
                .value_name("FORMAT")
                .value_parser(["text", "json"])
                .default_value("text")
                .help("text, or json: {\"errors\": [...], \"warnings\": [...]}"),
        )
}

/// Runs `ocean check`.
pub fn exec(args: &ArgMatches) -> anyhow::Result<ExitCode> {
    let path = args
        .get_one::<PathBuf>("path")
        .expect("has a default")
        .clone();
    let config = args.get_one::<PathBuf>("config").cloned();
    let port_blueprints = if args.get_flag("port") {
        let config_path = match &config {
            Some(c) => c.clone(),
            None => check::default_config(&path)?,
        };
        let mapping = check::load_config(&config_path)?;
        Some(check::blueprints_from_port(&mapping, |name| {
            std::env::var(name).ok()
        })?)
    } else {
        None
    };
    let report = check::run(&Options {
        path,
        config,
        blueprints: args.get_one::<PathBuf>("blueprints").cloned(),
        items: args.get_one::<PathBuf>("items").cloned(),
        kind: args.get_one::<String>("kind").cloned(),
        port_blueprints,
    })?;
    let text = if args.get_one::<String>("output").map(String::as_str) == Some("json") {
        serde_json::to_string_pretty(&report.to_json())? + "\n"
    } else {
        report.render()
    };
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        // A reader that stopped early (`| head`) is not an error of the check.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(e).context("writing the report");
        }
        _ => {}
    }
    Ok(if report.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
