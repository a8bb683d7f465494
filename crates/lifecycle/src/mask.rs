//! Masking of sensitive setting values (Port credentials, the integration's `sensitive`
//! settings) wherever Ocean writes text it did not compose itself: log lines and the raw kind
//! examples sent to Port.
//!
//! Every occurrence of a sensitive value is replaced with `[REDACTED]`, in full (Python Ocean's
//! stdout sink keeps the first six characters; Ocean shows none). Values shorter than
//! [`MIN_SECRET_LEN`] characters are not masked: a sensitive setting whose value is `5` would
//! otherwise blank every `5` in every log line. Python Ocean's additional list of generic
//! secret-looking regular expressions is not applied.

use std::borrow::Cow;
use std::sync::Arc;

use ocean_model::Secret;
use serde_json::Value;

/// Sensitive values shorter than this are not masked.
pub const MIN_SECRET_LEN: usize = 3;

/// Replaces sensitive values in text. Cheap to clone.
#[derive(Clone, Default)]
pub struct Masker {
    secrets: Arc<[String]>,
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Masker({} values)", self.secrets.len())
    }
}

impl Masker {
    /// A masker for these values (trimmed; empty and very short ones are dropped; the longest
    /// are replaced first so a secret containing another is masked whole).
    pub fn new<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut secrets: Vec<String> = values
            .into_iter()
            .map(|v| v.as_ref().trim().to_owned())
            .filter(|v| v.chars().count() >= MIN_SECRET_LEN)
            .collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        Masker {
            secrets: secrets.into(),
        }
    }

    /// Whether there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// The text with every sensitive value replaced by `[REDACTED]`.
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for secret in self.secrets.iter() {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), Secret::REDACTED));
            }
        }
        out
    }

    /// A JSON value with every string (keys untouched) masked.
    pub fn mask_json(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.mask(s).into_owned()),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.mask_json(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.mask_json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_every_occurrence_longest_first() {
        let m = Masker::new(["tok", "token-123", " ", "ab", "token-123"]);
        assert_eq!(
            m.mask("a token-123 and tok and ab"),
            "a [REDACTED] and [REDACTED] and ab"
        );
        assert!(matches!(m.mask("nothing here"), Cow::Borrowed(_)));
        assert!(Masker::new([""]).is_empty());
    }

    #[test]
    fn masks_json_strings_only() {
        let m = Masker::new(["s3cr3t"]);
        assert_eq!(
            m.mask_json(&json!({"s3cr3t": "x-s3cr3t", "n": [1, "s3cr3t"], "b": true})),
            json!({"s3cr3t": "x-[REDACTED]", "n": [1, "[REDACTED]"], "b": true})
        );
    }
}
