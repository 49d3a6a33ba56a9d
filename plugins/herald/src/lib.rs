//! `herald`: (in progress).
