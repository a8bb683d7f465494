//! The two kinds of failure: answers in Port's error shape for API clients ([`ApiError`]), and
//! the emulator's own failures to start, store or stop ([`EmulatorError`]).
//!
//! Port answers every error as `{"ok": false, "error": "<code>", "message": "<text>"}`; the codes
//! used here are Port's where its documentation or Ocean's source names them (`not_found`) and
//! otherwise a plain guess recorded in the crate documentation.

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;

/// An error answer in Port's shape.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) error: &'static str,
    pub(crate) message: String,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            error,
            message: message.into(),
            headers: Vec::new(),
        }
    }

    /// 404 `not_found`: a blueprint, entity, integration or route that does not exist.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 400 `bad_request`: a body that is not JSON at all.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 422 `invalid_request`: JSON that does not match the route's schema.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message)
    }

    /// 401 `unauthorized`: no token, an unknown or expired token, or wrong credentials.
    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 409 with the given code: the resource already exists or is still referenced.
    pub(crate) fn conflict(error: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, error, message)
    }

    /// 413 `payload_too_large`.
    pub(crate) fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("Request body is too large (limit is {limit} bytes)"),
        )
    }

    /// 500 `internal_error`: the emulator itself failed (its database, most likely).
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", message)
    }

    /// Adds a response header (e.g. `Retry-After`).
    pub(crate) fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"ok": false, "error": self.error, "message": self.message});
        let mut response = (self.status, axum::Json(body)).into_response();
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

impl From<EmulatorError> for ApiError {
    fn from(err: EmulatorError) -> Self {
        ApiError::internal(err.to_string())
    }
}

/// Why the emulator could not start, answer an inspection call, or stop.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The SQLite database could not be opened or prepared.
    #[error("could not open the emulator database {path}: {source}")]
    OpenDb {
        /// The file, or `:memory:`.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A statement failed while the emulator was reading or writing its state.
    #[error("emulator database error while {doing}: {source}")]
    Db {
        /// What the emulator was doing.
        doing: String,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// Stored JSON could not be read back (the database file was edited by hand?).
    #[error("corrupt stored JSON while {doing}: {source}")]
    Corrupt {
        /// What the emulator was reading.
        doing: String,
        /// The parse error.
        source: serde_json::Error,
    },
    /// The database thread is gone (it panicked, or the emulator was shut down).
    #[error("the emulator's database thread has stopped")]
    DbGone,
    /// The listening socket could not be bound.
    #[error("could not listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A direct call (such as [`crate::RunningEmulator::create_blueprint`]) was refused the way
    /// the API would refuse it.
    #[error("the emulator refused the request ({status}): {message}")]
    Rejected {
        /// The HTTP status the API would answer.
        status: u16,
        /// Why.
        message: String,
    },
    /// The server task panicked or was cancelled.
    #[error("the emulator's server task ended abnormally: {0}")]
    ServerTask(String),
    /// The HTTP server stopped with an I/O error.
    #[error("the emulator's HTTP server failed: {0}")]
    Serve(std::io::Error),
}

impl EmulatorError {
    pub(crate) fn db(doing: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> EmulatorError {
        let doing = doing.into();
        move |source| EmulatorError::Db { doing, source }
    }

    pub(crate) fn corrupt(
        doing: impl Into<String>,
    ) -> impl FnOnce(serde_json::Error) -> EmulatorError {
        let doing = doing.into();
        move |source| EmulatorError::Corrupt { doing, source }
    }
}
