//! `ocean playground [PATH]`: serves the mapping playground (`ocean-playground`) on 127.0.0.1
//! and prints its URL; it opens nothing by itself and runs until Ctrl-C.

use anyhow::Context;
use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};
use ocean_playground::PlaygroundConfig;
use std::path::PathBuf;
use std::process::ExitCode;

/// Declares `ocean playground`.
pub fn cli() -> Command {
    Command::new("playground")
        .about("Serve the mapping playground on 127.0.0.1: items, a port-app-config and the entities they map to")
        .long_about(
            "Serves a page on 127.0.0.1 with three panes: raw items (pasted, from a file, from \
             PATH/.port/examples/KIND.json, or fetched through the integration's own fetcher), \
             the port-app-config (PATH's own by default) and the entities a resync would upsert, \
             with every problem next to the expression that caused it. It re-maps as you type. \
             Prints the URL and runs until Ctrl-C; it opens no browser.",
        )
        .arg(
            Arg::new("path")
                .value_name("PATH")
                .value_parser(value_parser!(PathBuf))
                .help("An integration folder (e.g. integrations/fake); without it the page starts blank"),
        )
        .arg(
            Arg::new("port")
                .long("port")
                .short('p')
                .value_name("PORT")
                .default_value("8765")
                .value_parser(value_parser!(u16))
                .help("Port on 127.0.0.1 to serve on (0 picks a free one)"),
        )
        .arg(
            Arg::new("integration-bin")
                .long("integration-bin")
                .value_name("FILE")
                .value_parser(value_parser!(PathBuf))
                .help("The integration binary that fetches samples (default: ocean-NAME from the workspace's target/ or PATH)"),
        )
        .arg(
            Arg::new("env-access")
                .long("env-access")
                .action(ArgAction::SetTrue)
                .help("Let JQ's env and $ENV see this process's environment (off: they are {})"),
        )
}

/// Runs `ocean playground`.
pub fn exec(args: &ArgMatches) -> anyhow::Result<ExitCode> {
    let config = PlaygroundConfig {
        folder: args.get_one::<PathBuf>("path").cloned(),
        port: *args.get_one::<u16>("port").expect("has a default"),
        binary: args.get_one::<PathBuf>("integration-bin").cloned(),
        env_access: args.get_flag("env-access"),
        ..PlaygroundConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let playground = ocean_playground::serve(config)
            .await
            .context("starting the playground")?;
        println!("Mapping playground listening on {}", playground.url());
        match playground.sample_binary() {
            Some(binary) => println!("  fetch samples with: {}", binary.display()),
            None if playground.folder().path.is_some() => {
                println!("  fetch samples: build the integration first (or pass --integration-bin)")
            }
            None => {}
        }
        println!("  press Ctrl-C to stop");
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        playground
            .shutdown()
            .await
            .context("stopping the playground")?;
        Ok(ExitCode::SUCCESS)
    })
}
