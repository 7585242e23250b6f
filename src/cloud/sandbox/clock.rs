//! The sandbox's clocks. A clock tells real time only; the sandbox turns it
//! into virtual time with the persisted [`ClockAnchor`] and the speed, so
//! virtual time keeps running while no process is up (like CloudFormation
//! going on without you).

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

/// Real time, as the sandbox sees it.
pub trait SandboxClock: Send + Sync + 'static {
    /// The wall-clock time now.
    fn real_now(&self) -> SystemTime;
    /// Real time elapsed since the clock was created, monotonic.
    fn real_elapsed(&self) -> Duration;
}

/// The system clock.
#[derive(Debug)]
pub struct RealClock {
    started: Instant,
}

impl RealClock {
    pub fn new() -> Self {
        RealClock {
            started: Instant::now(),
        }
    }
}

impl Default for RealClock {
    fn default() -> Self {
        Self::new()
    }
}

impl SandboxClock for RealClock {
    fn real_now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn real_elapsed(&self) -> Duration {
        self.started.elapsed()
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

    /// Moves real time forward by `by` (virtual time moves `by * speed`).
    pub fn advance(&self, by: Duration) {
        *self.elapsed.lock().unwrap_or_else(|e| e.into_inner()) += by;
    }

    fn elapsed(&self) -> Duration {
        *self.elapsed.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl SandboxClock for ManualClock {
    fn real_now(&self) -> SystemTime {
        self.start + self.elapsed()
    }
    fn real_elapsed(&self) -> Duration {
        self.elapsed()
    }
}

/// Ties virtual time to real time: `virtual = virtual_at + (real - real_at) * speed`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClockAnchor {
    pub virtual_at: SystemTime,
    pub real_at: SystemTime,
    /// Virtual seconds per real second.
    pub speed: f64,
}

impl ClockAnchor {
    /// Virtual time starts at the real time.
    pub fn starting(real_now: SystemTime, speed: f64) -> Self {
        ClockAnchor {
            virtual_at: real_now,
            real_at: real_now,
            speed,
        }
    }

    /// Virtual time at real time `real_now`. A real clock that went back
    /// before the anchor gives the anchor's virtual time.
    pub fn virtual_at(&self, real_now: SystemTime) -> SystemTime {
        match real_now.duration_since(self.real_at) {
            Ok(real) => self.virtual_at + scale(real, self.speed),
            Err(_) => self.virtual_at,
        }
    }

    /// The same virtual time line, continued at another speed from `real_now`.
    pub fn with_speed(&self, real_now: SystemTime, speed: f64) -> Self {
        ClockAnchor {
            virtual_at: self.virtual_at(real_now),
            real_at: real_now,
            speed,
        }
    }
}

fn scale(d: Duration, speed: f64) -> Duration {
    Duration::try_from_secs_f64(d.as_secs_f64() * speed).unwrap_or(Duration::MAX / 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_time_runs_at_the_anchor_speed() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let a = ClockAnchor::starting(t0, 30.0);
        assert_eq!(
            a.virtual_at(t0 + Duration::from_secs(2)),
            t0 + Duration::from_secs(60)
        );
    }

    #[test]
    fn virtual_time_does_not_go_back_when_the_real_clock_does() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let a = ClockAnchor::starting(t0, 30.0);
        assert_eq!(a.virtual_at(t0 - Duration::from_secs(5)), t0);
    }

    #[test]
    fn changing_speed_continues_the_same_time_line() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let a = ClockAnchor::starting(t0, 10.0);
        let b = a.with_speed(t0 + Duration::from_secs(1), 1.0);
        assert_eq!(
            b.virtual_at(t0 + Duration::from_secs(1)),
            t0 + Duration::from_secs(10)
        );
        assert_eq!(
            b.virtual_at(t0 + Duration::from_secs(2)),
            t0 + Duration::from_secs(11)
        );
    }

    #[test]
    fn a_manual_clock_moves_only_when_advanced() {
        let c = ManualClock::starting_now();
        let t = c.real_now();
        assert_eq!(c.real_now(), t);
        c.advance(Duration::from_secs(3));
        assert_eq!(c.real_now(), t + Duration::from_secs(3));
        assert_eq!(c.real_elapsed(), Duration::from_secs(3));
    }
}
