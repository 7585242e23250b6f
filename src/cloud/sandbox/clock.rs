//! The sandbox's virtual time. The run's [`crate::clock::Clock`] tells real
//! time only; the sandbox turns it into virtual time with the persisted
//! [`ClockAnchor`] and the speed, so virtual time keeps running while no
//! process is up (like CloudFormation going on without you).

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

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
}
