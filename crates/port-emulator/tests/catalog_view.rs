//! The catalog view's page and the read-only routes it renders: blueprint counts, a searched and
//! paged entity table, an entity's relations both ways, and the request log with durations.

mod common;

use common::Harness;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn admin(h: &Harness, path: &str) -> (StatusCode, Value) {
    common::read(h.http.get(h.url(path)).send().await.unwrap()).await
}

/// Teams, services owned by a team, and a service that depends on others (`many`).
async fn catalog(h: &Harness) {
    for blueprint in [
        json!({"identifier": "team", "title": "Team", "schema": {"properties": {"slack": {"type": "string"}}}}),
        json!({"identifier": "service", "title": "Service",
               "schema": {"properties": {"tier": {"type": "string"}}},
               "relations": {
                   "team": {"title": "Team", "target": "team", "required": false, "many": false},
                   "dependsOn": {"title": "Depends on", "target": "service", "required": false, "many": true}}}),
    ] {
        let (status, body) = h.post("/v1/blueprints", blueprint).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = h
        .post(
            "/v1/blueprints/team/entities/bulk?upsert=true",
            json!({"entities": [
                {"identifier": "core", "title": "Core", "properties": {"slack": "#core"}},
                {"identifier": "edge", "title": "Edge 100%", "properties": {}}
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let services: Vec<Value> = (0..7)
        .map(|i| {
            json!({"identifier": format!("svc-{i}"), "title": format!("Service {i}"),
                   "properties": {"tier": "gold"},
                   "relations": {"team": "core", "dependsOn": if i > 0 { vec!["svc-0"] } else { vec![] }}})
        })
        .collect();
    let (status, body) = h
        .post(
            "/v1/blueprints/service/entities/bulk?upsert=true",
            json!({ "entities": services }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn the_page_and_its_assets_are_served_at_the_root_and_under_emulator() {
    let h = Harness::start().await;
    for path in ["/", "/_emulator/ui"] {
        let response = h.http.get(h.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8"
        );
        let html = response.text().await.unwrap();
        assert!(html.contains("/_emulator/ui/catalog.js"), "{html}");
        // Nothing is loaded from elsewhere.
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{html}"
        );
    }
    for (path, kind) in [
        ("/_emulator/ui/catalog.js", "text/javascript"),
        ("/_emulator/ui/catalog.css", "text/css"),
    ] {
        let response = h.http.get(h.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(content_type.starts_with(kind), "{content_type}");
        assert!(!response.text().await.unwrap().contains("https://"));
    }
    let (_, home) = admin(&h, "/_emulator/").await;
    assert_eq!(home["catalogView"], format!("{}/", h.emulator.base_url()));
    // The page is not an API request.
    assert!(
        h.emulator
            .requests()
            .iter()
            .all(|r| r.path.starts_with("/v1"))
    );
}

#[tokio::test]
async fn catalog_counts_entities_per_blueprint() {
    let h = Harness::start().await;
    catalog(&h).await;
    let (status, body) = admin(&h, "/_emulator/catalog").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let counts: Vec<(String, u64)> = body["blueprints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["blueprint"]["identifier"].as_str().unwrap().to_owned(),
                b["entities"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts, [("service".to_owned(), 7), ("team".to_owned(), 2)]);
    assert_eq!(body["integrations"], json!([]));
}

#[tokio::test]
async fn entity_table_searches_and_pages() {
    let h = Harness::start().await;
    catalog(&h).await;
    let (status, page) = admin(&h, "/_emulator/entities?blueprint=service&offset=5&limit=5").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        (page["total"].as_u64(), page["count"].as_u64()),
        (Some(7), Some(2))
    );
    let ids: Vec<&str> = page["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["svc-5", "svc-6"]);
    assert_eq!(page["entities"][0]["$datasource"], common::EXPORTER_UA);

    // Identifier or title, case-insensitively; LIKE's wildcards are taken literally.
    let (_, page) = admin(
        &h,
        "/_emulator/entities?blueprint=service&search=SERVICE%203",
    )
    .await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["entities"][0]["identifier"], "svc-3");
    let (_, page) = admin(&h, "/_emulator/entities?blueprint=team&search=100%25").await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["entities"][0]["identifier"], "edge");
    let (_, page) = admin(&h, "/_emulator/entities?blueprint=team&search=_").await;
    assert_eq!(page["total"], 0);

    let (status, body) = admin(&h, "/_emulator/entities?search=x").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = admin(&h, "/_emulator/entities?blueprint=team&limit=-1").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["message"].as_str().unwrap().contains("limit"));
}

#[tokio::test]
async fn an_entity_shows_its_relations_both_ways() {
    let h = Harness::start().await;
    catalog(&h).await;
    let (status, body) = admin(&h, "/_emulator/entity?blueprint=service&identifier=svc-1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["entity"]["properties"]["tier"], "gold");
    assert_eq!(
        body["relations"],
        json!([
            {"relation": "dependsOn", "target": "service", "many": true,
             "entities": [{"identifier": "svc-0", "title": "Service 0", "exists": true}]},
            {"relation": "team", "target": "team", "many": false,
             "entities": [{"identifier": "core", "title": "Core", "exists": true}]}
        ])
    );
    assert_eq!(body["referencedBy"], json!([]));

    let (_, body) = admin(&h, "/_emulator/entity?blueprint=team&identifier=core").await;
    let referenced: Vec<(&str, &str)> = body["referencedBy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["identifier"].as_str().unwrap(),
                r["relation"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(referenced.len(), 7);
    assert!(referenced.contains(&("svc-6", "team")));
    let (_, body) = admin(&h, "/_emulator/entity?blueprint=service&identifier=svc-0").await;
    assert_eq!(body["referencedBy"].as_array().unwrap().len(), 6);
    assert_eq!(body["referencedBy"][0]["relation"], "dependsOn");

    let (status, body) = admin(&h, "/_emulator/entity?blueprint=team&identifier=nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = admin(&h, "/_emulator/entity?blueprint=team").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn requests_log_keeps_durations_and_answers_the_newest() {
    let h = Harness::start().await;
    h.emulator
        .controls()
        .set_latency(std::time::Duration::from_millis(20));
    let _ = h.get("/v1/blueprints").await;
    let _ = h.get("/v1/organization").await;
    let (status, body) = admin(&h, "/_emulator/requests?limit=1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The token request, then the two calls.
    assert_eq!(body["total"], 3);
    let newest = &body["requests"][0];
    assert_eq!(body["requests"].as_array().unwrap().len(), 1);
    assert_eq!(
        (newest["method"].as_str(), newest["path"].as_str()),
        (Some("GET"), Some("/v1/organization"))
    );
    assert_eq!(newest["status"], 200);
    assert!(
        newest["duration_micros"].as_u64().unwrap() >= 20_000,
        "{newest}"
    );
    let (status, _) = admin(&h, "/_emulator/requests?limit=many").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
