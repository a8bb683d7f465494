//! The HTTP face of the emulator: the router, the two middlewares (traffic: fault injection and
//! the request log; auth: bearer tokens), and the small pieces every handler shares (the JSON
//! body extractor with Port's 400/413 answers, query-string booleans, the datasource taken from
//! `User-Agent`, the base URL the ingest URLs point back to).
//!
//! Handlers live in the submodules by area (`ui` is the catalog view for people and the JSON it
//! reads). They parse and check the request shape, then hand
//! the work to the store on its thread; they never touch SQLite themselves.

mod admin;
mod catalog;
mod entities;
mod integrations;
mod ui;

use crate::clock;
use crate::control::Shared;
use crate::db::Db;
use crate::error::ApiError;
use crate::model::RecordedRequest;
use axum::Router;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::Value;
use std::sync::Arc;

/// What every handler gets.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) db: Db,
    pub(crate) shared: Arc<Shared>,
}

/// Builds the emulator's router.
pub(crate) fn router(state: AppState) -> Router {
    let protected = Router::new()
        .merge(entities::routes())
        .merge(catalog::routes())
        .merge(integrations::routes())
        .route("/_ingest/{*rest}", any(integrations::ingest))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/v1/auth/access_token", post(catalog::access_token))
        .merge(protected)
        .nest("/_emulator", admin::routes().merge(ui::routes()))
        .route("/", get(ui::page))
        .route("/_emulator/", get(admin::home))
        .fallback(unknown_route)
        .method_not_allowed_fallback(unknown_route)
        .layer(middleware::from_fn_with_state(state.clone(), traffic))
        .with_state(state)
}

async fn unknown_route(request: Request) -> ApiError {
    ApiError::not_found(format!(
        "Route {}:{} not found",
        request.method(),
        request.uri().path()
    ))
}

/// Injects faults and records every request (admin routes excluded).
async fn traffic(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if path.starts_with("/_emulator") || path == "/" {
        return next.run(request).await;
    }
    let received_at_micros = clock::now_micros();
    let started = std::time::Instant::now();
    let method = request.method().to_string();
    let query = request.uri().query().map(str::to_owned);
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let verdict = state.shared.verdict();
    if !verdict.latency.is_zero() {
        tokio::time::sleep(verdict.latency).await;
    }
    let (response, injected_fault) = match verdict.fault {
        Some(fault) => (fault.into_response(), true),
        None => (next.run(request).await, false),
    };
    state.shared.record(RecordedRequest {
        method,
        path,
        query,
        user_agent,
        status: response.status().as_u16(),
        injected_fault,
        received_at_micros,
        duration_micros: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
    });
    response
}

/// Lets a request through only with a live bearer token.
async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let token = header
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    match token {
        None => Err(ApiError::unauthorized(
            "Missing access token: send \"Authorization: Bearer <token>\" from POST /v1/auth/access_token",
        )),
        Some(token) if state.shared.token_valid(token) => Ok(next.run(request).await),
        Some(_) => Err(ApiError::unauthorized(
            "The access token is invalid or has expired",
        )),
    }
}

/// A JSON request body, read with the size limit; malformed JSON is a 400 and an oversized
/// body a 413, both in Port's shape.
pub(crate) struct JsonBody(pub(crate) Value);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = read_body(request, state.shared.max_body_bytes).await?;
        if bytes.is_empty() {
            return Err(ApiError::bad_request("The request body must be JSON"));
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::bad_request(format!("Body is not valid JSON: {e}")))
    }
}

/// Reads a whole body, refusing more than `limit` bytes.
pub(crate) async fn read_body(request: Request, limit: usize) -> Result<Vec<u8>, ApiError> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::too_large(limit));
    }
    axum::body::to_bytes(request.into_body(), limit)
        .await
        .map(|b| b.to_vec())
        .map_err(|_| ApiError::too_large(limit))
}

/// Query-string parameters, with repeated keys kept.
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn parse(raw: Option<&str>) -> Params {
        Params(
            raw.map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default(),
        )
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A boolean parameter (`true`/`false`), `default` when absent.
    pub(crate) fn flag(&self, key: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(key) {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(ApiError::invalid(format!(
                "querystring/{key} must be boolean, got {other:?}"
            ))),
        }
    }
}

/// The writer of an entity, as Port records it: the request's `User-Agent`.
pub(crate) fn datasource(headers: &HeaderMap) -> String {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .unwrap_or("port-api")
        .to_owned()
}

/// The base URL clients reached the emulator at (for the ingest URLs it hands out).
pub(crate) fn base_url(headers: &HeaderMap, state: &AppState) -> String {
    match headers.get(header::HOST).and_then(|v| v.to_str().ok()) {
        Some(host) if !host.is_empty() => format!("http://{host}"),
        _ => format!("http://{}", state.shared.bound),
    }
}

/// A JSON answer with the given status.
pub(crate) fn reply(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// The `Ok` case of most handlers.
pub(crate) type ApiResult = Result<Response, ApiError>;

/// A required object body.
pub(crate) fn object(body: &Value) -> Result<&serde_json::Map<String, Value>, ApiError> {
    body.as_object()
        .ok_or_else(|| ApiError::invalid("body must be object"))
}
