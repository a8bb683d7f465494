//! `ocean new` end to end: the built binary scaffolding integrations from the repository's own
//! `templates/integration/`.
//!
//! The fast tests expand the template into a minimal workspace (a root `Cargo.toml`, the
//! template, a stand-in crate) and read what came out. The last test is the template's real
//! check: it copies the workspace's sources into a temporary directory, scaffolds two
//! integrations there (with and without a webhook processor), and runs rustfmt, clippy
//! (`-D warnings`) and their own tests — a resync against the Port emulator — on them. It shares
//! the target directory of the `cargo test` running it, so dependencies are compiled once.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

/// The repository root (this crate is `crates/cli`).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root exists")
}

/// Runs `ocean` in `cwd` with no terminal (so it never prompts).
fn ocean(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ocean"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .env_remove("CARGO_GENERATE_TEMPLATE_VALUES_FILE")
        .output()
        .expect("the ocean binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A minimal Ocean workspace: a root manifest with `members`, the repository's template and
/// shared Docker files, and a stand-in `crates/cli` package named `ocean-cli`.
fn mini_workspace(members: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("Cargo.toml"),
        format!("[workspace]\nresolver = \"3\"\nmembers = {members}\n"),
    )
    .unwrap();
    copy_tree(&repo_root().join("templates"), &root.join("templates"));
    copy_tree(&repo_root().join("docker"), &root.join("docker"));
    std::fs::create_dir_all(root.join("crates/cli/src")).unwrap();
    std::fs::write(
        root.join("crates/cli/Cargo.toml"),
        "[package]\nname = \"ocean-cli\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    std::fs::write(root.join("crates/cli/src/main.rs"), "fn main() {}\n").unwrap();
    dir
}

/// Copies a directory tree, leaving out build output, VCS data and local databases.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if matches!(name.as_ref(), "target" | ".git")
            || name.ends_with(".db")
            || name.ends_with(".db-journal")
        {
            continue;
        }
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_tree(&entry.path(), &to.join(&*name));
        } else if kind.is_file() {
            let copied = to.join(&*name);
            std::fs::copy(entry.path(), &copied).unwrap();
            // The source's modification time too: cargo then finds the artifacts the outer
            // build left of the workspace's own crates fresh in the copy.
            let modified = entry.metadata().unwrap().modified().unwrap();
            std::fs::File::options()
                .write(true)
                .open(&copied)
                .unwrap()
                .set_modified(modified)
                .unwrap();
        }
    }
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                out.push(path.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A generated `Cargo.toml`, parsed: the package name, its features, and the names of its
/// dependencies and dev-dependencies.
fn manifest(dir: &Path) -> (String, Vec<String>, Vec<String>, Vec<String>) {
    let path = dir.join("Cargo.toml");
    let manifest: toml::Table =
        toml::from_str(&read(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let keys = |table: &str| -> Vec<String> {
        manifest
            .get(table)
            .and_then(toml::Value::as_table)
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default()
    };
    let name = manifest["package"]["name"].as_str().unwrap().to_owned();
    (
        name,
        keys("features"),
        keys("dependencies"),
        keys("dev-dependencies"),
    )
}

/// What every generated integration holds, webhook processor aside.
const COMMON_FILES: [&str; 19] = [
    ".gitignore",
    ".port/resources/blueprints.json",
    ".port/resources/port-app-config.yml",
    ".port/spec.yaml",
    ".port/tests/first-kind/expected.json",
    ".port/tests/first-kind/items.json",
    "CHANGELOG.md",
    "Cargo.toml",
    "Dockerfile",
    "Dockerfile.dockerignore",
    "Makefile",
    "README.md",
    "config.yaml",
    "src/client.rs",
    "src/config.rs",
    "src/integration.rs",
    "src/lib.rs",
    "src/main.rs",
    "tests/resync.rs",
];

/// Checks that nothing of the template language is left: no Liquid tags, and `{{` only in
/// Ocean's own `{{ from env NAME }}` providers.
fn assert_fully_rendered(dir: &Path) {
    for file in files(dir) {
        let content = read(&dir.join(&file));
        assert!(!content.contains("{%"), "{file} has a Liquid tag left");
        for (at, _) in content.match_indices("{{") {
            assert!(
                content[at..].starts_with("{{ from env "),
                "{file} has a placeholder left: {}",
                &content[at..(at + 40).min(content.len())]
            );
        }
    }
}

#[test]
fn flags_generate_a_complete_integration_in_the_workspace_around_the_current_directory() {
    let ws = mini_workspace(r#"["crates/*", "integrations/*"]"#);
    let root_manifest = read(&ws.path().join("Cargo.toml"));
    let out = ocean(
        &ws.path().join("crates/cli"),
        &[
            "new",
            "acme-tickets",
            "--no-interactive",
            "--title",
            "Acme Tickets",
            "--description",
            "Tickets and policies from Acme",
            "--kind",
            "policy",
            "--webhook",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with(
            "Created integrations/acme-tickets (package ocean-acme-tickets). Next:\n  cd integrations/acme-tickets\n"
        ),
        "{}",
        text(&out.stdout)
    );

    let dir = ws.path().join("integrations/acme-tickets");
    let mut expected: Vec<&str> = COMMON_FILES.to_vec();
    expected.push("src/webhook.rs");
    expected.sort();
    assert_eq!(files(&dir), expected);
    assert_fully_rendered(&dir);

    let (name, features, dependencies, _) = manifest(&dir);
    assert_eq!(name, "ocean-acme-tickets");
    assert_eq!(features, ["default", "kafka"]);
    // HTTP, retries and signatures come from the SDK's toolkit, not crates of its own.
    assert_eq!(
        dependencies,
        ["ocean", "mimalloc", "serde", "serde_json", "url"],
        "{dependencies:?}"
    );
    let cargo_toml = read(&dir.join("Cargo.toml"));
    assert!(cargo_toml.contains("description = \"Tickets and policies from Acme\"\n"));
    let spec = read(&dir.join(".port/spec.yaml"));
    assert!(spec.contains("title: Acme Tickets\n") && spec.contains("      - kind: policy\n"));
    assert!(spec.contains("  - name: webhookSecret\n"), "{spec}");
    let mapping = read(&dir.join(".port/resources/port-app-config.yml"));
    assert!(
        mapping.contains("blueprint: '\"acmeTicketsPolicy\"'"),
        "{mapping}"
    );
    let integration = read(&dir.join("src/integration.rs"));
    assert!(integration.contains("POLICY => self.client.list(\"policies\")"));
    assert!(integration.contains("WebhookRoute::new(\"/webhook\", processor)"));
    let main = read(&dir.join("src/main.rs"));
    assert!(
        main.contains("use ocean_acme_tickets::{AcmeTickets, AcmeTicketsConfig};"),
        "{main}"
    );
    assert!(
        main.contains("ocean::manifest!(\"acme-tickets\")"),
        "{main}"
    );

    // Its mapping test passes as generated (`ocean test`).
    let out = ocean(&dir, &["test"]);
    assert!(
        out.status.success() && text(&out.stdout).contains("ok      first-kind (kind policy"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );

    // The `integrations/*` glob already covers it: the root manifest is left alone.
    assert_eq!(read(&ws.path().join("Cargo.toml")), root_manifest);
    // What the repository's tooling expects of an integration folder and its image.
    let tooling = xtask::Workspace::at(ws.path());
    assert_eq!(
        xtask::layout::check_integration(&dir, "acme-tickets"),
        Vec::<String>::new()
    );
    assert_eq!(
        xtask::docker::image_problems(&tooling, "acme-tickets").unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn defaults_fill_what_flags_leave_out_and_a_member_outside_the_globs_is_added() {
    let ws = mini_workspace(r#"["crates/*"]"#);
    let elsewhere = tempfile::tempdir().unwrap();
    let path = ws.path().to_str().unwrap();
    let out = ocean(
        elsewhere.path(),
        &["new", "billing", "--no-interactive", "--path", path],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    let dir = ws.path().join("integrations/billing");
    assert_eq!(files(&dir), COMMON_FILES);
    assert_fully_rendered(&dir);
    let spec = read(&dir.join(".port/spec.yaml"));
    assert!(spec.starts_with("# What Port shows"), "{spec}");
    assert!(spec.contains("title: Billing\ndescription: Billing integration for Port\n"));
    assert!(spec.contains("      - kind: project\n") && !spec.contains("webhook"));
    let (name, _, dependencies, dev_dependencies) = manifest(&dir);
    assert_eq!(name, "ocean-billing");
    assert!(
        !dependencies
            .iter()
            .any(|d| ["hmac", "sha2", "hex"].contains(&d.as_str()))
    );
    assert!(!dev_dependencies.contains(&"tokio-util".to_owned()));
    for file in [
        "Cargo.toml",
        "src/lib.rs",
        "src/integration.rs",
        "src/config.rs",
        "README.md",
    ] {
        assert!(
            !read(&dir.join(file)).contains("ebhook"),
            "{file} mentions webhooks"
        );
    }
    assert!(
        read(&dir.join("src/integration.rs")).contains("PROJECT => self.client.list(\"projects\")")
    );

    let root_manifest = read(&ws.path().join("Cargo.toml"));
    assert!(
        root_manifest.contains("\"integrations/billing\""),
        "{root_manifest}"
    );
}

#[test]
fn bad_names_taken_names_and_missing_names_are_refused_without_writing_anything() {
    let ws = mini_workspace(r#"["crates/*", "integrations/*"]"#);
    std::fs::create_dir_all(ws.path().join("integrations/jira")).unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["new", "My System", "--no-interactive"],
            "error: invalid integration name \"My System\": use 2 to 40 lowercase letters, \
             digits and single hyphens, starting with a letter (try \"my-system\")\n",
        ),
        (
            &["new", "jira", "--no-interactive"],
            "error: integrations/jira already exists; choose another name or remove it first\n",
        ),
        (
            &["new", "cli", "--no-interactive"],
            "error: the package name ocean-cli is taken by crates/cli; choose another name\n",
        ),
        (
            &["new", "--no-interactive"],
            "error: NAME is required when not prompting, e.g. `ocean new my-system --no-interactive`\n",
        ),
        (
            &["new", "acme", "--kind", "Pull Request"],
            "error: invalid kind \"Pull Request\": use lowercase letters and digits, words joined \
             by - or _, starting with a letter (e.g. project, pull-request)\n",
        ),
    ];
    for (args, expected) in cases {
        let out = ocean(ws.path(), args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(text(&out.stderr), expected, "{args:?}");
    }
    assert_eq!(files(&ws.path().join("integrations")), Vec::<String>::new());

    let nowhere = tempfile::tempdir().unwrap();
    let out = ocean(nowhere.path(), &["new", "acme", "--no-interactive"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "is not inside an Ocean workspace (no templates/integration/cargo-generate.toml"
        ),
        "{stderr}"
    );
}

/// Runs `cargo` in `dir` against the shared target directory, with `envs`; panics with its
/// output on failure.
fn cargo(dir: &Path, target: &Path, args: &[&str], envs: &[(&str, &str)]) {
    let started = Instant::now();
    let out = Command::new(cargo_path())
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("cargo runs");
    eprintln!("cargo {} ({:.0?})", args.join(" "), started.elapsed());
    assert!(
        out.status.success(),
        "cargo {} failed:\n{}\n{}",
        args.join(" "),
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// The cargo running this test (`CARGO`), else the one on the `PATH`.
fn cargo_path() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// The environment that makes a build lint its primary packages as `cargo clippy -- -D warnings`
/// does: clippy's driver wraps rustc for the workspace's packages, and `--no-deps` restricts the
/// lints to the packages named with `-p`. Linting inside the test build saves compiling every
/// dependency a second time in check mode. An error says why when there is no clippy.
fn clippy_wrapper() -> Result<[(&'static str, String); 2], String> {
    let cargo = cargo_path();
    let driver = match cargo.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join("clippy-driver"),
        _ => PathBuf::from("clippy-driver"),
    };
    match Command::new(&driver).arg("--version").output() {
        Ok(out) if out.status.success() => Ok([
            ("RUSTC_WORKSPACE_WRAPPER", driver.display().to_string()),
            (
                "CLIPPY_ARGS",
                "-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__--no-deps__CLIPPY_HACKERY__".into(),
            ),
        ]),
        Ok(out) => Err(format!(
            "{} --version failed: {}",
            driver.display(),
            text(&out.stderr)
        )),
        Err(err) => Err(format!("no clippy-driver at {} ({err})", driver.display())),
    }
}

#[test]
#[cfg_attr(
    not(feature = "scaffold-tests"),
    ignore = "builds two generated integrations in a copy of the workspace (minutes): `make test` runs it with --features scaffold-tests"
)]
fn a_scaffolded_integration_builds_lints_clean_and_passes_its_own_resync_tests() {
    // The target directory of the `cargo test` running this (`<target>/tmp`'s parent): the
    // copy resolves the same dependency versions, so they are compiled once. (The workspace's own
    // crates are compiled again: their paths differ.)
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the test tmp dir is inside the target dir")
        .to_path_buf();
    let copy = tempfile::tempdir().unwrap();
    let ws = copy.path();
    copy_tree(&repo_root(), ws);
    let path = ws.to_str().unwrap();
    let started = Instant::now();

    for args in [
        &["new", "alpha-desk", "--kind", "pull-request", "--webhook"][..],
        &["new", "beta", "--title", "Beta Cloud"][..],
    ] {
        let mut args = args.to_vec();
        args.extend(["--no-interactive", "--path", path]);
        let out = ocean(ws, &args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    let packages = ["-p", "ocean-alpha-desk", "-p", "ocean-beta"];

    let fmt = [&["fmt"][..], &packages, &["--", "--check"]].concat();
    cargo(ws, &target, &fmt, &[]);

    let test = [&["test"][..], &packages].concat();
    let envs = clippy_wrapper().unwrap_or_else(|reason| {
        panic!("cannot run clippy on the generated integrations: {reason}")
    });
    let envs = envs.each_ref().map(|(k, v)| (*k, v.as_str()));
    cargo(ws, &target, &test, &envs);
    eprintln!("scaffold, fmt, clippy and tests: {:.0?}", started.elapsed());
}
