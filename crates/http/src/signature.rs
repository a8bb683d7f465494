//! Webhook signature checks: the one place in the workspace that computes and verifies HMACs.
//!
//! Senders sign the raw body (or `timestamp.body`) with a shared secret and put the result in a
//! header, in one of a few shapes: GitHub `X-Hub-Signature-256: sha256=<hex>`, PagerDuty
//! `X-PagerDuty-Signature: v1=<hex>,v1=<hex>` (one per secret while it rotates), Port
//! `x-port-signature: v1,<base64>`, older senders HMAC-SHA1 (`sha1=<hex>`). A [`Signature`]
//! describes one shape — algorithm, encoding, prefix — and checks a header value against a
//! body: every candidate in the value is decoded and compared in constant time
//! (`Mac::verify_slice`). Errors say what was wrong with the header, never the secret or the
//! expected value.

use base64::Engine as _;
use hmac::{Hmac, Mac};

/// The hash under the HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC-SHA256 (GitHub's `X-Hub-Signature-256`, PagerDuty, Port, most senders).
    Sha256,
    /// HMAC-SHA1 (GitHub's legacy `X-Hub-Signature`, some older senders).
    Sha1,
}

/// How the digest is written in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Hexadecimal, either case.
    Hex,
    /// Standard Base64 (with padding).
    Base64,
}

/// Why a signature header did not verify. Messages are safe to log and to return to the caller:
/// they hold neither the secret nor the expected signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No header, or an empty one.
    #[error("is missing")]
    Missing,
    /// No candidate in the header has the expected shape.
    #[error("is not of the form {0}")]
    Malformed(String),
    /// Well-formed, but no candidate matches the body.
    #[error("does not match the body")]
    Mismatch,
}

/// One signature scheme: algorithm, encoding and the prefix before each digest.
///
/// ```
/// use ocean_http::signature::Signature;
///
/// let github = Signature::hmac_sha256().prefix("sha256=");
/// let header = github.sign(b"secret", b"{}");
/// assert!(header.starts_with("sha256="));
/// assert_eq!(github.verify(b"secret", b"{}", Some(&header)), Ok(()));
/// assert!(github.verify(b"other", b"{}", Some(&header)).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    algorithm: Algorithm,
    encoding: Encoding,
    prefix: String,
}

impl Signature {
    /// HMAC-SHA256, hex, no prefix.
    pub fn hmac_sha256() -> Self {
        Signature {
            algorithm: Algorithm::Sha256,
            encoding: Encoding::Hex,
            prefix: String::new(),
        }
    }

    /// HMAC-SHA1, hex, no prefix.
    pub fn hmac_sha1() -> Self {
        Signature {
            algorithm: Algorithm::Sha1,
            ..Signature::hmac_sha256()
        }
    }

    /// GitHub's `X-Hub-Signature-256`: `sha256=<hex>`.
    pub fn github() -> Self {
        Signature::hmac_sha256().prefix("sha256=")
    }

    /// The digest written in Base64 instead of hex.
    pub fn base64(mut self) -> Self {
        self.encoding = Encoding::Base64;
        self
    }

    /// The digest written in hex (the default).
    pub fn hex(mut self) -> Self {
        self.encoding = Encoding::Hex;
        self
    }

    /// Each digest follows `prefix` (`sha256=`, `v1=`, `v1,`). Candidates without it are
    /// ignored.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The encoding.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The header value for `body` signed with `secret`: the prefix and the encoded digest.
    pub fn sign(&self, secret: &[u8], body: &[u8]) -> String {
        self.sign_parts(secret, &[body])
    }

    /// The header value for the concatenation of `parts` (e.g. `[timestamp, b".", body]`).
    pub fn sign_parts(&self, secret: &[u8], parts: &[&[u8]]) -> String {
        let digest = match self.algorithm {
            Algorithm::Sha256 => mac_sha256(secret, parts).finalize().into_bytes().to_vec(),
            Algorithm::Sha1 => mac_sha1(secret, parts).finalize().into_bytes().to_vec(),
        };
        let encoded = match self.encoding {
            Encoding::Hex => hex::encode(digest),
            Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(digest),
        };
        format!("{}{encoded}", self.prefix)
    }

    /// Checks a signature header's value against `body` signed with `secret`.
    ///
    /// The value may hold several candidates, separated by whitespace or commas (one per
    /// secret while a sender rotates it): one match is enough. Surrounding whitespace is
    /// ignored; hex digests may be in either case.
    pub fn verify(
        &self,
        secret: &[u8],
        body: &[u8],
        header: Option<&str>,
    ) -> Result<(), SignatureError> {
        self.verify_parts(secret, &[body], header)
    }

    /// [`verify`](Self::verify) for a signature over the concatenation of `parts`.
    pub fn verify_parts(
        &self,
        secret: &[u8],
        parts: &[&[u8]],
        header: Option<&str>,
    ) -> Result<(), SignatureError> {
        self.verify_any(secret, &[parts], header)
    }

    /// [`verify_parts`](Self::verify_parts) where the message may be any of `messages` (e.g.
    /// the body as received and a normalised copy of it); one match is enough.
    pub fn verify_any(
        &self,
        secret: &[u8],
        messages: &[&[&[u8]]],
        header: Option<&str>,
    ) -> Result<(), SignatureError> {
        let header = header.map(str::trim).filter(|h| !h.is_empty());
        let Some(header) = header else {
            return Err(SignatureError::Missing);
        };
        let candidates: Vec<Vec<u8>> = self
            .candidates(header)
            .filter_map(|c| self.decode(c))
            .collect();
        if candidates.is_empty() {
            return Err(SignatureError::Malformed(self.shape()));
        }
        for parts in messages {
            let matched = match self.algorithm {
                Algorithm::Sha256 => any_matches(mac_sha256(secret, parts), &candidates),
                Algorithm::Sha1 => any_matches(mac_sha1(secret, parts), &candidates),
            };
            if matched {
                return Ok(());
            }
        }
        Err(SignatureError::Mismatch)
    }

    /// The encoded digests in a header value: each starts at the beginning of the value or after
    /// a separator (whitespace, or a comma when the prefix holds none), right after the prefix,
    /// and runs to the next separator.
    fn candidates<'a>(&'a self, header: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let comma_in_prefix = self.prefix.contains(',');
        header
            .split(move |c: char| c.is_whitespace() || (!comma_in_prefix && c == ','))
            .filter_map(move |token| token.strip_prefix(self.prefix.as_str()))
            .map(|digest| {
                // A prefix with a comma (`v1,`): the digest ends at the next comma.
                digest.split(',').next().unwrap_or(digest)
            })
            .filter(|digest| !digest.is_empty())
    }

    fn decode(&self, digest: &str) -> Option<Vec<u8>> {
        match self.encoding {
            Encoding::Hex => hex::decode(digest).ok(),
            Encoding::Base64 => base64::engine::general_purpose::STANDARD
                .decode(digest)
                .ok(),
        }
    }

    /// What a valid header looks like, for errors (`sha256=<hex>`).
    fn shape(&self) -> String {
        let encoding = match self.encoding {
            Encoding::Hex => "<hex>",
            Encoding::Base64 => "<base64>",
        };
        format!("{}{encoding}", self.prefix)
    }
}

/// Whether two byte strings are equal, in time that depends only on their lengths (for
/// comparing a presented token with the configured one).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    bool::from(a.ct_eq(b))
}

fn mac_sha256(secret: &[u8], parts: &[&[u8]]) -> Hmac<sha2::Sha256> {
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac
}

fn mac_sha1(secret: &[u8], parts: &[&[u8]]) -> Hmac<sha1::Sha1> {
    let mut mac =
        Hmac::<sha1::Sha1>::new_from_slice(secret).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac
}

fn any_matches<M: Mac + Clone>(mac: M, candidates: &[Vec<u8>]) -> bool {
    // Every candidate is checked, so the time taken does not say which one matched.
    candidates.iter().fold(false, |found, c| {
        mac.clone().verify_slice(c).is_ok() | found
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2 (HMAC-SHA256) and RFC 2202 test case 2 (HMAC-SHA1).
    const KEY: &[u8] = b"Jefe";
    const DATA: &[u8] = b"what do ya want for nothing?";
    const SHA256: &str = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    const SHA1: &str = "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79";

    #[test]
    fn known_answers_in_hex_and_base64() {
        assert_eq!(Signature::hmac_sha256().sign(KEY, DATA), SHA256);
        assert_eq!(Signature::hmac_sha1().sign(KEY, DATA), SHA1);
        let b64 = base64::engine::general_purpose::STANDARD.encode(hex::decode(SHA256).unwrap());
        assert_eq!(Signature::hmac_sha256().base64().sign(KEY, DATA), b64);
        assert_eq!(
            Signature::github().sign(KEY, DATA),
            format!("sha256={SHA256}")
        );
        assert_eq!(
            Signature::hmac_sha256().sign_parts(KEY, &[b"what do ya ", b"want for nothing?"]),
            SHA256
        );
    }

    #[test]
    fn verification_accepts_the_signature_in_either_case_and_nothing_else() {
        let github = Signature::github();
        let ok = |h: &str| github.verify(KEY, DATA, Some(h));
        assert_eq!(ok(&format!("sha256={SHA256}")), Ok(()));
        assert_eq!(ok(&format!("  sha256={}  ", SHA256.to_uppercase())), Ok(()));
        assert_eq!(
            github.verify(KEY, b"other", Some(&format!("sha256={SHA256}"))),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            github.verify(b"jefe", DATA, Some(&format!("sha256={SHA256}"))),
            Err(SignatureError::Mismatch)
        );
        // Truncated, without its prefix, not hex, empty, absent.
        assert_eq!(
            ok(&format!("sha256={}", &SHA256[..10])),
            Err(SignatureError::Mismatch)
        );
        let malformed = Err(SignatureError::Malformed("sha256=<hex>".into()));
        assert_eq!(ok(SHA256), malformed);
        assert_eq!(ok("sha256=zz"), malformed);
        assert_eq!(ok("sha256="), malformed);
        assert_eq!(
            github.verify(KEY, DATA, Some("  ")),
            Err(SignatureError::Missing)
        );
        assert_eq!(github.verify(KEY, DATA, None), Err(SignatureError::Missing));
        // A SHA-1 digest is not a SHA-256 one.
        assert_eq!(ok(&format!("sha256={SHA1}")), Err(SignatureError::Mismatch));
        assert_eq!(
            Signature::hmac_sha1()
                .prefix("sha1=")
                .verify(KEY, DATA, Some(&format!("sha1={SHA1}"))),
            Ok(())
        );
    }

    #[test]
    fn several_candidates_one_match_is_enough() {
        // PagerDuty while a secret rotates: `v1=<old>,v1=<new>`.
        let pd = Signature::hmac_sha256().prefix("v1=");
        let other = pd.sign(b"old", DATA);
        let good = pd.sign(KEY, DATA);
        assert_eq!(
            pd.verify(KEY, DATA, Some(&format!("{other},{good}"))),
            Ok(())
        );
        assert_eq!(
            pd.verify(KEY, DATA, Some(&format!("{other}, {good}"))),
            Ok(())
        );
        assert_eq!(
            pd.verify(KEY, DATA, Some(&other)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            pd.verify(KEY, DATA, Some("v0=abc")),
            Err(SignatureError::Malformed("v1=<hex>".into()))
        );
        // Port: `v1,<base64>` entries separated by spaces; the prefix holds a comma.
        let port = Signature::hmac_sha256().base64().prefix("v1,");
        let parts: [&[u8]; 3] = [b"1700000000", b".", DATA];
        let good = port.sign_parts(KEY, &parts);
        let other = port.sign_parts(b"old", &parts);
        assert!(good.starts_with("v1,"));
        assert_eq!(
            port.verify_parts(KEY, &parts, Some(&format!("{other} {good}"))),
            Ok(())
        );
        assert_eq!(
            port.verify_parts(KEY, &parts, Some(&other)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            port.verify_parts(KEY, &parts, Some("sha256=abc")),
            Err(SignatureError::Malformed("v1,<base64>".into()))
        );
        // Any of several messages (a body and its normalised form).
        let alt: [&[u8]; 1] = [b"not this"];
        let messages: [&[&[u8]]; 2] = [&alt, &parts];
        assert_eq!(port.verify_any(KEY, &messages, Some(&good)), Ok(()));
    }

    #[test]
    fn constant_time_equality() {
        assert!(constant_time_eq(b"tok3n", b"tok3n"));
        assert!(!constant_time_eq(b"tok3n", b"tok3m"));
        assert!(!constant_time_eq(b"tok3n", b"tok3"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn errors_never_hold_the_expected_signature() {
        let github = Signature::github();
        for header in [None, Some("x"), Some("sha256=00")] {
            let err = github.verify(KEY, DATA, header).unwrap_err().to_string();
            assert!(!err.contains(SHA256) && !err.contains("Jefe"), "{err}");
        }
    }
}
