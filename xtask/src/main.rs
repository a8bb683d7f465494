//! `cargo xtask`: the command line over the [`xtask`] library — flags in, one library call, the
//! outcome out. Every task is documented by `cargo xtask <task> --help`.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use xtask::Workspace;
use xtask::bench::{self, BenchOptions};
use xtask::bench_custom::{self, CustomBenchOptions};
use xtask::bench_github::{self, GithubBenchOptions};
use xtask::bench_pagerduty::{self, PagerDutyBenchOptions};
use xtask::demo::{self, DemoOptions};
use xtask::static_build::{self, Arch, StaticOptions};
use xtask::{docker, layout, lint, measure, process, release, run_local};

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
        /// Record counts of the `ocean map` runs, comma-separated (0 skips them).
        #[arg(long, value_delimiter = ',', default_value = "100000,1000000")]
        map_records: Vec<u64>,
        /// Records Python Ocean's own mapping is measured on beside `ocean map` (0 skips it).
        #[arg(long, default_value_t = 10_000)]
        python_records: u64,
        /// Only `ocean map` and Python Ocean's mapping, not the end-to-end runs or crate benches.
        #[arg(long)]
        map_only: bool,
        /// Repositories of the GitHub integration's benchmark organization (20 pull requests,
        /// 20 issues, 5 branches each; resynced twice, the second time on conditional
        /// requests). 0 skips it, and so does `--map-only`.
        #[arg(long, default_value_t = 2000)]
        github_repos: u64,
        /// Incidents of the PagerDuty integration's benchmark account (500 services, default
        /// resources). 0 skips it, and so does `--map-only`.
        #[arg(long, default_value_t = 20_000)]
        pagerduty_incidents: u64,
        /// Records the Custom integration pages through from a fixture API (pages of 500),
        /// beside the fake integration on the same records. 0 skips it, and so does
        /// `--map-only`.
        #[arg(long, default_value_t = 200_000)]
        custom_items: u64,
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
    /// Build an integration as static musl binaries (`make static`), into
    /// target/static/<amd64|arm64>/.
    Static {
        /// The integration (folder under integrations/).
        #[arg(default_value = "fake")]
        integration: String,
        /// Cargo profile (`dist`: fat LTO, one codegen unit, stripped — what ships).
        #[arg(long, default_value = "dist")]
        profile: String,
        /// Architectures: x86_64, aarch64, all, or a comma-separated list; empty: this host's.
        #[arg(long, default_value = "")]
        arch: String,
        /// Cargo features on top of the defaults, comma-separated (`kafka`: the KAFKA listener,
        /// librdkafka with its own OpenSSL). An empty value means none.
        #[arg(long, value_delimiter = ',')]
        features: Vec<String>,
    },
    /// Build the static binaries and prove them: linkage, machine, no OpenSSL, size, --version,
    /// a demo resync, under qemu for a foreign architecture (`make test`).
    StaticCheck {
        /// The integration (folder under integrations/).
        #[arg(default_value = "fake")]
        integration: String,
        /// Cargo profile (see `static`).
        #[arg(long, default_value = "dist")]
        profile: String,
        /// Architectures (see `static`).
        #[arg(long, default_value = "")]
        arch: String,
        /// The port-emulator executable for the demo resync (default: a release build of it).
        #[arg(long)]
        emulator: Option<PathBuf>,
    },
    /// Build an integration's container image with Docker (`make image`).
    Image {
        /// The integration (folder under integrations/).
        #[arg(default_value = "fake")]
        integration: String,
        /// Platforms: x86_64 (linux/amd64), aarch64 (linux/arm64), all; empty: this host's.
        #[arg(long, default_value = "")]
        arch: String,
        /// Cargo features of the binaries, comma-separated (`kafka`).
        #[arg(long, value_delimiter = ',')]
        features: Vec<String>,
        /// Registry and namespace of the tags, e.g. ghcr.io/acme (default: local tags).
        #[arg(long)]
        repository: Option<String>,
        /// Push the images (multi-arch) instead of keeping them in the local engine.
        #[arg(long, requires = "repository")]
        push: bool,
    },
    /// Build the files of a GitHub release of TAG into target/ship/TAG (`make release`):
    /// NAME-vX.Y.Z releases one integration, vX.Y.Z (the SDK) every one.
    Release {
        /// The tag, e.g. fake-v0.1.0.
        tag: String,
    },
    /// Push the multi-arch images of TAG's integrations, version and latest (`make
    /// release-images`; needs Docker with buildx, logged in to the registry).
    ReleaseImages {
        /// The tag, e.g. fake-v0.1.0.
        tag: String,
        /// Registry and namespace, e.g. ghcr.io/acme.
        #[arg(long)]
        repository: String,
    },
    /// actionlint, the workflows' Makefile calls, hadolint and cargo deny (end of `make lint`).
    ReleaseLint,
    /// Fail on dependencies that a crate declares but does not use (cargo-machete).
    UnusedDeps,
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
                    runner: None,
                    env,
                    keep,
                    echo_logs: !quiet,
                    measurer: None,
                },
            )?;
        }
        Task::Bench {
            records,
            e2e_only,
            binary,
            release,
            fault_rate,
            map_records,
            python_records,
            map_only,
            github_repos,
            pagerduty_incidents,
            custom_items,
        } => {
            // The static binary that ships of an integration, or None for a release build.
            let shipped = |integration: &str| -> Result<Option<PathBuf>> {
                if release {
                    return Ok(None);
                }
                let host = Arch::host().context("no static build for this host's CPU")?;
                let built =
                    static_build::build_static(&ws, &StaticOptions::dist(integration, &[host]))?;
                Ok(built.into_iter().next().map(|b| b.path))
            };
            let binary = match binary {
                Some(binary) => Some(std::path::absolute(binary)?),
                None if map_only => None,
                None => shipped("fake")?,
            };
            bench::bench(
                &ws,
                &BenchOptions {
                    records: if map_only { Vec::new() } else { records },
                    micro: !e2e_only && !map_only,
                    binary: binary.clone(),
                    fault_rate,
                    map_records: map_records.into_iter().filter(|n| *n > 0).collect(),
                    python_records,
                },
            )?;
            if github_repos > 0 && !map_only {
                bench_github::bench(
                    &ws,
                    &GithubBenchOptions {
                        repos: github_repos,
                        binary: shipped("github")?,
                        ..GithubBenchOptions::default()
                    },
                )?;
            }
            if pagerduty_incidents > 0 && !map_only {
                bench_pagerduty::bench(
                    &ws,
                    &PagerDutyBenchOptions {
                        incidents: pagerduty_incidents,
                        binary: shipped("pagerduty")?,
                        ..PagerDutyBenchOptions::default()
                    },
                )?;
            }
            if custom_items > 0 && !map_only {
                bench_custom::bench(
                    &ws,
                    &CustomBenchOptions {
                        items: custom_items,
                        binary: shipped("custom")?,
                        fake_binary: binary,
                        ..CustomBenchOptions::default()
                    },
                )?;
            }
        }
        Task::Static {
            integration,
            profile,
            arch,
            features,
        } => {
            static_build::build_static(
                &ws,
                &StaticOptions {
                    integration,
                    profile,
                    arches: Arch::parse_list(&arch)?,
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
            arch,
            emulator,
        } => {
            let emulator = emulator.map(std::path::absolute).transpose()?;
            static_build::static_check(
                &ws,
                &StaticOptions {
                    integration,
                    profile,
                    arches: Arch::parse_list(&arch)?,
                    features: Vec::new(),
                },
                emulator.as_deref(),
            )?;
        }
        Task::Run { integration, once } => run_local::run(&ws, &integration, once)?,
        Task::Image {
            integration,
            arch,
            features,
            repository,
            push,
        } => docker::build_image(
            &ws,
            &docker::ImageOptions {
                integration,
                arches: Arch::parse_list(&arch)?,
                features: features
                    .into_iter()
                    .filter(|f| !f.trim().is_empty())
                    .collect(),
                repository: repository.filter(|r| !r.trim().is_empty()),
                push,
            },
        )?,
        Task::Release { tag } => {
            release::build_release(&ws, &tag)?;
        }
        Task::ReleaseImages { tag, repository } => {
            release::release_images(&ws, &tag, &repository)?;
        }
        Task::ReleaseLint => lint::release_lint(&ws)?,
        Task::UnusedDeps => lint::unused_deps(&ws)?,
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
