//! A real browser for tests: Debian's Chromium, driven over WebDriver by `chromedriver`,
//! headless with a fresh profile. A small client over the W3C WebDriver HTTP API is all the
//! tests need (navigate, find, type, click, read, screenshot).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use tempfile::TempDir;

/// One headless Chromium session; the browser and its driver are killed on drop.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: TempDir,
}

/// The W3C element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    /// Starts `chromedriver` (`CHROMEDRIVER`, default `/usr/bin/chromedriver`) and a
    /// headless `chromium` (`CHROMIUM`, default `/usr/bin/chromium`) with a new profile.
    pub async fn start() -> anyhow::Result<Self> {
        let driver_bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let port = crate::free_port();
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| anyhow::anyhow!("{driver_bin}: {e} (apt-get install chromium chromium-driver)"))?;
        let profile = tempfile::tempdir()?;
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().await.is_err() {
            anyhow::ensure!(Instant::now() < deadline, "chromedriver did not answer");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                     "--window-size=1280,900", format!("--user-data-dir={}", profile.path().display())],
        }}}});
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await?
            .json()
            .await?;
        let session = created["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("no WebDriver session: {created}"))?
            .to_owned();
        Ok(Self {
            driver,
            base,
            session,
            http,
            _profile: profile,
        })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method, url);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let reply: Value = req.send().await?.json().await?;
        if let Some(error) = reply["value"]["error"].as_str() {
            anyhow::bail!("WebDriver {path}: {error}: {}", reply["value"]["message"]);
        }
        Ok(reply["value"].clone())
    }

    /// Navigates to `url`.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await
            .map(drop)
    }

    /// The current URL.
    pub async fn url(&self) -> anyhow::Result<String> {
        Ok(self
            .call(reqwest::Method::GET, "/url", None)
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// The page's HTML as the browser sees it now.
    pub async fn source(&self) -> anyhow::Result<String> {
        Ok(self
            .call(reqwest::Method::GET, "/source", None)
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    async fn find(&self, css: &str) -> anyhow::Result<String> {
        let el = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await?;
        el[ELEMENT]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("no element {css}: {el}"))
    }

    /// Types `text` into the element matching `css`.
    pub async fn type_into(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let el = self.find(css).await?;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{el}/value"),
            Some(json!({"text": text})),
        )
        .await
        .map(drop)
    }

    /// Resizes the window (e.g. 390×844 for a phone).
    pub async fn resize(&self, width: u32, height: u32) -> anyhow::Result<()> {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await
        .map(drop)
    }

    /// Whether the page scrolls sideways (content wider than the window).
    pub async fn overflows_horizontally(&self) -> anyhow::Result<bool> {
        let v = self
            .call(
                reqwest::Method::POST,
                "/execute/sync",
                Some(json!({"script": "return document.documentElement.scrollWidth > window.innerWidth;", "args": []})),
            )
            .await?;
        Ok(v.as_bool().unwrap_or(true))
    }

    /// Whether the element matching `css` scrolls sideways (its content wider than it): the
    /// console's page scrolls in `#main`, not in the window.
    pub async fn scrolls_horizontally(&self, css: &str) -> anyhow::Result<bool> {
        let el = self.find(css).await?;
        let v = self
            .call(
                reqwest::Method::POST,
                "/execute/sync",
                Some(json!({
                    "script": "return arguments[0].scrollWidth > arguments[0].clientWidth;",
                    "args": [{ELEMENT: el}],
                })),
            )
            .await?;
        Ok(v.as_bool().unwrap_or(true))
    }

    /// Empties the input matching `css`.
    pub async fn clear(&self, css: &str) -> anyhow::Result<()> {
        let el = self.find(css).await?;
        self.call(reqwest::Method::POST, &format!("/element/{el}/clear"), Some(json!({})))
            .await
            .map(drop)
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        let el = self.find(css).await?;
        self.call(reqwest::Method::POST, &format!("/element/{el}/click"), Some(json!({})))
            .await
            .map(drop)
    }

    /// Waits (bounded) until the URL starts with `prefix`; returns it.
    pub async fn wait_for_url(&self, prefix: &str, limit: Duration) -> anyhow::Result<String> {
        let deadline = Instant::now() + limit;
        loop {
            let url = self.url().await?;
            if url.starts_with(prefix) {
                return Ok(url);
            }
            anyhow::ensure!(Instant::now() < deadline, "still at {url}, expected {prefix}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (bounded) until the page holds `text` (after a form post, say); returns the
    /// page.
    pub async fn wait_for_text(&self, text: &str, limit: Duration) -> anyhow::Result<String> {
        let deadline = Instant::now() + limit;
        loop {
            let page = self.source().await?;
            if page.contains(text) {
                return Ok(page);
            }
            anyhow::ensure!(Instant::now() < deadline, "the page never showed {text:?}: {page}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (bounded) until the page no longer holds `text` (a notice gone, a live view
    /// settled); returns the page.
    pub async fn wait_for_no_text(&self, text: &str, limit: Duration) -> anyhow::Result<String> {
        let deadline = Instant::now() + limit;
        loop {
            let page = self.source().await?;
            if !page.contains(text) {
                return Ok(page);
            }
            anyhow::ensure!(Instant::now() < deadline, "the page still shows {text:?}: {page}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The handle of the window (tab) the session drives.
    pub async fn window(&self) -> anyhow::Result<String> {
        Ok(self
            .call(reqwest::Method::GET, "/window", None)
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// The handles of every open window (tab), in the order they were opened.
    pub async fn windows(&self) -> anyhow::Result<Vec<String>> {
        let handles = self.call(reqwest::Method::GET, "/window/handles", None).await?;
        Ok(handles
            .as_array()
            .map(|a| a.iter().filter_map(|h| h.as_str().map(str::to_owned)).collect())
            .unwrap_or_default())
    }

    /// Waits (bounded) until `count` windows (tabs) are open (a page opened one); returns
    /// their handles.
    pub async fn wait_for_windows(&self, count: usize, limit: Duration) -> anyhow::Result<Vec<String>> {
        let deadline = Instant::now() + limit;
        loop {
            let handles = self.windows().await?;
            if handles.len() >= count {
                return Ok(handles);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{} window(s) open, expected {count}",
                handles.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Drives the window (tab) `handle` from now on.
    pub async fn switch_to_window(&self, handle: &str) -> anyhow::Result<()> {
        self.call(reqwest::Method::POST, "/window", Some(json!({"handle": handle})))
            .await
            .map(drop)
    }

    /// Saves a PNG screenshot as a test artifact under `target/e2e-artifacts/` (next to the
    /// test binaries) and returns its path.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap_or_default())?;
        let dir = artifacts_dir();
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, bytes)?;
        Ok(path)
    }
}

/// `target/e2e-artifacts`, beside the profile directory of the running test binary.
pub fn artifacts_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().and_then(Path::parent).map(|p| p.join("e2e-artifacts")))
        .unwrap_or_else(|| PathBuf::from("e2e-artifacts"))
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Closing the session ends Chromium; killing the driver ends the rest.
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            rt.block_on(async { reqwest::Client::new().delete(url).send().await.map(drop) })
                .map_err(std::io::Error::other)
        })
        .join();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
