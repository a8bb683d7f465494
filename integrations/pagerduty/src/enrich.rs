//! Enrichments: extra PagerDuty data attached to raw items under `__`-prefixed keys, which the
//! default mapping reads (`__oncall_user`, `__oncall_users`, `__analytics`, `__email`).
//!
//! Key names and shapes are the reference's, so existing mappings keep working. On-call data is
//! part of the item's meaning (who is on call), so failing to fetch it fails the page; analytics
//! are an optional extra that many PagerDuty plans do not include, so failing to fetch them
//! leaves `__analytics: null` with a warning, as the reference does. Each enrichment costs a
//! bounded number of requests per page (one on-call listing per page, one analytics call per
//! page of services, one per incident for incident analytics, one user listing per schedules
//! fetch), never one per item unless PagerDuty offers no batch endpoint.

use crate::client::{ClientError, PagerDutyClient, Query};
use crate::selectors::{iso, months_ago};
use futures::StreamExt;
use serde_json::{Map, Value, json};
use std::collections::{BTreeSet, HashMap};
use time::OffsetDateTime;

/// Who is on call for the given escalation policies (`GET /oncalls` with `include[]=users`, all
/// pages).
pub async fn oncalls_for_policies(
    client: &PagerDutyClient,
    policy_ids: &BTreeSet<String>,
) -> Result<Vec<Value>, ClientError> {
    if policy_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut query: Query = policy_ids
        .iter()
        .map(|id| ("escalation_policy_ids[]".to_owned(), id.clone()))
        .collect();
    query.push(("include[]".into(), "users".into()));
    client.list_all("oncalls", "oncalls", query).await
}

fn oncalls_of<'a>(oncalls: &'a [Value], policy_id: Option<&'a str>) -> Vec<Value> {
    match policy_id {
        Some(id) => oncalls
            .iter()
            .filter(|o| o["escalation_policy"]["id"].as_str() == Some(id))
            .cloned()
            .collect(),
        None => Vec::new(),
    }
}

/// Sets `__oncall_user` on every service: the on-call entries of its escalation policy.
pub async fn attach_service_oncalls(
    client: &PagerDutyClient,
    services: &mut [Value],
) -> Result<(), ClientError> {
    let ids: BTreeSet<String> = services
        .iter()
        .filter_map(|s| s["escalation_policy"]["id"].as_str().map(str::to_owned))
        .collect();
    let oncalls = oncalls_for_policies(client, &ids).await?;
    for service in services.iter_mut() {
        let policy = service["escalation_policy"]["id"]
            .as_str()
            .map(str::to_owned);
        let mine = oncalls_of(&oncalls, policy.as_deref());
        set(service, "__oncall_user", Value::Array(mine));
    }
    Ok(())
}

/// Sets `__oncall_users` on every escalation policy: its on-call entries.
pub async fn attach_policy_oncalls(
    client: &PagerDutyClient,
    policies: &mut [Value],
) -> Result<(), ClientError> {
    let ids: BTreeSet<String> = policies
        .iter()
        .filter_map(|p| p["id"].as_str().map(str::to_owned))
        .collect();
    let oncalls = oncalls_for_policies(client, &ids).await?;
    for policy in policies.iter_mut() {
        let id = policy["id"].as_str().map(str::to_owned);
        let mine = oncalls_of(&oncalls, id.as_deref());
        set(policy, "__oncall_users", Value::Array(mine));
    }
    Ok(())
}

/// Sets `__analytics` on every service: its aggregated incident metrics over the last `months`
/// months (`POST /analytics/metrics/incidents/services`, one call per page), or `null` when
/// PagerDuty has none or the call fails.
pub async fn attach_service_analytics(
    client: &PagerDutyClient,
    services: &mut [Value],
    months: u32,
    now: OffsetDateTime,
) {
    let ids: Vec<&str> = services.iter().filter_map(|s| s["id"].as_str()).collect();
    if ids.is_empty() {
        return;
    }
    let body = json!({
        "filters": {
            "service_ids": ids,
            "created_at_start": iso(months_ago(now, months)),
            "created_at_end": iso(now),
        }
    });
    let mut by_service: HashMap<String, Value> = HashMap::new();
    match client
        .post_query("analytics/metrics/incidents/services", &body)
        .await
    {
        Ok(answer) => {
            for row in answer["data"].as_array().into_iter().flatten() {
                if let Some(id) = row["service_id"].as_str() {
                    by_service.insert(id.to_owned(), row.clone());
                }
            }
        }
        Err(e) => tracing::warn!(
            error = %error_chain(&e),
            "PagerDuty service analytics unavailable; __analytics is null for this page"
        ),
    }
    for service in services.iter_mut() {
        let analytics = service["id"]
            .as_str()
            .and_then(|id| by_service.remove(id))
            .unwrap_or(Value::Null);
        set(service, "__analytics", analytics);
    }
}

/// Sets `__analytics` on every incident: its raw analytics
/// (`GET /analytics/raw/incidents/{id}`, up to ten at a time), or `null` when PagerDuty has none
/// or the call fails.
pub async fn attach_incident_analytics(client: &PagerDutyClient, incidents: &mut [Value]) {
    let ids: Vec<Option<String>> = incidents
        .iter()
        .map(|i| i["id"].as_str().map(str::to_owned))
        .collect();
    let analytics: Vec<Value> = futures::stream::iter(ids)
        .map(|id| async move {
            let Some(id) = id else { return Value::Null };
            match client.get_optional(&format!("analytics/raw/incidents/{id}"), &[]).await {
                Ok(Some(v)) => v,
                Ok(None) => Value::Null,
                Err(e) => {
                    tracing::warn!(incident = %id, error = %error_chain(&e), "PagerDuty incident analytics unavailable");
                    Value::Null
                }
            }
        })
        .buffered(crate::client::MAX_CONCURRENT_REQUESTS)
        .collect()
        .await;
    for (incident, analytics) in incidents.iter_mut().zip(analytics) {
        set(incident, "__analytics", analytics);
    }
}

/// Every user's email by user id (`GET /users`, all pages).
pub async fn user_emails(client: &PagerDutyClient) -> Result<HashMap<String, String>, ClientError> {
    let users = client.list_all("users", "users", Vec::new()).await?;
    Ok(users
        .iter()
        .filter_map(|u| {
            Some((
                u["id"].as_str()?.to_owned(),
                u["email"].as_str()?.to_owned(),
            ))
        })
        .collect())
}

/// Sets `__email` on every user reference of every schedule whose user is known.
pub fn attach_schedule_emails(schedules: &mut [Value], emails: &HashMap<String, String>) {
    for schedule in schedules.iter_mut() {
        let Some(users) = schedule.get_mut("users").and_then(Value::as_array_mut) else {
            continue;
        };
        for user in users.iter_mut() {
            let email = user["id"].as_str().and_then(|id| emails.get(id)).cloned();
            match email {
                Some(email) => set(user, "__email", Value::String(email)),
                None => {
                    tracing::debug!(user = %user["id"], "schedule user not found among PagerDuty users")
                }
            }
        }
    }
}

fn set(item: &mut Value, key: &str, value: Value) {
    if let Some(obj) = item.as_object_mut() {
        obj.insert(key.to_owned(), value);
    } else {
        let mut obj = Map::new();
        obj.insert(key.to_owned(), value);
        *item = Value::Object(obj);
    }
}

/// An error and its causes on one line.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_users_get_known_emails_only() {
        let mut schedules = vec![
            json!({"id": "S1", "users": [{"id": "U1"}, {"id": "U2"}]}),
            json!({"id": "S2"}),
        ];
        let emails = HashMap::from([("U1".to_owned(), "ann@example.com".to_owned())]);
        attach_schedule_emails(&mut schedules, &emails);
        assert_eq!(schedules[0]["users"][0]["__email"], "ann@example.com");
        assert!(schedules[0]["users"][1].get("__email").is_none());
        assert_eq!(schedules[1], json!({"id": "S2"}));
    }

    #[test]
    fn oncalls_are_matched_by_escalation_policy() {
        let oncalls = vec![
            json!({"escalation_policy": {"id": "EP1"}, "escalation_level": 1}),
            json!({"escalation_policy": {"id": "EP2"}, "escalation_level": 1}),
            json!({"escalation_policy": {"id": "EP1"}, "escalation_level": 2}),
        ];
        assert_eq!(oncalls_of(&oncalls, Some("EP1")).len(), 2);
        assert_eq!(oncalls_of(&oncalls, Some("EP3")).len(), 0);
        assert_eq!(oncalls_of(&oncalls, None).len(), 0);
    }
}
