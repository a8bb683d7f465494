//! Webhooks: which events each processor takes, `X-Hub-Signature-256` checks, what events
//! produce (re-fetched upserts, payload deletes with the resync's keys) — and end to end through
//! the runtime's HTTP server: the organization's hook brought up to date at startup, unsigned
//! or forged requests answered 401 with nothing written, signed ones changing Port.

mod common;

use common::{acme, config, ctx, emulator, github, integration, settings, stored};
use github_fixture::Fixture;
use ocean::http::Signature;
use ocean::testing::eventually;
use ocean::{Integration, Ocean, WebhookEvent, WebhookProcessor};
use ocean_github::{Github, WEBHOOK_PATH};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;

const SECRET: &str = "whsec-github-9d2";

fn with_secret(gh: &Fixture, cache: &tempfile::TempDir, secret: Option<&str>) -> Github {
    let mut config = config(gh, cache);
    config.webhook_secret = secret.map(ocean::Secret::new);
    integration(config)
}

fn processor(it: &Github, name: &str) -> Arc<dyn WebhookProcessor> {
    let routes = it.webhook_processors();
    let route = routes
        .iter()
        .find(|r| r.processor.name() == name)
        .unwrap_or_else(|| panic!("no processor {name}"));
    assert_eq!(route.path, WEBHOOK_PATH);
    route.processor.clone()
}

fn event(kind: &str, payload: &Value, signature: Option<String>) -> WebhookEvent {
    let body = serde_json::to_vec(payload).unwrap();
    let mut headers = vec![
        ("X-GitHub-Event".to_owned(), kind.to_owned()),
        ("Content-Type".to_owned(), "application/json".to_owned()),
    ];
    if let Some(s) = signature {
        headers.push(("X-Hub-Signature-256".to_owned(), s));
    }
    WebhookEvent::new("trace", WEBHOOK_PATH, headers, body.into()).unwrap()
}

/// The hex HMAC-SHA256 of `body` (what follows `sha256=` in `X-Hub-Signature-256`).
fn hmac_sha256_hex(secret: &[u8], body: &[u8]) -> String {
    Signature::hmac_sha256().sign(secret, body)
}

fn sign(payload: &Value) -> String {
    format!(
        "sha256={}",
        hmac_sha256_hex(SECRET.as_bytes(), &serde_json::to_vec(payload).unwrap())
    )
}

fn repo_payload(gh: &Fixture, index: usize) -> Value {
    let r = github_fixture::data::RepoRef {
        org: gh.world().org("acme").unwrap(),
        index,
    };
    gh.world().repository(&r)
}

fn pr_payload(gh: &Fixture, action: &str, number: usize) -> Value {
    let r = github_fixture::data::RepoRef {
        org: gh.world().org("acme").unwrap(),
        index: 1,
    };
    let mut pr = gh.world().pull_request(&r, number).unwrap();
    pr["title"] = json!("stale title from the payload");
    json!({"action": action, "number": number, "pull_request": pr, "repository": repo_payload(gh, 1),
           "organization": {"login": "acme"}, "sender": {"login": "user-1"}})
}

#[tokio::test]
async fn signatures_are_required_when_a_secret_is_set() {
    let gh = github(vec![acme(2)]).await;
    let cache = tempfile::tempdir().unwrap();
    let it = with_secret(&gh, &cache, Some(SECRET));
    let p = processor(&it, "github-pull-request");
    let payload = pr_payload(&gh, "opened", 1);
    assert!(
        p.authenticate(&event("pull_request", &payload, Some(sign(&payload))))
            .is_ok()
    );
    let missing = p
        .authenticate(&event("pull_request", &payload, None))
        .unwrap_err();
    assert!(
        missing.reason.contains("no X-Hub-Signature-256"),
        "{missing}"
    );
    let forged = format!(
        "sha256={}",
        hmac_sha256_hex(b"another secret", &serde_json::to_vec(&payload).unwrap())
    );
    assert!(
        p.authenticate(&event("pull_request", &payload, Some(forged)))
            .is_err()
    );
    // Signed over another body.
    let other = pr_payload(&gh, "opened", 2);
    assert!(
        p.authenticate(&event("pull_request", &payload, Some(sign(&other))))
            .is_err()
    );
    // No secret configured: accepted (the reference's behaviour; warned about at startup).
    let open = with_secret(&gh, &cache, None);
    assert!(
        processor(&open, "github-pull-request")
            .authenticate(&event("pull_request", &payload, None))
            .is_ok()
    );
}

#[tokio::test]
async fn processors_take_their_events() {
    let gh = github(vec![acme(2)]).await;
    let cache = tempfile::tempdir().unwrap();
    let it = with_secret(&gh, &cache, None);
    let takers = |kind: &str, payload: Value| -> Vec<String> {
        let e = event(kind, &payload, None);
        it.webhook_processors()
            .iter()
            .filter(|r| r.processor.should_process(&e))
            .map(|r| r.processor.name().to_owned())
            .collect()
    };
    assert_eq!(takers("ping", json!({"zen": "x"})), ["github-ping"]);
    assert_eq!(
        takers("pull_request", json!({"action": "opened"})),
        ["github-pull-request"]
    );
    assert!(takers("pull_request", json!({"action": "assigned"})).is_empty());
    assert_eq!(
        takers("create", json!({"ref_type": "tag", "ref": "v1"})),
        ["github-tag"]
    );
    assert_eq!(
        takers("push", json!({"ref": "refs/heads/main"})),
        ["github-branch", "github-workflow", "github-files"]
    );
    assert!(takers("push", json!({"ref": "refs/tags/v1"})).is_empty());
    assert_eq!(
        takers("membership", json!({"action": "added"})),
        ["github-team-membership", "github-collaborator-membership"]
    );
    assert_eq!(
        takers("team", json!({"action": "added_to_repository"})),
        ["github-repository", "github-collaborator-team"]
    );
    assert_eq!(
        takers("deployment", json!({"action": "created"})),
        ["github-environment", "github-deployment"]
    );
    assert_eq!(
        takers("dependabot_alert", json!({"action": "fixed"})),
        ["github-dependabot-alert"]
    );
    assert!(takers("dependabot_alert", json!({"action": "unknown"})).is_empty());
    let p = processor(&it, "github-pull-request");
    let e = event("pull_request", &pr_payload(&gh, "opened", 3), None);
    assert_eq!(p.matching_kinds(&e), ["pull-request"]);
    assert_eq!(
        p.ordering_key(&e).as_deref(),
        Some("acme/repo-0001:pull_request-3")
    );
    assert!(p.validate_payload(&e));
    assert!(!p.validate_payload(&event("pull_request", &json!({"action": "opened"}), None)));
}

#[tokio::test]
async fn events_produce_re_fetched_upserts_and_payload_deletes() {
    let mut org = acme(3);
    org.branches = 3;
    let gh = github(vec![org]).await;
    let cache = tempfile::tempdir().unwrap();
    let it = with_secret(&gh, &cache, None);
    let handle = |name: &'static str,
                  kind: &'static str,
                  event_type: &'static str,
                  payload: Value,
                  selector: Value| {
        let it = it.clone();
        async move {
            let p = processor(&it, name);
            let e = event(event_type, &payload, None);
            assert!(p.should_process(&e), "{name} should take {event_type}");
            p.handle(&e, &ctx(kind, selector, json!({}))).await.unwrap()
        }
    };

    // An opened pull request is re-fetched (the payload's title is not trusted).
    let r = handle(
        "github-pull-request",
        "pull-request",
        "pull_request",
        pr_payload(&gh, "opened", 2),
        json!({}),
    )
    .await;
    assert_eq!(r.updated.len(), 1);
    assert_eq!(r.updated[0]["title"], "Change 2 of repo-0001 (rev 0)");
    assert_eq!(r.updated[0]["__repository"], "repo-0001");
    assert_eq!(r.updated[0]["__organization"], "acme");
    // Closed while the selector keeps open ones only: deleted, with the resync's keys.
    let r = handle(
        "github-pull-request",
        "pull-request",
        "pull_request",
        pr_payload(&gh, "closed", 2),
        json!({"states": ["open"]}),
    )
    .await;
    assert_eq!((r.updated.len(), r.deleted.len()), (0, 1));
    assert_eq!(r.deleted[0]["__repository"], "repo-0001");
    // An event of an organization outside githubOrganization is ignored.
    let mut foreign = pr_payload(&gh, "opened", 2);
    foreign["organization"]["login"] = json!("globex");
    let r = handle(
        "github-pull-request",
        "pull-request",
        "pull_request",
        foreign,
        json!({}),
    )
    .await;
    assert_eq!(r, Default::default());
    // Through GraphQL, normalised.
    let r = handle(
        "github-pull-request",
        "pull-request",
        "pull_request",
        pr_payload(&gh, "edited", 2),
        json!({"api": "graphql"}),
    )
    .await;
    assert_eq!(r.updated[0]["state"], "open");
    assert!(r.updated[0]["__repository_object"].is_object());

    // repositoryType private: a public repository's events are ignored; the repository kind
    // deletes it.
    let p = processor(&it, "github-pull-request");
    let e = event("pull_request", &pr_payload(&gh, "opened", 2), None);
    let r = p
        .handle(
            &e,
            &ctx(
                "pull-request",
                json!({}),
                json!({"repositoryType": "private"}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(r, Default::default());
    let repo_event = json!({"action": "edited", "repository": repo_payload(&gh, 1), "organization": {"login": "acme"}});
    let p = processor(&it, "github-repository");
    let r = p
        .handle(
            &event("repository", &repo_event, None),
            &ctx(
                "repository",
                json!({}),
                json!({"repositoryType": "private"}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(r.deleted.len(), 1);
    let r = handle(
        "github-repository",
        "repository",
        "repository",
        repo_event.clone(),
        json!({"includedFiles": ["README.md"]}),
    )
    .await;
    assert_eq!(
        r.updated[0]["__includedFiles"]["README.md"],
        "# repo-0001\n\nThe repo-0001 service.\n"
    );
    let archived = json!({"action": "archived", "repository": repo_payload(&gh, 1), "organization": {"login": "acme"}});
    assert_eq!(
        handle(
            "github-repository",
            "repository",
            "repository",
            archived,
            json!({})
        )
        .await
        .deleted
        .len(),
        1
    );

    // Issues: closed while the selector wants open ones → delete; labels filter.
    let r2 = github_fixture::data::RepoRef {
        org: gh.world().org("acme").unwrap(),
        index: 2,
    };
    let issue = gh.world().issue(&r2, 2).unwrap();
    let issue_event = |action: &str| json!({"action": action, "issue": issue, "repository": repo_payload(&gh, 2), "organization": {"login": "acme"}});
    let r = handle(
        "github-issue",
        "issue",
        "issues",
        issue_event("closed"),
        json!({}),
    )
    .await;
    assert_eq!(r.deleted.len(), 1);
    let r = handle(
        "github-issue",
        "issue",
        "issues",
        issue_event("edited"),
        json!({}),
    )
    .await;
    assert_eq!(r.updated[0]["number"], 1002);
    let r = handle(
        "github-issue",
        "issue",
        "issues",
        issue_event("edited"),
        json!({"labels": ["question"]}),
    )
    .await;
    assert_eq!(r, Default::default());

    // Branches: deleted, pushed (re-fetched with protection), outside defaultBranchOnly.
    let branch = |kind: &str, reference: &str| json!({"ref": reference, "ref_type": "branch", "repository": repo_payload(&gh, 0), "organization": {"login": "acme"}, "_kind": kind});
    let r = handle(
        "github-branch",
        "branch",
        "delete",
        branch("delete", "feature-1"),
        json!({}),
    )
    .await;
    assert_eq!(r.deleted[0]["name"], "feature-1");
    assert_eq!(r.deleted[0]["__repository"], "repo-0000");
    let r = handle(
        "github-branch",
        "branch",
        "push",
        branch("push", "refs/heads/main"),
        json!({"protectionRules": true}),
    )
    .await;
    assert_eq!(
        r.updated[0]["__protection_rules"]["enforce_admins"]["enabled"],
        true
    );
    assert_eq!(r.updated[0]["__is_default_branch"], true);
    let r = handle(
        "github-branch",
        "branch",
        "push",
        branch("push", "refs/heads/feature-2"),
        json!({"defaultBranchOnly": true}),
    )
    .await;
    assert_eq!(r, Default::default());

    // Alerts: a dismissed alert while the selector keeps open ones is deleted.
    let alert = json!({"action": "dismissed", "alert": {"number": 1, "state": "dismissed", "security_advisory": {"severity": "high"}, "dependency": {"package": {"ecosystem": "npm"}}},
                       "repository": repo_payload(&gh, 0), "organization": {"login": "acme"}});
    let r = handle(
        "github-dependabot-alert",
        "dependabot-alert",
        "dependabot_alert",
        alert,
        json!({}),
    )
    .await;
    assert_eq!(r.deleted.len(), 1);

    // Members: removed from the organization → the user is deleted; added → re-fetched.
    let member = |action: &str| json!({"action": action, "membership": {"user": {"login": "user-1"}}, "organization": {"login": "acme"}});
    assert_eq!(
        handle(
            "github-user",
            "user",
            "organization",
            member("member_removed"),
            json!({})
        )
        .await
        .deleted[0]["login"],
        "user-1"
    );
    let r = handle(
        "github-user",
        "user",
        "organization",
        member("member_added"),
        json!({"includeSAMLEmail": true}),
    )
    .await;
    assert_eq!(r.updated[0]["email"], "user-1@sso.acme.example");

    // Teams: deleted from the payload, edited re-fetched with members.
    let team = |action: &str| json!({"action": action, "team": {"slug": "team-1", "id": 7001, "name": "Team 1"}, "organization": {"login": "acme"}});
    assert_eq!(
        handle("github-team", "team", "team", team("deleted"), json!({}))
            .await
            .deleted[0]["__organization"],
        "acme"
    );
    let r = handle("github-team", "team", "team", team("edited"), json!({})).await;
    assert_eq!(r.updated[0]["members"]["nodes"][0]["login"], "user-1");

    // A push adding and removing files (a new branch: the commits list them).
    let push = json!({"ref": "refs/heads/main", "before": "0000000000000000000000000000000000000000", "after": "abc",
                      "commits": [{"added": ["port.yml"], "modified": [], "removed": ["old/port.yml"]}],
                      "repository": repo_payload(&gh, 1), "organization": {"login": "acme"}});
    let r = handle(
        "github-files",
        "file",
        "push",
        push.clone(),
        json!({"files": [{"path": "**/port.yml"}]}),
    )
    .await;
    assert_eq!(r.updated.len(), 1);
    assert_eq!(r.updated[0]["content"]["service"], "repo-0001");
    assert_eq!(r.deleted[0]["path"], "old/port.yml");
    // A push to another branch does not touch patterns of the default branch.
    let mut feature = push.clone();
    feature["ref"] = json!("refs/heads/feature-1");
    let r = handle(
        "github-files",
        "file",
        "push",
        feature,
        json!({"files": [{"path": "**/port.yml"}]}),
    )
    .await;
    assert_eq!(r, Default::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_runtime_hooks_are_updated_and_only_signed_events_change_port() {
    let emulator = emulator().await;
    let gh = github(vec![acme(3)]).await;
    let cache = tempfile::tempdir().unwrap();
    // A hook an older version created: same URL, fewer events, no secret.
    let hook_url = "http://ocean.test/integration/webhook";
    gh.add_hook("orgs/acme", json!({"name": "web", "active": true, "events": ["push", "pull_request"], "config": {"url": hook_url, "content_type": "json"}}));
    let mut config = common::config_json(&gh, &cache);
    config["webhook_secret"] = json!(SECRET);
    let settings = settings(
        &emulator,
        config,
        json!({"type": "WEBHOOKS_ONLY"}),
        Some("http://ocean.test"),
    );
    let typed: ocean_github::GithubConfig = settings.integration_config().unwrap();
    let it = integration(typed);
    let ocean = Arc::new(
        Ocean::builder(settings, Arc::new(it.clone()))
            .resources(common::default_resources())
            .http(SocketAddr::from(([127, 0, 0, 1], 0)))
            .build()
            .expect("ocean builds"),
    );
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn({
        let (ocean, shutdown) = (ocean.clone(), shutdown.clone());
        async move { ocean.run(shutdown).await }
    });
    let ready = || async { ocean.readiness().get() };
    eventually("the integration to be ready", ready).await;

    // The existing hook now has every event and the secret; no second hook was made.
    let hooks = gh.hooks("orgs/acme");
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    let events: Vec<&str> = hooks[0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for e in [
        "repository",
        "pull_request",
        "issues",
        "push",
        "team",
        "membership",
        "secret_scanning_alert",
    ] {
        assert!(events.contains(&e), "{e} missing from {events:?}");
    }
    assert_eq!(hooks[0]["config"]["secret"], SECRET);
    assert_eq!(hooks[0]["config"]["url"], hook_url);

    assert!(ocean.resync().await.is_success());
    assert_eq!(stored(&emulator, "githubPullRequest").await.len(), 9);
    let url = format!("http://{}/integration/webhook", ocean.http_addr().unwrap());
    let http = reqwest::Client::new();
    let post = |payload: Value, signature: Option<String>| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let mut request = http
                .post(&url)
                .header("x-github-event", "pull_request")
                .header("content-type", "application/json");
            if let Some(s) = signature {
                request = request.header("x-hub-signature-256", s);
            }
            request
                .body(serde_json::to_vec(&payload).unwrap())
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let title = |number: usize| {
        let emulator = &emulator;
        async move {
            let id = format!("repo-0001{}", 100_001_000 + number);
            emulator
                .entity("githubPullRequest", &id)
                .await
                .unwrap()
                .unwrap()
                .title
                .unwrap()
        }
    };
    gh.world().touch("pull:acme/repo-0001#2");
    gh.world().touch("pull:acme/repo-0001#3");
    // Unsigned and forged: 401, nothing queued.
    assert_eq!(post(pr_payload(&gh, "edited", 2), None).await, 401);
    let payload = pr_payload(&gh, "edited", 2);
    let forged = format!(
        "sha256={}",
        hmac_sha256_hex(b"guess", &serde_json::to_vec(&payload).unwrap())
    );
    assert_eq!(post(payload, Some(forged)).await, 401);
    // Signed: processed; the pull request is re-fetched from GitHub.
    let payload = pr_payload(&gh, "edited", 3);
    assert_eq!(post(payload.clone(), Some(sign(&payload))).await, 200);
    let updated = || async { title(3).await == json!("Change 3 of repo-0001 (rev 1)") };
    eventually("the signed event's pull request to be updated", updated).await;
    assert_eq!(title(2).await, json!("Change 2 of repo-0001 (rev 0)"));
    // A closed pull request leaves Port.
    let payload = pr_payload(&gh, "closed", 1);
    assert_eq!(post(payload.clone(), Some(sign(&payload))).await, 200);
    let gone = || async { stored(&emulator, "githubPullRequest").await.len() == 8 };
    eventually("the closed pull request to be deleted", gone).await;

    shutdown.cancel();
    let _ = task.await;
}
