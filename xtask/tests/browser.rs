//! Browser tests of the two pages, in headless Chromium over WebDriver: the emulator's catalog
//! view after a demo-style resync of the fake integration, and the mapping playground on the
//! fake integration's folder. They also take the README's screenshots.
//!
//! Ignored by a plain `cargo test` (they need Chromium and take a while); `make test` installs
//! Debian's `chromium` and `chromium-driver` and runs them with `--ignored`, and they fail when
//! the browser is missing. `OCEAN_BIN_DIR` names the folder with the `port-emulator`, `ocean`
//! and `ocean-fake` executables (default: a debug build of them); screenshots go to
//! `OCEAN_SCREENSHOT_DIR` (`make screenshots` points it at `docs/img`), else to
//! `target/xtask/browser`.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use xtask::Workspace;
use xtask::browser::Browser;
use xtask::cargo::{self, Build};
use xtask::demo::{self, DemoOptions};
use xtask::process::Managed;

const WAIT: Duration = Duration::from_secs(20);

struct Binaries {
    emulator: PathBuf,
    ocean: PathBuf,
    fake: PathBuf,
}

fn binaries(ws: &Workspace) -> Result<Binaries> {
    let dir = match std::env::var_os("OCEAN_BIN_DIR") {
        Some(dir) => ws.root().join(dir),
        None => {
            let built = cargo::build(
                ws,
                &Build {
                    profile: "dev".to_owned(),
                    ..Build::release(&["port-emulator", "ocean-cli", "ocean-fake"])
                },
            )?;
            built
                .executable("port-emulator")?
                .parent()
                .context("the executables' folder")?
                .to_owned()
        }
    };
    let get = |name: &str| {
        let path = dir.join(name);
        if path.is_file() {
            Ok(path)
        } else {
            bail!(
                "{} is missing (build it, or set OCEAN_BIN_DIR)",
                path.display()
            )
        }
    };
    Ok(Binaries {
        emulator: get("port-emulator")?,
        ocean: get("ocean")?,
        fake: get("ocean-fake")?,
    })
}

fn screenshot_dir(ws: &Workspace) -> PathBuf {
    std::env::var_os("OCEAN_SCREENSHOT_DIR")
        .map(|d| ws.root().join(d))
        .unwrap_or_else(|| ws.target_dir().join("xtask/browser"))
}

/// The texts of the cells of every row of the page's `index`th table (negative: from the end).
fn rows(browser: &Browser, index: i64) -> Result<Vec<Vec<String>>> {
    let value = browser.execute(
        "const all = document.querySelectorAll('main table');
         const t = all[arguments[0] < 0 ? all.length + arguments[0] : arguments[0]];
         if (!t) return [];
         return Array.from(t.querySelectorAll('tbody tr'))
           .map(r => Array.from(r.cells).map(c => c.innerText.trim()));",
        vec![json!(index)],
    )?;
    Ok(serde_json::from_value(value)?)
}

/// Whether the page can be read without scrolling sideways.
fn fits(browser: &Browser) -> Result<bool> {
    Ok(browser.execute(
        "return document.documentElement.scrollWidth <= window.innerWidth;",
        vec![],
    )? == Value::Bool(true))
}

#[test]
#[ignore = "needs Chromium; run by `make test`"]
fn catalog_view_shows_the_fake_catalog_and_links_related_entities() -> Result<()> {
    let ws = Workspace::locate();
    let bins = binaries(&ws)?;
    let options = DemoOptions {
        integration: "fake".to_owned(),
        binary: Some(bins.fake.clone()),
        runner: None,
        env: Vec::new(),
        keep: false,
        echo_logs: false,
        measurer: Some(PathBuf::from(env!("CARGO_BIN_EXE_xtask"))),
    };
    let run = demo::resync_once(&ws, &options, &bins.emulator, &bins.fake)?;
    if let Some(problem) = run.problem() {
        bail!("the demo resync failed: {problem}");
    }
    let scratch = ws.scratch("browser")?;
    let browser = Browser::start(&scratch, 1280, 900)?;

    // Home: every blueprint of the fake with its count, the integration, the requests.
    browser.goto(&run.catalog_url())?;
    browser.wait_for("a[href='#/blueprint/fakeService']", WAIT)?;
    let blueprints = rows(&browser, 0)?;
    for (blueprint, count) in &run.report.entities {
        assert!(*count > 0, "{blueprint} is empty");
        assert!(
            blueprints
                .iter()
                .any(|r| r.get(1) == Some(blueprint) && r.get(2) == Some(&count.to_string())),
            "{blueprint} with {count} entities is not listed: {blueprints:?}"
        );
    }
    let page = browser.text_of_page()?;
    assert!(page.contains(&run.identifier), "{page}");
    assert!(page.contains("completed"), "{page}");
    assert!(page.contains("/entities/bulk"), "{page}");
    browser.screenshot(&screenshot_dir(&ws).join("catalog.png"))?;

    // A blueprint's table, searched from the keyboard: `/` focuses the search box.
    browser.click(&browser.wait_for("a[href='#/blueprint/fakeService']", WAIT)?)?;
    browser.wait_for("#entity-search", WAIT)?;
    browser.press("/")?;
    let focused = browser.focused()?;
    assert_eq!(browser.property(&focused, "id")?, "entity-search");
    browser.send_keys(&focused, "service-1\u{E007}")?;
    browser.wait(WAIT, "the search result", || {
        let text = browser.text_of_page()?;
        Ok(text.contains("matching “service-1”").then_some(text))
    })?;
    let found = rows(&browser, 0)?;
    assert!(
        found.iter().all(|r| r[0].starts_with("service-1")),
        "{found:?}"
    );
    assert!(found.iter().any(|r| r[0] == "service-1"), "{found:?}");

    // An entity: its relation links to the related entity's page, which links back.
    browser.click(&browser.wait_for("a[href='#/entity/fakeService/service-1']", WAIT)?)?;
    browser.wait(WAIT, "the entity's page", || {
        Ok(browser
            .text_of_page()?
            .contains("Referenced by (")
            .then_some(()))
    })?;
    let team_link = browser.wait_for("main table a[href^='#/entity/fakeTeam/']", WAIT)?;
    let team_href = browser.property(&team_link, "href")?;
    let team = team_href
        .as_str()
        .and_then(|h| h.rsplit('/').next())
        .context("the team link")?
        .to_owned();
    let page = browser.text_of_page()?;
    assert!(page.contains("Referenced by"), "{page}");
    browser.screenshot(&screenshot_dir(&ws).join("catalog-entity.png"))?;
    browser.click(&team_link)?;
    browser.wait(WAIT, "the team's page", || {
        Ok(browser
            .url()?
            .ends_with(&format!("#/entity/fakeTeam/{team}"))
            .then_some(()))
    })?;
    let referenced = browser.wait(WAIT, "the entities referencing the team", || {
        let found = rows(&browser, -1)?;
        Ok(found
            .iter()
            .any(|r| r[0].ends_with("(service-1)") && r[2] == "team")
            .then_some(found))
    })?;
    assert!(
        referenced.iter().all(|r| r[1] == "fakeService"),
        "{referenced:?}"
    );

    // The integration's resync states over time.
    browser.goto(&format!(
        "{}#/integration/{}",
        run.catalog_url(),
        run.identifier
    ))?;
    let states = browser.wait(WAIT, "the resync states", || {
        if !browser.text_of_page()?.contains("Resync states over time") {
            return Ok(None);
        }
        let found = rows(&browser, 0)?;
        Ok((!found.is_empty()).then_some(found))
    })?;
    assert_eq!(states[0][1], "completed", "{states:?}");
    assert!(states.iter().any(|s| s[1] == "running"), "{states:?}");

    // Readable in a narrow window.
    browser.resize(400, 800)?;
    browser.goto(&format!(
        "{}#/entity/fakeService/service-1",
        run.catalog_url()
    ))?;
    browser.wait_for("a[href^='#/entity/fakeTeam/']", WAIT)?;
    assert!(
        fits(&browser)?,
        "the entity page scrolls sideways at 400 px"
    );
    drop(browser);
    run.emulator.stop()?;
    Ok(())
}

/// `ocean playground` as a process: its URL comes from its first line of output.
fn start_playground(bins: &Binaries, folder: &Path, log: &Path) -> Result<(Managed, String)> {
    let log_file = std::fs::File::create(log)?;
    let mut child = Command::new(&bins.ocean)
        .arg("playground")
        .arg(folder)
        .args(["--port", "0", "--integration-bin"])
        .arg(&bins.fake)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_file))
        .process_group(0)
        .spawn()
        .context("starting ocean playground")?;
    let stdout = child.stdout.take().context("the playground's output")?;
    let managed = Managed::new(child, "ocean playground");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some((_, url)) = line.split_once("listening on ") {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    let url = rx
        .recv_timeout(WAIT)
        .context("ocean playground did not print its URL")?;
    Ok((managed, url))
}

/// The text of the outcome cell of a field of the first resource shown.
fn outcome(browser: &Browser, field: &str) -> Result<String> {
    let value = browser.execute(
        "const row = document.querySelector(`#result table.fields tr[data-field='${arguments[0]}']`);
         return row ? row.querySelector('.outcome').innerText : null;",
        vec![json!(field)],
    )?;
    Ok(value.as_str().unwrap_or_default().to_owned())
}

/// The value shown for a field of an entity.
fn entity_value(browser: &Browser, entity: &str, field: &str) -> Result<Option<String>> {
    let value = browser.execute(
        "const e = document.querySelector(`#result [data-entity='${arguments[0]}'] tr[data-field='${arguments[1]}'] td`);
         return e ? e.innerText : null;",
        vec![json!(entity), json!(field)],
    )?;
    Ok(value.as_str().map(str::to_owned))
}

/// Replaces the text of a pane by typing, as a person would: Ctrl+A, then the new text.
fn retype(browser: &Browser, css: &str, text: &str) -> Result<()> {
    let pane = browser.wait_for(css, WAIT)?;
    browser.send_keys(&pane, "\u{E009}a\u{E000}")?;
    browser.send_keys(&pane, text)?;
    Ok(())
}

#[test]
#[ignore = "needs Chromium; run by `make test`"]
fn playground_maps_samples_and_shows_a_broken_expressions_jq_error() -> Result<()> {
    let ws = Workspace::locate();
    let bins = binaries(&ws)?;
    let scratch = ws.scratch("browser")?;
    let folder = ws.integration_dir("fake");
    let (playground, url) = start_playground(&bins, &folder, &scratch.join("playground.log"))?;
    let browser = Browser::start(&scratch, 1440, 1000)?;
    browser.goto(&url)?;

    // It starts on the first kind of the integration's mapping with its example.
    browser.wait_for("#result [data-entity='team-0']", WAIT)?;

    // The service example: one entity per item, each field's value.
    browser.click(&browser.wait_for("#kind option[value='service']", WAIT)?)?;
    browser.click(&browser.wait_for("#load-example", WAIT)?)?;
    browser.wait_for("#result [data-entity='service-0']", WAIT)?;
    let example: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(
        folder.join(".port/examples/service.json"),
    )?)?;
    let count = browser.text(&browser.wait_for("#result .entity-count", WAIT)?)?;
    assert_eq!(count, format!("{} entities", example.len()));
    assert_eq!(
        entity_value(&browser, "service-0", "properties.language")?.as_deref(),
        Some(format!("\"{}\"", example[0]["language"].as_str().unwrap()).as_str())
    );
    assert_eq!(outcome(&browser, "properties.language")?, "ok");

    // Break an expression: jq's error shows next to it, the value is null.
    let config = browser.property(&browser.wait_for("#config", WAIT)?, "value")?;
    let config = config.as_str().context("the mapping text")?.to_owned();
    assert!(config.contains("language: .language\n"), "{config}");
    let broken = config.replace("language: .language\n", "language: .language | tonumber\n");
    retype(&browser, "#config", &broken)?;
    let shown = browser.wait(WAIT, "the jq error of properties.language", || {
        let text = outcome(&browser, "properties.language")?;
        Ok(text
            .contains("cannot be parsed as a number")
            .then_some(text))
    })?;
    assert!(shown.starts_with("jq error:"), "{shown}");
    assert!(
        browser
            .text(&browser.wait_for("#result tr[data-field='properties.language'] code", WAIT)?)?
            .contains(".language")
    );
    assert_eq!(
        entity_value(&browser, "service-0", "properties.language")?.as_deref(),
        Some("null")
    );
    // The picture shows the broken line in the mapping pane, from the top of the page.
    browser.execute(
        "const ta = document.getElementById('config');
         const line = ta.value.slice(0, ta.value.indexOf('tonumber')).split('\\n').length;
         ta.scrollTop = Math.max(0, (line - 12) * parseFloat(getComputedStyle(ta).lineHeight));
         ta.blur(); window.scrollTo(0, 0);",
        vec![],
    )?;
    browser.screenshot(&screenshot_dir(&ws).join("playground.png"))?;

    // Fix it: the value is back, the error gone.
    retype(&browser, "#config", &config)?;
    browser.wait(WAIT, "properties.language to map again", || {
        let value = entity_value(&browser, "service-0", "properties.language")?;
        Ok((value.as_deref() != Some("null") && value.is_some()).then_some(()))
    })?;
    assert_eq!(outcome(&browser, "properties.language")?, "ok");

    // Fetch samples: the first page from the integration's own fetcher.
    browser.click(&browser.wait_for("#fetch-samples", WAIT)?)?;
    let status = browser.wait(WAIT, "the fetched samples", || {
        let text = browser.text(&browser.wait_for("#status", WAIT)?)?;
        Ok(text.contains("Fetched samples").then_some(text))
    })?;
    assert!(status.contains("item(s) of kind service"), "{status}");
    let items = browser.property(&browser.wait_for("#items", WAIT)?, "value")?;
    let items: Vec<Value> = serde_json::from_str(items.as_str().unwrap_or("[]"))?;
    assert!(items.len() > example.len(), "{} items", items.len());

    // Readable in a narrow window: the panes stack.
    browser.resize(420, 900)?;
    assert!(fits(&browser)?, "the playground scrolls sideways at 420 px");
    drop(browser);
    playground.stop()?;
    Ok(())
}
