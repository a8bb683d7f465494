//! JQ expressions of a selector (`data_path`, and a path parameter's `field` and `filter`),
//! compiled once per resource with the mapping's JQ engine and run on each response page.

use ocean_mapping::jq::{self, First, Program, read};
use serde_json::Value;

/// A compiled JQ expression and its text (for messages).
#[derive(Debug, Clone)]
pub struct Jq {
    program: Program,
    source: String,
}

impl Jq {
    /// Compiles `source` as Ocean compiles mapping expressions (no environment access).
    pub fn compile(source: &str) -> Result<Self, String> {
        let program = jq::compile(&jq::preprocess(source, false))
            .map_err(|e| format!("the JQ expression {source:?} does not compile: {e}"))?;
        Ok(Jq {
            program,
            source: source.to_owned(),
        })
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The first output of the expression on `input` (`None`: no output); a JQ error is an `Err`.
    pub fn first(&self, input: &Value) -> Result<Option<Value>, String> {
        let env = jq::Val::Null;
        match self.program.first(read::from_json(input), &env) {
            First::Value(v) => Ok(Some(read::to_json(&v))),
            First::Empty => Ok(None),
            First::Error(e) => Err(format!("the JQ expression {:?} failed: {e}", self.source)),
        }
    }
}

/// Where a page's items are: the selector's `data_path`, or the page itself.
#[derive(Debug, Clone, Default)]
pub struct DataPath {
    jq: Option<Jq>,
    /// The keys of a plain path (`.data.items`), walked without JQ so that the items are moved
    /// out of the page instead of copied.
    keys: Option<Vec<String>>,
}

/// The keys of a plain `.a.b.c` path, or `None` for any other expression.
fn plain_keys(source: &str) -> Option<Vec<String>> {
    let rest = source.strip_prefix('.')?;
    let keys: Vec<String> = rest.split('.').map(str::to_owned).collect();
    let plain = |k: &String| {
        let mut chars = k.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    keys.iter().all(plain).then_some(keys)
}

impl DataPath {
    /// The data path of `source` (`None` or `.`: the page itself).
    pub fn new(source: Option<&str>) -> Result<Self, String> {
        let source = source.map(str::trim).filter(|s| !s.is_empty() && *s != ".");
        Ok(DataPath {
            jq: source.map(Jq::compile).transpose()?,
            keys: source.and_then(plain_keys),
        })
    }

    /// The items of one response page. Without a data path, a list page is its items and any
    /// other page is one item (as the reference). With one, the result must be a list (its
    /// elements), an object (one item) or null (none); anything else is a misconfiguration.
    ///
    /// A list of items is moved out of `page` (a page of 500 records is not held twice); what
    /// remains of the page still answers the pagination's paths (next cursor, total, …).
    pub fn take_items(&self, page: &mut Value) -> Result<Vec<Value>, String> {
        let Some(jq) = &self.jq else {
            return Ok(match page {
                Value::Array(items) => std::mem::take(items),
                Value::Null => Vec::new(),
                other => vec![other.clone()],
            });
        };
        if let Some(keys) = &self.keys {
            let mut at = &mut *page;
            let mut reachable = true;
            for key in keys {
                match at {
                    Value::Object(map) => match map.get_mut(key) {
                        Some(next) => at = next,
                        None => return Ok(Vec::new()),
                    },
                    Value::Null => return Ok(Vec::new()),
                    _ => {
                        reachable = false;
                        break;
                    }
                }
            }
            // (A path through a scalar is left to JQ, for its error message.)
            if reachable {
                return match at {
                    Value::Array(items) => Ok(std::mem::take(items)),
                    Value::Object(_) => Ok(vec![at.clone()]),
                    Value::Null => Ok(Vec::new()),
                    other => Err(misconfigured(jq, other)),
                };
            }
        }
        match jq.first(page)? {
            Some(Value::Array(items)) => Ok(items),
            Some(object @ Value::Object(_)) => Ok(vec![object]),
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(other) => Err(misconfigured(jq, &other)),
        }
    }
}

fn misconfigured(jq: &Jq, value: &Value) -> String {
    format!(
        "data_path {:?} gave {} where a list or an object of items was expected; check the \
         selector's data_path against the API's response",
        jq.source(),
        type_name(value)
    )
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn data_paths_select_lists_objects_or_nothing() {
        let page = json!({"data": {"users": [{"id": 1}, {"id": 2}]}, "team": {"id": 9},
            "count": 2});
        let items = |p: Option<&str>| DataPath::new(p).unwrap().take_items(&mut page.clone());
        assert_eq!(items(Some(".data.users")).unwrap().len(), 2);
        assert_eq!(items(Some(".team")).unwrap(), vec![json!({"id": 9})]);
        assert_eq!(items(Some(".missing")).unwrap(), Vec::<Value>::new());
        assert_eq!(items(None).unwrap(), vec![page.clone()]);
        assert_eq!(items(Some(".")).unwrap(), vec![page.clone()]);
        let err = items(Some(".count")).unwrap_err();
        assert!(err.contains(".count") && err.contains("a number"), "{err}");
        assert!(
            DataPath::new(Some(".["))
                .unwrap_err()
                .contains("does not compile")
        );
        assert_eq!(
            DataPath::new(None)
                .unwrap()
                .take_items(&mut json!([1, 2]))
                .unwrap(),
            vec![json!(1), json!(2)]
        );
        // A path through a scalar is JQ's error; an expression that is not a plain path runs
        // in JQ.
        let err = items(Some(".count.x")).unwrap_err();
        assert!(err.contains(".count.x"), "{err}");
        assert_eq!(
            items(Some(".data.users | map(.id)")).unwrap(),
            vec![json!(1), json!(2)]
        );
        assert_eq!(items(Some(".data[\"users\"]")).unwrap().len(), 2);
    }

    #[test]
    fn a_plain_path_moves_the_items_out_and_leaves_the_rest_of_the_page() {
        let mut page = json!({"data": {"users": [{"id": 1}], "next": "c2"}, "total": 1});
        let items = DataPath::new(Some(".data.users"))
            .unwrap()
            .take_items(&mut page)
            .unwrap();
        assert_eq!(items, vec![json!({"id": 1})]);
        assert_eq!(
            page,
            json!({"data": {"users": [], "next": "c2"}, "total": 1})
        );
        assert!(plain_keys(".a.b_2").is_some());
        for not_plain in [".", ".a[]", ".a | .b", ".\"a-b\"", "a", ".a.", ".1"] {
            assert!(plain_keys(not_plain).is_none(), "{not_plain}");
        }
    }

    #[test]
    fn jq_reports_its_errors() {
        let jq = Jq::compile(".a | error(\"boom\")").unwrap();
        assert!(jq.first(&json!({"a": 1})).unwrap_err().contains("boom"));
        let select = Jq::compile("select(.x)").unwrap();
        assert_eq!(select.first(&json!({"x": false})).unwrap(), None);
    }
}
