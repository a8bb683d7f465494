//! The organizations' webhooks, created at startup when Ocean has a base URL: one hook per
//! organization (`/orgs/{org}/hooks`) delivering every event the processors handle to
//! `{base_url}/integration/webhook`; personal accounts get one hook per repository they own.
//!
//! An existing hook (same URL) is brought up to date: its events when some are missing (the
//! reference never updated them, so hooks created by older versions missed events), and its
//! secret when one is configured — GitHub never shows a hook's secret, so it is written every
//! time — unless `skipWebhookPatching`. Failures are logged per organization, never fatal.

use crate::accounts::{Org, organizations};
use crate::client::{GithubClient, GithubError, Purpose};
use crate::integration::Shared;
use crate::selectors::AppOptions;
use futures::TryStreamExt as _;
use serde_json::{Value, json};

/// The events the integration's hooks subscribe to.
pub const HOOK_EVENTS: [&str; 17] = [
    "repository",
    "pull_request",
    "issues",
    "release",
    "create",
    "delete",
    "push",
    "deployment",
    "deployment_status",
    "workflow_run",
    "dependabot_alert",
    "code_scanning_alert",
    "organization",
    "team",
    "membership",
    "member",
    "secret_scanning_alert",
];

/// Events a repository hook cannot subscribe to (organization-level events).
pub const ORG_ONLY_EVENTS: [&str; 4] = ["organization", "team", "membership", "member"];

/// What was done to one hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookOutcome {
    /// A hook was created.
    Created,
    /// The existing hook was updated (events and/or secret).
    Updated,
    /// The existing hook was already right, or patching is off.
    Unchanged,
}

/// Creates or updates the hooks of every organization the credentials reach.
pub async fn ensure_all(shared: &Shared, url: &str) {
    let auths = match shared.accounts.authenticated(Purpose::Live).await {
        Ok(a) => a,
        Err(error) => {
            tracing::error!(%error, "Could not list the GitHub credentials: no webhooks were created");
            return;
        }
    };
    for auth in auths {
        // The mapping's options are not known at startup: every organization the credential
        // reaches gets its hook.
        let orgs = match organizations(&auth, &AppOptions::default()).await {
            Ok(o) => o,
            Err(error) => {
                tracing::error!(%error, scope = auth.client.scope(), "Could not list the organizations: no webhooks were created for them");
                continue;
            }
        };
        for org in orgs {
            match ensure(shared, &org, url).await {
                Ok(outcomes) => {
                    tracing::info!(organization = %org.login, ?outcomes, "GitHub webhook in place")
                }
                Err(error) => {
                    tracing::error!(organization = %org.login, %error, "Could not create or update the GitHub webhook")
                }
            }
        }
    }
}

/// Creates or updates the hook(s) of one organization or personal account.
pub async fn ensure(
    shared: &Shared,
    org: &Org,
    url: &str,
) -> Result<Vec<HookOutcome>, GithubError> {
    let client = &org.auth.client;
    if !org.is_user() {
        let hooks = client.url(&["orgs", &org.login, "hooks"]);
        return Ok(vec![
            ensure_hook(shared, client, &hooks, url, &HOOK_EVENTS).await?,
        ]);
    }
    let events: Vec<&str> = HOOK_EVENTS
        .iter()
        .copied()
        .filter(|e| !ORG_ONLY_EVENTS.contains(e))
        .collect();
    let repos: Vec<Vec<Value>> = if org.auth.installation.is_some() {
        client
            .paginate(
                &client.url(&["installation", "repositories"]),
                &[],
                Some("repositories"),
            )
            .try_collect()
            .await?
    } else {
        client
            .paginate(
                &client.url(&["user", "repos"]),
                &[("affiliation", "owner".into())],
                None,
            )
            .try_collect()
            .await?
    };
    let mut outcomes = Vec::new();
    for repo in repos.into_iter().flatten() {
        let Some(name) = repo.get("name").and_then(Value::as_str) else {
            continue;
        };
        let owner = repo
            .pointer("/owner/login")
            .and_then(Value::as_str)
            .unwrap_or(&org.login);
        let hooks = client.url(&["repos", owner, name, "hooks"]);
        outcomes.push(ensure_hook(shared, client, &hooks, url, &events).await?);
    }
    Ok(outcomes)
}

async fn ensure_hook(
    shared: &Shared,
    client: &GithubClient,
    hooks_url: &str,
    url: &str,
    events: &[&str],
) -> Result<HookOutcome, GithubError> {
    let secret = shared.config.webhook_secret();
    let mut config = json!({"url": url, "content_type": "json", "insecure_ssl": "0"});
    if let Some(secret) = secret {
        config["secret"] = Value::from(secret.expose());
    }
    let pages: Vec<Vec<Value>> = client.paginate(hooks_url, &[], None).try_collect().await?;
    let existing = pages
        .into_iter()
        .flatten()
        .find(|h| h.pointer("/config/url").and_then(Value::as_str) == Some(url));
    let Some(hook) = existing else {
        client
            .post_json(
                hooks_url,
                &json!({"name": "web", "active": true, "events": events, "config": config}),
                // A retried creation could create a second hook: sent once; the next start
                // finds the hook if this one was made after all.
                false,
            )
            .await?;
        return Ok(HookOutcome::Created);
    };
    if shared.config.skip_webhook_patching {
        return Ok(HookOutcome::Unchanged);
    }
    let current: Vec<&str> = hook
        .get("events")
        .and_then(Value::as_array)
        .map(|e| e.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let has_all = current.contains(&"*") || events.iter().all(|e| current.contains(e));
    let has_secret = hook.pointer("/config/secret").is_some_and(|s| !s.is_null());
    let needs_secret = secret.is_some() || has_secret;
    if has_all && !needs_secret && hook.get("active").and_then(Value::as_bool) != Some(false) {
        return Ok(HookOutcome::Unchanged);
    }
    let Some(id) = hook.get("id").and_then(Value::as_u64) else {
        return Ok(HookOutcome::Unchanged);
    };
    let mut merged: Vec<String> = current.iter().map(|e| (*e).to_owned()).collect();
    for e in events {
        if !merged.iter().any(|m| m == e || m == "*") {
            merged.push((*e).to_owned());
        }
    }
    let hook_url = format!("{}/{id}", hooks_url.trim_end_matches('/'));
    client
        .patch_json(
            &hook_url,
            &json!({"active": true, "events": merged, "config": config}),
        )
        .await?;
    Ok(HookOutcome::Updated)
}
