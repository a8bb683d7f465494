//! The {{ title }} API client: the only code that speaks {{ title }}'s HTTP API.
//!
//! It lists raw items page by page and hands them over as JSON, untouched: it knows nothing of
//! Port, mappings or entities (Ocean maps the items with the user's JQ, so every field the API
//! returns stays available to a mapping). Only the page envelope is typed ([`ListPage`]).
//!
//! A list is a stream of pages ([`{{ project-name | pascal_case }}Client::list`]): each page is
//! fetched when Ocean asks for it, so a resync holds one page in memory, not the whole
//! collection, and stops fetching as soon as it is cancelled.
//!
//! What it does not do: retry. A failed request fails the kind it was listing, which makes the
//! resync delete nothing; the next resync starts over. If the API rate-limits, honour its
//! `Retry-After` in [`{{ project-name | pascal_case }}Client::get_json`].

use crate::config::{{ project-name | pascal_case }}Config;
use ocean::Secret;
use ocean::prelude::{BoxStream, StreamExt, try_stream};
use reqwest::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;
use url::Url;

/// How long one request may take before it fails.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How much of an error response's body an error message quotes.
const ERROR_BODY_LIMIT: usize = 500;

/// One page of a list endpoint, e.g. `GET /{{ kind_plural }}?limit=100&cursor=…`:
/// `{"data": [...], "next_cursor": "…"}`, where `next_cursor` is absent, null or empty on the
/// last page. Change this to your API's pagination (page numbers, `Link` headers, offsets):
/// [`{{ project-name | pascal_case }}Client::list`] is the only code that reads it.
#[derive(Debug, Deserialize)]
pub struct ListPage {
    /// The items of this page, as the API returned them.
    pub data: Vec<Value>,
    /// Where the next page starts.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// Why a call to the {{ title }} API failed. Every variant names the URL (which never holds the
/// token: it travels in a header).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The HTTP client could not be built (e.g. no usable TLS roots).
    #[error("building the {{ title }} HTTP client")]
    Build(#[source] reqwest::Error),
    /// The configured base URL cannot have paths appended (e.g. `mailto:`).
    #[error("the {{ title }} API URL {0} cannot be a base URL")]
    BaseUrl(Url),
    /// The request did not get a response (connection refused, timeout, TLS, ...).
    #[error("GET {url}")]
    Request {
        /// The URL requested.
        url: Url,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The API answered with an error status.
    #[error("GET {url}: HTTP {status}: {body}")]
    Status {
        /// The URL requested.
        url: Url,
        /// The status it answered.
        status: StatusCode,
        /// The start of the response body (the API's error message, usually).
        body: String,
    },
    /// The API answered 2xx with a body that is not what this client expects.
    #[error("GET {url}: unexpected response body")]
    Decode {
        /// The URL requested.
        url: Url,
        /// What did not match.
        #[source]
        source: serde_json::Error,
    },
}

/// A client of the {{ title }} API. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct {{ project-name | pascal_case }}Client {
    http: reqwest::Client,
    base_url: Url,
    token: Secret,
    page_size: u32,
}

impl {{ project-name | pascal_case }}Client {
    /// A client for the API at `config.api_url`, authenticating with `config.api_token`.
    pub fn new(config: &{{ project-name | pascal_case }}Config) -> Result<Self, ClientError> {
        if config.api_url.cannot_be_a_base() {
            return Err(ClientError::BaseUrl(config.api_url.clone()));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!(
                env!("CARGO_PKG_NAME"),
                "/",
                env!("CARGO_PKG_VERSION")
            ))
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(ClientError::Build)?;
        Ok({{ project-name | pascal_case }}Client {
            http,
            base_url: config.api_url.clone(),
            token: config.api_token.clone(),
            page_size: config.page_size.max(1),
        })
    }

    /// Every item of `collection` (e.g. `"{{ kind_plural }}"`), one stream item per page, following
    /// `next_cursor` until the last page. Nothing is requested until the stream is polled.
    pub fn list(&self, collection: &str) -> BoxStream<'static, Result<Vec<Value>, ClientError>> {
        let client = self.clone();
        let first = self.endpoint(&[collection]);
        let pages = try_stream! {
            let mut cursor: Option<String> = None;
            loop {
                let mut url = first.clone();
                url.query_pairs_mut().append_pair("limit", &client.page_size.to_string());
                if let Some(cursor) = &cursor {
                    url.query_pairs_mut().append_pair("cursor", cursor);
                }
                let page: ListPage = client.get_json(url).await?;
                yield page.data;
                match page.next_cursor {
                    Some(next) if !next.is_empty() => cursor = Some(next),
                    _ => break,
                }
            }
        };
        pages.boxed()
    }
{%- if webhook %}

    /// One item of `collection` by id (`GET /{collection}/{id}`), e.g. to read the current state
    /// of an item a webhook only names.
    pub async fn get(&self, collection: &str, id: &str) -> Result<Value, ClientError> {
        self.get_json(self.endpoint(&[collection, id])).await
    }
{%- endif %}

    /// The URL of a path below the base URL, one segment per element (each percent-encoded).
    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .expect("checked in new(): the base URL can be a base")
            .pop_if_empty()
            .extend(segments);
        url
    }

    /// `GET url` with the token, and the JSON body as a `T`.
    async fn get_json<T: DeserializeOwned>(&self, url: Url) -> Result<T, ClientError> {
        let request = self.http.get(url.clone()).bearer_auth(self.token.expose());
        let response = match request.send().await {
            Ok(response) => response,
            Err(source) => return Err(ClientError::Request { url, source }),
        };
        let status = response.status();
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(source) => return Err(ClientError::Request { url, source }),
        };
        if !status.is_success() {
            let body = String::from_utf8_lossy(&body)
                .chars()
                .take(ERROR_BODY_LIMIT)
                .collect();
            return Err(ClientError::Status { url, status, body });
        }
        serde_json::from_slice(&body).map_err(|source| ClientError::Decode { url, source })
    }
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
        {{ project-name | pascal_case }}Client::new(&config).unwrap()
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
        let expected = format!("GET {url}: HTTP 403 Forbidden: token lacks scope read");
        assert_eq!(message, expected);
        assert!(!format!("{message} {err:?}").contains("t0ken"));
    }

    #[tokio::test]
    async fn a_body_of_the_wrong_shape_is_a_decode_error() {
        let (err, _) =
            list_error(ResponseTemplate::new(200).set_body_json(json!({"items": []}))).await;
        assert!(matches!(err, ClientError::Decode { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.ends_with("?limit=2: unexpected response body"), "{message}");
    }
}
