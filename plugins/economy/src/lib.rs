//! `economy`: (in progress).
