//! Why a GitHub request failed, naming the request (method and URL) and never a token.

use ocean::http::{HttpError, RequestLabel, StatusCode};

/// Why a GitHub request failed. Messages never contain a token or a private key.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    /// The request failed: not sent, refused after retries, an error status, a body that is not
    /// the JSON expected, a rate limit that would reset too late (the SDK's error, which names
    /// the request).
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The credential could not produce a token (App JWT, installation token).
    #[error("authenticating to GitHub: {0}")]
    Auth(String),
    /// A GraphQL query answered with errors.
    #[error("GitHub's GraphQL API answered {request} ({query}) with errors: {messages}")]
    GraphQl {
        /// The request.
        request: RequestLabel,
        /// The query's name.
        query: String,
        /// The errors' types and messages.
        messages: String,
    },
}

impl GithubError {
    /// The HTTP status GitHub answered, if the failure was an error status.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            GithubError::Http(e) => e.status(),
            _ => None,
        }
    }

    /// GitHub's message for an error status: the `message` of its JSON error body, else the
    /// body's start.
    pub fn message(&self) -> Option<String> {
        match self {
            GithubError::Http(HttpError::Status { body, .. }) => Some(error_message(body)),
            _ => None,
        }
    }

    /// Whether GitHub said the object does not exist (404).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }
}

/// GitHub's error `message` from a JSON error body (as the SDK's error keeps it: one line, at
/// most a few hundred characters), else that text.
pub fn error_message(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|value| value.get("message")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| body.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_come_from_github_s_error_body() {
        assert_eq!(
            error_message(r#"{"message":"Not Found","documentation_url":"x"}"#),
            "Not Found"
        );
        assert_eq!(
            error_message("<html> bad gateway </html>"),
            "<html> bad gateway </html>"
        );
    }
}
