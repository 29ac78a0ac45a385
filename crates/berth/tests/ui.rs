//! `berth ui` in a real browser: containers run in a lab, `berth ui`
//! serves the page on the lab's loopback, and headless Chromium (Debian's
//! `chromium`, driven by `chromedriver` over WebDriver, both inside the lab
//! so that 127.0.0.1 is the lab's) opens it. The page must show the
//! containers, the bridge and a published port, then lose a container
//! removed with `berth rm` without a reload; a veth berth does not know of
//! is flagged among the problems. A screenshot is saved as
//! `target/ui-screenshot.png`. Skipped, saying so, only when Chromium
//! cannot start at all (CI installs it: scripts/deps).

mod common;
use common::{B, BERTH};
use std::process::Stdio;
use std::time::{Duration, Instant};

const UI: &str = "127.0.0.1:8901";
const DRIVER: &str = "http://127.0.0.1:9516";

/// A WebDriver session driven with curl inside the lab.
struct Browser<'a> {
    b: &'a B,
    session: String,
}

impl<'a> Browser<'a> {
    /// `curl -X METHOD` of a WebDriver endpoint with a JSON body; the reply.
    fn call(b: &B, method: &str, path: &str, body: &serde_json::Value) -> serde_json::Value {
        let file = b.lab.root().join("webdriver-body.json");
        std::fs::write(&file, body.to_string()).unwrap();
        let out = b.sh(&format!(
            "curl -s -m 30 -X {method} -H 'Content-Type: application/json' --data @{} {DRIVER}{path}",
            file.display()
        ));
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{method} {path}: {e}: {out}"))
    }

    fn start(b: &'a B) -> Option<Browser<'a>> {
        let profile = b.lab.root().join("chromium-profile");
        let caps = serde_json::json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", "--window-size=1400,1400",
                     format!("--user-data-dir={}", profile.display())]
        }}}});
        let reply = Browser::call(b, "POST", "/session", &caps);
        match reply["value"]["sessionId"].as_str() {
            Some(id) => Some(Browser {
                b,
                session: id.to_string(),
            }),
            None => {
                skip(&format!("chromium cannot start: {reply}"));
                None
            }
        }
    }

    fn post(&self, what: &str, body: serde_json::Value) -> serde_json::Value {
        let path = format!("/session/{}/{what}", self.session);
        Browser::call(self.b, "POST", &path, &body)["value"].clone()
    }

    /// Runs `script` in the page (`return …`) and returns its value.
    fn eval(&self, script: &str) -> serde_json::Value {
        self.post(
            "execute/sync",
            serde_json::json!({"script": script, "args": []}),
        )
    }

    /// Waits until `script` returns true: up to 60 s, a bound for a hung
    /// page, not a speed claim (Chromium on a loaded 2-core machine).
    fn until(&self, what: &str, script: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.eval(script) == serde_json::Value::Bool(true) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let text = self.eval("return document.body.innerText");
        panic!(
            "the page never showed {what}; it shows:\n{}",
            text.as_str().unwrap_or("")
        );
    }

    /// Saves a PNG screenshot of the page at `path`.
    fn screenshot(&self, path: &std::path::Path) {
        let out = self.b.sh(&format!(
            "curl -s -m 30 {DRIVER}/session/{}/screenshot | jq -r .value | base64 -d > {}",
            self.session,
            path.display()
        ));
        assert!(out.is_empty(), "{out}");
    }
}

impl Drop for Browser<'_> {
    fn drop(&mut self) {
        let path = format!("/session/{}", self.session);
        self.b
            .lab
            .sh(&format!("curl -s -m 10 -X DELETE {DRIVER}{path}"));
    }
}

/// Skips the test with `why`, except in CI (`CI` set), which installs
/// Chromium and must run it.
fn skip(why: &str) {
    berth_lab::tool_available(false, why);
}

/// A process of the test, killed and reaped when dropped.
struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `target/` of this build (the test binary is in `target/debug/deps`).
fn target_dir() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_path_buf()
}

#[test]
fn the_live_page_follows_containers_in_a_browser() {
    let b = B::new("ui-browser");
    if !b.try_sh("command -v chromium && command -v chromedriver") {
        skip("chromium or chromedriver is not installed (scripts/deps installs them)");
        return;
    }
    b.ok("network create --subnet 192.0.2.0/24 appnet");
    b.ok("run -d --name web --network appnet -p 8080:80 busybox httpd -f -p 80 -h /etc");
    b.sleeper("cache", "--network appnet --network-alias redis");
    let bridge =
        b.ok("network inspect -f '{{index .Options \"com.docker.network.bridge.name\"}}' appnet");
    let _ui = Daemon(
        b.lab
            .command(BERTH)
            .args(["ui", "--listen", UI])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("berth ui"),
    );
    let _driver = Daemon(
        b.lab
            .command("chromedriver")
            .args(["--port=9516", "--log-level=OFF"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver"),
    );
    assert!(
        b.eventually(&format!(
            "curl -sf http://{UI}/api/topology >/dev/null && curl -sf {DRIVER}/status >/dev/null"
        )),
        "berth ui or chromedriver did not come up"
    );
    let Some(browser) = Browser::start(&b) else {
        return;
    };
    browser.post("url", serde_json::json!({"url": format!("http://{UI}/")}));
    browser.until(
        "web, cache, the bridge and the published port",
        &format!(
            "const t = document.body.innerText; return !!document.getElementById('ctr-web') && !!document.getElementById('ctr-cache') && t.includes('{}') && t.includes('0.0.0.0:8080->80/tcp') && t.includes('redis')",
            bridge.trim()
        ),
    );
    // A veth berth does not know of, on its bridge: flagged on the page.
    b.sh(&format!(
        "ip link add vethleak0 type veth peer name vethleak1 && ip link set vethleak0 master {} up",
        bridge.trim()
    ));
    browser.until(
        "the leaked veth among the problems",
        "const p = document.getElementById('problems'); return !p.classList.contains('hidden') && p.innerText.includes('leaked-veth') && p.innerText.includes('vethleak0')",
    );
    browser.until(
        "the diagram",
        "const i = document.getElementById('diagram-img'); return i.complete && i.naturalWidth > 0",
    );
    let shot = target_dir().join("ui-screenshot.png");
    browser.screenshot(&shot);
    println!("screenshot: {}", shot.display());
    b.ok("rm -f web");
    browser.until(
        "web gone after berth rm",
        "return !document.getElementById('ctr-web') && !!document.getElementById('ctr-cache')",
    );
    drop(browser);
}

#[test]
fn a_non_loopback_address_needs_allow_remote() {
    let b = B::new("ui-remote");
    let err = b.fails("ui --listen 0.0.0.0:8902");
    assert!(
        err.contains("not a loopback address") && err.contains("--allow-remote"),
        "{err}"
    );
}

#[test]
fn only_reads_addressed_to_the_server_are_answered() {
    let b = B::new("ui-host");
    let ui = "127.0.0.1:8903";
    let _ui = Daemon(
        b.lab
            .command(BERTH)
            .args(["ui", "--listen", ui])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("berth ui"),
    );
    let status = |args: &str| {
        b.sh(&format!(
            "curl -s -o /dev/null -w '%{{http_code}}' -m 5 {args} http://{ui}/api/topology"
        ))
    };
    assert!(
        b.eventually(&format!("curl -sf http://{ui}/api/topology >/dev/null")),
        "berth ui did not come up"
    );
    // Addressed to it: answered.
    assert_eq!(status(""), "200");
    assert_eq!(status("-H 'Host: localhost:8903'"), "200");
    // A name a page could have rebound to 127.0.0.1: refused.
    assert_eq!(status("-H 'Host: evil.example'"), "421");
    assert_eq!(status("-H 'Host: evil.example:8903'"), "421");
    // Not a read: refused, with what is allowed.
    assert_eq!(status("-X POST -d x"), "405");
    assert_eq!(status("-X DELETE"), "405");
    let allow = b.sh(&format!("curl -s -D - -o /dev/null -X PUT http://{ui}/"));
    assert!(
        allow.to_ascii_lowercase().contains("allow: get, head"),
        "{allow}"
    );
    assert_eq!(status(""), "200");
}
