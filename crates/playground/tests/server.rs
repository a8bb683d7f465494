//! The playground's server over HTTP, on the fake integration's folder: the page, the setup the
//! page starts from, an example, a mapping run, a sample fetched by a stand-in binary, and the
//! refusal of requests addressed to another host.

use ocean_playground::{PlaygroundConfig, RunningPlayground};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

fn fake() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../integrations/fake")
}

async fn start(binary: Option<PathBuf>) -> RunningPlayground {
    ocean_playground::serve(PlaygroundConfig {
        folder: Some(fake()),
        binary,
        ..PlaygroundConfig::default()
    })
    .await
    .expect("the playground starts")
}

#[tokio::test]
async fn serves_the_page_setup_examples_and_mappings() {
    let playground = start(None).await;
    let http = reqwest::Client::new();
    let url = playground.url();

    let page = http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("/playground.js") && !html.contains("https://"));

    let setup: Value = http
        .get(format!("{url}api/setup"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let config = setup["config"].as_str().unwrap().to_owned();
    assert!(config.contains("kind: service"));
    assert_eq!(setup["name"], "fake");
    assert_eq!(
        setup["examples"],
        json!(["deployment", "item", "service", "team"])
    );

    let example = http
        .get(format!("{url}api/examples/service"))
        .send()
        .await
        .unwrap();
    assert_eq!(example.status(), StatusCode::OK);
    let items = example.text().await.unwrap();
    let missing = http
        .get(format!("{url}api/examples/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let report: Value = http
        .post(format!("{url}api/map"))
        .json(&json!({"config": config.replace("tier: .tier", "tier: .tier | ascii"), "items": items, "kind": "service"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let resource = &report["resources"][0];
    assert_eq!(resource["kind"], "service");
    assert_eq!(resource["entityCount"], 8);
    let tier = resource["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "properties.tier")
        .unwrap();
    assert_eq!(tier["expression"], ".tier | ascii");
    assert!(tier["error"].is_string(), "{tier}");
    assert_eq!(tier["nullEntities"], 8);

    playground.shutdown().await.unwrap();
}

#[tokio::test]
async fn fetches_samples_with_the_integration_binary_and_refuses_other_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("ocean-fake");
    std::fs::write(
        &binary,
        "#!/bin/sh\n[ \"$1\" = --sample ] && printf '[{\"id\": \"from-%s\"}]' \"$2\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    let playground = start(Some(binary)).await;
    let http = reqwest::Client::new();
    let url = playground.url();
    let answer: Value = http
        .post(format!("{url}api/sample"))
        .json(&json!({"kind": "team"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["items"], "[{\"id\": \"from-team\"}]");

    let other = http
        .get(format!("{url}api/setup"))
        .header("host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
    playground.shutdown().await.unwrap();
}
