//! Where things are: the workspace root, integrations, scratch space.
//!
//! Paths are derived from this crate's own location, never from the current directory, so
//! `cargo xtask …` behaves the same from any folder of the checkout.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// The checkout being worked on.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// The workspace this xtask was built from.
    pub fn locate() -> Workspace {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        Workspace::at(manifest.parent().unwrap_or(manifest))
    }

    /// A workspace rooted at `root` (tests use temporary ones).
    pub fn at(root: impl Into<PathBuf>) -> Workspace {
        Workspace { root: root.into() }
    }

    /// The root folder (holding the workspace `Cargo.toml`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `integrations/<name>`.
    pub fn integration_dir(&self, name: &str) -> PathBuf {
        self.root.join("integrations").join(name)
    }

    /// The names of the folders under `integrations/`, sorted.
    pub fn integrations(&self) -> Result<Vec<String>> {
        let dir = self.root.join("integrations");
        let mut names = Vec::new();
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))?
        {
            let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// The integration's package name (`ocean-<name>`), also the name of its binary.
    pub fn package(name: &str) -> String {
        format!("ocean-{name}")
    }

    /// Cargo's target folder: `$CARGO_TARGET_DIR` (relative to the root), else `<root>/target`.
    pub fn target_dir(&self) -> PathBuf {
        match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) => self.root.join(dir),
            None => self.root.join("target"),
        }
    }

    /// A scratch folder for one task's files (logs, reports): `<target>/xtask/<task>`, created.
    pub fn scratch(&self, task: &str) -> Result<PathBuf> {
        let dir = self.target_dir().join("xtask").join(task);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(dir)
    }

    /// `path` relative to the root when it is inside it, for shorter messages.
    pub fn display(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}
