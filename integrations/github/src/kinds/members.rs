//! `user` and `team`: organization members (GraphQL `membersWithRole`) and teams (REST, with
//! their members from GraphQL), with SAML emails where the organization uses SAML SSO.
//!
//! A personal account has no members: its `user` item is the account itself (its `email` from
//! the token user's primary email when GitHub hides it), and it has no teams.

use super::{Env, KindError, KindStream, failed};
use crate::accounts::Org;
use crate::client::{GithubClient, GithubError};
use crate::selectors::{TeamSelector, UserSelector, parse};
use futures::stream::{StreamExt as _, TryStreamExt as _};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// Organization members.
pub const ORG_MEMBERS_QUERY: &str = r#"
query OrgMembers($organization: String!, $first: Int = 25, $after: String) {
  organization(login: $organization) {
    membersWithRole(first: $first, after: $after) {
      nodes { ... on User { login id databaseId email name } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"#;

/// One user (webhooks).
pub const USER_QUERY: &str = r#"
query User($login: String!) {
  user(login: $login) { login email name }
}"#;

/// One team with a page of its members.
pub const TEAM_QUERY: &str = r#"
query Team($organization: String!, $slug: String!, $memberFirst: Int = 30, $memberAfter: String) {
  organization(login: $organization) {
    team(slug: $slug) {
      slug id databaseId name description privacy notificationSetting url
      members(first: $memberFirst, after: $memberAfter) {
        nodes { id login name isSiteAdmin email }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}"#;

/// The SAML identities of an organization's members.
pub const SAML_QUERY: &str = r#"
query SamlIdentities($organization: String!, $first: Int = 100, $after: String) {
  organization(login: $organization) {
    samlIdentityProvider {
      externalIdentities(first: $first, after: $after) {
        edges { node { samlIdentity { nameId } user { login } } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}"#;

/// Members per page of a team query (as the reference).
pub const TEAM_MEMBER_PAGE: u32 = 30;

/// Login → SAML `nameId` of one organization.
type SamlMap = HashMap<String, String>;

/// The SAML `nameId` of each member login, fetched at most once per organization and kind.
#[derive(Clone, Default)]
pub struct SamlEmails(Arc<tokio::sync::Mutex<HashMap<String, Arc<OnceCell<SamlMap>>>>>);

impl SamlEmails {
    /// The map of `org`; an organization without SAML (or a failure, degraded) gives none.
    pub async fn of(&self, env: &Env, client: &GithubClient, org: &str) -> HashMap<String, String> {
        let cell = self
            .0
            .lock()
            .await
            .entry(org.to_ascii_lowercase())
            .or_default()
            .clone();
        cell.get_or_init(|| async {
            let pages: Result<Vec<Vec<Value>>, GithubError> = client
                .graphql_paginate(
                    "SamlIdentities",
                    SAML_QUERY,
                    json!({"organization": org, "first": 100}),
                    &["organization", "samlIdentityProvider", "externalIdentities"],
                    "edges",
                )
                .try_collect()
                .await;
            match pages {
                Ok(pages) => pages
                    .into_iter()
                    .flatten()
                    .filter_map(|edge| {
                        let login = edge.pointer("/node/user/login")?.as_str()?.to_owned();
                        let email = edge
                            .pointer("/node/samlIdentity/nameId")?
                            .as_str()?
                            .to_owned();
                        Some((login, email))
                    })
                    .collect(),
                Err(e) => {
                    env.degraded("samlEmail", org, &e);
                    HashMap::new()
                }
            }
        })
        .await
        .clone()
    }

    /// Adds `__SAMLEmail` (when `include`, or when it fills a missing email) and fills a
    /// missing `email` from SAML.
    pub async fn enrich(
        &self,
        env: &Env,
        client: &GithubClient,
        org: &str,
        members: &mut [Value],
        include: bool,
    ) {
        if members.is_empty() {
            return;
        }
        let all_have_email = members.iter().all(|m| {
            m.get("email")
                .and_then(Value::as_str)
                .is_some_and(|e| !e.is_empty())
        });
        if !include && all_have_email {
            return;
        }
        let saml = self.of(env, client, org).await;
        for member in members {
            let login = member
                .get("login")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let saml_email = login.and_then(|l| saml.get(&l).cloned());
            let has_email = member
                .get("email")
                .and_then(Value::as_str)
                .is_some_and(|e| !e.is_empty());
            let fill = !has_email && saml_email.is_some();
            if let Some(map) = member.as_object_mut() {
                if include || fill {
                    map.insert(
                        "__SAMLEmail".into(),
                        saml_email.clone().map(Value::from).unwrap_or(Value::Null),
                    );
                }
                if fill {
                    map.insert(
                        "email".into(),
                        saml_email.map(Value::from).unwrap_or(Value::Null),
                    );
                }
            }
        }
    }
}

/// The user kind.
pub fn users(env: Env) -> KindStream {
    let selector: UserSelector = match parse("user", &env.selector) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let saml = SamlEmails::default();
    let include = selector.include_saml_email;
    let per_org_env = env.clone();
    env.per_org(false, move |org| {
        let env = per_org_env.clone();
        let saml = saml.clone();
        Box::pin(async_stream::try_stream! {
            let client = org.auth.client.clone();
            if org.is_user() {
                yield vec![personal_account_user(&env, &org).await];
            } else {
                let mut pages = client.graphql_paginate(
                    "OrgMembers",
                    ORG_MEMBERS_QUERY,
                    json!({"organization": org.login}),
                    &["organization", "membersWithRole"],
                    "nodes",
                );
                while let Some(page) = pages.next().await {
                    let mut members = page.map_err(KindError::from)?;
                    saml.enrich(&env, &client, &org.login, &mut members, include).await;
                    yield members;
                }
            }
        })
    })
}

/// A personal account as a user item; a hidden email is filled from the token user's primary
/// email when the account is the token user's (degraded otherwise).
async fn personal_account_user(env: &Env, org: &Org) -> Value {
    let mut user = org.raw.clone();
    let has_email = user
        .get("email")
        .and_then(Value::as_str)
        .is_some_and(|e| !e.is_empty());
    if !has_email && org.auth.installation.is_none() {
        let client = &org.auth.client;
        match client
            .get_optional(&client.url(&["user", "emails"]), &[], &[403])
            .await
        {
            Ok(Some(Value::Array(emails))) => {
                let primary = emails
                    .iter()
                    .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
                    .and_then(|e| e.get("email").cloned());
                if let (Some(email), Some(map)) = (primary, user.as_object_mut()) {
                    map.insert("email".into(), email);
                }
            }
            Ok(_) => {}
            Err(e) => env.degraded("email", &org.login, &e),
        }
    }
    user
}

/// One member by login (webhooks): GraphQL `user`, with SAML enrichment.
pub async fn user(
    env: &Env,
    client: &GithubClient,
    org: &str,
    login: &str,
    include_saml: bool,
) -> Result<Option<Value>, GithubError> {
    let data = client
        .graphql("User", USER_QUERY, json!({"login": login}), &["NOT_FOUND"])
        .await?;
    let Some(user) = data.get("user").filter(|u| !u.is_null()).cloned() else {
        return Ok(None);
    };
    let mut members = [user];
    SamlEmails::default()
        .enrich(env, client, org, &mut members, include_saml)
        .await;
    let [user] = members;
    Ok(Some(user))
}

/// The team kind.
pub fn teams(env: Env) -> KindStream {
    let selector: TeamSelector = match parse("team", &env.selector) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let saml = SamlEmails::default();
    let per_org_env = env.clone();
    env.per_org(true, move |org| {
        let env = per_org_env.clone();
        let saml = saml.clone();
        let selector = selector.clone();
        Box::pin(async_stream::try_stream! {
            let client = org.auth.client.clone();
            let mut pages = client.paginate(&client.url(&["orgs", &org.login, "teams"]), &[], None);
            while let Some(page) = pages.next().await {
                let teams = page.map_err(KindError::from)?;
                let mut out = Vec::with_capacity(teams.len());
                for team in teams {
                    out.push(complete_team(&env, &client, &org.login, team, &selector, &saml).await?);
                }
                yield out;
            }
        })
    })
}

/// A team's object with what the selector adds: `__organization`, its members
/// (`members.nodes`, `__graphql_privacy`; failures fail the kind, since a team without its
/// members would overwrite them in Port), and `__external_group` (optional).
pub async fn complete_team(
    env: &Env,
    client: &GithubClient,
    org: &str,
    mut team: Value,
    selector: &TeamSelector,
    saml: &SamlEmails,
) -> Result<Value, KindError> {
    let slug = team
        .get("slug")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if selector.members {
        let extras = if slug.starts_with("ent:") {
            None
        } else {
            team_with_members(client, org, &slug).await?
        };
        match extras {
            Some(mut extras) => {
                if let Some(nodes) = extras
                    .pointer_mut("/members/nodes")
                    .and_then(Value::as_array_mut)
                {
                    saml.enrich(env, client, org, nodes, selector.include_saml_email)
                        .await;
                }
                if let (Some(map), Some(extras)) = (team.as_object_mut(), extras.as_object()) {
                    for (k, v) in extras {
                        map.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
            None => {
                // Enterprise teams (or teams GraphQL does not know): members from REST.
                let url = client.url(&["orgs", org, "teams", &slug, "members"]);
                let pages: Vec<Vec<Value>> = client.paginate(&url, &[], None).try_collect().await?;
                let mut nodes: Vec<Value> = pages.into_iter().flatten().collect();
                saml.enrich(env, client, org, &mut nodes, selector.include_saml_email)
                    .await;
                if let Some(map) = team.as_object_mut() {
                    map.entry("members")
                        .or_insert_with(|| json!({"nodes": nodes}));
                }
            }
        }
    }
    if selector.include_external_group {
        let url = client.url(&["orgs", org, "teams", &slug, "external-groups"]);
        let group = match client.get_optional(&url, &[], &[400]).await {
            Ok(v) => v
                .and_then(|v| v.pointer("/groups/0").cloned())
                .unwrap_or(Value::Null),
            Err(e) => {
                env.degraded("externalGroup", &format!("{org}/{slug}"), &e);
                Value::Null
            }
        };
        if let Some(map) = team.as_object_mut() {
            map.insert("__external_group".into(), group);
        }
    }
    if let Some(map) = team.as_object_mut() {
        map.insert("__organization".into(), Value::from(org));
    }
    Ok(team)
}

/// A team from GraphQL with all its members; `None` when GraphQL does not know it.
pub async fn team_with_members(
    client: &GithubClient,
    org: &str,
    slug: &str,
) -> Result<Option<Value>, GithubError> {
    let mut after: Option<String> = None;
    let mut team: Option<Value> = None;
    let mut nodes: Vec<Value> = Vec::new();
    loop {
        let data = client
            .graphql(
                "Team",
                TEAM_QUERY,
                json!({"organization": org, "slug": slug, "memberFirst": TEAM_MEMBER_PAGE, "memberAfter": after}),
                &["NOT_FOUND"],
            )
            .await?;
        let Some(found) = data.pointer("/organization/team").filter(|t| !t.is_null()) else {
            if team.is_none() {
                return Ok(None);
            }
            break;
        };
        nodes.extend(
            found
                .pointer("/members/nodes")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        );
        let has_next = found
            .pointer("/members/pageInfo/hasNextPage")
            .and_then(Value::as_bool)
            == Some(true);
        after = found
            .pointer("/members/pageInfo/endCursor")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if team.is_none() {
            team = Some(found.clone());
        }
        if !has_next || after.is_none() {
            break;
        }
    }
    let mut team = team.unwrap_or(Value::Null);
    if let Some(map) = team.as_object_mut() {
        let privacy = map.get("privacy").cloned().unwrap_or(Value::Null);
        map.insert("__graphql_privacy".into(), privacy);
        map.insert("members".into(), json!({"nodes": nodes}));
    }
    Ok(Some(team))
}
