//! Keeps credentials out of what a provider says back. Some APIs quote the key they refuse
//! ("Incorrect API key provided: sk-…"); whatever the host then does with that text — an
//! error on a task, a log line, an event — would carry the key. So before a response reaches
//! a provider plugin, every credential the request carried (the values of its
//! `Authorization`, `x-api-key`, `api-key` and other key or token headers) is replaced in the
//! body by `[redacted]`.

use hypernet_plugin_api::provider::HttpRequest;

/// What replaces a credential.
pub const REDACTED: &str = "[redacted]";

/// Shorter values are not taken for credentials (a header saying `none` must not blank every
/// `none` in a body).
const MIN_SECRET_CHARS: usize = 8;

/// The credentials `request` carries, longest first.
pub fn credentials(request: &HttpRequest) -> Vec<String> {
    let mut found: Vec<String> = request
        .headers
        .iter()
        .filter(|(name, _)| {
            let name = name.to_ascii_lowercase();
            ["authorization", "key", "token", "secret"]
                .iter()
                .any(|word| name.contains(word))
        })
        .map(|(_, value)| {
            let value = value.trim();
            match value.split_once(' ') {
                Some((scheme, rest))
                    if scheme.eq_ignore_ascii_case("bearer")
                        || scheme.eq_ignore_ascii_case("basic") =>
                {
                    rest.trim().to_owned()
                }
                _ => value.to_owned(),
            }
        })
        .filter(|v| v.chars().count() >= MIN_SECRET_CHARS)
        .collect();
    found.sort_by_key(|v| std::cmp::Reverse(v.len()));
    found.dedup();
    found
}

/// `text` with every one of `secrets` replaced by [`REDACTED`].
pub fn scrub(text: &mut String, secrets: &[String]) {
    for secret in secrets {
        if text.contains(secret.as_str()) {
            *text = text.replace(secret.as_str(), REDACTED);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            url: "http://127.0.0.1/v1".into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: String::new(),
        }
    }

    #[test]
    fn the_keys_a_request_carries_are_found_whatever_the_header() {
        let r = request(&[
            ("Authorization", "Bearer sk-openai-1234567890"),
            ("x-api-key", "sk-ant-abcdefghij"),
            ("anthropic-version", "2023-06-01"),
            ("content-type", "application/json"),
            ("X-Short-Token", "none"),
        ]);
        assert_eq!(
            credentials(&r),
            ["sk-openai-1234567890", "sk-ant-abcdefghij"]
        );
    }

    #[test]
    fn a_quoted_key_is_blanked_and_the_rest_of_the_message_kept() {
        let r = request(&[("Authorization", "Bearer sk-leak-0123456789")]);
        let mut body =
            r#"{"error":{"message":"Incorrect API key provided: sk-leak-0123456789."}}"#.to_owned();
        scrub(&mut body, &credentials(&r));
        assert_eq!(
            body,
            r#"{"error":{"message":"Incorrect API key provided: [redacted]."}}"#
        );
        let mut clean = "nothing to hide".to_owned();
        scrub(&mut clean, &credentials(&r));
        assert_eq!(clean, "nothing to hide");
    }
}
