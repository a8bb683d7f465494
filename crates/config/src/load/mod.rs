//! Loading: defaults < `config.yaml` < `.env` < `OCEAN__…` environment variables < programmatic
//! overrides, merged with figment, then typed, validated and checked against the spec.
//!
//! Every source becomes one or more figment providers whose metadata identifies the exact origin
//! (one provider per environment variable, per `.env` line, per `{{ from env … }}` value, per
//! override), so any value can be traced back to where it was written. That is what makes the
//! error messages and the annotated printout possible.
//!
//! The loader reads nothing implicitly: the working directory, the environment and the overrides
//! are inputs ([`Loader::from_process`] is the one convenience that reads the real process
//! environment). It chose the clean precedence over the reference's accidental one (where literal
//! nested `config.yaml` values beat environment variables and even CLI overrides); the crate's
//! `COMPATIBILITY.md` lists every such difference.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::application::{ApplicationFlags, ApplicationSettings};
use crate::dotenv::DotEnv;
use crate::settings::Settings;
use crate::spec::Spec;
use crate::{ConfigError, Problem};

mod extract;
mod sources;

use sources::Origin;

/// The configuration file read from the working directory.
pub const CONFIG_FILE: &str = "config.yaml";
/// The environment file read from the working directory.
pub const DOTENV_FILE: &str = ".env";
/// Prefix of framework environment variables.
pub const ENV_PREFIX: &str = "OCEAN__";

/// What the integration binary says about itself: the defaults for `integration.type` and the
/// reported version (Python integrations read both from `pyproject.toml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationInfo {
    /// Default integration type, e.g. the crate name (`env!("CARGO_PKG_NAME")`).
    pub name: String,
    /// Integration version, e.g. `env!("CARGO_PKG_VERSION")`.
    pub version: String,
}

impl IntegrationInfo {
    /// Describes an integration.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        IntegrationInfo {
            name: name.into(),
            version: version.into(),
        }
    }
}

/// Loads [`Settings`] (and [`ApplicationSettings`]) from explicit inputs.
///
/// ```no_run
/// use ocean_config::{IntegrationInfo, Loader, Spec};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let spec = Spec::load(std::path::Path::new("."))?;
/// let settings = Loader::from_process(IntegrationInfo::new("jira", "1.2.0"))?
///     .spec(spec)
///     .once() // what `ocean sail --once` does
///     .load()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Loader {
    integration: IntegrationInfo,
    cwd: Option<PathBuf>,
    env: BTreeMap<String, String>,
    overrides: Vec<(String, Value)>,
    spec: Option<Spec>,
}

impl Loader {
    /// A loader with no files, no environment, no overrides and no spec: only defaults.
    pub fn new(integration: IntegrationInfo) -> Self {
        Loader {
            integration,
            cwd: None,
            env: BTreeMap::new(),
            overrides: Vec::new(),
            spec: None,
        }
    }

    /// A loader over the real process: its environment and its current directory. Variables
    /// whose name or value is not valid UTF-8 are skipped.
    pub fn from_process(integration: IntegrationInfo) -> std::io::Result<Self> {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        Ok(Loader::new(integration)
            .cwd(std::env::current_dir()?)
            .env(vars))
    }

    /// Where `config.yaml` and `.env` are read from (without it, neither is read).
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// The environment variables (replacing any given before).
    pub fn env<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.env = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self
    }

    /// The integration's spec, used to validate `integration.config` and the runtime checks.
    pub fn spec(mut self, spec: Option<Spec>) -> Self {
        self.spec = spec;
        self
    }

    /// Overrides a setting above every other source (`"event_listener"`, `json!({"type":"ONCE"})`).
    /// Objects merge into what lower sources set.
    pub fn set(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.overrides.push((key.to_owned(), value.into()));
        self
    }

    /// What `ocean sail --once` injects: the ONCE listener.
    pub fn once(self) -> Self {
        self.set("event_listener", serde_json::json!({"type": "ONCE"}))
    }

    /// What `ocean probe` injects: the ONCE listener without resync.
    pub fn probe(self) -> Self {
        self.set(
            "event_listener",
            serde_json::json!({"type": "ONCE", "should_resync": false}),
        )
    }

    /// Loads and validates the framework settings.
    pub fn load(&self) -> Result<Settings, ConfigError> {
        let dotenv = self.read_dotenv()?;
        let mut build = Build::new(self, dotenv.as_ref());
        let figment = build.figment()?;
        let settings = build.settings(&figment);
        if build.problems.is_empty() {
            Ok(settings)
        } else {
            Err(ConfigError::Invalid {
                problems: build.problems,
            })
        }
    }

    /// Loads the `APPLICATION__*` settings: environment, then `.env`, then `flags` (the CLI's
    /// values), then defaults.
    pub fn load_application(
        &self,
        flags: ApplicationFlags,
    ) -> Result<ApplicationSettings, ConfigError> {
        let dotenv = self.read_dotenv()?;
        ApplicationSettings::resolve(
            &self.env,
            dotenv.as_ref().map(|(p, d)| (p.as_path(), d)),
            flags,
        )
    }

    fn read_dotenv(&self) -> Result<Option<(PathBuf, DotEnv)>, ConfigError> {
        let Some(cwd) = &self.cwd else {
            return Ok(None);
        };
        let path = cwd.join(DOTENV_FILE);
        match read_optional(&path)? {
            Some(text) => Ok(Some((path, DotEnv::parse(&text, &self.env)))),
            None => Ok(None),
        }
    }
}

pub(super) fn read_optional(path: &Path) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// State of one load: origins, collected problems and warnings.
struct Build<'a> {
    loader: &'a Loader,
    dotenv: Option<&'a (PathBuf, DotEnv)>,
    origins: Vec<Origin>,
    yaml_text: Option<String>,
    /// Whether `event_listener` values are written under the legacy `triggerChannel` in
    /// `config.yaml` (so that locations name that key).
    yaml_listener_alias: bool,
    /// `{{ from env NAME }}` values whose variable is not set: (path, NAME).
    unresolved: Vec<(Vec<String>, String)>,
    problems: Vec<Problem>,
    warnings: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::extract::*;
    use super::sources::*;

    #[test]
    fn env_names_map_to_paths() {
        let check = |name: &str, expected: Option<&[&str]>| {
            let got = env_path(name);
            let expected = expected.map(|e| e.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            assert_eq!(got, expected, "{name}");
        };
        check("OCEAN__PORT__CLIENT_ID", Some(&["port", "client_id"]));
        check(
            "ocean__event_listener__TYPE",
            Some(&["event_listener", "type"]),
        );
        check("OCEAN__RUNTIME", Some(&["runtime"]));
        check("OCEAN__", None);
        check("OCEANX__A", None);
        check("OCEAN__A____B", None);
        check("APPLICATION__PORT", None);
    }

    #[test]
    fn provider_references() {
        assert_eq!(
            provider_reference("{{ from env PORT_CLIENT_ID }}"),
            Some(Ok("PORT_CLIENT_ID".to_owned()))
        );
        assert_eq!(
            provider_reference("{{ from vault x }}"),
            Some(Err("vault".to_owned()))
        );
        assert_eq!(provider_reference("plain"), None);
        assert_eq!(provider_reference("{{ from env }}"), None);
    }

    #[test]
    fn interval_parsing_matches_the_reference() {
        let check = |text: &str, expected: Option<i64>| {
            assert_eq!(parse_minutes(text), expected, "{text:?}");
        };
        check("15", Some(15));
        check("15m", Some(15));
        check("1h", Some(60));
        check("2h", Some(120));
        check("", Some(15));
        check("  ", Some(15));
        check("90s", Some(1));
        check("1d", Some(1440));
        check("not-an-interval", None);
        // Too large to compute: rejected, not an overflow.
        check("9223372036854775807w", None);
        check("-9223372036854775808m", None);
        check("9223372036854775807s", Some(i64::MAX / 60));
        check("99999999999999999999", None);
        check("5x", None);
    }

    #[test]
    fn mcp_urls_are_derived_per_region() {
        let check = |base: &str, expected: &str| {
            assert_eq!(derive_mcp_url(base).as_deref(), Some(expected), "{base}");
        };
        check("https://api.getport.io", "https://mcp.getport.io/v1");
        check("https://api.us.port.io", "https://mcp.us.port.io/v1");
        check(
            "https://api.stg-01.getport.io",
            "https://mcp.stg-01.getport.io/v1",
        );
        check("http://api.localhost:9080", "http://mcp.localhost:9080/v1");
        check("http://localhost:3000", "http://mcp.localhost:3000/v1");
        check("https://example.com", "https://mcp.example.com/v1");
        assert_eq!(derive_mcp_url("file:///tmp/x"), None);
    }

    #[test]
    fn brokers_join_json_arrays_and_keep_malformed_text() {
        assert_eq!(kafka_brokers("[\"a:9096\",\"b:9096\"]"), "a:9096,b:9096");
        assert_eq!(kafka_brokers("[not json]"), "[not json]");
        assert_eq!(kafka_brokers("a:1,b:2"), "a:1,b:2");
        // Spaces and empty entries go, in both forms.
        assert_eq!(kafka_brokers(" a:9092 , b:9092 ,"), "a:9092,b:9092");
        assert_eq!(
            kafka_brokers(r#" [ "a:9092" , " b:9092" ] "#),
            "a:9092,b:9092"
        );
        assert_eq!(kafka_brokers("[]"), "");
        assert_eq!(kafka_brokers("[1, 2]"), "[1, 2]");
        assert_eq!(kafka_brokers(r#"["a:9092""#), r#"["a:9092""#);
    }
}
