//! The process-level `APPLICATION__*` settings: log level and format, log shipping, HTTP address.
//!
//! They are separate from the `OCEAN__` settings because the CLI sets them too: the environment
//! (then `.env`) wins over a CLI flag, and the flag over the default — the reference's order. No
//! `config.yaml`, no JSON values, nothing secret.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use serde::Serialize;

use crate::dotenv::DotEnv;
use crate::settings::{LogFormat, LogLevel};
use crate::{ConfigError, Problem};

/// `APPLICATION__*` settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplicationSettings {
    /// `APPLICATION__LOG_LEVEL` (default `INFO`).
    pub log_level: LogLevel,
    /// `APPLICATION__LOG_FORMAT`: `auto` (default: human on a terminal, JSON otherwise),
    /// `human` or `json`.
    pub log_format: LogFormat,
    /// `APPLICATION__ENABLE_HTTP_LOGGING`: ship logs to Port (default `true`).
    pub enable_http_logging: bool,
    /// `APPLICATION__PORT`: HTTP listen port (default `8000`).
    pub port: u16,
    /// `APPLICATION__HOST`: the address the HTTP server binds (default `0.0.0.0`, every
    /// interface, as Python Ocean; `127.0.0.1` keeps it local).
    pub host: IpAddr,
}

impl Default for ApplicationSettings {
    fn default() -> Self {
        ApplicationSettings {
            log_level: LogLevel::Info,
            log_format: LogFormat::Auto,
            enable_http_logging: true,
            port: 8000,
            host: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        }
    }
}

/// Values the CLI passes (`--log-level`, `--port`); below the environment in precedence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplicationFlags {
    /// `--log-level`.
    pub log_level: Option<LogLevel>,
    /// `--port`.
    pub port: Option<u16>,
}

impl ApplicationSettings {
    pub(crate) fn resolve(
        env: &BTreeMap<String, String>,
        dotenv: Option<(&Path, &DotEnv)>,
        flags: ApplicationFlags,
    ) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let lookup = |name: &str| -> Option<(String, String)> {
            if let Some((k, v)) = env.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
                return Some((v.clone(), format!("{k}={} (environment)", quote(v))));
            }
            let (file, dotenv) = dotenv?;
            let entry = dotenv
                .entries
                .iter()
                .rev()
                .find(|e| e.key.eq_ignore_ascii_case(name))?;
            Some((
                entry.value.clone(),
                format!(
                    "{}={} ({} line {})",
                    entry.key,
                    quote(&entry.value),
                    file.display(),
                    entry.line
                ),
            ))
        };
        let mut settings = ApplicationSettings::default();
        if let Some(level) = flags.log_level {
            settings.log_level = level;
        }
        if let Some(port) = flags.port {
            settings.port = port;
        }
        let mut bad = |key: &str, source: String, message: &str| {
            problems.push(Problem {
                key: key.to_owned(),
                source: Some(source),
                message: message.to_owned(),
            })
        };
        if let Some((value, source)) = lookup("APPLICATION__LOG_LEVEL") {
            match value.trim().parse() {
                Ok(level) => settings.log_level = level,
                Err(_) => bad(
                    "log_level",
                    source,
                    "expected one of ERROR, WARNING, INFO, DEBUG, CRITICAL",
                ),
            }
        }
        if let Some((value, source)) = lookup("APPLICATION__LOG_FORMAT") {
            match value.trim().parse() {
                Ok(format) => settings.log_format = format,
                Err(_) => bad("log_format", source, "expected one of auto, human, json"),
            }
        }
        if let Some((value, source)) = lookup("APPLICATION__ENABLE_HTTP_LOGGING") {
            match ocean_model::python::parse_bool(value.trim()) {
                Some(b) => settings.enable_http_logging = b,
                None => bad("enable_http_logging", source, "expected true or false"),
            }
        }
        if let Some((value, source)) = lookup("APPLICATION__PORT") {
            match value.trim().parse() {
                Ok(port) => settings.port = port,
                Err(_) => bad("port", source, "expected a TCP port number (0-65535)"),
            }
        }
        if let Some((value, source)) = lookup("APPLICATION__HOST") {
            match value.trim().parse() {
                Ok(host) => settings.host = host,
                Err(_) => bad(
                    "host",
                    source,
                    "expected an IP address such as 0.0.0.0 (every interface) or 127.0.0.1",
                ),
            }
        }
        if problems.is_empty() {
            Ok(settings)
        } else {
            Err(ConfigError::Invalid { problems })
        }
    }

    /// A YAML-like rendering, for `ocean-NAME --print-config`.
    pub fn render(&self) -> String {
        format!(
            "log_level: {}\nlog_format: {}\nenable_http_logging: {}\nport: {}\nhost: {}\n",
            self.log_level, self.log_format, self.enable_http_logging, self.port, self.host
        )
    }
}

fn quote(v: &str) -> String {
    serde_json::Value::String(v.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn environment_beats_dotenv_beats_flags_beats_defaults() {
        let flags = ApplicationFlags {
            log_level: Some(LogLevel::Debug),
            port: Some(9000),
        };
        let none =
            ApplicationSettings::resolve(&env(&[]), None, ApplicationFlags::default()).unwrap();
        assert_eq!(none, ApplicationSettings::default());
        let from_flags = ApplicationSettings::resolve(&env(&[]), None, flags).unwrap();
        assert_eq!(
            (from_flags.log_level, from_flags.port),
            (LogLevel::Debug, 9000)
        );
        let dotenv = DotEnv::parse(
            "APPLICATION__PORT=7000\nAPPLICATION__ENABLE_HTTP_LOGGING=false\nAPPLICATION__HOST=::1\n",
            &BTreeMap::new(),
        );
        let with_env = ApplicationSettings::resolve(
            &env(&[
                ("application__log_level", "warning"),
                ("APPLICATION__LOG_FORMAT", "JSON"),
                ("APPLICATION__HOST", " 127.0.0.1 "),
            ]),
            Some((Path::new(".env"), &dotenv)),
            flags,
        )
        .unwrap();
        assert_eq!(
            with_env,
            ApplicationSettings {
                log_level: LogLevel::Warning,
                log_format: LogFormat::Json,
                enable_http_logging: false,
                port: 7000,
                host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            }
        );
        let from_dotenv = ApplicationSettings::resolve(
            &env(&[]),
            Some((Path::new(".env"), &dotenv)),
            ApplicationFlags::default(),
        )
        .unwrap();
        assert_eq!(from_dotenv.host, "::1".parse::<IpAddr>().unwrap());
        assert_eq!(
            ApplicationSettings::default().host.to_string(),
            "0.0.0.0",
            "every interface by default, as Python Ocean"
        );
    }

    #[test]
    fn errors_name_the_variable_and_source() {
        let dotenv = DotEnv::parse("APPLICATION__PORT=http\n", &BTreeMap::new());
        let err = ApplicationSettings::resolve(
            &env(&[
                ("APPLICATION__LOG_LEVEL", "LOUD"),
                ("APPLICATION__LOG_FORMAT", "pretty"),
                ("APPLICATION__HOST", "localhost:80"),
            ]),
            Some((Path::new("/srv/.env"), &dotenv)),
            ApplicationFlags::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration:\n\
             - APPLICATION__LOG_LEVEL=\"LOUD\" (environment): expected one of ERROR, WARNING, INFO, DEBUG, CRITICAL\n\
             - APPLICATION__LOG_FORMAT=\"pretty\" (environment): expected one of auto, human, json\n\
             - APPLICATION__PORT=\"http\" (/srv/.env line 1): expected a TCP port number (0-65535)\n\
             - APPLICATION__HOST=\"localhost:80\" (environment): expected an IP address such as 0.0.0.0 (every interface) or 127.0.0.1"
        );
    }
}
