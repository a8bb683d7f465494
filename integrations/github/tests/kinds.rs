//! Each kind against the fixture GitHub: what it lists, the enrichment keys the reference adds,
//! the selector's options, pagination across pages, and what is (and is not) a failure.

mod common;

use common::{acme, config, fetch_with, github, integration, items, texts};
use github_fixture::Fault;
use serde_json::{Value, json};

#[tokio::test]
async fn organization_repository_and_pagination() {
    let gh = github(vec![acme(250)]).await;
    let cache = tempfile::tempdir().unwrap();
    let it = integration(config(&gh, &cache));
    let orgs = items(&it, "organization", json!({"query": "true"})).await;
    assert_eq!(texts(&orgs, "/login"), ["acme"]);
    assert_eq!(orgs[0]["type"], "Organization");

    // 250 repositories: three pages of GET /orgs/acme/repos, followed by their Link headers.
    let repos = items(
        &it,
        "repository",
        json!({"query": "true", "includedFiles": ["README.md", "missing.txt"]}),
    )
    .await;
    assert_eq!(repos.len(), 250);
    assert_eq!(gh.counters().by_path["GET /orgs/acme/repos"], 3);
    let first = repos.iter().find(|r| r["name"] == "repo-0001").unwrap();
    assert_eq!(
        first["__includedFiles"]["README.md"],
        "# repo-0001\n\nThe repo-0001 service.\n"
    );
    assert_eq!(first["__includedFiles"]["missing.txt"], Value::Null);

    // repositoryType: private only (every fourth repository is private in the fixture).
    let (pages, error) = fetch_with(
        &it,
        "repository",
        json!({"query": "true"}),
        json!({"repositoryType": "private"}),
    )
    .await;
    assert!(error.is_none());
    let private: Vec<Value> = pages.into_iter().flatten().collect();
    assert_eq!(private.len(), 62);
    assert!(private.iter().all(|r| r["visibility"] == "private"));
}

#[tokio::test]
async fn repository_relations_degrade_but_do_not_fail() {
    let gh = github(vec![acme(3)]).await;
    let cache = tempfile::tempdir().unwrap();
    let it = integration(config(&gh, &cache));
    gh.inject(Fault::status("/repos/acme/repo-0002/teams", 500, "boom"));
    let repos = items(
        &it,
        "repository",
        json!({"query": "true", "includedRelations": {"collaborators": {"affiliation": "direct"}, "teams": true, "customProperties": true, "sbom": true, "pages": true}}),
    )
    .await;
    let r1 = repos.iter().find(|r| r["name"] == "repo-0001").unwrap();
    assert_eq!(r1["__collaborators"].as_array().unwrap().len(), 2);
    assert_eq!(r1["__teams"][0]["slug"], "team-0");
    assert_eq!(r1["custom_properties"], json!({"tier": "gold"}));
    assert_eq!(r1["__sbom"]["spdxVersion"], "SPDX-2.3");
    assert_eq!(r1["__pages"], Value::Null);
    // A failing enrichment leaves that key null, counts it, and the repository still syncs.
    let r2 = repos.iter().find(|r| r["name"] == "repo-0002").unwrap();
    assert_eq!(r2["__teams"], Value::Null);
    assert_eq!(it.stats().snapshot().degraded["repository/teams"], 1);
    assert!(
        gh.counters()
            .by_path
            .keys()
            .any(|p| p.contains("collaborators") && p.starts_with("GET /repos/acme/repo-0001"))
    );
}

#[tokio::test]
async fn pull_requests_open_and_closed_with_enrichment_keys() {
    let mut org = acme(2);
    org.pull_requests = 120;
    org.closed_pull_requests = 5;
    let gh = github(vec![org]).await;
    let cache = tempfile::tempdir().unwrap();
    let it = integration(config(&gh, &cache));
    let open = items(&it, "pull-request", json!({"query": "true"})).await;
    assert_eq!(open.len(), 240);
    // Two pages per repository.
    assert_eq!(gh.counters().by_path["GET /repos/acme/repo-0000/pulls"], 2);
    assert!(open.iter().all(|p| p["state"] == "open"));
    let pr = &open[0];
    assert!(pr["__repository"].as_str().unwrap().starts_with("repo-000"));
    assert_eq!(pr["__organization"], "acme");

    // Closed within 3 days: the fixture closed one a day before it started.
    let closed = items(
        &it,
        "pull-request",
        json!({"query": "true", "states": ["closed"], "since": 3}),
    )
    .await;
    assert_eq!(closed.len(), 2 * 2);
    assert!(closed.iter().all(|p| p["state"] == "closed"));
    let capped = items(
        &it,
        "pull-request",
        json!({"states": ["closed"], "since": 30, "maxResults": 1}),
    )
    .await;
    assert_eq!(capped.len(), 2);

    // GraphQL: REST-like items.
    let graphql = items(
        &it,
        "pull-request",
        json!({"api": "graphql", "states": ["open"], "enrichWithFirstCommit": true}),
    )
    .await;
    assert_eq!(graphql.len(), 240);
    let g = &graphql[0];
    assert_eq!(g["state"], "open");
    assert_eq!(g["mergeable"], true);
    assert_eq!(g["mergeable_state"], "clean");
    assert_eq!(g["comments"], 2);
    assert_eq!(g["commits"], 3);
    assert_eq!(g["firstCommit"]["oid"], "abc");
    assert_eq!(g["requested_reviewers"][0]["type"], "User");
    assert!(g["__repository_object"]["full_name"].is_string());
}

#[tokio::test]
async fn issues_leave_pull_requests_out_and_filter_labels() {
    let gh = github(vec![acme(2)]).await;
    let cache = tempfile::tempdir().unwrap();
    let it = integration(config(&gh, &cache));
    let issues = items(&it, "issue", json!({"query": "true"})).await;
    // Two issues per repository; the pull request GitHub also lists is not an issue.
    assert_eq!(issues.len(), 4);
    assert!(issues.iter().all(|i| i.get("pull_request").is_none()));
    let bugs = items(&it, "issue", json!({"labels": ["bug"]})).await;
    assert_eq!(bugs.len(), 2);
    assert!(
        gh.counters()
            .by_path
            .contains_key("GET /repos/acme/repo-0000/issues")
    );

    // Issues disabled (410) means none for that repository, not a failure.
    gh.inject(Fault::status(
        "/repos/acme/repo-0001/issues",
        410,
        "Issues are disabled for this repo",
    ));
    let issues = items(&it, "issue", json!({})).await;
    assert_eq!(texts(&issues, "/__repository"), ["repo-0000", "repo-0000"]);
}

#[tokio::test]
async fn branches_plain_detailed_default_only_and_protection() {
    let mut org = acme(2);
    org.branches = 3;
    let gh = github(vec![org]).await;
    let cache = tempfile::tempdir().unwrap();
    let it = integration(config(&gh, &cache));
    let branches = items(&it, "branch", json!({})).await;
    assert_eq!(branches.len(), 6);
    let main = branches.iter().find(|b| b["name"] == "main").unwrap();
    assert_eq!(main["__is_default_branch"], true);
    assert_eq!(main["__repository_object"]["default_branch"], "main");
    assert!(main.get("__protection_rules").is_none());

    let detailed = items(
        &it,
        "branch",
        json!({"detailed": true, "protectionRules": true}),
    )
    .await;
    let main = detailed.iter().find(|b| b["name"] == "main").unwrap();
    assert!(main["_links"].is_object());
    assert_eq!(
        main["__protection_rules"]["enforce_admins"]["enabled"],
        true
    );
    let feature = detailed.iter().find(|b| b["name"] == "feature-1").unwrap();
    assert_eq!(feature["__protection_rules"], Value::Null);

    let default_only = items(&it, "branch", json!({"defaultBranchOnly": true})).await;
    assert_eq!(texts(&default_only, "/name"), ["main", "main"]);
    let named = items(&it, "branch", json!({"branchNames": ["feature-2", "nope"]})).await;
    assert_eq!(texts(&named, "/name"), ["feature-2", "feature-2"]);
}

#[tokio::test]
async fn users_and_teams_with_members_and_saml_emails() {
    let mut org = acme(1);
    org.members = 60;
    org.teams = 2;
    let gh = github(vec![org]).await;
    let cache = tempfile::tempdir().unwrap();
    let it = integration(config(&gh, &cache));
    let users = items(&it, "user", json!({"includeSAMLEmail": true})).await;
    // 60 members over three GraphQL pages of 25.
    assert_eq!(users.len(), 60);
    let odd = users.iter().find(|u| u["login"] == "user-1").unwrap();
    assert_eq!(odd["email"], "user-1@sso.acme.example");
    assert_eq!(odd["__SAMLEmail"], "user-1@sso.acme.example");
    let even = users.iter().find(|u| u["login"] == "user-2").unwrap();
    assert_eq!(even["email"], "user-2@acme.example");
    assert_eq!(even["__SAMLEmail"], Value::Null);

    let teams = items(&it, "team", json!({})).await;
    assert_eq!(texts(&teams, "/slug"), ["team-0", "team-1"]);
    let team0 = &teams.iter().find(|t| t["slug"] == "team-0").unwrap();
    // 30 members of team-0, fetched over two pages of 30… plus the REST fields kept.
    assert_eq!(team0["members"]["nodes"].as_array().unwrap().len(), 30);
    assert_eq!(team0["id"], 7000);
    assert_eq!(team0["__graphql_privacy"], "VISIBLE");
    assert_eq!(team0["__organization"], "acme");
    let without = items(
        &it,
        "team",
        json!({"members": false, "include_external_group": true}),
    )
    .await;
    assert!(without[0].get("members").is_none());
    assert_eq!(without[0]["__external_group"], Value::Null);
}

#[tokio::test]
async fn the_other_repository_kinds() {
    let gh = github(vec![acme(8)]).await;
    let cache = tempfile::tempdir().unwrap();
    let it = integration(config(&gh, &cache));
    let count = |kind: &'static str, selector: Value| {
        let it = it.clone();
        async move { items(&it, kind, selector).await }
    };
    assert_eq!(count("release", json!({})).await.len(), 16);
    let tags = count("tag", json!({})).await;
    assert_eq!(tags.len(), 16);
    assert!(tags[0]["__repository_object"].is_object());
    assert_eq!(count("workflow", json!({})).await.len(), 8);
    let runs = count("workflow-run", json!({})).await;
    assert_eq!(runs.len(), 16);
    assert_eq!(
        count("workflow-run", json!({"statuses": ["success"]}))
            .await
            .len(),
        8
    );
    let envs = count("environment", json!({"includeVariables": true})).await;
    assert_eq!(envs[0]["__variables"][0]["name"], "REGION");
    let deployments = count("deployment", json!({"enrichWithFirstCommit": true})).await;
    assert_eq!(deployments.len(), 16);
    let newest = deployments
        .iter()
        .find(|d| d["__repository"] == "repo-0001" && d["created_at"] == "2024-01-01T02:00:00Z")
        .unwrap();
    assert_eq!(newest["__commitCount"], 2);
    assert_eq!(newest["__firstCommit"]["commit"]["message"], "first");
    let oldest = deployments
        .iter()
        .find(|d| d["__repository"] == "repo-0001" && d["created_at"] == "2024-01-01T01:00:00Z")
        .unwrap();
    assert_eq!(oldest["__commitCount"], 1);
    let statuses = count("deployment-status", json!({"environment": "production"})).await;
    assert_eq!(statuses.len(), 16);
    assert!(statuses[0]["__deployment_id"].is_u64());
    // Dependabot is off on repo-0003 (403), code scanning has no analysis on repo-0004 (404):
    // those repositories have none, the kinds succeed.
    assert_eq!(
        count(
            "dependabot-alert",
            json!({"states": ["open"], "severity": ["high"]})
        )
        .await
        .len(),
        7
    );
    assert_eq!(count("code-scanning-alerts", json!({})).await.len(), 7);
    assert_eq!(
        count("secret-scanning-alerts", json!({"state": "all"}))
            .await
            .len(),
        8
    );
    let collaborators = count("collaborator", json!({"affiliation": "outside"})).await;
    assert_eq!(collaborators.len(), 16);
    assert!(
        gh.counters()
            .by_path
            .keys()
            .any(|p| p.starts_with("GET /repos/acme/repo-0000/collaborators"))
    );
    // repoSearch: only the repositories a search finds (even indexes carry the topic).
    let searched = count("release", json!({"repoSearch": {"query": "topic:service"}})).await;
    assert_eq!(searched.len(), 8);
}

#[tokio::test]
async fn files_folders_skills_and_plugins() {
    let gh = github(vec![acme(3)]).await;
    let cache = tempfile::tempdir().unwrap();
    let it = integration(config(&gh, &cache));
    let files = items(
        &it,
        "file",
        json!({"files": [{"path": "**/port.yml"}], "includedFiles": ["README.md"]}),
    )
    .await;
    assert_eq!(files.len(), 3);
    let f = files
        .iter()
        .find(|f| f["repository"]["name"] == "repo-0001")
        .unwrap();
    assert_eq!(f["content"]["service"], "repo-0001");
    // The `file://` reference replaced by the parsed file.
    assert_eq!(f["content"]["openapi"]["info"]["title"], "API");
    assert_eq!(
        f["__includedFiles"]["README.md"],
        "# repo-0001\n\nThe repo-0001 service.\n"
    );
    assert_eq!(f["branch"], "main");
    assert_eq!(f["path"], "port.yml");
    assert_eq!(f["__base_jq"], ".content");
    let named = items(&it, "file", json!({"files": [{"path": "services/*/catalog.json", "repos": [{"name": "repo-0002"}], "skipParsing": true}]})).await;
    assert_eq!(named.len(), 1);
    assert!(named[0]["content"].is_string());
    // A repository named in the selector that does not exist fails the kind, naming it.
    let (_, error) = fetch_with(
        &it,
        "file",
        json!({"files": [{"path": "*.md", "repos": [{"name": "nope"}]}]}),
        json!({}),
    )
    .await;
    assert!(error.unwrap().chain().contains("/repos/acme/nope"));

    let folders = items(&it, "folder", json!({"folders": [{"path": "services/*"}]})).await;
    assert_eq!(
        texts(&folders, "/folder/path"),
        ["services/api", "services/api", "services/api"]
    );
    assert_eq!(folders[0]["__branch"], "main");

    let skills = items(&it, "skill", json!({})).await;
    assert_eq!(skills.len(), 3);
    assert_eq!(skills[0]["skill"]["name"], "hello");
    assert_eq!(skills[0]["skill"]["root"], "skills");
    assert_eq!(
        skills[0]["skill"]["instructions"],
        "# Hello\nGreet the user.\n"
    );

    let plugins = items(&it, "plugin", json!({})).await;
    assert_eq!(plugins.len(), 1);
    assert_eq!(plugins[0]["plugin"]["name"], "repo-0000-plugin");
    assert_eq!(plugins[0]["plugin"]["supports"]["opencode"], true);
    assert_eq!(plugins[0]["plugin"]["supports"]["cursor"], false);
}

#[tokio::test]
async fn bad_selectors_and_unknown_kinds_fail_with_clear_errors() {
    let gh = github(vec![acme(1)]).await;
    let cache = tempfile::tempdir().unwrap();
    let it = integration(config(&gh, &cache));
    let (_, error) = fetch_with(
        &it,
        "pull-request",
        json!({"states": ["merged"]}),
        json!({}),
    )
    .await;
    let text = error.unwrap().chain();
    assert!(
        text.contains("selector of kind `pull-request`: field `states[0]`"),
        "{text}"
    );
    let (_, error) = fetch_with(
        &it,
        "repository",
        json!({}),
        json!({"repositoryType": "secret"}),
    )
    .await;
    assert!(error.unwrap().chain().contains("repositoryType"));
    let (_, error) = fetch_with(&it, "gist", json!({}), json!({})).await;
    assert!(error.unwrap().chain().contains("not supported"));
    assert_eq!(gh.counters().requests, 0);
}
