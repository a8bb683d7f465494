//! What every integration folder must hold, checked (`cargo xtask check-integrations`, and a
//! test so that `cargo test --workspace` catches a missing file).
//!
//! The list is what a user and the tooling expect of an integration: a crate named
//! `ocean-<folder>` with a binary, its image recipe, its `make run`, the `.port/` folder the
//! runtime reads, an example `config.yaml`, docs, a changelog, and tests. Contents are checked
//! only as far as a missing piece would otherwise surface late (a package name the xtask cannot
//! find, a resources folder without a mapping).

use anyhow::Result;
use std::path::Path;

use crate::workspace::Workspace;

/// Files every integration folder holds.
pub const REQUIRED_FILES: [&str; 8] = [
    "Cargo.toml",
    "src/main.rs",
    "Dockerfile",
    "Makefile",
    ".port/spec.yaml",
    "README.md",
    "CHANGELOG.md",
    "config.yaml",
];

/// Checks one integration folder; each problem names the file.
pub fn check_integration(dir: &Path, name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for file in REQUIRED_FILES {
        if !dir.join(file).is_file() {
            problems.push(format!("integrations/{name}: missing {file}"));
        }
    }
    let resources = dir.join(".port/resources");
    if !resources.is_dir() {
        problems.push(format!("integrations/{name}: missing .port/resources/"));
    } else {
        for stem in ["blueprints", "port-app-config"] {
            let found = ["json", "yaml", "yml"]
                .iter()
                .any(|ext| resources.join(format!("{stem}.{ext}")).is_file());
            if !found {
                problems.push(format!(
                    "integrations/{name}: missing .port/resources/{stem}.(json|yaml|yml)"
                ));
            }
        }
    }
    let tests = dir.join("tests");
    let has_tests = std::fs::read_dir(&tests)
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.path().extension().is_some_and(|ext| ext == "rs"))
        })
        .unwrap_or(false);
    if !has_tests {
        problems.push(format!(
            "integrations/{name}: missing tests/ (no .rs file in it)"
        ));
    }
    if let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) {
        let package = Workspace::package(name);
        let named = manifest
            .lines()
            .any(|l| l.replace(' ', "") == format!("name=\"{package}\""));
        if !named {
            problems.push(format!(
                "integrations/{name}: Cargo.toml must name the package (and its binary) `{package}`"
            ));
        }
    }
    problems
}

/// Checks every folder under `integrations/`.
pub fn check_all(ws: &Workspace) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for name in ws.integrations()? {
        problems.extend(check_integration(&ws.integration_dir(&name), &name));
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, file: &str, text: &str) {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn a_complete_folder_passes_and_each_missing_piece_is_named() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("integrations/acme");
        for file in REQUIRED_FILES {
            write(&dir, file, "");
        }
        write(&dir, "Cargo.toml", "[package]\nname = \"ocean-acme\"\n");
        write(&dir, ".port/resources/blueprints.json", "[]");
        write(&dir, ".port/resources/port-app-config.yml", "resources: []");
        write(&dir, "tests/e2e.rs", "");
        assert_eq!(check_integration(&dir, "acme"), Vec::<String>::new());

        std::fs::remove_file(dir.join("Dockerfile")).unwrap();
        std::fs::remove_file(dir.join(".port/resources/port-app-config.yml")).unwrap();
        std::fs::remove_file(dir.join("tests/e2e.rs")).unwrap();
        write(&dir, "Cargo.toml", "[package]\nname = \"acme\"\n");
        assert_eq!(
            check_integration(&dir, "acme"),
            [
                "integrations/acme: missing Dockerfile",
                "integrations/acme: missing .port/resources/port-app-config.(json|yaml|yml)",
                "integrations/acme: missing tests/ (no .rs file in it)",
                "integrations/acme: Cargo.toml must name the package (and its binary) `ocean-acme`",
            ]
        );
        let ws = Workspace::at(root.path());
        assert_eq!(check_all(&ws).unwrap().len(), 4);
    }
}
