//! `ocean map`: map raw items through a port-app-config offline and show what Ocean would send
//! to Port, with everything that went wrong per item and per field.

use anyhow::{Context, bail};
use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};
use ocean_mapping::PortAppConfig;
use ocean_mapping::engine::EngineOptions;
use ocean_mapping::jq::read::Reader;
use ocean_mapping::preview::{KindOutcome, map_kind};
use serde_json::{Map, Value, json};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

const ENV_ACCESS: &str = "OCEAN__ALLOW_ENVIRONMENT_VARIABLES_JQ_ACCESS";

/// Declares `ocean map`.
pub fn cli() -> Command {
    Command::new("map")
        .about("Map raw items through a port-app-config and print the entities Ocean would upsert")
        .long_about(
            "Maps a JSON array of raw items through every resource of KIND in the port-app-config \
             (in config order) exactly as Ocean does, and prints one JSON object: the entities, \
             the selector counts, the skipped items, the misconfigured fields, and the entities \
             the live-event path would treat as deletion candidates.",
        )
        .arg(
            Arg::new("config")
                .long("config")
                .short('c')
                .value_name("PORT_APP_CONFIG")
                .required(true)
                .value_parser(value_parser!(PathBuf))
                .help("The port-app-config (YAML or JSON)"),
        )
        .arg(
            Arg::new("kind")
                .long("kind")
                .short('k')
                .value_name("KIND")
                .help("The kind of the items (default: the first resource's kind)"),
        )
        .arg(
            Arg::new("input")
                .value_name("INPUT")
                .default_value("-")
                .help("JSON array of raw items; '-' reads standard input"),
        )
        .arg(
            Arg::new("pretty")
                .long("pretty")
                .action(ArgAction::SetTrue)
                .help("Print a human-readable report instead of JSON"),
        )
        .arg(
            Arg::new("env-access")
                .long("env-access")
                .value_name("BOOL")
                .env(ENV_ACCESS)
                .default_value("true")
                .value_parser(parse_bool)
                .help("Whether JQ's env and $ENV see the environment (Ocean's allow_environment_variables_jq_access)"),
        )
}

fn parse_bool(s: &str) -> Result<bool, String> {
    ocean_model::python::parse_bool(s.trim())
        .ok_or_else(|| format!("'{}' is not a boolean (true or false)", s.trim()))
}

/// Runs `ocean map`.
pub fn exec(args: &ArgMatches) -> anyhow::Result<ExitCode> {
    let config_path = args.get_one::<PathBuf>("config").expect("required");
    let source_name = config_path.display().to_string();
    let text = std::fs::read_to_string(config_path)
        .with_context(|| format!("cannot read the config {source_name}"))?;
    let config = load_config(&text, &source_name)?;

    let kind = match args.get_one::<String>("kind") {
        Some(k) => k.clone(),
        None => match config.resources.first() {
            Some(r) => r.kind.clone(),
            None => bail!("{source_name}: the config has no resources; pass --kind"),
        },
    };

    let input = args.get_one::<String>("input").expect("has a default");
    let (input_name, bytes) = read_input(input)?;
    let items = Reader::new()
        .parse_array(&bytes)
        .map_err(|e| anyhow::anyhow!("{input_name}: {e}"))?;
    if let Some((i, bad)) = items
        .iter()
        .enumerate()
        .find(|(_, v)| v.as_str().is_some() || !matches!(v, ocean_mapping::jq::Val::Obj(_)))
    {
        bail!(
            "{input_name}: item {i} is {}, but raw items must be JSON objects (Ocean rejects the whole result)",
            bad.type_name()
        );
    }

    let options = EngineOptions {
        allow_env_access: *args.get_one::<bool>("env-access").expect("has a default"),
        ..EngineOptions::with_env(std::env::vars())
    };
    let outcome = map_kind(&config, &kind, &items, &options);

    for p in &outcome.compile_problems {
        eprintln!(
            "warning: kind '{}': {} does not compile, so it is always null: {:?}: {}",
            p.kind, p.field, p.expression, p.message
        );
    }
    if outcome.resources == 0 {
        eprintln!("warning: {source_name} has no resource of kind '{kind}'");
    }
    if let Some(e) = &outcome.error {
        bail!("Ocean fails this batch: {e}");
    }
    if args.get_flag("pretty") {
        print!("{}", pretty(&outcome, &kind));
    } else {
        println!(
            "{}",
            serde_json::to_string(&report(&outcome)).context("serialising the result")?
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn load_config(text: &str, source_name: &str) -> anyhow::Result<PortAppConfig> {
    let is_json = source_name.ends_with(".json") || text.trim_start().starts_with('{');
    if is_json {
        if let Ok(v) = serde_json::from_str::<Value>(text) {
            if v.is_null() {
                bail!("{source_name}: the config is empty");
            }
            return PortAppConfig::from_json(&v).map_err(|e| {
                anyhow::anyhow!(
                    "{}",
                    e.to_string().replacen("port-app-config", source_name, 1)
                )
            });
        }
    }
    if text.trim().is_empty() {
        bail!("{source_name}: the config is empty");
    }
    Ok(PortAppConfig::from_yaml_str(text, source_name)?)
}

fn read_input(input: &str) -> anyhow::Result<(String, Vec<u8>)> {
    if input == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read the items from standard input")?;
        Ok(("<stdin>".to_owned(), bytes))
    } else {
        let bytes =
            std::fs::read(input).with_context(|| format!("cannot read the items file {input}"))?;
        Ok((input.to_owned(), bytes))
    }
}

/// The JSON document `ocean map` prints.
fn report(o: &KindOutcome) -> Value {
    let misconfigured: Map<String, Value> = o
        .misconfigured
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().map_or(Value::Null, Value::String)))
        .collect();
    json!({
        "entities": o.entities,
        "selector_dropped": o.selector_dropped,
        "selector_errors": o.selector_errors.len(),
        "skipped": o.skipped,
        "misconfigured": misconfigured,
        "failed_selector_entities": o.failed_selector_entities,
    })
}

/// The human-readable view for `--pretty`.
fn pretty(o: &KindOutcome, kind: &str) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "kind '{kind}': {} resource(s), {} item(s) mapped, {} entit{} to upsert",
        o.resources,
        o.items_mapped,
        o.entities.len(),
        if o.entities.len() == 1 { "y" } else { "ies" }
    );
    for (i, e) in o.entities.iter().enumerate() {
        let body = serde_json::to_string_pretty(e).unwrap_or_default();
        let _ = writeln!(s, "\nentity {}:\n{}", i + 1, indent(&body));
    }
    let _ = writeln!(
        s,
        "\nselector: {} dropped (false), {} error(s); {} item(s) skipped for a falsy identifier or blueprint",
        o.selector_dropped,
        o.selector_errors.len(),
        o.skipped
    );
    for e in &o.selector_errors {
        let _ = writeln!(s, "  item {}: {}", e.item, e.message);
    }
    for p in &o.skipped_parents {
        let _ = writeln!(s, "  parent item {}: {}", p.item, p.reason);
    }
    if !o.misconfigured.is_empty() {
        let _ = writeln!(
            s,
            "\nfields that were null (misconfigured or missing in the data):"
        );
        for (path, expr) in &o.misconfigured {
            let problem = o
                .compile_problems
                .iter()
                .find(|p| p.field.ends_with(&format!("mappings.{path}")))
                .map(|p| format!("  -- does not compile: {}", p.message))
                .or_else(|| {
                    o.field_errors
                        .get(path)
                        .map(|message| format!("  -- failed: {message}"))
                })
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "  {path}: {}{problem}",
                expr.as_deref().unwrap_or("null (no expression)")
            );
        }
    }
    if let Some(failed) = &o.failed_selector_entities {
        if !failed.is_empty() {
            let _ = writeln!(
                s,
                "\n{} entit(ies) whose selector is false (deleted on live events)",
                failed.len()
            );
        }
    }
    s
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}\n"))
        .collect::<String>()
        .trim_end()
        .to_owned()
}
