//! `pull-request` with `api: graphql`: one GraphQL query per page of a repository's pull
//! requests, with the reference's field set (less `excludeGraphqlFields`), normalised to look
//! like REST items (`assignees`, `labels` flattened; `requested_reviewers`; `comments`,
//! `review_comments` and `commits` as counts; `state` and `mergeable_state` lower-cased;
//! `mergeable` a boolean; `firstCommit` with `enrichWithFirstCommit`). Each item gets
//! `__repository`, `__repository_object` and `__organization`.
//!
//! A gateway error makes the client ask for smaller pages (see [`crate::client`]); the
//! reference's further fallback (dropping field tiers, then fetching them per pull request) is
//! not reproduced.

use super::pulls::ClosedWindow;
use super::{Env, KindStream, failed, parse_time};
use crate::client::GithubError;
use crate::repos::Repo;
use crate::selectors::{PrState, PullRequestSelector};
use futures::stream::{BoxStream, StreamExt as _};
use serde_json::{Value, json};
use std::sync::Arc;

const REQUIRED: &str = "url id fullDatabaseId number title";

/// The optional fields: name and selection.
fn optional_fields(first_commit: bool) -> Vec<(&'static str, &'static str)> {
    vec![
        ("state", "state"),
        ("locked", "locked"),
        ("body", "body"),
        ("createdAt", "createdAt"),
        ("updatedAt", "updatedAt"),
        ("closedAt", "closedAt"),
        ("mergedAt", "mergedAt"),
        ("isDraft", "isDraft"),
        ("headRefName", "headRefName"),
        ("baseRefName", "baseRefName"),
        ("mergeable", "mergeable"),
        ("mergeStateStatus", "mergeStateStatus"),
        ("reviewDecision", "reviewDecision"),
        ("authorAssociation", "authorAssociation"),
        ("activeLockReason", "activeLockReason"),
        ("merged", "merged"),
        ("permalink", "permalink"),
        ("canBeRebased", "canBeRebased"),
        ("closed", "closed"),
        ("maintainerCanModify", "maintainerCanModify"),
        ("lastEditedAt", "lastEditedAt"),
        ("additions", "additions"),
        ("deletions", "deletions"),
        ("changedFiles", "changedFiles"),
        ("headRefOid", "headRefOid"),
        (
            "headRef",
            "headRef { name target { ... on Commit { oid } } }",
        ),
        (
            "baseRef",
            "baseRef { name target { ... on Commit { oid } } }",
        ),
        ("author", "author { login avatarUrl url __typename }"),
        ("mergedBy", "mergedBy { login avatarUrl url __typename }"),
        ("mergeCommit", "mergeCommit { oid }"),
        ("potentialMergeCommit", "potentialMergeCommit { oid }"),
        (
            "assignees",
            "assignees(first: 10) { nodes { login avatarUrl url __typename } }",
        ),
        (
            "reviewRequests",
            "reviewRequests(first: 10) { nodes { requestedReviewer { __typename ... on User { login avatarUrl url } ... on Team { name slug } } } }",
        ),
        (
            "labels",
            "labels(first: 10) { nodes { id url name color isDefault description } }",
        ),
        (
            "milestone",
            "milestone { number title description dueOn url }",
        ),
        ("comments", "comments { totalCount }"),
        ("reviewThreads", "reviewThreads { totalCount }"),
        (
            "reviews",
            "reviews(first: 10) { nodes { state body createdAt author { login avatarUrl url __typename } } }",
        ),
        ("statusCheckRollup", "statusCheckRollup { state }"),
        (
            "commits",
            if first_commit {
                "commits(first: 1) { totalCount nodes { commit { oid committedDate } } }"
            } else {
                "commits { totalCount }"
            },
        ),
        (
            "autoMergeRequest",
            "autoMergeRequest { enabledAt mergeMethod commitHeadline commitBody }",
        ),
    ]
}

/// The selection of one pull request.
pub fn fields(selector: &PullRequestSelector) -> String {
    let mut out = String::from(REQUIRED);
    for (name, selection) in optional_fields(selector.enrich_with_first_commit) {
        if !selector.exclude_graphql_fields.iter().any(|e| e == name) {
            out.push(' ');
            out.push_str(selection);
        }
    }
    out
}

/// The list query.
pub fn list_query(selector: &PullRequestSelector) -> String {
    format!(
        "query PullRequests($owner: String!, $name: String!, $first: Int = 25, $after: String, $states: [PullRequestState!], $orderField: IssueOrderField!) {{
  repository(owner: $owner, name: $name) {{
    pullRequests(first: $first, after: $after, states: $states, orderBy: {{field: $orderField, direction: DESC}}) {{
      nodes {{ {} }}
      pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}",
        fields(selector)
    )
}

/// The single pull request query (webhooks).
pub fn single_query(selector: &PullRequestSelector) -> String {
    format!(
        "query PullRequest($owner: String!, $name: String!, $number: Int!) {{
  repository(owner: $owner, name: $name) {{ pullRequest(number: $number) {{ {} }} }}
}}",
        fields(selector)
    )
}

/// A GraphQL pull request made to look like a REST one, and enriched.
pub fn normalize(mut pr: Value, repo: &Repo, first_commit: bool) -> Value {
    let Some(map) = pr.as_object_mut() else {
        return pr;
    };
    let nodes = |v: Option<&Value>| {
        v.and_then(|v| v.get("nodes"))
            .cloned()
            .unwrap_or_else(|| Value::Array(Vec::new()))
    };
    if map.contains_key("assignees") {
        let v = nodes(map.get("assignees"));
        map.insert("assignees".into(), v);
    }
    if map.contains_key("reviewRequests") {
        let requests = nodes(map.get("reviewRequests"));
        let reviewers: Vec<Value> = requests
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| {
                let r = n.get("requestedReviewer")?;
                match r.get("__typename")?.as_str()? {
                    "User" => Some(json!({"login": r.get("login"), "type": "User"})),
                    "Team" => {
                        Some(json!({"name": r.get("name"), "slug": r.get("slug"), "type": "Team"}))
                    }
                    _ => None,
                }
            })
            .collect();
        map.insert("reviewRequests".into(), requests);
        map.insert("requested_reviewers".into(), Value::Array(reviewers));
    }
    if map.contains_key("labels") {
        let v = nodes(map.get("labels"));
        map.insert("labels".into(), v);
    }
    let count = |v: Option<&Value>| {
        v.and_then(|v| v.get("totalCount"))
            .cloned()
            .unwrap_or(Value::Null)
    };
    if map.contains_key("comments") {
        let v = count(map.get("comments"));
        map.insert("comments".into(), v);
    }
    if map.contains_key("reviewThreads") {
        let v = count(map.get("reviewThreads"));
        map.insert("review_comments".into(), v);
    }
    if let Some(commits) = map.get("commits").cloned() {
        if first_commit {
            let first = commits
                .pointer("/nodes/0/commit")
                .cloned()
                .unwrap_or_else(|| json!({}));
            map.insert("firstCommit".into(), first);
        }
        map.insert("commits".into(), count(Some(&commits)));
    }
    let lower = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .map(|s| Value::from(s.to_ascii_lowercase()))
            .unwrap_or(Value::Null)
    };
    if map.contains_key("state") {
        let v = lower(map.get("state"));
        map.insert("state".into(), v);
    }
    if map.contains_key("mergeStateStatus") {
        let v = lower(map.get("mergeStateStatus"));
        map.insert("mergeable_state".into(), v);
    }
    if let Some(m) = map.get("mergeable").cloned() {
        map.insert(
            "mergeable".into(),
            Value::from(m.as_str() == Some("MERGEABLE")),
        );
    }
    repo.enrich(pr, true)
}

/// The pull-request kind through GraphQL.
pub fn pull_requests(env: Env, selector: PullRequestSelector) -> KindStream {
    let window = match ClosedWindow::of(&selector) {
        Ok(w) => Arc::new(w),
        Err(e) => return failed(e),
    };
    let query: Arc<str> = Arc::from(list_query(&selector));
    let states = selector.states.clone();
    let first_commit = selector.enrich_with_first_commit;
    env.per_repo(selector.repo_search.clone(), move |repo| {
        let mut streams: Vec<BoxStream<'static, Result<Vec<Value>, GithubError>>> = Vec::new();
        if states.contains(&PrState::Open) {
            streams.push(listing(
                repo.clone(),
                query.clone(),
                &["OPEN"],
                "CREATED_AT",
                None,
                first_commit,
            ));
        }
        if states.contains(&PrState::Closed) {
            streams.push(listing(
                repo.clone(),
                query.clone(),
                &["CLOSED", "MERGED"],
                "UPDATED_AT",
                Some(window.clone()),
                first_commit,
            ));
        }
        futures::stream::iter(streams).flatten().boxed()
    })
}

fn listing(
    repo: Repo,
    query: Arc<str>,
    states: &'static [&'static str],
    order: &'static str,
    window: Option<Arc<ClosedWindow>>,
    first_commit: bool,
) -> BoxStream<'static, Result<Vec<Value>, GithubError>> {
    Box::pin(async_stream::try_stream! {
        let client = repo.client().clone();
        let mut after: Option<String> = None;
        let mut taken = 0u64;
        loop {
            let data = client
                .graphql(
                    "PullRequests",
                    &query,
                    json!({"owner": repo.owner, "name": repo.name, "states": states, "orderField": order, "after": after}),
                    &[],
                )
                .await?;
            let Some(connection) = data.pointer("/repository/pullRequests").filter(|c| !c.is_null()) else {
                break;
            };
            let nodes = connection.get("nodes").and_then(Value::as_array).cloned().unwrap_or_default();
            let has_next = connection.pointer("/pageInfo/hasNextPage").and_then(Value::as_bool) == Some(true);
            after = connection.pointer("/pageInfo/endCursor").and_then(Value::as_str).map(str::to_owned);
            let mut past = false;
            let mut kept = Vec::new();
            for node in nodes.into_iter().filter(|n| !n.is_null()) {
                if let Some(w) = &window {
                    let updated = node.get("updatedAt").and_then(Value::as_str).and_then(parse_time);
                    if updated.is_some_and(|t| t < w.cutoff) && !w.on_closed_at {
                        past = true;
                        continue;
                    }
                    let field = if w.on_closed_at { "closedAt" } else { "updatedAt" };
                    let admitted = node.get(field).and_then(Value::as_str).and_then(parse_time).is_some_and(|t| t >= w.cutoff);
                    if !admitted {
                        continue;
                    }
                    if w.max.is_some_and(|m| taken >= m) {
                        past = true;
                        break;
                    }
                    taken += 1;
                }
                kept.push(normalize(node, &repo, first_commit));
            }
            if !kept.is_empty() {
                yield kept;
            }
            if past || !has_next || after.is_none() {
                break;
            }
        }
    })
}
