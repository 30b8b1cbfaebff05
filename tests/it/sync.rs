//! Integration tests: sync (to be written).
