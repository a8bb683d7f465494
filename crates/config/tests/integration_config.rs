//! The integration's own configuration through the loader: every source, spec validation, and
//! deserialisation into a typed struct.

mod support;

use ocean_model::Secret;
use serde::Deserialize;
use serde_json::json;
use support::with_credentials;

const SPEC: &str = r#"
configurations:
  - name: jiraHost
    type: url
    required: true
  - name: atlassianUserToken
    type: string
    required: true
    sensitive: true
  - name: pageSize
    type: integer
    default: 50
  - name: verifyTls
    type: boolean
    default: true
  - name: extraHeaders
    type: object
  - name: projects
    type: array
  - name: ratio
    type: number
"#;

#[derive(Debug, Deserialize)]
struct JiraConfig {
    jira_host: String,
    atlassian_user_token: Secret,
    page_size: u32,
    verify_tls: bool,
    #[serde(default)]
    extra_headers: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    projects: Option<Vec<String>>,
    ratio: Option<f64>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct CamelConfig {
    jira_host: String,
    page_size: u32,
}

#[test]
fn yaml_config_with_nested_objects_is_validated_and_typed() {
    // Nested objects inside integration.config crash the reference's YAML loader.
    let c = with_credentials().spec(SPEC).yaml(
        "integration:\n  config:\n    jiraHost: https://example.atlassian.net/\n    atlassianUserToken: \"{{ from env JIRA_TOKEN }}\"\n    extraHeaders:\n      X-Custom-Header: one\n      nestedCamel: {keepMe: 1}\n    projects: [A, B]\n    ratio: 0.25\n",
    ).env("JIRA_TOKEN", "tok-123");
    let settings = c.ok();
    let config: JiraConfig = settings.integration_config().unwrap();
    assert_eq!(config.jira_host, "https://example.atlassian.net");
    assert_eq!(config.atlassian_user_token.expose(), "tok-123");
    assert_eq!(config.page_size, 50);
    assert!(config.verify_tls);
    assert_eq!(
        serde_json::Value::Object(config.extra_headers.unwrap()),
        json!({"X-Custom-Header": "one", "nestedCamel": {"keepMe": 1}})
    );
    assert_eq!(config.projects.unwrap(), ["A", "B"]);
    assert_eq!(config.ratio, Some(0.25));
    let camel: CamelConfig = settings.integration_config().unwrap();
    assert_eq!(
        camel,
        CamelConfig {
            jira_host: "https://example.atlassian.net".into(),
            page_size: 50
        }
    );
}

#[test]
fn environment_variables_use_upper_snake_names_and_json_text() {
    let s = with_credentials()
        .spec(SPEC)
        .env(
            "OCEAN__INTEGRATION__CONFIG__JIRA_HOST",
            "https://jira.example.com",
        )
        .env("OCEAN__INTEGRATION__CONFIG__ATLASSIAN_USER_TOKEN", "t")
        .env("OCEAN__INTEGRATION__CONFIG__PAGE_SIZE", "10")
        .env("OCEAN__INTEGRATION__CONFIG__VERIFY_TLS", "false")
        .env("OCEAN__INTEGRATION__CONFIG__EXTRA_HEADERS", r#"{"A": "b"}"#)
        .env("OCEAN__INTEGRATION__CONFIG__PROJECTS", r#"["X"]"#)
        .ok();
    let config = &s.integration.config;
    assert_eq!(config.get("page_size"), Some(&json!(10)));
    assert_eq!(config.get("verify_tls"), Some(&json!(false)));
    assert_eq!(config.get("extra_headers"), Some(&json!({"A": "b"})));
    assert_eq!(config.get("projects"), Some(&json!(["X"])));
    assert_eq!(config.get("ratio"), Some(&json!(null)));
    assert!(config.is_sensitive("atlassian_user_token"));
}

#[test]
fn the_whole_config_as_json_accepts_snake_and_camel_keys() {
    for json_text in [
        r#"{"jira_host": "https://j.example.com", "atlassian_user_token": "t", "page_size": "7"}"#,
        r#"{"jiraHost": "https://j.example.com", "atlassianUserToken": "t", "pageSize": 7}"#,
    ] {
        let s = with_credentials()
            .spec(SPEC)
            .env("OCEAN__INTEGRATION__CONFIG", json_text)
            .ok();
        assert_eq!(
            s.integration.config.get("jira_host"),
            Some(&json!("https://j.example.com")),
            "{json_text}"
        );
        assert_eq!(s.integration.config.get("page_size"), Some(&json!(7)));
    }
}

#[test]
fn env_beats_yaml_inside_the_config_too() {
    // The reference lets the literal YAML value win here.
    let s = with_credentials()
        .spec(SPEC)
        .yaml("integration:\n  config:\n    jiraHost: https://yaml.example.com\n    atlassianUserToken: y\n    pageSize: 10\n")
        .env("OCEAN__INTEGRATION__CONFIG__PAGE_SIZE", "99")
        .ok();
    assert_eq!(s.integration.config.get("page_size"), Some(&json!(99)));
}

#[test]
fn validation_problems_name_key_source_and_expectation() {
    let c = with_credentials()
        .spec(SPEC)
        .yaml("integration:\n  config:\n    jiraHost: not a url\n    pageSize: lots\n")
        .env("OCEAN__INTEGRATION__CONFIG__PROJECTS", "not json")
        .env("OCEAN__INTEGRATION__CONFIG__UNDECLARED", "x");
    assert_eq!(
        c.err(),
        "invalid configuration:\n\
         - integration.config.jiraHost=\"not a url\" (<dir>/config.yaml line 3): expected a URL (like https://example.com), found a string\n\
         - integration.config.atlassian_user_token: required by the integration's spec (configuration \"atlassianUserToken\"); set OCEAN__INTEGRATION__CONFIG__ATLASSIAN_USER_TOKEN or integration.config.atlassianUserToken in config.yaml\n\
         - integration.config.pageSize=\"lots\" (<dir>/config.yaml line 4): expected an integer, found a string\n\
         - OCEAN__INTEGRATION__CONFIG__PROJECTS=\"not json\" (environment): expected a JSON array (or its JSON text), found a string"
    );
}

#[test]
fn undeclared_keys_are_kept_with_a_warning() {
    let s = with_credentials()
        .spec(SPEC)
        .env(
            "OCEAN__INTEGRATION__CONFIG__JIRA_HOST",
            "https://j.example.com",
        )
        .env("OCEAN__INTEGRATION__CONFIG__ATLASSIAN_USER_TOKEN", "t")
        .env("OCEAN__INTEGRATION__CONFIG__TYPO_FIELD", "x")
        .env("OCEAN__INTEGRATION__CONFIG__SSH_KEY", "k3y-material")
        .ok();
    assert_eq!(s.integration.config.get("typo_field"), Some(&json!("x")));
    assert!(!s.integration.config.is_sensitive("typo_field"));
    assert!(s.integration.config.is_sensitive("ssh_key"));
    assert_eq!(
        s.warnings(),
        [
            "OCEAN__INTEGRATION__CONFIG__SSH_KEY (environment): not declared in the spec's configurations; passed to the integration as written, unvalidated; its name looks like a credential, so it is treated as a secret",
            "OCEAN__INTEGRATION__CONFIG__TYPO_FIELD (environment): not declared in the spec's configurations; passed to the integration as written, unvalidated",
        ]
    );
}

#[test]
fn without_a_spec_the_config_stays_raw() {
    let s = with_credentials()
        .yaml("integration:\n  config:\n    pageSize: 10\n    nested: {innerKey: 1}\n")
        .env("OCEAN__INTEGRATION__CONFIG__API_TOKEN", "raw")
        .ok();
    let config = &s.integration.config;
    assert!(!config.is_validated());
    assert_eq!(config.get("page_size"), Some(&json!(10)));
    assert_eq!(config.get("nested"), Some(&json!({"innerKey": 1})));
    assert_eq!(config.get("api_token"), Some(&json!("raw")));
    assert!(config.is_sensitive("api_token"));
}

#[test]
fn typed_deserialisation_errors_name_the_field() {
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Strict {
        jira_host: String,
        missing_field: String,
    }
    let s = with_credentials()
        .spec(SPEC)
        .env(
            "OCEAN__INTEGRATION__CONFIG__JIRA_HOST",
            "https://j.example.com",
        )
        .env("OCEAN__INTEGRATION__CONFIG__ATLASSIAN_USER_TOKEN", "t")
        .ok();
    let err = s.integration_config::<Strict>().unwrap_err().to_string();
    assert_eq!(
        err,
        "integration.config does not fit the integration's settings type integration_config::typed_deserialisation_errors_name_the_field::Strict: missing field `missing_field`"
    );
}

#[test]
fn text_from_the_environment_fills_typed_numbers_and_booleans_without_a_spec() {
    #[derive(Debug, Deserialize, PartialEq)]
    struct Fake {
        item_count: u64,
        ratio: f64,
        verbose: bool,
        name: String,
        tags: Vec<u32>,
    }
    let s = with_credentials()
        .env("OCEAN__INTEGRATION__CONFIG__ITEM_COUNT", "3000")
        .env("OCEAN__INTEGRATION__CONFIG__RATIO", "0.5")
        .env("OCEAN__INTEGRATION__CONFIG__VERBOSE", "True")
        .env("OCEAN__INTEGRATION__CONFIG__NAME", "1234")
        .env("OCEAN__INTEGRATION__CONFIG__TAGS", "[1, 2]")
        .ok();
    let parsed: Fake = s.integration_config().unwrap();
    assert_eq!(
        parsed,
        Fake {
            item_count: 3000,
            ratio: 0.5,
            verbose: true,
            // A string field keeps text that looks like a number.
            name: "1234".into(),
            tags: vec![1, 2],
        }
    );
}

#[test]
fn text_that_spells_no_number_still_names_the_field() {
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Fake {
        item_count: u64,
    }
    let s = with_credentials()
        .env("OCEAN__INTEGRATION__CONFIG__ITEM_COUNT", "lots")
        .ok();
    let err = s.integration_config::<Fake>().unwrap_err().to_string();
    assert!(err.contains("item_count"), "{err}");
    assert!(err.contains("lots"), "{err}");
}
