//! What the playground reads from the integration folder it was given (`ocean playground PATH`):
//! its default mapping (`.port/resources/port-app-config.{yml,yaml,json}`), its example items
//! (`.port/examples/KIND.json`) and the integration binary that can fetch samples
//! (`ocean-NAME`, NAME being the folder's name).

use crate::PlaygroundError;
use std::path::{Path, PathBuf};

/// The default mapping's file names, in the order they are looked for.
const CONFIG_FILES: [&str; 3] = [
    "port-app-config.yml",
    "port-app-config.yaml",
    "port-app-config.json",
];

/// An integration folder, as far as the playground cares.
#[derive(Debug, Clone, Default)]
pub struct Folder {
    /// The folder (absolute when it was found on disk), if one was given.
    pub path: Option<PathBuf>,
    /// The integration's name: the folder's name without an `ocean-` prefix.
    pub name: Option<String>,
    /// The default mapping: its file and text.
    pub config: Option<(PathBuf, String)>,
    /// The kinds with an example file, sorted.
    pub examples: Vec<String>,
}

impl Folder {
    /// Reads a folder; `None` gives an empty one (the page then starts blank).
    pub fn read(path: Option<&Path>) -> Result<Folder, PlaygroundError> {
        let Some(path) = path else {
            return Ok(Folder::default());
        };
        if !path.is_dir() {
            return Err(PlaygroundError::NotAFolder(path.to_owned()));
        }
        let path = path
            .canonicalize()
            .map_err(|source| PlaygroundError::Read {
                path: path.to_owned(),
                source,
            })?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(|n| n.strip_prefix("ocean-").unwrap_or(n).to_owned());
        let mut config = None;
        for file in CONFIG_FILES {
            let file = path.join(".port/resources").join(file);
            if file.is_file() {
                let text = read(&file)?;
                config = Some((file, text));
                break;
            }
        }
        let mut examples = Vec::new();
        if let Ok(entries) = std::fs::read_dir(path.join(".port/examples")) {
            for entry in entries.flatten() {
                let file = entry.path();
                if file.extension().is_some_and(|e| e == "json") && file.is_file() {
                    if let Some(kind) = file.file_stem().and_then(|s| s.to_str()) {
                        examples.push(kind.to_owned());
                    }
                }
            }
        }
        examples.sort();
        Ok(Folder {
            path: Some(path),
            name,
            config,
            examples,
        })
    }

    /// The text of `.port/examples/KIND.json`, if the folder has that example.
    pub fn example(&self, kind: &str) -> Result<Option<String>, PlaygroundError> {
        match &self.path {
            Some(path) if self.examples.iter().any(|k| k == kind) => {
                read(&path.join(".port/examples").join(format!("{kind}.json"))).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// The integration binary, `ocean-NAME`: in the `target/debug` or `target/release` folder of
    /// the nearest enclosing workspace (the newer of the two), else on `PATH`.
    pub fn find_binary(&self) -> Option<PathBuf> {
        let (path, name) = (self.path.as_ref()?, self.name.as_ref()?);
        let file = format!("ocean-{name}");
        for dir in path.ancestors() {
            let target = dir.join("target");
            if !target.is_dir() {
                continue;
            }
            let newest = ["debug", "release"]
                .iter()
                .map(|profile| target.join(profile).join(&file))
                .filter(|candidate| candidate.is_file())
                .max_by_key(|candidate| {
                    candidate
                        .metadata()
                        .and_then(|m| m.modified())
                        .unwrap_or(std::time::SystemTime::UNIX_EPOCH)
                });
            if newest.is_some() {
                return newest;
            }
        }
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(&file))
                .find(|candidate| candidate.is_file())
        })
    }
}

fn read(path: &Path) -> Result<String, PlaygroundError> {
    std::fs::read_to_string(path).map_err(|source| PlaygroundError::Read {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_mapping_examples_and_finds_the_binary() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("integrations/acme");
        std::fs::create_dir_all(dir.join(".port/resources")).unwrap();
        std::fs::create_dir_all(dir.join(".port/examples")).unwrap();
        std::fs::write(
            dir.join(".port/resources/port-app-config.yaml"),
            "resources: []\n",
        )
        .unwrap();
        std::fs::write(dir.join(".port/examples/widget.json"), "[{\"id\": 1}]").unwrap();
        std::fs::write(dir.join(".port/examples/notes.txt"), "not an example").unwrap();
        let folder = Folder::read(Some(&dir)).unwrap();
        assert_eq!(folder.name.as_deref(), Some("acme"));
        assert_eq!(
            folder.config.as_ref().map(|c| c.1.as_str()),
            Some("resources: []\n")
        );
        assert_eq!(folder.examples, ["widget"]);
        assert_eq!(
            folder.example("widget").unwrap().as_deref(),
            Some("[{\"id\": 1}]")
        );
        assert_eq!(folder.example("../secret").unwrap(), None);

        assert_eq!(folder.find_binary(), None);
        std::fs::create_dir_all(root.path().join("target/debug")).unwrap();
        let binary = root.path().join("target/debug/ocean-acme");
        std::fs::write(&binary, "").unwrap();
        assert_eq!(folder.find_binary(), Some(binary.canonicalize().unwrap()));
    }

    #[test]
    fn no_folder_is_an_empty_playground_and_a_file_is_refused() {
        assert!(Folder::read(None).unwrap().config.is_none());
        let file = tempfile::NamedTempFile::new().unwrap();
        assert!(matches!(
            Folder::read(Some(file.path())),
            Err(PlaygroundError::NotAFolder(_))
        ));
    }
}
