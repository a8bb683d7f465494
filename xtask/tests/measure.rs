//! The measuring wrapper (`xtask __measure`) reports a child's exit code, times and peak RSS.

use std::process::Command;
use xtask::measure::read_report;

fn python() -> bool {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        println!("skipped: python3 is needed to allocate a known amount of memory");
    }
    ok
}

#[test]
fn peak_rss_and_exit_code_are_the_childs() {
    if !python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    // Touch 80 MiB, then exit with status 3.
    let status = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["__measure", "--report"])
        .arg(&report)
        .args([
            "--",
            "python3",
            "-c",
            "import sys; b = bytearray(80 * 1024 * 1024); sys.exit(3)",
        ])
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(3));
    let measurement = read_report(&report).unwrap();
    assert_eq!(measurement.code, Some(3));
    assert!(
        measurement.max_rss_mib() > 80.0 && measurement.max_rss_mib() < 200.0,
        "{measurement:?}"
    );
    assert!(measurement.wall >= measurement.user / 2, "{measurement:?}");
}

#[test]
fn a_missing_program_is_an_error_not_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["__measure", "--report"])
        .arg(&report)
        .args(["--", "/nonexistent/program"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("starting /nonexistent/program"));
    assert!(read_report(&report).is_err());
}
