//! What requests look like (auth, selector fields, headers), how failures fail the kind, and the
//! path-parameter fan-out, against a local server.

mod common;

use common::{fetch, field, integration, items, ok};
use futures::StreamExt;
use ocean::Integration;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn each_auth_type_sends_its_credentials() {
    let server = MockServer::start().await;
    let cases = [
        (
            json!({"auth_type": "bearer_token", "api_token": "tok-1"}),
            "authorization",
            "Bearer tok-1",
        ),
        // base64("me:pw-2")
        (
            json!({"auth_type": "basic", "username": "me", "password": "pw-2"}),
            "authorization",
            "Basic bWU6cHctMg==",
        ),
        (
            json!({"auth_type": "api_key", "api_key": "key-3"}),
            "x-api-key",
            "key-3",
        ),
        (
            json!({"auth_type": "api_key", "api_key": "key-4", "api_key_header": "X-Token"}),
            "x-token",
            "key-4",
        ),
    ];
    for (i, (config, name, value)) in cases.into_iter().enumerate() {
        let route = format!("/auth/{i}");
        Mock::given(path(route.as_str()))
            .and(header(name, value))
            .respond_with(ok(json!([{"id": i}])))
            .expect(1)
            .mount(&server)
            .await;
        let custom = integration(&server, config);
        assert_eq!(items(&custom, &route, json!({})).await.len(), 1, "{route}");
    }
    let none = integration(&server, json!({"auth_type": "none"}));
    Mock::given(path("/open"))
        .respond_with(ok(json!([{"id": 0}])))
        .mount(&server)
        .await;
    items(&none, "/open", json!({})).await;
    let requests = server.received_requests().await.unwrap();
    let open = requests.iter().find(|r| r.url.path() == "/open").unwrap();
    assert!(open.headers.get("authorization").is_none());
    assert_eq!(open.headers["user-agent"], ocean_custom::USER_AGENT);
}

#[tokio::test]
async fn selector_method_query_headers_and_body_with_custom_headers_underneath() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/search"))
        .and(query_param("state", "open"))
        .and(query_param("tag", "a"))
        .and(header("x-team", "platform"))
        .and(header("x-env", "from-selector"))
        .and(body_json(json!({"query": "all"})))
        .respond_with(ok(json!({"results": [{"id": "r1"}, {"id": "r2"}]})))
        .expect(1)
        .mount(&server)
        .await;
    let custom = integration(
        &server,
        json!({"custom_headers": "{\"X-Team\": \"platform\", \"X-Env\": \"global\"}"}),
    );
    let got = items(
        &custom,
        "v1/search",
        json!({"method": "POST", "query_params": {"state": "open", "tag": ["a"]},
            "headers": {"X-Env": "from-selector"}, "body": {"query": "all"},
            "data_path": ".results"}),
    )
    .await;
    assert_eq!(field(&got, "id"), [json!("r1"), json!("r2")]);
}

#[tokio::test]
async fn an_endpoint_failing_after_retries_fails_its_kind_naming_endpoint_and_status() {
    let server = MockServer::start().await;
    Mock::given(path("/broken"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    Mock::given(path("/fine"))
        .respond_with(ok(json!([{"id": 1}])))
        .mount(&server)
        .await;
    let custom = integration(
        &server,
        json!({"auth_type": "bearer_token", "api_token": "tok-secret"}),
    );
    let err = fetch(&custom, "/broken", json!({}))
        .await
        .unwrap_err()
        .chain();
    assert!(err.contains("/broken") && err.contains("503"), "{err}");
    assert!(!err.contains("tok-secret"), "{err}");
    assert!(
        server.received_requests().await.unwrap().len() > 1,
        "a 503 is retried before the kind fails"
    );
    // Another kind is unaffected.
    assert_eq!(items(&custom, "/fine", json!({})).await.len(), 1);
}

#[tokio::test]
async fn a_data_path_giving_neither_list_nor_object_fails_the_kind_once() {
    let server = MockServer::start().await;
    Mock::given(path("/count"))
        .respond_with(ok(json!({"count": 3, "items": []})))
        .mount(&server)
        .await;
    let custom = integration(&server, json!({}));
    let err = fetch(&custom, "/count", json!({"data_path": ".count"}))
        .await
        .unwrap_err()
        .chain();
    assert!(err.contains(".count") && err.contains("a number"), "{err}");
    let err = fetch(&custom, "/count", json!({"data_path": ".["}))
        .await
        .unwrap_err()
        .chain();
    assert!(err.contains("does not compile"), "{err}");
    let err = fetch(&custom, "/count", json!({"method": "TRACE"}))
        .await
        .unwrap_err()
        .chain();
    assert!(err.contains("TRACE"), "{err}");
}

#[tokio::test]
async fn without_a_data_path_an_object_response_is_one_item() {
    let server = MockServer::start().await;
    Mock::given(path("/team.info"))
        .respond_with(ok(json!({"team": {"id": "T1"}})))
        .mount(&server)
        .await;
    let custom = integration(&server, json!({}));
    assert_eq!(
        items(&custom, "/team.info", json!({})).await,
        [json!({"team": {"id": "T1"}})]
    );
}

async fn teams_and_members(server: &MockServer) {
    Mock::given(path("/orgs"))
        .respond_with(ok(json!({"orgs": [{"slug": "acme"}, {"slug": "globex"}]})))
        .expect(1)
        .mount(server)
        .await;
    for (org, teams) in [
        (
            "acme",
            json!([{"id": 1, "status": "active"}, {"id": 2, "status": "archived"}]),
        ),
        ("globex", json!([{"id": 3, "status": "active"}])),
    ] {
        Mock::given(path(format!("/orgs/{org}/teams")))
            .respond_with(ok(json!({"teams": teams})))
            .expect(1)
            .mount(server)
            .await;
    }
    for (org, team, members) in [
        ("acme", 1, json!(["ann", "bo"])),
        ("globex", 3, json!(["cy"])),
    ] {
        Mock::given(path(format!("/orgs/{org}/teams/{team}/members")))
            .respond_with(ok(json!({"members": members})))
            .expect(1)
            .mount(server)
            .await;
    }
}

fn nested_selector() -> serde_json::Value {
    json!({
        "data_path": "[.members[] | {name: .}]",
        "path_parameters": {
            "org": {"endpoint": "/orgs", "data_path": ".orgs", "field": ".slug"},
            "team_id": {"endpoint": "/orgs/{org}/teams", "data_path": ".teams", "field": ".id",
                "filter": ".status == \"active\""}
        }
    })
}

#[tokio::test]
async fn every_path_parameter_is_resolved_nested_and_added_to_items() {
    let server = MockServer::start().await;
    teams_and_members(&server).await;
    let custom = integration(&server, json!({}));
    let mut got = items(
        &custom,
        "/orgs/{org}/teams/{team_id}/members",
        nested_selector(),
    )
    .await;
    got.sort_by_key(|i| i["name"].as_str().map(str::to_owned));
    assert_eq!(
        got,
        [
            json!({"name": "ann", "__org": "acme", "__team_id": "1"}),
            json!({"name": "bo", "__org": "acme", "__team_id": "1"}),
            json!({"name": "cy", "__org": "globex", "__team_id": "3"}),
        ]
    );
}

#[tokio::test]
async fn discovery_shared_by_resources_is_fetched_once_per_resync() {
    let server = MockServer::start().await;
    teams_and_members(&server).await;
    Mock::given(path("/orgs/acme/teams/1/repos"))
        .respond_with(ok(json!([{"repo": "r"}])))
        .mount(&server)
        .await;
    Mock::given(path("/orgs/globex/teams/3/repos"))
        .respond_with(ok(json!([])))
        .mount(&server)
        .await;
    let custom = integration(&server, json!({}));
    custom.on_resync_start().await.unwrap();
    let members = items(
        &custom,
        "/orgs/{org}/teams/{team_id}/members",
        nested_selector(),
    )
    .await;
    let mut repos_selector = nested_selector();
    repos_selector["data_path"] = json!(".");
    let repos = items(&custom, "/orgs/{org}/teams/{team_id}/repos", repos_selector).await;
    assert_eq!((members.len(), repos.len()), (3, 1));
    assert_eq!(repos[0]["__team_id"], "1");
    custom.on_resync_complete().await.unwrap();
    // The mocks' `expect(1)` on /orgs and each team list are checked when the server drops.
}

#[tokio::test]
async fn an_unconfigured_path_parameter_fails_the_kind() {
    let server = MockServer::start().await;
    let custom = integration(&server, json!({}));
    let err = fetch(&custom, "/teams/{team_id}/members", json!({}))
        .await
        .unwrap_err()
        .chain();
    assert!(
        err.contains("{team_id}") && err.contains("path_parameters"),
        "{err}"
    );
    let err = fetch(
        &custom,
        "/teams/{team_id}/members",
        json!({"path_parameters": {"team_id": {"endpoint": "/orgs/{org}/teams", "field": ".id"}}}),
    )
    .await
    .unwrap_err()
    .chain();
    assert!(err.contains("{org}"), "{err}");
    let err = fetch(
        &custom,
        "/teams/{team_id}/members",
        json!({"path_parameters": {"team_id": {"endpoint": "/teams", "field": ".["}}}),
    )
    .await
    .unwrap_err()
    .chain();
    assert!(
        err.contains("path_parameters.team_id") && err.contains("does not compile"),
        "{err}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_failing_discovery_fails_the_kind() {
    let server = MockServer::start().await;
    Mock::given(path("/teams"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let custom = integration(&server, json!({}));
    let err = fetch(
        &custom,
        "/teams/{team_id}/members",
        json!({"path_parameters": {"team_id": {"endpoint": "/teams", "field": ".id"}}}),
    )
    .await
    .unwrap_err()
    .chain();
    assert!(
        err.contains("{team_id}") && err.contains("/teams") && err.contains("404"),
        "{err}"
    );
}

#[tokio::test]
async fn a_misconfigured_data_path_in_a_fan_out_is_reported_once() {
    let server = MockServer::start().await;
    Mock::given(path("/teams"))
        .respond_with(ok(json!([{"id": 1}, {"id": 2}, {"id": 3}])))
        .mount(&server)
        .await;
    Mock::given(path_regex("^/teams/[0-9]+/members$"))
        .respond_with(ok(json!({"count": 2})))
        .mount(&server)
        .await;
    let custom = integration(&server, json!({}));
    let ctx = ocean::FetchContext::new(
        "/teams/{id}/members",
        0,
        json!({"data_path": ".count",
            "path_parameters": {"id": {"endpoint": "/teams", "field": ".id"}}}),
        None,
        tokio_util::sync::CancellationToken::new(),
    );
    let outcomes: Vec<_> = custom.fetch(ctx).collect().await;
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    let err = outcomes[0].as_ref().unwrap_err().chain();
    assert!(err.contains(".count") && err.contains("/teams/"), "{err}");
}

#[tokio::test]
async fn the_configured_timeout_bounds_each_request() {
    let server = MockServer::start().await;
    Mock::given(path("/slow"))
        .respond_with(ok(json!([])).set_delay(std::time::Duration::from_secs(3)))
        .mount(&server)
        .await;
    let config: ocean_custom::CustomConfig =
        serde_json::from_value(json!({"base_url": server.uri(), "timeout": "1"})).unwrap();
    let custom =
        ocean_custom::Custom::with_retry_policy(config, ocean_custom::RetryPolicy::never())
            .unwrap();
    let started = std::time::Instant::now();
    let err = fetch(&custom, "/slow", json!({}))
        .await
        .unwrap_err()
        .chain();
    assert!(err.contains("/slow"), "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn max_concurrent_requests_bounds_a_fan_out() {
    let server = MockServer::start().await;
    Mock::given(path("/teams"))
        .respond_with(ok(json!([{"id": 1}, {"id": 2}, {"id": 3}])))
        .mount(&server)
        .await;
    Mock::given(path_regex("^/teams/[0-9]+/members$"))
        .respond_with(ok(json!([{"n": 1}])).set_delay(std::time::Duration::from_millis(300)))
        .mount(&server)
        .await;
    let custom = integration(&server, json!({"max_concurrent_requests": "1"}));
    let started = std::time::Instant::now();
    let got = items(
        &custom,
        "/teams/{id}/members",
        json!({"path_parameters": {"id": {"endpoint": "/teams", "field": ".id"}}}),
    )
    .await;
    assert_eq!(got.len(), 3);
    // One request at a time: the three delayed answers follow one another.
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(880),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_path_parameter_may_page_its_discovery_endpoint_its_own_way() {
    let server = MockServer::start().await;
    // Discovery: page-numbered, two pages of two, then a short page.
    for (page, ids) in [("1", vec![1, 2]), ("2", vec![3])] {
        Mock::given(path("/teams"))
            .and(query_param("p", page))
            .and(query_param("per_page", "2"))
            .respond_with(ok(json!(
                ids.iter().map(|i| json!({"id": i})).collect::<Vec<_>>()
            )))
            .mount(&server)
            .await;
    }
    // The members endpoints page by cursor, the integration's global pagination.
    for team in 1..=3 {
        Mock::given(path(format!("/teams/{team}/members")))
            .respond_with(ok(json!({"members": [{"team": team}], "next": null})))
            .mount(&server)
            .await;
    }
    let custom = integration(
        &server,
        json!({"pagination_type": "cursor", "cursor_path": "next"}),
    );
    let got = items(
        &custom,
        "/teams/{team_id}/members",
        json!({"data_path": ".members", "path_parameters": {"team_id": {
            "endpoint": "/teams", "field": ".id",
            "paginationType": "page", "paginationParam": "p", "sizeParam": "per_page", "pageSize": 2
        }}}),
    )
    .await;
    let mut teams: Vec<Value> = field(&got, "team");
    teams.sort_by_key(|v| v.as_i64());
    assert_eq!(teams, vec![json!(1), json!(2), json!(3)]);
    // A misspelt option of a path parameter is refused, not ignored.
    let err = fetch(
        &custom,
        "/teams/{team_id}/members",
        json!({"path_parameters": {"team_id": {"endpoint": "/teams", "field": ".id", "pageSise": 2}}}),
    )
    .await
    .unwrap_err()
    .chain();
    assert!(err.contains("pageSise"), "{err}");
}
