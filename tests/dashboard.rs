//! The dashboard (`/_sandbox/ui`) end to end: the real binary, and the page in headless
//! Chromium driven over WebDriver (ChromeDriver, through fantoccini). The page shows the
//! app's resources; a message sent from the page runs its handler and the page shows it
//! without a reload; a change made elsewhere reaches the open page by itself (server-sent
//! events); an alarm is highlighted when its dead-letter queue fills.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`./test.sh` installs them when
//! missing). Every wait is on a condition in the page, bounded. With
//! `SANDBOX_SCREENSHOTS=1` the screenshots are also written to `docs/` (the README's);
//! they are always written under the target directory.

use crate::common;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use sandbox_testing::Sandbox;
use serde_json::{json, Value};

/// The longest any one condition in the page may take (two loaded cores, a cold
/// Chromium).
const PATIENCE: Duration = Duration::from_secs(30);

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A ChromeDriver process, a headless Chromium session, and a runtime to drive them from
/// these synchronous tests. Dropping it ends the session and the driver.
struct Browser {
    runtime: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Browser {
        for tool in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(tool).exists(),
                "{tool} is missing: the dashboard tests drive Debian's Chromium; install it with \
                 `apt-get install chromium chromium-driver` (./test.sh does this when run as root)"
            );
        }
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < PATIENCE,
                "chromedriver did not listen on port {port} within {PATIENCE:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // As root and on a closed network: no sandbox, and none of Chromium's background
        // connections (they would be refused, many at a time).
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1400,1100",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let client = runtime
            .block_on(
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(capabilities)
                    .connect(&format!("http://127.0.0.1:{port}")),
            )
            .expect("starting a Chromium session through chromedriver");
        Browser {
            runtime,
            client: Some(client),
            driver,
            _profile: profile,
        }
    }

    fn client(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    fn open(&self, sandbox: &Sandbox) {
        let url = sandbox.url("/_sandbox/ui");
        self.runtime.block_on(self.client().goto(&url)).unwrap();
        // The first fetch has filled the page, and the event stream is open.
        self.wait_for(
            "the page's first load and its live connection",
            "return Number(document.body.dataset.refreshes || 0) > 0 \
             && document.getElementById('live').textContent === 'live'",
        );
    }

    /// Runs `script` (a function body) in the page and returns what it returns.
    fn eval(&self, script: &str) -> Value {
        self.runtime
            .block_on(self.client().execute(script, vec![]))
            .unwrap_or_else(|e| panic!("running `{script}` in the page: {e}"))
    }

    /// Waits until `script` returns true in the page, at most [`PATIENCE`].
    fn wait_for(&self, what: &str, script: &str) {
        let started = Instant::now();
        loop {
            if self.eval(script) == Value::Bool(true) {
                return;
            }
            if started.elapsed() > PATIENCE {
                let notice = self.text("#notice");
                panic!("waited {PATIENCE:?} for {what}; the page's notice says {notice:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn text(&self, css: &str) -> String {
        self.runtime.block_on(async {
            match self.client().find(Locator::Css(css)).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            }
        })
    }

    /// Clicks the element, found afresh: a table the page has just redrawn leaves the
    /// element found a moment ago stale, so that is tried again (bounded).
    fn click(&self, css: &str) {
        let started = Instant::now();
        loop {
            let clicked = self
                .runtime
                .block_on(async { self.client().find(Locator::Css(css)).await?.click().await });
            match clicked {
                Ok(()) => return,
                Err(e) if started.elapsed() > PATIENCE => panic!("clicking {css}: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    fn type_into(&self, css: &str, text: &str) {
        self.runtime
            .block_on(async {
                let element = self.client().find(Locator::Css(css)).await?;
                element.clear().await?;
                element.send_keys(text).await
            })
            .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
    }

    fn choose(&self, css: &str, value: &str) {
        self.runtime
            .block_on(async {
                self.client()
                    .find(Locator::Css(css))
                    .await?
                    .select_by_value(value)
                    .await
            })
            .unwrap_or_else(|e| panic!("choosing {value} in {css}: {e}"));
    }

    /// Saves a screenshot of the page as `name` under the target directory and, with
    /// `SANDBOX_SCREENSHOTS=1`, in `docs/`.
    fn screenshot(&self, name: &str) {
        let png = self
            .runtime
            .block_on(self.client().screenshot())
            .expect("taking a screenshot");
        let mut places = vec![PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard")];
        if std::env::var("SANDBOX_SCREENSHOTS").is_ok_and(|v| v == "1") {
            places.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs"));
        }
        for dir in places {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(name), &png).unwrap();
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = self.runtime.block_on(client.close());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A JavaScript expression: the text of the first element matching `css`, or "".
fn text_of(css: &str) -> String {
    format!("(document.querySelector({css:?}) || {{textContent: ''}}).textContent")
}

#[test]
fn the_page_shows_the_app_and_updates_itself_when_a_message_it_sent_is_handled() {
    let sandbox = common::manual("alarms");
    let browser = Browser::start();
    browser.open(&sandbox);

    // Every resource of the app, from the same endpoints scripts use.
    assert_eq!(browser.text("#app-name"), "alarms");
    let queues = browser.eval(
        "return [...document.querySelectorAll('#queues tbody tr')].map(r => r.dataset.queue)",
    );
    assert_eq!(queues, json!(["backlog", "ok", "poison", "poison-dlq"]));
    assert_eq!(
        browser.text("#queues tr[data-queue='poison'] td.dlq"),
        "poison-dlq: 0"
    );
    let alarms = browser.eval(
        "return [...document.querySelectorAll('#alarms tbody tr')].map(r => [r.dataset.alarm, r.querySelector('.state').textContent])",
    );
    assert_eq!(alarms.as_array().unwrap().len(), 4, "{alarms}");
    assert!(
        alarms.as_array().unwrap().iter().all(|a| a[1] == "ok"),
        "{alarms}"
    );
    assert!(
        browser.text("#streams tbody").contains("clicks"),
        "the stream and its consumer are listed"
    );
    assert_eq!(browser.text("#clock-now"), common::START);
    assert!(browser.text("#functions tbody").contains("queues/ok"));

    // Send from the page; the handler runs; the page shows it without being reloaded.
    browser.eval("window.notReloaded = true; return null");
    browser.choose("#send-queue", "ok");
    browser.type_into("#send-body", "sent from the page");
    browser.click("#send-button");
    browser.wait_for(
        "the handler's invocation in the page",
        "return !!document.querySelector('#invocations tr[data-function=\"queues/ok\"][data-outcome=\"success\"]')",
    );
    let records = sandbox.invocations(Some("queues/ok"), 10).unwrap();
    assert_eq!(records.len(), 1, "one delivery: {records:?}");
    browser.click("#invocations tr[data-function='queues/ok']");
    browser.wait_for(
        "the invocation's logs",
        &format!(
            "return {}.includes('sent from the page')",
            text_of("#invocation-detail pre.logs")
        ),
    );
    assert_eq!(
        browser.eval("return window.notReloaded === true"),
        json!(true)
    );

    // A change made elsewhere reaches the open page by itself (the event stream).
    let refreshes = browser.eval("return Number(document.body.dataset.refreshes)");
    sandbox.send("backlog", "from a script").unwrap();
    browser.wait_for(
        "the backlog queue's new message, pushed to the page",
        &format!(
            "return {} === '1'",
            text_of("#queues tr[data-queue='backlog'] td.visible")
        ),
    );
    assert!(
        browser
            .eval("return Number(document.body.dataset.refreshes)")
            .as_u64()
            > refreshes.as_u64()
    );
    assert_eq!(
        browser.eval("return window.notReloaded === true"),
        json!(true)
    );
    browser.screenshot("dashboard.png");
}

#[test]
fn an_alarm_is_highlighted_when_its_dead_letter_queue_fills() {
    let sandbox = common::manual("alarms");
    sandbox.send("poison", "poisoned").unwrap();
    sandbox.drain(Duration::from_secs(10)).unwrap();
    let browser = Browser::start();
    browser.open(&sandbox);
    assert_eq!(
        browser.eval("return document.getElementById('alarm-banner').hidden"),
        json!(true)
    );

    // Past the visibility timeout (moved from the page) the message is dead-lettered.
    browser.type_into("#advance-by", "10s");
    browser.click("#advance-button");
    browser.wait_for(
        "the dead-letter alarm in the banner",
        "const b = document.getElementById('alarm-banner'); \
         return !b.hidden && !!b.querySelector('[data-alarm=\"queue/poison deadLetters\"]')",
    );
    assert!(
        browser
            .text("#alarm-banner")
            .contains("dead-letter queue poison-dlq holds 1 message(s)"),
        "{}",
        browser.text("#alarm-banner")
    );
    assert_eq!(
        browser.eval(
            "return document.querySelector('#alarms tr[data-alarm=\"queue/poison deadLetters\"]').className"
        ),
        json!("firing")
    );
    assert_eq!(
        browser
            .eval("return document.querySelector('#queues tr[data-queue=\"poison\"]').className"),
        json!("firing")
    );
    assert_eq!(browser.text("#clock-now"), "2030-01-01T00:00:10Z");

    // What sits in the dead-letter queue, from the page.
    browser.click("#queues tr[data-queue='poison-dlq'] td.actions button");
    browser.wait_for(
        "the dead-lettered message",
        &format!("return {}.includes('poisoned')", text_of("#peek tbody")),
    );
    browser.screenshot("dashboard-alarm.png");

    // Purge it from the page: the alarm clears.
    browser.eval(
        "[...document.querySelectorAll('#queues tr[data-queue=\"poison-dlq\"] button')].find(b => b.textContent === 'purge').click(); return null",
    );
    browser.wait_for(
        "the alarm to clear once the dead-letter queue is empty",
        "return document.getElementById('alarm-banner').hidden",
    );
    assert_eq!(sandbox.peek("poison-dlq").unwrap().len(), 0);
    assert_eq!(
        browser
            .eval("return document.querySelector('#queues tr[data-queue=\"poison\"]').className"),
        json!("")
    );
}

/// A raw HTTP connection to the sandbox, read as it arrives.
struct Raw {
    stream: TcpStream,
    seen: String,
}

impl Raw {
    fn send(sandbox: &Sandbox, request: &str) -> Raw {
        use std::io::Write;
        let address = sandbox.base_url().trim_start_matches("http://").to_string();
        let mut stream = TcpStream::connect(&address).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream
            .write_all(request.replace("{host}", &address).as_bytes())
            .unwrap();
        Raw {
            stream,
            seen: String::new(),
        }
    }

    /// Reads until `needle` has arrived (or the connection ends, or [`PATIENCE`]).
    fn until(&mut self, needle: &str) -> &str {
        use std::io::Read;
        let mut buf = [0u8; 4096];
        while !self.seen.contains(needle) {
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => self.seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
        &self.seen
    }
}

#[test]
fn the_page_and_its_event_stream_keep_the_control_api_rules() {
    let sandbox = common::manual("alarms");
    let page = sandbox.get("/_sandbox/ui").unwrap();
    assert_eq!(page.status, 200);
    let header = |name: &str| {
        page.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert!(header("content-type").starts_with("text/html"));
    let csp = header("content-security-policy");
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let script = sandbox.get("/_sandbox/ui/app.js").unwrap();
    assert_eq!(script.status, 200);
    assert!(String::from_utf8_lossy(&script.body).contains("/_sandbox/events"));
    assert_eq!(sandbox.get("/_sandbox/ui/nope.js").unwrap().status, 404);
    assert_eq!(
        sandbox
            .request(
                "POST",
                "/_sandbox/ui",
                &[("content-type", "application/json")],
                b"{}"
            )
            .unwrap()
            .status,
        405
    );
    // Listed with every other endpoint.
    let listing = sandbox.get("/_sandbox/nope").unwrap().json().unwrap();
    assert!(listing["endpoints"]
        .as_array()
        .unwrap()
        .contains(&json!("GET /_sandbox/ui")));

    // A page reached through a rebound DNS name gets nothing.
    let mut rebound = Raw::send(
        &sandbox,
        "GET /_sandbox/ui HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    );
    let rebound = rebound.until("never sent");
    assert!(rebound.starts_with("HTTP/1.1 403"), "{rebound}");

    // The event stream says "changed" at once, then again when something changes.
    let mut events = Raw::send(
        &sandbox,
        "GET /_sandbox/events HTTP/1.1\r\nHost: {host}\r\n\r\n",
    );
    let first = events.until("data: 1\n\n").to_string();
    assert!(first.contains("content-type: text/event-stream"), "{first}");
    assert!(first.contains("event: changed\ndata: 1\n\n"), "{first}");
    sandbox.send("backlog", "a change").unwrap();
    let second = events.until("data: 2\n\n");
    assert!(second.contains("event: changed\ndata: 2\n\n"), "{second}");
}
