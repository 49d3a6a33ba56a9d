//! A loopback relay in front of a host that a test can cut: while it is closed, every
//! connection through it is dropped and new ones are refused, as when a laptop loses its
//! network. It notes the first line of every request it relays.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The relay; it stops when dropped.
pub struct Relay {
    /// The loopback port it listens on.
    pub port: u16,
    open: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    requests: Arc<Mutex<Vec<String>>>,
    accept: JoinHandle<()>,
}

impl Relay {
    /// Relays `127.0.0.1:<port>` to `upstream` (`http://host:port` or `host:port`).
    pub async fn start(upstream: &str) -> Relay {
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port for the relay");
        let port = listener.local_addr().expect("its address").port();
        let open = Arc::new(AtomicBool::new(true));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (gate, held, noted) = (open.clone(), connections.clone(), requests.clone());
        let accept = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if gate.load(Ordering::SeqCst) {
                    let relayed = tokio::spawn(relay(inbound, upstream.clone(), noted.clone()));
                    lock(&held).push(relayed);
                }
            }
        });
        Relay {
            port,
            open,
            connections,
            requests,
            accept,
        }
    }

    /// Drops every connection and refuses new ones until [`Relay::reopen`].
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for connection in lock(&self.connections).drain(..) {
            connection.abort();
        }
    }

    /// Relays new connections again.
    pub fn reopen(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    /// The first line of every request relayed so far (`GET /path HTTP/1.1`).
    pub fn requests(&self) -> Vec<String> {
        lock(&self.requests).clone()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

async fn relay(mut inbound: TcpStream, upstream: String, noted: Arc<Mutex<Vec<String>>>) {
    let mut head = [0u8; 1024];
    if let Ok(n) = inbound.peek(&mut head).await {
        let text = String::from_utf8_lossy(&head[..n]);
        lock(&noted).push(text.lines().next().unwrap_or_default().to_owned());
    }
    if let Ok(mut outbound) = TcpStream::connect(&upstream).await {
        let _ = copy_bidirectional(&mut inbound, &mut outbound).await;
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
