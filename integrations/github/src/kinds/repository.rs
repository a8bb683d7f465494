//! `repository`: every repository of every organization (or a `repoSearch`), with the
//! selector's optional enrichments — `includedFiles` (`__includedFiles[path]`, the decoded text,
//! `null` when the file does not exist) and `includedRelations` (`__collaborators`, `__teams`,
//! `__sbom`, `custom_properties`, `__pages`), fetched for [`REPO_CONCURRENCY`] repositories at
//! a time.
//!
//! [`REPO_CONCURRENCY`]: crate::repos::REPO_CONCURRENCY

use super::{Env, KindStream, failed};
use crate::client::{GithubClient, GithubError};
use crate::repos::{REPO_CONCURRENCY, Repo};
use crate::selectors::{IncludedRelations, RepositorySelector, parse};
use futures::stream::{self, StreamExt as _, TryStreamExt as _};
use serde_json::{Map, Value};
use std::sync::Arc;

/// The repository kind.
pub fn repositories(env: Env) -> KindStream {
    let selector: RepositorySelector = match parse("repository", &env.selector) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let relations = match selector.relations() {
        Ok(r) => r,
        Err(e) => return failed(e),
    };
    let plan = Arc::new(Plan {
        files: selector.included_files.clone(),
        relations,
    });
    Box::pin(async_stream::try_stream! {
        let orgs = env.orgs().await?;
        for org in orgs {
            let org = Arc::new(org);
            let mut pages = crate::repos::repositories(&org, &env.options, selector.repo_search.as_ref());
            while let Some(page) = pages.next().await {
                let repos: Vec<Repo> = page?
                    .into_iter()
                    .filter_map(|r| Repo::new(r, org.clone()))
                    .collect();
                if repos.is_empty() {
                    continue;
                }
                let enriched: Vec<Value> = stream::iter(repos)
                    .map(|repo| {
                        let (env, plan) = (env.clone(), plan.clone());
                        async move { plan.enrich(&env, &repo).await }
                    })
                    .buffered(REPO_CONCURRENCY)
                    .collect()
                    .await;
                yield enriched;
            }
        }
    })
}

/// What to add to each repository.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// `includedFiles`.
    pub files: Vec<String>,
    /// `includedRelations`.
    pub relations: IncludedRelations,
}

impl Plan {
    /// The plan of a repository selector (webhooks use the same enrichments).
    pub fn of(selector: &RepositorySelector) -> Result<Self, crate::selectors::SelectorError> {
        Ok(Plan {
            files: selector.included_files.clone(),
            relations: selector.relations()?,
        })
    }

    /// The repository's object with what the plan adds; an enrichment that fails is left out
    /// (`null`) with a warning.
    pub async fn enrich(&self, env: &Env, repo: &Repo) -> Value {
        let mut item = (*repo.raw).clone();
        let client = repo.client();
        let target = format!("{}/{}", repo.owner, repo.name);
        if !self.files.is_empty() {
            let mut files = Map::new();
            for path in &self.files {
                let content = match file_text(client, repo, path, &repo.default_branch).await {
                    Ok(text) => text.map(Value::from).unwrap_or(Value::Null),
                    Err(e) => {
                        env.degraded("includedFiles", &format!("{target}:{path}"), &e);
                        Value::Null
                    }
                };
                files.insert(path.clone(), content);
            }
            set(&mut item, "__includedFiles", Value::Object(files));
        }
        let r = &self.relations;
        if let Some(collaborators) = &r.collaborators {
            let url = repo.url(&["collaborators"]);
            let query = [("affiliation", collaborators.affiliation.as_str().to_owned())];
            let value = all_pages(client, &url, &query).await;
            set(
                &mut item,
                "__collaborators",
                relation(env, "collaborators", &target, value),
            );
        }
        if r.teams {
            let value = all_pages(client, &repo.url(&["teams"]), &[]).await;
            set(&mut item, "__teams", relation(env, "teams", &target, value));
        }
        if r.sbom {
            let value = client
                .get_optional(&repo.url(&["dependency-graph", "sbom"]), &[], &[])
                .await
                .map(|v| {
                    v.and_then(|v| v.get("sbom").cloned())
                        .unwrap_or(Value::Null)
                });
            set(&mut item, "__sbom", relation(env, "sbom", &target, value));
        }
        if r.custom_properties && item.get("custom_properties").is_none() {
            let value = client
                .get_optional(&repo.url(&["properties", "values"]), &[], &[])
                .await
                .map(|v| {
                    let mut props = Map::new();
                    for p in v.and_then(|v| v.as_array().cloned()).unwrap_or_default() {
                        if let Some(name) = p.get("property_name").and_then(Value::as_str) {
                            props.insert(
                                name.to_owned(),
                                p.get("value").cloned().unwrap_or(Value::Null),
                            );
                        }
                    }
                    Value::Object(props)
                });
            set(
                &mut item,
                "custom_properties",
                relation(env, "customProperties", &target, value),
            );
        }
        if r.pages {
            let value = client
                .get_optional(&repo.url(&["pages"]), &[], &[])
                .await
                .map(|v| v.unwrap_or(Value::Null));
            set(&mut item, "__pages", relation(env, "pages", &target, value));
        }
        item
    }
}

fn set(item: &mut Value, key: &str, value: Value) {
    if let Some(map) = item.as_object_mut() {
        map.insert(key.to_owned(), value);
    }
}

fn relation(env: &Env, name: &str, target: &str, value: Result<Value, GithubError>) -> Value {
    value.unwrap_or_else(|e| {
        env.degraded(name, target, &e);
        Value::Null
    })
}

/// Every item of a list, as one JSON list; `404` is an empty list.
async fn all_pages(
    client: &GithubClient,
    url: &str,
    query: &[(&str, String)],
) -> Result<Value, GithubError> {
    let pages: Result<Vec<Vec<Value>>, GithubError> =
        client.paginate(url, query, None).try_collect().await;
    match pages {
        Ok(pages) => Ok(Value::Array(pages.into_iter().flatten().collect())),
        Err(e) if e.is_not_found() => Ok(Value::Array(Vec::new())),
        Err(e) => Err(e),
    }
}

/// A file's text on `branch` (contents API, base64-decoded, invalid UTF-8 replaced, NULs
/// dropped); `None` when it does not exist or is not a file.
pub async fn file_text(
    client: &GithubClient,
    repo: &Repo,
    path: &str,
    branch: &str,
) -> Result<Option<String>, GithubError> {
    let mut segments = vec!["contents"];
    segments.extend(
        path.trim_start_matches('/')
            .split('/')
            .filter(|s| !s.is_empty()),
    );
    let url = repo.url(&segments);
    let Some(answer) = client
        .get_optional(&url, &[("ref", branch.to_owned())], &[])
        .await?
    else {
        return Ok(None);
    };
    Ok(decode_content(&answer))
}

/// The text of a contents-API answer for a file.
pub fn decode_content(answer: &Value) -> Option<String> {
    use base64::Engine as _;
    if answer
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t != "file")
    {
        return None;
    }
    let content = answer.get("content")?.as_str()?;
    let compact: String = content.split_whitespace().collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .ok()?;
    Some(String::from_utf8_lossy(&bytes).replace('\0', ""))
}
