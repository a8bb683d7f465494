//! The SDK integrations are written against. An integration is a typed configuration struct and
//! an [`Integration`] implementation that fetches raw third-party items per kind; Ocean does
//! everything else: command line, settings, logs, Port registration and defaults, mapping,
//! upserts, stale-entity deletion, resync state, listeners, shutdown.
//!
//! A complete `main.rs`:
//!
//! ```no_run
//! use ocean::prelude::*;
//!
//! #[derive(Deserialize)]
//! struct MyConfig {
//!     api_url: String,
//! }
//!
//! struct My {
//!     config: MyConfig,
//! }
//!
//! #[async_trait]
//! impl Integration for My {
//!     fn kinds(&self) -> Vec<String> {
//!         vec!["service".into()]
//!     }
//!
//!     fn fetch(&self, ctx: FetchContext) -> PageStream {
//!         let url = self.config.api_url.clone();
//!         Box::pin(try_stream! {
//!             for page in 0..3 {
//!                 let items: Page = vec![json!({"id": format!("{url}/{page}")})];
//!                 yield items;
//!             }
//!         })
//!     }
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     ocean::run(ocean::manifest!("my-system"), |config: MyConfig| async move {
//!         Ok(My { config })
//!     })
//! }
//! ```
//!
//! [`run_with`] is the same with a second argument to the build: the [`BuildContext`], the
//! framework's settings for third-party calls (client timeout, OAuth access-token file).
//!
//! The binary then takes Python Ocean's `ocean sail` flags (`--once`, `-l/--log-level`,
//! `-p/--port`, `-i/--initialize-port-resources <bool>`, `[PATH]`) plus `--print-config`,
//! `--sample KIND` (print the first page of a kind as JSON, read-only, without Port) and
//! `--dry-run` (plan one resync and print the plan; nothing is written to Port), and
//! reads `config.yaml`, `.env` and `OCEAN__…` variables from the working directory and
//! `.port/spec.*` and `.port/resources` from `PATH`. Except for `--once` and `--dry-run`, it
//! serves HTTP on `APPLICATION__HOST:APPLICATION__PORT` (default `0.0.0.0:8000`): health,
//! `/metrics`, the integration's webhooks and, with the WEBHOOK listener, `POST /resync`.
//! SIGTERM or SIGINT stop it gracefully within seconds (a running resync is aborted and
//! deletes nothing).
//!
//! # Calling the third-party API: [`http`]
//!
//! Integrations do not write HTTP plumbing: [`http::HttpClient`] retries 429 and 5xx answers
//! (`Retry-After`, rate-limit reset headers, exponential backoff with jitter), limits
//! concurrency and rate (a configured rate, and the budget the API reports in `x-ratelimit-*` /
//! `ratelimit-*` headers), sends [`http::Credentials`] that never print (renewed on expiry or
//! 401 by an [`http::Authenticator`]), and fails with [`http::HttpError`]s that name the request
//! without its secrets. [`http::paginate`] pages by offset, page number, cursor, next link or
//! `Link` header as a stream of pages that always ends. [`http::Signature`] checks webhook
//! signatures (HMAC-SHA256/SHA1, hex or Base64, `sha256=`/`v1=` prefixes) in constant time;
//! [`WebhookEvent::verify_signature`] is the one-line `authenticate`. The everyday types are in
//! the [`prelude`].
//!
//! # Testing: `testing` (feature `testing`)
//!
//! With `ocean = { workspace = true, features = ["testing"] }` in `[dev-dependencies]`,
//! `ocean::testing::TestOcean` starts the Port emulator in process, points the settings at it,
//! builds the integration from its typed configuration as [`run`] does, and drives it: resyncs,
//! webhooks, what Port holds. `ocean::testing::pages` collects a kind's fetch stream, and
//! `ocean::testing::assert_declared` checks a mapped entity against the default blueprints.
//! Production binaries do not link the emulator. Lower down, tests can
//! embed the runtime themselves: build an [`Ocean`] from loaded settings and an
//! `Arc<dyn Integration>`, then call [`Ocean::resync`] or [`Ocean::run`] — nothing touches the
//! process environment.
//!
//! # Public items
//!
//! [`run`], [`manifest!`], [`Manifest`], [`OCEAN_VERSION`], [`EXIT_CONFIG`], [`EXIT_FAILURE`];
//! the integration contract re-exported from the lifecycle ([`Integration`], [`FetchContext`],
//! [`FetchError`], [`Page`], [`PageStream`], [`BoxError`], [`StartContext`], the webhook types,
//! [`Ocean`], [`OceanBuilder`], [`EngineConfig`], [`ResyncReport`], [`RunOutcome`]); [`Secret`];
//! the modules [`prelude`] (what a `main.rs` needs), [`http`] (the third-party HTTP toolkit),
//! [`config`] (settings and their loader), [`lifecycle`] (report, outcome and handle types, listed
//! there) and (feature `testing`) `testing`; [`python`] (Python-compatible formatting of values).
//!
//! Invariant: integrations never talk to Port; this crate owns the process (runtime, signals,
//! global logging), the lifecycle crate owns everything that happens in it.

mod allocator;
mod build_context;
mod cli;
mod defaults;
mod logging;
mod plan_view;
pub mod prelude;
mod progress;
mod sample;
#[cfg(feature = "testing")]
pub mod testing;

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;

use ocean_config::{ApplicationFlags, IntegrationInfo, Loader, Spec};
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

pub use ocean_config as config;
pub use ocean_http as http;
/// The lifecycle's types an integration's tests, or a program embedding [`Ocean`], work with:
/// what a resync reports ([`ResyncReport`] and its parts), how a run ends, the handles
/// [`Ocean`]'s methods return (the coordinator of resyncs, their progress, live events, metrics,
/// the log masker) and what [`OceanBuilder`] takes. The resync engine's stages, the event
/// listeners' internals and the Kafka client stay private to the lifecycle crate.
pub mod lifecycle {
    pub use ocean_lifecycle::{
        AbortReason, Coordinator, Deletion, DeletionReport, FailureGroup, FailureReason,
        FailureTally, Ingress, KindCounts, KindProgressSnapshot, KindReport, LiveConfig,
        LiveEvents, MappingError, Masker, Metrics, ReconcileError, Refusal, ResyncHandle,
        ResyncOutcome, ResyncProgress, RuntimeError, SharedPortError, StartupError, StartupOutcome,
        Trigger,
    };
    /// Dry runs: what a resync would do ([`Ocean::plan`](crate::Ocean::plan)).
    pub use ocean_lifecycle::{
        Action, BlueprintPlan, Change, DeletionPlan, FieldDiff, PlanOptions, PlanReport,
    };
}
pub use build_context::BuildContext;
pub use ocean_lifecycle::{
    BoxError, EngineConfig, FetchContext, FetchError, Integration, Ocean, OceanBuilder, Page,
    PageStream, ResyncReport, RunOutcome, StartContext, WebhookEvent, WebhookProcessor,
    WebhookRejection, WebhookResults, WebhookRoute,
};
pub use ocean_model::{Secret, python};

/// Ocean's own version (the framework, not the integration).
pub const OCEAN_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git commit Ocean (and so an integration of this repository) was built from: 12 hex digits,
/// or `unknown` when built outside a git checkout without `OCEAN_GIT_COMMIT` set.
pub const GIT_COMMIT: &str = env!("OCEAN_GIT_COMMIT");

/// What an integration binary says about itself: its type (the default `integration.type`, and
/// part of the User-Agent that makes Port's datasource) and its version (what Port records).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Manifest {
    /// The integration type, e.g. `jira`.
    pub integration_type: &'static str,
    /// The integration's version, e.g. `0.3.1`.
    pub version: &'static str,
    /// What the integration does, one line (its crate's description); opens `--help`.
    pub description: &'static str,
}

impl Manifest {
    /// A manifest; prefer [`manifest!`], which takes the version from the integration's crate.
    pub const fn new(integration_type: &'static str, version: &'static str) -> Self {
        Manifest {
            integration_type,
            version,
            description: "",
        }
    }

    /// The same manifest with a one-line description (shown first by `--help`).
    pub const fn with_description(mut self, description: &'static str) -> Self {
        self.description = description;
        self
    }
}

/// The [`Manifest`] of the calling crate: `manifest!("jira")` is the type `jira` with the
/// version and description in the integration's `Cargo.toml`.
#[macro_export]
macro_rules! manifest {
    ($integration_type:expr) => {
        $crate::Manifest::new($integration_type, env!("CARGO_PKG_VERSION"))
            .with_description(env!("CARGO_PKG_DESCRIPTION"))
    };
}

/// Exit code for a configuration or usage error.
pub const EXIT_CONFIG: u8 = 2;
/// Exit code for a fatal runtime error, or a `--once` resync that did not complete.
pub const EXIT_FAILURE: u8 = 1;

/// Runs an integration as a program: parses the command line, loads and validates settings,
/// deserialises the integration's typed configuration `C`, sets up logging, builds the
/// integration with `build`, and runs the lifecycle until the ONCE resync ends or the process
/// is signalled.
///
/// Exit codes: 0 on success; 2 when the command line or configuration is invalid (one line on
/// stderr names the problem); 1 when startup fails (one line names the step) or a `--once`
/// resync does not complete. (Python Ocean exits 0 after a failed `--once` resync.)
pub fn run<C, F, Fut, I>(manifest: Manifest, build: F) -> ExitCode
where
    C: DeserializeOwned,
    F: FnOnce(C) -> Fut,
    Fut: Future<Output = Result<I, BoxError>>,
    I: Integration,
{
    run_with(manifest, |config: C, _: BuildContext| build(config))
}

/// [`run`], for an integration whose build also needs the framework's settings for
/// third-party calls ([`BuildContext`]: the client timeout, the OAuth access-token file).
pub fn run_with<C, F, Fut, I>(manifest: Manifest, build: F) -> ExitCode
where
    C: DeserializeOwned,
    F: FnOnce(C, BuildContext) -> Fut,
    Fut: Future<Output = Result<I, BoxError>>,
    I: Integration,
{
    allocator::return_freed_memory_promptly();
    let args = cli::Args::parse_for(&manifest);
    let prepared = match prepare(manifest, &args) {
        Ok(prepared) => prepared,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if args.print_config {
        // What did not stop loading is still worth seeing next to the printout (stderr, so the
        // printout stays pasteable).
        for warning in prepared.settings.warnings() {
            eprintln!("warning: {warning}");
        }
        print!("{}", prepared.application.render());
        print!("{}", prepared.settings.render_masked());
        return ExitCode::SUCCESS;
    }
    let config: C = match prepared.settings.integration_config() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let context = BuildContext::from_settings(&prepared.settings);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("ocean")
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    if let Some(kind) = args.sample.as_deref() {
        let masker = ocean_lifecycle::Masker::new(prepared.settings.sensitive_values());
        let resources_path = prepared.settings.resources_path.clone();
        let code = runtime.block_on(async {
            match build(config, context).await {
                Ok(integration) => {
                    sample::print_first_page(
                        &integration,
                        kind,
                        &args.path,
                        &resources_path,
                        &masker,
                    )
                    .await
                }
                Err(error) => {
                    eprintln!(
                        "error: the integration could not be built: {}",
                        masker.mask(&error.to_string())
                    );
                    ExitCode::from(EXIT_FAILURE)
                }
            }
        });
        runtime.shutdown_timeout(std::time::Duration::from_secs(1));
        return code;
    }
    let once =
        prepared.settings.event_listener.listener_type() == ocean_config::EventListenerType::Once;
    let masker = ocean_lifecycle::Masker::new(prepared.settings.sensitive_values());
    let log = logging::init(&prepared.application, masker.clone(), args.dry_run);
    // The one-line reasons on stderr are masked like the logs.
    let fail = move |message: String| {
        eprintln!("error: {}", masker.mask(&message));
        ExitCode::from(EXIT_FAILURE)
    };
    for warning in prepared.settings.warnings() {
        tracing::warn!("{warning}");
    }
    tracing::info!(
        ocean = OCEAN_VERSION,
        integration = manifest.integration_type,
        version = manifest.version,
        commit = GIT_COMMIT,
        identifier = %prepared.settings.integration.identifier,
        "Setting sail"
    );
    let path = args.path.clone();
    let (http_host, http_port) = (prepared.application.host, prepared.application.port);
    let settings = prepared.settings;
    let code = runtime.block_on(async move {
        let integration = match build(config, context).await {
            Ok(integration) => integration,
            Err(error) => {
                tracing::error!(%error, "The integration could not be built");
                return fail(format!("the integration could not be built: {error}"));
            }
        };
        let mut builder = Ocean::builder(settings, Arc::new(integration)).resources_from(path);
        if !args.dry_run {
            // A dry run serves nothing.
            builder = builder.http(std::net::SocketAddr::new(http_host, http_port));
        }
        let ocean = match builder.build() {
            Ok(ocean) => ocean,
            Err(error) => {
                tracing::error!(%error, "Ocean could not start");
                return fail(error.to_string());
            }
        };
        if let Some(action) = args.defaults {
            return defaults::run(&ocean, action, &args, fail).await;
        }
        if args.dry_run {
            return plan_view::run(&ocean, args.output, args.show, args.max_deletes).await;
        }
        let shutdown = CancellationToken::new();
        tokio::spawn(cli::watch_signals(shutdown.clone()));
        if once && log.interactive {
            tokio::spawn(progress::display(
                ocean.coordinator().clone(),
                log.progress.clone(),
            ));
        }
        match ocean.run(shutdown).await {
            Ok(outcome) if outcome.is_success() => ExitCode::SUCCESS,
            Ok(RunOutcome::Once(report)) => {
                eprintln!("error: the resync did not complete: {}", report.outcome);
                ExitCode::from(EXIT_FAILURE)
            }
            Ok(RunOutcome::Stopped) => ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!(%error, "Integration had a fatal error. Shutting down.");
                fail(error.to_string())
            }
        }
    });
    // Do not wait for stray blocking work (a fetcher stuck in a blocking call) at exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}

struct Prepared {
    settings: ocean_config::Settings,
    application: ocean_config::ApplicationSettings,
}

/// Loads everything the command line and the files describe; the error is one line.
fn prepare(manifest: Manifest, args: &cli::Args) -> Result<Prepared, String> {
    let spec = Spec::load(&args.path).map_err(|e| e.to_string())?;
    let info = IntegrationInfo::new(manifest.integration_type, manifest.version);
    let mut loader = Loader::from_process(info)
        .map_err(|e| format!("cannot read the working directory: {e}"))?
        .spec(spec);
    if args.once {
        loader = loader.once();
    }
    if args.sample.is_some() {
        // Fetching a sample starts no listener and never calls Port: placeholders stand in for
        // Port's credentials, which need not be configured.
        loader = loader.probe().set(
            "port",
            serde_json::json!({"client_id": "unused-by-sample", "client_secret": "unused-by-sample"}),
        );
    }
    if let Some(initialize) = args.initialize_port_resources {
        loader = loader.set("initialize_port_resources", initialize);
    }
    let application = loader
        .load_application(ApplicationFlags {
            log_level: args.log_level,
            port: args.port,
        })
        .map_err(|e| one_line(&e.to_string()))?;
    let settings = loader.load().map_err(|e| one_line(&e.to_string()))?;
    Ok(Prepared {
        settings,
        application,
    })
}

/// Several problems become `a; b; c` on one line.
fn one_line(message: &str) -> String {
    let mut lines = message.lines();
    let head = lines.next().unwrap_or_default().trim_end_matches(':');
    let rest: Vec<&str> = lines.map(|l| l.trim_start_matches("- ")).collect();
    if rest.is_empty() {
        head.to_owned()
    } else {
        format!("{head}: {}", rest.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_errors_become_one_line() {
        assert_eq!(
            one_line("invalid configuration:\n- a: required\n- b: bad"),
            "invalid configuration: a: required; b: bad"
        );
        assert_eq!(
            one_line("invalid configuration: a: required"),
            "invalid configuration: a: required"
        );
    }

    #[test]
    fn manifest_takes_the_crate_version() {
        let m = manifest!("jira");
        assert_eq!(m.integration_type, "jira");
        assert_eq!(m.version, env!("CARGO_PKG_VERSION"));
    }
}
