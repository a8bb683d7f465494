//! The Custom integration: every kind is an endpoint path of the configured API, fetched as the
//! resource's selector says (method, query, headers, body, pagination, `data_path`), with
//! `{name}` path parameters fanned out over the values a discovery endpoint lists.
//!
//! Every failure fails its kind with an error naming the endpoint (and, for an HTTP error, the
//! request and status), so the resync deletes nothing of that kind; other kinds complete. (The
//! reference logs endpoint errors and goes on with nothing, which deletes the kind's entities.)

use crate::config::{Auth, CustomConfig, InvalidConfig, Settings};
use crate::data_path::{DataPath, Jq};
use crate::pagination::PaginationSettings;
use crate::selector::{self, PathParameter, Selector, SelectorError};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use ocean::http::{Credentials, HttpClient, HttpError, Method, RetryPolicy, paginate};
use ocean::{BoxError, BuildContext, FetchContext, FetchError, Integration, PageStream};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// The User-Agent of every request (the reference's).
pub const USER_AGENT: &str = "Port-Ocean-HTTP-Integration/1.0";

/// Endpoints of one parameter level fetched at once.
const FAN_OUT: usize = 10;

/// Why the integration could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A setting is unusable.
    #[error(transparent)]
    Config(#[from] InvalidConfig),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Client(#[from] HttpError),
}

/// The Custom integration; cheap to clone.
#[derive(Debug, Clone)]
pub struct Custom {
    shared: Arc<Shared>,
}

type Discovered = Arc<OnceCell<Result<Arc<Vec<String>>, String>>>;

#[derive(Debug)]
struct Shared {
    http: HttpClient,
    settings: Settings,
    /// Path-parameter values listed in this resync, by discovery request.
    discovered: Mutex<HashMap<String, Discovered>>,
}

/// One request of a resource, with how its pages are read.
#[derive(Debug, Clone)]
struct Call {
    method: Method,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<Value>,
    data_path: DataPath,
    pagination: PaginationSettings,
}

/// How one path parameter's values are discovered, its expressions compiled.
#[derive(Debug, Clone)]
struct Discovery {
    name: String,
    param: PathParameter,
    call: Call,
    field: Jq,
    filter: Option<Jq>,
}

impl Custom {
    /// Builds the integration from its configuration (checked first), with the default retries.
    pub fn new(config: CustomConfig) -> Result<Self, BuildError> {
        Self::with_retry_policy(config, RetryPolicy::default())
    }

    /// Builds the integration with an explicit retry policy (tests use short delays).
    pub fn with_retry_policy(config: CustomConfig, retry: RetryPolicy) -> Result<Self, BuildError> {
        Self::with_context(config, retry, &BuildContext::default())
    }

    /// Builds the integration; `timeout` comes from the configuration, not the context.
    pub fn with_context(
        config: CustomConfig,
        retry: RetryPolicy,
        _context: &BuildContext,
    ) -> Result<Self, BuildError> {
        let settings = config.validate()?;
        let credentials = match &settings.auth {
            Auth::None | Auth::Custom(_) => Credentials::none(),
            Auth::Bearer(token) => Credentials::bearer(token)
                .map_err(|e| InvalidConfig::new("apiToken", e.to_string()))?,
            Auth::Basic { username, password } => Credentials::basic(username, password)
                .map_err(|e| InvalidConfig::new("password", e.to_string()))?,
            Auth::ApiKey { header, key } => Credentials::header(header, key)
                .map_err(|e| InvalidConfig::new("apiKeyHeader", e.to_string()))?,
        };
        let mut builder = HttpClient::builder("the custom API")
            .base_url(format!("{}/", settings.base_url))
            .user_agent(USER_AGENT)
            .credentials(credentials)
            .timeout(settings.timeout)
            .accept_invalid_certs(!settings.verify_ssl)
            .concurrency(settings.max_concurrent_requests)
            .retry(retry);
        if let Auth::Custom(auth) = &settings.auth {
            let auth = (**auth).clone().authenticator(
                &settings.base_url,
                settings.timeout,
                !settings.verify_ssl,
            )?;
            builder = builder.authenticator(Arc::new(auth));
        }
        for (name, value) in &settings.custom_headers {
            builder = builder.header(name, value);
        }
        let http = builder.build()?;
        Ok(Custom {
            shared: Arc::new(Shared {
                http,
                settings,
                discovered: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The checked configuration.
    pub fn settings(&self) -> &Settings {
        &self.shared.settings
    }

    /// The raw items of the resource of `kind` with `selector`, as pages.
    pub fn pages(&self, kind: &str, selector: &Value) -> PageStream {
        match self.plan(kind, selector) {
            Ok((call, params)) => {
                let shared = self.shared.clone();
                let kind = kind.to_owned();
                stream::once(
                    async move { shared.combinations(&kind, &params).await.map(|c| (kind, c)) },
                )
                .map_ok({
                    let shared = self.shared.clone();
                    move |(kind, combos)| {
                        let shared = shared.clone();
                        let call = call.clone();
                        stream::iter(combos)
                            .map(move |values| shared.endpoint(&kind, values, &call))
                            .flatten_unordered(FAN_OUT)
                    }
                })
                .try_flatten()
                // The first error ends the resource: reported once, the other endpoints of a
                // fan-out are not fetched further.
                .scan(false, |failed, page| {
                    let next = (!*failed).then(|| {
                        *failed = page.is_err();
                        page
                    });
                    futures::future::ready(next)
                })
                .boxed()
            }
            Err(e) => stream::once(async move { Err(FetchError::new(e)) }).boxed(),
        }
    }

    fn plan(&self, kind: &str, selector: &Value) -> Result<(Call, Vec<Discovery>), String> {
        let selector = Selector::parse(kind, selector).map_err(|e| e.to_string())?;
        let wrap = |reason: String| {
            SelectorError {
                kind: kind.to_owned(),
                reason,
            }
            .to_string()
        };
        let pagination = self
            .shared
            .settings
            .pagination
            .overridden_by(&selector.pagination)
            .settings()
            .map_err(|e| wrap(e.to_string()))?;
        let call = Call {
            method: selector::method(kind, selector.method.as_deref())
                .map_err(|e| e.to_string())?,
            query: selector::pairs(selector.query_params.as_ref()),
            headers: selector::pairs(selector.headers.as_ref()),
            body: selector.body.filter(crate::pagination::truthy),
            data_path: DataPath::new(selector.data_path.as_deref()).map_err(&wrap)?,
            pagination,
        };
        let configured = selector.path_parameters.unwrap_or_default();
        let names = selector::path_params(kind);
        let mut params = Vec::new();
        for (position, name) in names.iter().enumerate() {
            let Some(param) = configured.get(name) else {
                return Err(wrap(format!(
                    "the endpoint has the path parameter {{{name}}} but path_parameters does not \
                     say how to discover it"
                )));
            };
            if let Some(missing) = selector::path_params(&param.endpoint)
                .into_iter()
                .find(|p| !names[..position].contains(p))
            {
                return Err(wrap(format!(
                    "the discovery endpoint {:?} of {{{name}}} uses {{{missing}}}, which is not a \
                     parameter of the kind resolved before it",
                    param.endpoint
                )));
            }
            let context = |e: String| wrap(format!("path_parameters.{name}: {e}"));
            params.push(Discovery {
                name: name.clone(),
                call: Call {
                    method: selector::method(kind, param.method.as_deref())
                        .map_err(|e| context(e.reason))?,
                    query: selector::pairs(param.query_params.as_ref()),
                    headers: selector::pairs(param.headers.as_ref()),
                    body: None,
                    data_path: DataPath::new(param.data_path.as_deref()).map_err(context)?,
                    // The integration's pagination, with the parameter's own options on top.
                    pagination: self
                        .shared
                        .settings
                        .pagination
                        .overridden_by(&param.pagination)
                        .settings()
                        .map_err(|e| context(e.to_string()))?,
                },
                field: Jq::compile(&param.field).map_err(context)?,
                filter: param
                    .filter
                    .as_deref()
                    .map(Jq::compile)
                    .transpose()
                    .map_err(context)?,
                param: param.clone(),
            });
        }
        Ok((call, params))
    }
}

impl Shared {
    /// Every combination of path-parameter values of `kind` (one empty one without parameters),
    /// each discovery endpoint filled with the values resolved before it.
    async fn combinations(
        &self,
        kind: &str,
        params: &[Discovery],
    ) -> Result<Vec<Vec<(String, String)>>, FetchError> {
        let mut combos: Vec<Vec<(String, String)>> = vec![Vec::new()];
        for discovery in params {
            let mut next = Vec::new();
            for combo in combos {
                let endpoint = selector::fill(&discovery.param.endpoint, &combo);
                let values = self.discover(kind, &endpoint, discovery).await?;
                for value in values.iter() {
                    let mut longer = combo.clone();
                    longer.push((discovery.name.clone(), value.clone()));
                    next.push(longer);
                }
            }
            combos = next;
        }
        Ok(combos)
    }

    /// The values of `{name}` listed by `endpoint`: fetched once per resync for every resource
    /// that asks the same.
    async fn discover(
        &self,
        kind: &str,
        endpoint: &str,
        discovery: &Discovery,
    ) -> Result<Arc<Vec<String>>, FetchError> {
        let param = &discovery.param;
        let key = serde_json::json!([
            endpoint,
            param.method,
            param.query_params,
            param.headers,
            param.data_path,
            param.field,
            param.filter,
            format!("{:?}", param.pagination)
        ])
        .to_string();
        let cell = self
            .discovered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default()
            .clone();
        let result = cell
            .get_or_init(|| async { self.list_values(endpoint, discovery).await })
            .await;
        result.clone().map_err(|e| {
            FetchError::new(format!(
                "discovering the values of {{{}}} of kind `{kind}`: {e}",
                discovery.name
            ))
        })
    }

    async fn list_values(
        &self,
        endpoint: &str,
        discovery: &Discovery,
    ) -> Result<Arc<Vec<String>>, String> {
        let mut pages = self.request_pages(endpoint, &discovery.call);
        let mut values = Vec::new();
        while let Some(page) = pages.next().await {
            for record in page.map_err(|e| e.to_string())? {
                if let Some(filter) = &discovery.filter {
                    if filter.first(&record)? != Some(Value::Bool(true)) {
                        continue;
                    }
                }
                match discovery.field.first(&record)? {
                    None | Some(Value::Null) => {}
                    Some(Value::String(s)) => values.push(s),
                    Some(other) => values.push(other.to_string()),
                }
            }
        }
        Ok(Arc::new(values))
    }

    /// The pages of one endpoint of `kind` (parameters filled), each item given `__{name}` keys.
    fn endpoint(
        self: &Arc<Self>,
        kind: &str,
        values: Vec<(String, String)>,
        call: &Call,
    ) -> BoxStream<'static, Result<Vec<Value>, FetchError>> {
        let endpoint = selector::fill(kind, &values);
        let context = format!("fetching {endpoint} (kind `{kind}`)");
        self.request_pages(&endpoint, call)
            .map(move |page| {
                let mut items = page.map_err(|e| FetchError::with_source(context.clone(), e))?;
                if !values.is_empty() {
                    for item in &mut items {
                        if let Value::Object(map) = item {
                            for (name, value) in &values {
                                map.insert(format!("__{name}"), Value::String(value.clone()));
                            }
                        }
                    }
                }
                Ok(items)
            })
            .boxed()
    }

    fn request_pages(
        &self,
        endpoint: &str,
        call: &Call,
    ) -> BoxStream<'static, Result<Vec<Value>, HttpError>> {
        let url = format!(
            "{}/{}",
            self.settings.base_url,
            endpoint.trim_start_matches('/')
        );
        // Selector headers replace configured ones of the same name (case-insensitively).
        let mut headers: BTreeMap<String, (String, String)> = BTreeMap::new();
        for (name, value) in self
            .settings
            .custom_headers
            .iter()
            .chain(call.headers.iter().map(|(n, v)| (n, v)))
        {
            headers.insert(name.to_ascii_lowercase(), (name.clone(), value.clone()));
        }
        let mut request = self.http.request(call.method.clone(), &url);
        for (name, value) in headers.values() {
            request = request.header(name, value);
        }
        request = request.query_pairs(call.query.iter().map(|(k, v)| (k, v)));
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let settings = call.pagination.clone();
        let data_path = call.data_path.clone();
        paginate(request, settings.pagination(), move |response| {
            settings.read(response, &data_path)
        })
        .max_pages(call.pagination.max_pages)
        .into_stream()
        .map_ok(|slots| slots.into_iter().flatten().collect::<Vec<Value>>())
        .try_filter(|items| futures::future::ready(!items.is_empty()))
        .boxed()
    }
}

#[ocean::prelude::async_trait]
impl Integration for Custom {
    fn kinds(&self) -> Vec<String> {
        // Any endpoint path is a kind; there is no list to declare.
        Vec::new()
    }

    fn serves_kind(&self, _kind: &str) -> bool {
        true
    }

    fn fetch(&self, ctx: FetchContext) -> PageStream {
        let cancelled = ctx.cancellation().clone().cancelled_owned();
        self.pages(ctx.kind(), ctx.selector())
            .take_until(cancelled)
            .boxed()
    }

    async fn on_resync_start(&self) -> Result<(), BoxError> {
        self.shared
            .discovered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        Ok(())
    }

    async fn on_resync_complete(&self) -> Result<(), BoxError> {
        self.shared
            .discovered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        Ok(())
    }
}
