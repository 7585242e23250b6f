//! Account-wide settings: IAM service-linked roles, S3 Block Public Access.

use async_trait::async_trait;
use aws_sdk_s3control::config::endpoint::{Endpoint, EndpointFuture, Params, ResolveEndpoint};

use super::AwsPorts;
use super::error::map_sdk_error;
use crate::cloud::actions;
use crate::cloud::types::{PublicAccessBlock, ServiceRoleOutcome};
use crate::cloud::{AccountSettings, CloudError, CloudResult};

/// IAM's answer when the service already has its role: InvalidInput "Service
/// role name AWSServiceRoleFor... has been taken in this account, please try
/// a different suffix." (an emulator may say EntityAlreadyExists).
fn already_exists(e: &CloudError) -> bool {
    match e {
        CloudError::InvalidInput { message, .. } => message.contains("has been taken"),
        CloudError::Other { code, message, .. } => {
            code == "EntityAlreadyExists" || message.contains("has been taken")
        }
        _ => false,
    }
}

#[async_trait]
impl AccountSettings for AwsPorts {
    async fn create_service_linked_role(&self, service: &str) -> CloudResult<ServiceRoleOutcome> {
        let result = self
            .iam
            .create_service_linked_role()
            .aws_service_name(service)
            .description("Created by ph-installer for the PersonalisationHub install")
            .send()
            .await
            .map_err(|e| map_sdk_error(actions::CREATE_SERVICE_LINKED_ROLE, "IAM", e));
        match result {
            Ok(_) => Ok(ServiceRoleOutcome::Created),
            Err(e) if already_exists(&e) => Ok(ServiceRoleOutcome::AlreadyExisted),
            Err(e) => Err(e),
        }
    }

    async fn public_access_block(
        &self,
        account_id: &str,
    ) -> CloudResult<Option<PublicAccessBlock>> {
        let result = self
            .s3control
            .get_public_access_block()
            .account_id(account_id)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out
                .public_access_block_configuration()
                .map(|c| PublicAccessBlock {
                    block_public_acls: c.block_public_acls().unwrap_or(false),
                    ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
                    block_public_policy: c.block_public_policy().unwrap_or(false),
                    restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
                })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_public_access_block_configuration()) =>
            {
                Ok(None)
            }
            Err(e) => Err(map_sdk_error(
                actions::GET_ACCOUNT_PUBLIC_ACCESS_BLOCK,
                "S3 Control",
                e,
            )),
        }
    }
}

/// S3 Control puts the account ID in front of the host
/// (`<account>.s3-control.<region>.amazonaws.com`). An endpoint override
/// (an emulator, a proxy) serves it on its own host, the account in the
/// `x-amz-account-id` header, so the override is used as given.
#[derive(Debug)]
pub struct EndpointAsGiven(pub String);

impl ResolveEndpoint for EndpointAsGiven {
    fn resolve_endpoint<'a>(&'a self, _params: &'a Params) -> EndpointFuture<'a> {
        EndpointFuture::ready(Ok(Endpoint::builder().url(self.0.clone()).build()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_iam_says_is_taken_counts_as_already_there() {
        let taken = CloudError::invalid(
            actions::CREATE_SERVICE_LINKED_ROLE,
            "Service role name AWSServiceRoleForAmazonOpenSearchService has been taken in this \
             account, please try a different suffix.",
        );
        assert!(already_exists(&taken));
        let other = CloudError::invalid(
            actions::CREATE_SERVICE_LINKED_ROLE,
            "Cannot find Service Linked Role template for x.amazonaws.com",
        );
        assert!(!already_exists(&other));
    }
}
