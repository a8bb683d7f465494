//! `ocean defaults clean`: the default blueprints of `.port/resources` taken out of Port again
//! (docs/lifecycle.md §3 is the way in; this is the way out).
//!
//! Blueprints are deleted dependents first, since Port refuses to delete a blueprint another
//! one still relates to; blueprints that relate to each other in a cycle have their relations
//! taken off first. Without `force` a blueprint that still has entities is not deleted (Port
//! refuses, and the error says to use `--force`); with it the blueprint goes with all its
//! entities, through a migration that `wait` follows to its end. Only the blueprints named in
//! `.port/resources` are touched. Unless the integration is destroyed too, it is marked as not
//! initialized, so that its next start (or `ocean defaults dock`) creates the defaults again.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::future::join_all;
use ocean_config::PortResources;
use ocean_port_client::{DefaultBlueprint, IntegrationPatch, PortClient, PortError};

/// How `clean` goes about it (Python Ocean's `ocean defaults clean` flags).
#[derive(Debug, Clone, Copy, Default)]
pub struct CleanOptions {
    /// Delete each default blueprint with all its entities (a migration in Port).
    pub force: bool,
    /// Follow each migration until it is no longer running.
    pub wait: bool,
    /// Delete the integration itself afterwards (implies `force`, as in the reference).
    pub destroy: bool,
}

/// How often a migration is read while `wait`ing (Python Ocean: every 5 s).
pub const MIGRATION_POLL: Duration = Duration::from_secs(5);

/// What `clean` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanReport {
    /// Whether the integration existed in Port (when it did not, nothing was touched).
    pub integration_found: bool,
    /// The default blueprints deleted, in order.
    pub deleted: Vec<String>,
    /// The default blueprints that were not in Port.
    pub absent: Vec<String>,
    /// The migrations Port started (`force`), with their final status when `wait`ed for.
    pub migrations: Vec<(String, Option<String>)>,
    /// Whether the integration was deleted (`destroy`).
    pub destroyed: bool,
}

/// Why `clean` stopped.
#[derive(Debug, thiserror::Error)]
pub enum CleanError {
    /// `.port/resources/blueprints.*` is not a list of blueprints with identifiers.
    #[error("the default blueprints in {file} are invalid: {message}")]
    Invalid {
        /// The resources folder.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A Port call failed.
    #[error("{step}: {source}")]
    Port {
        /// What was being done.
        step: String,
        /// Port's answer.
        #[source]
        source: PortError,
    },
    /// Some default blueprints could not be deleted (the others were).
    #[error("{} of the default blueprints could not be deleted (deleted: {deleted:?}): {}", errors.len(), errors.join("; "))]
    Blueprints {
        /// The ones that were deleted.
        deleted: Vec<String>,
        /// What failed, one entry per blueprint.
        errors: Vec<String>,
    },
}

fn port(step: impl Into<String>) -> impl FnOnce(PortError) -> CleanError {
    let step = step.into();
    move |source| CleanError::Port { step, source }
}

/// Deletes the default blueprints of `resources` (see the module docs).
pub async fn clean(
    client: &PortClient,
    resources: Option<&PortResources>,
    options: CleanOptions,
) -> Result<CleanReport, CleanError> {
    let mut report = CleanReport::default();
    if client
        .get_integration()
        .await
        .map_err(port("reading the integration"))?
        .is_none()
    {
        tracing::info!("The integration does not exist in Port; nothing to clean");
        return Ok(report);
    }
    report.integration_found = true;
    let force = options.force || options.destroy;
    let defaults = match resources {
        Some(resources) => {
            DefaultBlueprint::parse_all(&resources.blueprints).map_err(|e| CleanError::Invalid {
                file: resources.dir.display().to_string(),
                message: e.to_string(),
            })?
        }
        None => Vec::new(),
    };

    // Which of them Port has.
    let found = join_all(
        defaults
            .iter()
            .map(|bp| client.get_blueprint(bp.identifier())),
    )
    .await;
    let mut remaining = Vec::new();
    for (bp, result) in defaults.iter().zip(found) {
        match result.map_err(port(format!("reading blueprint '{}'", bp.identifier())))? {
            Some(_) => remaining.push(bp),
            None => report.absent.push(bp.identifier().to_owned()),
        }
    }

    let mut errors = Vec::new();
    while !remaining.is_empty() {
        // The blueprints no other remaining one relates to can go now.
        let targets: BTreeSet<&str> = remaining
            .iter()
            .flat_map(|bp| {
                bp.relation_targets()
                    .into_iter()
                    .filter(move |target| *target != bp.identifier())
            })
            .collect();
        let (ready, blocked): (Vec<_>, Vec<_>) = remaining
            .iter()
            .copied()
            .partition(|bp| !targets.contains(bp.identifier()));
        let ready = if ready.is_empty() {
            // A cycle: take the relations off, then they can go in any order.
            let unlinked = DefaultBlueprint::unlinked();
            for bp in &blocked {
                client
                    .patch_blueprint(bp.identifier(), &unlinked)
                    .await
                    .map_err(port(format!(
                        "taking the relations off blueprint '{}' (it is in a relation cycle)",
                        bp.identifier()
                    )))?;
            }
            remaining.clone()
        } else {
            ready
        };
        let results = join_all(
            ready
                .iter()
                .map(|bp| delete(client, bp.identifier(), force)),
        )
        .await;
        let mut failed = false;
        for (bp, result) in ready.iter().zip(results) {
            match result {
                Ok(migration) => {
                    tracing::info!(blueprint = bp.identifier(), "Deleted default blueprint");
                    report.deleted.push(bp.identifier().to_owned());
                    if let Some(id) = migration {
                        report.migrations.push((id, None));
                    }
                }
                Err(error) => {
                    failed = true;
                    errors.push(explain(bp.identifier(), &error, force));
                }
            }
        }
        if failed {
            // What relates to a blueprint that stays cannot go either; stop here and say so.
            break;
        }
        remaining.retain(|bp| !ready.iter().any(|r| r.identifier() == bp.identifier()));
    }

    if options.wait {
        for (id, status) in &mut report.migrations {
            let migration = client
                .wait_for_migration(id, MIGRATION_POLL)
                .await
                .map_err(port(format!("following migration {id}")))?;
            *status = migration.status.clone();
        }
    }
    if !errors.is_empty() {
        return Err(CleanError::Blueprints {
            deleted: report.deleted,
            errors,
        });
    }

    if options.destroy {
        report.destroyed = client
            .delete_integration()
            .await
            .map_err(port("deleting the integration"))?;
    } else {
        client
            .patch_integration(&IntegrationPatch {
                are_port_resources_initialized: Some(false),
                ..IntegrationPatch::default()
            })
            .await
            .map_err(port(
                "marking the integration's default resources as not initialized",
            ))?;
    }
    Ok(report)
}

async fn delete(
    client: &PortClient,
    identifier: &str,
    force: bool,
) -> Result<Option<String>, PortError> {
    if force {
        client
            .delete_blueprint_with_entities(identifier, None)
            .await
    } else {
        client.delete_blueprint(identifier).await.map(|()| None)
    }
}

/// One blueprint's failure, with what to do about the usual one.
fn explain(identifier: &str, error: &PortError, force: bool) -> String {
    if error.is_conflict() && !force {
        format!("blueprint '{identifier}': {error} (to delete it with its entities, use --force)")
    } else {
        format!("blueprint '{identifier}': {error}")
    }
}
