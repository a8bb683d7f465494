//! The integration's HTTP server (docs/lifecycle.md §8.1): health, metrics, the integration's webhook
//! routes and the WEBHOOK listener's `POST /resync`.
//!
//! | route | answer |
//! |---|---|
//! | `GET {prefix}/health/live` | 200 `{"status":"healthy","check":"live","core_version":…}` |
//! | `GET {prefix}/health/ready` | 503 `not_ready` until startup completed and again from shutdown on, else 200 |
//! | `GET {prefix}/metrics`, `{prefix}/metrics/` | the [metrics vocabulary](crate::metrics) |
//! | `POST {prefix}/integration{path}` | live events (see [`crate::live`]): 200 queued or not supported, 400, 401, 503 |
//! | `POST /resync` | WEBHOOK listener only, authenticated ([`auth`]): 202 `{"resyncId":…}` at once |
//!
//! Every response carries `X-Request-ID` (the caller's, or a new UUID) and `X-Process-Time`;
//! a panic in a handler becomes `500 Internal server error` with nothing else in the body.
//! Request bodies are limited to [`MAX_BODY_BYTES`]. Not served: `/docs`, `/openapi.json`, the
//! OAuth broker routes of identity propagation.

pub mod auth;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::coordinator::{Coordinator, Trigger};
use crate::live::{Ingress, LiveEvents};
use crate::metrics::{self, Metrics};
use auth::ResyncAuth;

/// The largest request body accepted (webhook payloads), 16 MiB.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The version reported by the health routes.
pub const CORE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Whether the integration is ready (startup done, not shutting down). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Marks ready or not.
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::SeqCst);
    }

    /// Whether ready.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The WEBHOOK listener's trigger: who may call it, and where resyncs go.
#[derive(Clone)]
pub struct ResyncEndpoint {
    /// Resyncs go through it.
    pub coordinator: Arc<Coordinator>,
    /// Who may call.
    pub auth: ResyncAuth,
}

/// What the routes serve.
#[derive(Clone)]
pub struct HttpState {
    /// `path_prefix`, normalised (`/prefix` or empty).
    pub prefix: String,
    /// Readiness.
    pub ready: Readiness,
    /// The metrics.
    pub metrics: Arc<Metrics>,
    /// The live events, when webhooks are processed.
    pub live: Option<Arc<LiveEvents>>,
    /// `POST /resync`, with the WEBHOOK listener.
    pub resync: Option<ResyncEndpoint>,
}

/// `path_prefix` as Python Ocean normalises it: slashes stripped, then one leading slash; empty
/// or unset means no prefix.
pub fn normalise_prefix(prefix: Option<&str>) -> String {
    match prefix.map(|p| p.trim().trim_matches('/')) {
        Some(p) if !p.is_empty() => format!("/{p}"),
        _ => String::new(),
    }
}

/// The router of every route above.
pub fn router(state: HttpState) -> Router {
    let prefix = state.prefix.clone();
    let mut app = Router::new()
        .route(&format!("{prefix}/health/live"), get(live))
        .route(&format!("{prefix}/health/ready"), get(ready))
        .route(&format!("{prefix}/metrics"), get(metrics_route))
        .route(&format!("{prefix}/metrics/"), get(metrics_route));
    if let Some(live_events) = &state.live {
        for path in live_events.paths() {
            let path_owned = path.to_owned();
            app = app.route(
                &format!("{prefix}/integration{path}"),
                post(
                    move |State(state): State<HttpState>, headers: HeaderMap, body: Bytes| {
                        webhook(state, path_owned.clone(), headers, body)
                    },
                ),
            );
        }
    }
    if state.resync.is_some() {
        app = app.route("/resync", post(resync));
    }
    app.with_state(state)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(log_and_time))
        .layer(CatchPanicLayer::custom(|_| {
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal server error").into_response()
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

fn health(check: &'static str, healthy: bool) -> Response {
    let (status, text) = if healthy {
        (StatusCode::OK, "healthy")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not_ready")
    };
    (
        status,
        axum::Json(json!({"status": text, "check": check, "core_version": CORE_VERSION})),
    )
        .into_response()
}

async fn live() -> Response {
    health("live", true)
}

async fn ready(State(state): State<HttpState>) -> Response {
    health("ready", state.ready.get())
}

async fn metrics_route(State(state): State<HttpState>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let content_type = if metrics::wants_openmetrics(accept) {
        metrics::OPENMETRICS_CONTENT_TYPE
    } else {
        metrics::TEXT_CONTENT_TYPE
    };
    (
        [(header::CONTENT_TYPE, content_type)],
        state.metrics.render(),
    )
        .into_response()
}

async fn webhook(state: HttpState, path: String, headers: HeaderMap, body: Bytes) -> Response {
    let Some(live_events) = state.live.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let pairs: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body_json =
        |status: StatusCode, value: serde_json::Value| (status, axum::Json(value)).into_response();
    match live_events.ingest(&path, pairs, body).await {
        Ingress::Accepted(_) => body_json(StatusCode::OK, json!({"status": "ok"})),
        Ingress::Unsupported => body_json(
            StatusCode::OK,
            json!({"status": "not supported", "message": "no processor of this path handles this event"}),
        ),
        Ingress::Rejected(reason) => body_json(
            StatusCode::UNAUTHORIZED,
            json!({"status": "unauthorized", "message": reason}),
        ),
        Ingress::Invalid(reason) => body_json(
            StatusCode::BAD_REQUEST,
            json!({"status": "error", "message": reason}),
        ),
        Ingress::Overloaded(reason) => {
            let mut response = body_json(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"status": "busy", "message": reason}),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            response
        }
        Ingress::UnknownPath => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn resync(State(state): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(endpoint) = state.resync.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let lookup = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if let Err(reason) = endpoint.auth.verify(lookup, &body, SystemTime::now()) {
        tracing::warn!(%reason, "Refused POST /resync");
        let mut response = (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"status": "unauthorized", "message": reason.0})),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    match endpoint.coordinator.request(Trigger::Webhook) {
        Some(id) => (
            StatusCode::ACCEPTED,
            axum::Json(json!({"status": "accepted", "resyncId": id})),
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "unavailable", "message": "shutting down"})),
        )
            .into_response(),
    }
}

/// Logs each request (DEBUG for health and metrics, INFO otherwise) and adds `X-Process-Time`.
async fn log_and_time(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut response = next.run(request).await;
    let elapsed = started.elapsed();
    if let Ok(value) = HeaderValue::from_str(&format!("{:.6}", elapsed.as_secs_f64())) {
        response.headers_mut().insert("x-process-time", value);
    }
    let status = response.status().as_u16();
    let quiet = path.ends_with("/health/live")
        || path.ends_with("/health/ready")
        || path.ends_with("/metrics")
        || path.ends_with("/metrics/");
    if quiet {
        tracing::debug!(%method, path, status, request_id, ms = elapsed.as_millis() as u64, "HTTP request");
    } else {
        tracing::info!(%method, path, status, request_id, ms = elapsed.as_millis() as u64, "HTTP request");
    }
    response
}

/// A bound, not yet serving, HTTP server.
#[derive(Debug)]
pub struct HttpServer {
    listener: TcpListener,
}

/// A serving HTTP server.
#[derive(Debug)]
pub struct RunningServer {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl HttpServer {
    /// Serves on an already bound (non-blocking) standard listener.
    pub fn from_std(listener: std::net::TcpListener) -> std::io::Result<Self> {
        listener.set_nonblocking(true)?;
        Ok(HttpServer {
            listener: TcpListener::from_std(listener)?,
        })
    }

    /// Serves `router` until [`RunningServer::stop`].
    pub fn serve(self, router: Router) -> RunningServer {
        let addr = self
            .listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let stop = CancellationToken::new();
        let signal = stop.clone();
        let task = tokio::spawn(async move {
            let served = axum::serve(self.listener, router)
                .with_graceful_shutdown(async move { signal.cancelled().await })
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "The HTTP server failed");
            }
        });
        tracing::info!(%addr, "HTTP server listening");
        RunningServer { stop, task }
    }
}

impl RunningServer {
    /// Stops accepting connections and waits up to `grace` for requests in flight.
    pub async fn stop(self, grace: Duration) {
        self.stop.cancel();
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            tracing::warn!("HTTP requests still in flight at shutdown; closing them");
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_normalised_like_python_ocean() {
        for (input, expected) in [
            (None, ""),
            (Some(""), ""),
            (Some("/"), ""),
            (Some("ocean"), "/ocean"),
            (Some("/ocean/"), "/ocean"),
            (Some("//a/b//"), "/a/b"),
        ] {
            assert_eq!(normalise_prefix(input), expected, "{input:?}");
        }
    }
}
