//! Scaffolding a new integration into `integrations/<slug>/` of the Ocean workspace (the body of
//! `ocean new`).
//!
//! The integration is the workspace's own template, `templates/integration/`, expanded by
//! cargo-generate used as a library: it renders the files, adds the new package to the workspace
//! if the `members` globs do not already cover it, and runs rustfmt on what it wrote. This module
//! only decides the answers: it asks for what the command line did not give (when there is a
//! terminal to ask on), validates the slug, and refuses to touch an existing integration.
//!
//! It deliberately does not fetch templates from anywhere (the template is versioned with the SDK
//! it targets, so both change in one commit), does not initialise git (the integration lives in
//! the workspace's repository), and does not build the result (the scaffold test in
//! `crates/cli/tests/new_cli.rs` builds, lints and tests what it generates).

use anyhow::{Context, bail};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::workspace::{INTEGRATIONS_DIR, TEMPLATE_DIR, find_workspace, workspace_at};

/// The longest slug accepted (it becomes a package, a binary and an image name).
const MAX_SLUG_LEN: usize = 40;

/// What `ocean new` was asked for on its command line.
#[derive(Debug, Default, Clone)]
pub struct NewRequest {
    /// The Ocean workspace to add it to (default: the one around the current directory).
    pub workspace: Option<PathBuf>,
    /// The answers given as options; the rest is asked or defaulted.
    pub given: Given,
    /// Never prompt, even on a terminal.
    pub no_interactive: bool,
}

/// Runs `ocean new`: finds the workspace, settles the answers (asking on a terminal), and
/// expands the template; prints where the integration went and what to do next.
pub fn new_integration(request: NewRequest) -> anyhow::Result<ExitCode> {
    let workspace = match &request.workspace {
        Some(dir) => workspace_at(dir)?,
        None => {
            let cwd = std::env::current_dir().context("reading the current directory")?;
            find_workspace(&cwd)?
        }
    };
    let given = request.given;
    let interactive = !request.no_interactive
        && std::io::stdin().is_terminal()
        && std::io::stderr().is_terminal();
    let answers = if interactive {
        ask(&workspace, given)?
    } else {
        complete(&workspace, given)?
    };
    if std::env::var_os(CHILD_MARKER).is_none() {
        return generate_in_child(&workspace, &answers);
    }
    let dir = scaffold(&workspace, &answers)?;

    let shown = dir
        .strip_prefix(&workspace)
        .unwrap_or(&dir)
        .display()
        .to_string();
    println!("Created {shown} (package ocean-{}). Next:", answers.slug);
    println!("  cd {shown}");
    println!(
        "  make test   # a resync against the Port emulator and a fake {} API",
        answers.title
    );
    println!("  make run    # against Port: see README.md for the settings");
    Ok(ExitCode::SUCCESS)
}

/// The variables cargo-generate reads the user's name from (for its `authors` placeholder, which
/// this template does not use); it refuses to run when none is set, as in many containers.
const AUTHOR_VARIABLES: [&str; 6] = [
    "CARGO_NAME",
    "GIT_AUTHOR_NAME",
    "GIT_COMMITTER_NAME",
    "USER",
    "USERNAME",
    "NAME",
];

/// Set in the environment of the `ocean new` that expands the template (see
/// [`generate_in_child`]).
const CHILD_MARKER: &str = "OCEAN_NEW_EXPANDING";

/// Runs `ocean new` again, non-interactively with every answer, to expand the template; this
/// process only relays its output. Two things need the second process: cargo-generate prints
/// its own closing line with an abbreviated path ("New project created t/b/integrations/…"),
/// which is dropped here so that the closing message names the real folder; and it refuses to
/// run without a user name in its environment, as in many containers, so one is given (this
/// process's own environment is not changed: that would take `unsafe`).
fn generate_in_child(workspace: &Path, answers: &Answers) -> anyhow::Result<ExitCode> {
    use std::io::BufRead;
    let exe = std::env::current_exe().context("finding the ocean executable")?;
    let mut command = std::process::Command::new(&exe);
    command
        .arg("new")
        .arg(&answers.slug)
        .args(["--title", &answers.title])
        .args(["--description", &answers.description])
        .args(["--kind", &answers.kind])
        .arg(if answers.webhook {
            "--webhook"
        } else {
            "--no-webhook"
        })
        .arg("--no-interactive")
        .arg("--path")
        .arg(workspace)
        .env(CHILD_MARKER, "1")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    if AUTHOR_VARIABLES
        .iter()
        .all(|name| std::env::var_os(name).is_none())
    {
        command.env("CARGO_NAME", "ocean");
    }
    let mut child = command
        .spawn()
        .with_context(|| format!("running {}", exe.display()))?;
    if let Some(stderr) = child.stderr.take() {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if !line.contains("New project created") {
                eprintln!("{line}");
            }
        }
    }
    let status = child
        .wait()
        .with_context(|| format!("waiting for {}", exe.display()))?;
    let code = status.code().and_then(|code| u8::try_from(code).ok());
    Ok(ExitCode::from(code.unwrap_or(1)))
}

/// What the command line gave.
#[derive(Debug, Default, Clone)]
pub struct Given {
    /// The slug.
    pub slug: Option<String>,
    /// The display name.
    pub title: Option<String>,
    /// The one-line description.
    pub description: Option<String>,
    /// The first kind.
    pub kind: Option<String>,
    /// Whether to include a webhook processor.
    pub webhook: Option<bool>,
}

/// Everything the template needs, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answers {
    /// The slug: directory, integration type, package `ocean-<slug>`.
    pub slug: String,
    /// The third-party system's display name.
    pub title: String,
    /// A one-line description.
    pub description: String,
    /// The first kind.
    pub kind: String,
    /// Whether to include a webhook processor.
    pub webhook: bool,
}

/// Fills in defaults without asking; fails on a missing or invalid value.
pub fn complete(workspace: &Path, given: Given) -> anyhow::Result<Answers> {
    let Some(slug) = given.slug else {
        bail!("NAME is required when not prompting, e.g. `ocean new my-system --no-interactive`");
    };
    check_new_slug(workspace, &slug).map_err(anyhow::Error::msg)?;
    let title = given.title.unwrap_or_else(|| default_title(&slug));
    check_line("--title", &title).map_err(anyhow::Error::msg)?;
    let description = given
        .description
        .unwrap_or_else(|| default_description(&title));
    check_line("--description", &description).map_err(anyhow::Error::msg)?;
    let kind = given.kind.unwrap_or_else(|| DEFAULT_KIND.to_owned());
    check_kind(&kind).map_err(anyhow::Error::msg)?;
    Ok(Answers {
        slug,
        title: title.trim().to_owned(),
        description: description.trim().to_owned(),
        kind,
        webhook: given.webhook.unwrap_or(false),
    })
}

/// Asks on the terminal for every value the command line did not give (a given value is still
/// validated, and asked again if invalid).
fn ask(workspace: &Path, given: Given) -> anyhow::Result<Answers> {
    let slug = prompt(
        "Integration name (slug, e.g. my-system)",
        given.slug,
        None,
        &|s: &str| check_new_slug(workspace, s),
    )?;
    let title = prompt(
        "Display name of the third-party system",
        given.title,
        Some(default_title(&slug)),
        &|s: &str| check_line("the display name", s),
    )?;
    let description = prompt(
        "One-line description",
        given.description,
        Some(default_description(&title)),
        &|s: &str| check_line("the description", s),
    )?;
    let kind = prompt(
        "First kind to sync (what the API lists, e.g. project, incident)",
        given.kind,
        Some(DEFAULT_KIND.to_owned()),
        &check_kind,
    )?;
    let webhook = match given.webhook {
        Some(webhook) => webhook,
        None => dialoguer::Confirm::new()
            .with_prompt("Include a webhook processor for live events?")
            .default(false)
            .interact()
            .context("reading the webhook answer")?,
    };
    Ok(Answers {
        slug,
        title,
        description,
        kind,
        webhook,
    })
}

/// Asks for one value, with a default; `initial` (from the command line) is used without
/// asking when it passes `check`.
fn prompt(
    label: &str,
    initial: Option<String>,
    default: Option<String>,
    check: &dyn Fn(&str) -> Result<(), String>,
) -> anyhow::Result<String> {
    if let Some(value) = initial {
        match check(&value) {
            Ok(()) => return Ok(value),
            Err(problem) => eprintln!("{problem}"),
        }
    }
    let mut input = dialoguer::Input::<String>::new().with_prompt(label);
    if let Some(default) = default {
        input = input.default(default);
    }
    let value = input
        .validate_with(|value: &String| check(value.trim()))
        .interact_text()
        .with_context(|| format!("reading {label:?}"))?;
    Ok(value.trim().to_owned())
}

/// Expands the template into `<workspace>/integrations/<slug>` and returns that directory.
pub fn scaffold(workspace: &Path, answers: &Answers) -> anyhow::Result<PathBuf> {
    let template = workspace.join(TEMPLATE_DIR);
    let destination = workspace.join(INTEGRATIONS_DIR);
    let target = destination.join(&answers.slug);
    if target.exists() {
        bail!(
            "{} already exists; choose another name or remove it first",
            target.display()
        );
    }
    std::fs::create_dir_all(&destination)
        .with_context(|| format!("creating {}", destination.display()))?;

    let define = vec![
        format!("title={}", answers.title),
        format!("description={}", answers.description),
        format!("kind={}", answers.kind),
        format!("webhook={}", answers.webhook),
    ];
    let args = cargo_generate::GenerateArgs {
        template_path: cargo_generate::TemplatePath {
            path: Some(template.display().to_string()),
            ..Default::default()
        },
        name: Some(answers.slug.clone()),
        // The slug is already validated; cargo-generate must not re-case it.
        force: true,
        // Every placeholder has a value: never prompt from inside the library.
        silent: true,
        define,
        destination: Some(destination),
        vcs: Some(cargo_generate::Vcs::None),
        ..Default::default()
    };
    let dir = cargo_generate::generate(args)
        .with_context(|| format!("expanding {} into {}", template.display(), target.display()))?;
    Ok(dir)
}

/// The kind suggested when none is given.
const DEFAULT_KIND: &str = "project";

/// Checks a slug's form: what it must look like, with a suggestion when one can be derived.
pub fn check_slug(slug: &str) -> Result<(), String> {
    let well_formed = slug.len() >= 2
        && slug.len() <= MAX_SLUG_LEN
        && slug.starts_with(|c: char| c.is_ascii_lowercase())
        && slug.split('-').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if well_formed {
        return Ok(());
    }
    let mut message = format!(
        "invalid integration name {slug:?}: use 2 to {MAX_SLUG_LEN} lowercase letters, digits and \
         single hyphens, starting with a letter"
    );
    if let Some(suggestion) = suggest_slug(slug).filter(|s| s != slug) {
        message.push_str(&format!(" (try {suggestion:?})"));
    }
    Err(message)
}

/// Checks a slug for a new integration in `workspace`: its form, then that neither its directory
/// nor its package name is taken.
fn check_new_slug(workspace: &Path, slug: &str) -> Result<(), String> {
    check_slug(slug)?;
    let dir = workspace.join(INTEGRATIONS_DIR).join(slug);
    if dir.exists() {
        return Err(format!(
            "{INTEGRATIONS_DIR}/{slug} already exists; choose another name or remove it first"
        ));
    }
    if let Some(owner) = package_owner(workspace, &format!("ocean-{slug}")) {
        return Err(format!(
            "the package name ocean-{slug} is taken by {}; choose another name",
            owner.display()
        ));
    }
    Ok(())
}

/// The workspace package directory (relative) whose manifest names `package`, if any.
fn package_owner(workspace: &Path, package: &str) -> Option<PathBuf> {
    let line = format!("name = \"{package}\"");
    ["crates", INTEGRATIONS_DIR, "."]
        .iter()
        .flat_map(|parent| {
            let children = std::fs::read_dir(workspace.join(parent))
                .into_iter()
                .flatten();
            children.flatten().map(|entry| entry.path())
        })
        .find(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|manifest| manifest.lines().any(|l| l.trim() == line))
        })
        .map(|dir| dir.strip_prefix(workspace).unwrap_or(&dir).to_path_buf())
}

/// A slug derived from free text (`My System` → `my-system`), if that gives a valid one.
pub fn suggest_slug(text: &str) -> Option<String> {
    let lowered = text.to_lowercase();
    let words: Vec<&str> = lowered
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .filter(|w| !w.is_empty())
        .collect();
    let slug = words.join("-");
    let valid = slug.len() >= 2
        && slug.len() <= MAX_SLUG_LEN
        && slug.starts_with(|c: char| c.is_ascii_lowercase());
    valid.then_some(slug)
}

/// The display name derived from a slug: `my-system` → `My System`.
pub fn default_title(slug: &str) -> String {
    slug.split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn default_description(title: &str) -> String {
    format!("{title} integration for Port")
}

/// Checks free text that lands in TOML and YAML strings: one line, no `"` or `\`.
fn check_line(what: &str, text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err(format!("{what} is empty"));
    }
    if let Some(c) = text.chars().find(|c| matches!(c, '"' | '\\' | '\n' | '\r')) {
        return Err(format!(
            "{what} {text:?} contains {c:?}: use one line without quotes or backslashes"
        ));
    }
    Ok(())
}

/// Checks a kind name: lowercase words joined by `-` or `_` (`project`, `pull-request`).
pub fn check_kind(kind: &str) -> Result<(), String> {
    let well_formed = kind.starts_with(|c: char| c.is_ascii_lowercase())
        && kind.split(['-', '_']).all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "invalid kind {kind:?}: use lowercase letters and digits, words joined by - or _, \
             starting with a letter (e.g. project, pull-request)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(slug: &str, expected: Result<(), &str>) {
        assert_eq!(
            check_slug(slug),
            expected.map_err(str::to_owned),
            "slug {slug:?}"
        );
    }

    #[test]
    fn slugs_are_lowercase_words_joined_by_single_hyphens() {
        check("my-system", Ok(()));
        check("s3", Ok(()));
        check("azure-devops-v2", Ok(()));
        check(
            "My System",
            Err(
                "invalid integration name \"My System\": use 2 to 40 lowercase letters, digits \
                 and single hyphens, starting with a letter (try \"my-system\")",
            ),
        );
        check(
            "my_system",
            Err(
                "invalid integration name \"my_system\": use 2 to 40 lowercase letters, digits \
                 and single hyphens, starting with a letter (try \"my-system\")",
            ),
        );
        check(
            "2fa",
            Err(
                "invalid integration name \"2fa\": use 2 to 40 lowercase letters, digits and \
                 single hyphens, starting with a letter",
            ),
        );
        check(
            "-",
            Err(
                "invalid integration name \"-\": use 2 to 40 lowercase letters, digits and \
                 single hyphens, starting with a letter",
            ),
        );
        assert!(check_slug("a--b").unwrap_err().contains("(try \"a-b\")"));
        assert!(check_slug("trailing-").is_err());
        assert!(check_slug("x").is_err());
        assert!(check_slug(&"a".repeat(41)).is_err());
    }

    #[test]
    fn titles_and_suggestions_derive_from_names() {
        assert_eq!(default_title("my-system"), "My System");
        assert_eq!(default_title("s3"), "S3");
        assert_eq!(
            suggest_slug("Acme Tickets (EU)").as_deref(),
            Some("acme-tickets-eu")
        );
        assert_eq!(suggest_slug("日本"), None);
    }

    #[test]
    fn kinds_and_free_text_are_checked() {
        assert_eq!(check_kind("pull-request"), Ok(()));
        assert_eq!(check_kind("pull_request"), Ok(()));
        assert!(check_kind("Project").is_err());
        assert!(check_kind("a--b").is_err());
        assert_eq!(check_line("the title", "Acme"), Ok(()));
        assert_eq!(
            check_line("the title", "say \"hi\""),
            Err("the title \"say \\\"hi\\\"\" contains '\"': use one line without quotes or backslashes".to_owned())
        );
        assert_eq!(
            check_line("the title", "  "),
            Err("the title is empty".to_owned())
        );
    }
}
