//! `ocean-NAME --defaults dock|clean`: the integration's default resources put in Port, or its
//! default blueprints taken out, without a listener or a resync (what `ocean defaults` runs).

use std::process::ExitCode;

use ocean_lifecycle::{CleanOptions, Ocean};

use crate::cli::{Args, DefaultsAction};

/// Runs `action` against the Port of `ocean`'s settings; prints what was done on stdout and
/// returns the exit code (failures go through `fail`, which masks and prints them).
pub(crate) async fn run(
    ocean: &Ocean,
    action: DefaultsAction,
    args: &Args,
    fail: impl FnOnce(String) -> ExitCode,
) -> ExitCode {
    match action {
        DefaultsAction::Dock => match ocean.dock_defaults().await {
            Ok(outcome) => {
                let what = match (outcome.created, outcome.provisioned) {
                    (true, _) => "the integration was created with its default resources",
                    (false, true) => "the missing default resources were created",
                    (false, false) => "every default resource was in place already",
                };
                println!(
                    "Docked {} in Port: {what} (origin {}).",
                    ocean.settings().integration.identifier,
                    outcome.origin.as_str()
                );
                ExitCode::SUCCESS
            }
            Err(error) => fail(format!("docking the default resources: {error}")),
        },
        DefaultsAction::Clean => {
            let options = CleanOptions {
                force: args.force,
                wait: args.wait,
                destroy: args.destroy,
            };
            match ocean.clean_defaults(options).await {
                Ok(report) if !report.integration_found => {
                    println!(
                        "The integration {} does not exist in Port; nothing to clean.",
                        ocean.settings().integration.identifier
                    );
                    ExitCode::SUCCESS
                }
                Ok(report) => {
                    println!(
                        "Deleted {} default blueprint(s){}.",
                        report.deleted.len(),
                        list(&report.deleted)
                    );
                    if !report.absent.is_empty() {
                        println!("Not in Port: {}.", report.absent.join(", "));
                    }
                    for (id, status) in &report.migrations {
                        match status {
                            Some(status) => println!("Migration {id}: {status}."),
                            None => println!(
                                "Migration {id} is deleting the entities (--wait follows it)."
                            ),
                        }
                    }
                    if report.destroyed {
                        println!(
                            "Deleted the integration {}.",
                            ocean.settings().integration.identifier
                        );
                    }
                    ExitCode::SUCCESS
                }
                Err(error) => fail(format!("cleaning the default resources: {error}")),
            }
        }
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!(": {}", items.join(", "))
    }
}
