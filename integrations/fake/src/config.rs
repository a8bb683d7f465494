//! The fake integration's configuration (`integration.config`): how big a catalog to generate.
//!
//! Every field has a default, in `.port/spec.yaml` and here alike (a test keeps the two equal),
//! so the integration runs with no configuration at all. Values arrive with snake_case keys
//! (`item_count`), from `config.yaml` (`itemCount`) or `OCEAN__INTEGRATION__CONFIG__ITEM_COUNT`.
//! There is no randomness to configure: every record is a pure function of its index, so two runs
//! with the same settings produce the same catalog.

use ocean::Secret;
use serde::Deserialize;

/// How many records of each kind to generate, and how to page them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct FakeConfig {
    /// Records of kind `team` (`teamCount`).
    pub team_count: u64,
    /// Records of kind `service`, each owned by a team (`serviceCount`).
    pub service_count: u64,
    /// Records of kind `deployment`, each of a service (`deploymentCount`).
    pub deployment_count: u64,
    /// Records of kind `item`, the benchmark workload (`itemCount`).
    pub item_count: u64,
    /// The data revision of `item` records: with a positive value one record in twenty has a
    /// different score, so a second resync has changes to upsert (`itemRevision`).
    pub item_revision: u64,
    /// Records per yielded page, for every kind (`pageSize`).
    pub page_size: u64,
    /// The secret webhooks are signed with (`webhookSecret`); live updates are served only when
    /// it is set (see [`crate::webhook`]).
    pub webhook_secret: Option<Secret>,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            team_count: 5,
            service_count: 20,
            deployment_count: 100,
            item_count: 1000,
            item_revision: 0,
            page_size: 100,
            webhook_secret: None,
        }
    }
}

/// A configuration value the fake integration cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("integration config `{key}`: {reason}")]
pub struct InvalidConfig {
    /// The offending key (camelCase, as in `spec.yaml`).
    pub key: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl FakeConfig {
    /// Checks the values that would make generation impossible: a page size of zero, and
    /// services or deployments without anything to relate to.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        if self.page_size == 0 {
            return Err(InvalidConfig {
                key: "pageSize",
                reason: "must be at least 1",
            });
        }
        if self.service_count > 0 && self.team_count == 0 {
            return Err(InvalidConfig {
                key: "teamCount",
                reason: "must be at least 1 when serviceCount is (every service has an owning team)",
            });
        }
        if self.deployment_count > 0 && self.service_count == 0 {
            return Err(InvalidConfig {
                key: "serviceCount",
                reason: "must be at least 1 when deploymentCount is (every deployment is of a service)",
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(value: serde_json::Value, expected: Result<FakeConfig, &str>) {
        let parsed: Result<FakeConfig, String> = serde_json::from_value(value)
            .map_err(|e| e.to_string())
            .and_then(|c: FakeConfig| c.validate().map(|()| c).map_err(|e| e.to_string()));
        match (parsed, expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want),
            (Err(got), Err(want)) => assert!(got.contains(want), "{got:?} lacks {want:?}"),
            (got, want) => panic!("got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn defaults_and_overrides() {
        check(json!({}), Ok(FakeConfig::default()));
        check(
            json!({"item_count": 2000, "item_revision": 1}),
            Ok(FakeConfig {
                item_count: 2000,
                item_revision: 1,
                ..FakeConfig::default()
            }),
        );
        check(
            json!({"team_count": 0, "service_count": 0, "deployment_count": 0}),
            Ok(FakeConfig {
                team_count: 0,
                service_count: 0,
                deployment_count: 0,
                ..FakeConfig::default()
            }),
        );
    }

    #[test]
    fn impossible_values_are_refused() {
        check(
            json!({"page_size": 0}),
            Err("`pageSize`: must be at least 1"),
        );
        check(json!({"team_count": 0}), Err("`teamCount`"));
        check(
            json!({"service_count": 0, "deployment_count": 3}),
            Err("`serviceCount`"),
        );
        check(json!({"item_count": -1}), Err("invalid value"));
    }
}
