//! How a [`PortClient`](crate::PortClient) is set up: where Port is, who is calling (the
//! credentials and the integration identity that forms the User-Agent), and the knobs of the
//! HTTP layer (timeouts, retries, pool, concurrency, batch limits, caches).
//!
//! This module only describes; it does not read environment variables or files. The config crate
//! turns Ocean's settings into a [`PortClientConfig`]; tests and the emulator build one by hand
//! with [`PortClientConfig::new`].

use std::fmt;
use std::time::Duration;

use ocean_model::Secret;
use url::Url;

use crate::error::PortError;
use crate::retry::{RetryPolicy, port_retry_policy};

/// Port's public API host, used when no base URL is configured (`docs/port-api.md` §1.1).
pub const DEFAULT_BASE_URL: &str = "https://api.getport.io";

/// The Ocean core version sent as `oceanCoreVersion` when reading the integration.
///
/// Ocean speaks the protocol of Python Ocean 0.56.2, so that is what it announces: Port may gate
/// behaviour on this value, and an unknown "0.1.0" would look like an ancient framework.
pub const DEFAULT_OCEAN_CORE_VERSION: &str = "0.56.2";

/// Port's hard limit of entities in one bulk upsert request (`docs/port-api.md` §4.3.2).
pub const DEFAULT_BULK_MAX_ENTITIES: usize = 20;

/// Port's limit on a bulk upsert body, in bytes (`docs/port-api.md` §4.3.2).
pub const DEFAULT_BULK_MAX_BYTES: usize = 1_048_576;

/// The largest number of identifiers Ocean sends in one bulk delete (`docs/port-api.md` §4.3.4).
pub const MAX_DELETE_BATCH: usize = 100;

/// The "feature" suffix of the User-Agent: who inside the integration is writing.
///
/// Port records the full User-Agent of an entity's writer as its `$datasource`, and stale-entity
/// detection lists entities by that datasource, so the suffix decides ownership.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UserAgentFeature {
    /// Entities and blueprints written by the resync and live events (`/exporter`).
    Exporter,
    /// Entities written by a GitOps flow (`/gitops`).
    Gitops,
}

impl UserAgentFeature {
    /// The suffix as it appears in the User-Agent and in datasource searches.
    pub fn as_str(self) -> &'static str {
        match self {
            UserAgentFeature::Exporter => "exporter",
            UserAgentFeature::Gitops => "gitops",
        }
    }
}

impl fmt::Display for UserAgentFeature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which integration is talking to Port: its type, its own version and its identifier.
///
/// These three form the User-Agent `port-ocean/{type}/{version}/{identifier}[/{feature}]`
/// (`docs/port-api.md` §1.2), which Port stores as the datasource of every entity the integration
/// writes. The order (version before identifier) is the one Python Ocean 0.56.2 sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntegrationIdentity {
    /// The integration type, lower-cased (`jira`, `github`, ...).
    pub integration_type: String,
    /// The integration's own version (not Ocean's); may be empty.
    pub version: String,
    /// The integration identifier (its installation id in Port).
    pub identifier: String,
}

impl IntegrationIdentity {
    /// Builds an identity; the type is lower-cased as Ocean's settings do.
    pub fn new(
        integration_type: impl Into<String>,
        version: impl Into<String>,
        identifier: impl Into<String>,
    ) -> Self {
        IntegrationIdentity {
            integration_type: integration_type.into().to_lowercase(),
            version: version.into(),
            identifier: identifier.into(),
        }
    }

    /// The User-Agent for a call, with the feature suffix when one is given.
    ///
    /// `port-ocean/jira/0.3.1/my-jira` or `port-ocean/jira/0.3.1/my-jira/exporter`.
    pub fn user_agent(&self, feature: Option<UserAgentFeature>) -> String {
        let mut ua = format!(
            "port-ocean/{}/{}/{}",
            self.integration_type, self.version, self.identifier
        );
        if let Some(feature) = feature {
            ua.push('/');
            ua.push_str(feature.as_str());
        }
        ua
    }

    /// The datasource prefix shared by every writer of this integration type: `port-ocean/{type}/`.
    pub fn datasource_prefix(&self) -> String {
        format!("port-ocean/{}/", self.integration_type)
    }

    /// The datasource suffix of this installation's writer: `/{identifier}/{feature}`.
    pub fn datasource_suffix(&self, feature: UserAgentFeature) -> String {
        format!("/{}/{}", self.identifier, feature.as_str())
    }
}

/// Everything a [`PortClient`](crate::PortClient) needs. Build it with [`PortClientConfig::new`]
/// and adjust the public fields; every default is the value Python Ocean 0.56.2 uses.
#[derive(Clone)]
pub struct PortClientConfig {
    /// Port's base URL (`https://api.getport.io`); a trailing `/` or `/v1` is ignored and `/v1`
    /// appended, so `https://api.getport.io/v1` means the same Port.
    pub base_url: String,
    /// The Port client id. Treated as a credential: never printed.
    pub client_id: Secret,
    /// The Port client secret.
    pub client_secret: Secret,
    /// The calling integration, which forms the User-Agent.
    pub identity: IntegrationIdentity,
    /// The value of `oceanCoreVersion` on integration reads.
    pub ocean_core_version: String,
    /// Whole-request timeout of one attempt (60 s).
    pub timeout: Duration,
    /// Connection-establishment timeout (60 s).
    pub connect_timeout: Duration,
    /// When and how failed requests are retried (`docs/port-api.md` §2; [`port_retry_policy`]).
    pub retry: RetryPolicy,
    /// Requests in flight at once, across the whole client (100, like Python's pool size).
    pub max_connections: usize,
    /// Idle keep-alive connections kept per host (50).
    pub max_idle_connections: usize,
    /// Single upserts, single deletes and bulk-delete batches in flight at once (50).
    pub entity_write_concurrency: usize,
    /// Bulk-upsert chunks of one call in flight at once. Python sends all chunks at once; Ocean
    /// bounds them (default 16) so one huge page cannot monopolise the connection pool.
    pub bulk_upsert_concurrency: usize,
    /// Limits of one bulk upsert request (20 entities, 1 MiB).
    pub bulk_limits: BulkLimits,
    /// Identifiers per bulk delete request; values above 100 are capped at 100.
    pub delete_batch_size: usize,
    /// How long a fetched blueprint is reused (120 s).
    pub blueprint_cache_ttl: Duration,
    /// How long the organization (feature flags, blocked state) is reused (300 s).
    pub organization_cache_ttl: Duration,
    /// How long before the token's announced expiry it is renewed. The effective margin is at
    /// most a tenth of the token's lifetime, so short-lived tokens are still used. (60 s; Python
    /// Ocean has no margin and relies on the 401 refresh alone.)
    pub token_refresh_margin: Duration,
    /// Verify Port's TLS certificate (`ssl.port.verify`, default true).
    pub verify_tls: bool,
    /// The first wait when Port answers 400 `integration_is_in_progress` to a patch carrying a
    /// `spec` (2 s, then ×1.5, 8 attempts in all; `docs/port-api.md` §2.4).
    pub spec_patch_delay: Duration,
}

impl PortClientConfig {
    /// A configuration with Python Ocean's defaults for everything but the four essentials.
    pub fn new(
        base_url: impl Into<String>,
        client_id: impl Into<Secret>,
        client_secret: impl Into<Secret>,
        identity: IntegrationIdentity,
    ) -> Self {
        PortClientConfig {
            base_url: base_url.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            identity,
            ocean_core_version: DEFAULT_OCEAN_CORE_VERSION.to_owned(),
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(60),
            retry: port_retry_policy(),
            max_connections: 100,
            max_idle_connections: 50,
            entity_write_concurrency: 50,
            bulk_upsert_concurrency: 16,
            bulk_limits: BulkLimits::default(),
            delete_batch_size: MAX_DELETE_BATCH,
            blueprint_cache_ttl: Duration::from_secs(120),
            organization_cache_ttl: Duration::from_secs(300),
            token_refresh_margin: Duration::from_secs(60),
            verify_tls: true,
            spec_patch_delay: Duration::from_secs(2),
        }
    }

    /// The API root: the base URL without trailing slashes or `/v1`, plus `/v1`.
    pub fn api_url(&self) -> Result<Url, PortError> {
        api_url(&self.base_url)
    }
}

impl fmt::Debug for PortClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortClientConfig")
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("identity", &self.identity)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("max_connections", &self.max_connections)
            .field("bulk_limits", &self.bulk_limits)
            .finish_non_exhaustive()
    }
}

/// The two limits of one bulk upsert request (`upsert_entities_batch_max_length` and
/// `upsert_entities_batch_max_size_in_bytes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BulkLimits {
    /// Most entities in one request (20).
    pub max_entities: usize,
    /// Most bytes in one request body (1 048 576): Python's estimate sets the chunk size, and a
    /// chunk closes early rather than exceed it (a single larger entity goes alone).
    pub max_bytes: usize,
}

impl Default for BulkLimits {
    fn default() -> Self {
        BulkLimits {
            max_entities: DEFAULT_BULK_MAX_ENTITIES,
            max_bytes: DEFAULT_BULK_MAX_BYTES,
        }
    }
}

/// Turns a configured base URL into the API root (`{base}/v1`).
///
/// This is the one place where a base URL is normalised: trailing slashes are dropped, and so is
/// a last path segment `v1` (any case), because Python Ocean's README shows
/// `baseUrl: https://api.getport.io/v1` while the client appends `/v1` itself. Without this,
/// every call would go to `/v1/v1/…` and fail with 404.
pub(crate) fn api_url(base_url: &str) -> Result<Url, PortError> {
    let trimmed = base_url.trim().trim_end_matches('/');
    let mut url = Url::parse(trimmed)
        .map_err(|e| PortError::Config(format!("base URL {trimmed:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(PortError::Config(format!(
            "base URL {trimmed:?} must be an http(s) URL"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(PortError::Config(format!(
            "base URL {trimmed:?} must not have a query or fragment"
        )));
    }
    let ends_in_v1 = url
        .path_segments()
        .and_then(|mut segments| segments.next_back())
        .is_some_and(|last| last.eq_ignore_ascii_case("v1"));
    let mut path = url
        .path_segments_mut()
        .map_err(|()| PortError::Config(format!("base URL {trimmed:?} cannot take a path")))?;
    path.pop_if_empty();
    if ends_in_v1 {
        path.pop();
    }
    path.push("v1");
    drop(path);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_ua(feature: Option<UserAgentFeature>, expected: &str) {
        let id = IntegrationIdentity::new("Jira", "0.3.1", "my-jira-integration");
        assert_eq!(id.user_agent(feature), expected);
    }

    #[test]
    fn user_agent_is_type_version_identifier_feature() {
        check_ua(None, "port-ocean/jira/0.3.1/my-jira-integration");
        check_ua(
            Some(UserAgentFeature::Exporter),
            "port-ocean/jira/0.3.1/my-jira-integration/exporter",
        );
        check_ua(
            Some(UserAgentFeature::Gitops),
            "port-ocean/jira/0.3.1/my-jira-integration/gitops",
        );
    }

    #[test]
    fn empty_version_keeps_its_slot() {
        let id = IntegrationIdentity::new("bench-peer", "", "bench-peer");
        assert_eq!(id.user_agent(None), "port-ocean/bench-peer//bench-peer");
    }

    #[test]
    fn datasource_rules_match_the_user_agent() {
        let id = IntegrationIdentity::new("bench-peer", "0.1.0", "bench-peer");
        let ua = id.user_agent(Some(UserAgentFeature::Exporter));
        assert_eq!(ua, "port-ocean/bench-peer/0.1.0/bench-peer/exporter");
        assert!(ua.starts_with(&id.datasource_prefix()));
        assert!(ua.ends_with(&id.datasource_suffix(UserAgentFeature::Exporter)));
        assert_eq!(id.datasource_prefix(), "port-ocean/bench-peer/");
        assert_eq!(
            id.datasource_suffix(UserAgentFeature::Exporter),
            "/bench-peer/exporter"
        );
    }

    fn check_api(base: &str, expected: &str) {
        assert_eq!(api_url(base).unwrap().as_str(), expected, "base {base}");
    }

    #[test]
    fn api_url_strips_slashes_and_appends_v1() {
        check_api("https://api.getport.io", "https://api.getport.io/v1");
        check_api("https://api.getport.io/", "https://api.getport.io/v1");
        check_api("https://api.getport.io//", "https://api.getport.io/v1");
        check_api("http://127.0.0.1:5555", "http://127.0.0.1:5555/v1");
        check_api("http://proxy.local/port/", "http://proxy.local/port/v1");
    }

    #[test]
    fn a_base_url_ending_in_v1_means_the_same_port() {
        check_api("https://api.getport.io/v1", "https://api.getport.io/v1");
        check_api("https://api.getport.io/v1/", "https://api.getport.io/v1");
        check_api("https://api.getport.io/V1//", "https://api.getport.io/v1");
        check_api("http://127.0.0.1:5555/v1", "http://127.0.0.1:5555/v1");
        check_api("http://proxy.local/port/v1/", "http://proxy.local/port/v1");
        // Only a whole last segment: `/v10` and `/v1x` are paths of their own.
        check_api("http://proxy.local/v10", "http://proxy.local/v10/v1");
        check_api("http://proxy.local/api-v1", "http://proxy.local/api-v1/v1");
    }

    #[test]
    fn api_url_rejects_non_urls() {
        for bad in ["api.getport.io", "ftp://x", "", "https://x/?a=b"] {
            let err = api_url(bad).unwrap_err();
            assert!(matches!(err, PortError::Config(_)), "{bad}: {err}");
        }
    }

    #[test]
    fn config_debug_hides_credentials() {
        let cfg = PortClientConfig::new(
            "https://api.getport.io",
            "id-123",
            "secret-456",
            IntegrationIdentity::new("x", "1", "y"),
        );
        let dbg = format!("{cfg:?}");
        assert!(
            !dbg.contains("id-123") && !dbg.contains("secret-456"),
            "{dbg}"
        );
    }
}
