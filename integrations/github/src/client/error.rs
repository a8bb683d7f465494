//! Why a GitHub request failed, naming the request (method, path and query) and never a token.

use reqwest::StatusCode;
use std::fmt;

/// A request as errors and logs name it: `GET /repos/acme/api/pulls?state=open&page=2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLabel(pub String);

impl RequestLabel {
    /// The label of `method` on `url`, with the scheme and host dropped so that the text is the
    /// same for GitHub.com and an Enterprise Server.
    pub fn new(method: &reqwest::Method, url: &str) -> Self {
        let path = match url::Url::parse(url) {
            Ok(u) => match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_owned(),
            },
            Err(_) => url.to_owned(),
        };
        RequestLabel(format!("{method} {path}"))
    }
}

impl fmt::Display for RequestLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a GitHub request failed. Messages never contain a token or a private key.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    /// The HTTP client could not be built.
    #[error("building the GitHub HTTP client")]
    Build(#[source] reqwest::Error),
    /// The credential could not produce a token (App JWT, installation token).
    #[error("authenticating to GitHub: {0}")]
    Auth(String),
    /// The request could not be sent or its answer not read (after retries).
    #[error("could not reach GitHub for {request} (attempt {attempts})")]
    Transport {
        /// The request.
        request: RequestLabel,
        /// How many attempts were made.
        attempts: u32,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// GitHub answered with an error status (after retries, where retrying made sense).
    #[error("GitHub answered {request} with {status} (attempt {attempts}): {message}")]
    Status {
        /// The request.
        request: RequestLabel,
        /// The status code.
        status: StatusCode,
        /// How many attempts were made.
        attempts: u32,
        /// GitHub's `message`, or the start of the body.
        message: String,
    },
    /// GitHub answered 2xx with a body that is not JSON.
    #[error("GitHub answered {request} with a body that is not JSON")]
    NotJson {
        /// The request.
        request: RequestLabel,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// GitHub answered JSON of an unexpected shape.
    #[error("GitHub answered {request} without {what}")]
    Shape {
        /// The request.
        request: RequestLabel,
        /// What was missing (e.g. "a list under `workflows`").
        what: String,
    },
    /// A GraphQL query answered with errors.
    #[error("GitHub's GraphQL API answered {request} with errors: {messages}")]
    GraphQl {
        /// The query's name.
        request: RequestLabel,
        /// The errors' types and messages.
        messages: String,
    },
    /// The rate limit stayed exhausted longer than the client is willing to wait.
    #[error(
        "GitHub's rate limit for {request} would be reset only in {wait_seconds} s, longer than the {max_seconds} s the client waits"
    )]
    RateLimitTooLong {
        /// The request.
        request: RequestLabel,
        /// How long GitHub asked to wait.
        wait_seconds: u64,
        /// The longest wait allowed.
        max_seconds: u64,
    },
}

impl GithubError {
    /// The HTTP status GitHub answered, if the failure was an error status.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            GithubError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// GitHub's message for an error status.
    pub fn message(&self) -> Option<&str> {
        match self {
            GithubError::Status { message, .. } => Some(message),
            _ => None,
        }
    }

    /// Whether GitHub said the object does not exist (404).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }
}

/// GitHub's error `message` from a JSON error body, else the body's start (one line, at most
/// 300 characters).
pub fn error_message(body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        if let Some(message) = value.get("message").and_then(|m| m.as_str()) {
            return message.chars().take(300).collect();
        }
    }
    let text = String::from_utf8_lossy(body);
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.is_empty() {
        "(empty body)".to_owned()
    } else {
        line.chars().take(300).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_drop_the_host_and_keep_the_query() {
        let label = RequestLabel::new(
            &reqwest::Method::GET,
            "https://ghe.acme.example/api/v3/repos/acme/api/pulls?state=open&page=2",
        );
        assert_eq!(
            label.0,
            "GET /api/v3/repos/acme/api/pulls?state=open&page=2"
        );
    }

    #[test]
    fn messages_come_from_github_s_error_body() {
        assert_eq!(
            error_message(br#"{"message":"Not Found","documentation_url":"x"}"#),
            "Not Found"
        );
        assert_eq!(
            error_message(b"<html>\n bad gateway </html>"),
            "<html> bad gateway </html>"
        );
        assert_eq!(error_message(b""), "(empty body)");
    }
}
