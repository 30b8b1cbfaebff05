//! Integration tests: module_publish (to be written).
