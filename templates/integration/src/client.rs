//! The {{ title }} API client: the only code that speaks {{ title }}'s HTTP API.
//!
//! It lists raw items page by page and hands them over as JSON, untouched: it knows nothing of
//! Port, mappings or entities (Ocean maps the items with the user's JQ, so every field the API
//! returns stays available to a mapping).
//!
//! It is built on the SDK's HTTP toolkit ([`ocean::http`]), which does the rest: retries of 429
//! and 5xx answers (honouring `Retry-After`), a concurrency limit, errors that name the request
//! without the token, and pagination as a stream of pages — each page is fetched when Ocean asks
//! for it, so a resync holds one page in memory and stops fetching as soon as it is cancelled.
//! A request that still fails fails the kind it was listing, which makes the resync delete
//! nothing; the next resync starts over.
//!
//! Change [`{{ project-name | pascal_case }}Client::list`]'s [`Pagination`] to your API's (page
//! numbers, offsets, `Link` headers, next links), and its credentials if the API does not take
//! a bearer token ([`Credentials`] has basic auth, header and query-parameter keys).

use crate::config::{{ project-name | pascal_case }}Config;
use ocean::http::{
    Credentials, HttpClient, HttpError, PageOf, Pagination, Response, RetryPolicy, paginate,
};
use ocean::prelude::BoxStream;
use serde_json::Value;
use std::time::Duration;

/// How long one request may take before it fails (and is retried).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Requests in flight at once.
const MAX_CONCURRENT_REQUESTS: usize = 10;

/// Why a call to the {{ title }} API failed: the toolkit's error, which names the request
/// (method, URL, status, the start of the body) and never holds the token.
pub type ClientError = HttpError;

/// A client of the {{ title }} API. Cheap to clone: clones share one connection pool and one
/// concurrency limit.
#[derive(Debug, Clone)]
pub struct {{ project-name | pascal_case }}Client {
    http: HttpClient,
    page_size: u64,
}

impl {{ project-name | pascal_case }}Client {
    /// A client for the API at `config.api_url`, authenticating with `config.api_token`.
    pub fn new(config: &{{ project-name | pascal_case }}Config) -> Result<Self, ClientError> {
        Self::with_retry_policy(config, RetryPolicy::default())
    }

    /// A client with an explicit retry policy (tests shrink the waits).
    pub fn with_retry_policy(
        config: &{{ project-name | pascal_case }}Config,
        retry: RetryPolicy,
    ) -> Result<Self, ClientError> {
        let credentials = Credentials::bearer(&config.api_token).map_err(|e| HttpError::Build {
            service: "{{ title }}".into(),
            reason: e.to_string(),
        })?;
        let http = HttpClient::builder("{{ title }}")
            .base_url(config.api_url.as_str())
            .user_agent(concat!(
                env!("CARGO_PKG_NAME"),
                "/",
                env!("CARGO_PKG_VERSION")
            ))
            .timeout(REQUEST_TIMEOUT)
            .concurrency(MAX_CONCURRENT_REQUESTS)
            .credentials(credentials)
            .retry(retry)
            .build()?;
        Ok({{ project-name | pascal_case }}Client {
            http,
            page_size: u64::from(config.page_size.max(1)),
        })
    }

    /// Every item of `collection` (e.g. `"{{ kind_plural }}"`), one stream item per page:
    /// `GET /{collection}?limit=N`, then `&cursor=…` from each page's `next_cursor` until the
    /// last page (no, a null or an empty `next_cursor`). Nothing is requested until the stream
    /// is polled.
    pub fn list(&self, collection: &str) -> BoxStream<'static, Result<Vec<Value>, ClientError>> {
        let request = self.http.get(collection);
        let pagination = Pagination::cursor("cursor").with_size("limit", self.page_size);
        paginate(request, pagination, list_page).into_stream()
    }
{%- if webhook %}

    /// One item of `collection` by id (`GET /{collection}/{id}`), e.g. to read the current state
    /// of an item a webhook only names.
    pub async fn get(&self, collection: &str, id: &str) -> Result<Value, ClientError> {
        let mut url = self.http.url(collection)?;
        url.path_segments_mut()
            .map_err(|()| HttpError::Url {
                service: "{{ title }}".into(),
                url: collection.into(),
                reason: "cannot take a path".into(),
            })?
            .push(id);
        self.http.get(url.as_str()).send_json().await
    }
{%- endif %}
}

/// One page of a list endpoint: `{"data": [...], "next_cursor": "…"}`. Change this to your
/// API's page envelope; it is the only code that reads it.
fn list_page(response: &Response) -> Result<PageOf<Value>, ClientError> {
    let mut body: Value = response.json()?;
    let Some(Value::Array(items)) = body.get_mut("data").map(Value::take) else {
        return Err(response.shape_error("a list under `data`"));
    };
    let next = body["next_cursor"].as_str().map(str::to_owned);
    Ok(PageOf::items(items).next(next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocean::prelude::TryStreamExt;
    use serde_json::json;
    use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn client(server: &MockServer) -> {{ project-name | pascal_case }}Client {
        let config: {{ project-name | pascal_case }}Config = serde_json::from_value(json!({
            "api_url": format!("{}/v1", server.uri()),
            "api_token": "t0ken",
            "page_size": 2,
        }))
        .unwrap();
        {{ project-name | pascal_case }}Client::with_retry_policy(&config, RetryPolicy::default().fast()).unwrap()
    }

    #[tokio::test]
    async fn lists_follow_the_cursor_until_the_last_page() {
        let server = MockServer::start().await;
        let page = |ids: &[&str], next: Option<&str>| {
            let data: Vec<Value> = ids.iter().map(|id| json!({"id": id})).collect();
            ResponseTemplate::new(200).set_body_json(json!({"data": data, "next_cursor": next}))
        };
        let list = || {
            Mock::given(method("GET"))
                .and(path("/v1/{{ kind_plural }}"))
                .and(header("authorization", "Bearer t0ken"))
                .and(query_param("limit", "2"))
        };
        list()
            .and(query_param_is_missing("cursor"))
            .respond_with(page(&["a", "b"], Some("c2")))
            .mount(&server)
            .await;
        list()
            .and(query_param("cursor", "c2"))
            .respond_with(page(&["c"], None))
            .mount(&server)
            .await;

        let pages: Vec<Vec<Value>> = client(&server)
            .list("{{ kind_plural }}")
            .try_collect()
            .await
            .unwrap();
        let expected = vec![
            vec![json!({"id": "a"}), json!({"id": "b"})],
            vec![json!({"id": "c"})],
        ];
        assert_eq!(pages, expected);
    }

    /// The error of listing `{{ kind_plural }}` from a server that answers every request with
    /// `response`, and that server's URL.
    async fn list_error(response: ResponseTemplate) -> (ClientError, String) {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(response)
            .mount(&server)
            .await;
        let err = client(&server)
            .list("{{ kind_plural }}")
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err();
        (err, server.uri())
    }

    #[tokio::test]
    async fn an_error_status_names_the_url_and_quotes_the_body_but_never_the_token() {
        let (err, uri) =
            list_error(ResponseTemplate::new(403).set_body_string("token lacks scope read")).await;
        let message = err.to_string();
        let url = format!("{uri}/v1/{{ kind_plural }}?limit=2");
        let expected =
            format!("{{ title }} answered GET {url} with 403 Forbidden (attempt 1): token lacks scope read");
        assert_eq!(message, expected);
        assert!(!format!("{message} {err:?}").contains("t0ken"));
    }

    #[tokio::test]
    async fn server_errors_are_retried_then_fail_the_list() {
        let (err, _) = list_error(ResponseTemplate::new(503)).await;
        assert_eq!(err.status(), Some(ocean::http::StatusCode::SERVICE_UNAVAILABLE));
        assert!(err.to_string().contains("(attempt 4)"), "{err}");
    }

    #[tokio::test]
    async fn a_body_of_the_wrong_shape_is_an_error_naming_the_request() {
        let (err, _) =
            list_error(ResponseTemplate::new(200).set_body_json(json!({"items": []}))).await;
        assert!(matches!(err, ClientError::Shape { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.ends_with("?limit=2 without a list under `data`"), "{message}");
    }
}
