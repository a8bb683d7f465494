//! The `port-emulator` program: the library's emulator as a long-running local server, for
//! demos and for people trying an integration without a Port account.
//!
//! Glue only: flags in, [`port_emulator::spawn`], wait for Ctrl-C, shut down. It prints the
//! credentials to use, since without `--client-id`/`--client-secret` it accepts fixed demo ones.

use anyhow::Context;
use clap::Parser;
use port_emulator::{EmulatorConfig, FaultSettings, Secret};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A local emulator of Port's REST API (for tests, demos and trying integrations offline).
#[derive(Debug, Parser)]
#[command(name = "port-emulator", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1", env = "PORT_EMULATOR_HOST")]
    host: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 5555, env = "PORT_EMULATOR_PORT")]
    port: u16,
    /// Client id to accept (default: the demo credentials, printed at start).
    #[arg(long, env = "PORT_EMULATOR_CLIENT_ID", requires = "client_secret")]
    client_id: Option<String>,
    /// Client secret to accept.
    #[arg(long, env = "PORT_EMULATOR_CLIENT_SECRET", requires = "client_id")]
    client_secret: Option<String>,
    /// SQLite file to keep the catalog in across restarts (default: in memory).
    #[arg(long, env = "PORT_EMULATOR_DB")]
    db: Option<PathBuf>,
    /// Fraction of requests (0.0-1.0) answered 503 or 429.
    #[arg(long, default_value_t = 0.0, value_parser = fraction)]
    fail_rate: f64,
    /// Seed of the choice of failed requests, so a run meets the same faults again.
    #[arg(long)]
    fault_seed: Option<u64>,
    /// Requests per second accepted; beyond it, 429 with Retry-After.
    #[arg(long)]
    rate_limit: Option<u32>,
    /// Delay added to every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Lifetime of issued access tokens, in seconds (expiresIn).
    #[arg(long, default_value_t = 10_800)]
    token_ttl_secs: u64,
    /// Organization feature flag to report (repeatable).
    #[arg(long = "feature-flag")]
    feature_flags: Vec<String>,
}

fn fraction(text: &str) -> Result<f64, String> {
    let value: f64 = text.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is not between 0 and 1"))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let demo = args.client_id.is_none();
    let defaults = EmulatorConfig::default();
    let config = EmulatorConfig {
        host: args.host,
        port: args.port,
        client_id: args.client_id.unwrap_or(defaults.client_id.clone()),
        client_secret: args
            .client_secret
            .map(Secret::new)
            .unwrap_or(defaults.client_secret.clone()),
        db_path: args.db.clone(),
        token_ttl: Duration::from_secs(args.token_ttl_secs),
        faults: FaultSettings {
            fail_rate: args.fail_rate,
            rate_limit: args.rate_limit,
            latency_ms: args.latency_ms,
            seed: args.fault_seed,
        },
        feature_flags: args.feature_flags,
        ..defaults
    };
    let emulator = port_emulator::spawn(config)
        .await
        .context("starting the Port emulator")?;
    println!("Port emulator listening on {}", emulator.base_url());
    println!("  OCEAN__PORT__BASE_URL={}", emulator.base_url());
    println!("  OCEAN__PORT__CLIENT_ID={}", emulator.client_id());
    if demo {
        // The demo secret is public by design; a secret given on the command line is not echoed.
        println!(
            "  OCEAN__PORT__CLIENT_SECRET={}",
            emulator.client_secret().expose()
        );
    }
    match &args.db {
        Some(path) => println!("  state kept in {}", path.display()),
        None => println!("  state kept in memory (use --db PATH to keep it)"),
    }
    println!("  inspect: {}/_emulator/", emulator.base_url());
    println!("  catalog view: {}/", emulator.base_url());
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    println!("stopping");
    emulator
        .shutdown()
        .await
        .context("stopping the Port emulator")?;
    Ok(())
}
