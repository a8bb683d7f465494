//! What can go wrong calling a third-party API, said so that the reader knows which request
//! failed and why — and never sees a credential.
//!
//! Every error after the client is built carries a [`RequestLabel`]: the service's name, the
//! method and the URL with user-info removed and the values of credential-like query parameters
//! replaced by `[REDACTED]` (`token`, `api_key`, `access_token`, …, plus any the client was told
//! about). A status error quotes the start of the body, on one line, with the client's secrets
//! masked.

use std::fmt;
use std::sync::Arc;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use url::Url;

/// Query parameter names whose values are always redacted in labels (compared
/// case-insensitively, ignoring `-` and `_`).
const SECRET_PARAMS: [&str; 13] = [
    "token",
    "accesstoken",
    "apikey",
    "key",
    "secret",
    "clientsecret",
    "password",
    "passwd",
    "auth",
    "authorization",
    "signature",
    "sig",
    "refreshtoken",
];

/// How much of an error body is quoted.
pub const BODY_EXCERPT_CHARS: usize = 300;

/// Which request an error is about: `PagerDuty GET https://api.pagerduty.com/users?offset=0`.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestLabel {
    service: Arc<str>,
    method: Method,
    url: String,
}

impl RequestLabel {
    /// The label of `method url` sent to `service`, with the URL's secrets redacted (user-info,
    /// credential-like query parameters, and the parameters in `extra_secret_params`).
    pub fn new(service: &str, method: &Method, url: &Url, extra_secret_params: &[String]) -> Self {
        RequestLabel {
            service: Arc::from(service),
            method: method.clone(),
            url: redact_url(url, extra_secret_params),
        }
    }

    /// The label of a request whose path formed no URL (shown as given).
    pub fn unparsed(service: &str, method: &Method, given: &str) -> Self {
        RequestLabel {
            service: Arc::from(service),
            method: method.clone(),
            url: given.to_owned(),
        }
    }

    /// The service's name (`PagerDuty`).
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The redacted URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl fmt::Display for RequestLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.url)
    }
}

impl fmt::Debug for RequestLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.service, self.method, self.url)
    }
}

/// Why a call to a third-party API failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The client could not be built (no TLS roots, a header that cannot be sent, …).
    #[error("building the {service} HTTP client: {reason}")]
    Build {
        /// The service.
        service: String,
        /// What was wrong.
        reason: String,
    },
    /// A URL could not be formed (a base URL that cannot take paths, a malformed next link).
    #[error("{service}: {url:?} is not a usable URL: {reason}")]
    Url {
        /// The service.
        service: String,
        /// The URL as given (never with credentials: those travel in headers).
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// Credentials could not be obtained (a token endpoint failed, a token file is unreadable).
    #[error("{service}: could not obtain credentials for {request}: {reason}")]
    Auth {
        /// The service.
        service: String,
        /// The request that needed them.
        request: RequestLabel,
        /// Why.
        reason: String,
    },
    /// No answer: connection refused, timeout, TLS, or the body could not be read (after
    /// retries).
    #[error("could not reach {} for {request} (attempt {attempts})", request.service())]
    Transport {
        /// The request.
        request: RequestLabel,
        /// Attempts made.
        attempts: u32,
        /// The HTTP library's error.
        #[source]
        source: reqwest::Error,
    },
    /// The API answered with an error status (after retries, for retryable ones).
    #[error("{} answered {request} with {status} (attempt {attempts}): {body}", request.service())]
    Status {
        /// The request.
        request: RequestLabel,
        /// The status.
        status: StatusCode,
        /// Attempts made.
        attempts: u32,
        /// The start of the body, on one line, secrets masked.
        body: String,
        /// The response's headers (rate-limit counters, request ids).
        headers: Box<HeaderMap>,
    },
    /// A 2xx answer whose body is not what the caller expected.
    #[error("{} answered {request} with a body that cannot be read", request.service())]
    Decode {
        /// The request.
        request: RequestLabel,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A request that could not be put together, e.g. authentication body fields to merge into
    /// a body that is not a JSON object. Nothing was sent.
    #[error("{request} to {} could not be sent: {why}", request.service())]
    Unsendable {
        /// The request.
        request: RequestLabel,
        /// Why.
        why: String,
    },
    /// A 2xx answer of an unexpected shape (e.g. no list where the items should be).
    #[error("{} answered {request} without {what}", request.service())]
    Shape {
        /// The request.
        request: RequestLabel,
        /// What was missing.
        what: String,
    },
    /// Pagination stopped because the API misbehaved: a next cursor or link seen before, or
    /// more pages than allowed.
    #[error("paging through {} {request}: {reason}", request.service())]
    Pagination {
        /// The request of the page where it stopped.
        request: RequestLabel,
        /// What happened.
        reason: String,
    },
    /// A rate-limit pause longer than the client accepts.
    #[error("{} asked to wait {wait_seconds} s before {request}; more than the {max_seconds} s allowed", request.service())]
    RateLimitTooLong {
        /// The request.
        request: RequestLabel,
        /// The wait asked for.
        wait_seconds: u64,
        /// The longest wait the client accepts.
        max_seconds: u64,
    },
}

impl HttpError {
    /// The status the API answered, for status errors.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The response headers, for status errors.
    pub fn headers(&self) -> Option<&HeaderMap> {
        match self {
            HttpError::Status { headers, .. } => Some(headers),
            _ => None,
        }
    }

    /// The request, when the error is about one.
    pub fn request(&self) -> Option<&RequestLabel> {
        match self {
            HttpError::Build { .. } | HttpError::Url { .. } => None,
            HttpError::Auth { request, .. }
            | HttpError::Transport { request, .. }
            | HttpError::Status { request, .. }
            | HttpError::Decode { request, .. }
            | HttpError::Shape { request, .. }
            | HttpError::Unsendable { request, .. }
            | HttpError::Pagination { request, .. }
            | HttpError::RateLimitTooLong { request, .. } => Some(request),
        }
    }

    /// Whether the same request may succeed later: rate limits, server errors, no answer.
    pub fn is_transient(&self) -> bool {
        match self {
            HttpError::Transport { .. } | HttpError::RateLimitTooLong { .. } => true,
            HttpError::Status { status, .. } => {
                *status == StatusCode::TOO_MANY_REQUESTS
                    || *status == StatusCode::REQUEST_TIMEOUT
                    || status.is_server_error()
            }
            _ => false,
        }
    }

    /// Whether the API answered 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }
}

/// The URL as labels show it: no user-info, credential-like query values redacted.
pub fn redact_url(url: &Url, extra_secret_params: &[String]) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let secret = is_secret_param(&k)
                    || extra_secret_params
                        .iter()
                        .any(|p| p.eq_ignore_ascii_case(&k));
                let v = if secret {
                    "[REDACTED]".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        if pairs.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
    }
    url.to_string()
}

fn is_secret_param(name: &str) -> bool {
    let normalised: String = name
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_PARAMS.contains(&normalised.as_str())
}

/// The first [`BODY_EXCERPT_CHARS`] characters of a body on one line, every `secrets` value
/// masked; `(empty body)` when there is nothing.
pub fn excerpt(body: &[u8], secrets: &[&str]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let one_line = ocean_model::Masker::new(secrets)
        .mask(&one_line)
        .into_owned();
    let mut out: String = one_line.chars().take(BODY_EXCERPT_CHARS).collect();
    if one_line.chars().count() > BODY_EXCERPT_CHARS {
        out.push('…');
    }
    if out.is_empty() {
        out.push_str("(empty body)");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_user_info_and_credential_values() {
        let url = Url::parse(
            "https://user:pw@api.example.com/v1/items?page=2&api_key=k3y&Access-Token=t&sort=a%20b&tenant=x",
        )
        .unwrap();
        assert_eq!(
            redact_url(&url, &["TENANT".into()]),
            "https://api.example.com/v1/items?page=2&api_key=%5BREDACTED%5D&Access-Token=%5BREDACTED%5D&sort=a+b&tenant=%5BREDACTED%5D"
        );
        let plain = Url::parse("https://api.example.com/v1/items").unwrap();
        assert_eq!(redact_url(&plain, &[]), "https://api.example.com/v1/items");
    }

    #[test]
    fn excerpts_are_short_single_line_and_masked() {
        assert_eq!(
            excerpt(
                b"{\"error\":\n {\"message\": \"bad t0ken-123\"}}",
                &["t0ken-123"]
            ),
            "{\"error\": {\"message\": \"bad [REDACTED]\"}}"
        );
        assert_eq!(excerpt(b"", &[]), "(empty body)");
        assert_eq!(
            excerpt("a".repeat(400).as_bytes(), &[]).chars().count(),
            301
        );
    }

    #[test]
    fn labels_print_method_and_redacted_url() {
        let url = Url::parse("https://api.example.com/x?token=abc").unwrap();
        let label = RequestLabel::new("Example", &Method::GET, &url, &[]);
        assert_eq!(
            label.to_string(),
            "GET https://api.example.com/x?token=%5BREDACTED%5D"
        );
        assert!(!format!("{label:?}").contains("abc"));
        assert_eq!(label.service(), "Example");
    }
}
