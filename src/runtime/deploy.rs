//! The deploy driver's eyes: what CloudFormation has of the plan's stacks,
//! and the events that carry the saved operations' tokens, in the shapes
//! `core::deploy::reconcile` judges. (The loop that acts on its answer is
//! the next part of the driver.)

use crate::clock::Clock;
use crate::cloud::{Cloud, CloudResult};
use crate::core::deploy::{
    EventView, Evidence, Observed, Operation, Plan, Stage, resources_from_events,
};
use crate::runtime::retry::{Backoff, patiently};

/// What the account shows of the plan's stacks (a stack it does not have
/// is left out: absent), and the evidence of every sent operation.
pub async fn observe(
    cloud: &Cloud,
    clock: &dyn Clock,
    plan: &Plan,
    saved: &[Operation],
) -> CloudResult<(Vec<Observed>, Vec<Evidence>)> {
    let mut observed = Vec::new();
    let mut evidence = Vec::new();
    for planned in &plan.stacks {
        let Some(stack) = patiently(clock, Backoff::default(), || {
            cloud.stacks.describe_stack(&planned.stack_name)
        })
        .await?
        else {
            continue;
        };
        let events: Vec<EventView> = patiently(clock, Backoff::default(), || {
            cloud.stacks.stack_events(&planned.stack_name, None)
        })
        .await?
        .iter()
        .map(EventView::from)
        .collect();
        for op in saved
            .iter()
            .filter(|o| o.stack == planned.name && o.stage == Stage::Sent)
        {
            evidence.extend(Evidence::from_events(&planned.name, &op.token, &events));
        }
        observed.push(Observed {
            stack: planned.name.clone(),
            status: stack.status,
            status_reason: stack.status_reason.clone(),
            disable_rollback: stack.disable_rollback,
            resources: resources_from_events(&events),
        });
    }
    Ok((observed, evidence))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::clock::ManualClock;
    use crate::cloud::sandbox::SandboxAccount;
    use crate::cloud::sandbox::faults::{FaultScript, Lag};
    use crate::cloud::types::{ChangeSetKind, ChangeSetRequest, ExecuteRequest, Tag};
    use crate::core::blueprint::Blueprint;
    use crate::core::deploy::{Action, OperationKind, reconcile};
    use crate::core::stack::StackStatus;

    const VPC: &str = r#"{"Resources": {"Vpc": {"Type": "AWS::EC2::VPC",
        "Properties": {"CidrBlock": "10.1.0.0/16"}}}}"#;

    struct Fixture {
        _dir: tempfile::TempDir,
        clock: Arc<ManualClock>,
        cloud: Cloud,
        plan: Plan,
    }

    fn fixture(faults: FaultScript) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let (clock, account) = SandboxAccount::on_manual_clock(dir.path(), faults);
        let cloud = account.cloud("eu-west-1".parse().unwrap());
        let bp = Blueprint::embedded().unwrap();
        let plan = Plan::new(&bp.manifest, "shop", true).unwrap();
        Fixture {
            _dir: dir,
            clock,
            cloud,
            plan,
        }
    }

    /// Creates the network stack from a one-VPC template through a change
    /// set executed with the operation's token; the sent operation.
    async fn start_network(f: &Fixture) -> Operation {
        let op = Operation::new("shop", "network", OperationKind::Create, 1);
        let change_set = op.change_set.clone().unwrap();
        f.cloud
            .stacks
            .create_change_set(&ChangeSetRequest {
                stack_name: "ph-shop-network".into(),
                change_set_name: change_set.clone(),
                kind: ChangeSetKind::Create,
                template_body: VPC.into(),
                parameters: vec![],
                tags: vec![Tag::new("ph:install", "shop")],
                capabilities: vec![],
                on_stack_failure: None,
                client_token: None,
                description: None,
            })
            .await
            .unwrap();
        f.clock.advance(Duration::from_secs(30));
        let sent = op.sent();
        f.cloud
            .stacks
            .execute_change_set(&ExecuteRequest {
                stack_name: "ph-shop-network".into(),
                change_set_name: change_set,
                disable_rollback: Some(true),
                client_request_token: sent.token.clone(),
            })
            .await
            .unwrap();
        f.clock.advance(Duration::from_secs(1));
        sent
    }

    async fn judge(f: &Fixture, saved: &[Operation]) -> (Vec<Observed>, Action) {
        let (seen, evidence) = observe(&f.cloud, f.clock.as_ref(), &f.plan, saved)
            .await
            .unwrap();
        let actions = reconcile(&f.plan, &seen, saved, &evidence);
        let network = actions.into_iter().find(|(s, _)| s == "network").unwrap().1;
        (seen, network)
    }

    fn attaches_to(a: &Action, token: &str) -> bool {
        matches!(a, Action::Attach { token: t } if t.as_deref() == Some(token))
    }

    #[tokio::test]
    async fn a_sent_create_is_seen_by_its_token_and_then_as_complete() {
        let f = fixture(FaultScript::default());
        let (seen, _) = judge(&f, &[]).await;
        assert!(seen.is_empty(), "nothing exists yet: {seen:?}");
        let sent = start_network(&f).await;
        let saved = [sent.clone()];
        let (seen, network) = judge(&f, &saved).await;
        assert_eq!(seen.len(), 1);
        assert!(seen[0].disable_rollback);
        assert!(attaches_to(&network, &sent.token), "{network:?}");

        f.clock.advance(Duration::from_secs(600));
        let (seen, network) = judge(&f, &saved).await;
        assert_eq!(seen[0].status, StackStatus::CreateComplete);
        assert!(seen[0].resources.iter().any(|r| r.logical_id == "Vpc"));
        assert_eq!(network, Action::Skip, "a complete stack is skipped");
    }

    #[tokio::test]
    async fn a_describe_that_lags_behind_the_execute_does_not_decide() {
        let f = fixture(FaultScript {
            lag: Some(Lag { seconds: 120 }),
            ..FaultScript::default()
        });
        let sent = start_network(&f).await;
        let (seen, network) = judge(&f, std::slice::from_ref(&sent)).await;
        // DescribeStacks still shows the stack as the change set left it...
        assert_eq!(seen[0].status, StackStatus::ReviewInProgress, "{seen:?}");
        // ...and the events of the execute's token decide.
        assert!(attaches_to(&network, &sent.token), "{network:?}");
    }
}
