//! Every pagination strategy against a fixture API on 127.0.0.1: where it stops, and the
//! loops it refuses to follow.

use futures::TryStreamExt;
use ocean_http::{HttpClient, HttpError, PageOf, Pagination, RetryPolicy, json_items, paginate};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(server: &MockServer) -> HttpClient {
    HttpClient::builder("Acme")
        .base_url(server.uri())
        .retry(RetryPolicy::default().fast())
        .build()
        .unwrap()
}

fn ids(pages: &[Vec<Value>]) -> Vec<Vec<i64>> {
    pages
        .iter()
        .map(|p| p.iter().map(|i| i["id"].as_i64().unwrap()).collect())
        .collect()
}

fn items(range: std::ops::Range<i64>) -> Vec<Value> {
    range.map(|id| json!({"id": id})).collect()
}

async fn serve(server: &MockServer, param: &str, value: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path("/items"))
        .and(query_param(param, value))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

#[tokio::test]
async fn offset_pages_stop_on_more_false_or_on_a_short_page() {
    let server = MockServer::start().await;
    serve(
        &server,
        "offset",
        "0",
        json!({"data": items(0..2), "more": true}),
    )
    .await;
    serve(
        &server,
        "offset",
        "2",
        json!({"data": items(2..4), "more": true}),
    )
    .await;
    serve(
        &server,
        "offset",
        "4",
        json!({"data": items(4..5), "more": false}),
    )
    .await;
    let pages: Vec<Vec<Value>> = paginate(
        client(&server).get("items").query("sort", "id"),
        Pagination::offset("offset", "limit", 2),
        |r| json_items(r, "/data"),
    )
    .into_stream()
    .try_collect()
    .await
    .unwrap();
    assert_eq!(ids(&pages), [vec![0, 1], vec![2, 3], vec![4]]);
    let sent = server.received_requests().await.unwrap();
    assert_eq!(sent[1].url.query(), Some("sort=id&offset=2&limit=2"));

    // No `more` in the body: a short page ends the list, and an empty one does too.
    let server = MockServer::start().await;
    serve(&server, "offset", "0", json!({"data": items(0..3)})).await;
    serve(&server, "offset", "3", json!({"data": items(3..5)})).await;
    let pages: Vec<Vec<Value>> = paginate(
        client(&server).get("items"),
        Pagination::offset("offset", "limit", 3),
        |r| json_items(r, "/data"),
    )
    .into_stream()
    .try_collect()
    .await
    .unwrap();
    assert_eq!(ids(&pages), [vec![0, 1, 2], vec![3, 4]]);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn page_numbers_stop_at_the_total_and_shrink_on_gateway_errors() {
    let server = MockServer::start().await;
    // Page 2 of 4 items times out; with 2 per page it is pages 3 and 4.
    Mock::given(method("GET"))
        .and(query_param("per_page", "4"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("per_page", "4"))
        .and(query_param("page", "1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"items": items(0..4), "total": 7})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("per_page", "2"))
        .and(query_param("page", "3"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"items": items(4..6), "total": 7})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("per_page", "2"))
        .and(query_param("page", "4"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"items": items(6..7), "total": 7})),
        )
        .mount(&server)
        .await;
    let parse = |r: &ocean_http::Response| {
        let page = json_items(r, "/items")?;
        let body: Value = r.json()?;
        Ok(page.total(body["total"].as_u64()))
    };
    let pages: Vec<Vec<Value>> = paginate(
        client(&server).get("items"),
        Pagination::page("page", "per_page", 4),
        parse,
    )
    .shrink_page_size_on(&[502, 504])
    .stop_on_short_page(false)
    .into_stream()
    .try_collect()
    .await
    .unwrap();
    assert_eq!(ids(&pages), [vec![0, 1, 2, 3], vec![4, 5], vec![6]]);
}

#[tokio::test]
async fn cursors_are_followed_and_a_repeated_cursor_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(query_param_is_missing("cursor"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": items(0..2), "next": "c1"})),
        )
        .mount(&server)
        .await;
    serve(
        &server,
        "cursor",
        "c1",
        json!({"data": items(2..4), "next": "c2"}),
    )
    .await;
    serve(
        &server,
        "cursor",
        "c2",
        json!({"data": items(4..5), "next": "c1"}),
    )
    .await;
    let parse = |r: &ocean_http::Response| {
        let body: Value = r.json()?;
        let page = json_items(r, "/data")?;
        Ok(page.next(body["next"].as_str().map(str::to_owned)))
    };
    let mut stream = paginate(
        client(&server).get("items"),
        Pagination::cursor("cursor").with_size("limit", 2),
        parse,
    )
    .into_stream();
    let mut pages = Vec::new();
    let err = loop {
        match stream.try_next().await {
            Ok(Some(page)) => pages.push(page),
            Ok(None) => panic!("the loop was followed to an end"),
            Err(e) => break e,
        }
    };
    assert_eq!(ids(&pages), [vec![0, 1], vec![2, 3]]);
    assert!(matches!(err, HttpError::Pagination { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "paging through Acme GET {}/items?limit=2&cursor=c2: the API returned the cursor \"c1\" a second time; stopping instead of looping",
            server.uri()
        )
    );
}

#[tokio::test]
async fn next_links_and_link_headers_are_followed_until_absent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/items"))
        .and(query_param_is_missing("page"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "link",
                    r#"</items?page=2>; rel="next", </items?page=3>; rel="last""#,
                )
                .set_body_json(json!({"data": items(0..1), "links": {"next": "/items?page=2"}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "link",
                    format!("<{}/items?page=3>; rel=\"next\"", server.uri()).as_str(),
                )
                .set_body_json(json!({"data": items(1..2), "links": {"next": "items?page=3"}})),
        )
        .mount(&server)
        .await;
    serve(
        &server,
        "page",
        "3",
        json!({"data": items(2..3), "links": {"next": null}}),
    )
    .await;

    let by_header: Vec<Vec<Value>> = paginate(
        client(&server).get("items"),
        Pagination::link_header(),
        |r| json_items(r, "/data"),
    )
    .into_stream()
    .try_collect()
    .await
    .unwrap();
    assert_eq!(ids(&by_header), [vec![0], vec![1], vec![2]]);

    let by_body: Vec<Vec<Value>> =
        paginate(client(&server).get("items"), Pagination::next_link(), |r| {
            let body: Value = r.json()?;
            Ok(json_items(r, "/data")?.next(body["links"]["next"].as_str().map(str::to_owned)))
        })
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&by_body), [vec![0], vec![1], vec![2]]);
}

#[tokio::test]
async fn a_link_back_to_an_earlier_page_and_the_page_limit_are_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", r#"</items>; rel="next""#)
                .set_body_json(json!({"data": items(0..1)})),
        )
        .mount(&server)
        .await;
    let result: Result<Vec<Vec<Value>>, HttpError> = paginate(
        client(&server).get("items"),
        Pagination::link_header(),
        |r| json_items(r, "/data"),
    )
    .into_stream()
    .try_collect()
    .await;
    let err = result.unwrap_err();
    assert!(err.to_string().contains("already followed"), "{err}");

    // An offset API that always says there is more: stopped by the page limit.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": items(0..1), "has_more": true})),
        )
        .mount(&server)
        .await;
    let result: Result<Vec<Vec<Value>>, HttpError> = paginate(
        client(&server).get("items"),
        Pagination::offset("offset", "limit", 1),
        |r| json_items(r, "/data"),
    )
    .max_pages(5)
    .into_stream()
    .try_collect()
    .await;
    let err = result.unwrap_err();
    assert!(err.to_string().contains("stopped after 5 pages"), "{err}");
    assert_eq!(server.received_requests().await.unwrap().len(), 5);
}

#[tokio::test]
async fn a_body_without_the_list_is_a_shape_error_naming_the_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"error": "nope"})))
        .mount(&server)
        .await;
    let result: Result<Vec<Vec<Value>>, HttpError> =
        paginate(client(&server).get("items"), Pagination::Single, |r| {
            json_items(r, "/data")
        })
        .into_stream()
        .try_collect()
        .await;
    assert_eq!(
        result.unwrap_err().to_string(),
        format!(
            "Acme answered GET {}/items without a list at /data",
            server.uri()
        )
    );
    let single: Vec<Vec<Value>> =
        paginate(client(&server).get("items"), Pagination::Single, |_r| {
            Ok(PageOf::items(vec![json!({"id": 1})]))
        })
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&single), [vec![1]]);
}
