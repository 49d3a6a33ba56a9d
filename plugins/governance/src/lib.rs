//! `governance`: (in progress).
