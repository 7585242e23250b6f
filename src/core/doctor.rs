//! `doctor`'s checks as data, and the pure judgements behind them.

use std::time::{Duration, SystemTime};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Pass,
    Warn,
    Fail,
    /// Not run because an earlier check it depends on failed.
    Skipped,
}

impl CheckStatus {
    pub fn label(self) -> &'static str {
        match self {
            CheckStatus::Pass => "ok",
            CheckStatus::Warn => "warn",
            CheckStatus::Fail => "FAIL",
            CheckStatus::Skipped => "skip",
        }
    }
}

/// One line of the doctor's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Short, stable id: `identity`, `region`, `endpoint`, ...
    pub id: &'static str,
    pub status: CheckStatus,
    /// What was found, in one sentence.
    pub summary: String,
    /// Supporting facts, one per line.
    pub details: Vec<String>,
    /// What to do, when the status is not `Pass`.
    pub fix: Option<String>,
}

impl Check {
    pub fn pass(id: &'static str, summary: impl Into<String>) -> Check {
        Check {
            id,
            status: CheckStatus::Pass,
            summary: summary.into(),
            details: Vec::new(),
            fix: None,
        }
    }

    pub fn warn(id: &'static str, summary: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            status: CheckStatus::Warn,
            fix: Some(fix.into()),
            ..Check::pass(id, summary)
        }
    }

    pub fn fail(id: &'static str, summary: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            status: CheckStatus::Fail,
            fix: Some(fix.into()),
            ..Check::pass(id, summary)
        }
    }

    pub fn skipped(id: &'static str, why: impl Into<String>) -> Check {
        Check {
            status: CheckStatus::Skipped,
            ..Check::pass(id, why)
        }
    }

    pub fn detail(mut self, line: impl Into<String>) -> Check {
        self.details.push(line.into());
        self
    }
}

/// The doctor passes when nothing failed (warnings are allowed).
pub fn all_passed(checks: &[Check]) -> bool {
    !checks.iter().any(|c| c.status == CheckStatus::Fail)
}

/// SigV4 refuses requests signed more than 5 minutes off AWS's clock.
pub const SKEW_LIMIT: Duration = Duration::from_secs(300);
/// Past this the clock is worth fixing before it drifts further.
pub const SKEW_WARN: Duration = Duration::from_secs(30);

/// Judges the local clock against the time AWS reported. The `Date` header
/// has one-second resolution, so differences under two seconds are noise.
pub fn clock_skew(local: SystemTime, server: SystemTime) -> Check {
    let (skew, ahead) = match local.duration_since(server) {
        Ok(d) => (d, true),
        Err(e) => (e.duration(), false),
    };
    let secs = skew.as_secs();
    let direction = if ahead { "ahead of" } else { "behind" };
    let fix = "Sync the clock: on Amazon Linux `sudo systemctl restart chronyd` \
               (it uses the Amazon Time Sync Service at 169.254.169.123); check with `chronyc tracking`.";
    if skew >= SKEW_LIMIT {
        Check::fail(
            "clock",
            format!(
                "The local clock is {secs} s {direction} AWS; AWS refuses requests signed more than 300 s off."
            ),
            fix,
        )
    } else if skew >= SKEW_WARN {
        Check::warn(
            "clock",
            format!("The local clock is {secs} s {direction} AWS (limit 300 s)."),
            fix,
        )
    } else {
        Check::pass(
            "clock",
            format!(
                "The local clock agrees with AWS (within {} s).",
                secs.max(1)
            ),
        )
    }
}

/// Facts about the state directory, gathered by the caller.
#[derive(Debug, Clone)]
pub struct StateDirFacts {
    pub path: String,
    /// Why this directory (flag, PH_INSTALLER_HOME, default).
    pub chosen_by: String,
    pub mode: u32,
    pub owner: String,
    pub owned_by_me: bool,
    pub writable: bool,
}

pub fn state_dir(f: &StateDirFacts) -> Check {
    let base = format!("{} (chosen by {})", f.path, f.chosen_by);
    if !f.owned_by_me {
        return Check::fail(
            "state-dir",
            format!("{base} is owned by {}, not by you.", f.owner),
            format!(
                "Run the installer as {}, or choose your own with --state-dir.",
                f.owner
            ),
        );
    }
    if !f.writable {
        return Check::fail(
            "state-dir",
            format!("{base} is not writable."),
            format!("Run: chmod 700 {}", f.path),
        );
    }
    if f.mode & 0o077 != 0 {
        return Check::warn(
            "state-dir",
            format!("{base} has permissions {:04o}; others can list it.", f.mode),
            format!("Run: chmod 700 {}", f.path),
        );
    }
    Check::pass("state-dir", format!("{base}, mode {:04o}.", f.mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
    }

    #[test]
    fn a_clock_within_a_second_or_two_passes() {
        assert_eq!(clock_skew(t(1), t(0)).status, CheckStatus::Pass);
        assert_eq!(clock_skew(t(0), t(1)).status, CheckStatus::Pass);
    }

    #[test]
    fn a_clock_minutes_off_fails_and_says_how_to_sync() {
        let c = clock_skew(t(0), t(400));
        assert_eq!(c.status, CheckStatus::Fail);
        assert!(c.summary.contains("400 s behind"), "{}", c.summary);
        assert!(c.fix.unwrap().contains("chronyd"));
        assert_eq!(clock_skew(t(60), t(0)).status, CheckStatus::Warn);
    }

    #[test]
    fn a_state_dir_others_can_read_is_a_warning_with_the_chmod() {
        let mut f = StateDirFacts {
            path: "/var/lib/ph-installer".into(),
            chosen_by: "the default for root".into(),
            mode: 0o755,
            owner: "root".into(),
            owned_by_me: true,
            writable: true,
        };
        let c = state_dir(&f);
        assert_eq!(c.status, CheckStatus::Warn);
        assert_eq!(
            c.fix.as_deref(),
            Some("Run: chmod 700 /var/lib/ph-installer")
        );
        f.mode = 0o700;
        assert_eq!(state_dir(&f).status, CheckStatus::Pass);
        f.owned_by_me = false;
        assert_eq!(state_dir(&f).status, CheckStatus::Fail);
    }

    #[test]
    fn warnings_do_not_fail_the_doctor_but_failures_do() {
        let w = Check::warn("a", "x", "y");
        assert!(all_passed(&[Check::pass("b", "ok"), w.clone()]));
        assert!(!all_passed(&[w, Check::fail("c", "no", "fix")]));
    }
}
