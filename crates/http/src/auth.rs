//! How requests are authenticated: fixed credentials (a bearer token, basic auth, an API-key
//! header or query parameter) or credentials that are fetched and renewed — an OAuth or GitHub
//! App token that expires, a custom login request, a token file that rotates.
//!
//! An [`Authenticator`] hands out [`Credentials`] for each attempt and is told when an API
//! answered 401 to them; the client then sends the request once more with fresh ones.
//! [`RefreshingAuth`] implements the common case: fetch on first use, again before expiry or
//! after a maximum age, again after a 401 — one fetch at a time, shared by every caller.
//! Credential values are [`Secret`]s: they appear in no `Debug` output, label or error.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use futures::future::BoxFuture;
use ocean_model::Secret;
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Why credentials could not be obtained. The message must not hold a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AuthError(pub String);

impl AuthError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        AuthError(message.into())
    }
}

/// What is added to a request to authenticate it: headers, query parameters and, for APIs
/// that take a token in the request body, fields merged into a JSON body.
#[derive(Clone, Default)]
pub struct Credentials {
    headers: Vec<(HeaderName, HeaderValue)>,
    query: Vec<(String, Secret)>,
    /// Top-level fields set in the JSON body of every request that has one, and of every
    /// body-less request whose method carries a body (POST, PUT, PATCH).
    body: Vec<(String, serde_json::Value)>,
    /// Every secret value, to mask in error excerpts.
    secrets: Vec<Secret>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        let query: Vec<&str> = self.query.iter().map(|(n, _)| n.as_str()).collect();
        let body: Vec<&str> = self.body.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Credentials")
            .field("headers", &headers)
            .field("query", &query)
            .field("body", &body)
            .finish()
    }
}

impl Credentials {
    /// No credentials.
    pub fn none() -> Self {
        Credentials::default()
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(token: &Secret) -> Result<Self, AuthError> {
        Credentials::none().with_header(
            AUTHORIZATION,
            &Secret::new(format!("Bearer {}", token.expose().trim())),
        )
    }

    /// `Authorization: Basic base64(username:password)`.
    pub fn basic(username: &str, password: &Secret) -> Result<Self, AuthError> {
        let pair = format!("{username}:{}", password.expose());
        let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
        let mut credentials = Credentials::none()
            .with_header(AUTHORIZATION, &Secret::new(format!("Basic {encoded}")))?;
        credentials.secrets.push(password.clone());
        Ok(credentials)
    }

    /// A header holding a secret (`X-API-Key: …`, `Authorization: Token token=…`).
    pub fn header(name: &str, value: &Secret) -> Result<Self, AuthError> {
        let name = HeaderName::try_from(name)
            .map_err(|_| AuthError::new(format!("{name:?} is not a valid header name")))?;
        Credentials::none().with_header(name, value)
    }

    /// A query parameter holding a secret (`?api_key=…`); its value is redacted in labels.
    pub fn query(name: impl Into<String>, value: &Secret) -> Self {
        Credentials::none().with_query(name, value)
    }

    /// These credentials plus a header.
    pub fn with_header(mut self, name: HeaderName, value: &Secret) -> Result<Self, AuthError> {
        let mut header = HeaderValue::from_str(value.expose()).map_err(|_| {
            AuthError::new(format!(
                "the value for the {name} header holds characters that cannot be sent in a header"
            ))
        })?;
        header.set_sensitive(true);
        self.headers.push((name, header));
        self.secrets.push(value.clone());
        Ok(self)
    }

    /// These credentials plus a query parameter.
    pub fn with_query(mut self, name: impl Into<String>, value: &Secret) -> Self {
        self.query.push((name.into(), value.clone()));
        self.secrets.push(value.clone());
        self
    }

    /// These credentials plus a field of the JSON body. Every string inside `value` is held as
    /// a secret: it is masked in error excerpts and never printed.
    pub fn with_body_field(mut self, name: impl Into<String>, value: serde_json::Value) -> Self {
        fn collect(value: &serde_json::Value, out: &mut Vec<Secret>) {
            match value {
                serde_json::Value::String(s) if !s.is_empty() => out.push(Secret::new(s.clone())),
                serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
                serde_json::Value::Object(map) => map.values().for_each(|v| collect(v, out)),
                _ => {}
            }
        }
        collect(&value, &mut self.secrets);
        self.body.push((name.into(), value));
        self
    }

    /// Adds the credentials to a request. Fails, saying why, when body fields are to be merged
    /// into a body that is not a JSON object.
    pub(crate) fn apply(&self, request: &mut reqwest::Request) -> Result<(), String> {
        for (name, value) in &self.headers {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        if !self.query.is_empty() {
            let mut pairs = request.url_mut().query_pairs_mut();
            for (name, value) in &self.query {
                pairs.append_pair(name, value.expose());
            }
        }
        if !self.body.is_empty() {
            self.merge_body(request)?;
        }
        Ok(())
    }

    /// Sets the body fields in the request's JSON object body (or in a new one, for a body-less
    /// POST, PUT or PATCH; a body-less GET, HEAD or DELETE is left without a body).
    fn merge_body(&self, request: &mut reqwest::Request) -> Result<(), String> {
        use reqwest::Method;
        use reqwest::header::CONTENT_TYPE;
        let existing = request.body().map(|b| b.as_bytes());
        let mut object = match existing {
            None | Some(Some([])) => {
                if !matches!(
                    *request.method(),
                    Method::POST | Method::PUT | Method::PATCH
                ) {
                    return Ok(());
                }
                serde_json::Map::new()
            }
            Some(None) => return Err("its body is a stream, not a JSON object".to_owned()),
            Some(Some(bytes)) => {
                let is_json = request
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.contains("json"));
                match serde_json::from_slice::<serde_json::Value>(bytes) {
                    Ok(serde_json::Value::Object(map)) if is_json => map,
                    _ => {
                        return Err("its body is not a JSON object, so the authentication's \
                                    body fields cannot be merged into it"
                            .to_owned());
                    }
                }
            }
        };
        for (name, value) in &self.body {
            object.insert(name.clone(), value.clone());
        }
        let bytes = serde_json::to_vec(&object).map_err(|e| e.to_string())?;
        request
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        *request.body_mut() = Some(bytes.into());
        Ok(())
    }

    /// The names of the query parameters that hold secrets.
    pub(crate) fn query_names(&self) -> impl Iterator<Item = &str> {
        self.query.iter().map(|(n, _)| n.as_str())
    }

    /// The secret values (to mask in excerpts), with the header values' parts too.
    pub(crate) fn secret_values(&self) -> Vec<&str> {
        let mut values: Vec<&str> = self.secrets.iter().map(Secret::expose).collect();
        for (_, value) in &self.headers {
            if let Ok(text) = value.to_str() {
                values.push(text);
                if let Some((_, token)) = text.rsplit_once([' ', '=']) {
                    values.push(token);
                }
            }
        }
        values
    }
}

/// Hands out credentials for each attempt and renews them when an API refuses them.
#[async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// The credentials to send now.
    async fn credentials(&self) -> Result<Arc<Credentials>, AuthError>;

    /// `used` was answered 401. Returns whether sending again (once) with whatever
    /// [`credentials`](Self::credentials) returns next may succeed; the default: no.
    async fn rejected(&self, used: &Arc<Credentials>) -> bool {
        let _ = used;
        false
    }
}

/// Fixed credentials (a 401 is final).
#[derive(Debug, Clone)]
pub struct StaticAuth(pub Arc<Credentials>);

#[async_trait]
impl Authenticator for StaticAuth {
    async fn credentials(&self) -> Result<Arc<Credentials>, AuthError> {
        Ok(self.0.clone())
    }
}

/// What a credential fetch returns: the credentials and, if known, how long they are valid.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The credentials.
    pub credentials: Credentials,
    /// How long they are valid from now (`expires_in`), if the issuer said.
    pub expires_in: Option<Duration>,
}

type Fetch = dyn Fn() -> BoxFuture<'static, Result<Issued, AuthError>> + Send + Sync;

struct Current {
    credentials: Arc<Credentials>,
    expires_at: Option<Instant>,
    issued_at: Instant,
}

/// Credentials fetched on first use and fetched again when they are about to expire, are older
/// than a maximum age, or were refused with a 401. One fetch runs at a time; callers that need
/// credentials meanwhile wait for it and share its result.
pub struct RefreshingAuth {
    fetch: Box<Fetch>,
    refresh_before: Duration,
    max_age: Option<Duration>,
    current: Mutex<Option<Current>>,
}

impl fmt::Debug for RefreshingAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshingAuth")
            .field("refresh_before", &self.refresh_before)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

impl RefreshingAuth {
    /// Credentials from `fetch` (a token request, a file read, a login), renewed 60 s before
    /// they expire.
    pub fn new<F, Fut>(fetch: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Issued, AuthError>> + Send + 'static,
    {
        RefreshingAuth {
            fetch: Box::new(move || Box::pin(fetch())),
            refresh_before: Duration::from_secs(60),
            max_age: None,
            current: Mutex::new(None),
        }
    }

    /// Renews this long before the expiry the issuer gave (default 60 s).
    pub fn refresh_before(mut self, margin: Duration) -> Self {
        self.refresh_before = margin;
        self
    }

    /// Renews credentials at least this often, whatever their expiry (a re-authentication
    /// interval, a file that may have rotated).
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    fn still_good(&self, current: &Current, now: Instant) -> bool {
        let fresh = self
            .max_age
            .is_none_or(|age| now.duration_since(current.issued_at) < age);
        let unexpired = current
            .expires_at
            .is_none_or(|at| now + self.refresh_before < at);
        fresh && unexpired
    }
}

#[async_trait]
impl Authenticator for RefreshingAuth {
    async fn credentials(&self) -> Result<Arc<Credentials>, AuthError> {
        let mut current = self.current.lock().await;
        let now = Instant::now();
        if let Some(c) = current.as_ref().filter(|c| self.still_good(c, now)) {
            return Ok(c.credentials.clone());
        }
        let issued = (self.fetch)().await?;
        let now = Instant::now();
        let credentials = Arc::new(issued.credentials);
        *current = Some(Current {
            credentials: credentials.clone(),
            expires_at: issued.expires_in.map(|d| now + d),
            issued_at: now,
        });
        Ok(credentials)
    }

    async fn rejected(&self, used: &Arc<Credentials>) -> bool {
        let mut current = self.current.lock().await;
        // Only forget them if nobody has replaced them since.
        if current
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(&c.credentials, used))
        {
            *current = None;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn credentials_never_print_their_values() {
        let c = Credentials::bearer(&Secret::new("t0ken"))
            .unwrap()
            .with_query("api_key", &Secret::new("k3y"));
        let printed = format!("{c:?}");
        assert!(
            !printed.contains("t0ken") && !printed.contains("k3y"),
            "{printed}"
        );
        assert!(printed.contains("authorization") && printed.contains("api_key"));
        let values = c.secret_values();
        assert!(values.contains(&"t0ken") && values.contains(&"k3y"));
        let basic = Credentials::basic("me", &Secret::new("pw")).unwrap();
        assert_eq!(
            basic.headers[0].1.to_str().unwrap(),
            "Basic bWU6cHc=" // base64("me:pw")
        );
        assert!(basic.headers[0].1.is_sensitive());
        assert!(Credentials::header("bad name", &Secret::new("x")).is_err());
        assert!(Credentials::bearer(&Secret::new("line\nbreak")).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn refreshing_auth_fetches_once_renews_before_expiry_and_after_a_401() {
        let fetches = Arc::new(AtomicU32::new(0));
        let auth = {
            let fetches = fetches.clone();
            RefreshingAuth::new(move || {
                let n = fetches.fetch_add(1, Ordering::SeqCst) + 1;
                async move {
                    Ok(Issued {
                        credentials: Credentials::bearer(&Secret::new(format!("token-{n}")))?,
                        expires_in: Some(Duration::from_secs(600)),
                    })
                }
            })
        };
        let auth = Arc::new(auth);
        // Concurrent callers share one fetch.
        let (a, b) = tokio::join!(auth.credentials(), auth.credentials());
        assert!(Arc::ptr_eq(&a.unwrap(), &b.unwrap()));
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        // Renewed 60 s before the expiry.
        tokio::time::advance(Duration::from_secs(530)).await;
        let first = auth.credentials().await.unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(20)).await;
        let second = auth.credentials().await.unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        // A 401 to stale credentials does not throw away the fresh ones.
        assert!(auth.rejected(&first).await);
        assert!(Arc::ptr_eq(&auth.credentials().await.unwrap(), &second));
        assert!(auth.rejected(&second).await);
        auth.credentials().await.unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn max_age_forces_renewal_and_fetch_errors_pass_through() {
        let fetches = Arc::new(AtomicU32::new(0));
        let auth = {
            let fetches = fetches.clone();
            RefreshingAuth::new(move || {
                let n = fetches.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n == 2 {
                        return Err(AuthError::new("the login endpoint answered 500"));
                    }
                    Ok(Issued {
                        credentials: Credentials::none(),
                        expires_in: None,
                    })
                }
            })
            .max_age(Duration::from_secs(300))
        };
        auth.credentials().await.unwrap();
        tokio::time::advance(Duration::from_secs(299)).await;
        auth.credentials().await.unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(2)).await;
        auth.credentials().await.unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        tokio::time::advance(Duration::from_secs(301)).await;
        assert_eq!(
            auth.credentials().await.unwrap_err(),
            AuthError::new("the login endpoint answered 500")
        );
        assert!(
            !StaticAuth(Arc::new(Credentials::none()))
                .rejected(&Arc::new(Credentials::none()))
                .await
        );
    }
}
