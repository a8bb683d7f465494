//! Printing a loaded configuration (`ocean-NAME --print-config`): YAML that could
//! be pasted back into `config.yaml`, every secret shown as `[REDACTED]`, each value followed by
//! a comment saying where it came from.
//!
//! It renders from the settings' masking `Serialize` implementations, so a credential cannot be
//! printed by forgetting a special case here: the `Secret` type has no way to serialise itself.

use serde_json::Value;

use crate::settings::Settings;

impl Settings {
    /// The configuration as YAML with secrets masked and sources as comments.
    pub fn render_masked(&self) -> String {
        let value = serde_json::to_value(self).unwrap_or(Value::Null);
        let mut out = String::from(
            "# Ocean configuration. Secrets are shown as [REDACTED]; comments name each value's source.\n",
        );
        if let Value::Object(map) = &value {
            render_map(map, 0, &mut Vec::new(), &self.provenance, &mut out);
        }
        out
    }
}

fn render_map(
    map: &serde_json::Map<String, Value>,
    indent: usize,
    path: &mut Vec<String>,
    provenance: &std::collections::BTreeMap<String, String>,
    out: &mut String,
) {
    for (key, value) in map {
        path.push(key.clone());
        let pad = "  ".repeat(indent);
        match value {
            Value::Object(inner) if !inner.is_empty() => {
                out.push_str(&format!("{pad}{key}:\n"));
                render_map(inner, indent + 1, path, provenance, out);
            }
            leaf => {
                let line = format!("{pad}{key}: {}", scalar(leaf));
                match provenance.get(&path.join(".")) {
                    Some(source) => out.push_str(&format!("{line}  # {source}\n")),
                    None => out.push_str(&format!("{line}\n")),
                }
            }
        }
        path.pop();
    }
}

/// A value on one line: JSON is valid YAML flow syntax, and quoting every string keeps
/// `[REDACTED]`, `yes` or `0755` from being read back as something else.
fn scalar(value: &Value) -> String {
    match value {
        Value::Object(map) if map.is_empty() => "{}".to_owned(),
        other => other.to_string(),
    }
}
