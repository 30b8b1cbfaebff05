//! Retry timing and the client-side request limiter.
//!
//! HCP Terraform allows about 30 requests/second per token; the limiter keeps a client
//! (and all its clones) below that so bulk operations do not trip 429s at all. Retries
//! use exponential backoff with full jitter, never wait less than a 429's
//! `X-RateLimit-Reset`, and give up once the total budget is spent.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::Rng;

/// How often and how long to retry a failed request.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in total, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// No retry starts after this much time has passed since the first attempt.
    pub total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            total: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `attempt` (1 = first retry): a uniform draw in
    /// `[0, min(max_delay, base * 2^(attempt-1))]`, raised to `at_least`.
    pub fn delay(&self, attempt: u32, at_least: Option<Duration>) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(20)));
        let cap = exp.min(self.max_delay);
        let jitter = if cap.is_zero() {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(rand::thread_rng().gen_range(0.0..=cap.as_secs_f64()))
        };
        match at_least {
            Some(min) if min > jitter => min,
            _ => jitter,
        }
    }

    /// Whether another attempt may start: attempts left and the delay fits the budget.
    pub fn may_retry(&self, attempts_done: u32, started: Instant, delay: Duration) -> bool {
        attempts_done < self.max_attempts && started.elapsed() + delay <= self.total
    }
}

/// Spaces requests at least `1/rps` apart. Shared (behind an `Arc`) by client clones.
#[derive(Debug)]
pub struct Limiter {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Limiter {
    pub fn new(max_rps: f64) -> Self {
        let rps = if max_rps.is_finite() && max_rps > 0.0 {
            max_rps
        } else {
            25.0
        };
        Limiter {
            interval: Duration::from_secs_f64(1.0 / rps),
            next: Mutex::new(None),
        }
    }

    /// Wait for this request's slot.
    pub async fn acquire(&self) {
        let slot = {
            let mut next = self.next.lock().expect("limiter lock");
            let now = Instant::now();
            let slot = match *next {
                Some(n) if n > now => n,
                _ => now,
            };
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn limiter_holds_below_rate() {
        let l = std::sync::Arc::new(Limiter::new(30.0));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let l = l.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..20 {
                    l.acquire().await;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        // 60 slots at 30/s: the last starts 59/30 s after the first.
        assert!(
            start.elapsed() >= Duration::from_millis(1950),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn delay_respects_floor_and_cap() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
            total: Duration::from_secs(5),
        };
        for a in 1..10 {
            assert!(p.delay(a, None) <= Duration::from_millis(300));
            assert!(p.delay(a, Some(Duration::from_secs(2))) >= Duration::from_secs(2));
        }
        assert!(!p.may_retry(5, Instant::now(), Duration::ZERO));
        assert!(!p.may_retry(1, Instant::now(), Duration::from_secs(6)));
        assert!(p.may_retry(1, Instant::now(), Duration::from_secs(1)));
    }
}
