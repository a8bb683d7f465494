//! The `.port/resources/` folder: the blueprints, default mapping (`port-app-config`), actions,
//! scorecards and pages an integration provisions in Port on first start.
//!
//! Bodies stay `serde_json::Value`: they are Port API documents that this crate only carries
//! (the mapping crate parses `port-app-config`, the Port client sends the rest). What is checked
//! here is the folder's shape — recognised file stems, allowed extensions, top-level types — so
//! that a broken defaults folder fails at startup with the offending file named.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::yaml;

/// The file stems the folder may contain; other files are ignored.
pub const RESOURCE_STEMS: [&str; 5] = [
    "blueprints",
    "port-app-config",
    "actions",
    "scorecards",
    "pages",
];

/// The extensions a recognised file may have.
pub const RESOURCE_EXTENSIONS: [&str; 3] = ["json", "yaml", "yml"];

/// The folder used when the configured `resources_path` is not a directory.
pub const DEFAULT_RESOURCES_DIR: &str = ".port/resources";

/// Why the resources folder could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ResourcesError {
    /// A recognised stem with another extension, or a directory with that name.
    #[error(
        "{}: the defaults folder may only hold {stem} as a .json, .yaml or .yml file",
        path.display()
    )]
    UnsupportedFile {
        /// The offending entry.
        path: PathBuf,
        /// Its stem.
        stem: String,
    },
    /// The same stem appears with two extensions.
    #[error("{} and {} both define {stem}; keep one", first.display(), second.display())]
    Duplicate {
        /// One file.
        first: PathBuf,
        /// The other.
        second: PathBuf,
        /// Their shared stem.
        stem: String,
    },
    /// A file or the folder could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// A file is not valid JSON or YAML.
    #[error("{}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's description with its position.
        message: String,
    },
    /// A file parsed but has the wrong shape.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong (`[2]: expected an object`).
        message: String,
    },
}

/// A scorecards file entry: the scorecards to create on one blueprint.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ScorecardPreset {
    /// The blueprint identifier (`POST /blueprints/<id>/scorecards`).
    pub blueprint: String,
    /// The scorecard documents.
    pub data: Vec<Value>,
}

/// The loaded defaults folder.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PortResources {
    /// The folder the files came from (or a label for embedded files).
    pub dir: PathBuf,
    /// Blueprint documents (each an object).
    pub blueprints: Vec<Value>,
    /// The default mapping, when `port-app-config.*` exists (an object).
    pub port_app_config: Option<Value>,
    /// Action documents (each an object).
    pub actions: Vec<Value>,
    /// Scorecards per blueprint.
    pub scorecards: Vec<ScorecardPreset>,
    /// Page documents (each an object).
    pub pages: Vec<Value>,
}

impl PortResources {
    /// Which folder to use: `<base>/<resources_path>` when it is a directory, else
    /// `<base>/.port/resources` when that is, else `None` (no defaults).
    pub fn locate(base: &Path, resources_path: &str) -> Option<PathBuf> {
        let configured = base.join(resources_path);
        if configured.is_dir() {
            return Some(configured);
        }
        let fallback = base.join(DEFAULT_RESOURCES_DIR);
        fallback.is_dir().then_some(fallback)
    }

    /// Locates (see [`PortResources::locate`]) and loads the folder; `Ok(None)` when there is none.
    pub fn load(
        base: &Path,
        resources_path: &str,
    ) -> Result<Option<PortResources>, ResourcesError> {
        match PortResources::locate(base, resources_path) {
            Some(dir) => PortResources::load_dir(&dir).map(Some),
            None => Ok(None),
        }
    }

    /// Loads every recognised file of `dir`.
    pub fn load_dir(dir: &Path) -> Result<PortResources, ResourcesError> {
        let read_err = |source| ResourcesError::Read {
            path: dir.to_owned(),
            source,
        };
        let mut files: Vec<(String, String)> = Vec::new();
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(read_err)?
            .collect::<Result<_, _>>()
            .map_err(read_err)?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let (stem, _) = split_name(&name);
            if !RESOURCE_STEMS.contains(&stem) {
                continue;
            }
            if !path.is_file() {
                return Err(ResourcesError::UnsupportedFile {
                    path,
                    stem: stem.to_owned(),
                });
            }
            let text = std::fs::read_to_string(&path).map_err(|source| ResourcesError::Read {
                path: path.clone(),
                source,
            })?;
            files.push((name, text));
        }
        PortResources::from_files(dir, files)
    }

    /// Builds the resources from `(file name, contents)` pairs — for folders embedded in a
    /// binary. Names outside [`RESOURCE_STEMS`] are ignored; `dir` labels error messages.
    pub fn from_files<I, N, T>(dir: &Path, files: I) -> Result<PortResources, ResourcesError>
    where
        I: IntoIterator<Item = (N, T)>,
        N: AsRef<str>,
        T: AsRef<str>,
    {
        let mut resources = PortResources {
            dir: dir.to_owned(),
            ..PortResources::default()
        };
        let mut seen: Vec<(String, PathBuf)> = Vec::new();
        for (name, text) in files {
            let name = name.as_ref();
            let path = dir.join(name);
            let (stem, extension) = split_name(name);
            if !RESOURCE_STEMS.contains(&stem) {
                continue;
            }
            if !extension.is_some_and(|e| RESOURCE_EXTENSIONS.contains(&e)) {
                return Err(ResourcesError::UnsupportedFile {
                    path,
                    stem: stem.to_owned(),
                });
            }
            if let Some((_, first)) = seen.iter().find(|(s, _)| s == stem) {
                return Err(ResourcesError::Duplicate {
                    first: first.clone(),
                    second: path,
                    stem: stem.to_owned(),
                });
            }
            seen.push((stem.to_owned(), path.clone()));
            let value = parse_file(&path, extension == Some("json"), text.as_ref())?;
            match stem {
                "blueprints" => resources.blueprints = object_list(&path, value)?,
                "actions" => resources.actions = object_list(&path, value)?,
                "pages" => resources.pages = object_list(&path, value)?,
                "scorecards" => {
                    resources.scorecards = serde_path_to_error::deserialize(value).map_err(|e| {
                        ResourcesError::Invalid {
                            path: path.clone(),
                            message: format!("{}: {}", e.path(), e.inner()),
                        }
                    })?
                }
                _ => {
                    if !value.is_object() {
                        return Err(ResourcesError::Invalid {
                            path,
                            message: format!("expected a mapping object, found {}", kind(&value)),
                        });
                    }
                    resources.port_app_config = Some(value);
                }
            }
        }
        Ok(resources)
    }
}

/// Splits a file name like Python's `Path.stem`/`Path.suffix`: at the last dot, unless the name
/// starts with it.
fn split_name(name: &str) -> (&str, Option<&str>) {
    match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], Some(&name[i + 1..])),
        _ => (name, None),
    }
}

fn parse_file(path: &Path, is_json: bool, text: &str) -> Result<Value, ResourcesError> {
    if is_json {
        serde_json::from_str(text).map_err(|e| ResourcesError::Parse {
            path: path.to_owned(),
            message: format!("invalid JSON: {e}"),
        })
    } else {
        yaml::parse(text).map_err(|e| ResourcesError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A list of objects; an empty document counts as an empty list.
fn object_list(path: &Path, value: Value) -> Result<Vec<Value>, ResourcesError> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        other => {
            return Err(ResourcesError::Invalid {
                path: path.to_owned(),
                message: format!("expected a list of objects, found {}", kind(&other)),
            });
        }
    };
    if let Some((i, bad)) = items.iter().enumerate().find(|(_, v)| !v.is_object()) {
        return Err(ResourcesError::Invalid {
            path: path.to_owned(),
            message: format!("[{i}]: expected an object, found {}", kind(bad)),
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::fs;

    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let res = dir.path().join(".port/resources");
        fs::create_dir_all(&res).unwrap();
        for (name, text) in files {
            fs::write(res.join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn loads_every_kind_of_file_in_json_and_yaml() {
        let dir = folder(&[
            (
                "blueprints.json",
                r#"[{"identifier": "svc", "schema": {"properties": {}}}]"#,
            ),
            (
                "port-app-config.yml",
                "resources:\n  - kind: project\n    selector:\n      query: 'true'\n",
            ),
            ("actions.yaml", "- identifier: act\n  200: ok\n"),
            (
                "scorecards.json",
                r#"[{"blueprint": "svc", "data": [{"identifier": "sc"}]}]"#,
            ),
            ("pages.yaml", ""),
            ("README.md", "ignored"),
            ("blueprints.json.bak", "ignored: [unparsed"),
        ]);
        let loaded = PortResources::load(dir.path(), ".port/resources")
            .unwrap()
            .unwrap();
        assert_eq!(loaded.blueprints[0]["identifier"], "svc");
        assert_eq!(
            loaded.port_app_config,
            Some(json!({"resources": [{"kind": "project", "selector": {"query": "true"}}]}))
        );
        assert_eq!(
            loaded.actions,
            vec![json!({"identifier": "act", "200": "ok"})]
        );
        assert_eq!(
            loaded.scorecards,
            vec![ScorecardPreset {
                blueprint: "svc".into(),
                data: vec![json!({"identifier": "sc"})]
            }]
        );
        assert!(loaded.pages.is_empty());
    }

    #[test]
    fn configured_path_then_fallback_then_none() {
        let dir = folder(&[("blueprints.json", "[]")]);
        fs::create_dir_all(dir.path().join("custom")).unwrap();
        assert_eq!(
            PortResources::locate(dir.path(), "custom"),
            Some(dir.path().join("custom"))
        );
        assert_eq!(
            PortResources::locate(dir.path(), "missing"),
            Some(dir.path().join(".port/resources"))
        );
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(PortResources::locate(empty.path(), ".port/resources"), None);
        assert!(PortResources::load(empty.path(), "x").unwrap().is_none());
    }

    fn load_error(files: &[(&str, &str)]) -> String {
        let dir = folder(files);
        let err = PortResources::load(dir.path(), ".port/resources").unwrap_err();
        err.to_string()
            .replace(&dir.path().display().to_string(), "<dir>")
    }

    #[test]
    fn bad_extensions_directories_and_duplicates_are_errors() {
        assert_eq!(
            load_error(&[("blueprints.txt", "[]")]),
            "<dir>/.port/resources/blueprints.txt: the defaults folder may only hold blueprints as a .json, .yaml or .yml file"
        );
        assert_eq!(
            load_error(&[("pages", "[]")]),
            "<dir>/.port/resources/pages: the defaults folder may only hold pages as a .json, .yaml or .yml file"
        );
        let dir = folder(&[]);
        fs::create_dir_all(dir.path().join(".port/resources/actions.json")).unwrap();
        let err = PortResources::load(dir.path(), ".port/resources")
            .unwrap_err()
            .to_string()
            .replace(&dir.path().display().to_string(), "<dir>");
        assert_eq!(
            err,
            "<dir>/.port/resources/actions.json: the defaults folder may only hold actions as a .json, .yaml or .yml file"
        );
        assert_eq!(
            load_error(&[("actions.json", "[]"), ("actions.yaml", "[]")]),
            "<dir>/.port/resources/actions.json and <dir>/.port/resources/actions.yaml both define actions; keep one"
        );
    }

    #[test]
    fn content_errors_name_the_file_and_element() {
        assert_eq!(
            load_error(&[("blueprints.json", r#"[{"identifier": "a"}, 3]"#)]),
            "<dir>/.port/resources/blueprints.json: [1]: expected an object, found a number"
        );
        assert_eq!(
            load_error(&[("port-app-config.yaml", "- a\n")]),
            "<dir>/.port/resources/port-app-config.yaml: expected a mapping object, found a list"
        );
        assert_eq!(
            load_error(&[("scorecards.json", r#"[{"data": []}]"#)]),
            "<dir>/.port/resources/scorecards.json: [0]: missing field `blueprint`"
        );
        assert_eq!(
            load_error(&[("blueprints.json", "[")]),
            "<dir>/.port/resources/blueprints.json: invalid JSON: EOF while parsing a list at line 1 column 1"
        );
    }

    #[test]
    fn embedded_files_load_without_a_folder() {
        let loaded = PortResources::from_files(
            Path::new("embedded"),
            [("blueprints.yaml", "- identifier: x\n")],
        )
        .unwrap();
        assert_eq!(loaded.blueprints, vec![json!({"identifier": "x"})]);
    }
}
