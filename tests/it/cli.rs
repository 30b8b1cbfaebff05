//! Integration tests: cli (to be written).
