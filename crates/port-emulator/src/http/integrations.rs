//! Integration routes: the integration object (read, create, patch, config patch, delete),
//! provision-enabled types, the resync request a POLLING listener watches, resync-state reports,
//! kind examples, incremental-sync cursors, and the ingest URLs (logs, metrics, heartbeat,
//! lakehouse) the integration object points back at.
//!
//! The ingest URLs are path-based on the emulator's own address (`/_ingest/{id}/logs`, …) and
//! computed when the integration is read, so they follow the emulator to a new port after a
//! restart. Whatever is posted there is recorded, never interpreted.

use super::{ApiResult, AppState, JsonBody, Params, base_url, object, read_body, reply};
use crate::clock;
use crate::error::ApiError;
use crate::model::IngestRecord;
use crate::store::doc;
use axum::Router;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, patch, post};
use serde_json::{Value, json};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/integration", post(create))
        .route("/v1/integration/provision-enabled", get(provision_enabled))
        .route(
            "/v1/integration/{id}",
            get(read).patch(update).delete(remove),
        )
        .route("/v1/integration/{id}/config", patch(update_config))
        .route("/v1/integration/{id}/resync-request", get(resync_request))
        .route("/v1/integration/{id}/resync-state", patch(resync_state))
        .route(
            "/v1/integration/{id}/kinds/{kind}/examples",
            post(kind_examples),
        )
        .route(
            "/v1/integration/{id}/cursor",
            get(get_cursor).put(put_cursor).post(create_cursor),
        )
}

fn integration_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Integration with identifier {id:?} was not found"))
}

/// The integration as Port answers it: the stored record plus ingest URLs on this emulator.
fn render(mut integration: Value, base: &str) -> Value {
    let id = integration
        .get("identifier")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let segment: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
    let url = |channel: &str| format!("{base}/_ingest/{segment}/{channel}");
    if let Value::Object(map) = &mut integration {
        map.insert(
            "logAttributes".into(),
            json!({"ingestId": format!("logs-{id}"), "ingestUrl": url("logs")}),
        );
        map.insert(
            "metricAttributes".into(),
            json!({"ingestId": format!("metrics-{id}"), "ingestUrl": url("metrics")}),
        );
        map.insert(
            "ingestAttributes".into(),
            json!({"ingestId": format!("lake-{id}"), "ingestUrl": url("lake")}),
        );
    }
    integration
}

async fn provision_enabled(State(state): State<AppState>) -> ApiResult {
    Ok(reply(
        StatusCode::OK,
        json!({"ok": true, "integrations": state.shared.provision_enabled}),
    ))
}

async fn read(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let base = base_url(&headers, &state);
    let integration = state
        .db
        .call(move |store| {
            store
                .integration(&id)?
                .ok_or_else(|| integration_not_found(&id))
        })
        .await??;
    Ok(reply(
        StatusCode::OK,
        json!({"ok": true, "integration": render(integration, &base)}),
    ))
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let map = object(&body)?.clone();
    let Some(id) = map
        .get("installationId")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return Err(ApiError::invalid(
            "body must have required property 'installationId'",
        ));
    };
    let base = base_url(&headers, &state);
    let actor = state.shared.client_id.clone();
    let integration = state
        .db
        .call(move |store| {
            if store.integration(&id)?.is_some() {
                return Err(ApiError::conflict(
                    "identifier_taken",
                    format!("An integration with identifier {id:?} already exists"),
                ));
            }
            let stamp = clock::iso(clock::now_micros());
            let mut integration = map;
            integration.insert("identifier".into(), json!(id));
            integration.insert("installationId".into(), json!(id));
            integration
                .entry("installationType")
                .or_insert_with(|| json!("OnPrem"));
            if integration.get("config").is_none_or(Value::is_null) {
                integration.insert("config".into(), json!({}));
            }
            integration.insert(
                "_id".into(),
                json!(format!("integration_{}", uuid::Uuid::new_v4().simple())),
            );
            integration.insert("_orgId".into(), json!(store.org_id()));
            integration.insert("clientId".into(), json!(actor));
            integration.insert("createdAt".into(), json!(stamp));
            integration.insert("updatedAt".into(), json!(stamp));
            integration.insert("createdBy".into(), json!(actor));
            integration.insert("updatedBy".into(), json!(actor));
            integration.insert("resyncState".into(), Value::Null);
            integration.insert("statusInfo".into(), json!({"updatedAt": stamp}));
            let integration = Value::Object(integration);
            store.put_integration(&id, &integration)?;
            Ok(integration)
        })
        .await??;
    Ok(reply(
        StatusCode::OK,
        json!({"ok": true, "integration": render(integration, &base)}),
    ))
}

/// Shallow-merges `body` into the stored integration.
async fn merge_into(
    state: &AppState,
    id: String,
    patch: serde_json::Map<String, Value>,
    resync: bool,
) -> Result<Value, ApiError> {
    let actor = state.shared.client_id.clone();
    state
        .db
        .call(move |store| {
            let Some(mut integration) = store.integration(&id)? else {
                return Err(integration_not_found(&id));
            };
            let now = clock::now_micros();
            if let Value::Object(map) = &mut integration {
                for (key, value) in patch {
                    if !matches!(
                        key.as_str(),
                        "identifier" | "installationId" | "_id" | "_orgId"
                    ) {
                        map.insert(key, value);
                    }
                }
                map.insert("updatedAt".into(), json!(clock::iso(now)));
                map.insert("updatedBy".into(), json!(actor));
            }
            store.put_integration(&id, &integration)?;
            if resync {
                store.request_resync(&id, now)?;
            }
            Ok(integration)
        })
        .await?
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let patch = object(&body)?.clone();
    let base = base_url(&headers, &state);
    let integration = merge_into(&state, id, patch, false).await?;
    Ok(reply(
        StatusCode::OK,
        json!({"ok": true, "integration": render(integration, &base)}),
    ))
}

async fn update_config(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let map = object(&body)?;
    let Some(config) = map.get("config") else {
        return Err(ApiError::invalid(
            "body must have required property 'config'",
        ));
    };
    if !config.is_object() {
        return Err(ApiError::invalid("body/config must be object"));
    }
    let skip_resync = headers
        .get("x-skip-resync")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let base = base_url(&headers, &state);
    let mut patch = serde_json::Map::new();
    patch.insert("config".into(), config.clone());
    let integration = merge_into(&state, id, patch, !skip_resync).await?;
    Ok(reply(
        StatusCode::OK,
        json!({"ok": true, "integration": render(integration, &base)}),
    ))
}

async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    state
        .db
        .call(move |store| {
            if store.delete_integration(&id)? {
                store.delete_doc(doc::RESYNC_REQUEST, &id)?;
                Ok(())
            } else {
                Err(integration_not_found(&id))
            }
        })
        .await??;
    Ok(reply(StatusCode::OK, json!({"ok": true})))
}

async fn resync_request(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let request = state
        .db
        .call(move |store| {
            if store.integration(&id)?.is_none() {
                return Err(integration_not_found(&id));
            }
            Ok(store.doc(doc::RESYNC_REQUEST, &id)?)
        })
        .await??;
    Ok(reply(
        StatusCode::OK,
        json!({"ok": true, "request": request}),
    ))
}

async fn resync_state(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let map = object(&body)?;
    let status = match map.get("status").and_then(Value::as_str) {
        Some(s @ ("running" | "completed" | "failed" | "aborted")) => s.to_owned(),
        _ => {
            return Err(ApiError::invalid(
                "body/status must be equal to one of the allowed values: running, completed, failed, aborted",
            ));
        }
    };
    let base = base_url(&headers, &state);
    let integration = state
        .db
        .call(move |store| {
            store
                .record_resync_state(&id, &status, &body, clock::now_micros())?
                .ok_or_else(|| integration_not_found(&id))
        })
        .await??;
    Ok(reply(
        StatusCode::OK,
        json!({"ok": true, "integration": render(integration, &base)}),
    ))
}

async fn kind_examples(
    State(state): State<AppState>,
    Path((id, kind)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let map = object(&body)?;
    let Some(Value::Array(examples)) = map.get("examples") else {
        return Err(ApiError::invalid(
            "body must have required property 'examples' (an array)",
        ));
    };
    let examples = Value::Array(examples.clone());
    state
        .db
        .call(move |store| {
            if store.integration(&id)?.is_none() {
                return Err(integration_not_found(&id));
            }
            store.put_doc(doc::KIND_EXAMPLES, &format!("{id}/{kind}"), &examples)?;
            Ok(())
        })
        .await??;
    Ok(reply(StatusCode::OK, json!({"ok": true})))
}

fn cursor_key(id: &str, query: Option<&str>) -> Result<String, ApiError> {
    let params = Params::parse(query);
    let kind = params
        .get("kind")
        .ok_or_else(|| ApiError::invalid("querystring must have required property 'kind'"))?;
    let index = params.get("index").unwrap_or("0");
    Ok(format!("{id}/{kind}/{index}"))
}

async fn get_cursor(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let key = cursor_key(&id, query.as_deref())?;
    let cursor = state
        .db
        .call(move |store| {
            if store.integration(&id)?.is_none() {
                return Err(integration_not_found(&id));
            }
            Ok(store.doc(doc::CURSOR, &key)?)
        })
        .await??;
    Ok(reply(StatusCode::OK, json!({"ok": true, "cursor": cursor})))
}

async fn put_cursor(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    JsonBody(body): JsonBody,
) -> ApiResult {
    save_cursor(state, id, query, body, false).await
}

async fn create_cursor(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    JsonBody(body): JsonBody,
) -> ApiResult {
    save_cursor(state, id, query, body, true).await
}

/// `PUT` updates an existing cursor (404 when there is none); `POST` creates it.
async fn save_cursor(
    state: AppState,
    id: String,
    query: Option<String>,
    body: Value,
    create: bool,
) -> ApiResult {
    let key = cursor_key(&id, query.as_deref())?;
    object(&body)?;
    let cursor = state
        .db
        .call(move |store| {
            if store.integration(&id)?.is_none() {
                return Err(integration_not_found(&id));
            }
            if !create && store.doc(doc::CURSOR, &key)?.is_none() {
                return Err(ApiError::not_found(format!("No cursor {key:?} yet")));
            }
            store.put_doc(doc::CURSOR, &key, &body)?;
            Ok(body)
        })
        .await??;
    let status = if create {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(reply(status, json!({"ok": true, "cursor": cursor})))
}

/// Anything sent to an ingest URL: `/_ingest/{integration}/{channel}[/more]`.
pub(super) async fn ingest(
    State(state): State<AppState>,
    Path(rest): Path<String>,
    request: Request,
) -> ApiResult {
    let method = request.method().to_string();
    let mut parts = rest.splitn(3, '/');
    let integration = parts.next().unwrap_or_default().to_owned();
    let channel = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().map(|p| format!("/{p}")).unwrap_or_default();
    if integration.is_empty() || !matches!(channel.as_str(), "logs" | "metrics" | "lake") {
        return Err(ApiError::not_found(format!(
            "Route {method}:/_ingest/{rest} not found"
        )));
    }
    let bytes = read_body(request, state.shared.max_body_bytes.saturating_mul(100)).await?;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("Body is not valid JSON: {e}")))?
    };
    let record = IngestRecord {
        integration,
        channel,
        method,
        path,
        body,
        received_at_micros: clock::now_micros(),
    };
    state
        .db
        .call(move |store| store.record_ingest(&record))
        .await??;
    Ok(reply(StatusCode::OK, json!({"ok": true})))
}
