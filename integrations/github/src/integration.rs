//! The GitHub integration: the [`Integration`] implementation that serves every kind from the
//! credentials' organizations, registers the webhook processors, and creates or updates the
//! organizations' webhooks at startup.

use crate::accounts::Accounts;
use crate::client::{ClientOptions, EtagCache, GithubError, Purpose, Stats, retry_policy};
use crate::config::{GithubConfig, InvalidConfig};
use crate::kinds::{self, Env, KINDS, KindError};
use crate::selectors::AppOptions;
use crate::webhooks;
use futures::StreamExt as _;
use ocean::{
    BoxError, FetchContext, FetchError, Integration, PageStream, StartContext, WebhookRoute,
};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// How long an unused answer stays in the conditional-request cache.
pub const CACHE_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// Why the integration could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A setting is unusable.
    #[error(transparent)]
    Config(#[from] InvalidConfig),
    /// The client or the credential could not be set up.
    #[error(transparent)]
    Client(#[from] GithubError),
}

/// What the integration and its webhook processors share.
#[derive(Debug)]
pub struct Shared {
    /// The configuration.
    pub config: GithubConfig,
    /// The credentials.
    pub accounts: Arc<Accounts>,
    /// Counters.
    pub stats: Arc<Stats>,
    /// The conditional-request cache.
    pub cache: Option<EtagCache>,
}

impl Shared {
    /// The environment of a kind's fetch (or a webhook's handling).
    pub fn env(&self, ctx: &FetchContext, purpose: Purpose) -> Result<Env, KindError> {
        Ok(Env {
            accounts: self.accounts.clone(),
            stats: self.stats.clone(),
            options: AppOptions::from_map(ctx.app_options())?,
            selector: ctx.selector().clone(),
            kind: ctx.kind().to_owned(),
            purpose,
        })
    }
}

/// The GitHub integration; cheap to clone.
#[derive(Debug, Clone)]
pub struct Github {
    shared: Arc<Shared>,
}

impl Github {
    /// Builds the integration from its configuration (checked first).
    pub fn new(config: GithubConfig) -> Result<Self, BuildError> {
        Self::with_retry_policy(config, retry_policy())
    }

    /// Builds the integration with an explicit retry policy (tests use short delays).
    pub fn with_retry_policy(
        config: GithubConfig,
        policy: ocean::http::RetryPolicy,
    ) -> Result<Self, BuildError> {
        config.validate()?;
        let cache = match EtagCache::open(config.http_cache_dir()) {
            Ok(cache) => Some(cache),
            Err(error) => {
                tracing::warn!(%error, "Conditional requests are off: every resync costs its full quota");
                None
            }
        };
        let stats = Arc::new(Stats::default());
        let options = ClientOptions {
            urls: config.urls()?,
            policy,
            threshold: config.reservation_threshold()?,
            cache: cache.clone(),
            stats: stats.clone(),
        };
        let accounts = Accounts::new(
            config.credential()?,
            config.organization().map(str::to_owned),
            options,
        )?;
        if config.webhook_secret().is_none() {
            tracing::warn!(
                "no webhookSecret configured: GitHub webhooks are accepted without a signature check"
            );
        }
        Ok(Github {
            shared: Arc::new(Shared {
                config,
                accounts: Arc::new(accounts),
                stats,
                cache,
            }),
        })
    }

    /// What the integration shares with its processors.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The counters of every client.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.shared.stats
    }
}

#[ocean::prelude::async_trait]
impl Integration for Github {
    fn kinds(&self) -> Vec<String> {
        KINDS.iter().map(|k| (*k).to_owned()).collect()
    }

    fn fetch(&self, ctx: FetchContext) -> PageStream {
        let kind = ctx.kind().to_owned();
        let env = match self.shared.env(&ctx, Purpose::Resync) {
            Ok(env) => env,
            Err(e) => {
                let message = e.to_string();
                return futures::stream::once(async move { Err(FetchError::new(message)) }).boxed();
            }
        };
        let Some(pages) = kinds::pages(env) else {
            let message = format!(
                "GitHub kind `{kind}` is not supported (supported: {})",
                KINDS.join(", ")
            );
            return futures::stream::once(async move { Err(FetchError::new(message)) }).boxed();
        };
        let cancelled = ctx.cancellation().clone().cancelled_owned();
        pages
            .map(move |page| {
                page.map_err(|e| match e {
                    KindError::Selector(e) => FetchError::new(e.to_string()),
                    e => FetchError::with_source(format!("fetching GitHub {kind}"), e),
                })
            })
            .take_until(cancelled)
            .boxed()
    }

    fn webhook_processors(&self) -> Vec<WebhookRoute> {
        webhooks::routes(&self.shared)
    }

    async fn mapping_override(&self, port_config: &Value) -> Result<Option<Value>, BoxError> {
        if !crate::repo_mapping::requested(port_config) {
            return Ok(None);
        }
        Ok(Some(crate::repo_mapping::read(&self.shared).await?))
    }

    async fn on_start(&self, ctx: &StartContext) -> Result<(), BoxError> {
        if !ctx.processes_webhooks() {
            tracing::debug!(
                listener = ctx.listener(),
                "webhooks are not processed: no GitHub hooks are created"
            );
            return Ok(());
        }
        let Some(url) = ctx.webhook_url(webhooks::WEBHOOK_PATH) else {
            tracing::warn!(
                "no base URL (OCEAN__BASE_URL) configured: no GitHub webhooks are created, so \
                 changes in GitHub reach Port only on resync"
            );
            return Ok(());
        };
        webhooks::hooks::ensure_all(&self.shared, &url).await;
        Ok(())
    }

    async fn on_resync_complete(&self) -> Result<(), BoxError> {
        let stats = self.shared.stats.snapshot();
        tracing::info!(
            requests = stats.requests,
            not_modified = stats.not_modified,
            rate_limited = stats.rate_limited,
            retries = stats.retries,
            degraded = ?stats.degraded,
            "GitHub requests so far"
        );
        if let Some(cache) = self.shared.cache.clone() {
            let removed =
                tokio::task::spawn_blocking(move || cache.evict_older_than(CACHE_RETENTION))
                    .await
                    .unwrap_or(0);
            if removed > 0 {
                tracing::debug!(removed, "Removed unused answers from the GitHub HTTP cache");
            }
        }
        Ok(())
    }
}
