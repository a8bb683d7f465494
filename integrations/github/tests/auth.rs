//! Credentials and URLs against the fixture GitHub: a GitHub App's JWT (checked by the fixture
//! with the App's public key, issuer and expiry), installation tokens minted, refreshed before
//! they expire and after GitHub refuses them, discovery scoped to `githubOrganization`; and
//! GitHub Enterprise Server's REST and GraphQL URLs.

mod common;

use common::{
    APP_ID, acme, config, fetch_with, fixture_text, github, github_with_app, integration, items,
    texts,
};
use github_fixture::OrgSpec;
use ocean_github::GithubConfig;
use serde_json::json;

fn app_config(
    fixture: &github_fixture::Fixture,
    cache: &tempfile::TempDir,
    organization: Option<&str>,
) -> GithubConfig {
    let mut config = GithubConfig::with_app(APP_ID, fixture_text("app-private-key.pem"));
    config.github_host = fixture.url();
    config.github_organization = organization.map(str::to_owned);
    config.http_cache_dir = Some(cache.path().display().to_string());
    config
}

#[tokio::test]
async fn an_app_syncs_only_the_configured_organization_s_installation() {
    let gh = github_with_app(
        vec![acme(2), OrgSpec::new("globex", 3)],
        vec![(11, "acme"), (22, "globex")],
        3600,
    )
    .await;
    let cache = tempfile::tempdir().unwrap();
    let it = integration(app_config(&gh, &cache, Some("ACME")));
    let repos = items(&it, "repository", json!({})).await;
    assert_eq!(repos.len(), 2);
    assert!(repos.iter().all(|r| r["owner"]["login"] == "acme"));
    let orgs = items(&it, "organization", json!({})).await;
    assert_eq!(texts(&orgs, "/login"), ["acme"]);
    // One token for the one installation used, reused by every request.
    assert_eq!(gh.tokens_minted(), 1);
    assert!(
        gh.counters()
            .by_path
            .contains_key("POST /app/installations/11/access_tokens")
    );
    assert!(
        !gh.counters()
            .by_path
            .contains_key("POST /app/installations/22/access_tokens")
    );

    // Without githubOrganization every installation is synced, each with its own token.
    let cache = tempfile::tempdir().unwrap();
    let all = integration(app_config(&gh, &cache, None));
    let repos = items(&all, "repository", json!({})).await;
    assert_eq!(repos.len(), 5);
    // The mapping's `organizations` narrows an App's installations too.
    let (pages, error) = fetch_with(
        &all,
        "repository",
        json!({}),
        json!({"organizations": ["globex"]}),
    )
    .await;
    assert!(error.is_none());
    assert_eq!(pages.into_iter().flatten().count(), 3);

    // An organization the App is not installed on is an error naming it.
    let cache = tempfile::tempdir().unwrap();
    let missing = integration(app_config(&gh, &cache, Some("initech")));
    let (_, error) = fetch_with(&missing, "repository", json!({}), json!({})).await;
    let text = error.unwrap().chain();
    assert!(
        text.contains("no active installation on \"initech\""),
        "{text}"
    );
}

#[tokio::test]
async fn a_jwt_signed_with_another_key_is_refused() {
    let gh = github_with_app(vec![acme(1)], vec![(11, "acme")], 3600).await;
    let cache = tempfile::tempdir().unwrap();
    let mut config = app_config(&gh, &cache, Some("acme"));
    config.github_app_private_key = Some(ocean::Secret::new(fixture_text("other-private-key.pem")));
    let it = integration(config);
    let (_, error) = fetch_with(&it, "repository", json!({}), json!({})).await;
    let text = error.unwrap().chain();
    assert!(
        text.contains("GET http://127.0.0.1:")
            && text.contains("/app/installations")
            && text.contains("401"),
        "{text}"
    );
    assert!(!text.contains("BEGIN"), "{text}");
    assert_eq!(gh.tokens_minted(), 0);
}

#[tokio::test]
async fn the_private_key_may_be_given_as_base64() {
    use base64::Engine as _;
    let gh = github_with_app(vec![acme(1)], vec![(11, "acme")], 3600).await;
    let cache = tempfile::tempdir().unwrap();
    let mut config = app_config(&gh, &cache, Some("acme"));
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(fixture_text("app-private-key.pem"));
    config.github_app_private_key = Some(ocean::Secret::new(encoded));
    assert_eq!(
        items(&integration(config), "repository", json!({}))
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn installation_tokens_are_refreshed_before_expiry_and_after_a_refusal() {
    // Tokens live 5 min 2 s: with the 5-minute margin, one is replaced after 2 s.
    let gh = github_with_app(vec![acme(1)], vec![(11, "acme")], 302).await;
    let cache = tempfile::tempdir().unwrap();
    let it = integration(app_config(&gh, &cache, Some("acme")));
    assert_eq!(items(&it, "repository", json!({})).await.len(), 1);
    assert_eq!(items(&it, "repository", json!({})).await.len(), 1);
    assert_eq!(gh.tokens_minted(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(items(&it, "repository", json!({})).await.len(), 1);
    assert_eq!(gh.tokens_minted(), 2);

    // GitHub stops accepting the token (revoked): a 401 mints a new one and the request goes on.
    gh.revoke_installation_tokens();
    assert_eq!(items(&it, "branch", json!({})).await.len(), 2);
    assert_eq!(gh.tokens_minted(), 3);
}

#[tokio::test]
async fn enterprise_server_urls() {
    let mut org = acme(2);
    org.members = 3;
    let gh = github(vec![org]).await;
    let cache = tempfile::tempdir().unwrap();
    let mut config = config(&gh, &cache);
    config.github_host = format!("{}/", gh.enterprise_url());
    let it = integration(config);
    assert_eq!(items(&it, "repository", json!({})).await.len(), 2);
    assert_eq!(items(&it, "user", json!({})).await.len(), 3);
    let counters = gh.counters();
    assert_eq!(counters.by_path["GET /api/v3/orgs/acme/repos"], 1);
    assert!(
        counters.by_path.contains_key("POST /api/graphql"),
        "{:?}",
        counters.by_path
    );
    assert!(
        counters.by_path.keys().all(|p| p.contains(" /api/")),
        "{:?}",
        counters.by_path
    );
}

#[tokio::test]
async fn a_wrong_token_fails_the_kind_naming_the_request() {
    let gh = github(vec![acme(1)]).await;
    let cache = tempfile::tempdir().unwrap();
    let mut config = config(&gh, &cache);
    config.github_token = Some(ocean::Secret::new("ghp_wrong_token_value"));
    let it = integration(config);
    let (_, error) = fetch_with(&it, "organization", json!({}), json!({})).await;
    let text = error.unwrap().chain();
    assert!(
        text.contains("GET http://127.0.0.1:")
            && text.contains("/users/acme")
            && text.contains("401")
            && text.contains("Bad credentials"),
        "{text}"
    );
    assert!(!text.contains("ghp_wrong_token_value"));
}
