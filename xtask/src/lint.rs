//! `cargo xtask release-lint` (the end of `make lint`): the linters of what a release is made of,
//! each installed into `target/tools/` on first use ([`crate::tools`]):
//!
//! - `actionlint` on `.github/workflows/`, and the check that every workflow step runs Makefile
//!   targets that exist ([`crate::workflows`]);
//! - `hadolint` on the shared runtime's and every integration's Dockerfile;
//! - `cargo deny check licenses bans sources`, offline (after a `cargo fetch` of the locked
//!   crates), with the policy in `deny.toml`.
//!
//! Every linter runs even when an earlier one fails, and the task fails naming all that did.

use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::process::Command;

use crate::tools;
use crate::workflows;
use crate::workspace::Workspace;

/// `cargo xtask unused-deps` (part of `make lint`): `cargo machete` over the workspace, which
/// fails on a dependency a crate declares but never uses. A crate that needs one it cannot see
/// (a derive's runtime, a build script's) lists it under
/// `[package.metadata.cargo-machete] ignored`, with the reason beside it.
pub fn unused_deps(ws: &Workspace) -> Result<()> {
    let machete = tools::cargo_machete(ws)?;
    let status = Command::new(&machete)
        .current_dir(ws.root())
        .arg("--with-metadata")
        .status()
        .context("running cargo machete")?;
    if !status.success() {
        bail!("cargo machete found dependencies that are declared but unused (see above)");
    }
    println!("cargo machete: every declared dependency is used");
    Ok(())
}

/// Runs the release linters.
pub fn release_lint(ws: &Workspace) -> Result<()> {
    let mut failed = Vec::new();

    println!("actionlint (.github/workflows):");
    let actionlint = tools::actionlint(ws)?;
    let status = Command::new(&actionlint)
        .current_dir(ws.root())
        .arg("-no-color")
        .status()
        .context("running actionlint")?;
    if status.success() {
        println!("  clean");
    } else {
        failed.push("actionlint");
    }
    let problems = workflows::problems(ws)?;
    if problems.is_empty() {
        println!("  every step runs existing Makefile targets");
    } else {
        for problem in &problems {
            println!("  {problem}");
        }
        failed.push("workflow steps");
    }

    let dockerfiles = dockerfiles(ws)?;
    println!("hadolint ({} Dockerfiles):", dockerfiles.len());
    let hadolint = tools::hadolint(ws)?;
    let status = Command::new(&hadolint)
        .current_dir(ws.root())
        .args(["--no-color", "--failure-threshold", "warning"])
        .args(&dockerfiles)
        .status()
        .context("running hadolint")?;
    if status.success() {
        println!("  clean");
    } else {
        failed.push("hadolint");
    }

    println!("cargo deny check licenses bans sources (offline, deny.toml):");
    let deny = tools::cargo_deny(ws)?;
    // cargo deny reads `cargo metadata`, which needs every locked crate of every platform on
    // disk; fetching them (crates.io only) lets the check itself run offline.
    let status = crate::cargo::cargo()
        .current_dir(ws.root())
        .args(["fetch", "--locked", "--quiet"])
        .status()
        .context("running cargo fetch")?;
    if !status.success() {
        bail!("cargo fetch --locked failed ({status})");
    }
    let status = Command::new(&deny)
        .current_dir(ws.root())
        .args([
            "--offline",
            "--locked",
            "check",
            "licenses",
            "bans",
            "sources",
        ])
        .status()
        .context("running cargo-deny")?;
    if !status.success() {
        failed.push("cargo deny");
    }

    if !failed.is_empty() {
        bail!("release lints failed: {}", failed.join(", "));
    }
    Ok(())
}

/// `docker/*.Dockerfile` and `integrations/*/Dockerfile`, relative to the root.
fn dockerfiles(ws: &Workspace) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let docker = ws.root().join("docker");
    for entry in
        std::fs::read_dir(&docker).with_context(|| format!("listing {}", docker.display()))?
    {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "Dockerfile") {
            files.push(path);
        }
    }
    for name in ws.integrations()? {
        let file = ws.integration_dir(&name).join("Dockerfile");
        if file.is_file() {
            files.push(file);
        }
    }
    files.sort();
    Ok(files
        .into_iter()
        .map(|f| f.strip_prefix(ws.root()).map(PathBuf::from).unwrap_or(f))
        .collect())
}
