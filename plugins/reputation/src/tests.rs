//! Tests of the subsystem through its queries and events, on an in-memory host.
