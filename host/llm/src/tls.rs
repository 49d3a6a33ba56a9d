//! TLS for every HTTPS request the host makes (model APIs, the `http` tool): rustls with
//! ring as its crypto provider, and the platform's certificate store for trust. The provider
//! is installed once per process, before any client is built.

use std::sync::Once;

static INSTALL: Once = Once::new();

/// Installs the crypto provider (once; later calls do nothing). Every constructor of an
/// HTTP client calls it.
pub fn install() {
    INSTALL.call_once(|| {
        // Another part of the process may have installed one already: that one serves.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn https_is_spoken_not_refused_as_an_unknown_scheme() {
        super::install();
        let client = reqwest::Client::builder()
            .build()
            .expect("a client with TLS");
        // A plain TCP listener: the TLS handshake starts and fails, which a build without
        // TLS would never get to.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((mut stream, _)) = listener.accept() {
                use std::io::Write;
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\n\r\nnot tls");
            }
        });
        let err = client
            .get(format!("https://127.0.0.1:{port}/"))
            .send()
            .await
            .expect_err("not a TLS server");
        assert!(
            err.is_connect(),
            "a handshake failure, not a refused scheme: {err:?}"
        );
    }
}
