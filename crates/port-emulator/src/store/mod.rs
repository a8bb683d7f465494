//! The emulator's state, in SQLite: blueprints, entities, integrations with their resync-state
//! history, default resources (actions, pages, scorecards), migrations, cursors, kind examples and
//! ingested log/metric posts.
//!
//! A [`Store`] is owned by one dedicated thread (see `db.rs`), so every operation here is plain
//! synchronous code that runs one at a time: a bulk upsert is one transaction, and no two writes
//! interleave. Blueprints are also kept parsed in memory because every entity write validates
//! against them. In memory by default; with a path, a WAL-mode file that survives restarts.
//! It knows nothing of HTTP beyond answering [`ApiError`]s.

mod entities;

pub(crate) use entities::{DatasourceFilter, UpsertContext, UpsertOptions};

use crate::clock;
use crate::error::{ApiError, EmulatorError};
use crate::model::{BlueprintRules, IngestRecord, ResyncStateRecord};
use crate::validate;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blueprints (identifier TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entities (
    id INTEGER PRIMARY KEY,
    blueprint TEXT NOT NULL,
    identifier TEXT NOT NULL,
    body TEXT NOT NULL,
    datasource TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (blueprint, identifier)
);
CREATE INDEX IF NOT EXISTS entities_by_identifier ON entities (identifier);
CREATE TABLE IF NOT EXISTS integrations (identifier TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS resync_states (
    id INTEGER PRIMARY KEY,
    integration TEXT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE TABLE IF NOT EXISTS ingest (
    id INTEGER PRIMARY KEY,
    integration TEXT NOT NULL,
    channel TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
";

/// A blueprint as sent (plus Port's added fields) and its parsed validation rules.
#[derive(Debug, Clone)]
pub(crate) struct CachedBlueprint {
    pub(crate) json: Value,
    pub(crate) rules: BlueprintRules,
}

/// The emulator's state. See the module documentation.
pub(crate) struct Store {
    conn: Connection,
    blueprints: HashMap<String, CachedBlueprint>,
    org_id: String,
}

/// Kinds of stored documents (default resources and small per-integration records).
pub(crate) mod doc {
    pub(crate) const ACTION: &str = "action";
    pub(crate) const PAGE: &str = "page";
    pub(crate) const SCORECARD: &str = "scorecard";
    pub(crate) const MIGRATION: &str = "migration";
    pub(crate) const CURSOR: &str = "cursor";
    pub(crate) const KIND_EXAMPLES: &str = "kind-examples";
    pub(crate) const RESYNC_REQUEST: &str = "resync-request";
}

fn db<T>(result: rusqlite::Result<T>, doing: &str) -> Result<T, EmulatorError> {
    result.map_err(EmulatorError::db(doing))
}

fn to_text(value: &Value) -> String {
    value.to_string()
}

fn from_text(text: &str, doing: &str) -> Result<Value, EmulatorError> {
    serde_json::from_str(text).map_err(EmulatorError::corrupt(doing))
}

impl Store {
    /// Opens (creating if needed) the database: a file when `path` is given, else memory.
    pub(crate) fn open(path: Option<&Path>) -> Result<Store, EmulatorError> {
        let shown = path.map_or_else(|| PathBuf::from(":memory:"), Path::to_path_buf);
        let open_err = |source| EmulatorError::OpenDb {
            path: shown.clone(),
            source,
        };
        let conn = match path {
            Some(path) => Connection::open(path),
            None => Connection::open_in_memory(),
        }
        .map_err(open_err)?;
        let pragmas = if path.is_some() {
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;"
        } else {
            "PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF;"
        };
        conn.execute_batch(pragmas).map_err(open_err)?;
        conn.execute_batch(SCHEMA).map_err(open_err)?;
        conn.set_prepared_statement_cache_capacity(64);
        let mut store = Store {
            conn,
            blueprints: HashMap::new(),
            org_id: String::new(),
        };
        store.load()?;
        Ok(store)
    }

    fn load(&mut self) -> Result<(), EmulatorError> {
        let existing: Option<String> = db(
            self.conn
                .query_row("SELECT value FROM meta WHERE key = 'org_id'", [], |r| {
                    r.get(0)
                })
                .optional(),
            "reading the organization id",
        )?;
        self.org_id = match existing {
            Some(id) => id,
            None => {
                let id = format!("org_{}", uuid::Uuid::new_v4().simple());
                db(
                    self.conn.execute(
                        "INSERT INTO meta (key, value) VALUES ('org_id', ?1)",
                        params![id],
                    ),
                    "saving the organization id",
                )?;
                id
            }
        };
        self.blueprints.clear();
        let mut stmt = db(
            self.conn.prepare("SELECT identifier, body FROM blueprints"),
            "loading blueprints",
        )?;
        let rows = db(
            stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))),
            "loading blueprints",
        )?;
        for row in rows {
            let (id, body) = db(row, "loading blueprints")?;
            let json = from_text(&body, "loading blueprints")?;
            let rules = BlueprintRules::from_blueprint(&json).unwrap_or_default();
            self.blueprints.insert(id, CachedBlueprint { json, rules });
        }
        Ok(())
    }

    /// The organization id (generated once, kept in the database).
    pub(crate) fn org_id(&self) -> &str {
        &self.org_id
    }

    /// Forgets everything except the organization id.
    pub(crate) fn reset(&mut self) -> Result<(), EmulatorError> {
        db(
            self.conn.execute_batch(
                "DELETE FROM blueprints; DELETE FROM entities; DELETE FROM integrations;
                 DELETE FROM resync_states; DELETE FROM documents; DELETE FROM ingest;",
            ),
            "resetting the emulator",
        )?;
        self.blueprints.clear();
        Ok(())
    }

    // ----- blueprints -----

    pub(crate) fn blueprint(&self, id: &str) -> Option<&CachedBlueprint> {
        self.blueprints.get(id)
    }

    pub(crate) fn blueprints(&self) -> Vec<Value> {
        let mut all: Vec<&CachedBlueprint> = self.blueprints.values().collect();
        all.sort_by(|a, b| {
            a.json["identifier"]
                .as_str()
                .cmp(&b.json["identifier"].as_str())
        });
        all.into_iter().map(|b| b.json.clone()).collect()
    }

    fn save_blueprint(&mut self, id: &str, json: Value) -> Result<Value, ApiError> {
        let rules = BlueprintRules::from_blueprint(&json).map_err(ApiError::invalid)?;
        for (name, relation) in &rules.relations {
            if relation.target != id && !self.blueprints.contains_key(&relation.target) {
                return Err(ApiError::not_found(format!(
                    "Target blueprint {:?} of relation {name:?} was not found",
                    relation.target
                )));
            }
        }
        db(
            self.conn.execute(
                "INSERT INTO blueprints (identifier, body) VALUES (?1, ?2)
                 ON CONFLICT (identifier) DO UPDATE SET body = excluded.body",
                params![id, to_text(&json)],
            ),
            "saving a blueprint",
        )?;
        self.blueprints.insert(
            id.to_owned(),
            CachedBlueprint {
                json: json.clone(),
                rules,
            },
        );
        Ok(json)
    }

    /// `POST /v1/blueprints`.
    pub(crate) fn create_blueprint(
        &mut self,
        body: Value,
        actor: &str,
        now: i64,
    ) -> Result<Value, ApiError> {
        let Value::Object(mut map) = body else {
            return Err(ApiError::invalid("body must be an object"));
        };
        let Some(id) = map
            .get("identifier")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            return Err(ApiError::invalid(
                "body must have required property 'identifier'",
            ));
        };
        validate::check_blueprint_identifier(&id).map_err(ApiError::invalid)?;
        if !map.get("title").is_some_and(Value::is_string) {
            return Err(ApiError::invalid(
                "body must have required property 'title'",
            ));
        }
        if self.blueprints.contains_key(&id) {
            return Err(ApiError::conflict(
                "identifier_taken",
                format!("A blueprint with identifier {id:?} already exists"),
            ));
        }
        map.entry("schema")
            .or_insert_with(|| json!({"properties": {}, "required": []}));
        map.entry("relations").or_insert_with(|| json!({}));
        for key in [
            "mirrorProperties",
            "calculationProperties",
            "aggregationProperties",
        ] {
            map.entry(key).or_insert_with(|| json!({}));
        }
        let stamp = clock::iso(now);
        map.insert("createdAt".into(), json!(stamp));
        map.insert("updatedAt".into(), json!(stamp));
        map.insert("createdBy".into(), json!(actor));
        map.insert("updatedBy".into(), json!(actor));
        self.save_blueprint(&id, Value::Object(map))
    }

    /// `PATCH /v1/blueprints/{id}` (and `PUT`, with `replace`): top-level keys of the body
    /// replace the stored ones.
    pub(crate) fn patch_blueprint(
        &mut self,
        id: &str,
        body: Value,
        replace: bool,
        actor: &str,
        now: i64,
    ) -> Result<Value, ApiError> {
        let Some(existing) = self.blueprints.get(id) else {
            return Err(blueprint_not_found(id));
        };
        let Value::Object(patch) = body else {
            return Err(ApiError::invalid("body must be an object"));
        };
        let mut merged = existing.json.as_object().cloned().unwrap_or_default();
        if replace {
            merged.retain(|k, _| ["createdAt", "createdBy"].contains(&k.as_str()));
        }
        for (key, value) in patch {
            if key == "identifier" || key == "createdAt" || key == "createdBy" {
                continue;
            }
            merged.insert(key, value);
        }
        merged.insert("identifier".into(), json!(id));
        merged.insert("updatedAt".into(), json!(clock::iso(now)));
        merged.insert("updatedBy".into(), json!(actor));
        self.save_blueprint(id, Value::Object(merged))
    }

    /// `DELETE /v1/blueprints/{id}`: refused while entities of it exist or other blueprints
    /// relate to it.
    pub(crate) fn delete_blueprint(&mut self, id: &str) -> Result<(), ApiError> {
        if !self.blueprints.contains_key(id) {
            return Err(blueprint_not_found(id));
        }
        let count = self.count_entities(id)?;
        if count > 0 {
            return Err(ApiError::conflict(
                "has_entities",
                format!(
                    "Blueprint {id:?} still has {count} entities; delete them first (DELETE /v1/blueprints/{id}/all-entities)"
                ),
            ));
        }
        if let Some((other, relation)) = self.blueprints.iter().find_map(|(other, bp)| {
            bp.rules
                .relations
                .iter()
                .find(|(_, r)| r.target == id && other != id)
                .map(|(name, _)| (other.clone(), name.clone()))
        }) {
            return Err(ApiError::conflict(
                "has_dependents",
                format!("Blueprint {other:?} relates to {id:?} through relation {relation:?}"),
            ));
        }
        db(
            self.conn
                .execute("DELETE FROM blueprints WHERE identifier = ?1", params![id]),
            "deleting a blueprint",
        )?;
        self.blueprints.remove(id);
        Ok(())
    }

    /// `DELETE /v1/blueprints/{id}/all-entities`: deletes every entity (and the blueprint when
    /// asked) at once, and records a completed migration whose id is returned.
    pub(crate) fn delete_all_entities(
        &mut self,
        id: &str,
        delete_blueprint: bool,
        actor: &str,
        now: i64,
    ) -> Result<String, ApiError> {
        if !self.blueprints.contains_key(id) {
            return Err(blueprint_not_found(id));
        }
        db(
            self.conn
                .execute("DELETE FROM entities WHERE blueprint = ?1", params![id]),
            "deleting all entities of a blueprint",
        )?;
        if delete_blueprint {
            db(
                self.conn
                    .execute("DELETE FROM blueprints WHERE identifier = ?1", params![id]),
                "deleting a blueprint",
            )?;
            self.blueprints.remove(id);
        }
        let migration_id = format!("migration_{}", uuid::Uuid::new_v4().simple());
        let stamp = clock::iso(now);
        self.put_doc(
            doc::MIGRATION,
            &migration_id,
            &json!({
                "id": migration_id,
                "actor": actor,
                "sourceBlueprint": id,
                "mapping": null,
                "status": "COMPLETED",
                "createdAt": stamp,
                "updatedAt": stamp,
            }),
        )?;
        Ok(migration_id)
    }

    // ----- integrations -----

    pub(crate) fn integration(&self, id: &str) -> Result<Option<Value>, EmulatorError> {
        let body: Option<String> = db(
            self.conn
                .query_row(
                    "SELECT body FROM integrations WHERE identifier = ?1",
                    params![id],
                    |r| r.get(0),
                )
                .optional(),
            "reading an integration",
        )?;
        body.map(|b| from_text(&b, "reading an integration"))
            .transpose()
    }

    pub(crate) fn integrations(&self) -> Result<Vec<Value>, EmulatorError> {
        let mut stmt = db(
            self.conn
                .prepare("SELECT body FROM integrations ORDER BY identifier"),
            "listing integrations",
        )?;
        let rows = db(
            stmt.query_map([], |r| r.get::<_, String>(0)),
            "listing integrations",
        )?;
        rows.map(|row| from_text(&db(row, "listing integrations")?, "listing integrations"))
            .collect()
    }

    pub(crate) fn put_integration(&mut self, id: &str, body: &Value) -> Result<(), EmulatorError> {
        db(
            self.conn.execute(
                "INSERT INTO integrations (identifier, body) VALUES (?1, ?2)
                 ON CONFLICT (identifier) DO UPDATE SET body = excluded.body",
                params![id, to_text(body)],
            ),
            "saving an integration",
        )?;
        Ok(())
    }

    pub(crate) fn delete_integration(&mut self, id: &str) -> Result<bool, EmulatorError> {
        let n = db(
            self.conn.execute(
                "DELETE FROM integrations WHERE identifier = ?1",
                params![id],
            ),
            "deleting an integration",
        )?;
        Ok(n > 0)
    }

    /// Stores a reported resync state on the integration and in its history.
    pub(crate) fn record_resync_state(
        &mut self,
        id: &str,
        status: &str,
        body: &Value,
        now: i64,
    ) -> Result<Option<Value>, EmulatorError> {
        let Some(mut integration) = self.integration(id)? else {
            return Ok(None);
        };
        let mut state = body.as_object().cloned().unwrap_or_default();
        state.insert("updatedAt".into(), json!(clock::iso(now)));
        integration["resyncState"] = Value::Object(state);
        integration["updatedAt"] = json!(clock::iso(now));
        self.put_integration(id, &integration)?;
        db(
            self.conn.execute(
                "INSERT INTO resync_states (integration, status, body, received_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![id, status, to_text(body), now],
            ),
            "recording a resync state",
        )?;
        Ok(Some(integration))
    }

    pub(crate) fn resync_states(
        &self,
        integration: &str,
    ) -> Result<Vec<ResyncStateRecord>, EmulatorError> {
        let doing = "reading the resync-state history";
        let mut stmt = db(
            self.conn.prepare(
                "SELECT status, body, received_at FROM resync_states
                 WHERE integration = ?1 ORDER BY id",
            ),
            doing,
        )?;
        let rows = db(
            stmt.query_map(params![integration], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            }),
            doing,
        )?;
        rows.map(|row| {
            let (status, body, at) = db(row, doing)?;
            Ok(ResyncStateRecord {
                integration: integration.to_owned(),
                status,
                body: from_text(&body, doing)?,
                received_at_micros: at,
            })
        })
        .collect()
    }

    /// Records a new resync request for the integration (what a click on "Resync" in Port
    /// does); `None` when the integration does not exist.
    pub(crate) fn request_resync(
        &mut self,
        id: &str,
        now: i64,
    ) -> Result<Option<Value>, EmulatorError> {
        if self.integration(id)?.is_none() {
            return Ok(None);
        }
        let request = json!({"id": uuid::Uuid::new_v4().to_string(), "updatedAt": clock::iso(now)});
        self.put_doc(doc::RESYNC_REQUEST, id, &request)?;
        Ok(Some(request))
    }

    // ----- documents -----

    pub(crate) fn doc(&self, kind: &str, key: &str) -> Result<Option<Value>, EmulatorError> {
        let body: Option<String> = db(
            self.conn
                .query_row(
                    "SELECT body FROM documents WHERE kind = ?1 AND key = ?2",
                    params![kind, key],
                    |r| r.get(0),
                )
                .optional(),
            "reading a document",
        )?;
        body.map(|b| from_text(&b, "reading a document"))
            .transpose()
    }

    pub(crate) fn docs(&self, kind: &str) -> Result<Vec<(String, Value)>, EmulatorError> {
        let doing = "listing documents";
        let mut stmt = db(
            self.conn
                .prepare("SELECT key, body FROM documents WHERE kind = ?1 ORDER BY key"),
            doing,
        )?;
        let rows = db(
            stmt.query_map(params![kind], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            }),
            doing,
        )?;
        rows.map(|row| {
            let (key, body) = db(row, doing)?;
            Ok((key, from_text(&body, doing)?))
        })
        .collect()
    }

    pub(crate) fn put_doc(
        &mut self,
        kind: &str,
        key: &str,
        body: &Value,
    ) -> Result<(), EmulatorError> {
        db(
            self.conn.execute(
                "INSERT INTO documents (kind, key, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT (kind, key) DO UPDATE SET body = excluded.body",
                params![kind, key, to_text(body)],
            ),
            "saving a document",
        )?;
        Ok(())
    }

    pub(crate) fn delete_doc(&mut self, kind: &str, key: &str) -> Result<bool, EmulatorError> {
        let n = db(
            self.conn.execute(
                "DELETE FROM documents WHERE kind = ?1 AND key = ?2",
                params![kind, key],
            ),
            "deleting a document",
        )?;
        Ok(n > 0)
    }

    // ----- ingest -----

    pub(crate) fn record_ingest(&mut self, record: &IngestRecord) -> Result<(), EmulatorError> {
        db(
            self.conn.execute(
                "INSERT INTO ingest (integration, channel, method, path, body, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    record.integration,
                    record.channel,
                    record.method,
                    record.path,
                    to_text(&record.body),
                    record.received_at_micros
                ],
            ),
            "recording an ingest request",
        )?;
        Ok(())
    }

    pub(crate) fn ingested(&self) -> Result<Vec<IngestRecord>, EmulatorError> {
        let doing = "listing ingest requests";
        let mut stmt = db(
            self.conn.prepare(
                "SELECT integration, channel, method, path, body, received_at
                 FROM ingest ORDER BY id",
            ),
            doing,
        )?;
        let rows = db(
            stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            }),
            doing,
        )?;
        rows.map(|row| {
            let (integration, channel, method, path, body, at) = db(row, doing)?;
            Ok(IngestRecord {
                integration,
                channel,
                method,
                path,
                body: from_text(&body, doing)?,
                received_at_micros: at,
            })
        })
        .collect()
    }
}

pub(crate) fn blueprint_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Blueprint with identifier {id:?} was not found"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blueprint_lifecycle() {
        let mut store = Store::open(None).unwrap();
        let created = store
            .create_blueprint(
                json!({"identifier": "svc", "title": "Service", "schema": {"properties": {}}}),
                "me",
                0,
            )
            .unwrap();
        assert_eq!(created["createdBy"], "me");
        assert_eq!(
            store
                .create_blueprint(json!({"identifier": "svc", "title": "Again"}), "me", 0)
                .unwrap_err()
                .status,
            409
        );
        let err = store
            .patch_blueprint(
                "svc",
                json!({"relations": {"owner": {"target": "team", "many": false}}}),
                false,
                "me",
                1,
            )
            .unwrap_err();
        assert_eq!(err.status, 404);
        store
            .create_blueprint(json!({"identifier": "team", "title": "Team"}), "me", 0)
            .unwrap();
        let patched = store
            .patch_blueprint(
                "svc",
                json!({"relations": {"owner": {"target": "team", "many": false}}}),
                false,
                "me",
                1,
            )
            .unwrap();
        assert_eq!(patched["title"], "Service");
        assert_eq!(
            store.delete_blueprint("team").unwrap_err().error,
            "has_dependents"
        );
        store.delete_blueprint("svc").unwrap();
        store.delete_blueprint("team").unwrap();
        assert!(store.blueprints().is_empty());
    }

    #[test]
    fn blueprint_needs_identifier_and_title() {
        let mut store = Store::open(None).unwrap();
        let err = store
            .create_blueprint(json!({"title": "x"}), "me", 0)
            .unwrap_err();
        assert_eq!((err.status.as_u16(), err.error), (422, "invalid_request"));
        let err = store
            .create_blueprint(json!({"identifier": "x"}), "me", 0)
            .unwrap_err();
        assert!(err.message.contains("'title'"));
        let err = store
            .create_blueprint(json!({"identifier": "a b", "title": "x"}), "me", 0)
            .unwrap_err();
        assert!(err.message.contains("pattern"));
    }
}
