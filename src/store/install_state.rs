//! `state.toml`: the install as this state directory last knew it. The
//! operations are written before their call is sent (so a retry after a
//! crash is recognised by its token), the stacks' ids as CloudFormation
//! gave them, the phase, and when each changed. Written atomically, 0600,
//! after every change; never holds a secret.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{StateDir, StoreError};
use crate::core::deploy::Operation;

/// Where the install stands, as the wizard and the deploy resume it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The review was confirmed; nothing has been sent to CloudFormation.
    Confirmed,
    Deploying,
    Installed,
    Failed,
}

/// A stack CloudFormation has for the install.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownStack {
    /// The manifest's name (`network`).
    pub name: String,
    /// The stack id (an ARN), which stays valid after the stack is deleted.
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstallState {
    /// The file's layout; a newer one is refused rather than misread.
    pub format: u32,
    pub install_name: String,
    pub region: String,
    pub phase: Phase,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_arn: Option<String>,
    #[serde(default)]
    pub stacks: Vec<KnownStack>,
    #[serde(default)]
    pub operations: Vec<Operation>,
    #[serde(with = "super::lock::rfc3339")]
    pub updated_at: SystemTime,
}

pub const FORMAT: u32 = 1;

impl InstallState {
    pub fn new(install_name: &str, region: &str, now: SystemTime) -> InstallState {
        InstallState {
            format: FORMAT,
            install_name: install_name.to_string(),
            region: region.to_string(),
            phase: Phase::Confirmed,
            certificate_arn: None,
            stacks: Vec::new(),
            operations: Vec::new(),
            updated_at: now,
        }
    }

    /// The operation about to be sent, recorded first: the same stack's
    /// operation of the same attempt is replaced (its stage moved on).
    pub fn record(&mut self, op: Operation, now: SystemTime) {
        self.operations
            .retain(|o| !(o.stack == op.stack && o.attempt == op.attempt && o.kind == op.kind));
        self.operations.push(op);
        self.updated_at = now;
    }

    /// The stack's id, once CloudFormation has given one.
    pub fn know_stack(&mut self, name: &str, id: &str, now: SystemTime) {
        match self.stacks.iter_mut().find(|s| s.name == name) {
            Some(s) => s.id = id.to_string(),
            None => self.stacks.push(KnownStack {
                name: name.to_string(),
                id: id.to_string(),
            }),
        }
        self.updated_at = now;
    }
}

/// Reads the state; `None` when this state dir has no install yet.
pub fn load(state: &StateDir) -> Result<Option<InstallState>, StoreError> {
    let path = state.install_state_path();
    let Some(s) = state.read_toml::<InstallState>(&path)? else {
        return Ok(None);
    };
    if s.format > FORMAT {
        return Err(StoreError::Malformed {
            path: path.clone(),
            message: format!(
                "it was written by a newer ph-installer (format {}, this build reads {FORMAT}); \
                 run that version, or move the file aside to rebuild the state from the \
                 stacks' tags",
                s.format
            ),
        });
    }
    Ok(Some(s))
}

/// Writes the state atomically (a crash leaves the old file or the new).
pub fn save(state: &StateDir, s: &InstallState) -> Result<(), StoreError> {
    state.write_toml(&state.install_state_path(), s)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::core::deploy::OperationKind;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
    }

    #[test]
    fn the_state_survives_a_save_and_a_load_with_every_operation_and_stack() {
        let dir = tempfile::tempdir().unwrap();
        let sd = StateDir::open(dir.path(), false).unwrap();
        assert_eq!(load(&sd).unwrap(), None);
        let mut s = InstallState::new("shop", "eu-west-1", at(0));
        let op = Operation::new("shop", "network", OperationKind::Create, 1);
        s.record(op.clone(), at(1));
        s.know_stack(
            "network",
            "arn:aws:cloudformation:eu-west-1:1:stack/ph-shop-network/x",
            at(2),
        );
        // The same operation further on replaces its record, never doubles it.
        s.record(op.clone().sent(), at(3));
        assert_eq!(s.operations.len(), 1);
        save(&sd, &s).unwrap();
        let back = load(&sd).unwrap().unwrap();
        assert_eq!(back, s);
        assert_eq!(back.operations[0].token, op.token);
        let mode = std::fs::metadata(sd.install_state_path()).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_state_from_a_newer_build_is_refused_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let sd = StateDir::open(dir.path(), false).unwrap();
        let mut s = InstallState::new("shop", "eu-west-1", at(0));
        s.format = FORMAT + 1;
        save(&sd, &s).unwrap();
        let err = load(&sd).unwrap_err().to_string();
        assert!(
            err.contains("newer ph-installer") && err.contains("tags"),
            "{err}"
        );
    }
}
