//! Access tokens (`docs/port-api.md` §3): client id and secret are exchanged for a token at
//! `POST /auth/access_token`; the token is cached and shared by every request, renewed shortly
//! before the expiry Port announced, and refreshed when Port answers 401 to a retry-eligible call.
//!
//! Renewal is single-flight: one task fetches while the others wait for its result, so fifty
//! requests that hit 401 together cause one token request, not fifty. A token carries a
//! generation number; a caller that saw a 401 asks for a token newer than the one it used, and
//! gets the one another task already fetched if there is one.
//!
//! Nothing in this module logs or prints the client id, the secret or the token.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::HeaderValue;
use serde::Deserialize;

use crate::client::Inner;
use crate::error::PortError;
use crate::transport::Call;

/// One access token, as the `Authorization` header value it becomes.
pub(crate) struct Token {
    /// `"{tokenType} {accessToken}"`, marked sensitive.
    pub(crate) header: HeaderValue,
    /// Which fetch produced it (1 for the first).
    pub(crate) generation: u64,
    /// When to fetch a new one before using it again; `None` if Port gave no lifetime.
    renew_at: Option<Instant>,
}

impl Token {
    fn is_fresh(&self, now: Instant) -> bool {
        self.renew_at.is_none_or(|at| now < at)
    }
}

/// The cached token and the lock that makes renewal single-flight.
#[derive(Default)]
pub(crate) struct TokenCache {
    current: RwLock<Option<Arc<Token>>>,
    renewal: tokio::sync::Mutex<()>,
    generations: AtomicU64,
}

impl TokenCache {
    fn fresh(&self) -> Option<Arc<Token>> {
        let guard = self.current.read().unwrap_or_else(|p| p.into_inner());
        guard
            .as_ref()
            .filter(|t| t.is_fresh(Instant::now()))
            .cloned()
    }

    fn store(&self, token: Option<Arc<Token>>) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = token;
    }
}

/// The token endpoint's answer (camelCase on the wire).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    token_type: Option<String>,
}

impl Inner {
    /// A token to send now: the cached one if still fresh, else a newly fetched one.
    pub(crate) async fn token(&self) -> Result<Arc<Token>, PortError> {
        if let Some(token) = self.tokens.fresh() {
            return Ok(token);
        }
        self.renew_token(None).await
    }

    /// Fetches a new token unless another task already did. With `rejected = Some(g)`, the token
    /// of generation `g` was refused by Port (401) and is discarded; any newer fresh token is
    /// returned as it is.
    pub(crate) async fn renew_token(&self, rejected: Option<u64>) -> Result<Arc<Token>, PortError> {
        let _single_flight = self.tokens.renewal.lock().await;
        if let Some(current) = self.tokens.fresh() {
            if rejected != Some(current.generation) {
                return Ok(current);
            }
        }
        if rejected.is_some() {
            tracing::info!("Port refused the access token; fetching a new one");
            self.tokens.store(None);
        }
        let token = Arc::new(
            self.fetch_token()
                .await
                .map_err(|e| PortError::Auth(Box::new(e)))?,
        );
        self.tokens.store(Some(Arc::clone(&token)));
        Ok(token)
    }

    /// Exchanges the credentials for a token (retry-eligible POST, no `Authorization`).
    ///
    /// Boxed because the request goes through the same transport that asks for tokens.
    fn fetch_token(&self) -> Pin<Box<dyn Future<Output = Result<Token, PortError>> + Send + '_>> {
        Box::pin(async move {
            if looks_like_email(self.config.client_id.expose()) {
                tracing::warn!(
                    "The Port client id looks like an e-mail address: the integration is using \
                     personal credentials. Use machine credentials; personal ones may behave \
                     unexpectedly."
                );
            }
            tracing::info!("Fetching an access token from Port");
            let body = serde_json::json!({
                "clientId": self.config.client_id.expose(),
                "clientSecret": self.config.client_secret.expose(),
            });
            // Wrong credentials are an answer, not a hiccup: Python Ocean retries a 401 here for
            // about seven minutes before failing; Ocean fails at once and says why.
            let target = self.api(&["auth", "access_token"]);
            let mut shown_url = target.url.clone();
            // The URL is named in the error; a user or password in it is not.
            let _ = shown_url.set_username("");
            let _ = shown_url.set_password(None);
            let call = Call::new(Method::POST, target)
                .without_auth()
                .harmless_to_repeat()
                .final_statuses(&[401, 403])
                .body(Bytes::from(body.to_string()));
            let fetched_at = Instant::now();
            let reply = self.execute(&call).await?;
            // No token route here: the base URL is not Port's API (a wrong host or path), which
            // says nothing about the credentials.
            if reply.status.as_u16() == 404 {
                return Err(PortError::WrongBaseUrl {
                    url: shown_url.to_string(),
                });
            }
            let reply = reply.success()?;
            let parsed: TokenResponse = reply.json()?;
            self.counters.token_fetch();
            let token_type = parsed.token_type.unwrap_or_else(|| "Bearer".to_owned());
            let mut header =
                HeaderValue::from_str(&format!("{token_type} {}", parsed.access_token)).map_err(
                    |_| reply.decode_error("the access token is not a valid header value"),
                )?;
            header.set_sensitive(true);
            // A lifetime too large to add to a clock reading means "never renew by time".
            let renew_at = parsed.expires_in.and_then(|secs| {
                let lifetime = Duration::from_secs(secs);
                let margin = self.config.token_refresh_margin.min(lifetime / 10);
                fetched_at.checked_add(lifetime - margin)
            });
            Ok(Token {
                header,
                generation: self.tokens.generations.fetch_add(1, Ordering::Relaxed) + 1,
                renew_at,
            })
        })
    }
}

/// Whether a client id looks like a person's e-mail address (`docs/port-api.md` §3.1).
pub(crate) fn looks_like_email(client_id: &str) -> bool {
    let Some((local, domain)) = client_id.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c));
    let Some((host, tld)) = domain.rsplit_once('.') else {
        return false;
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c));
    let tld_ok = tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic());
    local_ok && host_ok && tld_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_like_client_ids() {
        for yes in ["me@example.com", "first.last+x@corp.co.uk"] {
            assert!(looks_like_email(yes), "{yes}");
        }
        for no in [
            "abc123",
            "a@b",
            "@x.io",
            "me@example.c0m",
            "me@ex ample.com",
        ] {
            assert!(!looks_like_email(no), "{no}");
        }
    }

    #[test]
    fn token_freshness() {
        let now = Instant::now();
        let token = |renew_at| Token {
            header: HeaderValue::from_static("Bearer x"),
            generation: 1,
            renew_at,
        };
        assert!(token(None).is_fresh(now));
        assert!(token(Some(now + Duration::from_secs(1))).is_fresh(now));
        assert!(!token(Some(now)).is_fresh(now));
    }
}
