//! A resource's selector, as the reference reads it: `method`, `query_params`, `headers`,
//! `body`, `data_path` and `path_parameters`, plus (not in the reference) any pagination option
//! overriding the integration's (`pagination_type`, `page_size`, `cursor_path`, …, snake_case or
//! camelCase).

use crate::config::PaginationOptions;
use ocean::http::Method;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A selector field the integration cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("selector of kind `{kind}`: {reason}")]
pub struct SelectorError {
    /// The kind (endpoint) of the resource.
    pub kind: String,
    /// What is wrong.
    pub reason: String,
}

/// The selector of one resource.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Selector {
    /// The HTTP method (default GET).
    #[serde(default)]
    pub method: Option<String>,
    /// Query parameters of the first request.
    #[serde(default)]
    pub query_params: Option<Map<String, Value>>,
    /// Headers of every request of this resource (over `customHeaders`).
    #[serde(default)]
    pub headers: Option<Map<String, Value>>,
    /// A JSON body, sent when not empty.
    #[serde(default)]
    pub body: Option<Value>,
    /// JQ giving a page's items.
    #[serde(default)]
    pub data_path: Option<String>,
    /// How each `{name}` of the kind is discovered.
    #[serde(default)]
    pub path_parameters: Option<BTreeMap<String, PathParameter>>,
    /// Pagination options overriding the integration's.
    #[serde(flatten)]
    pub pagination: PaginationOptions,
}

/// How the values of one path parameter are discovered.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathParameter {
    /// The endpoint listing the records (may use parameters of the kind resolved before it).
    pub endpoint: String,
    /// The HTTP method (default GET).
    #[serde(default)]
    pub method: Option<String>,
    /// Query parameters of the discovery request.
    #[serde(default)]
    pub query_params: Option<Map<String, Value>>,
    /// Headers of the discovery request.
    #[serde(default)]
    pub headers: Option<Map<String, Value>>,
    /// JQ giving a page's records.
    #[serde(default)]
    pub data_path: Option<String>,
    /// JQ giving the parameter's value from a record.
    pub field: String,
    /// JQ keeping a record only when it gives `true`.
    #[serde(default)]
    pub filter: Option<String>,
    /// Pagination options of the discovery endpoint, overriding the integration's (the
    /// reference pages every discovery endpoint with the global pagination).
    #[serde(flatten)]
    pub pagination: PaginationOptions,
}

impl Selector {
    /// Reads the selector of `kind`.
    pub fn parse(kind: &str, selector: &Value) -> Result<Self, SelectorError> {
        serde_json::from_value(selector.clone()).map_err(|e| SelectorError {
            kind: kind.to_owned(),
            reason: e.to_string(),
        })
    }
}

/// The method named `name` (GET, POST, PUT, PATCH or DELETE; default GET).
pub fn method(kind: &str, name: Option<&str>) -> Result<Method, SelectorError> {
    match name.map(|m| m.trim().to_ascii_uppercase()).as_deref() {
        None | Some("") | Some("GET") => Ok(Method::GET),
        Some("POST") => Ok(Method::POST),
        Some("PUT") => Ok(Method::PUT),
        Some("PATCH") => Ok(Method::PATCH),
        Some("DELETE") => Ok(Method::DELETE),
        Some(other) => Err(SelectorError {
            kind: kind.to_owned(),
            reason: format!("method {other:?} is not one of GET, POST, PUT, PATCH, DELETE"),
        }),
    }
}

/// Query parameters or headers as text pairs (a list value repeats the name; null is left out).
pub fn pairs(map: Option<&Map<String, Value>>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, value) in map.into_iter().flatten() {
        match value {
            Value::Null => {}
            Value::Array(values) => {
                out.extend(values.iter().map(|v| (name.clone(), text(v))));
            }
            v => out.push((name.clone(), text(v))),
        }
    }
    out
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The `{name}` parameters of an endpoint, in order of first appearance.
pub fn path_params(endpoint: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut rest = endpoint;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !name.is_empty()
            && name.chars().all(|c| c.is_alphanumeric() || c == '_')
            && !names.iter().any(|n| n == name)
        {
            names.push(name.to_owned());
        }
        rest = &after[end + 1..];
    }
    names
}

/// `endpoint` with each known `{name}` replaced by its value, percent-encoded as a path segment.
pub fn fill(endpoint: &str, values: &[(String, String)]) -> String {
    let mut out = endpoint.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), &encode_segment(value));
    }
    out
}

fn encode_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~:@!$&'()*+,;=".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_reference_fields_and_pagination_overrides() {
        let s = Selector::parse(
            "/users",
            &json!({"query": "true", "method": "post", "query_params": {"a": 1, "b": ["x", "y"]},
                "body": {"q": 1}, "data_path": ".users", "paginationType": "cursor",
                "page_size": 10}),
        )
        .unwrap();
        assert_eq!(method("/users", s.method.as_deref()).unwrap(), Method::POST);
        assert_eq!(
            pairs(s.query_params.as_ref()),
            [
                ("a".into(), "1".into()),
                ("b".into(), "x".into()),
                ("b".into(), "y".into())
            ]
        );
        assert_eq!(s.pagination.pagination_type.as_deref(), Some("cursor"));
        assert!(
            method("/users", Some("TRACE"))
                .unwrap_err()
                .to_string()
                .contains("TRACE")
        );
        let err = Selector::parse(
            "/t/{id}",
            &json!({"path_parameters": {"id": {"endpoint": "/t", "field": ".id", "typo": 1}}}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("typo"), "{err}");
    }

    #[test]
    fn path_parameters_are_found_and_filled() {
        assert_eq!(
            path_params("/orgs/{org}/teams/{team_id}/members/{org}"),
            ["org", "team_id"]
        );
        assert!(path_params("/plain").is_empty());
        assert_eq!(
            fill(
                "/orgs/{org}/teams/{team}",
                &[("org".into(), "a b/c".into()), ("team".into(), "7".into())]
            ),
            "/orgs/a%20b%2Fc/teams/7"
        );
    }
}
