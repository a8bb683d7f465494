//! The catalog view: a read-only page for people, at `/` and `/_emulator/ui`, and the JSON routes
//! it reads (`/_emulator/catalog`, `/_emulator/entity`, plus the paged `/_emulator/entities`, the
//! resync-state history and the request log of `admin.rs`).
//!
//! The page is plain HTML, CSS and JavaScript built into the binary (`assets/`); it renders in the
//! browser from these routes, which read the same store the API writes. Nothing here changes
//! state, needs a token, is faulted or is recorded in the request log.

use super::{ApiResult, AppState, Params, reply};
use crate::error::ApiError;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

const PAGE: &str = include_str!("../../assets/catalog.html");
const SCRIPT: &str = include_str!("../../assets/catalog.js");
const STYLE: &str = include_str!("../../assets/catalog.css");

/// Routes under `/_emulator`.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui", get(page))
        .route("/ui/", get(page))
        .route("/ui/catalog.js", get(script))
        .route("/ui/catalog.css", get(style))
        .route("/catalog", get(catalog))
        .route("/entity", get(entity))
}

/// The catalog view's page (also `GET /`).
pub(super) async fn page() -> Response {
    asset("text/html; charset=utf-8", PAGE)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
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

/// `GET /_emulator/catalog`: every blueprint with its entity count, and every integration.
async fn catalog(State(state): State<AppState>) -> ApiResult {
    let (blueprints, integrations) = state
        .db
        .call(|store| {
            let counts = store.entity_counts()?;
            let blueprints: Vec<Value> = store
                .blueprints()
                .into_iter()
                .map(|blueprint| {
                    let count = blueprint["identifier"]
                        .as_str()
                        .and_then(|id| counts.get(id))
                        .copied()
                        .unwrap_or(0);
                    json!({"blueprint": blueprint, "entities": count})
                })
                .collect();
            Ok::<_, ApiError>((blueprints, store.integrations()?))
        })
        .await??;
    Ok(reply(
        StatusCode::OK,
        json!({"blueprints": blueprints, "integrations": integrations}),
    ))
}

/// `GET /_emulator/entity?blueprint=B&identifier=I`: one entity with the entities its relations
/// name (and whether they exist) and the entities whose relations name it.
async fn entity(State(state): State<AppState>, RawQuery(query): RawQuery) -> ApiResult {
    let params = Params::parse(query.as_deref());
    let (Some(blueprint), Some(identifier)) = (params.get("blueprint"), params.get("identifier"))
    else {
        return Err(ApiError::invalid(
            "querystring must have required properties 'blueprint' and 'identifier'",
        ));
    };
    let (blueprint, identifier) = (blueprint.to_owned(), identifier.to_owned());
    let answer = state
        .db
        .call(move |store| {
            let Some(cached) = store.blueprint(&blueprint).cloned() else {
                return Err(ApiError::not_found(format!(
                    "Blueprint with identifier {blueprint:?} was not found"
                )));
            };
            let Some(entity) = store.entity(&blueprint, &identifier)? else {
                return Err(ApiError::not_found(format!(
                    "Entity with identifier {identifier:?} of blueprint {blueprint:?} was not found"
                )));
            };
            let mut relations = Vec::new();
            let mut names: Vec<&String> = cached.rules.relations.keys().collect();
            names.sort();
            for name in names {
                let rule = &cached.rules.relations[name];
                let ids: Vec<String> = match entity.relations.get(name) {
                    Some(Value::String(id)) => vec![id.clone()],
                    Some(Value::Array(ids)) => ids
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect(),
                    _ => Vec::new(),
                };
                let mut targets = Vec::new();
                for id in ids {
                    let found = store.entity(&rule.target, &id)?;
                    targets.push(json!({
                        "identifier": id,
                        "title": found.as_ref().and_then(|e| e.title.clone()),
                        "exists": found.is_some(),
                    }));
                }
                relations.push(json!({
                    "relation": name,
                    "target": rule.target,
                    "many": rule.many,
                    "entities": targets,
                }));
            }
            let referenced_by: Vec<Value> = store
                .referencing(&blueprint, &identifier)?
                .into_iter()
                .map(|(other, relation)| {
                    json!({
                        "blueprint": other.blueprint,
                        "identifier": other.identifier,
                        "title": other.title,
                        "relation": relation,
                    })
                })
                .collect();
            Ok(json!({
                "entity": entity.to_admin_json(Some(&cached.rules)),
                "blueprint": cached.json,
                "relations": relations,
                "referencedBy": referenced_by,
            }))
        })
        .await??;
    Ok(reply(StatusCode::OK, answer))
}
