//! The HTTP client against fixture servers on 127.0.0.1: retries and their limits, rate limits
//! (429, GitHub's 403s, the reported budget), credentials (renewed on 401, never sent to another
//! origin, never printed), conditional requests, errors that name the request, the concurrency
//! limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ocean_http::{
    AuthError, Credentials, HttpClient, HttpError, Issued, RateLimitHeaders, RefreshingAuth,
    RetryPolicy, StatusCode,
};
use ocean_model::Secret;
use serde_json::{Value, json};
use wiremock::matchers::{header, header_exists, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "t0ken-8c1d";

fn client(server: &MockServer) -> HttpClient {
    HttpClient::builder("Acme")
        .base_url(format!("{}/v1", server.uri()))
        .credentials(Credentials::bearer(&Secret::new(TOKEN)).unwrap())
        .retry(RetryPolicy::default().fast())
        .build()
        .unwrap()
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

#[tokio::test]
async fn server_errors_are_retried_until_an_answer_and_a_bounded_number_of_times() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/items"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/items"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": [1, 2]})))
        .mount(&server)
        .await;
    let client = client(&server);
    let body: Value = client.get("items").send_json().await.unwrap();
    assert_eq!(body, json!({"items": [1, 2]}));
    assert_eq!(client.stats().requests, 3);
    assert_eq!(client.stats().retries, 2);

    let down = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream unavailable"))
        .mount(&down)
        .await;
    let err = client_for(&down).get("users").send().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Acme answered GET {}/v1/users with 503 Service Unavailable (attempt 4): upstream unavailable",
            down.uri()
        )
    );
    assert!(err.is_transient());
    assert_eq!(requests(&down).await, 4, "1 try + 3 retries");
}

fn client_for(server: &MockServer) -> HttpClient {
    client(server)
}

#[tokio::test]
async fn client_errors_are_final_and_name_the_request_without_secrets() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_string(format!(
            "{{\"error\": \"no such item\", \"echo\": \"Bearer {TOKEN}\"}}"
        )))
        .mount(&server)
        .await;
    let client = HttpClient::builder("Acme")
        .base_url(server.uri())
        .credentials(Credentials::query("api_key", &Secret::new("k3y-k3y-k3y")))
        .secret_query_param("tenant")
        .retry(RetryPolicy::default().fast())
        .build()
        .unwrap();
    let err = client
        .get("items/9")
        .query("tenant", "t-1")
        .query("expand", "all")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_not_found() && !err.is_transient());
    let message = err.to_string();
    assert_eq!(
        message,
        format!(
            "Acme answered GET {}/items/9?tenant=%5BREDACTED%5D&expand=all with 404 Not Found (attempt 1): {{\"error\": \"no such item\", \"echo\": \"Bearer {TOKEN}\"}}",
            server.uri()
        )
    );
    assert!(!format!("{message}{err:?}{client:?}").contains("k3y-k3y-k3y"));
    // The key went out as a query parameter.
    let sent = &server.received_requests().await.unwrap()[0];
    assert!(sent.url.query().unwrap().contains("api_key=k3y-k3y-k3y"));
    assert_eq!(requests(&server).await, 1);

    // A bearer token echoed in a body is masked in the excerpt.
    let err = client_for(&server).get("items/9").send().await.unwrap_err();
    let text = err.to_string();
    assert!(
        !text.contains(TOKEN) && text.contains("\"echo\": \"[REDACTED]\""),
        "{text}"
    );
}

#[tokio::test]
async fn posts_are_retried_only_when_marked_idempotent_but_always_after_a_429() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/subscriptions"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let client = client(&server);
    let err = client
        .post("subscriptions")
        .json(&json!({"a": 1}))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    assert_eq!(
        requests(&server).await,
        1,
        "a POST that may have succeeded is not resent"
    );

    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/v1/search"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let err = client
        .post("search")
        .json(&json!({"q": 1}))
        .idempotent(true)
        .send()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("(attempt 4)"), "{err}");

    server.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "s1"})))
        .mount(&server)
        .await;
    let created: Value = client
        .post("subscriptions")
        .json(&json!({}))
        .send_json()
        .await
        .unwrap();
    assert_eq!(created["id"], "s1");
    assert_eq!(client.stats().rate_limited, 2);
}

#[tokio::test]
async fn retry_after_pauses_and_rate_limits_have_their_own_budget() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&server)
        .await;
    let started = Instant::now();
    client(&server).get("items").send().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After: 1 was not waited"
    );

    let limited = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429))
        .mount(&limited)
        .await;
    let policy = RetryPolicy {
        rate_limit_retries: Some(5),
        max_retries: 1,
        ..RetryPolicy::default().fast()
    };
    let client = HttpClient::builder("Acme")
        .base_url(limited.uri())
        .retry(policy)
        .build()
        .unwrap();
    let err = client.get("x").send().await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(requests(&limited).await, 6, "1 try + 5 rate-limit retries");
}

#[tokio::test]
async fn github_403s_rate_limited_or_forbidden_and_the_reported_budget() {
    let server = MockServer::start().await;
    let reset = time::OffsetDateTime::now_utc().unix_timestamp() + 1;
    // The primary limit: 403 with remaining 0 — waited out until the reset, then answered.
    Mock::given(method("GET"))
        .and(path("/repos"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.to_string().as_str())
                .set_body_string(r#"{"message": "API rate limit exceeded"}"#),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-ratelimit-remaining", "4999")
                .insert_header("x-ratelimit-reset", (reset + 3600).to_string().as_str())
                .set_body_string("[]"),
        )
        .mount(&server)
        .await;
    // A permission error: 403 with budget left — final at once.
    Mock::given(method("GET"))
        .and(path("/orgs/acme/secret"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("x-ratelimit-remaining", "4000")
                .set_body_string(r#"{"message": "Resource not accessible by integration"}"#),
        )
        .mount(&server)
        .await;
    let client = HttpClient::builder("GitHub")
        .base_url(server.uri())
        .rate_limit_headers(RateLimitHeaders::github())
        .retry(RetryPolicy::default().fast())
        .build()
        .unwrap();
    client.get("repos").send().await.unwrap();
    assert_eq!(client.stats().rate_limited, 1);
    assert_eq!(client.limiter().remaining(), Some(4999));
    let err = client.get("orgs/acme/secret").send().await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::FORBIDDEN));
    assert!(err.to_string().contains("Resource not accessible"), "{err}");
    assert_eq!(requests(&server).await, 3);
}

#[tokio::test]
async fn a_no_retry_rule_returns_the_answer_with_its_headers() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("daily-ratelimit-remaining", "0")
                .insert_header("retry-after", "3600"),
        )
        .mount(&server)
        .await;
    let client = HttpClient::builder("PagerDuty")
        .base_url(server.uri())
        .no_retry_when(|_, headers| {
            headers
                .get("daily-ratelimit-remaining")
                .is_some_and(|v| v == "0")
        })
        .build()
        .unwrap();
    let err = client
        .post("analytics/raw/incidents")
        .json(&json!({}))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.headers().unwrap()["daily-ratelimit-remaining"], "0");
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn refused_credentials_are_renewed_and_the_request_sent_once_more() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer token-2"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let fetches = Arc::new(AtomicU32::new(0));
    let auth = {
        let fetches = fetches.clone();
        RefreshingAuth::new(move || {
            let n = fetches.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                Ok::<_, AuthError>(Issued {
                    credentials: Credentials::bearer(&Secret::new(format!("token-{n}")))?,
                    expires_in: None,
                })
            }
        })
    };
    let client = HttpClient::builder("Acme")
        .base_url(server.uri())
        .authenticator(Arc::new(auth))
        .build()
        .unwrap();
    client.get("me").send().await.unwrap();
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
    // Still refused after renewing: a 401 error, no loop.
    client.get("me").send().await.unwrap();
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let err = client.get("me").send().await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(requests(&server).await, 2);
    assert_eq!(fetches.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn credentials_stay_with_the_base_url_s_origin() {
    let api = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    for server in [&api, &elsewhere] {
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
            .mount(server)
            .await;
    }
    let client = client(&api);
    client
        .get(&format!("{}/v1/x", api.uri()))
        .send()
        .await
        .unwrap();
    client
        .get(&format!("{}/next", elsewhere.uri()))
        .send()
        .await
        .unwrap();
    let to_api = &api.received_requests().await.unwrap()[0];
    assert!(to_api.headers.contains_key("authorization"));
    let to_elsewhere = &elsewhere.received_requests().await.unwrap()[0];
    assert!(!to_elsewhere.headers.contains_key("authorization"));
}

#[tokio::test]
async fn conditional_requests_return_304_answers() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("if-none-match", "\"abc\""))
        .respond_with(ResponseTemplate::new(304))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"abc\"")
                .set_body_string("[1]"),
        )
        .mount(&server)
        .await;
    let client = client(&server);
    let first = client.get("items").send().await.unwrap();
    let etag = first.etag().unwrap().to_owned();
    assert_eq!(etag, "\"abc\"");
    let second = client
        .get("items")
        .if_none_match(&etag)
        .send()
        .await
        .unwrap();
    assert!(second.is_not_modified() && second.body().is_empty());
    assert_eq!(client.stats().not_modified, 1);
}

#[tokio::test]
async fn transport_failures_and_bad_urls_name_the_request() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = HttpClient::builder("Acme")
        .base_url(format!("http://127.0.0.1:{port}"))
        .credentials(Credentials::query("api_key", &Secret::new("k3y-in-query")))
        .retry(RetryPolicy::default().fast())
        .build()
        .unwrap();
    let err = client.get("items").send().await.unwrap_err();
    // Neither the label nor the HTTP library's own message repeats the key.
    let printed = format!("{err} {err:?}");
    assert!(!printed.contains("k3y-in-query"), "{printed}");
    assert!(
        matches!(err, HttpError::Transport { attempts: 4, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with(&format!(
            "could not reach Acme for GET http://127.0.0.1:{port}/items (attempt 4)"
        )),
        "{err}"
    );
    let err = HttpClient::builder("Acme")
        .build()
        .unwrap()
        .get("relative")
        .send()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("needs the client's base URL"),
        "{err}"
    );
    let err = HttpClient::builder("Acme")
        .base_url("mailto:x@y")
        .build()
        .unwrap_err();
    assert!(matches!(err, HttpError::Url { .. }), "{err:?}");
    let err = HttpClient::builder("Acme")
        .header("bad header", "x")
        .build()
        .unwrap_err();
    assert!(matches!(err, HttpError::Build { .. }), "{err:?}");
}

#[tokio::test]
async fn at_most_the_concurrency_limit_is_in_flight() {
    // A server that counts requests in flight and answers each after 50 ms.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let server = tokio::spawn({
        let (in_flight, peak) = (in_flight.clone(), peak.clone());
        async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let (in_flight, peak) = (in_flight.clone(), peak.clone());
                tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let mut buf = vec![0u8; 4096];
                    let mut read = Vec::new();
                    while !read.windows(4).any(|w| w == b"\r\n\r\n") {
                        let n = socket.read(&mut buf).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        read.extend_from_slice(&buf[..n]);
                    }
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    let _ = socket
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
                        )
                        .await;
                });
            }
        }
    });
    let client = HttpClient::builder("Acme")
        .base_url(format!("http://{addr}"))
        .concurrency(2)
        .build()
        .unwrap();
    let calls = (0..8).map(|i| {
        let client = client.clone();
        async move { client.get(&format!("items/{i}")).send().await }
    });
    for result in futures::future::join_all(calls).await {
        result.unwrap();
    }
    assert_eq!(peak.load(Ordering::SeqCst), 2);
    server.abort();
}

#[tokio::test]
async fn the_debug_output_of_clients_and_requests_holds_no_secret() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header_exists("authorization"))
        .and(query_param("q", "1"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let client = client(&server);
    let request = client
        .get("items")
        .query("q", "1")
        .query("token", "qs-secret");
    let printed = format!("{client:?} {request:?}");
    assert!(
        !printed.contains(TOKEN) && !printed.contains("qs-secret"),
        "{printed}"
    );
    request.send().await.unwrap();
}

#[tokio::test]
async fn body_credentials_are_merged_into_json_bodies_and_renewed_after_a_401() {
    let server = MockServer::start().await;
    // The API wants the session token in the body; only the second one is valid.
    Mock::given(method("POST"))
        .and(wiremock::matchers::body_json(
            json!({"query": "all", "page": 2, "session": {"token": "s-2"}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"ok\": true}"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::body_json(
            json!({"session": {"token": "s-2"}}),
        ))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"empty\": true}"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_string("expired session s-1"))
        .mount(&server)
        .await;
    let fetches = Arc::new(AtomicU32::new(0));
    let auth = {
        let fetches = fetches.clone();
        RefreshingAuth::new(move || {
            let n = fetches.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                Ok::<_, AuthError>(Issued {
                    credentials: Credentials::none()
                        .with_body_field("session", json!({"token": format!("s-{n}")})),
                    expires_in: None,
                })
            }
        })
    };
    let client = HttpClient::builder("Acme")
        .base_url(server.uri())
        .authenticator(Arc::new(auth))
        .build()
        .unwrap();
    // The selector's own body is kept, the session replaced by the renewed one.
    let answer: Value = client
        .post("search")
        .json(&json!({"query": "all", "page": 2, "session": "mine"}))
        .send_json()
        .await
        .unwrap();
    assert_eq!(answer, json!({"ok": true}));
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
    // A body-less POST gets a JSON body of the fields; a GET gets none.
    let answer: Value = client.post("search").send_json().await.unwrap();
    assert_eq!(answer, json!({"empty": true}));
    client.get("me").send().await.unwrap();
    let received = server.received_requests().await.unwrap();
    let get = received
        .iter()
        .find(|r| r.method.as_str() == "GET")
        .unwrap();
    assert!(get.body.is_empty());
    // A body that is not a JSON object cannot take the fields: an error, nothing sent.
    let before = received.len();
    let err = client
        .post("search")
        .body("application/x-www-form-urlencoded", "a=b")
        .send()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("could not be sent"), "{err}");
    assert!(err.to_string().contains("POST"), "{err}");
    assert_eq!(requests(&server).await, before);
    // The session token never shows in an error excerpt or Debug output.
    let creds = Credentials::none().with_body_field("session", json!({"token": "s-secret"}));
    assert!(!format!("{creds:?}").contains("s-secret"));
}
