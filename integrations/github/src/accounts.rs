//! Who the integration syncs: the credentials it holds and the organizations (or personal
//! accounts) each one reaches.
//!
//! - A token is one credential. Scoped by `githubOrganization`, it reaches that one account;
//!   otherwise every organization of `GET /user/orgs` (filtered by the mapping's
//!   `organizations`), plus the token user's own account with `includeAuthenticatedUser`.
//! - A GitHub App is one credential per installation ([`crate::auth::discover_installations`]),
//!   each reaching its installation's account. Installations are discovered again when the
//!   last discovery is older than 15 minutes; each keeps its client (token, limiter) across
//!   discoveries.

use crate::auth::{AppKey, Credential, Installation, InstallationToken, discover_installations};
use crate::client::{ClientOptions, GithubClient, GithubError, Purpose};
use crate::config::CredentialConfig;
use crate::selectors::AppOptions;
use futures::TryStreamExt as _;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a discovery of the App's installations is used (as the reference).
pub const DISCOVERY_TTL: Duration = Duration::from_secs(15 * 60);

/// One credential and the account it is scoped to.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The credential's client.
    pub client: GithubClient,
    /// The account the credential is scoped to: `githubOrganization` with a token, the
    /// installation's account with an App; `None` for an unscoped token.
    pub account: Option<String>,
    /// The App installation, if this is one.
    pub installation: Option<Installation>,
}

/// One organization or personal account to sync.
#[derive(Debug, Clone)]
pub struct Org {
    /// Its login.
    pub login: String,
    /// `Organization` or `User`.
    pub account_type: String,
    /// GitHub's object for it (what the organization kind yields).
    pub raw: Value,
    /// The credential that reaches it.
    pub auth: Authenticated,
}

impl Org {
    /// Whether this is a personal account.
    pub fn is_user(&self) -> bool {
        self.account_type == "User"
    }
}

struct Discovery {
    at: Option<Instant>,
    current: Vec<Authenticated>,
    clients: HashMap<u64, GithubClient>,
}

enum Mode {
    Token(GithubClient),
    App {
        app: GithubClient,
        discovery: tokio::sync::Mutex<Discovery>,
    },
}

/// The integration's credentials.
pub struct Accounts {
    mode: Mode,
    options: ClientOptions,
    organization: Option<String>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("organization", &self.organization)
            .finish_non_exhaustive()
    }
}

impl Accounts {
    /// The credentials of a configuration.
    pub fn new(
        credential: CredentialConfig,
        organization: Option<String>,
        options: ClientOptions,
    ) -> Result<Self, GithubError> {
        let mode = match credential {
            CredentialConfig::Token(token) => Mode::Token(GithubClient::new(
                Credential::Token { token },
                options.clone(),
            )?),
            CredentialConfig::App {
                app_id,
                private_key_pem,
            } => {
                let key = AppKey::new(&app_id, &private_key_pem)?;
                Mode::App {
                    app: GithubClient::new(Credential::App(Arc::new(key)), options.clone())?,
                    discovery: tokio::sync::Mutex::new(Discovery {
                        at: None,
                        current: Vec::new(),
                        clients: HashMap::new(),
                    }),
                }
            }
        };
        Ok(Accounts {
            mode,
            options,
            organization,
        })
    }

    /// Whether the integration authenticates as a GitHub App.
    pub fn is_app(&self) -> bool {
        matches!(self.mode, Mode::App { .. })
    }

    /// The client authenticated as the App itself (JWT), if this is an App.
    pub fn app_client(&self) -> Option<&GithubClient> {
        match &self.mode {
            Mode::App { app, .. } => Some(app),
            Mode::Token(_) => None,
        }
    }

    /// Every credential, for `purpose`.
    pub async fn authenticated(&self, purpose: Purpose) -> Result<Vec<Authenticated>, GithubError> {
        let list = match &self.mode {
            Mode::Token(client) => vec![Authenticated {
                client: client.clone(),
                account: self.organization.clone(),
                installation: None,
            }],
            Mode::App { app, discovery } => {
                let mut discovery = discovery.lock().await;
                let fresh = discovery.at.is_some_and(|at| at.elapsed() < DISCOVERY_TTL);
                if !fresh {
                    let installations =
                        discover_installations(app, self.organization.as_deref()).await?;
                    let mut current = Vec::new();
                    for installation in installations {
                        let client = match discovery.clients.get(&installation.id) {
                            Some(client) => client.clone(),
                            None => {
                                let token = InstallationToken::new(installation.id, app.clone());
                                let client = GithubClient::new(
                                    Credential::Installation(Arc::new(token)),
                                    self.options.clone(),
                                )?;
                                discovery.clients.insert(installation.id, client.clone());
                                client
                            }
                        };
                        current.push(Authenticated {
                            client,
                            account: Some(installation.login.clone()),
                            installation: Some(installation),
                        });
                    }
                    discovery.current = current;
                    discovery.at = Some(Instant::now());
                }
                discovery.current.clone()
            }
        };
        Ok(list
            .into_iter()
            .map(|mut a| {
                a.client = a.client.with_purpose(purpose);
                a
            })
            .collect())
    }

    /// The credential that reaches `login` (webhooks): the token (unless it is scoped to another
    /// organization), or the installation on that account; `None` when none does.
    pub async fn for_account(
        &self,
        login: &str,
        purpose: Purpose,
    ) -> Result<Option<Authenticated>, GithubError> {
        let all = self.authenticated(purpose).await?;
        if !self.is_app() {
            // A token scoped to an organization reaches only that one.
            let outside = self
                .organization
                .as_deref()
                .is_some_and(|org| !org.eq_ignore_ascii_case(login));
            return Ok(all.into_iter().next().filter(|_| !outside));
        }
        Ok(all.into_iter().find(|a| {
            a.account
                .as_deref()
                .is_some_and(|acc| acc.eq_ignore_ascii_case(login))
        }))
    }
}

/// The organizations (and personal accounts) a credential reaches, filtered by the mapping's
/// options.
pub async fn organizations(
    auth: &Authenticated,
    options: &AppOptions,
) -> Result<Vec<Org>, GithubError> {
    let client = &auth.client;
    let org = |raw: Value, account_type: Option<&str>| -> Option<Org> {
        let login = raw.get("login")?.as_str()?.to_owned();
        let account_type = account_type
            .map(str::to_owned)
            .or_else(|| raw.get("type").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| "Organization".to_owned());
        let mut raw = raw;
        if let Some(map) = raw.as_object_mut() {
            map.entry("type")
                .or_insert_with(|| Value::from(account_type.clone()));
        }
        Some(Org {
            login,
            account_type,
            raw,
            auth: auth.clone(),
        })
    };
    let wanted = |login: &str| {
        options.organizations.is_empty()
            || options
                .organizations
                .iter()
                .any(|o| o.eq_ignore_ascii_case(login))
    };
    if let Some(account) = &auth.account {
        if auth.installation.is_some() && !wanted(account) {
            return Ok(Vec::new());
        }
        let raw = client
            .get_json(&client.url(&["users", account]), &[])
            .await?;
        return Ok(org(raw, None).into_iter().collect());
    }
    let mut orgs = Vec::new();
    if options.include_authenticated_user {
        let me = client.get_json(&client.url(&["user"]), &[]).await?;
        orgs.extend(org(me, Some("User")));
    }
    let pages: Vec<Vec<Value>> = client
        .paginate(&client.url(&["user", "orgs"]), &[], None)
        .try_collect()
        .await?;
    for raw in pages.into_iter().flatten() {
        if let Some(o) = org(raw, Some("Organization")) {
            if wanted(&o.login) {
                orgs.push(o);
            }
        }
    }
    Ok(orgs)
}
