//! Container images: what `make image` builds, and a model of what an image would contain, read
//! from the Dockerfiles (this machine has no Docker engine, so tests check the model instead).
//!
//! Every integration image is built from two shared base images defined in `docker/`
//! ([`BASE_IMAGES`]): a builder (the Rust toolchain with the musl target) and a runtime
//! (distroless static: CA certificates, a non-root user, nothing else). An integration's own
//! `Dockerfile` is a few lines on top: build the static binary, copy it and the `.port/` folder
//! into the runtime, set the entrypoint.
//!
//! The parser covers the Dockerfile syntax these files use — instructions, line continuations,
//! comments, `ARG` substitution in `FROM`, `--flag=value` options, exec-form JSON arrays — not
//! heredocs or a changed escape character.

use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::workspace::Workspace;

/// The shared base images: local tag and the Dockerfile (under `docker/`) that builds it.
pub const BASE_IMAGES: [(&str, &str); 2] = [
    ("ocean-builder:local", "builder.Dockerfile"),
    ("ocean-runtime:local", "runtime.Dockerfile"),
];

/// One instruction of a Dockerfile.
#[derive(Debug, Clone, PartialEq)]
pub struct Instruction {
    /// The keyword, upper-cased (`COPY`).
    pub keyword: String,
    /// Everything after the keyword, continuation lines joined with a space.
    pub rest: String,
    /// The line it starts on (1-based).
    pub line: usize,
}

impl Instruction {
    /// The `--name=value` options before the arguments, and the arguments.
    pub fn options_and_args(&self) -> (BTreeMap<String, String>, Vec<String>) {
        let mut options = BTreeMap::new();
        let mut rest = self.rest.trim();
        while let Some(after) = rest.strip_prefix("--") {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            let (option, tail) = after.split_at(end);
            let (name, value) = option.split_once('=').unwrap_or((option, ""));
            options.insert(name.to_owned(), value.to_owned());
            rest = tail.trim_start();
        }
        (options, words(rest))
    }
}

/// The arguments of an instruction: a JSON array (exec form) or whitespace-separated words.
fn words(text: &str) -> Vec<String> {
    let text = text.trim();
    if text.starts_with('[') {
        if let Ok(list) = serde_json::from_str::<Vec<String>>(text) {
            return list;
        }
    }
    text.split_whitespace().map(str::to_owned).collect()
}

/// One build stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// The base image as written (`${RUNTIME}`).
    pub from: String,
    /// The base image with global `ARG` defaults substituted.
    pub base: String,
    /// The stage name (`AS build`).
    pub name: Option<String>,
    /// Its instructions after `FROM`.
    pub instructions: Vec<Instruction>,
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq)]
pub struct Dockerfile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Global `ARG`s (before the first `FROM`) and their defaults.
    pub args: BTreeMap<String, String>,
    /// The stages, in order.
    pub stages: Vec<Stage>,
}

impl Dockerfile {
    /// Reads and parses a Dockerfile.
    pub fn read(path: &Path) -> Result<Dockerfile> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Dockerfile::parse(path, &text)
    }

    /// Parses Dockerfile text (`path` only names it in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Dockerfile> {
        let mut args = BTreeMap::new();
        let mut stages: Vec<Stage> = Vec::new();
        for instruction in instructions(text) {
            let at = || format!("{}:{}", path.display(), instruction.line);
            match instruction.keyword.as_str() {
                "FROM" => {
                    let (_, words) = instruction.options_and_args();
                    let (from, name) = match words.as_slice() {
                        [from] => (from.clone(), None),
                        [from, as_, name] if as_.eq_ignore_ascii_case("as") => {
                            (from.clone(), Some(name.clone()))
                        }
                        _ => bail!("{}: FROM needs `IMAGE [AS NAME]`", at()),
                    };
                    let base = substitute(&from, &args);
                    stages.push(Stage {
                        from,
                        base,
                        name,
                        instructions: Vec::new(),
                    });
                }
                "ARG" if stages.is_empty() => {
                    let (name, default) = instruction
                        .rest
                        .trim()
                        .split_once('=')
                        .map(|(n, d)| (n.to_owned(), d.trim_matches('"').to_owned()))
                        .unwrap_or_else(|| (instruction.rest.trim().to_owned(), String::new()));
                    args.insert(name, default);
                }
                _ => match stages.last_mut() {
                    Some(stage) => stage.instructions.push(instruction),
                    None => bail!("{}: {} before the first FROM", at(), instruction.keyword),
                },
            }
        }
        if stages.is_empty() {
            bail!("{} has no FROM", path.display());
        }
        Ok(Dockerfile {
            path: path.to_owned(),
            args,
            stages,
        })
    }

    /// The stage named `name`, or numbered `name`.
    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages
            .iter()
            .find(|s| s.name.as_deref() == Some(name))
            .or_else(|| name.parse::<usize>().ok().and_then(|i| self.stages.get(i)))
    }
}

/// The instructions of a Dockerfile: comments and blank lines dropped, continuations joined.
fn instructions(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_none()) {
            continue;
        }
        let (body, continues) = match line.strip_suffix('\\') {
            Some(body) => (body.trim_end(), true),
            None => (line, false),
        };
        match current.as_mut() {
            Some((_, text)) => {
                if !body.is_empty() {
                    text.push(' ');
                    text.push_str(body);
                }
            }
            None => current = Some((index + 1, body.to_owned())),
        }
        if !continues {
            if let Some((line, text)) = current.take() {
                let (keyword, rest) = text.split_once(char::is_whitespace).unwrap_or((&text, ""));
                out.push(Instruction {
                    keyword: keyword.to_ascii_uppercase(),
                    rest: rest.trim().to_owned(),
                    line,
                });
            }
        }
    }
    out
}

/// `$NAME`, `${NAME}` and `${NAME:-default}` replaced by the `ARG` defaults.
fn substitute(text: &str, args: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(inner) = after.strip_prefix('{') {
            let Some(end) = inner.find('}') else {
                out.push_str(&rest[at..]);
                return out;
            };
            let expr = &inner[..end];
            let (name, fallback) = expr.split_once(":-").unwrap_or((expr, ""));
            match args.get(name).filter(|v| !v.is_empty()) {
                Some(value) => out.push_str(value),
                None => out.push_str(fallback),
            }
            rest = &inner[end + 1..];
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            out.push_str(args.get(&after[..end]).map(String::as_str).unwrap_or(""));
            rest = &after[end..];
        }
    }
    out.push_str(rest);
    out
}

/// A file an image holds because a `COPY` put it there.
#[derive(Debug, Clone, PartialEq)]
pub struct CopiedFile {
    /// The source path (in the build context, or in `from_stage`).
    pub source: String,
    /// The stage (or image) it was copied from; `None` for the build context.
    pub from_stage: Option<String>,
    /// The absolute destination path in the image.
    pub destination: String,
}

/// What an image built from a stage would contain and how it would run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImageModel {
    /// Base images from the stage's own up to the root (`scratch` or a registry image).
    pub bases: Vec<String>,
    /// The `USER` it runs as (`None`: root).
    pub user: Option<String>,
    /// Its working directory.
    pub workdir: String,
    /// Its `ENTRYPOINT` (exec form words).
    pub entrypoint: Option<Vec<String>>,
    /// Files put there by `COPY`/`ADD`.
    pub files: Vec<CopiedFile>,
    /// Every `RUN` command, base images' first.
    pub runs: Vec<String>,
    /// `ENV` settings.
    pub env: Vec<String>,
}

impl ImageModel {
    /// The root base image.
    pub fn root_base(&self) -> &str {
        self.bases.last().map(String::as_str).unwrap_or("")
    }

    /// Whether the user is someone other than root.
    pub fn runs_as_non_root(&self) -> bool {
        match self.user.as_deref() {
            None => false,
            Some(user) => {
                let name = user.split(':').next().unwrap_or(user);
                !(name.is_empty() || name == "root" || name == "0")
            }
        }
    }

    /// The file copied to `destination`, if any.
    pub fn file_at(&self, destination: &str) -> Option<&CopiedFile> {
        self.files
            .iter()
            .rev()
            .find(|f| f.destination == destination)
    }
}

/// Builds image models, following base images built from `docker/`.
#[derive(Debug, Clone)]
pub struct Images {
    docker_dir: PathBuf,
}

impl Images {
    /// Models over a workspace's `docker/` folder.
    pub fn new(ws: &Workspace) -> Images {
        Images {
            docker_dir: ws.root().join("docker"),
        }
    }

    /// The Dockerfile that builds a local base image, if `image` is one.
    pub fn base_dockerfile(&self, image: &str) -> Option<PathBuf> {
        BASE_IMAGES
            .iter()
            .find(|(tag, _)| *tag == image)
            .map(|(_, file)| self.docker_dir.join(file))
    }

    /// The model of the image a stage builds (the last stage when `stage` is `None`).
    pub fn model(&self, dockerfile: &Dockerfile, stage: Option<&str>) -> Result<ImageModel> {
        self.model_depth(dockerfile, stage, 0)
    }

    fn model_depth(
        &self,
        dockerfile: &Dockerfile,
        stage: Option<&str>,
        depth: usize,
    ) -> Result<ImageModel> {
        if depth > 8 {
            bail!("base images of {} nest too deep", dockerfile.path.display());
        }
        let stage = match stage {
            Some(name) => dockerfile
                .stage(name)
                .with_context(|| format!("{} has no stage {name}", dockerfile.path.display()))?,
            None => dockerfile.stages.last().context("no stage")?,
        };
        let mut model = if let Some(parent) = dockerfile.stage(&stage.base) {
            if std::ptr::eq(parent, stage) {
                bail!("stage {} is its own base", stage.base);
            }
            let mut model = self.model_depth(dockerfile, Some(&stage.base), depth + 1)?;
            model.bases.insert(0, stage.base.clone());
            model
        } else if let Some(file) = self.base_dockerfile(&stage.base) {
            let base = Dockerfile::read(&file)?;
            let mut model = self.model_depth(&base, None, depth + 1)?;
            model.bases.insert(0, stage.base.clone());
            model
        } else {
            ImageModel {
                bases: vec![stage.base.clone()],
                workdir: "/".to_owned(),
                ..ImageModel::default()
            }
        };
        for instruction in &stage.instructions {
            let (options, args) = instruction.options_and_args();
            match instruction.keyword.as_str() {
                "USER" => model.user = args.first().cloned(),
                "WORKDIR" => {
                    if let Some(dir) = args.first() {
                        model.workdir = absolute(&model.workdir, dir);
                    }
                }
                "ENTRYPOINT" => model.entrypoint = Some(args),
                "RUN" => model.runs.push(instruction.rest.clone()),
                "ENV" => model.env.push(instruction.rest.clone()),
                "COPY" | "ADD" => {
                    let Some((destination, sources)) = args.split_last() else {
                        bail!(
                            "{}:{}: {} without a destination",
                            dockerfile.path.display(),
                            instruction.line,
                            instruction.keyword
                        );
                    };
                    for source in sources {
                        let name = source
                            .trim_end_matches('/')
                            .rsplit('/')
                            .next()
                            .unwrap_or(source);
                        let into_dir = destination.ends_with('/') || sources.len() > 1;
                        let destination = if into_dir {
                            absolute(&model.workdir, &format!("{destination}/{name}"))
                        } else {
                            absolute(&model.workdir, destination)
                        };
                        model.files.push(CopiedFile {
                            source: source.clone(),
                            from_stage: options.get("from").cloned(),
                            destination,
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(model)
    }
}

/// `path` made absolute against `workdir`, without `.`, `..` or doubled slashes.
fn absolute(workdir: &str, path: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{workdir}/{path}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    format!("/{}", parts.join("/"))
}

/// What `make image` checks and builds; `features` is passed as the `FEATURES` build argument.
pub fn build_image(ws: &Workspace, integration: &str, features: &str) -> Result<()> {
    let dockerfile_path = ws.integration_dir(integration).join("Dockerfile");
    if !dockerfile_path.is_file() {
        bail!("there is no {}", ws.display(&dockerfile_path));
    }
    let dockerfile = Dockerfile::read(&dockerfile_path)?;
    let model = Images::new(ws).model(&dockerfile, None)?;
    println!(
        "{} → image on {}, user {}, entrypoint {:?}",
        ws.display(&dockerfile_path),
        model.root_base(),
        model.user.as_deref().unwrap_or("root"),
        model.entrypoint.clone().unwrap_or_default()
    );
    let engine = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output();
    match engine {
        Err(err) => bail!(
            "`docker` cannot be run ({err}); `make image` needs the Docker CLI and a running \
             engine. What the image would contain is checked without one by `cargo test -p xtask`."
        ),
        Ok(out) if !out.status.success() => bail!(
            "no Docker engine is reachable (`docker info`: {}). `make image` needs a running \
             engine; what the image would contain is checked without one by `cargo test -p xtask`.",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no answer")
                .trim()
        ),
        Ok(_) => {}
    }
    for (tag, file) in BASE_IMAGES {
        docker_build(
            ws,
            &ws.root().join("docker").join(file),
            tag,
            &ws.root().join("docker"),
            &[],
        )?;
    }
    let tag = format!(
        "{}:{}",
        Workspace::package(integration),
        version(ws, integration)?
    );
    let features_arg = format!("FEATURES={features}");
    docker_build(ws, &dockerfile_path, &tag, ws.root(), &[&features_arg])?;
    println!("built {tag}");
    Ok(())
}

fn docker_build(
    ws: &Workspace,
    file: &Path,
    tag: &str,
    context: &Path,
    build_args: &[&str],
) -> Result<()> {
    println!(
        "docker build -f {} -t {tag} {}",
        ws.display(file),
        ws.display(context)
    );
    let status = Command::new("docker")
        .arg("build")
        .arg("-f")
        .arg(file)
        .args(build_args.iter().flat_map(|a| ["--build-arg", a]))
        .args(["-t", tag])
        .arg(context)
        .status()
        .context("running docker build")?;
    if !status.success() {
        bail!("docker build of {tag} failed ({status})");
    }
    Ok(())
}

/// The integration's version, from its `Cargo.toml`.
pub fn version(ws: &Workspace, integration: &str) -> Result<String> {
    let path = ws.integration_dir(integration).join("Cargo.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .find_map(|line| {
            let value = line
                .trim()
                .strip_prefix("version")?
                .trim()
                .strip_prefix('=')?;
            Some(value.trim().trim_matches('"').to_owned())
        })
        .with_context(|| format!("{} has no version", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Dockerfile {
        Dockerfile::parse(Path::new("Dockerfile"), text).unwrap()
    }

    #[test]
    fn instructions_join_continuations_and_skip_comments() {
        let file = parse(
            "# syntax=docker/dockerfile:1\nARG BASE=alpine:3\n\nFROM ${BASE} AS build\nRUN a \\\n  # inner comment\n  && b\nfrom build\ncopy --from=build --chmod=755 /out/x /usr/bin/\n",
        );
        assert_eq!(file.args["BASE"], "alpine:3");
        assert_eq!(file.stages.len(), 2);
        assert_eq!(file.stages[0].base, "alpine:3");
        assert_eq!(file.stages[0].name.as_deref(), Some("build"));
        assert_eq!(file.stages[0].instructions[0].rest, "a && b");
        assert_eq!(file.stages[0].instructions[0].line, 5);
        let (options, args) = file.stages[1].instructions[0].options_and_args();
        assert_eq!(options["from"], "build");
        assert_eq!(options["chmod"], "755");
        assert_eq!(args, ["/out/x", "/usr/bin/"]);
    }

    #[test]
    fn arguments_substitute_with_fallbacks() {
        let args: BTreeMap<String, String> = [
            ("A".to_owned(), "x".to_owned()),
            ("E".to_owned(), String::new()),
        ]
        .into();
        for (text, expected) in [
            ("$A", "x"),
            ("${A}:1", "x:1"),
            ("${E:-d}", "d"),
            ("${MISSING:-img}", "img"),
            ("plain", "plain"),
            ("${broken", "${broken"),
        ] {
            assert_eq!(substitute(text, &args), expected, "{text}");
        }
    }

    #[test]
    fn models_follow_stages_and_resolve_paths() {
        let file = parse(
            "FROM scratch AS base\nUSER 1000\nWORKDIR /app\nFROM base\nCOPY a b /etc/\nCOPY .port .port\nCOPY [\"x\", \"./y/../z\"]\nENTRYPOINT [\"/app/bin\"]\n",
        );
        let model = Images {
            docker_dir: PathBuf::from("/nowhere"),
        }
        .model(&file, None)
        .unwrap();
        assert_eq!(model.bases, ["base", "scratch"]);
        assert_eq!(model.user.as_deref(), Some("1000"));
        assert!(model.runs_as_non_root());
        let destinations: Vec<&str> = model.files.iter().map(|f| f.destination.as_str()).collect();
        assert_eq!(destinations, ["/etc/a", "/etc/b", "/app/.port", "/app/z"]);
        assert_eq!(model.entrypoint, Some(vec!["/app/bin".to_owned()]));
    }

    #[test]
    fn root_users_are_recognised() {
        for (user, non_root) in [
            (None, false),
            (Some("root"), false),
            (Some("0:0"), false),
            (Some("65532:65532"), true),
            (Some("nonroot"), true),
        ] {
            let model = ImageModel {
                user: user.map(str::to_owned),
                ..ImageModel::default()
            };
            assert_eq!(model.runs_as_non_root(), non_root, "{user:?}");
        }
    }

    #[test]
    fn broken_dockerfiles_are_refused() {
        for text in ["RUN x\nFROM a", "", "FROM a b c d"] {
            assert!(Dockerfile::parse(Path::new("D"), text).is_err(), "{text:?}");
        }
    }
}
