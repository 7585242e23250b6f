use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::*;
use crate::core::blueprint::Blueprint;
use crate::core::blueprint::manifest::Manifest;
use crate::core::stack::{ResourceStatus, StackStatus};

/// A small DAG that is not a chain of waves: `app` needs only `network`,
/// `rds` needs `network` and `security`, `edge` needs `app` and the
/// certificate.
const MANIFEST: &str = r#"
schema_version = 1
stack_name = "ph-{install_name}-{stack}"

[[stack]]
name = "network"
template = "network.yaml"

[[stack]]
name = "security"
template = "security.yaml"

[[stack]]
name = "rds"
template = "rds.yaml"
depends_on = ["network", "security"]

[[stack]]
name = "app"
template = "app.yaml"
depends_on = ["network"]

[[stack]]
name = "edge"
template = "edge.yaml"
depends_on = ["app"]
[stack.parameters]
CertificateArn = "answers.certificate_arn"
"#;

fn plan() -> Plan {
    let manifest = Manifest::parse(MANIFEST).expect("the test manifest parses");
    Plan::new(&manifest, "shop", false).expect("the test manifest is a DAG")
}

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

fn seen(stack: &str, status: StackStatus) -> Observed {
    Observed {
        stack: stack.into(),
        status,
        status_reason: None,
        disable_rollback: true,
        resources: vec![],
    }
}

fn complete(stacks: &[&str]) -> Vec<Observed> {
    stacks
        .iter()
        .map(|s| seen(s, StackStatus::CreateComplete))
        .collect()
}

fn resource(
    logical: &str,
    rtype: &str,
    status: &str,
    reason: Option<&str>,
    secs: u64,
) -> EventView {
    EventView {
        logical_id: logical.into(),
        resource_type: rtype.into(),
        status: ResourceStatus::new(status),
        reason: reason.map(String::from),
        timestamp: at(secs),
        stack_event: false,
        token: None,
    }
}

fn of_stack(stack_name: &str, status: &str, reason: Option<&str>, secs: u64) -> EventView {
    EventView {
        logical_id: stack_name.into(),
        resource_type: "AWS::CloudFormation::Stack".into(),
        status: ResourceStatus::new(status),
        reason: reason.map(String::from),
        timestamp: at(secs),
        stack_event: true,
        token: None,
    }
}

fn evidence(stack: &str, token: &str, events: Vec<EventView>) -> Evidence {
    Evidence {
        stack: stack.into(),
        token: token.into(),
        events: events
            .into_iter()
            .map(|mut e| {
                e.token = Some(token.into());
                e
            })
            .collect(),
    }
}

fn op(stack: &str, kind: OperationKind, attempt: u32) -> Operation {
    Operation::new("shop", stack, kind, attempt)
}

fn action<'a>(actions: &'a [(String, Action)], stack: &str) -> &'a Action {
    &actions
        .iter()
        .find(|(s, _)| s == stack)
        .unwrap_or_else(|| panic!("reconcile gave no action for {stack}"))
        .1
}

fn waits_for(stacks: &[&str]) -> Action {
    Action::Wait {
        on: stacks
            .iter()
            .map(|s| WaitingFor::Stack(s.to_string()))
            .collect(),
    }
}

fn shape(a: &Action) -> &'static str {
    match a {
        Action::Wait { .. } => "wait",
        Action::CreateChangeSet(op) if op.kind == OperationKind::Create => "create change set",
        Action::CreateChangeSet(_) => "update change set",
        Action::ReuseOrReplaceChangeSet(_) => "reuse or replace change set",
        Action::ExecuteChangeSet(_) => "execute change set",
        Action::Resend(_) => "resend",
        Action::Attach { .. } => "attach",
        Action::Skip => "skip",
        Action::ShowRootCauseAndOfferRetry { .. } => "offer retry",
        Action::DeleteThenCreate { .. } => "delete then create",
        Action::ContinueRollback { .. } => "continue rollback",
        Action::RetryDelete { .. } => "retry delete",
        Action::Stop { .. } => "stop",
    }
}

// ---------------------------------------------------------------- the DAG

#[test]
fn on_a_fresh_account_the_stacks_without_dependencies_start_together_and_the_rest_wait() {
    let actions = reconcile(&plan(), &[], &[], &[]);
    let order: Vec<&str> = actions.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(order, ["network", "security", "rds", "app", "edge"]);
    for stack in ["network", "security"] {
        match action(&actions, stack) {
            Action::CreateChangeSet(op) => {
                assert_eq!(op.kind, OperationKind::Create);
                assert_eq!(op.token, format!("ph-shop-{stack}-create-1"));
                assert_eq!(op.change_set.as_deref(), Some("ph-create-1"));
                assert_eq!(op.stage, Stage::ChangeSetRequested);
            }
            other => panic!("{stack} should start at once, got {other:?}"),
        }
    }
    assert_eq!(
        action(&actions, "rds"),
        &waits_for(&["network", "security"])
    );
    assert_eq!(action(&actions, "app"), &waits_for(&["network"]));
    assert_eq!(
        action(&actions, "edge"),
        &Action::Wait {
            on: vec![WaitingFor::Stack("app".into()), WaitingFor::Certificate]
        }
    );
}

#[test]
fn a_stack_starts_when_its_own_dependencies_are_complete_not_when_its_wave_is() {
    let observed = [
        seen("network", StackStatus::CreateComplete),
        seen("security", StackStatus::CreateInProgress),
    ];
    let actions = reconcile(&plan(), &observed, &[], &[]);
    assert_eq!(action(&actions, "network"), &Action::Skip);
    assert_eq!(
        action(&actions, "security"),
        &Action::Attach { token: None }
    );
    assert_eq!(
        shape(action(&actions, "app")),
        "create change set",
        "app needs only network, although security (of network's wave) is still running"
    );
    assert_eq!(action(&actions, "rds"), &waits_for(&["security"]));
}

#[test]
fn a_stack_waits_while_a_dependency_is_in_progress_or_failed() {
    for status in [
        StackStatus::CreateInProgress,
        StackStatus::CreateFailed,
        StackStatus::RollbackComplete,
        StackStatus::UpdateInProgress,
        StackStatus::UpdateFailed,
        StackStatus::UpdateRollbackFailed,
    ] {
        let observed = [
            seen("network", status),
            seen("security", StackStatus::CreateComplete),
        ];
        let actions = reconcile(&plan(), &observed, &[], &[]);
        assert_eq!(
            action(&actions, "rds"),
            &waits_for(&["network"]),
            "{status}"
        );
        assert_eq!(
            action(&actions, "app"),
            &waits_for(&["network"]),
            "{status}"
        );
    }
}

#[test]
fn a_dependant_starts_only_after_create_complete_or_update_complete() {
    for status in StackStatus::ALL {
        let observed = [
            seen("network", *status),
            seen("security", StackStatus::CreateComplete),
        ];
        let actions = reconcile(&plan(), &observed, &[], &[]);
        let starts = shape(action(&actions, "app")) == "create change set";
        let done = matches!(
            status,
            StackStatus::CreateComplete | StackStatus::UpdateComplete
        );
        assert_eq!(starts, done, "app with network {status}");
    }
}

#[test]
fn the_stack_that_needs_the_certificate_waits_for_it_and_no_other_stack_does() {
    let observed = complete(&["network", "security", "rds", "app"]);
    let actions = reconcile(&plan(), &observed, &[], &[]);
    assert_eq!(
        action(&actions, "edge"),
        &Action::Wait {
            on: vec![WaitingFor::Certificate]
        }
    );

    let mut issued = plan();
    issued.certificate_issued = true;
    let actions = reconcile(&issued, &observed, &[], &[]);
    assert_eq!(shape(action(&actions, "edge")), "create change set");

    let actions = reconcile(&plan(), &[], &[], &[]);
    for (stack, a) in &actions {
        if let Action::Wait { on } = a {
            assert!(
                stack == "edge" || !on.contains(&WaitingFor::Certificate),
                "{stack} waits for the certificate"
            );
        }
    }
}

#[test]
fn in_the_embedded_manifest_only_the_edge_stack_waits_for_the_certificate() {
    let blueprint = Blueprint::embedded().expect("the embedded blueprint parses");
    let plan = Plan::new(&blueprint.manifest, "shop", false).expect("the manifest is a DAG");
    let needing: Vec<&str> = plan
        .stacks
        .iter()
        .filter(|s| s.needs_certificate)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(needing, ["edge"]);
    assert_eq!(
        plan.stack("edge").map(|s| s.stack_name.as_str()),
        Some("ph-shop-edge")
    );
    assert_eq!(
        plan.by_stack_name("ph-shop-rds").map(|s| s.name.as_str()),
        Some("rds")
    );

    let observed: Vec<Observed> = plan
        .stacks
        .iter()
        .filter(|s| s.name != "edge")
        .map(|s| seen(&s.name, StackStatus::CreateComplete))
        .collect();
    let actions = reconcile(&plan, &observed, &[], &[]);
    assert_eq!(
        action(&actions, "edge"),
        &Action::Wait {
            on: vec![WaitingFor::Certificate]
        }
    );
}

// ---------------------------------------------------------------- one row per status

/// What reconcile does with `rds` (its dependencies complete, nothing saved)
/// in each status: (status, action, whether the operator is asked, why).
const ROWS: &[(StackStatus, &str, bool, &str)] = &[
    (
        StackStatus::CreateInProgress,
        "attach",
        false,
        "a create in progress is followed, not started again",
    ),
    (
        StackStatus::CreateFailed,
        "offer retry",
        true,
        "a failed create with rollback disabled keeps what succeeded; retried by update when asked",
    ),
    (
        StackStatus::CreateComplete,
        "skip",
        false,
        "a created stack is left alone",
    ),
    (
        StackStatus::RollbackInProgress,
        "attach",
        false,
        "a failed create rolling back is followed to its end",
    ),
    (
        StackStatus::RollbackFailed,
        "delete then create",
        true,
        "a create whose rollback failed can only be deleted",
    ),
    (
        StackStatus::RollbackComplete,
        "delete then create",
        true,
        "a rolled-back create can only be deleted, then created again",
    ),
    (
        StackStatus::DeleteInProgress,
        "attach",
        false,
        "a deletion in progress is followed",
    ),
    (
        StackStatus::DeleteFailed,
        "retry delete",
        true,
        "a failed deletion is retried, offering to retain what cannot be deleted",
    ),
    (
        StackStatus::DeleteComplete,
        "create change set",
        false,
        "a deleted stack is gone and created anew",
    ),
    (
        StackStatus::UpdateInProgress,
        "attach",
        false,
        "an update in progress is followed",
    ),
    (
        StackStatus::UpdateCompleteCleanupInProgress,
        "attach",
        false,
        "an update cleaning up is followed to UPDATE_COMPLETE",
    ),
    (
        StackStatus::UpdateComplete,
        "skip",
        false,
        "an updated stack is left alone",
    ),
    (
        StackStatus::UpdateFailed,
        "offer retry",
        true,
        "a failed update with rollback disabled is retried by update when asked",
    ),
    (
        StackStatus::UpdateRollbackInProgress,
        "attach",
        false,
        "an update rolling back is followed",
    ),
    (
        StackStatus::UpdateRollbackFailed,
        "continue rollback",
        true,
        "a failed update rollback is continued, skipping what the operator confirms",
    ),
    (
        StackStatus::UpdateRollbackCompleteCleanupInProgress,
        "attach",
        false,
        "a rollback cleaning up is followed",
    ),
    (
        StackStatus::UpdateRollbackComplete,
        "update change set",
        false,
        "a stack back at its previous working state is updated again",
    ),
    (
        StackStatus::ReviewInProgress,
        "create change set",
        false,
        "an empty stack left by an unexecuted change set gets a change set of its own",
    ),
    (
        StackStatus::ImportInProgress,
        "stop",
        false,
        "an import is someone else's doing: explain and stop",
    ),
    (
        StackStatus::ImportComplete,
        "stop",
        false,
        "imported resources are someone else's: explain and stop",
    ),
    (
        StackStatus::ImportRollbackInProgress,
        "stop",
        false,
        "an import rolling back: explain and stop",
    ),
    (
        StackStatus::ImportRollbackFailed,
        "stop",
        false,
        "a failed import rollback: explain and stop",
    ),
    (
        StackStatus::ImportRollbackComplete,
        "stop",
        false,
        "a rolled-back import: explain and stop",
    ),
];

#[test]
fn every_stack_status_has_a_row_and_reconcile_does_what_the_row_says() {
    assert_eq!(ROWS.len(), StackStatus::ALL.len(), "one row per status");
    for status in StackStatus::ALL {
        let Some((_, expected, asks, behaviour)) = ROWS.iter().find(|(s, ..)| s == status) else {
            panic!("{status} has no row in the reconcile table");
        };
        let mut observed = complete(&["network", "security"]);
        observed.push(seen("rds", *status));
        let actions = reconcile(&plan(), &observed, &[], &[]);
        let got = action(&actions, "rds");
        assert_eq!(shape(got), *expected, "{status}: {behaviour}; got {got:?}");
        assert_eq!(got.needs_confirmation(), *asks, "{status}: {behaviour}");
        if let Some(question) = got.question() {
            assert!(
                question.contains("ph-shop-rds"),
                "{status}: the question names the stack: {question}"
            );
            assert!(
                got.operation().is_some(),
                "{status}: a yes has an operation to save"
            );
        }
        if let Action::Stop { why } = got {
            assert!(
                why.contains("ph-shop-rds") && why.contains(status.as_str()),
                "{status}: {why}"
            );
        }
    }
}

#[test]
fn a_stack_created_with_on_failure_do_nothing_is_deleted_and_created_again_not_updated() {
    let mut observed = complete(&["network", "security"]);
    let mut rds = seen("rds", StackStatus::CreateFailed);
    rds.disable_rollback = false;
    observed.push(rds);
    let actions = reconcile(&plan(), &observed, &[], &[]);
    match action(&actions, "rds") {
        Action::DeleteThenCreate { delete, question } => {
            assert_eq!(delete.kind, OperationKind::Delete);
            assert!(question.contains("DO_NOTHING"), "{question}");
        }
        other => panic!("expected delete then create, got {other:?}"),
    }
}

// ---------------------------------------------------------------- lagging reads

#[test]
fn a_describe_still_showing_the_status_before_an_update_gives_way_to_the_update_s_events() {
    let update = op("network", OperationKind::Update, 2).sent();
    let saved = [
        op("network", OperationKind::Create, 1).sent(),
        update.clone(),
    ];
    let observed = complete(&["network", "security"]);
    let proof = evidence(
        "network",
        &update.token,
        vec![
            of_stack(
                "ph-shop-network",
                "UPDATE_IN_PROGRESS",
                Some("User Initiated"),
                10,
            ),
            resource(
                "NatGatewayA",
                "AWS::EC2::NatGateway",
                "UPDATE_IN_PROGRESS",
                None,
                12,
            ),
        ],
    );
    let actions = reconcile(&plan(), &observed, &saved, &[proof]);
    assert_eq!(
        action(&actions, "network"),
        &Action::Attach {
            token: Some(update.token.clone())
        },
        "the update is followed, not skipped as CREATE_COMPLETE"
    );
    assert_eq!(
        action(&actions, "app"),
        &waits_for(&["network"]),
        "app waits for the update's outputs"
    );
}

#[test]
fn a_create_whose_describe_still_says_review_in_progress_is_followed_by_its_events() {
    let create = op("network", OperationKind::Create, 1).sent();
    let observed = [seen("network", StackStatus::ReviewInProgress)];
    let proof = evidence(
        "network",
        &create.token,
        vec![of_stack(
            "ph-shop-network",
            "CREATE_IN_PROGRESS",
            Some("User Initiated"),
            3,
        )],
    );
    let actions = reconcile(&plan(), &observed, std::slice::from_ref(&create), &[proof]);
    assert_eq!(
        action(&actions, "network"),
        &Action::Attach {
            token: Some(create.token.clone())
        }
    );

    let done = evidence(
        "network",
        &create.token,
        vec![
            of_stack(
                "ph-shop-network",
                "CREATE_IN_PROGRESS",
                Some("User Initiated"),
                3,
            ),
            of_stack("ph-shop-network", "CREATE_COMPLETE", None, 200),
        ],
    );
    let actions = reconcile(&plan(), &observed, &[create], &[done]);
    assert_eq!(action(&actions, "network"), &Action::Skip);
    assert_eq!(
        shape(action(&actions, "app")),
        "create change set",
        "the events' CREATE_COMPLETE lets app start before DescribeStacks catches up"
    );
}

#[test]
fn a_deleted_stack_still_read_as_rolled_back_is_created_again_not_deleted_again() {
    let saved = [
        op("network", OperationKind::Create, 1).sent(),
        op("network", OperationKind::Delete, 2),
    ];
    let observed = [seen("network", StackStatus::RollbackComplete)];

    let deleting = evidence(
        "network",
        &saved[1].token,
        vec![of_stack(
            "ph-shop-network",
            "DELETE_IN_PROGRESS",
            Some("User Initiated"),
            5,
        )],
    );
    let actions = reconcile(&plan(), &observed, &saved, &[deleting]);
    assert_eq!(
        action(&actions, "network"),
        &Action::Attach {
            token: Some("ph-shop-network-delete-2".into())
        },
        "no second question about deleting it"
    );

    let deleted = evidence(
        "network",
        &saved[1].token,
        vec![
            of_stack(
                "ph-shop-network",
                "DELETE_IN_PROGRESS",
                Some("User Initiated"),
                5,
            ),
            of_stack("ph-shop-network", "DELETE_COMPLETE", None, 40),
        ],
    );
    let actions = reconcile(&plan(), &observed, &saved, &[deleted]);
    match action(&actions, "network") {
        Action::CreateChangeSet(op) => {
            assert_eq!(op.kind, OperationKind::Create);
            assert_eq!(op.token, "ph-shop-network-create-3");
            assert_eq!(op.change_set.as_deref(), Some("ph-create-3"));
        }
        other => panic!("expected a new create, got {other:?}"),
    }
}

#[test]
fn an_executed_change_set_without_events_yet_is_executed_again_with_the_same_token() {
    let create = op("network", OperationKind::Create, 1).sent();
    let review = [seen("network", StackStatus::ReviewInProgress)];
    let gone: [Observed; 0] = [];
    for observed in [&review[..], &gone[..]] {
        let actions = reconcile(&plan(), observed, std::slice::from_ref(&create), &[]);
        assert_eq!(
            action(&actions, "network"),
            &Action::ExecuteChangeSet(create.clone()),
            "observed {observed:?}"
        );
    }
}

#[test]
fn an_operation_the_read_shows_under_way_is_followed_before_its_events_are_seen() {
    let create = op("network", OperationKind::Create, 1).sent();
    let observed = [seen("network", StackStatus::CreateInProgress)];
    let actions = reconcile(&plan(), &observed, std::slice::from_ref(&create), &[]);
    assert_eq!(
        action(&actions, "network"),
        &Action::Attach {
            token: Some(create.token)
        }
    );
}

#[test]
fn a_stack_someone_else_changed_after_the_installer_is_judged_as_it_is_now() {
    let create = op("network", OperationKind::Create, 1).sent();
    let proof = evidence(
        "network",
        &create.token,
        vec![of_stack("ph-shop-network", "CREATE_COMPLETE", None, 100)],
    );
    let observed = [seen("network", StackStatus::UpdateInProgress)];
    let actions = reconcile(&plan(), &observed, &[create], &[proof]);
    assert_eq!(
        action(&actions, "network"),
        &Action::Attach { token: None },
        "someone else's update, not the installer's operation"
    );
    assert_eq!(action(&actions, "app"), &waits_for(&["network"]));
}

// ---------------------------------------------------------------- REVIEW_IN_PROGRESS

#[test]
fn review_in_progress_left_by_a_crash_reuses_or_replaces_the_saved_change_set() {
    let requested = op("network", OperationKind::Create, 1);
    assert_eq!(requested.stage, Stage::ChangeSetRequested);
    let observed = [seen("network", StackStatus::ReviewInProgress)];
    let actions = reconcile(&plan(), &observed, std::slice::from_ref(&requested), &[]);
    assert_eq!(
        action(&actions, "network"),
        &Action::ReuseOrReplaceChangeSet(requested.clone()),
        "the same change set name and token, not a second change set"
    );
    assert!(!action(&actions, "network").needs_confirmation());

    // The crash came before CreateChangeSet reached CloudFormation.
    let actions = reconcile(&plan(), &[], std::slice::from_ref(&requested), &[]);
    assert_eq!(
        action(&actions, "network"),
        &Action::ReuseOrReplaceChangeSet(requested)
    );
}

#[test]
fn review_in_progress_without_a_saved_change_set_gets_a_new_one() {
    let observed = [seen("network", StackStatus::ReviewInProgress)];
    let actions = reconcile(&plan(), &observed, &[], &[]);
    match action(&actions, "network") {
        Action::CreateChangeSet(op) => {
            assert_eq!(op.kind, OperationKind::Create);
            assert_eq!(op.token, "ph-shop-network-create-1");
        }
        other => panic!("expected a new CREATE change set, got {other:?}"),
    }
}

#[test]
fn a_saved_change_set_waits_like_a_new_one_for_its_dependencies() {
    let requested = op("rds", OperationKind::Create, 1);
    let observed = [
        seen("network", StackStatus::CreateInProgress),
        seen("security", StackStatus::CreateComplete),
        seen("rds", StackStatus::ReviewInProgress),
    ];
    let actions = reconcile(&plan(), &observed, &[requested], &[]);
    assert_eq!(action(&actions, "rds"), &waits_for(&["network"]));
}

#[test]
fn an_update_with_no_changes_counts_as_complete_for_the_stacks_that_wait_for_it() {
    let saved = [
        op("network", OperationKind::Create, 1).sent(),
        op("network", OperationKind::ContinueRollback, 2),
        op("network", OperationKind::Update, 3).unchanged(),
    ];
    let observed = [seen("network", StackStatus::UpdateRollbackComplete)];
    let actions = reconcile(&plan(), &observed, &saved, &[]);
    assert_eq!(action(&actions, "network"), &Action::Skip);
    assert_eq!(shape(action(&actions, "app")), "create change set");
}

// ---------------------------------------------------------------- failures

const DB_VERSION_REFUSED: &str = "Resource handler returned message: \"Cannot find version 16.1 \
     for postgres (Service: Rds, Status Code: 400, Request ID: 5d3c2a8e-4f1b-4c0e-9a57-2b8f6e1d0c93)\" \
     (RequestToken: 0b6f3e2a-7c41-4d8e-b5a9-1e2f3a4b5c6d, HandlerErrorCode: InvalidRequest)";

fn failed_create_events(stack_name: &str) -> Vec<EventView> {
    vec![
        of_stack(stack_name, "CREATE_IN_PROGRESS", Some("User Initiated"), 0),
        resource(
            "DbSubnetGroup",
            "AWS::RDS::DBSubnetGroup",
            "CREATE_IN_PROGRESS",
            None,
            2,
        ),
        resource(
            "DbParameterGroup",
            "AWS::RDS::DBParameterGroup",
            "CREATE_IN_PROGRESS",
            None,
            2,
        ),
        resource(
            "DbSubnetGroup",
            "AWS::RDS::DBSubnetGroup",
            "CREATE_COMPLETE",
            None,
            4,
        ),
        resource("Db", "AWS::RDS::DBInstance", "CREATE_IN_PROGRESS", None, 5),
        resource(
            "Db",
            "AWS::RDS::DBInstance",
            "CREATE_FAILED",
            Some(DB_VERSION_REFUSED),
            7,
        ),
        resource(
            "DbParameterGroup",
            "AWS::RDS::DBParameterGroup",
            "CREATE_FAILED",
            Some("Resource creation cancelled"),
            8,
        ),
        of_stack(
            stack_name,
            "CREATE_FAILED",
            Some("The following resource(s) failed to create: [Db, DbParameterGroup]. "),
            9,
        ),
    ]
}

#[test]
fn a_failed_create_shows_its_first_failure_and_offers_a_retry_by_update() {
    let create = op("rds", OperationKind::Create, 1).sent();
    let mut observed = complete(&["network", "security"]);
    let mut rds = seen("rds", StackStatus::CreateFailed);
    rds.status_reason =
        Some("The following resource(s) failed to create: [Db, DbParameterGroup]. ".into());
    observed.push(rds);
    let proof = evidence("rds", &create.token, failed_create_events("ph-shop-rds"));
    let actions = reconcile(&plan(), &observed, &[create], &[proof]);
    match action(&actions, "rds") {
        Action::ShowRootCauseAndOfferRetry {
            status,
            root_cause,
            retry,
            question,
            ..
        } => {
            assert_eq!(*status, StackStatus::CreateFailed);
            let cause = root_cause
                .as_ref()
                .expect("the failure's events name a cause");
            assert_eq!(cause.logical_id, "Db");
            assert_eq!(retry.kind, OperationKind::RetryUpdate);
            assert_eq!(retry.token, "ph-shop-rds-retry-2");
            assert!(
                question.contains("ph-shop-rds failed to create"),
                "{question}"
            );
            assert!(
                question.contains("Cannot find version 16.1 for postgres"),
                "{question}"
            );
            assert!(!question.contains("cancelled"), "{question}");
        }
        other => panic!("expected the root cause and a retry offer, got {other:?}"),
    }
}

#[test]
fn a_failed_stack_whose_events_are_unknown_is_explained_by_its_own_reason() {
    let mut observed = complete(&["network", "security"]);
    let mut rds = seen("rds", StackStatus::UpdateFailed);
    rds.status_reason = Some("The following resource(s) failed to update: [Db]. ".into());
    observed.push(rds);
    let actions = reconcile(&plan(), &observed, &[], &[]);
    let question = action(&actions, "rds")
        .question()
        .expect("asks before retrying");
    assert!(
        question.contains("failed to update: The following resource(s) failed to update: [Db]."),
        "{question}"
    );
}

#[test]
fn a_retry_already_sent_is_sent_again_or_followed_never_offered_twice() {
    let retry = op("rds", OperationKind::RetryUpdate, 2);
    let saved = [op("rds", OperationKind::Create, 1).sent(), retry.clone()];
    let mut observed = complete(&["network", "security"]);
    observed.push(seen("rds", StackStatus::CreateFailed));

    let actions = reconcile(&plan(), &observed, &saved, &[]);
    assert_eq!(
        action(&actions, "rds"),
        &Action::Resend(retry.clone()),
        "no event yet: the same UpdateStack with the same token"
    );

    let running = evidence(
        "rds",
        &retry.token,
        vec![of_stack(
            "ph-shop-rds",
            "UPDATE_IN_PROGRESS",
            Some("User Initiated"),
            50,
        )],
    );
    let actions = reconcile(&plan(), &observed, &saved, &[running]);
    assert_eq!(
        action(&actions, "rds"),
        &Action::Attach {
            token: Some(retry.token.clone())
        }
    );

    let finished = evidence(
        "rds",
        &retry.token,
        vec![
            of_stack(
                "ph-shop-rds",
                "UPDATE_IN_PROGRESS",
                Some("User Initiated"),
                50,
            ),
            of_stack("ph-shop-rds", "UPDATE_COMPLETE", None, 400),
        ],
    );
    let actions = reconcile(&plan(), &observed, &saved, &[finished]);
    assert_eq!(action(&actions, "rds"), &Action::Skip);
}

#[test]
fn a_failed_update_rollback_offers_to_skip_only_what_failed_to_roll_back() {
    let mut observed = complete(&["network", "security"]);
    let mut rds = seen("rds", StackStatus::UpdateRollbackFailed);
    rds.resources = vec![
        ResourceView {
            logical_id: "Db".into(),
            resource_type: "AWS::RDS::DBInstance".into(),
            status: ResourceStatus::new("UPDATE_FAILED"),
            reason: Some(
                "Resource handler returned message: \"DBInstance ph-shop-db not found (Service: \
                 Rds, Status Code: 404)\" (HandlerErrorCode: NotFound)"
                    .into(),
            ),
        },
        ResourceView {
            logical_id: "DbParameterGroup".into(),
            resource_type: "AWS::RDS::DBParameterGroup".into(),
            status: ResourceStatus::new("UPDATE_FAILED"),
            reason: Some("Resource update cancelled".into()),
        },
        ResourceView {
            logical_id: "DbSubnetGroup".into(),
            resource_type: "AWS::RDS::DBSubnetGroup".into(),
            status: ResourceStatus::new("UPDATE_COMPLETE"),
            reason: None,
        },
    ];
    observed.push(rds);
    let actions = reconcile(&plan(), &observed, &[], &[]);
    let (skippable, operation, question) = match action(&actions, "rds") {
        Action::ContinueRollback {
            skippable,
            operation,
            question,
        } => (skippable, operation, question),
        other => panic!("expected to continue the rollback, got {other:?}"),
    };
    let ids: Vec<&str> = skippable.iter().map(|r| r.logical_id.as_str()).collect();
    assert_eq!(ids, ["Db"]);
    assert!(
        question.contains("Db could not be rolled back"),
        "{question}"
    );
    assert!(!question.contains("DbParameterGroup"), "{question}");
    assert_eq!(operation.kind, OperationKind::ContinueRollback);

    // The operator skips Db; the read lags behind the call.
    let chosen = operation.clone().with_resources(vec!["Db".into()]);
    assert_eq!(chosen.resources, ["Db"]);
    let proof = evidence(
        "rds",
        &chosen.token,
        vec![of_stack(
            "ph-shop-rds",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            Some("User Initiated"),
            20,
        )],
    );
    let actions = reconcile(&plan(), &observed, std::slice::from_ref(&chosen), &[proof]);
    assert_eq!(
        action(&actions, "rds"),
        &Action::Attach {
            token: Some(chosen.token)
        },
        "the operator is not asked again"
    );
}

#[test]
fn a_failed_delete_offers_to_retain_what_could_not_be_deleted() {
    let mut network = seen("network", StackStatus::DeleteFailed);
    network.resources = vec![
        ResourceView {
            logical_id: "FlowLogsBucket".into(),
            resource_type: "AWS::S3::Bucket".into(),
            status: ResourceStatus::new("DELETE_FAILED"),
            reason: Some(
                "Resource handler returned message: \"The bucket you tried to delete is not \
                 empty (Service: S3, Status Code: 409)\" (HandlerErrorCode: GeneralServiceException)"
                    .into(),
            ),
        },
        ResourceView {
            logical_id: "FlowLogsRole".into(),
            resource_type: "AWS::IAM::Role".into(),
            status: ResourceStatus::new("DELETE_COMPLETE"),
            reason: None,
        },
    ];
    let actions = reconcile(&plan(), &[network], &[], &[]);
    match action(&actions, "network") {
        Action::RetryDelete {
            retainable,
            operation,
            question,
        } => {
            let ids: Vec<&str> = retainable.iter().map(|r| r.logical_id.as_str()).collect();
            assert_eq!(ids, ["FlowLogsBucket"]);
            assert_eq!(operation.kind, OperationKind::Delete);
            assert!(
                operation.resources.is_empty(),
                "nothing retained unless chosen"
            );
            assert!(
                question.contains("FlowLogsBucket could not be deleted"),
                "{question}"
            );
        }
        other => panic!("expected a retried delete, got {other:?}"),
    }
}

// ---------------------------------------------------------------- root cause

#[test]
fn the_root_cause_is_the_first_failure_in_time_not_the_cancellations_it_caused() {
    let events = [
        of_stack(
            "ph-shop-network",
            "CREATE_IN_PROGRESS",
            Some("User Initiated"),
            0,
        ),
        resource("NatEipA", "AWS::EC2::EIP", "CREATE_IN_PROGRESS", None, 1),
        resource("NatEipB", "AWS::EC2::EIP", "CREATE_IN_PROGRESS", None, 1),
        resource(
            "NatEipA",
            "AWS::EC2::EIP",
            "CREATE_FAILED",
            Some(
                "Resource handler returned message: \"The maximum number of addresses has been \
                 reached. (Service: Ec2, Status Code: 400, Request ID: 8f1c0d2e)\" (RequestToken: \
                 3e7a9b10, HandlerErrorCode: ServiceLimitExceeded)",
            ),
            3,
        ),
        resource(
            "NatEipB",
            "AWS::EC2::EIP",
            "CREATE_FAILED",
            Some("Resource creation cancelled"),
            4,
        ),
        resource(
            "FlowLogsRole",
            "AWS::IAM::Role",
            "CREATE_FAILED",
            Some(
                "Resource handler returned message: \"User: arn:aws:sts::111122223333:assumed-role/\
                 ph-installer/i-0abc is not authorized to perform: iam:CreateRole\" \
                 (HandlerErrorCode: AccessDenied)",
            ),
            6,
        ),
        of_stack(
            "ph-shop-network",
            "CREATE_FAILED",
            Some("The following resource(s) failed to create: [FlowLogsRole, NatEipA, NatEipB]. "),
            7,
        ),
    ];
    let cause = root_cause(&events).expect("a resource failed");
    assert_eq!(cause.logical_id, "NatEipA");
    assert!(
        cause
            .reason
            .as_deref()
            .unwrap()
            .contains("maximum number of addresses")
    );
}

#[test]
fn a_cancellation_is_never_the_root_cause_even_when_it_is_the_first_event_seen() {
    // Events read from the middle of an operation: the cancellation comes
    // before the failure in the list and in time.
    let events = [
        resource(
            "DbParameterGroup",
            "AWS::RDS::DBParameterGroup",
            "CREATE_FAILED",
            Some("Resource creation cancelled"),
            7,
        ),
        resource(
            "Db",
            "AWS::RDS::DBInstance",
            "CREATE_FAILED",
            Some(DB_VERSION_REFUSED),
            8,
        ),
    ];
    assert_eq!(
        root_cause(&events).map(|e| e.logical_id.as_str()),
        Some("Db")
    );
}

#[test]
fn an_update_refused_under_disabled_rollback_is_its_own_root_cause() {
    let events = [
        of_stack(
            "ph-shop-rds",
            "UPDATE_IN_PROGRESS",
            Some("User Initiated"),
            0,
        ),
        resource("Db", "AWS::RDS::DBInstance", "UPDATE_IN_PROGRESS", None, 1),
        resource(
            "Db",
            "AWS::RDS::DBInstance",
            "UPDATE_FAILED",
            Some("Replacement type updates not supported on stack with disable-rollback."),
            2,
        ),
        resource(
            "DbAlarm",
            "AWS::CloudWatch::Alarm",
            "UPDATE_FAILED",
            Some("Resource update cancelled"),
            2,
        ),
        of_stack(
            "ph-shop-rds",
            "UPDATE_FAILED",
            Some("The following resource(s) failed to update: [Db, DbAlarm]. "),
            3,
        ),
    ];
    let cause = root_cause(&events).expect("the update failed");
    assert_eq!(cause.logical_id, "Db");
    assert_eq!(cause.status.as_str(), "UPDATE_FAILED");
}

#[test]
fn summaries_and_cancellations_alone_name_no_root_cause() {
    let events = [
        resource(
            "DbParameterGroup",
            "AWS::RDS::DBParameterGroup",
            "CREATE_FAILED",
            Some("Resource creation cancelled"),
            8,
        ),
        of_stack(
            "ph-shop-rds",
            "CREATE_FAILED",
            Some("The following resource(s) failed to create: [DbParameterGroup]. "),
            9,
        ),
    ];
    assert_eq!(root_cause(&events), None);
    assert_eq!(root_cause(&failed_create_events("ph-shop-rds")[..5]), None);
}

#[test]
fn a_create_that_timed_out_is_explained_by_the_stack_not_by_what_it_cancelled() {
    let events = [
        of_stack(
            "ph-shop-rds",
            "CREATE_IN_PROGRESS",
            Some("User Initiated"),
            0,
        ),
        resource("Db", "AWS::RDS::DBInstance", "CREATE_IN_PROGRESS", None, 1),
        resource(
            "Db",
            "AWS::RDS::DBInstance",
            "CREATE_FAILED",
            Some("Resource creation cancelled"),
            1800,
        ),
        of_stack(
            "ph-shop-rds",
            "CREATE_FAILED",
            Some("Stack creation time exceeded the specified timeout"),
            1800,
        ),
    ];
    let cause = root_cause(&events).expect("the stack says why");
    assert!(cause.stack_event);
    assert_eq!(
        cause.reason.as_deref(),
        Some("Stack creation time exceeded the specified timeout")
    );
}

// ---------------------------------------------------------------- events, tokens, state

#[test]
fn the_events_of_one_operation_are_told_apart_by_its_token() {
    let events = [
        EventView {
            token: Some("ph-shop-rds-create-1".into()),
            ..of_stack("ph-shop-rds", "CREATE_COMPLETE", None, 100)
        },
        EventView {
            token: Some("ph-shop-rds-update-2".into()),
            ..of_stack(
                "ph-shop-rds",
                "UPDATE_IN_PROGRESS",
                Some("User Initiated"),
                200,
            )
        },
        EventView {
            token: Some("ph-shop-rds-update-2".into()),
            ..resource(
                "Db",
                "AWS::RDS::DBInstance",
                "UPDATE_IN_PROGRESS",
                None,
                201,
            )
        },
    ];
    let update = Evidence::from_events("rds", "ph-shop-rds-update-2", &events).expect("carried");
    assert_eq!(update.events.len(), 2);
    assert_eq!(update.stack_status(), Some(StackStatus::UpdateInProgress));
    let create = Evidence::from_events("rds", "ph-shop-rds-create-1", &events).expect("carried");
    assert_eq!(create.stack_status(), Some(StackStatus::CreateComplete));
    assert_eq!(
        Evidence::from_events("rds", "ph-shop-rds-delete-3", &events),
        None
    );

    let resources = resources_from_events(&events);
    assert_eq!(
        resources.len(),
        1,
        "the stack's own events are not resources"
    );
    assert_eq!(resources[0].status.as_str(), "UPDATE_IN_PROGRESS");
}

#[test]
fn tokens_and_change_set_names_are_what_cloudformation_accepts_and_never_repeat() {
    let kinds = [
        OperationKind::Create,
        OperationKind::Update,
        OperationKind::RetryUpdate,
        OperationKind::Delete,
        OperationKind::ContinueRollback,
    ];
    let mut tokens = BTreeSet::new();
    for kind in kinds {
        for attempt in [1, 2, 10, 4_000_000_000] {
            let op = Operation::new("abcdefghij-k2345", "network", kind, attempt);
            let token = &op.token;
            assert!(token.len() <= 128, "{token}");
            assert!(
                token.starts_with(|c: char| c.is_ascii_alphanumeric()),
                "{token}"
            );
            assert!(
                token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                "{token}"
            );
            assert!(tokens.insert(token.clone()), "{token} repeats");
            assert_eq!(token_attempt(token), Some(attempt));
            assert_eq!(op.change_set.is_some(), kind.uses_change_set());
            if let Some(name) = &op.change_set {
                assert!(name.len() <= 128, "{name}");
                assert!(
                    name.starts_with(|c: char| c.is_ascii_alphabetic()),
                    "{name}"
                );
                assert!(
                    name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                    "{name}"
                );
            }
        }
    }
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct StateFile {
    operation: Vec<Operation>,
}

#[test]
fn saved_operations_read_back_from_the_state_file_as_they_were_written() {
    let state = StateFile {
        operation: vec![
            op("network", OperationKind::Create, 1).sent(),
            op("network", OperationKind::Delete, 2).with_resources(vec!["FlowLogsBucket".into()]),
            op("rds", OperationKind::Update, 1),
            op("app", OperationKind::Update, 3).unchanged(),
        ],
    };
    let text = toml::to_string_pretty(&state).expect("serializes");
    assert!(
        text.contains("token = \"ph-shop-network-create-1\""),
        "{text}"
    );
    assert!(text.contains("stage = \"sent\""), "{text}");
    let back: StateFile = toml::from_str(&text).expect("reads back");
    assert_eq!(back, state);
}
