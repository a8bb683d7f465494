//! The printed configuration and the startup warnings.

mod support;

use expect_test::expect;
use support::{case, with_credentials};

/// The example `config.yaml` of the configuration contract (crates/config/CONFIGURATION.md, "A complete example").
const EXAMPLE: &str = r#"initializePortResources: true
scheduledResyncInterval: 1440
port:
  clientId: "{{ from env PORT_CLIENT_ID }}"
  clientSecret: "{{ from env PORT_CLIENT_SECRET }}"
eventListener:
  type: POLLING
integration:
  identifier: my-jira
  type: jira
  config:
    jiraHost: https://example.atlassian.net
    atlassianUserToken: "{{ from env JIRA_TOKEN }}"
"#;

const SPEC: &str = "configurations:\n  - {name: jiraHost, type: url, required: true}\n  - {name: atlassianUserToken, type: string, required: true, sensitive: true}\n";

#[test]
fn prints_the_example_with_sources_and_masked_secrets() {
    let c = case()
        .yaml(EXAMPLE)
        .spec(SPEC)
        .env("PORT_CLIENT_ID", "id-abc")
        .env("PORT_CLIENT_SECRET", "secret-def")
        .env("JIRA_TOKEN", "token-ghi")
        .env("OCEAN__EVENT_LISTENER__INTERVAL", "120")
        .dotenv("OCEAN__LIVE_EVENTS__REDIS__PASSWORD=pw-jkl\n");
    let settings = c.ok();
    let printed = c.scrub(&settings.render_masked());
    // Machine-dependent defaults are normalised before comparing.
    let printed = printed.replace(
        &format!(
            "process_in_queue_max_workers: {}",
            settings.process_in_queue_max_workers
        ),
        "process_in_queue_max_workers: <cpus>",
    );
    expect![[r#"
        # Ocean configuration. Secrets are shown as [REDACTED]; comments name each value's source.
        port:
          client_id: "[REDACTED]"  # port.clientId (<dir>/config.yaml line 4, from environment variable PORT_CLIENT_ID)
          client_secret: "[REDACTED]"  # port.clientSecret (<dir>/config.yaml line 5, from environment variable PORT_CLIENT_SECRET)
          base_url: "https://api.getport.io"  # default
          app_url: null  # default
          mcp_url: "https://mcp.getport.io/v1"  # derived from port.base_url
          port_app_config_cache_ttl: 60  # default
          feature_flags_cache_ttl_seconds: 300.0  # default
          blueprint_cache_ttl_seconds: 120.0  # default
        integration:
          identifier: "my-jira"  # integration.identifier (<dir>/config.yaml line 9)
          type: "jira"  # integration.type (<dir>/config.yaml line 10)
          version: "1.2.3"  # the integration binary
          config:
            jira_host: "https://example.atlassian.net"  # integration.config.jiraHost (<dir>/config.yaml line 12)
            atlassian_user_token: "[REDACTED]"  # integration.config.atlassianUserToken (<dir>/config.yaml line 13, from environment variable JIRA_TOKEN)
          incremental_sync_enabled: false  # default
          incremental_sync_interval: 15  # default
        event_listener:
          type: "POLLING"  # eventListener.type (<dir>/config.yaml line 7)
          should_resync: true  # default
          should_process_webhooks: true  # default
          should_run_actions: true  # default
          interval: 120  # OCEAN__EVENT_LISTENER__INTERVAL (environment)
          resync_on_start: true  # default
        initialize_port_resources: true  # initializePortResources (<dir>/config.yaml line 1)
        create_port_resources_origin: null  # default
        scheduled_resync_interval: 1440  # scheduledResyncInterval (<dir>/config.yaml line 2)
        resources_path: ".port/resources"  # default
        runtime: "OnPrem"  # default
        base_url: null  # default
        path_prefix: null  # default
        allow_environment_variables_jq_access: true  # default
        send_raw_data_examples: true  # default
        status_heartbeat_interval_seconds: 10  # default
        client_timeout: 60  # default
        oauth_access_token_file_path: null  # default
        event_workers_count: 1  # default
        events_debug_logging: false  # default
        max_event_processing_seconds: 90.0  # default
        max_wait_seconds_before_shutdown: 5.0  # default
        caching_storage_mode: "disk"  # default
        upsert_entities_batch_max_length: 20  # default
        upsert_entities_batch_max_size_in_bytes: 1048576  # default
        delete_entities_max_batch_size: 1000  # default
        yield_items_to_parse_batch_size: 200  # default
        process_in_queue_timeout: 120  # default
        process_in_queue_max_workers: <cpus>  # default (available CPUs)
        lakehouse_enabled: true  # default
        lakehouse_buffer_interval_seconds: 10.0  # default
        lakehouse_buffer_max_count: 50  # default
        processing_mode: "dsp"  # default
        disable_ip_outbound_blocker: true  # derived from runtime
        metrics:
          enabled: false  # default
          webhook_url: null  # default
        streaming:
          enabled: false  # default
          max_buffer_size_mb: 20971520  # default
          chunk_size: 65536  # default
          location: "/tmp/ocean/streaming"  # default
        ssl:
          port:
            verify: true  # default
            x509:
              strict: true  # default
          third_party:
            verify: true  # default
            x509:
              strict: true  # default
        actions_processor:
          enabled: false  # default
          runs_buffer_high_watermark: 300  # default
          visibility_timeout_ms: 60000  # default
          poll_check_interval_seconds: 10  # default
          workers_count: 3  # default
          max_runs_buffer_util_pct_per_action: 30  # default
        live_events:
          type: "REDIS"  # default
          is_redis_stream_consumer_enabled: false  # default
          payload_logging_enabled: false  # default
          redis:
            url: "redis://localhost:6379"  # default
            username: null  # default
            password: "[REDACTED]"  # OCEAN__LIVE_EVENTS__REDIS__PASSWORD (<dir>/.env line 1)
            enable_tls: false  # default
            ca: null  # default
            cert: null  # default
            private_key: null  # default
            block_ms: 1000  # default
            read_count: 10  # default
            stream_ttl_seconds: 2592000  # default
            stream_maintenance_worker_enabled: true  # default
            pel_stuck_timeout_seconds: 600  # default
            pel_max_requeue_count: 3  # default
            stream_maintenance_scan_interval_seconds: 30.0  # default
            pel_xautoclaim_count: 100  # default
            stream_maintenance_error_backoff_seconds: 5.0  # default
            stream_maintenance_consumer_cleanup_enabled: true  # default
            stream_maintenance_consumer_cleanup_idle_seconds: 86400  # default
            connection_error_backoff_seconds: 5.0  # default
            connection_startup_max_retries: 5  # default
            connection_startup_initial_backoff_seconds: 1.0  # default
            connection_startup_exponential_base: 2.0  # default
        identity_propagation:
          enabled: false  # default
          vault:
            type: "aws_secrets_manager"  # default
            secret_prefix: "port/tokens"  # default
            aws_region: null  # default
            endpoint_url: null  # default
            aws_access_key_id: null  # default
            aws_secret_access_key: null  # default
          oauth:
            state_signing_secret: null  # default
    "#]]
    .assert_eq(&printed);
    // The printout is valid YAML that loads back to the same settings.
    let reparsed = ocean_config::yaml::parse(&printed.replace("<cpus>", "2")).unwrap();
    assert_eq!(reparsed["event_listener"]["interval"], 120);
}

#[test]
fn warnings_name_ignored_and_relaxed_settings() {
    let c = with_credentials()
        .yaml("eventListner:\n  type: ONCE\nport:\n  clientIdd: x\n")
        .dotenv("OCEAN__PROCESS_EXECUTION_MODE=multi_process\n")
        .env("OCEAN__PROBE_ID", "p1")
        .env("OCEAN__SSL__THIRD_PARTY__VERIFY", "false")
        .env("OCEAN__SSL__PORT__X509__STRICT", "false")
        .env(
            "OCEAN__IDENTITY_PROPAGATION__VAULT__CUSTOM_OPTION",
            "allowed",
        )
        .env(
            "OCEAN__EVENT_LISTENER__APP_HOST",
            "https://listener.field.of.another.type",
        );
    let settings = c.ok();
    assert_eq!(
        c.scrub(&settings.warnings().join("\n")),
        "OCEAN__PROCESS_EXECUTION_MODE is no longer supported and is ignored: Ocean always runs as a single process\n\
         Port API SSL settings are non-default (x509.strict=false)\n\
         Third-party SSL settings are non-default (verify=false)\n\
         eventListner (<dir>/config.yaml line 1): not a known setting; ignored\n\
         port.clientIdd (<dir>/config.yaml line 4): not a known setting; ignored"
    );
}
