//! The kinds read from repository trees: `file` (files matching a glob, their content parsed as
//! JSON or YAML, `file://` references resolved), `folder` (directories matching a glob), `skill`
//! (agent skills' `SKILL.md` with their frontmatter) and `plugin` (agent plugin manifests).
//!
//! Each pattern picks repositories — the ones it names (on the branch it names, else the default
//! branch), else every repository of the organization — then reads the repository's tree
//! (`git/trees/{branch}`) and matches paths with the glob (`**` across folders, `*` within one,
//! case-insensitive, dot files included). File contents up to 100 kB come from GraphQL, seven
//! per query; larger ones (up to 1 MiB) from the contents API.

use super::{Env, KindError, KindStream, empty_repository, failed};
use crate::accounts::Org;
use crate::client::GithubError;
use crate::repos::{Failures, REPO_CONCURRENCY, Repo};
use crate::selectors::{
    DEFAULT_SKILL_PATHS, FileSelector, FolderSelector, PLUGIN_PROVIDERS, PluginSelector,
    RepoBranch, RepoSearch, SelectorError, SkillSelector, check_values, parse,
};
use futures::stream::{self, BoxStream, StreamExt as _};
use globset::{GlobBuilder, GlobMatcher};
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;

/// Files larger than this are skipped (as the reference).
pub const MAX_FILE_SIZE: u64 = 1024 * 1024;
/// Files up to this size are read through GraphQL.
pub const GRAPHQL_FILE_SIZE: u64 = 100_000;
/// Files per GraphQL query.
pub const GRAPHQL_FILE_BATCH: usize = 7;

/// A compiled glob.
pub fn glob(kind: &str, pattern: &str) -> Result<GlobMatcher, SelectorError> {
    GlobBuilder::new(pattern.trim_start_matches('/'))
        .case_insensitive(true)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| SelectorError {
            kind: kind.to_owned(),
            reason: format!("path {pattern:?} is not a valid glob: {e}"),
        })
}

/// One entry of a repository tree.
#[derive(Debug, Clone)]
pub struct TreeEntry {
    /// The path from the repository root.
    pub path: String,
    /// `blob` or `tree`.
    pub kind: String,
    /// The object's SHA.
    pub sha: String,
    /// The size (blobs).
    pub size: Option<u64>,
    /// GitHub's entry as given.
    pub raw: Value,
}

/// The tree of `branch` (recursive or only the top level); an empty repository has none.
pub async fn tree(
    repo: &Repo,
    branch: &str,
    recursive: bool,
) -> Result<Vec<TreeEntry>, GithubError> {
    let url = repo.url(&["git", "trees", branch]);
    let query: Vec<(&str, String)> = if recursive {
        vec![("recursive", "1".into())]
    } else {
        Vec::new()
    };
    let answer = match repo.client().get_optional(&url, &query, &[]).await {
        Ok(Some(a)) => a,
        Ok(None) => return Ok(Vec::new()),
        Err(e) if empty_repository(&e) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    if answer.get("truncated").and_then(Value::as_bool) == Some(true) {
        tracing::warn!(
            repository = %format!("{}/{}", repo.owner, repo.name),
            branch,
            "GitHub truncated the repository's tree: some paths are not seen"
        );
    }
    Ok(answer
        .get("tree")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some(TreeEntry {
                path: e.get("path")?.as_str()?.to_owned(),
                kind: e.get("type")?.as_str()?.to_owned(),
                sha: e
                    .get("sha")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                size: e.get("size").and_then(Value::as_u64),
                raw: e.clone(),
            })
        })
        .collect())
}

/// The texts of files on `branch` (`None`: missing, binary or too large), small ones through
/// GraphQL in batches, large ones through the contents API.
pub async fn texts(
    repo: &Repo,
    branch: &str,
    files: &[(String, Option<u64>)],
) -> Result<HashMap<String, Option<String>>, GithubError> {
    let mut out = HashMap::new();
    let (small, large): (Vec<_>, Vec<_>) = files
        .iter()
        .partition(|(_, size)| size.is_none_or(|s| s <= GRAPHQL_FILE_SIZE));
    for batch in small.chunks(GRAPHQL_FILE_BATCH) {
        let mut declarations = String::new();
        let mut selections = String::new();
        let mut variables = json!({"owner": repo.owner, "name": repo.name});
        for (i, (path, _)) in batch.iter().enumerate() {
            declarations.push_str(&format!(", $e{i}: String!"));
            selections.push_str(&format!(
                " f{i}: object(expression: $e{i}) {{ ... on Blob {{ text byteSize isBinary }} }}"
            ));
            variables[format!("e{i}")] = Value::from(format!("{branch}:{path}"));
        }
        let query = format!(
            "query Files($owner: String!, $name: String!{declarations}) {{ repository(owner: $owner, name: $name) {{{selections} }} }}"
        );
        let data = repo
            .client()
            .graphql("Files", &query, variables, &["NOT_FOUND"])
            .await?;
        for (i, (path, _)) in batch.iter().enumerate() {
            let blob = data.pointer(&format!("/repository/f{i}"));
            let text = blob
                .filter(|b| b.get("isBinary").and_then(Value::as_bool) != Some(true))
                .and_then(|b| b.get("text"))
                .and_then(Value::as_str)
                .map(|t| t.replace('\0', ""));
            out.insert(path.clone(), text);
        }
    }
    for (path, size) in large {
        if size.is_some_and(|s| s > MAX_FILE_SIZE) {
            out.insert(path.clone(), None);
            continue;
        }
        let text = super::repository::file_text(repo.client(), repo, path, branch).await?;
        out.insert(path.clone(), text);
    }
    Ok(out)
}

/// The repositories a pattern names (each fetched; a missing one is an error naming it), or
/// every repository of the organization, with the branch to read.
fn pattern_repos(
    org: Arc<Org>,
    env: &Env,
    repos: Option<Vec<RepoBranch>>,
    search: Option<RepoSearch>,
) -> BoxStream<'static, Result<Vec<(Repo, String)>, GithubError>> {
    match repos {
        Some(named) => Box::pin(async_stream::try_stream! {
            let mut found = Vec::new();
            for rb in named {
                let client = &org.auth.client;
                let url = client.url(&["repos", &org.login, &rb.name]);
                let raw = client.get_json(&url, &[]).await?;
                if let Some(repo) = Repo::new(raw, org.clone()) {
                    let branch = rb.branch.clone().unwrap_or_else(|| repo.default_branch.clone());
                    found.push((repo, branch));
                }
            }
            yield found;
        }),
        None => {
            let org2 = org.clone();
            crate::repos::repositories(&org, &env.options, search.as_ref())
                .map(move |page| {
                    page.map(|repos| {
                        repos
                            .into_iter()
                            .filter_map(|r| Repo::new(r, org2.clone()))
                            .map(|r| {
                                let b = r.default_branch.clone();
                                (r, b)
                            })
                            .collect()
                    })
                })
                .boxed()
        }
    }
}

/// One pattern's work: which organization, which repositories.
struct Target {
    organization: Option<String>,
    repos: Option<Vec<RepoBranch>>,
}

/// The compiled glob of each `(path, organization, repos)` pattern of a `kind`'s selector, and
/// the repositories each one reads, in the patterns' order.
fn globs_and_targets<'a>(
    kind: &str,
    patterns: impl Iterator<Item = (&'a str, &'a Option<String>, &'a Option<Vec<RepoBranch>>)>,
) -> Result<(Vec<GlobMatcher>, Vec<Target>), SelectorError> {
    let mut globs = Vec::new();
    let mut targets = Vec::new();
    for (path, organization, repos) in patterns {
        globs.push(glob(kind, path)?);
        targets.push(Target {
            organization: organization.clone(),
            repos: repos.clone(),
        });
    }
    Ok((globs, targets))
}

/// Runs `work(repo, branch, pattern_index)` for every repository of every pattern,
/// [`REPO_CONCURRENCY`] at a time; repository failures fail the kind at its end.
fn per_pattern_repo<W, Fut>(
    env: Env,
    targets: Vec<Target>,
    search: Option<RepoSearch>,
    work: W,
) -> KindStream
where
    W: Fn(Repo, String, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<Value>, GithubError>> + Send + 'static,
{
    let work = Arc::new(work);
    Box::pin(async_stream::try_stream! {
        let failures = Failures::default();
        let orgs = env.orgs().await?;
        for (index, target) in targets.into_iter().enumerate() {
            for org in &orgs {
                if target.organization.as_deref().is_some_and(|o| !o.eq_ignore_ascii_case(&org.login)) {
                    continue;
                }
                let mut pages = pattern_repos(Arc::new(org.clone()), &env, target.repos.clone(), search.clone());
                while let Some(page) = pages.next().await {
                    let page = page?;
                    let results: Vec<(String, Result<Vec<Value>, GithubError>)> = stream::iter(page)
                        .map(|(repo, branch)| {
                            let work = work.clone();
                            let label = format!("{}/{}@{branch}", repo.owner, repo.name);
                            async move { (label, work(repo, branch, index).await) }
                        })
                        .buffer_unordered(REPO_CONCURRENCY)
                        .collect()
                        .await;
                    for (label, result) in results {
                        match result {
                            Ok(items) if !items.is_empty() => yield items,
                            Ok(_) => {}
                            Err(e) => {
                                tracing::error!(repository = %label, error = %e, "A repository's listing failed");
                                failures.push(format!("{label}: {e}"));
                            }
                        }
                    }
                }
            }
        }
        let failed = failures.take();
        if !failed.is_empty() {
            Err(KindError::Repositories { count: failed.len(), first: failed.into_iter().take(3).collect() })?;
        }
    })
}

/// A path relative to a folder, normalised (`..` and `.` resolved); `None` above the root.
pub fn relative(dir: &str, path: &str) -> Option<String> {
    let mut parts: Vec<&str> = if path.starts_with('/') {
        Vec::new()
    } else {
        dir.split('/').filter(|s| !s.is_empty()).collect()
    };
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

/// A file's content parsed by its extension (`.json`, `.yaml`, `.yml`); text otherwise, or
/// when it does not parse.
pub fn parse_content(path: &str, text: &str) -> Value {
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".json") {
        serde_json::from_str(text).unwrap_or_else(|_| Value::from(text))
    } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        serde_yaml::from_str::<Value>(text).unwrap_or_else(|_| Value::from(text))
    } else {
        Value::from(text)
    }
}

/// The `file://` references of parsed content: string values of a top-level object, or of
/// objects in a top-level list.
fn references(content: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut scan = |map: &Map<String, Value>| {
        for v in map.values() {
            if let Some(s) = v.as_str().and_then(|s| s.strip_prefix("file://")) {
                out.push(s.to_owned());
            }
        }
    };
    match content {
        Value::Object(map) => scan(map),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_object)
            .for_each(&mut scan),
        _ => {}
    }
    out
}

fn replace_references(content: &mut Value, resolved: &HashMap<String, Value>) {
    let replace = |map: &mut Map<String, Value>| {
        for v in map.values_mut() {
            if let Some(target) = v.as_str().and_then(|s| s.strip_prefix("file://")) {
                if let Some(r) = resolved.get(target) {
                    *v = r.clone();
                }
            }
        }
    };
    match content {
        Value::Object(map) => replace(map),
        Value::Array(items) => items
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .for_each(replace),
        _ => {}
    }
}

/// `__includedFiles` of paths relative to `dir`.
async fn included(
    repo: &Repo,
    branch: &str,
    dir: &str,
    paths: &[String],
) -> Result<Value, GithubError> {
    let wanted: Vec<(String, Option<u64>)> = paths
        .iter()
        .filter_map(|p| relative(dir, p))
        .map(|p| (p, None))
        .collect();
    let found = texts(repo, branch, &wanted).await?;
    let mut out = Map::new();
    for p in paths {
        let text = relative(dir, p).and_then(|full| found.get(&full).cloned().flatten());
        out.insert(p.clone(), text.map(Value::from).unwrap_or(Value::Null));
    }
    Ok(Value::Object(out))
}

/// The file kind.
pub fn files(env: Env) -> KindStream {
    let selector: FileSelector = match parse("file", &env.selector) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let patterns = selector
        .files
        .iter()
        .map(|p| (p.path.as_str(), &p.organization, &p.repos));
    let (globs, targets) = match globs_and_targets("file", patterns) {
        Ok(both) => both,
        Err(e) => return failed(e),
    };
    let patterns = Arc::new(selector.files.clone());
    let globs = Arc::new(globs);
    let included_paths = Arc::new(selector.included_files.clone());
    per_pattern_repo(
        env,
        targets,
        selector.repo_search.clone(),
        move |repo, branch, index| {
            let (patterns, globs, included_paths) =
                (patterns.clone(), globs.clone(), included_paths.clone());
            async move {
                let pattern = &patterns[index];
                let entries = tree(&repo, &branch, true).await?;
                let matched: Vec<TreeEntry> = entries
                    .into_iter()
                    .filter(|e| {
                        e.kind == "blob"
                            && e.size.is_none_or(|s| s <= MAX_FILE_SIZE)
                            && globs[index].is_match(&e.path)
                    })
                    .collect();
                file_items(
                    &repo,
                    &branch,
                    matched,
                    pattern.skip_parsing,
                    &included_paths,
                )
                .await
            }
        },
    )
}

/// The file items of matched tree entries.
pub async fn file_items(
    repo: &Repo,
    branch: &str,
    matched: Vec<TreeEntry>,
    skip_parsing: bool,
    included_paths: &[String],
) -> Result<Vec<Value>, GithubError> {
    if matched.is_empty() {
        return Ok(Vec::new());
    }
    let wanted: Vec<(String, Option<u64>)> =
        matched.iter().map(|e| (e.path.clone(), e.size)).collect();
    let found = texts(repo, branch, &wanted).await?;
    let mut items = Vec::with_capacity(matched.len());
    for entry in matched {
        let Some(text) = found.get(&entry.path).cloned().flatten() else {
            continue;
        };
        let dir = parent(&entry.path).to_owned();
        let mut content = if skip_parsing {
            Value::from(text)
        } else {
            parse_content(&entry.path, &text)
        };
        let refs = references(&content);
        if !refs.is_empty() {
            let targets: Vec<(String, Option<u64>)> = refs
                .iter()
                .filter_map(|r| relative(&dir, r))
                .map(|p| (p, None))
                .collect();
            let texts = texts(repo, branch, &targets).await?;
            let mut resolved = HashMap::new();
            for r in &refs {
                if let Some(full) = relative(&dir, r) {
                    if let Some(Some(t)) = texts.get(&full) {
                        resolved.insert(r.clone(), parse_content(&full, t));
                    }
                }
            }
            replace_references(&mut content, &resolved);
        }
        let name = entry
            .path
            .rsplit('/')
            .next()
            .unwrap_or(&entry.path)
            .to_owned();
        let mut item = json!({
            "organization": repo.org.login,
            "content": content,
            "repository": *repo.raw,
            "branch": branch,
            "path": entry.path,
            "name": name,
            "metadata": entry.raw,
            "__base_jq": ".content",
        });
        if !included_paths.is_empty() {
            item["__includedFiles"] = included(repo, branch, &dir, included_paths).await?;
        }
        items.push(item);
    }
    Ok(items)
}

/// The folder kind.
pub fn folders(env: Env) -> KindStream {
    let selector: FolderSelector = match parse("folder", &env.selector) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let patterns = selector
        .folders
        .iter()
        .map(|p| (p.path.as_str(), &p.organization, &p.repos));
    let (globs, targets) = match globs_and_targets("folder", patterns) {
        Ok(both) => both,
        Err(e) => return failed(e),
    };
    let patterns = Arc::new(selector.folders.clone());
    let globs = Arc::new(globs);
    let global_included = Arc::new(selector.included_files.clone());
    per_pattern_repo(
        env,
        targets,
        selector.repo_search.clone(),
        move |repo, branch, index| {
            let (patterns, globs, global_included) =
                (patterns.clone(), globs.clone(), global_included.clone());
            async move {
                let pattern = &patterns[index];
                let recursive = !matches!(pattern.path.as_str(), "" | "*")
                    && (pattern.path.contains('*') || pattern.path.contains('/'));
                let entries = tree(&repo, &branch, recursive).await?;
                let mut items = Vec::new();
                let mut included_paths: Vec<String> = global_included.to_vec();
                included_paths.extend(pattern.included_files.iter().cloned());
                for entry in entries
                    .into_iter()
                    .filter(|e| e.kind == "tree" && globs[index].is_match(&e.path))
                {
                    let mut item = json!({
                        "folder": entry.raw,
                        "__repository": *repo.raw,
                        "__organization": repo.org.login,
                        "__branch": branch,
                    });
                    if !included_paths.is_empty() {
                        item["__includedFiles"] =
                            included(&repo, &branch, &entry.path, &included_paths).await?;
                    }
                    items.push(item);
                }
                Ok(items)
            }
        },
    )
}

/// A `SKILL.md`'s frontmatter (YAML between `---` lines at the top; `{}` without) and the text
/// after it.
pub fn split_frontmatter(text: &str) -> (Value, String) {
    let normalized = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = normalized.split_inclusive('\n');
    let Some(first) = lines.next() else {
        return (json!({}), String::new());
    };
    if first.trim_end() != "---" {
        return (json!({}), normalized.to_owned());
    }
    let mut yaml = String::new();
    let mut consumed = first.len();
    let mut closed = false;
    for line in lines {
        consumed += line.len();
        if line.trim_end() == "---" {
            closed = true;
            break;
        }
        yaml.push_str(line);
    }
    if !closed {
        return (json!({}), normalized.to_owned());
    }
    let frontmatter = match serde_yaml::from_str::<Value>(&yaml) {
        Ok(v @ Value::Object(_)) => v,
        _ => json!({}),
    };
    let body = normalized[consumed..]
        .trim_start_matches(['\r', '\n'])
        .to_owned();
    (frontmatter, body)
}

/// The skill item of one `SKILL.md`.
pub fn skill_item(repo: &Repo, branch: &str, entry: &TreeEntry, text: &str) -> Value {
    let (frontmatter, instructions) = split_frontmatter(text);
    let dir = parent(&entry.path).to_owned();
    let dir_name = dir.rsplit('/').next().unwrap_or(&dir).to_owned();
    let text_field = |k: &str| {
        frontmatter
            .get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    json!({
        "skill": {
            "name": text_field("name").unwrap_or(dir_name),
            "description": text_field("description").unwrap_or_default(),
            "instructions": instructions,
            "frontmatter": frontmatter,
            "path": dir,
            "skillMdPath": entry.path,
            "root": parent(&dir),
            "blob_sha": entry.sha,
        },
        "__repository": *repo.raw,
        "__branch": branch,
        "__organization": repo.org.login,
    })
}

/// The skill kind.
pub fn skills(env: Env) -> KindStream {
    let selector: SkillSelector = match parse("skill", &env.selector) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let patterns: Vec<crate::selectors::PathPattern> = match &selector.paths {
        Some(p) if !p.is_empty() => p.clone(),
        _ => DEFAULT_SKILL_PATHS
            .iter()
            .map(|p| crate::selectors::PathPattern {
                path: Some((*p).to_owned()),
                organization: None,
                repos: None,
            })
            .collect(),
    };
    // Patterns sharing organization and repositories are read in one pass per repository.
    let mut groups: Vec<(Target, Vec<GlobMatcher>)> = Vec::new();
    for p in &patterns {
        let g = match glob("skill", p.path.as_deref().unwrap_or("**/SKILL.md")) {
            Ok(g) => g,
            Err(e) => return failed(e),
        };
        match groups
            .iter_mut()
            .find(|(t, _)| t.organization == p.organization && t.repos == p.repos)
        {
            Some((_, globs)) => globs.push(g),
            None => groups.push((
                Target {
                    organization: p.organization.clone(),
                    repos: p.repos.clone(),
                },
                vec![g],
            )),
        }
    }
    let globs: Arc<Vec<Vec<GlobMatcher>>> =
        Arc::new(groups.iter().map(|(_, g)| g.clone()).collect());
    let targets = groups.into_iter().map(|(t, _)| t).collect();
    per_pattern_repo(
        env,
        targets,
        selector.repo_search.clone(),
        move |repo, branch, index| {
            let globs = globs.clone();
            async move {
                let entries = tree(&repo, &branch, true).await?;
                let matched: Vec<TreeEntry> = entries
                    .into_iter()
                    .filter(|e| {
                        e.kind == "blob"
                            && e.size.is_none_or(|s| s <= MAX_FILE_SIZE)
                            && globs[index].iter().any(|g| g.is_match(&e.path))
                    })
                    .collect();
                if matched.is_empty() {
                    return Ok(Vec::new());
                }
                let wanted: Vec<(String, Option<u64>)> =
                    matched.iter().map(|e| (e.path.clone(), e.size)).collect();
                let found = texts(&repo, &branch, &wanted).await?;
                Ok(matched
                    .iter()
                    .filter_map(|e| {
                        found
                            .get(&e.path)
                            .cloned()
                            .flatten()
                            .map(|t| skill_item(&repo, &branch, e, &t))
                    })
                    .collect())
            }
        },
    )
}

/// Plugin manifests per provider: the single-plugin manifest first, then the marketplace.
pub fn manifests(provider: &str) -> &'static [&'static str] {
    match provider {
        "claude" => &[
            ".claude-plugin/plugin.json",
            ".claude-plugin/marketplace.json",
        ],
        "cursor" => &[".cursor-plugin/plugin.json"],
        "codex" => &[".codex-plugin/plugin.json"],
        "agents" => &[".agents/plugins/marketplace.json"],
        "kimi" => &[".kimi-plugin/plugin.json"],
        "antigravity" => &["gemini-extension.json"],
        _ => &[],
    }
}

fn marketplace(provider: &str) -> Option<&'static str> {
    match provider {
        "claude" => Some(".claude-plugin/marketplace.json"),
        "agents" => Some(".agents/plugins/marketplace.json"),
        _ => None,
    }
}

/// Providers packaged as a folder rather than a manifest.
pub fn directory_marker(provider: &str) -> Option<&'static str> {
    match provider {
        "opencode" => Some(".opencode/plugins/"),
        "pi" => Some(".pi/extensions/"),
        _ => None,
    }
}

/// The order in which providers' manifests give the plugin's shared fields.
const PRECEDENCE: [&str; 8] = [
    "cursor",
    "claude",
    "codex",
    "kimi",
    "antigravity",
    "agents",
    "opencode",
    "pi",
];

fn str_field(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| {
        v.get(*k)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned)
    })
}

/// The plugin of a repository from its manifests (path → parsed JSON) and the providers found
/// by folder markers; `None` when no requested provider is found.
pub fn normalize_plugin(
    repo_name: &str,
    found: &HashMap<String, Value>,
    providers: &[String],
    markers: &HashSet<String>,
) -> Option<Value> {
    struct Resolved {
        primary: Value,
        marketplace: Value,
        document: Value,
        directory_only: bool,
    }
    let mut order: Vec<&str> = PRECEDENCE
        .iter()
        .copied()
        .filter(|p| providers.iter().any(|q| q == p))
        .collect();
    for p in providers {
        if !order.contains(&p.as_str()) {
            order.push(p);
        }
    }
    let mut resolved: Vec<(&str, Resolved)> = Vec::new();
    for provider in order {
        let market_path = marketplace(provider);
        let primary_path = manifests(provider)
            .iter()
            .copied()
            .find(|p| Some(*p) != market_path);
        let as_object = |v: Option<&Value>| {
            v.filter(|v| v.is_object())
                .cloned()
                .unwrap_or_else(|| json!({}))
        };
        let mut primary = as_object(primary_path.and_then(|p| found.get(p)));
        let market = as_object(market_path.and_then(|p| found.get(p)));
        let empty = |v: &Value| v.as_object().is_none_or(Map::is_empty);
        if empty(&primary) && !empty(&market) {
            primary = market
                .get("plugins")
                .and_then(Value::as_array)
                .and_then(|ps| ps.iter().find(|p| p.is_object()).cloned())
                .unwrap_or_else(|| json!({}));
        }
        if !empty(&primary) || !empty(&market) {
            let document = if primary_path.is_some() {
                primary.clone()
            } else {
                market.clone()
            };
            resolved.push((
                provider,
                Resolved {
                    primary,
                    marketplace: market,
                    document,
                    directory_only: false,
                },
            ));
        } else if markers.contains(provider) {
            resolved.push((
                provider,
                Resolved {
                    primary: json!({}),
                    marketplace: json!({}),
                    document: json!({}),
                    directory_only: true,
                },
            ));
        }
    }
    if resolved.is_empty() {
        return None;
    }
    let name = resolved
        .iter()
        .find_map(|(_, r)| str_field(&r.primary, &["name"]))
        .unwrap_or_else(|| repo_name.to_owned());
    let display_name = resolved
        .iter()
        .find_map(|(_, r)| {
            str_field(&r.primary, &["displayName", "display_name"]).or_else(|| {
                r.marketplace
                    .get("interface")
                    .and_then(|i| str_field(i, &["displayName", "display_name"]))
            })
        })
        .unwrap_or_else(|| name.clone());
    let description = resolved
        .iter()
        .find_map(|(_, r)| str_field(&r.primary, &["description"]))
        .or_else(|| {
            resolved
                .iter()
                .find_map(|(_, r)| str_field(&r.marketplace, &["description"]))
        })
        .unwrap_or_default();
    let version = resolved
        .iter()
        .find_map(|(_, r)| str_field(&r.primary, &["version"]));
    let mut plugin = json!({
        "name": name,
        "displayName": display_name,
        "description": description,
        "version": version,
        "supports": PLUGIN_PROVIDERS.iter().map(|p| (p.to_string(), Value::from(resolved.iter().any(|(q, _)| q == p)))).collect::<Map<_, _>>(),
    });
    for p in PLUGIN_PROVIDERS {
        plugin[p] = json!({});
    }
    for (provider, r) in &resolved {
        plugin[*provider] = if r.directory_only {
            json!({"detected": true})
        } else if r.marketplace.as_object().is_none_or(Map::is_empty) {
            r.document.clone()
        } else {
            let mut doc = r.document.clone();
            if let Some(map) = doc.as_object_mut() {
                map.insert(
                    "name".into(),
                    Value::from(str_field(&r.primary, &["name"]).unwrap_or_else(|| name.clone())),
                );
                map.insert(
                    "marketplaceName".into(),
                    str_field(&r.marketplace, &["name"])
                        .map(Value::from)
                        .unwrap_or(Value::Null),
                );
            }
            doc
        };
    }
    Some(plugin)
}

/// The plugin of one repository, if any.
pub async fn repo_plugin(
    repo: &Repo,
    branch: &str,
    providers: &[String],
) -> Result<Option<Value>, GithubError> {
    let entries = tree(repo, branch, true).await?;
    let paths: HashSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    let mut wanted: Vec<(String, Option<u64>)> = Vec::new();
    for p in providers {
        for m in manifests(p) {
            if paths.contains(m) {
                let size = entries.iter().find(|e| e.path == *m).and_then(|e| e.size);
                wanted.push(((*m).to_owned(), size));
            }
        }
    }
    let markers: HashSet<String> = providers
        .iter()
        .filter(|p| {
            directory_marker(p).is_some_and(|prefix| {
                let bare = prefix.trim_end_matches('/');
                paths
                    .iter()
                    .any(|path| *path == bare || path.starts_with(prefix))
            })
        })
        .cloned()
        .collect();
    let texts = texts(repo, branch, &wanted).await?;
    let found: HashMap<String, Value> = texts
        .into_iter()
        .filter_map(|(p, t)| Some((p, serde_json::from_str(&t?).ok()?)))
        .collect();
    Ok(
        normalize_plugin(&repo.name, &found, providers, &markers).map(|plugin| {
            json!({
                "plugin": plugin,
                "__repository": *repo.raw,
                "__branch": branch,
                "__organization": repo.org.login,
            })
        }),
    )
}

/// The plugin kind.
pub fn plugins(env: Env) -> KindStream {
    let selector: PluginSelector = match parse("plugin", &env.selector) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let providers: Vec<String> = match &selector.providers {
        Some(p) if !p.is_empty() => p.clone(),
        _ => PLUGIN_PROVIDERS.iter().map(|p| (*p).to_owned()).collect(),
    };
    if let Err(e) = check_values("plugin", "providers", &providers, &PLUGIN_PROVIDERS) {
        return failed(e);
    }
    let targets: Vec<Target> = match &selector.paths {
        Some(p) if !p.is_empty() => p
            .iter()
            .map(|p| Target {
                organization: p.organization.clone(),
                repos: p.repos.clone(),
            })
            .collect(),
        _ => vec![Target {
            organization: None,
            repos: None,
        }],
    };
    let providers = Arc::new(providers);
    per_pattern_repo(
        env,
        targets,
        selector.repo_search.clone(),
        move |repo, branch, _| {
            let providers = providers.clone();
            async move {
                Ok(repo_plugin(&repo, &branch, &providers)
                    .await?
                    .into_iter()
                    .collect())
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_the_reference() {
        let g = glob("file", "**/port.yml").unwrap();
        assert!(g.is_match("port.yml") && g.is_match("a/b/PORT.yml"));
        let g = glob("file", "services/*/catalog.json").unwrap();
        assert!(g.is_match("services/api/catalog.json"));
        assert!(!g.is_match("services/api/v1/catalog.json"));
        let g = glob("folder", "*").unwrap();
        assert!(g.is_match(".github") && !g.is_match("a/b"));
        assert!(glob("file", "a/[b").is_err());
    }

    #[test]
    fn relative_paths_resolve_within_the_repository() {
        assert_eq!(
            relative("services/api", "../shared/x.yml").as_deref(),
            Some("services/shared/x.yml")
        );
        assert_eq!(relative("", "./README.md").as_deref(), Some("README.md"));
        assert_eq!(relative("a", "../../x"), None);
        assert_eq!(relative("a/b", "/root.yml").as_deref(), Some("root.yml"));
    }

    #[test]
    fn content_parses_by_extension_and_keeps_text_otherwise() {
        assert_eq!(parse_content("x.json", r#"{"a":1}"#), json!({"a": 1}));
        assert_eq!(parse_content("x.YAML", "a: [1, 2]"), json!({"a": [1, 2]}));
        assert_eq!(parse_content("x.json", "{nope"), json!("{nope"));
        assert_eq!(parse_content("x.md", "# hi"), json!("# hi"));
    }

    #[test]
    fn file_references_are_replaced() {
        let mut content =
            json!({"spec": "file://openapi.json", "name": "api", "list": ["file://x"]});
        assert_eq!(references(&content), ["openapi.json"]);
        let resolved = HashMap::from([("openapi.json".to_owned(), json!({"openapi": "3.0"}))]);
        replace_references(&mut content, &resolved);
        assert_eq!(content["spec"], json!({"openapi": "3.0"}));
        let mut list = json!([{"a": "file://b.yml"}, "file://c"]);
        assert_eq!(references(&list), ["b.yml"]);
        replace_references(&mut list, &HashMap::from([("b.yml".to_owned(), json!(1))]));
        assert_eq!(list, json!([{"a": 1}, "file://c"]));
    }

    #[test]
    fn skill_frontmatter() {
        let (fm, body) =
            split_frontmatter("---\nname: hello\ndescription: Greets.\n---\n\n# Hello\nSay hi.\n");
        assert_eq!(fm, json!({"name": "hello", "description": "Greets."}));
        assert_eq!(body, "# Hello\nSay hi.\n");
        let (fm, body) = split_frontmatter("# No frontmatter\n");
        assert_eq!(fm, json!({}));
        assert_eq!(body, "# No frontmatter\n");
        let (fm, _) = split_frontmatter("---\n: bad: yaml: [\n---\nx");
        assert_eq!(fm, json!({}));
    }

    #[test]
    fn plugins_merge_their_providers_manifests() {
        let found = HashMap::from([
            (
                ".claude-plugin/plugin.json".to_owned(),
                json!({"name": "superpowers", "description": "Skills", "version": "6.1.1"}),
            ),
            (
                ".cursor-plugin/plugin.json".to_owned(),
                json!({"name": "superpowers", "displayName": "Superpowers", "version": "6.1.1"}),
            ),
            (
                ".agents/plugins/marketplace.json".to_owned(),
                json!({"name": "market", "plugins": [{"name": "superpowers"}]}),
            ),
        ]);
        let providers: Vec<String> = PLUGIN_PROVIDERS.iter().map(|p| p.to_string()).collect();
        let markers = HashSet::from(["opencode".to_owned()]);
        let plugin = normalize_plugin("repo", &found, &providers, &markers).unwrap();
        assert_eq!(plugin["name"], "superpowers");
        assert_eq!(plugin["displayName"], "Superpowers");
        assert_eq!(plugin["description"], "Skills");
        assert_eq!(plugin["supports"]["claude"], true);
        assert_eq!(plugin["supports"]["pi"], false);
        assert_eq!(plugin["opencode"], json!({"detected": true}));
        assert_eq!(plugin["agents"]["marketplaceName"], "market");
        assert_eq!(plugin["kimi"], json!({}));
        assert!(normalize_plugin("repo", &HashMap::new(), &providers, &HashSet::new()).is_none());
    }
}
