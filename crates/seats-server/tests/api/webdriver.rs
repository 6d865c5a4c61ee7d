//! Just enough of the W3C WebDriver protocol to drive headless Chromium through Debian's
//! `chromedriver`: navigate, find, click, type, press keys, run a script, take a screenshot.
//!
//! Without `chromedriver` the browser tests say they skip, unless
//! `SEATS_REQUIRE_BROWSER_TESTS=1` (set by `.ci/run`, which installs it) makes that a failure.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub const TAB: &str = "\u{E004}";
pub const ENTER: &str = "\u{E007}";

/// `chromedriver` on a free port, stopped on drop.
pub struct Driver {
    child: Child,
    base: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_program(env: &str, default: &str) -> Option<String> {
    let path = std::env::var(env).unwrap_or_else(|_| default.to_owned());
    std::path::Path::new(&path).exists().then_some(path)
}

impl Driver {
    /// Starts `chromedriver` (`SEATS_CHROMEDRIVER`, else `/usr/bin/chromedriver`); `None`,
    /// having said so, when it or Chromium is not installed and the tests may skip.
    pub async fn start() -> Option<Driver> {
        let driver = find_program("SEATS_CHROMEDRIVER", "/usr/bin/chromedriver");
        let chromium = find_program("SEATS_CHROMIUM", "/usr/bin/chromium");
        let (Some(driver), Some(_)) = (driver, chromium) else {
            let required = std::env::var("SEATS_REQUIRE_BROWSER_TESTS").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "SEATS_REQUIRE_BROWSER_TESTS=1 but chromium or chromedriver is missing (apt-get install chromium chromium-driver)"
            );
            eprintln!("skipping the browser tests: chromium and chromium-driver are not installed");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = client.get(format!("{}/status", driver.base)).send().await;
            if let Ok(resp) = ready {
                let status: Value = resp.json().await.unwrap_or_default();
                if status["value"]["ready"] == json!(true) {
                    return Some(driver);
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A new headless browser window.
    pub async fn session(&self) -> Session {
        let chromium = find_program("SEATS_CHROMIUM", "/usr/bin/chromium").expect("chromium");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--lang=en-US"]}}}});
        let resp: Value = client
            .post(format!("{}/session", self.base))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = resp["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {resp}"))
            .to_owned();
        Session {
            client,
            base: format!("{}/session/{id}", self.base),
        }
    }
}

/// One browser window.
pub struct Session {
    client: reqwest::Client,
    base: String,
}

/// An element of the current page.
#[derive(Clone)]
pub struct Element(String);

impl Session {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp: Value = req.send().await.unwrap().json().await.unwrap();
        if resp["value"].get("error").is_some() {
            panic!("WebDriver {path}: {}", resp["value"]);
        }
        resp["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({"url": url})).await;
    }

    pub async fn url(&self) -> String {
        self.get("/url").await.as_str().unwrap().to_owned()
    }

    pub async fn find(&self, css: &str) -> Element {
        let v = self
            .post("/element", json!({"using": "css selector", "value": css}))
            .await;
        Element(v[ELEMENT].as_str().unwrap_or_else(|| panic!("{css}: {v}")).to_owned())
    }

    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        let v = self
            .post("/elements", json!({"using": "css selector", "value": css}))
            .await;
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| Element(e[ELEMENT].as_str().unwrap().to_owned()))
            .collect()
    }

    /// The visible text of every element matching `css`.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.find_all(css).await {
            out.push(self.text(&e).await);
        }
        out
    }

    pub async fn text(&self, e: &Element) -> String {
        self.get(&format!("/element/{}/text", e.0))
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn click(&self, e: &Element) {
        self.post(&format!("/element/{}/click", e.0), json!({})).await;
    }

    pub async fn type_into(&self, e: &Element, text: &str) {
        self.post(&format!("/element/{}/value", e.0), json!({"text": text}))
            .await;
    }

    /// Presses keys on the keyboard, wherever the focus is.
    pub async fn press(&self, keys: &str) {
        let mut actions = Vec::new();
        for key in keys.chars() {
            actions.push(json!({"type": "keyDown", "value": key.to_string()}));
            actions.push(json!({"type": "keyUp", "value": key.to_string()}));
        }
        self.post(
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        )
        .await;
    }

    /// Runs `script` (a function body) in the page and returns what it returns.
    pub async fn script(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": []})).await
    }

    /// A short description of the focused element: tag, id or text.
    pub async fn focused(&self) -> String {
        self.script(
            "const e = document.activeElement; \
             return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' ' + (e.innerText || e.value || '').trim().slice(0, 40);",
        )
        .await
        .as_str()
        .unwrap()
        .to_owned()
    }

    /// Waits for the page at `url_part` to have loaded (forms submit asynchronously to the
    /// driver's commands).
    pub async fn wait_for_url(&self, url_part: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = self.script("return document.readyState").await;
            if self.url().await.contains(url_part) && ready == json!("complete") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "never reached {url_part}: at {}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves a PNG of the window to `path`.
    pub async fn screenshot(&self, path: &std::path::Path) {
        let data = self.get("/screenshot").await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(path, png).unwrap();
    }

    pub async fn close(self) {
        self.call(reqwest::Method::DELETE, "", None).await;
    }
}
