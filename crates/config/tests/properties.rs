//! Bad input is an error, never a crash: the `.env` parser, the YAML reader and the whole loader
//! (`config.yaml`, `.env`, `OCEAN__…` variables, application settings) run on generated and
//! arbitrary text and must return, with settings or with an error, but never panic.

use std::collections::BTreeMap;

use ocean_config::dotenv::DotEnv;
use ocean_config::registry::SETTINGS;
use ocean_config::{ApplicationFlags, IntegrationInfo, Loader, yaml};
use proptest::prelude::*;
use proptest::sample::select;

/// Values that probe parsers: numbers out of range, units, booleans, broken JSON and YAML,
/// expansions, quotes, control characters.
const VALUES: &[&str] = &[
    "",
    "true",
    "yes",
    "0",
    "-1",
    "1e999",
    "NaN",
    "9223372036854775807",
    "99999999999999999999w",
    "9223372036854775807w",
    "15m",
    "POLLING",
    "KAFKA",
    "WEBHOOKS_ONLY",
    "{\"a\": [1, 2",
    "[1, 2]",
    "{}",
    "null",
    "${UNSET:-fallback}",
    "${A}${A}${A}",
    "'single",
    "\"double",
    "\\",
    "a\u{0}b",
    "é✓",
    "http://",
    "https://api.getport.io/",
    "{{ from env X }}",
    "{{ from vault x }}",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(VALUES).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

/// A setting's dotted key (mostly real ones, some invented).
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(SETTINGS.iter().map(|s| s.key).collect::<Vec<_>>()).prop_map(str::to_owned),
        1 => "[a-z_]{1,8}(\\.[a-z_]{1,8}){0,2}",
    ]
}

/// YAML built from settings, nesting and the odd broken line.
fn config_yaml() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        4 => (key(), value()).prop_map(|(k, v)| {
            let parts: Vec<&str> = k.split('.').collect();
            let mut out = String::new();
            for (depth, p) in parts.iter().enumerate() {
                out.push_str(&"  ".repeat(depth));
                out.push_str(p);
                out.push(':');
                if depth + 1 < parts.len() {
                    out.push('\n');
                }
            }
            format!("{out} {v}")
        }),
        1 => select(vec![
            "integration:\n  config:\n    a: [1, 2",
            "&anchor [*anchor]",
            "!!binary xx",
            "? complex\n: key",
            "- - -",
            "key: 'unterminated",
            "port: [",
            "event_listener: 7",
            "integration: {config: null}",
            "%YAML 9.9",
            "---\n---",
        ])
        .prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    prop::collection::vec(line, 0..8).prop_map(|lines| lines.join("\n"))
}

/// `.env` text: bindings of every quoting style, expansions, comments, junk.
fn dotenv_text() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        3 => select(SETTINGS.iter().map(|s| s.env_var()).collect::<Vec<_>>()),
        1 => "[A-Z_]{1,6}",
        1 => select(vec!["A".to_owned(), "export A".to_owned(), "".to_owned(), "1BAD".to_owned()]),
    ];
    let line = prop_oneof![
        4 => (name, select(vec!["", "'", "\"", "'\\", "\"\\"]), value(), select(vec!["", "'", "\"", " # note", "\\"]))
            .prop_map(|(k, open, v, close)| format!("{k}={open}{v}{close}")),
        1 => select(vec!["# comment", "   ", "=", "==x", "export", "\"\n\"", "A=${", "A=${B:-", "A=\"multi\nline\""])
            .prop_map(str::to_owned),
        1 => any::<String>(),
    ];
    prop::collection::vec(line, 0..10).prop_map(|lines| lines.join("\n"))
}

/// `OCEAN__…` and `APPLICATION__…` variables.
fn environment() -> impl Strategy<Value = BTreeMap<String, String>> {
    let name = prop_oneof![
        4 => select(SETTINGS.iter().map(|s| s.env_var()).collect::<Vec<_>>()),
        1 => select(vec![
            "APPLICATION__PORT".to_owned(),
            "APPLICATION__LOG_LEVEL".to_owned(),
            "APPLICATION__LOG_FORMAT".to_owned(),
            "APPLICATION__ENABLE_HTTP_LOGGING".to_owned(),
            "OCEAN__INTEGRATION__CONFIG".to_owned(),
            "OCEAN__INTEGRATION__CONFIG__X".to_owned(),
            "OCEAN__".to_owned(),
            "OCEAN____".to_owned(),
        ]),
        1 => "OCEAN__[A-Z_]{1,12}",
    ];
    prop::collection::btree_map(name, value(), 0..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn dotenv_parsing_never_panics(text in prop_oneof![dotenv_text(), any::<String>()], env in environment()) {
        let parsed = DotEnv::parse(&text, &env);
        for e in &parsed.entries {
            prop_assert!(e.line >= 1);
        }
    }

    #[test]
    fn yaml_reading_never_panics(text in prop_oneof![config_yaml(), any::<String>()]) {
        let _ = yaml::parse(&text);
    }

    #[test]
    fn loading_never_panics(
        config in prop_oneof![3 => config_yaml(), 1 => any::<String>()],
        dotenv in prop_oneof![3 => dotenv_text(), 1 => any::<String>()],
        env in environment(),
        files in 0u8..4,
    ) {
        let dir = tempfile::tempdir().expect("temporary directory");
        if files & 1 != 0 {
            std::fs::write(dir.path().join(ocean_config::CONFIG_FILE), &config).expect("write");
        }
        if files & 2 != 0 {
            std::fs::write(dir.path().join(ocean_config::DOTENV_FILE), &dotenv).expect("write");
        }
        let loader = Loader::new(IntegrationInfo::new("jira", "1.2.3"))
            .cwd(dir.path())
            .env(env);
        let settings = loader.load();
        let application = loader.load_application(ApplicationFlags::default());
        // Either outcome is fine; an error must say something.
        if let Err(e) = settings {
            prop_assert!(!e.to_string().is_empty());
        }
        if let Err(e) = application {
            prop_assert!(!e.to_string().is_empty());
        }
    }
}
