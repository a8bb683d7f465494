//! The integration-specific selector fields of each kind (`apiQueryParams`, `serviceAnalytics`,
//! `attachOncallUsers`, …), as the reference reads them, and the PagerDuty query they become.
//!
//! Field names, defaults and accepted values are the reference's: an `include` list becomes
//! repeated `include[]` parameters, month counts become ISO timestamps 30 days a month away from
//! now, booleans and numbers may be written as strings (`attachOncallUsers: 'true'`, as the
//! default mapping does). A value outside what PagerDuty accepts (an unknown status, a
//! non-positive month count) fails the kind with a message naming the field, as the reference's
//! validation does; an unknown key is ignored with a warning, as the reference ignores it.
//!
//! Kinds without special handling (`users`, `teams`, …) pass every `apiQueryParams` key through
//! unchanged (lists as `key[]`), since the reference offers no typed filters for them.

use crate::client::Query;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Duration, OffsetDateTime};

/// How PagerDuty timestamps are written in queries (ISO 8601, UTC, seconds).
const ISO: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// A moment as PagerDuty expects it in a query.
pub fn iso(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(ISO)
        .unwrap_or_default()
}

/// `months` months (of 30 days, as the reference counts) before `now`.
pub fn months_ago(now: OffsetDateTime, months: u32) -> OffsetDateTime {
    now - Duration::days(30 * i64::from(months))
}

/// `months` months (of 30 days) after `now`; a negative count goes back. `None` when the date
/// would be out of range.
pub fn months_ahead(now: OffsetDateTime, months: i64) -> Option<OffsetDateTime> {
    let seconds = months.checked_mul(30 * 86_400)?;
    now.checked_add(Duration::seconds(seconds))
}

/// Why a selector field could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("selector field `{field}` of kind `{kind}`: {reason}")]
pub struct SelectorError {
    /// The kind whose resource has the field.
    pub kind: String,
    /// The field (`apiQueryParams.statuses`, `analyticsMonthsPeriod`).
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

/// A boolean written as a boolean or as text (`'true'`, `"false"`, `1`), as pydantic accepts.
fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match Value::deserialize(d)? {
        Value::Bool(b) => Ok(b),
        Value::Number(n) if n.as_u64() == Some(1) => Ok(true),
        Value::Number(n) if n.as_u64() == Some(0) => Ok(false),
        Value::String(s) => ocean::python::parse_bool(s.trim())
            .ok_or_else(|| de::Error::custom(format!("{s:?} is not a boolean"))),
        other => Err(de::Error::custom(format!("{other} is not a boolean"))),
    }
}

/// An integer written as a number or as text.
fn lenient_int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| de::Error::custom(format!("{n} is not an integer"))),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| de::Error::custom(format!("{s:?} is not an integer"))),
        other => Err(de::Error::custom(format!("{other} is not an integer"))),
    }
}

fn lenient_opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    lenient_int(d).map(Some)
}

fn default_true() -> bool {
    true
}

fn default_months() -> i64 {
    3
}

fn default_oncall_include() -> Vec<String> {
    vec!["users".into()]
}

/// The `incidents` selector fields.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentSelector {
    /// Filters and includes of `GET /incidents`.
    #[serde(default)]
    pub api_query_params: Option<IncidentQuery>,
    /// Attach each incident's raw analytics as `__analytics` (default false).
    #[serde(default, deserialize_with = "lenient_bool")]
    pub incident_analytics: bool,
    /// Attach each incident's custom field values as `__custom_fields` (default false).
    #[serde(default, deserialize_with = "lenient_bool")]
    pub include_custom_fields: bool,
}

/// `GET /incidents` parameters.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct IncidentQuery {
    /// `all` to ignore the default 30-day window.
    pub date_range: Option<String>,
    /// Filter by deduplication key.
    pub incident_key: Option<String>,
    /// Related objects to include (`assignees`, `first_trigger_log_entries`, …).
    pub include: Option<Vec<String>>,
    /// Only incidents of these services.
    pub service_ids: Option<Vec<String>>,
    /// Start of the date range (ISO 8601).
    pub since: Option<String>,
    /// Sort order, e.g. `created_at:asc`.
    pub sort_by: Option<String>,
    /// Only incidents in these statuses (`triggered`, `acknowledged`, `resolved`).
    pub statuses: Option<Vec<String>>,
    /// Only incidents of these teams.
    pub team_ids: Option<Vec<String>>,
    /// Time zone of the response's timestamps.
    pub time_zone: Option<String>,
    /// End of the date range (ISO 8601).
    pub until: Option<String>,
    /// Only incidents of these urgencies (`high`, `low`).
    pub urgencies: Option<Vec<String>>,
    /// Only incidents assigned to these users.
    pub user_ids: Option<Vec<String>>,
    /// Keys this integration does not know (ignored, with a warning).
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// The `services` selector fields.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSelector {
    /// Filters and includes of `GET /services`.
    #[serde(default)]
    pub api_query_params: Option<ServiceQuery>,
    /// Attach aggregated incident analytics as `__analytics` (default true).
    #[serde(default = "default_true", deserialize_with = "lenient_bool")]
    pub service_analytics: bool,
    /// Months of incidents the analytics cover (default 3, at least 1).
    #[serde(default = "default_months", deserialize_with = "lenient_int")]
    pub analytics_months_period: i64,
    /// Attach each service's custom field values as `__custom_fields` (default false).
    #[serde(default, deserialize_with = "lenient_bool")]
    pub include_custom_fields: bool,
}

impl Default for ServiceSelector {
    fn default() -> Self {
        ServiceSelector {
            api_query_params: None,
            service_analytics: true,
            analytics_months_period: 3,
            include_custom_fields: false,
        }
    }
}

/// `GET /services` parameters.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ServiceQuery {
    /// Related objects to include (`escalation_policies`, `teams`, `integrations`,
    /// `auto_pause_notifications_parameters`).
    pub include: Option<Vec<String>>,
    /// `name`, `name:asc` or `name:desc`.
    pub sort_by: Option<String>,
    /// Only services of these teams.
    pub team_ids: Option<Vec<String>>,
    /// Time zone of the response's timestamps.
    pub time_zone: Option<String>,
    /// Keys this integration does not know (ignored, with a warning).
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// The `schedules` selector fields.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleSelector {
    /// Parameters of `GET /schedules`.
    #[serde(default)]
    pub api_query_params: Option<ScheduleQuery>,
}

/// `GET /schedules` parameters.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ScheduleQuery {
    /// `schedule_layers`, `final_schedule`, `overrides_subschedule`.
    pub include: Option<Vec<String>>,
    /// Months ahead to end the schedule window at.
    #[serde(default, deserialize_with = "lenient_opt_int")]
    pub until: Option<i64>,
    /// Months back to start the schedule window from.
    #[serde(default, deserialize_with = "lenient_opt_int")]
    pub since: Option<i64>,
    /// Time zone of the response's timestamps.
    pub time_zone: Option<String>,
    /// Keys this integration does not know (ignored, with a warning).
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// The `oncalls` selector fields.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OncallSelector {
    /// Parameters of `GET /oncalls` (none at all when absent, as in the reference).
    #[serde(default)]
    pub api_query_params: Option<OncallQuery>,
}

/// `GET /oncalls` parameters.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OncallQuery {
    /// `users`, `escalation_policies`, `schedules` (default `[users]`).
    #[serde(default = "default_oncall_include")]
    pub include: Vec<String>,
    /// Months ahead the window ends (default 3; 0 leaves it to PagerDuty, negative goes back).
    #[serde(default = "default_months", deserialize_with = "lenient_int")]
    pub until: i64,
    /// Months back the window starts (default 0: now; negative goes ahead).
    #[serde(default, deserialize_with = "lenient_int")]
    pub since: i64,
    /// Keys this integration does not know (ignored, with a warning).
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

impl Default for OncallQuery {
    fn default() -> Self {
        OncallQuery {
            include: default_oncall_include(),
            until: 3,
            since: 0,
            unknown: BTreeMap::new(),
        }
    }
}

/// The `escalation_policies` selector fields.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EscalationPolicySelector {
    /// Filters and includes of `GET /escalation_policies`.
    #[serde(default)]
    pub api_query_params: Option<EscalationPolicyQuery>,
    /// Attach who is on call for each policy as `__oncall_users` (default true).
    #[serde(default = "default_true", deserialize_with = "lenient_bool")]
    pub attach_oncall_users: bool,
}

impl Default for EscalationPolicySelector {
    fn default() -> Self {
        EscalationPolicySelector {
            api_query_params: None,
            attach_oncall_users: true,
        }
    }
}

/// `GET /escalation_policies` parameters.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct EscalationPolicyQuery {
    /// `services`, `teams`, `targets`.
    pub include: Option<Vec<String>>,
    /// Only policies of these teams.
    pub team_ids: Option<Vec<String>>,
    /// Only policies targeting these users.
    pub user_ids: Option<Vec<String>>,
    /// Keys this integration does not know (ignored, with a warning).
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// Reads a kind's selector struct from the resource's whole `selector` object.
pub fn parse_selector<T: DeserializeOwned + Default>(
    kind: &str,
    selector: &Value,
) -> Result<T, SelectorError> {
    match selector {
        Value::Null => Ok(T::default()),
        value => serde_json::from_value(value.clone()).map_err(|e| SelectorError {
            kind: kind.to_owned(),
            field: "selector".into(),
            reason: e.to_string(),
        }),
    }
}

/// Builds queries, checking values against what PagerDuty accepts.
struct QueryBuilder<'a> {
    kind: &'a str,
    query: Query,
}

impl<'a> QueryBuilder<'a> {
    fn new(kind: &'a str) -> Self {
        QueryBuilder {
            kind,
            query: Vec::new(),
        }
    }

    fn err(&self, field: &str, reason: impl Into<String>) -> SelectorError {
        SelectorError {
            kind: self.kind.to_owned(),
            field: format!("apiQueryParams.{field}"),
            reason: reason.into(),
        }
    }

    fn one(&mut self, name: &str, value: &Option<String>) {
        if let Some(v) = value {
            self.query.push((name.to_owned(), v.clone()));
        }
    }

    fn list(
        &mut self,
        name: &str,
        values: &Option<Vec<String>>,
        allowed: &[&str],
    ) -> Result<(), SelectorError> {
        let Some(values) = values else { return Ok(()) };
        for v in values {
            if !allowed.is_empty() && !allowed.contains(&v.as_str()) {
                return Err(self.err(name, format!("{v:?} is not one of {}", allowed.join(", "))));
            }
            self.query.push((format!("{name}[]"), v.clone()));
        }
        Ok(())
    }

    fn allowed(
        &self,
        name: &str,
        value: &Option<String>,
        allowed: &[&str],
    ) -> Result<(), SelectorError> {
        match value {
            Some(v) if !allowed.contains(&v.as_str()) => {
                Err(self.err(name, format!("{v:?} is not one of {}", allowed.join(", "))))
            }
            _ => Ok(()),
        }
    }

    fn warn_unknown(&self, unknown: &BTreeMap<String, Value>) {
        for key in unknown.keys() {
            tracing::warn!(
                kind = self.kind,
                "apiQueryParams.{key} is not a filter this integration knows for `{}`; ignored",
                self.kind
            );
        }
    }

    fn finish(self) -> Query {
        self.query
    }
}

/// Incident statuses PagerDuty filters on.
pub const INCIDENT_STATUSES: [&str; 3] = ["triggered", "acknowledged", "resolved"];
/// Incident urgencies.
pub const INCIDENT_URGENCIES: [&str; 2] = ["high", "low"];
const INCIDENT_INCLUDES: [&str; 10] = [
    "acknowledgers",
    "agents",
    "assignees",
    "conference_bridge",
    "escalation_policies",
    "first_trigger_log_entries",
    "priorities",
    "services",
    "teams",
    "users",
];

impl IncidentQuery {
    /// The `GET /incidents` query (also used for `GET /incidents/{id}`'s `include[]`).
    pub fn to_query(&self) -> Result<Query, SelectorError> {
        let mut q = QueryBuilder::new("incidents");
        q.warn_unknown(&self.unknown);
        q.allowed("date_range", &self.date_range, &["all"])?;
        q.one("date_range", &self.date_range);
        q.one("incident_key", &self.incident_key);
        q.list("include", &self.include, &INCIDENT_INCLUDES)?;
        q.list("service_ids", &self.service_ids, &[])?;
        q.one("since", &self.since);
        q.one("sort_by", &self.sort_by);
        q.list("statuses", &self.statuses, &INCIDENT_STATUSES)?;
        q.list("team_ids", &self.team_ids, &[])?;
        q.one("time_zone", &self.time_zone);
        q.one("until", &self.until);
        q.list("urgencies", &self.urgencies, &INCIDENT_URGENCIES)?;
        q.list("user_ids", &self.user_ids, &[])?;
        Ok(q.finish())
    }

    /// Only the `include[]` part, for fetching one incident.
    pub fn include_query(&self) -> Result<Query, SelectorError> {
        let mut q = QueryBuilder::new("incidents");
        q.list("include", &self.include, &INCIDENT_INCLUDES)?;
        Ok(q.finish())
    }

    /// Whether an incident passes the filters that can be checked on the incident itself
    /// (statuses, urgencies, services, teams). Used for live events, where the incident is
    /// fetched by id and the list filters did not apply.
    pub fn admits(&self, incident: &Value) -> bool {
        let field_in = |values: &Option<Vec<String>>, actual: Option<&str>| match values {
            Some(values) if !values.is_empty() => {
                actual.is_some_and(|a| values.iter().any(|v| v == a))
            }
            _ => true,
        };
        let teams_ok = match &self.team_ids {
            Some(ids) if !ids.is_empty() => incident["teams"]
                .as_array()
                .is_some_and(|teams| teams.iter().any(|t| ids.iter().any(|id| t["id"] == **id))),
            _ => true,
        };
        field_in(&self.statuses, incident["status"].as_str())
            && field_in(&self.urgencies, incident["urgency"].as_str())
            && field_in(&self.service_ids, incident["service"]["id"].as_str())
            && teams_ok
    }
}

impl ServiceQuery {
    /// The `GET /services` query.
    pub fn to_query(&self) -> Result<Query, SelectorError> {
        let mut q = QueryBuilder::new("services");
        q.warn_unknown(&self.unknown);
        q.list(
            "include",
            &self.include,
            &[
                "escalation_policies",
                "teams",
                "integrations",
                "auto_pause_notifications_parameters",
            ],
        )?;
        q.allowed("sort_by", &self.sort_by, &["name", "name:asc", "name:desc"])?;
        q.one("sort_by", &self.sort_by);
        q.list("team_ids", &self.team_ids, &[])?;
        q.one("time_zone", &self.time_zone);
        Ok(q.finish())
    }

    /// Only the `include[]` part, for fetching one service.
    pub fn include_query(&self) -> Result<Query, SelectorError> {
        let mut q = QueryBuilder::new("services");
        q.list("include", &self.include, &[])?;
        Ok(q.finish())
    }
}

impl ServiceSelector {
    /// The analytics period, checked positive.
    pub fn analytics_months(&self) -> Result<u32, SelectorError> {
        u32::try_from(self.analytics_months_period)
            .ok()
            .filter(|m| *m > 0)
            .ok_or_else(|| SelectorError {
                kind: "services".into(),
                field: "analyticsMonthsPeriod".into(),
                reason: format!(
                    "must be a positive number of months, got {}",
                    self.analytics_months_period
                ),
            })
    }
}

impl ScheduleQuery {
    /// The `GET /schedules` query, month counts turned into timestamps relative to `now`.
    pub fn to_query(&self, now: OffsetDateTime) -> Result<Query, SelectorError> {
        let mut q = QueryBuilder::new("schedules");
        q.warn_unknown(&self.unknown);
        q.list(
            "include",
            &self.include,
            &["schedule_layers", "final_schedule", "overrides_subschedule"],
        )?;
        // As the reference: a zero month count means "not set", a negative one counts the
        // other way (`until: -1` is a month ago).
        if let Some(until) = self.until.filter(|m| *m != 0) {
            let at = shifted(&q, "until", now, until)?;
            q.query.push(("until".into(), at));
        }
        if let Some(since) = self.since.filter(|m| *m != 0) {
            let at = shifted(&q, "since", now, since.checked_neg().unwrap_or(i64::MAX))?;
            q.query.push(("since".into(), at));
        }
        q.one("time_zone", &self.time_zone);
        Ok(q.finish())
    }
}

/// `now` moved by `months` (of 30 days), as PagerDuty's timestamp; an error naming `field`
/// when the date is out of range.
fn shifted(
    q: &QueryBuilder<'_>,
    field: &str,
    now: OffsetDateTime,
    months: i64,
) -> Result<String, SelectorError> {
    months_ahead(now, months).map(iso).ok_or_else(|| {
        q.err(
            field,
            format!("{months} months from now is not a date PagerDuty can take"),
        )
    })
}

impl OncallQuery {
    /// The `GET /oncalls` query: `until` months ahead of `now`, `since` months back (omitted
    /// when 0, so PagerDuty starts the window now).
    pub fn to_query(&self, now: OffsetDateTime) -> Result<Query, SelectorError> {
        let mut q = QueryBuilder::new("oncalls");
        q.warn_unknown(&self.unknown);
        q.list(
            "include",
            &Some(self.include.clone()),
            &["users", "escalation_policies", "schedules"],
        )?;
        // As the reference: 0 leaves the bound to PagerDuty (now for `since`, `since` plus
        // a day for `until`), a negative count moves it the other way.
        if self.until != 0 {
            let at = shifted(&q, "until", now, self.until)?;
            q.query.push(("until".into(), at));
        }
        if self.since != 0 {
            let at = shifted(
                &q,
                "since",
                now,
                self.since.checked_neg().unwrap_or(i64::MAX),
            )?;
            q.query.push(("since".into(), at));
        }
        Ok(q.finish())
    }
}

impl EscalationPolicyQuery {
    /// The `GET /escalation_policies` query.
    pub fn to_query(&self) -> Result<Query, SelectorError> {
        let mut q = QueryBuilder::new("escalation_policies");
        q.warn_unknown(&self.unknown);
        q.list("include", &self.include, &["services", "teams", "targets"])?;
        q.list("team_ids", &self.team_ids, &[])?;
        q.list("user_ids", &self.user_ids, &[])?;
        Ok(q.finish())
    }
}

/// `apiQueryParams` of a kind without special handling, passed through: scalars as `key=value`,
/// lists as repeated `key[]=value`.
pub fn passthrough_query(kind: &str, params: &Map<String, Value>) -> Result<Query, SelectorError> {
    let text = |field: &str, v: &Value| -> Result<String, SelectorError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(SelectorError {
                kind: kind.to_owned(),
                field: format!("apiQueryParams.{field}"),
                reason: format!("{other} is not a text, number or boolean"),
            }),
        }
    };
    let mut query = Vec::new();
    for (key, value) in params {
        match value {
            Value::Null => {}
            Value::Array(items) => {
                let name = if key.ends_with("[]") {
                    key.clone()
                } else {
                    format!("{key}[]")
                };
                for item in items {
                    query.push((name.clone(), text(key, item)?));
                }
            }
            scalar => query.push((key.clone(), text(key, scalar)?)),
        }
    }
    Ok(query)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2024-05-01 12:00:00 UTC);

    fn pairs(q: &Query) -> Vec<String> {
        q.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    #[test]
    fn incident_params_become_array_parameters_in_a_stable_order() {
        let sel: IncidentSelector = parse_selector(
            "incidents",
            &json!({"query": "true", "apiQueryParams": {
                "include": ["assignees", "first_trigger_log_entries"],
                "statuses": ["triggered", "acknowledged"],
                "since": "2024-01-01T00:00:00Z", "date_range": "all", "urgencies": ["high"]},
                "incidentAnalytics": "true"}),
        )
        .unwrap();
        assert!(sel.incident_analytics);
        let q = sel.api_query_params.unwrap().to_query().unwrap();
        assert_eq!(
            pairs(&q),
            [
                "date_range=all",
                "include[]=assignees",
                "include[]=first_trigger_log_entries",
                "since=2024-01-01T00:00:00Z",
                "statuses[]=triggered",
                "statuses[]=acknowledged",
                "urgencies[]=high"
            ]
        );
    }

    #[test]
    fn values_pagerduty_refuses_are_reported_with_the_field() {
        let check = |selector: Value, expected: &str| {
            let sel: IncidentSelector = parse_selector("incidents", &selector).unwrap();
            let err = sel
                .api_query_params
                .unwrap()
                .to_query()
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{err:?} lacks {expected:?}");
        };
        check(
            json!({"apiQueryParams": {"statuses": ["open"]}}),
            "selector field `apiQueryParams.statuses` of kind `incidents`: \"open\" is not one of triggered, acknowledged, resolved",
        );
        check(
            json!({"apiQueryParams": {"date_range": "week"}}),
            "apiQueryParams.date_range",
        );
        check(
            json!({"apiQueryParams": {"include": ["everything"]}}),
            "apiQueryParams.include",
        );
    }

    #[test]
    fn selector_flags_default_as_in_the_reference_and_accept_text() {
        let s: ServiceSelector = parse_selector("services", &json!({"query": "true"})).unwrap();
        assert_eq!(s, ServiceSelector::default());
        assert!(s.service_analytics);
        assert_eq!(s.analytics_months().unwrap(), 3);
        let s: ServiceSelector = parse_selector(
            "services",
            &json!({"serviceAnalytics": "false", "analyticsMonthsPeriod": "6"}),
        )
        .unwrap();
        assert!(!s.service_analytics);
        assert_eq!(s.analytics_months().unwrap(), 6);
        let s: ServiceSelector =
            parse_selector("services", &json!({"analyticsMonthsPeriod": 0})).unwrap();
        assert!(
            s.analytics_months()
                .unwrap_err()
                .to_string()
                .contains("analyticsMonthsPeriod")
        );
        let e: EscalationPolicySelector =
            parse_selector("escalation_policies", &json!({"attachOncallUsers": "true"})).unwrap();
        assert!(e.attach_oncall_users);
        let e: EscalationPolicySelector =
            parse_selector("escalation_policies", &Value::Null).unwrap();
        assert!(e.attach_oncall_users);
        let err = parse_selector::<EscalationPolicySelector>(
            "escalation_policies",
            &json!({"attachOncallUsers": "maybe"}),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("\"maybe\" is not a boolean"),
            "{err}"
        );
    }

    #[test]
    fn oncall_windows_are_months_of_thirty_days_from_now() {
        let sel: OncallSelector = parse_selector(
            "oncalls",
            &json!({"apiQueryParams": {"include": ["users"]}}),
        )
        .unwrap();
        let q = sel.api_query_params.unwrap().to_query(NOW).unwrap();
        assert_eq!(pairs(&q), ["include[]=users", "until=2024-07-30T12:00:00Z"]);
        let sel: OncallSelector = parse_selector(
            "oncalls",
            &json!({"apiQueryParams": {"since": 1, "until": "2", "include": ["users", "schedules"]}}),
        )
        .unwrap();
        let q = sel.api_query_params.unwrap().to_query(NOW).unwrap();
        assert_eq!(
            pairs(&q),
            [
                "include[]=users",
                "include[]=schedules",
                "until=2024-06-30T12:00:00Z",
                "since=2024-04-01T12:00:00Z"
            ]
        );
        // As the reference: 0 leaves the bound to PagerDuty; negative counts go the other way.
        let sel: OncallSelector =
            parse_selector("oncalls", &json!({"apiQueryParams": {"until": 0}})).unwrap();
        let q = sel.api_query_params.unwrap().to_query(NOW).unwrap();
        assert_eq!(pairs(&q), ["include[]=users"]);
        let sel: OncallSelector = parse_selector(
            "oncalls",
            &json!({"apiQueryParams": {"since": -1, "until": -2}}),
        )
        .unwrap();
        let q = sel.api_query_params.unwrap().to_query(NOW).unwrap();
        assert_eq!(
            pairs(&q),
            [
                "include[]=users",
                "until=2024-03-02T12:00:00Z",
                "since=2024-05-31T12:00:00Z"
            ]
        );
        let sel: OncallSelector =
            parse_selector("oncalls", &json!({"apiQueryParams": {"until": i64::MAX}})).unwrap();
        let err = sel.api_query_params.unwrap().to_query(NOW).unwrap_err();
        assert!(err.to_string().contains("`apiQueryParams.until`"), "{err}");
        let sel: OncallSelector = parse_selector("oncalls", &json!({"query": "true"})).unwrap();
        assert!(sel.api_query_params.is_none());
    }

    #[test]
    fn schedule_and_policy_and_service_queries() {
        let q = ScheduleQuery {
            include: Some(vec!["schedule_layers".into()]),
            until: Some(1),
            since: Some(0),
            time_zone: Some("UTC".into()),
            unknown: BTreeMap::new(),
        }
        .to_query(NOW)
        .unwrap();
        assert_eq!(
            pairs(&q),
            [
                "include[]=schedule_layers",
                "until=2024-05-31T12:00:00Z",
                "time_zone=UTC"
            ]
        );
        let q = EscalationPolicyQuery {
            include: Some(vec!["teams".into()]),
            team_ids: Some(vec!["T1".into()]),
            user_ids: None,
            unknown: BTreeMap::new(),
        }
        .to_query()
        .unwrap();
        assert_eq!(pairs(&q), ["include[]=teams", "team_ids[]=T1"]);
        let sel: ServiceSelector = parse_selector(
            "services",
            &json!({"apiQueryParams": {"sort_by": "name:desc", "nope": 1}}),
        )
        .unwrap();
        let q = sel.api_query_params.unwrap().to_query().unwrap();
        assert_eq!(pairs(&q), ["sort_by=name:desc"]);
    }

    #[test]
    fn passthrough_keeps_scalars_and_repeats_lists() {
        let params = json!({"query": "ann", "include": ["contact_methods", "teams"], "total": true, "x": null});
        let q = passthrough_query("users", params.as_object().unwrap()).unwrap();
        assert_eq!(
            pairs(&q),
            [
                "query=ann",
                "include[]=contact_methods",
                "include[]=teams",
                "total=true"
            ]
        );
        let bad = json!({"filter": {"a": 1}});
        assert!(passthrough_query("users", bad.as_object().unwrap()).is_err());
    }

    #[test]
    fn live_event_filters_check_the_incident_itself() {
        let q = IncidentQuery {
            statuses: Some(vec!["triggered".into(), "acknowledged".into()]),
            service_ids: Some(vec!["PSVC1".into()]),
            ..IncidentQuery::default()
        };
        assert!(q.admits(&json!({"status": "triggered", "service": {"id": "PSVC1"}})));
        assert!(!q.admits(&json!({"status": "resolved", "service": {"id": "PSVC1"}})));
        assert!(!q.admits(&json!({"status": "triggered", "service": {"id": "POTHER"}})));
        let teams = IncidentQuery {
            team_ids: Some(vec!["T1".into()]),
            ..IncidentQuery::default()
        };
        assert!(teams.admits(&json!({"teams": [{"id": "T0"}, {"id": "T1"}]})));
        assert!(!teams.admits(&json!({"teams": []})));
        assert!(IncidentQuery::default().admits(&json!({})));
    }
}
