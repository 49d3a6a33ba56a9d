//! `provider-lmstudio`: (in progress).
