//! What an integration's build may need from the framework's settings besides its own
//! configuration: the settings Python Ocean gives every integration's third-party client.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ocean_config::Settings;

/// The framework's settings for third-party calls, handed to the build function of
/// [`run_with`](crate::run_with) (and `ocean::testing`'s `start_with`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildContext {
    client_timeout: Duration,
    oauth_access_token_file: Option<PathBuf>,
}

impl Default for BuildContext {
    /// Python Ocean's defaults: a 60 s timeout, no token file.
    fn default() -> Self {
        BuildContext {
            client_timeout: Duration::from_secs(60),
            oauth_access_token_file: None,
        }
    }
}

impl BuildContext {
    /// The context of loaded settings.
    pub fn from_settings(settings: &Settings) -> Self {
        BuildContext {
            client_timeout: Duration::from_secs(settings.client_timeout),
            oauth_access_token_file: settings
                .oauth_access_token_file_path
                .as_deref()
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
        }
    }

    /// The same context with another client timeout.
    pub fn with_client_timeout(mut self, timeout: Duration) -> Self {
        self.client_timeout = timeout;
        self
    }

    /// The same context with an OAuth access-token file.
    pub fn with_oauth_access_token_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.oauth_access_token_file = Some(path.into());
        self
    }

    /// How long one third-party request may take (`OCEAN__CLIENT_TIMEOUT`, seconds; 60 by
    /// default).
    pub fn client_timeout(&self) -> Duration {
        self.client_timeout
    }

    /// The file holding an externally managed OAuth access token for the third-party API
    /// (`OCEAN__OAUTH_ACCESS_TOKEN_FILE_PATH`): when set, the token is read from it, and read
    /// again when it may have rotated, instead of coming from the integration's configuration.
    pub fn oauth_access_token_file(&self) -> Option<&Path> {
        self.oauth_access_token_file.as_deref()
    }
}
