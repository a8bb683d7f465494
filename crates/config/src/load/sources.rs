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

/// A layer written under the legacy name `triggerChannel` (`trigger_channel`, or
/// `OCEAN__TRIGGER_CHANNEL…`), already moved to `event_listener`.
pub(super) struct LegacyLayer {
    layer: Layer,
    /// Where it was written, for the warning.
    written: String,
    /// Whether it came from `config.yaml` (its keys are then located under `triggerChannel`).
    from_yaml: bool,
}

/// The legacy top-level name of `event_listener` (Python Ocean's first releases, and its README's
/// `config.yaml`).
pub(super) const LEGACY_LISTENER_KEY: &str = "trigger_channel";
/// The setting the legacy name stands for.
const LISTENER_KEY: &str = "event_listener";

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

/// Sets `value` at `path` inside `root`, creating objects on the way (a non-object on the way is
/// replaced).
fn set_at(root: &mut Value, path: &[String], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        *root = value;
        return;
    };
    if !root.is_object() {
        *root = Value::Object(Map::new());
    }
    if let Value::Object(map) = root {
        let child = map.entry(first.clone()).or_insert(Value::Null);
        set_at(child, rest, value);
    }
}

/// The paths of every non-mapping value in `dict`.
fn leaf_paths(dict: &Dict, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    for (key, value) in dict {
        prefix.push(key.clone());
        match value {
            FValue::Dict(_, inner) if !inner.is_empty() => leaf_paths(inner, prefix, out),
            _ => out.push(prefix.clone()),
        }
        prefix.pop();
    }
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
            yaml_listener_alias: false,
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
        // Layers of the files and the environment, in precedence order; legacy ones apart.
        let mut layers: Vec<Layer> = Vec::new();
        let mut legacy: Vec<LegacyLayer> = Vec::new();
        let (yaml, yaml_legacy) = self.yaml_layers()?;
        layers.extend(yaml);
        legacy.extend(yaml_legacy);
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
            for (mut path, entry) in entries {
                let origin = Origin::DotEnv {
                    file: file.clone(),
                    key: entry.key.clone(),
                    line: entry.line,
                    depth: path.len(),
                };
                let written = self.rename_legacy(&mut path, &origin);
                if let Some(value) = self.env_value(&path, &entry.value, &origin) {
                    let layer = self.layer(origin, &path, value);
                    match written {
                        Some(written) => legacy.push(LegacyLayer {
                            layer,
                            written,
                            from_yaml: false,
                        }),
                        None => layers.push(layer),
                    }
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
        for (mut path, var, text) in vars {
            let origin = Origin::Env {
                var: var.clone(),
                depth: path.len(),
            };
            let written = self.rename_legacy(&mut path, &origin);
            if let Some(value) = self.env_value(&path, text, &origin) {
                let layer = self.layer(origin, &path, value);
                match written {
                    Some(written) => legacy.push(LegacyLayer {
                        layer,
                        written,
                        from_yaml: false,
                    }),
                    None => layers.push(layer),
                }
            }
        }
        // Legacy layers sit below every other source: where both names set a key, eventListener
        // wins whatever the sources.
        self.warn_legacy(&layers, &legacy);
        let mut figment = Figment::new();
        for l in legacy {
            figment = figment.merge(l.layer);
        }
        for layer in layers {
            figment = figment.merge(layer);
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
    pub(super) fn yaml_layers(&mut self) -> Result<(Vec<Layer>, Option<LegacyLayer>), ConfigError> {
        let Some(cwd) = &self.loader.cwd else {
            return Ok((Vec::new(), None));
        };
        let file = cwd.join(CONFIG_FILE);
        let Some(text) = read_optional(&file)? else {
            return Ok((Vec::new(), None));
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
        let mut root = normalise_keys(root, &[]);
        let legacy_value = root
            .as_object_mut()
            .and_then(|map| map.remove(LEGACY_LISTENER_KEY));
        let written = legacy_value.as_ref().map(|_| {
            match yaml::locate(&text, &[LEGACY_LISTENER_KEY.to_owned()]) {
                Some((line, spelled)) => format!("{spelled} ({} line {line})", file.display()),
                None => format!("{LEGACY_LISTENER_KEY} ({})", file.display()),
            }
        });
        self.yaml_text = Some(text);
        let mut providers = Vec::new();
        self.take_providers(&mut root, &mut Vec::new(), &mut providers, &file);
        let mut legacy_providers = Vec::new();
        let legacy_value = legacy_value.map(|mut value| {
            let mut path = vec![LISTENER_KEY.to_owned()];
            self.take_providers(&mut value, &mut path, &mut legacy_providers, &file);
            value
        });
        let mut layers = vec![self.layer(Origin::Yaml { file: file.clone() }, &[], root)];
        for (path, var, value) in providers {
            let origin = Origin::YamlProvider {
                file: file.clone(),
                var,
            };
            layers.push(self.layer(origin, &path, Value::String(value)));
        }
        let legacy = match (legacy_value, written) {
            (Some(mut value), Some(written)) => {
                // The provider values go back into the subtree, so the legacy section is one
                // layer (where each value came from stays visible in the warning's location).
                for (path, _, text) in legacy_providers {
                    set_at(&mut value, &path[1..], Value::String(text));
                }
                let layer = self.layer(
                    Origin::Yaml { file: file.clone() },
                    &[LISTENER_KEY.to_owned()],
                    value,
                );
                Some(LegacyLayer {
                    layer,
                    written,
                    from_yaml: true,
                })
            }
            _ => None,
        };
        Ok((layers, legacy))
    }

    /// Moves an environment path written under the legacy listener name to `event_listener`;
    /// returns where it was written when it did.
    fn rename_legacy(&self, path: &mut [String], origin: &Origin) -> Option<String> {
        if path.first().map(String::as_str) != Some(LEGACY_LISTENER_KEY) {
            return None;
        }
        let written = self.place(origin, path);
        path[0] = LISTENER_KEY.to_owned();
        Some(written)
    }

    /// One warning per legacy layer: it is read as `event_listener`, or, when a file or the
    /// environment also sets one of its keys under the new name, the new name wins there.
    fn warn_legacy(&mut self, layers: &[Layer], legacy: &[LegacyLayer]) {
        let mut new_keys: Vec<(Vec<String>, usize)> = Vec::new();
        for layer in layers {
            let mut paths = Vec::new();
            leaf_paths(&layer.dict, &mut Vec::new(), &mut paths);
            new_keys.extend(
                paths
                    .into_iter()
                    .filter(|p| p.first().map(String::as_str) == Some(LISTENER_KEY))
                    .map(|p| (p, layer.id)),
            );
        }
        for l in legacy {
            let mut paths = Vec::new();
            leaf_paths(&l.layer.dict, &mut Vec::new(), &mut paths);
            let conflict = new_keys.iter().find(|(new, _)| {
                paths
                    .iter()
                    .any(|old| new.starts_with(old) || old.starts_with(new))
            });
            if l.from_yaml {
                self.yaml_listener_alias = true;
            }
            let warning = match conflict {
                Some((path, id)) => {
                    let place = match self.origins.get(*id) {
                        Some(origin) => self.place(origin, path),
                        None => path.join("."),
                    };
                    format!(
                        "{}: triggerChannel is the legacy name of eventListener, which is also set ({place}); where both set a key, eventListener wins: remove triggerChannel",
                        l.written
                    )
                }
                None => format!(
                    "{}: triggerChannel is the legacy name of eventListener and is read as eventListener; rename it (OCEAN__EVENT_LISTENER__* in the environment)",
                    l.written
                ),
            };
            self.warnings.push(warning);
        }
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
        // event_listener values read from a legacy `triggerChannel` are found under that name
        // when the file does not have them under eventListener.
        let aliased;
        let path = if self.yaml_listener_alias
            && path.first().map(String::as_str) == Some(LISTENER_KEY)
            && yaml::locate(text, path).is_none()
        {
            aliased = std::iter::once(LEGACY_LISTENER_KEY.to_owned())
                .chain(path[1..].iter().cloned())
                .collect::<Vec<_>>();
            &aliased[..]
        } else {
            path
        };
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
            // A declared key is sensitive when its spec says so; an undeclared one when its
            // name looks like a credential.
            let declared = self.loader.spec.as_ref().and_then(|spec| {
                spec.configurations
                    .iter()
                    .find(|c| c.key().eq_ignore_ascii_case(&config_key))
            });
            return match declared {
                Some(c) => c.sensitive,
                None => integration_config::looks_secret(&config_key),
            };
        }
        false
    }
}
