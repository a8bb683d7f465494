//! Shared test helpers: the fixture GitHub, the integration pointed at it, fetching a kind, and
//! an Ocean runtime with the in-process Port emulator.

#![allow(dead_code)]

use github_fixture::{AppSpec, Fixture, OrgSpec, Spec};
use ocean::testing::{EmulatorConfig, RunningEmulator, spawn_emulator};
use ocean::{FetchContext, FetchError, Integration, Ocean, Page};
use ocean_config::{IntegrationInfo, Loader, PortResources, Spec as OceanSpec};
use ocean_github::{Github, GithubConfig, retry_policy};
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The token the fixture accepts.
pub const TOKEN: &str = "ghp_test_7f3a";
/// The App id the fixture knows.
pub const APP_ID: &str = "4242";

pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture_text(name: &str) -> String {
    let file = dir().join("tests/fixtures").join(name);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// An organization `acme` of `repos` repositories with small counts of everything.
pub fn acme(repos: usize) -> OrgSpec {
    OrgSpec::new("acme", repos)
}

/// A fixture GitHub with `orgs` and the test token.
pub async fn github(orgs: Vec<OrgSpec>) -> Fixture {
    Fixture::start(Spec::new(orgs, TOKEN))
        .await
        .expect("fixture starts")
}

/// A fixture GitHub with an App installed on `installations` (id, login).
pub async fn github_with_app(
    orgs: Vec<OrgSpec>,
    installations: Vec<(u64, &str)>,
    ttl_seconds: u64,
) -> Fixture {
    let mut spec = Spec::new(orgs, TOKEN);
    spec.app = Some(AppSpec {
        app_id: APP_ID.into(),
        public_key_pem: fixture_text("app-public-key.pem"),
        installations: installations
            .into_iter()
            .map(|(id, l)| (id, l.to_owned()))
            .collect(),
        token_ttl: std::time::Duration::from_secs(ttl_seconds),
    });
    Fixture::start(spec).await.expect("fixture starts")
}

/// A token configuration for `fixture`, scoped to `acme`, with its own cache folder.
pub fn config(fixture: &Fixture, cache: &tempfile::TempDir) -> GithubConfig {
    let mut config = GithubConfig::with_token(TOKEN);
    config.github_host = fixture.url();
    config.github_organization = Some("acme".into());
    config.http_cache_dir = Some(cache.path().display().to_string());
    config
}

/// The integration for `config`, with short retry delays.
pub fn integration(config: GithubConfig) -> Github {
    Github::with_retry_policy(config, retry_policy().fast()).expect("integration builds")
}

pub fn ctx(kind: &str, selector: Value, options: Value) -> FetchContext {
    let options: Map<String, Value> = options.as_object().cloned().unwrap_or_default();
    FetchContext::new(kind, 0, selector, None, CancellationToken::new())
        .with_app_options(Arc::new(options))
}

/// Every page of a kind, stopping at the first error (returned with the pages before it).
pub async fn fetch_with(
    integration: &Github,
    kind: &str,
    selector: Value,
    options: Value,
) -> (Vec<Page>, Option<FetchError>) {
    ocean::testing::pages(integration.fetch(ctx(kind, selector, options))).await
}

/// Every item of a kind; panics on an error.
pub async fn items(integration: &Github, kind: &str, selector: Value) -> Vec<Value> {
    let (pages, error) = fetch_with(integration, kind, selector, json!({})).await;
    if let Some(e) = error {
        panic!("fetching {kind}: {}", e.chain());
    }
    pages.into_iter().flatten().collect()
}

/// Sorted string values at `pointer` of `items`.
pub fn texts(items: &[Value], pointer: &str) -> Vec<String> {
    let mut out: Vec<String> = items
        .iter()
        .map(|i| match i.pointer(pointer) {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => panic!("{pointer} missing in {i}"),
        })
        .collect();
    out.sort();
    out
}

/// Settings for an Ocean runtime of `config` against `emulator`, with `resources` as the
/// resources folder and `listener` as the event listener.
pub fn settings(
    emulator: &RunningEmulator,
    config: Value,
    listener: Value,
    base_url: Option<&str>,
) -> ocean::config::Settings {
    let mut loader = Loader::new(IntegrationInfo::new("github-ocean", "0.1.0"))
        .spec(Some(OceanSpec::load(&dir()).unwrap().unwrap()))
        .set(
            "port",
            json!({
                "client_id": emulator.client_id(),
                "client_secret": emulator.client_secret().expose(),
                "base_url": emulator.base_url(),
            }),
        )
        .set(
            "integration",
            json!({"identifier": "github-test", "type": "github-ocean", "config": config}),
        )
        .set("event_listener", listener)
        .set("initialize_port_resources", json!(true));
    if let Some(url) = base_url {
        loader = loader.set("base_url", json!(url));
    }
    loader.load().expect("settings load")
}

/// The integration's default resources folder.
pub fn default_resources() -> PortResources {
    PortResources::load_dir(&dir().join(".port/resources")).expect(".port/resources loads")
}

/// The test resources mapping every kind.
pub fn all_kinds_resources() -> PortResources {
    PortResources::load_dir(&dir().join("tests/resources/all-kinds"))
        .expect("all-kinds resources load")
}

/// An Ocean runtime (no HTTP server) resyncing the integration into `emulator` with
/// `resources` as its defaults.
pub fn ocean(
    emulator: &RunningEmulator,
    fixture: &Fixture,
    cache: &tempfile::TempDir,
    resources: PortResources,
) -> (Ocean, Github) {
    let config = config_json(fixture, cache);
    let settings = settings(emulator, config, json!({"type": "ONCE"}), None);
    let typed: GithubConfig = settings.integration_config().expect("typed config");
    let integration = integration(typed);
    let ocean = Ocean::builder(settings, Arc::new(integration.clone()))
        .resources(resources)
        .build()
        .expect("ocean builds");
    (ocean, integration)
}

/// The integration's configuration as JSON (snake_case keys, as settings hold it).
pub fn config_json(fixture: &Fixture, cache: &tempfile::TempDir) -> Value {
    json!({
        "github_token": TOKEN,
        "github_host": fixture.url(),
        "github_organization": "acme",
        "http_cache_dir": cache.path().display().to_string(),
    })
}

pub async fn emulator() -> RunningEmulator {
    spawn_emulator(EmulatorConfig::default())
        .await
        .expect("emulator")
}

/// Identifiers stored for a blueprint, sorted.
pub async fn stored(emulator: &RunningEmulator, blueprint: &str) -> Vec<String> {
    let mut ids: Vec<String> = emulator
        .entities(blueprint)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.identifier)
        .collect();
    ids.sort();
    ids
}
