//! The integration binary's command line — Python Ocean's `ocean sail` flags, so existing
//! Dockerfiles and Helm charts keep working — and the process signals that stop it.
//!
//! Flags only inject values into settings loading (the environment still wins for the
//! `APPLICATION__*` ones, as in the reference); all behaviour lives in the lifecycle.

use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser};
use ocean_config::LogLevel;
use tokio_util::sync::CancellationToken;

/// Runs the integration: a long-running sync (POLLING by default), or one resync with `--once`.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
pub(crate) struct Args {
    /// Where `.port/spec.yaml` and `.port/resources` are read from.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Run one full resync and exit (the ONCE event listener).
    #[arg(short = 'O', long)]
    pub once: bool,
    /// Log level: DEBUG, INFO, WARNING, ERROR or CRITICAL (APPLICATION__LOG_LEVEL wins).
    #[arg(short = 'l', long, value_parser = parse_level)]
    pub log_level: Option<LogLevel>,
    /// HTTP port (APPLICATION__PORT wins).
    #[arg(short = 'p', long)]
    pub port: Option<u16>,
    /// Create the default blueprints, mapping and other resources on first start (true/false);
    /// overrides OCEAN__INITIALIZE_PORT_RESOURCES.
    #[arg(short = 'i', long, value_parser = parse_bool, value_name = "BOOL")]
    pub initialize_port_resources: Option<bool>,
    /// Print the effective configuration (secrets masked) and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Print the first page of KIND as JSON, fetched with the configured credentials, and exit
    /// (read-only; Port is not called and needs no credentials).
    #[arg(long, value_name = "KIND", conflicts_with_all = ["once", "print_config"])]
    pub sample: Option<String>,
    /// `dock`: create the default blueprints, mapping and other resources of `.port/resources`
    /// in Port (only what is missing); `clean`: delete the default blueprints. Then exit,
    /// without a resync (Python Ocean's `ocean defaults dock|clean`).
    #[arg(
        long,
        value_name = "ACTION",
        value_enum,
        conflicts_with_all = ["once", "print_config", "sample"]
    )]
    pub defaults: Option<DefaultsAction>,
    /// With `--defaults clean`: delete each default blueprint with all its entities.
    #[arg(long, requires = "defaults")]
    pub force: bool,
    /// With `--defaults clean --force`: wait until Port has finished deleting the entities.
    #[arg(long, requires = "defaults")]
    pub wait: bool,
    /// With `--defaults clean`: delete the integration from Port too (implies --force).
    #[arg(long, requires = "defaults")]
    pub destroy: bool,
    /// Plan one full resync without writing anything to Port and print what it would do:
    /// entities to create, update (field by field), leave unchanged and delete, per blueprint.
    #[arg(long, conflicts_with_all = ["once", "print_config", "sample", "defaults"])]
    pub dry_run: bool,
    /// With `--dry-run`: `text` (counts, then the first changes) or `json`.
    #[arg(long, value_enum, default_value = "text", requires = "dry_run")]
    pub output: PlanOutput,
    /// With `--dry-run`: changes listed per blueprint, a number or `all` (default 10).
    #[arg(long, value_name = "N|all", value_parser = parse_show, requires = "dry_run")]
    pub show: Option<Show>,
    /// With `--dry-run`: exit with code 2 when the plan deletes more than N entities (0: any).
    #[arg(long, value_name = "N", requires = "dry_run")]
    pub max_deletes: Option<u64>,
}

/// How a dry run's plan is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PlanOutput {
    /// For people: counts first, then the first changes of each blueprint.
    Text,
    /// For pipelines: the whole plan as one JSON object.
    Json,
}

/// `--show`'s value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Show {
    /// The first N changes per blueprint.
    First(usize),
    /// Every change.
    All,
}

fn parse_show(text: &str) -> Result<Show, String> {
    match text.trim() {
        "all" => Ok(Show::All),
        n => n
            .parse()
            .map(Show::First)
            .map_err(|_| format!("'{n}' is neither a number nor `all`")),
    }
}

/// What `--defaults` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DefaultsAction {
    /// Create what is missing of the default resources.
    Dock,
    /// Delete the default blueprints.
    Clean,
}

impl Args {
    /// Parses the process's command line as `ocean-<type>`, whose `--version` names the
    /// integration's version, the SDK's and the git commit.
    pub(crate) fn parse_for(manifest: &crate::Manifest) -> Args {
        let matches = Args::command_for(manifest).get_matches();
        Args::from_arg_matches(&matches).unwrap_or_else(|error| error.exit())
    }

    fn command_for(manifest: &crate::Manifest) -> clap::Command {
        // Built once per process; clap takes `'static` text without its `string` feature.
        let name = format!("ocean-{}", manifest.integration_type).leak();
        let version = format!(
            "{} (ocean SDK {}, commit {})",
            manifest.version,
            crate::OCEAN_VERSION,
            crate::GIT_COMMIT
        )
        .leak();
        let about = if manifest.description.trim().is_empty() {
            format!(
                "The {} integration for Port, built on the Ocean SDK",
                manifest.integration_type
            )
        } else {
            manifest.description.trim().to_owned()
        };
        Args::command()
            .name(&*name)
            .version(&*version)
            .about(about)
            .long_about(None)
    }
}

fn parse_level(text: &str) -> Result<LogLevel, String> {
    text.parse()
}

fn parse_bool(text: &str) -> Result<bool, String> {
    ocean_model::python::parse_bool(text.trim())
        .ok_or_else(|| format!("expected true or false, got {text:?}"))
}

/// Cancels `shutdown` on the first SIGINT or SIGTERM (a running resync is aborted, nothing is
/// deleted, `aborted` is reported); a second signal exits at once.
pub(crate) async fn watch_signals(shutdown: CancellationToken) {
    wait_for_signal().await;
    tracing::warn!(
        "Received a shutdown signal; stopping (a running resync is aborted and deletes nothing). Signal again to exit at once."
    );
    shutdown.cancel();
    wait_for_signal().await;
    tracing::error!("Second shutdown signal; exiting now");
    std::process::exit(130);
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sail_flags_parse() {
        let args = Args::try_parse_from([
            "ocean-fake",
            "-O",
            "-l",
            "debug",
            "-p",
            "9000",
            "-i",
            "no",
            "/srv/fake",
        ])
        .unwrap();
        assert!(args.once);
        assert_eq!(args.log_level, Some(LogLevel::Debug));
        assert_eq!(args.port, Some(9000));
        assert_eq!(args.initialize_port_resources, Some(false));
        assert_eq!(args.path, PathBuf::from("/srv/fake"));
        let defaults = Args::try_parse_from(["ocean-fake", "--print-config"]).unwrap();
        assert!(!defaults.once && defaults.print_config);
        assert_eq!(defaults.path, PathBuf::from("."));
        let sample = Args::try_parse_from(["x", "--sample", "service", "/srv/fake"]).unwrap();
        assert_eq!(sample.sample.as_deref(), Some("service"));
        assert!(Args::try_parse_from(["x", "--sample", "a", "--once"]).is_err());
        let dock = Args::try_parse_from(["x", "--defaults", "dock"]).unwrap();
        assert_eq!(dock.defaults, Some(DefaultsAction::Dock));
        let clean =
            Args::try_parse_from(["x", "--defaults", "clean", "--force", "--wait"]).unwrap();
        assert!(clean.defaults == Some(DefaultsAction::Clean) && clean.force && clean.wait);
        assert!(Args::try_parse_from(["x", "--force"]).is_err());
        assert!(Args::try_parse_from(["x", "--defaults", "dock", "--once"]).is_err());
        assert!(Args::try_parse_from(["x", "--defaults", "sweep"]).is_err());
        assert!(Args::try_parse_from(["x", "-i", "maybe"]).is_err());
        assert!(Args::try_parse_from(["x", "-l", "loud"]).is_err());
    }

    #[test]
    fn version_names_the_integration_the_sdk_and_the_commit() {
        let manifest = crate::Manifest::new("acme", "2.3.4");
        let error = Args::command_for(&manifest)
            .try_get_matches_from(["ocean-acme", "--version"])
            .unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::DisplayVersion);
        assert_eq!(
            error.to_string().trim(),
            format!(
                "ocean-acme 2.3.4 (ocean SDK {}, commit {})",
                crate::OCEAN_VERSION,
                crate::GIT_COMMIT
            )
        );
        let help = Args::command_for(&manifest.with_description("Acme's tickets into Port."))
            .render_help()
            .to_string();
        assert!(help.starts_with("Acme's tickets into Port."), "{help}");
        let plain = Args::command_for(&manifest).render_help().to_string();
        assert!(
            plain.starts_with("The acme integration for Port, built on the Ocean SDK"),
            "{plain}"
        );
        // build.rs: 12 hex digits from git here, else OCEAN_GIT_COMMIT or `unknown`.
        assert!(
            !crate::GIT_COMMIT.is_empty() && !crate::GIT_COMMIT.contains(char::is_whitespace),
            "{:?}",
            crate::GIT_COMMIT
        );
    }
}
