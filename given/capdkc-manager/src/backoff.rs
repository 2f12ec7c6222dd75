//! Per-object exponential backoff: an object that keeps failing is retried less and less often,
//! without slowing down the others. A success forgets its failures.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// First retry after one second.
pub const INITIAL: Duration = Duration::from_secs(1);
/// Never wait longer than five minutes.
pub const MAX: Duration = Duration::from_secs(300);

/// The wait after the `failures`-th consecutive failure: 1 s, 2 s, 4 s, ... up to 300 s.
pub fn delay(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    INITIAL.saturating_mul(1 << doublings).min(MAX)
}

/// Consecutive failures per object (keyed by kind, namespace and name).
#[derive(Debug, Default)]
pub struct Backoff {
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoff {
    /// Records a failure of `key` and returns how long to wait before retrying it.
    pub fn failed(&self, key: &str) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let count = failures.entry(key.to_owned()).or_default();
        *count = count.saturating_add(1);
        delay(*count)
    }

    /// Forgets the failures of `key` after a success.
    pub fn succeeded(&self, key: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_one_second_up_to_five_minutes() {
        let delays: Vec<u64> = (1..=11).map(|n| delay(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(delay(u32::MAX), MAX);
    }

    #[test]
    fn objects_back_off_independently_and_success_resets() {
        let backoff = Backoff::default();
        assert_eq!(backoff.failed("a"), Duration::from_secs(1));
        assert_eq!(backoff.failed("a"), Duration::from_secs(2));
        assert_eq!(backoff.failed("b"), Duration::from_secs(1));
        backoff.succeeded("a");
        assert_eq!(backoff.failed("a"), Duration::from_secs(1));
    }
}
