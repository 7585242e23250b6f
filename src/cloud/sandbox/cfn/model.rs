//! The engine's persisted state: stacks, their resources, change sets,
//! events and the operation in flight.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cloud::types::*;
use crate::core::stack::StackStatus;

/// A parameter value as the engine remembers it. NoEcho values are kept
/// only as a salted SHA-256 digest; the values themselves live in the
/// engine's non-persisted secret map, keyed by that digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredParam {
    pub key: String,
    /// `None` for NoEcho parameters.
    pub value: Option<String>,
    pub no_echo: bool,
    /// Set for NoEcho parameters.
    pub digest: Option<String>,
}

impl StoredParam {
    /// The value used when comparing templates: NoEcho values by digest.
    pub fn comparable(&self) -> String {
        match (&self.value, &self.digest) {
            (Some(v), _) => v.clone(),
            (None, Some(d)) => format!("{{{{noecho:{d}}}}}"),
            (None, None) => String::new(),
        }
    }
}

/// One resource of a stack as it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Res {
    pub rtype: String,
    pub physical: Option<String>,
    pub status: String,
    /// Properties with parameters substituted (NoEcho ones by digest) and
    /// references to other resources left as they are.
    pub props: Value,
    pub metadata: Value,
    pub deps: BTreeSet<String>,
    pub retain: bool,
    /// Bumped on replacement, so the new physical id differs.
    pub generation: u32,
}

impl Res {
    pub fn failed(&self) -> bool {
        self.status.ends_with("_FAILED")
    }
}

/// What a stack looked like at a settled point, to roll back to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub template: String,
    pub params: Vec<StoredParam>,
    pub resources: BTreeMap<String, Res>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeSetState {
    pub id: String,
    pub name: String,
    pub kind: ChangeSetKind,
    pub template: String,
    pub params: Vec<StoredParam>,
    pub tags: Vec<Tag>,
    pub on_stack_failure: Option<OnStackFailure>,
    pub status: ChangeSetStatus,
    pub status_reason: Option<String>,
    pub execution_status: ExecutionStatus,
    pub changes: Vec<ResourceChange>,
    /// When CREATE_IN_PROGRESS turns into its final status.
    pub ready_at: SystemTime,
    /// When CREATE_PENDING turns into CREATE_IN_PROGRESS.
    #[serde(default)]
    pub pending_until: Option<SystemTime>,
    pub client_token: Option<String>,
    /// The template names a macro: an empty change set then says "No
    /// updates are to be performed." as CloudFormation does.
    #[serde(default)]
    pub transform: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpKind {
    /// First creation (executing a CREATE change set).
    Create,
    /// Update by change set or UpdateStack.
    Update,
    Delete,
    /// RollbackStack on a stack that never completed: delete everything.
    RollbackCreate,
    /// RollbackStack from UPDATE_FAILED, or ContinueUpdateRollback.
    RollbackUpdate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// Creating/updating resources towards the new template.
    Apply,
    /// UPDATE_COMPLETE_CLEANUP_IN_PROGRESS: deleting removed and replaced resources.
    Cleanup,
    /// ROLLBACK_IN_PROGRESS: deleting what a failed create made.
    RollbackDelete,
    /// UPDATE_ROLLBACK_IN_PROGRESS: putting resources back.
    Revert,
    /// UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS.
    RevertCleanup,
    /// DELETE_IN_PROGRESS.
    DeleteAll,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    Create,
    Update,
    Replace,
    Delete,
    Revert,
    Noop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskState {
    Pending,
    Running,
    Done,
    Failed,
    Cancelled,
    /// Never started: something it depends on failed while rollback was
    /// disabled, so CloudFormation stops this path and goes on with others.
    Blocked,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub logical: String,
    pub action: Action,
    /// Tasks (by key) that must be done first.
    pub deps: BTreeSet<String>,
    pub state: TaskState,
    pub until: Option<SystemTime>,
    /// The resource as it will be after this task (for deletes: as it is).
    pub target: Res,
    /// Set when this task deletes a replaced physical resource rather than
    /// the logical resource itself.
    pub orphan: bool,
    /// Why the resource cannot be built (its properties failed to resolve
    /// when it started): it fails at once with this reason.
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    pub kind: OpKind,
    pub stage: Stage,
    pub token: String,
    pub clock: SystemTime,
    /// Keyed by logical id (orphans by `logical#physical`).
    pub tasks: BTreeMap<String, Task>,
    pub disable_rollback: bool,
    pub delete_on_failure: bool,
    /// Resources that failed in the current stage.
    pub failed: Vec<String>,
    /// Failed resources of the Apply stage, for the stack's status reason.
    pub failed_creates: Vec<String>,
    pub failed_updates: Vec<String>,
    /// Old physical resources replaced during Apply, deleted in Cleanup.
    pub orphans: Vec<(String, Res)>,
    /// Where an update rolls back to.
    pub rollback_to: Option<Snapshot>,
    /// The change set being executed (its id).
    pub change_set: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackState {
    pub name: String,
    pub id: String,
    pub status: StackStatus,
    pub status_reason: Option<String>,
    pub created: SystemTime,
    pub last_updated: Option<SystemTime>,
    pub tags: Vec<Tag>,
    pub disable_rollback: bool,
    pub termination_protection: bool,
    /// The template in force (or being applied). `None` in REVIEW_IN_PROGRESS.
    pub template: Option<String>,
    pub params: Vec<StoredParam>,
    pub resources: BTreeMap<String, Res>,
    pub outputs: Vec<StackOutput>,
    pub change_sets: Vec<ChangeSetState>,
    pub events: Vec<StackEvent>,
    pub op: Option<Operation>,
    /// The last settled good state (after *_COMPLETE).
    pub stable: Option<Snapshot>,
    /// Where UPDATE_ROLLBACK_FAILED still has to get to.
    pub pending_rollback: Option<Snapshot>,
    pub event_seq: u64,
    /// What DescribeStacks keeps showing for a while after a call changed
    /// the stack (the fault script's `[lag]`), and until when.
    #[serde(default)]
    pub stale: Option<(SystemTime, Stack)>,
    /// Created through a change set with OnStackFailure=DO_NOTHING: a
    /// CREATE_FAILED stack of that kind cannot be updated.
    #[serde(default)]
    pub on_failure_do_nothing: bool,
}

/// One use of a ClientRequestToken. Tokens belong to the stack name: one
/// used for a stack that was deleted cannot be used again for a new stack
/// of that name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUse {
    pub stack_name: String,
    pub stack_id: String,
    pub token: String,
    pub action: String,
}

impl StackState {
    pub fn deleted(&self) -> bool {
        self.status == StackStatus::DeleteComplete
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            template: self.template.clone().unwrap_or_default(),
            params: self.params.clone(),
            resources: self.resources.clone(),
        }
    }

    pub fn to_stack(&self) -> Stack {
        Stack {
            name: self.name.clone(),
            id: self.id.clone(),
            status: self.status,
            status_reason: self.status_reason.clone(),
            created: self.created,
            last_updated: self.last_updated,
            parameters: self
                .params
                .iter()
                .map(|p| StackParameter {
                    key: p.key.clone(),
                    value: if p.no_echo {
                        "****".to_string()
                    } else {
                        p.value.clone().unwrap_or_default()
                    },
                })
                .collect(),
            outputs: if matches!(
                self.status,
                StackStatus::CreateComplete
                    | StackStatus::UpdateComplete
                    | StackStatus::UpdateRollbackComplete
                    | StackStatus::UpdateCompleteCleanupInProgress
                    | StackStatus::UpdateRollbackCompleteCleanupInProgress
                    | StackStatus::UpdateInProgress
                    | StackStatus::UpdateFailed
                    | StackStatus::UpdateRollbackInProgress
                    | StackStatus::UpdateRollbackFailed
            ) {
                self.outputs.clone()
            } else {
                vec![]
            },
            tags: self.tags.clone(),
            disable_rollback: self.disable_rollback,
            termination_protection: self.termination_protection,
        }
    }
}
