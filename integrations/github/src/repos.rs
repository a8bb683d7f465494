//! The repositories of an organization or personal account, page by page, and the fan-out every
//! repository-scoped kind uses: for each repository, a listing of its children, a bounded
//! number of repositories at a time.
//!
//! Repositories are listed again for every kind rather than cached for the process (as the
//! reference does): with conditional requests an unchanged listing costs no quota, and memory
//! stays bounded by the page size instead of growing with the organization.

use crate::accounts::Org;
use crate::client::{GithubClient, GithubError};
use crate::selectors::{AppOptions, RepoSearch, RepositoryType};
use futures::stream::{self, BoxStream, StreamExt as _};
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// Repositories whose children are fetched at once (the reference's batch size).
pub const REPO_CONCURRENCY: usize = 10;

/// A page of repositories of `org`: the search API when `search` is set, else the
/// organization's (or the personal account's) list, filtered by `repositoryType`.
pub fn repositories(
    org: &Org,
    options: &AppOptions,
    search: Option<&RepoSearch>,
) -> BoxStream<'static, Result<Vec<Value>, GithubError>> {
    let client = &org.auth.client;
    let kind = options.repository_type;
    let pages = if let Some(search) = search {
        let q = format!("org:{} {}", org.login, search.query.trim());
        client.paginate(
            &client.url(&["search", "repositories"]),
            &[("q", q.trim().to_owned())],
            Some("items"),
        )
    } else if !org.is_user() {
        client.paginate(
            &client.url(&["orgs", &org.login, "repos"]),
            &[("type", kind.as_str().to_owned())],
            None,
        )
    } else if org.auth.installation.is_some() {
        // An App installed on a personal account: the repositories it was granted.
        client.paginate(
            &client.url(&["installation", "repositories"]),
            &[],
            Some("repositories"),
        )
    } else {
        client.paginate(
            &client.url(&["user", "repos"]),
            &[
                ("affiliation", "owner".to_owned()),
                ("visibility", kind.as_str().to_owned()),
            ],
            None,
        )
    };
    pages
        .map(move |page| page.map(|repos| keep(repos, kind)))
        .boxed()
}

fn keep(repos: Vec<Value>, kind: RepositoryType) -> Vec<Value> {
    repos.into_iter().filter(|r| kind.admits(r)).collect()
}

/// A repository's name and owner as the child endpoints need them.
#[derive(Debug, Clone)]
pub struct Repo {
    /// The owner's login.
    pub owner: String,
    /// The repository's name.
    pub name: String,
    /// The default branch.
    pub default_branch: String,
    /// GitHub's object for it.
    pub raw: Arc<Value>,
    /// The organization it was listed under.
    pub org: Arc<Org>,
}

impl Repo {
    /// The repository from GitHub's object, listed under `org`.
    pub fn new(raw: Value, org: Arc<Org>) -> Option<Repo> {
        let name = raw.get("name")?.as_str()?.to_owned();
        let owner = raw
            .pointer("/owner/login")
            .and_then(Value::as_str)
            .unwrap_or(&org.login)
            .to_owned();
        let default_branch = raw
            .get("default_branch")
            .and_then(Value::as_str)
            .unwrap_or("main")
            .to_owned();
        Some(Repo {
            owner,
            name,
            default_branch,
            raw: Arc::new(raw),
            org,
        })
    }

    /// The client of the credential that listed it.
    pub fn client(&self) -> &GithubClient {
        &self.org.auth.client
    }

    /// The REST URL of a path under `/repos/{owner}/{name}/`.
    pub fn url(&self, rest: &[&str]) -> String {
        let mut segments = vec!["repos", self.owner.as_str(), self.name.as_str()];
        segments.extend_from_slice(rest);
        self.client().url(&segments)
    }

    /// Adds `__repository` (the name) and `__organization` (the login) to an item, and
    /// `__repository_object` when `with_object`.
    pub fn enrich(&self, mut item: Value, with_object: bool) -> Value {
        if let Some(map) = item.as_object_mut() {
            map.insert("__repository".into(), Value::from(self.name.clone()));
            map.insert("__organization".into(), Value::from(self.org.login.clone()));
            if with_object {
                map.insert("__repository_object".into(), (*self.raw).clone());
            }
        }
        item
    }
}

/// Failures of single repositories, kept while the others go on, reported when the kind ends.
#[derive(Debug, Clone, Default)]
pub struct Failures(Arc<Mutex<Vec<String>>>);

impl Failures {
    /// Records one failure.
    pub fn push(&self, message: String) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(message);
    }

    /// The failures so far.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// For every repository of every organization, `children(repo)`, [`REPO_CONCURRENCY`]
/// repositories at a time. A repository whose children fail is recorded in `failures` and the
/// others go on (the kind fails at its end); a failed organization or repository listing ends
/// the stream with that error.
pub fn for_each_repo<F>(
    orgs: Vec<Org>,
    options: AppOptions,
    search: Option<RepoSearch>,
    failures: Failures,
    children: F,
) -> BoxStream<'static, Result<Vec<Value>, GithubError>>
where
    F: Fn(Repo) -> BoxStream<'static, Result<Vec<Value>, GithubError>> + Send + Sync + 'static,
{
    let children = Arc::new(children);
    stream::iter(orgs)
        .map(move |org| {
            let org = Arc::new(org);
            let children = children.clone();
            let failures = failures.clone();
            repositories(&org, &options, search.as_ref())
                .map(move |page| -> BoxStream<'static, Result<Vec<Value>, GithubError>> {
                    match page {
                        Err(e) => stream::once(async move { Err(e) }).boxed(),
                        Ok(repos) => {
                            let org = org.clone();
                            let children = children.clone();
                            let failures = failures.clone();
                            stream::iter(repos.into_iter().filter_map(move |r| Repo::new(r, org.clone())))
                                .map(move |repo| {
                                    let label = format!("{}/{}", repo.owner, repo.name);
                                    let failures = failures.clone();
                                    children(repo)
                                        .filter_map(move |page| {
                                            let out = match page {
                                                Ok(items) => Some(Ok(items)),
                                                Err(e) => {
                                                    tracing::error!(repository = %label, error = %e, "A repository's listing failed");
                                                    failures.push(format!("{label}: {e}"));
                                                    None
                                                }
                                            };
                                            async move { out }
                                        })
                                        .boxed()
                                })
                                .flatten_unordered(REPO_CONCURRENCY)
                                .boxed()
                        }
                    }
                })
                .flatten()
                .boxed()
        })
        .flatten()
        .boxed()
}
