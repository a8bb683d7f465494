//! `repoManagedMapping`: the mapping kept in the organization's `.github-private` repository
//! (`port-app-config.yml` on its default branch) instead of in Port, as in the reference.
//!
//! When the integration's `config` in Port has `repoManagedMapping: true`, every read of the
//! mapping (each resync, live events' refresh) fetches that file. Anything missing — no
//! `githubOrganization`, no repository, no file, a file that is not a YAML mapping — is an error
//! naming what is missing, which fails the resync (so nothing is deleted), as the reference's
//! `EmptyPortAppConfigError` did.

use crate::client::{GithubError, Purpose};
use crate::integration::Shared;
use crate::kinds::repository::decode_content;
use serde_json::Value;

/// The repository holding the mapping.
pub const MAPPING_REPOSITORY: &str = ".github-private";
/// The mapping's file in it.
pub const MAPPING_FILE: &str = "port-app-config.yml";

/// Why the repository-managed mapping could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RepoMappingError {
    /// No organization is configured.
    #[error(
        "repoManagedMapping is on but githubOrganization is not set: the mapping is read from {{githubOrganization}}/{MAPPING_REPOSITORY}"
    )]
    NoOrganization,
    /// No credential reaches the organization.
    #[error("repoManagedMapping: no configured credential reaches the organization {0:?}")]
    NoCredential(String),
    /// The repository or the file does not exist.
    #[error("repoManagedMapping: {0} does not exist")]
    Missing(String),
    /// The file is not a YAML mapping.
    #[error("repoManagedMapping: {file} is not a YAML mapping: {reason}")]
    Invalid {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// A GitHub request failed.
    #[error("repoManagedMapping: reading the mapping from GitHub")]
    Github(#[from] GithubError),
}

/// Whether Port's `config` asks for the repository-managed mapping.
pub fn requested(port_config: &Value) -> bool {
    port_config
        .get("repoManagedMapping")
        .and_then(Value::as_bool)
        == Some(true)
}

/// The mapping read from `{org}/.github-private/port-app-config.yml`, as JSON.
pub async fn read(shared: &Shared) -> Result<Value, RepoMappingError> {
    let org = shared
        .config
        .organization()
        .ok_or(RepoMappingError::NoOrganization)?;
    let auth = shared
        .accounts
        .for_account(org, Purpose::Live)
        .await?
        .ok_or_else(|| RepoMappingError::NoCredential(org.to_owned()))?;
    let client = &auth.client;
    let repo_url = client.url(&["repos", org, MAPPING_REPOSITORY]);
    let repo = client
        .get_optional(&repo_url, &[], &[])
        .await?
        .ok_or_else(|| {
            RepoMappingError::Missing(format!("the repository {org}/{MAPPING_REPOSITORY}"))
        })?;
    let branch = repo
        .get("default_branch")
        .and_then(Value::as_str)
        .unwrap_or("main")
        .to_owned();
    let file = format!("{org}/{MAPPING_REPOSITORY}/{MAPPING_FILE} (branch {branch})");
    let url = client.url(&["repos", org, MAPPING_REPOSITORY, "contents", MAPPING_FILE]);
    let answer = client
        .get_optional(&url, &[("ref", branch)], &[])
        .await?
        .ok_or_else(|| RepoMappingError::Missing(file.clone()))?;
    let text = decode_content(&answer).ok_or_else(|| RepoMappingError::Missing(file.clone()))?;
    let mapping: Value = serde_yaml::from_str(&text).map_err(|e| RepoMappingError::Invalid {
        file: file.clone(),
        reason: e.to_string(),
    })?;
    if !mapping.is_object() {
        return Err(RepoMappingError::Invalid {
            file,
            reason: "the document is not a mapping".into(),
        });
    }
    tracing::info!(file = %file, "Using the mapping kept in GitHub (repoManagedMapping)");
    Ok(mapping)
}
