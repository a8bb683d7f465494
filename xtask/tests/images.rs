//! What each integration's container image would contain, read from the Dockerfiles (there is
//! no Docker engine to build them here): the shared distroless-static runtime with CA
//! certificates and a non-root user, the integration's prebuilt static musl binary for the
//! image's `TARGETARCH` as the entrypoint, its `.port/` folder in the working directory, nothing
//! compiled inside, and a build context that holds nothing else. (`make lint` runs hadolint on
//! the same files.)

use xtask::Workspace;
use xtask::docker::{self, BASE_IMAGES, Dockerfile, Images};

#[test]
fn every_integration_image_is_prebuilt_static_distroless_and_non_root() {
    let ws = Workspace::locate();
    let mut checked = 0;
    let mut problems = Vec::new();
    for name in ws.integrations().unwrap() {
        // A folder without a Dockerfile fails the layout test (tests/integrations.rs).
        if ws.integration_dir(&name).join("Dockerfile").is_file() {
            problems.extend(docker::image_problems(&ws, &name).unwrap());
            checked += 1;
        }
    }
    assert!(checked >= 1, "no integration has a Dockerfile");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_recipe_that_compiles_or_copies_more_is_refused() {
    let ws = Workspace::locate();
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    // A copy of the shared runtime and of the fake integration's recipe, then broken.
    std::fs::create_dir_all(root.join("docker")).unwrap();
    std::fs::copy(
        ws.root().join("docker/runtime.Dockerfile"),
        root.join("docker/runtime.Dockerfile"),
    )
    .unwrap();
    let dir = root.join("integrations/acme");
    std::fs::create_dir_all(&dir).unwrap();
    let good = std::fs::read_to_string(ws.integration_dir("fake").join("Dockerfile"))
        .unwrap()
        .replace("fake", "acme");
    let ignore =
        std::fs::read_to_string(ws.integration_dir("fake").join("Dockerfile.dockerignore"))
            .unwrap()
            .replace("fake", "acme");
    std::fs::write(dir.join("Dockerfile.dockerignore"), &ignore).unwrap();
    let tmp = Workspace::at(root);
    std::fs::write(dir.join("Dockerfile"), &good).unwrap();
    assert_eq!(
        docker::image_problems(&tmp, "acme").unwrap(),
        Vec::<String>::new()
    );

    let compiling = good.replace(
        "ARG TARGETARCH\n",
        "ARG TARGETARCH\nCOPY . /src\nRUN cargo build\n",
    );
    std::fs::write(dir.join("Dockerfile"), compiling).unwrap();
    let problems = docker::image_problems(&tmp, "acme").unwrap().join("\n");
    assert!(problems.contains("runs commands"), "{problems}");
    assert!(problems.contains("from the context"), "{problems}");

    let one_arch = good
        .replace("${TARGETARCH}", "amd64")
        .replace("ARG TARGETARCH\n", "");
    std::fs::write(dir.join("Dockerfile"), one_arch).unwrap();
    let problems = docker::image_problems(&tmp, "acme").unwrap().join("\n");
    assert!(
        problems.contains("not target/static/${TARGETARCH}/ocean-acme"),
        "{problems}"
    );

    std::fs::write(dir.join("Dockerfile"), &good).unwrap();
    std::fs::write(dir.join("Dockerfile.dockerignore"), "target\n.git\n").unwrap();
    let problems = docker::image_problems(&tmp, "acme").unwrap().join("\n");
    assert!(
        problems.contains("Dockerfile.dockerignore holds"),
        "{problems}"
    );
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
        Dockerfile::read(&images.base_dockerfile(docker::RUNTIME_LOCAL).unwrap()).unwrap();
    let model = images.model(&runtime, None).unwrap();
    assert_eq!(model.user.as_deref(), Some("65532:65532"));
    assert!(
        model.root_base().starts_with("gcr.io/distroless/static"),
        "{}",
        model.root_base()
    );
    assert!(
        model.files.is_empty() && model.runs.is_empty(),
        "distroless has no shell: {model:?}"
    );
}
