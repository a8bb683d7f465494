//! `ocean test`: the mapping tests kept beside an integration's mapping (`.port/tests/`).

use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};
use ocean_cli::mapping_tests::{self, Options};
use std::path::PathBuf;
use std::process::ExitCode;

/// Declares `ocean test`.
pub fn cli() -> Command {
    Command::new("test")
        .about("Run the mapping tests in .port/tests/ against the integration's port-app-config")
        .long_about(
            "Runs every case under PATH/.port/tests/: a folder holding items.json \
             ({\"kind\": KIND, \"items\": [...]}, raw items of one kind) and expected.json \
             ({\"entities\": [...], \"problems\": {...}}). The items are mapped offline through \
             every resource of KIND in the integration's port-app-config, as a resync maps them, \
             and the entities compared with the expected ones by blueprint and identifier, field \
             by field. \"problems\" is optional; when present, the mapping's problems (selector \
             drops and errors, skipped items, null fields, expressions that do not compile) must \
             match it. Exits 1 when a case fails; --update writes the current output as the \
             expectation instead.",
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
            Arg::new("update")
                .long("update")
                .action(ArgAction::SetTrue)
                .help("Accept the current output: write it as each differing case's expected.json"),
        )
        .arg(
            Arg::new("filter")
                .long("filter")
                .value_name("TEXT")
                .help("Only the cases whose folder name contains TEXT"),
        )
}

/// Runs `ocean test`.
pub fn exec(args: &ArgMatches) -> anyhow::Result<ExitCode> {
    let report = mapping_tests::run(&Options {
        path: args
            .get_one::<PathBuf>("path")
            .expect("has a default")
            .clone(),
        config: args.get_one::<PathBuf>("config").cloned(),
        update: args.get_flag("update"),
        filter: args.get_one::<String>("filter").cloned(),
    })?;
    print!("{}", report.render());
    Ok(if report.failed() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
