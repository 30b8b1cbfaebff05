//! Request counting: every request's method and path, so tests and benchmarks can count
//! round trips. Production code too (cheap, and `RunningRegistry::stats` is public).
//!
//! A leaf: imports nothing from the crate.

use std::sync::{Arc, Mutex};

/// Counts of the requests a registry received (method and path with query).
#[derive(Clone, Default)]
pub struct Stats(Arc<Mutex<Vec<(String, String)>>>);

impl Stats {
    fn seen(&self) -> std::sync::MutexGuard<'_, Vec<(String, String)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn record(&self, method: &str, path: &str) {
        self.seen().push((method.to_string(), path.to_string()));
    }

    /// All requests since start or the last reset.
    pub fn total(&self) -> usize {
        self.seen().len()
    }

    /// Requests with this method (case-insensitive) whose path and query contain
    /// `path_contains`.
    pub fn count(&self, method: &str, path_contains: &str) -> usize {
        self.seen()
            .iter()
            .filter(|(m, p)| m.eq_ignore_ascii_case(method) && p.contains(path_contains))
            .count()
    }

    /// POST, PATCH, PUT and DELETE requests.
    pub fn writes(&self) -> usize {
        self.seen()
            .iter()
            .filter(|(m, _)| matches!(m.as_str(), "POST" | "PATCH" | "PUT" | "DELETE"))
            .count()
    }

    pub fn reset(&self) {
        self.seen().clear()
    }
}
