//! Who may call `POST /resync` (the WEBHOOK listener's trigger).
//!
//! Python Ocean accepts any caller; here a request must be either
//! - **signed by Port** (`ocean_port_client::signature`: a timestamped HMAC of the body with the
//!   organisation's client secret, so a captured request cannot be replayed later); or
//! - **carry the configured token**: `Authorization: Bearer <event_listener.resync_token>`, for
//!   callers other than Port (a CI job, an operator).
//!
//! Comparisons are constant-time. Reasons never include the secret or the expected value.

use std::time::SystemTime;

use ocean_http::signature::constant_time_eq;
use ocean_model::Secret;
use ocean_port_client::signature::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// Why a request was not authorised (safe to log and return).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unauthorized(pub String);

/// The credentials `POST /resync` accepts.
#[derive(Clone)]
pub struct ResyncAuth {
    client_secret: Secret,
    token: Option<Secret>,
}

impl std::fmt::Debug for ResyncAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResyncAuth")
            .field("token", &self.token.is_some())
            .finish_non_exhaustive()
    }
}

impl ResyncAuth {
    /// Accepts requests signed with `client_secret` (Port's), and bearer `token` if given.
    pub fn new(client_secret: Secret, token: Option<Secret>) -> Self {
        ResyncAuth {
            client_secret,
            token: token.filter(|t| !t.expose().is_empty()),
        }
    }

    /// Checks a request's headers (lower-case names) and raw body at `now`.
    pub fn verify(
        &self,
        header: impl Fn(&str) -> Option<String>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<(), Unauthorized> {
        if let Some(authorization) = header("authorization") {
            let Some(token) = self.token.as_ref() else {
                return Err(Unauthorized(
                    "bearer tokens are not accepted: no event_listener.resync_token is configured"
                        .into(),
                ));
            };
            let given = authorization
                .strip_prefix("Bearer ")
                .or_else(|| authorization.strip_prefix("bearer "))
                .unwrap_or("")
                .trim();
            return if constant_time_eq(given.as_bytes(), token.expose().as_bytes()) {
                Ok(())
            } else {
                Err(Unauthorized("the bearer token is not valid".into()))
            };
        }
        let (Some(given), Some(timestamp)) = (header(SIGNATURE_HEADER), header(TIMESTAMP_HEADER))
        else {
            return Err(Unauthorized(
                "missing credentials: a Port signature (x-port-signature, x-port-timestamp) or a bearer token"
                    .into(),
            ));
        };
        signature::verify(
            self.client_secret.expose().as_bytes(),
            timestamp.trim(),
            given.trim(),
            body,
            now,
        )
        .map_err(|e| Unauthorized(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocean_port_client::signature::sign as port_signature;
    use std::time::{Duration, UNIX_EPOCH};

    const SECRET: &str = "port-client-secret";
    const BODY: &[u8] = br#"{"action":"RESYNC","context":{"integrationId":"my-int"}}"#;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn check(auth: &ResyncAuth, headers: &[(&str, String)], body: &[u8], now: u64, ok: bool) {
        let lookup = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        };
        let result = auth.verify(lookup, body, at(now));
        assert_eq!(result.is_ok(), ok, "{headers:?}: {result:?}");
        if let Err(e) = result {
            assert!(!e.0.contains(SECRET) && !e.0.contains("tok3n"), "{e}");
        }
    }

    #[test]
    fn port_signatures_verify_over_timestamp_and_body() {
        let auth = ResyncAuth::new(Secret::new(SECRET), None);
        let ts = "1700000000";
        let good = port_signature(SECRET.as_bytes(), ts, BODY);
        let signed = |sig: &str, ts: &str| {
            vec![
                ("x-port-signature", sig.to_owned()),
                ("x-port-timestamp", ts.to_owned()),
            ]
        };
        check(&auth, &signed(&good, ts), BODY, 1_700_000_010, true);
        // Another body, another timestamp, another key: refused.
        check(&auth, &signed(&good, ts), b"{}", 1_700_000_010, false);
        check(
            &auth,
            &signed(&good, "1700000001"),
            BODY,
            1_700_000_010,
            false,
        );
        let other = port_signature(b"someone-else", ts, BODY);
        check(&auth, &signed(&other, ts), BODY, 1_700_000_010, false);
        // Too old (a replay) or from the future.
        check(&auth, &signed(&good, ts), BODY, 1_700_000_301, false);
        check(&auth, &signed(&good, ts), BODY, 1_699_999_600, false);
        // Malformed headers, or none at all.
        check(&auth, &signed("sha256=abc", ts), BODY, 1_700_000_000, false);
        check(
            &auth,
            &signed(&good, "yesterday"),
            BODY,
            1_700_000_000,
            false,
        );
        check(&auth, &[], BODY, 1_700_000_000, false);
        // Several signatures (key rotation): one valid is enough.
        let both = format!("{other} {good}");
        check(&auth, &signed(&both, ts), BODY, 1_700_000_000, true);
    }

    #[test]
    fn bearer_tokens_only_when_configured() {
        let without = ResyncAuth::new(Secret::new(SECRET), None);
        let with = ResyncAuth::new(Secret::new(SECRET), Some(Secret::new("tok3n")));
        let bearer = |t: &str| vec![("authorization", format!("Bearer {t}"))];
        check(&with, &bearer("tok3n"), b"", 0, true);
        check(&with, &bearer("tok3"), b"", 0, false);
        check(&with, &bearer(""), b"", 0, false);
        check(&without, &bearer("tok3n"), b"", 0, false);
        // An empty configured token is no token.
        let empty = ResyncAuth::new(Secret::new(SECRET), Some(Secret::new("")));
        check(&empty, &bearer(""), b"", 0, false);
        assert!(!format!("{with:?}").contains("tok3n"));
    }
}
