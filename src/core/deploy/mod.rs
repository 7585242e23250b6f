//! The deploy engine's pure half: the plan (the manifest's stacks as a
//! DAG), what was seen of each stack, the operations the state file keeps,
//! the events that carry an operation's token, and [`reconcile`], which
//! turns all of it into the next action for every stack.
//!
//! The runtime's driver reads the stacks (DescribeStacks) and their events,
//! calls [`reconcile`], asks the operator where an action says so
//! ([`Action::question`]), writes the action's [`Operation`] to the state
//! before it sends the call, sends it, and calls [`reconcile`] again with
//! what it reads next. Nothing here waits, reads a clock or calls AWS.

pub mod hint;
mod reconcile;
pub mod recover;

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::core::blueprint::manifest::{Manifest, Source};
use crate::core::blueprint::plan::waves;
use crate::core::stack::{ResourceStatus, StackStatus};

pub use reconcile::reconcile;

/// The answer a stack reads when it serves the install's certificate
/// (`answers.certificate_arn`: the `edge` stack's `CertificateArn`). A stack
/// that reads it waits for the certificate as well as for its stacks, and
/// no other stack waits for the certificate.
pub const CERTIFICATE_ANSWER: &str = "certificate_arn";

/// Resource reasons CloudFormation gives to what it stopped because
/// something else failed (with rollback disabled it stops only what depends
/// on the failure). They are consequences, never the root cause.
pub const CANCELLATION_REASONS: &[&str] =
    &["Resource creation cancelled", "Resource update cancelled"];

/// How a stack event's reason begins when it only lists the resources that
/// failed ("The following resource(s) failed to create: [Db]. "): a summary,
/// not a cause.
const SUMMARY_PREFIX: &str = "The following resource(s) failed";

// ---------------------------------------------------------------- plan

/// One stack of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedStack {
    /// The manifest's name, e.g. `network`; every other input names stacks
    /// this way.
    pub name: String,
    /// The CloudFormation stack name, e.g. `ph-shop-network`.
    pub stack_name: String,
    /// Manifest names of the stacks that must be complete before this one
    /// starts (their outputs are its parameters).
    pub depends_on: Vec<String>,
    /// It reads [`CERTIFICATE_ANSWER`]: it starts only once the certificate
    /// is issued.
    pub needs_certificate: bool,
}

/// The stacks to deploy, with what each waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub install_name: String,
    /// In deployment order (the manifest's waves one after another), which
    /// is also the order of [`reconcile`]'s answer. The order is for
    /// showing; a stack starts as soon as its own dependencies are
    /// complete, whatever wave it is in.
    pub stacks: Vec<PlannedStack>,
    /// ACM has issued the certificate (an issued one reused counts).
    pub certificate_issued: bool,
}

impl Plan {
    /// The plan of `manifest` for `install_name`. Fails on a dependency the
    /// manifest does not define and on a cycle.
    pub fn new(
        manifest: &Manifest,
        install_name: &str,
        certificate_issued: bool,
    ) -> Result<Plan, String> {
        let mut stacks = Vec::new();
        for wave in waves(manifest)? {
            for name in wave {
                let Some(spec) = manifest.stack(&name) else {
                    continue;
                };
                let needs_certificate = spec.parameters.values().any(reads_certificate);
                stacks.push(PlannedStack {
                    stack_name: manifest.stack_name(install_name, &name),
                    depends_on: spec.depends_on.clone(),
                    needs_certificate,
                    name,
                });
            }
        }
        Ok(Plan {
            install_name: install_name.to_string(),
            stacks,
            certificate_issued,
        })
    }

    /// The stack of manifest name `name`.
    pub fn stack(&self, name: &str) -> Option<&PlannedStack> {
        self.stacks.iter().find(|s| s.name == name)
    }

    /// The stack whose CloudFormation name is `stack_name` (to name what
    /// DescribeStacks returns the way the other inputs do).
    pub fn by_stack_name(&self, stack_name: &str) -> Option<&PlannedStack> {
        self.stacks.iter().find(|s| s.stack_name == stack_name)
    }
}

fn reads_certificate(source: &Source) -> bool {
    match source {
        Source::Answers(key) => key == CERTIFICATE_ANSWER,
        _ => false,
    }
}

// ---------------------------------------------------------------- what was seen

/// What DescribeStacks (or ListStacks) said of one stack of the plan. A
/// stack that does not exist, or is DELETE_COMPLETE, has no `Observed`.
/// This read may lag behind the calls that change the stack; see
/// [`reconcile`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The manifest name ([`PlannedStack::name`]).
    pub stack: String,
    pub status: StackStatus,
    pub status_reason: Option<String>,
    /// The stack was created with rollback disabled (`DisableRollback`),
    /// not with `OnStackFailure` DO_NOTHING, so a failed create can be
    /// retried by an update.
    pub disable_rollback: bool,
    /// Each resource's latest status (see [`resources_from_events`]): what a
    /// rollback may skip and what a delete may retain come from here.
    pub resources: Vec<ResourceView>,
}

/// One resource of a stack as it stands now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceView {
    pub logical_id: String,
    pub resource_type: String,
    pub status: ResourceStatus,
    pub reason: Option<String>,
}

/// One stack event, as the core sees it (the runtime converts the cloud's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventView {
    pub logical_id: String,
    pub resource_type: String,
    pub status: ResourceStatus,
    pub reason: Option<String>,
    pub timestamp: SystemTime,
    /// The stack's own event (its status is a stack status), not one of
    /// its resources'.
    pub stack_event: bool,
    /// The ClientRequestToken of the operation that caused it.
    pub token: Option<String>,
}

impl EventView {
    /// The stack status this event reports, when it is the stack's own.
    pub fn stack_status(&self) -> Option<StackStatus> {
        if self.stack_event {
            StackStatus::parse(self.status.as_str())
        } else {
            None
        }
    }

    /// A resource CloudFormation stopped because something else failed.
    pub fn is_cancellation(&self) -> bool {
        is_cancellation(self.reason.as_deref())
    }
}

fn is_cancellation(reason: Option<&str>) -> bool {
    reason.is_some_and(|r| CANCELLATION_REASONS.iter().any(|c| r.trim().starts_with(c)))
}

/// The events of one saved operation: those that carry its token. An
/// operation with no `Evidence` had no event carrying its token when the
/// stack's events were last read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The manifest name.
    pub stack: String,
    pub token: String,
    /// Oldest first, as the Stacks port returns events.
    pub events: Vec<EventView>,
}

impl Evidence {
    /// The events of `events` (one stack's, oldest first) that carry
    /// `token`; `None` when none does.
    pub fn from_events(stack: &str, token: &str, events: &[EventView]) -> Option<Evidence> {
        let carrying: Vec<EventView> = events
            .iter()
            .filter(|e| e.token.as_deref() == Some(token))
            .cloned()
            .collect();
        if carrying.is_empty() {
            return None;
        }
        Some(Evidence {
            stack: stack.to_string(),
            token: token.to_string(),
            events: carrying,
        })
    }

    /// The newest stack status these events report; `None` while only
    /// resource events carry the token.
    pub fn stack_status(&self) -> Option<StackStatus> {
        self.events
            .iter()
            .filter(|e| e.stack_status().is_some())
            .max_by_key(|e| e.timestamp)
            .and_then(|e| e.stack_status())
    }
}

/// Each resource's latest status from a stack's events (oldest first), in
/// the order the resources first appear.
pub fn resources_from_events(events: &[EventView]) -> Vec<ResourceView> {
    let mut out: Vec<ResourceView> = Vec::new();
    for e in events.iter().filter(|e| !e.stack_event) {
        let view = ResourceView {
            logical_id: e.logical_id.clone(),
            resource_type: e.resource_type.clone(),
            status: e.status.clone(),
            reason: e.reason.clone(),
        };
        match out.iter_mut().find(|r| r.logical_id == e.logical_id) {
            Some(r) => *r = view,
            None => out.push(view),
        }
    }
    out
}

/// The root cause of a failed operation: the first failure in time (a
/// `*_FAILED` resource event), not the cancellations it caused nor the
/// stack's summary of them. When no resource failed, the stack's own first
/// failure that says more than a summary. Events oldest first; of failures
/// at the same second, the first in the list.
pub fn root_cause(events: &[EventView]) -> Option<&EventView> {
    let failed = |e: &&EventView| e.status.is_failed() && !e.is_cancellation();
    events
        .iter()
        .filter(|e| !e.stack_event)
        .filter(failed)
        .min_by_key(|e| e.timestamp)
        .or_else(|| {
            events
                .iter()
                .filter(|e| e.stack_event)
                .filter(failed)
                .filter(|e| {
                    e.reason
                        .as_deref()
                        .is_some_and(|r| !r.is_empty() && !r.starts_with(SUMMARY_PREFIX))
                })
                .min_by_key(|e| e.timestamp)
        })
}

// ---------------------------------------------------------------- operations

/// What an operation does to a stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationKind {
    /// A CREATE change set, executed with rollback disabled.
    Create,
    /// An UPDATE change set, executed with rollback disabled.
    Update,
    /// UpdateStack with the same template and rollback disabled: the retry
    /// of a CREATE_FAILED or UPDATE_FAILED stack, keeping what succeeded.
    RetryUpdate,
    /// DeleteStack, retaining [`Operation::resources`] (DELETE_FAILED only).
    Delete,
    /// ContinueUpdateRollback, skipping [`Operation::resources`].
    ContinueRollback,
}

impl OperationKind {
    fn word(self) -> &'static str {
        match self {
            OperationKind::Create => "create",
            OperationKind::Update => "update",
            OperationKind::RetryUpdate => "retry",
            OperationKind::Delete => "delete",
            OperationKind::ContinueRollback => "continue-rollback",
        }
    }

    /// Goes through a change set (created, then executed).
    pub fn uses_change_set(self) -> bool {
        matches!(self, OperationKind::Create | OperationKind::Update)
    }
}

/// How far an operation had got when it was saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Its change set is requested (CreateChangeSet), not executed.
    ChangeSetRequested,
    /// The call that changes the stack (ExecuteChangeSet, UpdateStack,
    /// DeleteStack, ContinueUpdateRollback) is sent, or about to be: this
    /// is saved before the call.
    Sent,
    /// Its UPDATE change set had no changes ("The submitted information
    /// didn't contain changes", "No updates are to be performed."): the
    /// stack already is as planned, and nothing was executed.
    Unchanged,
}

/// An operation as the state file keeps it, written before the call is
/// sent, so that after a crash the same call goes again with the same
/// token and CloudFormation takes it for the same operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// The manifest name.
    pub stack: String,
    pub kind: OperationKind,
    /// 1 for a stack's first operation, one more for each after it.
    pub attempt: u32,
    /// The ClientRequestToken; every event of the operation carries it.
    pub token: String,
    /// The change set's name, for [`OperationKind::uses_change_set`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_set: Option<String>,
    pub stage: Stage,
    /// Logical ids: to retain ([`OperationKind::Delete`]) or to skip
    /// ([`OperationKind::ContinueRollback`]), as the operator chose.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
}

impl Operation {
    /// Attempt `attempt` of `kind` on `stack`, with its token and change set name.
    pub fn new(install_name: &str, stack: &str, kind: OperationKind, attempt: u32) -> Operation {
        let change_set = if kind.uses_change_set() {
            Some(change_set_name(kind, attempt))
        } else {
            None
        };
        let stage = if change_set.is_some() {
            Stage::ChangeSetRequested
        } else {
            Stage::Sent
        };
        Operation {
            stack: stack.to_string(),
            kind,
            attempt,
            token: client_request_token(install_name, stack, kind, attempt),
            change_set,
            stage,
            resources: Vec::new(),
        }
    }

    /// The same operation once its change set is executed: save this, then
    /// send ExecuteChangeSet with [`Operation::token`].
    pub fn sent(mut self) -> Operation {
        self.stage = Stage::Sent;
        self
    }

    /// The same operation once its change set turned out to have no
    /// changes: save this instead of executing.
    pub fn unchanged(mut self) -> Operation {
        self.stage = Stage::Unchanged;
        self
    }

    /// The same operation retaining or skipping `resources` (logical ids),
    /// as the operator confirmed.
    pub fn with_resources(mut self, resources: Vec<String>) -> Operation {
        self.resources = resources;
        self
    }
}

/// The ClientRequestToken of attempt `attempt` of `kind` on `stack`, e.g.
/// `ph-shop-network-create-1`. CloudFormation takes `[a-zA-Z0-9][-a-zA-Z0-9]*`,
/// at most 128 characters, and refuses a token already used for another
/// operation on the same stack name (TokenAlreadyExists): the attempt makes
/// each one new. Install names (at most 16 of `[a-z0-9-]`) and manifest
/// names keep it well inside the limit.
pub fn client_request_token(
    install_name: &str,
    stack: &str,
    kind: OperationKind,
    attempt: u32,
) -> String {
    format!("ph-{install_name}-{stack}-{}-{attempt}", kind.word())
}

/// The change set name of attempt `attempt`, e.g. `ph-create-1`
/// (`[a-zA-Z][-a-zA-Z0-9]*`, at most 128; unique within the stack).
pub fn change_set_name(kind: OperationKind, attempt: u32) -> String {
    format!("ph-{}-{attempt}", kind.word())
}

/// The attempt a token of [`client_request_token`] was made for, so that a
/// state rebuilt from the stacks' events goes on counting where it stopped
/// (and never reuses a token).
pub fn token_attempt(token: &str) -> Option<u32> {
    token.rsplit('-').next()?.parse().ok()
}

// ---------------------------------------------------------------- actions

/// What a stack still waits for before it can start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum WaitingFor {
    /// A stack it depends on (manifest name) that is not complete yet: in
    /// progress, failed, or not started.
    Stack(String),
    /// The certificate, not issued yet.
    Certificate,
}

/// The next thing to do for one stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Not yet: what it waits for.
    Wait { on: Vec<WaitingFor> },
    /// Request this change set (CreateChangeSet, save the operation first),
    /// then execute it with rollback disabled once it is ready.
    CreateChangeSet(Operation),
    /// A change set the installer requested and never executed (a crash in
    /// between): describe it; execute it when it is ready, wait while it is
    /// being made, save an UPDATE that has no changes as
    /// [`Operation::unchanged`], and request it again (same name and token)
    /// when it is not there.
    ReuseOrReplaceChangeSet(Operation),
    /// Execute the saved change set again with its own token: the call may
    /// never have reached CloudFormation, and one that did is recognised by
    /// its token and not run twice.
    ExecuteChangeSet(Operation),
    /// Send the saved UpdateStack, DeleteStack or ContinueUpdateRollback
    /// again with its own token, for the same reason.
    Resend(Operation),
    /// The stack is changing: stream its events. `token` is the saved
    /// operation's when the change is the installer's own.
    Attach { token: Option<String> },
    /// Complete: nothing to do.
    Skip,
    /// CREATE_FAILED or UPDATE_FAILED with rollback disabled: what
    /// succeeded is kept. Show the root cause; retry by update when the
    /// operator says so.
    ShowRootCauseAndOfferRetry {
        status: StackStatus,
        /// The first failure of the installer's operation, when its events
        /// are known.
        root_cause: Option<EventView>,
        /// What DescribeStacks says of the stack.
        stack_reason: Option<String>,
        retry: Operation,
        question: String,
    },
    /// CloudFormation can only delete this stack (ROLLBACK_COMPLETE and the
    /// like): delete it and create it again, once the operator agrees.
    DeleteThenCreate { delete: Operation, question: String },
    /// UPDATE_ROLLBACK_FAILED: continue the rollback, skipping those of
    /// `skippable` the operator confirms (set them with
    /// [`Operation::with_resources`]).
    ContinueRollback {
        skippable: Vec<ResourceView>,
        operation: Operation,
        question: String,
    },
    /// DELETE_FAILED: delete again, retaining those of `retainable` the
    /// operator chooses (set them with [`Operation::with_resources`]).
    RetryDelete {
        retainable: Vec<ResourceView>,
        operation: Operation,
        question: String,
    },
    /// Nothing the installer may do: say why and stop.
    Stop { why: String },
}

impl Action {
    /// The operator must say yes first.
    pub fn needs_confirmation(&self) -> bool {
        self.question().is_some()
    }

    /// The sentence the screen shows when the operator must say yes first.
    pub fn question(&self) -> Option<&str> {
        match self {
            Action::ShowRootCauseAndOfferRetry { question, .. }
            | Action::DeleteThenCreate { question, .. }
            | Action::ContinueRollback { question, .. }
            | Action::RetryDelete { question, .. } => Some(question.as_str()),
            _ => None,
        }
    }

    /// The operation to write to the state before the call is sent (for an
    /// action that needs confirmation, once the operator said yes).
    pub fn operation(&self) -> Option<&Operation> {
        match self {
            Action::CreateChangeSet(op)
            | Action::ReuseOrReplaceChangeSet(op)
            | Action::ExecuteChangeSet(op)
            | Action::Resend(op) => Some(op),
            Action::ShowRootCauseAndOfferRetry { retry, .. } => Some(retry),
            Action::DeleteThenCreate { delete, .. } => Some(delete),
            Action::ContinueRollback { operation, .. } | Action::RetryDelete { operation, .. } => {
                Some(operation)
            }
            Action::Wait { .. } | Action::Attach { .. } | Action::Skip | Action::Stop { .. } => {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;
