//! `ocean defaults dock|clean [PATH]`: the integration in a folder puts its default resources
//! in Port, or takes its default blueprints out, without a resync.
//!
//! The integration's own executable does the work (`ocean-NAME --defaults dock|clean`), so the
//! settings come from exactly where a run takes them (the folder's `config.yaml` and `.env`, the
//! environment). Unlike `ocean sail` there is no local emulator: the defaults go to the Port
//! that is configured, and without one the integration names the missing setting.

use anyhow::{Context, bail};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use crate::integration::Integration;
use crate::sail::executable;

/// Which way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Create what is missing of the default blueprints, mapping, actions, scorecards, pages.
    Dock,
    /// Delete the default blueprints.
    Clean,
}

/// What `ocean defaults` was asked for.
#[derive(Debug, Clone)]
pub struct DefaultsOptions {
    /// The integration folder.
    pub path: PathBuf,
    /// Dock or clean.
    pub action: Action,
    /// `clean`: delete each default blueprint with all its entities.
    pub force: bool,
    /// `clean --force`: wait for Port to finish deleting the entities.
    pub wait: bool,
    /// `clean`: delete the integration too (implies `force`).
    pub destroy: bool,
    /// `clean`: do not ask for confirmation on a terminal.
    pub yes: bool,
    /// The cargo profile to build with inside a workspace.
    pub profile: String,
}

impl DefaultsOptions {
    /// The integration executable's arguments for this.
    pub fn arguments(&self) -> Vec<&'static str> {
        let mut args = vec![
            "--defaults",
            match self.action {
                Action::Dock => "dock",
                Action::Clean => "clean",
            },
        ];
        if self.action == Action::Clean {
            for (set, flag) in [
                (self.force, "--force"),
                (self.wait, "--wait"),
                (self.destroy, "--destroy"),
            ] {
                if set {
                    args.push(flag);
                }
            }
        }
        args
    }

    /// The question asked before a clean on a terminal.
    pub fn question(&self, integration: &Integration) -> String {
        let what = if self.force || self.destroy {
            "the default blueprints of .port/resources, WITH ALL THEIR ENTITIES"
        } else {
            "the default blueprints of .port/resources (a blueprint that has entities is kept)"
        };
        let destroy = if self.destroy {
            ", and the integration itself,"
        } else {
            ""
        };
        format!(
            "Delete {what}{destroy} from the Port that {} is configured for?",
            integration.name()
        )
    }
}

/// Runs `ocean defaults` for `options`; the integration's exit code is returned.
pub fn defaults(options: &DefaultsOptions) -> anyhow::Result<ExitCode> {
    if options.action == Action::Dock && (options.force || options.wait || options.destroy) {
        bail!("--force, --wait and --destroy apply to `ocean defaults clean` only");
    }
    let integration = Integration::open(&options.path)?;
    if options.action == Action::Clean && !options.yes && std::io::stdin().is_terminal() {
        let confirmed = dialoguer::Confirm::new()
            .with_prompt(options.question(&integration))
            .default(false)
            .interact()
            .context("asking for confirmation")?;
        if !confirmed {
            eprintln!("Nothing deleted.");
            return Ok(ExitCode::SUCCESS);
        }
    }
    let binary = executable(&integration, &options.profile)?;
    let status = Command::new(&binary)
        .args(options.arguments())
        .current_dir(&integration.dir)
        .status()
        .with_context(|| format!("running {}", binary.display()))?;
    Ok(ExitCode::from(
        status
            .code()
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(1),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(action: Action) -> DefaultsOptions {
        DefaultsOptions {
            path: ".".into(),
            action,
            force: false,
            wait: false,
            destroy: false,
            yes: false,
            profile: "release".into(),
        }
    }

    #[test]
    fn arguments_for_the_integration() {
        assert_eq!(options(Action::Dock).arguments(), ["--defaults", "dock"]);
        let mut clean = options(Action::Clean);
        clean.force = true;
        clean.destroy = true;
        assert_eq!(
            clean.arguments(),
            ["--defaults", "clean", "--force", "--destroy"]
        );
    }

    #[test]
    fn dock_refuses_the_clean_flags() {
        let mut dock = options(Action::Dock);
        dock.force = true;
        let error = defaults(&dock).unwrap_err().to_string();
        assert!(error.contains("`ocean defaults clean` only"), "{error}");
    }
}
