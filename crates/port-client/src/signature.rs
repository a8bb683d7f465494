//! Port's request signatures: the requests Port sends an integration (a resync request to
//! `POST /resync`) carry `x-port-timestamp` (seconds since the epoch) and
//! `x-port-signature: v1,<base64>`, an HMAC-SHA256 with the organisation's client secret over
//! `"{timestamp}.{body}"`; several space-separated signatures may be given (key rotation).
//!
//! A timestamp further than [`SIGNATURE_TOLERANCE`] from now is refused, so a captured request
//! cannot be replayed later. The body is checked as received, then as its compact JSON
//! re-serialisation (keys in order), since Port's documented examples sign
//! `JSON.stringify(body)`. Errors never include the secret or the expected value.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ocean_http::signature::{Signature, SignatureError};

/// The header with the signature.
pub const SIGNATURE_HEADER: &str = "x-port-signature";
/// The header with the signed timestamp.
pub const TIMESTAMP_HEADER: &str = "x-port-timestamp";

/// How far a signed request's timestamp may be from now.
pub const SIGNATURE_TOLERANCE: Duration = Duration::from_secs(300);

/// Why a request's Port signature was refused (safe to log and to answer with).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortSignatureError {
    /// The timestamp is not a number.
    #[error("x-port-timestamp is not a number of seconds")]
    BadTimestamp,
    /// The timestamp is too far from now.
    #[error(
        "x-port-timestamp is more than {} s away from now (a replay, or a wrong clock)",
        SIGNATURE_TOLERANCE.as_secs()
    )]
    Stale,
    /// The signature is not `v1,<base64>`.
    #[error("x-port-signature is not of the form v1,<base64>")]
    Malformed,
    /// No signature matches the body.
    #[error("x-port-signature does not match the body")]
    Mismatch,
}

/// Verifies Port's signature `signature` of `"{timestamp}.{body}"` with `secret`, at `now`.
pub fn verify(
    secret: &[u8],
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: SystemTime,
) -> Result<(), PortSignatureError> {
    let seconds: u64 = timestamp
        .parse()
        .map_err(|_| PortSignatureError::BadTimestamp)?;
    let now = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    if now.abs_diff(seconds) > SIGNATURE_TOLERANCE.as_secs() {
        return Err(PortSignatureError::Stale);
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
    match scheme().verify_any(secret, &messages, Some(signature)) {
        Ok(()) => Ok(()),
        Err(SignatureError::Missing | SignatureError::Malformed(_)) => {
            Err(PortSignatureError::Malformed)
        }
        Err(SignatureError::Mismatch) => Err(PortSignatureError::Mismatch),
    }
}

/// Signs `body` as Port does (for tests and tools that call `/resync`): the
/// `x-port-signature` value for `timestamp`.
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    scheme().sign_parts(secret, &[timestamp.as_bytes(), b".", body])
}

/// `v1,<base64 HMAC-SHA256>`, several separated by spaces.
fn scheme() -> Signature {
    Signature::hmac_sha256().base64().prefix("v1,")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"port-client-secret";
    const BODY: &[u8] = br#"{"action":"RESYNC","context":{"integrationId":"my-int"}}"#;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn signatures_cover_timestamp_and_body_within_the_tolerance() {
        let ts = "1700000000";
        let good = sign(SECRET, ts, BODY);
        assert_eq!(verify(SECRET, ts, &good, BODY, at(1_700_000_010)), Ok(()));
        let mismatch = Err(PortSignatureError::Mismatch);
        assert_eq!(
            verify(SECRET, ts, &good, b"{}", at(1_700_000_010)),
            mismatch
        );
        assert_eq!(
            verify(SECRET, "1700000001", &good, BODY, at(1_700_000_010)),
            mismatch
        );
        assert_eq!(
            verify(b"other", ts, &good, BODY, at(1_700_000_010)),
            mismatch
        );
        assert_eq!(
            verify(SECRET, ts, &good, BODY, at(1_700_000_301)),
            Err(PortSignatureError::Stale)
        );
        assert_eq!(
            verify(SECRET, "soon", &good, BODY, at(1_700_000_000)),
            Err(PortSignatureError::BadTimestamp)
        );
        assert_eq!(
            verify(SECRET, ts, "sha256=abc", BODY, at(1_700_000_000)),
            Err(PortSignatureError::Malformed)
        );
        let rotated = format!("{} {good}", sign(b"old-key", ts, BODY));
        assert_eq!(
            verify(SECRET, ts, &rotated, BODY, at(1_700_000_000)),
            Ok(())
        );
    }

    #[test]
    fn a_pretty_printed_body_verifies_against_its_compact_form() {
        let ts = "1700000000";
        let sig = sign(SECRET, ts, BODY);
        let pretty =
            b"{\n  \"action\": \"RESYNC\",\n  \"context\": {\"integrationId\": \"my-int\"}\n}";
        assert_eq!(verify(SECRET, ts, &sig, pretty, at(1_700_000_000)), Ok(()));
    }
}
