//! [`reconcile`]: from the plan, what was read of the stacks, the saved
//! operations and their events, to the next action per stack.
//!
//! The CloudFormation facts the table relies on (API reference and user
//! guide, "Stack status codes"):
//! - ROLLBACK_COMPLETE exists only after a failed create; "when in this
//!   state, only a delete operation can be performed". ROLLBACK_FAILED:
//!   "delete the stack or view the stack events".
//! - UPDATE_ROLLBACK_COMPLETE is "a previous working state after a failed
//!   stack update": a stable state to update from. ContinueUpdateRollback
//!   takes a stack from UPDATE_ROLLBACK_FAILED there, and its
//!   ResourcesToSkip may name only resources "in the UPDATE_FAILED state
//!   because a rollback failed", not those whose update was cancelled.
//! - DeleteStack's RetainResources is only for stacks in DELETE_FAILED.
//! - DELETE_COMPLETE stacks stay listed (ListStacks) for 90 days but are
//!   gone: DescribeStacks by name does not find them, and a new stack of
//!   the same name may be created.
//! - REVIEW_IN_PROGRESS is a stack "with an expected StackId but without any
//!   templates or resources", made by a CREATE change set that was not
//!   executed; another CREATE change set may be made on it (as the AWS
//!   CLI's `deploy` does, and the sandbox allows).
//! - With rollback disabled a failed create stays CREATE_FAILED and a
//!   failed update UPDATE_FAILED, keeping what succeeded; an update retries
//!   them. A stack created with OnStackFailure DO_NOTHING instead cannot be
//!   updated from CREATE_FAILED ("Please use disable-rollback option
//!   instead"), only rolled back or deleted.
//! - Reads lag: DescribeStacks right after ExecuteChangeSet can still show
//!   REVIEW_IN_PROGRESS or the previous status, and CREATE_COMPLETE right
//!   after DeleteStack (aws-cdk-cli#1848). Every event of an operation
//!   carries its ClientRequestToken, and a call repeated with the same
//!   token is taken for the same operation.

use super::{
    Action, Evidence, Observed, Operation, OperationKind, Plan, PlannedStack, ResourceView, Stage,
    WaitingFor, is_cancellation, root_cause,
};
use crate::core::stack::StackStatus;

/// The next action for every stack of `plan`, in the plan's order.
///
/// - `observed`: DescribeStacks' answer per stack; a stack without one does
///   not exist (or is DELETE_COMPLETE).
/// - `saved`: the operations the state file keeps (each stack's latest is
///   the one with the highest attempt; older ones only count attempts).
/// - `evidence`: for saved operations, the events carrying their token.
///
/// A stack whose dependencies are all complete (CREATE_COMPLETE or
/// UPDATE_COMPLETE) may start, whatever the others are doing; a stack that
/// needs the certificate also waits for it, and only it waits for it.
///
/// A read that may lag never decides. Once an operation is sent, a
/// DescribeStacks status that still shows the stack as it was before the
/// operation gives way to the operation's own events; with no such events
/// yet, the same call is sent again with the same token, which is safe.
/// A status the operation could not have produced (someone else changed
/// the stack since) is taken as it is.
pub fn reconcile(
    plan: &Plan,
    observed: &[Observed],
    saved: &[Operation],
    evidence: &[Evidence],
) -> Vec<(String, Action)> {
    let judged: Vec<Judged<'_>> = plan
        .stacks
        .iter()
        .map(|s| judge(s, observed, saved, evidence))
        .collect();
    plan.stacks
        .iter()
        .zip(&judged)
        .map(|(stack, now)| {
            let action = match decide(plan, stack, now, saved) {
                action @ (Action::CreateChangeSet(_) | Action::ReuseOrReplaceChangeSet(_)) => {
                    let on = waiting_for(plan, stack, &judged);
                    if on.is_empty() {
                        action
                    } else {
                        Action::Wait { on }
                    }
                }
                action => action,
            };
            (stack.name.clone(), action)
        })
        .collect()
}

/// A stack as reconcile judges it.
struct Judged<'a> {
    /// The status that decides; DELETE_COMPLETE when the stack does not exist.
    status: StackStatus,
    observed: Option<&'a Observed>,
    /// The stack's latest saved operation.
    latest: Option<&'a Operation>,
    /// The latest operation, when `status` is its doing.
    ours: Option<&'a Operation>,
    /// The latest operation's events, when it was sent and some carry its token.
    evidence: Option<&'a Evidence>,
    /// The latest operation, when it was sent but nothing shows it
    /// arrived: send it again.
    resend: Option<&'a Operation>,
    /// The latest operation was an update with no changes, and the stack
    /// has not changed since: it is as planned.
    unchanged: bool,
}

fn judge<'a>(
    stack: &PlannedStack,
    observed: &'a [Observed],
    saved: &'a [Operation],
    evidence: &'a [Evidence],
) -> Judged<'a> {
    let seen = observed.iter().find(|o| o.stack == stack.name);
    let read = seen.map_or(StackStatus::DeleteComplete, |o| o.status);
    let latest = saved
        .iter()
        .filter(|op| op.stack == stack.name)
        .max_by_key(|op| op.attempt);
    let mut judged = Judged {
        status: read,
        observed: seen,
        latest,
        ours: None,
        evidence: None,
        resend: None,
        unchanged: false,
    };
    let Some(op) = latest else {
        return judged;
    };
    match op.stage {
        Stage::ChangeSetRequested => return judged,
        Stage::Unchanged => {
            // Nothing was executed; the stack is as planned while it stays
            // where the change set found it.
            judged.unchanged = op.kind == OperationKind::Update
                && statuses_before(OperationKind::Update).contains(&read);
            return judged;
        }
        Stage::Sent => {}
    }
    let before = statuses_before(op.kind).contains(&read);
    let during = statuses_of(op.kind).contains(&read);
    let proof = evidence
        .iter()
        .find(|e| e.stack == stack.name && e.token == op.token);
    match proof {
        Some(proof) => {
            let told = proof.stack_status().unwrap_or_else(|| running(op.kind));
            if before {
                // The read still shows the stack as it was before the
                // operation: the operation's events decide.
                judged.status = told;
            } else if during {
                // Both are the operation's; whichever has seen its end.
                if read.in_progress() && told.is_terminal() {
                    judged.status = told;
                }
            } else {
                // Changed since by someone else: the read decides.
                return judged;
            }
            judged.ours = Some(op);
            judged.evidence = Some(proof);
        }
        None if before => {
            // Nothing shows the call arrived: it may never have.
            judged.ours = Some(op);
            judged.resend = Some(op);
        }
        None if during => {
            // The read shows the operation happened; its events are not
            // seen yet.
            judged.ours = Some(op);
        }
        // Changed since by someone else: the read decides.
        None => {}
    }
    judged
}

/// The statuses an operation of `kind` leaves a stack in, along the way
/// and at the end (DELETE_COMPLETE: gone).
fn statuses_of(kind: OperationKind) -> &'static [StackStatus] {
    use StackStatus::*;
    match kind {
        OperationKind::Create => &[
            CreateInProgress,
            CreateFailed,
            CreateComplete,
            RollbackInProgress,
            RollbackFailed,
            RollbackComplete,
        ],
        OperationKind::Update | OperationKind::RetryUpdate => &[
            UpdateInProgress,
            UpdateCompleteCleanupInProgress,
            UpdateComplete,
            UpdateFailed,
            UpdateRollbackInProgress,
            UpdateRollbackFailed,
            UpdateRollbackCompleteCleanupInProgress,
            UpdateRollbackComplete,
        ],
        OperationKind::Delete => &[DeleteInProgress, DeleteFailed, DeleteComplete],
        OperationKind::ContinueRollback => &[
            UpdateRollbackInProgress,
            UpdateRollbackFailed,
            UpdateRollbackCompleteCleanupInProgress,
            UpdateRollbackComplete,
        ],
    }
}

/// The statuses the installer sends an operation of `kind` from: what a
/// lagging read still shows just after it is sent.
fn statuses_before(kind: OperationKind) -> &'static [StackStatus] {
    use StackStatus::*;
    match kind {
        OperationKind::Create => &[DeleteComplete, ReviewInProgress],
        OperationKind::Update => &[CreateComplete, UpdateComplete, UpdateRollbackComplete],
        OperationKind::RetryUpdate => &[CreateFailed, UpdateFailed],
        OperationKind::Delete => &[CreateFailed, RollbackComplete, RollbackFailed, DeleteFailed],
        OperationKind::ContinueRollback => &[UpdateRollbackFailed],
    }
}

/// The status of an operation of `kind` whose events so far are all its
/// resources'.
fn running(kind: OperationKind) -> StackStatus {
    match kind {
        OperationKind::Create => StackStatus::CreateInProgress,
        OperationKind::Update | OperationKind::RetryUpdate => StackStatus::UpdateInProgress,
        OperationKind::Delete => StackStatus::DeleteInProgress,
        OperationKind::ContinueRollback => StackStatus::UpdateRollbackInProgress,
    }
}

/// Complete for the stacks that depend on it: its outputs are final.
fn complete(status: StackStatus) -> bool {
    matches!(
        status,
        StackStatus::CreateComplete | StackStatus::UpdateComplete
    )
}

fn waiting_for(plan: &Plan, stack: &PlannedStack, judged: &[Judged<'_>]) -> Vec<WaitingFor> {
    let mut on: Vec<WaitingFor> = stack
        .depends_on
        .iter()
        .filter(|dep| {
            let done = plan
                .stacks
                .iter()
                .position(|s| s.name == **dep)
                .is_some_and(|i| judged[i].unchanged || complete(judged[i].status));
            !done
        })
        .map(|dep| WaitingFor::Stack(dep.clone()))
        .collect();
    if stack.needs_certificate && !plan.certificate_issued {
        on.push(WaitingFor::Certificate);
    }
    on
}

/// The table: one row per stack status, for the status `now` settled on.
fn decide(plan: &Plan, stack: &PlannedStack, now: &Judged<'_>, saved: &[Operation]) -> Action {
    if now.unchanged {
        return Action::Skip;
    }
    if let Some(op) = now.resend {
        return if op.kind.uses_change_set() {
            Action::ExecuteChangeSet(op.clone())
        } else {
            Action::Resend(op.clone())
        };
    }
    let attempt = saved
        .iter()
        .filter(|op| op.stack == stack.name)
        .map(|op| op.attempt)
        .max()
        .map_or(1, |a| a + 1);
    let next = |kind: OperationKind| Operation::new(&plan.install_name, &stack.name, kind, attempt);
    let attach = || Action::Attach {
        token: now.ours.map(|op| op.token.clone()),
    };
    let name = stack.stack_name.as_str();
    match now.status {
        // Changing: follow it to its end.
        StackStatus::CreateInProgress => attach(),
        StackStatus::CreateFailed => {
            // Rollback disabled (the installer always executes that way):
            // retry by update. Created with OnStackFailure DO_NOTHING:
            // CloudFormation refuses the update, so delete and create.
            let rollback_disabled =
                now.ours.is_some() || now.observed.is_some_and(|o| o.disable_rollback);
            if rollback_disabled {
                offer_retry(
                    now,
                    StackStatus::CreateFailed,
                    next(OperationKind::RetryUpdate),
                    name,
                )
            } else {
                Action::DeleteThenCreate {
                    delete: next(OperationKind::Delete),
                    question: format!(
                        "{name} failed to create{}, and it was created with on-failure \
                         DO_NOTHING, which CloudFormation does not update. Delete it and \
                         create it again?",
                        cause_suffix(now)
                    ),
                }
            }
        }
        StackStatus::CreateComplete => Action::Skip,
        StackStatus::RollbackInProgress => attach(),
        // "Delete the stack or view the stack events."
        StackStatus::RollbackFailed => Action::DeleteThenCreate {
            delete: next(OperationKind::Delete),
            question: format!(
                "{name} failed to create{} and could not be rolled back (ROLLBACK_FAILED); \
                 CloudFormation can only delete it. Delete it and create it again? What \
                 cannot be deleted is named if the deletion fails.",
                cause_suffix(now)
            ),
        },
        // "Only a delete operation can be performed."
        StackStatus::RollbackComplete => Action::DeleteThenCreate {
            delete: next(OperationKind::Delete),
            question: format!(
                "{name} failed to create{} and was rolled back (ROLLBACK_COMPLETE); \
                 CloudFormation can only delete it. Delete it and create it again?",
                cause_suffix(now)
            ),
        },
        StackStatus::DeleteInProgress => attach(),
        StackStatus::DeleteFailed => {
            let retainable = resources_with(now, |r| r.status.as_str() == "DELETE_FAILED");
            let question = if retainable.is_empty() {
                format!("{name} could not be deleted (DELETE_FAILED). Delete it again?")
            } else {
                format!(
                    "{name} could not be deleted (DELETE_FAILED): {} could not be deleted. \
                     Delete it again? What you choose to keep stays in the account, outside \
                     any stack.",
                    logical_ids(&retainable)
                )
            };
            Action::RetryDelete {
                retainable,
                operation: next(OperationKind::Delete),
                question,
            }
        }
        // Gone: a new stack of the same name may be created.
        StackStatus::DeleteComplete => create_or_reuse(now, next(OperationKind::Create)),
        StackStatus::UpdateInProgress => attach(),
        StackStatus::UpdateCompleteCleanupInProgress => attach(),
        StackStatus::UpdateComplete => Action::Skip,
        StackStatus::UpdateFailed => offer_retry(
            now,
            StackStatus::UpdateFailed,
            next(OperationKind::RetryUpdate),
            name,
        ),
        StackStatus::UpdateRollbackInProgress => attach(),
        StackStatus::UpdateRollbackFailed => {
            // Only what failed to roll back may be skipped, not what was
            // cancelled.
            let skippable = resources_with(now, |r| {
                r.status.as_str() == "UPDATE_FAILED" && !is_cancellation(r.reason.as_deref())
            });
            let question = if skippable.is_empty() {
                format!(
                    "The rollback of {name}'s update failed (UPDATE_ROLLBACK_FAILED). Continue \
                     the rollback? Fix what stopped it first; its events say what that was."
                )
            } else {
                format!(
                    "The rollback of {name}'s update failed (UPDATE_ROLLBACK_FAILED): {} could \
                     not be rolled back. Continue the rollback? Those you choose to skip stay \
                     as they are now, not as the previous template says.",
                    logical_ids(&skippable)
                )
            };
            Action::ContinueRollback {
                skippable,
                operation: next(OperationKind::ContinueRollback),
                question,
            }
        }
        StackStatus::UpdateRollbackCompleteCleanupInProgress => attach(),
        // Back to its previous working state: update it again.
        StackStatus::UpdateRollbackComplete => create_or_reuse(now, next(OperationKind::Update)),
        // Made by a CREATE change set never executed.
        StackStatus::ReviewInProgress => create_or_reuse(now, next(OperationKind::Create)),
        // The installer never imports: someone else is changing the stack.
        StackStatus::ImportInProgress => Action::Stop {
            why: format!(
                "{name} is importing resources (IMPORT_IN_PROGRESS), which the installer never \
                 does: someone is changing it outside the installer. Let the import finish, \
                 make the stack hold only what the installer's template defines, then run \
                 ph-installer again."
            ),
        },
        StackStatus::ImportComplete => Action::Stop {
            why: format!(
                "{name} has had resources imported into it (IMPORT_COMPLETE) outside the \
                 installer, which never imports; updating it could change or remove them. \
                 Make the stack hold only what the installer's template defines, then run \
                 ph-installer again."
            ),
        },
        StackStatus::ImportRollbackInProgress => Action::Stop {
            why: format!(
                "An import into {name} failed and is being rolled back \
                 (IMPORT_ROLLBACK_IN_PROGRESS); the installer never imports, so someone is \
                 changing it outside the installer. Let the rollback finish, then run \
                 ph-installer again."
            ),
        },
        StackStatus::ImportRollbackFailed => Action::Stop {
            why: format!(
                "An import into {name} failed and could not be rolled back \
                 (IMPORT_ROLLBACK_FAILED); the installer never imports. Fix the stack in the \
                 CloudFormation console (its events say what failed), then run ph-installer \
                 again."
            ),
        },
        StackStatus::ImportRollbackComplete => Action::Stop {
            why: format!(
                "An import into {name} was rolled back (IMPORT_ROLLBACK_COMPLETE); the \
                 installer never imports, so someone changed it outside the installer. Check \
                 the stack in the CloudFormation console, then run ph-installer again."
            ),
        },
    }
}

/// A new change set, or the saved one of the same kind that was requested
/// and never executed.
fn create_or_reuse(now: &Judged<'_>, fresh: Operation) -> Action {
    match now.latest {
        Some(op) if op.stage == Stage::ChangeSetRequested && op.kind == fresh.kind => {
            Action::ReuseOrReplaceChangeSet(op.clone())
        }
        _ => Action::CreateChangeSet(fresh),
    }
}

fn offer_retry(now: &Judged<'_>, status: StackStatus, retry: Operation, name: &str) -> Action {
    let root = now.evidence.and_then(|e| root_cause(&e.events)).cloned();
    let stack_reason = now.observed.and_then(|o| o.status_reason.clone());
    let what = if status == StackStatus::CreateFailed {
        "create"
    } else {
        "update"
    };
    let cause = match (&root, &stack_reason) {
        (Some(e), _) => format!(
            "{} ({}): {}",
            e.logical_id,
            e.resource_type,
            e.reason.as_deref().unwrap_or("no reason given")
        ),
        (None, Some(reason)) => reason.clone(),
        (None, None) => "its events say why".to_string(),
    };
    let cause = cause.trim_end().trim_end_matches('.');
    Action::ShowRootCauseAndOfferRetry {
        status,
        root_cause: root,
        stack_reason,
        retry,
        question: format!(
            "{name} failed to {what}: {cause}. Retry? What succeeded is kept, and the stack is \
             updated with the same template, rollback still disabled."
        ),
    }
}

/// ": <root cause>" when the failing operation's events name one.
fn cause_suffix(now: &Judged<'_>) -> String {
    match now.evidence.and_then(|e| root_cause(&e.events)) {
        Some(e) => format!(
            " ({}: {})",
            e.logical_id,
            e.reason.as_deref().unwrap_or("no reason given")
        ),
        None => String::new(),
    }
}

fn resources_with(now: &Judged<'_>, keep: impl Fn(&ResourceView) -> bool) -> Vec<ResourceView> {
    now.observed
        .map(|o| o.resources.iter().filter(|r| keep(r)).cloned().collect())
        .unwrap_or_default()
}

fn logical_ids(resources: &[ResourceView]) -> String {
    resources
        .iter()
        .map(|r| r.logical_id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
