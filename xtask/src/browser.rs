//! Headless Chromium driven over WebDriver, for the browser tests of the catalog view and the
//! mapping playground (`xtask/tests/browser.rs`, run by `make test`).
//!
//! It uses Debian's `chromium` and `chromium-driver` (`make browsers` installs them): the driver
//! runs on a free port of 127.0.0.1, and Chromium starts headless with a fresh profile and every
//! background service that would reach the network turned off. The WebDriver protocol is a few
//! JSON-over-HTTP calls, spoken here with the `ureq` client xtask already has.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::{self, Managed};

/// The element key of the W3C WebDriver protocol.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Chromium's flags: headless, no sandbox (we run as root), and none of the background
/// connections a closed network refuses.
pub const CHROMIUM_FLAGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// Where Debian puts the two programs.
fn find(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .chain([
                PathBuf::from("/usr/bin"),
                PathBuf::from("/usr/lib/chromium"),
            ])
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// Chromium and its driver, when both are installed.
pub fn installed() -> Result<(PathBuf, PathBuf)> {
    let chromium = find(&["chromium", "chromium-browser"]);
    let driver = find(&["chromedriver"]);
    match (chromium, driver) {
        (Some(chromium), Some(driver)) => Ok((chromium, driver)),
        _ => bail!(
            "the browser tests need Debian's chromium and chromium-driver, which are not \
             installed: `make browsers` (part of `make test`) installs them with apt-get"
        ),
    }
}

/// A Chromium session; dropping it ends the session and stops the driver.
pub struct Browser {
    agent: ureq::Agent,
    session: String,
    driver_url: String,
    driver: Option<Managed>,
    _profile: TempDir,
}

/// A folder removed on drop (the browser's profile).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A reference to an element of the current page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Browser {
    /// Starts the driver and a headless Chromium with a window of `width`×`height` CSS pixels;
    /// the driver's log goes to `scratch/chromedriver.log`.
    pub fn start(scratch: &Path, width: u32, height: u32) -> Result<Browser> {
        let (chromium, driver_binary) = installed()?;
        std::fs::create_dir_all(scratch)
            .with_context(|| format!("creating {}", scratch.display()))?;
        let port = process::free_port()?;
        let log_path = scratch.join("chromedriver.log");
        let log =
            File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
        let child = Command::new(&driver_binary)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {}", driver_binary.display()))?;
        let driver = Managed::new(child, "chromedriver");
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .new_agent();
        let driver_url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = agent
                .get(format!("{driver_url}/status"))
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_to_string().ok())
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "chromedriver did not become ready on port {port}; its log:\n{}",
                    crate::emulator::tail(&log_path, 20)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = scratch.join(format!("chromium-profile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile)?;
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        args.push(format!("--window-size={width},{height}"));
        args.push("--force-device-scale-factor=1".to_owned());
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium.display().to_string(), "args": args},
        }}});
        let mut browser = Browser {
            agent,
            session: String::new(),
            driver_url,
            driver: Some(driver),
            _profile: TempDir(profile),
        };
        let answer = browser
            .command("POST", "/session", Some(capabilities))
            .context("starting a Chromium session")?;
        browser.session = answer["sessionId"]
            .as_str()
            .context("the new session has no id")?
            .to_owned();
        Ok(browser)
    }

    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        let url = format!("{}{path}", self.driver_url);
        let response = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, body) => self
                .agent
                .post(&url)
                .header("content-type", "application/json")
                .send(body.unwrap_or_else(|| json!({})).to_string()),
        };
        let mut response = response.with_context(|| format!("WebDriver {method} {path}"))?;
        let status = response.status();
        let text = response
            .body_mut()
            .read_to_string()
            .with_context(|| format!("reading the answer of WebDriver {method} {path}"))?;
        let answer: Value = serde_json::from_str(&text)
            .with_context(|| format!("WebDriver {method} {path} answered non-JSON: {text}"))?;
        if !status.is_success() {
            bail!(
                "WebDriver {method} {path}: {} {}",
                answer["value"]["error"].as_str().unwrap_or("error"),
                answer["value"]["message"].as_str().unwrap_or(&text)
            );
        }
        Ok(answer["value"].clone())
    }

    fn session_command(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        self.command(method, &format!("/session/{}{path}", self.session), body)
    }

    /// Opens `url`.
    pub fn goto(&self, url: &str) -> Result<()> {
        self.session_command("POST", "/url", Some(json!({"url": url})))?;
        Ok(())
    }

    /// The current URL.
    pub fn url(&self) -> Result<String> {
        Ok(self
            .session_command("GET", "/url", None)?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// Resizes the window (CSS pixels).
    pub fn resize(&self, width: u32, height: u32) -> Result<()> {
        self.session_command(
            "POST",
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )?;
        Ok(())
    }

    /// Every element matching a CSS selector, in document order.
    pub fn find_all(&self, css: &str) -> Result<Vec<Element>> {
        let found = self.session_command(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )?;
        Ok(found
            .as_array()
            .map(|all| {
                all.iter()
                    .filter_map(|e| e[ELEMENT].as_str().map(|id| Element(id.to_owned())))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The first element matching a CSS selector, waiting up to `timeout` for one to appear.
    pub fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element> {
        self.wait(timeout, &format!("an element matching `{css}`"), || {
            Ok(self.find_all(css)?.into_iter().next())
        })
    }

    /// Polls `probe` until it answers `Some`, failing after `timeout` with `what`.
    pub fn wait<T>(
        &self,
        timeout: Duration,
        what: &str,
        mut probe: impl FnMut() -> Result<Option<T>>,
    ) -> Result<T> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(found) = probe()? {
                return Ok(found);
            }
            if Instant::now() > deadline {
                let page = self.text_of_page().unwrap_or_default();
                bail!(
                    "waited {timeout:?} for {what} at {}; the page says:\n{}",
                    self.url().unwrap_or_default(),
                    page.chars().take(3000).collect::<String>()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The visible text of the whole page.
    pub fn text_of_page(&self) -> Result<String> {
        Ok(self
            .execute(
                "return document.body ? document.body.innerText : '';",
                vec![],
            )?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// An element's visible text.
    pub fn text(&self, element: &Element) -> Result<String> {
        Ok(self
            .session_command("GET", &format!("/element/{}/text", element.0), None)?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// An element's DOM property (`value`, `href`, …), as JSON.
    pub fn property(&self, element: &Element, name: &str) -> Result<Value> {
        self.session_command(
            "GET",
            &format!("/element/{}/property/{name}", element.0),
            None,
        )
    }

    /// Clicks an element.
    pub fn click(&self, element: &Element) -> Result<()> {
        self.session_command("POST", &format!("/element/{}/click", element.0), None)?;
        Ok(())
    }

    /// Types into an element, as a keyboard would (each key fires its events).
    pub fn send_keys(&self, element: &Element, text: &str) -> Result<()> {
        self.session_command(
            "POST",
            &format!("/element/{}/value", element.0),
            Some(json!({"text": text})),
        )?;
        Ok(())
    }

    /// Presses keys on whatever has the focus (WebDriver key codes such as `\u{E004}` for Tab).
    pub fn press(&self, keys: &str) -> Result<()> {
        let mut actions = Vec::new();
        for key in keys.chars() {
            actions.push(json!({"type": "keyDown", "value": key.to_string()}));
            actions.push(json!({"type": "keyUp", "value": key.to_string()}));
        }
        self.session_command(
            "POST",
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        )?;
        Ok(())
    }

    /// The element that has the keyboard focus.
    pub fn focused(&self) -> Result<Element> {
        let found = self.session_command("GET", "/element/active", None)?;
        found[ELEMENT]
            .as_str()
            .map(|id| Element(id.to_owned()))
            .context("no element has the focus")
    }

    /// Runs a script in the page and answers its return value.
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.session_command(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// A PNG of the viewport, written to `path`.
    pub fn screenshot(&self, path: &Path) -> Result<()> {
        let encoded = self.session_command("GET", "/screenshot", None)?;
        let png = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            encoded.as_str().context("the screenshot is not a string")?,
        )
        .context("decoding the screenshot")?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(path, png).with_context(|| format!("writing {}", path.display()))
    }
}

impl Element {
    /// Wraps an element reference answered by a script (`{"element-6066…": id}`).
    pub fn from_json(value: &Value) -> Option<Element> {
        value[ELEMENT].as_str().map(|id| Element(id.to_owned()))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.command("DELETE", &format!("/session/{}", self.session), None);
        }
        if let Some(driver) = self.driver.take() {
            let _ = driver.stop();
        }
    }
}
