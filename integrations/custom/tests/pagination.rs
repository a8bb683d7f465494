//! Every pagination type against a local server, with the reference's stop rules and the ones
//! that end what the reference pages forever.

mod common;

use common::{fetch, field, integration, items, ok};
use serde_json::json;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn offset_on_object_pages_without_has_more_stops_on_a_short_page() {
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .and(query_param("offset", "0"))
        .and(query_param("limit", "2"))
        .respond_with(ok(json!({"data": [{"id": 1}, {"id": 2}]})))
        .mount(&server)
        .await;
    Mock::given(path("/items"))
        .and(query_param("offset", "2"))
        .respond_with(ok(json!({"data": [{"id": 3}]})))
        .expect(1)
        .mount(&server)
        .await;
    let custom = integration(
        &server,
        json!({"pagination_type": "offset", "page_size": "2"}),
    );
    let got = items(&custom, "/items", json!({"data_path": ".data"})).await;
    assert_eq!(field(&got, "id"), [json!(1), json!(2), json!(3)]);
}

#[tokio::test]
async fn offset_honours_total_and_last_page_paths() {
    let server = MockServer::start().await;
    for (offset, ids, last) in [("0", [1, 2], false), ("2", [3, 4], true)] {
        Mock::given(path("/items"))
            .and(query_param("start", offset))
            .respond_with(ok(json!({"rows": ids, "meta": {"total": 4, "last": last}})))
            .mount(&server)
            .await;
    }
    let custom = integration(
        &server,
        json!({"pagination_type": "offset", "pagination_param": "start", "page_size": 2}),
    );
    // The total ends the listing after the second page...
    let got = items(
        &custom,
        "/items",
        json!({"data_path": "[.rows[] | {id: .}]",
        "total_path": "meta.total"}),
    )
    .await;
    assert_eq!(field(&got, "id"), [json!(1), json!(2), json!(3), json!(4)]);
    // ... and so does lastPagePath.
    let got = items(
        &custom,
        "/items",
        json!({"data_path": "[.rows[] | {id: .}]",
        "lastPagePath": "meta.last"}),
    )
    .await;
    assert_eq!(got.len(), 4);
}

#[tokio::test]
async fn page_pagination_from_start_page_until_has_more_is_false() {
    let server = MockServer::start().await;
    for (page, more) in [("0", true), ("1", false)] {
        Mock::given(path("/users"))
            .and(query_param("p", page))
            .and(query_param("per", "50"))
            .respond_with(ok(json!({"users": [{"id": page}], "more": more})))
            .mount(&server)
            .await;
    }
    let custom = integration(
        &server,
        json!({"pagination_type": "page", "pagination_param": "p", "size_param": "per",
            "start_page": "0", "page_size": "50", "has_more_path": "more"}),
    );
    let got = items(&custom, "/users", json!({"data_path": ".users"})).await;
    assert_eq!(field(&got, "id"), [json!("0"), json!("1")]);
}

#[tokio::test]
async fn cursor_pagination_as_slack() {
    let server = MockServer::start().await;
    Mock::given(path("/users.list"))
        .and(query_param_is_missing("cursor"))
        .and(query_param("limit", "200"))
        .respond_with(ok(json!({"members": [{"id": "U1"}],
            "response_metadata": {"next_cursor": "dXNlcjpVMg=="}})))
        .mount(&server)
        .await;
    Mock::given(path("/users.list"))
        .and(query_param("cursor", "dXNlcjpVMg=="))
        .respond_with(ok(json!({"members": [{"id": "U2"}],
            "response_metadata": {"next_cursor": ""}})))
        .mount(&server)
        .await;
    let custom = integration(
        &server,
        json!({"pagination_type": "cursor", "page_size": "200",
            "cursor_path": "response_metadata.next_cursor",
            "has_more_path": "response_metadata.next_cursor"}),
    );
    let got = items(&custom, "/users.list", json!({"data_path": ".members"})).await;
    assert_eq!(field(&got, "id"), [json!("U1"), json!("U2")]);
}

#[tokio::test]
async fn a_repeated_cursor_fails_the_kind_instead_of_looping() {
    let server = MockServer::start().await;
    Mock::given(path("/loop"))
        .respond_with(ok(
            json!({"items": [{"id": 1}], "next_cursor": "same", "has_more": true}),
        ))
        .mount(&server)
        .await;
    let custom = integration(&server, json!({"pagination_type": "cursor"}));
    let err = fetch(&custom, "/loop", json!({"data_path": ".items"}))
        .await
        .unwrap_err()
        .chain();
    assert!(
        err.contains("/loop") && err.contains("second time"),
        "{err}"
    );
}

#[tokio::test]
async fn next_link_drops_the_first_query_and_a_repeated_link_is_an_error() {
    let server = MockServer::start().await;
    let next = format!("{}/odata/items?skip=1", server.uri());
    Mock::given(path("/odata/items"))
        .and(query_param("filter", "on"))
        .respond_with(ok(json!({"value": [{"id": 1}], "@odata.nextLink": next})))
        .mount(&server)
        .await;
    Mock::given(path("/odata/items"))
        .and(query_param("skip", "1"))
        .and(query_param_is_missing("filter"))
        .respond_with(ok(json!({"value": [{"id": 2}]})))
        .mount(&server)
        .await;
    let custom = integration(&server, json!({"pagination_type": "next_link"}));
    let got = items(
        &custom,
        "/odata/items",
        json!({"data_path": ".value", "query_params": {"filter": "on"}}),
    )
    .await;
    assert_eq!(field(&got, "id"), [json!(1), json!(2)]);

    Mock::given(path("/cycle"))
        .respond_with(ok(json!({"value": [{"id": 1}], "next": "/cycle"})))
        .mount(&server)
        .await;
    let err = fetch(
        &custom,
        "/cycle",
        json!({"data_path": ".value", "next_link_path": "next"}),
    )
    .await
    .unwrap_err()
    .chain();
    assert!(err.contains("already followed"), "{err}");
}

#[tokio::test]
async fn header_link_pagination_with_a_configured_relation() {
    let server = MockServer::start().await;
    let link = format!("<{}/repos?page=2>; rel=\"following\"", server.uri());
    Mock::given(path("/repos"))
        .and(query_param_is_missing("page"))
        .respond_with(ok(json!([{"id": 1}])).insert_header("link", link.as_str()))
        .mount(&server)
        .await;
    Mock::given(path("/repos"))
        .and(query_param("page", "2"))
        .respond_with(ok(json!([{"id": 2}])))
        .mount(&server)
        .await;
    let custom = integration(
        &server,
        json!({"pagination_type": "header_link", "header_link_rel": "following"}),
    );
    let got = items(&custom, "/repos", json!({})).await;
    assert_eq!(field(&got, "id"), [json!(1), json!(2)]);
}

#[tokio::test]
async fn the_page_cap_ends_a_runaway_with_an_error_naming_the_endpoint() {
    let server = MockServer::start().await;
    Mock::given(path("/forever"))
        .respond_with(ok(json!({"items": [{"id": 1}], "hasMore": true})))
        .mount(&server)
        .await;
    let custom = integration(&server, json!({"pagination_type": "page", "page_size": 1}));
    let err = fetch(
        &custom,
        "/forever",
        json!({"data_path": ".items", "maxPages": 3}),
    )
    .await
    .unwrap_err()
    .chain();
    assert!(err.contains("/forever") && err.contains("3 pages"), "{err}");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_selector_overrides_the_global_pagination() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/single"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"id": 1}])))
        .expect(1)
        .mount(&server)
        .await;
    let custom = integration(
        &server,
        json!({"pagination_type": "page", "page_size": "1"}),
    );
    let got = items(&custom, "/single", json!({"pagination_type": "none"})).await;
    assert_eq!(field(&got, "id"), [json!(1)]);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].url.query(), None);
}

#[tokio::test]
async fn offset_on_an_api_ignoring_the_offset_ends_at_the_page_cap() {
    // The reference's runaway: full object pages without `has_more`, forever.
    let server = MockServer::start().await;
    Mock::given(path("/stuck"))
        .respond_with(ok(json!({"data": [{"id": 1}, {"id": 2}]})))
        .mount(&server)
        .await;
    let custom = integration(
        &server,
        json!({"pagination_type": "offset", "page_size": "2", "max_pages": "5"}),
    );
    let err = fetch(&custom, "/stuck", json!({"data_path": ".data"}))
        .await
        .unwrap_err()
        .chain();
    assert!(err.contains("/stuck") && err.contains("5 pages"), "{err}");
    assert_eq!(server.received_requests().await.unwrap().len(), 5);
}

#[tokio::test]
async fn a_filtering_data_path_on_list_pages_neither_stops_early_nor_skips() {
    let server = MockServer::start().await;
    Mock::given(path("/list"))
        .and(query_param("offset", "0"))
        .respond_with(ok(json!([{"id": 1, "on": true}, {"id": 2, "on": false}])))
        .mount(&server)
        .await;
    Mock::given(path("/list"))
        .and(query_param("offset", "2"))
        .respond_with(ok(json!([{"id": 3, "on": true}])))
        .mount(&server)
        .await;
    let custom = integration(
        &server,
        json!({"pagination_type": "offset", "page_size": 2}),
    );
    let got = items(&custom, "/list", json!({"data_path": "map(select(.on))"})).await;
    assert_eq!(field(&got, "id"), [json!(1), json!(3)]);
}
