//! The OpenAI Chat Completions wire format, shared by the OpenAI-compatible provider plugins.
