//! The IAM action of every call the ports make, written once for both
//! adapters: an `AccessDenied` names the action exactly as a policy line
//! grants it, and the sandbox's fault script names calls the same way.

pub const DESCRIBE_REGIONS: &str = "ec2:DescribeRegions";
pub const DESCRIBE_AVAILABILITY_ZONES: &str = "ec2:DescribeAvailabilityZones";
pub const DESCRIBE_INSTANCE_TYPE_OFFERINGS: &str = "ec2:DescribeInstanceTypeOfferings";
pub const GET_CALLER_IDENTITY: &str = "sts:GetCallerIdentity";
pub const LIST_CERTIFICATES: &str = "acm:ListCertificates";
pub const DESCRIBE_CERTIFICATE: &str = "acm:DescribeCertificate";
pub const REQUEST_CERTIFICATE: &str = "acm:RequestCertificate";
pub const LIST_HOSTED_ZONES_BY_NAME: &str = "route53:ListHostedZonesByName";
pub const LIST_RESOURCE_RECORD_SETS: &str = "route53:ListResourceRecordSets";
pub const CHANGE_RESOURCE_RECORD_SETS: &str = "route53:ChangeResourceRecordSets";
pub const GET_CHANGE: &str = "route53:GetChange";
pub const DESCRIBE_STACKS: &str = "cloudformation:DescribeStacks";
pub const CREATE_CHANGE_SET: &str = "cloudformation:CreateChangeSet";
pub const DESCRIBE_CHANGE_SET: &str = "cloudformation:DescribeChangeSet";
pub const DELETE_CHANGE_SET: &str = "cloudformation:DeleteChangeSet";
pub const EXECUTE_CHANGE_SET: &str = "cloudformation:ExecuteChangeSet";
pub const UPDATE_STACK: &str = "cloudformation:UpdateStack";
pub const CANCEL_UPDATE_STACK: &str = "cloudformation:CancelUpdateStack";
pub const DESCRIBE_STACK_EVENTS: &str = "cloudformation:DescribeStackEvents";
pub const CONTINUE_UPDATE_ROLLBACK: &str = "cloudformation:ContinueUpdateRollback";
pub const ROLLBACK_STACK: &str = "cloudformation:RollbackStack";
pub const DELETE_STACK: &str = "cloudformation:DeleteStack";
pub const UPDATE_TERMINATION_PROTECTION: &str = "cloudformation:UpdateTerminationProtection";
pub const DESCRIBE_INSTANCES: &str = "ec2:DescribeInstances";
pub const MODIFY_INSTANCE_METADATA_OPTIONS: &str = "ec2:ModifyInstanceMetadataOptions";
pub const GET_PARAMETER: &str = "ssm:GetParameter";
pub const DESCRIBE_ORDERABLE_DB_INSTANCE_OPTIONS: &str = "rds:DescribeOrderableDBInstanceOptions";
pub const LIST_INSTANCE_TYPE_DETAILS: &str = "es:ListInstanceTypeDetails";
pub const DESCRIBE_RESERVED_CACHE_NODES_OFFERINGS: &str =
    "elasticache:DescribeReservedCacheNodesOfferings";
pub const DESCRIBE_ADDON_VERSIONS: &str = "eks:DescribeAddonVersions";
pub const DESCRIBE_ADDON_CONFIGURATION: &str = "eks:DescribeAddonConfiguration";
pub const CREATE_SERVICE_LINKED_ROLE: &str = "iam:CreateServiceLinkedRole";
pub const LIST_ACCESS_KEYS: &str = "iam:ListAccessKeys";
pub const CREATE_ACCESS_KEY: &str = "iam:CreateAccessKey";
pub const DELETE_ACCESS_KEY: &str = "iam:DeleteAccessKey";
/// S3 Control's GetPublicAccessBlock, for the account (not a bucket).
pub const GET_ACCOUNT_PUBLIC_ACCESS_BLOCK: &str = "s3:GetAccountPublicAccessBlock";

/// Every action above.
pub const ALL: &[&str] = &[
    DESCRIBE_REGIONS,
    DESCRIBE_AVAILABILITY_ZONES,
    DESCRIBE_INSTANCE_TYPE_OFFERINGS,
    GET_CALLER_IDENTITY,
    LIST_CERTIFICATES,
    DESCRIBE_CERTIFICATE,
    REQUEST_CERTIFICATE,
    LIST_HOSTED_ZONES_BY_NAME,
    LIST_RESOURCE_RECORD_SETS,
    CHANGE_RESOURCE_RECORD_SETS,
    GET_CHANGE,
    DESCRIBE_STACKS,
    CREATE_CHANGE_SET,
    DESCRIBE_CHANGE_SET,
    DELETE_CHANGE_SET,
    EXECUTE_CHANGE_SET,
    UPDATE_STACK,
    CANCEL_UPDATE_STACK,
    DESCRIBE_STACK_EVENTS,
    CONTINUE_UPDATE_ROLLBACK,
    ROLLBACK_STACK,
    DELETE_STACK,
    UPDATE_TERMINATION_PROTECTION,
    DESCRIBE_INSTANCES,
    MODIFY_INSTANCE_METADATA_OPTIONS,
    GET_PARAMETER,
    DESCRIBE_ORDERABLE_DB_INSTANCE_OPTIONS,
    LIST_INSTANCE_TYPE_DETAILS,
    DESCRIBE_RESERVED_CACHE_NODES_OFFERINGS,
    DESCRIBE_ADDON_VERSIONS,
    DESCRIBE_ADDON_CONFIGURATION,
    CREATE_SERVICE_LINKED_ROLE,
    LIST_ACCESS_KEYS,
    CREATE_ACCESS_KEY,
    DELETE_ACCESS_KEY,
    GET_ACCOUNT_PUBLIC_ACCESS_BLOCK,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_written_as_a_policy_line_grants_it() {
        let services = [
            "ec2",
            "sts",
            "acm",
            "route53",
            "cloudformation",
            "ssm",
            "iam",
            "s3",
            "rds",
            "es",
            "elasticache",
            "eks",
        ];
        for a in ALL {
            let (service, call) = a.split_once(':').expect("service:Action");
            assert!(services.contains(&service), "{a}");
            assert!(
                call.starts_with(|c: char| c.is_ascii_uppercase())
                    && call.chars().all(|c| c.is_ascii_alphanumeric()),
                "{a}"
            );
        }
        let mut unique = ALL.to_vec();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ALL.len());
    }

    #[test]
    fn no_adapter_names_an_action_outside_this_list() {
        // Both adapters write actions through these constants only: a quoted
        // "service:Action" anywhere else in them is a second spelling.
        let sources = [
            include_str!("aws/account.rs"),
            include_str!("aws/certificates.rs"),
            include_str!("aws/dns.rs"),
            include_str!("aws/iam.rs"),
            include_str!("aws/instances.rs"),
            include_str!("aws/mod.rs"),
            include_str!("aws/offerings.rs"),
            include_str!("aws/regions.rs"),
            include_str!("aws/stacks.rs"),
            include_str!("sandbox/ports.rs"),
            include_str!("sandbox/state.rs"),
            include_str!("sandbox/mod.rs"),
        ];
        for src in sources {
            for prefix in [
                "\"ec2:",
                "\"sts:",
                "\"acm:",
                "\"route53:",
                "\"cloudformation:",
                "\"ssm:",
                "\"iam:",
                "\"s3:",
                "\"rds:",
                "\"es:",
                "\"elasticache:",
                "\"eks:",
            ] {
                assert!(
                    !src.contains(prefix),
                    "a literal {prefix}...\" is left in an adapter"
                );
            }
        }
    }
}
