//! `cargo xtask bench`'s GitHub part: the GitHub integration resyncing an organization of the
//! fixture GitHub (`github-fixture`, a separate process) into a fresh Port emulator, twice.
//!
//! The organization: 2,000 repositories with 20 open pull requests, 20 issues and 5 branches
//! each (92,000 entities with the organization). Reported per resync: wall time, requests made,
//! the quota GitHub would count (the fixture counts like GitHub: a `304 Not Modified` is free),
//! entities per second, and the integration's peak RSS. The first resync starts with an empty
//! conditional-request cache; the second resyncs the unchanged organization with it, so almost
//! every request is answered 304. Targets: peak RSS under 40 MiB (bounded by the page size, not
//! the organization), and the second resync under 10 % of the first one's quota.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::path::{Path, PathBuf};

use crate::cargo::{self, Build};
use crate::emulator::{self, Emulator};
use crate::fixture::FixtureProcess;
use crate::measure::Measurement;
use crate::run::{self, RunSpec};
use crate::workspace::Workspace;

/// The peak RSS target, MiB.
pub const TARGET_PEAK_RSS_MIB: f64 = 40.0;
/// The second resync's quota target, as a share of the first's.
pub const TARGET_QUOTA_SHARE: f64 = 0.10;
/// The token the fixture accepts in the benchmark.
const TOKEN: &str = "ghp_xtask_bench";

/// The organization to resync.
#[derive(Debug, Clone)]
pub struct GithubBenchOptions {
    /// Repositories.
    pub repos: u64,
    /// Open pull requests per repository.
    pub pull_requests: u64,
    /// Issues per repository.
    pub issues: u64,
    /// Branches per repository.
    pub branches: u64,
    /// Benchmark this `ocean-github` executable instead of a release build.
    pub binary: Option<PathBuf>,
}

impl Default for GithubBenchOptions {
    fn default() -> Self {
        GithubBenchOptions {
            repos: 2000,
            pull_requests: 20,
            issues: 20,
            branches: 5,
            binary: None,
        }
    }
}

impl GithubBenchOptions {
    /// The entities one resync writes: the organization, its repositories and their children.
    pub fn entities(&self) -> u64 {
        1 + self.repos * (1 + self.pull_requests + self.issues + self.branches)
    }
}

/// The figures of one resync.
#[derive(Debug, Clone)]
pub struct GithubRun {
    /// `first` or `second`.
    pub label: &'static str,
    /// Requests the fixture received.
    pub requests: u64,
    /// Of those, what GitHub would count against the quota.
    pub quota: u64,
    /// Answered 304 Not Modified.
    pub not_modified: u64,
    /// Entities expected in Port.
    pub entities: u64,
    /// The integration process's figures.
    pub run: Measurement,
}

impl GithubRun {
    /// Entities per second of wall time.
    pub fn entities_per_second(&self) -> f64 {
        self.entities as f64 / self.run.wall.as_secs_f64().max(1e-9)
    }
}

/// Runs the GitHub benchmark.
pub fn bench(ws: &Workspace, options: &GithubBenchOptions) -> Result<Vec<GithubRun>> {
    let mut packages = vec!["port-emulator", "github-fixture"];
    if options.binary.is_none() {
        packages.push("ocean-github");
    }
    println!("\nBuilding {} (release)…", packages.join(", "));
    let built = cargo::build(ws, &Build::release(&packages))?;
    let binary = match &options.binary {
        Some(b) => b.clone(),
        None => built.executable("ocean-github")?,
    };
    let scratch = ws.scratch("bench-github")?;
    let resources = scratch.join("resources");
    write_resources(ws, &resources)?;
    let cache = scratch.join("http-cache");
    let _ = std::fs::remove_dir_all(&cache);
    let emulator = Emulator::start(
        &built.executable("port-emulator")?,
        &scratch.join("port-emulator.log"),
    )?;
    let fixture = FixtureProcess::start(
        &built.executable("github-fixture")?,
        &[
            "--port",
            "0",
            "--token",
            TOKEN,
            "--org",
            "acme",
            "--repos",
            &options.repos.to_string(),
            "--prs",
            &options.pull_requests.to_string(),
            "--closed-prs",
            "0",
            "--issues",
            &options.issues.to_string(),
            "--branches",
            &options.branches.to_string(),
        ],
        "the GitHub fixture",
        &scratch.join("github-fixture.log"),
    )?;
    println!(
        "GitHub resync: organization `acme` of {} repositories × ({} pull requests, {} issues, {} branches) = {} entities",
        options.repos,
        options.pull_requests,
        options.issues,
        options.branches,
        options.entities()
    );
    let mut runs = Vec::new();
    for label in ["first", "second"] {
        let identifier = "github-bench";
        let mut env = emulator.ocean_env();
        env.extend(run::once_env(identifier)?);
        env.extend(
            [
                ("OCEAN__RESOURCES_PATH", resources.display().to_string()),
                ("OCEAN__INITIALIZE_PORT_RESOURCES", "true".into()),
                ("OCEAN__INTEGRATION__TYPE", "github-ocean".into()),
                ("OCEAN__INTEGRATION__CONFIG__GITHUB_TOKEN", TOKEN.into()),
                (
                    "OCEAN__INTEGRATION__CONFIG__GITHUB_HOST",
                    fixture.url.clone(),
                ),
                (
                    "OCEAN__INTEGRATION__CONFIG__GITHUB_ORGANIZATION",
                    "acme".into(),
                ),
                (
                    "OCEAN__INTEGRATION__CONFIG__HTTP_CACHE_DIR",
                    cache.display().to_string(),
                ),
                ("APPLICATION__LOG_LEVEL", "WARNING".into()),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
        let log = scratch.join(format!("ocean-github-{label}.log"));
        println!("\n{label} resync…");
        let run = run::run(&RunSpec {
            binary: binary.clone(),
            runner: None,
            cwd: ws.integration_dir("github"),
            env,
            log: log.clone(),
            echo: false,
            measurer: None,
            args: Vec::new(),
        })?;
        let counters = fixture.take_counters()?;
        let status = emulator.last_resync_status(identifier)?;
        let stored = [
            "githubRepository",
            "githubPullRequest",
            "githubIssue",
            "githubBranch",
        ]
        .iter()
        .map(|b| emulator.count(b))
        .sum::<Result<u64>>()?
            + emulator.count("githubOrganization")?;
        if !run.success() || status.as_deref() != Some("completed") || stored != options.entities()
        {
            bail!(
                "the {label} GitHub resync failed: exit {:?}, resync state {status:?}, {stored} of {} entities; last lines of {}:\n{}",
                run.code,
                options.entities(),
                ws.display(&log),
                emulator::tail(&log, 15)
            );
        }
        let number = |key: &str| counters[key].as_u64().unwrap_or(0);
        let result = GithubRun {
            label,
            requests: number("requests"),
            quota: number("quota"),
            not_modified: number("not_modified"),
            entities: options.entities(),
            run,
        };
        println!(
            "  {:.2} s, {} requests ({} counted against the quota, {} answered 304), {:.0} entities/s, peak RSS {:.1} MiB",
            result.run.wall.as_secs_f64(),
            result.requests,
            result.quota,
            result.not_modified,
            result.entities_per_second(),
            result.run.max_rss_mib()
        );
        runs.push(result);
    }
    drop(fixture.child);
    emulator.stop()?;
    print_table(&runs);
    Ok(runs)
}

/// The benchmark's blueprints and mapping: the integration's defaults (organization,
/// repository without included files, pull request) plus issues and branches.
fn write_resources(ws: &Workspace, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let source = ws.integration_dir("github").join(".port/resources");
    let path = source.join("blueprints.json");
    let mut blueprints: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?,
    )
    .with_context(|| format!("parsing {}", path.display()))?;
    for (identifier, title, properties) in [
        (
            "githubIssue",
            "Issue",
            serde_json::json!({"state": {"type": "string"}, "link": {"type": "string"}}),
        ),
        (
            "githubBranch",
            "Branch",
            serde_json::json!({"isDefault": {"type": "boolean"}, "protected": {"type": "boolean"}}),
        ),
    ] {
        blueprints.push(serde_json::json!({
            "identifier": identifier, "title": title,
            "schema": {"properties": properties, "required": []},
            "relations": {"repository": {"target": "githubRepository", "required": false, "many": false}},
        }));
    }
    std::fs::write(
        dir.join("blueprints.json"),
        serde_json::to_string_pretty(&blueprints)?,
    )?;
    let path = source.join("port-app-config.yml");
    let mut mapping: Value = serde_yaml::from_str(
        &std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?,
    )
    .with_context(|| format!("parsing {}", path.display()))?;
    let resources = mapping["resources"]
        .as_array_mut()
        .with_context(|| format!("{} has no resources", path.display()))?;
    for resource in resources.iter_mut() {
        if resource["kind"] == "repository" {
            if let Some(selector) = resource["selector"].as_object_mut() {
                selector.remove("includedFiles");
            }
        }
    }
    resources.push(serde_json::json!({
        "kind": "issue", "selector": {"query": "true"},
        "port": {"entity": {"mappings": {"identifier": ".__repository + \"-\" + (.number|tostring)", "title": ".title",
            "blueprint": "\"githubIssue\"", "properties": {"state": ".state", "link": ".html_url"},
            "relations": {"repository": ".__repository"}}}}
    }));
    resources.push(serde_json::json!({
        "kind": "branch", "selector": {"query": "true"},
        "port": {"entity": {"mappings": {"identifier": ".__repository + \"_\" + .name", "title": ".name",
            "blueprint": "\"githubBranch\"", "properties": {"isDefault": ".__is_default_branch", "protected": ".protected"},
            "relations": {"repository": ".__repository"}}}}
    }));
    std::fs::write(
        dir.join("port-app-config.json"),
        serde_json::to_string_pretty(&mapping)?,
    )?;
    Ok(())
}

fn print_table(runs: &[GithubRun]) {
    println!();
    println!("GitHub resync (fixture GitHub → ocean-github → Port emulator):");
    println!(
        "  {:>7} {:>9} {:>9} {:>9} {:>8} {:>9} {:>11} {:>10}",
        "resync", "wall s", "requests", "quota", "304s", "entities", "entities/s", "peak RSS"
    );
    for run in runs {
        println!(
            "  {:>7} {:>9.2} {:>9} {:>9} {:>8} {:>9} {:>11.0} {:>6.1} MiB",
            run.label,
            run.run.wall.as_secs_f64(),
            run.requests,
            run.quota,
            run.not_modified,
            run.entities,
            run.entities_per_second(),
            run.run.max_rss_mib()
        );
    }
    if let [first, second] = runs {
        let share = second.quota as f64 / (first.quota.max(1)) as f64;
        let peak = runs.iter().map(|r| r.run.max_rss_mib()).fold(0.0, f64::max);
        println!(
            "  targets: peak RSS < {TARGET_PEAK_RSS_MIB:.0} MiB ({}), second resync's quota < {:.0} % of the first's: {:.1} % ({})",
            if peak < TARGET_PEAK_RSS_MIB {
                "met"
            } else {
                "MISSED"
            },
            TARGET_QUOTA_SHARE * 100.0,
            share * 100.0,
            if share < TARGET_QUOTA_SHARE {
                "met"
            } else {
                "MISSED"
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_organization_is_the_issue_s() {
        let options = GithubBenchOptions::default();
        assert_eq!(options.entities(), 1 + 2000 * 46);
    }
}
