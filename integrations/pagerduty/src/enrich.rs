//! Enrichments: extra PagerDuty data attached to raw items under `__`-prefixed keys, which the
//! default mapping reads (`__oncall_user`, `__oncall_users`, `__analytics`, `__email`).
//!
//! Key names and shapes are the reference's, so existing mappings keep working. On-call data is
//! part of the item's meaning (who is on call), so failing to fetch it fails the page; analytics
//! are an optional extra that many PagerDuty plans do not include, so failing to fetch them
//! leaves `__analytics: null` with a warning, as the reference does — and once the analytics
//! API's daily quota is used up, no analytics call is made until it resets (one warning). Each
//! enrichment costs a bounded number of requests per page (one on-call listing per page, one
//! analytics call per page of services, one raw-incidents query per page of incidents, one user
//! listing per schedules fetch), never one per item.

use crate::client::{AnalyticsError, ClientError, PagerDutyClient, Query};
use crate::selectors::{iso, months_ago};
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
        .analytics("analytics/metrics/incidents/services", &body)
        .await
    {
        Ok(answer) => {
            for row in answer["data"].as_array().into_iter().flatten() {
                if let Some(id) = row["service_id"].as_str() {
                    by_service.insert(id.to_owned(), row.clone());
                }
            }
        }
        Err(AnalyticsError::DailyQuota) => {}
        Err(AnalyticsError::Client(e)) => tracing::warn!(
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

/// Most pages of raw incident analytics read for one page of incidents; past it, the rest of
/// the page's incidents get `__analytics: null` with a warning.
pub const MAX_ANALYTICS_PAGES: usize = 20;

/// Sets `__analytics` on every incident: its raw analytics, from one query per page
/// (`POST /analytics/raw/incidents` filtered to the page's services and creation times, paged
/// by cursor), or `null` when PagerDuty has none, the call fails or the daily quota is used up.
pub async fn attach_incident_analytics(client: &PagerDutyClient, incidents: &mut [Value]) {
    let mut found = match raw_incident_analytics(client, incidents).await {
        Ok(found) => found,
        Err(AnalyticsError::DailyQuota) => HashMap::new(),
        Err(AnalyticsError::Client(e)) => {
            tracing::warn!(error = %error_chain(&e), "PagerDuty incident analytics unavailable; __analytics is null for this page");
            HashMap::new()
        }
    };
    for incident in incidents.iter_mut() {
        let analytics = incident["id"]
            .as_str()
            .and_then(|id| found.remove(id))
            .unwrap_or(Value::Null);
        set(incident, "__analytics", analytics);
    }
}

/// The raw analytics of a page's incidents, by incident id.
async fn raw_incident_analytics(
    client: &PagerDutyClient,
    incidents: &[Value],
) -> Result<HashMap<String, Value>, AnalyticsError> {
    let wanted: BTreeSet<&str> = incidents.iter().filter_map(|i| i["id"].as_str()).collect();
    let services: BTreeSet<&str> = incidents
        .iter()
        .filter_map(|i| i["service"]["id"].as_str())
        .collect();
    let created: Vec<OffsetDateTime> = incidents
        .iter()
        .filter_map(|i| i["created_at"].as_str())
        .filter_map(|t| {
            OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        })
        .collect();
    let mut found = HashMap::new();
    if wanted.is_empty() {
        return Ok(found);
    }
    let mut filters = json!({"service_ids": services});
    if let (Some(first), Some(last)) = (created.iter().min(), created.iter().max()) {
        filters["created_at_start"] = Value::from(iso(*first));
        // The end is exclusive: a second past the newest.
        filters["created_at_end"] = Value::from(iso(*last + time::Duration::seconds(1)));
    }
    let mut after: Option<String> = None;
    for _ in 0..MAX_ANALYTICS_PAGES {
        let mut body = json!({"filters": filters, "limit": 100});
        if let Some(cursor) = &after {
            body["starting_after"] = Value::from(cursor.clone());
        }
        let answer = client.analytics("analytics/raw/incidents", &body).await?;
        for row in answer["data"].as_array().into_iter().flatten() {
            if let Some(id) = row["id"].as_str().filter(|id| wanted.contains(id)) {
                found.insert(id.to_owned(), row.clone());
            }
        }
        let next = answer["last"].as_str().map(str::to_owned);
        let more = answer["more"].as_bool().unwrap_or(false);
        if !more || next.is_none() || next == after || found.len() == wanted.len() {
            return Ok(found);
        }
        after = next;
    }
    tracing::warn!(
        pages = MAX_ANALYTICS_PAGES,
        missing = wanted.len() - found.len(),
        "PagerDuty raw incident analytics span more pages than read for one page of incidents; the rest are null"
    );
    Ok(found)
}

/// Sets `__custom_fields` on every service or incident (`entity_type`: `services`,
/// `incidents`): its custom field values (`GET /{entity_type}/{id}/custom_fields/values`, up to
/// ten at a time, as the reference's one call per item; PagerDuty has no batch endpoint). A
/// failed call leaves `[]` with a warning, as the reference.
pub async fn attach_custom_fields(
    client: &PagerDutyClient,
    entity_type: &str,
    items: &mut [Value],
) {
    use futures::StreamExt as _;
    let ids: Vec<Option<String>> = items
        .iter()
        .map(|i| i["id"].as_str().map(str::to_owned))
        .collect();
    let values: Vec<Value> = futures::stream::iter(ids)
        .map(|id| async move {
            let Some(id) = id else {
                return Value::Array(Vec::new());
            };
            let path = format!("{entity_type}/{id}/custom_fields/values");
            match client.get(&path, &[]).await {
                Ok(mut answer) => match answer["custom_fields"].take() {
                    Value::Array(fields) => Value::Array(fields),
                    _ => Value::Array(Vec::new()),
                },
                Err(e) => {
                    tracing::warn!(%id, kind = entity_type, error = %error_chain(&e), "PagerDuty custom fields unavailable; __custom_fields is empty");
                    Value::Array(Vec::new())
                }
            }
        })
        .buffered(crate::client::MAX_CONCURRENT_REQUESTS)
        .collect()
        .await;
    for (item, fields) in items.iter_mut().zip(values) {
        set(item, "__custom_fields", fields);
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
