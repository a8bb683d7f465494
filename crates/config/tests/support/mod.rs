//! A scratch integration directory: `config.yaml`, `.env`, an environment map and a spec, loaded
//! through the public `Loader` without touching the real process environment or cwd.

#![allow(dead_code)]

use std::path::Path;

use ocean_config::{ConfigError, IntegrationInfo, Loader, Settings, Spec};

pub struct Case {
    pub dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    spec: Option<Spec>,
    overrides: Vec<(String, serde_json::Value)>,
}

pub fn case() -> Case {
    Case {
        dir: tempfile::tempdir().unwrap(),
        env: Vec::new(),
        spec: None,
        overrides: Vec::new(),
    }
}

/// A case with the two required Port credentials set through the environment.
pub fn with_credentials() -> Case {
    case()
        .env("OCEAN__PORT__CLIENT_ID", "cid")
        .env("OCEAN__PORT__CLIENT_SECRET", "csecret")
}

impl Case {
    pub fn yaml(self, text: &str) -> Self {
        std::fs::write(self.dir.path().join("config.yaml"), text).unwrap();
        self
    }

    pub fn dotenv(self, text: &str) -> Self {
        std::fs::write(self.dir.path().join(".env"), text).unwrap();
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn spec(mut self, yaml: &str) -> Self {
        self.spec = Some(Spec::parse(Path::new(".port/spec.yaml"), yaml).unwrap());
        self
    }

    pub fn set(mut self, key: &str, value: serde_json::Value) -> Self {
        self.overrides.push((key.to_owned(), value));
        self
    }

    pub fn loader(&self) -> Loader {
        let mut loader = Loader::new(IntegrationInfo::new("Jira", "1.2.3"))
            .cwd(self.dir.path())
            .env(self.env.clone())
            .spec(self.spec.clone());
        for (k, v) in &self.overrides {
            loader = loader.set(k, v.clone());
        }
        loader
    }

    pub fn load(&self) -> Result<Settings, ConfigError> {
        self.loader().load()
    }

    pub fn ok(&self) -> Settings {
        match self.load() {
            Ok(s) => s,
            Err(e) => panic!("loading failed: {e}"),
        }
    }

    /// The error text with the scratch directory replaced by `<dir>`.
    pub fn err(&self) -> String {
        match self.load() {
            Ok(_) => panic!("loading unexpectedly succeeded"),
            Err(e) => self.scrub(&e.to_string()),
        }
    }

    pub fn scrub(&self, text: &str) -> String {
        text.replace(&self.dir.path().display().to_string(), "<dir>")
    }
}
