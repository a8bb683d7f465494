//! "Fetch samples": the first page of a kind from the real third-party API, through the
//! integration's own fetcher and credentials, by running `ocean-NAME --sample KIND PATH` in the
//! integration folder (where its `config.yaml` and `.env` are). That flag is read-only: the
//! integration calls its API and never Port.

use crate::PlaygroundError;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// How long a sample fetch may take before it is stopped.
pub const TIMEOUT: Duration = Duration::from_secs(90);

/// Runs `binary --sample KIND FOLDER` in `folder` and answers its output (a JSON array), or why
/// it failed (the integration's own error line, e.g. a missing credential).
pub async fn fetch(binary: &Path, folder: &Path, kind: &str) -> Result<String, PlaygroundError> {
    let failed = |message: String| PlaygroundError::Sample {
        kind: kind.to_owned(),
        message,
    };
    let child = tokio::process::Command::new(binary)
        .arg("--sample")
        .arg(kind)
        .arg(folder)
        .current_dir(folder)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| failed(format!("cannot start {}: {e}", binary.display())))?;
    let output = match tokio::time::timeout(TIMEOUT, child.wait_with_output()).await {
        Ok(output) => output.map_err(|e| failed(format!("running {}: {e}", binary.display())))?,
        Err(_) => {
            return Err(failed(format!(
                "{} did not answer within {} s",
                binary.display(),
                TIMEOUT.as_secs()
            )));
        }
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        let shown = if errors.is_empty() {
            last_lines(&stderr, 5)
        } else {
            errors.join("\n")
        };
        return Err(failed(format!(
            "{} exited with {}: {}",
            binary.display(),
            output.status,
            shown.trim()
        )));
    }
    String::from_utf8(output.stdout).map_err(|_| failed("the output is not UTF-8".to_owned()))
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, body: &str) -> std::path::PathBuf {
        let path = dir.join("ocean-acme");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[tokio::test]
    async fn runs_the_binary_in_the_folder_with_the_sample_flag() {
        let dir = tempfile::tempdir().unwrap();
        let binary = script(
            dir.path(),
            r#"printf '[{"args": "%s %s", "cwd": "%s"}]' "$1" "$2" "$(pwd)""#,
        );
        let out = fetch(&binary, dir.path(), "widget").await.unwrap();
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(value[0]["args"], "--sample widget");
        assert_eq!(
            std::path::PathBuf::from(value[0]["cwd"].as_str().unwrap())
                .canonicalize()
                .unwrap(),
            dir.path().canonicalize().unwrap()
        );
    }

    #[tokio::test]
    async fn a_failure_answers_the_integrations_error_line() {
        let dir = tempfile::tempdir().unwrap();
        let binary = script(
            dir.path(),
            "echo 'some log line' >&2; echo 'error: invalid configuration: integration.config.token: required' >&2; exit 2",
        );
        let err = fetch(&binary, dir.path(), "widget")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("integration.config.token: required"), "{err}");
        assert!(!err.contains("some log line"), "{err}");
        assert!(err.contains("widget"), "{err}");
    }
}
