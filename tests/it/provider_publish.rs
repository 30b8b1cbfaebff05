//! Integration tests: provider_publish (to be written).
