//! `hypernet dashboard`: the address of the running host's dashboard, with the API token in
//! the URL fragment (`#token=`), which the browser never sends to the server; the page moves
//! it to its own storage and clears it from the address bar.

use super::client::Client;
use anyhow::{Context, Result};
use serde_json::json;
use std::path::Path;

pub(super) async fn show(data_dir: &Path, json: bool) -> Result<()> {
    let client = Client::connect(data_dir)?;
    // Only a host that answers has a dashboard to open.
    client.get("/api/health").await?;
    let token = client.token().with_context(|| {
        format!(
            "reading the API token {} (the running host writes it there)",
            data_dir.join("api-token").display()
        )
    })?;
    let url = dashboard_url(client.base(), token);
    if json {
        outln!("{}", json!({ "url": url }))?;
    } else {
        outln!("{url}")?;
    }
    Ok(())
}

/// `<base>/#token=<token>`.
fn dashboard_url(base: &str, token: &str) -> String {
    format!("{}/#token={token}", base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_travels_in_the_fragment() {
        assert_eq!(
            dashboard_url("http://127.0.0.1:7477/", "ab12"),
            "http://127.0.0.1:7477/#token=ab12"
        );
    }
}
