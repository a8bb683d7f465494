//! An integration folder as the CLI sees it: its `.port/spec.yaml`, its package (when it has a
//! `Cargo.toml`), and the Ocean workspace around it; and the integrations of a workspace
//! (`ocean list`).

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};

use crate::workspace::INTEGRATIONS_DIR;

/// Whether an integration's binary has the KAFKA event listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kafka {
    /// Built in by default (its `kafka` feature is a default feature).
    Default,
    /// Available with `--features kafka` (not in a default build).
    OptIn,
    /// Not available (no `kafka` feature).
    No,
}

impl Kafka {
    /// How `ocean list` shows it.
    pub fn label(self) -> &'static str {
        match self {
            Kafka::Default => "yes",
            Kafka::OptIn => "opt-in (--features kafka)",
            Kafka::No => "no",
        }
    }
}

/// An integration folder.
#[derive(Debug, Clone)]
pub struct Integration {
    /// The folder (canonical).
    pub dir: PathBuf,
    /// Its package name (`ocean-fake`), when the folder has a `Cargo.toml`.
    pub package: Option<String>,
    /// Its package version, when the folder has a `Cargo.toml`.
    pub version: Option<String>,
    /// Whether its binary has the KAFKA listener.
    pub kafka: Kafka,
    /// The kinds its spec declares (`features[].resources[].kind`), in order.
    pub kinds: Vec<String>,
    /// The spec's one-line description, if any.
    pub description: Option<String>,
    workspace: Option<PathBuf>,
}

impl Integration {
    /// Reads the integration in `dir`; fails with one line when `dir` has no `.port/spec.yaml`.
    pub fn open(dir: &Path) -> anyhow::Result<Integration> {
        let spec_path = dir.join(".port").join("spec.yaml");
        if !spec_path.is_file() {
            bail!(
                "{} is not an Ocean integration: it has no .port/spec.yaml",
                dir.display()
            );
        }
        let dir = dir
            .canonicalize()
            .with_context(|| format!("opening {}", dir.display()))?;
        let spec_text = std::fs::read_to_string(&spec_path)
            .with_context(|| format!("reading {}", spec_path.display()))?;
        let spec: serde_yaml::Value = serde_yaml::from_str(&spec_text)
            .with_context(|| format!("parsing {}", spec_path.display()))?;
        let kinds = spec["features"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|feature| feature["resources"].as_sequence().into_iter().flatten())
            .filter_map(|resource| resource["kind"].as_str().map(str::to_owned))
            .collect();
        let description = spec["description"].as_str().map(str::to_owned);

        let manifest_path = dir.join("Cargo.toml");
        let (package, version, kafka) = if manifest_path.is_file() {
            let text = std::fs::read_to_string(&manifest_path)
                .with_context(|| format!("reading {}", manifest_path.display()))?;
            let manifest: toml::Table = text
                .parse()
                .with_context(|| format!("parsing {}", manifest_path.display()))?;
            let package = &manifest.get("package");
            let field = |key: &str| {
                package
                    .and_then(|p| p.get(key))
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            };
            let features = manifest.get("features");
            let kafka = match features {
                Some(f) if f.get("kafka").is_some() => {
                    let default = f
                        .get("default")
                        .and_then(|d| d.as_array())
                        .is_some_and(|d| d.iter().any(|x| x.as_str() == Some("kafka")));
                    if default {
                        Kafka::Default
                    } else {
                        Kafka::OptIn
                    }
                }
                _ => Kafka::No,
            };
            let version = match package.and_then(|p| p.get("version")) {
                Some(toml::Value::String(v)) => Some(v.clone()),
                // `version.workspace = true`: the workspace's.
                Some(_) => workspace_version(&dir),
                None => None,
            };
            (field("name"), version, kafka)
        } else {
            (None, None, Kafka::No)
        };
        let workspace = package
            .as_ref()
            .and_then(|_| dir.ancestors().skip(1).find(|d| is_cargo_workspace(d)))
            .map(Path::to_path_buf);
        Ok(Integration {
            dir,
            package,
            version,
            kafka,
            kinds,
            description,
            workspace,
        })
    }

    /// The Cargo workspace the integration's package belongs to, if any.
    pub fn workspace(&self) -> Option<&Path> {
        self.workspace.as_deref()
    }

    /// Its name: the package name without `ocean-`, else the folder's name.
    pub fn name(&self) -> String {
        match &self.package {
            Some(package) => package.strip_prefix("ocean-").unwrap_or(package).to_owned(),
            None => self
                .dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    }

    /// Its executable's name, `ocean-NAME`.
    pub fn binary_name(&self) -> String {
        format!("ocean-{}", self.name())
    }
}

fn is_cargo_workspace(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml"))
        .is_ok_and(|text| text.lines().any(|l| l.trim() == "[workspace]"))
}

fn workspace_version(dir: &Path) -> Option<String> {
    let root = dir.ancestors().skip(1).find(|d| is_cargo_workspace(d))?;
    let text = std::fs::read_to_string(root.join("Cargo.toml")).ok()?;
    let manifest: toml::Table = text.parse().ok()?;
    manifest
        .get("workspace")?
        .get("package")?
        .get("version")?
        .as_str()
        .map(str::to_owned)
}

/// The integrations of the workspace at `root` (`integrations/*` with a `.port/spec.yaml`), by
/// name.
pub fn list(root: &Path) -> anyhow::Result<Vec<Integration>> {
    let parent = root.join(INTEGRATIONS_DIR);
    let entries =
        std::fs::read_dir(&parent).with_context(|| format!("reading {}", parent.display()))?;
    let mut found = Vec::new();
    for entry in entries {
        let dir = entry
            .with_context(|| format!("reading {}", parent.display()))?
            .path();
        if dir.join(".port").join("spec.yaml").is_file() {
            found.push(Integration::open(&dir)?);
        }
    }
    found.sort_by_key(Integration::name);
    Ok(found)
}

/// `ocean list`'s table: one line per integration (name, version, Kafka, kinds).
pub fn table(integrations: &[Integration]) -> String {
    let rows: Vec<[String; 4]> = integrations
        .iter()
        .map(|i| {
            [
                i.name(),
                i.version.clone().unwrap_or_else(|| "-".to_owned()),
                i.kafka.label().to_owned(),
                i.kinds.join(", "),
            ]
        })
        .collect();
    let header = ["NAME", "VERSION", "KAFKA", "KINDS"].map(str::to_owned);
    let mut widths = [0usize; 3];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        out.push_str(&format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}\n",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(manifest: Option<&str>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".port")).unwrap();
        std::fs::write(
            dir.path().join(".port/spec.yaml"),
            "description: Acme things\nfeatures:\n  - type: exporter\n    resources:\n      - kind: project\n      - kind: issue\n",
        )
        .unwrap();
        if let Some(manifest) = manifest {
            std::fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
        }
        dir
    }

    #[test]
    fn reads_the_spec_and_the_package() {
        let dir = folder(Some(
            "[package]\nname = \"ocean-acme\"\nversion = \"1.2.3\"\n[features]\ndefault = [\"kafka\"]\nkafka = []\n",
        ));
        let acme = Integration::open(dir.path()).unwrap();
        assert_eq!(acme.name(), "acme");
        assert_eq!(acme.binary_name(), "ocean-acme");
        assert_eq!(acme.version.as_deref(), Some("1.2.3"));
        assert_eq!(acme.kafka, Kafka::Default);
        assert_eq!(acme.kinds, ["project", "issue"]);
        assert_eq!(acme.description.as_deref(), Some("Acme things"));
        let table = table(&[acme]);
        assert_eq!(
            table,
            "NAME  VERSION  KAFKA  KINDS\nacme  1.2.3    yes    project, issue\n"
        );
    }

    #[test]
    fn a_folder_without_a_spec_is_not_an_integration() {
        let dir = tempfile::tempdir().unwrap();
        let error = Integration::open(dir.path()).unwrap_err().to_string();
        assert!(error.ends_with("is not an Ocean integration: it has no .port/spec.yaml"));
        assert!(!error.contains('\n'));
    }

    #[test]
    fn without_a_manifest_the_folder_names_it() {
        let dir = folder(None);
        let bare = Integration::open(dir.path()).unwrap();
        assert!(bare.package.is_none() && bare.workspace().is_none());
        assert_eq!(bare.kafka, Kafka::No);
        assert!(bare.binary_name().starts_with("ocean-"));
    }
}
