//! Who may call `POST /resync` (the WEBHOOK listener's trigger).
//!
//! Python Ocean accepts any caller; here a request must be either
//! - **signed by Port**: Port signs the requests it sends with the organisation's client secret
//!   — `x-port-timestamp` (seconds since the epoch) and `x-port-signature: v1,<base64>`, where the
//!   signature is HMAC-SHA256 over `"{timestamp}.{body}"`. The timestamp must be within
//!   [`SIGNATURE_TOLERANCE`] of now, so a captured request cannot be replayed later; or
//! - **carry the configured token**: `Authorization: Bearer <event_listener.resync_token>`, for
//!   callers other than Port (a CI job, an operator).
//!
//! The body is checked as received; if it does not verify, its compact JSON re-serialisation
//! (keys in order) is tried too, since Port's documented examples sign `JSON.stringify(body)`.
//! Comparisons are constant-time. Reasons never include the secret or the expected value.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ocean_http::signature::{Signature, SignatureError, constant_time_eq};
use ocean_model::Secret;

/// How far a signed request's timestamp may be from now.
pub const SIGNATURE_TOLERANCE: Duration = Duration::from_secs(300);

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
        let (Some(signature), Some(timestamp)) =
            (header("x-port-signature"), header("x-port-timestamp"))
        else {
            return Err(Unauthorized(
                "missing credentials: a Port signature (x-port-signature, x-port-timestamp) or a bearer token"
                    .into(),
            ));
        };
        verify_port_signature(
            self.client_secret.expose().as_bytes(),
            timestamp.trim(),
            signature.trim(),
            body,
            now,
        )
    }
}

/// Verifies Port's `v1,<base64>` signature of `"{timestamp}.{body}"` with `secret`.
pub fn verify_port_signature(
    secret: &[u8],
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: SystemTime,
) -> Result<(), Unauthorized> {
    let seconds: u64 = timestamp
        .parse()
        .map_err(|_| Unauthorized("x-port-timestamp is not a number of seconds".into()))?;
    let now = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    if now.abs_diff(seconds) > SIGNATURE_TOLERANCE.as_secs() {
        return Err(Unauthorized(format!(
            "x-port-timestamp is more than {} s away from now (a replay, or a wrong clock)",
            SIGNATURE_TOLERANCE.as_secs()
        )));
    }
    let mut bodies = vec![body.to_vec()];
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        if let Ok(compact) = serde_json::to_vec(&value) {
            if compact != body {
                bodies.push(compact);
            }
        }
    }
    let messages: Vec<[&[u8]; 3]> = bodies
        .iter()
        .map(|b| [timestamp.as_bytes(), b".", b.as_slice()])
        .collect();
    let messages: Vec<&[&[u8]]> = messages.iter().map(|m| m.as_slice()).collect();
    match port_scheme().verify_any(secret, &messages, Some(signature)) {
        Ok(()) => Ok(()),
        Err(SignatureError::Missing | SignatureError::Malformed(_)) => Err(Unauthorized(
            "x-port-signature is not of the form v1,<base64>".into(),
        )),
        Err(SignatureError::Mismatch) => Err(Unauthorized(
            "x-port-signature does not match the body".into(),
        )),
    }
}

/// Port's signature: `v1,<base64 HMAC-SHA256>`, several separated by spaces.
fn port_scheme() -> Signature {
    Signature::hmac_sha256().base64().prefix("v1,")
}

/// Signs `body` as Port does (for tests and tools that call `/resync`): the
/// `x-port-signature` value for `timestamp`.
pub fn port_signature(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    port_scheme().sign_parts(secret, &[timestamp.as_bytes(), b".", body])
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_pretty_printed_body_verifies_against_its_compact_form() {
        let auth = ResyncAuth::new(Secret::new(SECRET), None);
        let ts = "1700000000";
        let sig = port_signature(SECRET.as_bytes(), ts, BODY);
        let pretty =
            b"{\n  \"action\": \"RESYNC\",\n  \"context\": {\"integrationId\": \"my-int\"}\n}";
        let headers = vec![
            ("x-port-signature", sig),
            ("x-port-timestamp", ts.to_owned()),
        ];
        check(&auth, &headers, pretty, 1_700_000_000, true);
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
