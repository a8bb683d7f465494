//! `authType: custom`: an authentication request (`customAuthRequest`) whose JSON response fills
//! `{{.jq}}` placeholders of header, query and body templates (`customAuthRequestTemplate`).
//!
//! The SDK's [`RefreshingAuth`] does the rest: one authentication in flight at a time, a new
//! one when `reauthenticateIntervalSeconds` has passed (less a 60-second margin when the interval
//! is longer than two minutes) and after a 401, whose request is then sent once more. The
//! evaluated values are [`Secret`]s: they never print, and are masked in error excerpts.
//!
//! A `body` template's fields are set in the JSON body of every request that has one (and of
//! a body-less POST, PUT or PATCH), on every attempt: a request resent after a 401 carries the
//! new values. Strings are filled in, in objects and lists at any depth; other values are sent
//! as written.

use crate::config::InvalidConfig;
use crate::data_path::Jq;
use ocean::Secret;
use ocean::http::header::HeaderName;
use ocean::http::{
    AuthError, Credentials, HttpClient, Issued, Method, RefreshingAuth, RetryPolicy,
};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::time::Duration;

/// The authentication request (`customAuthRequest`). Its `Debug` output names the endpoint
/// and method only: headers, query and body usually carry the client's secret.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuthRequest {
    /// Relative to `baseUrl`, or an absolute `http(s)` URL.
    pub endpoint: String,
    /// The method (default POST).
    #[serde(default)]
    pub method: Option<String>,
    /// Headers of the request.
    #[serde(default)]
    pub headers: Option<Map<String, Value>>,
    /// A JSON body.
    #[serde(default)]
    pub body: Option<Value>,
    /// A raw `application/x-www-form-urlencoded` body.
    #[serde(default, alias = "body_form")]
    pub body_form: Option<String>,
    /// Query parameters of the request.
    #[serde(default, alias = "query_params")]
    pub query_params: Option<Map<String, Value>>,
    /// Seconds after which to authenticate again (at least 1).
    #[serde(default, alias = "reauthenticate_interval_seconds")]
    pub reauthenticate_interval_seconds: Option<u64>,
}

impl std::fmt::Debug for AuthRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthRequest")
            .field("endpoint", &self.endpoint)
            .field("method", &self.method)
            .field(
                "reauthenticate_interval_seconds",
                &self.reauthenticate_interval_seconds,
            )
            .finish_non_exhaustive()
    }
}

/// What the authentication response fills in (`customAuthRequestTemplate`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuthTemplate {
    /// Headers of every request.
    #[serde(default)]
    pub headers: Option<Map<String, Value>>,
    /// Query parameters of every request.
    #[serde(default, alias = "query_params")]
    pub query_params: Option<Map<String, Value>>,
    /// Fields set in JSON request bodies.
    #[serde(default)]
    pub body: Option<Map<String, Value>>,
}

/// A template string: literal text and `{{.jq}}` placeholders.
#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Placeholder(Jq),
}

/// A compiled template value.
#[derive(Debug, Clone)]
struct Template(Vec<Part>);

impl Template {
    fn parse(key: &'static str, text: &str) -> Result<Self, InvalidConfig> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or_else(|| {
                InvalidConfig::new(
                    key,
                    format!("{text:?} has a `{{{{` without a closing `}}}}`"),
                )
            })?;
            let inner = after[..end].trim();
            if !inner.starts_with('.') || inner.len() < 2 {
                return Err(InvalidConfig::new(
                    key,
                    format!(
                        "{text:?}: a placeholder is `{{{{.path}}}}` (a JQ path into the \
                         authentication response), not `{{{{{inner}}}}}`"
                    ),
                ));
            }
            parts.push(Part::Placeholder(
                Jq::compile(inner).map_err(|e| InvalidConfig::new(key, e))?,
            ));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Template(parts))
    }

    fn render(&self, response: &Value) -> Result<String, AuthError> {
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Placeholder(jq) => match jq.first(response).map_err(AuthError::new)? {
                    None | Some(Value::Null) => {
                        return Err(AuthError::new(format!(
                            "the authentication response has no value at {}",
                            jq.source()
                        )));
                    }
                    Some(Value::String(s)) => out.push_str(&s),
                    Some(other) => out.push_str(&other.to_string()),
                },
            }
        }
        Ok(out)
    }
}

/// A compiled body template: strings are templates, at any depth of objects and lists.
#[derive(Debug, Clone)]
enum BodyTemplate {
    Text(Template),
    List(Vec<BodyTemplate>),
    Object(Vec<(String, BodyTemplate)>),
    Literal(Value),
}

impl BodyTemplate {
    fn parse(key: &'static str, value: &Value) -> Result<Self, InvalidConfig> {
        Ok(match value {
            Value::String(text) => BodyTemplate::Text(Template::parse(key, text)?),
            Value::Array(items) => BodyTemplate::List(
                items
                    .iter()
                    .map(|v| BodyTemplate::parse(key, v))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => BodyTemplate::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), BodyTemplate::parse(key, v)?)))
                    .collect::<Result<_, InvalidConfig>>()?,
            ),
            other => BodyTemplate::Literal(other.clone()),
        })
    }

    fn render(&self, response: &Value) -> Result<Value, AuthError> {
        Ok(match self {
            BodyTemplate::Text(t) => Value::String(t.render(response)?),
            BodyTemplate::List(items) => Value::Array(
                items
                    .iter()
                    .map(|t| t.render(response))
                    .collect::<Result<_, _>>()?,
            ),
            BodyTemplate::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, t)| Ok((k.clone(), t.render(response)?)))
                    .collect::<Result<_, AuthError>>()?,
            ),
            BodyTemplate::Literal(v) => v.clone(),
        })
    }
}

/// A checked custom authentication.
#[derive(Debug, Clone)]
pub struct CustomAuth {
    request: AuthRequest,
    method: Method,
    headers: Vec<(HeaderName, Template)>,
    query: Vec<(String, Template)>,
    body: Vec<(String, BodyTemplate)>,
}

fn object<T: serde::de::DeserializeOwned>(
    key: &'static str,
    value: Option<&Value>,
) -> Result<T, InvalidConfig> {
    let value = match value {
        None | Some(Value::Null) => {
            return Err(InvalidConfig::new(key, "is required with authType custom"));
        }
        Some(Value::String(text)) => serde_json::from_str::<Value>(text)
            .map_err(|e| InvalidConfig::new(key, format!("is not a JSON object: {e}")))?,
        Some(other) => other.clone(),
    };
    serde_json::from_value(value).map_err(|e| InvalidConfig::new(key, e.to_string()))
}

fn strings(
    key: &'static str,
    map: Option<&Map<String, Value>>,
) -> Result<Vec<(String, String)>, InvalidConfig> {
    map.into_iter()
        .flatten()
        .map(|(name, value)| match value {
            Value::String(s) => Ok((name.clone(), s.clone())),
            Value::Number(_) | Value::Bool(_) => Ok((name.clone(), value.to_string())),
            _ => Err(InvalidConfig::new(
                key,
                format!("the value of {name:?} must be a string"),
            )),
        })
        .collect()
}

impl CustomAuth {
    /// Checks `customAuthRequest` and `customAuthRequestTemplate` (objects or their JSON text).
    pub fn parse(request: Option<&Value>, template: Option<&Value>) -> Result<Self, InvalidConfig> {
        const REQUEST: &str = "customAuthRequest";
        const TEMPLATE: &str = "customAuthRequestTemplate";
        let request: AuthRequest = object(REQUEST, request)?;
        let template: AuthTemplate = object(TEMPLATE, template)?;
        if request.endpoint.trim().is_empty() {
            return Err(InvalidConfig::new(REQUEST, "`endpoint` is empty"));
        }
        if request.body.is_some() && request.body_form.is_some() {
            return Err(InvalidConfig::new(
                REQUEST,
                "`body` and `bodyForm` cannot both be set",
            ));
        }
        if request.reauthenticate_interval_seconds == Some(0) {
            return Err(InvalidConfig::new(
                REQUEST,
                "`reauthenticateIntervalSeconds` must be at least 1",
            ));
        }
        let method = match request
            .method
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            None | Some("POST") => Method::POST,
            Some("GET") => Method::GET,
            Some("PUT") => Method::PUT,
            Some("PATCH") => Method::PATCH,
            Some("DELETE") => Method::DELETE,
            Some(other) => {
                return Err(InvalidConfig::new(
                    REQUEST,
                    format!("`method` {other:?} is not one of POST, GET, PUT, PATCH, DELETE"),
                ));
            }
        };
        if template.headers.is_none() && template.query_params.is_none() && template.body.is_none()
        {
            return Err(InvalidConfig::new(
                TEMPLATE,
                "needs `headers`, `queryParams` or `body` to send what the authentication returns",
            ));
        }
        let headers = strings(TEMPLATE, template.headers.as_ref())?
            .into_iter()
            .map(|(name, text)| {
                let header = HeaderName::try_from(name.as_str()).map_err(|_| {
                    InvalidConfig::new(TEMPLATE, format!("{name:?} is not a header name"))
                })?;
                Ok((header, Template::parse(TEMPLATE, &text)?))
            })
            .collect::<Result<_, InvalidConfig>>()?;
        let query = strings(TEMPLATE, template.query_params.as_ref())?
            .into_iter()
            .map(|(name, text)| Ok((name, Template::parse(TEMPLATE, &text)?)))
            .collect::<Result<_, InvalidConfig>>()?;
        let body = template
            .body
            .iter()
            .flatten()
            .map(|(name, value)| Ok((name.clone(), BodyTemplate::parse(TEMPLATE, value)?)))
            .collect::<Result<_, InvalidConfig>>()?;
        strings(REQUEST, request.headers.as_ref())?;
        Ok(CustomAuth {
            request,
            method,
            headers,
            query,
            body,
        })
    }

    /// The credentials of one authentication response.
    pub fn credentials(&self, response: &Value) -> Result<Credentials, AuthError> {
        let mut credentials = Credentials::none();
        for (name, template) in &self.headers {
            credentials =
                credentials.with_header(name.clone(), &Secret::new(template.render(response)?))?;
        }
        for (name, template) in &self.query {
            credentials =
                credentials.with_query(name.clone(), &Secret::new(template.render(response)?));
        }
        for (name, template) in &self.body {
            credentials = credentials.with_body_field(name.clone(), template.render(response)?);
        }
        Ok(credentials)
    }

    /// The authenticator: `base_url` for relative endpoints, `timeout` for the request.
    pub fn authenticator(
        self,
        base_url: &str,
        timeout: Duration,
        accept_invalid_certs: bool,
    ) -> Result<RefreshingAuth, InvalidConfig> {
        let client = HttpClient::builder("the custom API's authentication")
            .base_url(format!("{base_url}/"))
            .user_agent(crate::integration::USER_AGENT)
            .timeout(timeout)
            .accept_invalid_certs(accept_invalid_certs)
            .retry(RetryPolicy::default())
            .build()
            .map_err(|e| InvalidConfig::new("customAuthRequest", e.to_string()))?;
        let endpoint = self.request.endpoint.trim().to_owned();
        let url = if endpoint.starts_with("http://") || endpoint.starts_with("https://") {
            endpoint
        } else {
            format!("{base_url}/{}", endpoint.trim_start_matches('/'))
        };
        let interval = self.request.reauthenticate_interval_seconds.map(|s| {
            if s > 120 {
                Duration::from_secs(s - 60)
            } else {
                Duration::from_secs(s)
            }
        });
        let auth = std::sync::Arc::new(self);
        let refreshing = RefreshingAuth::new(move || {
            let (auth, client, url) = (auth.clone(), client.clone(), url.clone());
            async move {
                let mut request = client.request(auth.method.clone(), &url);
                for (name, value) in
                    strings("customAuthRequest", auth.request.headers.as_ref()).unwrap_or_default()
                {
                    request = request.header(name, value);
                }
                request =
                    request.query_pairs(crate::selector::pairs(auth.request.query_params.as_ref()));
                if let Some(body) = &auth.request.body {
                    request = request.json(body);
                } else if let Some(form) = &auth.request.body_form {
                    request = request.body(
                        "application/x-www-form-urlencoded",
                        form.clone().into_bytes(),
                    );
                }
                let response: Value = request.send_json().await.map_err(|e| {
                    AuthError::new(format!("the authentication request failed: {e}"))
                })?;
                Ok(Issued {
                    credentials: auth.credentials(&response)?,
                    expires_in: None,
                })
            }
        })
        .refresh_before(Duration::ZERO);
        Ok(match interval {
            Some(age) => refreshing.max_age(age),
            None => refreshing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(request: Value, template: Value) -> Result<CustomAuth, String> {
        CustomAuth::parse(Some(&request), Some(&template)).map_err(|e| e.to_string())
    }

    #[test]
    fn templates_fill_headers_and_query_from_the_response() {
        let auth = parse(
            json!({"endpoint": "/auth", "body": {"id": "x"}, "reauthenticate_interval_seconds": 5}),
            json!(
                "{\"headers\": {\"Authorization\": \"Bearer {{.data.token}}\"}, \
                   \"queryParams\": {\"sig\": \"{{ .sig }}\", \"n\": \"{{.n}}\"}}"
            ),
        )
        .unwrap();
        let credentials = auth
            .credentials(&json!({"data": {"token": "t-1"}, "sig": "s", "n": 3}))
            .unwrap();
        let printed = format!("{credentials:?}");
        assert!(
            !printed.contains("t-1") && printed.contains("authorization"),
            "{printed}"
        );
        let err = auth.credentials(&json!({"sig": "s", "n": 1})).unwrap_err();
        assert!(err.to_string().contains(".data.token"), "{err}");
    }

    #[test]
    fn body_templates_fill_strings_at_any_depth_and_keep_other_values() {
        let auth = parse(
            json!({"endpoint": "/auth"}),
            json!({"body": {
                "auth": {"token": "{{.token}}", "scopes": ["read", "{{.scope}}"], "v": 2},
                "flag": true
            }}),
        )
        .unwrap();
        let credentials = auth
            .credentials(&json!({"token": "t-9", "scope": "admin"}))
            .unwrap();
        let printed = format!("{credentials:?}");
        assert!(
            !printed.contains("t-9") && printed.contains("auth"),
            "{printed}"
        );
        let err = auth.credentials(&json!({"token": "t-9"})).unwrap_err();
        assert!(err.to_string().contains(".scope"), "{err}");
    }

    #[test]
    fn bad_settings_are_refused_naming_the_key() {
        let template = json!({"headers": {"Authorization": "Bearer {{.token}}"}});
        let cases = [
            (
                json!({"endpoint": "/a", "body": {}, "bodyForm": "a=b"}),
                template.clone(),
                "both",
            ),
            (
                json!({"endpoint": "/a", "extra": 1}),
                template.clone(),
                "`customAuthRequest`",
            ),
            (
                json!({"endpoint": "/a", "reauthenticateIntervalSeconds": 0}),
                template.clone(),
                "at least 1",
            ),
            (
                json!({"endpoint": "/a"}),
                json!({"headers": {"A": "{{token}}"}}),
                "`customAuthRequestTemplate`",
            ),
            (
                json!({"endpoint": "/a"}),
                json!({"headers": {"A": "{{.token"}}),
                "closing",
            ),
            (json!({"endpoint": "/a"}), json!({}), "needs `headers`"),
            (
                json!({"endpoint": "/a"}),
                json!({"body": {"auth": ["{{token}}"]}}),
                "not `{{token}}`",
            ),
            (
                json!({"endpoint": "/a"}),
                json!({"body": ["{{.token}}"]}),
                "`customAuthRequestTemplate`",
            ),
        ];
        for (request, template, want) in cases {
            let err = parse(request.clone(), template).unwrap_err();
            assert!(err.contains(want), "{request}: {err:?} lacks {want:?}");
        }
        let missing = CustomAuth::parse(None, Some(&template))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("`customAuthRequest`"), "{missing}");
    }
}
