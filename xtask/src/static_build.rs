//! Static binaries: `cargo xtask static NAME --arch …` (`make static`) builds an integration as
//! one self-contained musl executable per CPU architecture; `cargo xtask static-check NAME` (run
//! by `make test`) also proves each one: statically linked for the right machine (`file`), no
//! OpenSSL in its dependency graph, under the size budget, printing its versions, and able to run
//! the demo resync into the emulator — natively, or under `qemu-aarch64` on another host.
//!
//! No system musl toolchain is needed: `cargo-zigbuild` makes Zig the C compiler (ring, mimalloc,
//! and librdkafka with the `kafka` feature compile C) and the linker for every target, and Rust's
//! musl standard libraries come from rustup; [`crate::tools`] installs all of it on first use.
//! Several architectures build in one cargo run, so their (single-threaded) fat-LTO steps overlap.
//!
//! Each binary is also copied to `target/static/<docker arch>/ocean-NAME` (`amd64`, `arm64`),
//! where the integration Dockerfiles take it by `TARGETARCH`.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::cargo::{self, Build};
use crate::demo::{self, DemoOptions};
use crate::docker;
use crate::tools;
use crate::workspace::Workspace;

/// The size budget of a stripped integration binary without the `kafka` feature.
pub const SIZE_BUDGET: u64 = 15 * 1024 * 1024;

/// A CPU architecture the static binaries are built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Arch {
    /// x86-64 (amd64).
    X86_64,
    /// 64-bit ARM (arm64: Graviton, Ampere, Apple silicon).
    Aarch64,
}

impl Arch {
    /// Every architecture, in build order.
    pub const ALL: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

    /// The name used on the command line and in release file names (`x86_64`).
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// The Rust target triple (musl, static).
    pub fn triple(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-linux-musl",
            Arch::Aarch64 => "aarch64-unknown-linux-musl",
        }
    }

    /// Docker's name for it (`TARGETARCH`).
    pub fn docker(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Aarch64 => "arm64",
        }
    }

    /// Zig's name of the target (`aarch64-linux-musl`).
    pub fn zig_target(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-linux-musl",
            Arch::Aarch64 => "aarch64-linux-musl",
        }
    }

    /// How `file` names the machine of an ELF executable for it.
    pub fn file_machine(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86-64",
            Arch::Aarch64 => "ARM aarch64",
        }
    }

    /// The architecture this xtask runs on, if it is one of ours.
    pub fn host() -> Option<Arch> {
        Arch::parse_one(std::env::consts::ARCH)
    }

    fn parse_one(name: &str) -> Option<Arch> {
        match name.trim().to_ascii_lowercase().as_str() {
            "x86_64" | "amd64" | "x86-64" => Some(Arch::X86_64),
            "aarch64" | "arm64" => Some(Arch::Aarch64),
            _ => None,
        }
    }

    /// `x86_64`, `aarch64` (or Docker's `amd64`, `arm64`), `all`, or empty for the host's.
    pub fn parse_list(text: &str) -> Result<Vec<Arch>> {
        let text = text.trim();
        if text.is_empty() || text == "host" {
            return Arch::host().map(|a| vec![a]).with_context(|| {
                format!(
                    "this host's architecture ({}) has no static build; choose ARCH=x86_64, \
                     aarch64 or all",
                    std::env::consts::ARCH
                )
            });
        }
        if text == "all" {
            return Ok(Arch::ALL.to_vec());
        }
        let mut arches = Vec::new();
        for part in text.split(',') {
            let arch = Arch::parse_one(part).with_context(|| {
                format!("unknown architecture `{part}` (expected x86_64, aarch64 or all)")
            })?;
            if !arches.contains(&arch) {
                arches.push(arch);
            }
        }
        arches.sort();
        Ok(arches)
    }
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What to build.
#[derive(Debug, Clone)]
pub struct StaticOptions {
    /// The integration (folder name under `integrations/`).
    pub integration: String,
    /// The cargo profile (`dist`: what ships — fat LTO, one codegen unit, stripped).
    pub profile: String,
    /// The architectures, built in one cargo run.
    pub arches: Vec<Arch>,
    /// Cargo features on top of the integration's defaults (`kafka` for the KAFKA listener).
    pub features: Vec<String>,
}

impl StaticOptions {
    /// The shipped build (`dist`, no extra features) of `integration` for `arches`.
    pub fn dist(integration: &str, arches: &[Arch]) -> StaticOptions {
        StaticOptions {
            integration: integration.to_owned(),
            profile: "dist".to_owned(),
            arches: arches.to_vec(),
            features: Vec::new(),
        }
    }
}

/// A built static binary.
#[derive(Debug, Clone)]
pub struct StaticBinary {
    /// Its architecture.
    pub arch: Arch,
    /// Where it is: `target/static/<docker arch>/ocean-NAME`.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// How long the build of all requested architectures took.
    pub elapsed: Duration,
}

/// `target/static/<docker arch>` under the workspace root, whatever `CARGO_TARGET_DIR` says:
/// where the integration Dockerfiles take the binaries from (the build context is the root).
pub fn static_dir(ws: &Workspace, arch: Arch) -> PathBuf {
    ws.root().join("target").join("static").join(arch.docker())
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Builds the integration statically for each architecture and prints where and how big.
pub fn build_static(ws: &Workspace, options: &StaticOptions) -> Result<Vec<StaticBinary>> {
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
    if options.arches.is_empty() {
        bail!("no architecture to build for");
    }
    let triples: Vec<&str> = options.arches.iter().map(|a| a.triple()).collect();
    tools::rust_targets(&triples)?;
    let zigbuild = tools::zigbuild(ws)?;
    let with = if options.features.is_empty() {
        String::new()
    } else {
        format!(" and the features {}", options.features.join(","))
    };
    println!(
        "Building {package} for {} with the `{}` profile{with} (cargo-zigbuild, Zig {})…",
        triples.join(" and "),
        options.profile,
        tools::ZIG_VERSION
    );
    let kafka = options.features.iter().any(|f| f == "kafka");
    // librdkafka's ./configure reads the plain CC and AR, which cannot differ per target in one
    // cargo run: with `kafka`, one run per architecture with them set to Zig for it (and the
    // host's compiler kept for build scripts). Otherwise all architectures in one run, so that
    // their single-threaded fat-LTO steps overlap.
    let runs: Vec<Vec<Arch>> = if kafka {
        options.arches.iter().map(|a| vec![*a]).collect()
    } else {
        vec![options.arches.clone()]
    };
    let mut built = cargo::Built {
        executables: Vec::new(),
        elapsed: Duration::ZERO,
    };
    for arches in runs {
        let mut env = Vec::new();
        if kafka {
            let (cc, cxx, ar) = tools::zig_cc_ar(ws, &zigbuild.zig, arches[0].zig_target())?;
            env.extend([
                ("CC".to_owned(), cc.display().to_string()),
                ("CXX".to_owned(), cxx.display().to_string()),
                ("AR".to_owned(), ar.display().to_string()),
                ("HOST_CC".to_owned(), "cc".to_owned()),
                ("HOST_AR".to_owned(), "ar".to_owned()),
                ("HOST_CXX".to_owned(), "c++".to_owned()),
                // `make libs` also links librdkafka.so, whose version script names a symbol
                // that only exists in debug builds; Zig's lld refuses that by default.
                ("LDFLAGS".to_owned(), "-Wl,--undefined-version".to_owned()),
            ]);
        }
        let build = Build {
            packages: vec![package.clone()],
            profile: options.profile.clone(),
            targets: arches.iter().map(|a| a.triple().to_owned()).collect(),
            env,
            features: options.features.clone(),
            zigbuild: Some(zigbuild.clone()),
        };
        let run = cargo::build(ws, &build)?;
        built.executables.extend(run.executables);
        built.elapsed += run.elapsed;
    }
    let mut binaries = Vec::new();
    for &arch in &options.arches {
        let built_path = built.executable_for(&package, arch.triple())?;
        let dir = static_dir(ws, arch);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(&package);
        // Replace rather than overwrite: a running copy (a demo, an emulator) keeps its inode.
        let _ = std::fs::remove_file(&path);
        std::fs::copy(&built_path, &path)
            .with_context(|| format!("copying {} to {}", built_path.display(), path.display()))?;
        let size = std::fs::metadata(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .len();
        println!("{arch}: {} ({:.1} MiB)", ws.display(&path), mib(size));
        binaries.push(StaticBinary {
            arch,
            path,
            size,
            elapsed: built.elapsed,
        });
    }
    println!("built in {:.0} s", built.elapsed.as_secs_f64());
    Ok(binaries)
}

/// The program that runs a binary of `arch` here: none on its own host, else `qemu-<arch>`
/// (installed when missing).
pub fn runner_for(arch: Arch) -> Result<Option<PathBuf>> {
    if Arch::host() == Some(arch) {
        Ok(None)
    } else {
        tools::qemu(arch.name()).map(Some)
    }
}

/// Builds, then checks each architecture's binary — linkage and machine, dependencies, size,
/// `--version` — and runs the demo resync with it (under qemu when it is not this host's).
///
/// The demo resync runs against `emulator` when given (`make test` passes the one its `cargo
/// test` built), else against a release build of the emulator.
pub fn static_check(
    ws: &Workspace,
    options: &StaticOptions,
    emulator: Option<&Path>,
) -> Result<Vec<StaticBinary>> {
    if let Some(emulator) = emulator {
        if !emulator.is_file() {
            bail!(
                "no emulator binary at {} (build it with `cargo build -p port-emulator`)",
                emulator.display()
            );
        }
    }
    let binaries = build_static(ws, options)?;
    let package = Workspace::package(&options.integration);
    let version = docker::version(ws, &options.integration)?;
    let sdk_version = workspace_version(ws)?;
    for binary in &binaries {
        let arch = binary.arch;
        println!("\n{arch}: checking {}", ws.display(&binary.path));
        let mut problems = Vec::new();
        match command_output("file", &[binary.path.as_os_str()]) {
            Some(out) => match file_problem(&out, arch) {
                None => println!("file: statically linked, {}", arch.file_machine()),
                Some(problem) => problems.push(problem),
            },
            None => problems.push("no `file` command to check the linkage with".to_owned()),
        }
        if let Some(out) = command_output("ldd", &[binary.path.as_os_str()]) {
            if is_static_ldd_output(&out) {
                println!("ldd: no dynamic dependencies");
            } else {
                problems.push(format!("`ldd` lists dynamic dependencies: {out}"));
            }
        }
        let mut tls_clean = true;
        for forbidden in ["openssl-sys", "native-tls"] {
            if options.features.iter().any(|f| f == "kafka") && forbidden == "openssl-sys" {
                // librdkafka brings its own OpenSSL; the HTTP client stays rustls-only.
                continue;
            }
            if let Some(path) = dependency_path(ws, &package, arch.triple(), forbidden)? {
                tls_clean = false;
                problems.push(format!(
                    "{package} depends on {forbidden} (TLS must be rustls only):\n{path}"
                ));
            }
        }
        if tls_clean {
            println!("dependencies: no openssl-sys, no native-tls");
        }
        if options.features.is_empty() {
            if binary.size > SIZE_BUDGET {
                problems.push(format!(
                    "{:.1} MiB is over the {} MiB budget",
                    mib(binary.size),
                    SIZE_BUDGET / (1024 * 1024)
                ));
            } else {
                println!(
                    "size: {:.1} MiB (budget {} MiB)",
                    mib(binary.size),
                    SIZE_BUDGET / (1024 * 1024)
                );
            }
        } else {
            println!(
                "size: {:.1} MiB (with features: no budget)",
                mib(binary.size)
            );
        }
        let runner = runner_for(arch)?;
        if let Some(runner) = &runner {
            println!("runs under {}", runner.display());
        }
        let printed = version_output(&binary.path, runner.as_deref())?;
        match version_problem(&printed, &package, &version, &sdk_version) {
            None => println!("--version: {printed}"),
            Some(problem) => problems.push(problem),
        }
        if !problems.is_empty() {
            bail!(
                "the static binary check of {} failed:\n  {}",
                ws.display(&binary.path),
                problems.join("\n  ")
            );
        }
        println!("\nThe demo resync with the {arch} binary:");
        let demo_options = DemoOptions {
            integration: options.integration.clone(),
            binary: Some(binary.path.clone()),
            runner,
            env: Vec::new(),
            keep: false,
            echo_logs: false,
            measurer: None,
        };
        match emulator {
            Some(emulator) => {
                demo::run_demo(ws, &demo_options, emulator, &binary.path)?;
            }
            None => {
                demo::demo(ws, &demo_options)?;
            }
        }
    }
    println!();
    for binary in &binaries {
        println!(
            "static check passed: {} ({}, {:.1} MiB)",
            ws.display(&binary.path),
            binary.arch.triple(),
            mib(binary.size)
        );
    }
    Ok(binaries)
}

/// `binary --version` (through `runner` when given), its first line.
fn version_output(binary: &Path, runner: Option<&Path>) -> Result<String> {
    let mut cmd = match runner {
        Some(runner) => {
            let mut cmd = Command::new(runner);
            cmd.arg(binary);
            cmd
        }
        None => Command::new(binary),
    };
    let out = cmd
        .arg("--version")
        .output()
        .with_context(|| format!("running {} --version", binary.display()))?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() {
        bail!(
            "{} --version failed ({}): {}{}",
            binary.display(),
            out.status,
            text,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(text.lines().next().unwrap_or("").to_owned())
}

/// What is wrong with a `--version` line, if anything: it names the binary, the integration's
/// version, the SDK's version and a commit.
pub fn version_problem(
    printed: &str,
    package: &str,
    version: &str,
    sdk_version: &str,
) -> Option<String> {
    let expected_start = format!("{package} {version} (ocean SDK {sdk_version}, commit ");
    match printed.strip_prefix(&expected_start) {
        Some(rest) if rest.len() > 1 && rest.ends_with(')') => None,
        _ => Some(format!(
            "--version printed `{printed}`, expected `{expected_start}<commit>)`"
        )),
    }
}

/// The workspace's version (`[workspace.package]`): the SDK's.
pub fn workspace_version(ws: &Workspace) -> Result<String> {
    let path = ws.root().join("Cargo.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut in_package = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[workspace.package]";
        } else if in_package {
            if let Some(value) = line
                .strip_prefix("version")
                .and_then(|v| v.trim().strip_prefix('='))
            {
                return Ok(value.trim().trim_matches('"').to_owned());
            }
        }
    }
    bail!("{} has no [workspace.package] version", path.display())
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

/// What is wrong with `file`'s description of a binary for `arch`, if anything: it must be a
/// statically linked ELF executable for that machine.
pub fn file_problem(out: &str, arch: Arch) -> Option<String> {
    if !is_static_file_output(out) {
        return Some(format!("`file` does not call it statically linked: {out}"));
    }
    if !out.contains(&format!(", {},", arch.file_machine())) {
        return Some(format!(
            "`file` does not call it an {} executable: {out}",
            arch.file_machine()
        ));
    }
    None
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

    #[test]
    fn the_machine_must_match_the_architecture() {
        let arm = "ocean-fake: ELF 64-bit LSB executable, ARM aarch64, version 1 (SYSV), statically linked, stripped";
        let x86 = "ocean-fake: ELF 64-bit LSB pie executable, x86-64, version 1 (SYSV), static-pie linked, stripped";
        assert_eq!(file_problem(arm, Arch::Aarch64), None);
        assert_eq!(file_problem(x86, Arch::X86_64), None);
        assert!(file_problem(arm, Arch::X86_64).unwrap().contains("x86-64"));
        assert!(
            file_problem(x86, Arch::Aarch64)
                .unwrap()
                .contains("ARM aarch64")
        );
        assert!(
            file_problem(
                "x: ELF 64-bit LSB executable, ARM aarch64, dynamically linked, interpreter /lib/ld-musl-aarch64.so.1",
                Arch::Aarch64
            )
            .unwrap()
            .contains("statically")
        );
    }

    #[test]
    fn architectures_parse_from_make_arguments() {
        assert_eq!(Arch::parse_list("all").unwrap(), Arch::ALL);
        assert_eq!(Arch::parse_list("aarch64").unwrap(), [Arch::Aarch64]);
        assert_eq!(
            Arch::parse_list("arm64,amd64,x86_64").unwrap(),
            [Arch::X86_64, Arch::Aarch64]
        );
        assert_eq!(Arch::parse_list("").unwrap(), [Arch::host().unwrap()]);
        let err = Arch::parse_list("riscv64").unwrap_err().to_string();
        assert!(
            err.contains("riscv64") && err.contains("x86_64, aarch64 or all"),
            "{err}"
        );
        assert_eq!(Arch::Aarch64.docker(), "arm64");
        assert_eq!(Arch::X86_64.triple(), "x86_64-unknown-linux-musl");
    }

    #[test]
    fn version_lines_name_integration_sdk_and_commit() {
        assert_eq!(
            version_problem(
                "ocean-fake 0.2.0 (ocean SDK 0.1.0, commit 0123456789ab)",
                "ocean-fake",
                "0.2.0",
                "0.1.0"
            ),
            None
        );
        for wrong in [
            "ocean 0.1.0",
            "ocean-fake 0.1.0 (ocean SDK 0.1.0, commit 0123456789ab)",
            "ocean-fake 0.2.0 (ocean SDK 0.1.0, commit )",
        ] {
            assert!(
                version_problem(wrong, "ocean-fake", "0.2.0", "0.1.0").is_some(),
                "{wrong}"
            );
        }
    }

    #[test]
    fn the_sdk_version_is_the_workspace_version() {
        let ws = Workspace::locate();
        let version = workspace_version(&ws).unwrap();
        assert!(version.split('.').count() == 3, "{version}");
    }
}
