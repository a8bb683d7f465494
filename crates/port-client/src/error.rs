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

    /// No access token could be obtained with the configured client id and secret (a 401/403
    /// from the token endpoint means Port refused them: check `OCEAN__PORT__CLIENT_ID` and
    /// `OCEAN__PORT__CLIENT_SECRET`).
    #[error("could not get an access token from Port (check the client id and secret): {0}")]
    Auth(#[source] Box<PortError>),

    /// Port did not provision the integration's default configuration in time (`port-api.md`
    /// §4.2.2).
    #[error(
        "Port did not provision the integration's default configuration after {attempts} checks"
    )]
    ProvisionTimeout {
        /// How many times the integration was read.
        attempts: u32,
    },
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
    let mut out: String = text.chars().take(BODY_EXCERPT_CHARS).collect();
    if text.chars().nth(BODY_EXCERPT_CHARS).is_some() {
        out.push('…');
    }
    for secret in secrets {
        if !secret.is_empty() && out.contains(secret) {
            out = out.replace(secret, ocean_model::Secret::REDACTED);
        }
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
}
