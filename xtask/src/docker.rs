//! Container images: what `make image` builds, and a model of what an image would contain, read
//! from the Dockerfiles (this machine has no Docker engine, so tests check the model instead).
//!
//! Every integration image is built on the shared runtime defined in `docker/`
//! ([`BASE_IMAGES`]): distroless static — CA certificates, a non-root user, nothing else. An
//! integration's own `Dockerfile` is a few lines on top: copy its prebuilt static binary for the
//! image's `TARGETARCH` (from `target/static/<arch>/`, see [`crate::static_build`]) and its
//! `.port/` folder, set the entrypoint. Nothing compiles inside an image build, so
//! `docker buildx build --platform linux/amd64,linux/arm64` takes seconds and needs no emulation.
//!
//! The parser covers the Dockerfile syntax these files use — instructions, line continuations,
//! comments, `ARG` substitution in `FROM`, `--flag=value` options, exec-form JSON arrays — not
//! heredocs or a changed escape character.

use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::static_build::{self, Arch, StaticOptions};
use crate::workspace::Workspace;

/// The shared base images: local tag and the Dockerfile (under `docker/`) that builds it.
pub const BASE_IMAGES: [(&str, &str); 1] = [("ocean-runtime:local", "runtime.Dockerfile")];

/// The shared runtime's local tag (the integration Dockerfiles' default `RUNTIME`).
pub const RUNTIME_LOCAL: &str = "ocean-runtime:local";

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
    /// The names of the `ARG`s declared inside its stages (`TARGETARCH`).
    pub args: Vec<String>,
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
                "ARG" => {
                    if let Some(arg) = args.first() {
                        let name = arg.split_once('=').map_or(arg.as_str(), |(n, _)| n);
                        model.args.push(name.to_owned());
                    }
                }
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

/// The lines an integration's `Dockerfile.dockerignore` holds (comments aside): everything
/// stays out of the build context but the prebuilt binaries and the `.port/` folder.
pub fn dockerignore_lines(integration: &str) -> Vec<String> {
    vec![
        "*".to_owned(),
        format!("!target/static/*/{}", Workspace::package(integration)),
        format!("!integrations/{integration}/.port"),
    ]
}

/// What is wrong with an integration's image recipe, one line per problem (none: it builds the
/// image `make image` promises). The image: the shared runtime (distroless static, CA
/// certificates, non-root, `/app`), the prebuilt static binary of the image's `TARGETARCH`
/// from `target/static/<arch>/` as the entrypoint, the `.port/` folder in `/app`, nothing else
/// from the context, nothing compiled or run during the build.
pub fn image_problems(ws: &Workspace, integration: &str) -> Result<Vec<String>> {
    let dir = ws.integration_dir(integration);
    let dockerfile = Dockerfile::read(&dir.join("Dockerfile"))?;
    let image = Images::new(ws).model(&dockerfile, None)?;
    let package = Workspace::package(integration);
    let mut problems = Vec::new();
    let mut problem = |text: String| problems.push(format!("integrations/{integration}: {text}"));

    if image.bases.first().map(String::as_str) != Some(RUNTIME_LOCAL) {
        problem(format!(
            "the image is not built on {RUNTIME_LOCAL}: {:?}",
            image.bases
        ));
    }
    if !image.root_base().starts_with("gcr.io/distroless/static") {
        problem(format!(
            "the final base is not distroless static: {}",
            image.root_base()
        ));
    }
    if !image.runs_as_non_root() {
        problem(format!("the image runs as root (USER {:?})", image.user));
    }
    if image.workdir != "/app" {
        problem(format!(
            "the working directory is {}, not /app",
            image.workdir
        ));
    }
    if !image.runs.is_empty() {
        problem(format!(
            "the image build runs commands (binaries come prebuilt): {:?}",
            image.runs
        ));
    }
    if dockerfile.stages.len() != 1 {
        problem(format!(
            "{} build stages; the image copies prebuilt files into one",
            dockerfile.stages.len()
        ));
    }
    let binary = format!("/usr/local/bin/{package}");
    if image.entrypoint.as_deref() != Some(std::slice::from_ref(&binary)) {
        problem(format!(
            "the entrypoint is {:?}, not [{binary:?}]",
            image.entrypoint
        ));
    }
    let expected_source = format!("target/static/${{TARGETARCH}}/{package}");
    match image.file_at(&binary) {
        None => problem(format!("nothing is copied to {binary}")),
        Some(file) => {
            if file.source != expected_source || file.from_stage.is_some() {
                problem(format!(
                    "{binary} comes from {:?} (stage {:?}), not {expected_source}",
                    file.source, file.from_stage
                ));
            }
            if !image.args.iter().any(|a| a == "TARGETARCH") {
                problem("the stage does not declare ARG TARGETARCH".to_owned());
            }
            for arch in Arch::ALL {
                let built = static_build::static_dir(ws, arch).join(&package);
                let path = file.source.replace("${TARGETARCH}", arch.docker());
                if ws.root().join(&path) != built {
                    problem(format!(
                        "for {}, {path} is not where `make static` puts it ({})",
                        arch.docker(),
                        ws.display(&built)
                    ));
                }
            }
        }
    }
    let port = format!("integrations/{integration}/.port");
    match image.file_at("/app/.port") {
        Some(file) if file.source == port && file.from_stage.is_none() => {}
        other => problem(format!("/app/.port is {other:?}, not {port}")),
    }
    let from_context: Vec<&str> = image
        .files
        .iter()
        .filter(|f| f.from_stage.is_none())
        .map(|f| f.source.as_str())
        .collect();
    if from_context != [expected_source.as_str(), port.as_str()] {
        problem(format!(
            "the image takes {from_context:?} from the context, only the binary and .port/ belong"
        ));
    }
    let ignore_path = dir.join("Dockerfile.dockerignore");
    match std::fs::read_to_string(&ignore_path) {
        Err(err) => problem(format!("reading Dockerfile.dockerignore: {err}")),
        Ok(text) => {
            let lines: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned)
                .collect();
            let expected = dockerignore_lines(integration);
            if lines != expected {
                problem(format!(
                    "Dockerfile.dockerignore holds {lines:?}, expected {expected:?} (only the \
                     binaries and .port/ in the build context)"
                ));
            }
        }
    }
    Ok(problems)
}

/// What `make image` builds.
#[derive(Debug, Clone)]
pub struct ImageOptions {
    /// The integration (folder under `integrations/`).
    pub integration: String,
    /// The platforms of the image (one image per architecture, under one tag).
    pub arches: Vec<Arch>,
    /// Cargo features of the binaries (`kafka`).
    pub features: Vec<String>,
    /// Where the images go, e.g. `ghcr.io/acme` (`None`: local tags only).
    pub repository: Option<String>,
    /// Push the images (and the shared runtime they are built on) to `repository`.
    pub push: bool,
}

/// One `docker` command line of an image build.
pub type DockerCommand = Vec<String>;

/// The `docker` commands that build (and push) the shared runtime and the integration's image
/// for `options`, whose version is `version` and SDK version `sdk_version`; run from the
/// workspace root.
///
/// One architecture without pushing builds into the local engine (`docker build --platform`);
/// several, or a push, go through `docker buildx build --platform a,b`. When pushing, the
/// runtime is pushed first as `<repository>/ocean-runtime:<sdk version>` and the integration
/// is built on that (a buildx builder of the `docker-container` kind cannot see local images).
pub fn image_commands(
    options: &ImageOptions,
    version: &str,
    sdk_version: &str,
) -> Result<Vec<DockerCommand>> {
    if options.arches.is_empty() {
        bail!("no architecture to build an image for");
    }
    if options.push && options.repository.is_none() {
        bail!("pushing needs a repository (REPOSITORY=ghcr.io/OWNER)");
    }
    let platforms = options
        .arches
        .iter()
        .map(|a| format!("linux/{}", a.docker()))
        .collect::<Vec<_>>()
        .join(",");
    let buildx = options.push || options.arches.len() > 1;
    let base = |tags: &[String]| -> DockerCommand {
        let mut cmd: Vec<String> = if buildx {
            vec!["docker".into(), "buildx".into(), "build".into()]
        } else {
            vec!["docker".into(), "build".into()]
        };
        cmd.extend(["--platform".into(), platforms.clone()]);
        for tag in tags {
            cmd.extend(["--tag".into(), tag.clone()]);
        }
        if options.push {
            cmd.push("--push".into());
        }
        cmd
    };
    // Image references are lower case (a GitHub owner need not be).
    let prefix = options
        .repository
        .as_deref()
        .map(|r| format!("{}/", r.trim_end_matches('/').to_ascii_lowercase()))
        .unwrap_or_default();
    let runtime = if options.push {
        format!("{prefix}ocean-runtime:{sdk_version}")
    } else {
        RUNTIME_LOCAL.to_owned()
    };
    let mut runtime_cmd = base(std::slice::from_ref(&runtime));
    runtime_cmd.extend([
        "--file".into(),
        "docker/runtime.Dockerfile".into(),
        "docker".into(),
    ]);
    let name = format!("{prefix}{}", Workspace::package(&options.integration));
    let mut image_cmd = base(&[format!("{name}:{version}"), format!("{name}:latest")]);
    image_cmd.extend([
        "--build-arg".into(),
        format!("RUNTIME={runtime}"),
        "--file".into(),
        format!("integrations/{}/Dockerfile", options.integration),
        ".".into(),
    ]);
    Ok(vec![runtime_cmd, image_cmd])
}

/// `make image`: builds the static binaries for the platforms, then the runtime and the image
/// from them (needs a Docker engine; buildx for several platforms or a push).
pub fn build_image(ws: &Workspace, options: &ImageOptions) -> Result<()> {
    let dockerfile_path = ws.integration_dir(&options.integration).join("Dockerfile");
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
    let commands = image_commands(
        options,
        &version(ws, &options.integration)?,
        &static_build::workspace_version(ws)?,
    )?;
    // Before the long build: is there an engine to send the images to?
    match Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
    {
        Ok(out) if out.status.success() => {}
        Ok(out) => bail!(
            "no Docker engine answers here ({}); `make static INTEGRATION={} ARCH=all` builds \
             the binaries alone",
            String::from_utf8_lossy(&out.stderr).trim(),
            options.integration
        ),
        Err(err) => bail!("cannot run docker: {err}"),
    }
    static_build::build_static(
        ws,
        &StaticOptions {
            integration: options.integration.clone(),
            profile: "dist".into(),
            arches: options.arches.clone(),
            features: options.features.clone(),
        },
    )?;
    for command in commands {
        println!("{}", command.join(" "));
        let status = Command::new(&command[0])
            .args(&command[1..])
            .current_dir(ws.root())
            .status()
            .with_context(|| format!("running {}", command.join(" ")))?;
        if !status.success() {
            bail!("{} failed ({status})", command.join(" "));
        }
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
    fn image_commands_build_locally_or_push_multi_arch() {
        let mut options = ImageOptions {
            integration: "fake".into(),
            arches: vec![Arch::X86_64],
            features: Vec::new(),
            repository: None,
            push: false,
        };
        let local = image_commands(&options, "0.3.0", "0.1.0").unwrap();
        assert_eq!(
            local[0].join(" "),
            "docker build --platform linux/amd64 --tag ocean-runtime:local \
             --file docker/runtime.Dockerfile docker"
        );
        assert_eq!(
            local[1].join(" "),
            "docker build --platform linux/amd64 --tag ocean-fake:0.3.0 --tag ocean-fake:latest \
             --build-arg RUNTIME=ocean-runtime:local --file integrations/fake/Dockerfile ."
        );

        options.arches = Arch::ALL.to_vec();
        options.repository = Some("ghcr.io/acme/".into());
        options.push = true;
        let pushed = image_commands(&options, "0.3.0", "0.1.0").unwrap();
        assert_eq!(
            pushed[0].join(" "),
            "docker buildx build --platform linux/amd64,linux/arm64 \
             --tag ghcr.io/acme/ocean-runtime:0.1.0 --push --file docker/runtime.Dockerfile docker"
        );
        assert_eq!(
            pushed[1].join(" "),
            "docker buildx build --platform linux/amd64,linux/arm64 \
             --tag ghcr.io/acme/ocean-fake:0.3.0 --tag ghcr.io/acme/ocean-fake:latest --push \
             --build-arg RUNTIME=ghcr.io/acme/ocean-runtime:0.1.0 \
             --file integrations/fake/Dockerfile ."
        );

        options.repository = None;
        assert!(image_commands(&options, "0.3.0", "0.1.0").is_err());
        options.arches.clear();
        assert!(image_commands(&options, "0.3.0", "0.1.0").is_err());
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
