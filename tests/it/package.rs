//! Integration tests: package (to be written).
