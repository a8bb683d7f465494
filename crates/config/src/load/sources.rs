//! The sources of one load turned into figment providers, and the way back from a value to the
//! place it was written (variable, `.env` line, `config.yaml` line, override).
//!
//! Every environment variable, `.env` line, `{{ from env … }}` value and override is its own
//! provider, so figment's per-value metadata identifies exactly one origin. This module does not
//! interpret values beyond what the sources themselves define (JSON for sections, key spelling,
//! boolean spellings); typing and validation are `extract`'s job.

use std::path::{Path, PathBuf};

use figment::value::{Dict, Value as FValue};
use figment::{Figment, Metadata, Profile, Provider};
use serde_json::{Map, Value};

use super::{Build, CONFIG_FILE, ENV_PREFIX, Loader, read_optional};
use crate::case::decamelize;
use crate::dotenv::DotEnv;
use crate::integration_config;
use crate::registry::{self, SettingKind};
use crate::{ConfigError, Problem, yaml};

/// Where a value was written.
#[derive(Debug, Clone)]
pub(super) enum Origin {
    Yaml {
        file: PathBuf,
    },
    YamlProvider {
        file: PathBuf,
        var: String,
    },
    DotEnv {
        file: PathBuf,
        key: String,
        line: usize,
        depth: usize,
    },
    Env {
        var: String,
        depth: usize,
    },
    Override,
}

/// One figment provider: a dict and the index of its origin.
pub(super) struct Layer {
    id: usize,
    dict: Dict,
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.id.to_string())
    }

    fn data(&self) -> Result<figment::value::Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

pub(super) fn split_key(key: &str) -> Vec<String> {
    key.split('.').map(str::to_owned).collect()
}

/// Puts `value` at `path` inside nested objects.
pub(super) fn nest(path: &[String], value: Value) -> Value {
    path.iter().rev().fold(value, |acc, key| {
        Value::Object(Map::from_iter([(key.clone(), acc)]))
    })
}

pub(super) fn to_dict(value: Value) -> Dict {
    match FValue::serialize(value) {
        Ok(FValue::Dict(_, dict)) => dict,
        _ => Dict::new(),
    }
}

/// Whether keys of the mapping at `container` are user data (inside an integration config value).
pub(super) fn is_user_data(container: &[String]) -> bool {
    container.len() >= 3 && container[0] == "integration" && container[1] == "config"
}

/// snake_cases mapping keys recursively, except inside integration-config values.
pub(super) fn normalise_keys(value: Value, container: &[String]) -> Value {
    match value {
        Value::Object(map) if !is_user_data(container) => {
            let mut out = Map::with_capacity(map.len());
            for (k, v) in map {
                let key = decamelize(&k);
                let mut path = container.to_vec();
                path.push(key.clone());
                out.insert(key, normalise_keys(v, &path));
            }
            Value::Object(out)
        }
        other => other,
    }
}

/// Brings values of known settings into the form the typed structs accept, where the reference
/// accepts more than figment does: every boolean spelling pydantic knows (`t`, `y`, `off`, …) and
/// whole numbers written as floats (`10.0`) for integer settings.
pub(super) fn coerce_known(value: &mut Value, path: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if is_user_data(path)
                || (path.len() == 2 && path[0] == "integration" && path[1] == "config")
            {
                return;
            }
            for (k, v) in map.iter_mut() {
                path.push(k.clone());
                coerce_known(v, path);
                path.pop();
            }
        }
        Value::String(text)
            if registry::find(&path.join(".")).is_some_and(|d| d.kind == SettingKind::Bool) =>
        {
            if let Some(b) = ocean_model::python::parse_bool(text.trim()) {
                *value = Value::Bool(b);
            }
        }
        Value::Number(n) if n.is_f64() => {
            let is_int = registry::find(&path.join("."))
                .is_some_and(|d| matches!(d.kind, SettingKind::Int { .. }));
            if let (true, Some(f)) = (is_int, n.as_f64()) {
                if f.fract() == 0.0 && (0.0..9.0e15).contains(&f) {
                    *value = Value::Number((f as u64).into());
                }
            }
        }
        _ => {}
    }
}

/// The name of the variable in a `{{ from env NAME }}` value; `Err` for another provider type.
pub(super) fn provider_reference(text: &str) -> Option<Result<String, String>> {
    let inner = text.strip_prefix("{{ from ")?;
    let first_line = inner.lines().next().unwrap_or("");
    let end = first_line.rfind(" }}")?;
    let spec = &first_line[..end];
    let (kind, name) = spec.split_once(' ')?;
    if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    if kind == "env" {
        Some(Ok(name.trim().to_owned()))
    } else {
        Some(Err(kind.to_owned()))
    }
}

/// The settings path of an `OCEAN__…` variable name (case-insensitive), or `None`.
pub(super) fn env_path(name: &str) -> Option<Vec<String>> {
    if name.len() <= ENV_PREFIX.len() || !name.is_char_boundary(ENV_PREFIX.len()) {
        return None;
    }
    let (prefix, rest) = name.split_at(ENV_PREFIX.len());
    if !prefix.eq_ignore_ascii_case(ENV_PREFIX) {
        return None;
    }
    let path: Vec<String> = rest.split("__").map(str::to_lowercase).collect();
    if path.iter().any(String::is_empty) {
        return None;
    }
    Some(path)
}

impl<'a> Build<'a> {
    pub(super) fn new(loader: &'a Loader, dotenv: Option<&'a (PathBuf, DotEnv)>) -> Self {
        Build {
            loader,
            dotenv,
            origins: Vec::new(),
            yaml_text: None,
            unresolved: Vec::new(),
            problems: Vec::new(),
            warnings: Vec::new(),
        }
    }

    pub(super) fn layer(&mut self, origin: Origin, path: &[String], mut value: Value) -> Layer {
        coerce_known(&mut value, &mut path.to_vec());
        self.origins.push(origin);
        Layer {
            id: self.origins.len() - 1,
            dict: to_dict(nest(path, value)),
        }
    }

    /// Assembles every source into one figment, lowest precedence first.
    pub(super) fn figment(&mut self) -> Result<Figment, ConfigError> {
        let mut figment = Figment::new();
        for layer in self.yaml_layers()? {
            figment = figment.merge(layer);
        }
        if let Some((file, dotenv)) = self.dotenv {
            for warning in &dotenv.warnings {
                self.warnings.push(format!("{}: {warning}", file.display()));
            }
            let mut entries: Vec<(Vec<String>, &crate::dotenv::DotEnvEntry)> = dotenv
                .entries
                .iter()
                .filter_map(|e| Some((env_path(&e.key)?, e)))
                .collect();
            entries.sort_by_key(|(path, e)| (path.len(), e.line));
            for (path, entry) in entries {
                let origin = Origin::DotEnv {
                    file: file.clone(),
                    key: entry.key.clone(),
                    line: entry.line,
                    depth: path.len(),
                };
                if let Some(value) = self.env_value(&path, &entry.value, &origin) {
                    figment = figment.merge(self.layer(origin, &path, value));
                }
            }
        }
        let mut vars: Vec<(Vec<String>, &String, &String)> = self
            .loader
            .env
            .iter()
            .filter_map(|(k, v)| Some((env_path(k)?, k, v)))
            .collect();
        vars.sort_by(|a, b| (a.0.len(), a.1).cmp(&(b.0.len(), b.1)));
        for (path, var, text) in vars {
            let origin = Origin::Env {
                var: var.clone(),
                depth: path.len(),
            };
            if let Some(value) = self.env_value(&path, text, &origin) {
                figment = figment.merge(self.layer(origin, &path, value));
            }
        }
        for (key, value) in &self.loader.overrides {
            let path = split_key(key);
            let value = normalise_keys(value.clone(), &path);
            let origin = Origin::Override;
            figment = figment.merge(self.layer(origin, &path, value));
        }
        Ok(figment)
    }

    /// `config.yaml` as layers: the literal values, then one layer per resolved provider.
    pub(super) fn yaml_layers(&mut self) -> Result<Vec<Layer>, ConfigError> {
        let Some(cwd) = &self.loader.cwd else {
            return Ok(Vec::new());
        };
        let file = cwd.join(CONFIG_FILE);
        let Some(text) = read_optional(&file)? else {
            return Ok(Vec::new());
        };
        let doc = yaml::parse(&text).map_err(|source| ConfigError::Yaml {
            path: file.clone(),
            source,
        })?;
        let root = match doc {
            Value::Null => Value::Object(Map::new()),
            Value::Object(map) => Value::Object(map),
            other => {
                return Err(ConfigError::Yaml {
                    path: file,
                    source: yaml::YamlError::Unsupported {
                        path: "(document)".to_owned(),
                        message: format!(
                            "expected a mapping of settings, found {}",
                            integration_config::kind_of(&other)
                        ),
                    },
                });
            }
        };
        self.yaml_text = Some(text);
        let mut root = normalise_keys(root, &[]);
        let mut providers = Vec::new();
        self.take_providers(&mut root, &mut Vec::new(), &mut providers, &file);
        let mut layers = vec![self.layer(Origin::Yaml { file: file.clone() }, &[], root)];
        for (path, var, value) in providers {
            let origin = Origin::YamlProvider {
                file: file.clone(),
                var,
            };
            layers.push(self.layer(origin, &path, Value::String(value)));
        }
        Ok(layers)
    }

    /// Removes `{{ from env NAME }}` values from the YAML tree, resolving each from the
    /// environment (then `.env`); unresolvable ones leave the key unset.
    pub(super) fn take_providers(
        &mut self,
        value: &mut Value,
        path: &mut Vec<String>,
        out: &mut Vec<(Vec<String>, String, String)>,
        file: &Path,
    ) {
        let Value::Object(map) = value else {
            return;
        };
        let keys: Vec<String> = map.keys().cloned().collect();
        for key in keys {
            path.push(key.clone());
            let reference = map
                .get(&key)
                .and_then(Value::as_str)
                .and_then(provider_reference);
            match reference {
                Some(Ok(var)) => {
                    map.remove(&key);
                    let found = self.loader.env.get(&var).cloned().or_else(|| {
                        self.dotenv
                            .and_then(|(_, d)| d.get(&var))
                            .map(|e| e.value.clone())
                    });
                    match found {
                        Some(v) => out.push((path.clone(), var, v)),
                        None => self.unresolved.push((path.clone(), var)),
                    }
                }
                Some(Err(kind)) => {
                    map.remove(&key);
                    self.warnings.push(format!(
                        "{} {}: unknown value provider \"{kind}\" (only \"env\" exists); the key is left unset",
                        file.display(),
                        path.join(".")
                    ));
                }
                None => {
                    if let Some(child) = map.get_mut(&key) {
                        self.take_providers(child, path, out, file);
                    }
                }
            }
            path.pop();
        }
    }

    /// Turns an environment text into the value placed at `path`: JSON for sections, text for
    /// everything else; empty text for a non-text setting means unset.
    pub(super) fn env_value(
        &mut self,
        path: &[String],
        text: &str,
        origin: &Origin,
    ) -> Option<Value> {
        let key = path.join(".");
        if registry::is_section(&key) {
            if text.trim().is_empty() {
                self.warnings.push(format!(
                    "{} is empty and is ignored",
                    self.place(origin, path)
                ));
                return None;
            }
            return match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) => Some(normalise_keys(Value::Object(map), path)),
                Ok(other) => {
                    self.problems.push(Problem {
                        key: key.clone(),
                        source: Some(self.place(origin, path)),
                        message: format!(
                            "expected a JSON object of settings, found {}",
                            integration_config::kind_of(&other)
                        ),
                    });
                    None
                }
                Err(e) => {
                    let message = e.to_string();
                    self.problems.push(Problem {
                        key: key.clone(),
                        source: Some(self.place(origin, path)),
                        message: format!("expected a JSON object of settings: {message}"),
                    });
                    None
                }
            };
        }
        if text.is_empty() {
            if let Some(doc) = registry::find(&key) {
                if !doc.is_text() {
                    self.warnings.push(format!(
                        "{} is empty and is treated as unset",
                        self.place(origin, path)
                    ));
                    return None;
                }
            }
        }
        Some(Value::String(text.to_owned()))
    }

    pub(super) fn origin(&self, figment: &Figment, path: &[String]) -> Option<&Origin> {
        let metadata = figment.find_metadata(&path.join("."))?;
        let index: usize = metadata.name.parse().ok()?;
        self.origins.get(index)
    }

    pub(super) fn yaml_location(&self, path: &[String]) -> Option<(usize, String)> {
        let text = self.yaml_text.as_deref()?;
        (1..=path.len())
            .rev()
            .find_map(|n| yaml::locate(text, &path[..n]))
            .map(|(line, spelled)| {
                // Keys below the located prefix are shown in settings spelling.
                let rest = path[spelled.split('.').count()..].join(".");
                if rest.is_empty() {
                    (line, spelled)
                } else {
                    (line, format!("{spelled}.{rest}"))
                }
            })
    }

    /// Where a value came from, without the value: for printing and for problems that must not
    /// show it.
    pub(super) fn place(&self, origin: &Origin, path: &[String]) -> String {
        self.subject(origin, path, None)
    }

    /// `<where it was written>[=<value>] (<source>)`.
    pub(super) fn subject(&self, origin: &Origin, path: &[String], value: Option<&str>) -> String {
        let shown = value.map(|v| format!("={v}")).unwrap_or_default();
        let inner = |depth: usize| {
            if path.len() > depth {
                format!(" key {}", path[depth..].join("."))
            } else {
                String::new()
            }
        };
        match origin {
            Origin::Env { var, depth } => format!("{var}{}{shown} (environment)", inner(*depth)),
            Origin::DotEnv {
                file,
                key,
                line,
                depth,
            } => format!(
                "{key}{}{shown} ({} line {line})",
                inner(*depth),
                file.display()
            ),
            Origin::Yaml { file } => match self.yaml_location(path) {
                Some((line, spelled)) => {
                    format!("{spelled}{shown} ({} line {line})", file.display())
                }
                None => format!("{}{shown} ({})", path.join("."), file.display()),
            },
            Origin::YamlProvider { file, var } => match self.yaml_location(path) {
                Some((line, spelled)) => format!(
                    "{spelled}{shown} ({} line {line}, from environment variable {var})",
                    file.display()
                ),
                None => format!(
                    "{}{shown} ({}, from environment variable {var})",
                    path.join("."),
                    file.display()
                ),
            },
            Origin::Override => {
                format!("{}{shown} (command-line override)", path.join("."))
            }
        }
    }

    pub(super) fn is_sensitive(&self, path: &[String]) -> bool {
        let key = path.join(".");
        if registry::find(&key).is_some_and(|d| d.sensitive) {
            return true;
        }
        if path.len() >= 3 && path[0] == "integration" && path[1] == "config" {
            let config_key = integration_config::normalise_key(&path[2]);
            return match &self.loader.spec {
                Some(spec) => spec
                    .configurations
                    .iter()
                    .any(|c| c.sensitive && c.key().eq_ignore_ascii_case(&config_key)),
                None => integration_config::looks_secret(&config_key),
            };
        }
        false
    }
}
