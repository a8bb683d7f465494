//! Entity routes: bulk and single upsert, read, search, the datasource listing, single, bulk and
//! all-entities delete. Request shapes are checked here (Port's 422 for a body that does not
//! match the route's schema); entity semantics live in the store.

use super::{ApiResult, AppState, JsonBody, Params, datasource, object, reply};
use crate::clock;
use crate::error::ApiError;
use crate::model::StoredEntity;
use crate::query::Query;
use crate::store::{DatasourceFilter, Store, UpsertContext, UpsertOptions, blueprint_not_found};
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, post};
use serde_json::{Map, Value, json};

/// Port's limit on entities per bulk upsert.
pub(crate) const MAX_BULK_UPSERT: usize = 20;
/// Port's limit on identifiers per bulk delete.
pub(crate) const MAX_BULK_DELETE: usize = 100;
/// Default and maximum page size of the datasource listing.
const DATASOURCE_PAGE: usize = 5000;
const MAX_DATASOURCE_PAGE: usize = 10_000;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/blueprints/{blueprint}/entities/bulk",
            post(bulk_upsert),
        )
        .route(
            "/v1/blueprints/{blueprint}/entities",
            post(single_upsert).get(list),
        )
        .route(
            "/v1/blueprints/{blueprint}/entities/{identifier}",
            get(get_one).delete(delete_one),
        )
        .route("/v1/blueprints/{blueprint}/entities-count", get(count))
        .route(
            "/v1/blueprints/{blueprint}/bulk/entities/delete",
            post(bulk_delete),
        )
        .route(
            "/v1/blueprints/{blueprint}/all-entities",
            delete(delete_all),
        )
        .route(
            "/v1/blueprints/entities/datasource-entities",
            post(datasource_entities),
        )
        .route("/v1/entities/search", post(search))
}

fn upsert_options(params: &Params) -> Result<UpsertOptions, ApiError> {
    Ok(UpsertOptions {
        upsert: params.flag("upsert", false)?,
        merge: params.flag("merge", false)?,
        create_missing_related_entities: params.flag("create_missing_related_entities", false)?,
        validation_only: params.flag("validation_only", false)?,
    })
}

fn context(state: &AppState, headers: &HeaderMap) -> UpsertContext {
    UpsertContext {
        datasource: datasource(headers),
        actor: state.shared.client_id.clone(),
        now: clock::now_micros(),
    }
}

fn render(store: &Store, entity: &StoredEntity) -> Value {
    entity.to_port_json(store.blueprint(&entity.blueprint).map(|b| &b.rules))
}

async fn bulk_upsert(
    State(state): State<AppState>,
    Path(blueprint): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let options = upsert_options(&Params::parse(query.as_deref()))?;
    let map = object(&body)?;
    if let Some(extra) = map.keys().find(|k| *k != "entities") {
        return Err(ApiError::invalid(format!(
            "body must NOT have additional properties ({extra:?})"
        )));
    }
    let Some(Value::Array(entities)) = map.get("entities") else {
        return Err(ApiError::invalid(
            "body must have required property 'entities' (an array)",
        ));
    };
    if entities.is_empty() {
        return Err(ApiError::invalid(
            "body/entities must NOT have fewer than 1 items",
        ));
    }
    if entities.len() > MAX_BULK_UPSERT {
        return Err(ApiError::invalid(format!(
            "body/entities must NOT have more than {MAX_BULK_UPSERT} items"
        )));
    }
    let entities = entities.clone();
    let context = context(&state, &headers);
    let results = state
        .db
        .call(move |store| store.upsert_entities(&blueprint, &entities, options, &context))
        .await??;
    let mut written = Vec::new();
    let mut errors = Vec::new();
    for (index, result) in results.into_iter().enumerate() {
        match result {
            Ok(done) => written.push(json!({
                "created": done.created,
                "identifier": done.entity.identifier,
                "index": index,
            })),
            Err((identifier, err)) => errors.push(json!({
                "identifier": identifier,
                "index": index,
                "statusCode": err.status.as_u16(),
                "error": err.error,
                "message": err.message,
            })),
        }
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    Ok(reply(
        status,
        json!({"ok": true, "entities": written, "errors": errors}),
    ))
}

async fn single_upsert(
    State(state): State<AppState>,
    Path(blueprint): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let options = upsert_options(&Params::parse(query.as_deref()))?;
    object(&body)?;
    let context = context(&state, &headers);
    let (result, rendered) = state
        .db
        .call(move |store| {
            let mut results = store.upsert_entities(
                &blueprint,
                std::slice::from_ref(&body),
                options,
                &context,
            )?;
            let result = results
                .pop()
                .ok_or_else(|| ApiError::internal("no result for the entity"))?;
            let rendered = result.as_ref().ok().map(|done| render(store, &done.entity));
            Ok::<_, ApiError>((result, rendered))
        })
        .await??;
    match (result, rendered) {
        (Ok(done), Some(entity)) => {
            let status = if done.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(reply(status, json!({"ok": true, "entity": entity})))
        }
        (Err((_, err)), _) => Err(ApiError::new(err.status, err.error, err.message)),
        (Ok(_), None) => Err(ApiError::internal(
            "the written entity could not be rendered",
        )),
    }
}

async fn list(State(state): State<AppState>, Path(blueprint): Path<String>) -> ApiResult {
    let entities = state
        .db
        .call(move |store| {
            if store.blueprint(&blueprint).is_none() {
                return Err(blueprint_not_found(&blueprint));
            }
            let entities = store.entities_of(&blueprint)?;
            Ok(entities
                .iter()
                .map(|e| render(store, e))
                .collect::<Vec<_>>())
        })
        .await??;
    Ok(reply(
        StatusCode::OK,
        json!({"ok": true, "entities": entities}),
    ))
}

async fn get_one(
    State(state): State<AppState>,
    Path((blueprint, identifier)): Path<(String, String)>,
) -> ApiResult {
    let entity = state
        .db
        .call(move |store| {
            if store.blueprint(&blueprint).is_none() {
                return Err(blueprint_not_found(&blueprint));
            }
            match store.entity(&blueprint, &identifier)? {
                Some(entity) => Ok(render(store, &entity)),
                None => Err(entity_not_found(&blueprint, &identifier)),
            }
        })
        .await??;
    Ok(reply(StatusCode::OK, json!({"ok": true, "entity": entity})))
}

fn entity_not_found(blueprint: &str, identifier: &str) -> ApiError {
    ApiError::not_found(format!(
        "Entity with identifier {identifier:?} of blueprint {blueprint:?} was not found"
    ))
}

async fn count(State(state): State<AppState>, Path(blueprint): Path<String>) -> ApiResult {
    let count = state
        .db
        .call(move |store| {
            if store.blueprint(&blueprint).is_none() {
                return Err(blueprint_not_found(&blueprint));
            }
            Ok(store.count_entities(&blueprint)?)
        })
        .await??;
    Ok(reply(StatusCode::OK, json!({"ok": true, "count": count})))
}

async fn delete_one(
    State(state): State<AppState>,
    Path((blueprint, identifier)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let delete_dependents = Params::parse(query.as_deref()).flag("delete_dependents", false)?;
    state
        .db
        .call(move |store| {
            let deleted = store.delete_entities(
                &blueprint,
                std::slice::from_ref(&identifier),
                delete_dependents,
            )?;
            if deleted.is_empty() {
                return Err(entity_not_found(&blueprint, &identifier));
            }
            Ok(())
        })
        .await??;
    Ok(reply(StatusCode::OK, json!({"ok": true})))
}

async fn bulk_delete(
    State(state): State<AppState>,
    Path(blueprint): Path<String>,
    RawQuery(query): RawQuery,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let delete_dependents = Params::parse(query.as_deref()).flag("delete_dependents", false)?;
    let map = object(&body)?;
    let Some(Value::Array(items)) = map.get("entities") else {
        return Err(ApiError::invalid(
            "body must have required property 'entities' (an array of identifiers)",
        ));
    };
    if items.is_empty() || items.len() > MAX_BULK_DELETE {
        return Err(ApiError::invalid(format!(
            "body/entities must have between 1 and {MAX_BULK_DELETE} items, got {}",
            items.len()
        )));
    }
    let identifiers = items
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| ApiError::invalid("body/entities must list strings"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let deleted = state
        .db
        .call(move |store| store.delete_entities(&blueprint, &identifiers, delete_dependents))
        .await??;
    Ok(reply(
        StatusCode::OK,
        json!({"ok": true, "deletedEntities": deleted}),
    ))
}

async fn delete_all(
    State(state): State<AppState>,
    Path(blueprint): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let delete_blueprint = Params::parse(query.as_deref()).flag("delete_blueprint", false)?;
    let actor = state.shared.client_id.clone();
    let migration = state
        .db
        .call(move |store| {
            store.delete_all_entities(&blueprint, delete_blueprint, &actor, clock::now_micros())
        })
        .await??;
    Ok(reply(
        StatusCode::OK,
        json!({"ok": true, "migrationId": migration}),
    ))
}

async fn search(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let params = Params::parse(query.as_deref());
    params.flag("exclude_calculated_properties", false)?;
    let include = params.all("include");
    let parsed = Query::parse(&body).map_err(ApiError::invalid)?;
    if !matches!(parsed, Query::Group { .. }) {
        return Err(ApiError::invalid(
            "\"query\" must have required property 'combinator'",
        ));
    }
    let entities = state
        .db
        .call(move |store| {
            let found = store.search(&parsed, None)?;
            Ok::<_, ApiError>(
                found
                    .iter()
                    .map(|e| project(render(store, e), &include))
                    .collect::<Vec<_>>(),
            )
        })
        .await??;
    Ok(reply(
        StatusCode::OK,
        json!({"ok": true, "entities": entities}),
    ))
}

/// Keeps only the `include`d fields (`identifier`, `properties.status`, …); all when empty.
fn project(entity: Value, include: &[String]) -> Value {
    if include.is_empty() {
        return entity;
    }
    let Value::Object(full) = entity else {
        return entity;
    };
    let mut out = Map::new();
    for path in include {
        match path.split_once('.') {
            None => {
                if let Some(v) = full.get(path) {
                    out.insert(path.clone(), v.clone());
                }
            }
            Some((top, sub)) => {
                let Some(value) = full.get(top).and_then(|v| v.get(sub)) else {
                    continue;
                };
                let slot = out
                    .entry(top.to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(slot) = slot {
                    slot.insert(sub.to_owned(), value.clone());
                }
            }
        }
    }
    Value::Object(out)
}

async fn datasource_entities(State(state): State<AppState>, JsonBody(body): JsonBody) -> ApiResult {
    let map = object(&body)?;
    let text = |key: &str| -> Result<Option<String>, ApiError> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::invalid(format!("body/{key} must be string"))),
        }
    };
    let before = match text("before")? {
        None => None,
        Some(at) => Some(clock::parse_iso(&at).ok_or_else(|| {
            ApiError::invalid(format!(
                "body/before must be an ISO 8601 date-time, got {at:?}"
            ))
        })?),
    };
    let after_row = match text("from")? {
        None => 0,
        Some(cursor) => decode_cursor(&cursor)
            .ok_or_else(|| ApiError::invalid(format!("body/from is not a cursor: {cursor:?}")))?,
    };
    let limit = match map.get("limit") {
        None | Some(Value::Null) => DATASOURCE_PAGE,
        Some(v) => v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| (1..=MAX_DATASOURCE_PAGE).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "body/limit must be an integer between 1 and {MAX_DATASOURCE_PAGE}"
                ))
            })?,
    };
    let filter = DatasourceFilter {
        prefix: text("datasource_prefix")?,
        suffix: text("datasource_suffix")?,
        before,
        after_row,
        limit,
    };
    let (entities, next) = state
        .db
        .call(move |store| {
            let (page, next) = store.datasource_page(&filter)?;
            Ok::<_, ApiError>((
                page.iter().map(|e| render(store, e)).collect::<Vec<_>>(),
                next,
            ))
        })
        .await??;
    Ok(reply(
        StatusCode::OK,
        json!({"ok": true, "entities": entities, "next": next.map(encode_cursor)}),
    ))
}

fn encode_cursor(row: i64) -> String {
    format!("row-{row}")
}

fn decode_cursor(cursor: &str) -> Option<i64> {
    cursor.strip_prefix("row-")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection() {
        let entity = json!({
            "identifier": "a", "blueprint": "b", "title": "T",
            "properties": {"x": 1, "y": 2}, "relations": {"r": "t"}
        });
        let check = |include: &[&str], expected: Value| {
            let include: Vec<String> = include.iter().map(|s| s.to_string()).collect();
            assert_eq!(project(entity.clone(), &include), expected);
        };
        check(&[], entity.clone());
        check(
            &["blueprint", "identifier"],
            json!({"blueprint": "b", "identifier": "a"}),
        );
        check(
            &[
                "identifier",
                "properties.y",
                "relations.r",
                "properties.nope",
            ],
            json!({"identifier": "a", "properties": {"y": 2}, "relations": {"r": "t"}}),
        );
    }

    #[test]
    fn cursors_round_trip() {
        assert_eq!(decode_cursor(&encode_cursor(42)), Some(42));
        assert_eq!(decode_cursor("42"), None);
    }
}
