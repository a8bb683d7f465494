//! The shipped examples run. Each folder of `examples/` (`dynamic-endpoints`, `slack`,
//! `hubspot`, `zendesk`) is loaded as a user would run it: its `config.env` through the
//! framework's own `.env` parser and settings loader (every `OCEAN__INTEGRATION__CONFIG__*` key
//! must be one the spec declares), its mapping and blueprints as the defaults folder
//! (`OCEAN__RESOURCES_PATH`). Only the base URL (a wiremock server shaped like the real API:
//! its envelope, its pagination, its authentication header) and the credential (a test value)
//! are replaced. A resync into the in-process Port emulator must complete and write exactly the
//! expected entities, properties and relations.

mod common;

use common::ok;
use ocean::ResyncReport;
use ocean::config::dotenv::DotEnv;
use ocean::config::{IntegrationInfo, Loader, Settings, Spec};
use ocean::lifecycle::{Deletion, FailureReason, ResyncOutcome};
use ocean::testing::{StoredEntity, TestOcean};
use ocean_custom::{Custom, CustomConfig, RetryPolicy};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockGuard, MockServer};

/// Prefix of the integration's own settings in the environment.
const CONFIG_PREFIX: &str = "OCEAN__INTEGRATION__CONFIG__";

/// One example folder, its `config.env` loaded as the binary loads its environment.
struct Example {
    name: &'static str,
    settings: Settings,
}

impl Example {
    fn load(name: &'static str) -> Self {
        let dir = common::dir();
        let file = dir.join("examples").join(name).join("config.env");
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
        let dotenv = DotEnv::parse(&text, &BTreeMap::new());
        assert!(dotenv.warnings.is_empty(), "{name}: {:?}", dotenv.warnings);
        let spec = Spec::load(&dir)
            .expect("the spec loads")
            .expect("the integration has a spec");
        let declared: Vec<String> = spec.configurations.iter().map(|c| c.env_var()).collect();
        for entry in &dotenv.entries {
            if entry.key.starts_with(CONFIG_PREFIX) {
                assert!(
                    declared.contains(&entry.key),
                    "{name}/config.env line {}: {} is not a setting of the integration",
                    entry.line,
                    entry.key
                );
            }
        }
        // Port's credentials come from the user's environment, not from the example.
        let port = [
            ("OCEAN__PORT__CLIENT_ID", "port-client-id"),
            ("OCEAN__PORT__CLIENT_SECRET", "port-client-secret"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let settings = Loader::new(IntegrationInfo::new("custom", "0.0.0-test"))
            .spec(Some(spec))
            .env(
                dotenv
                    .entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.clone()))
                    .chain(port),
            )
            .load()
            .unwrap_or_else(|e| panic!("{name}/config.env does not load: {e}"));
        assert!(
            settings.warnings().is_empty(),
            "{name}/config.env: {:?}",
            settings.warnings()
        );
        assert_eq!(
            settings.resources_path,
            format!("examples/{name}"),
            "{name}/config.env points OCEAN__RESOURCES_PATH at its own folder"
        );
        Example { name, settings }
    }

    /// A configuration value, as the integration receives it.
    fn config(&self, key: &str) -> &Value {
        self.settings
            .integration
            .config
            .get(key)
            .unwrap_or_else(|| panic!("{}: no {key} in config.env", self.name))
    }

    /// Starts the example against `server`: its configuration with the base URL replaced by
    /// the server's and each of `test_values` set (credentials), its folder as the defaults.
    async fn start(&self, server: &MockServer, test_values: &[(&str, &str)]) -> TestOcean {
        let mut config: Map<String, Value> = self.settings.integration.config.values().clone();
        config.insert("base_url".into(), json!(server.uri()));
        for (key, value) in test_values {
            assert!(
                config.get(*key).is_some_and(|v| !v.is_null()),
                "{}: config.env does not set {key}",
                self.name
            );
            config.insert((*key).into(), json!(value));
        }
        TestOcean::builder("custom", common::dir())
            .identifier(&self.settings.integration.identifier)
            .config(Value::Object(config))
            .set("resources_path", json!(self.settings.resources_path))
            .start(|config: CustomConfig| async move {
                Ok(Custom::with_retry_policy(
                    config,
                    RetryPolicy::default().fast(),
                )?)
            })
            .await
            .unwrap_or_else(|e| panic!("{}: the integration starts: {e}", self.name))
    }
}

/// The resync completed with every kind whole and every entity accepted, and Port was told so.
async fn assert_completed(ocean: &TestOcean, report: &ResyncReport) {
    assert_eq!(
        report.outcome,
        ResyncOutcome::Completed(Deletion::NothingStale),
        "{report:#?}"
    );
    for kind in &report.kinds {
        assert!(
            !kind.failed() && kind.counts.failed == 0,
            "{}: {:?} {:?}",
            kind.label(),
            kind.errors,
            kind.failures
        );
    }
    let identifier = &ocean.ocean().settings().integration.identifier;
    let states = ocean
        .port()
        .resync_states(identifier)
        .await
        .expect("the emulator answers");
    assert_eq!(
        states.last().map(|s| s.status.as_str()),
        Some("completed"),
        "{states:?}"
    );
}

async fn entity(ocean: &TestOcean, blueprint: &str, identifier: &str) -> StoredEntity {
    ocean
        .entity(blueprint, identifier)
        .await
        .unwrap_or_else(|| panic!("Port has no {blueprint} {identifier}"))
}

// --- dynamic-endpoints ---------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_endpoints_example_fans_members_out_over_active_teams() {
    let example = Example::load("dynamic-endpoints");
    assert_eq!(example.config("base_url"), "https://api.example.com");
    let server = MockServer::start().await;
    let auth = || header("authorization", "Bearer test-token");
    // The teams listing, two pages (`next_page` says whether another follows). It is read
    // twice: as the teams kind and to discover {team_id}.
    let teams = [
        (
            "1",
            json!({"teams": [
                {"id": 1, "name": "Platform", "description": "Runs the paved road",
                 "status": "active", "member_count": 3},
                {"id": 2, "name": "Payments", "description": "Moves the money",
                 "status": "active", "member_count": 1}
            ], "next_page": 2}),
        ),
        (
            "2",
            json!({"teams": [
                {"id": 3, "name": "Legacy", "description": null, "status": "archived",
                 "member_count": 0}
            ], "next_page": null}),
        ),
    ];
    for (page, body) in teams {
        Mock::given(method("GET"))
            .and(path("/api/v1/teams"))
            .and(auth())
            .and(query_param("page", page))
            .and(query_param("per_page", "50"))
            .respond_with(ok(body))
            .expect(2)
            .mount(&server)
            .await;
    }
    let members = [
        (
            "1",
            "1",
            json!({"members": [
                {"user_id": "u-100", "name": "Ada Lovelace", "email": "ada@example.com",
                 "role": "lead", "team_id": 1},
                {"user_id": "u-101", "name": "Grace Hopper", "email": "grace@example.com",
                 "role": "engineer", "team_id": 1}
            ], "next_page": 2}),
        ),
        (
            "1",
            "2",
            json!({"members": [
                {"user_id": "u-102", "name": "Linus Torvalds", "email": "linus@example.com",
                 "role": "engineer", "team_id": 1}
            ], "next_page": null}),
        ),
        (
            "2",
            "1",
            json!({"members": [
                {"user_id": "u-200", "name": "Barbara Liskov", "email": "barbara@example.com",
                 "role": "lead", "team_id": 2}
            ], "next_page": null}),
        ),
    ];
    for (team, page, body) in members {
        Mock::given(method("GET"))
            .and(path(format!("/api/v1/teams/{team}/members")))
            .and(auth())
            .and(query_param("page", page))
            .and(query_param("per_page", "50"))
            .respond_with(ok(body))
            .expect(1)
            .mount(&server)
            .await;
    }
    // The archived team is filtered out of the discovery: its members are never asked for.
    Mock::given(path("/api/v1/teams/3/members"))
        .respond_with(ok(json!({"members": [], "next_page": null})))
        .expect(0)
        .mount(&server)
        .await;

    let ocean = example.start(&server, &[("api_token", "test-token")]).await;
    let report = ocean.resync().await;
    assert_completed(&ocean, &report).await;

    assert_eq!(ocean.identifiers("exampleTeam").await, ["1", "2", "3"]);
    let platform = entity(&ocean, "exampleTeam", "1").await;
    assert_eq!(platform.title, Some(json!("Platform")));
    assert_eq!(platform.properties["status"], "active");
    assert_eq!(platform.properties["memberCount"], 3);
    assert_eq!(platform.properties["description"], "Runs the paved road");
    assert_eq!(
        entity(&ocean, "exampleTeam", "3").await.properties["status"],
        "archived"
    );

    assert_eq!(
        ocean.identifiers("exampleTeamMember").await,
        ["u-100", "u-101", "u-102", "u-200"]
    );
    let ada = entity(&ocean, "exampleTeamMember", "u-100").await;
    assert_eq!(ada.title, Some(json!("Ada Lovelace")));
    assert_eq!(ada.properties["email"], "ada@example.com");
    assert_eq!(ada.properties["role"], "lead");
    assert_eq!(ada.relations["team"], "1");
    // From the second page of team 1's members.
    assert_eq!(
        entity(&ocean, "exampleTeamMember", "u-102").await.relations["team"],
        "1"
    );
    assert_eq!(
        entity(&ocean, "exampleTeamMember", "u-200").await.relations["team"],
        "2"
    );
    ocean.shutdown().await;
}

// --- Slack -----------------------------------------------------------------------------------

fn slack_team_info() -> Value {
    json!({"ok": true, "team": {
        "id": "T0ACME001", "name": "Acme Corp", "domain": "acme-corp",
        "email_domain": "acme.example",
        "icon": {"image_34": "https://avatars.slack-edge.com/acme_34.png",
                 "image_132": "https://avatars.slack-edge.com/acme_132.png",
                 "image_default": false}
    }})
}

fn slack_channels() -> [(Option<&'static str>, Value); 2] {
    [
        (
            None,
            json!({"ok": true, "channels": [{
                "id": "C0GENERAL", "name": "general", "is_channel": true, "is_group": false,
                "is_im": false, "is_private": false, "is_archived": false, "is_general": true,
                "created": 1449252889, "updated": 1678229664302_i64, "creator": "W0ADA0001",
                "context_team_id": "T0ACME001", "num_members": 42,
                "topic": {"value": "Company-wide announcements", "creator": "W0ADA0001",
                          "last_set": 1449709364},
                "purpose": {"value": "Everyone, all the time", "creator": "W0ADA0001",
                            "last_set": 1449709334}
            }], "response_metadata": {"next_cursor": "ZGVmYXVsdDpDMEdFTkVSQUw="}}),
        ),
        (
            Some("ZGVmYXVsdDpDMEdFTkVSQUw="),
            json!({"ok": true, "channels": [{
                "id": "C0RANDOM", "name": "random", "is_channel": true, "is_group": false,
                "is_im": false, "is_private": false, "is_archived": true, "is_general": false,
                "created": 1449252890, "updated": 1449252890000_i64, "creator": "U0GRACE02",
                "context_team_id": "T0ACME001", "num_members": 3,
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": "Off topic", "creator": "U0GRACE02", "last_set": 1449709334}
            }], "response_metadata": {"next_cursor": ""}}),
        ),
    ]
}

/// Slack: the bearer token, `?limit=200` on every page and `cursor` from the second on
/// (team.info, one object, is asked for without either).
async fn slack_mock(
    server: &MockServer,
    endpoint: &str,
    cursor: Option<&str>,
    body: Value,
) -> MockGuard {
    let mock = Mock::given(method("GET"))
        .and(path(endpoint))
        .and(header("authorization", "Bearer xoxb-test-token"));
    let mock = if endpoint == "/api/team.info" {
        mock.and(query_param_is_missing("limit"))
    } else {
        mock.and(query_param("limit", "200"))
    };
    let mock = match cursor {
        Some(cursor) => mock.and(query_param("cursor", cursor)),
        None => mock.and(query_param_is_missing("cursor")),
    };
    let mock = if endpoint == "/api/conversations.list" {
        mock.and(query_param("types", "public_channel"))
    } else {
        mock
    };
    mock.respond_with(ok(body))
        .expect(1)
        .mount_as_scoped(server)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_example_syncs_the_workspace_people_and_channels_across_cursor_pages() {
    let example = Example::load("slack");
    assert_eq!(example.config("base_url"), "https://slack.com");
    let server = MockServer::start().await;
    let mut guards = vec![slack_mock(&server, "/api/team.info", None, slack_team_info()).await];
    let users = [
        (
            None,
            json!({"ok": true, "members": [
                {"id": "W0ADA0001", "team_id": "T0ACME001", "name": "ada", "deleted": false,
                 "real_name": "Ada Lovelace", "tz": "Europe/London", "is_admin": true,
                 "is_owner": true, "is_bot": false, "updated": 1502138686,
                 "profile": {"display_name": "ada", "real_name": "Ada Lovelace",
                             "email": "ada@acme.example", "status_text": "Computing",
                             "status_emoji": ":abacus:",
                             "image_512": "https://avatars.slack-edge.com/ada_512.png"}},
                {"id": "B0DEPLOY1", "team_id": "T0ACME001", "name": "deploybot",
                 "deleted": false, "is_admin": false, "is_bot": true, "updated": 1502138687,
                 "profile": {"display_name": "", "real_name": "", "status_text": "",
                             "bot_id": "B0DEPLOY1"}},
                {"id": "U0GONE003", "team_id": "T0ACME001", "name": "former", "deleted": true,
                 "real_name": "Former Employee", "is_admin": false, "is_bot": false,
                 "profile": {"display_name": "former", "email": "former@acme.example"}}
            ], "cache_ts": 1498777272,
               "response_metadata": {"next_cursor": "dXNlcjpVMEdSQUNFMDI="}}),
        ),
        (
            Some("dXNlcjpVMEdSQUNFMDI="),
            json!({"ok": true, "members": [
                {"id": "U0GRACE02", "team_id": "T0ACME001", "name": "grace", "deleted": false,
                 "real_name": "Grace Hopper", "tz": "America/New_York", "is_admin": false,
                 "is_bot": false, "updated": 1502138688,
                 "profile": {"display_name": "amazing grace", "real_name": "Grace Hopper",
                             "email": "grace@acme.example", "status_text": "",
                             "image_512": "https://avatars.slack-edge.com/grace_512.png"}}
            ], "cache_ts": 1498777272, "response_metadata": {"next_cursor": ""}}),
        ),
    ];
    for (cursor, body) in users {
        guards.push(slack_mock(&server, "/api/users.list", cursor, body).await);
    }
    for (cursor, body) in slack_channels() {
        guards.push(slack_mock(&server, "/api/conversations.list", cursor, body).await);
    }

    let ocean = example
        .start(&server, &[("api_token", "xoxb-test-token")])
        .await;
    let report = ocean.resync().await;
    assert_completed(&ocean, &report).await;
    // Every page was asked for once, with the cursor of the page before it.
    drop(guards);

    assert_eq!(ocean.identifiers("slackWorkspace").await, ["T0ACME001"]);
    let workspace = entity(&ocean, "slackWorkspace", "T0ACME001").await;
    assert_eq!(workspace.title, Some(json!("Acme Corp")));
    assert_eq!(workspace.properties["domain"], "acme-corp");
    assert_eq!(
        workspace.properties["icon"],
        "https://avatars.slack-edge.com/acme_132.png"
    );

    // The deactivated account is left out; the second page's user is in.
    assert_eq!(
        ocean.identifiers("slackUser").await,
        ["B0DEPLOY1", "U0GRACE02", "W0ADA0001"]
    );
    let ada = entity(&ocean, "slackUser", "W0ADA0001").await;
    assert_eq!(ada.title, Some(json!("Ada Lovelace")));
    assert_eq!(ada.properties["email"], "ada@acme.example");
    assert_eq!(ada.properties["isAdmin"], true);
    assert_eq!(ada.properties["timezone"], "Europe/London");
    assert_eq!(ada.relations["workspace"], "T0ACME001");
    let bot = entity(&ocean, "slackUser", "B0DEPLOY1").await;
    assert_eq!(
        bot.title,
        Some(json!("deploybot")),
        "no real name: the handle"
    );
    assert_eq!(bot.properties["isBot"], true);

    assert_eq!(
        ocean.identifiers("slackChannel").await,
        ["C0GENERAL", "C0RANDOM"]
    );
    let general = entity(&ocean, "slackChannel", "C0GENERAL").await;
    assert_eq!(general.title, Some(json!("#general")));
    assert_eq!(general.properties["memberCount"], 42);
    assert_eq!(general.properties["topic"], "Company-wide announcements");
    assert_eq!(general.properties["createdAt"], "2015-12-04T18:14:49Z");
    assert_eq!(general.properties["updatedAt"], "2023-03-07T22:54:24Z");
    assert_eq!(general.relations["creator"], "W0ADA0001");
    assert_eq!(general.relations["workspace"], "T0ACME001");
    let random = entity(&ocean, "slackChannel", "C0RANDOM").await;
    assert_eq!(random.properties["isArchived"], true);
    assert_eq!(random.relations["creator"], "U0GRACE02");

    // Slack reports a revoked token with HTTP 200 and `"ok": false`: the users kind fails
    // (naming Slack's error) instead of reading an empty list, and nothing is deleted.
    Mock::given(path("/api/team.info"))
        .respond_with(ok(slack_team_info()))
        .mount(&server)
        .await;
    for (cursor, body) in slack_channels() {
        let mock = Mock::given(path("/api/conversations.list"));
        let mock = match cursor {
            Some(cursor) => mock.and(query_param("cursor", cursor)),
            None => mock.and(query_param_is_missing("cursor")),
        };
        mock.respond_with(ok(body)).mount(&server).await;
    }
    Mock::given(path("/api/users.list"))
        .respond_with(ok(json!({"ok": false, "error": "token_revoked"})))
        .mount(&server)
        .await;
    let report = ocean.resync().await;
    match &report.outcome {
        ResyncOutcome::Failed(FailureReason::KindErrors { kinds, .. }) => {
            assert_eq!(kinds.len(), 1, "{kinds:?}");
            assert!(kinds[0].contains("users.list"), "{kinds:?}");
        }
        other => panic!("expected the users kind to fail: {other:?}"),
    }
    let users_kind = report
        .kinds
        .iter()
        .find(|k| k.kind == "/api/users.list")
        .expect("a report of the users kind");
    assert!(
        users_kind
            .errors
            .iter()
            .any(|e| e.contains("token_revoked")),
        "{:?}",
        users_kind.errors
    );
    assert_eq!(ocean.identifiers("slackUser").await.len(), 3);
    ocean.shutdown().await;
}

// --- HubSpot ---------------------------------------------------------------------------------

const HUBSPOT_COMPANY_PROPERTIES: &str =
    "name,domain,industry,city,country,numberofemployees,annualrevenue";
const HUBSPOT_CONTACT_PROPERTIES: &str =
    "email,firstname,lastname,jobtitle,lifecyclestage,associatedcompanyid";
const HUBSPOT_DEAL_PROPERTIES: &str =
    "dealname,amount,dealstage,pipeline,closedate,hs_deal_stage_probability";

/// HubSpot: the bearer token, `?limit=100` and the example's `properties` on every page, and
/// `after` from the second page on.
async fn hubspot_mock(
    server: &MockServer,
    object: &str,
    properties: &str,
    after: Option<&str>,
    body: Value,
) {
    let mock = Mock::given(method("GET"))
        .and(path(format!("/crm/v3/objects/{object}")))
        .and(header("authorization", "Bearer pat-test-token"))
        .and(query_param("limit", "100"))
        .and(query_param("properties", properties));
    let mock = match after {
        Some(after) => mock.and(query_param("after", after)),
        None => mock.and(query_param_is_missing("after")),
    };
    let mock = if object == "deals" {
        mock.and(query_param("associations", "companies,contacts"))
    } else {
        mock
    };
    mock.respond_with(ok(body)).expect(1).mount(server).await;
}

fn hubspot_next(object: &str, after: &str) -> Value {
    json!({"next": {"after": after,
        "link": format!("https://api.hubapi.com/crm/v3/objects/{object}?limit=100&after={after}")}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubspot_example_syncs_companies_contacts_and_deals_across_after_cursors() {
    let example = Example::load("hubspot");
    assert_eq!(example.config("base_url"), "https://api.hubapi.com");
    let server = MockServer::start().await;
    hubspot_mock(
        &server,
        "companies",
        HUBSPOT_COMPANY_PROPERTIES,
        None,
        json!({"results": [
            {"id": "9001", "archived": false,
             "createdAt": "2023-05-02T08:15:00.000Z", "updatedAt": "2024-02-10T12:00:00.000Z",
             "properties": {"name": "Acme", "domain": "acme.example",
                            "industry": "COMPUTER_SOFTWARE",
                            "city": "Berlin", "country": "Germany", "numberofemployees": "250",
                            "annualrevenue": "12500000", "hs_object_id": "9001",
                            "createdate": "2023-05-02T08:15:00.000Z",
                            "hs_lastmodifieddate": "2024-02-10T12:00:00.000Z"}},
            {"id": "9002", "archived": false,
             "createdAt": "2023-06-01T10:00:00.000Z", "updatedAt": "2023-06-01T10:00:00.000Z",
             "properties": {"name": null, "domain": "globex.example", "industry": null,
                            "city": null, "country": null, "numberofemployees": null,
                            "annualrevenue": null, "hs_object_id": "9002",
                            "createdate": "2023-06-01T10:00:00.000Z",
                            "hs_lastmodifieddate": "2023-06-01T10:00:00.000Z"}}
        ]}),
    )
    .await;
    hubspot_mock(
        &server,
        "contacts",
        HUBSPOT_CONTACT_PROPERTIES,
        None,
        json!({"results": [
            {"id": "151", "archived": false,
             "createdAt": "2023-07-01T09:00:00.000Z", "updatedAt": "2024-01-20T16:30:00.000Z",
             "properties": {"email": "ada@acme.example", "firstname": "Ada", "lastname": "Lovelace",
                            "jobtitle": "CTO", "lifecyclestage": "customer",
                            "associatedcompanyid": "9001", "hs_object_id": "151",
                            "createdate": "2023-07-01T09:00:00.000Z",
                            "lastmodifieddate": "2024-01-20T16:30:00.000Z"}},
            {"id": "152", "archived": false,
             "createdAt": "2023-07-02T09:00:00.000Z", "updatedAt": "2023-07-02T09:00:00.000Z",
             "properties": {"email": "info@globex.example", "firstname": null, "lastname": "",
                            "jobtitle": null, "lifecyclestage": "lead",
                            "associatedcompanyid": "", "hs_object_id": "152",
                            "createdate": "2023-07-02T09:00:00.000Z",
                            "lastmodifieddate": "2023-07-02T09:00:00.000Z"}}
        ], "paging": hubspot_next("contacts", "153")}),
    )
    .await;
    hubspot_mock(
        &server,
        "contacts",
        HUBSPOT_CONTACT_PROPERTIES,
        Some("153"),
        json!({"results": [
            {"id": "201", "archived": false,
             "createdAt": "2023-08-15T11:00:00.000Z", "updatedAt": "2023-08-15T11:00:00.000Z",
             "properties": {"email": "grace@globex.example", "firstname": "Grace",
                            "lastname": "Hopper", "jobtitle": "Rear Admiral",
                            "lifecyclestage": "opportunity", "associatedcompanyid": "9002",
                            "hs_object_id": "201", "createdate": "2023-08-15T11:00:00.000Z",
                            "lastmodifieddate": "2023-08-15T11:00:00.000Z"}}
        ]}),
    )
    .await;
    hubspot_mock(
        &server,
        "deals",
        HUBSPOT_DEAL_PROPERTIES,
        None,
        json!({"results": [
            {"id": "7001", "archived": false,
             "createdAt": "2024-01-05T10:00:00.000Z", "updatedAt": "2024-03-01T10:00:00.000Z",
             "properties": {"dealname": "Acme renewal", "amount": "12000.50",
                            "dealstage": "contractsent", "pipeline": "default",
                            "closedate": "2024-06-30T00:00:00Z",
                            "hs_deal_stage_probability": "0.9", "hs_object_id": "7001"},
             "associations": {
                "companies": {"results": [
                    {"id": "9001", "type": "deal_to_company"},
                    {"id": "9001", "type": "deal_to_company_unlabeled"}]},
                "contacts": {"results": [{"id": "151", "type": "deal_to_contact"}]}}}
        ], "paging": hubspot_next("deals", "7002")}),
    )
    .await;
    hubspot_mock(
        &server,
        "deals",
        HUBSPOT_DEAL_PROPERTIES,
        Some("7002"),
        json!({"results": [
            {"id": "7002", "archived": false,
             "createdAt": "2024-02-01T10:00:00.000Z", "updatedAt": "2024-02-01T10:00:00.000Z",
             "properties": {"dealname": "Globex pilot", "amount": null,
                            "dealstage": "appointmentscheduled", "pipeline": "default",
                            "closedate": null, "hs_deal_stage_probability": "0.2",
                            "hs_object_id": "7002"},
             "associations": {
                "companies": {"results": [{"id": "9002", "type": "deal_to_company"}]}}}
        ]}),
    )
    .await;

    let ocean = example
        .start(&server, &[("api_token", "pat-test-token")])
        .await;
    let report = ocean.resync().await;
    assert_completed(&ocean, &report).await;

    assert_eq!(ocean.identifiers("hubspotCompany").await, ["9001", "9002"]);
    let acme = entity(&ocean, "hubspotCompany", "9001").await;
    assert_eq!(acme.title, Some(json!("Acme")));
    assert_eq!(acme.properties["employees"], 250);
    assert_eq!(acme.properties["annualRevenue"], 12_500_000);
    assert_eq!(acme.properties["country"], "Germany");
    assert_eq!(
        entity(&ocean, "hubspotCompany", "9002").await.title,
        Some(json!("globex.example")),
        "no name: the domain"
    );

    assert_eq!(
        ocean.identifiers("hubspotContact").await,
        ["151", "152", "201"]
    );
    let ada = entity(&ocean, "hubspotContact", "151").await;
    assert_eq!(ada.title, Some(json!("Ada Lovelace")));
    assert_eq!(ada.properties["jobTitle"], "CTO");
    assert_eq!(ada.properties["lifecycleStage"], "customer");
    assert_eq!(ada.relations["company"], "9001");
    let info = entity(&ocean, "hubspotContact", "152").await;
    assert_eq!(info.title, Some(json!("info@globex.example")));
    assert_eq!(info.relations["company"], Value::Null);
    assert_eq!(
        entity(&ocean, "hubspotContact", "201").await.relations["company"],
        "9002"
    );

    assert_eq!(ocean.identifiers("hubspotDeal").await, ["7001", "7002"]);
    let renewal = entity(&ocean, "hubspotDeal", "7001").await;
    assert_eq!(renewal.title, Some(json!("Acme renewal")));
    assert_eq!(renewal.properties["amount"], 12000.5);
    assert_eq!(renewal.properties["probability"], 0.9);
    assert_eq!(renewal.properties["stage"], "contractsent");
    assert_eq!(renewal.relations["companies"], json!(["9001"]));
    assert_eq!(renewal.relations["contacts"], json!(["151"]));
    let pilot = entity(&ocean, "hubspotDeal", "7002").await;
    assert_eq!(pilot.properties["amount"], Value::Null);
    assert_eq!(pilot.relations["companies"], json!(["9002"]));
    assert_eq!(pilot.relations["contacts"], json!([]));
    ocean.shutdown().await;
}

// --- Zendesk ---------------------------------------------------------------------------------

/// Basic authentication of `agent@example.com/token` with the API token `test-token`.
const ZENDESK_AUTH: &str = "Basic YWdlbnRAZXhhbXBsZS5jb20vdG9rZW46dGVzdC10b2tlbg==";

/// Zendesk's cursor envelope: `meta` (has_more, the cursors) and `links`.
fn zendesk_page(key: &str, items: Value, endpoint: &str, after: Option<&str>) -> Value {
    const SIZE: &str = "page%5Bsize%5D=100";
    const BEFORE: &str = "eyJvIjoiLWlkIiwidiI6InN0YXJ0In0=";
    let base = "https://acme.zendesk.com";
    json!({
        key: items,
        "meta": {"has_more": after.is_some(),
                 "after_cursor": after.unwrap_or("eyJvIjoiaWQiLCJ2IjoiZW5kIn0="),
                 "before_cursor": BEFORE},
        "links": {"next": after.map(|a| format!("{base}{endpoint}?page%5Bafter%5D={a}&{SIZE}")),
                  "prev": format!("{base}{endpoint}?page%5Bbefore%5D={BEFORE}&{SIZE}")}
    })
}

/// Zendesk: basic authentication, `page[size]=100` on every page and `page[after]` from the
/// second on.
async fn zendesk_mock(
    server: &MockServer,
    endpoint: &str,
    after: Option<&str>,
    body: Value,
    times: u64,
) {
    let mock = Mock::given(method("GET"))
        .and(path(endpoint))
        .and(header("authorization", ZENDESK_AUTH))
        .and(query_param("page[size]", "100"));
    let mock = match after {
        Some(after) => mock.and(query_param("page[after]", after)),
        None => mock.and(query_param_is_missing("page[after]")),
    };
    mock.respond_with(ok(body))
        .expect(times)
        .mount(server)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zendesk_example_syncs_tickets_and_their_comments_with_basic_auth_and_cursors() {
    let example = Example::load("zendesk");
    assert_eq!(
        example.config("base_url"),
        "https://your-subdomain.zendesk.com"
    );
    assert_eq!(example.config("username"), "agent@example.com/token");
    let server = MockServer::start().await;
    let organizations = "/api/v2/organizations.json";
    zendesk_mock(
        &server,
        organizations,
        None,
        // The last page still has an `after_cursor`; `has_more: false` ends the listing.
        zendesk_page(
            "organizations",
            json!([{"id": 361, "name": "Acme Corp", "domain_names": ["acme.example"],
                    "url": "https://acme.zendesk.com/api/v2/organizations/361.json",
                    "created_at": "2023-01-10T09:00:00Z", "updated_at": "2024-01-10T09:00:00Z"}]),
            organizations,
            None,
        ),
        1,
    )
    .await;
    let users = "/api/v2/users.json";
    zendesk_mock(
        &server,
        users,
        None,
        zendesk_page(
            "users",
            json!([
                {"id": 1001, "name": "Ann Agent", "email": "ann@support.example", "role": "agent",
                 "organization_id": null, "active": true, "verified": true,
                 "last_login_at": "2024-03-01T08:00:00Z"},
                {"id": 1002, "name": "Carl Customer", "email": "carl@acme.example",
                 "role": "end-user", "organization_id": 361, "active": true, "verified": false,
                 "last_login_at": null}
            ]),
            users,
            Some("eyJvIjoiaWQiLCJ2IjoiYVFvRCJ9"),
        ),
        1,
    )
    .await;
    zendesk_mock(
        &server,
        users,
        Some("eyJvIjoiaWQiLCJ2IjoiYVFvRCJ9"),
        zendesk_page(
            "users",
            json!([{"id": 1003, "name": "Dana Customer", "email": "dana@acme.example",
                    "role": "end-user", "organization_id": 361, "active": true,
                    "verified": true, "last_login_at": null}]),
            users,
            None,
        ),
        1,
    )
    .await;
    // The tickets are read twice: as the tickets kind, and to discover {ticket_id}.
    let tickets = "/api/v2/tickets.json";
    zendesk_mock(
        &server,
        tickets,
        None,
        zendesk_page(
            "tickets",
            json!([{"id": 35436, "url": "https://acme.zendesk.com/api/v2/tickets/35436.json",
                    "subject": "Printer is on fire", "status": "open", "priority": "urgent",
                    "type": "incident", "requester_id": 1002, "submitter_id": 1002,
                    "assignee_id": 1001, "organization_id": 361, "tags": ["hardware", "fire"],
                    "via": {"channel": "email"}, "created_at": "2024-03-02T10:00:00Z",
                    "updated_at": "2024-03-02T11:00:00Z"}]),
            tickets,
            Some("eyJvIjoibmljZV9pZCIsInYiOiJhUXc0QUFBIn0="),
        ),
        2,
    )
    .await;
    zendesk_mock(
        &server,
        tickets,
        Some("eyJvIjoibmljZV9pZCIsInYiOiJhUXc0QUFBIn0="),
        zendesk_page(
            "tickets",
            json!([{"id": 35437, "url": "https://acme.zendesk.com/api/v2/tickets/35437.json",
                    "subject": "Reset my password", "status": "solved", "priority": null,
                    "type": "question", "requester_id": 1003, "submitter_id": 1003,
                    "assignee_id": null, "organization_id": 361, "tags": [],
                    "via": {"channel": "web"}, "created_at": "2024-03-03T10:00:00Z",
                    "updated_at": "2024-03-04T10:00:00Z"}]),
            tickets,
            None,
        ),
        2,
    )
    .await;
    let comments = "/api/v2/tickets/35436/comments.json";
    zendesk_mock(
        &server,
        comments,
        None,
        zendesk_page(
            "comments",
            json!([{"id": 111, "type": "Comment", "author_id": 1002, "public": true,
                    "body": "The printer is on fire!\nPlease send help.",
                    "plain_body": "The printer is on fire!\nPlease send help.",
                    "html_body": "<p>The printer is on fire!</p><p>Please send help.</p>",
                    "audit_id": 5001, "via": {"channel": "email"}, "attachments": [],
                    "created_at": "2024-03-02T10:00:00Z"}]),
            comments,
            Some("eyJvIjoiY3JlYXRlZF9hdCIsInYiOiIxMTEifQ=="),
        ),
        1,
    )
    .await;
    zendesk_mock(
        &server,
        comments,
        Some("eyJvIjoiY3JlYXRlZF9hdCIsInYiOiIxMTEifQ=="),
        zendesk_page(
            "comments",
            json!([{"id": 112, "type": "Comment", "author_id": 1001, "public": false,
                    "body": "Extinguisher is on its way.",
                    "plain_body": "Extinguisher is on its way.",
                    "html_body": "<p>Extinguisher is on its way.</p>", "audit_id": 5002,
                    "via": {"channel": "web"}, "attachments": [],
                    "created_at": "2024-03-02T11:00:00Z"}]),
            comments,
            None,
        ),
        1,
    )
    .await;
    let comments = "/api/v2/tickets/35437/comments.json";
    zendesk_mock(
        &server,
        comments,
        None,
        zendesk_page(
            "comments",
            json!([{"id": 121, "type": "Comment", "author_id": 1003, "public": true,
                    "body": "I cannot log in.", "plain_body": "I cannot log in.",
                    "html_body": "<p>I cannot log in.</p>", "audit_id": 5003,
                    "via": {"channel": "web"}, "attachments": [],
                    "created_at": "2024-03-03T10:00:00Z"}]),
            comments,
            None,
        ),
        1,
    )
    .await;

    let ocean = example.start(&server, &[("password", "test-token")]).await;
    let report = ocean.resync().await;
    assert_completed(&ocean, &report).await;

    assert_eq!(ocean.identifiers("zendeskOrganization").await, ["361"]);
    let acme = entity(&ocean, "zendeskOrganization", "361").await;
    assert_eq!(acme.title, Some(json!("Acme Corp")));
    assert_eq!(acme.properties["domains"], json!(["acme.example"]));

    assert_eq!(
        ocean.identifiers("zendeskUser").await,
        ["1001", "1002", "1003"]
    );
    let ann = entity(&ocean, "zendeskUser", "1001").await;
    assert_eq!(ann.properties["role"], "agent");
    assert_eq!(ann.relations["organization"], Value::Null);
    assert_eq!(
        entity(&ocean, "zendeskUser", "1003").await.relations["organization"],
        "361"
    );

    assert_eq!(ocean.identifiers("zendeskTicket").await, ["35436", "35437"]);
    let fire = entity(&ocean, "zendeskTicket", "35436").await;
    assert_eq!(fire.title, Some(json!("Printer is on fire")));
    assert_eq!(fire.properties["priority"], "urgent");
    assert_eq!(fire.properties["channel"], "email");
    assert_eq!(
        fire.properties["link"],
        "https://acme.zendesk.com/agent/tickets/35436"
    );
    assert_eq!(fire.relations["requester"], "1002");
    assert_eq!(fire.relations["assignee"], "1001");
    assert_eq!(fire.relations["organization"], "361");
    let password = entity(&ocean, "zendeskTicket", "35437").await;
    assert_eq!(password.properties["status"], "solved");
    assert_eq!(password.relations["assignee"], Value::Null);

    assert_eq!(
        ocean.identifiers("zendeskComment").await,
        ["111", "112", "121"]
    );
    let first = entity(&ocean, "zendeskComment", "111").await;
    assert_eq!(first.title, Some(json!("The printer is on fire!")));
    assert_eq!(first.relations["ticket"], "35436");
    assert_eq!(first.relations["author"], "1002");
    // From the second page of the first ticket's comments.
    let note = entity(&ocean, "zendeskComment", "112").await;
    assert_eq!(note.properties["public"], false);
    assert_eq!(note.relations["ticket"], "35436");
    assert_eq!(note.relations["author"], "1001");
    assert_eq!(
        entity(&ocean, "zendeskComment", "121").await.relations["ticket"],
        "35437"
    );
    ocean.shutdown().await;
}
