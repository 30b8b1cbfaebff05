//! Integration tests: registry (to be written).
