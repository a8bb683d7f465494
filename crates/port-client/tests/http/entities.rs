//! Entities on the wire: bulk upsert (chunks, per-entity results, 413 fallback, failed chunks),
//! bulk and single delete, the datasource listing with paging, and search.

use ocean_model::{Entity, EntityKey};
use ocean_port_client::{
    DeleteOptions, DeleteOutcome, EventInfo, FailureCause, SingleUpsert, UpsertFailure,
    UpsertOptions, UpsertOutcome, UserAgentFeature,
};
use serde_json::{Value, json};
use time::macros::datetime;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, Request, ResponseTemplate};

use crate::*;

fn entity(blueprint: &str, id: &str) -> Entity {
    Entity {
        identifier: json!(id),
        blueprint: json!(blueprint),
        title: Some(json!(id.to_uppercase())),
        ..Entity::default()
    }
}

/// Answers a bulk upsert with a success for every entity, echoing identifiers.
fn echo_bulk(request: &Request) -> ResponseTemplate {
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    let results: Vec<Value> = body["entities"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, e)| json!({"identifier": e["identifier"], "index": i, "created": true}))
        .collect();
    ResponseTemplate::new(200).set_body_json(json!({"entities": results, "errors": []}))
}

#[tokio::test]
async fn bulk_upsert_maps_results_by_index() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/blueprints/svc/entities/bulk"))
        .respond_with(ResponseTemplate::new(207).set_body_json(json!({
            "entities": [{"identifier": "a", "index": 0, "created": true},
                         {"identifier": "resolved-c", "index": 2, "created": false}],
            "errors": [{"identifier": "b", "index": 1, "statusCode": 422,
                        "error": "invalid_entity", "message": "property x is not a number"},
                       {"identifier": "unknown", "index": 3, "statusCode": 404,
                        "error": "not_found", "message": "no match"}]
        })))
        .mount(&server)
        .await;
    let mut c = entity("svc", "c");
    c.identifier = json!({"combinator": "and", "rules": []});
    let mut d = entity("svc", "d");
    d.identifier = json!({"combinator": "and", "rules": [{"property": "x"}]});
    let entities = vec![
        entity("svc", "a"),
        entity("svc", "b"),
        c,
        d,
        entity("svc", "e"),
    ];
    let options = UpsertOptions {
        event: Some(EventInfo::resync("resync-1")),
        ..UpsertOptions::default()
    };
    let outcomes = client
        .upsert_entities_bulk("svc", &entities, &options)
        .await;
    assert_eq!(
        outcomes,
        vec![
            UpsertOutcome::Upserted {
                identifier: json!("a")
            },
            UpsertOutcome::Failed(UpsertFailure {
                status: Some(422),
                message: "property x is not a number".into(),
                cause: FailureCause::Entity,
            }),
            UpsertOutcome::Upserted {
                identifier: json!("resolved-c")
            },
            UpsertOutcome::SearchIdentifierMiss,
            UpsertOutcome::Failed(UpsertFailure {
                status: None,
                message: "Port reported no result for this entity".into(),
                cause: FailureCause::Entity,
            }),
        ]
    );
    let m = client.metrics();
    assert_eq!((m.entities_upserted, m.entities_failed), (2, 2));

    let sent = received_on(&server, "/v1/blueprints/svc/entities/bulk").await;
    assert_eq!(sent.len(), 1);
    let request = &sent[0];
    assert_eq!(
        header(request, "user-agent"),
        "port-ocean/jira/0.3.1/my-jira/exporter"
    );
    assert_eq!(header(request, "authorization"), "Bearer t1");
    assert_eq!(header(request, "content-type"), "application/json");
    let expected_query: Vec<(String, String)> = [
        ("upsert", "true"),
        ("merge", "true"),
        ("create_missing_related_entities", "true"),
        ("validation_only", "false"),
        ("ocean_info_event_type", "resync"),
        ("ocean_info_resync_id", "resync-1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(query(request), expected_query);
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(
        body["entities"][0],
        json!({"identifier": "a", "blueprint": "svc", "title": "A"})
    );
    assert_eq!(body["entities"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn large_groups_are_split_into_chunks_and_results_keep_input_order() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/blueprints/svc/entities/bulk"))
        .respond_with(echo_bulk)
        .mount(&server)
        .await;
    let entities: Vec<Entity> = (0..45)
        .map(|i| entity("svc", &format!("e{i:02}")))
        .collect();
    let outcomes = client
        .upsert_entities_bulk("svc", &entities, &UpsertOptions::default())
        .await;
    let ids: Vec<Value> = outcomes
        .iter()
        .map(|o| match o {
            UpsertOutcome::Upserted { identifier } => identifier.clone(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    let expected: Vec<Value> = entities.iter().map(|e| e.identifier.clone()).collect();
    assert_eq!(ids, expected);
    let mut sizes: Vec<usize> = received_on(&server, "/v1/blueprints/svc/entities/bulk")
        .await
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["entities"]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![5, 20, 20]);
}

#[tokio::test]
async fn mixed_blueprints_are_grouped() {
    let (server, client) = setup().await;
    for bp in ["svc", "team"] {
        Mock::given(method("POST"))
            .and(path(format!("/v1/blueprints/{bp}/entities/bulk")))
            .respond_with(echo_bulk)
            .expect(1)
            .mount(&server)
            .await;
    }
    let entities = vec![entity("svc", "a"), entity("team", "t"), entity("svc", "b")];
    let outcomes = client
        .upsert_entities(&entities, &UpsertOptions::default())
        .await;
    assert_eq!(
        outcomes,
        vec![
            UpsertOutcome::Upserted {
                identifier: json!("a")
            },
            UpsertOutcome::Upserted {
                identifier: json!("t")
            },
            UpsertOutcome::Upserted {
                identifier: json!("b")
            },
        ]
    );
}

#[tokio::test]
async fn a_413_falls_back_to_single_upserts() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/blueprints/svc/entities/bulk"))
        .respond_with(ResponseTemplate::new(413))
        .mount(&server)
        .await;
    let single =
        |request: &Request| {
            let sent: Value = serde_json::from_slice(&request.body).unwrap();
            match sent["identifier"].as_str() {
                Some("ok") => ResponseTemplate::new(200).set_body_json(json!({
                    "ok": true,
                    "entity": {"identifier": "ok", "blueprint": "svc", "title": "OK"}
                })),
                Some("orphan") => ResponseTemplate::new(404)
                    .set_body_json(json!({"ok": false, "error": "not_found"})),
                Some("bad") => ResponseTemplate::new(422)
                    .set_body_json(json!({"ok": false, "error": "invalid"})),
                _ => ResponseTemplate::new(200).set_body_json(json!({
                    "ok": true,
                    "entity": {"identifier": sent["identifier"], "blueprint": "svc"}
                })),
            }
        };
    Mock::given(method("POST"))
        .and(path("/v1/blueprints/svc/entities"))
        .respond_with(single)
        .mount(&server)
        .await;
    let mut query_entity = entity("svc", "q");
    query_entity.identifier = json!({"combinator": "and", "rules": []});
    let entities = vec![
        entity("svc", "ok"),
        entity("svc", "orphan"),
        entity("svc", "bad"),
        query_entity,
    ];
    let outcomes = client
        .upsert_entities_bulk("svc", &entities, &UpsertOptions::default())
        .await;
    assert_eq!(
        outcomes[0],
        UpsertOutcome::Upserted {
            identifier: json!("ok")
        }
    );
    assert_eq!(
        outcomes[1],
        UpsertOutcome::Failed(UpsertFailure {
            status: Some(404),
            message: "a related entity does not exist".into(),
            cause: FailureCause::Entity,
        })
    );
    assert!(
        matches!(&outcomes[2], UpsertOutcome::Failed(f) if f.status == Some(422)),
        "{:?}",
        outcomes[2]
    );
    assert_eq!(outcomes[3], UpsertOutcome::SearchIdentifierMiss);
    let singles = received_on(&server, "/v1/blueprints/svc/entities").await;
    assert_eq!(singles.len(), 4);
    assert!(
        singles
            .iter()
            .all(|r| header(r, "user-agent").ends_with("/exporter"))
    );
    assert_eq!(
        query(&singles[0])[0],
        ("upsert".to_string(), "true".to_string())
    );
    let m = client.metrics();
    assert_eq!((m.entities_upserted, m.entities_failed), (1, 2));
}

#[tokio::test]
async fn a_failed_chunk_marks_all_its_entities_failed() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/blueprints/svc/entities/bulk"))
        .respond_with(ResponseTemplate::new(400).set_body_string("schema mismatch"))
        .mount(&server)
        .await;
    let entities = vec![entity("svc", "a"), entity("svc", "b")];
    let outcomes = client
        .upsert_entities_bulk("svc", &entities, &UpsertOptions::default())
        .await;
    for outcome in &outcomes {
        let UpsertOutcome::Failed(f) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(f.status, Some(400));
        assert!(f.message.contains("schema mismatch"), "{}", f.message);
    }
    assert_eq!(client.metrics().entities_failed, 2);
}

#[tokio::test]
async fn single_upsert_reports_its_quirks() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/blueprints/svc/entities"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true,
            "entity": {"identifier": "a", "blueprint": "svc", "properties": {"p": 1}}
        })))
        .mount(&server)
        .await;
    let got = client
        .upsert_entity(&entity("svc", "a"), &UpsertOptions::default())
        .await
        .unwrap();
    let SingleUpsert::Upserted(stored) = got else {
        panic!("{got:?}")
    };
    assert_eq!(stored.properties.unwrap()["p"], json!(1));
}

#[tokio::test]
async fn bulk_delete_batches_by_100_and_reports_partial_failures() {
    let (server, client) = setup().await;
    let respond = |request: &Request| {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let ids = body["entities"].as_array().unwrap();
        if ids[0] == json!("id100") {
            return ResponseTemplate::new(500).set_body_string("down");
        }
        // Port may delete only part of a batch.
        let deleted: Vec<&Value> = ids.iter().filter(|id| *id != &json!("id7")).collect();
        ResponseTemplate::new(200).set_body_json(json!({"deletedEntities": deleted}))
    };
    Mock::given(method("POST"))
        .and(path("/v1/blueprints/svc/bulk/entities/delete"))
        .respond_with(respond)
        .mount(&server)
        .await;
    let ids: Vec<String> = (0..250).map(|i| format!("id{i}")).collect();
    let options = DeleteOptions {
        event: Some(EventInfo::resync("r-9")),
        ..DeleteOptions::default()
    };
    let report = client.delete_entities_bulk("svc", &ids, &options).await;
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].status(), Some(500));
    assert_eq!(report.deleted.len(), 149);
    assert!(!report.deleted.contains(&"id7".to_string()));
    assert!(report.deleted.contains(&"id249".to_string()));
    let sent = received_on(&server, "/v1/blueprints/svc/bulk/entities/delete").await;
    let mut sizes: Vec<usize> = sent
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["entities"]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    sizes.sort_unstable();
    // The batch answered 500 may have been applied; deleting again is harmless, so it is sent
    // once and retried three times.
    assert_eq!(sizes, vec![50, 100, 100, 100, 100, 100]);
    assert_eq!(
        query(&sent[0]),
        vec![
            ("delete_dependents".to_string(), "true".to_string()),
            ("ocean_info_event_type".to_string(), "resync".to_string()),
            ("ocean_info_resync_id".to_string(), "r-9".to_string()),
        ]
    );
    assert_eq!(client.metrics().entities_deleted, 149);

    let nothing = client
        .delete_entities_bulk::<String>("svc", &[], &options)
        .await;
    assert!(nothing.deleted.is_empty() && nothing.errors.is_empty());
}

#[tokio::test]
async fn single_delete_treats_404_as_already_gone() {
    let (server, client) = setup().await;
    Mock::given(method("DELETE"))
        .and(path("/v1/blueprints/svc/entities/gone"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/blueprints/svc/entities/a%20b%2Fc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .mount(&server)
        .await;
    let options = DeleteOptions::default();
    assert_eq!(
        client.delete_entity("svc", "gone", &options).await.unwrap(),
        DeleteOutcome::NotFound
    );
    assert_eq!(
        client
            .delete_entity("svc", "a b/c", &options)
            .await
            .unwrap(),
        DeleteOutcome::Deleted
    );
}

#[tokio::test]
async fn own_entities_are_listed_page_by_page() {
    let (server, client) = setup().await;
    let list_path = "/v1/blueprints/entities/datasource-entities";
    Mock::given(method("POST"))
        .and(path(list_path))
        .and(body_partial_json(json!({"from": "cursor-2"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "entities": [{"identifier": "c", "blueprint": "team"}],
            "next": null
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(list_path))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "entities": [{"identifier": "a", "blueprint": "svc", "title": "A"},
                         {"identifier": "b", "blueprint": "svc"}],
            "next": "cursor-2"
        })))
        .with_priority(2)
        .mount(&server)
        .await;
    let before = datetime!(2026-01-01 10:00:00.123456 UTC);
    let keys = client.list_own_entities(Some(before)).await.unwrap();
    assert_eq!(
        keys,
        vec![
            EntityKey::from_strs("svc", "a"),
            EntityKey::from_strs("svc", "b"),
            EntityKey::from_strs("team", "c"),
        ]
    );
    let sent = received_on(&server, list_path).await;
    assert_eq!(sent.len(), 2);
    let first: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(
        first,
        json!({
            "datasource_prefix": "port-ocean/jira/",
            "datasource_suffix": "/my-jira/exporter",
            "limit": 1000,
            "before": "2026-01-01T10:00:00.123456+00:00"
        })
    );
    let second: Value = serde_json::from_slice(&sent[1].body).unwrap();
    assert_eq!(second["from"], json!("cursor-2"));
    assert_eq!(
        header(&sent[0], "user-agent"),
        "port-ocean/jira/0.3.1/my-jira/exporter"
    );
}

#[tokio::test]
async fn a_repeated_page_cursor_stops_the_listing() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/blueprints/entities/datasource-entities"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"entities": [], "next": "same"})),
        )
        .mount(&server)
        .await;
    let err = client.list_own_entities(None).await.unwrap_err();
    assert!(err.to_string().contains("same page cursor"), "{err}");
}

#[tokio::test]
async fn search_appends_datasource_rules_and_include_params() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/entities/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true,
            "entities": [{"identifier": "a", "blueprint": "svc", "title": "A",
                          "properties": {"lang": "go"}, "$datasource": "x"}]
        })))
        .mount(&server)
        .await;
    let query_body = json!({
        "combinator": "and",
        "rules": [{"property": "$identifier", "operator": "in", "value": ["a"]},
                  {"property": "$blueprint", "operator": "=", "value": "svc"}]
    });
    let found = client
        .search_entities(
            &query_body,
            &["blueprint", "identifier", "title", "properties.lang"],
            UserAgentFeature::Exporter,
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].title, Some(json!("A")));
    let sent = &received_on(&server, "/v1/entities/search").await[0];
    let body: Value = serde_json::from_slice(&sent.body).unwrap();
    let rules = body["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 4);
    assert_eq!(
        rules[2],
        json!({"property": "$datasource", "operator": "contains", "value": "port-ocean/jira/"})
    );
    assert_eq!(
        rules[3],
        json!({"property": "$datasource", "operator": "contains", "value": "/my-jira/exporter"})
    );
    let q: Vec<String> = query(sent)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    assert_eq!(
        q,
        vec![
            "exclude_calculated_properties=true",
            "include=blueprint",
            "include=identifier",
            "include=title",
            "include=properties.lang"
        ]
    );

    // Without rules, nothing is appended; identifier and blueprint are always included.
    client
        .search_entities(
            &json!({"combinator": "and", "rules": []}),
            &[],
            UserAgentFeature::Exporter,
        )
        .await
        .unwrap();
    let sent = &received_on(&server, "/v1/entities/search").await[1];
    let body: Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["rules"], json!([]));
    let q: Vec<String> = query(sent)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    assert_eq!(
        q,
        vec![
            "exclude_calculated_properties=true",
            "include=blueprint",
            "include=identifier"
        ]
    );
}

/// The lifecycle spawns upserts on the multi-threaded runtime: their futures must be `Send`.
#[test]
fn upsert_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let client = PortClient::new(config_for("http://127.0.0.1:9")).expect("client builds");
    let options = UpsertOptions::default();
    let entities: Vec<Entity> = Vec::new();
    let all = client.upsert_entities(&entities, &options);
    assert_send(&all);
    let bulk = client.upsert_entities_bulk("svc", &entities, &options);
    assert_send(&bulk);
}

#[tokio::test]
async fn a_missing_blueprint_fails_every_entity_with_that_cause() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/blueprints/ghost/entities/bulk"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "ok": false, "error": "not_found",
            "message": "Blueprint with identifier \"ghost\" was not found"
        })))
        .mount(&server)
        .await;
    let outcomes = client
        .upsert_entities_bulk(
            "ghost",
            &[entity("ghost", "a"), entity("ghost", "b")],
            &UpsertOptions::default(),
        )
        .await;
    for outcome in outcomes {
        let UpsertOutcome::Failed(failure) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(failure.cause, FailureCause::MissingBlueprint);
        assert_eq!(
            failure.message,
            "Blueprint with identifier \"ghost\" was not found"
        );
    }
    // A 404 is an answer: not retried.
    assert_eq!(
        received_on(&server, "/v1/blueprints/ghost/entities/bulk")
            .await
            .len(),
        1
    );
}
