//! End to end: the integration embedded in Ocean, the fixture GitHub, and the in-process Port
//! emulator. The default mapping and a mapping of every kind resync into Port; a listing that
//! fails (a permission error, a 5xx after retries) fails its kind and deletes nothing while the
//! other kinds complete; rate limits are waited out; an unchanged organization resyncs again on
//! conditional requests.

mod common;

use common::{acme, all_kinds_resources, default_resources, emulator, github, ocean, stored};
use github_fixture::Fault;
use ocean::lifecycle::{Deletion, FailureReason, ResyncOutcome};

fn failed_kinds(outcome: &ResyncOutcome) -> Vec<String> {
    match outcome {
        ResyncOutcome::Failed(FailureReason::KindErrors { kinds, .. }) => kinds.clone(),
        other => panic!("expected failed kinds, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_mapping_syncs_organizations_repositories_and_pull_requests() {
    let emulator = emulator().await;
    let gh = github(vec![acme(5)]).await;
    let cache = tempfile::tempdir().unwrap();
    let (ocean, _) = ocean(&emulator, &gh, &cache, default_resources());
    ocean.start().await.expect("startup");
    let report = ocean.resync().await;
    assert_eq!(
        report.outcome,
        ResyncOutcome::Completed(Deletion::NothingStale),
        "{report:?}"
    );
    assert_eq!(stored(&emulator, "githubOrganization").await, ["acme"]);
    assert_eq!(stored(&emulator, "githubRepository").await.len(), 5);
    let repo = emulator
        .entity("githubRepository", "repo-0001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        repo.properties["readme"],
        "# repo-0001\n\nThe repo-0001 service.\n"
    );
    assert_eq!(repo.properties["codeowners"], "* @acme/platform\n");
    assert_eq!(repo.properties["visibility"], "public");
    assert_eq!(repo.relations["organization"], "acme");
    let prs = stored(&emulator, "githubPullRequest").await;
    assert_eq!(prs.len(), 15);
    let pr = emulator
        .entity("githubPullRequest", &prs[0])
        .await
        .unwrap()
        .unwrap();
    // `prNumber` is a property of the blueprint now (the reference mapped it to nothing).
    assert!(pr.properties["prNumber"].is_number(), "{:?}", pr.properties);
    assert_eq!(pr.properties["status"], "open");
    assert!(
        pr.relations["repository"]
            .as_str()
            .unwrap()
            .starts_with("repo-")
    );
    assert!(pr.datasource.contains("github-ocean"), "{}", pr.datasource);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_resyncs_into_port() {
    let emulator = emulator().await;
    let mut org = acme(6);
    org.members = 4;
    let gh = github(vec![org]).await;
    let cache = tempfile::tempdir().unwrap();
    let (ocean, _) = ocean(&emulator, &gh, &cache, all_kinds_resources());
    ocean.start().await.expect("startup");
    let report = ocean.resync().await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.kinds.len(), 22);
    for kind in &report.kinds {
        assert_eq!(kind.error_count, 0, "{}: {:?}", kind.kind, kind.errors);
        assert!(kind.counts.fetched > 0, "{} fetched nothing", kind.kind);
    }
    let expect = [
        ("githubOrganization", 1),
        ("githubRepository", 6),
        ("githubPullRequest", 6 * 4),
        ("githubUser", 4),
        ("githubTeam", 2),
        ("githubIssue", 6 * 2),
        ("githubBranch", 6 * 2),
        ("githubRelease", 12),
        ("githubTag", 12),
        ("githubWorkflow", 6),
        ("githubWorkflowRun", 12),
        ("githubEnvironment", 6),
        ("githubDeployment", 12),
        ("githubDeploymentStatus", 12),
        ("githubDependabotAlert", 5),
        ("githubCodeScanningAlert", 5),
        ("githubSecretScanningAlert", 6),
        ("githubCollaborator", 12),
        ("githubFile", 6),
        ("githubFolder", 6),
        ("githubSkill", 6),
        ("githubPlugin", 1),
    ];
    for (blueprint, count) in expect {
        assert_eq!(
            stored(&emulator, blueprint).await.len(),
            count,
            "{blueprint}"
        );
    }
    let team = emulator
        .entity("githubTeam", "team-0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        team.properties["members"],
        serde_json::json!(["user-0", "user-2"])
    );
    let file = emulator
        .entity("githubFile", "repo-0002-port.yml")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(file.properties["content"]["openapi"]["openapi"], "3.0.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_listings_fail_their_kind_and_delete_nothing() {
    let emulator = emulator().await;
    let gh = github(vec![acme(5)]).await;
    let cache = tempfile::tempdir().unwrap();
    let (ocean, _) = ocean(&emulator, &gh, &cache, default_resources());
    ocean.start().await.expect("startup");
    assert!(ocean.resync().await.is_success());
    assert_eq!(stored(&emulator, "githubRepository").await.len(), 5);
    assert_eq!(stored(&emulator, "githubPullRequest").await.len(), 15);

    // repo-0004 and a pull request of repo-0000 are gone from GitHub.
    gh.world().remove("repo:acme/repo-0004");
    gh.world().remove("pull:acme/repo-0000#1");

    // 1. A permission error (403 without rate-limit headers) on one repository's pull
    //    requests: the pull-request kind fails, the others complete, nothing is deleted.
    gh.inject(Fault::status(
        "/repos/acme/repo-0001/pulls",
        403,
        "Resource not accessible by personal access token",
    ));
    let report = ocean.resync().await;
    let failed = failed_kinds(&report.outcome);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].starts_with("pull-request"), "{failed:?}");
    let pr_kind = report
        .kinds
        .iter()
        .find(|k| k.kind == "pull-request")
        .unwrap();
    assert!(
        // The request, by method and full URL.
        pr_kind.errors[0].contains("GET http://127.0.0.1:")
            && pr_kind.errors[0].contains("/repos/acme/repo-0001/pulls?"),
        "{:?}",
        pr_kind.errors
    );
    assert!(pr_kind.errors[0].contains("403"), "{:?}", pr_kind.errors);
    let repos = report
        .kinds
        .iter()
        .find(|k| k.kind == "repository")
        .unwrap();
    assert_eq!((repos.error_count, repos.counts.fetched), (0, 4));
    assert_eq!(stored(&emulator, "githubRepository").await.len(), 5);
    assert_eq!(stored(&emulator, "githubPullRequest").await.len(), 15);

    // 2. GitHub answers the repository listing with 502 whatever the page size: after the
    //    page-size reductions and retries the repository kind fails; nothing is deleted.
    gh.clear_faults();
    gh.inject(Fault::status("/orgs/acme/repos", 502, "Server Error"));
    gh.reset_counters();
    let report = ocean.resync().await;
    let failed = failed_kinds(&report.outcome);
    assert!(
        failed
            .iter()
            .all(|k| k.starts_with("repository") || k.starts_with("pull-request")),
        "{failed:?}"
    );
    let repos = report
        .kinds
        .iter()
        .find(|k| k.kind == "repository")
        .unwrap();
    assert!(repos.errors[0].contains("502"), "{:?}", repos.errors);
    let sizes: Vec<String> = gh
        .counters()
        .by_path
        .keys()
        .filter(|p| p.starts_with("GET /orgs/acme/repos"))
        .cloned()
        .collect();
    assert!(!sizes.is_empty());
    assert_eq!(stored(&emulator, "githubRepository").await.len(), 5);
    assert_eq!(stored(&emulator, "githubPullRequest").await.len(), 15);
    assert_eq!(stored(&emulator, "githubOrganization").await, ["acme"]);

    // 3. GitHub answers again: the complete resync deletes what is gone.
    gh.clear_faults();
    let report = ocean.resync().await;
    assert_eq!(
        report.outcome,
        ResyncOutcome::Completed(Deletion::Done),
        "{report:?}"
    );
    assert_eq!(stored(&emulator, "githubRepository").await.len(), 4);
    assert_eq!(stored(&emulator, "githubPullRequest").await.len(), 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_waited_out_not_failed() {
    let emulator = emulator().await;
    let gh = github(vec![acme(3)]).await;
    let cache = tempfile::tempdir().unwrap();
    let (ocean, integration) = ocean(&emulator, &gh, &cache, default_resources());
    ocean.start().await.expect("startup");
    // A primary limit (403, remaining 0, reset in 2 s) and a secondary one (403 with
    // retry-after) on two listings.
    gh.inject(
        Fault::status(
            "/orgs/acme/repos",
            403,
            "API rate limit exceeded for user ID 1.",
        )
        .header("x-ratelimit-remaining", "0")
        .header("x-ratelimit-reset", "{reset+2}")
        .times(1),
    );
    gh.inject(
        Fault::status(
            "/repos/acme/repo-0002/pulls",
            403,
            "You have exceeded a secondary rate limit.",
        )
        .header("retry-after", "1")
        .times(1),
    );
    let report = ocean.resync().await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(stored(&emulator, "githubRepository").await.len(), 3);
    assert_eq!(stored(&emulator, "githubPullRequest").await.len(), 9);
    assert_eq!(gh.counters().faults, 2);
    assert_eq!(integration.stats().snapshot().rate_limited, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_organization_resyncs_on_conditional_requests() {
    let emulator = emulator().await;
    let gh = github(vec![acme(40)]).await;
    let cache = tempfile::tempdir().unwrap();
    let (ocean, _) = ocean(&emulator, &gh, &cache, default_resources());
    ocean.start().await.expect("startup");
    gh.reset_counters();
    assert!(ocean.resync().await.is_success());
    let first = gh.counters();
    gh.reset_counters();
    let report = ocean.resync().await;
    assert!(report.is_success());
    let second = gh.counters();
    assert_eq!(second.requests, first.requests);
    assert_eq!(second.not_modified, second.requests);
    assert_eq!(second.quota, 0, "{second:?}");
    assert_eq!(stored(&emulator, "githubPullRequest").await.len(), 120);

    // A changed pull request: only its page is answered (and counted) again.
    gh.world().touch("pull:acme/repo-0007#2");
    gh.reset_counters();
    assert!(ocean.resync().await.is_success());
    assert_eq!(gh.counters().quota, 1);
    let pr = emulator.entities("githubPullRequest").await.unwrap();
    assert!(pr.iter().any(|p| {
        p.title
            .as_ref()
            .and_then(|t| t.as_str())
            .is_some_and(|t| t.contains("rev 1"))
    }));
}

/// Replaces the integration's `config` in Port (as a user does in Port's UI).
async fn set_port_config(emulator: &ocean::testing::RunningEmulator, config: serde_json::Value) {
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{}/v1/auth/access_token", emulator.base_url()))
        .json(&serde_json::json!({"clientId": emulator.client_id(), "clientSecret": emulator.client_secret().expose()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let response = http
        .patch(format!(
            "{}/v1/integration/github-test/config",
            emulator.base_url()
        ))
        .bearer_auth(token["accessToken"].as_str().unwrap())
        .header("x-skip-resync", "true")
        .json(&serde_json::json!({"config": config}))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_managed_mapping_is_read_from_github_private() {
    let emulator = emulator().await;
    let gh = github(vec![acme(3)]).await;
    let cache = tempfile::tempdir().unwrap();
    let (ocean, _) = ocean(&emulator, &gh, &cache, default_resources());
    ocean.start().await.expect("startup");
    assert!(ocean.resync().await.is_success());
    assert_eq!(stored(&emulator, "githubPullRequest").await.len(), 9);
    set_port_config(&emulator, serde_json::json!({"repoManagedMapping": true})).await;

    // No .github-private yet: the resync fails and deletes nothing.
    let report = ocean.resync().await;
    match &report.outcome {
        ResyncOutcome::Failed(FailureReason::Mapping(message)) => {
            assert!(
                message
                    .to_string()
                    .contains("acme/.github-private does not exist"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(stored(&emulator, "githubPullRequest").await.len(), 9);

    // The mapping in GitHub syncs the organization and repositories only: pull requests are
    // deleted as stale.
    gh.world().set_managed_mapping(
        "deleteDependentEntities: true\nresources:\n  - kind: organization\n    selector:\n      query: 'true'\n    port:\n      entity:\n        mappings:\n          identifier: .login\n          blueprint: '\"githubOrganization\"'\n  - kind: repository\n    selector:\n      query: 'true'\n    port:\n      entity:\n        mappings:\n          identifier: .name\n          title: .name\n          blueprint: '\"githubRepository\"'\n          properties:\n            defaultBranch: .default_branch\n",
    );
    let report = ocean.resync().await;
    assert_eq!(
        report.outcome,
        ResyncOutcome::Completed(Deletion::Done),
        "{report:?}"
    );
    assert_eq!(report.kinds.len(), 2);
    assert_eq!(
        stored(&emulator, "githubRepository").await.len(),
        3,
        "{report:?}"
    );
    assert_eq!(stored(&emulator, "githubPullRequest").await.len(), 0);

    // A file that is not a mapping fails the resync, naming the file.
    gh.world().set_managed_mapping("- just\n- a list\n");
    let report = ocean.resync().await;
    assert!(
        format!("{:?}", report.outcome)
            .contains("port-app-config.yml (branch main) is not a YAML mapping"),
        "{:?}",
        report.outcome
    );
}
