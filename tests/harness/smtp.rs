//! A real SMTP server on loopback for the email channel's tests: `tests/smtp/server.py`
//! (aiosmtpd) with STARTTLS required, AUTH for one user, and a Maildir of what it accepted.
//! Its certificate is signed by a CA made for the test with the `openssl` command; the
//! channel trusts that CA through `ca_file`.
//!
//! The server runs from the virtual environment `target/smtp-venv`, which `.ci/run` makes;
//! without it [`SmtpServer::start`] fails saying how to make it.

use crate::{target_dir, workspace_root};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The login the server accepts.
pub const USER: &str = "swarm";
/// Its password.
pub const PASSWORD: &str = "correct horse battery staple";

/// The running server; killed when dropped.
pub struct SmtpServer {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The CA certificate (PEM) that signed its certificate.
    pub ca_file: PathBuf,
    /// The Maildir it writes messages to.
    pub maildir: PathBuf,
}

impl SmtpServer {
    /// Makes a CA and a certificate for 127.0.0.1 in `dir`, starts the server, and waits
    /// until it listens.
    pub fn start(dir: &Path) -> SmtpServer {
        let python = target_dir().join("smtp-venv/bin/python");
        let ready = python.exists()
            && Command::new(&python)
                .args(["-c", "import aiosmtpd"])
                .status()
                .is_ok_and(|s| s.success());
        assert!(
            ready,
            "the SMTP test server needs aiosmtpd in {}: run `python3 -m venv target/smtp-venv && \
             target/smtp-venv/bin/pip install aiosmtpd==1.4.6` in the workspace (.ci/run does)",
            python.display()
        );
        let (ca_file, cert, key) = certificates(dir);
        let maildir = dir.join("maildir");
        let mut child = Command::new(&python)
            .arg(workspace_root().join("tests/smtp/server.py"))
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .args(["--user", USER])
            .arg("--maildir")
            .arg(&maildir)
            .env("SMTP_TEST_PASSWORD", PASSWORD)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tests/smtp/server.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("read the server's port");
        let port = line
            .trim()
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the SMTP server did not start: `{line}`"));
        SmtpServer {
            child,
            port,
            ca_file,
            maildir,
        }
    }

    /// The messages received so far, oldest first, each as written to the Maildir.
    pub fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
            .filter_map(Result::ok)
            .map(|e| {
                let modified = e.metadata().and_then(|m| m.modified()).ok();
                (modified.unwrap_or(std::time::UNIX_EPOCH), e.path())
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|(_, path)| std::fs::read_to_string(path).expect("a message file"))
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of header `name` in a message, unfolded; None when absent.
pub fn header(message: &str, name: &str) -> Option<String> {
    let head = message
        .split("\n\n")
        .next()
        .unwrap_or_default()
        .replace('\r', "");
    let unfolded = head.replace("\n ", " ").replace("\n\t", " ");
    let prefix = format!("{}:", name.to_ascii_lowercase());
    unfolded.lines().find_map(|line| {
        line.to_ascii_lowercase()
            .starts_with(&prefix)
            .then(|| line[prefix.len()..].trim().to_owned())
    })
}

/// A CA, and a server key and certificate for 127.0.0.1 signed by it: (ca, cert, key).
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let ca_key = dir.join("ca.key");
    let ca = dir.join("ca.pem");
    let key = dir.join("server.key");
    let csr = dir.join("server.csr");
    let cert = dir.join("server.pem");
    let ext = dir.join("server.ext");
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write the certificate extensions");
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"],
            &ec[..],
            &["-days", "2", "-subj", "/CN=hypernet test CA"],
        ]
        .concat(),
        &[("-keyout", &ca_key), ("-out", &ca)],
    );
    openssl(
        &[&["req"], &ec[..], &["-subj", "/CN=127.0.0.1"]].concat(),
        &[("-keyout", &key), ("-out", &csr)],
    );
    openssl(
        &["x509", "-req", "-days", "2", "-set_serial", "2"],
        &[
            ("-in", &csr),
            ("-CA", &ca),
            ("-CAkey", &ca_key),
            ("-extfile", &ext),
            ("-out", &cert),
        ],
    );
    (ca, cert, key)
}

fn openssl(args: &[&str], paths: &[(&str, &Path)]) {
    let mut command = Command::new("openssl");
    command.args(args);
    for (flag, path) in paths {
        command.arg(flag).arg(path);
    }
    let out = command
        .output()
        .expect("the `openssl` command makes the test's certificates (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
