//! Configuration errors: every problem names the key, where its value came from (environment
//! variable, `.env` line, `config.yaml` line, command-line override) and what was expected.
//!
//! Messages are built by this crate from structured parts rather than forwarded from parsers, so
//! that a credential never ends up in one: values are shown only for settings that are not
//! sensitive, and messages that come from serde are scrubbed of every known secret.

use std::fmt;
use std::path::PathBuf;

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The settings key (`event_listener.interval`, `integration.config.api_token`).
    pub key: String,
    /// Where the offending value came from, already formatted
    /// (`OCEAN__EVENT_LISTENER__INTERVAL="abc" (environment)`); `None` when no source set it.
    pub source: Option<String>,
    /// What is wrong (`expected an integer number of seconds`).
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(source) => write!(f, "{source}: {}", self.message),
            None => write!(f, "{}: {}", self.key, self.message),
        }
    }
}

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// One or more settings are missing or invalid.
    #[error("invalid configuration:{}", list(problems))]
    Invalid {
        /// Every problem found (loading does not stop at the first).
        problems: Vec<Problem>,
    },
    /// A configuration file exists but could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// `config.yaml` is not valid YAML, or not a mapping.
    #[error("{}: {source}", path.display())]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The problem, with its line when the YAML library knows it.
        source: crate::yaml::YamlError,
    },
    /// The integration's configuration does not fit its typed struct.
    #[error(
        "integration.config{} does not fit the integration's settings type {type_name}: {message}",
        key.as_ref().map(|k| format!(".{k}")).unwrap_or_default()
    )]
    IntegrationConfig {
        /// The Rust type being deserialised.
        type_name: &'static str,
        /// The field path inside the config, when known.
        key: Option<String>,
        /// serde's description, with sensitive values replaced by `[REDACTED]`.
        message: String,
    },
}

impl ConfigError {
    /// The individual problems, for [`ConfigError::Invalid`]; empty otherwise.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid { problems } => problems,
            _ => &[],
        }
    }
}

fn list(problems: &[Problem]) -> String {
    match problems {
        [one] => format!(" {one}"),
        many => many.iter().map(|p| format!("\n- {p}")).collect(),
    }
}
