//! The kinds: for each, the listing the reference makes, with its selector's options and
//! enrichment keys. Each kind is a stream of pages of raw GitHub items.
//!
//! Fail closed: a failed primary listing (the organizations, the repositories, a repository's
//! pull requests, …) fails the kind — its items already yielded stay, and the resync deletes
//! nothing. The reference turned 401/403/404 answers into empty lists, which deleted users'
//! entities during a GitHub outage. Only two things are not failures here:
//! - answers that mean "this repository has none" for a feature it does not use (issues
//!   disabled: 410; an empty repository: 409; Dependabot, code or secret scanning not enabled),
//!   recognised by status *and* GitHub's message;
//! - optional enrichments (included files, relations, protection rules, SAML emails, …): they
//!   degrade with a warning and a count in [`crate::client::Stats`], and the item is synced
//!   without them.

pub mod files;
pub mod members;
pub mod organization;
pub mod pulls;
pub mod pulls_graphql;
pub mod repo_children;
pub mod repository;

use crate::accounts::{Accounts, Org, organizations};
use crate::client::{GithubError, Purpose, Stats};
use crate::repos::{Failures, Repo};
use crate::selectors::{AppOptions, RepoSearch, SelectorError};
use futures::stream::{self, BoxStream, StreamExt as _};
use serde_json::Value;
use std::sync::Arc;

/// Every kind, in the order the reference's `ObjectKind` lists them.
pub const KINDS: [&str; 22] = [
    "organization",
    "repository",
    "folder",
    "user",
    "team",
    "workflow",
    "workflow-run",
    "pull-request",
    "issue",
    "release",
    "tag",
    "branch",
    "environment",
    "deployment",
    "deployment-status",
    "dependabot-alert",
    "code-scanning-alerts",
    "secret-scanning-alerts",
    "file",
    "collaborator",
    "skill",
    "plugin",
];

/// What can fail while fetching a kind.
#[derive(Debug, thiserror::Error)]
pub enum KindError {
    /// The selector or the mapping options cannot be used.
    #[error(transparent)]
    Selector(#[from] SelectorError),
    /// A GitHub request failed.
    #[error(transparent)]
    Github(#[from] GithubError),
    /// Some repositories' listings failed (the others were synced).
    #[error("{count} repositories could not be listed, so nothing of this kind is deleted: {}", .first.join("; "))]
    Repositories {
        /// How many.
        count: usize,
        /// The first few, each naming the repository and the request.
        first: Vec<String>,
    },
}

/// A kind's pages.
pub type KindStream = BoxStream<'static, Result<Vec<Value>, KindError>>;

/// A stream of one error.
pub fn failed(e: impl Into<KindError>) -> KindStream {
    let e = e.into();
    stream::once(async move { Err(e) }).boxed()
}

/// What every kind's fetcher works with.
#[derive(Clone)]
pub struct Env {
    /// The credentials.
    pub accounts: Arc<Accounts>,
    /// Shared counters.
    pub stats: Arc<Stats>,
    /// The mapping's top-level options.
    pub options: AppOptions,
    /// The resource's selector.
    pub selector: Value,
    /// The kind.
    pub kind: String,
    /// Resync or live event.
    pub purpose: Purpose,
}

impl Env {
    /// The organizations (and personal accounts) of every credential.
    pub async fn orgs(&self) -> Result<Vec<Org>, GithubError> {
        let mut all = Vec::new();
        for auth in self.accounts.authenticated(self.purpose).await? {
            all.extend(organizations(&auth, &self.options).await?);
        }
        Ok(all)
    }

    /// Counts and logs an optional enrichment that failed; the item goes on without it.
    pub fn degraded(&self, enrichment: &str, target: &str, error: &GithubError) {
        tracing::warn!(
            kind = %self.kind,
            enrichment,
            target,
            %error,
            "An optional enrichment failed; the item is synced without it"
        );
        self.stats.degraded(&format!("{}/{enrichment}", self.kind));
    }

    /// For each repository of every organization, `children(repo)` (see
    /// [`crate::repos::for_each_repo`]); repository failures fail the kind at its end.
    pub fn per_repo<F>(&self, search: Option<RepoSearch>, children: F) -> KindStream
    where
        F: Fn(Repo) -> BoxStream<'static, Result<Vec<Value>, GithubError>> + Send + Sync + 'static,
    {
        let env = self.clone();
        let failures = Failures::default();
        let end = failures.clone();
        let body = async_stream::try_stream! {
            let orgs = env.orgs().await?;
            let mut pages = crate::repos::for_each_repo(orgs, env.options.clone(), search, failures, children);
            while let Some(page) = pages.next().await {
                let page = page?;
                if !page.is_empty() {
                    yield page;
                }
            }
            let failed = end.take();
            if !failed.is_empty() {
                Err(KindError::Repositories {
                    count: failed.len(),
                    first: failed.into_iter().take(3).collect(),
                })?;
            }
        };
        Box::pin(body)
    }

    /// For each organization (not personal accounts, when `orgs_only`), `children(org)`, one
    /// organization after another.
    pub fn per_org<F>(&self, orgs_only: bool, children: F) -> KindStream
    where
        F: Fn(Org) -> BoxStream<'static, Result<Vec<Value>, KindError>> + Send + Sync + 'static,
    {
        let env = self.clone();
        Box::pin(async_stream::try_stream! {
            let orgs = env.orgs().await?;
            for org in orgs {
                if orgs_only && org.is_user() {
                    continue;
                }
                let mut pages = children(org);
                while let Some(page) = pages.next().await {
                    let page = page?;
                    if !page.is_empty() {
                        yield page;
                    }
                }
            }
        })
    }
}

/// A repository's child listing, each item enriched with `__repository`/`__organization`
/// (and `__repository_object` when `with_object`). Errors that `none` says mean "this
/// repository has none" end the listing with no items.
pub fn repo_listing(
    repo: &Repo,
    url: String,
    query: Vec<(&'static str, String)>,
    envelope: Option<&'static str>,
    with_object: bool,
    none: fn(&GithubError) -> bool,
) -> BoxStream<'static, Result<Vec<Value>, GithubError>> {
    let repo = repo.clone();
    let pages = repo.client().paginate(&url, &query, envelope);
    Box::pin(async_stream::try_stream! {
        let mut pages = pages;
        while let Some(page) = pages.next().await {
            match page {
                Ok(items) => {
                    yield items.into_iter().map(|i| repo.enrich(i, with_object)).collect::<Vec<_>>();
                }
                Err(e) if none(&e) => {
                    tracing::debug!(repository = %repo.name, error = %e, "treated as no items");
                    break;
                }
                Err(e) => Err(e)?,
            }
        }
    })
}

/// No error means "none".
pub fn never(_: &GithubError) -> bool {
    false
}

/// Whether GitHub's message for an error status contains any of `needles`
/// (case-insensitive).
pub fn says(error: &GithubError, statuses: &[u16], needles: &[&str]) -> bool {
    let Some(status) = error.status() else {
        return false;
    };
    if !statuses.contains(&status.as_u16()) {
        return false;
    }
    let message = error.message().unwrap_or_default().to_ascii_lowercase();
    needles
        .iter()
        .any(|n| message.contains(&n.to_ascii_lowercase()))
}

/// An empty repository (409 "Git Repository is empty.").
pub fn empty_repository(error: &GithubError) -> bool {
    says(error, &[409], &["empty"])
}

/// The current time as RFC 3339.
pub fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// Parses an RFC 3339 timestamp or a date (`2024-01-31`, midnight UTC).
pub fn parse_time(text: &str) -> Option<time::OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text.get(..10)?, &format)
        .ok()
        .map(|d| d.midnight().assume_utc())
}

/// A timestamp as GitHub writes them (`2024-01-31T12:00:00Z`).
pub fn format_time(t: time::OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// The kind's pages for a resource, or `None` for a kind this integration does not serve.
pub fn pages(env: Env) -> Option<KindStream> {
    let stream = match env.kind.as_str() {
        "organization" => organization::organizations(env),
        "repository" => repository::repositories(env),
        "user" => members::users(env),
        "team" => members::teams(env),
        "pull-request" => pulls::pull_requests(env),
        "issue" => repo_children::issues(env),
        "branch" => repo_children::branches(env),
        "release" => repo_children::releases(env),
        "tag" => repo_children::tags(env),
        "workflow" => repo_children::workflows(env),
        "workflow-run" => repo_children::workflow_runs(env),
        "environment" => repo_children::environments(env),
        "deployment" => repo_children::deployments(env),
        "deployment-status" => repo_children::deployment_statuses(env),
        "dependabot-alert" => repo_children::dependabot_alerts(env),
        "code-scanning-alerts" => repo_children::code_scanning_alerts(env),
        "secret-scanning-alerts" => repo_children::secret_scanning_alerts(env),
        "collaborator" => repo_children::collaborators(env),
        "file" => files::files(env),
        "folder" => files::folders(env),
        "skill" => files::skills(env),
        "plugin" => files::plugins(env),
        _ => return None,
    };
    Some(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_and_format_like_github() {
        let t = parse_time("2024-01-31T12:30:00Z").unwrap();
        assert_eq!(format_time(t), "2024-01-31T12:30:00Z");
        let d = parse_time("2024-02-01").unwrap();
        assert_eq!(format_time(d), "2024-02-01T00:00:00Z");
        assert!(parse_time("yesterday").is_none());
    }
}
