//! `hypernet console` as a person uses it: the real binary in a real terminal (a tmux
//! pane), against a real host with provider-sim. Keys go in with `tmux send-keys`, the
//! screen comes back with `tmux capture-pane`, and what the console did is checked on the
//! screen and again through the CLI: filing, cancelling and retrying tasks, an answer
//! streaming in, workers paused, added and removed, a plugin toggled, the board's filters,
//! approvals approved and denied, a question answered, a host that stops and starts again,
//! and the terminal given back on quitting.

use crate::util::SIM;
use hypernet_integration::{Env, hypernet_bin, within};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// How long a screen may take to show what is waited for, on a busy machine.
const PATIENCE: u64 = 30;

/// Two workers, Ada and Bo, on the simulated model; nothing filed but by the test.
const TWO_WORKERS: &str = "standing = []\n\
    [personal_time]\nenabled = false\n\
    [[worker]]\nname = \"Ada\"\naccount = \"2.1\"\nmodel = \"sim/default\"\n\
    [[worker]]\nname = \"Bo\"\naccount = \"2.1\"\nmodel = \"sim/default\"\n";

/// The console running in a tmux pane of its own server; the server ends when dropped,
/// even when the test fails.
struct Console {
    socket: PathBuf,
}

impl Console {
    /// Starts `hypernet --data-dir <data> console` in a 120×40 pane. When it ends, the
    /// pane's shell prints its exit status and whether the terminal is back in cooked mode
    /// with echo, then waits.
    fn start(env: &Env) -> Console {
        let console = Console {
            socket: env.path().join("tmux.sock"),
        };
        let script = "\"$0\" --data-dir \"$1\" console; \
                      echo \"console exited with $?\"; \
                      stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; \
                      echo; sleep 600";
        let data = env.data_dir();
        let bin = hypernet_bin();
        let started = console.tmux(&[
            "new-session",
            "-d",
            "-x",
            "120",
            "-y",
            "40",
            "-s",
            "console",
            "sh",
            "-c",
            script,
            bin.to_str().unwrap(),
            data.to_str().unwrap(),
        ]);
        assert!(
            started.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&started.stderr)
        );
        console
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("tmux runs (it must be installed: apt-get install tmux)")
    }

    /// Presses keys by tmux's names (`Tab`, `Enter`, `Down`, `q`).
    fn press(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "console"];
        args.extend(keys);
        assert!(self.tmux(&args).status.success(), "send-keys {keys:?}");
    }

    /// Types `text` as it is.
    fn type_text(&self, text: &str) {
        let out = self.tmux(&["send-keys", "-t", "console", "-l", text]);
        assert!(out.status.success(), "send-keys -l {text:?}");
    }

    /// The screen now (tmux drops the spaces that end a line).
    fn screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-t", "console"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen shows every one of `texts`; the screen.
    fn shows(&self, texts: &[&str]) -> String {
        self.until(&format!("the screen to show {texts:?}"), |s| {
            texts.iter().all(|t| s.contains(t))
        })
    }

    /// Waits until the screen passes `test`; the screen. A timeout shows the last one.
    fn until(&self, what: &str, test: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(PATIENCE);
        loop {
            let screen = self.screen();
            if test(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// The `workers --json` entry of `name`, if it is there.
fn worker(env: &Env, name: &str) -> Option<Value> {
    let list = env.run(&["workers", "--json"]).json();
    list["items"]
        .as_array()?
        .iter()
        .find(|w| w["name"] == name)
        .cloned()
}

/// Waits until the task `id` has `status`; the task.
fn task_becomes(env: &Env, id: &str, status: &str) -> Value {
    within(PATIENCE, &format!("{id} to be {status}"), || {
        let task = env.run(&["task", "show", id, "--json"]).json();
        (task["status"] == status).then_some(task)
    })
}

#[test]
fn a_person_runs_the_swarm_from_the_console() {
    let env = Env::new();
    // Answers take a few seconds and stream, so a call can be watched and cancelled.
    let sim = SIM.replace("latency_ms = 0", "latency_ms = 2500");
    env.manifest(&format!(
        "{sim}[plugin.config.script]\nplain = 1\nstream = 1.0\n\n\
         [[plugin]]\nname = \"example\"\ncapabilities = [\"kv\", \"events\", \"log\"]\n"
    ));
    env.config(TWO_WORKERS);
    let host = env.start();
    let console = Console::start(&env);
    console.shows(&["hypernet console", "▸ Tasks · all · 0 of 0", "live"]);
    console.until("both workers idle", |s| {
        s.contains("Ada        idle") && s.contains("Bo         idle")
    });

    // A task filed with `n` shows on the board, its answer streams in, and it completes.
    console.press(&["n"]);
    console.shows(&["New task title:"]);
    console.type_text("Survey the north wall");
    console.press(&["Enter"]);
    console.shows(&["✓ filed T-1", "T-1    ", "Survey the north wall"]);
    console.until("the answer streaming while the task runs", |s| {
        s.contains("running · normal ·")
            && s.contains("── streaming answer (call 1)")
            && s.contains("SIMULATED answer by provider-sim")
    });
    console.shows(&["completed · normal ·", "── answer", "finished: completed 1"]);
    assert_eq!(
        task_becomes(&env, "T-1", "completed")["title"],
        "Survey the north wall"
    );

    // Workers: pause and resume Ada, add Cy, remove Cy.
    console.press(&["Tab"]);
    console.shows(&["▸ Workers", "p pause/resume  + add  - remove"]);
    console.press(&["p"]);
    console.shows(&["✓ Ada: paused", "› Ada        paused"]);
    assert_eq!(worker(&env, "Ada").unwrap()["paused"], true);
    console.press(&["p"]);
    console.shows(&["✓ Ada: taking tasks", "› Ada        idle"]);
    assert_eq!(worker(&env, "Ada").unwrap()["paused"], false);
    console.press(&["+"]);
    console.shows(&["Add worker NAME [MODEL]:"]);
    console.type_text("Cy");
    console.press(&["Enter"]);
    console.shows(&["✓ Cy: added (model sim/default)", "  Cy         idle"]);
    assert_eq!(worker(&env, "Cy").expect("Cy was added")["added"], true);
    console.press(&["End"]);
    console.shows(&["› Cy         idle"]);
    console.press(&["-"]);
    console.shows(&["✓ Cy: removed", "Workers · 0 busy of 2"]);
    assert!(worker(&env, "Cy").is_none(), "Cy is still there");

    // Cancel a running task with `c`, then queue it again with `r`.
    console.press(&["BTab", "n"]);
    console.type_text("Measure the moat");
    console.press(&["Enter"]);
    console.shows(&["✓ filed T-2", "╭ T-2 ", "› T-2 "]);
    console.press(&["c"]);
    console.shows(&["✓ T-2: cancelled", "cancelled · normal ·"]);
    assert_eq!(
        env.run(&["task", "show", "T-2", "--json"]).json()["status"],
        "cancelled"
    );
    console.press(&["r"]);
    console.shows(&["✓ T-2: ready"]);
    task_becomes(&env, "T-2", "completed");
    console.shows(&["finished: completed 2"]);

    // The board's filters: a status set, then a title text (Esc clears it).
    console.press(&["s"]);
    console.shows(&["Tasks · open · 0 of 0"]);
    console.press(&["S", "/"]);
    console.type_text("moat");
    console.shows(&["Tasks · all · \"moat\" · 1 of 1", "Title contains: moat"]);
    console.press(&["Enter"]);
    let filtered = console.until("the prompt to close", |s| !s.contains("Title contains"));
    assert!(!filtered.contains("Survey the north wall"), "{filtered}");
    console.press(&["/", "Escape"]);
    console.shows(&["Tasks · all · 2 of 2", "Survey the north wall"]);

    // Plugins: disable and enable `example`.
    console.press(&["BTab"]);
    console.shows(&["▸ Plugins", "e enable/disable"]);
    console.press(&["Down"]);
    console.shows(&["› example          loaded"]);
    console.press(&["e"]);
    console.shows(&["✓ example: disabled", "› example          disabled"]);
    assert_eq!(env.plugin_status("example")["state"], "disabled");
    console.press(&["e"]);
    console.shows(&["✓ example: loaded", "› example          loaded"]);
    assert_eq!(env.plugin_status("example")["state"], "loaded");

    // A refusal shows the host's reason: a completed task cannot be cancelled.
    console.press(&["Tab", "c"]);
    console.shows(&["✗ cancel T-2: ", "(409 Conflict)"]);

    // The help, closed by any key.
    console.press(&["?"]);
    console.shows(&["Keys", "approve / deny the selected request"]);
    console.press(&["x"]);
    console.until("the help to close", |s| !s.contains("approve / deny"));

    // `q` quits and gives the terminal back as it was.
    console.press(&["q"]);
    let after = console.shows(&["console exited with 0", "icanon echo"]);
    assert!(
        !after.contains("-icanon") && !after.contains("-echo"),
        "{after}"
    );
    assert!(
        !after.contains("Tasks ·"),
        "the main screen is back:\n{after}"
    );
    drop(host);
}

#[test]
fn approvals_and_questions_are_decided_in_the_console() {
    let env = Env::new();
    // Without a host, the console says so as every command does.
    let alone = env.run(&["console"]);
    assert!(
        alone
            .fails()
            .contains("no hypernet host is running for data directory"),
        "{}",
        alone.stderr
    );
    // The first task asks a question, the next two ask to send a message, which waits
    // for approval.
    env.manifest(&format!(
        "{SIM}[plugin.config.script]\nquestion = 1\napproval = 2\nplain = 0\n"
    ));
    env.config(TWO_WORKERS);
    let host = env.start();
    // Not on a terminal: refused.
    let piped = env.run(&["console"]);
    assert!(
        piped.fails().contains("needs a terminal"),
        "{}",
        piped.stderr
    );
    for (id, title) in [
        ("T-1", "Survey the north wall"),
        ("T-2", "Tell the operator"),
        ("T-3", "Tell the operator again"),
    ] {
        assert_eq!(
            env.run(&["task", "add", title]).ok().trim(),
            format!("filed {id}")
        );
        task_becomes(&env, id, "needs_input");
    }

    let console = Console::start(&env);
    console.shows(&["open: needs_input 3"]);
    console.press(&["Tab", "Tab"]);
    // Newest request first, then the question.
    console.shows(&[
        "▸ Approvals 2 · questions 1",
        "› AQ-0002 T-3 ",
        "  AQ-0001 T-2 ",
        "  T-1 asks: Who is \"Survey the north wall\" for",
        "held: AQ-0002 waits for approval",
    ]);
    console.press(&["y"]);
    console.shows(&["✓ AQ-0002: approved (ran: ok)"]);
    let approved = task_becomes(&env, "T-3", "completed");
    assert!(
        approved["result"]["text"]
            .as_str()
            .unwrap()
            .contains("with that settled"),
        "{approved}"
    );

    console.shows(&["▸ Approvals 1 · questions 1", "› AQ-0001 T-2 "]);
    console.press(&["d"]);
    console.shows(&["Deny AQ-0001, reason (optional):"]);
    console.type_text("not today");
    console.press(&["Enter"]);
    console.shows(&["✓ AQ-0001: rejected"]);
    let denied = env.run(&["approvals", "show", "AQ-0001", "--json"]).json();
    assert_eq!(
        (&denied["status"], &denied["note"]),
        (&Value::from("rejected"), &Value::from("not today"))
    );
    task_becomes(&env, "T-2", "completed");

    console.shows(&["▸ Approvals 0 · questions 1", "› T-1 asks: "]);
    console.press(&["a"]);
    console.shows(&["Answer T-1 (Who is \"Survey the north wall\" for"]);
    console.type_text("the operators");
    console.press(&["Enter"]);
    console.shows(&["✓ T-1: ready"]);
    let answered = task_becomes(&env, "T-1", "completed");
    assert!(
        answered["result"]["text"]
            .as_str()
            .unwrap()
            .contains("I was told: the operators"),
        "{answered}"
    );
    console.shows(&["Approvals 0 · questions 0", "nothing waits on you"]);

    // The host stops: the console says so and keeps the last view; the host starts again
    // (on another port) and the console finds it.
    assert_eq!(host.stop(), Some(0));
    console.shows(&["host not reachable: ", "Survey the north wall"]);
    let host = env.start();
    let port = host.url.rsplit(':').next().unwrap().to_owned();
    console.shows(&[&format!(
        ":{port} · live · open: none · finished: completed 3"
    )]);
    console.press(&["q"]);
    console.shows(&["console exited with 0"]);
    drop(host);
}

#[test]
fn without_their_programs_beside_it_console_and_bench_say_what_is_missing() {
    let env = Env::new();
    // `hypernet` alone in a folder, as if `hypernet-console` and `hypernet-bench` had not
    // been shipped with it.
    let alone = env.path().join("bin");
    std::fs::create_dir_all(&alone).unwrap();
    std::fs::copy(hypernet_bin(), alone.join("hypernet")).unwrap();
    for (args, program) in [
        (&["console"][..], "hypernet-console"),
        (&["bench", "--scenario", "latency"][..], "hypernet-bench"),
    ] {
        // A child another test forks meanwhile may still hold the copy's file open for
        // writing (ETXTBSY) for a moment: try again.
        let run = within(10, "the copied binary to start", || {
            match Command::new(alone.join("hypernet"))
                .args(["--data-dir", "data"])
                .args(args)
                .current_dir(env.path())
                .output()
            {
                Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => None,
                other => Some(other.unwrap()),
            }
        });
        assert!(!run.status.success());
        let stderr = String::from_utf8_lossy(&run.stderr);
        let expected = format!(
            "`hypernet {}` runs `{program}`, which is not beside this program",
            args[0]
        );
        assert!(stderr.contains(&expected), "{stderr}");
    }
}
