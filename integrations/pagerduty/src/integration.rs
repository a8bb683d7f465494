//! The PagerDuty integration: the [`Integration`] implementation that lists each kind, page by
//! page, with the enrichments its selector asks for, and registers the webhook processors.
//!
//! Five kinds have special handling, as in the reference: `services` (on-call entries and
//! optional analytics), `incidents` (filters, optional analytics), `schedules` (user emails),
//! `oncalls` (a time window) and `escalation_policies` (on-call entries). Any other kind is a
//! PagerDuty list endpoint served as it is, as in the reference: `GET /{kind}`, items under
//! `{kind}` (`users`, `teams`, `business_services`, …; the integration declares
//! [`LIST_KINDS`]). The name must be one path segment ([`is_list_kind`]), so a mapping cannot reach
//! another URL; a typo fails its kind with PagerDuty's 404, naming the request.
//!
//! Every failure becomes a [`FetchError`] naming the kind and the request, which fails the kind
//! so the resync deletes nothing.

use crate::client::{ClientError, PagerDutyClient, RetryPolicy};
use crate::config::{InvalidConfig, PagerDutyConfig};
use crate::enrich;
use crate::selectors::{
    EscalationPolicySelector, IncidentSelector, OncallSelector, ScheduleSelector, SelectorError,
    ServiceSelector, parse_selector, passthrough_query,
};
use crate::webhooks::{self, IncidentProcessor, ServiceProcessor, WEBHOOK_PATH};
use futures::StreamExt;
use futures::stream::BoxStream;
use ocean::{
    BoxError, BuildContext, FetchContext, FetchError, Integration, Page, PageStream, StartContext,
    WebhookRoute,
};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::OnceCell;

/// Kinds with special handling, in the order the default mapping lists them.
pub const SPECIAL_KINDS: [&str; 5] = [
    "services",
    "incidents",
    "schedules",
    "oncalls",
    "escalation_policies",
];

/// PagerDuty list endpoints known to work as plain kinds (`GET /{kind}`, items under `{kind}`,
/// `apiQueryParams` passed through unchanged). Any other name that [`is_list_kind`] accepts is
/// served the same way.
pub const LIST_KINDS: [&str; 9] = [
    "users",
    "teams",
    "business_services",
    "maintenance_windows",
    "priorities",
    "tags",
    "extensions",
    "vendors",
    "addons",
];

/// Why the integration could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A setting is unusable.
    #[error(transparent)]
    Config(#[from] InvalidConfig),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Client(#[from] ClientError),
}

/// The PagerDuty integration; cheap to clone.
#[derive(Debug, Clone)]
pub struct PagerDuty {
    shared: Arc<Shared>,
}

/// What the integration and its webhook processors share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) client: PagerDutyClient,
    pub(crate) config: PagerDutyConfig,
}

impl PagerDuty {
    /// Builds the integration from its configuration (checked first).
    pub fn new(config: PagerDutyConfig) -> Result<Self, BuildError> {
        Self::with_retry_policy(config, RetryPolicy::default())
    }

    /// Builds the integration with an explicit retry policy (tests use short delays).
    pub fn with_retry_policy(
        config: PagerDutyConfig,
        retry: RetryPolicy,
    ) -> Result<Self, BuildError> {
        Self::with_context(config, retry, &BuildContext::default())
    }

    /// Builds the integration with the framework's settings for third-party calls (the client
    /// timeout, an OAuth access-token file; see [`PagerDutyClient::with_context`]).
    pub fn with_context(
        config: PagerDutyConfig,
        retry: RetryPolicy,
        context: &BuildContext,
    ) -> Result<Self, BuildError> {
        config.validate()?;
        let client = PagerDutyClient::with_context(&config, retry, context)?;
        if config.webhook_secret().is_none() {
            tracing::info!(
                "no webhookSecret configured: PagerDuty webhooks are accepted unsigned, and every \
                 event is checked against the PagerDuty API before it changes anything"
            );
        }
        Ok(PagerDuty {
            shared: Arc::new(Shared { client, config }),
        })
    }

    /// The PagerDuty client the integration uses.
    pub fn client(&self) -> &PagerDutyClient {
        &self.shared.client
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &PagerDutyConfig {
        &self.shared.config
    }

    /// The raw items of `kind` for a resource with `selector`, as pages; `None` for a kind this
    /// integration does not serve.
    pub fn pages(&self, kind: &str, selector: &Value) -> Option<PageStream> {
        let client = self.shared.client.clone();
        let stream = match kind {
            "services" => services(client, selector),
            "incidents" => incidents(client, selector),
            "schedules" => schedules(client, selector),
            "oncalls" => oncalls(client, selector),
            "escalation_policies" => escalation_policies(client, selector),
            k if is_list_kind(k) => plain_list(client, k, selector),
            _ => return None,
        };
        let kind = kind.to_owned();
        Some(
            stream
                .map(move |page| {
                    page.map_err(|e| match e {
                        KindError::Selector(e) => FetchError::new(e.to_string()),
                        KindError::Client(e) => {
                            FetchError::with_source(format!("fetching PagerDuty {kind}"), e)
                        }
                    })
                })
                .boxed(),
        )
    }
}

/// Whether `kind` can name a PagerDuty list endpoint: one path segment of ASCII letters, digits,
/// `_` and `-` (so `GET /{kind}` stays an endpoint of the API, never another path or host).
pub fn is_list_kind(kind: &str) -> bool {
    !kind.is_empty()
        && kind.len() <= 64
        && kind
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// What can fail while fetching a kind.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KindError {
    #[error(transparent)]
    Selector(#[from] SelectorError),
    #[error(transparent)]
    Client(#[from] ClientError),
}

type KindStream = BoxStream<'static, Result<Page, KindError>>;

fn failed(e: impl Into<KindError>) -> KindStream {
    futures::stream::once(futures::future::ready(Err(e.into()))).boxed()
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// The fetch plan of `services`: the query, and which enrichments to run.
pub(crate) struct ServicePlan {
    pub(crate) selector: ServiceSelector,
    pub(crate) analytics_months: Option<u32>,
}

impl ServicePlan {
    pub(crate) fn new(selector: &Value) -> Result<Self, SelectorError> {
        let selector: ServiceSelector = parse_selector("services", selector)?;
        let analytics_months = if selector.service_analytics {
            Some(selector.analytics_months()?)
        } else {
            None
        };
        Ok(ServicePlan {
            selector,
            analytics_months,
        })
    }

    /// Adds what the selector asks for to a page of services.
    pub(crate) async fn enrich(
        &self,
        client: &PagerDutyClient,
        services: &mut [Value],
    ) -> Result<(), ClientError> {
        if let Some(months) = self.analytics_months {
            enrich::attach_service_analytics(client, services, months, now()).await;
        }
        if self.selector.include_custom_fields {
            enrich::attach_custom_fields(client, "services", services).await;
        }
        enrich::attach_service_oncalls(client, services).await
    }
}

fn services(client: PagerDutyClient, selector: &Value) -> KindStream {
    let plan = match ServicePlan::new(selector) {
        Ok(plan) => Arc::new(plan),
        Err(e) => return failed(e),
    };
    let query = match plan
        .selector
        .api_query_params
        .as_ref()
        .map(|q| q.to_query())
        .transpose()
    {
        Ok(q) => q.unwrap_or_default(),
        Err(e) => return failed(e),
    };
    client
        .paginate("services", "services", query)
        .then(move |page| {
            let (client, plan) = (client.clone(), plan.clone());
            async move {
                let mut services = page?;
                plan.enrich(&client, &mut services).await?;
                Ok(services)
            }
        })
        .boxed()
}

fn incidents(client: PagerDutyClient, selector: &Value) -> KindStream {
    let selector: IncidentSelector = match parse_selector("incidents", selector) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let query = match selector
        .api_query_params
        .as_ref()
        .map(|q| q.to_query())
        .transpose()
    {
        Ok(q) => q.unwrap_or_default(),
        Err(e) => return failed(e),
    };
    let analytics = selector.incident_analytics;
    let custom_fields = selector.include_custom_fields;
    client
        .incidents(query)
        .then(move |page| {
            let client = client.clone();
            async move {
                let mut incidents = page?;
                if analytics {
                    enrich::attach_incident_analytics(&client, &mut incidents).await;
                }
                if custom_fields {
                    enrich::attach_custom_fields(&client, "incidents", &mut incidents).await;
                }
                Ok(incidents)
            }
        })
        .boxed()
}

fn schedules(client: PagerDutyClient, selector: &Value) -> KindStream {
    let selector: ScheduleSelector = match parse_selector("schedules", selector) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let query = match selector
        .api_query_params
        .as_ref()
        .map(|q| q.to_query(now()))
        .transpose()
    {
        Ok(q) => q.unwrap_or_default(),
        Err(e) => return failed(e),
    };
    // Users are listed once per fetch (the reference lists them again for every page).
    let emails: Arc<OnceCell<HashMap<String, String>>> = Arc::new(OnceCell::new());
    client
        .paginate("schedules", "schedules", query)
        .then(move |page| {
            let (client, emails) = (client.clone(), emails.clone());
            async move {
                let mut schedules = page?;
                let has_users = schedules
                    .iter()
                    .any(|s| s["users"].as_array().is_some_and(|u| !u.is_empty()));
                if has_users {
                    let emails = emails
                        .get_or_try_init(|| enrich::user_emails(&client))
                        .await?;
                    enrich::attach_schedule_emails(&mut schedules, emails);
                }
                Ok(schedules)
            }
        })
        .boxed()
}

fn oncalls(client: PagerDutyClient, selector: &Value) -> KindStream {
    let selector: OncallSelector = match parse_selector("oncalls", selector) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let query = match selector
        .api_query_params
        .as_ref()
        .map(|q| q.to_query(now()))
        .transpose()
    {
        Ok(q) => q.unwrap_or_default(),
        Err(e) => return failed(e),
    };
    client
        .paginate("oncalls", "oncalls", query)
        .map(|page| page.map_err(KindError::from))
        .boxed()
}

fn escalation_policies(client: PagerDutyClient, selector: &Value) -> KindStream {
    let selector: EscalationPolicySelector = match parse_selector("escalation_policies", selector) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let query = match selector
        .api_query_params
        .as_ref()
        .map(|q| q.to_query())
        .transpose()
    {
        Ok(q) => q.unwrap_or_default(),
        Err(e) => return failed(e),
    };
    let attach = selector.attach_oncall_users;
    client
        .paginate("escalation_policies", "escalation_policies", query)
        .then(move |page| {
            let client = client.clone();
            async move {
                let mut policies = page?;
                if attach {
                    enrich::attach_policy_oncalls(&client, &mut policies).await?;
                }
                Ok(policies)
            }
        })
        .boxed()
}

fn plain_list(client: PagerDutyClient, kind: &str, selector: &Value) -> KindStream {
    let query = match selector.get("apiQueryParams") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(params)) => match passthrough_query(kind, params) {
            Ok(q) => q,
            Err(e) => return failed(e),
        },
        Some(other) => {
            return failed(SelectorError {
                kind: kind.to_owned(),
                field: "apiQueryParams".into(),
                reason: format!("must be an object, got {other}"),
            });
        }
    };
    client
        .paginate(kind, kind, query)
        .map(|page| page.map_err(KindError::from))
        .boxed()
}

#[ocean::prelude::async_trait]
impl Integration for PagerDuty {
    fn kinds(&self) -> Vec<String> {
        SPECIAL_KINDS
            .iter()
            .chain(LIST_KINDS.iter())
            .map(|k| (*k).to_owned())
            .collect()
    }

    fn serves_kind(&self, kind: &str) -> bool {
        SPECIAL_KINDS.contains(&kind) || is_list_kind(kind)
    }

    fn fetch(&self, ctx: FetchContext) -> PageStream {
        let Some(pages) = self.pages(ctx.kind(), ctx.selector()) else {
            let message = format!(
                "PagerDuty kind `{}` cannot name a list endpoint: a kind is one path segment of \
                 letters, digits, `_` and `-` (e.g. {}, {})",
                ctx.kind(),
                SPECIAL_KINDS.join(", "),
                LIST_KINDS.join(", ")
            );
            return futures::stream::once(async move { Err(FetchError::new(message)) }).boxed();
        };
        let cancelled = ctx.cancellation().clone().cancelled_owned();
        pages.take_until(cancelled).boxed()
    }

    fn webhook_processors(&self) -> Vec<WebhookRoute> {
        vec![
            WebhookRoute::new(WEBHOOK_PATH, IncidentProcessor::new(self.shared.clone())),
            WebhookRoute::new(WEBHOOK_PATH, ServiceProcessor::new(self.shared.clone())),
        ]
    }

    async fn on_start(&self, ctx: &StartContext) -> Result<(), BoxError> {
        // A run that serves no webhooks (ONCE, ACTIONS_ONLY) must not point PagerDuty at it.
        if !ctx.processes_webhooks() {
            tracing::debug!(
                listener = ctx.listener(),
                "webhooks are not processed by this listener: no PagerDuty webhook subscription"
            );
            return Ok(());
        }
        let url = ctx.webhook_url(WEBHOOK_PATH).or_else(|| {
            self.shared
                .config
                .app_host
                .as_deref()
                .map(|host| format!("{}/integration{WEBHOOK_PATH}", host.trim_end_matches('/')))
        });
        let Some(url) = url else {
            tracing::warn!(
                "no base URL (OCEAN__BASE_URL) or appHost configured: not creating a PagerDuty \
                 webhook subscription, so live changes in PagerDuty reach Port only on resync"
            );
            return Ok(());
        };
        let secret = self.shared.config.webhook_secret().is_some();
        webhooks::ensure_subscription(&self.shared.client, &url, secret).await?;
        Ok(())
    }
}
