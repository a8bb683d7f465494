//! Entity writes, reads and deletes on the [`Store`]: the bulk/single upsert with Port's
//! `upsert`/`merge`/`create_missing_related_entities`/`validation_only` semantics, searches,
//! the datasource listing that stale-entity detection pages through, and deletes with or
//! without dependents.
//!
//! Entities of one request are processed in order inside one transaction, so an entity may
//! relate to one written earlier in the same request but not to a later one (unless missing
//! related entities are created).

use super::{CachedBlueprint, Store, blueprint_not_found, db};
use crate::error::{ApiError, EmulatorError};
use crate::model::{BlueprintRules, EntityBody, StoredEntity};
use crate::query::Query;
use crate::validate::{self, Candidate, EntityError, IdentifierSpec, RelationSpec};
use rusqlite::{OptionalExtension, Row, Transaction, params};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap, HashSet};

const COLUMNS: &str = "id, blueprint, identifier, body, datasource, created_at, updated_at";

/// Port's upsert query parameters.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct UpsertOptions {
    pub(crate) upsert: bool,
    pub(crate) merge: bool,
    pub(crate) create_missing_related_entities: bool,
    pub(crate) validation_only: bool,
}

/// Who writes, and when.
#[derive(Debug, Clone)]
pub(crate) struct UpsertContext {
    pub(crate) datasource: String,
    pub(crate) actor: String,
    pub(crate) now: i64,
}

/// One entity written (or, with `validation_only`, that would be written).
#[derive(Debug, Clone)]
pub(crate) struct UpsertOutcome {
    pub(crate) created: bool,
    pub(crate) entity: StoredEntity,
}

/// The `datasource-entities` listing's filter and page.
#[derive(Debug, Clone, Default)]
pub(crate) struct DatasourceFilter {
    pub(crate) prefix: Option<String>,
    pub(crate) suffix: Option<String>,
    /// Only entities last written strictly before this time (µs since the epoch).
    pub(crate) before: Option<i64>,
    /// Continue after this row (the previous page's cursor).
    pub(crate) after_row: i64,
    pub(crate) limit: usize,
}

/// A row id together with its entity (the id is the paging cursor).
type Row2 = (i64, StoredEntity);

fn read_row(row: &Row<'_>) -> rusqlite::Result<(i64, String, String, String, String, i64, i64)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
    ))
}

fn to_entity(raw: (i64, String, String, String, String, i64, i64)) -> Result<Row2, EmulatorError> {
    let (id, blueprint, identifier, body, datasource, created, updated) = raw;
    let body: EntityBody =
        serde_json::from_str(&body).map_err(EmulatorError::corrupt("reading an entity"))?;
    Ok((
        id,
        StoredEntity {
            blueprint,
            identifier,
            title: body.title,
            icon: body.icon,
            team: body.team,
            properties: body.properties,
            relations: body.relations,
            datasource,
            created_at_micros: created,
            updated_at_micros: updated,
            created_by: body.created_by,
            updated_by: body.updated_by,
        },
    ))
}

fn body_text(entity: &StoredEntity) -> String {
    let body = EntityBody {
        title: entity.title.clone(),
        icon: entity.icon.clone(),
        team: entity.team.clone(),
        properties: entity.properties.clone(),
        relations: entity.relations.clone(),
        created_by: entity.created_by.clone(),
        updated_by: entity.updated_by.clone(),
    };
    serde_json::to_string(&body).unwrap_or_else(|_| String::from("{}"))
}

/// Runs a query returning entity rows.
fn query_entities(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
    doing: &str,
) -> Result<Vec<Row2>, EmulatorError> {
    let mut stmt = db(conn.prepare_cached(sql), doing)?;
    let rows = db(stmt.query_map(params, read_row), doing)?;
    rows.map(|row| to_entity(db(row, doing)?)).collect()
}

fn get_in(
    conn: &rusqlite::Connection,
    blueprint: &str,
    identifier: &str,
) -> Result<Option<StoredEntity>, EmulatorError> {
    let doing = "reading an entity";
    let mut stmt = db(
        conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM entities WHERE blueprint = ?1 AND identifier = ?2"
        )),
        doing,
    )?;
    let raw = db(
        stmt.query_row(params![blueprint, identifier], read_row)
            .optional(),
        doing,
    )?;
    raw.map(|r| to_entity(r).map(|(_, e)| e)).transpose()
}

fn exists_in(
    conn: &rusqlite::Connection,
    blueprint: &str,
    identifier: &str,
) -> Result<bool, EmulatorError> {
    let doing = "checking a related entity";
    let mut stmt = db(
        conn.prepare_cached("SELECT 1 FROM entities WHERE blueprint = ?1 AND identifier = ?2"),
        doing,
    )?;
    db(stmt.exists(params![blueprint, identifier]), doing)
}

/// Entities of `blueprint` (or of every blueprint) matching `query`, in insertion order.
fn search_in(
    conn: &rusqlite::Connection,
    query: &Query,
    blueprint: Option<&str>,
) -> Result<Vec<StoredEntity>, EmulatorError> {
    let narrowing = query.narrowing();
    let blueprint = match (blueprint, narrowing.blueprint.as_deref()) {
        (Some(a), Some(b)) if a != b => return Ok(Vec::new()),
        (Some(a), _) => Some(a),
        (None, b) => b,
    };
    let doing = "searching entities";
    let ids = narrowing
        .identifiers
        .map(|ids| Value::Array(ids.into_iter().map(Value::String).collect()).to_string());
    let rows = match (blueprint, ids) {
        (Some(bp), Some(ids)) => query_entities(
            conn,
            &format!(
                "SELECT {COLUMNS} FROM entities WHERE blueprint = ?1
                 AND identifier IN (SELECT value FROM json_each(?2)) ORDER BY id"
            ),
            params![bp, ids],
            doing,
        )?,
        (None, Some(ids)) => query_entities(
            conn,
            &format!(
                "SELECT {COLUMNS} FROM entities
                 WHERE identifier IN (SELECT value FROM json_each(?1)) ORDER BY id"
            ),
            params![ids],
            doing,
        )?,
        (Some(bp), None) => query_entities(
            conn,
            &format!("SELECT {COLUMNS} FROM entities WHERE blueprint = ?1 ORDER BY id"),
            params![bp],
            doing,
        )?,
        (None, None) => query_entities(
            conn,
            &format!("SELECT {COLUMNS} FROM entities ORDER BY id"),
            [],
            doing,
        )?,
    };
    Ok(rows
        .into_iter()
        .map(|(_, e)| e)
        .filter(|e| query.matches(e))
        .collect())
}

/// Why one entity failed: the identifier to report and the error.
type Failure = (String, EntityError);

impl Store {
    /// Upserts entities of one blueprint, in order, in one transaction. The outer error is for
    /// the whole request (unknown blueprint, database failure); the inner ones are per entity.
    pub(crate) fn upsert_entities(
        &mut self,
        blueprint: &str,
        raws: &[Value],
        options: UpsertOptions,
        context: &UpsertContext,
    ) -> Result<Vec<Result<UpsertOutcome, Failure>>, ApiError> {
        let Some(cached) = self.blueprints.get(blueprint) else {
            return Err(blueprint_not_found(blueprint));
        };
        let rules = &cached.rules;
        let blueprints = &self.blueprints;
        let tx = db(self.conn.transaction(), "starting a bulk upsert")?;
        let mut results = Vec::with_capacity(raws.len());
        for raw in raws {
            let result = upsert_one(&tx, blueprint, rules, raw, options, context, &|bp| {
                blueprints.contains_key(bp)
            })?;
            results.push(result);
        }
        if options.validation_only {
            db(tx.rollback(), "ending a validation-only upsert")?;
        } else {
            db(tx.commit(), "committing a bulk upsert")?;
        }
        Ok(results)
    }

    pub(crate) fn entity(
        &self,
        blueprint: &str,
        identifier: &str,
    ) -> Result<Option<StoredEntity>, EmulatorError> {
        get_in(&self.conn, blueprint, identifier)
    }

    pub(crate) fn entities_of(&self, blueprint: &str) -> Result<Vec<StoredEntity>, EmulatorError> {
        Ok(query_entities(
            &self.conn,
            &format!("SELECT {COLUMNS} FROM entities WHERE blueprint = ?1 ORDER BY id"),
            params![blueprint],
            "listing entities",
        )?
        .into_iter()
        .map(|(_, e)| e)
        .collect())
    }

    pub(crate) fn count_entities(&self, blueprint: &str) -> Result<u64, EmulatorError> {
        let n: i64 = db(
            self.conn.query_row(
                "SELECT count(*) FROM entities WHERE blueprint = ?1",
                params![blueprint],
                |r| r.get(0),
            ),
            "counting entities",
        )?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    /// Entity counts of every blueprint that has entities.
    pub(crate) fn entity_counts(&self) -> Result<HashMap<String, u64>, EmulatorError> {
        let doing = "counting entities per blueprint";
        let mut stmt = db(
            self.conn
                .prepare_cached("SELECT blueprint, count(*) FROM entities GROUP BY blueprint"),
            doing,
        )?;
        let rows = db(
            stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))),
            doing,
        )?;
        rows.map(|row| {
            let (blueprint, n) = db(row, doing)?;
            Ok((blueprint, u64::try_from(n).unwrap_or_default()))
        })
        .collect()
    }

    /// One page of a blueprint's entities in the order they were first written, narrowed to
    /// those whose identifier or title contains `search` (ASCII case-insensitively); answers
    /// how many match in all, and the page.
    pub(crate) fn entity_page(
        &self,
        blueprint: &str,
        search: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> Result<(u64, Vec<StoredEntity>), EmulatorError> {
        let doing = "listing a page of entities";
        let pattern = search.filter(|s| !s.is_empty()).map(|s| {
            let escaped = s
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        let filter = "blueprint = ?1 AND (?2 IS NULL OR identifier LIKE ?2 ESCAPE '\\'
                      OR json_extract(body, '$.title') LIKE ?2 ESCAPE '\\')";
        let total: i64 = db(
            self.conn.query_row(
                &format!("SELECT count(*) FROM entities WHERE {filter}"),
                params![blueprint, pattern],
                |r| r.get(0),
            ),
            doing,
        )?;
        let rows = query_entities(
            &self.conn,
            &format!(
                "SELECT {COLUMNS} FROM entities WHERE {filter} ORDER BY id LIMIT ?3 OFFSET ?4"
            ),
            params![
                blueprint,
                pattern,
                i64::try_from(limit).unwrap_or(i64::MAX),
                i64::try_from(offset).unwrap_or(i64::MAX)
            ],
            doing,
        )?;
        Ok((
            u64::try_from(total).unwrap_or_default(),
            rows.into_iter().map(|(_, e)| e).collect(),
        ))
    }

    /// The entities whose relations point at this one, with the relation's name, ordered by
    /// blueprint and then as written.
    pub(crate) fn referencing(
        &self,
        blueprint: &str,
        identifier: &str,
    ) -> Result<Vec<(StoredEntity, String)>, EmulatorError> {
        let target = [(blueprint.to_owned(), identifier.to_owned())];
        let mut found: Vec<(StoredEntity, String)> =
            dependents_of(&self.blueprints, &self.conn, &target)?
                .into_iter()
                .map(|(entity, relation, _)| (entity, relation))
                .collect();
        // An entity relating to itself is listed by `dependents_of` as a target, not a
        // dependent; show it here too.
        if let Some(me) = self.entity(blueprint, identifier)? {
            let rules = self.blueprints.get(blueprint).map(|b| &b.rules);
            for (name, value) in &me.relations {
                let to_self = rules
                    .and_then(|r| r.relations.get(name))
                    .is_some_and(|r| r.target == blueprint);
                let points_here = match value {
                    Value::String(id) => id == identifier,
                    Value::Array(ids) => ids.iter().any(|v| v.as_str() == Some(identifier)),
                    _ => false,
                };
                if to_self && points_here {
                    found.push((me.clone(), name.clone()));
                }
            }
        }
        found.sort_by(|a, b| a.0.blueprint.cmp(&b.0.blueprint));
        Ok(found)
    }

    /// `POST /v1/entities/search`.
    pub(crate) fn search(
        &self,
        query: &Query,
        blueprint: Option<&str>,
    ) -> Result<Vec<StoredEntity>, EmulatorError> {
        search_in(&self.conn, query, blueprint)
    }

    /// One page of `POST /v1/blueprints/entities/datasource-entities`; the second value is the
    /// row to continue after, when there is more.
    pub(crate) fn datasource_page(
        &self,
        filter: &DatasourceFilter,
    ) -> Result<(Vec<StoredEntity>, Option<i64>), EmulatorError> {
        let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
        let mut rows = query_entities(
            &self.conn,
            &format!(
                "SELECT {COLUMNS} FROM entities
                 WHERE id > ?1
                   AND (?2 IS NULL OR substr(datasource, 1, length(?2)) = ?2)
                   AND (?3 IS NULL OR (length(datasource) >= length(?3)
                        AND substr(datasource, length(datasource) - length(?3) + 1) = ?3))
                   AND (?4 IS NULL OR updated_at < ?4)
                 ORDER BY id LIMIT ?5"
            ),
            params![
                filter.after_row,
                filter.prefix,
                filter.suffix,
                filter.before,
                limit.saturating_add(1)
            ],
            "listing entities by datasource",
        )?;
        let next = if rows.len() > filter.limit {
            rows.truncate(filter.limit);
            rows.last().map(|(id, _)| *id)
        } else {
            None
        };
        Ok((rows.into_iter().map(|(_, e)| e).collect(), next))
    }

    /// Deletes entities of one blueprint; answers the identifiers actually deleted.
    ///
    /// Entities relating to a deleted one are deleted too with `delete_dependents`; otherwise
    /// the whole request is refused if any of them has that relation `required`, and their
    /// relation values pointing at deleted entities are cleared.
    pub(crate) fn delete_entities(
        &mut self,
        blueprint: &str,
        identifiers: &[String],
        delete_dependents: bool,
    ) -> Result<Vec<String>, ApiError> {
        if !self.blueprints.contains_key(blueprint) {
            return Err(blueprint_not_found(blueprint));
        }
        let blueprints = &self.blueprints;
        let tx = db(self.conn.transaction(), "starting a delete")?;
        let mut requested = Vec::new();
        for id in identifiers {
            if exists_in(&tx, blueprint, id)? && !requested.contains(id) {
                requested.push(id.clone());
            }
        }
        // Everything to delete, per blueprint, grown by dependents when asked.
        let mut doomed: BTreeSet<(String, String)> = requested
            .iter()
            .map(|id| (blueprint.to_owned(), id.clone()))
            .collect();
        let mut frontier: Vec<(String, String)> = doomed.iter().cloned().collect();
        while !frontier.is_empty() {
            let dependents = dependents_of(blueprints, &tx, &frontier)?;
            frontier.clear();
            for (entity, relation, required) in dependents {
                let key = (entity.blueprint.clone(), entity.identifier.clone());
                if doomed.contains(&key) {
                    continue;
                }
                if delete_dependents {
                    doomed.insert(key.clone());
                    frontier.push(key);
                } else if required {
                    return Err(ApiError::conflict(
                        "has_dependents",
                        format!(
                            "Entity {:?} of blueprint {:?} requires relation {relation:?} to an entity being deleted; use delete_dependents=true",
                            entity.identifier, entity.blueprint
                        ),
                    ));
                } else {
                    clear_relation(blueprints, &tx, entity, &relation, &doomed)?;
                }
            }
        }
        {
            let mut stmt = db(
                tx.prepare_cached("DELETE FROM entities WHERE blueprint = ?1 AND identifier = ?2"),
                "deleting entities",
            )?;
            for (bp, id) in &doomed {
                db(stmt.execute(params![bp, id]), "deleting entities")?;
            }
        }
        db(tx.commit(), "committing a delete")?;
        Ok(requested)
    }
}

/// Entities (other than those listed) with a relation pointing at any listed entity, with the
/// relation name and whether it is required.
fn dependents_of(
    blueprints: &HashMap<String, CachedBlueprint>,
    tx: &rusqlite::Connection,
    targets: &[(String, String)],
) -> Result<Vec<(StoredEntity, String, bool)>, EmulatorError> {
    let mut found = Vec::new();
    for (source, cached) in blueprints {
        for (name, relation) in &cached.rules.relations {
            let ids: Vec<Value> = targets
                .iter()
                .filter(|(bp, _)| *bp == relation.target)
                .map(|(_, id)| Value::String(id.clone()))
                .collect();
            if ids.is_empty() {
                continue;
            }
            let path = format!("$.relations.{}", Value::String(name.clone()));
            let rows = query_entities(
                tx,
                &format!(
                    "SELECT {COLUMNS} FROM entities e WHERE blueprint = ?1 AND EXISTS (
                            SELECT 1 FROM json_each(e.body, ?2) j
                            WHERE j.value IN (SELECT value FROM json_each(?3)))"
                ),
                params![source, path, Value::Array(ids).to_string()],
                "finding dependent entities",
            )?;
            for (_, entity) in rows {
                let listed = targets
                    .iter()
                    .any(|(bp, id)| *bp == entity.blueprint && *id == entity.identifier);
                if !listed {
                    found.push((entity, name.clone(), relation.required));
                }
            }
        }
    }
    Ok(found)
}

fn clear_relation(
    blueprints: &HashMap<String, CachedBlueprint>,
    tx: &Transaction<'_>,
    mut entity: StoredEntity,
    relation: &str,
    doomed: &BTreeSet<(String, String)>,
) -> Result<(), EmulatorError> {
    let Some(target) = blueprints
        .get(&entity.blueprint)
        .and_then(|b| b.rules.relations.get(relation))
        .map(|r| r.target.clone())
    else {
        return Ok(());
    };
    let gone = |id: &str| doomed.contains(&(target.clone(), id.to_owned()));
    let cleared = match entity.relations.get(relation) {
        Some(Value::String(id)) if gone(id) => Value::Null,
        Some(Value::Array(items)) => Value::Array(
            items
                .iter()
                .filter(|v| !v.as_str().is_some_and(gone))
                .cloned()
                .collect(),
        ),
        _ => return Ok(()),
    };
    entity.relations.insert(relation.to_owned(), cleared);
    db(
        tx.execute(
            "UPDATE entities SET body = ?3 WHERE blueprint = ?1 AND identifier = ?2",
            params![entity.blueprint, entity.identifier, body_text(&entity)],
        ),
        "clearing a relation to a deleted entity",
    )?;
    Ok(())
}

/// Validates, resolves and (unless validation-only) writes one entity.
fn upsert_one(
    tx: &Transaction<'_>,
    blueprint: &str,
    rules: &BlueprintRules,
    raw: &Value,
    options: UpsertOptions,
    context: &UpsertContext,
    blueprint_exists: &dyn Fn(&str) -> bool,
) -> Result<Result<UpsertOutcome, Failure>, EmulatorError> {
    let reported = match raw.get("identifier") {
        Some(Value::String(id)) => id.clone(),
        Some(other @ Value::Object(_)) => other.to_string(),
        _ => String::from("unknown"),
    };
    let candidate = match validate::parse_candidate(raw, blueprint, rules) {
        Ok(candidate) => candidate,
        Err(err) => return Ok(Err((reported, err))),
    };
    let identifier = match &candidate.identifier {
        IdentifierSpec::Literal(id) => id.clone(),
        IdentifierSpec::Search(query) => {
            let matches = search_in(tx, query, Some(blueprint))?;
            match matches.as_slice() {
                [one] => one.identifier.clone(),
                [] => {
                    return Ok(Err((
                        String::from("unknown"),
                        EntityError::not_found(format!(
                            "The search identifier matched no entity of blueprint {blueprint:?}"
                        )),
                    )));
                }
                many => {
                    return Ok(Err((
                        reported,
                        EntityError::invalid(format!(
                            "The search identifier matched {} entities of blueprint {blueprint:?}; it must match exactly one",
                            many.len()
                        )),
                    )));
                }
            }
        }
    };
    let existing = get_in(tx, blueprint, &identifier)?;
    if existing.is_some() && !options.upsert {
        return Ok(Err((
            identifier.clone(),
            EntityError::conflict(format!(
                "An entity with identifier {identifier:?} already exists in blueprint {blueprint:?}; use upsert=true"
            )),
        )));
    }
    let mut to_create: Vec<(String, String)> = Vec::new();
    let relations = match resolve_relations(
        tx,
        &candidate,
        blueprint,
        &identifier,
        rules,
        options,
        blueprint_exists,
        &mut to_create,
    )? {
        Ok(relations) => relations,
        Err(err) => return Ok(Err((identifier, err))),
    };
    let created = existing.is_none();
    let mut entity = match existing {
        Some(old) if options.merge => old,
        Some(old) => StoredEntity {
            title: None,
            icon: None,
            team: Vec::new(),
            properties: Map::new(),
            relations: Map::new(),
            ..old
        },
        None => StoredEntity {
            blueprint: blueprint.to_owned(),
            identifier: identifier.clone(),
            title: None,
            icon: None,
            team: Vec::new(),
            properties: Map::new(),
            relations: Map::new(),
            datasource: context.datasource.clone(),
            created_at_micros: context.now,
            updated_at_micros: context.now,
            created_by: context.actor.clone(),
            updated_by: context.actor.clone(),
        },
    };
    if let Some(title) = candidate.title {
        entity.title = Some(title);
    }
    if let Some(icon) = candidate.icon {
        entity.icon = Some(icon);
    }
    if let Some(team) = candidate.team {
        entity.team = team;
    }
    if let Some(properties) = candidate.properties {
        entity.properties.extend(properties);
    }
    entity.relations.extend(relations);
    entity.datasource.clone_from(&context.datasource);
    entity.updated_at_micros = context.now;
    entity.updated_by.clone_from(&context.actor);
    if let Err(err) = validate::check_required(&entity.properties, &entity.relations, rules) {
        return Ok(Err((identifier, err)));
    }
    if !options.validation_only {
        write(tx, &entity, created)?;
        for (target_bp, target_id) in to_create {
            create_bare(tx, &target_bp, &target_id, context)?;
        }
    }
    Ok(Ok(UpsertOutcome { created, entity }))
}

fn write(tx: &Transaction<'_>, entity: &StoredEntity, created: bool) -> Result<(), EmulatorError> {
    let doing = "writing an entity";
    let body = body_text(entity);
    if created {
        let mut stmt = db(
            tx.prepare_cached(
                "INSERT INTO entities (blueprint, identifier, body, datasource, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            ),
            doing,
        )?;
        db(
            stmt.execute(params![
                entity.blueprint,
                entity.identifier,
                body,
                entity.datasource,
                entity.created_at_micros,
                entity.updated_at_micros
            ]),
            doing,
        )?;
    } else {
        let mut stmt = db(
            tx.prepare_cached(
                "UPDATE entities SET body = ?3, datasource = ?4, updated_at = ?5
                 WHERE blueprint = ?1 AND identifier = ?2",
            ),
            doing,
        )?;
        db(
            stmt.execute(params![
                entity.blueprint,
                entity.identifier,
                body,
                entity.datasource,
                entity.updated_at_micros
            ]),
            doing,
        )?;
    }
    Ok(())
}

/// Creates a related entity that did not exist: identifier and blueprint only.
fn create_bare(
    tx: &Transaction<'_>,
    blueprint: &str,
    identifier: &str,
    context: &UpsertContext,
) -> Result<(), EmulatorError> {
    let doing = "creating a missing related entity";
    let body = EntityBody {
        created_by: context.actor.clone(),
        updated_by: context.actor.clone(),
        ..EntityBody::default()
    };
    let body = serde_json::to_string(&body).unwrap_or_else(|_| String::from("{}"));
    let mut stmt = db(
        tx.prepare_cached(
            "INSERT INTO entities (blueprint, identifier, body, datasource, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (blueprint, identifier) DO NOTHING",
        ),
        doing,
    )?;
    db(
        stmt.execute(params![
            blueprint,
            identifier,
            body,
            context.datasource,
            context.now
        ]),
        doing,
    )?;
    Ok(())
}

/// Resolves relation values to stored identifiers; missing targets are either queued for
/// creation or an error.
#[allow(clippy::too_many_arguments)]
fn resolve_relations(
    tx: &Transaction<'_>,
    candidate: &Candidate,
    blueprint: &str,
    identifier: &str,
    rules: &BlueprintRules,
    options: UpsertOptions,
    blueprint_exists: &dyn Fn(&str) -> bool,
    to_create: &mut Vec<(String, String)>,
) -> Result<Result<Map<String, Value>, EntityError>, EmulatorError> {
    let mut resolved = Map::new();
    let Some(relations) = &candidate.relations else {
        return Ok(Ok(resolved));
    };
    let mut queued: HashSet<(String, String)> = HashSet::new();
    for (name, spec) in relations {
        let Some(rule) = rules.relations.get(name) else {
            continue;
        };
        if !blueprint_exists(&rule.target) {
            return Ok(Err(EntityError::not_found(format!(
                "Target blueprint {:?} of relation {name:?} was not found",
                rule.target
            ))));
        }
        let ids: Vec<String> = match spec {
            RelationSpec::Null => {
                resolved.insert(name.clone(), Value::Null);
                continue;
            }
            RelationSpec::One(id) => vec![id.clone()],
            RelationSpec::Many(ids) => ids.clone(),
            RelationSpec::Search(query) => {
                let found: Vec<String> = search_in(tx, query, Some(&rule.target))?
                    .into_iter()
                    .map(|e| e.identifier)
                    .collect();
                if rule.many {
                    resolved.insert(
                        name.clone(),
                        Value::Array(found.into_iter().map(Value::String).collect()),
                    );
                    continue;
                }
                match found.as_slice() {
                    [one] => {
                        resolved.insert(name.clone(), Value::String(one.clone()));
                        continue;
                    }
                    [] => {
                        return Ok(Err(EntityError::not_found(format!(
                            "The search query of relation {name:?} matched no entity of blueprint {:?}",
                            rule.target
                        ))));
                    }
                    many => {
                        return Ok(Err(EntityError::invalid(format!(
                            "The search query of relation {name:?} matched {} entities; a single relation needs exactly one",
                            many.len()
                        ))));
                    }
                }
            }
        };
        for id in &ids {
            let itself = rule.target == blueprint && id == identifier;
            if itself || exists_in(tx, &rule.target, id)? {
                continue;
            }
            if options.create_missing_related_entities {
                let key = (rule.target.clone(), id.clone());
                if queued.insert(key.clone()) {
                    to_create.push(key);
                }
            } else {
                return Ok(Err(EntityError::not_found(format!(
                    "Related entity {id:?} of blueprint {:?} (relation {name:?}) was not found; set create_missing_related_entities=true to create it",
                    rule.target
                ))));
            }
        }
        let value = if rule.many {
            Value::Array(ids.into_iter().map(Value::String).collect())
        } else {
            ids.into_iter().next().map_or(Value::Null, Value::String)
        };
        resolved.insert(name.clone(), value);
    }
    Ok(Ok(resolved))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store() -> Store {
        let mut store = Store::open(None).unwrap();
        store
            .create_blueprint(json!({"identifier": "group", "title": "Group"}), "me", 0)
            .unwrap();
        store
            .create_blueprint(
                json!({
                    "identifier": "item", "title": "Item",
                    "schema": {"properties": {
                        "status": {"type": "string"}, "weight": {"type": "number"}
                    }, "required": ["status"]},
                    "relations": {
                        "group": {"target": "group", "many": false, "required": false},
                        "parent": {"target": "item", "many": false, "required": false}
                    }
                }),
                "me",
                0,
            )
            .unwrap();
        store
    }

    fn ctx(now: i64) -> UpsertContext {
        UpsertContext {
            datasource: "port-ocean/fake/0.1.0/f/exporter".into(),
            actor: "client".into(),
            now,
        }
    }

    fn opts(create_missing: bool) -> UpsertOptions {
        UpsertOptions {
            upsert: true,
            merge: true,
            create_missing_related_entities: create_missing,
            validation_only: false,
        }
    }

    /// Upserts and returns per-entity `Ok(created)` or `Err((identifier, status))`.
    fn upsert(
        store: &mut Store,
        entities: Value,
        options: UpsertOptions,
        now: i64,
    ) -> Vec<Result<bool, (String, u16)>> {
        let raws = entities.as_array().cloned().unwrap();
        store
            .upsert_entities("item", &raws, options, &ctx(now))
            .unwrap()
            .into_iter()
            .map(|r| {
                r.map(|o| o.created)
                    .map_err(|(id, e)| (id, e.status.as_u16()))
            })
            .collect()
    }

    #[test]
    fn creates_then_merges() {
        let mut store = store();
        let got = upsert(
            &mut store,
            json!([{"identifier": "a", "title": "A", "properties": {"status": "OPEN", "weight": 1}}]),
            opts(false),
            10,
        );
        assert_eq!(got, vec![Ok(true)]);
        let got = upsert(
            &mut store,
            json!([{"identifier": "a", "properties": {"weight": 2}}]),
            opts(false),
            20,
        );
        assert_eq!(got, vec![Ok(false)]);
        let a = store.entity("item", "a").unwrap().unwrap();
        assert_eq!(a.title, Some(json!("A")));
        assert_eq!(a.properties["status"], "OPEN");
        assert_eq!(a.properties["weight"], 2);
        assert_eq!((a.created_at_micros, a.updated_at_micros), (10, 20));
    }

    #[test]
    fn replace_without_merge_drops_unsent_fields() {
        let mut store = store();
        upsert(
            &mut store,
            json!([{"identifier": "a", "title": "A", "properties": {"status": "OPEN", "weight": 1}}]),
            opts(false),
            10,
        );
        let got = upsert(
            &mut store,
            json!([{"identifier": "a", "properties": {"status": "CLOSED"}}]),
            UpsertOptions {
                merge: false,
                ..opts(false)
            },
            20,
        );
        assert_eq!(got, vec![Ok(false)]);
        let a = store.entity("item", "a").unwrap().unwrap();
        assert_eq!(a.title, None);
        assert_eq!(a.properties.get("weight"), None);
        assert_eq!(a.created_at_micros, 10);
    }

    #[test]
    fn relations_missing_created_or_refused() {
        let mut store = store();
        let got = upsert(
            &mut store,
            json!([{"identifier": "a", "properties": {"status": "OPEN"}, "relations": {"group": "g1"}}]),
            opts(false),
            1,
        );
        assert_eq!(got, vec![Err(("a".to_owned(), 404))]);
        assert!(store.entity("item", "a").unwrap().is_none());
        let got = upsert(
            &mut store,
            json!([{"identifier": "a", "properties": {"status": "OPEN"}, "relations": {"group": "g1", "parent": "a"}}]),
            opts(true),
            2,
        );
        assert_eq!(got, vec![Ok(true)]);
        let g1 = store.entity("group", "g1").unwrap().unwrap();
        assert_eq!(g1.datasource, "port-ocean/fake/0.1.0/f/exporter");
        // An earlier entity of the same request counts as existing.
        let got = upsert(
            &mut store,
            json!([
                {"identifier": "b", "properties": {"status": "OPEN"}},
                {"identifier": "c", "properties": {"status": "OPEN"}, "relations": {"parent": "b"}},
                {"identifier": "d", "properties": {"status": "OPEN"}, "relations": {"parent": "e"}},
                {"identifier": "e", "properties": {"status": "OPEN"}}
            ]),
            opts(false),
            3,
        );
        assert_eq!(
            got,
            vec![Ok(true), Ok(true), Err(("d".to_owned(), 404)), Ok(true)]
        );
    }

    #[test]
    fn search_identifier_resolves_or_is_unknown() {
        let mut store = store();
        upsert(
            &mut store,
            json!([{"identifier": "a", "properties": {"status": "OPEN", "weight": 7}}]),
            opts(false),
            1,
        );
        let by_weight = |w: i64| {
            json!({"identifier": {"combinator": "and", "rules": [
                {"property": "weight", "operator": "=", "value": w}]},
             "properties": {"status": "CLOSED"}})
        };
        let got = upsert(
            &mut store,
            json!([by_weight(7), by_weight(8)]),
            opts(false),
            2,
        );
        assert_eq!(got, vec![Ok(false), Err(("unknown".to_owned(), 404))]);
        assert_eq!(
            store.entity("item", "a").unwrap().unwrap().properties["status"],
            "CLOSED"
        );
    }

    #[test]
    fn required_and_validation_only() {
        let mut store = store();
        let got = upsert(
            &mut store,
            json!([{"identifier": "a", "properties": {"weight": 1}}]),
            opts(false),
            1,
        );
        assert_eq!(got, vec![Err(("a".to_owned(), 422))]);
        let got = upsert(
            &mut store,
            json!([{"identifier": "a", "properties": {"status": "OPEN"}, "relations": {"group": "g"}}]),
            UpsertOptions {
                validation_only: true,
                ..opts(true)
            },
            1,
        );
        assert_eq!(got, vec![Ok(true)]);
        assert_eq!(store.count_entities("item").unwrap(), 0);
        assert_eq!(store.count_entities("group").unwrap(), 0);
    }

    #[test]
    fn datasource_listing_pages_and_filters() {
        let mut store = store();
        for (i, now) in [(0, 100), (1, 200), (2, 300)] {
            upsert(
                &mut store,
                json!([{"identifier": format!("i{i}"), "properties": {"status": "OPEN"}}]),
                opts(false),
                now,
            );
        }
        let mut filter = DatasourceFilter {
            prefix: Some("port-ocean/fake/".into()),
            suffix: Some("/f/exporter".into()),
            before: Some(300),
            after_row: 0,
            limit: 1,
        };
        let (page, next) = store.datasource_page(&filter).unwrap();
        assert_eq!(page[0].identifier, "i0");
        filter.after_row = next.unwrap();
        let (page, next) = store.datasource_page(&filter).unwrap();
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].identifier, "i1");
        // i2 was written at 300, not strictly before: the listing ends here.
        assert!(next.is_none());
        filter.suffix = Some("/other/exporter".into());
        filter.after_row = 0;
        filter.before = None;
        assert!(store.datasource_page(&filter).unwrap().0.is_empty());
    }

    #[test]
    fn delete_with_and_without_dependents() {
        let mut store = store();
        upsert(
            &mut store,
            json!([
                {"identifier": "p", "properties": {"status": "OPEN"}},
                {"identifier": "c", "properties": {"status": "OPEN"}, "relations": {"parent": "p"}}
            ]),
            opts(false),
            1,
        );
        let deleted = store
            .delete_entities("item", &["p".into(), "nope".into()], false)
            .unwrap();
        assert_eq!(deleted, vec!["p".to_owned()]);
        let c = store.entity("item", "c").unwrap().unwrap();
        assert_eq!(c.relations["parent"], Value::Null);
        upsert(
            &mut store,
            json!([
                {"identifier": "p", "properties": {"status": "OPEN"}},
                {"identifier": "c", "properties": {"status": "OPEN"}, "relations": {"parent": "p"}}
            ]),
            opts(false),
            2,
        );
        store.delete_entities("item", &["p".into()], true).unwrap();
        assert_eq!(store.count_entities("item").unwrap(), 0);
    }
}
