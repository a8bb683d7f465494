//! The contract between Ocean and an integration: what an integration author implements.
//!
//! An integration is a value built from its typed configuration that can fetch the raw items of
//! each kind it supports, as an async stream of pages. It never talks to Port, never maps, never
//! batches: the lifecycle owns all of that. Optional hooks run at startup and around resyncs.
//!
//! The trait is object safe (the engine holds an `Arc<dyn Integration>`), so hooks are written with
//! [`async_trait`](https://docs.rs/async-trait) and fetchers return a boxed stream.

use crate::webhook::WebhookRoute;
use futures::stream::BoxStream;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::fmt;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Any error an integration's own code returns.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// One page of raw third-party items (JSON objects), as the third party's API returned them.
pub type Page = Vec<Value>;

/// The raw items of one kind: pages in order; an `Err` ends the kind as failed (pages already
/// yielded stay upserted, and the resync deletes nothing).
pub type PageStream = BoxStream<'static, Result<Page, FetchError>>;

/// Why fetching a kind failed: what was being done, and the underlying cause.
#[derive(Debug, thiserror::Error)]
#[error("{context}")]
pub struct FetchError {
    context: String,
    #[source]
    source: Option<BoxError>,
}

impl FetchError {
    /// A failure described by a message alone.
    pub fn new(context: impl Into<String>) -> Self {
        FetchError {
            context: context.into(),
            source: None,
        }
    }

    /// A failure with an underlying cause, e.g.
    /// `FetchError::with_source("listing PagerDuty services (offset 200)", err)`.
    pub fn with_source(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        FetchError {
            context: context.into(),
            source: Some(source.into()),
        }
    }

    /// The message followed by every cause in the chain, `: `-separated.
    pub fn chain(&self) -> String {
        let mut text = self.context.clone();
        let mut cause: Option<&(dyn std::error::Error + 'static)> =
            self.source.as_deref().map(|e| e as _);
        while let Some(err) = cause {
            text.push_str(": ");
            text.push_str(&err.to_string());
            cause = err.source();
        }
        text
    }
}

/// What a fetcher is asked for: the kind, the mapping resource that asked, and a cancellation
/// signal (set when the resync is superseded or the process shuts down).
#[derive(Clone)]
pub struct FetchContext {
    kind: String,
    resource_index: usize,
    selector: Value,
    resync_id: Option<String>,
    cancel: CancellationToken,
    app_options: Arc<Map<String, Value>>,
}

impl FetchContext {
    /// Builds a context; the lifecycle does this for every resource it resyncs.
    pub fn new(
        kind: impl Into<String>,
        resource_index: usize,
        selector: Value,
        resync_id: Option<String>,
        cancel: CancellationToken,
    ) -> Self {
        FetchContext {
            kind: kind.into(),
            resource_index,
            selector,
            resync_id,
            cancel,
            app_options: Arc::default(),
        }
    }

    /// Attaches the mapping's integration-specific top-level options (every top-level key of
    /// the `port-app-config` other than Ocean's own, e.g. GitHub's `repositoryType`); the
    /// lifecycle does this for resyncs and live events.
    pub fn with_app_options(mut self, options: Arc<Map<String, Value>>) -> Self {
        self.app_options = options;
        self
    }

    /// The mapping's integration-specific top-level options, as written.
    pub fn app_options(&self) -> &Map<String, Value> {
        &self.app_options
    }

    /// One top-level mapping option, deserialised; `Ok(None)` when absent or null.
    pub fn app_option<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, FetchError> {
        match self.app_options.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => serde_json::from_value(value.clone())
                .map(Some)
                .map_err(|e| {
                    FetchError::with_source(format!("reading mapping option `{name}`"), e)
                }),
        }
    }

    /// The kind to fetch.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The position of the requesting resource in the mapping (the same kind may appear twice).
    pub fn resource_index(&self) -> usize {
        self.resource_index
    }

    /// The resource's whole `selector` object as written in the mapping, including
    /// integration-specific fields next to `query` (e.g. PagerDuty's `apiQueryParams`).
    pub fn selector(&self) -> &Value {
        &self.selector
    }

    /// One integration-specific selector field, deserialised; `Ok(None)` when absent or null.
    pub fn selector_field<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, FetchError> {
        match self.selector.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => serde_json::from_value(value.clone())
                .map(Some)
                .map_err(|e| {
                    FetchError::with_source(
                        format!("reading selector field `{name}` of kind `{}`", self.kind),
                        e,
                    )
                }),
        }
    }

    /// The id of the resync this fetch belongs to, if any.
    pub fn resync_id(&self) -> Option<&str> {
        self.resync_id.as_deref()
    }

    /// A token cancelled when this fetch should stop early; long fetchers may select on it.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Whether the fetch has been cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}

impl fmt::Debug for FetchContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchContext")
            .field("kind", &self.kind)
            .field("resource_index", &self.resource_index)
            .field("resync_id", &self.resync_id)
            .finish_non_exhaustive()
    }
}

/// What an integration's `on_start` hook may need to know about the running Ocean.
#[derive(Debug, Clone)]
pub struct StartContext {
    base_url: Option<String>,
    integration_identifier: String,
    listener: String,
    processes_webhooks: bool,
}

impl Default for StartContext {
    fn default() -> Self {
        StartContext::new(None, "")
    }
}

impl StartContext {
    /// Builds the context; the lifecycle does this at startup. Until
    /// [`StartContext::with_listener`] says otherwise, webhooks count as processed.
    pub fn new(base_url: Option<String>, integration_identifier: impl Into<String>) -> Self {
        let base_url = base_url.map(|u| u.trim_end_matches('/').to_string());
        StartContext {
            base_url,
            integration_identifier: integration_identifier.into(),
            listener: String::new(),
            processes_webhooks: true,
        }
    }

    /// Says which event listener runs (`POLLING`, `ONCE`, …) and whether this process serves
    /// and processes webhooks.
    pub fn with_listener(mut self, listener: impl Into<String>, processes_webhooks: bool) -> Self {
        self.listener = listener.into();
        self.processes_webhooks = processes_webhooks;
        self
    }

    /// The event listener type that runs (`POLLING`, `ONCE`, `WEBHOOK`, `WEBHOOKS_ONLY`, …;
    /// empty when unknown).
    pub fn listener(&self) -> &str {
        &self.listener
    }

    /// Whether this process serves and processes webhooks. `false` for a ONCE run (unless
    /// forced) and with `should_process_webhooks: false`: do not create a webhook subscription
    /// then, nothing would receive it.
    pub fn processes_webhooks(&self) -> bool {
        self.processes_webhooks
    }

    /// The public URL of this integration (`OCEAN__BASE_URL`), if configured.
    pub fn base_url(&self) -> Option<&str> {
        self.base_url.as_deref()
    }

    /// The integration's identifier in Port.
    pub fn integration_identifier(&self) -> &str {
        &self.integration_identifier
    }

    /// The public URL of a webhook path (`{base_url}/integration{path}`), if a base URL is set
    /// and this process processes webhooks ([`StartContext::processes_webhooks`]).
    pub fn webhook_url(&self, path: &str) -> Option<String> {
        if !self.processes_webhooks {
            return None;
        }
        self.base_url
            .as_ref()
            .map(|base| format!("{base}/integration{path}"))
    }
}

/// What an integration implements: the third-party side of a sync.
///
/// Build it from the integration's typed configuration (see the SDK's `run`), then Ocean calls
/// [`Integration::fetch`] for every resource of the mapping, in mapping order.
#[async_trait::async_trait]
pub trait Integration: Send + Sync + 'static {
    /// The kinds this integration declares (its spec's, what `ocean list` and errors name).
    fn kinds(&self) -> Vec<String>;

    /// Whether a mapping resource of `kind` can be fetched; default: `kind` is one of
    /// [`kinds`](Self::kinds). An integration whose kinds are open-ended (an endpoint name or
    /// path, as PagerDuty's list endpoints or a generic REST integration) accepts more. A
    /// resource of a kind not served fails that kind ("kind not implemented"), which makes the
    /// resync delete nothing.
    fn serves_kind(&self, kind: &str) -> bool {
        self.kinds().iter().any(|k| k == kind)
    }

    /// The raw items of `ctx.kind()`, as a stream of pages. Called once per resource per resync.
    /// The stream must be `'static`: clone what it needs (an `Arc`'d HTTP client, settings).
    fn fetch(&self, ctx: FetchContext) -> PageStream;

    /// The webhook processors of this integration and the paths they serve (relative to
    /// `/integration`). Default: none.
    fn webhook_processors(&self) -> Vec<WebhookRoute> {
        Vec::new()
    }

    /// Runs once after startup, before the event listener starts (e.g. to create a webhook
    /// subscription pointing at [`StartContext::webhook_url`]); an error is logged, not fatal.
    async fn on_start(&self, ctx: &StartContext) -> Result<(), BoxError> {
        let _ = ctx;
        Ok(())
    }

    /// The mapping to use instead of the one Port holds, given the integration's `config` as
    /// Port holds it — for integrations whose users keep their mapping with the third party
    /// (GitHub's `repoManagedMapping`, read from a repository). `Ok(None)` (the default) uses
    /// Port's. Called whenever the lifecycle reads the mapping (every resync, and live events'
    /// mapping refresh); an error fails that resync, which then deletes nothing.
    async fn mapping_override(&self, port_config: &Value) -> Result<Option<Value>, BoxError> {
        let _ = port_config;
        Ok(None)
    }

    /// Runs before every full resync; an error fails the resync before any kind is fetched.
    async fn on_resync_start(&self) -> Result<(), BoxError> {
        Ok(())
    }

    /// Runs after a full resync that succeeded (reconciliation included).
    async fn on_resync_complete(&self) -> Result<(), BoxError> {
        Ok(())
    }
}
