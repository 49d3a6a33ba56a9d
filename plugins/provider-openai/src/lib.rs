//! `provider-openai`: (in progress).
