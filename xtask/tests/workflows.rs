//! The GitHub workflows run the Makefile's targets, not copies of their steps: every `run:`
//! line of every workflow is a `make` call of a target the Makefile defines, and the release
//! workflow builds its files, images and checks through them. (`make lint` runs actionlint on
//! the same files.)

use xtask::Workspace;
use xtask::workflows;

#[test]
fn every_workflow_calls_existing_makefile_targets() {
    let ws = Workspace::locate();
    let files = workflows::workflow_files(&ws).unwrap();
    assert!(files.len() >= 2, "{files:?}");
    let problems = workflows::problems(&ws).unwrap();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn ci_and_release_run_lint_test_and_release() {
    let ws = Workspace::locate();
    let read = |name: &str| {
        std::fs::read_to_string(ws.root().join(".github/workflows").join(name)).unwrap()
    };
    let ci = read("ci.yml");
    for call in ["run: make lint", "run: make test", "pull_request"] {
        assert!(ci.contains(call), "ci.yml lacks {call}");
    }
    let release = read("release.yml");
    for call in [
        "run: make lint",
        "run: make test",
        "run: make release TAG=",
        "run: make release-images TAG=",
        "SHA256SUMS",
    ] {
        assert!(release.contains(call), "release.yml lacks {call}");
    }
}
