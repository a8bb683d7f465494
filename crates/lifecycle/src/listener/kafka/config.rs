//! How the KAFKA listener connects, decided before any broker is touched: the librdkafka
//! properties, a pure function of the settings, the consumer group (Port's topic and group
//! naming are `ocean_port_client::changelog`'s) and the integration's identity, so every choice
//! is unit-tested without a broker.
//!
//! One choice differs from the reference:
//! - **`cooperative-sticky` in both modes** (the reference sets it only with security), so
//!   instances joining or leaving move as few partitions as possible in either mode.
//!
//! Not here: the SASL password is never formatted; [`ClientProperties`]' `Debug` redacts it.

use std::fmt;

use ocean_config::KafkaSettings;
use ocean_port_client::{IntegrationIdentity, KafkaCredentials};

/// The librdkafka property that holds the SASL password (redacted in `Debug`).
const PASSWORD_PROPERTY: &str = "sasl.password";

/// librdkafka properties, in the order they are applied (a later one wins). `Debug` redacts the
/// SASL password.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ClientProperties(Vec<(String, String)>);

impl ClientProperties {
    /// Sets `key` (replacing an earlier value).
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every property, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl fmt::Debug for ClientProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| {
                let shown = if k == PASSWORD_PROPERTY {
                    "<redacted>"
                } else {
                    v.as_str()
                };
                (k.as_str(), shown)
            }))
            .finish()
    }
}

/// The consumer's librdkafka properties. `credentials` are used when security is enabled (the
/// caller fetched them); `overrides` are applied last.
pub fn client_properties(
    settings: &KafkaSettings,
    group_id: &str,
    identity: &IntegrationIdentity,
    credentials: Option<&KafkaCredentials>,
    overrides: &[(String, String)],
) -> ClientProperties {
    let mut props = ClientProperties::default();
    // The settings hold the brokers as a comma list already (`ocean_config` reads both forms).
    props.set("bootstrap.servers", settings.brokers.as_str());
    props.set("group.id", group_id);
    props.set(
        "client.id",
        format!(
            "ocean-{}-{}",
            identity.integration_type, identity.identifier
        ),
    );
    // Offsets are committed by the listener once a message is handled (see the module docs of
    // the listener), never on a timer.
    props.set("enable.auto.commit", "false");
    // Instances joining or leaving move as few partitions as possible, and the others keep
    // consuming during a rebalance.
    props.set("partition.assignment.strategy", "cooperative-sticky");
    // A new group starts at the end of the topic: requests made before the integration first
    // ran are not replayed (Kafka's default, as in the reference).
    props.set("auto.offset.reset", "latest");
    if settings.kafka_security_enabled {
        props.set("security.protocol", settings.security_protocol.as_str());
        props.set("sasl.mechanism", settings.authentication_mechanism.as_str());
        if let Some(credentials) = credentials {
            props.set("sasl.username", credentials.username.as_str());
            props.set(PASSWORD_PROPERTY, credentials.password.expose());
        }
        if settings
            .security_protocol
            .to_ascii_uppercase()
            .contains("SSL")
        {
            // librdkafka carries its own OpenSSL, which knows no system CA location: look in
            // the usual places (/etc/ssl/certs/ca-certificates.crt, …).
            props.set("ssl.ca.location", "probe");
        }
    }
    for (key, value) in overrides {
        props.set(key.as_str(), value.as_str());
    }
    props
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocean_model::Secret;

    fn settings(security: bool) -> KafkaSettings {
        KafkaSettings {
            brokers: "b1:9196,b2:9196".into(),
            security_protocol: "SASL_SSL".into(),
            authentication_mechanism: "SCRAM-SHA-512".into(),
            kafka_security_enabled: security,
            consumer_poll_timeout: 1,
        }
    }

    fn identity() -> IntegrationIdentity {
        IntegrationIdentity::new("Jira", "1.0.0", "my-jira")
    }

    #[test]
    fn secure_properties_carry_sasl_and_the_credentials() {
        let credentials = KafkaCredentials {
            username: "user-1".into(),
            password: Secret::new("hunter2"),
        };
        let props = client_properties(
            &settings(true),
            "org_1.jira.my-jira",
            &identity(),
            Some(&credentials),
            &[],
        );
        let expected = [
            ("bootstrap.servers", "b1:9196,b2:9196"),
            ("group.id", "org_1.jira.my-jira"),
            ("client.id", "ocean-jira-my-jira"),
            ("enable.auto.commit", "false"),
            ("partition.assignment.strategy", "cooperative-sticky"),
            ("auto.offset.reset", "latest"),
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.username", "user-1"),
            ("sasl.password", "hunter2"),
            ("ssl.ca.location", "probe"),
        ];
        assert_eq!(props.iter().collect::<Vec<_>>(), expected);
        let shown = format!("{props:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn insecure_properties_have_no_security_and_the_same_group() {
        let props = client_properties(
            &settings(false),
            "org_1.jira.my-jira",
            &identity(),
            None,
            &[],
        );
        assert_eq!(props.get("group.id"), Some("org_1.jira.my-jira"));
        assert_eq!(
            props.get("partition.assignment.strategy"),
            Some("cooperative-sticky")
        );
        for key in [
            "security.protocol",
            "sasl.mechanism",
            "sasl.username",
            "sasl.password",
            "ssl.ca.location",
        ] {
            assert_eq!(props.get(key), None, "{key}");
        }
    }

    #[test]
    fn plain_sasl_needs_no_ca_and_overrides_win() {
        let mut s = settings(true);
        s.security_protocol = "SASL_PLAINTEXT".into();
        let props = client_properties(
            &s,
            "g",
            &identity(),
            None,
            &[
                ("session.timeout.ms".into(), "2000".into()),
                ("auto.offset.reset".into(), "earliest".into()),
            ],
        );
        assert_eq!(props.get("ssl.ca.location"), None);
        assert_eq!(props.get("sasl.username"), None);
        assert_eq!(props.get("session.timeout.ms"), Some("2000"));
        assert_eq!(props.get("auto.offset.reset"), Some("earliest"));
    }
}
