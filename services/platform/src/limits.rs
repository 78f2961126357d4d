//! Rate limiting of public (sign-in-free) endpoints: the consultation
//! service's public topics, the member studios' public requests.
//!
//! [`RateLimiter`] is the seam: the embedded default counts in process
//! ([`InProcessLimiter`]); distributed mode plugs in the shared
//! [`RedisLimiter`](crate::redis_state::RedisLimiter), so that a client gets
//! the same allowance however many replicas it reaches.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

/// Counts attempts per key within a sliding window.
#[async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Records an attempt under `key`; `false` when the key is over its limit
    /// (the refused attempt is not counted).
    async fn try_acquire(&self, key: &str) -> bool;
}

/// A sliding-window limiter in this process's memory.
pub struct InProcessLimiter {
    limit: usize,
    window: Duration,
    attempts: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl InProcessLimiter {
    pub fn new(limit: usize, window: Duration) -> Self {
        Self { limit, window, attempts: Mutex::new(HashMap::new()) }
    }

    /// The allowance: attempts per window.
    pub fn limit(&self) -> (usize, Duration) {
        (self.limit, self.window)
    }
}

#[async_trait]
impl RateLimiter for InProcessLimiter {
    async fn try_acquire(&self, key: &str) -> bool {
        let now = Instant::now();
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        // Forget keys whose window has passed, so the map stays small.
        attempts.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < self.window));
        let times = attempts.entry(key.to_owned()).or_default();
        while times.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
            times.pop_front();
        }
        if times.len() >= self.limit {
            return false;
        }
        times.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_beyond_the_limit_per_key() {
        let limiter = InProcessLimiter::new(2, Duration::from_secs(600));
        assert!(limiter.try_acquire("a").await);
        assert!(limiter.try_acquire("a").await);
        assert!(!limiter.try_acquire("a").await);
        assert!(limiter.try_acquire("b").await);
    }

    #[tokio::test]
    async fn forgets_attempts_after_the_window() {
        let limiter = InProcessLimiter::new(1, Duration::from_millis(20));
        assert!(limiter.try_acquire("a").await);
        assert!(!limiter.try_acquire("a").await);
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(limiter.try_acquire("a").await);
    }
}
