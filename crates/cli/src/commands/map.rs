//! `ocean map`: map raw items through a port-app-config offline and show what Ocean would send
//! to Port, with everything that went wrong per item and per field.

use anyhow::{Context, bail};
use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};
use ocean_mapping::PortAppConfig;
use ocean_mapping::engine::EngineOptions;
use ocean_mapping::preview::ResourceOutcome;
use ocean_mapping::stream::{Format, ItemReader, KindMapper, map_ordered};
use serde_json::Value;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

mod output;

const ENV_ACCESS: &str = "OCEAN__ALLOW_ENVIRONMENT_VARIABLES_JQ_ACCESS";

/// Declares `ocean map`.
pub fn cli() -> Command {
    Command::new("map")
        .about("Map raw items through a port-app-config and print the entities Ocean would upsert")
        .long_about(
            "Maps a JSON array of raw items (or NDJSON with --ndjson) through every resource of \
             KIND in the port-app-config (in config order) exactly as Ocean does, and prints one \
             JSON object: the entities, the selector counts, the skipped items, the misconfigured \
             fields, and the entities the live-event path would treat as deletion candidates.\n\n\
             The input is read item by item and mapped in batches of up to 512 items on every \
             core; entities are written as they are produced, in input order, so memory does not \
             grow with the input. A batch Ocean would fail (an icon that is a list or an object), \
             a bad item of the array or a truncated array ends the run after everything before \
             it was written (exit code 1). A malformed NDJSON line is reported with its line \
             number and the other lines are still mapped (exit code 2).",
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
            Arg::new("ndjson")
                .long("ndjson")
                .action(ArgAction::SetTrue)
                .help("Read one raw item per line (NDJSON) instead of a JSON array"),
        )
        .arg(
            Arg::new("jobs")
                .long("jobs")
                .short('j')
                .value_name("N")
                .value_parser(value_parser!(usize))
                .help("Threads mapping batches (default: one per core)"),
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
    let (input_name, reader) = open_input(input)?;
    let format = if args.get_flag("ndjson") {
        Format::Ndjson
    } else {
        Format::Array
    };
    let options = EngineOptions {
        allow_env_access: *args.get_one::<bool>("env-access").expect("has a default"),
        ..EngineOptions::with_env(std::env::vars())
    };
    let mapper = KindMapper::new(&config, &kind, &options);
    let compile_problems = mapper.compile_problems();
    // The warnings about the mapping come once the input is known to hold items (as before
    // streaming, an input that is not an array is one line of error and nothing else).
    let mut warned = false;
    let mut warn = || {
        if std::mem::replace(&mut warned, true) {
            return;
        }
        for p in &compile_problems {
            eprintln!(
                "warning: kind '{}': {} does not compile, so it is always null: {:?}: {}",
                p.kind, p.field, p.expression, p.message
            );
        }
        if mapper.resources() == 0 {
            eprintln!("warning: {source_name} has no resource of kind '{kind}'");
        }
    };
    let threads = match args.get_one::<usize>("jobs") {
        Some(n) => *n,
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    let pretty = args.get_flag("pretty");
    let stdout = std::io::stdout().lock();
    let mut writer = output::Writer::new(
        std::io::BufWriter::with_capacity(1 << 16, stdout),
        pretty,
        &kind,
        &input_name,
        mapper.resources(),
    )
    .context("writing the output")?;
    map_ordered(
        ItemReader::new(reader, format),
        threads,
        |reader, batch| output::encode(mapper.map_batch(reader, &batch), pretty),
        |batch| {
            if batch.as_ref().is_ok_and(|b| !b.ends_the_stream()) {
                warn();
            }
            writer.absorb(batch)
        },
    );
    let ending = writer
        .finish(mapper.compile_problems())
        .context("writing the output")?;
    if ending.fatal.is_none() {
        warn();
    }
    if let Some(fatal) = ending.fatal {
        bail!("{fatal}");
    }
    if ending.item_errors > 0 {
        eprintln!(
            "error: {input_name}: {} line(s) could not be mapped; the others were",
            ending.item_errors
        );
        return Ok(ExitCode::from(2));
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

fn open_input(input: &str) -> anyhow::Result<(String, Box<dyn Read + Send>)> {
    if input == "-" {
        Ok(("<stdin>".to_owned(), Box::new(std::io::stdin())))
    } else {
        let file = std::fs::File::open(input)
            .with_context(|| format!("cannot read the items file {input}"))?;
        Ok((input.to_owned(), Box::new(file)))
    }
}

/// The `--pretty` view after the entities: selector counts, errors, null fields, deletion
/// candidates (`failed_count` is `None` when the live-event path failed a batch).
fn pretty_tail(o: &ResourceOutcome, failed_count: Option<usize>) -> String {
    use std::fmt::Write;
    let mut s = String::new();
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
    if let Some(failed) = failed_count {
        if failed > 0 {
            let _ = writeln!(
                s,
                "\n{failed} entit(ies) whose selector is false (deleted on live events)"
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

#[cfg(test)]
mod tests;
