//! Releases: what a tag publishes (`cargo xtask release TAG`, `make release`), checked against
//! the versions and changelogs before anything is built.
//!
//! A tag `NAME-vX.Y.Z` releases one integration, whose `Cargo.toml` must say version `X.Y.Z`; a
//! tag `vX.Y.Z` is a framework release (the SDK, the workspace version) and releases every
//! integration at its own version, rebuilt on it. Either way each released integration's
//! `CHANGELOG.md` must have a section for its version: that section is the release's notes.
//!
//! The files land in `target/ship/<tag>/`: per integration and architecture the static binary
//! `ocean-NAME-VERSION-<triple>`, per integration a CycloneDX SBOM `ocean-NAME-VERSION.cdx.json`
//! (cargo-cyclonedx, of the musl build's dependency graph), `SHA256SUMS` over all of them
//! (`sha256sum -c SHA256SUMS` checks a download) and `RELEASE_NOTES.md`. The GitHub workflow
//! attaches them to the release; `release-images` pushes the images.

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

use crate::docker::{self, ImageOptions};
use crate::static_build::{self, Arch, StaticOptions};
use crate::tools;
use crate::workspace::Workspace;

/// One integration a tag releases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    /// Its folder name under `integrations/`.
    pub integration: String,
    /// Its version (from its `Cargo.toml`).
    pub version: String,
    /// Its CHANGELOG section for that version, heading included.
    pub notes: String,
}

/// What a tag releases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasePlan {
    /// The tag.
    pub tag: String,
    /// Whether it is a framework tag (`vX.Y.Z`).
    pub framework: bool,
    /// The integrations, sorted by name.
    pub integrations: Vec<Released>,
}

/// What a tag names: an integration (or none, for a framework tag) and a version.
pub fn parse_tag(tag: &str) -> Result<(Option<String>, String)> {
    let (name, version) = match tag.strip_prefix('v') {
        Some(version) if version.starts_with(|c: char| c.is_ascii_digit()) => (None, version),
        _ => {
            let (name, version) = tag.rsplit_once("-v").with_context(|| {
                format!("tag `{tag}` is neither NAME-vX.Y.Z (an integration) nor vX.Y.Z (the SDK)")
            })?;
            if name.is_empty() {
                bail!("tag `{tag}` names no integration before -v");
            }
            (Some(name.to_owned()), version)
        }
    };
    let core = version.split(['-', '+']).next().unwrap_or(version);
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()))
    {
        bail!("tag `{tag}`: `{version}` is not a version X.Y.Z");
    }
    Ok((name, version.to_owned()))
}

/// The section of a Keep-a-Changelog file for `version` (`## 1.2.3 - date` or `## [1.2.3]`),
/// heading included, trailing blank lines trimmed.
pub fn changelog_section(changelog: &str, version: &str) -> Option<String> {
    let mut lines = changelog.lines();
    let heading = lines.by_ref().find(|line| {
        line.strip_prefix("## ").is_some_and(|rest| {
            let first = rest.split_whitespace().next().unwrap_or("");
            first.trim_start_matches('[').trim_end_matches(']') == version
        })
    })?;
    let mut section = vec![heading];
    section.extend(lines.take_while(|line| !line.starts_with("## ")));
    Some(section.join("\n").trim_end().to_owned())
}

/// What `tag` releases, or why it cannot be released.
pub fn plan(ws: &Workspace, tag: &str) -> Result<ReleasePlan> {
    let (name, version) = parse_tag(tag)?;
    let framework = name.is_none();
    let names = match &name {
        Some(name) => {
            if !ws.integration_dir(name).join("Cargo.toml").is_file() {
                bail!("tag `{tag}` names `{name}`, but there is no integrations/{name}");
            }
            vec![name.clone()]
        }
        None => {
            let sdk = static_build::workspace_version(ws)?;
            if sdk != version {
                bail!(
                    "tag `{tag}` is a framework tag for {version}, but the workspace (SDK) \
                     version in Cargo.toml is {sdk}"
                );
            }
            ws.integrations()?
                .into_iter()
                .filter(|n| ws.integration_dir(n).join("Cargo.toml").is_file())
                .collect()
        }
    };
    let mut integrations = Vec::new();
    for integration in names {
        let own = docker::version(ws, &integration)?;
        if !framework && own != version {
            bail!(
                "tag `{tag}` is for version {version}, but integrations/{integration}/Cargo.toml \
                 says {own}"
            );
        }
        let path = ws.integration_dir(&integration).join("CHANGELOG.md");
        let changelog = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", ws.display(&path)))?;
        let notes = changelog_section(&changelog, &own).with_context(|| {
            format!(
                "{} has no section for {own} (`## {own} - YYYY-MM-DD`): every released version \
                 has its entry",
                ws.display(&path)
            )
        })?;
        integrations.push(Released {
            integration,
            version: own,
            notes,
        });
    }
    Ok(ReleasePlan {
        tag: tag.to_owned(),
        framework,
        integrations,
    })
}

/// `target/ship/<tag>`.
pub fn release_dir(ws: &Workspace, tag: &str) -> PathBuf {
    ws.root().join("target").join("ship").join(tag)
}

/// Builds the release files of `tag` into [`release_dir`] and returns that folder.
pub fn build_release(ws: &Workspace, tag: &str) -> Result<PathBuf> {
    let plan = plan(ws, tag)?;
    let out = release_dir(ws, tag);
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("clearing {}", out.display()))?;
    }
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut files = Vec::new();
    for released in &plan.integrations {
        let package = Workspace::package(&released.integration);
        let binaries = static_build::build_static(
            ws,
            &StaticOptions::dist(&released.integration, &Arch::ALL),
        )?;
        for binary in binaries {
            let name = format!("{package}-{}-{}", released.version, binary.arch.triple());
            std::fs::copy(&binary.path, out.join(&name))
                .with_context(|| format!("copying {} to {}", binary.path.display(), name))?;
            files.push(name);
        }
        let sbom = format!("{package}-{}.cdx.json", released.version);
        write_sbom(ws, &released.integration, &out.join(&sbom))?;
        files.push(sbom);
    }
    let mut sums = String::new();
    for file in &files {
        sums.push_str(&format!("{}  {file}\n", sha256_file(&out.join(file))?));
    }
    std::fs::write(out.join("SHA256SUMS"), &sums).context("writing SHA256SUMS")?;
    std::fs::write(out.join("RELEASE_NOTES.md"), release_notes(&plan))
        .context("writing RELEASE_NOTES.md")?;
    println!("\nRelease {tag} in {}:", ws.display(&out));
    print!("{sums}");
    println!("(and RELEASE_NOTES.md)");
    Ok(out)
}

/// The notes of a release: each integration's CHANGELOG section.
pub fn release_notes(plan: &ReleasePlan) -> String {
    let mut notes = String::new();
    if plan.framework {
        notes.push_str(&format!(
            "Ocean SDK {}: every integration rebuilt on it.\n\n",
            plan.tag.trim_start_matches('v')
        ));
    }
    for released in &plan.integrations {
        if plan.framework {
            notes.push_str(&format!(
                "# {} {}\n\n",
                Workspace::package(&released.integration),
                released.version
            ));
        }
        notes.push_str(&released.notes);
        notes.push_str("\n\n");
    }
    notes.push_str(
        "Static musl binaries for x86_64 and aarch64; check a download with \
         `sha256sum -c SHA256SUMS --ignore-missing`. The `.cdx.json` files are CycloneDX SBOMs.\n",
    );
    notes
}

/// The hex SHA-256 of a file.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).with_context(|| format!("reading {}", path.display()))?;
    Ok(hex::encode(hasher.finalize()))
}

/// The CycloneDX SBOM (JSON) of an integration's musl build, by cargo-cyclonedx.
fn write_sbom(ws: &Workspace, integration: &str, dest: &Path) -> Result<()> {
    let cyclonedx = tools::cargo_cyclonedx(ws)?;
    let manifest = ws.integration_dir(integration).join("Cargo.toml");
    let name = "ocean-sbom";
    let status = std::process::Command::new(&cyclonedx)
        .current_dir(ws.root())
        .arg("cyclonedx")
        .arg("--manifest-path")
        .arg(&manifest)
        .args([
            "--format",
            "json",
            "--target",
            Arch::X86_64.triple(),
            "--override-filename",
            name,
        ])
        .status()
        .context("running cargo-cyclonedx")?;
    if !status.success() {
        bail!("cargo cyclonedx for {integration} failed ({status})");
    }
    let written = ws.integration_dir(integration).join(format!("{name}.json"));
    std::fs::rename(&written, dest).with_context(|| {
        format!(
            "moving {} to {} (cargo-cyclonedx wrote no SBOM there?)",
            written.display(),
            dest.display()
        )
    })?;
    Ok(())
}

/// Pushes the multi-arch images of `tag`'s integrations to `repository` (version and latest).
pub fn release_images(ws: &Workspace, tag: &str, repository: &str) -> Result<()> {
    let plan = plan(ws, tag)?;
    for released in &plan.integrations {
        docker::build_image(
            ws,
            &ImageOptions {
                integration: released.integration.clone(),
                arches: Arch::ALL.to_vec(),
                features: Vec::new(),
                repository: Some(repository.to_owned()),
                push: true,
            },
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_name_an_integration_or_the_sdk_and_a_version() {
        assert_eq!(
            parse_tag("fake-v0.1.0").unwrap(),
            (Some("fake".into()), "0.1.0".into())
        );
        assert_eq!(
            parse_tag("my-system-v1.20.3").unwrap(),
            (Some("my-system".into()), "1.20.3".into())
        );
        assert_eq!(parse_tag("v0.2.0").unwrap(), (None, "0.2.0".into()));
        assert_eq!(
            parse_tag("fake-v1.0.0-rc.1").unwrap(),
            (Some("fake".into()), "1.0.0-rc.1".into())
        );
        for bad in ["fake", "fake-v1.0", "-v1.0.0", "v1", "vnext", "fake-vx.y.z"] {
            assert!(parse_tag(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn changelog_sections_are_found_by_version() {
        let changelog = "# Changelog\n\nIntro.\n\n## [Unreleased]\n\n## 0.2.0 - 2026-12-01\n\n### Fixed\n- A thing.\n\n## [0.1.0]\n\n### Added\n- Everything.\n";
        assert_eq!(
            changelog_section(changelog, "0.2.0").unwrap(),
            "## 0.2.0 - 2026-12-01\n\n### Fixed\n- A thing."
        );
        assert_eq!(
            changelog_section(changelog, "0.1.0").unwrap(),
            "## [0.1.0]\n\n### Added\n- Everything."
        );
        assert_eq!(changelog_section(changelog, "0.3.0"), None);
        assert_eq!(changelog_section(changelog, "0.2"), None);
    }

    #[test]
    fn plans_check_versions_and_changelogs() {
        let ws = Workspace::locate();
        let version = docker::version(&ws, "fake").unwrap();
        let plan = plan(&ws, &format!("fake-v{version}")).unwrap();
        assert!(!plan.framework);
        assert_eq!(plan.integrations.len(), 1);
        assert_eq!(plan.integrations[0].version, version);
        assert!(plan.integrations[0].notes.contains(&version));

        let err = super::plan(&ws, "fake-v99.0.0").unwrap_err().to_string();
        assert!(err.contains("Cargo.toml says"), "{err}");
        let err = super::plan(&ws, "nosuch-v1.0.0").unwrap_err().to_string();
        assert!(err.contains("no integrations/nosuch"), "{err}");

        let sdk = static_build::workspace_version(&ws).unwrap();
        let framework = super::plan(&ws, &format!("v{sdk}")).unwrap();
        assert!(framework.framework);
        assert_eq!(
            framework
                .integrations
                .iter()
                .map(|r| r.integration.as_str())
                .collect::<Vec<_>>(),
            ws.integrations().unwrap()
        );
        let notes = release_notes(&framework);
        assert!(notes.contains("# ocean-fake "), "{notes}");
        assert!(super::plan(&ws, "v99.0.0").is_err());
    }

    #[test]
    fn every_integration_has_a_changelog_entry_for_its_version() {
        let ws = Workspace::locate();
        for name in ws.integrations().unwrap() {
            let version = docker::version(&ws, &name).unwrap();
            let plan = plan(&ws, &format!("{name}-v{version}"));
            assert!(plan.is_ok(), "{name}: {:#}", plan.unwrap_err());
        }
    }

    #[test]
    fn checksums_are_sha256_hex() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x");
        std::fs::write(&file, "abc").unwrap();
        assert_eq!(
            sha256_file(&file).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
