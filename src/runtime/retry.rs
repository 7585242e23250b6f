//! Patience with AWS: a call AWS throttled is tried again after a growing,
//! jittered pause, so throttling slows the installer down instead of
//! reaching the operator. Only `CloudError::Throttled` is retried here. On
//! AWS this is a second layer: the SDK's standard mode has already tried
//! each request up to five times (throttling, dropped connections and
//! server errors alike), so `Throttled` arriving here means AWS kept saying
//! so; the sandbox's scripted throttling arrives here directly.

use std::future::Future;
use std::time::Duration;

use crate::clock::Clock;
use crate::cloud::{CloudError, CloudResult};

/// How long to wait between attempts.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Pause before the second attempt; doubled for each one after.
    pub first: Duration,
    /// No pause is longer than this.
    pub cap: Duration,
    /// Attempts in all, the first included.
    pub attempts: u32,
}

impl Default for Backoff {
    /// Pauses of up to 0.5 s, 1 s, 2 s, 4 s, 8 s and 8 s (each at least half
    /// that): 12 to 23.5 s of patience before giving up.
    fn default() -> Self {
        Backoff {
            first: Duration::from_millis(500),
            cap: Duration::from_secs(8),
            attempts: 7,
        }
    }
}

impl Backoff {
    /// The pause after failed attempt `n` (1-based): half fixed, half random,
    /// so parallel callers do not retry in step.
    pub fn pause(&self, n: u32) -> Duration {
        let full = self
            .first
            .saturating_mul(1 << n.saturating_sub(1).min(16))
            .min(self.cap);
        let half = full / 2;
        let jitter = if half.is_zero() {
            Duration::ZERO
        } else {
            Duration::from_nanos(rand::random_range(0..half.as_nanos() as u64))
        };
        half + jitter
    }
}

/// Runs `call` until it succeeds, fails with anything but throttling, or
/// has been throttled `backoff.attempts` times; the pauses are taken on `clock`.
pub async fn patiently<T, F, Fut>(
    clock: &dyn Clock,
    backoff: Backoff,
    mut call: F,
) -> CloudResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = CloudResult<T>>,
{
    let mut attempt = 1;
    loop {
        match call().await {
            Err(CloudError::Throttled {
                action,
                retry_after,
            }) if attempt < backoff.attempts => {
                let pause = retry_after
                    .map_or_else(|| backoff.pause(attempt), |after| after.min(backoff.cap));
                tracing::info!(%action, attempt, pause_ms = pause.as_millis() as u64, "throttled; waiting before trying again");
                clock.sleep(pause).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    const QUICK: Backoff = Backoff {
        first: Duration::from_millis(1),
        cap: Duration::from_millis(4),
        attempts: 4,
    };

    fn throttled() -> CloudError {
        CloudError::Throttled {
            action: "cloudformation:DescribeStackEvents".into(),
            retry_after: None,
        }
    }

    async fn run(fail_first: u32, backoff: Backoff) -> (CloudResult<&'static str>, u32) {
        let calls = Arc::new(AtomicU32::new(0));
        let seen = calls.clone();
        let clock = ManualClock::starting_now();
        let result = patiently(&clock, backoff, || {
            let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                if n <= fail_first {
                    Err(throttled())
                } else {
                    Ok("events")
                }
            }
        })
        .await;
        (result, calls.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn throttled_calls_are_retried_until_one_succeeds() {
        let (result, calls) = run(3, QUICK).await;
        assert_eq!(result, Ok("events"));
        assert_eq!(calls, 4);
    }

    #[tokio::test]
    async fn throttling_that_never_stops_reaches_the_caller_after_every_attempt() {
        let (result, calls) = run(u32::MAX, QUICK).await;
        assert_eq!(result, Err(throttled()));
        assert_eq!(calls, QUICK.attempts);
    }

    #[tokio::test]
    async fn other_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let clock = ManualClock::starting_now();
        let result: CloudResult<()> = patiently(&clock, QUICK, || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(CloudError::not_found("stack ph-demo-network")) }
        })
        .await;
        assert!(matches!(result, Err(CloudError::NotFound { .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn the_pauses_are_taken_on_the_runs_clock_not_in_real_time() {
        let clock = ManualClock::starting_now();
        let real = std::time::Instant::now();
        let calls = AtomicU32::new(0);
        let result = patiently(&clock, Backoff::default(), || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move { if n < 6 { Err(throttled()) } else { Ok(()) } }
        })
        .await;
        assert_eq!(result, Ok(()));
        // Six pauses of 0.25-0.5, 0.5-1, 1-2, 2-4, 4-8 and 4-8 s.
        let waited = clock.elapsed();
        assert!(
            waited >= Duration::from_millis(11_750) && waited <= Duration::from_millis(23_500),
            "{waited:?}"
        );
        assert!(
            real.elapsed() < Duration::from_secs(2),
            "{:?}",
            real.elapsed()
        );
    }

    #[test]
    fn pauses_grow_and_stay_under_the_cap() {
        let b = Backoff::default();
        for n in 1..=10 {
            let p = b.pause(n);
            let full = (b.first * 2u32.pow(n - 1)).min(b.cap);
            assert!(p >= full / 2 && p <= full, "attempt {n}: {p:?} vs {full:?}");
        }
    }
}
