//! `ocean check`: static checks of an integration's `port-app-config` against the blueprints it
//! writes to, the kinds its spec declares and, when there are sample items, the entities those
//! samples map to.
//!
//! What is checked, per resource (named by its 0-based index in the config and its kind):
//!
//! - **kind**: among the spec's kinds (`features[].resources[].kind` of `.port/spec.yaml`). A
//!   spec listing `kind: dynamic` (the custom integration: each kind is an endpoint path)
//!   allows any kind. An integration whose code overrides `serves_kind` (PagerDuty serves any
//!   list endpoint) may serve kinds beyond its spec, so there an unknown kind is a warning.
//! - **expressions** that do not compile or use a jq feature the engine does not support.
//! - **blueprint**: a constant blueprint (`'"svc"'`) must be in the blueprints file; its mapped
//!   properties must be in its schema and its mapped relations among its relations. A relation
//!   target missing from the file is a warning (it may exist in Port). A blueprint computed per
//!   item is checked per sample instead.
//! - **samples** (`.port/examples/<KIND>.json`, a JSON array; or Python Ocean's
//!   `.port/examples/<KIND>/*.json`, one item per file; or `--items FILE --kind KIND`): every
//!   value of the mapped entities against the blueprint's schema (type, `enum`, `format:
//!   date-time`, array `items`), identifiers, relation shapes, selectors that drop every sample,
//!   fields null for every sample. Each distinct problem is reported once per resource and field,
//!   with a count and one example value.
//!
//! An error is something Ocean or Port will reject or silently drop (`ocean check` exits 1); a
//! warning is probably a mistake but may be legitimate:
//!
//! Errors:
//! - a kind the spec does not declare; an expression that does not compile;
//! - a constant blueprint missing from the file; a mapped property not in its schema (or one
//!   Port computes); a mapped relation not on it;
//! - a sample value of the wrong type, not in `enum`, not a date-time for `format: date-time`
//!   (see [`is_date_time`]), or an array element breaking `items`; a title that is not a string;
//! - an identifier that is `""`, `0`, `false`, a float, an array or an object, or null for every
//!   sample (Ocean skips such items); a computed blueprint that is not a string, or empty for
//!   every sample; a list for a single (`many: false`) relation;
//! - a selector failing on a sample; a batch Ocean fails (an icon that is a list).
//!
//! Warnings:
//! - a kind the spec does not declare when the integration overrides `serves_kind`;
//! - a blueprint that is not a constant (then checked per sample); a computed blueprint missing
//!   from the file or empty for some samples; a relation target missing from the file; a
//!   required property or relation that is not mapped, or null in a sample;
//! - an identifier that is an integer, or null for some samples; one identifier for a `many`
//!   relation; a number or `""` as a relation; a `url` without a scheme; a `user`/`email`
//!   without `@`;
//! - a selector dropping every sample; `itemsToParse` giving no children; a field null for every
//!   sample; a field whose expression fails on some samples.
//!
//! Without a blueprints file, or without a spec, the checks that need it are skipped with a
//! warning saying so.

use anyhow::{Context, bail};
use ocean_mapping::PortAppConfig;
use ocean_mapping::config::{MappingValue, ResourceConfig};
use ocean_mapping::engine::{CompileProblem, CompiledResource, EngineOptions};
use ocean_mapping::jq::Val;
use ocean_mapping::jq::read::Reader;
use ocean_mapping::jq::rewrite_single_quotes;
use ocean_mapping::preview::map_resource;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The prefix of a field path in a resource: `port.entity.mappings.properties.tier`.
pub const MAPPINGS: &str = "port.entity.mappings";

/// The spec's placeholder kind for "any kind" (the custom integration's endpoint paths).
pub const DYNAMIC_KIND: &str = "dynamic";

/// What to check.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The integration's folder.
    pub path: PathBuf,
    /// The mapping (default `PATH/.port/resources/port-app-config.yml`, `.yaml` or `.json`).
    pub config: Option<PathBuf>,
    /// The blueprints (default `PATH/.port/resources/blueprints.json`).
    pub blueprints: Option<PathBuf>,
    /// Sample items of `kind` (a JSON array), instead of `.port/examples/` for that kind.
    pub items: Option<PathBuf>,
    /// The kind of `items`.
    pub kind: Option<String>,
    /// Blueprints read from Port (`--port`), by identifier, with where they came from; used
    /// instead of the blueprints file.
    pub port_blueprints: Option<(String, HashMap<String, Value>)>,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Ocean or Port would reject or silently drop something: `ocean check` exits 1.
    Error,
    /// Probably a mistake, possibly legitimate.
    Warning,
}

/// One problem, naming where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// The resource's 0-based index in the config (`None` for a problem of no resource).
    pub resource: Option<usize>,
    /// The resource's kind.
    pub kind: Option<String>,
    /// Where in the resource (`port.entity.mappings.properties.tier`, `kind`, `selector.query`).
    pub field: String,
    /// The expression as written (the kind itself for `kind`).
    pub expression: Option<String>,
    /// What is wrong.
    pub message: String,
    /// For a problem seen in sample entities: in how many.
    pub count: Option<usize>,
    /// For a problem seen in sample entities: the first offending value.
    pub example: Option<Value>,
}

impl Finding {
    /// A finding of no resource (a missing file, `--items` of an unmapped kind).
    fn general(kind: Option<String>, field: &str, message: String) -> Finding {
        Finding {
            severity: Severity::Warning,
            resource: None,
            kind,
            field: field.to_owned(),
            expression: None,
            message,
            count: None,
            example: None,
        }
    }

    /// The JSON form `--output json` prints.
    pub fn to_json(&self) -> Value {
        json!({
            "resource": self.resource,
            "kind": self.kind,
            "field": self.field,
            "expression": self.expression,
            "message": self.message,
            "count": self.count,
            "example": self.example,
        })
    }

    fn render(&self, out: &mut String) {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let place = match (self.resource, &self.kind) {
            (Some(i), Some(k)) => format!("resource {i} (kind {k:?}): "),
            (Some(i), None) => format!("resource {i}: "),
            (None, Some(k)) => format!("kind {k:?}: "),
            (None, None) => String::new(),
        };
        let _ = writeln!(out, "{label}: {place}{}: {}", self.field, self.message);
        if let Some(e) = &self.expression {
            let _ = writeln!(out, "    expression: {}", shorten(e, 120));
        }
    }
}

/// Everything `ocean check` found.
#[derive(Debug, Clone)]
pub struct Report {
    /// The mapping checked.
    pub config: PathBuf,
    /// The blueprints file (or Port's address, with `--port`), when there was one.
    pub blueprints: Option<PathBuf>,
    /// Resources in the mapping.
    pub resources: usize,
    /// Sample items per kind of the mapping that had some.
    pub samples: BTreeMap<String, usize>,
    /// Kinds of the mapping without sample items.
    pub kinds_without_samples: Vec<String>,
    /// Every finding, in config order.
    pub findings: Vec<Finding>,
}

impl Report {
    /// The errors, in config order.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }

    /// The warnings, in config order.
    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
    }

    /// Whether there is any error (the exit code is then 1).
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    /// `{"errors": [...], "warnings": [...]}`.
    pub fn to_json(&self) -> Value {
        json!({
            "errors": self.errors().map(Finding::to_json).collect::<Vec<_>>(),
            "warnings": self.warnings().map(Finding::to_json).collect::<Vec<_>>(),
        })
    }

    /// The human report: errors, then warnings, then one summary line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in self.errors().chain(self.warnings()) {
            f.render(&mut out);
        }
        let errors = self.errors().count();
        let warnings = self.warnings().count();
        let samples = if self.samples.is_empty() {
            "no sample items".to_owned()
        } else {
            let kinds: Vec<String> = self
                .samples
                .iter()
                .map(|(k, n)| format!("{k} ({n})"))
                .collect();
            format!("sample items of {}", kinds.join(", "))
        };
        let without = if self.kinds_without_samples.is_empty() {
            String::new()
        } else {
            format!("; none for {}", self.kinds_without_samples.join(", "))
        };
        let blueprints = match &self.blueprints {
            Some(b) => format!(" against {}", b.display()),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "ocean check: {}: {errors} error(s), {warnings} warning(s) in {} resource(s) of \
             {}{blueprints} ({samples}{without})",
            if errors > 0 { "FAILED" } else { "passed" },
            self.resources,
            self.config.display(),
        );
        out
    }
}

/// The blueprints `config` writes to: each resource's constant blueprint (`--port` reads them,
/// then the targets of their relations, from Port).
pub fn referenced_blueprints(config: &PortAppConfig) -> Vec<String> {
    let mut names: Vec<String> = config
        .resources
        .iter()
        .filter_map(|r| constant_string(&r.port.entity.mappings.blueprint))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Reads from Port the blueprints `config` writes to ([`referenced_blueprints`]) and the
/// targets of their relations, for `ocean check --port`. `env` supplies Ocean's settings:
/// `OCEAN__PORT__CLIENT_ID` and `OCEAN__PORT__CLIENT_SECRET` (required) and
/// `OCEAN__PORT__BASE_URL` (default `https://api.getport.io`). Only reads are sent. A blueprint
/// Port does not have is left out, so the check reports it missing.
pub fn blueprints_from_port(
    config: &PortAppConfig,
    env: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<(String, HashMap<String, Value>)> {
    use ocean_port_client::{IntegrationIdentity, PortClient, PortClientConfig};
    let base_url = env("OCEAN__PORT__BASE_URL")
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "https://api.getport.io".to_owned());
    let required = |name: &str| {
        env(name).filter(|v| !v.trim().is_empty()).with_context(|| {
            format!("--port reads the blueprints from Port: set {name} (and the other OCEAN__PORT__ settings)")
        })
    };
    let client_id = required("OCEAN__PORT__CLIENT_ID")?;
    let client_secret = required("OCEAN__PORT__CLIENT_SECRET")?;
    let identity =
        IntegrationIdentity::new("ocean-check", env!("CARGO_PKG_VERSION"), "ocean-check");
    let client = PortClient::new(PortClientConfig::new(
        base_url.clone(),
        client_id,
        client_secret,
        identity,
    ))
    .with_context(|| format!("connecting to Port at {base_url}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let mut found: HashMap<String, Value> = HashMap::new();
    runtime.block_on(async {
        let mut wanted = referenced_blueprints(config);
        // The mapping's blueprints, then (one level) the targets of their relations.
        for round in 0..2 {
            let mut targets = Vec::new();
            for name in std::mem::take(&mut wanted) {
                if found.contains_key(&name) {
                    continue;
                }
                let blueprint = client.get_blueprint(&name).await.with_context(|| {
                    format!("reading the blueprint {name:?} from Port at {base_url}")
                })?;
                if let Some(blueprint) = blueprint {
                    targets.extend(blueprint.relations.values().map(|r| r.target.clone()));
                    found.insert(name, blueprint.raw);
                }
            }
            if round == 0 {
                targets.sort();
                targets.dedup();
                wanted = targets;
            }
        }
        anyhow::Ok(())
    })?;
    Ok((format!("Port at {base_url}"), found))
}

/// The integration's mapping: `port-app-config.yml`, `.yaml` or `.json` under `.port/resources`.
pub fn default_config(path: &Path) -> anyhow::Result<PathBuf> {
    let resources = path.join(".port/resources");
    [
        "port-app-config.yml",
        "port-app-config.yaml",
        "port-app-config.json",
    ]
    .iter()
    .map(|name| resources.join(name))
    .find(|p| p.is_file())
    .with_context(|| format!("{} has no port-app-config", resources.display()))
}

/// Reads a port-app-config (YAML or JSON), errors naming the file.
pub fn load_config(path: &Path) -> anyhow::Result<PortAppConfig> {
    let name = path.display().to_string();
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read the config {name}"))?;
    if text.trim().is_empty() {
        bail!("{name}: the config is empty");
    }
    if name.ends_with(".json") {
        let value: Value =
            serde_json::from_str(&text).with_context(|| format!("{name} is not valid JSON"))?;
        return PortAppConfig::from_json(&value).map_err(|e| {
            anyhow::anyhow!("{}", e.to_string().replacen("port-app-config", &name, 1))
        });
    }
    Ok(PortAppConfig::from_yaml_str(&text, &name)?)
}

/// Blueprints by identifier, from a JSON array of blueprint objects (`blueprints.json`).
pub fn load_blueprints(path: &Path) -> anyhow::Result<HashMap<String, Value>> {
    let name = path.display();
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read blueprints {name}"))?;
    let value: Value =
        serde_json::from_str(&text).with_context(|| format!("{name} is not valid JSON"))?;
    let Value::Array(list) = value else {
        bail!("{name}: expected a JSON array of blueprints");
    };
    let mut out = HashMap::new();
    for (i, b) in list.into_iter().enumerate() {
        let Some(id) = b["identifier"].as_str() else {
            bail!("{name}: blueprint {i} has no string `identifier`");
        };
        out.insert(id.to_owned(), b);
    }
    Ok(out)
}

/// Reads sample items: a JSON array of items, or one item (an object) per file.
pub fn read_samples(path: &Path) -> anyhow::Result<Vec<Val>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut reader = Reader::new();
    match reader.parse(&bytes) {
        Ok(Val::Arr(a)) => Ok(a.as_ref().clone()),
        Ok(one @ Val::Obj(_)) => Ok(vec![one]),
        Ok(other) => bail!(
            "{}: expected a JSON array of items (or one item, an object), found {}",
            path.display(),
            other.type_name()
        ),
        Err(e) => bail!("{}: {e}", path.display()),
    }
}

/// The sample items of `kind` kept with the integration: `.port/examples/<KIND>.json` (a JSON
/// array) and Python Ocean's `.port/examples/<KIND>/*.json` (one item per file, in name order).
/// `None` when there are none, or when the kind cannot be a file name (an endpoint path).
pub fn example_samples(path: &Path, kind: &str) -> anyhow::Result<Option<Vec<Val>>> {
    let safe = !kind.is_empty()
        && kind != "."
        && kind != ".."
        && !kind.contains(['/', '\\', '\0'])
        && !kind.starts_with('.');
    if !safe {
        return Ok(None);
    }
    let examples = path.join(".port/examples");
    let mut items = Vec::new();
    let mut found = false;
    let file = examples.join(format!("{kind}.json"));
    if file.is_file() {
        found = true;
        items.extend(read_samples(&file)?);
    }
    let dir = examples.join(kind);
    if dir.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for f in files {
            found = true;
            items.extend(read_samples(&f)?);
        }
    }
    Ok(found.then_some(items))
}

/// The kinds the integration declares, and whether it may serve others.
#[derive(Debug, Clone, Default)]
pub struct Kinds {
    /// `features[].resources[].kind` of the spec, in order.
    pub declared: Vec<String>,
    /// The spec lists `kind: dynamic`: any kind is served.
    pub any: bool,
    /// A source file overriding `serves_kind` (the integration may serve undeclared kinds).
    pub serves_kind: Option<PathBuf>,
}

/// Reads the integration's kinds from `PATH/.port/spec.yaml` (`None` without a spec).
pub fn integration_kinds(path: &Path) -> anyhow::Result<Option<Kinds>> {
    if !path.join(".port/spec.yaml").is_file() {
        return Ok(None);
    }
    let integration = crate::integration::Integration::open(path)?;
    let any = integration.kinds.iter().any(|k| k == DYNAMIC_KIND);
    Ok(Some(Kinds {
        declared: integration.kinds,
        any,
        serves_kind: find_serves_kind(&path.join("src")),
    }))
}

/// The first `.rs` file under `dir` that defines `fn serves_kind`.
fn find_serves_kind(dir: &Path) -> Option<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if let Some(found) = find_serves_kind(&p) {
                return Some(found);
            }
        } else if p.extension().is_some_and(|x| x == "rs")
            && std::fs::read_to_string(&p).is_ok_and(|t| t.contains("fn serves_kind"))
        {
            return Some(p);
        }
    }
    None
}

/// Runs every check.
pub fn run(options: &Options) -> anyhow::Result<Report> {
    let path = &options.path;
    let config_path = match &options.config {
        Some(c) => c.clone(),
        None => default_config(path)?,
    };
    let config = load_config(&config_path)?;
    let mut c = Collector::default();

    let blueprints_path = options
        .blueprints
        .clone()
        .or_else(|| Some(path.join(".port/resources/blueprints.json")).filter(|p| p.is_file()));
    let from_port = options.port_blueprints.as_ref();
    let blueprints_path = match from_port {
        Some((label, _)) => Some(PathBuf::from(label)),
        None => blueprints_path,
    };
    let blueprints = match (&blueprints_path, from_port) {
        (_, Some((_, map))) => Some(map.clone()),
        (Some(p), None) => Some(load_blueprints(p)?),
        (None, None) => {
            c.push(Finding::general(
                None,
                "blueprints",
                format!(
                    "no blueprints file ({} or --blueprints): blueprints, properties and \
                     relations are not checked",
                    path.join(".port/resources/blueprints.json").display()
                ),
            ));
            None
        }
    };

    let kinds = integration_kinds(path)?;
    if kinds.is_none() && !config.resources.is_empty() {
        c.push(Finding::general(
            None,
            "kind",
            format!(
                "{} has no .port/spec.yaml: kinds are not checked",
                path.display()
            ),
        ));
    }

    // Samples per kind of the mapping, read once.
    let mut samples: BTreeMap<String, Vec<Val>> = BTreeMap::new();
    let mut kinds_without_samples = Vec::new();
    if let (Some(items), Some(kind)) = (&options.items, &options.kind) {
        samples.insert(kind.clone(), read_samples(items)?);
    }
    for r in &config.resources {
        if samples.contains_key(&r.kind) || kinds_without_samples.contains(&r.kind) {
            continue;
        }
        match example_samples(path, &r.kind)? {
            Some(items) => {
                samples.insert(r.kind.clone(), items);
            }
            None => kinds_without_samples.push(r.kind.clone()),
        }
    }
    if let Some(kind) = &options.kind {
        if config.resources_of_kind(kind).next().is_none() {
            c.push(Finding::general(
                Some(kind.clone()),
                "kind",
                "--items are of a kind no resource of the mapping maps".into(),
            ));
        }
    }

    // No environment variables are passed, so `env` and `$ENV` are `{}`; access stays allowed
    // so that compilers' columns point into the expressions as written.
    let engine = EngineOptions::default();
    for (index, resource) in config.resources.iter().enumerate() {
        let mut rc = ResourceCheck {
            c: &mut c,
            index,
            resource,
            blueprints: blueprints.as_ref(),
        };
        rc.kind(kinds.as_ref());
        let compiled = CompiledResource::compile(resource, &engine);
        let compile_problems = compiled.compile_problems().to_vec();
        rc.compile_problems(&compile_problems);
        let blueprint = rc.blueprint();
        if let Some(items) = samples.get(&resource.kind) {
            rc.samples(items, blueprint, &compile_problems, &engine);
        }
    }

    let counts = samples
        .iter()
        .filter(|(k, _)| config.resources_of_kind(k).next().is_some())
        .map(|(k, v)| (k.clone(), v.len()))
        .collect();
    Ok(Report {
        config: config_path,
        blueprints: blueprints_path,
        resources: config.resources.len(),
        samples: counts,
        kinds_without_samples,
        findings: c.finish(),
    })
}

/// A problem with one value of one sample entity. `class` tells problems of the same field
/// apart (they are counted per resource, field and class).
#[derive(Debug, Clone, PartialEq)]
pub struct ValueProblem {
    /// Error or warning.
    pub severity: Severity,
    /// What kind of problem (`type`, `enum`, `format`, `items.type`, …).
    pub class: String,
    /// What is wrong, without counts.
    pub message: String,
}

impl ValueProblem {
    fn new(severity: Severity, class: &str, message: impl Into<String>) -> ValueProblem {
        ValueProblem {
            severity,
            class: class.to_owned(),
            message: message.into(),
        }
    }
}

/// JSON's name of a value's type, with an article: `a string`, `an array`.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks a property value against its blueprint schema entry (`{"type": ..., "format": ...,
/// "enum": [...], "items": {...}}`). Null is always fine (the property is unset). Types other
/// than string, number, boolean, array and object are not checked.
///
/// Errors: a value of the wrong type, a string not in `enum`, a `date-time` string that is not
/// one (see [`is_date_time`]), an array element that breaks `items`. Warnings: a `url` that has
/// no scheme, a `user`/`email` string without `@` (Port checks these formats less predictably).
pub fn check_property(schema: &Value, value: &Value) -> Option<ValueProblem> {
    if value.is_null() {
        return None;
    }
    let ty = schema["type"].as_str()?;
    let matches = match ty {
        "string" => value.is_string(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => return None,
    };
    if !matches {
        let article = if ty == "array" || ty == "object" {
            "an"
        } else {
            "a"
        };
        return Some(ValueProblem::new(
            Severity::Error,
            "type",
            format!(
                "the blueprint expects {article} {ty}, the mapping gives {}",
                type_name(value)
            ),
        ));
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
            return Some(ValueProblem::new(
                Severity::Error,
                "enum",
                format!(
                    "not one of the blueprint's enum values ({})",
                    list.join(", ")
                ),
            ));
        }
    }
    if let Value::String(s) = value {
        match schema["format"].as_str() {
            Some("date-time") if !is_date_time(s) => {
                return Some(ValueProblem::new(
                    Severity::Error,
                    "format",
                    "not an RFC 3339 date-time with a time zone (format: date-time), e.g. \
                     2024-06-01T12:00:00Z",
                ));
            }
            Some("url") if !looks_like_url(s) => {
                return Some(ValueProblem::new(
                    Severity::Warning,
                    "format",
                    "does not look like a URL (format: url); Port may reject it",
                ));
            }
            Some("user" | "email") if !s.contains('@') => {
                return Some(ValueProblem::new(
                    Severity::Warning,
                    "format",
                    format!(
                        "does not look like an email (format: {}); Port may reject it",
                        schema["format"].as_str().unwrap_or_default()
                    ),
                ));
            }
            _ => {}
        }
    }
    if let (Value::Array(elements), Some(items)) = (value, schema.get("items")) {
        for e in elements {
            if let Some(mut p) = check_property(items, e) {
                p.class = format!("items.{}", p.class);
                p.message = format!("an element: {}", p.message);
                return Some(p);
            }
        }
    }
    None
}

/// Checks an identifier value. Ocean skips an item whose identifier is falsy (null, `""`, `0`,
/// `false`, `[]`, `{}`).
///
/// Errors: an empty string, `0` or `false` (the item is silently skipped), a non-integer number,
/// any other boolean, an array or an object. Warnings: an integer (Port identifiers are strings:
/// add `| tostring`). Null is class `null`, a warning that the caller makes an error when every
/// sample has it.
pub fn check_identifier(value: &Value) -> Option<ValueProblem> {
    const SKIP: &str = "Ocean treats it as empty and skips the item";
    match value {
        Value::String(s) if s.is_empty() => Some(ValueProblem::new(
            Severity::Error,
            "empty",
            format!("an empty string: {SKIP}"),
        )),
        Value::String(_) => None,
        Value::Null => Some(ValueProblem::new(
            Severity::Warning,
            "null",
            format!("null: {SKIP}"),
        )),
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or_default();
            if f == 0.0 {
                Some(ValueProblem::new(
                    Severity::Error,
                    "zero",
                    format!("the number 0: {SKIP}"),
                ))
            } else if f.fract() != 0.0 {
                Some(ValueProblem::new(
                    Severity::Error,
                    "float",
                    "a non-integer number: Port identifiers are strings, and this is unlikely to \
                     be an identifier",
                ))
            } else {
                Some(ValueProblem::new(
                    Severity::Warning,
                    "number",
                    "a number: Port identifiers are strings (add `| tostring`)",
                ))
            }
        }
        Value::Bool(false) => Some(ValueProblem::new(
            Severity::Error,
            "false",
            format!("false: {SKIP}"),
        )),
        other => Some(ValueProblem::new(
            Severity::Error,
            "type",
            format!("{}: Port identifiers are strings", type_name(other)),
        )),
    }
}

/// Checks a relation value against its blueprint relation (`{"target": ..., "many": ...}`).
/// Null, a string identifier and a search query object are fine.
///
/// Errors: a list for a single relation (`many: false`), a boolean. Warnings: one identifier for
/// a `many` relation (Port expects a list), an empty string, a number, a list with non-string
/// elements.
pub fn check_relation(relation: &Value, value: &Value) -> Option<ValueProblem> {
    let many = relation["many"].as_bool().unwrap_or(false);
    match value {
        Value::Null | Value::Object(_) => None,
        Value::String(s) if s.is_empty() => Some(ValueProblem::new(
            Severity::Warning,
            "empty",
            "an empty string: no entity has that identifier",
        )),
        Value::String(_) if many => Some(ValueProblem::new(
            Severity::Warning,
            "many",
            "one identifier for a many relation: Port expects a list of identifiers",
        )),
        Value::String(_) => None,
        Value::Array(_) if !many => Some(ValueProblem::new(
            Severity::Error,
            "many",
            "a list for a single relation (many: false): Port expects one identifier",
        )),
        Value::Array(a) if a.iter().any(|e| !e.is_string()) => Some(ValueProblem::new(
            Severity::Warning,
            "items",
            "a list with elements that are not identifiers (strings)",
        )),
        Value::Array(_) => None,
        Value::Number(_) => Some(ValueProblem::new(
            Severity::Warning,
            "number",
            "a number: Port identifiers are strings (add `| tostring`)",
        )),
        Value::Bool(_) => Some(ValueProblem::new(
            Severity::Error,
            "type",
            "a boolean: a relation is an identifier, a list of them or a search query",
        )),
    }
}

/// Whether `s` is a date-time as JSON Schema's `format: date-time` is checked in practice (RFC
/// 3339, read as ajv-formats does): `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM|±HHMM|±HH)`, `t` or a
/// space for `T`, `z` for `Z`, with valid ranges (leap years, a leap second allowed). The time
/// zone is required. Jira's `2024-01-26T01:39:15.250+0200` passes; `2024-06-01`,
/// `2024-06-01T00:00:00` and epoch seconds do not.
pub fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |from: usize, n: usize| -> Option<u32> {
        let part = b.get(from..from + n)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let at = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    let (Some(year), Some(month), Some(day)) = (digits(0, 4), digits(5, 2), digits(8, 2)) else {
        return false;
    };
    if !(at(4, b"-") && at(7, b"-") && at(10, b"Tt ")) {
        return false;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if day == 0 || day > month_days {
        return false;
    }
    let (Some(hour), Some(minute), Some(second)) = (digits(11, 2), digits(14, 2), digits(17, 2))
    else {
        return false;
    };
    if !(at(13, b":") && at(16, b":")) || hour > 23 || minute > 59 || second > 60 {
        return false;
    }
    let mut i = 19;
    if at(i, b".") {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match b.get(i) {
        Some(b'Z' | b'z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            let Some(h) = digits(i + 1, 2) else {
                return false;
            };
            // `±HH`, `±HHMM` or `±HH:MM`.
            let minutes_at = if at(i + 3, b":") { i + 4 } else { i + 3 };
            let m = match digits(minutes_at, 2) {
                Some(m) if minutes_at + 2 == b.len() => m,
                _ if i + 3 == b.len() => 0,
                _ => return false,
            };
            h <= 23 && m <= 59
        }
        _ => false,
    }
}

/// Whether `s` starts with a URL scheme (`https:`, `mailto:`) followed by something.
fn looks_like_url(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !rest.is_empty()
}

/// The string a constant expression (`"svc"`, `'svc'`) gives, or `None` when it is computed.
pub fn constant_string(expression: &str) -> Option<String> {
    serde_json::from_str::<String>(rewrite_single_quotes(expression).trim()).ok()
}

/// The candidate closest to `name` by edit distance, when it is close enough to be a typo.
fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let here = row[j + 1];
                row[j + 1] = (prev + usize::from(ca != *cb))
                    .min(row[j] + 1)
                    .min(row[j + 1] + 1);
                prev = here;
            }
        }
        row[b.len()]
    }
    let limit = (name.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (distance(&name.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn suggestion(name: &str, candidates: &[&str]) -> String {
    match closest(name, candidates.iter().copied()) {
        Some(c) => format!("; did you mean {c:?}?"),
        None if candidates.is_empty() => " (it has none)".to_owned(),
        None => format!(" (it has: {})", candidates.join(", ")),
    }
}

/// Compact JSON or text, cut to `max` characters, on one line.
fn shorten(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > max {
        format!("{}…", one_line.chars().take(max).collect::<String>())
    } else {
        one_line
    }
}

/// The findings so far; problems seen in samples are counted per resource, field and class.
#[derive(Default)]
struct Collector {
    findings: Vec<Finding>,
    tallies: HashMap<(usize, String, String), Tally>,
}

/// A counted problem: its finding, the sample entities it was counted over, and whether it
/// becomes an error when every sample has it.
struct Tally {
    finding: usize,
    of: usize,
    message: String,
    error_when_all: bool,
}

impl Collector {
    fn push(&mut self, f: Finding) {
        self.findings.push(f);
    }

    /// Counts `problem` in `finding`'s resource and field: the first occurrence is pushed with
    /// the example, later ones of the same class only add to its count.
    fn count(&mut self, finding: Finding, problem: ValueProblem, of: usize, error_when_all: bool) {
        let key = (
            finding.resource.unwrap_or_default(),
            finding.field.clone(),
            problem.class,
        );
        if let Some(t) = self.tallies.get(&key) {
            let f = &mut self.findings[t.finding];
            f.count = f.count.map(|n| n + 1);
            return;
        }
        self.tallies.insert(
            key,
            Tally {
                finding: self.findings.len(),
                of,
                message: problem.message,
                error_when_all,
            },
        );
        self.findings.push(Finding {
            severity: problem.severity,
            count: Some(1),
            ..finding
        });
    }

    fn finish(mut self) -> Vec<Finding> {
        for t in self.tallies.values() {
            let f = &mut self.findings[t.finding];
            let n = f.count.unwrap_or(0);
            if t.error_when_all && n == t.of {
                f.severity = Severity::Error;
            }
            let example = f
                .example
                .as_ref()
                .map(|e| shorten(&e.to_string(), 80))
                .unwrap_or_default();
            f.message = format!(
                "{} ({n} of {} mapped sample(s), e.g. {example})",
                t.message, t.of
            );
        }
        self.findings
    }
}

/// The blueprint a resource writes to, when known.
#[derive(Clone, Copy)]
enum Target<'a> {
    /// A constant blueprint found in the file.
    Known(&'a Value),
    /// A constant blueprint that is not in the file, or no blueprints file.
    Unknown,
    /// Computed per item: each sample's own blueprint is looked up.
    PerItem,
}

/// The probe's extra property names: a NUL cannot start a real property name.
const PROBE_IDENTIFIER: &str = "\0identifier";
const PROBE_BLUEPRINT: &str = "\0blueprint";
const PROBE_ICON: &str = "\0icon";

/// The resource with its identifier and blueprint made constant and truthy, and their
/// expressions (and the icon's, which can fail a batch) moved into properties: every item the
/// selector passes gives an entity holding every value the real mapping computes.
fn probe(resource: &ResourceConfig) -> ResourceConfig {
    let mut r = resource.clone();
    let m = &mut r.port.entity.mappings;
    let mut extra = Vec::new();
    if let MappingValue::Expr(e) = &m.identifier {
        extra.push((PROBE_IDENTIFIER.to_owned(), e.clone()));
    }
    extra.push((PROBE_BLUEPRINT.to_owned(), m.blueprint.clone()));
    if let Some(Some(icon)) = &m.icon {
        extra.push((PROBE_ICON.to_owned(), icon.clone()));
        m.icon = None;
    }
    m.identifier = MappingValue::Expr("\"probe\"".to_owned());
    m.blueprint = "\"probe\"".to_owned();
    m.properties.get_or_insert_with(Vec::new).extend(extra);
    r
}

struct ResourceCheck<'a> {
    c: &'a mut Collector,
    index: usize,
    resource: &'a ResourceConfig,
    blueprints: Option<&'a HashMap<String, Value>>,
}

impl<'a> ResourceCheck<'a> {
    fn push(
        &mut self,
        severity: Severity,
        field: &str,
        expression: Option<String>,
        message: String,
    ) {
        self.c.push(Finding {
            severity,
            resource: Some(self.index),
            kind: Some(self.resource.kind.clone()),
            field: field.to_owned(),
            expression,
            message,
            count: None,
            example: None,
        });
    }

    /// Counts a problem of one sample value (see [`Collector::count`]).
    fn count(
        &mut self,
        field: &str,
        expression: Option<String>,
        problem: ValueProblem,
        example: &Value,
        of: usize,
        error_when_all: bool,
    ) {
        let finding = Finding {
            severity: problem.severity,
            resource: Some(self.index),
            kind: Some(self.resource.kind.clone()),
            field: field.to_owned(),
            expression,
            message: String::new(),
            count: None,
            example: Some(example.clone()),
        };
        self.c.count(finding, problem, of, error_when_all);
    }

    fn kind(&mut self, kinds: Option<&Kinds>) {
        let Some(kinds) = kinds else { return };
        let kind = &self.resource.kind;
        if kinds.any || kinds.declared.contains(kind) {
            return;
        }
        let declared: Vec<&str> = kinds.declared.iter().map(String::as_str).collect();
        let hint = suggestion(kind, &declared);
        match &kinds.serves_kind {
            Some(source) => self.push(
                Severity::Warning,
                "kind",
                Some(kind.clone()),
                format!(
                    "not among the kinds of .port/spec.yaml{hint}; the integration overrides \
                     serves_kind ({}), so it may serve it all the same",
                    source.display()
                ),
            ),
            None => self.push(
                Severity::Error,
                "kind",
                Some(kind.clone()),
                format!("not among the integration's kinds (.port/spec.yaml){hint}"),
            ),
        }
    }

    fn compile_problems(&mut self, problems: &[CompileProblem]) {
        for p in problems {
            self.push(
                Severity::Error,
                &p.field,
                Some(p.expression.clone()),
                format!("does not compile, so it is always null: {}", p.message),
            );
        }
    }

    fn mappings_field(name: &str) -> String {
        format!("{MAPPINGS}.{name}")
    }

    /// The static blueprint checks; returns what the samples are checked against.
    fn blueprint(&mut self) -> Target<'a> {
        let Some(blueprints) = self.blueprints else {
            return Target::Unknown;
        };
        let m = &self.resource.port.entity.mappings;
        let field = Self::mappings_field("blueprint");
        let Some(id) = constant_string(&m.blueprint) else {
            self.push(
                Severity::Warning,
                &field,
                Some(m.blueprint.clone()),
                "not a constant string: properties and relations are not checked against a \
                 blueprint statically (only each sample's own blueprint, when there are samples)"
                    .into(),
            );
            return Target::PerItem;
        };
        let Some((id, bp)) = blueprints.get_key_value(&id) else {
            let mut names: Vec<&str> = blueprints.keys().map(String::as_str).collect();
            names.sort_unstable();
            self.push(
                Severity::Error,
                &field,
                Some(m.blueprint.clone()),
                format!(
                    "blueprint {id:?} is not in the blueprints file{}",
                    suggestion(&id, &names)
                ),
            );
            return Target::Unknown;
        };
        let schema = bp["schema"]["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let mut property_names: Vec<&str> = schema.keys().map(String::as_str).collect();
        property_names.sort_unstable();
        for (name, expression) in m.properties.iter().flatten() {
            if schema.contains_key(name) {
                continue;
            }
            let computed = [
                "calculationProperties",
                "mirrorProperties",
                "aggregationProperties",
            ]
            .into_iter()
            .find(|k| bp[*k].get(name).is_some());
            let message = match computed {
                Some(k) => format!(
                    "property {name:?} of blueprint {id:?} is one of its {k}: Port computes it, \
                     a mapping cannot set it"
                ),
                None => format!(
                    "property {name:?} does not exist on blueprint {id:?}{}",
                    suggestion(name, &property_names)
                ),
            };
            self.push(
                Severity::Error,
                &Self::mappings_field(&format!("properties.{name}")),
                Some(expression.clone()),
                message,
            );
        }
        let relations = bp["relations"].as_object().cloned().unwrap_or_default();
        let mut relation_names: Vec<&str> = relations.keys().map(String::as_str).collect();
        relation_names.sort_unstable();
        for (name, value) in m.relations.iter().flatten() {
            let field = Self::mappings_field(&format!("relations.{name}"));
            match relations.get(name) {
                None => self.push(
                    Severity::Error,
                    &field,
                    Some(value.to_string()),
                    format!(
                        "relation {name:?} does not exist on blueprint {id:?}{}",
                        suggestion(name, &relation_names)
                    ),
                ),
                Some(def) => {
                    let target = def["target"].as_str().unwrap_or_default();
                    if !blueprints.contains_key(target) {
                        self.push(
                            Severity::Warning,
                            &field,
                            Some(value.to_string()),
                            format!(
                                "relation {name:?} of blueprint {id:?} targets blueprint \
                                 {target:?}, which is not in the blueprints file (it must \
                                 exist in Port)"
                            ),
                        );
                    }
                }
            }
        }
        let mapped = |name: &str| m.properties.iter().flatten().any(|(n, _)| n == name);
        for required in bp["schema"]["required"].as_array().into_iter().flatten() {
            let Some(required) = required.as_str() else {
                continue;
            };
            if !mapped(required) {
                self.push(
                    Severity::Warning,
                    &Self::mappings_field("properties"),
                    None,
                    format!(
                        "required property {required:?} of blueprint {id:?} is not mapped: Port \
                         rejects entities that lack it (unless they already exist and are merged)"
                    ),
                );
            }
        }
        for (name, def) in &relations {
            let is_mapped = m.relations.iter().flatten().any(|(n, _)| n == name);
            if def["required"].as_bool() == Some(true) && !is_mapped {
                self.push(
                    Severity::Warning,
                    &Self::mappings_field("relations"),
                    None,
                    format!(
                        "required relation {name:?} of blueprint {id:?} is not mapped: Port \
                         rejects entities that lack it (unless they already exist and are merged)"
                    ),
                );
            }
        }
        Target::Known(bp)
    }

    /// Maps the samples through the resource (and its probe) and checks every value.
    fn samples(
        &mut self,
        items: &[Val],
        target: Target<'a>,
        compile_problems: &[CompileProblem],
        engine: &EngineOptions,
    ) {
        if items.is_empty() {
            return;
        }
        let resource = self.resource;
        let m = &resource.port.entity.mappings;
        let real = map_resource(resource, items, engine);
        let mapped = real.items_mapped;
        if mapped > 0 && real.selector_dropped == mapped {
            self.push(
                Severity::Warning,
                "selector.query",
                Some(resource.selector.query.clone()),
                format!("drops every sample item ({mapped} of {mapped})"),
            );
        }
        if let Some(first) = real.selector_errors.first() {
            self.push(
                Severity::Error,
                "selector.query",
                Some(resource.selector.query.clone()),
                format!(
                    "fails on {} of {mapped} sample item(s) (Ocean skips them and the resync \
                     deletes nothing), e.g. item {}: {}",
                    real.selector_errors.len(),
                    first.item,
                    first.message
                ),
            );
        }
        if let Some(first) = real.skipped_parents.first() {
            self.push(
                Severity::Warning,
                "port.itemsToParse",
                resource.port.items_to_parse.clone(),
                format!(
                    "{} sample item(s) gave no children, e.g. item {}: {}",
                    real.skipped_parents.len(),
                    first.item,
                    first.reason
                ),
            );
        }
        if let Some(e) = &real.error {
            self.push(
                Severity::Error,
                &Self::mappings_field("icon"),
                m.icon.clone().flatten(),
                format!("Ocean fails the whole batch: {e}"),
            );
        }

        let probe = map_resource(&probe(resource), items, engine);
        let entities = probe.entities;
        let of = entities.len();
        if of == 0 {
            return;
        }
        // Non-null values per field path (`title`, `properties.x`), to find always-null fields.
        let mut non_null: BTreeMap<String, usize> = BTreeMap::new();
        let identifier_expr = m.identifier.to_string();
        let props_schema = |bp: &'a Value| bp["schema"]["properties"].as_object();
        for entity in &entities {
            let props = entity.properties.clone().unwrap_or_default();
            let get = |k: &str| props.get(k).cloned().unwrap_or(Value::Null);
            if let MappingValue::Expr(_) = &m.identifier {
                let v = get(PROBE_IDENTIFIER);
                if let Some(p) = check_identifier(&v) {
                    let all = p.class == "null";
                    self.count(
                        &Self::mappings_field("identifier"),
                        Some(identifier_expr.clone()),
                        p,
                        &v,
                        of,
                        all,
                    );
                }
            }
            let blueprint_value = get(PROBE_BLUEPRINT);
            let blueprint = match target {
                Target::Known(bp) => Some(bp),
                Target::Unknown => None,
                Target::PerItem => self.per_item_blueprint(&blueprint_value, of),
            };
            if let Some(title) = &entity.title {
                if !title.is_null() && !title.is_string() {
                    self.count(
                        &Self::mappings_field("title"),
                        m.title.clone().flatten(),
                        ValueProblem::new(
                            Severity::Error,
                            "type",
                            format!("{}: Port titles are strings", type_name(title)),
                        ),
                        title,
                        of,
                        false,
                    );
                }
                if !title.is_null() {
                    *non_null.entry("title".into()).or_default() += 1;
                }
            }
            if m.icon.is_some() && !get(PROBE_ICON).is_null() {
                *non_null.entry("icon".into()).or_default() += 1;
            }
            if entity.team.as_ref().is_some_and(|t| !t.is_null()) {
                *non_null.entry("team".into()).or_default() += 1;
            }
            for (name, expression) in m.properties.iter().flatten() {
                let v = get(name);
                if !v.is_null() {
                    *non_null.entry(format!("properties.{name}")).or_default() += 1;
                }
                let Some(bp) = blueprint else { continue };
                let Some(schema) = props_schema(bp).and_then(|p| p.get(name)) else {
                    continue;
                };
                let field = Self::mappings_field(&format!("properties.{name}"));
                if let Some(p) = check_property(schema, &v) {
                    self.count(&field, Some(expression.clone()), p, &v, of, false);
                }
                if v.is_null() && is_required(bp, name) {
                    self.count(
                        &field,
                        Some(expression.clone()),
                        ValueProblem::new(
                            Severity::Warning,
                            "required",
                            "null for a required property: Port rejects the entity unless it \
                             already exists",
                        ),
                        &v,
                        of,
                        false,
                    );
                }
            }
            let relations = entity.relations.clone().unwrap_or_default();
            for (name, expression) in m.relations.iter().flatten() {
                let v = relations.get(name).cloned().unwrap_or(Value::Null);
                if !v.is_null() {
                    *non_null.entry(format!("relations.{name}")).or_default() += 1;
                }
                let Some(def) = blueprint.and_then(|bp| bp["relations"].get(name)) else {
                    continue;
                };
                let field = Self::mappings_field(&format!("relations.{name}"));
                if let Some(p) = check_relation(def, &v) {
                    self.count(&field, Some(expression.to_string()), p, &v, of, false);
                }
                if v.is_null() && def["required"].as_bool() == Some(true) {
                    self.count(
                        &field,
                        Some(expression.to_string()),
                        ValueProblem::new(
                            Severity::Warning,
                            "required",
                            "null for a required relation: Port rejects the entity unless it \
                             already exists",
                        ),
                        &v,
                        of,
                        false,
                    );
                }
            }
        }

        // Fields null for every sample (the identifier and blueprint are counted above).
        let mut fields: Vec<(String, Option<String>)> = Vec::new();
        if let Some(t) = &m.title {
            fields.push(("title".into(), t.clone()));
        }
        if let Some(i) = &m.icon {
            fields.push(("icon".into(), i.clone()));
        }
        if let Some(t) = &m.team {
            fields.push(("team".into(), t.as_ref().map(MappingValue::to_string)));
        }
        for (name, e) in m.properties.iter().flatten() {
            fields.push((format!("properties.{name}"), Some(e.clone())));
        }
        for (name, e) in m.relations.iter().flatten() {
            fields.push((format!("relations.{name}"), Some(e.to_string())));
        }
        for (path, expression) in fields {
            let field = Self::mappings_field(&path);
            if compile_problems.iter().any(|p| p.field == field) {
                continue;
            }
            if non_null.get(&path).copied().unwrap_or(0) > 0 {
                if let Some(message) = real.field_errors.get(&path) {
                    self.push(
                        Severity::Warning,
                        &field,
                        expression,
                        format!("fails on some sample item(s) (null there): {message}"),
                    );
                }
                continue;
            }
            let why = match real.field_errors.get(&path) {
                Some(message) => format!("; the expression fails: {message}"),
                None => String::new(),
            };
            self.push(
                Severity::Warning,
                &field,
                expression,
                format!(
                    "null for every sample ({of} mapped): misconfigured, or the samples lack the \
                     data{why}"
                ),
            );
        }
    }

    /// The blueprint named by a sample's computed blueprint value; problems are counted.
    fn per_item_blueprint(&mut self, value: &Value, of: usize) -> Option<&'a Value> {
        let field = Self::mappings_field("blueprint");
        let expression = Some(self.resource.port.entity.mappings.blueprint.clone());
        let problem = match value {
            Value::String(s) if !s.is_empty() => match self.blueprints?.get(s.as_str()) {
                Some(bp) => return Some(bp),
                None => ValueProblem::new(
                    Severity::Warning,
                    "missing",
                    "a blueprint that is not in the blueprints file",
                ),
            },
            Value::String(_) | Value::Null | Value::Bool(false) => {
                ValueProblem::new(Severity::Warning, "empty", "empty: Ocean skips the item")
            }
            other => ValueProblem::new(
                Severity::Error,
                "type",
                format!("{}: a blueprint identifier is a string", type_name(other)),
            ),
        };
        let all = problem.class == "empty";
        self.count(&field, expression, problem, value, of, all);
        None
    }
}

fn is_required(blueprint: &Value, property: &str) -> bool {
    blueprint["schema"]["required"]
        .as_array()
        .is_some_and(|r| r.iter().any(|p| p.as_str() == Some(property)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn problem(schema: Value, value: Value) -> Option<(Severity, String)> {
        check_property(&schema, &value).map(|p| (p.severity, p.class))
    }

    #[test]
    fn property_types_are_checked_and_null_always_passes() {
        let cases = [
            ("string", json!("x"), json!(1)),
            ("number", json!(1.5), json!("1.5")),
            ("boolean", json!(true), json!("true")),
            ("array", json!([1]), json!({"a": 1})),
            ("object", json!({"a": 1}), json!([1])),
        ];
        for (ty, good, bad) in cases {
            let schema = json!({"type": ty});
            assert_eq!(problem(schema.clone(), good), None, "{ty}");
            assert_eq!(problem(schema.clone(), Value::Null), None, "{ty}");
            assert_eq!(
                problem(schema, bad),
                Some((Severity::Error, "type".into())),
                "{ty}"
            );
        }
        // Unknown or absent types are not checked.
        assert_eq!(problem(json!({"type": "mystery"}), json!(1)), None);
        assert_eq!(problem(json!({}), json!(1)), None);
        let message = check_property(&json!({"type": "array"}), &json!("x"))
            .unwrap()
            .message;
        assert_eq!(
            message,
            "the blueprint expects an array, the mapping gives a string"
        );
    }

    #[test]
    fn enums_formats_and_array_items() {
        let status = json!({"type": "string", "enum": ["open", "closed"]});
        assert_eq!(problem(status.clone(), json!("open")), None);
        assert_eq!(
            problem(status, json!("OPEN")),
            Some((Severity::Error, "enum".into()))
        );
        let date = json!({"type": "string", "format": "date-time"});
        assert_eq!(problem(date.clone(), json!("2024-06-01T00:37:00Z")), None);
        assert_eq!(
            problem(date, json!("2024-06-01")),
            Some((Severity::Error, "format".into()))
        );
        let url = json!({"type": "string", "format": "url"});
        assert_eq!(problem(url.clone(), json!("https://example.com/x")), None);
        assert_eq!(
            problem(url, json!("")),
            Some((Severity::Warning, "format".into()))
        );
        let user = json!({"type": "string", "format": "user"});
        assert_eq!(problem(user.clone(), json!("a@b.c")), None);
        assert_eq!(
            problem(user, json!("alice")),
            Some((Severity::Warning, "format".into()))
        );
        let labels = json!({"type": "array", "items": {"type": "string", "enum": ["a", "b"]}});
        assert_eq!(problem(labels.clone(), json!(["a", "b"])), None);
        assert_eq!(
            problem(labels.clone(), json!(["a", 1])),
            Some((Severity::Error, "items.type".into()))
        );
        assert_eq!(
            problem(labels, json!(["c"])),
            Some((Severity::Error, "items.enum".into()))
        );
    }

    #[test]
    fn date_times_need_rfc3339_and_a_time_zone() {
        for good in [
            "2024-06-01T00:00:00Z",
            "2024-06-01t00:00:00z",
            "2024-06-01 23:59:60Z",
            "2024-02-29T12:00:00.123456+02:00",
            "2015-10-06T21:30:42-07:30",
            "2026-01-26T01:39:15.250+0200",
            "2024-06-01T00:00:00+02",
        ] {
            assert!(is_date_time(good), "{good}");
        }
        for bad in [
            "",
            "2024-06-01",
            "2024-06-01T00:00:00",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-06-31T00:00:00Z",
            "2024-06-01T24:00:00Z",
            "2024-06-01T00:00:00.Z",
            "2024-06-01T00:00:00+2:00",
            "2024-06-01T00:00:00+02:0",
            "2024-06-01T00:00:00+02:00:00",
            "2024-06-01T00:00:00+0260",
            "2024-06-01T00:00:00Z ",
            "1717200000",
            "June 1, 2024",
        ] {
            assert!(!is_date_time(bad), "{bad}");
        }
    }

    #[test]
    fn identifiers() {
        let class = |v: Value| check_identifier(&v).map(|p| (p.severity, p.class));
        assert_eq!(class(json!("svc-1")), None);
        assert_eq!(class(json!("")), Some((Severity::Error, "empty".into())));
        assert_eq!(class(json!(0)), Some((Severity::Error, "zero".into())));
        assert_eq!(class(json!(42)), Some((Severity::Warning, "number".into())));
        assert_eq!(class(json!(1.5)), Some((Severity::Error, "float".into())));
        assert_eq!(class(Value::Null), Some((Severity::Warning, "null".into())));
        assert_eq!(class(json!(["a"])), Some((Severity::Error, "type".into())));
    }

    #[test]
    fn relations() {
        let single = json!({"target": "team", "many": false});
        let many = json!({"target": "team", "many": true});
        let class = |def: &Value, v: Value| check_relation(def, &v).map(|p| (p.severity, p.class));
        assert_eq!(class(&single, json!("t1")), None);
        assert_eq!(class(&single, Value::Null), None);
        assert_eq!(
            class(&single, json!({"combinator": "and", "rules": []})),
            None
        );
        assert_eq!(
            class(&single, json!(["t1"])),
            Some((Severity::Error, "many".into()))
        );
        assert_eq!(class(&many, json!(["t1", "t2"])), None);
        assert_eq!(
            class(&many, json!("t1")),
            Some((Severity::Warning, "many".into()))
        );
        assert_eq!(
            class(&single, json!(7)),
            Some((Severity::Warning, "number".into()))
        );
    }

    #[test]
    fn constant_blueprints_and_typos() {
        assert_eq!(constant_string(r#""svc""#).as_deref(), Some("svc"));
        assert_eq!(constant_string(" 'svc' ").as_deref(), Some("svc"));
        assert_eq!(constant_string(".kind"), None);
        assert_eq!(constant_string(r#""a" + .b"#), None);
        assert_eq!(closest("servce", ["service", "team"]), Some("service"));
        assert_eq!(closest("zzz", ["service", "team"]), None);
    }

    fn integration(identifier: &str, items: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let port = dir.path().join(".port");
        std::fs::create_dir_all(port.join("resources")).unwrap();
        std::fs::create_dir_all(port.join("examples")).unwrap();
        std::fs::write(
            port.join("spec.yaml"),
            "features:\n  - type: exporter\n    resources:\n      - kind: svc\n",
        )
        .unwrap();
        std::fs::write(
            port.join("resources/blueprints.json"),
            r#"[{"identifier": "svc", "schema": {"properties": {}}}]"#,
        )
        .unwrap();
        std::fs::write(
            port.join("resources/port-app-config.yml"),
            format!(
                "resources:\n  - kind: svc\n    selector:\n      query: 'true'\n    port:\n      \
                 entity:\n        mappings:\n          identifier: {identifier}\n          \
                 blueprint: '\"svc\"'\n"
            ),
        )
        .unwrap();
        std::fs::write(port.join("examples/svc.json"), items).unwrap();
        dir
    }

    #[test]
    fn a_null_identifier_is_an_error_only_when_every_sample_has_it() {
        let field = format!("{MAPPINGS}.identifier");
        let dir = integration(".id", r#"[{"id": "a"}, {"other": 1}]"#);
        let some = run(&Options {
            path: dir.path().to_owned(),
            ..Options::default()
        })
        .unwrap();
        let found: Vec<&Finding> = some.findings.iter().filter(|f| f.field == field).collect();
        assert_eq!(found.len(), 1, "{:?}", some.findings);
        assert_eq!(found[0].severity, Severity::Warning);
        assert_eq!(found[0].count, Some(1));
        assert!(!some.has_errors());

        let dir = integration(".missing", r#"[{"id": "a"}, {"id": "b"}]"#);
        let all = run(&Options {
            path: dir.path().to_owned(),
            ..Options::default()
        })
        .unwrap();
        let found: Vec<&Finding> = all.findings.iter().filter(|f| f.field == field).collect();
        assert_eq!(found.len(), 1, "{:?}", all.findings);
        assert_eq!(found[0].severity, Severity::Error);
        assert_eq!(
            found[0].message,
            "null: Ocean treats it as empty and skips the item (2 of 2 mapped sample(s), e.g. null)"
        );
        assert_eq!(found[0].expression.as_deref(), Some(".missing"));
        assert!(all.has_errors());
    }

    #[test]
    fn the_probe_keeps_every_value_and_never_skips() {
        let config = PortAppConfig::from_yaml_str(
            r#"
resources:
  - kind: svc
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: .bp
          icon: .icon
          properties:
            n: .n
"#,
            "test.yml",
        )
        .unwrap();
        let items = Reader::new()
            .parse_array(br#"[{"id": "", "bp": "a", "icon": ["bad"], "n": 1}]"#)
            .unwrap();
        let engine = EngineOptions::default();
        let real = map_resource(&config.resources[0], &items, &engine);
        assert!(real.entities.is_empty());
        let probed = map_resource(&probe(&config.resources[0]), &items, &engine);
        assert_eq!(probed.entities.len(), 1);
        let props: Map<String, Value> = probed.entities[0].properties.clone().unwrap();
        assert_eq!(props[PROBE_IDENTIFIER], json!(""));
        assert_eq!(props[PROBE_BLUEPRINT], json!("a"));
        assert_eq!(props[PROBE_ICON], json!(["bad"]));
        assert_eq!(props["n"], json!(1));
    }
}
