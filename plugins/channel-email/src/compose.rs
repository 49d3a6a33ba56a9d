//! Turning an [`Outbound`] into a mail (RFC 5322): From with the worker's name, To, a
//! Subject prefixed with the thread, a plain text body, and ids that thread a task's
//! messages in a mail client.
//!
//! Ids are derived, never random, so a message sent again after a failure carries the same
//! Message-ID and a client shows it once: `<M-000042.T-12@domain>` (`none` for a message
//! outside any thread). `In-Reply-To` is the previous message of the thread, derived the same
//! way from [`Outbound::in_reply_to`]; `References` lists the thread's root id
//! `<thread.T-12@domain>` (no mail carries it: it only groups the thread, even when its first
//! message is missing) and then that previous message.

use hypernet_plugin_api::channel::{ChannelError, Outbound};
use lettre::Address;
use lettre::Message;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;

/// The most characters of a subject taken from the text's first line.
const SUBJECT_LIMIT: usize = 78;

/// The mail for `message`, from `from`, with ids in `domain`.
pub(crate) fn compose(
    message: &Outbound,
    from: &Address,
    domain: &str,
) -> Result<Message, ChannelError> {
    let to: Address = message.to.trim().parse().map_err(|error| {
        ChannelError::rejected(format!(
            "message {}: `{}` is not an email address ({error}); check the person's `channels.email`",
            message.id, message.to
        ))
    })?;
    let thread = message.thread.as_deref();
    let recipient = Some(message.recipient.clone()).filter(|name| !name.trim().is_empty());
    let mut builder = Message::builder()
        .from(Mailbox::new(
            Some(message.sender.name.clone()).filter(|n| !n.is_empty()),
            from.clone(),
        ))
        .to(Mailbox::new(recipient, to))
        .subject(subject(message))
        .message_id(Some(message_id(&message.id, thread, domain)))
        .date_now();
    let previous = message
        .in_reply_to
        .as_deref()
        .map(|previous| message_id(previous, thread, domain));
    if let Some(previous) = &previous {
        builder = builder.in_reply_to(previous.clone());
    }
    let references: Vec<String> = thread
        .map(|thread| thread_root(thread, domain))
        .into_iter()
        .chain(previous)
        .collect();
    if !references.is_empty() {
        builder = builder.references(references.join(" "));
    }
    builder
        .header(ContentType::TEXT_PLAIN)
        .body(message.text.clone())
        .map_err(|error| {
            ChannelError::rejected(format!(
                "message {}: cannot be written as a mail: {error}",
                message.id
            ))
        })
}

/// The Message-ID of the host's message `id` in `thread`.
pub(crate) fn message_id(id: &str, thread: Option<&str>, domain: &str) -> String {
    format!(
        "<{}.{}@{domain}>",
        atom(id),
        thread.map_or_else(|| "none".to_owned(), atom)
    )
}

/// The id every message of `thread` references first.
fn thread_root(thread: &str, domain: &str) -> String {
    format!("<thread.{}@{domain}>", atom(thread))
}

/// `text` with anything outside letters, digits, `-` and `_` replaced by `-`, so it is a
/// valid part of a Message-ID.
fn atom(text: &str) -> String {
    let atom: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if atom.is_empty() {
        "-".to_owned()
    } else {
        atom
    }
}

/// The subject, `[T-12] ` in front when the message belongs to a thread (unless it is there
/// already); without one, the text's first line.
fn subject(message: &Outbound) -> String {
    let mut subject = message.subject.trim().to_owned();
    if subject.is_empty() {
        let first_line = message.text.lines().find(|l| !l.trim().is_empty());
        subject = first_line
            .map(|l| l.trim().chars().take(SUBJECT_LIMIT).collect())
            .unwrap_or_else(|| format!("message from {}", message.sender.name));
    }
    match &message.thread {
        Some(thread) if !subject.starts_with(&format!("[{thread}]")) => {
            format!("[{thread}] {subject}")
        }
        _ => subject,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_plugin_api::channel::Sender;

    fn outbound() -> Outbound {
        Outbound {
            id: "M-000042".into(),
            to: "ada@example.org".into(),
            recipient: "ada".into(),
            sender: Sender {
                name: "builder-1".into(),
                avatar_url: None,
            },
            subject: "Which database?".into(),
            text: "Postgres or SQLite?\nBoth work.".into(),
            thread: Some("T-12".into()),
            ..Default::default()
        }
    }

    fn headers(message: &Outbound) -> String {
        let from: Address = "swarm@example.org".parse().unwrap();
        let mail = compose(message, &from, "swarm.example.org").unwrap();
        String::from_utf8(mail.formatted()).unwrap()
    }

    /// A header's value, unfolded (a long header continues on lines starting with a space).
    fn header(mail: &str, name: &str) -> Option<String> {
        let head = mail.split("\r\n\r\n").next().unwrap();
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_owned))
    }

    #[test]
    fn the_first_message_of_a_thread() {
        let mail = headers(&outbound());
        assert_eq!(
            header(&mail, "From").as_deref(),
            Some("builder-1 <swarm@example.org>")
        );
        assert_eq!(
            header(&mail, "To").as_deref(),
            Some("ada <ada@example.org>")
        );
        assert_eq!(
            header(&mail, "Subject").as_deref(),
            Some("[T-12] Which database?")
        );
        assert_eq!(
            header(&mail, "Message-ID").as_deref(),
            Some("<M-000042.T-12@swarm.example.org>")
        );
        assert_eq!(header(&mail, "In-Reply-To"), None);
        assert_eq!(
            header(&mail, "References").as_deref(),
            Some("<thread.T-12@swarm.example.org>")
        );
        assert!(header(&mail, "Date").is_some());
        assert_eq!(
            header(&mail, "Content-Type").as_deref(),
            Some("text/plain; charset=utf-8")
        );
        assert!(
            mail.ends_with("Postgres or SQLite?\r\nBoth work."),
            "{mail}"
        );
    }

    #[test]
    fn a_later_message_replies_to_the_previous_one() {
        let mut message = outbound();
        message.id = "M-000050".into();
        message.in_reply_to = Some("M-000042".into());
        let mail = headers(&message);
        assert_eq!(
            header(&mail, "In-Reply-To").as_deref(),
            Some("<M-000042.T-12@swarm.example.org>")
        );
        assert_eq!(
            header(&mail, "References").as_deref(),
            Some("<thread.T-12@swarm.example.org> <M-000042.T-12@swarm.example.org>")
        );
        assert_eq!(
            header(&mail, "Message-ID").as_deref(),
            Some("<M-000050.T-12@swarm.example.org>")
        );
    }

    #[test]
    fn the_same_message_keeps_its_id() {
        let a = headers(&outbound());
        let b = headers(&outbound());
        assert_eq!(header(&a, "Message-ID"), header(&b, "Message-ID"));
    }

    #[test]
    fn outside_a_thread_the_subject_is_bare_and_the_id_says_none() {
        let mut message = outbound();
        message.thread = None;
        message.subject = String::new();
        message.text = "\n  Budget at 80%  \nmore".into();
        let mail = headers(&message);
        assert_eq!(header(&mail, "Subject").as_deref(), Some("Budget at 80%"));
        assert_eq!(
            header(&mail, "Message-ID").as_deref(),
            Some("<M-000042.none@swarm.example.org>")
        );
        assert_eq!(header(&mail, "References"), None);
    }

    #[test]
    fn a_thread_prefix_is_not_doubled() {
        let mut message = outbound();
        message.subject = "[T-12] answered".into();
        assert_eq!(
            header(&headers(&message), "Subject").as_deref(),
            Some("[T-12] answered")
        );
    }

    #[test]
    fn ids_are_kept_to_message_id_characters() {
        assert_eq!(
            message_id("M 1", Some("T<12>@x"), "d.org"),
            "<M-1.T-12--x@d.org>"
        );
    }

    #[test]
    fn a_bad_recipient_is_rejected_naming_it() {
        let mut message = outbound();
        message.to = "ada at example".into();
        let from: Address = "swarm@example.org".parse().unwrap();
        let err = compose(&message, &from, "d").unwrap_err();
        assert!(!err.is_retryable());
        assert!(err.to_string().contains("ada at example"), "{err}");
    }
}
