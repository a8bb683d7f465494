//! The playground's HTTP face: the page and its two assets, and the JSON routes the page calls.
//!
//! - `GET /api/setup`: the folder, its default mapping, its example kinds, whether samples can
//!   be fetched.
//! - `GET /api/examples/{kind}`: the text of `.port/examples/KIND.json`.
//! - `POST /api/map` `{config, items, kind}`: a [`MapReport`](crate::mapping::MapReport);
//!   mapping runs on a blocking thread, never on the async runtime's.
//! - `POST /api/sample` `{kind}`: `{items}`, the first page fetched by the integration binary.
//!
//! Every request must be addressed to the server's own loopback address (`Host`), so that a
//! page of another site cannot reach these routes by DNS rebinding; POSTs take JSON only, which
//! a cross-site form cannot send.

use crate::{State, mapping, sample};
use axum::extract::{Path, Request, State as Extract};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

const PAGE: &str = include_str!("../assets/playground.html");
const SCRIPT: &str = include_str!("../assets/playground.js");
const STYLE: &str = include_str!("../assets/playground.css");

type Shared = Arc<State>;

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", PAGE) }),
        )
        .route(
            "/playground.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "/playground.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
        .route("/api/setup", get(setup))
        .route("/api/examples/{kind}", get(example))
        .route("/api/map", post(map))
        .route("/api/sample", post(fetch_sample))
        .layer(middleware::from_fn_with_state(state.clone(), same_host))
        .with_state(state)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

/// Refuses requests whose `Host` is not this server's loopback address.
async fn same_host(Extract(state): Extract<Shared>, request: Request, next: Next) -> Response {
    let port = state.addr.port();
    let allowed = [
        state.addr.to_string(),
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ];
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(host)) {
        next.run(request).await
    } else {
        error(
            StatusCode::FORBIDDEN,
            format!("the playground answers requests to {} only", state.addr),
        )
    }
}

async fn setup(Extract(state): Extract<Shared>) -> Response {
    let folder = &state.folder;
    let binary = state.binary.as_ref().map(|b| b.display().to_string());
    let sample_hint = match (&folder.path, &folder.name, &binary) {
        (None, _, _) => "Start the playground with an integration folder (ocean playground integrations/NAME) to fetch samples.".to_owned(),
        (Some(_), Some(name), None) => format!(
            "Build the integration (cargo build -p ocean-{name}) or pass --integration-bin to fetch samples."
        ),
        (Some(path), _, Some(binary)) => format!(
            "Runs {binary} --sample KIND in {} with its configured credentials (read-only; Port is not called).",
            path.display()
        ),
        (Some(_), None, None) => "No integration binary found.".to_owned(),
    };
    Json(json!({
        "folder": folder.path.as_ref().map(|p| p.display().to_string()),
        "name": folder.name,
        "config": folder.config.as_ref().map(|(_, text)| text),
        "configFile": folder.config.as_ref().map(|(file, _)| file.display().to_string()),
        "examples": folder.examples,
        "sampleBinary": binary,
        "sampleHint": sample_hint,
    }))
    .into_response()
}

async fn example(Extract(state): Extract<Shared>, Path(kind): Path<String>) -> Response {
    match state.folder.example(&kind) {
        Ok(Some(text)) => ([(header::CONTENT_TYPE, "application/json")], text).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            format!("there is no .port/examples/{kind}.json"),
        ),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[derive(Deserialize)]
struct MapRequest {
    config: String,
    items: String,
    #[serde(default)]
    kind: Option<String>,
}

async fn map(Extract(state): Extract<Shared>, Json(request): Json<MapRequest>) -> Response {
    let work = tokio::task::spawn_blocking(move || {
        mapping::run(
            &request.config,
            &request.items,
            request.kind.as_deref(),
            &state.options,
        )
    });
    match work.await {
        Ok(report) => Json(report).into_response(),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("mapping failed: {e}"),
        ),
    }
}

#[derive(Deserialize)]
struct SampleRequest {
    kind: String,
}

async fn fetch_sample(
    Extract(state): Extract<Shared>,
    Json(request): Json<SampleRequest>,
) -> Response {
    let (Some(binary), Some(folder)) = (&state.binary, &state.folder.path) else {
        return error(
            StatusCode::CONFLICT,
            "fetching samples needs an integration folder with a built integration binary",
        );
    };
    if request.kind.is_empty() {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "choose a kind first");
    }
    match sample::fetch(binary, folder, &request.kind).await {
        Ok(items) => Json(json!({"items": items})).into_response(),
        Err(e) => error(StatusCode::BAD_GATEWAY, e.to_string()),
    }
}
