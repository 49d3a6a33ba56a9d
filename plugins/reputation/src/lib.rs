//! `reputation`: (in progress).
