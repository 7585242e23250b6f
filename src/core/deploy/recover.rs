//! The install rebuilt from what CloudFormation has, when the state file is
//! lost: the stacks of the plan that carry the install's tag, and for each
//! the last operation its events' tokens name, so the next one counts on
//! from it and no token is ever used twice.

use super::{Operation, OperationKind, Plan, client_request_token};

/// A stack as ListStacks and its events show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundStack {
    pub stack_name: String,
    pub id: String,
    /// The `ph:install` tag's value.
    pub install: Option<String>,
    /// The ClientRequestTokens its events carry.
    pub tokens: Vec<String>,
}

/// What was rebuilt: (manifest name, stack id) of every stack of the
/// install, and the last operation of each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    pub stacks: Vec<(String, String)>,
    pub operations: Vec<Operation>,
    /// Stacks with a planned name that belong to another install (or none):
    /// never taken over.
    pub foreign: Vec<String>,
}

const KINDS: [OperationKind; 5] = [
    OperationKind::Create,
    OperationKind::Update,
    OperationKind::RetryUpdate,
    OperationKind::Delete,
    OperationKind::ContinueRollback,
];

/// The operation `token` names for `stack` of `install`, if it is one of
/// this installer's tokens.
fn parse(install: &str, stack: &str, token: &str) -> Option<(OperationKind, u32)> {
    let attempt = super::token_attempt(token)?;
    KINDS
        .into_iter()
        .find(|k| client_request_token(install, stack, *k, attempt) == token)
        .map(|k| (k, attempt))
}

pub fn recover(plan: &Plan, found: &[FoundStack]) -> Recovered {
    let mut out = Recovered::default();
    for planned in &plan.stacks {
        let Some(f) = found.iter().find(|f| f.stack_name == planned.stack_name) else {
            continue;
        };
        if f.install.as_deref() != Some(plan.install_name.as_str()) {
            out.foreign.push(f.stack_name.clone());
            continue;
        }
        out.stacks.push((planned.name.clone(), f.id.clone()));
        let last = f
            .tokens
            .iter()
            .filter_map(|t| parse(&plan.install_name, &planned.name, t))
            .max_by_key(|(_, attempt)| *attempt);
        if let Some((kind, attempt)) = last {
            out.operations
                .push(Operation::new(&plan.install_name, &planned.name, kind, attempt).sent());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::blueprint::Blueprint;

    fn plan() -> Plan {
        let bp = Blueprint::embedded().unwrap();
        Plan::new(&bp.manifest, "shop", false).unwrap()
    }

    fn found(name: &str, install: Option<&str>, tokens: &[&str]) -> FoundStack {
        FoundStack {
            stack_name: name.into(),
            id: format!("arn:aws:cloudformation:eu-west-1:1:stack/{name}/x"),
            install: install.map(str::to_string),
            tokens: tokens.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn the_last_operation_of_each_stack_is_rebuilt_from_its_tokens() {
        let r = recover(
            &plan(),
            &[
                found(
                    "ph-shop-network",
                    Some("shop"),
                    &["ph-shop-network-create-1", "ph-shop-network-update-2"],
                ),
                found("ph-shop-security", Some("shop"), &["someone-elses-token"]),
            ],
        );
        assert_eq!(r.stacks.len(), 2);
        assert_eq!(r.operations.len(), 1, "{:?}", r.operations);
        let op = &r.operations[0];
        assert_eq!(
            (op.stack.as_str(), op.kind, op.attempt),
            ("network", OperationKind::Update, 2)
        );
        assert_eq!(op.token, "ph-shop-network-update-2");
    }

    #[test]
    fn a_stack_of_another_install_with_a_planned_name_is_never_taken_over() {
        let r = recover(
            &plan(),
            &[
                found("ph-shop-network", Some("shop2"), &[]),
                found("ph-shop-rds", None, &[]),
            ],
        );
        assert!(r.stacks.is_empty());
        assert_eq!(r.foreign, ["ph-shop-network", "ph-shop-rds"]);
    }

    #[test]
    fn a_token_of_another_stack_or_install_is_not_taken_for_this_one() {
        let r = recover(
            &plan(),
            &[found(
                "ph-shop-network",
                Some("shop"),
                &["ph-shop-rds-create-7", "ph-shopx-network-create-9"],
            )],
        );
        assert!(r.operations.is_empty(), "{:?}", r.operations);
    }
}
