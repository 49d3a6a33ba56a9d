//! channel-telegram through the real binary against a loopback Bot API: messages out
//! (escaped, split, waiting out a 429), an approval given by pressing its button, a stream
//! of commands handled once each across kill -9, and the webhook's secret.

use crate::util::{CHAT, OPENAI_KEY, SIM, settled, wait_for};
use hypernet_integration::mock_llm::{MockLlm, Reply};
use hypernet_integration::telegram::{self, BotApi, TOKEN, button_press, text_update};
use hypernet_integration::{Env, eventually};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const TOKEN_ENV: (&str, &str) = ("HN_TEST_TELEGRAM_TOKEN", TOKEN);
const SECRET: &str = "hook-SECRET_42";
const PERSON: &str = "[[person]]\nname = \"ada\"\nchannels = { telegram = \"42\" }\nreceives = [\"questions\", \"approvals\", \"failures\", \"alerts\"]\n";

/// The channel-telegram entry of plugins.toml, talking to `api`, with `extra` config lines.
fn channel(api: &BotApi, extra: &str) -> String {
    format!(
        "[[plugin]]\nname = \"channel-telegram\"\ncapabilities = [\"log\"]\n[plugin.config]\n\
         base_url = \"{}\"\ntoken_env = \"HN_TEST_TELEGRAM_TOKEN\"\npoll_timeout_s = 1\n{extra}\n",
        api.url()
    )
}

/// Waits for `n` sendMessage requests; their bodies.
fn sent(api: &BotApi, n: usize) -> Vec<Value> {
    eventually(&format!("{n} sendMessage requests"), || {
        let sent = api.sent();
        (sent.len() >= n).then_some(sent)
    })
}

#[test]
fn a_long_message_is_escaped_split_and_sent_after_flood_control() {
    let api = BotApi::start();
    api.mock.script(
        &BotApi::path("sendMessage"),
        [telegram::error(
            429,
            "Too Many Requests: retry after 1",
            Some(1),
        )],
    );
    let env = Env::new();
    env.manifest(&channel(&api, ""));
    env.config(&format!("standing = []\n{PERSON}"));
    let host = env.start_with_env(&[TOKEN_ENV]);

    let text = format!("<b>not bold</b> & more\n{}", "word ".repeat(1000));
    let (status, filed) = env.api(
        "/api/messages",
        Some(&json!({ "to": "ada", "channel": "telegram", "sender": "builder", "body": text })),
    );
    assert_eq!(status, 200, "{filed}");
    let message = settled(&env, filed["id"].as_str().unwrap());
    assert_eq!(message["status"], "sent", "{message}\n{}", host.log());

    // The first part met flood control, waited the second it asked for, and went again.
    let calls = api.calls("sendMessage");
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert_eq!(calls[0].body, calls[1].body);
    assert!(calls[1].received - calls[0].received >= Duration::from_millis(950));
    let parts: Vec<Value> = calls[1..].iter().map(|c| c.json()).collect();
    for part in &parts {
        assert_eq!(part["chat_id"], 42);
        assert_eq!(part["parse_mode"], "HTML");
        let text = part["text"].as_str().unwrap();
        assert!(text.starts_with("<b>builder</b>\n"));
        // Telegram's limit holds for the text after entities parsing.
        let shown = text
            .replace("<b>", "")
            .replace("</b>", "")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
        assert!(shown.chars().count() <= 4096, "{}", shown.chars().count());
    }
    assert!(
        parts[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("<b>builder</b>\n&lt;b&gt;not bold&lt;/b&gt; &amp; more\nword word")
    );
    let delivery = &message["deliveries"][0];
    assert_eq!(delivery["handles"], json!(["1000", "1001"]), "{delivery}");
    assert!(!host.log().contains(TOKEN), "the token reached the log");
}

/// A worker at tier 3 with the `shell` grant, on the LLM mock; ada on Telegram.
fn approval_world(llm: &MockLlm, api: &BotApi) -> Env {
    let env = Env::new();
    env.manifest(&format!(
        "[[plugin]]\nname = \"provider-openai\"\ncapabilities = [\"log\"]\n[plugin.config]\n\
         base_url = \"{}\"\napi_key_env = \"HN_TEST_OPENAI_KEY\"\n\n{}",
        llm.openai_base_url(),
        channel(api, "")
    ));
    env.config(&format!(
        "standing = []\n[http]\nstream = false\n[personal_time]\nenabled = false\n\
         [tools]\nshell_allow = [\"echo\"]\n{PERSON}\
         [[worker]]\nname = \"Coder\"\naccount = \"2.1\"\nmodel = \"openai/gpt-4o-mini\"\ntier = 3\ngrants = [\"shell\"]\n"
    ));
    env
}

#[test]
fn pressing_approve_runs_the_held_tool_call_once() {
    let llm = MockLlm::start();
    llm.script(
        CHAT,
        [
            Reply::openai_tool_call("shell", json!({"argv": ["echo", "hello", "world"]}), 10, 10),
            Reply::openai_text("The shell said hello world.", 10, 10),
        ],
    );
    let api = BotApi::start();
    let env = approval_world(&llm, &api);
    let host = env.start_with_env(&[OPENAI_KEY[0], TOKEN_ENV]);
    let (status, task) = env.api(
        "/api/tasks",
        Some(&json!({"title": "Greet the shell", "max_attempts": 1})),
    );
    assert_eq!(status, 200, "{task}");
    let id = task["id"].as_str().unwrap().to_owned();
    assert_eq!(
        wait_for(&env, &id, &["needs_input"])["status"],
        "needs_input"
    );

    // The request reaches ada with its buttons.
    let asked = sent(&api, 1).remove(0);
    assert_eq!(asked["chat_id"], 42);
    assert!(
        asked["text"]
            .as_str()
            .unwrap()
            .starts_with("<b>Coder</b>\n"),
        "{asked}"
    );
    assert_eq!(
        asked["reply_markup"]["inline_keyboard"][0],
        json!([
            { "text": "Approve", "callback_data": "approve AQ-0001" },
            { "text": "Deny", "callback_data": "deny AQ-0001" },
        ])
    );

    // She presses Approve, and, the chat being slow, presses it again.
    api.push(button_press(7001, 42, 1000, "approve AQ-0001"));
    api.push(button_press(7002, 42, 1000, "approve AQ-0001"));
    let task = wait_for(&env, &id, &["completed", "failed"]);
    assert_eq!(task["status"], "completed", "{task}\n{}", host.log());
    let record = env.api("/api/approvals/AQ-0001", None).1;
    assert_eq!(record["status"], "approved", "{record}");
    assert_eq!(record["execution"]["state"], "done");
    assert_eq!(
        record["execution"]["output"],
        "exit code 0\n--- stdout ---\nhello world\n"
    );
    assert_eq!(
        llm.requests_to(CHAT).len(),
        2,
        "the tool ran once, told once"
    );

    // Each press is answered in the chat, replying to the message with the buttons, and
    // the presses themselves are answered first.
    let replies: Vec<Value> = eventually("both presses answered", || {
        let replies: Vec<Value> = api
            .sent()
            .into_iter()
            .filter(|m| m.get("reply_parameters").is_some())
            .collect();
        (replies.len() == 2).then_some(replies)
    });
    for reply in &replies {
        assert_eq!(reply["chat_id"], 42);
        assert_eq!(reply["reply_parameters"]["message_id"], 1000);
    }
    let texts: Vec<&str> = replies
        .iter()
        .map(|r| r["text"].as_str().unwrap())
        .collect();
    assert!(texts[0].contains("AQ-0001 approved"), "{texts:?}");
    assert!(texts[1].contains("already approved"), "{texts:?}");
    let pressed: Vec<Value> = api
        .calls("answerCallbackQuery")
        .iter()
        .map(|c| c.json()["callback_query_id"].clone())
        .collect();
    assert_eq!(pressed, [json!("cq-7001"), json!("cq-7002")]);
    let offsets = api.offsets();
    assert_eq!(
        offsets[0], None,
        "the first poll starts from the oldest update"
    );
    assert!(offsets.contains(&Some(7003)), "{offsets:?}");
}

/// A small deterministic generator for the kill times.
fn next(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *seed >> 33
}

#[test]
fn updates_arriving_across_kill_9_are_each_handled_once() {
    const ROUNDS: i64 = 5;
    const PER_ROUND: i64 = 8;
    let api = BotApi::start();
    let env = Env::new();
    env.manifest(&format!("{SIM}\n{}", channel(&api, "")));
    // Nothing files tasks but the commands.
    env.config(&format!(
        "standing = []\n[coordinator]\ndecompose = false\n[personal_time]\nenabled = false\n{PERSON}"
    ));
    let mut host = env.start_with_env(&[TOKEN_ENV]);
    let mut seed = Instant::now().elapsed().as_nanos() as u64 ^ 0x5eed;
    for round in 0..ROUNDS {
        for i in 0..PER_ROUND {
            let n = round * PER_ROUND + i;
            api.push(text_update(100 + n, 42, &format!("/task delivered-{n}")));
        }
        // Kill at a random moment: before the poll, between storing and handling, while
        // handling, or after.
        std::thread::sleep(Duration::from_millis(30 + next(&mut seed) % 600));
        host.kill9();
        host = env.start_with_env(&[TOKEN_ENV]);
    }
    let total = (ROUNDS * PER_ROUND) as usize;
    let titles = eventually("every update to be handled", || {
        let page = env.api("/api/tasks?limit=1000", None).1;
        let mut titles: BTreeMap<String, usize> = BTreeMap::new();
        for task in page["items"].as_array()? {
            *titles
                .entry(task["title"].as_str()?.to_owned())
                .or_default() += 1;
        }
        (titles.len() == total).then_some(titles)
    });
    // Give a repeat the time to show.
    std::thread::sleep(Duration::from_millis(1500));
    let page = env.api("/api/tasks?limit=1000", None).1;
    assert_eq!(page["items"].as_array().unwrap().len(), total, "{page}");
    for n in 0..total {
        assert_eq!(
            titles.get(&format!("delivered-{n}")),
            Some(&1),
            "{titles:?}"
        );
    }
    // The offsets only move forward, to just past the last update.
    let offsets: Vec<i64> = api.offsets().into_iter().flatten().collect();
    assert!(offsets.windows(2).all(|w| w[0] <= w[1]), "{offsets:?}");
    assert_eq!(
        offsets.last(),
        Some(&(100 + ROUNDS * PER_ROUND)),
        "{offsets:?}"
    );
    drop(host);
}

#[test]
fn the_webhook_takes_only_requests_with_the_secret() {
    let api = BotApi::start();
    let env = Env::new();
    env.manifest(&channel(
        &api,
        "mode = \"webhook\"\nwebhook_url = \"https://swarm.example.org/api/channels/telegram/webhook\"\n\
         webhook_secret_env = \"HN_TEST_TELEGRAM_SECRET\"\n",
    ));
    env.config(&format!("standing = []\n{PERSON}"));
    let host = env.start_with_env(&[TOKEN_ENV, ("HN_TEST_TELEGRAM_SECRET", SECRET)]);
    let path = "/api/channels/telegram/webhook";
    let body = text_update(55, 42, "/status@hyper_bot").to_string();
    let json = ("Content-Type", "application/json");
    for headers in [
        vec![json],
        vec![json, ("X-Telegram-Bot-Api-Secret-Token", "wrong")],
    ] {
        let refused = env.request("POST", path, &headers, body.as_bytes());
        assert_eq!(refused.status, 401, "{}", refused.body);
    }
    let taken = env.request(
        "POST",
        path,
        &[json, ("X-Telegram-Bot-Api-Secret-Token", SECRET)],
        body.as_bytes(),
    );
    assert_eq!(taken.status, 200, "{}", taken.body);
    let reply = sent(&api, 1).remove(0);
    assert_eq!(reply["chat_id"], 42);
    assert!(
        reply["text"].as_str().unwrap().contains("Tasks:"),
        "{reply}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        api.sent().len(),
        1,
        "the refused requests carried no command"
    );
    assert!(
        api.calls("getUpdates").is_empty(),
        "webhook mode does not poll"
    );

    // Setup registers the webhook with its secret.
    let (status, steps) = env.act("/api/channels/telegram/setup");
    assert_eq!(status, 200, "{steps}");
    let set = api.calls("setWebhook");
    assert_eq!(set.len(), 1);
    assert_eq!(
        set[0].json(),
        json!({
            "url": "https://swarm.example.org/api/channels/telegram/webhook",
            "secret_token": SECRET,
            "allowed_updates": ["message", "callback_query"],
        })
    );
    assert!(!host.log().contains(TOKEN) && !host.log().contains(SECRET));
}
