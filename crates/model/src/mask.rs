//! Masking of sensitive values (Port credentials, the integration's `sensitive` settings, API
//! tokens) wherever Ocean writes text it did not compose itself: log lines, the raw kind
//! examples sent to Port, excerpts of response bodies in errors, configuration errors. The one
//! implementation of it in the workspace.
//!
//! One pass over the text finds every value at once (Aho-Corasick, leftmost-longest, so a secret
//! containing another is masked whole), and the replacement is never searched again: a secret
//! such as `RED` is not found inside `[REDACTED]`.
//!
//! Every occurrence of a sensitive value is replaced with `[REDACTED]`, in full (Python Ocean's
//! stdout sink keeps the first six characters; Ocean shows none). Values shorter than
//! [`MIN_SECRET_LEN`] characters are not masked: a sensitive setting whose value is `5` would
//! otherwise blank every `5` in every log line. Python Ocean's additional list of generic
//! secret-looking regular expressions is not applied.

use std::borrow::Cow;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};
use serde_json::Value;

use crate::Secret;

/// Sensitive values shorter than this are not masked.
pub const MIN_SECRET_LEN: usize = 3;

/// Replaces sensitive values in text. Cheap to clone.
#[derive(Clone, Default)]
pub struct Masker {
    /// `None` with a non-zero count: the values could not be compiled, so all text is masked.
    matcher: Option<Arc<AhoCorasick>>,
    count: usize,
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Masker({} values)", self.count)
    }
}

impl Masker {
    /// A masker for these values (trimmed; empty and very short ones are dropped).
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
        secrets.sort();
        secrets.dedup();
        if secrets.is_empty() {
            return Masker::default();
        }
        // Building can only fail past the automaton's size limits, far beyond a list of
        // credentials; masking nothing would leak, so such a list masks every text whole.
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&secrets)
            .ok()
            .map(Arc::new);
        Masker {
            count: secrets.len(),
            matcher,
        }
    }

    /// Whether there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The text with every sensitive value replaced by `[REDACTED]`.
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match &self.matcher {
            Some(matcher) if matcher.is_match(text) => {
                Cow::Owned(matcher.replace_all(text, &vec![Secret::REDACTED; self.count]))
            }
            Some(_) => Cow::Borrowed(text),
            None if self.count == 0 || text.is_empty() => Cow::Borrowed(text),
            None => Cow::Borrowed(Secret::REDACTED),
        }
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
    fn the_replacement_is_not_masked_again() {
        let m = Masker::new(["RED", "ACT"]);
        assert_eq!(m.mask("RED and ACT"), "[REDACTED] and [REDACTED]");
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
