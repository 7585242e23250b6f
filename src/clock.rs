//! The one clock of a run: what time it is and how to wait. The sandbox's
//! virtual time, the retry pauses and every poller read it, so a test that
//! swaps it runs a whole flow on virtual time with no real sleeps.
//!
//! Two clocks:
//! - [`SystemClock`]: the wall-clock time at start, moved on by tokio's
//!   clock. In production that is real time. Under a tokio test runtime
//!   started paused (`#[tokio::test(start_paused = true)]`) tokio's clock is
//!   virtual and jumps to the next timer whenever every task is waiting, so
//!   concurrent pollers share one consistent virtual time line.
//! - [`ManualClock`]: moves only when a test advances it (or when something
//!   sleeps on it, which advances it by the pause), for synchronous tests.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// A pause to await; boxed so the trait stays object safe.
pub type Pause = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

pub trait Clock: Send + Sync + 'static {
    /// The wall-clock time now.
    fn now(&self) -> SystemTime;
    /// Time elapsed since the clock was created; never goes back.
    fn elapsed(&self) -> Duration;
    /// Waits `d`.
    fn sleep(&self, d: Duration) -> Pause;
}

/// Real time, read through tokio's clock (virtual in paused tests).
#[derive(Debug)]
pub struct SystemClock {
    wall_at_start: SystemTime,
    started: tokio::time::Instant,
}

impl SystemClock {
    pub fn new() -> Self {
        SystemClock {
            wall_at_start: SystemTime::now(),
            started: tokio::time::Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        self.wall_at_start + self.elapsed()
    }
    fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
    fn sleep(&self, d: Duration) -> Pause {
        Box::pin(tokio::time::sleep(d))
    }
}

/// A clock tests move by hand.
#[derive(Debug)]
pub struct ManualClock {
    start: SystemTime,
    elapsed: Mutex<Duration>,
}

impl ManualClock {
    pub fn new(start: SystemTime) -> Self {
        ManualClock {
            start,
            elapsed: Mutex::new(Duration::ZERO),
        }
    }

    /// Starts at the current system time.
    pub fn starting_now() -> Self {
        Self::new(SystemTime::now())
    }

    /// Moves time forward by `by`.
    pub fn advance(&self, by: Duration) {
        *self.elapsed.lock().unwrap_or_else(|e| e.into_inner()) += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        self.start + self.elapsed()
    }
    fn elapsed(&self) -> Duration {
        *self.elapsed.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// Advances the clock by `d` at once and lets other tasks run: the
    /// pause happens, in virtual time only.
    fn sleep(&self, d: Duration) -> Pause {
        self.advance(d);
        Box::pin(tokio::task::yield_now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced() {
        let c = ManualClock::starting_now();
        let t = c.now();
        assert_eq!(c.now(), t);
        c.advance(Duration::from_secs(3));
        assert_eq!(c.now(), t + Duration::from_secs(3));
        assert_eq!(c.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test]
    async fn sleeping_on_a_manual_clock_passes_virtual_time_at_once() {
        let c = ManualClock::starting_now();
        let real = std::time::Instant::now();
        c.sleep(Duration::from_secs(3600)).await;
        assert_eq!(c.elapsed(), Duration::from_secs(3600));
        assert!(real.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn the_system_clock_follows_a_paused_runtime_without_real_sleeps() {
        let c = SystemClock::new();
        let t = c.now();
        let real = std::time::Instant::now();
        c.sleep(Duration::from_secs(90)).await;
        assert_eq!(c.now().duration_since(t).unwrap(), Duration::from_secs(90));
        assert!(real.elapsed() < Duration::from_secs(1));
    }
}
