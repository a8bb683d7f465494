//! ocean-{{ project-name }} end to end, in process: full resyncs through Ocean's real lifecycle
//! into the Port emulator, with a wiremock server standing in for the {{ title }} API.
//!
//! Everything runs on 127.0.0.1 and nothing is read from the process environment:
//! `ocean::testing` starts the emulator and gives the settings explicitly, the `.port/` folder is
//! this crate's own (so the default blueprint and mapping are the ones a user gets), and the
//! integration is built from its typed config as `src/main.rs` builds it (with short retry
//! waits). To cover a new kind, serve its pages from `serve` and assert its entities.

use ocean::http::RetryPolicy;
use ocean::testing::TestOcean;
use ocean_{{ crate_name }}::{{ "{" }}{{ project-name | pascal_case }}, {{ project-name | pascal_case }}Config};
use serde_json::{Value, json};
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

/// Ocean running ocean-{{ project-name }} against the Port emulator, configured for `api`, with
/// the defaults in Port (integration, blueprint, mapping) already created.
async fn start(api: &MockServer) -> TestOcean {
    TestOcean::builder("{{ project-name }}", env!("CARGO_MANIFEST_DIR"))
        .config(json!({
            "api_url": format!("{}/v1", api.uri()),
            "api_token": TOKEN,
            "page_size": 2,
        }))
        .start(|config: {{ project-name | pascal_case }}Config| async move {
            Ok({{ project-name | pascal_case }}::with_retry_policy(config, RetryPolicy::default().fast())?)
        })
        .await
        .expect("the integration starts in Port")
}

/// The stored entities of the blueprint, as `entity` describes them, by identifier.
async fn stored(ocean: &TestOcean) -> Vec<Value> {
    let mut entities: Vec<Value> = ocean
        .entities(BLUEPRINT)
        .await
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
    let ocean = start(&api).await;

    serve(&api, &[Some(vec![item(0), item(1)]), Some(vec![item(2)])]).await;
    let report = ocean.resync().await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(stored(&ocean).await, vec![entity(0), entity(1), entity(2)]);

    serve(&api, &[Some(vec![item(0), item(2)])]).await;
    let report = ocean.resync().await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(stored(&ocean).await, vec![entity(0), entity(2)]);

    ocean.shutdown().await;
}

#[tokio::test]
async fn a_page_that_fails_fails_the_resync_and_deletes_nothing() {
    let api = MockServer::start().await;
    let ocean = start(&api).await;

    serve(&api, &[Some(vec![item(0), item(1)]), Some(vec![item(2)])]).await;
    assert!(ocean.resync().await.is_success());

    // The first page no longer has item 1, but the second page fails: Ocean cannot know what is
    // gone, so it keeps every entity.
    serve(&api, &[Some(vec![item(0)]), None]).await;
    let report = ocean.resync().await;
    assert!(!report.is_success(), "{report:?}");
    assert_eq!(stored(&ocean).await, vec![entity(0), entity(1), entity(2)]);

    ocean.shutdown().await;
}
