//! Reading the config and the secrets it names.

use super::*;
use crate::config::Webhook;

#[test]
fn a_webhook_is_an_id_and_token_or_its_url() {
    let expected = Webhook {
        id: "123456789".into(),
        token: "abc-DEF_9".into(),
    };
    for value in [
        "123456789/abc-DEF_9",
        " 123456789/abc-DEF_9\n",
        "https://discord.com/api/webhooks/123456789/abc-DEF_9",
        "https://discord.com/api/v10/webhooks/123456789/abc-DEF_9?wait=true",
        "https://discordapp.com/api/webhooks/123456789/abc-DEF_9/github",
    ] {
        assert_eq!(Webhook::parse(value, "HOOK").unwrap(), expected, "{value}");
    }
}

#[test]
fn a_bad_webhook_names_the_variable_not_the_value() {
    for value in [
        "no-slash",
        "abc/token",
        "123/",
        "123/tok en",
        "https://example.org/hooks/123/secret-token",
    ] {
        let e = Webhook::parse(value, "DISCORD_WEBHOOK_SCOUT").unwrap_err();
        assert!(e.message().contains("DISCORD_WEBHOOK_SCOUT"), "{e}");
        assert!(!e.message().contains("secret-token"), "{e}");
    }
}

#[test]
fn debug_output_hides_the_tokens() {
    let d = discord(
        "application_id = \"555\"",
        &[
            ("DISCORD_WEBHOOK", "1/webhook-secret"),
            ("DISCORD_BOT_TOKEN", "bot-secret"),
        ],
    );
    let shown = format!("{d:?}");
    assert!(
        !shown.contains("webhook-secret") && !shown.contains("bot-secret"),
        "{shown}"
    );
    assert!(shown.contains("<redacted>"), "{shown}");
}

#[test]
fn missing_variables_are_named() {
    let e = try_discord("", &[]).unwrap_err();
    assert!(e.message().contains("DISCORD_WEBHOOK"), "{e}");

    let e = try_discord(
        "[personalities.scout]\nwebhook_env = \"HOOK_SCOUT\"",
        &[("DISCORD_WEBHOOK", WEBHOOK)],
    )
    .unwrap_err();
    assert!(
        e.message().contains("HOOK_SCOUT") && e.message().contains("scout"),
        "{e}"
    );

    let e = try_discord(
        "application_id = \"555\"\nbot_token_env = \"MY_BOT\"",
        &[("DISCORD_WEBHOOK", WEBHOOK)],
    )
    .unwrap_err();
    assert!(e.message().contains("MY_BOT"), "{e}");

    let e = try_discord(
        "public_key_env = \"APP_KEY\"",
        &[("DISCORD_WEBHOOK", WEBHOOK)],
    )
    .unwrap_err();
    assert!(e.message().contains("APP_KEY"), "{e}");
}

#[test]
fn the_public_key_comes_from_the_config_or_a_variable() {
    let key = public_key_hex();
    let from_env = discord(
        "public_key_env = \"APP_KEY\"",
        &[("DISCORD_WEBHOOK", WEBHOOK), ("APP_KEY", &key)],
    );
    assert!(from_env.secrets.public_key.is_some());
    let e = try_discord(
        "public_key_env = \"APP_KEY\"",
        &[("DISCORD_WEBHOOK", WEBHOOK), ("APP_KEY", "zz")],
    )
    .unwrap_err();
    assert!(
        e.message().contains("APP_KEY") && e.message().contains("64 hex"),
        "{e}"
    );
}

#[test]
fn validation_names_the_field() {
    for (toml_text, field) in [
        ("base_url = \"discord.com\"", "base_url"),
        ("application_id = \"my-app\"", "application_id"),
        ("public_key = \"abcd\"", "public_key"),
        (
            "public_key = \"00\"\npublic_key_env = \"K\"",
            "public_key_env",
        ),
        ("webhook_env = \"\"", "webhook_env"),
        (
            "[personalities.scout]\nusername = \" \"",
            "personalities.scout.username",
        ),
    ] {
        let e = config(toml_text).validate().unwrap_err();
        assert!(e.message().contains(field), "{toml_text}: {e}");
    }
}

#[test]
fn unknown_keys_are_refused() {
    let value: toml::Value = toml::from_str("webhook = \"x\"").unwrap();
    let e = Config::deserialize(value).unwrap_err().to_string();
    assert!(e.contains("webhook"), "{e}");
}
