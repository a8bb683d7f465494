//! YAML documents (`config.yaml`, `.port/spec.yaml`, `.port/resources/*.yaml`) turned into JSON
//! values, plus a best-effort "which line is this key on" lookup for error messages.
//!
//! The conversion is faithful to what the reference produces with `yaml.safe_load` followed by
//! JSON encoding: anchors, aliases and `<<` merge keys are resolved, and non-string mapping keys
//! become strings (`200` → `"200"`, `true` → `"true"`, `~` → `"null"`). It chose not to emulate
//! YAML 1.1 scalar resolution: plain `yes`/`no`/`on`/`off` stay strings (settings still accept them
//! as booleans) and `0755` is a decimal number. Custom tags (`!Ref`) and non-finite floats are
//! rejected, since JSON has no representation for them.
//!
//! The line lookup is a small indentation-based scan rather than a second YAML parser: the YAML
//! library reports positions only for syntax errors, and configuration files are plain block
//! mappings. When the scan cannot find a key, messages simply omit the line.

use serde_json::{Map, Number, Value};

use crate::case::decamelize;

/// Why a YAML document could not be turned into JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YamlError {
    /// The text is not valid YAML.
    #[error("invalid YAML{}: {message}", location(*.line, *.column))]
    Syntax {
        /// 1-based line of the problem, when known.
        line: Option<usize>,
        /// 1-based column of the problem, when known.
        column: Option<usize>,
        /// The parser's description (it does not quote the document's content).
        message: String,
    },
    /// The document holds something JSON cannot represent.
    #[error("{path}: {message}")]
    Unsupported {
        /// Dotted path of the offending node (`blueprints[2].schema`).
        path: String,
        /// What is wrong with it.
        message: String,
    },
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" at line {l} column {c}"),
        (Some(l), None) => format!(" at line {l}"),
        _ => String::new(),
    }
}

/// Parses YAML text into a JSON value. An empty document is `null`.
pub fn parse(text: &str) -> Result<Value, YamlError> {
    let mut doc: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
        let loc = e.location();
        // The message carries its own " at line L column C" suffix; keep it out of ours.
        let message = e.to_string();
        let message = match message.find(" at line ") {
            Some(i) if loc.is_some() => message[..i].to_owned(),
            _ => message,
        };
        YamlError::Syntax {
            line: loc.as_ref().map(|l| l.line()),
            column: loc.as_ref().map(|l| l.column()),
            message,
        }
    })?;
    doc.apply_merge().map_err(|e| YamlError::Syntax {
        line: None,
        column: None,
        message: e.to_string(),
    })?;
    to_json(doc, "")
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn to_json(value: serde_yaml::Value, path: &str) -> Result<Value, YamlError> {
    use serde_yaml::Value as Y;
    Ok(match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => number(&n, path)?,
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| to_json(item, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(mapping) => {
            let mut map = Map::with_capacity(mapping.len());
            for (k, v) in mapping {
                let key = key_string(k, path)?;
                let converted = to_json(v, &child(path, &key))?;
                map.insert(key, converted);
            }
            Value::Object(map)
        }
        Y::Tagged(tagged) => {
            return Err(YamlError::Unsupported {
                path: path.to_owned(),
                message: format!("the YAML tag {} is not supported", tagged.tag),
            });
        }
    })
}

fn number(n: &serde_yaml::Number, path: &str) -> Result<Value, YamlError> {
    if let Some(u) = n.as_u64() {
        Ok(Value::Number(u.into()))
    } else if let Some(i) = n.as_i64() {
        Ok(Value::Number(i.into()))
    } else {
        let f = n.as_f64().unwrap_or(f64::NAN);
        Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| YamlError::Unsupported {
                path: path.to_owned(),
                message: format!("{n} cannot be represented in JSON"),
            })
    }
}

/// Mapping keys become strings the way Python's JSON encoder writes them.
fn key_string(key: serde_yaml::Value, path: &str) -> Result<String, YamlError> {
    use serde_yaml::Value as Y;
    match key {
        Y::String(s) => Ok(s),
        Y::Bool(b) => Ok(b.to_string()),
        Y::Null => Ok("null".to_owned()),
        Y::Number(n) => Ok(n.to_string()),
        _ => Err(YamlError::Unsupported {
            path: path.to_owned(),
            message: "a mapping key must be a string, number, boolean or null".to_owned(),
        }),
    }
}

/// Finds the line of a key path in block-style YAML text.
///
/// `path` holds normalised (snake_case) keys; a key in the text matches when it equals the
/// segment as written or after [`decamelize`]. Returns the 1-based line and the key path as it
/// is spelled in the file (`eventListener.interval`).
pub fn locate(text: &str, path: &[String]) -> Option<(usize, String)> {
    if path.is_empty() {
        return None;
    }
    // (indent, key as written); a `-` list item pushes an entry that never matches.
    let mut stack: Vec<(usize, Option<String>)> = Vec::new();
    for (index, raw_line) in text.lines().enumerate() {
        let trimmed = raw_line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
            continue;
        }
        let mut indent = raw_line.len() - trimmed.len();
        let mut content = trimmed;
        if let Some(rest) = content
            .strip_prefix("- ")
            .or_else(|| if content == "-" { Some("") } else { None })
        {
            while stack.last().is_some_and(|(i, _)| *i >= indent) {
                stack.pop();
            }
            stack.push((indent, None));
            let rest_trimmed = rest.trim_start();
            indent += content.len() - rest_trimmed.len();
            content = rest_trimmed;
        }
        let Some(key) = mapping_key(content) else {
            continue;
        };
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        stack.push((indent, Some(key)));
        if stack.len() == path.len()
            && stack.iter().zip(path).all(|((_, written), wanted)| {
                written
                    .as_ref()
                    .is_some_and(|w| w == wanted || decamelize(w) == *wanted)
            })
        {
            let spelled: Vec<&str> = stack.iter().filter_map(|(_, k)| k.as_deref()).collect();
            return Some((index + 1, spelled.join(".")));
        }
    }
    None
}

/// The key of a `key: value` (or `key:`) line, unquoted.
fn mapping_key(content: &str) -> Option<String> {
    let first = content.chars().next()?;
    if first == '"' || first == '\'' {
        let end = content[1..].find(first)? + 1;
        let after = content[end + 1..].trim_start();
        return after.starts_with(':').then(|| content[1..end].to_owned());
    }
    let bytes = content.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'#' if i > 0 && bytes[i - 1] == b' ' => return None,
            b'{' | b'[' if i == 0 => return None,
            b':' => {
                let next = bytes.get(i + 1);
                if next.is_none() || next == Some(&b' ') || next == Some(&b'\t') {
                    let key = content[..i].trim_end();
                    return (!key.is_empty()).then(|| key.to_owned());
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn converts_scalars_keys_and_merges() {
        let text = "base: &b\n  a: 1\n  b: two\nderived:\n  <<: *b\n  b: three\n200: ok\ntrue: yes\n~: n\nf: 1.5\nlist: [1, \"x\", null]\n";
        assert_eq!(
            parse(text).unwrap(),
            json!({
                "base": {"a": 1, "b": "two"},
                "derived": {"a": 1, "b": "three"},
                "200": "ok",
                "true": "yes",
                "null": "n",
                "f": 1.5,
                "list": [1, "x", null]
            })
        );
    }

    #[test]
    fn empty_document_is_null() {
        assert_eq!(parse("").unwrap(), Value::Null);
        assert_eq!(parse("# only a comment\n").unwrap(), Value::Null);
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let err = parse("a: 1\nb: [unclosed\n").unwrap_err();
        match &err {
            YamlError::Syntax { line, .. } => assert!(line.is_some(), "{err}"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(
            err.to_string().starts_with("invalid YAML at line "),
            "{err}"
        );
    }

    #[test]
    fn tags_are_rejected_with_their_path() {
        let err = parse("a:\n  b: !Ref thing\n").unwrap_err();
        assert_eq!(err.to_string(), "a.b: the YAML tag !Ref is not supported");
    }

    #[test]
    fn locates_block_keys_in_either_case() {
        let text = "initializePortResources: true\nport:\n  clientId: x # c\n  \"base_url\": y\neventListener:\n  type: POLLING\n  interval: 30\nintegration:\n  config:\n    pageSize: 10\n";
        let path = |p: &str| p.split('.').map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(
            locate(text, &path("event_listener.interval")),
            Some((7, "eventListener.interval".to_owned()))
        );
        assert_eq!(
            locate(text, &path("port.client_id")),
            Some((3, "port.clientId".to_owned()))
        );
        assert_eq!(
            locate(text, &path("port.base_url")),
            Some((4, "port.base_url".to_owned()))
        );
        assert_eq!(
            locate(text, &path("integration.config.page_size")),
            Some((10, "integration.config.pageSize".to_owned()))
        );
        assert_eq!(locate(text, &path("port.missing")), None);
    }

    #[test]
    fn list_items_do_not_confuse_the_scan() {
        let text = "a:\n  - b: 1\n    c: 2\n  - d: 3\ne:\n  f: 4\n";
        let path = |p: &str| p.split('.').map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(locate(text, &path("a.c")), None);
        assert_eq!(locate(text, &path("e.f")), Some((6, "e.f".to_owned())));
    }
}
