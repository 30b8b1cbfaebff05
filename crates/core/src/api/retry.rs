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

/// Paces request starts against a server that allows `limit` requests per second per
/// token, as HashiCorp's go-tfe paces them: a token bucket refilled at two thirds of the
/// limit that holds a third of it, shared (behind an `Arc`) by client clones.
///
/// A burst (a dozen platform creates) goes at once; once the burst is spent requests
/// leave 1/rate apart, and in any one second at most rate + burst (29 of HCP's 30)
/// start. The margin is what the server sees: a request that leaves late (a busy
/// runtime, a slow connection) lands in the next second, and a full-limit window (the
/// first design) let a late burst and the next one arrive within the same second (the
/// embedded registry counted 38). Slots are handed out in order, so waiting callers
/// keep their turn. The limit follows the server's `X-RateLimit-Limit` once one is seen.
#[derive(Debug)]
pub struct Limiter {
    bucket: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    limit: f64,
    /// 1 / refill rate.
    interval: Duration,
    /// How far ahead of the refill a start may run: (burst - 1) intervals.
    tolerance: Duration,
    /// When the bucket is next full at the refill rate (none yet: full now).
    theoretical: Option<Instant>,
}

impl Bucket {
    fn new(limit: f64) -> Bucket {
        let limit = if limit.is_finite() && limit >= 1.0 {
            limit
        } else {
            30.0
        };
        let rate = limit * 0.66;
        let burst = ((limit * 0.33).floor() as u32).max(1);
        let interval = Duration::from_secs_f64(1.0 / rate);
        Bucket {
            limit,
            interval,
            tolerance: interval * (burst - 1),
            theoretical: None,
        }
    }
}

impl Limiter {
    /// For a server that allows `limit` requests per second (HCP Terraform: 30).
    pub fn new(limit: f64) -> Self {
        Limiter {
            bucket: Mutex::new(Bucket::new(limit)),
        }
    }

    /// The server said its limit (`X-RateLimit-Limit`): pace against that from now on.
    pub fn set_limit(&self, limit: f64) {
        if !(limit.is_finite() && limit >= 1.0) {
            return;
        }
        let mut b = self.bucket.lock().expect("limiter lock");
        if (b.limit - limit).abs() > f64::EPSILON {
            let theoretical = b.theoretical;
            *b = Bucket::new(limit);
            b.theoretical = theoretical;
        }
    }

    /// Wait for this request's slot; returns the slot (the earliest instant the request
    /// may start).
    pub async fn acquire(&self) -> Instant {
        let slot = {
            let mut b = self.bucket.lock().expect("limiter lock");
            let now = Instant::now();
            let tat = b.theoretical.map_or(now, |t| t.max(now));
            let slot = tat.checked_sub(b.tolerance).map_or(now, |s| s.max(now));
            b.theoretical = Some(tat + b.interval);
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn limiter_holds_below_rate() {
        let l = std::sync::Arc::new(Limiter::new(30.0));
        let times = std::sync::Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let (l, times) = (l.clone(), times.clone());
            tasks.push(tokio::spawn(async move {
                for _ in 0..15 {
                    let slot = l.acquire().await;
                    let woke = Instant::now();
                    // Never started before its slot ...
                    assert!(woke >= slot);
                    times.lock().unwrap().push(slot);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let mut t = times.lock().unwrap().clone();
        t.sort();
        assert_eq!(t.len(), 45);
        // A burst of a third of the limit goes through at once ...
        assert!(t[8] - t[0] < Duration::from_millis(20), "{:?}", t[8] - t[0]);
        // ... the rest leave spaced at two thirds of the limit ...
        for i in 10..t.len() {
            let gap = t[i] - t[i - 1];
            assert!(
                gap >= Duration::from_millis(49),
                "starts {i} only {gap:?} apart"
            );
        }
        // ... so no one-second window holds more than 28 starts (HCP allows 30).
        for i in 28..t.len() {
            assert!(
                t[i] - t[i - 28] >= Duration::from_millis(1000),
                "starts {} and {i} only {:?} apart",
                i - 28,
                t[i] - t[i - 28]
            );
        }
    }

    #[tokio::test]
    async fn limiter_follows_the_servers_limit() {
        let l = Limiter::new(30.0);
        l.set_limit(3.0);
        let (a, b) = (l.acquire().await, l.acquire().await);
        // 3 per second: a burst of one, then 1 / 1.98 s apart.
        assert!(b - a >= Duration::from_millis(490), "{:?}", b - a);
        l.set_limit(f64::NAN);
        let c = l.acquire().await;
        assert!(
            c - b >= Duration::from_millis(490),
            "a bad limit is ignored"
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
