//! What long operations report while they run, as pure data. The runtime
//! writes these to a reporter as they happen; the headless front end prints
//! each as it arrives and the TUI draws them, so both show the same thing.

use serde::Serialize;

use super::doctor::Check;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Progress {
    /// One of `doctor`'s checks has finished.
    Check(Check),
}
