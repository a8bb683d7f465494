//! `/_emulator/…`: routes for people and tests to see what was written and to steer the
//! emulator (faults, token expiry, resync requests, reset). No authentication, never faulted,
//! never in the request log. Not part of Port's API.

use super::{ApiResult, AppState, JsonBody, Params, object, reply};
use crate::clock;
use crate::control::Controls;
use crate::error::ApiError;
use crate::store::doc;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::time::Duration;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/entities", get(entities))
        .route("/count", get(count))
        .route("/blueprints", get(blueprints))
        .route("/integrations", get(integrations))
        .route("/integrations/{id}/resync-states", get(resync_states))
        .route("/integrations/{id}/resync-request", post(resync))
        .route("/kind-examples", get(kind_examples))
        .route("/ingest", get(ingest))
        .route("/requests", get(requests).delete(clear_requests))
        .route("/faults", get(faults).put(set_faults))
        .route("/tokens/expire", post(expire_tokens))
        .route("/reset", post(reset))
}

/// `GET /_emulator/`: what is here.
pub(super) async fn home(State(state): State<AppState>) -> ApiResult {
    Ok(reply(
        StatusCode::OK,
        json!({
            "emulator": "Port API emulator",
            "api": format!("http://{}/v1", state.shared.bound),
            "clientId": state.shared.client_id,
            "catalogView": format!("http://{}/", state.shared.bound),
            "inspect": [
                "GET /_emulator/ui (the catalog view, also at /)",
                "GET /_emulator/catalog",
                "GET /_emulator/entities?blueprint=ID[&search=TEXT&offset=N&limit=N]",
                "GET /_emulator/entity?blueprint=ID&identifier=ID",
                "GET /_emulator/count?blueprint=ID",
                "GET /_emulator/blueprints",
                "GET /_emulator/integrations",
                "GET /_emulator/integrations/{id}/resync-states",
                "GET /_emulator/kind-examples",
                "GET /_emulator/ingest",
                "GET /_emulator/requests[?limit=N]",
                "GET /_emulator/faults"
            ],
            "control": [
                "PUT /_emulator/faults {\"failRate\", \"seed\", \"rateLimit\", \"latencyMs\", \"failNext\": {\"count\", \"status\"}, \"tokenTtlSeconds\"}",
                "POST /_emulator/tokens/expire",
                "POST /_emulator/integrations/{id}/resync-request",
                "DELETE /_emulator/requests",
                "POST /_emulator/reset"
            ]
        }),
    ))
}

fn controls(state: &AppState) -> Controls {
    Controls {
        shared: state.shared.clone(),
    }
}

/// `GET /_emulator/entities[?blueprint=ID]`: every entity, or a blueprint's; with
/// `search=TEXT` (identifier or title contains it), `offset=N` and `limit=N` one page of a
/// blueprint's. `total` counts the matches before paging.
async fn entities(State(state): State<AppState>, RawQuery(query): RawQuery) -> ApiResult {
    let params = Params::parse(query.as_deref());
    let blueprint = params.get("blueprint").map(str::to_owned);
    let search = params.get("search").map(str::to_owned);
    let number = |key: &str| -> Result<Option<usize>, ApiError> {
        params
            .get(key)
            .map(|v| {
                v.parse::<usize>().map_err(|_| {
                    ApiError::invalid(format!(
                        "querystring/{key} must be a non-negative integer, got {v:?}"
                    ))
                })
            })
            .transpose()
    };
    let (offset, limit) = (number("offset")?, number("limit")?);
    if search.is_some() || offset.is_some() || limit.is_some() {
        let Some(blueprint) = blueprint else {
            return Err(ApiError::invalid(
                "querystring must have required property 'blueprint' with search, offset or limit",
            ));
        };
        let (offset, limit) = (offset.unwrap_or(0), limit.unwrap_or(usize::MAX));
        let (total, entities) = state
            .db
            .call(move |store| {
                let rules = store.blueprint(&blueprint).map(|b| b.rules.clone());
                let (total, page) =
                    store.entity_page(&blueprint, search.as_deref(), offset, limit)?;
                let entities: Vec<Value> = page
                    .iter()
                    .map(|e| e.to_admin_json(rules.as_ref()))
                    .collect();
                Ok::<_, ApiError>((total, entities))
            })
            .await??;
        return Ok(reply(
            StatusCode::OK,
            json!({"count": entities.len(), "total": total, "offset": offset, "entities": entities}),
        ));
    }
    let entities = state
        .db
        .call(move |store| {
            let ids: Vec<String> = match blueprint {
                Some(bp) => vec![bp],
                None => store
                    .blueprints()
                    .iter()
                    .filter_map(|b| b["identifier"].as_str().map(str::to_owned))
                    .collect(),
            };
            let mut all = Vec::new();
            for bp in ids {
                let rules = store.blueprint(&bp).map(|b| b.rules.clone());
                for entity in store.entities_of(&bp)? {
                    all.push(entity.to_admin_json(rules.as_ref()));
                }
            }
            Ok::<_, ApiError>(all)
        })
        .await??;
    Ok(reply(
        StatusCode::OK,
        json!({"count": entities.len(), "total": entities.len(), "entities": entities}),
    ))
}

async fn count(State(state): State<AppState>, RawQuery(query): RawQuery) -> ApiResult {
    let Some(blueprint) = Params::parse(query.as_deref())
        .get("blueprint")
        .map(str::to_owned)
    else {
        return Err(ApiError::invalid(
            "querystring must have required property 'blueprint'",
        ));
    };
    let (blueprint, count) = state
        .db
        .call(move |store| {
            let count = store.count_entities(&blueprint);
            (blueprint, count)
        })
        .await?;
    Ok(reply(
        StatusCode::OK,
        json!({"blueprint": blueprint, "count": count?}),
    ))
}

async fn blueprints(State(state): State<AppState>) -> ApiResult {
    let blueprints = state.db.call(|store| store.blueprints()).await?;
    Ok(reply(StatusCode::OK, json!({"blueprints": blueprints})))
}

async fn integrations(State(state): State<AppState>) -> ApiResult {
    let integrations = state.db.call(|store| store.integrations()).await??;
    Ok(reply(StatusCode::OK, json!({"integrations": integrations})))
}

async fn resync_states(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let states = state
        .db
        .call(move |store| store.resync_states(&id))
        .await??;
    Ok(reply(StatusCode::OK, json!({"resyncStates": states})))
}

async fn resync(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let request = state
        .db
        .call(move |store| {
            store
                .request_resync(&id, clock::now_micros())?
                .ok_or_else(|| {
                    ApiError::not_found(format!("Integration with identifier {id:?} was not found"))
                })
        })
        .await??;
    Ok(reply(StatusCode::OK, json!({"request": request})))
}

async fn kind_examples(State(state): State<AppState>) -> ApiResult {
    let examples = state
        .db
        .call(|store| store.docs(doc::KIND_EXAMPLES))
        .await??;
    let examples: serde_json::Map<String, Value> = examples.into_iter().collect();
    Ok(reply(StatusCode::OK, json!({"kindExamples": examples})))
}

async fn ingest(State(state): State<AppState>) -> ApiResult {
    let records = state.db.call(|store| store.ingested()).await??;
    Ok(reply(StatusCode::OK, json!({"ingest": records})))
}

/// `GET /_emulator/requests[?limit=N]`: the request log, oldest first; with `limit`, only the
/// newest N. `total` is the log's length.
async fn requests(State(state): State<AppState>, RawQuery(query): RawQuery) -> ApiResult {
    let params = Params::parse(query.as_deref());
    let limit = match params.get("limit") {
        None => None,
        Some(v) => Some(v.parse::<usize>().map_err(|_| {
            ApiError::invalid(format!(
                "querystring/limit must be a non-negative integer, got {v:?}"
            ))
        })?),
    };
    let mut requests = controls(&state).requests();
    let total = requests.len();
    if let Some(limit) = limit {
        requests.drain(..total.saturating_sub(limit));
    }
    Ok(reply(
        StatusCode::OK,
        json!({"total": total, "requests": requests}),
    ))
}

async fn clear_requests(State(state): State<AppState>) -> ApiResult {
    controls(&state).clear_requests();
    Ok(reply(StatusCode::OK, json!({"ok": true})))
}

fn fault_view(state: &AppState) -> Value {
    let controls = controls(state);
    let mut view = serde_json::to_value(controls.settings()).unwrap_or_default();
    view["tokenTtlSeconds"] = json!(controls.token_ttl().as_secs());
    view["injected"] = json!(controls.injected_faults());
    view
}

async fn faults(State(state): State<AppState>) -> ApiResult {
    Ok(reply(StatusCode::OK, fault_view(&state)))
}

/// Changes only the keys present: `failRate`, `seed`, `rateLimit` (null: unlimited), `latencyMs`,
/// `failNext` (`{"count", "status"}`), `tokenTtlSeconds`.
async fn set_faults(State(state): State<AppState>, JsonBody(body): JsonBody) -> ApiResult {
    let map = object(&body)?;
    let controls = controls(&state);
    let bad = |key: &str, want: &str| ApiError::invalid(format!("{key} must be {want}"));
    // Check everything before changing anything.
    let fail_rate = match map.get("failRate") {
        None => None,
        Some(v) => Some(
            v.as_f64()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| bad("failRate", "a number between 0 and 1"))?,
        ),
    };
    let rate_limit = match map.get("rateLimit") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(v) => Some(Some(
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| bad("rateLimit", "a positive integer or null"))?,
        )),
    };
    let latency = match map.get("latencyMs") {
        None => None,
        Some(v) => Some(v.as_u64().ok_or_else(|| bad("latencyMs", "an integer"))?),
    };
    let seed = match map.get("seed") {
        None => None,
        Some(v) => Some(v.as_u64().ok_or_else(|| bad("seed", "an integer"))?),
    };
    let ttl = match map.get("tokenTtlSeconds") {
        None => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or_else(|| bad("tokenTtlSeconds", "an integer"))?,
        ),
    };
    let fail_next = match map.get("failNext") {
        None => None,
        Some(v) => {
            let count = v.get("count").and_then(Value::as_u64);
            let status = v
                .get("status")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok())
                .filter(|s| (400..600).contains(s));
            match (count, status) {
                (Some(count), Some(status)) => {
                    Some((usize::try_from(count).unwrap_or(usize::MAX), status))
                }
                _ => {
                    return Err(bad(
                        "failNext",
                        "{\"count\": N, \"status\": an HTTP error status}",
                    ));
                }
            }
        }
    };
    if let Some(seed) = seed {
        controls.set_seed(seed);
    }
    if let Some(rate) = fail_rate {
        controls.set_fail_rate(rate);
    }
    if let Some(limit) = rate_limit {
        controls.set_rate_limit(limit);
    }
    if let Some(ms) = latency {
        controls.set_latency(Duration::from_millis(ms));
    }
    if let Some(secs) = ttl {
        controls.set_token_ttl(Duration::from_secs(secs));
    }
    if let Some((count, status)) = fail_next {
        controls.fail_next(count, status);
    }
    Ok(reply(StatusCode::OK, fault_view(&state)))
}

async fn expire_tokens(State(state): State<AppState>) -> ApiResult {
    controls(&state).expire_tokens();
    Ok(reply(StatusCode::OK, json!({"ok": true})))
}

async fn reset(State(state): State<AppState>) -> ApiResult {
    state.db.call(|store| store.reset()).await??;
    controls(&state).clear_requests();
    Ok(reply(StatusCode::OK, json!({"ok": true})))
}
