//! Shared set-up for the emulator's HTTP tests: an emulator on an ephemeral port and a plain
//! reqwest client that authenticates against it.

#![allow(dead_code)]

use port_emulator::{EmulatorConfig, RunningEmulator};
use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{Value, json};

/// The user agent Python Ocean sends for exporter writes of integration `my-fake`.
pub const EXPORTER_UA: &str = "port-ocean/fake/0.1.0/my-fake/exporter";

pub struct Harness {
    pub emulator: RunningEmulator,
    pub http: Client,
    pub token: String,
}

impl Harness {
    pub async fn start() -> Harness {
        Self::with_config(EmulatorConfig::default()).await
    }

    pub async fn with_config(config: EmulatorConfig) -> Harness {
        let emulator = port_emulator::spawn(config).await.expect("emulator starts");
        let http = Client::new();
        let token = token(&http, &emulator).await;
        Harness {
            emulator,
            http,
            token,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emulator.base_url())
    }

    /// An authenticated request with the exporter user agent.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token)
            .header("user-agent", EXPORTER_UA);
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.expect("request is answered")).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(body)).await
    }

    /// Creates the two blueprints of the shared benchmark workload (`benchGroup`, `benchItem`).
    pub async fn bench_blueprints(&self) {
        let (status, body) = self
            .post(
                "/v1/blueprints",
                json!({"identifier": "benchGroup", "title": "Bench Group", "schema": {"properties": {}}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, body) = self
            .post(
                "/v1/blueprints",
                json!({
                    "identifier": "benchItem", "title": "Bench Item",
                    "schema": {"properties": {
                        "status": {"type": "string", "enum": ["OPEN", "IN_PROGRESS", "BLOCKED", "CLOSED"]},
                        "weight": {"type": "number"},
                        "ownerEmail": {"type": "string", "format": "email"},
                        "labels": {"type": "array", "items": {"type": "string"}},
                        "createdAt": {"type": "string", "format": "date-time"},
                        "description": {"type": "string"}
                    }, "required": ["status"]},
                    "relations": {
                        "group": {"title": "Group", "target": "benchGroup", "required": false, "many": false},
                        "parent": {"title": "Parent", "target": "benchItem", "required": false, "many": false}
                    }
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
}

pub async fn token(http: &Client, emulator: &RunningEmulator) -> String {
    let response = http
        .post(format!("{}/v1/auth/access_token", emulator.base_url()))
        .json(&json!({
            "clientId": emulator.client_id(),
            "clientSecret": emulator.client_secret().expose(),
        }))
        .send()
        .await
        .expect("token request is answered");
    let (status, body) = read(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["accessToken"].as_str().expect("a token").to_owned()
}

pub async fn read(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("a body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

/// A valid benchItem entity.
pub fn item(id: &str) -> Value {
    json!({
        "identifier": id,
        "title": format!("Item {id}"),
        "blueprint": "benchItem",
        "properties": {"status": "OPEN", "weight": 12.5, "labels": ["a"], "description": null},
        "relations": {"group": "g1", "parent": null}
    })
}

pub const BULK: &str = "/v1/blueprints/benchItem/entities/bulk?upsert=true&merge=true&create_missing_related_entities=true&validation_only=false";
