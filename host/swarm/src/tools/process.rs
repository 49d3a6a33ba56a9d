//! Starting a program for a tool: an argv (never a shell), run in the workspace, with a
//! cleared environment, no input, a time limit and a cap on the output kept.
//!
//! The program starts in a process group of its own; on timeout — or when the task is
//! cancelled and the call dropped — the whole group is killed, so the children it started
//! (the test binaries of `cargo test`, say) do not outlive it. Only [`PASSED_ENV`] reaches
//! the program, so the host's own secrets (provider API keys) never do.

use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The environment variables a program inherits from the host; all others are cleared.
pub const PASSED_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
];

/// Which end of a long output is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The beginning (a diff, a listing).
    Head,
    /// The end (test results, where the summary is).
    Tail,
}

/// How a program is run.
#[derive(Debug, Clone)]
pub struct Limits {
    /// It is killed after this long.
    pub timeout: Duration,
    /// Most characters of its output kept (stdout and stderr each).
    pub max_chars: usize,
    /// Which end is kept.
    pub keep: Keep,
}

/// How a program ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// Its exit code; `None` when killed (by the timeout or a signal).
    pub code: Option<i32>,
    /// Whether it was killed for taking too long.
    pub timed_out: bool,
    /// Its standard output, cut as [`Limits`] say.
    pub stdout: String,
    /// Its standard error, likewise.
    pub stderr: String,
}

impl Finished {
    /// Exit status and output, as a tool hands them to the model.
    pub fn report(&self, timeout: Duration) -> String {
        let status = match (self.timed_out, self.code) {
            (true, _) => format!("killed after {} s (time limit)", timeout.as_secs()),
            (false, Some(code)) => format!("exit code {code}"),
            (false, None) => "killed by a signal".to_owned(),
        };
        let mut text = status;
        if !self.stdout.is_empty() {
            text.push_str("\n--- stdout ---\n");
            text.push_str(&self.stdout);
        }
        if !self.stderr.is_empty() {
            text.push_str("\n--- stderr ---\n");
            text.push_str(&self.stderr);
        }
        text
    }
}

/// Output kept while a program runs: at most `max` bytes of one end, and the total seen.
struct Capture {
    keep: Keep,
    max: usize,
    bytes: Vec<u8>,
    total: usize,
}

impl Capture {
    fn new(limits: &Limits) -> Capture {
        Capture {
            keep: limits.keep,
            // Bytes, generous for the characters wanted; the text is cut exactly later.
            max: limits.max_chars.saturating_mul(4),
            bytes: Vec::new(),
            total: 0,
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        self.total += chunk.len();
        match self.keep {
            Keep::Head => {
                let room = self.max.saturating_sub(self.bytes.len());
                self.bytes
                    .extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Keep::Tail => {
                self.bytes.extend_from_slice(chunk);
                if self.bytes.len() > 2 * self.max {
                    let cut = self.bytes.len() - self.max;
                    self.bytes.drain(..cut);
                }
            }
        }
    }

    fn text(self, max_chars: usize) -> String {
        let text = String::from_utf8_lossy(&self.bytes);
        let count = text.chars().count();
        let cut = self.total > self.bytes.len() || count > max_chars;
        if !cut {
            return text.into_owned();
        }
        match self.keep {
            Keep::Head => {
                let kept: String = text.chars().take(max_chars).collect();
                format!(
                    "{kept}\n[output cut: the first {max_chars} characters of {} bytes]",
                    self.total
                )
            }
            Keep::Tail => {
                let kept: String = text.chars().skip(count.saturating_sub(max_chars)).collect();
                format!(
                    "[output cut: the last {max_chars} characters of {} bytes]\n{kept}",
                    self.total
                )
            }
        }
    }
}

async fn drain(mut from: impl AsyncRead + Unpin, into: &mut Capture) {
    let mut buf = [0u8; 8192];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 {
            break;
        }
        into.push(&buf[..n]);
    }
}

/// Kills the process group `pid` leads, unless disarmed (the program ended by itself).
struct GroupKill(Option<i32>);

impl Drop for GroupKill {
    fn drop(&mut self) {
        if let Some(pid) = self.0.take() {
            // SAFETY: kill(2) takes two integers and touches no memory of this process;
            // a negative pid names the group the program leads, created for it alone.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
}

/// Runs `argv` in `dir` under `limits`, with `env` added to [`PASSED_ENV`]. `Err` when it
/// cannot be started.
pub async fn run(
    argv: &[String],
    dir: &Path,
    env: &[(&str, OsString)],
    limits: &Limits,
) -> Result<Finished, String> {
    let (program, args) = argv.split_first().ok_or("no program to run")?;
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(
            PASSED_ENV
                .iter()
                .filter_map(|k| Some((k, std::env::var_os(k)?))),
        )
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start `{program}`: {e}"))?;
    let mut group = GroupKill(child.id().and_then(|id| i32::try_from(id).ok()));
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let (mut out, mut err) = (Capture::new(limits), Capture::new(limits));
    let finished = tokio::time::timeout(limits.timeout, async {
        tokio::join!(drain(stdout, &mut out), drain(stderr, &mut err));
        child.wait().await
    })
    .await;
    let (code, timed_out) = match finished {
        Ok(Ok(status)) => {
            // Ended by itself: leave the group alone (its id may be reused).
            group.0 = None;
            (status.code(), false)
        }
        Ok(Err(e)) => return Err(format!("waiting for `{program}`: {e}")),
        Err(_) => {
            drop(group);
            let _ = child.kill().await;
            (None, true)
        }
    };
    Ok(Finished {
        code,
        timed_out,
        stdout: out.text(limits.max_chars),
        stderr: err.text(limits.max_chars),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(secs: u64, max_chars: usize, keep: Keep) -> Limits {
        Limits {
            timeout: Duration::from_secs(secs),
            max_chars,
            keep,
        }
    }

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[tokio::test]
    async fn runs_in_the_folder_with_a_cleared_environment() {
        let dir = tempfile::tempdir().unwrap();
        let done = run(
            &argv(&["sh", "-c", "pwd; env; echo oops >&2; exit 3"]),
            dir.path(),
            &[("EXTRA", "yes".into())],
            &limits(10, 10_000, Keep::Head),
        )
        .await
        .unwrap();
        assert_eq!(done.code, Some(3));
        let real = dir.path().canonicalize().unwrap();
        assert!(
            done.stdout.starts_with(real.to_str().unwrap()),
            "{}",
            done.stdout
        );
        assert!(done.stdout.contains("EXTRA=yes"), "{}", done.stdout);
        // Only the passed variables (and the one added) reach it; `sh` adds PWD and a few.
        for line in done.stdout.lines().skip(1) {
            let key = line.split('=').next().unwrap();
            assert!(
                PASSED_ENV.contains(&key)
                    || ["EXTRA", "PWD", "SHLVL", "OLDPWD", "_"].contains(&key),
                "{line}"
            );
        }
        assert_eq!(done.stderr, "oops\n");
        assert!(
            done.report(Duration::from_secs(1))
                .starts_with("exit code 3\n--- stdout ---\n")
        );
        let e = run(
            &argv(&["no-such-program-here"]),
            dir.path(),
            &[],
            &limits(1, 100, Keep::Head),
        )
        .await
        .unwrap_err();
        assert!(e.starts_with("cannot start `no-such-program-here`"), "{e}");
    }

    #[tokio::test]
    async fn long_output_keeps_the_end_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let script = argv(&["sh", "-c", "seq 1 5000"]);
        let head = run(&script, dir.path(), &[], &limits(10, 100, Keep::Head))
            .await
            .unwrap();
        assert!(head.stdout.starts_with("1\n2\n3\n"), "{}", head.stdout);
        assert!(
            head.stdout
                .ends_with("[output cut: the first 100 characters of 23893 bytes]"),
            "{}",
            head.stdout
        );
        let tail = run(&script, dir.path(), &[], &limits(10, 100, Keep::Tail))
            .await
            .unwrap();
        assert!(
            tail.stdout
                .starts_with("[output cut: the last 100 characters of 23893 bytes]\n"),
            "{}",
            tail.stdout
        );
        assert!(tail.stdout.ends_with("4999\n5000\n"), "{}", tail.stdout);
    }

    #[tokio::test]
    async fn a_program_past_its_time_is_killed_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        // The child sleeps, then would leave a marker; killing the group stops it too.
        let script = format!(
            "echo started; (sleep 2; touch {}) & sleep 30",
            marker.display()
        );
        let started = std::time::Instant::now();
        let done = run(
            &argv(&["sh", "-c", &script]),
            dir.path(),
            &[],
            &limits(1, 1000, Keep::Tail),
        )
        .await
        .unwrap();
        assert!(done.timed_out);
        assert_eq!(done.code, None);
        assert_eq!(done.stdout, "started\n");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(
            done.report(Duration::from_secs(1))
                .starts_with("killed after 1 s (time limit)")
        );
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert!(!marker.exists(), "the child outlived the timeout");
    }
}
