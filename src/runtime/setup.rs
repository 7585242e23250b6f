//! Account setup the stacks rely on but cannot do themselves: run after the
//! operator confirms the review, before the first stack.

use super::retry::{Backoff, patiently};
use crate::clock::Clock;
use crate::cloud::types::ServiceRoleOutcome;
use crate::cloud::{Cloud, CloudResult};
use crate::core::account::SERVICE_LINKED_ROLES;

/// Creates each service-linked role of [`SERVICE_LINKED_ROLES`] the account
/// does not have yet; one it has is left as it is. Returns what happened to
/// each, in order.
pub async fn service_linked_roles(
    cloud: &Cloud,
    clock: &dyn Clock,
) -> CloudResult<Vec<(&'static str, ServiceRoleOutcome)>> {
    let mut done = Vec::new();
    for service in SERVICE_LINKED_ROLES {
        let outcome = patiently(clock, Backoff::default(), || {
            cloud.account.create_service_linked_role(service)
        })
        .await?;
        tracing::info!(service, ?outcome, "service-linked role");
        done.push((*service, outcome));
    }
    Ok(done)
}
