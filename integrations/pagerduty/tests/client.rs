//! The PagerDuty client against a fixture server: authentication headers, offset pagination,
//! rate limits, bounded retries of server errors, and errors that name the request (never the
//! token).

mod common;

use common::{TOKEN, config, fetch, integration, items, json};
use futures::StreamExt as _;
use ocean::BuildContext;
use ocean_pagerduty::{PagerDutyClient, RetryPolicy};
use serde_json::json;
use std::time::Duration;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(server: &MockServer) -> PagerDutyClient {
    PagerDutyClient::with_policy(&config(server), RetryPolicy::default().fast()).unwrap()
}

#[tokio::test]
async fn requests_carry_the_token_and_the_v2_media_type() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/teams"))
        .and(header(
            "authorization",
            format!("Token token={TOKEN}").as_str(),
        ))
        .and(header("accept", "application/vnd.pagerduty+json;version=2"))
        .and(query_param("limit", "100"))
        .and(query_param("offset", "0"))
        .respond_with(json("teams.json"))
        .expect(1)
        .mount(&server)
        .await;
    let teams = items(&integration(&server), "teams", json!({"query": "true"})).await;
    let names: Vec<&str> = teams.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Core Platform", "Payments"]);
}

#[tokio::test]
async fn pages_follow_offset_and_limit_until_more_is_false() {
    let server = MockServer::start().await;
    for (offset, file) in [("0", "incidents.page0.json"), ("2", "incidents.page1.json")] {
        Mock::given(method("GET"))
            .and(path("/incidents"))
            .and(query_param("offset", offset))
            .and(query_param("include[]", "assignees"))
            .and(query_param("statuses[]", "resolved"))
            .respond_with(json(file))
            .expect(1)
            .mount(&server)
            .await;
    }
    let selector = json!({"query": "true", "apiQueryParams": {
        "include": ["assignees"], "statuses": ["triggered", "acknowledged", "resolved"]}});
    let (pages, error) = fetch(&integration(&server), "incidents", selector).await;
    assert!(error.is_none(), "{:?}", error.map(|e| e.chain()));
    let ids: Vec<Vec<&str>> = pages
        .iter()
        .map(|p| p.iter().map(|i| i["id"].as_str().unwrap()).collect())
        .collect();
    assert_eq!(ids, [vec!["Q1AAA", "Q2BBB"], vec!["Q3CCC"]]);
    // Both array filters are repeated parameters.
    let requests = server.received_requests().await.unwrap();
    let query = requests[0].url.query().unwrap().to_owned();
    assert!(
        query.contains(
            "statuses%5B%5D=triggered&statuses%5B%5D=acknowledged&statuses%5B%5D=resolved"
        ),
        "{query}"
    );
}

#[tokio::test]
async fn a_rate_limited_request_waits_and_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/teams"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("ratelimit-limit", "960")
                .insert_header("ratelimit-remaining", "0")
                .insert_header("ratelimit-reset", "0")
                .set_body_string(r#"{"error":{"message":"Rate Limit Exceeded","code":2020}}"#),
        )
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/teams"))
        .respond_with(json("teams.json"))
        .mount(&server)
        .await;
    let teams = items(&integration(&server), "teams", json!({})).await;
    assert_eq!(teams.len(), 2);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn rate_limits_give_up_after_the_policy_s_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/teams"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .mount(&server)
        .await;
    let policy = RetryPolicy {
        rate_limit_retries: Some(2),
        ..RetryPolicy::default().fast()
    };
    let err = client_with(&server, policy)
        .list_all("teams", "teams", Vec::new())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "PagerDuty answered GET {}/teams?offset=0&limit=100 with 429 Too Many Requests \
             (attempt 3): (empty body)",
            server.uri()
        )
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

fn client_with(server: &MockServer, policy: RetryPolicy) -> PagerDutyClient {
    PagerDutyClient::with_policy(&config(server), policy).unwrap()
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/teams"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/teams"))
        .respond_with(json("teams.json"))
        .mount(&server)
        .await;
    assert_eq!(
        client(&server)
            .list_all("teams", "teams", Vec::new())
            .await
            .unwrap()
            .len(),
        2
    );

    let down = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream unavailable"))
        .mount(&down)
        .await;
    let (pages, error) = fetch(&integration(&down), "users", json!({})).await;
    assert!(pages.is_empty());
    assert_eq!(
        error.unwrap().chain(),
        format!(
            "fetching PagerDuty users: PagerDuty answered GET {}/users?offset=0&limit=100 with \
             503 Service Unavailable (attempt 4): upstream unavailable",
            down.uri()
        )
    );
    assert_eq!(
        down.received_requests().await.unwrap().len(),
        4,
        "1 try + 3 retries"
    );
}

#[tokio::test]
async fn client_errors_are_not_retried_and_never_show_the_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/services"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_string(r#"{"error":{"message":"Authentication failed","code":2006}}"#),
        )
        .mount(&server)
        .await;
    let (_, error) = fetch(&integration(&server), "services", json!({})).await;
    let text = error.unwrap().chain();
    assert_eq!(
        text,
        format!(
            "fetching PagerDuty services: PagerDuty answered GET {}/services?offset=0&limit=100 \
             with 401 Unauthorized (attempt 1): \
             {{\"error\":{{\"message\":\"Authentication failed\",\"code\":2006}}}}",
            server.uri()
        )
    );
    assert!(!text.contains(TOKEN));
    let requests = server.received_requests().await.unwrap();
    let paths: Vec<String> = requests.iter().map(|r| r.url.to_string()).collect();
    assert_eq!(requests.len(), 1, "{paths:?}");
}

#[tokio::test]
async fn a_body_that_is_not_json_fails_the_kind_after_the_good_pages() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/incidents"))
        .and(query_param("offset", "0"))
        .respond_with(json("incidents.page0.json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/incidents"))
        .and(query_param("offset", "2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string("<html><body>Bad gateway</body></html>"),
        )
        .mount(&server)
        .await;
    let (pages, error) = fetch(&integration(&server), "incidents", json!({})).await;
    assert_eq!(pages.len(), 1, "the first page was yielded");
    assert_eq!(
        error.unwrap().chain(),
        format!(
            "fetching PagerDuty incidents: PagerDuty answered GET {}/incidents?offset=2&limit=100 \
             with a body that cannot be read: expected value at line 1 column 1",
            server.uri()
        )
    );
}

#[tokio::test]
async fn a_page_without_its_list_is_an_error_naming_the_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/teams"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"more": false})))
        .mount(&server)
        .await;
    let err = client(&server)
        .list_all("teams", "teams", Vec::new())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "PagerDuty answered GET {}/teams?offset=0&limit=100 without a list under `teams`",
            server.uri()
        )
    );
}

#[tokio::test]
async fn an_unreachable_api_is_a_transport_error_naming_the_request() {
    // A port nothing listens on (wiremock servers are pooled, so not a dropped one).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = ocean_pagerduty::PagerDutyConfig::with_token(TOKEN);
    config.api_url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = PagerDutyClient::with_policy(
        &config,
        RetryPolicy {
            max_retries: 1,
            ..RetryPolicy::default().fast()
        },
    )
    .unwrap();
    let err = client.get("incidents/Q1AAA", &[]).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "could not reach PagerDuty for GET {}/incidents/Q1AAA (attempt 2)",
            config.api_url
        )
    );
    assert!(err.is_transient());
}

#[tokio::test]
async fn an_empty_page_with_more_set_ends_the_listing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/teams"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"teams": [], "limit": 100, "offset": 0, "more": true})),
        )
        .expect(1)
        .mount(&server)
        .await;
    assert!(
        client(&server)
            .list_all("teams", "teams", Vec::new())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn oauth_tokens_are_sent_as_bearer() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/teams"))
        .and(header("authorization", "Bearer pdus+oauth-token"))
        .respond_with(json("teams.json"))
        .expect(1)
        .mount(&server)
        .await;
    let mut config = config(&server);
    config.token = ocean::Secret::new("pdus+oauth-token");
    let client = PagerDutyClient::new(&config).unwrap();
    assert_eq!(
        client
            .list_all("teams", "teams", Vec::new())
            .await
            .unwrap()
            .len(),
        2
    );
}

/// `OCEAN__OAUTH_ACCESS_TOKEN_FILE_PATH`: the token comes from the file (OAuth tokens as
/// `Bearer`), and when the file is rotated mid-resync the 401 to the old token reads it again:
/// the listing goes on with the new token.
#[tokio::test]
async fn a_token_file_rotated_mid_resync_is_read_again() {
    let server = MockServer::start().await;
    let page = |offset: u64, ids: &[&str], more: bool| {
        let items: Vec<_> = ids.iter().map(|id| json!({"id": id})).collect();
        ResponseTemplate::new(200)
            .set_body_json(json!({"incidents": items, "offset": offset, "limit": 2, "more": more}))
    };
    Mock::given(method("GET"))
        .and(path("/incidents"))
        .and(query_param("offset", "0"))
        .and(header("authorization", "Bearer pdus+first"))
        .respond_with(page(0, &["Q1", "Q2"], true))
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/incidents"))
        .and(query_param("offset", "2"))
        .and(header("authorization", "Bearer pdus+second"))
        .respond_with(page(2, &["Q3"], false))
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    // Anything else (the first token once rotated): refused.
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "revoked"})))
        .with_priority(5)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "pdus+first\n").unwrap();
    let context = BuildContext::default().with_oauth_access_token_file(&file);
    let mut config = config(&server);
    config.token = ocean::Secret::new("not-used-when-the-file-is-set");
    let client =
        PagerDutyClient::with_context(&config, RetryPolicy::default().fast(), &context).unwrap();
    let mut pages = client.paginate("incidents", "incidents", Vec::new());
    assert_eq!(pages.next().await.unwrap().unwrap().len(), 2);
    std::fs::write(&file, "pdus+second\n").unwrap();
    let second = pages.next().await.unwrap().unwrap();
    assert_eq!(second[0]["id"], "Q3");
    assert!(pages.next().await.is_none());
    let refused = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.query().is_some_and(|q| q.contains("offset=2")))
        .count();
    assert_eq!(refused, 2, "the old token once, then the new one");

    // A missing file fails the request with an error naming the file, not a token.
    std::fs::remove_file(&file).unwrap();
    let context = BuildContext::default().with_oauth_access_token_file(&file);
    let client =
        PagerDutyClient::with_context(&config, RetryPolicy::default().fast(), &context).unwrap();
    let error = client.get("incidents", &[]).await.unwrap_err().to_string();
    assert!(
        error.contains("OAuth access token file") && error.contains("token"),
        "{error}"
    );
}

/// `OCEAN__CLIENT_TIMEOUT` bounds each request (the reference's `client_timeout`).
#[tokio::test]
async fn the_client_timeout_is_the_framework_setting() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/teams"))
        .respond_with(json("teams.json").set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let context = BuildContext::default().with_client_timeout(Duration::from_millis(200));
    let client =
        PagerDutyClient::with_context(&config(&server), RetryPolicy::never(), &context).unwrap();
    let error = client.get("teams", &[]).await.unwrap_err();
    match &error {
        ocean::http::HttpError::Transport { source, .. } => {
            assert!(source.is_timeout(), "{error}: {source}")
        }
        other => panic!("expected a timeout, got {other}"),
    }
    assert!(error.to_string().contains("/teams"), "{error}");
}

/// Requests pause once 90 % of PagerDuty's per-minute budget is used (as the reference), so a
/// resync does not run into 429s: the limiter reads `ratelimit-*` with a 10 % reserve.
#[tokio::test]
async fn the_budget_is_paced_at_ninety_percent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/teams"))
        .respond_with(
            json("teams.json")
                .insert_header("ratelimit-limit", "960")
                .insert_header("ratelimit-remaining", "500")
                .insert_header("ratelimit-reset", "30"),
        )
        .mount(&server)
        .await;
    let client = client(&server);
    let headers = client.http().limiter().headers().unwrap().clone();
    assert_eq!(
        headers,
        ocean::http::RateLimitHeaders::ietf().reserve(ocean::http::Reserve::Fraction(0.1))
    );
    client.get("teams", &[]).await.unwrap();
    assert_eq!(client.http().limiter().remaining(), Some(500));
}

/// Past PagerDuty's offset limit (10,000): the first 10,000 items, then an error naming the
/// kind and the limit, which fails the kind (nothing deleted) — never the request PagerDuty
/// would refuse with a 400.
#[tokio::test]
async fn a_list_past_the_offset_limit_fails_its_kind_after_ten_thousand_items() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/teams"))
        .respond_with(|request: &wiremock::Request| {
            let offset: u64 = request
                .url
                .query_pairs()
                .find(|(k, _)| k == "offset")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            if offset >= 10_000 {
                return ResponseTemplate::new(400).set_body_json(json!({"error": {
                    "message": "Offset must be less than 10000"}}));
            }
            let items: Vec<_> = (offset..offset + 100)
                .map(|i| json!({"id": format!("T{i}")}))
                .collect();
            ResponseTemplate::new(200).set_body_json(
                json!({"teams": items, "offset": offset, "limit": 100, "more": true}),
            )
        })
        .mount(&server)
        .await;
    let (pages, error) = fetch(&integration(&server), "teams", json!({})).await;
    assert_eq!(pages.iter().map(Vec::len).sum::<usize>(), 10_000);
    let text = error.expect("the limit is an error").chain();
    assert!(
        text.contains("PagerDuty lists at most 10000 teams by offset")
            && text.contains("nothing of this kind is deleted"),
        "{text}"
    );
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .all(|r| !r.url.query().unwrap_or_default().contains("offset=10000")),
        "never asked past the limit"
    );
}
