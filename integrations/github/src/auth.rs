//! Credentials: a personal access token, or a GitHub App — its RS256 JWT for the `/app`
//! endpoints, and per installation an installation token minted with that JWT and refreshed
//! before it expires.
//!
//! An App is discovered once ([`discover_installations`]): its installations, less the suspended
//! ones and, when `githubOrganization` is set, less every installation of another account (a
//! shared App never syncs or hooks an organization the configuration did not name). Each kept
//! installation becomes one [`Credential`] with its own rate limit, as GitHub counts them.

use crate::client::{GithubClient, GithubError};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ocean::Secret;
use serde::Serialize;
use serde_json::Value;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// How long before its expiry an installation token is replaced (the reference's buffer).
pub const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// How long an App JWT is valid. GitHub accepts at most ten minutes; the JWT is backdated by a
/// minute for clock drift, as GitHub recommends.
pub const JWT_LIFETIME: Duration = Duration::from_secs(9 * 60);

/// A GitHub App's signing key.
pub struct AppKey {
    app_id: String,
    key: EncodingKey,
}

impl fmt::Debug for AppKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppKey")
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iat: i64,
    exp: i64,
    iss: &'a str,
}

impl AppKey {
    /// The key of App `app_id` from its PEM private key.
    pub fn new(app_id: &str, private_key_pem: &Secret) -> Result<Self, GithubError> {
        let key = EncodingKey::from_rsa_pem(private_key_pem.expose().as_bytes()).map_err(|e| {
            GithubError::Auth(format!(
                "githubAppPrivateKey is not an RSA private key in PEM ({e})"
            ))
        })?;
        Ok(AppKey {
            app_id: app_id.to_owned(),
            key,
        })
    }

    /// The App's id.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// A fresh JWT: `iss` the App id, issued a minute ago, valid for [`JWT_LIFETIME`].
    pub fn jwt(&self) -> Result<Secret, GithubError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            iat: now - 60,
            exp: now + JWT_LIFETIME.as_secs() as i64,
            iss: &self.app_id,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map(Secret::new)
            .map_err(|e| GithubError::Auth(format!("signing the GitHub App JWT: {e}")))
    }
}

/// An installation token and when it expires.
#[derive(Clone)]
struct CachedToken {
    token: Secret,
    expires_at: OffsetDateTime,
}

/// The installation token of one App installation, minted on first use and replaced
/// [`TOKEN_REFRESH_MARGIN`] before it expires (or after GitHub refused it).
pub struct InstallationToken {
    id: u64,
    app: GithubClient,
    cached: tokio::sync::Mutex<Option<CachedToken>>,
}

impl fmt::Debug for InstallationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstallationToken")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl InstallationToken {
    /// The token source of installation `id`, minting with `app` (a client authenticated as the
    /// App).
    pub fn new(id: u64, app: GithubClient) -> Self {
        InstallationToken {
            id,
            app,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// The installation's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// A valid token, minted when there is none or it expires within the margin.
    pub async fn token(&self) -> Result<Secret, GithubError> {
        let mut cached = self.cached.lock().await;
        let margin = time::Duration::try_from(TOKEN_REFRESH_MARGIN).unwrap_or_default();
        if let Some(current) = cached.as_ref() {
            if OffsetDateTime::now_utc() < current.expires_at - margin {
                return Ok(current.token.clone());
            }
        }
        let url = self.app.url(&[
            "app",
            "installations",
            &self.id.to_string(),
            "access_tokens",
        ]);
        // Minting twice does no harm: the mint may be retried.
        let answer = self
            .app
            .post_json(&url, &serde_json::json!({}), true)
            .await?;
        let token = answer.get("token").and_then(Value::as_str).ok_or_else(|| {
            GithubError::Auth(format!(
                "GitHub minted no token for installation {} (no `token` in the answer)",
                self.id
            ))
        })?;
        let expires_at = answer
            .get("expires_at")
            .and_then(Value::as_str)
            .and_then(|s| {
                OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
            })
            .unwrap_or_else(|| OffsetDateTime::now_utc() + time::Duration::minutes(60));
        tracing::debug!(installation = self.id, %expires_at, "Minted a GitHub App installation token");
        let fresh = CachedToken {
            token: Secret::new(token),
            expires_at,
        };
        *cached = Some(fresh.clone());
        Ok(fresh.token)
    }

    /// Forgets the token (GitHub refused it); the next request mints a new one.
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }
}

/// What a request authenticates with.
#[derive(Clone)]
pub enum Credential {
    /// A personal access token.
    Token {
        /// The token.
        token: Secret,
    },
    /// A GitHub App's JWT (the `/app` endpoints).
    App(Arc<AppKey>),
    /// A GitHub App installation's token.
    Installation(Arc<InstallationToken>),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.scope())
    }
}

impl Credential {
    /// The rate-limit scope GitHub counts this credential's requests in (`pat`, `app:12`,
    /// `installation:345`), also the cache's key prefix.
    pub fn scope(&self) -> String {
        match self {
            Credential::Token { .. } => "pat".to_owned(),
            Credential::App(key) => format!("app:{}", key.app_id()),
            Credential::Installation(token) => format!("installation:{}", token.id()),
        }
    }

    /// The bearer token to send now: the PAT, a fresh App JWT, or the installation's token
    /// (minted when there is none or it is about to expire).
    pub async fn token(&self) -> Result<Secret, GithubError> {
        Ok(match self {
            Credential::Token { token } => token.clone(),
            Credential::App(key) => key.jwt()?,
            // Boxed: minting a token is itself a request through the App's client.
            Credential::Installation(source) => Box::pin(source.token()).await?,
        })
    }

    /// After a 401: whether a fresh token may help (an installation token was replaced).
    pub async fn refresh(&self) -> bool {
        match self {
            Credential::Installation(source) => {
                source.invalidate().await;
                true
            }
            _ => false,
        }
    }
}

/// One installation of the App, as discovery found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    /// The installation id.
    pub id: u64,
    /// The account's login (organization or user).
    pub login: String,
    /// `Organization` or `User`.
    pub account_type: String,
}

/// The App's installations to sync: not suspended, with an account, and — when an
/// organization is configured — only that organization's (case-insensitive); none matching it
/// is an error naming the organization.
pub async fn discover_installations(
    app: &GithubClient,
    organization: Option<&str>,
) -> Result<Vec<Installation>, GithubError> {
    use futures::TryStreamExt as _;
    let url = app.url(&["app", "installations"]);
    let pages: Vec<Vec<Value>> = app.paginate(&url, &[], None).try_collect().await?;
    let mut kept = Vec::new();
    let mut skipped = Vec::new();
    for installation in pages.into_iter().flatten() {
        let Some(id) = installation.get("id").and_then(Value::as_u64) else {
            continue;
        };
        let Some(login) = installation
            .pointer("/account/login")
            .and_then(Value::as_str)
        else {
            continue;
        };
        if !installation.get("suspended_at").is_none_or(Value::is_null) {
            tracing::info!(
                installation = id,
                login,
                "Skipping a suspended GitHub App installation"
            );
            continue;
        }
        if let Some(org) = organization {
            if !login.eq_ignore_ascii_case(org) {
                skipped.push(login.to_owned());
                continue;
            }
        }
        kept.push(Installation {
            id,
            login: login.to_owned(),
            account_type: installation
                .pointer("/account/type")
                .and_then(Value::as_str)
                .unwrap_or("Organization")
                .to_owned(),
        });
    }
    if !skipped.is_empty() {
        tracing::info!(
            skipped = skipped.len(),
            "GitHub App installations of other accounts than githubOrganization are not used"
        );
    }
    if let Some(org) = organization {
        if kept.is_empty() {
            return Err(GithubError::Auth(format!(
                "the GitHub App has no active installation on {org:?} (githubOrganization)"
            )));
        }
    }
    Ok(kept)
}
