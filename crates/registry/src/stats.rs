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
    /// Answers by status class (index 1..=5), and 429s on their own.
    classes: [usize; 6],
    too_many: usize,
    /// Time the registry took to answer the latest API requests (its own work, not the
    /// injected latency), bounded like `latest`.
    api_times: VecDeque<std::time::Duration>,
    /// When each of the latest API requests arrived, before any injected latency
    /// (bounded like `latest`).
    api_starts: VecDeque<std::time::Instant>,
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
        if path.starts_with("/api/") {
            if seen.api_starts.len() >= MAX_RECORDED {
                seen.api_starts.pop_front();
            }
            seen.api_starts.push_back(std::time::Instant::now());
        }
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

    /// Records an answer: its status, and for an API request the time it took.
    pub(crate) fn answered(&self, status: u16, api_time: Option<std::time::Duration>) {
        let mut seen = self.seen();
        let class = usize::from(status / 100).min(5);
        seen.classes[class] = seen.classes[class].saturating_add(1);
        if status == 429 {
            seen.too_many = seen.too_many.saturating_add(1);
        }
        if let Some(t) = api_time {
            if seen.api_times.len() >= MAX_RECORDED {
                seen.api_times.pop_front();
            }
            seen.api_times.push_back(t);
        }
    }

    /// Answers whose status is in class `class` (5 counts every 5xx).
    pub fn answers_in_class(&self, class: u16) -> usize {
        self.seen().classes[usize::from(class).min(5)]
    }

    /// Answers with status 429.
    pub fn too_many_requests(&self) -> usize {
        self.seen().too_many
    }

    /// The time the registry took to answer each of the latest API requests.
    pub fn api_times(&self) -> Vec<std::time::Duration> {
        self.seen().api_times.iter().copied().collect()
    }

    /// The most API requests that arrived within any `window` (what a server-side rate
    /// limit such as HCP Terraform's 30 per second would have counted).
    pub fn api_peak(&self, window: std::time::Duration) -> usize {
        let mut at: Vec<std::time::Instant> = self.seen().api_starts.iter().copied().collect();
        at.sort();
        let (mut first, mut most) = (0, 0);
        for (i, t) in at.iter().enumerate() {
            while *t - at[first] >= window {
                first += 1;
            }
            most = most.max(i + 1 - first);
        }
        most
    }

    pub fn reset(&self) {
        *self.seen() = Seen::default();
    }
}
