use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::*;
use crate::core::stack::{ResourceStatus, StackStatus};

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
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

fn op(stack: &str, kind: OperationKind, attempt: u32) -> Operation {
    Operation::new("shop", stack, kind, attempt)
}

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
