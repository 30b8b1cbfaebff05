//! Integration tests: git (to be written).
