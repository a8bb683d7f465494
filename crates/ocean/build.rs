//! Records the git commit this SDK — and so the integration built with it from this repository —
//! was built from, for `--version` and the startup log: `OCEAN_GIT_COMMIT` when set (a build from
//! a source archive, without `.git`), else `git rev-parse HEAD`, else `unknown`.
//!
//! Cargo runs this again when `HEAD` or the branch it points to moves, so the recorded commit
//! never goes stale; uncommitted changes are not tracked (that would rebuild on every edit).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=OCEAN_GIT_COMMIT");
    let commit = std::env::var("OCEAN_GIT_COMMIT")
        .ok()
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=OCEAN_GIT_COMMIT={commit}");
}

/// The short commit of `HEAD`, watching the files that change when it moves.
fn git_commit() -> Option<String> {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let commit = git(&dir, &["rev-parse", "--short=12", "HEAD"])?;
    let mut watched = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    if let Some(branch) = git(&dir, &["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        if let Some(path) = git(&dir, &["rev-parse", "--git-path", &name]) {
            let path = dir.join(path);
            // A missing file would make cargo rerun this script on every build.
            if path.is_file() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    Some(commit)
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}
