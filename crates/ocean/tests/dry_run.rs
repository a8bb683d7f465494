//! Dry runs against the in-process emulator holding a known catalog: the plan names exactly the
//! creates, the updates with their fields, the unchanged entities and the deletes, and the
//! emulator receives no write; a failing kind means the plan deletes nothing.

use std::path::Path;

use ocean::lifecycle::{Action, PlanOptions};
use ocean::prelude::*;
use ocean::testing::TestOcean;

#[derive(Deserialize)]
struct Config {
    /// Items `skip..count`.
    skip: usize,
    count: usize,
    /// Items below this index get a changed text.
    changed: usize,
    /// The `note` kind fails.
    #[serde(default)]
    fail_notes: bool,
}

struct Greetings(Config);

impl Integration for Greetings {
    fn kinds(&self) -> Vec<String> {
        vec!["greeting".into(), "note".into()]
    }

    fn fetch(&self, ctx: FetchContext) -> PageStream {
        let c = &self.0;
        if ctx.kind() == "note" {
            if c.fail_notes {
                return Box::pin(stream::iter([Err(FetchError::new(
                    "the notes API is down",
                ))]));
            }
            let page: Page = vec![json!({"id": "n-1", "text": "remember"})];
            return Box::pin(stream::iter([Ok(page)]));
        }
        let items: Page = (c.skip..c.count)
            .map(|i| {
                let text = if i < c.changed {
                    format!("hi {i}")
                } else {
                    format!("hello {i}")
                };
                json!({"id": format!("g-{i:02}"), "text": text})
            })
            .collect();
        Box::pin(stream::iter([Ok(items)]))
    }
}

fn project(dir: &Path) {
    let resources = dir.join(".port/resources");
    std::fs::create_dir_all(&resources).unwrap();
    std::fs::write(
        resources.join("blueprints.json"),
        r#"[{"identifier": "greeting", "title": "Greeting",
             "schema": {"properties": {"text": {"type": "string"}}, "required": []}},
            {"identifier": "note", "title": "Note",
             "schema": {"properties": {"text": {"type": "string"}}, "required": []}}]"#,
    )
    .unwrap();
    let resource = |kind: &str| {
        format!(
            "  - kind: {kind}\n    selector:\n      query: 'true'\n    port:\n      entity:\n        mappings:\n          identifier: .id\n          title: .text\n          blueprint: '\"{kind}\"'\n          properties:\n            text: .text\n"
        )
    };
    std::fs::write(
        resources.join("port-app-config.yml"),
        format!("resources:\n{}{}", resource("greeting"), resource("note")),
    )
    .unwrap();
}

async fn start(
    dir: &Path,
    config: Value,
    port: Option<ocean::testing::RunningEmulator>,
) -> TestOcean {
    let mut builder = TestOcean::builder("greet", dir).config(config);
    if let Some(port) = port {
        builder = builder.port(port);
    }
    builder
        .start(|config: Config| async move { Ok(Greetings(config)) })
        .await
        .expect("the integration starts")
}

/// The integration resynced with `before` into a fresh Port, then started again with `after`
/// against the same Port (nothing run yet).
async fn resynced_then(dir: &Path, before: Value, after: Value) -> TestOcean {
    project(dir);
    let ocean = start(dir, before, None).await;
    assert!(ocean.resync().await.is_success());
    let port = ocean.stop().await;
    start(dir, after, Some(port)).await
}

/// Requests that change something in Port (searches, the owned-entity listing and the token
/// request are reads sent as POST).
fn writes(requests: &[ocean::testing::RecordedRequest]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| {
            r.method != "GET"
                && !r.path.ends_with("/search")
                && !r.path.ends_with("/datasource-entities")
                && !r.path.ends_with("/access_token")
        })
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_plans_exactly_what_the_resync_would_do_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // Port holds g-00..g-29 and n-1; now the API lists g-02..g-31 with g-02..g-04 changed.
    let ocean = resynced_then(
        dir.path(),
        json!({"skip": 0, "count": 30, "changed": 0}),
        json!({"skip": 2, "count": 32, "changed": 5}),
    )
    .await;
    let before = ocean.port().requests().len();
    let plan = ocean.ocean().plan(PlanOptions { show: None }).await;
    let during = ocean.port().requests()[before..].to_vec();
    assert_eq!(
        writes(&during),
        Vec::<String>::new(),
        "a dry run writes nothing"
    );

    assert!(plan.completes, "{}", plan.outcome);
    let greeting = &plan.blueprints["greeting"];
    assert_eq!(
        (
            greeting.create,
            greeting.update,
            greeting.unchanged,
            greeting.delete
        ),
        (2, 3, 25, 2)
    );
    let ids = |action: Action| -> Vec<&str> {
        greeting
            .changes
            .iter()
            .filter(|c| c.action == action)
            .map(|c| c.identifier.as_str())
            .collect()
    };
    assert_eq!(ids(Action::Create), ["g-30", "g-31"]);
    assert_eq!(ids(Action::Update), ["g-02", "g-03", "g-04"]);
    let mut deleted = ids(Action::Delete);
    deleted.sort();
    assert_eq!(deleted, ["g-00", "g-01"]);
    let update = greeting
        .changes
        .iter()
        .find(|c| c.identifier == "g-03")
        .unwrap();
    let fields: Vec<(&str, &Value, &Value)> = update
        .fields
        .iter()
        .map(|f| (f.field.as_str(), &f.old, &f.new))
        .collect();
    assert_eq!(
        fields,
        [
            ("title", &json!("hello 3"), &json!("hi 3")),
            ("properties.text", &json!("hello 3"), &json!("hi 3")),
        ]
    );
    let note = &plan.blueprints["note"];
    assert_eq!(
        (note.create, note.update, note.unchanged, note.delete),
        (0, 0, 1, 0)
    );
    assert!(plan.deletion.runs && !plan.deletion.threshold_exceeded);
    assert_eq!((plan.deletion.stale, plan.deletion.delete), (2, 2));
    // Port still holds what it held: the dry run changed nothing.
    assert_eq!(ocean.identifiers("greeting").await.len(), 30);

    // With a bound on the listed changes, the rest are counted.
    let short = ocean.ocean().plan(PlanOptions { show: Some(1) }).await;
    assert_eq!(short.blueprints["greeting"].changes.len(), 1);
    assert_eq!(short.blueprints["greeting"].more_changes, 6);
    ocean.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_kind_means_the_plan_deletes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ocean = resynced_then(
        dir.path(),
        json!({"skip": 0, "count": 12, "changed": 0}),
        json!({"skip": 6, "count": 12, "changed": 0, "fail_notes": true}),
    )
    .await;
    let before = ocean.port().requests().len();
    let plan = ocean.ocean().plan(PlanOptions::default()).await;
    assert_eq!(
        writes(&ocean.port().requests()[before..]),
        Vec::<String>::new()
    );
    assert!(!plan.completes);
    assert_eq!(plan.failed_kinds.len(), 1, "{:?}", plan.failed_kinds);
    assert!(
        plan.failed_kinds[0].contains("note"),
        "{:?}",
        plan.failed_kinds
    );
    assert_eq!(plan.deletes(), 0);
    assert!(!plan.deletion.runs);
    assert!(
        plan.deletion
            .skipped_because
            .as_deref()
            .is_some_and(|why| why.contains("kinds failed")),
        "{:?}",
        plan.deletion
    );
    assert_eq!(plan.blueprints["greeting"].unchanged, 6);
    ocean.shutdown().await;
}
