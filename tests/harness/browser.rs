//! A real headless Chromium for tests of the dashboard, driven over the DevTools protocol:
//! open a page, run JavaScript in it, click and type, wait for a condition, take a
//! screenshot, and collect what went wrong in the page (console errors, uncaught
//! exceptions, error log entries).
//!
//! A browser has the machine to itself ([`crate::turn::alone`]): each is a dozen
//! processes, and the build machine has two cores, so neither another browser nor a test
//! that counts milliseconds runs beside it.

use crate::turn::{self, Turn};
use anyhow::{Context, Result, anyhow};
use chromiumoxide::browser::{Browser as Chromium, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::log::{EventEntryAdded, LogEntryLevel};
use chromiumoxide::cdp::js_protocol::runtime::{
    ConsoleApiCalledType, EventConsoleApiCalled, EventExceptionThrown,
};
use chromiumoxide::element::Element;
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::page::{Page, ScreenshotParams};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// Where Debian's `chromium` package puts the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// What every test's page sees: the viewport of a common laptop screen, exactly (the
/// window around it is larger by the browser's own frame).
pub const WINDOW: (u32, u32) = (1366, 768);

/// Something that went wrong inside the page.
#[derive(Debug, Clone)]
pub struct PageProblem {
    /// `console`, `exception` or the log entry's source (`network`, `security`, ...).
    pub source: String,
    /// What the page said.
    pub text: String,
    /// The resource it concerns, when known.
    pub url: Option<String>,
}

impl std::fmt::Display for PageProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", self.source, self.text)?;
        if let Some(url) = &self.url {
            write!(f, " ({url})")?;
        }
        Ok(())
    }
}

/// A headless Chromium with one page; the process ends when this is dropped.
pub struct Browser {
    chromium: Chromium,
    page: Page,
    problems: Arc<Mutex<Vec<PageProblem>>>,
    tasks: Vec<JoinHandle<()>>,
    _profile: tempfile::TempDir,
    _turn: Turn,
}

impl Browser {
    /// Starts Chromium with a fresh profile and opens a blank page, once no other test
    /// holds a turn on the machine ([`crate::turn::alone`]; a test that makes an `Env`
    /// first takes that itself, before the `Env`).
    ///
    /// Panics with how to install it when `/usr/bin/chromium` is missing: the dashboard
    /// tests must not pass without a browser.
    pub async fn launch() -> Browser {
        assert!(
            Path::new(CHROMIUM).exists(),
            "the dashboard tests need Chromium at {CHROMIUM}: install it with \
             `apt-get install chromium chromium-driver` (.ci/run does this in CI)"
        );
        Self::try_launch()
            .await
            .unwrap_or_else(|e| panic!("starting Chromium ({CHROMIUM}): {e:#}"))
    }

    async fn try_launch() -> Result<Browser> {
        let alone = turn::alone();
        let profile = tempfile::tempdir().context("a profile folder for Chromium")?;
        // Without the background-networking flags Chromium tries to reach its own services,
        // which a closed network refuses.
        let config = BrowserConfig::builder()
            .chrome_executable(CHROMIUM)
            .no_sandbox()
            .user_data_dir(profile.path())
            .window_size(WINDOW.0, WINDOW.1)
            .viewport(Viewport {
                width: WINDOW.0,
                height: WINDOW.1,
                device_scale_factor: Some(1.0),
                ..Viewport::default()
            })
            .args([
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ])
            .launch_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| anyhow!("browser config: {e}"))?;
        let (chromium, mut handler) = Chromium::launch(config).await.context("launching")?;
        // The handler drives the connection; a message it cannot parse is not fatal.
        let mut tasks = vec![tokio::spawn(async move {
            while let Some(step) = handler.next().await {
                let _ = step;
            }
        })];
        let page = chromium
            .new_page("about:blank")
            .await
            .context("opening a page")?;
        page.enable_log().await.context("enabling the log domain")?;
        let problems = Arc::new(Mutex::new(Vec::new()));
        tasks.extend(collect_problems(&page, &problems).await?);
        Ok(Browser {
            chromium,
            page,
            problems,
            tasks,
            _profile: profile,
            _turn: alone,
        })
    }

    /// The page, for anything the helpers here do not cover.
    pub fn page(&self) -> &Page {
        &self.page
    }

    /// Navigates to `url` and waits for the load.
    pub async fn open(&self, url: &str) -> Result<()> {
        self.page
            .goto(url)
            .await
            .with_context(|| format!("opening {url}"))?;
        Ok(())
    }

    /// Evaluates a JavaScript expression (awaiting a promise) and returns its JSON value.
    pub async fn eval<T: DeserializeOwned>(&self, expression: &str) -> Result<T> {
        self.page
            .evaluate(expression)
            .await
            .with_context(|| format!("evaluating `{expression}`"))?
            .into_value()
            .with_context(|| format!("the value of `{expression}`"))
    }

    /// Polls a JavaScript condition every 20 ms until it is true or `timeout` passes;
    /// returns whether it became true.
    pub async fn wait_until(&self, condition: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(true) = self.eval::<bool>(&format!("Boolean({condition})")).await {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls like [`Browser::wait_until`] and panics, naming `what` and the page's problems,
    /// when the condition is still false after `timeout`.
    pub async fn expect(&self, condition: &str, timeout: Duration, what: &str) {
        if !self.wait_until(condition, timeout).await {
            panic!(
                "{what}: `{condition}` still false after {timeout:?}; page problems: {:?}",
                self.problems()
            );
        }
    }

    /// Clicks the element `selector` names (scrolled into view first), as a mouse would.
    pub async fn click(&self, selector: &str) -> Result<()> {
        self.clicked(selector).await.map(drop)
    }

    /// Clicks the element `selector` names and types `text` into it.
    pub async fn type_into(&self, selector: &str, text: &str) -> Result<()> {
        self.clicked(selector)
            .await?
            .type_str(text)
            .await
            .with_context(|| format!("typing into {selector}"))?;
        Ok(())
    }

    /// Finds and clicks the element; when the page replaces it between the two (it renders
    /// again as events arrive), finds the new one, a few times. A node that is gone fails
    /// before any mouse event is sent (in the lookup, the scroll or the search for a point
    /// to click), so nothing is clicked twice.
    async fn clicked(&self, selector: &str) -> Result<Element> {
        let mut tries = 1;
        loop {
            match self.click_once(selector).await {
                Err(e) if tries < 5 && replaced(&e) => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                clicked => return clicked,
            }
        }
    }

    async fn click_once(&self, selector: &str) -> Result<Element> {
        let element = self
            .page
            .find_element(selector)
            .await
            .with_context(|| format!("finding {selector}"))?;
        element
            .click()
            .await
            .with_context(|| format!("clicking {selector}"))?;
        Ok(element)
    }

    /// Writes a PNG of what the viewport shows (a person's view, 1366×768) to `path`.
    pub async fn screenshot(&self, path: impl AsRef<Path>) -> Result<PathBuf> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        self.page
            .save_screenshot(ScreenshotParams::builder().build(), &path)
            .await
            .with_context(|| format!("writing a screenshot to {}", path.display()))?;
        Ok(path)
    }

    /// What went wrong in the page so far.
    pub fn problems(&self) -> Vec<PageProblem> {
        self.problems
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Closes the browser and waits for its process to end.
    pub async fn close(mut self) {
        let _ = self.chromium.close().await;
        let _ = self.chromium.wait().await;
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The process itself is killed when `chromium` drops.
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Whether the click failed because the node left the document: the DevTools protocol
/// no longer knows it, or it has no box to click (chromiumoxide's words for a node without
/// content quads).
fn replaced(error: &anyhow::Error) -> bool {
    let text = format!("{error:#}");
    [
        "Could not find node with given id",
        "No node with given id found",
        "Node is detached from document",
        "Node is either not visible or not an HTMLElement",
    ]
    .iter()
    .any(|gone| text.contains(gone))
}

/// Listens for console errors, uncaught exceptions and error log entries of `page`.
async fn collect_problems(
    page: &Page,
    problems: &Arc<Mutex<Vec<PageProblem>>>,
) -> Result<Vec<JoinHandle<()>>> {
    let push = |problems: &Arc<Mutex<Vec<PageProblem>>>, problem: PageProblem| {
        problems
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(problem);
    };
    let mut console = page.event_listener::<EventConsoleApiCalled>().await?;
    let mut exceptions = page.event_listener::<EventExceptionThrown>().await?;
    let mut log = page.event_listener::<EventEntryAdded>().await?;
    let (a, b, c) = (problems.clone(), problems.clone(), problems.clone());
    Ok(vec![
        tokio::spawn(async move {
            while let Some(event) = console.next().await {
                if matches!(
                    event.r#type,
                    ConsoleApiCalledType::Error | ConsoleApiCalledType::Assert
                ) {
                    let text = event
                        .args
                        .iter()
                        .map(|arg| {
                            arg.value
                                .as_ref()
                                .map(|v| v.to_string())
                                .or_else(|| arg.description.clone())
                                .unwrap_or_default()
                        })
                        .collect::<Vec<_>>()
                        .join(" ");
                    push(
                        &a,
                        PageProblem {
                            source: "console".into(),
                            text,
                            url: None,
                        },
                    );
                }
            }
        }),
        tokio::spawn(async move {
            while let Some(event) = exceptions.next().await {
                let details = &event.exception_details;
                let text = details
                    .exception
                    .as_ref()
                    .and_then(|e| e.description.clone())
                    .unwrap_or_else(|| details.text.clone());
                push(
                    &b,
                    PageProblem {
                        source: "exception".into(),
                        text: format!("{text} at line {}", details.line_number + 1),
                        url: details.url.clone(),
                    },
                );
            }
        }),
        tokio::spawn(async move {
            while let Some(event) = log.next().await {
                if event.entry.level == LogEntryLevel::Error {
                    push(
                        &c,
                        PageProblem {
                            source: format!("{:?}", event.entry.source).to_lowercase(),
                            text: event.entry.text.clone(),
                            url: event.entry.url.clone(),
                        },
                    );
                }
            }
        }),
    ])
}
