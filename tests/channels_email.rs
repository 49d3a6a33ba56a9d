//! channel-email through the real binary against a real SMTP server on loopback (aiosmtpd,
//! STARTTLS and AUTH required): mails arrive over TLS after logging in, and the mails of one
//! task thread in a mail client; a refused login fails the delivery as such.

use crate::util::settled;
use hypernet_integration::smtp::{self, SmtpServer, header};
use hypernet_integration::{Env, eventually};
use serde_json::{Value, json};

const PASSWORD_ENV: &str = "HN_TEST_SMTP_PASSWORD";

/// A world whose channel-email talks to `server`; ada reads mail at ada@example.org.
fn world(env: &Env, server: &SmtpServer) {
    env.manifest(&format!(
        "[[plugin]]\nname = \"channel-email\"\ncapabilities = [\"log\"]\n[plugin.config]\n\
         host = \"127.0.0.1\"\nport = {}\ntls = \"starttls\"\nusername = \"{}\"\n\
         password_env = \"{PASSWORD_ENV}\"\nfrom = \"swarm@example.org\"\nca_file = \"{}\"\n\
         domain = \"swarm.example.org\"\ntimeout_s = 10\n",
        server.port,
        smtp::USER,
        server.ca_file.display()
    ));
    env.config(
        "standing = []\n[[person]]\nname = \"ada\"\nchannels = { email = \"ada@example.org\" }\nreceives = [\"questions\", \"approvals\", \"failures\", \"alerts\"]\n",
    );
}

fn server(env: &Env) -> SmtpServer {
    let dir = env.path().join("smtp");
    std::fs::create_dir_all(&dir).expect("a folder for the SMTP server");
    SmtpServer::start(&dir)
}

/// Files a message to ada by email; waits until it is sent or failed.
fn send(env: &Env, body: &Value) -> Value {
    let (status, filed) = env.api("/api/messages", Some(body));
    assert_eq!(status, 200, "{filed}");
    settled(env, filed["id"].as_str().unwrap())
}

#[test]
fn mails_arrive_over_starttls_after_auth_and_thread_by_task() {
    let env = Env::new();
    let server = server(&env);
    world(&env, &server);
    let host = env.start_with_env(&[(PASSWORD_ENV, smtp::PASSWORD)]);
    let first = send(
        &env,
        &json!({ "to": "ada", "channel": "email", "sender": "builder", "thread": "T-7",
                 "subject": "Which database?", "body": "Postgres or SQLite?" }),
    );
    assert_eq!(first["status"], "sent", "{first}\n{}", host.log());
    let second = send(
        &env,
        &json!({ "to": "ada", "channel": "email", "sender": "builder", "thread": "T-7",
                 "subject": "Done", "body": "SQLite it is." }),
    );
    assert_eq!(second["status"], "sent", "{second}\n{}", host.log());
    let delivery = &second["deliveries"][0];
    assert!(
        delivery["detail"].as_str().unwrap().starts_with("250 "),
        "the server's reply is kept: {delivery}"
    );

    let mails = eventually("both mails in the Maildir", || {
        let mails = server.messages();
        (mails.len() == 2).then_some(mails)
    });
    for mail in &mails {
        let tls = header(mail, "X-Test-TLS").unwrap();
        assert!(tls.starts_with("TLSv1."), "sent over STARTTLS: {tls}");
        let auth = header(mail, "X-Test-Auth").unwrap();
        assert!(auth.starts_with("swarm "), "logged in: {auth}");
        assert_eq!(
            header(mail, "X-Test-Mail-From").unwrap(),
            "swarm@example.org"
        );
        assert_eq!(header(mail, "X-Test-Rcpt-To").unwrap(), "ada@example.org");
        assert_eq!(header(mail, "From").unwrap(), "builder <swarm@example.org>");
        assert_eq!(header(mail, "To").unwrap(), "ada <ada@example.org>");
    }
    let first_id = format!("<{}.T-7@swarm.example.org>", first["id"].as_str().unwrap());
    let second_id = format!("<{}.T-7@swarm.example.org>", second["id"].as_str().unwrap());
    assert_eq!(header(&mails[0], "Message-ID").unwrap(), first_id);
    assert_eq!(
        header(&mails[0], "Subject").unwrap(),
        "[T-7] Which database?"
    );
    assert_eq!(header(&mails[0], "In-Reply-To"), None);
    assert_eq!(header(&mails[1], "Message-ID").unwrap(), second_id);
    assert_eq!(header(&mails[1], "Subject").unwrap(), "[T-7] Done");
    assert_eq!(header(&mails[1], "In-Reply-To").unwrap(), first_id);
    assert_eq!(
        header(&mails[1], "References").unwrap(),
        format!("<thread.T-7@swarm.example.org> {first_id}")
    );
    assert!(mails[1].contains("SQLite it is."));
    assert!(
        !host.log().contains(smtp::PASSWORD),
        "the password reached the log"
    );
}

#[test]
fn a_refused_login_fails_the_delivery_without_retrying() {
    let env = Env::new();
    let server = server(&env);
    world(&env, &server);
    let host = env.start_with_env(&[(PASSWORD_ENV, "not the password")]);
    let message = send(
        &env,
        &json!({ "to": "ada", "channel": "email", "body": "hello" }),
    );
    assert_eq!(message["status"], "failed", "{message}\n{}", host.log());
    let delivery = &message["deliveries"][0];
    assert_eq!(delivery["attempts"], 1, "{delivery}");
    let error = delivery["error"].as_str().unwrap();
    assert!(error.starts_with("authentication failed"), "{error}");
    assert!(error.contains("535"), "{error}");
    assert!(server.messages().is_empty());
    assert!(!host.log().contains("not the password"));
}
