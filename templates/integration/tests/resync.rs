//! ocean-{{ project-name }} end to end, in process: full resyncs through Ocean's real lifecycle
//! into the Port emulator, with a wiremock server standing in for the {{ title }} API.
//!
//! Everything runs on 127.0.0.1 and nothing is read from the process environment: the settings
//! are given explicitly, the `.port/` folder is this crate's own (so the default blueprint and
//! mapping are the ones a user gets), and the integration is built exactly as `src/main.rs`
//! builds it. To cover a new kind, serve its pages from `serve` and assert its entities.

use ocean::Ocean;
use ocean::config::{IntegrationInfo, Loader, Spec};
use ocean_{{ crate_name }}::{{ "{" }}{{ project-name | pascal_case }}, {{ project-name | pascal_case }}Config};
use port_emulator::{EmulatorConfig, RunningEmulator};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The token the integration is configured with; the fake API answers only requests bearing it.
const TOKEN: &str = "test-token";

/// The blueprint of the default mapping (`.port/resources/`).
const BLUEPRINT: &str = "{{ project-name | lower_camel_case }}{{ kind | pascal_case }}";

/// A `{{ kind }}` as the {{ title }} API returns it.
fn item(i: usize) -> Value {
    json!({
        "id": format!("{{ kind }}-{i}"),
        "name": format!("{{ kind | title_case }} {i}"),
        "status": if i % 2 == 0 { "active" } else { "archived" },
        "html_url": format!("https://{{ project-name }}.example.com/{{ kind_plural }}/{i}"),
        "created_at": format!("2024-05-{:02}T12:00:00Z", i + 1),
        "internal_notes": "not mapped",
    })
}

/// The entity the default mapping makes of `item(i)`: identifier, title and properties.
fn entity(i: usize) -> Value {
    let item = item(i);
    json!({
        "identifier": item["id"],
        "title": item["name"],
        "properties": {
            "status": item["status"],
            "url": item["html_url"],
            "createdAt": item["created_at"],
        },
    })
}

/// Serves `pages` as `GET /v1/{{ kind_plural }}`, chained by `next_cursor`; a `None` page answers
/// 500. Replaces whatever was served before.
async fn serve(api: &MockServer, pages: &[Option<Vec<Value>>]) {
    api.reset().await;
    for (index, page) in pages.iter().enumerate() {
        let request = Mock::given(method("GET"))
            .and(path("/v1/{{ kind_plural }}"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()));
        let request = match index {
            0 => request.and(query_param_is_missing("cursor")),
            _ => request.and(query_param("cursor", format!("page-{index}").as_str())),
        };
        let next = (index + 1 < pages.len()).then(|| format!("page-{}", index + 1));
        let response = match page {
            Some(items) => ResponseTemplate::new(200)
                .set_body_json(json!({"data": items, "next_cursor": next})),
            None => ResponseTemplate::new(500).set_body_string("internal error"),
        };
        request.respond_with(response).mount(api).await;
    }
}

/// The Port emulator, on a free port of 127.0.0.1.
async fn emulator() -> RunningEmulator {
    let config = EmulatorConfig::default();
    port_emulator::spawn(config).await.expect("the emulator starts")
}

/// Ocean running ocean-{{ project-name }} against `port`, configured for `api`, with the
/// defaults in Port (integration, blueprint, mapping) already created.
async fn start(port: &RunningEmulator, api: &MockServer) -> Ocean {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let info = IntegrationInfo::new("{{ project-name }}", env!("CARGO_PKG_VERSION"));
    let settings = Loader::new(info)
        .spec(Spec::load(dir).expect(".port/spec.yaml loads"))
        .set(
            "port",
            json!({
                "client_id": port.client_id(),
                "client_secret": port.client_secret().expose(),
                "base_url": port.base_url(),
            }),
        )
        .set(
            "integration",
            json!({
                "identifier": "{{ project-name }}-test",
                "config": {
                    "api_url": format!("{}/v1", api.uri()),
                    "api_token": TOKEN,
                    "page_size": 2,
                },
            }),
        )
        .once()
        .load()
        .expect("settings are valid");
    // What `ocean::run` does in src/main.rs: the typed config, then the integration.
    let config: {{ project-name | pascal_case }}Config = settings.integration_config().expect("config");
    let integration = {{ project-name | pascal_case }}::new(config).expect("the integration builds");
    let ocean = Ocean::builder(settings, Arc::new(integration))
        .resources_from(dir)
        .build()
        .expect("Ocean builds");
    ocean.start().await.expect("Ocean starts in Port");
    ocean
}

/// The stored entities of the blueprint, as `entity` describes them, by identifier.
async fn stored(port: &RunningEmulator) -> Vec<Value> {
    let mut entities: Vec<Value> = port
        .entities(BLUEPRINT)
        .await
        .expect("the emulator answers")
        .into_iter()
        .map(|e| {
            json!({"identifier": e.identifier, "title": e.title, "properties": e.properties})
        })
        .collect();
    entities.sort_by_key(|e| e["identifier"].as_str().map(str::to_owned));
    entities
}

#[tokio::test]
async fn a_resync_upserts_every_item_and_a_later_one_deletes_what_disappeared() {
    let api = MockServer::start().await;
    let port = emulator().await;
    let ocean = start(&port, &api).await;

    serve(&api, &[Some(vec![item(0), item(1)]), Some(vec![item(2)])]).await;
    let report = ocean.resync().await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(stored(&port).await, vec![entity(0), entity(1), entity(2)]);

    serve(&api, &[Some(vec![item(0), item(2)])]).await;
    let report = ocean.resync().await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(stored(&port).await, vec![entity(0), entity(2)]);

    ocean.shutdown().await;
    port.shutdown().await.expect("the emulator stops");
}

#[tokio::test]
async fn a_page_that_fails_fails_the_resync_and_deletes_nothing() {
    let api = MockServer::start().await;
    let port = emulator().await;
    let ocean = start(&port, &api).await;

    serve(&api, &[Some(vec![item(0), item(1)]), Some(vec![item(2)])]).await;
    assert!(ocean.resync().await.is_success());

    // The first page no longer has item 1, but the second page fails: Ocean cannot know what is
    // gone, so it keeps every entity.
    serve(&api, &[Some(vec![item(0)]), None]).await;
    let report = ocean.resync().await;
    assert!(!report.is_success(), "{report:?}");
    assert_eq!(stored(&port).await, vec![entity(0), entity(1), entity(2)]);

    ocean.shutdown().await;
    port.shutdown().await.expect("the emulator stops");
}
