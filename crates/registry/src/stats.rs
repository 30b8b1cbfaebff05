//! Request counting: every request's method and path, so tests and benchmarks can count
//! round trips. Production code too (cheap, and `RunningRegistry::stats` is public), so
//! it is bounded: the latest [`MAX_RECORDED`] requests are kept, each path cut at
//! [`MAX_PATH`] bytes, and the total is a counter; a long-running server or a client
//! sending endless distinct URLs cannot grow it without limit.
//!
//! A leaf: imports nothing from the crate.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// How many of the latest requests are kept for [`Stats::count`] and [`Stats::writes`].
pub(crate) const MAX_RECORDED: usize = 100_000;
/// The longest path (with query) kept per request, in bytes.
pub(crate) const MAX_PATH: usize = 512;

#[derive(Default)]
struct Seen {
    total: usize,
    latest: VecDeque<(String, String)>,
}

impl std::ops::Deref for Seen {
    type Target = VecDeque<(String, String)>;
    fn deref(&self) -> &Self::Target {
        &self.latest
    }
}

/// Counts of the requests a registry received (method and path with query).
#[derive(Clone, Default)]
pub struct Stats(Arc<Mutex<Seen>>);

impl Stats {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn record(&self, method: &str, path: &str) {
        let mut end = path.len().min(MAX_PATH);
        while !path.is_char_boundary(end) {
            end -= 1;
        }
        let mut seen = self.seen();
        seen.total = seen.total.saturating_add(1);
        if seen.latest.len() >= MAX_RECORDED {
            seen.latest.pop_front();
        }
        seen.latest
            .push_back((method.to_string(), path[..end].to_string()));
    }

    /// All requests since start or the last reset.
    pub fn total(&self) -> usize {
        self.seen().total
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
        *self.seen() = Seen::default();
    }
}
