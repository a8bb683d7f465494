//! `cargo xtask`: the command line over the [`xtask`] library — flags in, one library call, the
//! outcome out. Every task is documented by `cargo xtask <task> --help`.

use anyhow::{Result, bail};
use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use xtask::Workspace;
use xtask::bench::{self, BenchOptions};
use xtask::bench_github::{self, GithubBenchOptions};
use xtask::demo::{self, DemoOptions};
use xtask::static_build::{self, StaticOptions, TargetChoice};
use xtask::{docker, layout, measure, process, run_local};

/// Ocean's developer tasks.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// The fake integration syncing once into a local Port emulator, with a summary (`make demo`).
    Demo {
        /// The integration to run.
        #[arg(long, default_value = "fake")]
        integration: String,
        /// Records of kind `item` to generate (the integration's `itemCount`).
        #[arg(long)]
        item_count: Option<u64>,
        /// Keep the emulator running after the summary, until Ctrl-C.
        #[arg(long)]
        keep: bool,
        /// Do not echo the integration's log (it is still written to a file).
        #[arg(long)]
        quiet: bool,
    },
    /// The end-to-end benchmark (and the crates' benches) (`make bench`).
    Bench {
        /// Record counts of the end-to-end runs, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
        records: Vec<u64>,
        /// Only the end-to-end runs, not `cargo bench` of the mapping and emulator crates.
        #[arg(long)]
        e2e_only: bool,
        /// Benchmark this ocean-fake executable instead of the static binary that ships.
        #[arg(long)]
        binary: Option<PathBuf>,
        /// Benchmark a plain release build (quicker to build) instead of the static binary that
        /// ships (`make static`: musl, dist profile).
        #[arg(long, conflicts_with = "binary")]
        release: bool,
        /// Share of requests the emulator answers 429 or 503 in the extra run of the largest
        /// record count (0 skips that run).
        #[arg(long, default_value_t = 0.3)]
        fault_rate: f64,
        /// Repositories of the GitHub integration's benchmark organization (20 pull requests,
        /// 20 issues, 5 branches each; resynced twice, the second time on conditional
        /// requests). 0 skips it.
        #[arg(long, default_value_t = 2000)]
        github_repos: u64,
    },
    /// Build and run an integration: against the configured Port, else a local emulator (`make run`).
    Run {
        /// The integration (folder under integrations/).
        #[arg(default_value = "fake")]
        integration: String,
        /// One resync, then exit (the ONCE listener).
        #[arg(long)]
        once: bool,
    },
    /// Build an integration as a static binary (`make static`).
    Static {
        /// The integration (folder under integrations/).
        #[arg(default_value = "fake")]
        integration: String,
        /// Cargo profile (`dist`: fat LTO, one codegen unit, stripped — what ships).
        #[arg(long, default_value = "dist")]
        profile: String,
        /// Also copy the binary into this folder.
        #[arg(long)]
        out_dir: Option<PathBuf>,
        /// Target: auto (musl, else a crt-static glibc build with a warning), musl or gnu.
        #[arg(long, value_enum, default_value = "auto")]
        target: TargetChoice,
        /// Cargo features on top of the defaults, comma-separated (`kafka`: the KAFKA listener,
        /// librdkafka with its own OpenSSL). An empty value means none.
        #[arg(long, value_delimiter = ',')]
        features: Vec<String>,
    },
    /// Build the static binary and prove it: linkage, no OpenSSL, size, a demo resync (`make test`).
    StaticCheck {
        /// The integration (folder under integrations/).
        #[arg(default_value = "fake")]
        integration: String,
        /// Cargo profile (see `static`).
        #[arg(long, default_value = "dist")]
        profile: String,
        /// Target (see `static`).
        #[arg(long, value_enum, default_value = "auto")]
        target: TargetChoice,
        /// The port-emulator executable for the demo resync (default: a release build of it).
        #[arg(long)]
        emulator: Option<PathBuf>,
    },
    /// Build an integration's container image with Docker (`make image`).
    Image {
        /// The integration (folder under integrations/).
        #[arg(default_value = "fake")]
        integration: String,
        /// Cargo features for the binary (the Dockerfile's `FEATURES` build argument), e.g.
        /// `kafka`.
        #[arg(long, default_value = "")]
        features: String,
    },
    /// Check that every integration folder has the files an integration needs.
    CheckIntegrations,
    /// (internal) Run a command and write its wall time, CPU time and peak RSS to a report.
    #[command(name = "__measure", hide = true)]
    Measure {
        /// Where to write the JSON report.
        #[arg(long)]
        report: PathBuf,
        /// The command.
        #[arg(last = true, required = true)]
        command: Vec<OsString>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Task::Measure { report, command } = &cli.task {
        return match measure::run_and_report(report, command) {
            Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            Err(err) => {
                eprintln!("error: {err:#}");
                ExitCode::from(125)
            }
        };
    }
    match run(cli.task) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("\nerror: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(task: Task) -> Result<()> {
    process::install_interrupt_handler()?;
    let ws = Workspace::locate();
    match task {
        Task::Demo {
            integration,
            item_count,
            keep,
            quiet,
        } => {
            let env = item_count
                .map(|n| {
                    vec![(
                        "OCEAN__INTEGRATION__CONFIG__ITEM_COUNT".to_owned(),
                        n.to_string(),
                    )]
                })
                .unwrap_or_default();
            demo::demo(
                &ws,
                &DemoOptions {
                    integration,
                    binary: None,
                    env,
                    keep,
                    echo_logs: !quiet,
                },
            )?;
        }
        Task::Bench {
            records,
            e2e_only,
            binary,
            release,
            fault_rate,
            github_repos,
        } => {
            let binary = match binary {
                Some(binary) => Some(std::path::absolute(binary)?),
                None if release => None,
                None => Some(
                    static_build::build_static(
                        &ws,
                        &StaticOptions {
                            integration: "fake".into(),
                            profile: "dist".into(),
                            out_dir: None,
                            target: TargetChoice::Auto,
                            features: Vec::new(),
                        },
                    )?
                    .path,
                ),
            };
            bench::bench(
                &ws,
                &BenchOptions {
                    records,
                    micro: !e2e_only,
                    binary,
                    fault_rate,
                },
            )?;
            if github_repos > 0 {
                let binary = if release {
                    None
                } else {
                    Some(
                        static_build::build_static(
                            &ws,
                            &StaticOptions {
                                integration: "github".into(),
                                profile: "dist".into(),
                                out_dir: None,
                                target: TargetChoice::Auto,
                                features: Vec::new(),
                            },
                        )?
                        .path,
                    )
                };
                bench_github::bench(
                    &ws,
                    &GithubBenchOptions {
                        repos: github_repos,
                        binary,
                        ..GithubBenchOptions::default()
                    },
                )?;
            }
        }
        Task::Static {
            integration,
            profile,
            out_dir,
            target,
            features,
        } => {
            static_build::build_static(
                &ws,
                &StaticOptions {
                    integration,
                    profile,
                    out_dir,
                    target,
                    features: features
                        .into_iter()
                        .filter(|f| !f.trim().is_empty())
                        .collect(),
                },
            )?;
        }
        Task::StaticCheck {
            integration,
            profile,
            target,
            emulator,
        } => {
            let emulator = emulator.map(std::path::absolute).transpose()?;
            static_build::static_check(
                &ws,
                &StaticOptions {
                    integration,
                    profile,
                    out_dir: None,
                    target,
                    features: Vec::new(),
                },
                emulator.as_deref(),
            )?;
        }
        Task::Run { integration, once } => run_local::run(&ws, &integration, once)?,
        Task::Image {
            integration,
            features,
        } => docker::build_image(&ws, &integration, &features)?,
        Task::CheckIntegrations => {
            let problems = layout::check_all(&ws)?;
            if !problems.is_empty() {
                bail!(
                    "integration folders are incomplete:\n  {}",
                    problems.join("\n  ")
                );
            }
            println!("every integration folder is complete");
        }
        Task::Measure { .. } => unreachable!("handled before"),
    }
    Ok(())
}
