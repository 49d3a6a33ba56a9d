//! `provider-anthropic`: (in progress).
