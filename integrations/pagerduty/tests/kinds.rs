//! Each kind against the fixture server: the enrichments its selector asks for, and what
//! happens when an enrichment is unavailable.

mod common;

use common::{fetch, integration, items, json, pagerduty};
use ocean::Integration;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn emails(oncalls: &Value) -> Vec<&str> {
    oncalls
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["user"]["email"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn services_get_their_policy_s_oncalls_and_analytics() {
    let server = pagerduty().await;
    let services = items(&integration(&server), "services", json!({"query": "true"})).await;
    let ids: Vec<&str> = services.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["PSV1API", "PSV2CHK", "PSV3SRCH"]);
    assert_eq!(
        emails(&services[0]["__oncall_user"]),
        ["anna.lindqvist@acme.example", "chloe.martin@acme.example"]
    );
    assert_eq!(
        emails(&services[1]["__oncall_user"]),
        ["dev.raman@acme.example", "ben.okafor@acme.example"]
    );
    assert_eq!(services[0]["__analytics"]["mean_seconds_to_resolve"], 3120);
    assert_eq!(services[2]["__analytics"]["mean_seconds_to_first_ack"], 60);

    // One analytics call and one on-call listing per page, for that page's ids.
    let requests = server.received_requests().await.unwrap();
    let analytics: Vec<Value> = requests
        .iter()
        .filter(|r| r.url.path() == "/analytics/metrics/incidents/services")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(analytics.len(), 2);
    assert_eq!(
        analytics[0]["filters"]["service_ids"],
        json!(["PSV1API", "PSV2CHK"])
    );
    assert_eq!(analytics[1]["filters"]["service_ids"], json!(["PSV3SRCH"]));
    let start = analytics[0]["filters"]["created_at_start"]
        .as_str()
        .unwrap();
    let end = analytics[0]["filters"]["created_at_end"].as_str().unwrap();
    assert!(
        start < end && start.ends_with('Z') && end.len() == 20,
        "{start} {end}"
    );
    let oncall_queries: Vec<String> = requests
        .iter()
        .filter(|r| r.url.path() == "/oncalls")
        .map(|r| r.url.query().unwrap().to_owned())
        .collect();
    assert_eq!(oncall_queries.len(), 2);
    assert!(
        oncall_queries[0].contains("escalation_policy_ids%5B%5D=PEP1CORE&escalation_policy_ids%5B%5D=PEP2PAY&include%5B%5D=users"),
        "{}",
        oncall_queries[0]
    );
}

#[tokio::test]
async fn service_analytics_can_be_turned_off_and_tolerate_failure() {
    let server = pagerduty().await;
    let services = items(
        &integration(&server),
        "services",
        json!({"query": "true", "serviceAnalytics": "false"}),
    )
    .await;
    assert!(services.iter().all(|s| s.get("__analytics").is_none()));
    let requests = server.received_requests().await.unwrap();
    assert!(
        !requests
            .iter()
            .any(|r| r.url.path().starts_with("/analytics"))
    );

    // An account without the analytics feature: services still sync, with null analytics.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/analytics/metrics/incidents/services"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_string(r#"{"error":{"message":"Access Denied","code":2010}}"#),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/services"))
        .respond_with(json("services.page1.json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/oncalls"))
        .respond_with(json("oncalls.by_policy.json"))
        .mount(&server)
        .await;
    let services = items(
        &integration(&server),
        "services",
        json!({"analyticsMonthsPeriod": 6}),
    )
    .await;
    assert_eq!(services.len(), 1);
    assert_eq!(services[0]["__analytics"], Value::Null);
    assert_eq!(services[0]["__oncall_user"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn incident_analytics_are_attached_when_asked_for() {
    let server = pagerduty().await;
    let incidents = items(
        &integration(&server),
        "incidents",
        json!({"incidentAnalytics": true}),
    )
    .await;
    assert_eq!(incidents.len(), 3);
    assert_eq!(incidents[0]["__analytics"]["seconds_to_first_ack"], 180);
    // No analytics for the others: null, not an error.
    assert_eq!(incidents[1]["__analytics"], Value::Null);
    // One query per page of incidents (two pages), filtered to the page's services and
    // creation times.
    let queries: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/analytics/raw/incidents")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(queries.len(), 2, "{queries:?}");
    assert_eq!(
        queries[0]["filters"]["service_ids"],
        json!(["PSV1API", "PSV2CHK"])
    );
    assert!(queries[0]["filters"]["created_at_start"].is_string());
    let plain = items(&integration(&server), "incidents", json!({})).await;
    assert!(plain.iter().all(|i| i.get("__analytics").is_none()));
}

/// The analytics API's daily quota runs out mid-resync (a 429 with
/// `daily-ratelimit-remaining: 0`): that call is not retried, no further analytics call is made
/// (the services' included), analytics are null, and the kinds complete.
#[tokio::test]
async fn an_exhausted_daily_analytics_quota_leaves_analytics_null() {
    let server = pagerduty().await;
    Mock::given(method("POST"))
        .and(path("/analytics/raw/incidents"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("daily-ratelimit-remaining", "0")
                .insert_header("daily-ratelimit-reset", "3600")
                .insert_header("retry-after", "3600"),
        )
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/analytics/metrics/incidents/services"))
        .respond_with(ResponseTemplate::new(500))
        .with_priority(1)
        .expect(0)
        .mount(&server)
        .await;
    let pd = integration(&server);
    let incidents = items(&pd, "incidents", json!({"incidentAnalytics": true})).await;
    assert_eq!(incidents.len(), 3);
    assert!(incidents.iter().all(|i| i["__analytics"].is_null()));
    // The services' analytics of the same resync are not asked for either; the on-call
    // enrichment still runs.
    let services = items(&pd, "services", json!({"query": "true"})).await;
    assert_eq!(services.len(), 3);
    assert!(services.iter().all(|s| s["__analytics"].is_null()));
    assert_eq!(services[0]["__oncall_user"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn schedules_get_user_emails_from_one_user_listing() {
    let server = pagerduty().await;
    let schedules = items(&integration(&server), "schedules", json!({"query": "true"})).await;
    let users: Vec<Vec<&str>> = schedules
        .iter()
        .map(|s| {
            s["users"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["__email"].as_str().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(
        users,
        [
            vec!["anna.lindqvist@acme.example", "chloe.martin@acme.example"],
            vec!["ben.okafor@acme.example", "dev.raman@acme.example"]
        ]
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests.iter().filter(|r| r.url.path() == "/users").count(),
        1
    );
}

#[tokio::test]
async fn oncalls_ask_for_a_window_of_months() {
    let server = pagerduty().await;
    let oncalls = items(
        &integration(&server),
        "oncalls",
        json!({"apiQueryParams": {"include": ["users"], "since": 1}}),
    )
    .await;
    assert_eq!(oncalls.len(), 4);
    let requests = server.received_requests().await.unwrap();
    let url = &requests
        .iter()
        .find(|r| r.url.path() == "/oncalls")
        .unwrap()
        .url;
    let params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["include[]", "until", "since", "offset", "limit"]);
    let value = |name: &str| params.iter().find(|(k, _)| k == name).unwrap().1.clone();
    assert!(value("since") < value("until"));
}

#[tokio::test]
async fn escalation_policies_get_their_oncalls_unless_turned_off() {
    let server = pagerduty().await;
    let policies = items(
        &integration(&server),
        "escalation_policies",
        json!({"attachOncallUsers": "true"}),
    )
    .await;
    assert_eq!(
        emails(&policies[0]["__oncall_users"]),
        ["anna.lindqvist@acme.example", "chloe.martin@acme.example"]
    );
    assert_eq!(
        emails(&policies[1]["__oncall_users"]),
        ["dev.raman@acme.example", "ben.okafor@acme.example"]
    );
    let bare = items(
        &integration(&server),
        "escalation_policies",
        json!({"attachOncallUsers": false}),
    )
    .await;
    assert!(bare.iter().all(|p| p.get("__oncall_users").is_none()));
}

#[tokio::test]
async fn list_kinds_pass_their_parameters_through() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users"))
        .and(query_param("include[]", "contact_methods"))
        .and(query_param("query", "ann"))
        .respond_with(json("users.json"))
        .expect(1)
        .mount(&server)
        .await;
    let users = items(
        &integration(&server),
        "users",
        json!({"apiQueryParams": {"include": ["contact_methods"], "query": "ann"}}),
    )
    .await;
    assert_eq!(users.len(), 4);
}

#[tokio::test]
async fn unusable_selectors_and_unknown_kinds_fail_the_kind_clearly() {
    let server = MockServer::start().await;
    let pd = integration(&server);
    let check = |kind: &'static str, selector: Value, expected: &'static str| {
        let pd = pd.clone();
        async move {
            let (pages, error) = fetch(&pd, kind, selector).await;
            assert!(pages.is_empty());
            let text = error.expect("an error").chain();
            assert!(text.contains(expected), "{text:?} lacks {expected:?}");
        }
    };
    check(
        "incidents",
        json!({"apiQueryParams": {"statuses": ["open"]}}),
        "selector field `apiQueryParams.statuses` of kind `incidents`: \"open\" is not one of triggered, acknowledged, resolved",
    )
    .await;
    check(
        "services",
        json!({"analyticsMonthsPeriod": -1}),
        "selector field `analyticsMonthsPeriod` of kind `services`: must be a positive number of months",
    )
    .await;
    check(
        "users",
        json!({"apiQueryParams": "all"}),
        "must be an object",
    )
    .await;
    for kind in ["../users", "users/PU1", "", "a b", "https://evil.example"] {
        assert!(!pd.serves_kind(kind), "{kind:?}");
    }
    check(
        "users/PU1",
        json!({}),
        "PagerDuty kind `users/PU1` cannot name a list endpoint: a kind is one path segment",
    )
    .await;
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "nothing was requested"
    );
    assert!(pd.kinds().contains(&"teams".to_owned()));
}

/// As the reference: any kind is a list endpoint, `GET /{kind}` with its items under `{kind}`,
/// not only the ones the integration declares; a name PagerDuty does not have fails its kind
/// with the 404, naming the request.
#[tokio::test]
async fn any_kind_is_a_list_endpoint() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/response_plays"))
        .and(query_param("from", "ops@acme.example"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "response_plays": [{"id": "RP1", "name": "Major incident"}, {"id": "RP2", "name": "Outage"}],
            "more": false
        })))
        .expect(1)
        .mount(&server)
        .await;
    let pd = integration(&server);
    assert!(!pd.kinds().contains(&"response_plays".to_owned()));
    assert!(pd.serves_kind("response_plays") && pd.serves_kind("incidents"));
    let plays = items(
        &pd,
        "response_plays",
        json!({"apiQueryParams": {"from": "ops@acme.example"}}),
    )
    .await;
    let ids: Vec<&str> = plays.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["RP1", "RP2"]);
    let (pages, error) = fetch(&pd, "incident", json!({})).await;
    assert!(pages.is_empty());
    let text = error.expect("a 404").chain();
    assert!(
        text.contains("GET ")
            && text.contains("/incident?offset=0&limit=100")
            && text.contains("404"),
        "{text}"
    );
}

#[tokio::test]
async fn on_call_failures_fail_the_services_kind() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/services"))
        .respond_with(json("services.page1.json"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_partial_json(
            json!({"filters": {"service_ids": ["PSV3SRCH"]}}),
        ))
        .respond_with(json("analytics.services.json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/oncalls"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_string(r#"{"error":{"message":"Invalid Input Provided","code":2001}}"#),
        )
        .mount(&server)
        .await;
    let (pages, error) = fetch(&integration(&server), "services", json!({})).await;
    assert!(pages.is_empty());
    let chain = error.unwrap().chain();
    assert!(
        chain.starts_with("fetching PagerDuty services: PagerDuty answered GET "),
        "{chain}"
    );
    assert!(
        chain.ends_with(
            "/oncalls?escalation_policy_ids%5B%5D=PEP1CORE&include%5B%5D=users&offset=0&limit=100 \
             with 400 Bad Request (attempt 1): \
             {\"error\":{\"message\":\"Invalid Input Provided\",\"code\":2001}}"
        ),
        "{chain}"
    );
}

#[tokio::test]
async fn a_cancelled_fetch_stops_without_requesting_more_pages() {
    use futures::StreamExt;
    let server = pagerduty().await;
    let cancel = tokio_util::sync::CancellationToken::new();
    let ctx = ocean::FetchContext::new("incidents", 0, json!({}), None, cancel.clone());
    let mut pages = integration(&server).fetch(ctx);
    let first = pages.next().await.unwrap().unwrap();
    assert_eq!(first.len(), 2);
    cancel.cancel();
    assert!(pages.next().await.is_none());
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.url.path() == "/incidents")
            .count(),
        1
    );
}

/// `includeCustomFields` (as the reference): each service's and incident's custom field values
/// under `__custom_fields`; one that cannot be read is `[]` and the kind completes.
#[tokio::test]
async fn custom_fields_are_attached_when_asked_for() {
    let server = pagerduty().await;
    Mock::given(method("GET"))
        .and(path("/services/PSV3SRCH/custom_fields/values"))
        .respond_with(ResponseTemplate::new(500))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex(
            r"^/(services|incidents)/[A-Z0-9]+/custom_fields/values$",
        ))
        .respond_with(|request: &wiremock::Request| {
            let id = request.url.path().split('/').nth(2).unwrap_or_default();
            ResponseTemplate::new(200).set_body_json(json!({"custom_fields": [
                {"name": "owner", "display_name": "Owner", "value": format!("owner-of-{id}")}
            ]}))
        })
        .mount(&server)
        .await;
    let pd = integration(&server);
    let services = items(&pd, "services", json!({"includeCustomFields": true})).await;
    assert_eq!(
        services[0]["__custom_fields"][0]["value"],
        "owner-of-PSV1API"
    );
    assert_eq!(services[2]["__custom_fields"], json!([]));
    let incidents = items(&pd, "incidents", json!({"includeCustomFields": "true"})).await;
    let owners: Vec<&str> = incidents
        .iter()
        .map(|i| i["__custom_fields"][0]["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        owners,
        ["owner-of-Q1AAA", "owner-of-Q2BBB", "owner-of-Q3CCC"]
    );
    // Not asked for: not fetched.
    let plain = items(&pd, "incidents", json!({})).await;
    assert!(plain.iter().all(|i| i.get("__custom_fields").is_none()));
}
