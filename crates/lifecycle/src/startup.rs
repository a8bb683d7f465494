//! Startup in Port (docs/lifecycle.md §2 steps 5–7 and §3): the runtime compatibility check, then
//! creating or updating the integration record and, until it is done, provisioning the defaults
//! of `.port/resources` (mapping, blueprints in three stages, actions, scorecards, pages).
//!
//! Provisioning is resumable: the integration is marked `arePortResourcesInitialized` only once
//! every default blueprint is in place, so a start that stops part-way (Port refusing after
//! retries, a SIGKILL) leaves work the next start finishes. That start creates the blueprints
//! still missing and completes the ones an interrupted start left bare, adding only what they
//! lack ([`DefaultBlueprint::completion`]), so nothing a user made is changed. Python Ocean
//! marks the integration initialized even when creation failed, and skips every default when
//! any blueprint exists; both leave a first install stuck without blueprints.
//!
//! Every failure here is fatal for startup and comes back as a [`StartupError`] that names the
//! step; the SDK prints it as the one-line reason the process exits with. Failures the reference
//! only logs (actions, scorecards and pages that cannot be created) are logged here too.

use futures::future::join_all;
use ocean_config::{CreatePortResourcesOrigin, PortResources, Runtime, Settings};
use ocean_mapping::PortAppConfig;
use ocean_port_client::{
    BlueprintStage, CreateIntegration, DefaultBlueprint, Integration, IntegrationPatch, PortClient,
    PortError, ProvisionPoll, ResourcesOrigin,
};
use serde_json::{Value, json};

/// The organization feature flag that lets Port provision an integration's defaults.
pub const USE_PROVISIONED_DEFAULTS: &str = "USE_PROVISIONED_DEFAULTS";

/// Why startup stopped.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// No access token could be obtained: the client id or secret is wrong, or Port is down.
    #[error("cannot authenticate with Port: {0}")]
    Auth(#[source] PortError),
    /// The integration exists in Port with an installation type this runtime cannot serve.
    #[error(
        "Invalid Runtime! The integration in Port is installed as {installed:?}, which the {runtime} runtime cannot run; set OCEAN__RUNTIME to match"
    )]
    Runtime {
        /// Port's `installationType`.
        installed: String,
        /// The configured runtime.
        runtime: String,
    },
    /// A Port call failed.
    #[error("{step}: {source}")]
    Port {
        /// What was being done.
        step: &'static str,
        /// The error.
        #[source]
        source: PortError,
    },
    /// The integration has no version to register with.
    #[error("the integration version is not set; it is needed to create the integration in Port")]
    NoVersion,
    /// The default mapping of `.port/resources` does not validate.
    #[error("the default mapping in {file} is invalid: {message}")]
    DefaultMapping {
        /// The resources folder.
        file: String,
        /// The validation error.
        message: String,
    },
    /// Creating the default blueprints failed; the ones this start created were deleted again
    /// and the integration is not marked initialized, so the next start tries again.
    #[error(
        "creating the default blueprints failed (rolled back {rolled_back:?}; the next start tries again): {}",
        errors.join("; ")
    )]
    Blueprints {
        /// The blueprints that were created and then deleted.
        rolled_back: Vec<String>,
        /// What failed.
        errors: Vec<String>,
    },
    /// A default blueprint in `.port/resources` is not usable.
    #[error("the default blueprints in {file} are invalid: {message}")]
    DefaultBlueprints {
        /// The resources folder.
        file: String,
        /// What is wrong.
        message: String,
    },
}

/// What startup learned.
#[derive(Debug, Clone)]
pub struct StartupOutcome {
    /// Whether the integration was created by this start.
    pub created: bool,
    /// Whether the drift PATCH was sent.
    pub patched: bool,
    /// The origin of the default resources used.
    pub origin: ResourcesOrigin,
    /// Whether this start created or completed any default resource.
    pub provisioned: bool,
}

/// Runs the compatibility check and the defaults initialization.
pub async fn start(
    client: &PortClient,
    settings: &Settings,
    resources: Option<&PortResources>,
) -> Result<StartupOutcome, StartupError> {
    check_runtime(client, settings).await?;
    initialize_defaults(client, settings, resources).await
}

/// Step 5: the integration, if it exists, must have been installed for this runtime. The
/// first Port call, so an authentication failure surfaces here.
pub async fn check_runtime(client: &PortClient, settings: &Settings) -> Result<(), StartupError> {
    let integration = match client.get_integration().await {
        Ok(integration) => integration,
        Err(e @ PortError::Auth(_)) => return Err(StartupError::Auth(e)),
        Err(error) => {
            tracing::debug!(%error, "Could not read the integration for the runtime check");
            return Ok(());
        }
    };
    let Some(integration) = integration else {
        return Ok(());
    };
    let installed = integration
        .installation_type
        .clone()
        .unwrap_or_else(|| "OnPrem".to_owned());
    if runtime_compatible(settings.runtime, &installed) {
        Ok(())
    } else {
        Err(StartupError::Runtime {
            installed,
            runtime: settings.runtime.to_string(),
        })
    }
}

/// `Saas` needs an installation type starting with `Saas`; `OnPrem` needs exactly `OnPrem`.
pub fn runtime_compatible(runtime: Runtime, installed: &str) -> bool {
    match runtime {
        Runtime::Saas => installed.starts_with("Saas"),
        Runtime::OnPrem => installed == "OnPrem",
    }
}

/// The origin of the default resources when Port has none on record (docs/lifecycle.md §3 step 4).
pub fn decide_origin(
    configured: Option<CreatePortResourcesOrigin>,
    provisionable: bool,
) -> ResourcesOrigin {
    match configured {
        Some(CreatePortResourcesOrigin::Empty) => ResourcesOrigin::Empty,
        Some(CreatePortResourcesOrigin::Ocean) => {
            tracing::warn!(
                "The Ocean origin setup has been renamed to Default. Please use the Default origin setup."
            );
            ResourcesOrigin::Default
        }
        Some(CreatePortResourcesOrigin::Default) => ResourcesOrigin::Default,
        Some(CreatePortResourcesOrigin::Port) | None => {
            if provisionable {
                ResourcesOrigin::Port
            } else {
                tracing::info!("Provision is not supported, falling back to Default");
                ResourcesOrigin::Default
            }
        }
    }
}

fn origin_from_port(text: &str) -> Option<ResourcesOrigin> {
    match text {
        "Empty" => Some(ResourcesOrigin::Empty),
        "Default" | "Ocean" => Some(ResourcesOrigin::Default),
        "Port" => Some(ResourcesOrigin::Port),
        _ => None,
    }
}

fn port_step(step: &'static str) -> impl FnOnce(PortError) -> StartupError {
    move |source| match source {
        e @ PortError::Auth(_) => StartupError::Auth(e),
        source => StartupError::Port { step, source },
    }
}

/// The default mapping in request form: the resources folder's `port-app-config`, validated,
/// or an empty mapping.
fn default_mapping(resources: Option<&PortResources>) -> Result<Value, StartupError> {
    match resources.and_then(|r| r.port_app_config.as_ref().map(|c| (r, c))) {
        Some((r, config)) => PortAppConfig::from_json(config)
            .map(|c| c.to_request())
            .map_err(|e| StartupError::DefaultMapping {
                file: r.dir.display().to_string(),
                message: e.to_string(),
            }),
        None => Ok(empty_mapping()),
    }
}

fn empty_mapping() -> Value {
    PortAppConfig {
        resources: Vec::new(),
        ..PortAppConfig::default()
    }
    .to_request()
}

/// Step 7 and §3: create or update the integration, then provision its defaults once.
pub async fn initialize_defaults(
    client: &PortClient,
    settings: &Settings,
    resources: Option<&PortResources>,
) -> Result<StartupOutcome, StartupError> {
    initialize(client, settings, resources, false).await
}

/// `ocean defaults dock`: the runtime check, then the integration created or updated and its
/// default resources put in place, whether or not Port marks them initialized already and
/// whatever `initialize_port_resources` says. Provisioning only ever adds what is missing, so
/// docking twice, or after a user changed a default blueprint, overwrites nothing.
pub async fn dock(
    client: &PortClient,
    settings: &Settings,
    resources: Option<&PortResources>,
) -> Result<StartupOutcome, StartupError> {
    check_runtime(client, settings).await?;
    initialize(client, settings, resources, true).await
}

async fn initialize(
    client: &PortClient,
    settings: &Settings,
    resources: Option<&PortResources>,
    docking: bool,
) -> Result<StartupOutcome, StartupError> {
    let provision_enabled = client
        .provision_enabled_integrations()
        .await
        .map_err(port_step("reading the provision-enabled integration types"))?;
    let flags = client
        .organization()
        .await
        .map_err(port_step("reading the organization's feature flags"))?;
    let provisionable = provision_enabled
        .iter()
        .any(|t| t.eq_ignore_ascii_case(&settings.integration.integration_type))
        && flags.has_feature_flag(USE_PROVISIONED_DEFAULTS);
    let existing = match client.get_integration().await {
        Ok(found) => found,
        Err(e @ PortError::Auth(_)) => return Err(StartupError::Auth(e)),
        Err(_) => None,
    };
    let origin = existing
        .as_ref()
        .and_then(|i| i.create_port_resources_origin.as_deref())
        .and_then(origin_from_port)
        .unwrap_or_else(|| decide_origin(settings.create_port_resources_origin, provisionable));
    tracing::info!(origin = origin.as_str(), "Resources origin");

    let changelog_destination = settings.event_listener.changelog_destination();
    let mut created = false;
    let integration = match existing {
        Some(integration) => integration,
        None => {
            if settings.integration.version.trim().is_empty() {
                return Err(StartupError::NoVersion);
            }
            let config = match origin {
                ResourcesOrigin::Default => Some(default_mapping(resources)?),
                ResourcesOrigin::Empty => Some(empty_mapping()),
                ResourcesOrigin::Port => None,
            };
            tracing::info!(
                identifier = %settings.integration.identifier,
                "Integration does not exist, creating it with the default mapping"
            );
            let request = CreateIntegration {
                changelog_destination: changelog_destination.clone(),
                config,
                actions_processing_enabled: settings.actions_processor.enabled,
                incremental_sync_enabled: settings.integration.incremental_sync_enabled,
                origin,
            };
            let mut integration = client
                .create_integration(&request)
                .await
                .map_err(port_step("creating the integration in Port"))?;
            if origin == ResourcesOrigin::Port {
                integration = client
                    .wait_for_provisioned_config(ProvisionPoll::default())
                    .await
                    .map_err(port_step("waiting for Port to provision the defaults"))?;
            }
            created = true;
            integration
        }
    };

    let patched = if drifted(&integration, settings, &changelog_destination) {
        tracing::info!("The integration in Port differs from this configuration; updating it");
        client
            .patch_integration(&IntegrationPatch {
                installation_app_type: Some(settings.integration.integration_type.clone()),
                changelog_destination: Some(changelog_destination),
                actions_processing_enabled: Some(settings.actions_processor.enabled),
                incremental_sync_enabled: Some(settings.integration.incremental_sync_enabled),
                processing_mode: Some(settings.processing_mode.as_str().to_owned()),
                ..IntegrationPatch::default()
            })
            .await
            .map_err(port_step("updating the integration in Port"))?;
        true
    } else {
        false
    };

    // Docking re-checks the default resources of `.port/resources` (only that origin has any
    // to add to); the other origins' setup would rewrite the mapping, so it stays once-only.
    let recheck = docking && origin == ResourcesOrigin::Default;
    let provisioned = if integration.are_port_resources_initialized == Some(true) && !recheck {
        tracing::info!("Port resources are already initialized, skipping setup");
        false
    } else {
        setup(client, settings, resources, origin, &integration, docking).await?
    };
    Ok(StartupOutcome {
        created,
        patched,
        origin,
        provisioned,
    })
}

/// Whether the record in Port differs from what this process would register.
fn drifted(integration: &Integration, settings: &Settings, changelog_destination: &Value) -> bool {
    let empty = json!({});
    integration.changelog_destination.as_ref().unwrap_or(&empty) != changelog_destination
        || integration.installation_app_type.as_deref()
            != Some(settings.integration.integration_type.as_str())
        || integration.version.as_deref() != Some(settings.integration.version.as_str())
        || integration.actions_processing_enabled != Some(settings.actions_processor.enabled)
        || integration.incremental_sync_enabled
            != Some(settings.integration.incremental_sync_enabled)
        || integration.processing_mode.as_deref() != Some(settings.processing_mode.as_str())
}

/// The origin's setup. Returns whether resources were provisioned.
async fn setup(
    client: &PortClient,
    settings: &Settings,
    resources: Option<&PortResources>,
    origin: ResourcesOrigin,
    integration: &Integration,
    docking: bool,
) -> Result<bool, StartupError> {
    match origin {
        ResourcesOrigin::Empty => {
            client
                .patch_integration(&IntegrationPatch {
                    config: Some(empty_mapping()),
                    are_port_resources_initialized: Some(true),
                    ..IntegrationPatch::default()
                })
                .await
                .map_err(port_step("writing the empty mapping"))?;
            Ok(true)
        }
        ResourcesOrigin::Port => {
            if !integration.has_config() {
                client
                    .wait_for_provisioned_config(ProvisionPoll::default())
                    .await
                    .map_err(port_step("waiting for Port to provision the defaults"))?;
            }
            Ok(true)
        }
        ResourcesOrigin::Default => {
            if !settings.initialize_port_resources && !docking {
                tracing::info!("Resources initialization disabled, skipping resource creation");
                return Ok(false);
            }
            if !integration.has_config() {
                let mapping = default_mapping(resources)?;
                client
                    .patch_integration_config(&mapping, settings.runtime == Runtime::Saas)
                    .await
                    .map_err(port_step("writing the default mapping"))?;
            }
            let empty = PortResources::default();
            let resources = resources.unwrap_or(&empty);
            let provisioned = provision_defaults(client, resources).await?;
            if provisioned.complete {
                client
                    .patch_integration(&IntegrationPatch {
                        are_port_resources_initialized: Some(true),
                        ..IntegrationPatch::default()
                    })
                    .await
                    .map_err(port_step("marking the default resources initialized"))?;
            } else {
                tracing::warn!(
                    "Some default resources could not be created; the next start tries again"
                );
            }
            Ok(provisioned.changed)
        }
    }
}

/// What provisioning the defaults did.
struct Provisioned {
    /// Whether anything was created or completed.
    changed: bool,
    /// Whether every default resource is in place (the integration can be marked initialized).
    complete: bool,
}

/// Puts every default resource in place: the blueprints in stages (missing ones created, ones
/// an interrupted start left incomplete completed), then actions, scorecards and pages.
///
/// A blueprint failure deletes the blueprints this start created and fails startup. Actions,
/// scorecards and pages that exist already (409) are in place; one that Port refused for good
/// (another 4xx) is logged and left, one that failed for a passing reason leaves provisioning
/// incomplete so the next start tries again.
async fn provision_defaults(
    client: &PortClient,
    resources: &PortResources,
) -> Result<Provisioned, StartupError> {
    let defaults = DefaultBlueprint::parse_all(&resources.blueprints).map_err(|e| {
        StartupError::DefaultBlueprints {
            file: resources.dir.display().to_string(),
            message: e.to_string(),
        }
    })?;
    let mut changed = provision_blueprints(client, &defaults).await?;

    let actions = join_all(resources.actions.iter().map(|a| client.create_action(a))).await;
    let scorecards = join_all(resources.scorecards.iter().flat_map(|preset| {
        preset
            .data
            .iter()
            .map(|card| client.create_scorecard(&preset.blueprint, card))
    }))
    .await;
    let pages = join_all(resources.pages.iter().map(|p| client.create_page(p))).await;
    let mut complete = true;
    for result in actions.into_iter().chain(scorecards).chain(pages) {
        match result {
            Ok(()) => changed = true,
            Err(error) if error.is_conflict() => {}
            Err(error) if error.is_transient() => {
                complete = false;
                tracing::warn!(%error, "Could not create a default resource; the next start tries again");
            }
            Err(error) => {
                tracing::warn!(%error, "Port refused a default resource; continuing without it")
            }
        }
    }
    Ok(Provisioned { changed, complete })
}

/// The default blueprints, in three stages: missing ones are created bare, then every one gets
/// its relations, then its computed properties — the whole stage for the blueprints this start
/// created, what they lack for the ones that existed. Returns whether anything was written.
async fn provision_blueprints(
    client: &PortClient,
    defaults: &[DefaultBlueprint],
) -> Result<bool, StartupError> {
    let existing = join_all(
        defaults
            .iter()
            .map(|bp| client.get_blueprint(bp.identifier())),
    )
    .await;
    let mut found = Vec::with_capacity(defaults.len());
    for result in existing {
        let existing = result.map_err(|source| match source {
            e @ PortError::Auth(_) => StartupError::Auth(e),
            source => StartupError::Port {
                step: "reading the default blueprints",
                source,
            },
        })?;
        found.push(existing);
    }
    let missing: Vec<&DefaultBlueprint> = defaults
        .iter()
        .zip(&found)
        .filter(|(_, existing)| existing.is_none())
        .map(|(bp, _)| bp)
        .collect();
    let present: Vec<String> = defaults
        .iter()
        .zip(&found)
        .filter(|(_, existing)| existing.is_some())
        .map(|(bp, _)| bp.identifier().to_owned())
        .collect();
    if !present.is_empty() {
        tracing::info!(
            blueprints = ?present,
            "Default blueprints exist already; adding only what they lack"
        );
    }

    let bodies: Vec<Value> = missing.iter().map(|bp| bp.bare()).collect();
    let results = join_all(bodies.iter().map(|body| client.create_blueprint(body))).await;
    let mut created = Vec::new();
    let mut errors = Vec::new();
    for (bp, result) in missing.iter().zip(results) {
        match result {
            Ok(_) => created.push(bp.identifier().to_owned()),
            Err(e) => errors.push(format!("creating blueprint '{}': {e}", bp.identifier())),
        }
    }
    let mut changed = !created.is_empty();
    if errors.is_empty() {
        'stages: for stage in [BlueprintStage::Links, BlueprintStage::Computed] {
            // Each blueprint's body for this stage: the stage for the ones created now, the
            // completion for the ones that existed (none when they lack nothing).
            let bodies: Vec<(&str, Value)> = defaults
                .iter()
                .zip(&found)
                .filter_map(|(bp, existing)| {
                    let body = match existing {
                        None => Some(bp.stage(stage)),
                        Some(existing) => bp.completion(existing, stage),
                    };
                    body.map(|body| (bp.identifier(), body))
                })
                .collect();
            let results = join_all(
                bodies
                    .iter()
                    .map(|(id, body)| client.patch_blueprint(id, body)),
            )
            .await;
            for ((id, _), result) in bodies.iter().zip(results) {
                match result {
                    Ok(()) => changed = true,
                    Err(e) => errors.push(format!("updating blueprint '{id}': {e}")),
                }
            }
            if !errors.is_empty() {
                break 'stages;
            }
        }
    }
    if !errors.is_empty() {
        tracing::warn!(blueprints = ?created, "Failed to create resources. Rolling back blueprints");
        join_all(created.iter().map(|id| async move {
            if let Err(error) = client.delete_blueprint(id).await {
                tracing::warn!(blueprint = %id, %error, "Could not roll back a blueprint");
            }
        }))
        .await;
        return Err(StartupError::Blueprints {
            rolled_back: created,
            errors,
        });
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes() {
        assert!(runtime_compatible(Runtime::OnPrem, "OnPrem"));
        assert!(!runtime_compatible(Runtime::OnPrem, "Saas"));
        assert!(runtime_compatible(Runtime::Saas, "SaasOauth2"));
        assert!(!runtime_compatible(Runtime::Saas, "OnPrem"));
    }

    #[test]
    fn origins() {
        use CreatePortResourcesOrigin as C;
        assert_eq!(decide_origin(Some(C::Empty), true), ResourcesOrigin::Empty);
        assert_eq!(
            decide_origin(Some(C::Ocean), true),
            ResourcesOrigin::Default
        );
        assert_eq!(
            decide_origin(Some(C::Default), true),
            ResourcesOrigin::Default
        );
        assert_eq!(decide_origin(Some(C::Port), true), ResourcesOrigin::Port);
        assert_eq!(
            decide_origin(Some(C::Port), false),
            ResourcesOrigin::Default
        );
        assert_eq!(decide_origin(None, true), ResourcesOrigin::Port);
        assert_eq!(decide_origin(None, false), ResourcesOrigin::Default);
    }
}
