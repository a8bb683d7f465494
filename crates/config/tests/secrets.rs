//! A secret given by any source never appears in the printed configuration, in `Debug` output or
//! in an error message.

mod support;

use serde_json::json;
use support::{Case, case};

const SPEC: &str = "configurations:\n  - {name: apiToken, type: string, sensitive: true}\n  - {name: signingKey, type: integer, sensitive: true}\n  - {name: host, type: string}\n";

/// Cases that each carry distinctive secrets through one source (and credentials elsewhere).
fn cases() -> Vec<(&'static str, Case, Vec<&'static str>)> {
    vec![
        (
            "yaml literal",
            case().yaml(
                "port:\n  clientId: yaml-id-1f\n  clientSecret: yaml-secret-2e\nliveEvents:\n  redis:\n    password: yaml-redis-pw\n",
            ),
            vec!["yaml-id-1f", "yaml-secret-2e", "yaml-redis-pw"],
        ),
        (
            "yaml provider",
            case()
                .yaml("port:\n  clientId: \"{{ from env CID }}\"\n  clientSecret: \"{{ from env CSECRET }}\"\n")
                .env("CID", "prov-id-3d")
                .env("CSECRET", "prov-secret-4c"),
            vec!["prov-id-3d", "prov-secret-4c"],
        ),
        (
            ".env",
            case().dotenv(
                "OCEAN__PORT__CLIENT_ID=dotenv-id-5b\nOCEAN__PORT__CLIENT_SECRET='dotenv-secret-6a'\nOCEAN__IDENTITY_PROPAGATION__OAUTH__STATE_SIGNING_SECRET=dotenv-sign-7\n",
            ),
            vec!["dotenv-id-5b", "dotenv-secret-6a", "dotenv-sign-7"],
        ),
        (
            "environment",
            case()
                .env("OCEAN__PORT__CLIENT_ID", "env-id-8")
                .env("OCEAN__PORT__CLIENT_SECRET", "env-secret-9")
                .env("OCEAN__EVENT_LISTENER", r#"{"type": "WEBHOOK", "app_host": "https://env-host-10.example.com/"}"#)
                .env("OCEAN__IDENTITY_PROPAGATION__VAULT__AWS_SECRET_ACCESS_KEY", "env-aws-11"),
            vec!["env-id-8", "env-secret-9", "env-host-10", "env-aws-11"],
        ),
        (
            "override",
            case()
                .set("port", json!({"client_id": "ovr-id-12", "client_secret": "ovr-secret-13"}))
                .set("live_events.redis", json!({"url": "rediss://r:1", "enable_tls": true, "cert": "Y2VydA==", "private_key": "ovr-key-14"})),
            vec!["ovr-id-12", "ovr-secret-13", "ovr-key-14"],
        ),
        (
            "spec-sensitive integration config",
            case()
                .spec(SPEC)
                .env("OCEAN__PORT__CLIENT_ID", "c")
                .env("OCEAN__PORT__CLIENT_SECRET", "s")
                .env("OCEAN__INTEGRATION__CONFIG__API_TOKEN", "cfg-token-15")
                .yaml("integration:\n  config:\n    signingKey: 987654321\n"),
            vec!["cfg-token-15", "987654321"],
        ),
    ]
}

fn assert_hidden(label: &str, what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !text.contains(secret),
            "{label}: {what} shows {secret}:\n{text}"
        );
    }
}

#[test]
fn secrets_never_print() {
    for (label, c, secrets) in cases() {
        let settings = match c.load() {
            Ok(s) => s,
            Err(e) => panic!("{label}: {e}"),
        };
        let rendered = settings.render_masked();
        assert!(rendered.contains("[REDACTED]"), "{label}: {rendered}");
        assert_hidden(label, "render_masked", &rendered, &secrets);
        assert_hidden(label, "Debug", &format!("{settings:?}"), &secrets);
        assert_hidden(label, "Debug (pretty)", &format!("{settings:#?}"), &secrets);
        assert_hidden(label, "warnings", &settings.warnings().join("\n"), &secrets);
        // The masker list does hold them, for log filtering.
        for secret in &secrets {
            assert!(
                settings
                    .sensitive_values()
                    .iter()
                    .any(|v| v.contains(secret) || secret.contains(v)),
                "{label}: {secret} missing from sensitive_values"
            );
        }
    }
}

#[test]
fn secrets_never_appear_in_errors() {
    for (label, c, secrets) in cases() {
        // Break something unrelated so that loading fails with the secrets present.
        let c = c.env("OCEAN__EVENT_WORKERS_COUNT", "many");
        let err = c.load().unwrap_err();
        assert_hidden(label, "error", &err.to_string(), &secrets);
        assert_hidden(label, "error Debug", &format!("{err:?}"), &secrets);
    }
}

#[test]
fn invalid_secret_values_are_described_without_their_value() {
    let check = |c: Case, secret: &str| {
        let err = c.err();
        assert!(err.contains("expected"), "{err}");
        assert!(!err.contains(secret), "{err}");
    };
    check(
        case()
            .env("OCEAN__PORT__CLIENT_ID", "c")
            .yaml("port:\n  clientSecret: 123456789\n"),
        "123456789",
    );
    check(
        case()
            .env("OCEAN__PORT__CLIENT_ID", "c")
            .env("OCEAN__PORT__CLIENT_SECRET", "s")
            .spec(SPEC)
            .env(
                "OCEAN__INTEGRATION__CONFIG__SIGNING_KEY",
                "not-a-number-secret",
            ),
        "not-a-number-secret",
    );
    check(
        case().env(
            "OCEAN__PORT",
            r#"{"client_id": "json-secret-id", "client_secret": 5"#,
        ),
        "json-secret-id",
    );
    check(
        case()
            .env("OCEAN__PORT__CLIENT_ID", "c")
            .env("OCEAN__PORT__CLIENT_SECRET", "s")
            .env("OCEAN__EVENT_LISTENER__TYPE", "WEBHOOK")
            .env("OCEAN__EVENT_LISTENER__APP_HOST", "host-secret-no-scheme"),
        "host-secret-no-scheme",
    );
}

#[test]
fn typed_config_errors_scrub_secret_values() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Wrong {
        api_token: u64,
    }
    let settings = case()
        .env("OCEAN__PORT__CLIENT_ID", "c")
        .env("OCEAN__PORT__CLIENT_SECRET", "s")
        .spec(SPEC)
        .env("OCEAN__INTEGRATION__CONFIG__API_TOKEN", "typed-secret-16")
        .ok();
    let err = settings
        .integration_config::<Wrong>()
        .unwrap_err()
        .to_string();
    assert!(!err.contains("typed-secret-16"), "{err}");
    assert!(err.contains("integration.config.api_token"), "{err}");
}
