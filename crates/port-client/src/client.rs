//! The [`PortClient`] handle and its shared state: one HTTP connection pool, the token cache,
//! the concurrency gates, the caches of blueprints and organization, and the counters.
//!
//! Endpoints are added to [`PortClient`] by the modules named after Port's resources
//! (`integrations`, `entities`, `blueprints`, `organization`, `ingest`); this module only builds
//! the client and gives them the URL and User-Agent helpers.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use reqwest::header::HeaderValue;
use tokio::sync::Semaphore;
use url::Url;

use crate::auth::TokenCache;
use crate::config::{IntegrationIdentity, PortClientConfig, UserAgentFeature};
use crate::error::PortError;
use crate::metrics::{Counters, MetricsSnapshot};
use crate::transport::Target;
use crate::types::{Blueprint, Organization};

/// A typed async client for Port's REST API.
///
/// Cheap to clone (an `Arc` inside): clones share the connection pool, the access token, the
/// caches and the counters. Build one per process with [`PortClient::new`].
///
/// ```no_run
/// # async fn demo() -> Result<(), ocean_port_client::PortError> {
/// use ocean_port_client::{IntegrationIdentity, PortClient, PortClientConfig};
/// let identity = IntegrationIdentity::new("jira", "0.3.1", "my-jira");
/// let client = PortClient::new(PortClientConfig::new(
///     "http://127.0.0.1:5555",
///     "client-id",
///     "client-secret",
///     identity,
/// ))?;
/// let integration = client.get_integration().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PortClient {
    pub(crate) inner: Arc<Inner>,
}

/// The shared state behind every clone of a [`PortClient`].
pub(crate) struct Inner {
    pub(crate) config: PortClientConfig,
    pub(crate) api: Url,
    pub(crate) http: reqwest::Client,
    user_agents: [HeaderValue; 3],
    pub(crate) tokens: TokenCache,
    /// Attempts in flight across the client (the pool size).
    pub(crate) connections: Semaphore,
    /// Single upserts, single deletes and bulk-delete batches in flight.
    pub(crate) entity_writes: Semaphore,
    pub(crate) counters: Counters,
    /// Credentials scrubbed from every body excerpt.
    pub(crate) redact: Arc<[String; 2]>,
    pub(crate) blueprint_cache: Mutex<HashMap<String, (Instant, Blueprint)>>,
    pub(crate) organization_cache: Mutex<Option<(Instant, Organization)>>,
}

impl PortClient {
    /// Builds a client. Nothing is sent until the first call (which fetches the token).
    ///
    /// Fails when the base URL is not an http(s) URL, the identity cannot form a User-Agent
    /// header, or the retry policy is out of range.
    pub fn new(config: PortClientConfig) -> Result<Self, PortError> {
        let api = config.api_url()?;
        config
            .retry
            .validate()
            .map_err(|e| PortError::Config(e.to_string()))?;
        let user_agents = [
            None,
            Some(UserAgentFeature::Exporter),
            Some(UserAgentFeature::Gitops),
        ]
        .map(|feature| config.identity.user_agent(feature));
        let user_agents = user_agents
            .iter()
            .map(|ua| {
                HeaderValue::from_str(ua).map_err(|_| {
                    PortError::Config(format!(
                        "the integration type, version and identifier must be printable \
                         (they form the User-Agent {ua:?})"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let user_agents: [HeaderValue; 3] = user_agents
            .try_into()
            .map_err(|_| PortError::Config("user agent table".into()))?;
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .pool_max_idle_per_host(config.max_idle_connections)
            .danger_accept_invalid_certs(!config.verify_tls)
            .build()
            .map_err(|e| PortError::Config(format!("could not build the HTTP client: {e}")))?;
        let redact = Arc::new([
            config.client_id.expose().to_owned(),
            config.client_secret.expose().to_owned(),
        ]);
        let inner = Inner {
            api,
            http,
            user_agents,
            tokens: TokenCache::default(),
            connections: Semaphore::new(config.max_connections.max(1)),
            entity_writes: Semaphore::new(config.entity_write_concurrency.max(1)),
            counters: Counters::default(),
            redact,
            blueprint_cache: Mutex::new(HashMap::new()),
            organization_cache: Mutex::new(None),
            config,
        };
        Ok(PortClient {
            inner: Arc::new(inner),
        })
    }

    /// The configuration the client was built with.
    pub fn config(&self) -> &PortClientConfig {
        &self.inner.config
    }

    /// The integration this client speaks for.
    pub fn identity(&self) -> &IntegrationIdentity {
        &self.inner.config.identity
    }

    /// The API root (`{base}/v1`).
    pub fn api_url(&self) -> &Url {
        &self.inner.api
    }

    /// The counters so far (requests by status, retries, token fetches, entities).
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.counters.snapshot()
    }

    /// Makes sure a token is available, fetching one if needed. Startup calls this to fail fast
    /// on bad credentials; every other call does it implicitly.
    pub async fn authenticate(&self) -> Result<(), PortError> {
        self.inner.token().await.map(|_| ())
    }
}

impl fmt::Debug for PortClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortClient")
            .field("api_url", &self.inner.api.as_str())
            .field("identity", &self.inner.config.identity)
            .field("retry", &self.inner.config.retry)
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// A target below the API root; each segment is percent-encoded as a path segment.
    pub(crate) fn api(&self, segments: &[&str]) -> Target {
        let mut url = self.api.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.extend(segments);
        }
        let mut path = String::new();
        for segment in segments {
            path.push('/');
            path.push_str(segment);
        }
        Target { url, path }
    }

    /// A target below an absolute URL Port gave (ingest URLs), with extra path segments.
    pub(crate) fn absolute(&self, base: &str, segments: &[&str]) -> Result<Target, PortError> {
        let mut url = Url::parse(base)
            .map_err(|e| PortError::Config(format!("Port gave an invalid URL {base:?}: {e}")))?;
        if !segments.is_empty() {
            url.path_segments_mut()
                .map_err(|()| PortError::Config(format!("Port gave an invalid URL {base:?}")))?
                .pop_if_empty()
                .extend(segments);
        }
        let path = url.path().to_owned();
        Ok(Target { url, path })
    }

    /// The User-Agent header for a feature.
    pub(crate) fn user_agent(&self, feature: Option<UserAgentFeature>) -> HeaderValue {
        let slot = match feature {
            None => 0,
            Some(UserAgentFeature::Exporter) => 1,
            Some(UserAgentFeature::Gitops) => 2,
        };
        self.user_agents[slot].clone()
    }
}
