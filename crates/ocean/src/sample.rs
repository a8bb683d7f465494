//! `ocean-NAME --sample KIND [PATH]`: the first page of one kind, fetched through the
//! integration's own fetcher with its configured credentials and printed to standard output as
//! a JSON array — what the mapping playground's "fetch samples" runs.
//!
//! It is read-only on both sides: Port is never called (its credentials are not even needed),
//! and of the integration only [`Integration::fetch`] runs — not `on_start` (which may create
//! webhook subscriptions) nor the resync hooks. The fetch is cancelled after the first page.

use crate::{EXIT_CONFIG, EXIT_FAILURE, FetchContext, Integration};
use futures::StreamExt;
use ocean_config::PortResources;
use ocean_lifecycle::Masker;
use serde_json::{Value, json};
use std::path::Path;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

/// Fetches and prints the first page of `kind`; the exit code says how it went (0, or
/// [`EXIT_CONFIG`] for a kind the integration does not have, or [`EXIT_FAILURE`] when the fetch
/// failed, with one masked line on stderr).
pub(crate) async fn print_first_page(
    integration: &dyn Integration,
    kind: &str,
    path: &Path,
    resources_path: &str,
    masker: &Masker,
) -> ExitCode {
    if !integration.serves_kind(kind) {
        eprintln!(
            "error: --sample {kind}: the integration has no kind {kind:?} (its kinds: {})",
            integration.kinds().join(", ")
        );
        return ExitCode::from(EXIT_CONFIG);
    }
    let (index, selector) = default_selector(path, resources_path, kind);
    let cancel = CancellationToken::new();
    let ctx = FetchContext::new(kind, index, selector, None, cancel.clone());
    let first = integration.fetch(ctx).next().await;
    cancel.cancel();
    let page = match first {
        None => Vec::new(),
        Some(Ok(page)) => page,
        Some(Err(error)) => {
            eprintln!(
                "error: fetching the first page of {kind}: {}",
                masker.mask(&error.chain())
            );
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    match serde_json::to_string_pretty(&page) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: writing the page of {kind} as JSON: {error}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// The selector of the first resource of `kind` in the integration's default mapping
/// (`.port/resources/port-app-config.*`), with its position, so that integration-specific
/// selector fields apply; `{"query": "true"}` at 0 when there is none.
fn default_selector(path: &Path, resources_path: &str, kind: &str) -> (usize, Value) {
    let config = PortResources::load(path, resources_path)
        .ok()
        .flatten()
        .and_then(|r| r.port_app_config);
    let found = config
        .as_ref()
        .and_then(|c| c.get("resources"))
        .and_then(Value::as_array)
        .and_then(|resources| {
            resources
                .iter()
                .enumerate()
                .find(|(_, r)| r.get("kind").and_then(Value::as_str) == Some(kind))
                .and_then(|(i, r)| r.get("selector").map(|s| (i, s.clone())))
        });
    found.unwrap_or_else(|| (0, json!({"query": "true"})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selector_comes_from_the_default_mapping() {
        let dir = tempfile::tempdir().unwrap();
        let resources = dir.path().join(".port/resources");
        std::fs::create_dir_all(&resources).unwrap();
        std::fs::write(
            resources.join("port-app-config.yml"),
            "resources:\n  - kind: a\n    selector: {query: 'true'}\n    port: {entity: {mappings: {identifier: .id, blueprint: '\"b\"'}}}\n  - kind: b\n    selector: {query: .x, apiQueryParams: {q: 1}}\n    port: {entity: {mappings: {identifier: .id, blueprint: '\"b\"'}}}\n",
        )
        .unwrap();
        assert_eq!(
            default_selector(dir.path(), ".port/resources", "b"),
            (1, json!({"query": ".x", "apiQueryParams": {"q": 1}}))
        );
        assert_eq!(
            default_selector(dir.path(), ".port/resources", "zzz"),
            (0, json!({"query": "true"}))
        );
    }
}
