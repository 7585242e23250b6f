//! Account-wide settings the install depends on, and the judgements on them:
//! S3 Block Public Access against the media bucket's public prefix, and the
//! service-linked roles no service creates for itself.

use serde::{Deserialize, Serialize};

use super::doctor::Check;

/// S3 Block Public Access, as set for the whole account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    /// New bucket policies that grant public access are refused.
    pub block_public_policy: bool,
    /// Public access granted by a bucket policy is limited to AWS services
    /// and the account's own principals.
    pub restrict_public_buckets: bool,
}

/// The service-linked roles the installer creates before the stacks, with
/// why. Every other service the stacks use (RDS, ElastiCache, MSK, EKS and its
/// node groups, Auto Scaling, Elastic Load Balancing) creates its own role
/// the first time CloudFormation creates one of its resources, given
/// `iam:CreateServiceLinkedRole`; OpenSearch Service does not, and a domain in
/// a VPC fails without it ("Before you can proceed, you must enable a
/// service-linked role to give Amazon OpenSearch Service permissions to
/// access your VPC").
pub const SERVICE_LINKED_ROLES: &[&str] = &["opensearchservice.amazonaws.com"];

/// The media bucket's prefix that the guide makes public (section 9.2).
pub const PUBLIC_PREFIX: &str = "public/";

/// Whether the account's Block Public Access lets the media bucket's policy
/// make `public/` readable, and what to do when it does not.
pub fn public_access(block: Option<&PublicAccessBlock>, account: &str) -> Check {
    const ID: &str = "s3-public";
    let Some(b) = block.filter(|b| b.block_public_policy || b.restrict_public_buckets) else {
        let summary = format!(
            "S3 Block Public Access of account {account} leaves bucket policies to each bucket: \
             the media bucket can make {PUBLIC_PREFIX} readable, and only that."
        );
        return Check::pass(ID, summary).detail(
            "The media bucket blocks public ACLs itself; its policy grants public read on \
             public/* alone (deployment guide 9.2).",
        );
    };
    let (effect, setting) = if b.block_public_policy {
        (
            "S3 would refuse the media bucket's policy and the storage stack would fail",
            "BlockPublicPolicy",
        )
    } else {
        (
            "the media bucket would be created but nothing under public/ could be read from \
             outside the account",
            "RestrictPublicBuckets",
        )
    };
    let summary = format!("Account {account} has S3 Block Public Access {setting} on: {effect}.");
    let fix = format!(
        "The guide serves the media bucket's {PUBLIC_PREFIX} prefix to browsers. If your \
         security team agrees, keep the ACL blocks and allow bucket policies for the account: \
         `aws s3control put-public-access-block --account-id {account} \
         --public-access-block-configuration \
         BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=false,RestrictPublicBuckets=false`. \
         An organization policy may hold it on; then its administrators decide. Run doctor \
         again afterwards."
    );
    Check::fail(ID, summary, fix).detail(format!(
        "Account settings: BlockPublicAcls={}, IgnorePublicAcls={}, BlockPublicPolicy={}, \
             RestrictPublicBuckets={}.",
        b.block_public_acls, b.ignore_public_acls, b.block_public_policy, b.restrict_public_buckets
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::doctor::CheckStatus;

    fn block(policy: bool, restrict: bool) -> PublicAccessBlock {
        PublicAccessBlock {
            block_public_acls: true,
            ignore_public_acls: true,
            block_public_policy: policy,
            restrict_public_buckets: restrict,
        }
    }

    #[test]
    fn an_account_without_block_public_access_lets_the_public_prefix_be_served() {
        let c = public_access(None, "111122223333");
        assert_eq!(c.status, CheckStatus::Pass, "{c:?}");
        assert!(c.summary.contains("public/"), "{}", c.summary);
        let acls_only = block(false, false);
        assert_eq!(
            public_access(Some(&acls_only), "1").status,
            CheckStatus::Pass
        );
    }

    #[test]
    fn blocked_public_policies_fail_naming_the_setting_and_the_command_that_allows_them() {
        let c = public_access(Some(&block(true, true)), "111122223333");
        assert_eq!(c.status, CheckStatus::Fail);
        assert!(c.summary.contains("BlockPublicPolicy"), "{}", c.summary);
        assert!(
            c.summary.contains("storage stack would fail"),
            "{}",
            c.summary
        );
        let fix = c.fix.unwrap();
        assert!(
            fix.contains("--account-id 111122223333")
                && fix.contains("BlockPublicAcls=true,IgnorePublicAcls=true"),
            "{fix}"
        );
    }

    #[test]
    fn restricted_public_buckets_alone_say_the_prefix_would_not_be_readable() {
        let c = public_access(Some(&block(false, true)), "1");
        assert_eq!(c.status, CheckStatus::Fail);
        assert!(c.summary.contains("RestrictPublicBuckets"), "{}", c.summary);
        assert!(c.summary.contains("could be read"), "{}", c.summary);
    }
}
