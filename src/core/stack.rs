//! CloudFormation stack and resource statuses as domain values.

use std::fmt;

use serde::{Deserialize, Serialize};

/// CloudFormation refuses a TemplateBody larger than this (bytes); a larger
/// template has to go through S3.
pub const TEMPLATE_BODY_LIMIT: usize = 51_200;

macro_rules! stack_statuses {
    ($($variant:ident => $text:literal,)*) => {
        /// Every status a CloudFormation stack can report (23 of them).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum StackStatus {
            $(#[serde(rename = $text)] $variant,)*
        }

        impl StackStatus {
            pub const ALL: &'static [StackStatus] = &[$(StackStatus::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(StackStatus::$variant => $text,)*
                }
            }

            pub fn parse(s: &str) -> Option<StackStatus> {
                match s {
                    $($text => Some(StackStatus::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

stack_statuses! {
    CreateInProgress => "CREATE_IN_PROGRESS",
    CreateFailed => "CREATE_FAILED",
    CreateComplete => "CREATE_COMPLETE",
    RollbackInProgress => "ROLLBACK_IN_PROGRESS",
    RollbackFailed => "ROLLBACK_FAILED",
    RollbackComplete => "ROLLBACK_COMPLETE",
    DeleteInProgress => "DELETE_IN_PROGRESS",
    DeleteFailed => "DELETE_FAILED",
    DeleteComplete => "DELETE_COMPLETE",
    UpdateInProgress => "UPDATE_IN_PROGRESS",
    UpdateCompleteCleanupInProgress => "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
    UpdateComplete => "UPDATE_COMPLETE",
    UpdateFailed => "UPDATE_FAILED",
    UpdateRollbackInProgress => "UPDATE_ROLLBACK_IN_PROGRESS",
    UpdateRollbackFailed => "UPDATE_ROLLBACK_FAILED",
    UpdateRollbackCompleteCleanupInProgress => "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
    UpdateRollbackComplete => "UPDATE_ROLLBACK_COMPLETE",
    ReviewInProgress => "REVIEW_IN_PROGRESS",
    ImportInProgress => "IMPORT_IN_PROGRESS",
    ImportComplete => "IMPORT_COMPLETE",
    ImportRollbackInProgress => "IMPORT_ROLLBACK_IN_PROGRESS",
    ImportRollbackFailed => "IMPORT_ROLLBACK_FAILED",
    ImportRollbackComplete => "IMPORT_ROLLBACK_COMPLETE",
}

impl StackStatus {
    /// Still changing: keep polling.
    pub fn in_progress(self) -> bool {
        self.as_str().ends_with("_IN_PROGRESS")
    }

    /// A settled status (nothing is happening to the stack).
    pub fn is_terminal(self) -> bool {
        !self.in_progress()
    }
}

impl fmt::Display for StackStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The status of one resource event (also used for the stack's own events,
/// whose statuses are stack statuses). Kept as text so statuses AWS adds
/// later pass through unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResourceStatus(pub String);

impl ResourceStatus {
    pub fn new(s: impl Into<String>) -> Self {
        ResourceStatus(s.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn is_failed(&self) -> bool {
        self.0.ends_with("_FAILED")
    }
    pub fn is_complete(&self) -> bool {
        self.0.ends_with("_COMPLETE") || self.0 == "DELETE_SKIPPED"
    }
    pub fn in_progress(&self) -> bool {
        self.0.ends_with("_IN_PROGRESS")
    }
}

impl fmt::Display for ResourceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_23_stack_statuses_and_each_round_trips() {
        assert_eq!(StackStatus::ALL.len(), 23);
        for s in StackStatus::ALL {
            assert_eq!(StackStatus::parse(s.as_str()), Some(*s));
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        assert_eq!(StackStatus::parse("NOT_A_STATUS"), None);
    }

    #[test]
    fn in_progress_statuses_are_not_terminal() {
        assert!(StackStatus::CreateInProgress.in_progress());
        assert!(StackStatus::UpdateRollbackCompleteCleanupInProgress.in_progress());
        assert!(StackStatus::CreateFailed.is_terminal());
        assert!(StackStatus::UpdateRollbackFailed.is_terminal());
    }
}
