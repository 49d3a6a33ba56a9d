//! The listening socket: each accepted connection sends what it is given at once.
//!
//! Without `TCP_NODELAY` a small write that follows another small write waits until the
//! first is acknowledged, and a client with nothing to send back delays that
//! acknowledgement by up to 40 ms: an event stream's second event, or the second piece of
//! a streamed answer, would arrive that much late.

use axum::serve::{ListenerExt, TapIo};
use tokio::net::{TcpListener, TcpStream};

/// `listener`, with `TCP_NODELAY` set on every connection it accepts (a connection where it
/// cannot be set is served anyway, and the failure logged).
pub fn no_delay(listener: TcpListener) -> TapIo<TcpListener, fn(&mut TcpStream)> {
    listener.tap_io(set_no_delay)
}

fn set_no_delay(stream: &mut TcpStream) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "cannot set TCP_NODELAY on a connection");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::serve::Listener;

    #[tokio::test]
    async fn accepted_connections_send_at_once() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut listener = no_delay(listener);
        let client = TcpStream::connect(addr).await.unwrap();
        let (accepted, from) = listener.accept().await;
        assert_eq!(from, client.local_addr().unwrap());
        assert!(accepted.nodelay().unwrap());
        // Tokio's own listener leaves it off: the wrapper is what sets it.
        let plain = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _client = TcpStream::connect(plain.local_addr().unwrap())
            .await
            .unwrap();
        assert!(!plain.accept().await.unwrap().0.nodelay().unwrap());
    }
}
