//! A loopback stand-in for the Telegram Bot API (<https://core.telegram.org/bots/api>), on
//! [`MockLlm`]: `sendMessage` answers the sent `Message`, `answerCallbackQuery`,
//! `setWebhook` and `deleteWebhook` answer `true`, and `getUpdates` hands out the updates
//! the test pushed whose `update_id` is at least the request's `offset`, a few at a time, as
//! the real API does after confirming the earlier ones. Scripts (e.g. a 429) take precedence.

use crate::mock_llm::{MockLlm, Recorded, Reply};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The bot token the tests configure; it must never show in a log.
pub const TOKEN: &str = "424242:TEST-bot-token-never-logged";

/// Updates per `getUpdates` answer, so a stream of them takes several polls.
const BATCH: usize = 5;

/// The running stand-in.
pub struct BotApi {
    /// The server; its requests are recorded.
    pub mock: MockLlm,
    updates: Arc<Mutex<Vec<Value>>>,
}

impl Default for BotApi {
    fn default() -> Self {
        Self::start()
    }
}

impl BotApi {
    /// Starts it on a free loopback port.
    pub fn start() -> BotApi {
        let updates: Arc<Mutex<Vec<Value>>> = Arc::default();
        let queue = updates.clone();
        let next_message = AtomicI64::new(1000);
        let mock = MockLlm::start_with(move |request| answer(request, &queue, &next_message));
        BotApi { mock, updates }
    }

    /// The `base_url` for channel-telegram.
    pub fn url(&self) -> String {
        self.mock.url()
    }

    /// The path of a Bot API method.
    pub fn path(method: &str) -> String {
        format!("/bot{TOKEN}/{method}")
    }

    /// Makes an update available to `getUpdates`.
    pub fn push(&self, update: Value) {
        self.updates.lock().unwrap().push(update);
    }

    /// The requests to `method`, in order.
    pub fn calls(&self, method: &str) -> Vec<Recorded> {
        self.mock.requests_to(&Self::path(method))
    }

    /// The bodies of every `sendMessage` request, in order.
    pub fn sent(&self) -> Vec<Value> {
        self.calls("sendMessage")
            .iter()
            .map(Recorded::json)
            .collect()
    }

    /// The `offset` of every `getUpdates` request, in order (None: no offset).
    pub fn offsets(&self) -> Vec<Option<i64>> {
        self.calls("getUpdates")
            .iter()
            .map(|r| r.json()["offset"].as_i64())
            .collect()
    }
}

/// A text message from `chat`.
pub fn text_update(update_id: i64, chat: i64, text: &str) -> Value {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id + 10_000,
            "from": { "id": chat, "is_bot": false, "first_name": "Ada" },
            "chat": { "id": chat, "type": "private", "first_name": "Ada" },
            "date": 1_760_000_000,
            "text": text,
        }
    })
}

/// A press on an inline keyboard button carrying `data`, under message `message_id`.
pub fn button_press(update_id: i64, chat: i64, message_id: i64, data: &str) -> Value {
    json!({
        "update_id": update_id,
        "callback_query": {
            "id": format!("cq-{update_id}"),
            "from": { "id": chat, "is_bot": false, "first_name": "Ada" },
            "message": {
                "message_id": message_id,
                "chat": { "id": chat, "type": "private" },
                "date": 1_760_000_000,
                "text": "(the message with the buttons)",
            },
            "chat_instance": "-4242",
            "data": data,
        }
    })
}

/// A Bot API error body.
pub fn error(code: u16, description: &str, retry_after: Option<u64>) -> Reply {
    let mut body = json!({ "ok": false, "error_code": code, "description": description });
    if let Some(seconds) = retry_after {
        body["parameters"] = json!({ "retry_after": seconds });
    }
    Reply::json(code, body)
}

fn ok(result: Value) -> Reply {
    Reply::json(200, json!({ "ok": true, "result": result }))
}

fn answer(request: &Recorded, updates: &Mutex<Vec<Value>>, next_message: &AtomicI64) -> Reply {
    let method = request.path.rsplit('/').next().unwrap_or_default();
    if request.path != BotApi::path(method) {
        return error(404, "Not Found", None);
    }
    let body = request.json();
    match method {
        "sendMessage" => ok(json!({
            "message_id": next_message.fetch_add(1, Ordering::SeqCst),
            "date": 1_760_000_000,
            "chat": { "id": body["chat_id"], "type": "private" },
            "text": body["text"],
        })),
        "answerCallbackQuery" | "setWebhook" | "deleteWebhook" => ok(json!(true)),
        "getUpdates" => {
            let offset = body["offset"].as_i64().unwrap_or(i64::MIN);
            let mut due: Vec<Value> = updates
                .lock()
                .unwrap()
                .iter()
                .filter(|u| u["update_id"].as_i64().is_some_and(|id| id >= offset))
                .cloned()
                .collect();
            due.sort_by_key(|u| u["update_id"].as_i64());
            due.truncate(BATCH);
            if due.is_empty() {
                // A long poll with nothing new: wait a little, as the real one waits.
                ok(json!([])).after(Duration::from_millis(100))
            } else {
                ok(Value::Array(due))
            }
        }
        _ => error(404, "Not Found", None),
    }
}
