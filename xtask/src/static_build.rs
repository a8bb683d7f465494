//! Static binaries: `cargo xtask static NAME` (`make static`) builds an integration as one
//! self-contained executable for `x86_64-unknown-linux-musl`; `cargo xtask static-check NAME`
//! (run by `make test`) also proves it: statically linked (`file`, `ldd`), no OpenSSL in its
//! dependency graph, under the size budget, and able to run the demo resync.
//!
//! When the musl target cannot be installed (no `rustup`, no network), the build falls back to a
//! glibc build with `crt-static` — also one static file, but glibc's static NSS caveats apply —
//! and says so.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::cargo::{self, Build};
use crate::demo::{self, DemoOptions};
use crate::workspace::Workspace;

/// The target static builds aim at.
pub const MUSL: &str = "x86_64-unknown-linux-musl";
/// The fallback target (with `crt-static`).
pub const GNU: &str = "x86_64-unknown-linux-gnu";
/// The size budget of a stripped integration binary.
pub const SIZE_BUDGET: u64 = 15 * 1024 * 1024;

/// Which target to build for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TargetChoice {
    /// musl when it can be built here, else glibc with `crt-static` (with a warning).
    #[default]
    Auto,
    /// `x86_64-unknown-linux-musl`, installing the target if needed; an error when impossible.
    Musl,
    /// `x86_64-unknown-linux-gnu` with `crt-static`.
    Gnu,
}

/// What to build.
#[derive(Debug, Clone)]
pub struct StaticOptions {
    /// The integration (folder name under `integrations/`).
    pub integration: String,
    /// The cargo profile (`dist`: what ships — fat LTO, one codegen unit, stripped).
    pub profile: String,
    /// Copy the binary there too.
    pub out_dir: Option<PathBuf>,
    /// The target.
    pub target: TargetChoice,
    /// Cargo features on top of the integration's defaults (`kafka` for the KAFKA listener).
    pub features: Vec<String>,
}

/// A built static binary.
#[derive(Debug, Clone)]
pub struct StaticBinary {
    /// Where it is.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// The target it was built for.
    pub target: &'static str,
    /// How long the build took.
    pub elapsed: Duration,
}

/// Builds the integration statically and prints where it is and how big.
pub fn build_static(ws: &Workspace, options: &StaticOptions) -> Result<StaticBinary> {
    let package = Workspace::package(&options.integration);
    if !ws
        .integration_dir(&options.integration)
        .join("Cargo.toml")
        .is_file()
    {
        bail!(
            "there is no integration `{}` (no integrations/{}/Cargo.toml)",
            options.integration,
            options.integration
        );
    }
    let target = match options.target {
        TargetChoice::Auto => choose_target(),
        TargetChoice::Gnu => GNU,
        TargetChoice::Musl => {
            if choose_target() != MUSL {
                bail!("the {MUSL} target cannot be built here (see the warning above)");
            }
            MUSL
        }
    };
    let mut build = Build {
        packages: vec![package.clone()],
        profile: options.profile.clone(),
        target: Some(target.to_owned()),
        env: Vec::new(),
        features: options.features.clone(),
    };
    if target == GNU {
        build.env.push((
            "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS".into(),
            "-C target-feature=+crt-static".into(),
        ));
    }
    let with = if options.features.is_empty() {
        String::new()
    } else {
        format!(" and the features {}", options.features.join(","))
    };
    println!(
        "Building {package} for {target} with the `{}` profile{with}…",
        options.profile
    );
    let built = cargo::build(ws, &build)?;
    let mut path = built.executable(&package)?;
    if let Some(out) = &options.out_dir {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        let copy = out.join(&package);
        std::fs::copy(&path, &copy)
            .with_context(|| format!("copying {} to {}", path.display(), copy.display()))?;
        path = copy;
    }
    let size = std::fs::metadata(&path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    println!(
        "{}: {:.1} MiB, built in {:.0} s",
        ws.display(&path),
        size as f64 / (1024.0 * 1024.0),
        built.elapsed.as_secs_f64()
    );
    Ok(StaticBinary {
        path,
        size,
        target,
        elapsed: built.elapsed,
    })
}

/// The musl target when it is (or can be) installed and a C compiler for it exists (ring and
/// mimalloc compile C), else the glibc fallback.
fn choose_target() -> &'static str {
    if !musl_c_compiler() {
        println!(
            "warning: no C compiler for musl (x86_64-linux-musl-gcc or musl-gcc; Debian/Ubuntu: \
             apt-get install musl-tools), so building a static glibc binary instead (crt-static)"
        );
        return GNU;
    }
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match installed {
        Ok(out)
            if String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim() == MUSL) =>
        {
            MUSL
        }
        Ok(_) => {
            println!("Installing the {MUSL} target (rustup target add {MUSL})…");
            let added = Command::new("rustup")
                .args(["target", "add", MUSL])
                .status();
            if matches!(added, Ok(status) if status.success()) {
                MUSL
            } else {
                println!(
                    "warning: the {MUSL} target could not be installed; building a static glibc \
                     binary instead (crt-static)"
                );
                GNU
            }
        }
        Err(err) => {
            println!(
                "warning: rustup cannot be run ({err}), so the {MUSL} target cannot be checked; \
                 building a static glibc binary instead (crt-static)"
            );
            GNU
        }
    }
}

/// Whether cc-rs will find a C compiler for the musl target.
fn musl_c_compiler() -> bool {
    if std::env::var_os("CC_x86_64_unknown_linux_musl").is_some() {
        return true;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|dir| {
        ["x86_64-linux-musl-gcc", "musl-gcc"]
            .iter()
            .any(|tool| dir.join(tool).is_file())
    })
}

/// Builds, then checks linkage, dependencies, size, and runs the demo resync with the binary.
///
/// The demo resync runs against `emulator` when given (`make test` passes the one its `cargo
/// test` built), else against a release build of the emulator.
pub fn static_check(
    ws: &Workspace,
    options: &StaticOptions,
    emulator: Option<&Path>,
) -> Result<StaticBinary> {
    let binary = build_static(ws, options)?;
    let mut problems = Vec::new();

    match command_output("file", &[binary.path.as_os_str()]) {
        Some(out) if is_static_file_output(&out) => println!("file: statically linked"),
        Some(out) => problems.push(format!("`file` does not call it statically linked: {out}")),
        None => println!("(no `file` command: linkage checked with ldd only)"),
    }
    match command_output("ldd", &[binary.path.as_os_str()]) {
        Some(out) if is_static_ldd_output(&out) => println!("ldd: no dynamic dependencies"),
        Some(out) => problems.push(format!("`ldd` lists dynamic dependencies: {out}")),
        None => println!("(no `ldd` command)"),
    }
    let package = Workspace::package(&options.integration);
    let mut tls_clean = true;
    for forbidden in ["openssl-sys", "native-tls"] {
        if let Some(path) = dependency_path(ws, &package, binary.target, forbidden)? {
            tls_clean = false;
            problems.push(format!(
                "{package} depends on {forbidden} (TLS must be rustls only):\n{path}"
            ));
        }
    }
    if tls_clean {
        println!("dependencies: no openssl-sys, no native-tls");
    }
    if binary.size > SIZE_BUDGET {
        problems.push(format!(
            "{:.1} MiB is over the {} MiB budget",
            binary.size as f64 / (1024.0 * 1024.0),
            SIZE_BUDGET / (1024 * 1024)
        ));
    } else {
        println!(
            "size: {:.1} MiB (budget {} MiB)",
            binary.size as f64 / (1024.0 * 1024.0),
            SIZE_BUDGET / (1024 * 1024)
        );
    }
    if !problems.is_empty() {
        bail!(
            "the static binary check failed:\n  {}",
            problems.join("\n  ")
        );
    }
    println!("\nThe demo resync with the static binary:");
    let demo_options = DemoOptions {
        integration: options.integration.clone(),
        binary: Some(binary.path.clone()),
        env: Vec::new(),
        keep: false,
        echo_logs: false,
        measurer: None,
    };
    match emulator {
        Some(emulator) => {
            if !emulator.is_file() {
                bail!(
                    "no emulator binary at {} (build it with `cargo build -p port-emulator`)",
                    emulator.display()
                );
            }
            demo::run_demo(ws, &demo_options, emulator, &binary.path)?;
        }
        None => {
            demo::demo(ws, &demo_options)?;
        }
    }
    println!(
        "\nstatic check passed: {} ({}, {:.1} MiB)",
        ws.display(&binary.path),
        binary.target,
        binary.size as f64 / (1024.0 * 1024.0)
    );
    Ok(binary)
}

/// How `package`'s normal dependencies for `target` reach `dependency` (`cargo tree -i`), if
/// they do.
fn dependency_path(
    ws: &Workspace,
    package: &str,
    target: &str,
    dependency: &str,
) -> Result<Option<String>> {
    let out = cargo::cargo()
        .current_dir(ws.root())
        .args([
            "tree", "-p", package, "--target", target, "-e", "normal", "-i", dependency,
        ])
        .output()
        .context("running cargo tree")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        let tree = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        return Ok((!tree.is_empty()).then_some(tree));
    }
    if stderr.contains("did not match any packages") || stderr.contains("nothing to print") {
        return Ok(None);
    }
    bail!("cargo tree -i {dependency} failed: {stderr}")
}

fn command_output(program: &str, args: &[&std::ffi::OsStr]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Some(text.trim().to_owned())
}

/// Whether `file`'s description is of a statically linked executable.
pub fn is_static_file_output(out: &str) -> bool {
    (out.contains("statically linked") || out.contains("static-pie linked"))
        && !out.contains("dynamically linked")
}

/// Whether `ldd`'s answer says there is nothing to load.
pub fn is_static_ldd_output(out: &str) -> bool {
    out.contains("not a dynamic executable") || out.contains("statically linked")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linkage_is_read_from_file_and_ldd() {
        assert!(is_static_file_output(
            "ocean-fake: ELF 64-bit LSB pie executable, x86-64, version 1 (SYSV), static-pie linked, stripped"
        ));
        assert!(is_static_file_output(
            "ocean-fake: ELF 64-bit LSB executable, x86-64, version 1 (SYSV), statically linked, stripped"
        ));
        assert!(!is_static_file_output(
            "ocean-fake: ELF 64-bit LSB pie executable, x86-64, dynamically linked, interpreter /lib64/ld-linux-x86-64.so.2"
        ));
        assert!(is_static_ldd_output("\tnot a dynamic executable"));
        assert!(is_static_ldd_output("\tstatically linked"));
        assert!(!is_static_ldd_output(
            "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6"
        ));
    }
}
