//! The integration itself: which kinds it serves, and how each is fetched.
//!
//! Ocean calls [`Integration::fetch`] once for every resource of the mapping, with the resource's
//! kind, and pulls pages from the returned stream as fast as it can map and upsert them; nothing
//! is requested before Ocean asks for the next page, so a cancelled resync stops fetching by
//! itself. All this code does is turn a kind into the right API listing: mapping, batching,
//! upserts and deleting what disappeared are Ocean's.
//!
//! # Adding a kind
//!
//! 1. Add its name to [`KINDS`] and an arm to the `match` in [`Integration::fetch`] below
//!    (usually one [`{{ project-name | pascal_case }}Client::list`] call).
//! 2. Declare it in `.port/spec.yaml` (`features[0].resources`), and give it a blueprint and a
//!    mapping resource in `.port/resources/`, so a fresh installation syncs it.
//! 3. Serve a page of it in `tests/resync.rs` and assert its entities.
//!
//! A kind whose items need more than one call (a detail per item, the children of each parent)
//! is still one stream of pages: build it with `try_stream!` as
//! [`{{ project-name | pascal_case }}Client::list`] does, and yield each page once it is complete.

use crate::client::{ClientError, {{ project-name | pascal_case }}Client};
use crate::config::{{ project-name | pascal_case }}Config;
{%- if webhook %}
use crate::webhook::{{ kind | pascal_case }}Events;
{%- endif %}
{%- if webhook %}
use ocean::Secret;
use ocean::prelude::WebhookRoute;
{%- endif %}
use ocean::prelude::{
    FetchContext, FetchError, Integration, PageStream, RetryPolicy, StreamExt, TryStreamExt,
    stream,
};

/// The `{{ kind }}` kind: the {{ kind_plural }} of {{ title }}.
pub const {{ kind | shouty_snake_case }}: &str = "{{ kind }}";

/// Every kind this integration serves, as mappings name them.
pub const KINDS: &[&str] = &[{{ kind | shouty_snake_case }}];

/// The {{ title }} integration.
#[derive(Debug, Clone)]
pub struct {{ project-name | pascal_case }} {
    client: {{ project-name | pascal_case }}Client,
{%- if webhook %}
    webhook_secret: Option<Secret>,
{%- endif %}
}

impl {{ project-name | pascal_case }} {
    /// The integration for the given settings.
    pub fn new(config: {{ project-name | pascal_case }}Config) -> Result<Self, ClientError> {
        Self::with_retry_policy(config, RetryPolicy::default())
    }

    /// The integration with an explicit retry policy for API calls (tests shrink the waits).
    pub fn with_retry_policy(
        config: {{ project-name | pascal_case }}Config,
        retry: RetryPolicy,
    ) -> Result<Self, ClientError> {
        let client = {{ project-name | pascal_case }}Client::with_retry_policy(&config, retry)?;
{%- if webhook %}
        let webhook_secret = config.webhook_secret;
        Ok({{ project-name | pascal_case }} { client, webhook_secret })
{%- else %}
        Ok({{ project-name | pascal_case }} { client })
{%- endif %}
    }
}

impl Integration for {{ project-name | pascal_case }} {
    fn kinds(&self) -> Vec<String> {
        KINDS.iter().map(|kind| kind.to_string()).collect()
    }

    fn fetch(&self, ctx: FetchContext) -> PageStream {
        let kind = ctx.kind().to_owned();
        let pages = match kind.as_str() {
            {{ kind | shouty_snake_case }} => self.client.list("{{ kind_plural }}"),
            other => return unknown_kind(other),
        };
        pages
            .map_err(move |err| {
                FetchError::with_source(format!("listing {{ title }} `{kind}`"), err)
            })
            .boxed()
    }
{%- if webhook %}

    fn webhook_processors(&self) -> Vec<WebhookRoute> {
        let processor = {{ kind | pascal_case }}Events::new(self.client.clone(), self.webhook_secret.clone());
        vec![WebhookRoute::new("/webhook", processor)]
    }
{%- endif %}
}

/// The stream of a kind this integration does not serve: one error naming the kinds it does.
fn unknown_kind(kind: &str) -> PageStream {
    let message = format!(
        "no kind `{kind}` in {{ title }} (it serves {})",
        KINDS.join(", ")
    );
    stream::once(async move { Err(FetchError::new(message)) }).boxed()
}
