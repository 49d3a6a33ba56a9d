//! Unread messages in their recipient's next prompt. They are written after the
//! identity's stable prefix (never into the part a provider caches), each marked as data
//! from outside ([`crate::security::isolate`], source `message:<sender>`), at most
//! [`PROMPT_MESSAGES`] of them, the oldest first, each cut at [`PROMPT_CHARS`] characters.
//! The rest wait, unread, for a later prompt.

use super::WorkerMessage;
use crate::security::isolation::{InjectionFlag, isolate};
use std::fmt::Write;

/// The most messages one prompt shows.
pub const PROMPT_MESSAGES: usize = 20;

/// The most characters of one message's body a prompt shows.
pub const PROMPT_CHARS: usize = 2_000;

/// The prompt's section for `messages` (empty when none), with `left` more still unread,
/// and the injection phrases found in them (by message).
pub fn section(messages: &[WorkerMessage], left: usize) -> (String, Vec<(String, InjectionFlag)>) {
    if messages.is_empty() {
        return (String::new(), Vec::new());
    }
    let mut text = String::from("\n\n# Messages from other workers\n");
    let mut flags = Vec::new();
    for m in messages {
        let mut body: String = m.body.chars().take(PROMPT_CHARS).collect();
        if body.len() < m.body.len() {
            let _ = write!(body, "\n[cut at {PROMPT_CHARS} characters]");
        }
        let source = format!("message:{}", m.from);
        let isolated = isolate(&source, &body);
        flags.extend(isolated.flags.into_iter().map(|f| (m.id.to_string(), f)));
        let _ = write!(
            text,
            "\n{} from {} (thread {}); to answer, call send_message with reply_to \"{}\":\n{}\n",
            m.id, m.from, m.thread, m.id, isolated.text
        );
    }
    if left > 0 {
        let more = if left == 1 {
            "1 more unread message waits".to_owned()
        } else {
            format!("{left} more unread messages wait")
        };
        let _ = write!(text, "\n({more} for a later prompt.)\n");
    }
    (text, flags)
}

/// Takes `worker`'s oldest unread messages off `bus` (marking them read) and answers
/// their prompt section; empty when there are none, or when the store fails (logged: the
/// messages then stay unread for the next prompt).
pub fn take_section(bus: &super::Bus, worker: &str) -> String {
    if !bus.has_unread(worker) {
        return String::new();
    }
    match bus.take_unread(worker, PROMPT_MESSAGES) {
        Ok((messages, left)) => {
            let (text, flags) = section(&messages, left);
            for (message, flag) in flags {
                tracing::warn!(%worker, %message, phrase = flag.phrase, "injection phrase in a worker message");
            }
            text
        }
        Err(e) => {
            tracing::error!(%worker, error = %e, "cannot read the worker's messages");
            String::new()
        }
    }
}
