//! Integration tests: action (to be written).
