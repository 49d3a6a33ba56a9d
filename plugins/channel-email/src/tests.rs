//! Delivery against a scripted SMTP server on loopback (plain, so the script can be read
//! line by line): the receipt, and how each kind of refusal is classified. STARTTLS and real
//! AUTH against a real server are tested through the binary in tests/channels_email.rs.

use super::*;
use hypernet_plugin_api::channel::Sender;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;

/// A server answering every command as SMTP servers do, except the first command starting
/// with `refuse.0`, answered `refuse.1`. Sends the conversation it saw when the client quits.
fn server(refuse: Option<(&'static str, &'static str)>) -> (u16, mpsc::Receiver<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (sent, seen) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        let mut lines = Vec::new();
        writer.write_all(b"220 fake ESMTP\r\n").unwrap();
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            let command = line.trim_end().to_owned();
            line.clear();
            lines.push(command.clone());
            let answer = match refuse {
                Some((prefix, answer)) if command.starts_with(prefix) => format!("{answer}\r\n"),
                _ if command.starts_with("EHLO") => "250-fake\r\n250 AUTH PLAIN LOGIN\r\n".into(),
                _ if command.starts_with("AUTH") => "235 2.7.0 ok\r\n".into(),
                _ if command == "DATA" => {
                    writer.write_all(b"354 go on\r\n").unwrap();
                    while reader.read_line(&mut line).unwrap_or(0) > 0 && line != ".\r\n" {
                        lines.push(line.trim_end().to_owned());
                        line.clear();
                    }
                    line.clear();
                    "250 2.0.0 Ok: queued as 4F2A\r\n".into()
                }
                _ if command == "QUIT" => {
                    let _ = writer.write_all(b"221 bye\r\n");
                    break;
                }
                _ => "250 2.1.0 ok\r\n".into(),
            };
            if writer.write_all(answer.as_bytes()).is_err() {
                break;
            }
        }
        let _ = sent.send(lines);
    });
    (port, seen)
}

fn channel(port: u16, username: Option<&str>) -> Email {
    let config: Config = serde_json::from_value(serde_json::json!({
        "host": "127.0.0.1",
        "port": port,
        "tls": "none",
        "username": username,
        "from": "swarm@example.org",
        "domain": "swarm.example.org",
        "timeout_s": 5,
    }))
    .unwrap();
    Email::new(&config, username.map(|_| "pa55word".to_owned())).unwrap()
}

fn message() -> Outbound {
    Outbound {
        id: "M-000007".into(),
        to: "ada@example.org".into(),
        sender: Sender {
            name: "builder-1".into(),
            avatar_url: None,
        },
        subject: "done".into(),
        text: "T-12 is done.".into(),
        thread: Some("T-12".into()),
        ..Default::default()
    }
}

#[test]
fn a_sent_mail_is_done_with_its_message_id_and_the_servers_reply() {
    let (port, seen) = server(None);
    let delivery = channel(port, Some("swarm")).deliver(&message()).unwrap();
    assert_eq!(
        delivery,
        Delivery::Done {
            receipt: Receipt {
                handle: Some("<M-000007.T-12@swarm.example.org>".into()),
                detail: Some("250 2.0.0 Ok: queued as 4F2A".into()),
            }
        }
    );
    let lines = seen.recv().unwrap();
    assert!(
        lines.iter().any(|l| l == "EHLO swarm.example.org"),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.starts_with("AUTH")), "{lines:?}");
    assert!(
        lines.iter().any(|l| l == "MAIL FROM:<swarm@example.org>"),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l == "RCPT TO:<ada@example.org>"),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l == "Subject: [T-12] done"),
        "{lines:?}"
    );
}

#[test]
fn without_a_username_there_is_no_auth() {
    let (port, seen) = server(None);
    channel(port, None).deliver(&message()).unwrap();
    let lines = seen.recv().unwrap();
    assert!(!lines.iter().any(|l| l.starts_with("AUTH")), "{lines:?}");
}

#[test]
fn a_refused_login_is_auth() {
    let (port, _seen) = server(Some((
        "AUTH",
        "535 5.7.8 Authentication credentials invalid",
    )));
    let err = channel(port, Some("swarm"))
        .deliver(&message())
        .unwrap_err();
    assert!(matches!(err, ChannelError::Auth { .. }), "{err:?}");
    assert!(err.to_string().contains("M-000007"), "{err}");
    assert!(!err.to_string().contains("pa55word"), "{err}");
}

#[test]
fn a_permanent_refusal_is_rejected() {
    let (port, _seen) = server(Some(("RCPT", "550 5.1.1 No such user")));
    let err = channel(port, None).deliver(&message()).unwrap_err();
    assert!(matches!(err, ChannelError::Rejected { .. }), "{err:?}");
    assert!(err.to_string().contains("No such user"), "{err}");
}

#[test]
fn a_transient_refusal_is_unavailable() {
    let (port, _seen) = server(Some(("MAIL", "451 4.3.0 Try again later")));
    let err = channel(port, None).deliver(&message()).unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
}

#[test]
fn no_server_is_unavailable() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = channel(port, None).deliver(&message()).unwrap_err();
    assert!(matches!(err, ChannelError::Unavailable { .. }), "{err:?}");
}

#[test]
fn starttls_is_required_when_configured() {
    // The scripted server offers no STARTTLS: nothing is sent in the clear.
    let (port, seen) = server(None);
    let config: Config = serde_json::from_value(serde_json::json!({
        "host": "127.0.0.1", "port": port, "from": "swarm@example.org", "timeout_s": 5,
    }))
    .unwrap();
    let err = Email::new(&config, None)
        .unwrap()
        .deliver(&message())
        .unwrap_err();
    assert!(err.to_string().contains("STARTTLS"), "{err}");
    drop(err);
    let lines = seen.recv().unwrap_or_default();
    assert!(!lines.iter().any(|l| l.starts_with("MAIL")), "{lines:?}");
}

#[test]
fn an_unreadable_ca_file_is_named() {
    let config: Config = serde_json::from_value(serde_json::json!({
        "host": "smtp.example.org", "from": "swarm@example.org",
        "ca_file": "/nonexistent/ca.pem",
    }))
    .unwrap();
    let err = Email::new(&config, None).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
}
