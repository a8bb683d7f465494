//! The Ocean workspace around a directory, and the integration folders in it.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};

/// Where the integration template lives, relative to the workspace root.
pub const TEMPLATE_DIR: &str = "templates/integration";

/// Where integrations live, relative to the workspace root.
pub const INTEGRATIONS_DIR: &str = "integrations";

/// The Ocean workspace at `dir` (it must hold the integration template).
pub fn workspace_at(dir: &Path) -> anyhow::Result<PathBuf> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("opening {}", dir.display()))?;
    if !is_ocean_workspace(&dir) {
        bail!(
            "{} is not an Ocean workspace: it has no {TEMPLATE_DIR}/cargo-generate.toml",
            dir.display()
        );
    }
    Ok(dir)
}

/// The nearest directory at or above `start` that is an Ocean workspace.
pub fn find_workspace(start: &Path) -> anyhow::Result<PathBuf> {
    start
        .ancestors()
        .find(|dir| is_ocean_workspace(dir))
        .map(Path::to_path_buf)
        .with_context(|| {
            format!(
                "{} is not inside an Ocean workspace (no {TEMPLATE_DIR}/cargo-generate.toml in it \
                 or a parent); run this from the Ocean repository or pass --path",
                start.display()
            )
        })
}

/// Whether `dir` is an Ocean workspace root: a `Cargo.toml` and the integration template.
pub fn is_ocean_workspace(dir: &Path) -> bool {
    dir.join("Cargo.toml").is_file() && dir.join(TEMPLATE_DIR).join("cargo-generate.toml").is_file()
}
