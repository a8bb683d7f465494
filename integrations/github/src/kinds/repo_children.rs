//! The repository-scoped kinds that are one listing per repository (or per workflow, per
//! deployment): issue, branch, release, tag, workflow, workflow-run, environment, deployment,
//! deployment-status, dependabot-alert, code-scanning-alerts, secret-scanning-alerts and
//! collaborator. Every item gets `__repository` and `__organization` (tag and branch also
//! `__repository_object`).

use super::{
    Env, KindStream, empty_repository, failed, format_time, never, now, parse_time, repo_listing,
    says,
};
use crate::client::GithubError;
use crate::repos::Repo;
use crate::selectors::{
    BranchSelector, CodeScanningSelector, CollaboratorSelector, DependabotSelector,
    DeploymentSelector, EnvironmentSelector, IssueSelector, RepoScoped, SecretScanningSelector,
    WORKFLOW_RUN_STATUSES, WorkflowRunSelector, check_values, parse,
};
use futures::stream::{self, BoxStream, StreamExt as _, TryStreamExt as _};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

type Pages = BoxStream<'static, Result<Vec<Value>, GithubError>>;

/// Concurrent per-item requests within one repository (branch details, environment variables,
/// first commits), as the reference.
pub const ITEM_CONCURRENCY: usize = 10;

/// Issues are disabled on the repository (410).
fn issues_disabled(e: &GithubError) -> bool {
    says(e, &[410], &["disabled"])
}

/// Dependabot alerts are off, or unavailable (archived repositories).
pub fn dependabot_off(e: &GithubError) -> bool {
    says(
        e,
        &[403, 404],
        &["disabled", "not available", "not enabled"],
    )
}

/// Code scanning is not set up.
pub fn code_scanning_off(e: &GithubError) -> bool {
    says(
        e,
        &[403, 404],
        &[
            "no analysis found",
            "not enabled",
            "advanced security must be enabled",
            "disabled",
        ],
    )
}

/// Secret scanning is off.
pub fn secret_scanning_off(e: &GithubError) -> bool {
    says(
        e,
        &[403, 404],
        &["disabled", "not enabled", "advanced security"],
    )
}

/// The issue kind. Pull requests, which GitHub's issues endpoint also returns, are left out
/// (the reference synced them as issues).
pub fn issues(env: Env) -> KindStream {
    let selector: IssueSelector = match parse("issue", &env.selector) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let mut query = vec![("state", selector.state.as_str().to_owned())];
    if let Some(labels) = selector.labels.as_ref().filter(|l| !l.is_empty()) {
        query.push(("labels", labels.join(",")));
    }
    env.per_repo(selector.repo_search.clone(), move |repo| {
        repo_listing(
            &repo,
            repo.url(&["issues"]),
            query.clone(),
            None,
            false,
            issues_disabled,
        )
        .map_ok(|items| {
            items
                .into_iter()
                .filter(|i| i.get("pull_request").is_none())
                .collect()
        })
        .boxed()
    })
}

/// One issue by number (webhooks); `None` when it does not exist or is a pull request.
pub async fn issue(repo: &Repo, number: u64) -> Result<Option<Value>, GithubError> {
    let url = repo.url(&["issues", &number.to_string()]);
    Ok(repo
        .client()
        .get_optional(&url, &[], &[410])
        .await?
        .filter(|i| i.get("pull_request").is_none())
        .map(|i| repo.enrich(i, false)))
}

/// The release kind.
pub fn releases(env: Env) -> KindStream {
    let selector: RepoScoped = match parse("release", &env.selector) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    env.per_repo(selector.repo_search, |repo| {
        repo_listing(
            &repo,
            repo.url(&["releases"]),
            Vec::new(),
            None,
            false,
            never,
        )
    })
}

/// The tag kind.
pub fn tags(env: Env) -> KindStream {
    let selector: RepoScoped = match parse("tag", &env.selector) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    env.per_repo(selector.repo_search, |repo| {
        repo_listing(
            &repo,
            repo.url(&["tags"]),
            Vec::new(),
            None,
            true,
            empty_repository,
        )
    })
}

/// One tag by name (webhooks): `git/refs/tags/{tag}` as `{name, commit: <ref object>}`.
pub async fn tag(repo: &Repo, name: &str) -> Result<Option<Value>, GithubError> {
    let url = repo.url(&["git", "refs", "tags", name]);
    let Some(reference) = repo.client().get_optional(&url, &[], &[]).await? else {
        return Ok(None);
    };
    let item =
        json!({"name": name, "commit": reference.get("object").cloned().unwrap_or(Value::Null)});
    Ok(Some(repo.enrich(item, true)))
}

/// The branch kind.
pub fn branches(env: Env) -> KindStream {
    let selector: BranchSelector = match parse("branch", &env.selector) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let selector = Arc::new(selector);
    let outer = env.clone();
    outer.per_repo(selector.repo_search.clone(), move |repo| {
        let (env, selector) = (env.clone(), selector.clone());
        let names: Option<Vec<String>> = if selector.default_branch_only {
            Some(vec![repo.default_branch.clone()])
        } else if !selector.branch_names.is_empty() {
            Some(selector.branch_names.clone())
        } else {
            None
        };
        match names {
            Some(names) => {
                let repo2 = repo.clone();
                Box::pin(async_stream::try_stream! {
                    let found: Vec<Option<Value>> = stream::iter(names)
                        .map(|name| {
                            let (repo, env, selector) = (repo2.clone(), env.clone(), selector.clone());
                            async move {
                                match branch(&repo, &name).await? {
                                    Some(b) => Ok::<_, GithubError>(Some(complete_branch(&env, &repo, b, &selector).await)),
                                    None => Ok(None),
                                }
                            }
                        })
                        .buffered(ITEM_CONCURRENCY)
                        .try_collect()
                        .await?;
                    yield found.into_iter().flatten().collect::<Vec<_>>();
                }) as Pages
            }
            None => {
                let pages = repo.client().paginate(&repo.url(&["branches"]), &[], None);
                Box::pin(async_stream::try_stream! {
                    let mut pages = pages;
                    while let Some(page) = pages.next().await {
                        let page = match page {
                            Ok(p) => p,
                            Err(e) if empty_repository(&e) => break,
                            Err(e) => Err(e)?,
                        };
                        let detailed: Vec<Value> = stream::iter(page)
                            .map(|b| {
                                let (repo, env, selector) = (repo.clone(), env.clone(), selector.clone());
                                async move {
                                    let b = if selector.detailed {
                                        let name = b.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
                                        branch(&repo, &name).await?.unwrap_or(b)
                                    } else {
                                        b
                                    };
                                    Ok::<_, GithubError>(complete_branch(&env, &repo, b, &selector).await)
                                }
                            })
                            .buffered(ITEM_CONCURRENCY)
                            .try_collect()
                            .await?;
                        yield detailed;
                    }
                }) as Pages
            }
        }
    })
}

/// One branch's full object; `None` when it does not exist.
pub async fn branch(repo: &Repo, name: &str) -> Result<Option<Value>, GithubError> {
    let url = repo.url(&["branches", name]);
    repo.client().get_optional(&url, &[], &[]).await
}

/// A branch with `__is_default_branch`, the repository keys and, when asked,
/// `__protection_rules` (`null` when unprotected; degraded when GitHub refuses).
pub async fn complete_branch(
    env: &Env,
    repo: &Repo,
    mut branch: Value,
    selector: &BranchSelector,
) -> Value {
    let name = branch
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if selector.protection_rules {
        let url = repo.url(&["branches", &name, "protection"]);
        let rules = match repo.client().get_optional(&url, &[], &[]).await {
            Ok(rules) => rules.unwrap_or(Value::Null),
            Err(e) => {
                env.degraded(
                    "protectionRules",
                    &format!("{}/{}:{name}", repo.owner, repo.name),
                    &e,
                );
                Value::Null
            }
        };
        if let Some(map) = branch.as_object_mut() {
            map.insert("__protection_rules".into(), rules);
        }
    }
    if let Some(map) = branch.as_object_mut() {
        map.insert(
            "__is_default_branch".into(),
            Value::from(name == repo.default_branch),
        );
    }
    repo.enrich(branch, true)
}

/// The workflow kind.
pub fn workflows(env: Env) -> KindStream {
    let selector: RepoScoped = match parse("workflow", &env.selector) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    env.per_repo(selector.repo_search, |repo| {
        repo_listing(
            &repo,
            repo.url(&["actions", "workflows"]),
            Vec::new(),
            Some("workflows"),
            false,
            never,
        )
    })
}

/// The workflow-run kind: per workflow, its latest runs (one page of up to 100 per status),
/// created within `since` days or since `since_date`.
pub fn workflow_runs(env: Env) -> KindStream {
    let selector: WorkflowRunSelector = match parse("workflow-run", &env.selector) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    if let Some(statuses) = &selector.statuses {
        if let Err(e) = check_values("workflow-run", "statuses", statuses, &WORKFLOW_RUN_STATUSES) {
            return failed(e);
        }
    }
    let created = match (&selector.since, &selector.since_date) {
        (Some(days), _) => Some(format!(
            ">={}",
            format_time(now() - time::Duration::days(i64::from((*days).max(1))))
        )),
        (None, Some(date)) => match parse_time(date) {
            Some(_) => Some(format!(">={date}")),
            None => {
                return failed(crate::selectors::SelectorError {
                    kind: "workflow-run".into(),
                    reason: format!("field `since_date`: {date:?} is not an ISO date"),
                });
            }
        },
        (None, None) => None,
    };
    let statuses: Vec<Option<String>> = match &selector.statuses {
        Some(s) if !s.is_empty() => s.iter().cloned().map(Some).collect(),
        _ => vec![None],
    };
    env.per_repo(selector.repo_search.clone(), move |repo| {
        let workflows = repo.client().paginate(&repo.url(&["actions", "workflows"]), &[], Some("workflows"));
        let (statuses, created) = (statuses.clone(), created.clone());
        Box::pin(async_stream::try_stream! {
            let mut workflows = workflows;
            while let Some(page) = workflows.next().await {
                for workflow in page? {
                    let Some(id) = workflow.get("id").and_then(Value::as_u64) else { continue };
                    for status in &statuses {
                        let mut query = vec![("per_page", "100".to_owned())];
                        if let Some(s) = status {
                            query.push(("status", s.clone()));
                        }
                        if let Some(c) = &created {
                            query.push(("created", c.clone()));
                        }
                        let url = repo.url(&["actions", "workflows", &id.to_string(), "runs"]);
                        // The latest 100 runs per workflow and status: the first page only.
                        let mut runs = repo.client().paginate(&url, &query, Some("workflow_runs"));
                        if let Some(runs) = runs.next().await {
                            yield runs?.into_iter().map(|r| repo.enrich(r, false)).collect::<Vec<_>>();
                        }
                    }
                }
            }
        }) as Pages
    })
}

/// The environment kind.
pub fn environments(env: Env) -> KindStream {
    let selector: EnvironmentSelector = match parse("environment", &env.selector) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let variables = selector.include_variables;
    let outer = env.clone();
    outer.per_repo(selector.repo_search.clone(), move |repo| {
        let env = env.clone();
        let pages = repo_listing(
            &repo,
            repo.url(&["environments"]),
            Vec::new(),
            Some("environments"),
            false,
            never,
        );
        if !variables {
            return pages;
        }
        pages
            .and_then(move |page| {
                let (env, repo) = (env.clone(), repo.clone());
                async move {
                    Ok(stream::iter(page)
                        .map(|e| {
                            let (env, repo) = (env.clone(), repo.clone());
                            async move { with_variables(&env, &repo, e).await }
                        })
                        .buffered(ITEM_CONCURRENCY)
                        .collect::<Vec<_>>()
                        .await)
                }
            })
            .boxed()
    })
}

/// An environment with `__variables` (degraded to `null` on failure).
pub async fn with_variables(env: &Env, repo: &Repo, mut environment: Value) -> Value {
    let name = environment
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let url = repo.url(&["environments", &name, "variables"]);
    let pages: Result<Vec<Vec<Value>>, GithubError> = repo
        .client()
        .paginate(&url, &[], Some("variables"))
        .try_collect()
        .await;
    let value = match pages {
        Ok(p) => Value::Array(p.into_iter().flatten().collect()),
        Err(e) => {
            env.degraded(
                "variables",
                &format!("{}/{}:{name}", repo.owner, repo.name),
                &e,
            );
            Value::Null
        }
    };
    if let Some(map) = environment.as_object_mut() {
        map.insert("__variables".into(), value);
    }
    environment
}

fn deployment_query(selector: &DeploymentSelector) -> Vec<(&'static str, String)> {
    let mut query = Vec::new();
    if let Some(task) = &selector.task {
        query.push(("task", task.clone()));
    }
    if let Some(environment) = &selector.environment {
        query.push(("environment", environment.clone()));
    }
    query
}

/// The deployment kind.
pub fn deployments(env: Env) -> KindStream {
    let selector: DeploymentSelector = match parse("deployment", &env.selector) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let query = deployment_query(&selector);
    let first_commit = selector.enrich_with_first_commit;
    let outer = env.clone();
    outer.per_repo(selector.repo_search.clone(), move |repo| {
        let pages = repo_listing(&repo, repo.url(&["deployments"]), query.clone(), None, false, never);
        if !first_commit {
            return pages;
        }
        let env = env.clone();
        Box::pin(async_stream::try_stream! {
            let mut pages = pages;
            // The oldest deployment of each environment seen so far waits for its predecessor,
            // which may be on the next page.
            let mut pending: HashMap<String, Value> = HashMap::new();
            while let Some(page) = pages.next().await {
                let mut pairs: Vec<(Value, Option<String>)> = Vec::new();
                let mut by_env: Vec<(String, Vec<Value>)> = Vec::new();
                for d in page? {
                    let e = d.get("environment").and_then(Value::as_str).unwrap_or_default().to_owned();
                    match by_env.iter_mut().find(|(k, _)| *k == e) {
                        Some((_, list)) => list.push(d),
                        None => by_env.push((e, vec![d])),
                    }
                }
                for (e, mut list) in by_env {
                    list.sort_by_key(|d| std::cmp::Reverse(created(d)));
                    if let Some(tail) = pending.remove(&e) {
                        pairs.push((tail, sha(&list[0])));
                    }
                    let last = list.pop();
                    let mut iter = list.into_iter().peekable();
                    while let Some(current) = iter.next() {
                        let previous = iter.peek().or(last.as_ref()).and_then(sha);
                        pairs.push((current, previous));
                    }
                    if let Some(last) = last {
                        pending.insert(e, last);
                    }
                }
                yield first_commits(&env, &repo, pairs).await;
            }
            let rest: Vec<(Value, Option<String>)> = pending.into_values().map(|d| (d, None)).collect();
            if !rest.is_empty() {
                yield first_commits(&env, &repo, rest).await;
            }
        }) as Pages
    })
}

fn created(d: &Value) -> String {
    d.get("created_at")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn sha(d: &Value) -> Option<String> {
    d.get("sha").and_then(Value::as_str).map(str::to_owned)
}

async fn first_commits(env: &Env, repo: &Repo, pairs: Vec<(Value, Option<String>)>) -> Vec<Value> {
    stream::iter(pairs)
        .map(|(d, previous)| async move { first_commit(env, repo, d, previous).await })
        .buffered(ITEM_CONCURRENCY)
        .collect()
        .await
}

/// Adds `__firstCommit` (the earliest commit since the previous deployment to the same
/// environment, else the deployed commit) and `__commitCount`; degraded on failure.
async fn first_commit(
    env: &Env,
    repo: &Repo,
    mut deployment: Value,
    previous: Option<String>,
) -> Value {
    let Some(sha) = sha(&deployment) else {
        return deployment;
    };
    let client = repo.client();
    let result: Result<Option<(Value, u64)>, GithubError> = async {
        if let Some(previous) = previous.filter(|p| *p != sha) {
            let url = repo.url(&["compare", &format!("{previous}...{sha}")]);
            if let Some(comparison) = client.get_optional(&url, &[], &[]).await? {
                let commits = comparison
                    .get("commits")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let earliest = commits.into_iter().min_by_key(|c| {
                    c.pointer("/commit/committer/date")
                        .and_then(Value::as_str)
                        .unwrap_or("~")
                        .to_owned()
                });
                if let Some(earliest) = earliest {
                    let count = comparison
                        .get("total_commits")
                        .and_then(Value::as_u64)
                        .unwrap_or(1);
                    return Ok(Some((first_commit_item(earliest), count)));
                }
            }
        }
        let url = repo.url(&["commits", &sha]);
        Ok(client
            .get_optional(&url, &[], &[])
            .await?
            .map(|c| (first_commit_item(c), 1)))
    }
    .await;
    match result {
        Ok(Some((commit, count))) => {
            if let Some(map) = deployment.as_object_mut() {
                map.insert("__firstCommit".into(), commit);
                map.insert("__commitCount".into(), Value::from(count));
            }
        }
        Ok(None) => {}
        Err(e) => env.degraded(
            "firstCommit",
            &format!("{}/{}@{sha}", repo.owner, repo.name),
            &e,
        ),
    }
    deployment
}

fn first_commit_item(mut commit: Value) -> Value {
    let sha = commit.get("sha").cloned().unwrap_or(Value::Null);
    let date = commit
        .pointer("/commit/committer/date")
        .cloned()
        .unwrap_or(Value::Null);
    if let Some(map) = commit.as_object_mut() {
        map.insert("__sha".into(), sha);
        map.insert("__timestamp".into(), date);
    }
    commit
}

/// The deployment-status kind: the statuses of every deployment (filtered by `task` and
/// `environment`), each with `__deployment_id`.
pub fn deployment_statuses(env: Env) -> KindStream {
    let selector: DeploymentSelector = match parse("deployment-status", &env.selector) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let query = deployment_query(&selector);
    env.per_repo(selector.repo_search.clone(), move |repo| {
        let deployments = repo
            .client()
            .paginate(&repo.url(&["deployments"]), &query, None);
        Box::pin(async_stream::try_stream! {
            let mut deployments = deployments;
            while let Some(page) = deployments.next().await {
                for deployment in page? {
                    let Some(id) = deployment.get("id").and_then(Value::as_u64) else { continue };
                    let url = repo.url(&["deployments", &id.to_string(), "statuses"]);
                    let mut statuses = repo.client().paginate(&url, &[], None);
                    while let Some(statuses) = statuses.next().await {
                        yield statuses?
                            .into_iter()
                            .map(|mut s| {
                                if let Some(map) = s.as_object_mut() {
                                    map.insert("__deployment_id".into(), Value::from(id));
                                }
                                repo.enrich(s, false)
                            })
                            .collect::<Vec<_>>();
                    }
                }
            }
        }) as Pages
    })
}

/// The dependabot-alert kind.
pub fn dependabot_alerts(env: Env) -> KindStream {
    let selector: DependabotSelector = match parse("dependabot-alert", &env.selector) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let checks = [
        (
            "states",
            Some(&selector.states),
            &["auto_dismissed", "dismissed", "fixed", "open"][..],
        ),
        (
            "severity",
            selector.severity.as_ref(),
            &["low", "medium", "high", "critical"][..],
        ),
        (
            "ecosystems",
            selector.ecosystems.as_ref(),
            &[
                "composer", "go", "maven", "npm", "nuget", "pip", "pub", "rubygems", "rust",
            ][..],
        ),
    ];
    for (field, values, allowed) in checks {
        if let Some(values) = values {
            if let Err(e) = check_values("dependabot-alert", field, values, allowed) {
                return failed(e);
            }
        }
    }
    let mut query = Vec::new();
    if !selector.states.is_empty() {
        query.push(("state", selector.states.join(",")));
    }
    if let Some(s) = selector.severity.as_ref().filter(|s| !s.is_empty()) {
        query.push(("severity", s.join(",")));
    }
    if let Some(e) = selector.ecosystems.as_ref().filter(|e| !e.is_empty()) {
        query.push(("ecosystem", e.join(",")));
    }
    env.per_repo(selector.repo_search.clone(), move |repo| {
        repo_listing(
            &repo,
            repo.url(&["dependabot", "alerts"]),
            query.clone(),
            None,
            false,
            dependabot_off,
        )
    })
}

/// The code-scanning-alerts kind.
pub fn code_scanning_alerts(env: Env) -> KindStream {
    let selector: CodeScanningSelector = match parse("code-scanning-alerts", &env.selector) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    if let Err(e) = check_values(
        "code-scanning-alerts",
        "state",
        std::slice::from_ref(&selector.state),
        &["open", "closed", "dismissed", "fixed"],
    ) {
        return failed(e);
    }
    let mut query = vec![("state", selector.state.clone())];
    if let Some(severity) = &selector.severity {
        if let Err(e) = check_values(
            "code-scanning-alerts",
            "severity",
            std::slice::from_ref(severity),
            &[
                "critical", "high", "medium", "low", "warning", "note", "error",
            ],
        ) {
            return failed(e);
        }
        query.push(("severity", severity.clone()));
    }
    env.per_repo(selector.repo_search.clone(), move |repo| {
        repo_listing(
            &repo,
            repo.url(&["code-scanning", "alerts"]),
            query.clone(),
            None,
            false,
            code_scanning_off,
        )
    })
}

/// The secret-scanning-alerts kind.
pub fn secret_scanning_alerts(env: Env) -> KindStream {
    let selector: SecretScanningSelector = match parse("secret-scanning-alerts", &env.selector) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    if let Err(e) = check_values(
        "secret-scanning-alerts",
        "state",
        std::slice::from_ref(&selector.state),
        &["open", "resolved", "all"],
    ) {
        return failed(e);
    }
    let mut query = vec![("hide_secret", selector.hide_secret.to_string())];
    if selector.state != "all" {
        query.push(("state", selector.state.clone()));
    }
    env.per_repo(selector.repo_search.clone(), move |repo| {
        repo_listing(
            &repo,
            repo.url(&["secret-scanning", "alerts"]),
            query.clone(),
            None,
            false,
            secret_scanning_off,
        )
    })
}

/// The collaborator kind.
pub fn collaborators(env: Env) -> KindStream {
    let selector: CollaboratorSelector = match parse("collaborator", &env.selector) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let query = vec![("affiliation", selector.affiliation.as_str().to_owned())];
    env.per_repo(selector.repo_search.clone(), move |repo| {
        repo_listing(
            &repo,
            repo.url(&["collaborators"]),
            query.clone(),
            None,
            false,
            never,
        )
    })
}
