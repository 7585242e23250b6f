//! The sandbox's CloudFormation: change sets, and execution that walks a
//! template's resources in dependency order on a virtual clock.
//!
//! The engine is a synchronous state machine. Every method takes `now` (the
//! sandbox's virtual time); the engine first advances its simulation to
//! `now`, then acts. Its whole state is serde so the sandbox can persist it.

pub mod durations;
pub mod ids;
pub mod template;

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::cloud::CloudResult;
use crate::cloud::sandbox::faults::ResourceFault;
use crate::cloud::types::*;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CfnEngine {
    account: String,
    region: String,
}

impl CfnEngine {
    /// `account` and `region` go into stack and change-set ARNs.
    pub fn new(account: &str, region: &str) -> Self {
        CfnEngine {
            account: account.into(),
            region: region.into(),
        }
    }

    /// Replaces the resource faults to apply (from the fault script). Which
    /// `Once` faults have already fired is remembered in the engine's state.
    pub fn set_faults(&mut self, _faults: Vec<ResourceFault>) {
        todo!()
    }

    /// Runs the simulation up to `now`.
    pub fn advance(&mut self, _now: SystemTime) {
        todo!()
    }

    /// When the simulation next changes something, if anything is in flight.
    pub fn next_change_at(&self) -> Option<SystemTime> {
        todo!()
    }

    pub fn describe_stack(&mut self, _now: SystemTime, _name: &str) -> CloudResult<Option<Stack>> {
        todo!()
    }
    pub fn list_stacks(&mut self, _now: SystemTime) -> CloudResult<Vec<Stack>> {
        todo!()
    }
    pub fn create_change_set(
        &mut self,
        _now: SystemTime,
        _req: &ChangeSetRequest,
    ) -> CloudResult<ChangeSetRef> {
        todo!()
    }
    pub fn describe_change_set(
        &mut self,
        _now: SystemTime,
        _stack: &str,
        _change_set: &str,
    ) -> CloudResult<ChangeSet> {
        todo!()
    }
    pub fn delete_change_set(
        &mut self,
        _now: SystemTime,
        _stack: &str,
        _change_set: &str,
    ) -> CloudResult<()> {
        todo!()
    }
    pub fn execute_change_set(
        &mut self,
        _now: SystemTime,
        _req: &ExecuteRequest,
    ) -> CloudResult<()> {
        todo!()
    }
    pub fn update_stack(&mut self, _now: SystemTime, _req: &UpdateRequest) -> CloudResult<()> {
        todo!()
    }
    pub fn stack_events(
        &mut self,
        _now: SystemTime,
        _stack: &str,
        _after_event_id: Option<&str>,
    ) -> CloudResult<Vec<StackEvent>> {
        todo!()
    }
    pub fn continue_update_rollback(
        &mut self,
        _now: SystemTime,
        _stack: &str,
        _skip: &[String],
        _token: &str,
    ) -> CloudResult<()> {
        todo!()
    }
    pub fn rollback_stack(
        &mut self,
        _now: SystemTime,
        _stack: &str,
        _token: &str,
    ) -> CloudResult<()> {
        todo!()
    }
    pub fn delete_stack(
        &mut self,
        _now: SystemTime,
        _stack: &str,
        _token: &str,
    ) -> CloudResult<()> {
        todo!()
    }
    pub fn set_termination_protection(
        &mut self,
        _now: SystemTime,
        _stack: &str,
        _enabled: bool,
    ) -> CloudResult<()> {
        todo!()
    }
}
