//! The one error type of the client. Every variant says which call failed (method and path,
//! never the full URL with its query, never a header) and what Port or the network said.
//!
//! Response bodies are cut to a short excerpt and scrubbed of the client id and secret before
//! they are stored, so an error can be logged as it is.

use reqwest::Method;

/// How many characters of a response body an error keeps.
pub(crate) const BODY_EXCERPT_CHARS: usize = 512;

/// What went wrong talking to Port.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// The client was configured with something unusable (bad base URL, non-ASCII identity).
    #[error("invalid Port client configuration: {0}")]
    Config(String),

    /// Port answered with a non-success status (after any retries).
    #[error("Port answered {status} to {method} {path}: {body}{}", trace_suffix(.trace_id))]
    Http {
        /// The HTTP method.
        method: Method,
        /// The path below the API root (or the ingest URL's path).
        path: String,
        /// The status code.
        status: u16,
        /// The start of the response body, with credentials removed.
        body: String,
        /// Port's `x-trace-id` response header, for support requests.
        trace_id: Option<String>,
    },

    /// The request never got an HTTP answer (connection refused, timeout, reset), after retries.
    #[error("could not complete {method} {path} against Port: {message}")]
    Transport {
        /// The HTTP method.
        method: Method,
        /// The path below the API root.
        path: String,
        /// What the network layer reported, with its causes.
        message: String,
        /// Whether the failure was a timeout.
        timeout: bool,
        /// Whether the connection failed before the request was sent (so Port never saw it).
        unsent: bool,
    },

    /// Port answered 2xx but the body was not what Ocean expects.
    #[error("unexpected response from Port to {method} {path}: {message}; body: {body}")]
    Decode {
        /// The HTTP method.
        method: Method,
        /// The path below the API root.
        path: String,
        /// What did not match.
        message: String,
        /// The start of the response body, with credentials removed.
        body: String,
    },

    /// No access token could be obtained. The message says what to check: the client id and
    /// secret when Port refused them (a 4xx other than 404), the base URL when the token route
    /// does not exist there ([`PortError::WrongBaseUrl`]), nothing when Port or the network
    /// failed.
    #[error("{}", auth_message(.0))]
    Auth(#[source] Box<PortError>),

    /// The token route answered 404: there is no Port API at the configured base URL. Names the
    /// URL tried (without any user or password part).
    #[error(
        "POST {url} answered 404: there is no Port API at this base URL; set OCEAN__PORT__BASE_URL (port.baseUrl) to Port's API host, such as https://api.getport.io or https://api.us.getport.io"
    )]
    WrongBaseUrl {
        /// The token URL that was tried.
        url: String,
    },

    /// Port did not provision the integration's default configuration in time (`docs/port-api.md`
    /// §4.2.2).
    #[error(
        "Port did not provision the integration's default configuration after {attempts} checks"
    )]
    ProvisionTimeout {
        /// How many times the integration was read.
        attempts: u32,
    },
}

fn auth_message(inner: &PortError) -> String {
    let refused = matches!(inner, PortError::Http { status, .. } if (400..500).contains(status));
    if refused {
        format!("could not get an access token from Port (check the client id and secret): {inner}")
    } else {
        format!("could not get an access token from Port: {inner}")
    }
}

fn trace_suffix(trace_id: &Option<String>) -> String {
    match trace_id {
        Some(id) => format!(" (trace id {id})"),
        None => String::new(),
    }
}

impl PortError {
    /// The HTTP status Port answered, when the error is an HTTP error (or an auth failure
    /// caused by one).
    pub fn status(&self) -> Option<u16> {
        match self {
            PortError::Http { status, .. } => Some(*status),
            PortError::Auth(inner) => inner.status(),
            PortError::WrongBaseUrl { .. } => Some(404),
            _ => None,
        }
    }

    /// Whether Port answered 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Whether Port answered 409: what was to be created exists already.
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    /// Whether the failure may pass: Port refused or did not answer (429, 5xx, network), as
    /// opposed to an answer about the request itself (4xx).
    pub fn is_transient(&self) -> bool {
        match self {
            PortError::Transport { .. } => true,
            PortError::Http { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            PortError::Auth(inner) => inner.is_transient(),
            _ => false,
        }
    }

    /// Whether the request never reached Port (the connection failed before it was sent).
    pub fn is_unsent(&self) -> bool {
        matches!(self, PortError::Transport { unsent: true, .. })
    }

    /// Whether the request timed out.
    pub fn is_timeout(&self) -> bool {
        match self {
            PortError::Transport { timeout, .. } => *timeout,
            PortError::Auth(inner) => inner.is_timeout(),
            _ => false,
        }
    }
}

/// Cuts a body to an excerpt and replaces every credential in it with `[REDACTED]`.
pub(crate) fn excerpt(body: &[u8], secrets: &[&str]) -> String {
    let text = String::from_utf8_lossy(body);
    // Masked before it is cut, so a secret across the cut leaves no prefix behind.
    let text = ocean_model::Masker::new(secrets).mask(&text).into_owned();
    let mut out: String = text.chars().take(BODY_EXCERPT_CHARS).collect();
    if text.chars().nth(BODY_EXCERPT_CHARS).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_truncates_and_redacts() {
        let long = "x".repeat(2000);
        let cut = excerpt(long.as_bytes(), &[]);
        assert_eq!(cut.chars().count(), BODY_EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
        let redacted = excerpt(
            br#"{"error":"bad credentials for client my-id"}"#,
            &["my-id", ""],
        );
        assert_eq!(
            redacted,
            r#"{"error":"bad credentials for client [REDACTED]"}"#
        );
        // A secret across the cut is masked whole, not left as a prefix.
        let body = format!("{}s3cr3t-value", "x".repeat(BODY_EXCERPT_CHARS - 3));
        let cut = excerpt(body.as_bytes(), &["s3cr3t-value"]);
        assert!(!cut.contains("s3c"), "{cut}");
    }

    #[test]
    fn http_error_names_call_status_and_body() {
        let err = PortError::Http {
            method: Method::POST,
            path: "/blueprints/svc/entities/bulk".into(),
            status: 422,
            body: r#"{"ok":false}"#.into(),
            trace_id: Some("abc".into()),
        };
        assert_eq!(
            err.to_string(),
            r#"Port answered 422 to POST /blueprints/svc/entities/bulk: {"ok":false} (trace id abc)"#
        );
        assert_eq!(err.status(), Some(422));
        assert!(PortError::Auth(Box::new(err)).status() == Some(422));
    }

    #[test]
    fn auth_errors_say_what_to_check() {
        let http = |status| PortError::Http {
            method: Method::POST,
            path: "/auth/access_token".into(),
            status,
            body: String::new(),
            trace_id: None,
        };
        let refused = PortError::Auth(Box::new(http(401))).to_string();
        assert!(
            refused.contains("check the client id and secret"),
            "{refused}"
        );
        let down = PortError::Auth(Box::new(http(503))).to_string();
        assert!(!down.contains("client id"), "{down}");
        let wrong = PortError::Auth(Box::new(PortError::WrongBaseUrl {
            url: "https://example.com/v1/v1/auth/access_token".into(),
        }));
        assert_eq!(
            wrong.to_string(),
            "could not get an access token from Port: POST https://example.com/v1/v1/auth/access_token answered 404: there is no Port API at this base URL; set OCEAN__PORT__BASE_URL (port.baseUrl) to Port's API host, such as https://api.getport.io or https://api.us.getport.io"
        );
        assert!(!wrong.to_string().contains("client id"));
        assert_eq!(wrong.status(), Some(404));
    }
}
