//! The demo catalog: teams, the services they own and the deployments of those services.
//!
//! Each record is a pure function of its index and the counts of the kinds it relates to, so
//! relations always point at records that exist (service `i` belongs to team `i % teams`,
//! deployment `i` is of service `i % services`) and a resync is reproducible. The records look
//! like what a real API answers (nested objects, timestamps, nulls) so that mappings written for
//! them exercise the same JQ as real ones; they are not meant to be realistic beyond that.

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime, macros::datetime};

const LANGUAGES: [&str; 5] = ["rust", "go", "python", "typescript", "java"];
const ENVIRONMENTS: [&str; 3] = ["production", "staging", "development"];
const OUTCOMES: [&str; 4] = ["succeeded", "succeeded", "succeeded", "failed"];
const NAMES: [&str; 12] = [
    "billing",
    "checkout",
    "search",
    "catalog",
    "identity",
    "payments",
    "shipping",
    "reviews",
    "notifications",
    "inventory",
    "pricing",
    "recommendations",
];
const BASE: OffsetDateTime = datetime!(2024-06-01 0:00 UTC);

/// The identifier of team `i`.
pub fn team_id(i: u64) -> String {
    format!("team-{i}")
}

/// The identifier of service `i`.
pub fn service_id(i: u64) -> String {
    format!("service-{i}")
}

/// The raw record of team `i`.
pub fn team(i: u64) -> Value {
    json!({
        "id": team_id(i),
        "name": format!("Team {i}"),
        "slack": {"channel": format!("#team-{i}")},
        "members": 3 + i % 7,
    })
}

/// The raw record of service `i`, owned by one of `teams` teams (at least 1).
pub fn service(i: u64, teams: u64) -> Value {
    let name = NAMES[(i % NAMES.len() as u64) as usize];
    let round = i / NAMES.len() as u64;
    let slug = if round == 0 {
        name.to_owned()
    } else {
        format!("{name}-{round}")
    };
    json!({
        "id": service_id(i),
        "name": slug,
        "language": LANGUAGES[(i % LANGUAGES.len() as u64) as usize],
        "tier": 1 + i % 3,
        "repository": {"url": format!("https://git.example.invalid/acme/{slug}")},
        "owner": {"team": team_id(i % teams.max(1))},
        "archived": false,
    })
}

/// The raw record of deployment `i`, of one of `services` services (at least 1).
pub fn deployment(i: u64, services: u64) -> Value {
    let service = i % services.max(1);
    let at = BASE + Duration::minutes(37 * i as i64);
    json!({
        "id": format!("deploy-{i:06}"),
        "service": {"id": service_id(service)},
        "environment": ENVIRONMENTS[(i % ENVIRONMENTS.len() as u64) as usize],
        "version": format!("1.{}.{}", i / 10, i % 10),
        "outcome": OUTCOMES[((i / 3) % OUTCOMES.len() as u64) as usize],
        "deployed_at": at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        "commit": format!(
            "{:016x}{:016x}{:08x}",
            i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            i.wrapping_add(1).wrapping_mul(0xC2B2_AE3D_27D4_EB4F),
            i.wrapping_add(1).wrapping_mul(0x1656_67B1) as u32,
        ),
        "rollback_of": if i % 17 == 16 { json!(format!("deploy-{:06}", i - 1)) } else { Value::Null },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relations_point_at_existing_records() {
        let (teams, services) = (3, 7);
        for i in 0..50 {
            let s = service(i, teams);
            let team: u64 = s["owner"]["team"].as_str().unwrap()[5..].parse().unwrap();
            assert!(team < teams, "{s}");
            let d = deployment(i, services);
            let svc: u64 = d["service"]["id"].as_str().unwrap()[8..].parse().unwrap();
            assert!(svc < services, "{d}");
        }
    }

    #[test]
    fn records_are_distinct_and_stable() {
        assert_eq!(service(0, 5)["name"], "billing");
        assert_eq!(service(12, 5)["name"], "billing-1");
        assert_eq!(deployment(1, 5)["deployed_at"], "2024-06-01T00:37:00Z");
        assert_eq!(deployment(16, 5)["rollback_of"], "deploy-000015");
        assert_eq!(deployment(0, 5)["rollback_of"], Value::Null);
        let ids: std::collections::BTreeSet<String> = (0..1000)
            .map(|i| deployment(i, 9)["commit"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids.len(), 1000);
        assert_eq!(team(4), team(4));
    }
}
