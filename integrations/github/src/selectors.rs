//! The selector fields of each kind, and the mapping's top-level options, with the reference's
//! names and defaults. A value of the wrong type or outside its allowed set fails the kind with
//! an error naming the kind and the field; unknown fields are ignored (as pydantic does).

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A selector that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("selector of kind `{kind}`: {reason}")]
pub struct SelectorError {
    /// The kind.
    pub kind: String,
    /// What is wrong (names the field).
    pub reason: String,
}

/// Parses the selector of `kind` into `T`.
pub fn parse<T: DeserializeOwned>(kind: &str, selector: &Value) -> Result<T, SelectorError> {
    let value = if selector.is_null() {
        Value::Object(Default::default())
    } else {
        selector.clone()
    };
    serde_path_to_error::deserialize(value).map_err(|e| SelectorError {
        kind: kind.to_owned(),
        reason: format!("field `{}`: {}", e.path(), e.inner()),
    })
}

/// `repositoryType`: which repositories to sync.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RepositoryType {
    /// Every repository.
    #[default]
    All,
    /// Public ones.
    Public,
    /// Private ones.
    Private,
}

impl RepositoryType {
    /// The value as GitHub's query parameters spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            RepositoryType::All => "all",
            RepositoryType::Public => "public",
            RepositoryType::Private => "private",
        }
    }

    /// Whether a repository (its `visibility`, else `private`) passes this filter.
    pub fn admits(self, repo: &Value) -> bool {
        match self {
            RepositoryType::All => true,
            wanted => {
                let visibility = repo
                    .get("visibility")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| {
                        if repo.get("private").and_then(Value::as_bool) == Some(true) {
                            "private".into()
                        } else {
                            "public".into()
                        }
                    });
                // Internal (Enterprise) repositories are not public.
                match wanted {
                    RepositoryType::Public => visibility == "public",
                    _ => visibility != "public",
                }
            }
        }
    }
}

/// The mapping's top-level GitHub options (next to `resources`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AppOptions {
    /// Organizations to sync when a classic token is not scoped by `githubOrganization`
    /// (empty: all of the token's organizations).
    pub organizations: Vec<String>,
    /// Also sync the token user's personal account.
    pub include_authenticated_user: bool,
    /// Which repositories to sync.
    pub repository_type: RepositoryType,
}

impl AppOptions {
    /// The options from the mapping's top-level keys.
    pub fn from_map(options: &serde_json::Map<String, Value>) -> Result<Self, SelectorError> {
        serde_path_to_error::deserialize(Value::Object(options.clone())).map_err(|e| {
            SelectorError {
                kind: "(mapping options)".to_owned(),
                reason: format!("`{}`: {}", e.path(), e.inner()),
            }
        })
    }
}

/// `repoSearch`: GitHub search qualifiers choosing the repositories of a repo-scoped kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct RepoSearch {
    /// The qualifiers (e.g. `topic:security archived:false`).
    pub query: String,
}

/// The selector every repository-scoped kind accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RepoScoped {
    /// Limit the repositories to a search.
    pub repo_search: Option<RepoSearch>,
}

/// `includedRelations.collaborators`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CollaboratorRelation {
    /// `all`, `direct` or `outside`.
    #[serde(default)]
    pub affiliation: Affiliation,
}

/// A collaborator affiliation filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Affiliation {
    /// Everyone.
    #[default]
    All,
    /// Direct collaborators and organization members.
    Direct,
    /// Outside collaborators.
    Outside,
}

impl Affiliation {
    /// As GitHub's query parameter spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Affiliation::All => "all",
            Affiliation::Direct => "direct",
            Affiliation::Outside => "outside",
        }
    }
}

/// `includedRelations` of the repository kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IncludedRelations {
    /// Adds `__collaborators`.
    pub collaborators: Option<CollaboratorRelation>,
    /// Adds `__teams`.
    pub teams: bool,
    /// Adds `__sbom`.
    pub sbom: bool,
    /// Fills `custom_properties`.
    pub custom_properties: bool,
    /// Adds `__pages`.
    pub pages: bool,
}

/// The legacy `include` list of the repository kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LegacyInclude {
    /// `__collaborators`.
    Collaborators,
    /// `__teams`.
    Teams,
    /// `__sbom`.
    Sbom,
}

/// The repository kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RepositorySelector {
    /// Limit the repositories to a search.
    pub repo_search: Option<RepoSearch>,
    /// Root-relative files attached as `__includedFiles[path]`.
    pub included_files: Vec<String>,
    /// Legacy relation list (exclusive with `includedRelations`).
    pub include: Vec<LegacyInclude>,
    /// Relations to attach.
    pub included_relations: Option<IncludedRelations>,
}

impl RepositorySelector {
    /// The relations to attach, from either form; both at once is refused (as the reference).
    pub fn relations(&self) -> Result<IncludedRelations, SelectorError> {
        match (&self.included_relations, self.include.is_empty()) {
            (Some(_), false) => Err(SelectorError {
                kind: "repository".into(),
                reason: "`include` and `includedRelations` cannot both be set".into(),
            }),
            (Some(r), true) => Ok(r.clone()),
            (None, _) => Ok(IncludedRelations {
                collaborators: self
                    .include
                    .contains(&LegacyInclude::Collaborators)
                    .then_some(CollaboratorRelation {
                        affiliation: Affiliation::All,
                    }),
                teams: self.include.contains(&LegacyInclude::Teams),
                sbom: self.include.contains(&LegacyInclude::Sbom),
                ..IncludedRelations::default()
            }),
        }
    }
}

/// The user kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserSelector {
    /// Adds `__SAMLEmail`.
    #[serde(rename = "includeSAMLEmail")]
    pub include_saml_email: bool,
}

/// The team kind.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct TeamSelector {
    /// Adds `__SAMLEmail` to members.
    #[serde(rename = "includeSAMLEmail")]
    pub include_saml_email: bool,
    /// Include the team's members (`members.nodes`).
    pub members: bool,
    /// Adds `__external_group` (snake_case key, as the reference).
    pub include_external_group: bool,
}

impl Default for TeamSelector {
    fn default() -> Self {
        TeamSelector {
            include_saml_email: false,
            members: true,
            include_external_group: false,
        }
    }
}

/// A pull request state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrState {
    /// Open pull requests.
    Open,
    /// Closed (and merged) ones.
    Closed,
}

/// Which API the pull-request kind reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrApi {
    /// REST.
    #[default]
    Rest,
    /// GraphQL.
    Graphql,
}

/// The pull-request kind.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PullRequestSelector {
    /// Limit the repositories to a search.
    pub repo_search: Option<RepoSearch>,
    /// States to sync.
    pub states: Vec<PrState>,
    /// At most this many closed pull requests per repository.
    pub max_results: Option<u64>,
    /// Closed pull requests updated in the last `since` days.
    pub since: u32,
    /// Closed pull requests closed on or after this date (overrides `since`).
    pub closed_since_date: Option<String>,
    /// REST or GraphQL.
    pub api: PrApi,
    /// GraphQL only: `firstCommit`.
    pub enrich_with_first_commit: bool,
    /// GraphQL only: fields left out of the query.
    pub exclude_graphql_fields: Vec<String>,
}

impl Default for PullRequestSelector {
    fn default() -> Self {
        PullRequestSelector {
            repo_search: None,
            states: vec![PrState::Open],
            max_results: None,
            since: 60,
            closed_since_date: None,
            api: PrApi::Rest,
            enrich_with_first_commit: false,
            exclude_graphql_fields: Vec::new(),
        }
    }
}

/// An issue state filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IssueState {
    /// Open issues.
    #[default]
    Open,
    /// Closed issues.
    Closed,
    /// Both.
    All,
}

impl IssueState {
    /// As GitHub's query parameter spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            IssueState::Open => "open",
            IssueState::Closed => "closed",
            IssueState::All => "all",
        }
    }
}

/// The issue kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IssueSelector {
    /// Limit the repositories to a search.
    pub repo_search: Option<RepoSearch>,
    /// State filter.
    pub state: IssueState,
    /// Issues carrying all of these labels.
    pub labels: Option<Vec<String>>,
}

/// The branch kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BranchSelector {
    /// Limit the repositories to a search.
    pub repo_search: Option<RepoSearch>,
    /// Full branch objects (one request per branch).
    pub detailed: bool,
    /// Only each repository's default branch.
    pub default_branch_only: bool,
    /// Adds `__protection_rules`.
    pub protection_rules: bool,
    /// Only these branches.
    pub branch_names: Vec<String>,
}

/// The environment kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EnvironmentSelector {
    /// Limit the repositories to a search.
    pub repo_search: Option<RepoSearch>,
    /// Adds `__variables`.
    pub include_variables: bool,
}

/// The deployment and deployment-status kinds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeploymentSelector {
    /// Limit the repositories to a search.
    pub repo_search: Option<RepoSearch>,
    /// Only deployments of this task.
    pub task: Option<String>,
    /// Only deployments to this environment.
    pub environment: Option<String>,
    /// Adds `__firstCommit` and `__commitCount` (deployment only).
    pub enrich_with_first_commit: bool,
}

/// The workflow-run kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkflowRunSelector {
    /// Limit the repositories to a search.
    pub repo_search: Option<RepoSearch>,
    /// One listing per status (GitHub filters on status or conclusion).
    pub statuses: Option<Vec<String>>,
    /// Runs created in the last `since` days.
    pub since: Option<u32>,
    /// Runs created on or after this date (snake_case key, as the reference).
    #[serde(rename = "since_date")]
    pub since_date: Option<String>,
}

/// Workflow run statuses GitHub accepts as a filter.
pub const WORKFLOW_RUN_STATUSES: [&str; 14] = [
    "completed",
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "skipped",
    "stale",
    "success",
    "timed_out",
    "in_progress",
    "queued",
    "requested",
    "waiting",
    "pending",
];

/// The dependabot-alert kind.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DependabotSelector {
    /// Limit the repositories to a search.
    pub repo_search: Option<RepoSearch>,
    /// Alert states.
    pub states: Vec<String>,
    /// Severities.
    pub severity: Option<Vec<String>>,
    /// Ecosystems.
    pub ecosystems: Option<Vec<String>>,
}

impl Default for DependabotSelector {
    fn default() -> Self {
        DependabotSelector {
            repo_search: None,
            states: vec!["open".into()],
            severity: None,
            ecosystems: None,
        }
    }
}

/// The code-scanning-alerts kind.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CodeScanningSelector {
    /// Limit the repositories to a search.
    pub repo_search: Option<RepoSearch>,
    /// Alert state.
    pub state: String,
    /// Severity.
    pub severity: Option<String>,
}

impl Default for CodeScanningSelector {
    fn default() -> Self {
        CodeScanningSelector {
            repo_search: None,
            state: "open".into(),
            severity: None,
        }
    }
}

/// The secret-scanning-alerts kind.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SecretScanningSelector {
    /// Limit the repositories to a search.
    pub repo_search: Option<RepoSearch>,
    /// `open`, `resolved` or `all`.
    pub state: String,
    /// Hide the secret's value.
    pub hide_secret: bool,
}

impl Default for SecretScanningSelector {
    fn default() -> Self {
        SecretScanningSelector {
            repo_search: None,
            state: "open".into(),
            hide_secret: true,
        }
    }
}

/// The collaborator kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CollaboratorSelector {
    /// Limit the repositories to a search.
    pub repo_search: Option<RepoSearch>,
    /// Affiliation filter.
    pub affiliation: Affiliation,
}

/// One repository of a file, folder, skill or plugin pattern.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RepoBranch {
    /// The repository's name.
    pub name: String,
    /// The branch (default: the repository's default branch).
    #[serde(default)]
    pub branch: Option<String>,
}

/// A file pattern of the file kind.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilePattern {
    /// The glob.
    pub path: String,
    /// Only this organization.
    #[serde(default)]
    pub organization: Option<String>,
    /// Only these repositories (default: all, on their default branch).
    #[serde(default)]
    pub repos: Option<Vec<RepoBranch>>,
    /// Keep the content as text.
    #[serde(default)]
    pub skip_parsing: bool,
    /// Validate changed files on pull requests (not run by this integration).
    #[serde(default)]
    pub validation_check: bool,
}

/// The file kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FileSelector {
    /// Limit the repositories to a search.
    pub repo_search: Option<RepoSearch>,
    /// The patterns.
    pub files: Vec<FilePattern>,
    /// Files next to each file attached as `__includedFiles`.
    pub included_files: Vec<String>,
}

/// A folder pattern of the folder kind.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FolderPattern {
    /// The glob (default `*`).
    #[serde(default = "star")]
    pub path: String,
    /// Only this organization.
    #[serde(default)]
    pub organization: Option<String>,
    /// Only these repositories.
    #[serde(default)]
    pub repos: Option<Vec<RepoBranch>>,
    /// Files inside each folder attached as `__includedFiles`.
    #[serde(default)]
    pub included_files: Vec<String>,
}

fn star() -> String {
    "*".to_owned()
}

/// The folder kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FolderSelector {
    /// Limit the repositories to a search.
    pub repo_search: Option<RepoSearch>,
    /// The patterns.
    pub folders: Vec<FolderPattern>,
    /// Files inside each folder attached as `__includedFiles`.
    pub included_files: Vec<String>,
}

/// A path pattern of the skill and plugin kinds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PathPattern {
    /// The glob (skills).
    pub path: Option<String>,
    /// Only this organization.
    pub organization: Option<String>,
    /// Only these repositories.
    pub repos: Option<Vec<RepoBranch>>,
}

/// Where skills are looked for by default (the reference's list).
pub const DEFAULT_SKILL_PATHS: [&str; 8] = [
    ".agents/skills/**/SKILL.md",
    ".agent/skills/**/SKILL.md",
    ".cursor/skills/**/SKILL.md",
    ".claude/skills/**/SKILL.md",
    ".codex/skills/**/SKILL.md",
    ".github/skills/**/SKILL.md",
    ".opencode/skills/**/SKILL.md",
    "skills/**/SKILL.md",
];

/// The skill kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SkillSelector {
    /// Limit the repositories to a search.
    pub repo_search: Option<RepoSearch>,
    /// Where to look (default: [`DEFAULT_SKILL_PATHS`]).
    pub paths: Option<Vec<PathPattern>>,
}

/// Plugin providers.
pub const PLUGIN_PROVIDERS: [&str; 8] = [
    "claude",
    "cursor",
    "codex",
    "agents",
    "kimi",
    "opencode",
    "pi",
    "antigravity",
];

/// The plugin kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PluginSelector {
    /// Limit the repositories to a search.
    pub repo_search: Option<RepoSearch>,
    /// Providers to detect (default: all).
    pub providers: Option<Vec<String>>,
    /// Where to look (default: every repository).
    pub paths: Option<Vec<PathPattern>>,
}

/// Checks that every value of `field` is one of `allowed`.
pub fn check_values(
    kind: &str,
    field: &str,
    values: &[String],
    allowed: &[&str],
) -> Result<(), SelectorError> {
    for value in values {
        if !allowed.contains(&value.as_str()) {
            return Err(SelectorError {
                kind: kind.to_owned(),
                reason: format!(
                    "field `{field}`: {value:?} is not one of {}",
                    allowed.join(", ")
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_are_the_reference_s() {
        let pr: PullRequestSelector = parse("pull-request", &json!({"query": "true"})).unwrap();
        assert_eq!(pr.states, [PrState::Open]);
        assert_eq!(pr.since, 60);
        assert_eq!(pr.api, PrApi::Rest);
        let team: TeamSelector = parse("team", &json!({"query": "true"})).unwrap();
        assert!(team.members && !team.include_saml_email && !team.include_external_group);
        let issue: IssueSelector = parse("issue", &Value::Null).unwrap();
        assert_eq!(issue.state, IssueState::Open);
        let secret: SecretScanningSelector = parse("secret-scanning-alerts", &json!({})).unwrap();
        assert!(secret.hide_secret);
        assert_eq!(secret.state, "open");
    }

    #[test]
    fn bad_values_name_the_kind_and_field() {
        let err = parse::<PullRequestSelector>("pull-request", &json!({"states": ["merged"]}))
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("selector of kind `pull-request`: field `states[0]`"),
            "{err}"
        );
        let err = parse::<BranchSelector>("branch", &json!({"detailed": "very"})).unwrap_err();
        assert!(err.to_string().contains("`detailed`"), "{err}");
    }

    #[test]
    fn included_relations_and_the_legacy_include_are_exclusive() {
        let legacy: RepositorySelector = parse(
            "repository",
            &json!({"include": ["teams", "collaborators"]}),
        )
        .unwrap();
        let relations = legacy.relations().unwrap();
        assert!(relations.teams && relations.collaborators.is_some() && !relations.sbom);
        let both: RepositorySelector = parse(
            "repository",
            &json!({"include": ["teams"], "includedRelations": {"teams": true}}),
        )
        .unwrap();
        assert!(both.relations().is_err());
    }

    #[test]
    fn mapping_options_and_visibility() {
        let mut map = serde_json::Map::new();
        map.insert("repositoryType".into(), json!("private"));
        map.insert("organizations".into(), json!(["acme"]));
        let options = AppOptions::from_map(&map).unwrap();
        assert_eq!(options.repository_type, RepositoryType::Private);
        assert!(RepositoryType::Private.admits(&json!({"visibility": "internal"})));
        assert!(!RepositoryType::Private.admits(&json!({"visibility": "public"})));
        assert!(RepositoryType::Public.admits(&json!({"private": false})));
        map.insert("repositoryType".into(), json!("secret"));
        assert!(
            AppOptions::from_map(&map)
                .unwrap_err()
                .to_string()
                .contains("repositoryType")
        );
    }
}
