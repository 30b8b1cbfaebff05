//! Integration tests: sign (to be written).
