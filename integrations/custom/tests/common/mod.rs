//! Shared test helpers: the integration pointed at a wiremock server, and its items.

#![allow(dead_code)]

use futures::StreamExt;
use ocean::{FetchContext, FetchError, Integration};
use ocean_custom::{Custom, CustomConfig, RetryPolicy};
use serde_json::{Value, json};
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;
use wiremock::{MockServer, ResponseTemplate};

pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The integration with `config` (snake_case keys, `base_url` set to the server's).
pub fn integration(server: &MockServer, mut config: Value) -> Custom {
    config["base_url"] = json!(server.uri());
    let config: CustomConfig = serde_json::from_value(config).expect("a config");
    Custom::with_retry_policy(config, RetryPolicy::default().fast())
        .expect("the integration builds")
}

/// Every page of `kind`, or the first error.
pub async fn fetch(
    integration: &Custom,
    kind: &str,
    selector: Value,
) -> Result<Vec<Value>, FetchError> {
    let ctx = FetchContext::new(kind, 0, selector, None, CancellationToken::new());
    let mut pages = integration.fetch(ctx);
    let mut items = Vec::new();
    while let Some(page) = pages.next().await {
        items.extend(page?);
    }
    Ok(items)
}

/// The items of `kind`, which must succeed.
pub async fn items(integration: &Custom, kind: &str, selector: Value) -> Vec<Value> {
    fetch(integration, kind, selector)
        .await
        .unwrap_or_else(|e| panic!("{kind}: {}", e.chain()))
}

/// `field` of each item.
pub fn field(items: &[Value], field: &str) -> Vec<Value> {
    items.iter().map(|i| i[field].clone()).collect()
}

pub fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}
