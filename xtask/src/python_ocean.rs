//! Python Ocean (port-ocean 0.56.2, the version the mapping conformance cases were recorded
//! with) in a venv under the workspace's `target/python-ocean-venv`, installed on first use with
//! pip from the package index and reused afterwards. `make bench` maps the benchmark records
//! with it side by side with `ocean map`.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The port-ocean release installed (with its `cli` extra, as Python Ocean's users install it).
pub const PORT_OCEAN: &str = "port-ocean[cli]==0.56.2";

/// The first Python ≥ 3.11 on `PATH`.
pub fn find_python() -> Option<String> {
    ["python3.13", "python3.12", "python3.11", "python3"]
        .into_iter()
        .find(|candidate| {
            Command::new(candidate)
                .args([
                    "-c",
                    "import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .map(str::to_owned)
}

/// Whether the venv's Python imports port-ocean and its CLI.
fn ready(venv_python: &Path) -> bool {
    Command::new(venv_python)
        .args([
            "-c",
            "import port_ocean, uvicorn; from port_ocean.cli.cli import cli_start",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The venv's folder under `target_dir`, created and filled when missing or broken; its
/// interpreter is `<venv>/bin/python`.
pub fn ensure_venv(target_dir: &Path) -> Result<PathBuf> {
    let venv = target_dir.join("python-ocean-venv");
    let venv_python = venv.join("bin/python");
    if ready(&venv_python) {
        return Ok(venv);
    }
    let python = find_python().context("Python Ocean needs Python 3.11 or newer on PATH")?;
    println!("Installing {PORT_OCEAN} into {}…", venv.display());
    let status = Command::new(&python)
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .with_context(|| format!("running {python} -m venv {}", venv.display()))?;
    if !status.success() {
        bail!("creating the venv {} failed ({status})", venv.display());
    }
    let install = |spec: &str| {
        Command::new(&venv_python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--ignore-requires-python",
                spec,
            ])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !install(PORT_OCEAN) {
        bail!("installing {PORT_OCEAN} into {} failed", venv.display());
    }
    if !ready(&venv_python) {
        bail!(
            "port-ocean does not import in {} after installing it",
            venv.display()
        );
    }
    Ok(venv)
}
