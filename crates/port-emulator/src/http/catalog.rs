//! The data model and account routes: the access token, blueprints, scorecards, actions, pages,
//! migrations, the organization and Kafka credentials.
//!
//! Actions, pages and scorecards are stored as sent and echoed back; the emulator does not run
//! actions or evaluate scorecards.

use super::{ApiResult, AppState, JsonBody, object, reply};
use crate::clock;
use crate::error::ApiError;
use crate::store::{blueprint_not_found, doc};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/blueprints",
            get(list_blueprints).post(create_blueprint),
        )
        .route(
            "/v1/blueprints/{blueprint}",
            get(get_blueprint)
                .patch(patch_blueprint)
                .put(put_blueprint)
                .delete(delete_blueprint),
        )
        .route(
            "/v1/blueprints/{blueprint}/scorecards",
            get(list_scorecards).post(create_scorecard),
        )
        .route("/v1/actions", get(list_actions).post(create_action))
        .route(
            "/v1/actions/{identifier}",
            get(get_action).delete(delete_action),
        )
        .route("/v1/pages", get(list_pages).post(create_page))
        .route("/v1/pages/{identifier}", get(get_page).delete(delete_page))
        .route("/v1/migrations/{id}", get(get_migration))
        .route("/v1/organization", get(organization))
        .route("/v1/kafka-credentials", get(kafka_credentials))
}

/// `POST /v1/auth/access_token`.
pub(super) async fn access_token(
    State(state): State<AppState>,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let map = object(&body)?;
    let (Some(Value::String(id)), Some(Value::String(secret))) =
        (map.get("clientId"), map.get("clientSecret"))
    else {
        return Err(ApiError::invalid(
            "body must have required properties 'clientId' and 'clientSecret' (strings)",
        ));
    };
    if *id != state.shared.client_id || secret != state.shared.client_secret.expose() {
        return Err(ApiError::unauthorized("Invalid client id or client secret"));
    }
    let org = state.db.call(|store| store.org_id().to_owned()).await?;
    let (token, expires_in) = state.shared.issue_token(&org);
    Ok(reply(
        StatusCode::OK,
        json!({"ok": true, "accessToken": token, "expiresIn": expires_in, "tokenType": "Bearer"}),
    ))
}

async fn list_blueprints(State(state): State<AppState>) -> ApiResult {
    let blueprints = state.db.call(|store| store.blueprints()).await?;
    Ok(reply(
        StatusCode::OK,
        json!({"ok": true, "blueprints": blueprints}),
    ))
}

async fn create_blueprint(State(state): State<AppState>, JsonBody(body): JsonBody) -> ApiResult {
    let actor = state.shared.client_id.clone();
    let blueprint = state
        .db
        .call(move |store| store.create_blueprint(body, &actor, clock::now_micros()))
        .await??;
    Ok(reply(
        StatusCode::CREATED,
        json!({"ok": true, "blueprint": blueprint}),
    ))
}

async fn get_blueprint(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let blueprint = state
        .db
        .call(move |store| {
            store
                .blueprint(&id)
                .map(|b| b.json.clone())
                .ok_or_else(|| blueprint_not_found(&id))
        })
        .await??;
    Ok(reply(
        StatusCode::OK,
        json!({"ok": true, "blueprint": blueprint}),
    ))
}

async fn patch_blueprint(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult {
    change_blueprint(state, id, body, false).await
}

async fn put_blueprint(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult {
    change_blueprint(state, id, body, true).await
}

async fn change_blueprint(state: AppState, id: String, body: Value, replace: bool) -> ApiResult {
    let actor = state.shared.client_id.clone();
    let blueprint = state
        .db
        .call(move |store| store.patch_blueprint(&id, body, replace, &actor, clock::now_micros()))
        .await??;
    Ok(reply(
        StatusCode::OK,
        json!({"ok": true, "blueprint": blueprint}),
    ))
}

async fn delete_blueprint(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    state
        .db
        .call(move |store| store.delete_blueprint(&id))
        .await??;
    Ok(reply(StatusCode::OK, json!({"ok": true})))
}

/// Stores a new document keyed by its `identifier`; 409 when it exists.
async fn create_doc(
    state: &AppState,
    kind: &'static str,
    prefix: String,
    body: Value,
) -> Result<Value, ApiError> {
    let map = object(&body)?;
    let Some(id) = map.get("identifier").and_then(Value::as_str) else {
        return Err(ApiError::invalid(
            "body must have required property 'identifier'",
        ));
    };
    let key = format!("{prefix}{id}");
    let actor = state.shared.client_id.clone();
    state
        .db
        .call(move |store| {
            if store.doc(kind, &key)?.is_some() {
                return Err(ApiError::conflict(
                    "identifier_taken",
                    format!("A {kind} with identifier {key:?} already exists"),
                ));
            }
            let mut stored = body;
            let stamp = clock::iso(clock::now_micros());
            stored["createdAt"] = json!(stamp);
            stored["updatedAt"] = json!(stamp);
            stored["createdBy"] = json!(actor);
            stored["updatedBy"] = json!(actor);
            store.put_doc(kind, &key, &stored)?;
            Ok(stored)
        })
        .await?
}

async fn get_doc(state: &AppState, kind: &'static str, key: String) -> Result<Value, ApiError> {
    state
        .db
        .call(move |store| {
            store
                .doc(kind, &key)?
                .ok_or_else(|| ApiError::not_found(format!("{kind} {key:?} was not found")))
        })
        .await?
}

async fn delete_doc(state: &AppState, kind: &'static str, key: String) -> ApiResult {
    state
        .db
        .call(move |store| {
            if store.delete_doc(kind, &key)? {
                Ok(())
            } else {
                Err(ApiError::not_found(format!("{kind} {key:?} was not found")))
            }
        })
        .await??;
    Ok(reply(StatusCode::OK, json!({"ok": true})))
}

async fn list_docs(
    state: &AppState,
    kind: &'static str,
    prefix: String,
) -> Result<Vec<Value>, ApiError> {
    let docs = state.db.call(move |store| store.docs(kind)).await??;
    Ok(docs
        .into_iter()
        .filter(|(key, _)| key.starts_with(&prefix))
        .map(|(_, body)| body)
        .collect())
}

async fn create_scorecard(
    State(state): State<AppState>,
    Path(blueprint): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let exists = {
        let bp = blueprint.clone();
        state
            .db
            .call(move |store| store.blueprint(&bp).is_some())
            .await?
    };
    if !exists {
        return Err(blueprint_not_found(&blueprint));
    }
    let mut body = body;
    if body.is_object() {
        body["blueprint"] = json!(blueprint);
    }
    let scorecard = create_doc(&state, doc::SCORECARD, format!("{blueprint}/"), body).await?;
    Ok(reply(
        StatusCode::CREATED,
        json!({"ok": true, "scorecard": scorecard}),
    ))
}

async fn list_scorecards(
    State(state): State<AppState>,
    Path(blueprint): Path<String>,
) -> ApiResult {
    let scorecards = list_docs(&state, doc::SCORECARD, format!("{blueprint}/")).await?;
    Ok(reply(
        StatusCode::OK,
        json!({"ok": true, "scorecards": scorecards}),
    ))
}

async fn create_action(State(state): State<AppState>, JsonBody(body): JsonBody) -> ApiResult {
    let action = create_doc(&state, doc::ACTION, String::new(), body).await?;
    Ok(reply(
        StatusCode::CREATED,
        json!({"ok": true, "action": action}),
    ))
}

async fn list_actions(State(state): State<AppState>) -> ApiResult {
    let actions = list_docs(&state, doc::ACTION, String::new()).await?;
    Ok(reply(
        StatusCode::OK,
        json!({"ok": true, "actions": actions}),
    ))
}

async fn get_action(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let action = get_doc(&state, doc::ACTION, id).await?;
    Ok(reply(StatusCode::OK, json!({"ok": true, "action": action})))
}

async fn delete_action(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    delete_doc(&state, doc::ACTION, id).await
}

async fn create_page(State(state): State<AppState>, JsonBody(body): JsonBody) -> ApiResult {
    let page = create_doc(&state, doc::PAGE, String::new(), body).await?;
    Ok(reply(
        StatusCode::CREATED,
        json!({"ok": true, "page": page}),
    ))
}

async fn list_pages(State(state): State<AppState>) -> ApiResult {
    let pages = list_docs(&state, doc::PAGE, String::new()).await?;
    Ok(reply(StatusCode::OK, json!({"ok": true, "pages": pages})))
}

async fn get_page(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let page = get_doc(&state, doc::PAGE, id).await?;
    Ok(reply(StatusCode::OK, json!({"ok": true, "page": page})))
}

async fn delete_page(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    delete_doc(&state, doc::PAGE, id).await
}

async fn get_migration(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let migration = get_doc(&state, doc::MIGRATION, id).await?;
    Ok(reply(
        StatusCode::OK,
        json!({"ok": true, "migration": migration}),
    ))
}

async fn organization(State(state): State<AppState>) -> ApiResult {
    let org = state.db.call(|store| store.org_id().to_owned()).await?;
    Ok(reply(
        StatusCode::OK,
        json!({"ok": true, "organization": {
            "id": org,
            "name": "Port emulator",
            "featureFlags": state.shared.feature_flags,
            "isBlocked": false,
            "settings": {},
        }}),
    ))
}

async fn kafka_credentials(State(_state): State<AppState>) -> ApiResult {
    Ok(reply(
        StatusCode::OK,
        json!({"ok": true, "credentials": {"username": "port-emulator", "password": "port-emulator"}}),
    ))
}
