//! Live events: GitHub webhooks on `/integration/webhook`, verified with `X-Hub-Signature-256`,
//! turned into the same raw items a resync yields.
//!
//! - **Authentication.** With a `webhookSecret`, every request must carry
//!   `X-Hub-Signature-256: sha256=HMAC-SHA256(secret, body)`; a missing or wrong signature is
//!   answered 401 and nothing is queued. Without a secret, requests are accepted (as the
//!   reference; a warning at startup says so).
//! - **Upserts re-fetch** the object from GitHub (never the payload, never a cache that GitHub
//!   did not confirm): a webhook may arrive late or out of order. **Deletes** use the payload's
//!   object with the same enrichment keys as a resync, so the mapping finds the entity.
//! - Repository-scoped events are dropped when the repository's visibility does not pass
//!   `repositoryType` (the repository kind deletes it instead) or, when the kind's selector has a
//!   `repoSearch`, when a search for the repository does not find it.
//!
//! One [`Processor`] per event family (see [`Family`]); several may take the same request
//! (a `push` updates branches, files, folders, skills, plugins and workflows).

pub mod hooks;

use crate::accounts::Org;
use crate::client::{GithubError, Purpose};
use crate::integration::Shared;
use crate::kinds::files::{self, TreeEntry};
use crate::kinds::repository::Plan;
use crate::kinds::{Env, members, pulls, pulls_graphql, repo_children};
use crate::repos::Repo;
use crate::selectors::{
    BranchSelector, CodeScanningSelector, CollaboratorSelector, DependabotSelector,
    DeploymentSelector, EnvironmentSelector, FileSelector, FolderSelector, IssueSelector,
    IssueState, PLUGIN_PROVIDERS, PluginSelector, PrApi, PrState, PullRequestSelector, RepoScoped,
    RepoSearch, RepositorySelector, SecretScanningSelector, SkillSelector, TeamSelector,
    UserSelector, WorkflowRunSelector, parse,
};
use ocean::http::Signature;
use ocean::{
    BoxError, FetchContext, WebhookEvent, WebhookProcessor, WebhookRejection, WebhookResults,
    WebhookRoute,
};
use serde_json::{Value, json};
use std::sync::Arc;

/// Where GitHub delivers webhooks, relative to `/integration`.
pub const WEBHOOK_PATH: &str = "/webhook";

/// Repository actions that upsert the repository.
pub const REPOSITORY_UPSERT_ACTIONS: [&str; 7] = [
    "created",
    "edited",
    "renamed",
    "transferred",
    "unarchived",
    "publicized",
    "privatized",
];
/// Repository actions that delete it.
pub const REPOSITORY_DELETE_ACTIONS: [&str; 2] = ["archived", "deleted"];
/// Pull request actions handled.
pub const PULL_REQUEST_ACTIONS: [&str; 10] = [
    "opened",
    "edited",
    "ready_for_review",
    "reopened",
    "synchronize",
    "unassigned",
    "review_request_removed",
    "closed",
    "labeled",
    "unlabeled",
];
/// Issue actions handled.
pub const ISSUE_ACTIONS: [&str; 18] = [
    "assigned",
    "closed",
    "demilestoned",
    "edited",
    "labeled",
    "locked",
    "milestoned",
    "opened",
    "pinned",
    "reopened",
    "transferred",
    "typed",
    "unassigned",
    "unlabeled",
    "unlocked",
    "unpinned",
    "untyped",
    "deleted",
];
/// Collaborator (`member`) actions that upsert.
pub const COLLABORATOR_UPSERT_ACTIONS: [&str; 3] = ["added", "created", "edited"];
/// Collaborator (`member`) actions that delete.
pub const COLLABORATOR_DELETE_ACTIONS: [&str; 2] = ["removed", "deleted"];

/// The event families, one processor each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `ping`: accepted, nothing to do.
    Ping,
    /// `repository`, plus `member` and `team added_to_repository` (the repository's relations).
    Repository,
    /// `pull_request`.
    PullRequest,
    /// `issues`.
    Issue,
    /// `release`.
    Release,
    /// `create`/`delete` of tags.
    Tag,
    /// `create`/`delete` of branches, pushes to branches.
    Branch,
    /// `deployment` → its environment.
    Environment,
    /// `deployment`.
    Deployment,
    /// `deployment_status`.
    DeploymentStatus,
    /// `workflow_run`.
    WorkflowRun,
    /// `push` touching `.github/workflows/`.
    Workflow,
    /// `dependabot_alert`.
    DependabotAlert,
    /// `code_scanning_alert`.
    CodeScanningAlert,
    /// `secret_scanning_alert`.
    SecretScanningAlert,
    /// `team` created/edited/deleted.
    Team,
    /// `membership` added/removed → the team's members.
    TeamMembership,
    /// `organization` member_added/member_removed.
    User,
    /// `member` → collaborators.
    CollaboratorMember,
    /// `membership` added → the team's repositories' collaborators.
    CollaboratorMembership,
    /// `team added_to_repository` → the team's members as collaborators.
    CollaboratorTeam,
    /// `push` → files, folders, skills and plugins.
    Files,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 22] = [
        Family::Ping,
        Family::Repository,
        Family::PullRequest,
        Family::Issue,
        Family::Release,
        Family::Tag,
        Family::Branch,
        Family::Environment,
        Family::Deployment,
        Family::DeploymentStatus,
        Family::WorkflowRun,
        Family::Workflow,
        Family::DependabotAlert,
        Family::CodeScanningAlert,
        Family::SecretScanningAlert,
        Family::Team,
        Family::TeamMembership,
        Family::User,
        Family::CollaboratorMember,
        Family::CollaboratorMembership,
        Family::CollaboratorTeam,
        Family::Files,
    ];

    /// The processor's name.
    pub fn name(self) -> &'static str {
        match self {
            Family::Ping => "github-ping",
            Family::Repository => "github-repository",
            Family::PullRequest => "github-pull-request",
            Family::Issue => "github-issue",
            Family::Release => "github-release",
            Family::Tag => "github-tag",
            Family::Branch => "github-branch",
            Family::Environment => "github-environment",
            Family::Deployment => "github-deployment",
            Family::DeploymentStatus => "github-deployment-status",
            Family::WorkflowRun => "github-workflow-run",
            Family::Workflow => "github-workflow",
            Family::DependabotAlert => "github-dependabot-alert",
            Family::CodeScanningAlert => "github-code-scanning-alert",
            Family::SecretScanningAlert => "github-secret-scanning-alert",
            Family::Team => "github-team",
            Family::TeamMembership => "github-team-membership",
            Family::User => "github-user",
            Family::CollaboratorMember => "github-collaborator-member",
            Family::CollaboratorMembership => "github-collaborator-membership",
            Family::CollaboratorTeam => "github-collaborator-team",
            Family::Files => "github-files",
        }
    }

    /// Whether this family takes an event of `event_type` with `payload`.
    pub fn takes(self, event_type: &str, payload: &Value) -> bool {
        let action = payload
            .get("action")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let ref_type = payload
            .get("ref_type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let to_branch = payload
            .get("ref")
            .and_then(Value::as_str)
            .is_some_and(|r| r.starts_with("refs/heads/"));
        match self {
            Family::Ping => event_type == "ping",
            Family::Repository => match event_type {
                "repository" => {
                    REPOSITORY_UPSERT_ACTIONS.contains(&action)
                        || REPOSITORY_DELETE_ACTIONS.contains(&action)
                }
                "member" => {
                    COLLABORATOR_UPSERT_ACTIONS.contains(&action)
                        || COLLABORATOR_DELETE_ACTIONS.contains(&action)
                }
                "team" => action == "added_to_repository",
                _ => false,
            },
            Family::PullRequest => {
                event_type == "pull_request" && PULL_REQUEST_ACTIONS.contains(&action)
            }
            Family::Issue => event_type == "issues" && ISSUE_ACTIONS.contains(&action),
            Family::Release => event_type == "release",
            Family::Tag => matches!(event_type, "create" | "delete") && ref_type == "tag",
            Family::Branch => match event_type {
                "create" | "delete" => ref_type == "branch",
                "push" => to_branch,
                _ => false,
            },
            Family::Environment | Family::Deployment => event_type == "deployment",
            Family::DeploymentStatus => event_type == "deployment_status",
            Family::WorkflowRun => {
                event_type == "workflow_run"
                    && matches!(action, "completed" | "in_progress" | "requested")
            }
            Family::Workflow | Family::Files => event_type == "push" && to_branch,
            Family::DependabotAlert => {
                event_type == "dependabot_alert" && dependabot_state(action).is_some()
            }
            Family::CodeScanningAlert => {
                event_type == "code_scanning_alert" && code_scanning_states(action).is_some()
            }
            Family::SecretScanningAlert => {
                event_type == "secret_scanning_alert" && secret_scanning_states(action).is_some()
            }
            Family::Team => {
                event_type == "team" && matches!(action, "created" | "edited" | "deleted")
            }
            Family::TeamMembership => {
                event_type == "membership" && matches!(action, "added" | "removed")
            }
            Family::User => {
                event_type == "organization" && matches!(action, "member_added" | "member_removed")
            }
            Family::CollaboratorMember => {
                event_type == "member"
                    && (COLLABORATOR_UPSERT_ACTIONS.contains(&action)
                        || COLLABORATOR_DELETE_ACTIONS.contains(&action))
            }
            Family::CollaboratorMembership => {
                event_type == "membership" && COLLABORATOR_UPSERT_ACTIONS.contains(&action)
            }
            Family::CollaboratorTeam => event_type == "team" && action == "added_to_repository",
        }
    }

    /// The kinds this family produces items for.
    pub fn kinds(self) -> &'static [&'static str] {
        match self {
            Family::Ping => &[],
            Family::Repository => &["repository"],
            Family::PullRequest => &["pull-request"],
            Family::Issue => &["issue"],
            Family::Release => &["release"],
            Family::Tag => &["tag"],
            Family::Branch => &["branch"],
            Family::Environment => &["environment"],
            Family::Deployment => &["deployment"],
            Family::DeploymentStatus => &["deployment-status"],
            Family::WorkflowRun => &["workflow-run"],
            Family::Workflow => &["workflow"],
            Family::DependabotAlert => &["dependabot-alert"],
            Family::CodeScanningAlert => &["code-scanning-alerts"],
            Family::SecretScanningAlert => &["secret-scanning-alerts"],
            Family::Team | Family::TeamMembership => &["team"],
            Family::User => &["user"],
            Family::CollaboratorMember
            | Family::CollaboratorMembership
            | Family::CollaboratorTeam => &["collaborator"],
            Family::Files => &["file", "folder", "skill", "plugin"],
        }
    }
}

/// The alert state a Dependabot action leads to.
pub fn dependabot_state(action: &str) -> Option<&'static str> {
    Some(match action {
        "created" | "reopened" | "auto_reopened" | "reintroduced" => "open",
        "dismissed" => "dismissed",
        "auto_dismissed" => "auto_dismissed",
        "fixed" => "fixed",
        _ => return None,
    })
}

/// The alert states a code scanning action may lead to.
pub fn code_scanning_states(action: &str) -> Option<&'static [&'static str]> {
    Some(match action {
        "appeared_in_branch" | "reopened" | "created" => &["open"],
        "fixed" => &["fixed", "dismissed"],
        "closed_by_user" => &["closed"],
        _ => return None,
    })
}

/// The alert states a secret scanning action may lead to.
pub fn secret_scanning_states(action: &str) -> Option<&'static [&'static str]> {
    Some(match action {
        "created" | "publicly_leaked" | "reopened" | "validated" => &["open"],
        "resolved" => &["resolved"],
        _ => return None,
    })
}

/// Every processor, on [`WEBHOOK_PATH`].
pub fn routes(shared: &Arc<Shared>) -> Vec<WebhookRoute> {
    Family::ALL
        .iter()
        .map(|family| {
            WebhookRoute::new(
                WEBHOOK_PATH,
                Processor {
                    family: *family,
                    shared: shared.clone(),
                },
            )
        })
        .collect()
}

/// The processor of one event family.
pub struct Processor {
    family: Family,
    shared: Arc<Shared>,
}

fn event_type(event: &WebhookEvent) -> &str {
    event.header("x-github-event").unwrap_or_default()
}

fn text<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn number(v: &Value, pointer: &str) -> Option<u64> {
    v.pointer(pointer).and_then(Value::as_u64)
}

/// The account an event is about: the organization, else (personal accounts) the repository's
/// owner.
pub fn account(payload: &Value) -> Option<(&str, bool)> {
    if let Some(login) = text(payload, "/organization/login") {
        return Some((login, true));
    }
    text(payload, "/repository/owner/login").map(|l| (l, false))
}

fn nothing() -> WebhookResults {
    WebhookResults::default()
}

fn updated(items: Vec<Value>) -> WebhookResults {
    WebhookResults {
        updated: items,
        deleted: Vec::new(),
    }
}

fn deleted(items: Vec<Value>) -> WebhookResults {
    WebhookResults {
        updated: Vec::new(),
        deleted: items,
    }
}

/// What handling an event works with: the kind's environment and the account.
struct Live {
    env: Env,
    org: Arc<Org>,
}

impl Live {
    fn repo(&self, payload: &Value) -> Option<Repo> {
        Repo::new(payload.get("repository")?.clone(), self.org.clone())
    }

    fn visible(&self, repo: &Value) -> bool {
        self.env.options.repository_type.admits(repo)
    }
}

impl Processor {
    async fn live(
        &self,
        event: &WebhookEvent,
        ctx: &FetchContext,
    ) -> Result<Option<Live>, BoxError> {
        let env = self.shared.env(ctx, Purpose::Live)?;
        let payload = event.payload();
        let Some((login, is_org)) = account(payload) else {
            return Ok(None);
        };
        let Some(auth) = self
            .shared
            .accounts
            .for_account(login, Purpose::Live)
            .await?
        else {
            tracing::warn!(
                account = login,
                "A GitHub webhook for an account no configured credential reaches was ignored"
            );
            return Ok(None);
        };
        let raw = if is_org {
            payload.get("organization").cloned()
        } else {
            payload.pointer("/repository/owner").cloned()
        }
        .unwrap_or_else(|| json!({"login": login}));
        let org = Org {
            login: login.to_owned(),
            account_type: if is_org { "Organization" } else { "User" }.to_owned(),
            raw,
            auth,
        };
        Ok(Some(Live {
            env,
            org: Arc::new(org),
        }))
    }

    /// Whether a repository passes the kind's `repoSearch` (always, without one).
    async fn in_search(&self, live: &Live, repo: &Value) -> Result<bool, GithubError> {
        let search: RepoScoped = parse(&live.env.kind, &live.env.selector).unwrap_or_default();
        let Some(RepoSearch { query }) = search.repo_search else {
            return Ok(true);
        };
        let (Some(name), Some(id)) = (text(repo, "/name"), number(repo, "/id")) else {
            return Ok(false);
        };
        let client = &live.org.auth.client;
        let q = format!("org:{} {} {name} in:name", live.org.login, query.trim());
        let answer = client
            .get_json(&client.url(&["search", "repositories"]), &[("q", q)])
            .await?;
        Ok(answer
            .get("items")
            .and_then(Value::as_array)
            .is_some_and(|items| items.iter().any(|r| number(r, "/id") == Some(id))))
    }

    /// The repository of a repository-scoped event, if it passes the filters.
    async fn scoped_repo(&self, live: &Live, payload: &Value) -> Result<Option<Repo>, GithubError> {
        let Some(repo) = live.repo(payload) else {
            return Ok(None);
        };
        if !live.visible(&repo.raw) {
            tracing::debug!(repository = %repo.name, "webhook ignored: the repository's visibility is filtered out");
            return Ok(None);
        }
        if !self.in_search(live, &repo.raw).await? {
            tracing::debug!(repository = %repo.name, "webhook ignored: the repository is outside the kind's repoSearch");
            return Ok(None);
        }
        Ok(Some(repo))
    }

    async fn handle_family(
        &self,
        event: &WebhookEvent,
        ctx: &FetchContext,
    ) -> Result<WebhookResults, BoxError> {
        let Some(live) = self.live(event, ctx).await? else {
            return Ok(nothing());
        };
        let payload = event.payload();
        let action = payload
            .get("action")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = ctx.kind();
        Ok(match self.family {
            Family::Ping => nothing(),
            Family::Repository => {
                self.repository(&live, event_type(event), action, payload)
                    .await?
            }
            Family::PullRequest => self.pull_request(&live, action, payload).await?,
            Family::Issue => self.issue(&live, action, payload).await?,
            Family::Release => {
                let Some(repo) = self.scoped_repo(&live, payload).await? else {
                    return Ok(nothing());
                };
                let release = payload.get("release").cloned().unwrap_or(Value::Null);
                if action == "deleted" {
                    deleted(vec![repo.enrich(release, false)])
                } else {
                    let id = number(&release, "/id").unwrap_or_default();
                    refetch(&repo, &["releases", &id.to_string()], &[]).await?
                }
            }
            Family::Tag => {
                let Some(repo) = self.scoped_repo(&live, payload).await? else {
                    return Ok(nothing());
                };
                let name = text(payload, "/ref").unwrap_or_default();
                if event_type(event) == "delete" {
                    deleted(vec![repo.enrich(json!({"name": name}), true)])
                } else {
                    fetched(repo_children::tag(&repo, name).await?)
                }
            }
            Family::Branch => self.branch(&live, event_type(event), payload).await?,
            Family::Environment => {
                let Some(repo) = self.scoped_repo(&live, payload).await? else {
                    return Ok(nothing());
                };
                let selector: EnvironmentSelector = parse(kind, ctx.selector())?;
                let name = text(payload, "/deployment/environment").unwrap_or_default();
                let url = repo.url(&["environments", name]);
                match repo.client().get_optional(&url, &[], &[]).await? {
                    Some(e) => {
                        let e = if selector.include_variables {
                            repo_children::with_variables(&live.env, &repo, e).await
                        } else {
                            e
                        };
                        updated(vec![repo.enrich(e, false)])
                    }
                    None => nothing(),
                }
            }
            Family::Deployment => {
                let Some(repo) = self.scoped_repo(&live, payload).await? else {
                    return Ok(nothing());
                };
                let selector: DeploymentSelector = parse(kind, ctx.selector())?;
                let deployment = payload.get("deployment").cloned().unwrap_or(Value::Null);
                if !deployment_matches(&selector, &deployment) {
                    return Ok(nothing());
                }
                let id = number(&deployment, "/id").unwrap_or_default();
                refetch(&repo, &["deployments", &id.to_string()], &[]).await?
            }
            Family::DeploymentStatus => {
                let Some(repo) = self.scoped_repo(&live, payload).await? else {
                    return Ok(nothing());
                };
                let selector: DeploymentSelector = parse(kind, ctx.selector())?;
                let deployment = payload.get("deployment").cloned().unwrap_or(Value::Null);
                if !deployment_matches(&selector, &deployment) {
                    return Ok(nothing());
                }
                let id = number(&deployment, "/id").unwrap_or_default();
                let sid = number(payload, "/deployment_status/id").unwrap_or_default();
                let url = repo.url(&["deployments", &id.to_string(), "statuses", &sid.to_string()]);
                fetched(
                    repo.client()
                        .get_optional(&url, &[], &[])
                        .await?
                        .map(|mut s| {
                            if let Some(map) = s.as_object_mut() {
                                map.insert("__deployment_id".into(), Value::from(id));
                            }
                            repo.enrich(s, false)
                        }),
                )
            }
            Family::WorkflowRun => {
                let Some(repo) = self.scoped_repo(&live, payload).await? else {
                    return Ok(nothing());
                };
                let selector: WorkflowRunSelector = parse(kind, ctx.selector())?;
                let run = payload.get("workflow_run").cloned().unwrap_or(Value::Null);
                if let Some(statuses) = selector.statuses.as_ref().filter(|s| !s.is_empty()) {
                    let status = text(&run, "/status").unwrap_or_default();
                    let conclusion = text(&run, "/conclusion").unwrap_or_default();
                    if !statuses.iter().any(|s| s == status || s == conclusion) {
                        return Ok(deleted(vec![repo.enrich(run, false)]));
                    }
                }
                let id = number(&run, "/id").unwrap_or_default();
                refetch(&repo, &["actions", "runs", &id.to_string()], &[]).await?
            }
            Family::Workflow => self.workflows(&live, payload).await?,
            Family::DependabotAlert => {
                let Some(repo) = self.scoped_repo(&live, payload).await? else {
                    return Ok(nothing());
                };
                let selector: DependabotSelector = parse(kind, ctx.selector())?;
                let alert = payload.get("alert").cloned().unwrap_or(Value::Null);
                let severity = text(&alert, "/security_advisory/severity").unwrap_or_default();
                let ecosystem = text(&alert, "/dependency/package/ecosystem").unwrap_or_default();
                let passes = |list: &Option<Vec<String>>, v: &str| {
                    list.as_ref()
                        .is_none_or(|l| l.is_empty() || l.iter().any(|x| x.eq_ignore_ascii_case(v)))
                };
                if !passes(&selector.severity, severity) || !passes(&selector.ecosystems, ecosystem)
                {
                    return Ok(nothing());
                }
                let state = dependabot_state(action).unwrap_or("open");
                if !selector.states.iter().any(|s| s == state) {
                    return Ok(deleted(vec![repo.enrich(alert, false)]));
                }
                let n = number(&alert, "/number").unwrap_or_default();
                refetch(&repo, &["dependabot", "alerts", &n.to_string()], &[]).await?
            }
            Family::CodeScanningAlert => {
                let Some(repo) = self.scoped_repo(&live, payload).await? else {
                    return Ok(nothing());
                };
                let selector: CodeScanningSelector = parse(kind, ctx.selector())?;
                let alert = payload.get("alert").cloned().unwrap_or(Value::Null);
                if let Some(severity) = &selector.severity {
                    let level = text(&alert, "/rule/security_severity_level")
                        .or_else(|| text(&alert, "/rule/severity"))
                        .unwrap_or_default();
                    if !level.eq_ignore_ascii_case(severity) {
                        return Ok(nothing());
                    }
                }
                let Some(states) = code_scanning_states(action) else {
                    return Ok(nothing());
                };
                if !states.contains(&selector.state.as_str()) {
                    return Ok(deleted(vec![repo.enrich(alert, false)]));
                }
                let n = number(&alert, "/number").unwrap_or_default();
                refetch(&repo, &["code-scanning", "alerts", &n.to_string()], &[]).await?
            }
            Family::SecretScanningAlert => {
                let Some(repo) = self.scoped_repo(&live, payload).await? else {
                    return Ok(nothing());
                };
                let selector: SecretScanningSelector = parse(kind, ctx.selector())?;
                let alert = payload.get("alert").cloned().unwrap_or(Value::Null);
                let Some(states) = secret_scanning_states(action) else {
                    return Ok(nothing());
                };
                if selector.state != "all" && !states.contains(&selector.state.as_str()) {
                    return Ok(deleted(vec![repo.enrich(alert, false)]));
                }
                let n = number(&alert, "/number").unwrap_or_default();
                let query = [("hide_secret", selector.hide_secret.to_string())];
                refetch(
                    &repo,
                    &["secret-scanning", "alerts", &n.to_string()],
                    &query,
                )
                .await?
            }
            Family::Team | Family::TeamMembership => self.team(&live, action, payload).await?,
            Family::User => {
                let selector: UserSelector = parse(kind, ctx.selector())?;
                let member = payload
                    .pointer("/membership/user")
                    .cloned()
                    .unwrap_or(Value::Null);
                let login = text(&member, "/login").unwrap_or_default().to_owned();
                if action == "member_removed" {
                    deleted(vec![member])
                } else {
                    let client = &live.org.auth.client;
                    fetched(
                        members::user(
                            &live.env,
                            client,
                            &live.org.login,
                            &login,
                            selector.include_saml_email,
                        )
                        .await?,
                    )
                }
            }
            Family::CollaboratorMember => {
                let Some(repo) = self.scoped_repo(&live, payload).await? else {
                    return Ok(nothing());
                };
                let selector: CollaboratorSelector = parse(kind, ctx.selector())?;
                if selector.affiliation != crate::selectors::Affiliation::All {
                    return Ok(nothing());
                }
                let member = payload.get("member").cloned().unwrap_or(Value::Null);
                let login = text(&member, "/login").unwrap_or_default().to_owned();
                if COLLABORATOR_DELETE_ACTIONS.contains(&action) {
                    deleted(vec![
                        repo.enrich(json!({"login": login, "id": member.get("id")}), false),
                    ])
                } else {
                    fetched(collaborator(&repo, &login).await?)
                }
            }
            Family::CollaboratorMembership => {
                let team = text(payload, "/team/slug").unwrap_or_default().to_owned();
                let login = text(payload, "/member/login")
                    .unwrap_or_default()
                    .to_owned();
                let client = &live.org.auth.client;
                let url = client.url(&["orgs", &live.org.login, "teams", &team, "repos"]);
                let mut items = Vec::new();
                let mut pages = client.paginate(&url, &[], None);
                while let Some(page) = futures::StreamExt::next(&mut pages).await {
                    for raw in page? {
                        if !live.visible(&raw) {
                            continue;
                        }
                        if let Some(repo) = Repo::new(raw, live.org.clone()) {
                            items.extend(collaborator(&repo, &login).await?);
                        }
                    }
                }
                updated(items)
            }
            Family::CollaboratorTeam => {
                let Some(repo) = self.scoped_repo(&live, payload).await? else {
                    return Ok(nothing());
                };
                let team = text(payload, "/team/slug").unwrap_or_default().to_owned();
                let client = repo.client();
                let url = client.url(&["orgs", &live.org.login, "teams", &team, "members"]);
                let mut items = Vec::new();
                let mut pages = client.paginate(&url, &[], None);
                while let Some(page) = futures::StreamExt::next(&mut pages).await {
                    items.extend(page?.into_iter().map(|m| repo.enrich(m, false)));
                }
                updated(items)
            }
            Family::Files => self.files(&live, kind, payload).await?,
        })
    }

    async fn repository(
        &self,
        live: &Live,
        event_type: &str,
        action: &str,
        payload: &Value,
    ) -> Result<WebhookResults, BoxError> {
        let Some(repo) = live.repo(payload) else {
            return Ok(nothing());
        };
        if !self.in_search(live, &repo.raw).await? {
            return Ok(nothing());
        }
        if event_type == "repository" && REPOSITORY_DELETE_ACTIONS.contains(&action) {
            return Ok(deleted(vec![(*repo.raw).clone()]));
        }
        if !live.visible(&repo.raw) {
            return Ok(deleted(vec![(*repo.raw).clone()]));
        }
        let selector: RepositorySelector = parse("repository", &live.env.selector)?;
        let plan = Plan::of(&selector)?;
        let url = repo.client().url(&["repos", &repo.owner, &repo.name]);
        let Some(fresh) = repo.client().get_optional(&url, &[], &[]).await? else {
            return Ok(nothing());
        };
        let Some(fresh) = Repo::new(fresh, live.org.clone()) else {
            return Ok(nothing());
        };
        Ok(updated(vec![plan.enrich(&live.env, &fresh).await]))
    }

    async fn pull_request(
        &self,
        live: &Live,
        action: &str,
        payload: &Value,
    ) -> Result<WebhookResults, BoxError> {
        let Some(repo) = self.scoped_repo(live, payload).await? else {
            return Ok(nothing());
        };
        let selector: PullRequestSelector = parse("pull-request", &live.env.selector)?;
        let pr = payload.get("pull_request").cloned().unwrap_or(Value::Null);
        let graphql = selector.api == PrApi::Graphql;
        if action == "closed" && !selector.states.contains(&PrState::Closed) {
            return Ok(deleted(vec![repo.enrich(pr, graphql)]));
        }
        let n = number(&pr, "/number").unwrap_or_default();
        if graphql {
            let data = repo
                .client()
                .graphql(
                    "PullRequest",
                    &pulls_graphql::single_query(&selector),
                    json!({"owner": repo.owner, "name": repo.name, "number": n}),
                    &["NOT_FOUND"],
                )
                .await?;
            let node = data
                .pointer("/repository/pullRequest")
                .filter(|p| !p.is_null())
                .cloned();
            return Ok(fetched(node.map(|p| {
                pulls_graphql::normalize(p, &repo, selector.enrich_with_first_commit)
            })));
        }
        Ok(fetched(pulls::pull_request(&repo, n).await?))
    }

    async fn issue(
        &self,
        live: &Live,
        action: &str,
        payload: &Value,
    ) -> Result<WebhookResults, BoxError> {
        let Some(repo) = self.scoped_repo(live, payload).await? else {
            return Ok(nothing());
        };
        let selector: IssueSelector = parse("issue", &live.env.selector)?;
        let issue = payload.get("issue").cloned().unwrap_or(Value::Null);
        if issue.get("pull_request").is_some() {
            return Ok(nothing());
        }
        if let Some(wanted) = selector.labels.as_ref().filter(|l| !l.is_empty()) {
            let labels: Vec<String> = issue
                .get("labels")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|l| l.get("name").and_then(Value::as_str).or(l.as_str()))
                .map(str::to_ascii_lowercase)
                .collect();
            if !wanted
                .iter()
                .all(|w| labels.contains(&w.to_ascii_lowercase()))
            {
                return Ok(nothing());
            }
        }
        if action == "deleted" || (action == "closed" && selector.state == IssueState::Open) {
            return Ok(deleted(vec![repo.enrich(issue, false)]));
        }
        let n = number(&issue, "/number").unwrap_or_default();
        Ok(fetched(repo_children::issue(&repo, n).await?))
    }

    async fn branch(
        &self,
        live: &Live,
        event_type: &str,
        payload: &Value,
    ) -> Result<WebhookResults, BoxError> {
        let Some(repo) = self.scoped_repo(live, payload).await? else {
            return Ok(nothing());
        };
        let selector: BranchSelector = parse("branch", &live.env.selector)?;
        let reference = text(payload, "/ref").unwrap_or_default();
        let name = reference
            .strip_prefix("refs/heads/")
            .unwrap_or(reference)
            .to_owned();
        if selector.default_branch_only && name != repo.default_branch {
            return Ok(nothing());
        }
        if !selector.branch_names.is_empty() && !selector.branch_names.contains(&name) {
            return Ok(nothing());
        }
        let removed =
            event_type == "delete" || payload.get("deleted").and_then(Value::as_bool) == Some(true);
        if removed {
            let item = json!({"name": name, "__is_default_branch": name == repo.default_branch});
            return Ok(deleted(vec![repo.enrich(item, true)]));
        }
        match repo_children::branch(&repo, &name).await? {
            Some(b) => Ok(updated(vec![
                repo_children::complete_branch(&live.env, &repo, b, &selector).await,
            ])),
            None => Ok(nothing()),
        }
    }

    async fn team(
        &self,
        live: &Live,
        action: &str,
        payload: &Value,
    ) -> Result<WebhookResults, BoxError> {
        let selector: TeamSelector = parse("team", &live.env.selector)?;
        let team = payload.get("team").cloned().unwrap_or(Value::Null);
        let slug = text(&team, "/slug").unwrap_or_default().to_owned();
        if self.family == Family::TeamMembership && !selector.members {
            return Ok(nothing());
        }
        if self.family == Family::Team && action == "deleted" {
            let mut team = team;
            if let Some(map) = team.as_object_mut() {
                map.insert("__organization".into(), Value::from(live.org.login.clone()));
            }
            return Ok(deleted(vec![team]));
        }
        let client = &live.org.auth.client;
        let url = client.url(&["orgs", &live.org.login, "teams", &slug]);
        let Some(fresh) = client.get_optional(&url, &[], &[]).await? else {
            return Ok(nothing());
        };
        let saml = members::SamlEmails::default();
        let team =
            members::complete_team(&live.env, client, &live.org.login, fresh, &selector, &saml)
                .await?;
        Ok(updated(vec![team]))
    }

    async fn workflows(&self, live: &Live, payload: &Value) -> Result<WebhookResults, BoxError> {
        let Some(repo) = self.scoped_repo(live, payload).await? else {
            return Ok(nothing());
        };
        let branch = text(payload, "/ref")
            .unwrap_or_default()
            .trim_start_matches("refs/heads/");
        if branch != repo.default_branch {
            return Ok(nothing());
        }
        let changes = changed_files(&repo, payload).await?;
        let mut results = nothing();
        for (path, status) in changes {
            let Some(file) = path.strip_prefix(".github/workflows/") else {
                continue;
            };
            if file.contains('/') || !(file.ends_with(".yml") || file.ends_with(".yaml")) {
                continue;
            }
            let url = repo.url(&["actions", "workflows", file]);
            match repo.client().get_optional(&url, &[], &[]).await? {
                Some(w)
                    if status != "removed"
                        && w.get("state").and_then(Value::as_str) != Some("deleted") =>
                {
                    results.updated.push(repo.enrich(w, false));
                }
                Some(w) => results.deleted.push(repo.enrich(w, false)),
                None if status == "removed" => {
                    results
                        .deleted
                        .push(repo.enrich(json!({"path": path}), false));
                }
                None => {}
            }
        }
        Ok(results)
    }

    async fn files(
        &self,
        live: &Live,
        kind: &str,
        payload: &Value,
    ) -> Result<WebhookResults, BoxError> {
        let Some(repo) = self.scoped_repo(live, payload).await? else {
            return Ok(nothing());
        };
        let branch = text(payload, "/ref")
            .unwrap_or_default()
            .trim_start_matches("refs/heads/")
            .to_owned();
        if payload.get("deleted").and_then(Value::as_bool) == Some(true) {
            return Ok(nothing());
        }
        // Which patterns apply to this repository and branch: those naming it (and the branch),
        // or naming no repositories, on the default branch.
        let applies = |organization: &Option<String>,
                       repos: &Option<Vec<crate::selectors::RepoBranch>>| {
            if organization
                .as_deref()
                .is_some_and(|o| !o.eq_ignore_ascii_case(&live.org.login))
            {
                return false;
            }
            match repos {
                Some(list) => list.iter().any(|r| {
                    r.name == repo.name
                        && r.branch.as_deref().unwrap_or(&repo.default_branch) == branch
                }),
                None => branch == repo.default_branch,
            }
        };
        match kind {
            "file" => {
                let selector: FileSelector = parse(kind, &live.env.selector)?;
                let patterns: Vec<_> = selector
                    .files
                    .iter()
                    .filter(|p| applies(&p.organization, &p.repos))
                    .cloned()
                    .collect();
                if patterns.is_empty() {
                    return Ok(nothing());
                }
                let changes = changed_files(&repo, payload).await?;
                let mut results = nothing();
                for pattern in patterns {
                    let g = files::glob(kind, &pattern.path)?;
                    let mut upserts = Vec::new();
                    for (path, status) in changes.iter().filter(|(p, _)| g.is_match(p)) {
                        if status == "removed" {
                            let name = path.rsplit('/').next().unwrap_or(path);
                            results.deleted.push(json!({
                                "organization": live.org.login, "path": path, "metadata": {"path": path},
                                "repository": *repo.raw, "branch": branch, "name": name, "content": Value::Null,
                            }));
                        } else {
                            upserts.push(entry(path));
                        }
                    }
                    results.updated.extend(
                        files::file_items(
                            &repo,
                            &branch,
                            upserts,
                            pattern.skip_parsing,
                            &selector.included_files,
                        )
                        .await?,
                    );
                }
                Ok(results)
            }
            "folder" => {
                let selector: FolderSelector = parse(kind, &live.env.selector)?;
                // As the reference: only patterns that name their repositories react to pushes.
                let patterns: Vec<_> = selector
                    .folders
                    .iter()
                    .filter(|p| p.repos.is_some() && applies(&p.organization, &p.repos))
                    .cloned()
                    .collect();
                if patterns.is_empty() {
                    return Ok(nothing());
                }
                let changes = changed_files(&repo, payload).await?;
                let tree = files::tree(&repo, &branch, true).await?;
                let mut results = nothing();
                for pattern in patterns {
                    let g = files::glob(kind, &pattern.path)?;
                    for folder in tree
                        .iter()
                        .filter(|e| e.kind == "tree" && g.is_match(&e.path))
                    {
                        let prefix = format!("{}/", folder.path);
                        if changes.iter().any(|(p, _)| p.starts_with(&prefix)) {
                            results.updated.push(json!({
                                "folder": folder.raw, "__repository": *repo.raw,
                                "__organization": live.org.login, "__branch": branch,
                            }));
                        }
                    }
                }
                Ok(results)
            }
            "skill" => {
                let selector: SkillSelector = parse(kind, &live.env.selector)?;
                let patterns: Vec<crate::selectors::PathPattern> = match &selector.paths {
                    Some(p) if !p.is_empty() => p.clone(),
                    _ => crate::selectors::DEFAULT_SKILL_PATHS
                        .iter()
                        .map(|p| crate::selectors::PathPattern {
                            path: Some((*p).to_owned()),
                            organization: None,
                            repos: None,
                        })
                        .collect(),
                };
                let mut globs = Vec::new();
                for p in patterns
                    .iter()
                    .filter(|p| applies(&p.organization, &p.repos))
                {
                    globs.push(files::glob(
                        kind,
                        p.path.as_deref().unwrap_or("**/SKILL.md"),
                    )?);
                }
                if globs.is_empty() {
                    return Ok(nothing());
                }
                let changes = changed_files(&repo, payload).await?;
                let mut results = nothing();
                let mut upserts = Vec::new();
                for (path, status) in changes
                    .iter()
                    .filter(|(p, _)| globs.iter().any(|g| g.is_match(p)))
                {
                    let e = entry(path);
                    if status == "removed" {
                        results
                            .deleted
                            .push(files::skill_item(&repo, &branch, &e, ""));
                    } else {
                        upserts.push(e);
                    }
                }
                let wanted: Vec<(String, Option<u64>)> =
                    upserts.iter().map(|e| (e.path.clone(), None)).collect();
                let texts = files::texts(&repo, &branch, &wanted).await?;
                for e in &upserts {
                    if let Some(Some(t)) = texts.get(&e.path) {
                        results
                            .updated
                            .push(files::skill_item(&repo, &branch, e, t));
                    }
                }
                Ok(results)
            }
            "plugin" => {
                let selector: PluginSelector = parse(kind, &live.env.selector)?;
                let providers: Vec<String> = match &selector.providers {
                    Some(p) if !p.is_empty() => p.clone(),
                    _ => PLUGIN_PROVIDERS.iter().map(|p| (*p).to_owned()).collect(),
                };
                let applies_any = match &selector.paths {
                    Some(p) if !p.is_empty() => {
                        p.iter().any(|p| applies(&p.organization, &p.repos))
                    }
                    _ => branch == repo.default_branch,
                };
                if !applies_any {
                    return Ok(nothing());
                }
                let changes = changed_files(&repo, payload).await?;
                let touches = changes.iter().any(|(p, _)| {
                    providers.iter().any(|provider| {
                        files::manifests(provider).contains(&p.as_str())
                            || files::directory_marker(provider).is_some_and(|m| p.starts_with(m))
                    })
                });
                if !touches {
                    return Ok(nothing());
                }
                match files::repo_plugin(&repo, &branch, &providers).await? {
                    Some(item) => Ok(updated(vec![item])),
                    None => {
                        let empty = json!({
                            "name": repo.name, "displayName": repo.name, "description": "", "version": Value::Null,
                            "supports": PLUGIN_PROVIDERS.iter().map(|p| (p.to_string(), Value::from(false))).collect::<serde_json::Map<_, _>>(),
                        });
                        Ok(deleted(vec![json!({
                            "plugin": empty, "__repository": *repo.raw, "__branch": branch, "__organization": live.org.login,
                        })]))
                    }
                }
            }
            _ => Ok(nothing()),
        }
    }
}

fn entry(path: &str) -> TreeEntry {
    TreeEntry {
        path: path.to_owned(),
        kind: "blob".into(),
        sha: String::new(),
        size: None,
        raw: json!({"path": path, "type": "blob"}),
    }
}

fn fetched(item: Option<Value>) -> WebhookResults {
    updated(item.into_iter().collect())
}

/// The repository's object at `segments` (`["releases", "42"]`) fetched again — a payload may be
/// older than GitHub's state — with `__repository`; gone (404) upserts nothing.
async fn refetch(
    repo: &Repo,
    segments: &[&str],
    query: &[(&str, String)],
) -> Result<WebhookResults, GithubError> {
    let url = repo.url(segments);
    let item = repo.client().get_optional(&url, query, &[]).await?;
    Ok(fetched(item.map(|item| repo.enrich(item, false))))
}

fn deployment_matches(selector: &DeploymentSelector, deployment: &Value) -> bool {
    let same = |wanted: &Option<String>, field: &str| {
        wanted
            .as_ref()
            .is_none_or(|w| text(deployment, field) == Some(w.as_str()))
    };
    same(&selector.task, "/task") && same(&selector.environment, "/environment")
}

/// A collaborator of a repository (its permission answer's `user`), enriched.
async fn collaborator(repo: &Repo, login: &str) -> Result<Option<Value>, GithubError> {
    let url = repo.url(&["collaborators", login, "permission"]);
    Ok(repo
        .client()
        .get_optional(&url, &[], &[])
        .await?
        .and_then(|p| p.get("user").cloned())
        .filter(|u| !u.is_null())
        .map(|u| repo.enrich(u, false)))
}

/// The files a push changed, with their status (`added`, `modified`, `removed`, `renamed`):
/// from the comparison of `before...after`, or from the payload's commits for a new branch.
/// A renamed file's old path counts as removed.
pub async fn changed_files(
    repo: &Repo,
    payload: &Value,
) -> Result<Vec<(String, String)>, GithubError> {
    let before = text(payload, "/before").unwrap_or_default();
    let after = text(payload, "/after").unwrap_or_default();
    let zero = |s: &str| s.is_empty() || s.chars().all(|c| c == '0');
    let mut out: Vec<(String, String)> = Vec::new();
    if !zero(before) && !zero(after) {
        let url = repo.url(&["compare", &format!("{before}...{after}")]);
        if let Some(comparison) = repo.client().get_optional(&url, &[], &[]).await? {
            for f in comparison
                .get("files")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(name) = text(f, "/filename") else {
                    continue;
                };
                let status = text(f, "/status").unwrap_or("modified");
                if let Some(old) = text(f, "/previous_filename") {
                    out.push((old.to_owned(), "removed".into()));
                }
                out.push((
                    name.to_owned(),
                    if status == "renamed" {
                        "added".into()
                    } else {
                        status.to_owned()
                    },
                ));
            }
            return Ok(out);
        }
    }
    for commit in payload
        .get("commits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for (key, status) in [
            ("added", "added"),
            ("modified", "modified"),
            ("removed", "removed"),
        ] {
            for p in commit
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                out.retain(|(q, _)| q != p);
                out.push((p.to_owned(), status.to_owned()));
            }
        }
    }
    Ok(out)
}

#[ocean::prelude::async_trait]
impl WebhookProcessor for Processor {
    fn name(&self) -> &str {
        self.family.name()
    }

    fn should_process(&self, event: &WebhookEvent) -> bool {
        self.family.takes(event_type(event), event.payload())
    }

    fn matching_kinds(&self, _event: &WebhookEvent) -> Vec<String> {
        self.family
            .kinds()
            .iter()
            .map(|k| (*k).to_owned())
            .collect()
    }

    fn authenticate(&self, event: &WebhookEvent) -> Result<(), WebhookRejection> {
        let Some(secret) = self.shared.config.webhook_secret() else {
            return Ok(());
        };
        if event.header("x-hub-signature-256").is_none() {
            return Err(WebhookRejection::new("no X-Hub-Signature-256 header"));
        }
        event.verify_signature(
            "X-Hub-Signature-256",
            &Signature::github(),
            secret.expose().as_bytes(),
        )
    }

    fn validate_payload(&self, event: &WebhookEvent) -> bool {
        let payload = event.payload();
        if self.family == Family::Ping {
            return true;
        }
        if account(payload).is_none() {
            return false;
        }
        let repo_scoped = !matches!(
            self.family,
            Family::Team | Family::TeamMembership | Family::User | Family::CollaboratorMembership
        );
        !repo_scoped || text(payload, "/repository/name").is_some()
    }

    fn ordering_key(&self, event: &WebhookEvent) -> Option<String> {
        let p = event.payload();
        let key = match event_type(event) {
            "pull_request" => format!("pull_request-{}", number(p, "/pull_request/number")?),
            "issues" => format!("issues-{}", number(p, "/issue/number")?),
            "push" => format!("push-{}", text(p, "/after")?),
            "release" => format!("release-{}", number(p, "/release/id")?),
            "workflow_run" => format!("workflow_run-{}", number(p, "/workflow_run/id")?),
            _ => return None,
        };
        let repo = text(p, "/repository/full_name").unwrap_or_default();
        Some(format!("{repo}:{key}"))
    }

    async fn handle(
        &self,
        event: &WebhookEvent,
        resource: &FetchContext,
    ) -> Result<WebhookResults, BoxError> {
        self.handle_family(event, resource).await
    }
}
