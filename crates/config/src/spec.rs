//! `.port/spec.yaml`: what an integration declares about itself — its configuration fields, the
//! kinds it exports, whether it may run as SaaS or as an actions processor.
//!
//! These are plain serde types with the spec's own (camelCase) field names, so other crates and
//! tools can read a spec without the loader. Keys this crate does not interpret are kept in
//! `extra` maps rather than dropped, because tooling (and Port's install UI) reads them. Validation
//! of `integration.config` against [`Spec::configurations`] lives in `integration_config`, not here.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::yaml;

/// The spec file names, in lookup order: the first one that exists wins.
pub const SPEC_FILE_CANDIDATES: [&str; 3] = ["spec.json", "spec.yaml", "spec.yml"];

/// Why a spec could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file exists but could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The spec file.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The file is not valid JSON.
    #[error("{}: invalid JSON at line {line} column {column}: {message}", path.display())]
    Json {
        /// The spec file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's description.
        message: String,
    },
    /// The file is not valid YAML (or holds something JSON cannot).
    #[error("{}: {source}", path.display())]
    Yaml {
        /// The spec file.
        path: PathBuf,
        /// The YAML problem.
        source: yaml::YamlError,
    },
    /// The document is valid but not a spec (not an object, or a field has the wrong shape).
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The spec file.
        path: PathBuf,
        /// What is wrong, naming the field.
        message: String,
    },
    /// No spec file exists where one is required.
    #[error("no spec file in {}: expected one of spec.json, spec.yaml or spec.yml", dir.display())]
    NotFound {
        /// The `.port` directory that was searched.
        dir: PathBuf,
    },
    /// A part of the spec that an operation needs has the wrong shape.
    #[error("the spec's `{key}` is malformed: {message}")]
    Malformed {
        /// The offending key (`features[1].resources`).
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The spec lacks a key that an operation needs.
    #[error("the spec has no `{key}`, which is needed to {purpose}")]
    Missing {
        /// The missing key (`features`, `features[0].resources`).
        key: String,
        /// What it was needed for.
        purpose: &'static str,
    },
}

/// A parsed `.port/spec.(json|yaml|yml)`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    /// Display title (not read by the framework).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description (not read by the framework).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Port icon name (not read by the framework).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// Documentation link (not read by the framework).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs: Option<String>,
    /// Declared features, as written; read them through [`Spec::features`]. Kept untyped so
    /// that a malformed `features` block only fails the tools that need it, as in the reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Value>,
    /// The integration's own configuration fields (`integration.config`).
    #[serde(default)]
    pub configurations: Vec<ConfigurationSpec>,
    /// SaaS installation settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saas: Option<SaasSpec>,
    /// Port's install-UI requirements per deployment method (not read by the framework).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_method_requirements: Option<Value>,
    /// Port's deployment-method overrides (not read by the framework).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_method_override: Option<Value>,
    /// Whether the integration may run as an actions processor.
    #[serde(default)]
    pub actions_processing_enabled: bool,
    /// Per action: which execution identities are allowed, as written; read it through
    /// [`Spec::allowed_execution_identities`] (malformed entries are skipped, as in the reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Value>,
    /// Every other key, kept as written.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One entry of `features`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feature {
    /// `exporter` or `gitops` (other values are kept).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub feature_type: Option<String>,
    /// UI section (not read by the framework).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    /// The kinds this feature covers; `None` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<FeatureResource>>,
    /// Every other key, kept as written.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One `features[].resources[]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureResource {
    /// The kind name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Every other key, kept as written.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The type of an integration configuration field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigurationType {
    /// Text.
    String,
    /// A URL; a trailing `/` is stripped.
    Url,
    /// A whole number.
    Integer,
    /// Any number (an Ocean addition; the reference rejects this type).
    Number,
    /// `true`/`false` (also `1/0`, `yes/no`, `on/off` from text).
    Boolean,
    /// A JSON object (JSON text is decoded).
    Object,
    /// A JSON array (JSON text is decoded).
    Array,
}

impl ConfigurationType {
    /// The name used in the spec.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigurationType::String => "string",
            ConfigurationType::Url => "url",
            ConfigurationType::Integer => "integer",
            ConfigurationType::Number => "number",
            ConfigurationType::Boolean => "boolean",
            ConfigurationType::Object => "object",
            ConfigurationType::Array => "array",
        }
    }
}

/// One entry of `configurations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigurationSpec {
    /// The camelCase name; the settings key is its snake_case form.
    pub name: String,
    /// The value's type.
    #[serde(rename = "type")]
    pub config_type: ConfigurationType,
    /// Whether a value must be given (unless `default` is set).
    #[serde(default)]
    pub required: bool,
    /// Whether the value is a secret: masked in logs, errors and printed configuration.
    #[serde(default)]
    pub sensitive: bool,
    /// The value used when none is given (validated against `type`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// Human description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Every other key, kept as written.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ConfigurationSpec {
    /// The key under `integration.config` (`apiToken` → `api_token`).
    pub fn key(&self) -> String {
        crate::case::decamelize(&self.name)
    }

    /// The environment variable that sets it (`OCEAN__INTEGRATION__CONFIG__API_TOKEN`).
    pub fn env_var(&self) -> String {
        crate::case::integration_config_env_var(&self.name)
    }
}

/// The `saas` block.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SaasSpec {
    /// `false` forbids `runtime: Saas`; absent means allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// OAuth installation settings (consumed by Port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_configuration: Option<Value>,
    /// Every other key, kept as written.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Spec {
    /// Loads the spec from `<integration_dir>/.port/`, trying [`SPEC_FILE_CANDIDATES`] in order.
    /// `Ok(None)` when none exists.
    pub fn load(integration_dir: &Path) -> Result<Option<Spec>, SpecError> {
        let dir = integration_dir.join(".port");
        for name in SPEC_FILE_CANDIDATES {
            let path = dir.join(name);
            if !path.is_file() {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|source| SpecError::Read {
                path: path.clone(),
                source,
            })?;
            return Spec::parse(&path, &text).map(Some);
        }
        Ok(None)
    }

    /// Parses spec text; the file name's extension (`.json` or otherwise YAML) picks the format,
    /// and the path is used in error messages. Useful for specs embedded in a binary.
    pub fn parse(path: &Path, text: &str) -> Result<Spec, SpecError> {
        let is_json = path.extension().is_some_and(|e| e == "json");
        let value: Value = if is_json {
            serde_json::from_str(text).map_err(|e| SpecError::Json {
                path: path.to_owned(),
                line: e.line(),
                column: e.column(),
                message: json_message(&e),
            })?
        } else {
            yaml::parse(text).map_err(|source| SpecError::Yaml {
                path: path.to_owned(),
                source,
            })?
        };
        if !value.is_object() {
            return Err(SpecError::Invalid {
                path: path.to_owned(),
                message: "a spec file must contain an object".to_owned(),
            });
        }
        serde_path_to_error::deserialize(value).map_err(|e| SpecError::Invalid {
            path: path.to_owned(),
            message: format!("{}: {}", e.path(), e.inner()),
        })
    }

    /// The `features` list, typed. Fails when it is absent or malformed.
    pub fn features(&self) -> Result<Vec<Feature>, SpecError> {
        let features = self.features.clone().ok_or(SpecError::Missing {
            key: "features".to_owned(),
            purpose: "list the integration's features",
        })?;
        serde_path_to_error::deserialize(features).map_err(|e| SpecError::Malformed {
            key: format!("features{}", path_suffix(&e.path().to_string())),
            message: e.inner().to_string(),
        })
    }

    /// The distinct kinds declared by `exporter` features, in order of first appearance.
    /// Fails when `features` is absent or malformed, or an exporter resource has no `kind`.
    pub fn exporter_kinds(&self) -> Result<Vec<String>, SpecError> {
        let purpose = "list the integration's kinds";
        let mut kinds: Vec<String> = Vec::new();
        for (i, feature) in self.features()?.iter().enumerate() {
            if feature.feature_type.as_deref() != Some("exporter") {
                continue;
            }
            let resources = feature.resources.as_ref().ok_or(SpecError::Missing {
                key: format!("features[{i}].resources"),
                purpose,
            })?;
            for (j, resource) in resources.iter().enumerate() {
                let kind = resource.kind.as_ref().ok_or(SpecError::Missing {
                    key: format!("features[{i}].resources[{j}].kind"),
                    purpose,
                })?;
                if !kinds.contains(kind) {
                    kinds.push(kind.clone());
                }
            }
        }
        Ok(kinds)
    }

    /// Which execution identities (`actor`, `service_account`, …) may run an action type:
    /// `actions[].allowedExecutionIdentities` of the entry whose `name` matches; empty when there
    /// is none. Malformed entries and non-text items are skipped.
    pub fn allowed_execution_identities(&self, action_type: &str) -> Vec<String> {
        let Some(Value::Array(actions)) = &self.actions else {
            return Vec::new();
        };
        actions
            .iter()
            .find(|a| a.get("name").and_then(Value::as_str) == Some(action_type))
            .and_then(|a| a.get("allowedExecutionIdentities"))
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether `runtime: Saas` is allowed (`saas.enabled` is not `false`).
    pub fn allows_saas(&self) -> bool {
        self.saas.as_ref().and_then(|s| s.enabled).unwrap_or(true)
    }
}

/// `[0].resources` from serde_path_to_error's `.`-for-root paths.
fn path_suffix(path: &str) -> String {
    match path {
        "." => String::new(),
        p if p.starts_with('[') => p.to_owned(),
        p => format!(".{p}"),
    }
}

/// serde_json's message without its trailing position (reported separately).
fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.find(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const SPEC: &str = r#"
title: My Integration
features:
  - type: exporter
    section: Project management
    resources:
      - kind: project
      - kind: issue
  - type: gitops
    resources:
      - kind: ignored
  - type: exporter
    resources:
      - kind: issue
      - kind: user
configurations:
  - name: apiToken
    type: string
    required: true
    sensitive: true
  - name: pageSize
    type: integer
    default: 50
    description: Items per page
saas:
  enabled: false
  oauthConfiguration: {provider: x}
actionsProcessingEnabled: true
actions:
  - name: create_issue
    allowedExecutionIdentities: [actor, service_account]
customKey: kept
"#;

    fn write(dir: &Path, name: &str, text: &str) {
        fs::create_dir_all(dir.join(".port")).unwrap();
        fs::write(dir.join(".port").join(name), text).unwrap();
    }

    #[test]
    fn parses_every_section() {
        let spec = Spec::parse(Path::new(".port/spec.yaml"), SPEC).unwrap();
        assert_eq!(spec.title.as_deref(), Some("My Integration"));
        assert_eq!(spec.exporter_kinds().unwrap(), ["project", "issue", "user"]);
        assert_eq!(spec.configurations.len(), 2);
        assert_eq!(spec.configurations[0].key(), "api_token");
        assert_eq!(
            spec.configurations[0].env_var(),
            "OCEAN__INTEGRATION__CONFIG__API_TOKEN"
        );
        assert!(spec.configurations[0].sensitive && spec.configurations[0].required);
        assert_eq!(
            spec.configurations[1].config_type,
            ConfigurationType::Integer
        );
        assert_eq!(spec.configurations[1].default, Some(serde_json::json!(50)));
        assert!(!spec.allows_saas());
        assert!(spec.actions_processing_enabled);
        assert_eq!(
            spec.allowed_execution_identities("create_issue"),
            ["actor", "service_account"]
        );
        assert!(spec.allowed_execution_identities("other").is_empty());
        assert_eq!(spec.extra["customKey"], "kept");
    }

    #[test]
    fn lookup_order_is_json_then_yaml_then_yml() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Spec::load(dir.path()).unwrap().is_none());
        write(dir.path(), "spec.yml", "title: yml\n");
        assert_eq!(
            Spec::load(dir.path()).unwrap().unwrap().title.as_deref(),
            Some("yml")
        );
        write(dir.path(), "spec.yaml", "title: yaml\n");
        assert_eq!(
            Spec::load(dir.path()).unwrap().unwrap().title.as_deref(),
            Some("yaml")
        );
        write(dir.path(), "spec.json", r#"{"title": "json"}"#);
        assert_eq!(
            Spec::load(dir.path()).unwrap().unwrap().title.as_deref(),
            Some("json")
        );
    }

    #[test]
    fn malformed_specs_are_errors_naming_the_file() {
        let check = |name: &str, text: &str, expected: &str| {
            let dir = tempfile::tempdir().unwrap();
            write(dir.path(), name, text);
            let err = Spec::load(dir.path()).unwrap_err().to_string();
            let shown = err.replace(&dir.path().display().to_string(), "<dir>");
            assert_eq!(shown, expected);
        };
        check(
            "spec.json",
            "{\"title\": ",
            "<dir>/.port/spec.json: invalid JSON at line 1 column 10: EOF while parsing a value",
        );
        check(
            "spec.yaml",
            "a: [1,\n",
            "<dir>/.port/spec.yaml: invalid YAML at line 2 column 1: did not find expected node content",
        );
        check(
            "spec.yaml",
            "",
            "<dir>/.port/spec.yaml: a spec file must contain an object",
        );
        check(
            "spec.json",
            "[1]",
            "<dir>/.port/spec.json: a spec file must contain an object",
        );
        check(
            "spec.yaml",
            "configurations:\n  - name: x\n    type: float\n",
            "<dir>/.port/spec.yaml: configurations[0].type: unknown variant `float`, expected one of `string`, `url`, `integer`, `number`, `boolean`, `object`, `array`",
        );
    }

    #[test]
    fn malformed_optional_sections_only_fail_their_readers() {
        let spec = Spec::parse(
            Path::new("spec.yaml"),
            "features: 3\nactions:\n  - name: a\n    allowedExecutionIdentities: [actor, 1]\n  - bogus\n",
        )
        .unwrap();
        assert_eq!(
            spec.exporter_kinds().unwrap_err().to_string(),
            "the spec's `features` is malformed: invalid type: integer `3`, expected a sequence"
        );
        assert_eq!(spec.allowed_execution_identities("a"), ["actor"]);
        let spec = Spec::parse(
            Path::new("spec.yaml"),
            "features:\n  - type: exporter\n    resources:\n      - {}\n",
        )
        .unwrap();
        assert_eq!(
            spec.exporter_kinds().unwrap_err().to_string(),
            "the spec has no `features[0].resources[0].kind`, which is needed to list the integration's kinds"
        );
    }

    #[test]
    fn kinds_need_features_and_resources() {
        let spec = Spec::parse(Path::new("spec.yaml"), "title: x\n").unwrap();
        assert_eq!(
            spec.exporter_kinds().unwrap_err().to_string(),
            "the spec has no `features`, which is needed to list the integration's features"
        );
        let spec = Spec::parse(Path::new("spec.yaml"), "features:\n  - type: exporter\n").unwrap();
        assert_eq!(
            spec.exporter_kinds().unwrap_err().to_string(),
            "the spec has no `features[0].resources`, which is needed to list the integration's kinds"
        );
    }

    #[test]
    fn saas_is_allowed_unless_disabled() {
        let parse = |t: &str| Spec::parse(Path::new("s.yaml"), t).unwrap();
        assert!(parse("title: x\n").allows_saas());
        assert!(parse("saas:\n  enabled: true\n").allows_saas());
        assert!(parse("saas: {}\n").allows_saas());
        assert!(!parse("saas:\n  enabled: false\n").allows_saas());
    }
}
