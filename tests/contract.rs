//! The port contract: what each port promises, written once and run
//! against both accounts, the sandbox and the AWS adapters on moto. A test
//! that moto cannot run (it lacks the call, or behaves unlike AWS) runs on
//! the sandbox only, is listed in [`SANDBOX_ONLY`] with the reason, and the
//! README's table says the same; nothing is skipped silently.

mod support;

use std::time::{Duration, SystemTime};

use ph_installer::cloud::types::*;
use ph_installer::cloud::{Cloud, CloudError};
use ph_installer::core::region::OptInStatus;
use ph_installer::core::stack::StackStatus;
use support::accounts::{Backend, TestAccount};

/// Contract tests run on the sandbox only, and why moto cannot run them.
const SANDBOX_ONLY: &[(&str, &str)] = &[
    (
        "offerings_each_service_says_which_types_it_sells_here",
        "moto's RDS lists orderable options for aurora-postgresql and neptune only, and moto \
         has no OpenSearch ListInstanceTypeDetails or ElastiCache \
         DescribeReservedCacheNodesOfferings or EKS DescribeAddonVersions",
    ),
    (
        "stacks_a_failed_resource_leaves_create_failed_and_an_update_retries_it",
        "moto's CloudFormation never fails a resource",
    ),
    (
        "stacks_a_missing_stack_is_not_found_by_the_calls_moto_lacks",
        "moto does not implement ContinueUpdateRollback, RollbackStack, \
         UpdateTerminationProtection or CancelUpdateStack, and fails ExecuteChangeSet on a \
         missing stack (HTTP 500)",
    ),
    (
        "stacks_a_stack_in_review_does_not_exist_for_updates",
        "moto updates a stack still in REVIEW_IN_PROGRESS instead of refusing it",
    ),
    (
        "stacks_a_template_that_does_not_parse_is_invalid_input",
        "moto answers a template it cannot parse with HTTP 500",
    ),
    (
        "stacks_a_missing_capability_is_invalid_input",
        "moto creates IAM resources without the acknowledged capabilities",
    ),
    (
        "stacks_an_update_that_changes_nothing_is_refused",
        "moto accepts an UpdateStack that changes nothing",
    ),
    (
        "stacks_a_token_belongs_to_one_operation",
        "moto does not check ClientRequestToken",
    ),
    (
        "stacks_executing_a_change_set_deletes_the_others",
        "moto keeps a stack's other change sets after one is executed",
    ),
    (
        "stacks_events_carry_the_operations_token_and_empty_physical_ids",
        "moto sends two stack-level events without resource events or tokens",
    ),
    (
        "instances_a_dry_run_changes_nothing",
        "moto ignores DryRun on ModifyInstanceMetadataOptions and applies the change",
    ),
    (
        "dns_a_change_goes_pending_then_in_sync",
        "moto reports every change INSYNC at once",
    ),
    (
        "dns_an_unknown_change_is_not_found",
        "moto answers GetChange for any id, INSYNC",
    ),
];

/// A contract test on both accounts.
macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn on_the_sandbox() {
                super::$name(super::TestAccount::open(super::Backend::Sandbox)).await
            }
            #[tokio::test]
            async fn on_moto() {
                super::$name(super::TestAccount::open(super::Backend::Moto)).await
            }
        }
    )*};
}

/// A contract test moto cannot run; [`SANDBOX_ONLY`] says why.
macro_rules! sandbox_only {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn on_the_sandbox() {
                super::$name(super::TestAccount::open(super::Backend::Sandbox)).await
            }
            #[test]
            fn says_why_moto_cannot_run_it() {
                assert!(
                    super::SANDBOX_ONLY.iter().any(|(n, _)| *n == stringify!($name)),
                    "{} runs on the sandbox only but SANDBOX_ONLY does not say why",
                    stringify!($name)
                );
            }
        }
    )*};
}

#[test]
fn the_readme_lists_every_sandbox_only_contract_test_with_its_reason() {
    let readme = include_str!("../README.md");
    let start = readme
        .find("| contract test | why it runs on the sandbox only |")
        .expect("the README has the sandbox-only table");
    let rows: Vec<(String, String)> = readme[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            (cells[0].trim_matches('`').to_string(), cells[1].to_string())
        })
        .collect();
    let mut want: Vec<(String, String)> = SANDBOX_ONLY
        .iter()
        .map(|(n, w)| {
            (
                n.to_string(),
                w.split_whitespace().collect::<Vec<_>>().join(" "),
            )
        })
        .collect();
    let mut got = rows;
    want.sort();
    got.sort();
    assert_eq!(got, want, "README table and SANDBOX_ONLY differ");
}

fn is<T: std::fmt::Debug>(r: &Result<T, CloudError>, kind: &str) -> bool {
    let k = match r {
        Ok(_) => "ok",
        Err(CloudError::NotFound { .. }) => "not found",
        Err(CloudError::InvalidInput { .. }) => "invalid",
        Err(CloudError::AccessDenied { .. }) => "denied",
        Err(CloudError::Unavailable { .. }) => "unavailable",
        Err(_) => "other",
    };
    k == kind
}

macro_rules! assert_kind {
    ($r:expr, $kind:expr) => {{
        let r = $r;
        assert!(is(&r, $kind), "expected {}, got {:?}", $kind, r);
    }};
}

// ---------------------------------------------------------------- regions

both!(
    regions_are_the_commercial_ones_with_their_opt_in_status,
    regions_zones_are_those_of_the_region_asked_for,
    regions_offerings_keep_only_the_offered_types,
);

async fn regions_are_the_commercial_ones_with_their_opt_in_status(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    let regions = cloud.regions.list_regions().await.unwrap();
    assert!(regions.len() >= 17, "{regions:?}");
    for r in &regions {
        let code = r.code.as_str();
        assert!(
            !code.starts_with("cn-") && !code.starts_with("us-gov-") && !code.contains("-iso"),
            "{code} is not commercial but was listed"
        );
    }
    let east = regions
        .iter()
        .find(|r| r.code.as_str() == "us-east-1")
        .unwrap();
    assert_eq!(east.opt_in, OptInStatus::OptInNotRequired);
}

async fn regions_zones_are_those_of_the_region_asked_for(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    let zones = cloud
        .regions
        .availability_zones(&"us-west-1".parse().unwrap())
        .await
        .unwrap();
    assert!(zones.len() >= 2, "{zones:?}");
    for z in &zones {
        assert!(z.name.starts_with("us-west-1"), "{z:?}");
        assert!(z.zone_id.starts_with("usw1-az"), "{z:?}");
        assert_eq!(z.state, "available");
    }
}

async fn regions_offerings_keep_only_the_offered_types(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    let asked = vec![
        "t3.micro".to_string(),
        "m5.large".into(),
        "zz9.imaginary".into(),
    ];
    let offered = cloud
        .regions
        .instance_type_offerings(&"us-east-1".parse().unwrap(), &asked)
        .await
        .unwrap();
    assert_eq!(offered, vec!["t3.micro".to_string(), "m5.large".into()]);
}

// ---------------------------------------------------------------- identity

both!(identity_names_a_12_digit_account_and_aws_tells_the_time);

async fn identity_names_a_12_digit_account_and_aws_tells_the_time(a: TestAccount) {
    let cloud = a.cloud("eu-west-1").await;
    let me = cloud.identity.caller_identity().await.unwrap();
    assert_eq!(me.account.len(), 12, "{me:?}");
    assert!(me.account.chars().all(|c| c.is_ascii_digit()), "{me:?}");
    assert!(me.arn.starts_with("arn:aws:"), "{me:?}");
    assert!(me.arn.contains(&me.account), "{me:?}");
    let server = cloud.identity.server_time().await.unwrap();
    let skew = match server.duration_since(SystemTime::now()) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    assert!(skew < Duration::from_secs(60), "skew {skew:?}");
}

// ---------------------------------------------------------------- account settings

both!(
    account_a_service_linked_role_is_created_once_then_found_there,
    account_block_public_access_reads_none_until_an_administrator_sets_it,
);

async fn account_a_service_linked_role_is_created_once_then_found_there(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    let service = "opensearchservice.amazonaws.com";
    let first = cloud.account.create_service_linked_role(service).await;
    assert_eq!(first.unwrap(), ServiceRoleOutcome::Created);
    let again = cloud.account.create_service_linked_role(service).await;
    assert_eq!(again.unwrap(), ServiceRoleOutcome::AlreadyExisted);
    // The role is the account's, not the region's.
    let elsewhere = a.cloud("eu-west-1").await;
    let there = elsewhere.account.create_service_linked_role(service).await;
    assert_eq!(there.unwrap(), ServiceRoleOutcome::AlreadyExisted);
}

async fn account_block_public_access_reads_none_until_an_administrator_sets_it(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    let me = cloud.identity.caller_identity().await.unwrap().account;
    assert_eq!(cloud.account.public_access_block(&me).await.unwrap(), None);
    let all = PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: false,
    };
    a.block_public_access(all).await;
    assert_eq!(
        cloud.account.public_access_block(&me).await.unwrap(),
        Some(all)
    );
}

// ---------------------------------------------------------------- iam

both!(
    iam_an_access_key_is_created_listed_and_deleted,
    iam_a_third_access_key_is_refused_with_the_limit,
    iam_an_unknown_user_is_not_found,
);

async fn iam_an_access_key_is_created_listed_and_deleted(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    let iam = &cloud.iam;
    let user = a.provisioning_user().await;
    let none = iam.list_access_keys(&user).await.unwrap();
    assert!(none.is_empty(), "{none:?}");

    let key = iam.create_access_key(&user).await.unwrap();
    assert!(
        key.id.len() == 20
            && key.id.starts_with("AKIA")
            && key
                .id
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()),
        "{key:?}"
    );
    assert_eq!(key.secret.expose().len(), 40, "{key:?}");
    assert!(!format!("{key:?}").contains(key.secret.expose()), "{key:?}");
    let listed = iam.list_access_keys(&user).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].id, key.id);
    assert_eq!(listed[0].status, AccessKeyStatus::Active);
    let created = listed[0].created.expect("IAM reports CreateDate");
    let skew = match created.duration_since(SystemTime::now()) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    assert!(skew < Duration::from_secs(3600), "created {created:?}");

    a.pass(5);
    let second = iam.create_access_key(&user).await.unwrap();
    assert_ne!(second.id, key.id);
    assert_ne!(second.secret, key.secret);
    let ids: Vec<String> = iam
        .list_access_keys(&user)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(ids, [key.id.clone(), second.id.clone()], "oldest first");

    iam.delete_access_key(&user, &key.id).await.unwrap();
    let left: Vec<String> = iam
        .list_access_keys(&user)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(left, std::slice::from_ref(&second.id));
    // The deleted key is unknown to IAM from then on.
    assert_kind!(iam.delete_access_key(&user, &key.id).await, "not found");
}

async fn iam_a_third_access_key_is_refused_with_the_limit(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    let iam = &cloud.iam;
    let user = a.provisioning_user().await;
    let first = iam.create_access_key(&user).await.unwrap();
    iam.create_access_key(&user).await.unwrap();
    let err = iam.create_access_key(&user).await.unwrap_err();
    assert!(matches!(err, CloudError::InvalidInput { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("2 access keys per user") && msg.contains("aws iam delete-access-key"),
        "{msg}"
    );
    assert_eq!(iam.list_access_keys(&user).await.unwrap().len(), 2);
    // Deleting one makes room again.
    iam.delete_access_key(&user, &first.id).await.unwrap();
    iam.create_access_key(&user).await.unwrap();
}

async fn iam_an_unknown_user_is_not_found(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    let iam = &cloud.iam;
    let nobody = "ph-installer-NoSuchUser-000000000000";
    assert_kind!(iam.list_access_keys(nobody).await, "not found");
    assert_kind!(iam.create_access_key(nobody).await, "not found");
    assert_kind!(
        iam.delete_access_key(nobody, "AKIAIOSFODNN7EXAMPLE").await,
        "not found"
    );
    let err = iam.list_access_keys(nobody).await.unwrap_err();
    assert!(err.to_string().contains(nobody), "{err}");
}

// ---------------------------------------------------------------- service offerings

sandbox_only!(offerings_each_service_says_which_types_it_sells_here);

async fn offerings_each_service_says_which_types_it_sells_here(a: TestAccount) {
    let cloud = a.cloud("eu-west-1").await;
    let o = &cloud.offerings;
    assert!(
        o.db_instance_class_offered("postgres", "17.6", "db.r6g.large")
            .await
            .unwrap()
    );
    assert!(
        !o.db_instance_class_offered("postgres", "17.6", "db.x9.huge")
            .await
            .unwrap()
    );
    let search = o.search_instance_types("OpenSearch_2.19").await.unwrap();
    assert!(search.iter().any(|t| t == "r6g.large.search"), "{search:?}");
    assert!(search.iter().all(|t| t.ends_with(".search")), "{search:?}");
    assert!(o.cache_node_type_listed("cache.r6g.large").await.unwrap());
    assert!(!o.cache_node_type_listed("cache.x9.huge").await.unwrap());
    let csi = o
        .addon_settings("aws-ebs-csi-driver", "1.34")
        .await
        .unwrap()
        .expect("EKS has the EBS CSI driver for 1.34");
    assert!(csi.keys.iter().any(|k| k == "controller"), "{csi:?}");
    assert_eq!(
        o.addon_settings("no-such-addon", "1.34").await.unwrap(),
        None
    );
    // A family EC2 lacks in a region (r7g in us-west-1) no service sells there.
    let newer = a.cloud("us-west-1").await;
    assert!(
        !newer
            .offerings
            .db_instance_class_offered("postgres", "17.6", "db.r7g.large")
            .await
            .unwrap()
    );
}

// ---------------------------------------------------------------- certificates

both!(
    certificates_a_request_is_listed_pending_with_its_validation_record,
    certificates_the_same_token_gives_the_same_certificate,
    certificates_an_unknown_one_is_not_found,
);

fn cert_request(domain: &str, token: &str) -> CertificateRequest {
    CertificateRequest {
        domain: domain.into(),
        sans: vec![domain.into(), format!("www.{domain}")],
        idempotency_token: token.into(),
        tags: vec![Tag::new("ph:install", "shop")],
    }
}

async fn certificates_a_request_is_listed_pending_with_its_validation_record(a: TestAccount) {
    let cloud = a.cloud("eu-west-1").await;
    let arn = cloud
        .certificates
        .request_certificate(&cert_request("shop.example.org", "phinstall1"))
        .await
        .unwrap();
    assert!(arn.starts_with("arn:aws:acm:eu-west-1:"), "{arn}");
    let listed = cloud.certificates.list_certificates().await.unwrap();
    let summary = listed.iter().find(|c| c.arn == arn).expect("listed");
    assert_eq!(summary.domain, "shop.example.org");
    // The CNAME ACM wants appears some seconds after the request.
    let record = a
        .until("the validation record", || async {
            let cert = cloud.certificates.describe_certificate(&arn).await.unwrap();
            assert_eq!(cert.status, CertificateStatus::PendingValidation);
            assert!(cert.sans.contains(&"www.shop.example.org".to_string()));
            cert.validations
                .iter()
                .find(|v| v.domain == "shop.example.org")
                .and_then(|v| v.record.clone())
        })
        .await;
    assert_eq!(record.record_type, "CNAME");
    assert!(record.name.ends_with("shop.example.org."), "{record:?}");
    assert!(record.name.starts_with('_'), "{record:?}");
}

async fn certificates_the_same_token_gives_the_same_certificate(a: TestAccount) {
    let cloud = a.cloud("eu-west-1").await;
    let req = cert_request("api.example.org", "phinstall2");
    let first = cloud.certificates.request_certificate(&req).await.unwrap();
    a.pass(60);
    let again = cloud.certificates.request_certificate(&req).await.unwrap();
    assert_eq!(first, again);
}

async fn certificates_an_unknown_one_is_not_found(a: TestAccount) {
    let cloud = a.cloud("eu-west-1").await;
    let me = cloud.identity.caller_identity().await.unwrap();
    let arn = format!(
        "arn:aws:acm:eu-west-1:{}:certificate/00000000-0000-0000-0000-000000000000",
        me.account
    );
    assert_kind!(
        cloud.certificates.describe_certificate(&arn).await,
        "not found"
    );
}

// ---------------------------------------------------------------- dns

both!(
    dns_zones_are_found_by_exact_name_with_bare_ids,
    dns_records_are_created_upserted_as_alias_and_listed,
    dns_a_record_created_twice_is_invalid_and_a_missing_zone_not_found,
);
sandbox_only!(
    dns_a_change_goes_pending_then_in_sync,
    dns_an_unknown_change_is_not_found
);

fn a_record(name: &str, ip: &str) -> RecordSet {
    RecordSet {
        name: name.into(),
        record_type: "A".into(),
        ttl: Some(300),
        values: vec![ip.into()],
        alias: None,
    }
}

async fn dns_zones_are_found_by_exact_name_with_bare_ids(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    let id = a.public_zone("example.org").await;
    a.public_zone("sub.example.org").await;
    for name in ["example.org", "example.org.", "EXAMPLE.org"] {
        let found = cloud.dns.zones_named(name).await.unwrap();
        assert_eq!(found.len(), 1, "{name}: {found:?}");
        assert_eq!(found[0].id, id);
        assert_eq!(found[0].name, "example.org.");
        assert!(!found[0].private);
    }
    assert!(
        cloud
            .dns
            .zones_named("missing.example.net")
            .await
            .unwrap()
            .is_empty()
    );
}

async fn dns_records_are_created_upserted_as_alias_and_listed(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    let zone = a.public_zone("example.org").await;
    let change = cloud
        .dns
        .change_records(
            &zone,
            &[RecordChange {
                action: RecordAction::Create,
                record: a_record("api.example.org.", "192.0.2.10"),
            }],
        )
        .await
        .unwrap();
    assert!(!change.id.starts_with('/'), "{change:?}");
    let synced = a
        .until("the change to be in sync", || async {
            let c = cloud.dns.get_change(&change.id).await.unwrap();
            (c.status == ChangeStatus::InSync).then_some(c)
        })
        .await;
    assert_eq!(synced.id, change.id);
    let alias = RecordSet {
        name: "shop.example.org.".into(),
        record_type: "A".into(),
        ttl: None,
        values: vec![],
        alias: Some(AliasTarget {
            hosted_zone_id: "Z35SXDOTRQ7X7K".into(),
            dns_name: "ph-alb-123.us-east-1.elb.amazonaws.com.".into(),
            evaluate_target_health: true,
        }),
    };
    for _ in 0..2 {
        // An UPSERT twice is the same record.
        cloud
            .dns
            .change_records(
                &zone,
                &[RecordChange {
                    action: RecordAction::Upsert,
                    record: alias.clone(),
                }],
            )
            .await
            .unwrap();
    }
    let records = cloud.dns.list_records(&zone).await.unwrap();
    let api = records
        .iter()
        .find(|r| r.name == "api.example.org.")
        .unwrap();
    assert_eq!(api.values, vec!["192.0.2.10".to_string()]);
    let shops: Vec<&RecordSet> = records
        .iter()
        .filter(|r| r.name == "shop.example.org.")
        .collect();
    assert_eq!(shops.len(), 1, "{shops:?}");
    let target = shops[0].alias.as_ref().unwrap();
    assert_eq!(
        target.dns_name.trim_end_matches('.'),
        "ph-alb-123.us-east-1.elb.amazonaws.com"
    );
    assert!(records.iter().any(|r| r.record_type == "SOA"));
    assert!(records.iter().any(|r| r.record_type == "NS"));
}

async fn dns_a_record_created_twice_is_invalid_and_a_missing_zone_not_found(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    let zone = a.public_zone("example.org").await;
    let create = [RecordChange {
        action: RecordAction::Create,
        record: a_record("dup.example.org.", "192.0.2.1"),
    }];
    cloud.dns.change_records(&zone, &create).await.unwrap();
    assert_kind!(cloud.dns.change_records(&zone, &create).await, "invalid");
    assert_kind!(cloud.dns.list_records("ZNOSUCHZONE0000").await, "not found");
}

async fn dns_an_unknown_change_is_not_found(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    assert_kind!(cloud.dns.get_change("CNOSUCHCHANGE00").await, "not found");
}

async fn dns_a_change_goes_pending_then_in_sync(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    let zone = a.public_zone("example.org").await;
    let change = cloud
        .dns
        .change_records(
            &zone,
            &[RecordChange {
                action: RecordAction::Upsert,
                record: a_record("api.example.org.", "192.0.2.10"),
            }],
        )
        .await
        .unwrap();
    assert_eq!(change.status, ChangeStatus::Pending);
    a.pass(60);
    assert_eq!(
        cloud.dns.get_change(&change.id).await.unwrap().status,
        ChangeStatus::InSync
    );
}

// ---------------------------------------------------------------- instances

both!(
    instances_are_found_by_tag_and_hardened_to_imdsv2,
    instances_an_unknown_one_is_not_found,
    instances_the_public_image_parameter_names_an_ami,
);
sandbox_only!(instances_a_dry_run_changes_nothing);

async fn instances_are_found_by_tag_and_hardened_to_imdsv2(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    let id = a
        .instance(&[Tag::new("Name", "ph-app"), Tag::new("ph:install", "shop")])
        .await;
    a.instance(&[Tag::new("Name", "unrelated")]).await;
    let found = cloud
        .instances
        .describe_instances(&InstanceFilter {
            ids: vec![],
            tags: vec![Tag::new("ph:install", "shop")],
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    let app = &found[0];
    assert_eq!(app.id, id);
    assert_eq!(app.name.as_deref(), Some("ph-app"));
    assert_eq!(app.instance_type, "t3.micro");
    assert_eq!(app.state, "running");
    assert_eq!(app.metadata.http_tokens, HttpTokens::Optional);

    let change = MetadataChange {
        http_tokens: Some(HttpTokens::Required),
        hop_limit: Some(2),
        endpoint_enabled: None,
    };
    cloud
        .instances
        .check_modify_metadata_options(&id, &change)
        .await
        .expect("a dry run that would succeed is Ok");
    let returned = cloud
        .instances
        .modify_metadata_options(&id, &change)
        .await
        .unwrap();
    assert_eq!(returned.http_tokens, HttpTokens::Required);
    assert_eq!(returned.hop_limit, 2);
    let applied = a
        .until("the metadata options to apply", || async {
            let now = cloud
                .instances
                .describe_instances(&InstanceFilter {
                    ids: vec![id.clone()],
                    tags: vec![],
                })
                .await
                .unwrap();
            (now[0].metadata.state == MetadataState::Applied).then(|| now[0].metadata.clone())
        })
        .await;
    assert_eq!(applied.http_tokens, HttpTokens::Required);
    assert_eq!(applied.hop_limit, 2);
    assert!(applied.endpoint_enabled);
}

async fn instances_an_unknown_one_is_not_found(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    assert_kind!(
        cloud
            .instances
            .describe_instances(&InstanceFilter {
                ids: vec!["i-0123456789abcdef0".into()],
                tags: vec![],
            })
            .await,
        "not found"
    );
    assert_kind!(
        cloud
            .instances
            .modify_metadata_options("i-0123456789abcdef0", &MetadataChange::default())
            .await,
        "not found"
    );
}

async fn instances_the_public_image_parameter_names_an_ami(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    let ami = cloud
        .instances
        .public_image_id(ph_installer::core::blueprint::APP_IMAGE_PARAMETER)
        .await
        .unwrap();
    assert!(ami.starts_with("ami-") && ami.len() > 8, "{ami}");
    assert_kind!(
        cloud
            .instances
            .public_image_id("/aws/service/ami-amazon-linux-latest/no-such-image")
            .await,
        "not found"
    );
}

async fn instances_a_dry_run_changes_nothing(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    let id = a.instance(&[Tag::new("Name", "ph-app")]).await;
    let change = MetadataChange {
        http_tokens: Some(HttpTokens::Required),
        ..MetadataChange::default()
    };
    cloud
        .instances
        .check_modify_metadata_options(&id, &change)
        .await
        .unwrap();
    a.pass(60);
    let now = cloud
        .instances
        .describe_instances(&InstanceFilter {
            ids: vec![id],
            tags: vec![],
        })
        .await
        .unwrap();
    assert_eq!(now[0].metadata.http_tokens, HttpTokens::Optional);
}

// ---------------------------------------------------------------- stacks

const TEMPLATE: &str = r#"{
  "Parameters": {
    "Label": { "Type": "String" },
    "Cidr": { "Type": "String", "Default": "10.1.0.0/16" },
    "Note": { "Type": "String", "Default": "first" }
  },
  "Resources": {
    "Network": {
      "Type": "AWS::EC2::VPC",
      "Properties": { "CidrBlock": { "Ref": "Cidr" } }
    },
    "Setting": {
      "Type": "AWS::SSM::Parameter",
      "Properties": {
        "Name": { "Fn::Sub": "/ph/${AWS::StackName}/label" },
        "Type": "String",
        "Value": { "Ref": "Label" },
        "Description": { "Ref": "Note" }
      }
    }
  },
  "Outputs": {
    "VpcId": { "Value": { "Ref": "Network" }, "Description": "the VPC" },
    "Label": { "Value": { "Ref": "Label" }, "Description": "the label" }
  }
}"#;

fn param(key: &str, value: &str) -> ParameterInput {
    ParameterInput {
        key: key.into(),
        value: ParameterValue::Value(value.into()),
    }
}

fn new_stack(stack: &str, change_set: &str) -> ChangeSetRequest {
    ChangeSetRequest {
        stack_name: stack.into(),
        change_set_name: change_set.into(),
        kind: ChangeSetKind::Create,
        template_body: TEMPLATE.into(),
        parameters: vec![param("Label", "first")],
        tags: vec![Tag::new("ph:install", "shop")],
        capabilities: vec![],
        on_stack_failure: None,
        client_token: None,
        description: Some("ph-installer contract".into()),
    }
}

fn execute(stack: &str, change_set: &str, token: &str) -> ExecuteRequest {
    ExecuteRequest {
        stack_name: stack.into(),
        change_set_name: change_set.into(),
        disable_rollback: Some(true),
        client_request_token: token.into(),
    }
}

/// An update that changes the parameter's description in place.
fn update(stack: &str, label: ParameterValue, note: &str, token: &str) -> UpdateRequest {
    UpdateRequest {
        stack_name: stack.into(),
        template_body: TEMPLATE.into(),
        parameters: vec![
            ParameterInput {
                key: "Label".into(),
                value: label,
            },
            param("Note", note),
        ],
        capabilities: vec![],
        tags: vec![Tag::new("ph:install", "shop")],
        disable_rollback: true,
        client_request_token: token.into(),
    }
}

fn delete(stack: &str, token: &str) -> DeleteRequest {
    DeleteRequest {
        stack_name: stack.into(),
        retain_resources: vec![],
        client_request_token: token.into(),
    }
}

/// The change set once it has stopped being worked on.
async fn settled_change_set(a: &TestAccount, cloud: &Cloud, stack: &str, name: &str) -> ChangeSet {
    a.until("the change set to settle", || async {
        let cs = cloud.stacks.describe_change_set(stack, name).await.unwrap();
        (!matches!(
            cs.status,
            ChangeSetStatus::CreatePending | ChangeSetStatus::CreateInProgress
        ))
        .then_some(cs)
    })
    .await
}

/// The stack once nothing is in progress.
async fn settled_stack(a: &TestAccount, cloud: &Cloud, stack: &str) -> Stack {
    a.until("the stack to settle", || async {
        let s = cloud.stacks.describe_stack(stack).await.unwrap()?;
        (!s.status.in_progress() || s.status == StackStatus::ReviewInProgress).then_some(s)
    })
    .await
}

/// Creates `stack` through a change set and waits for it.
async fn create_stack(a: &TestAccount, cloud: &Cloud, stack: &str) -> Stack {
    cloud
        .stacks
        .create_change_set(&new_stack(stack, "install-1"))
        .await
        .unwrap();
    settled_change_set(a, cloud, stack, "install-1").await;
    cloud
        .stacks
        .execute_change_set(&execute(stack, "install-1", "install-1-exec"))
        .await
        .unwrap();
    a.until("the stack to be created", || async {
        let s = cloud.stacks.describe_stack(stack).await.unwrap()?;
        (s.status == StackStatus::CreateComplete).then_some(s)
    })
    .await
}

both!(
    stacks_a_change_set_previews_then_creates_the_stack,
    stacks_an_empty_change_set_fails_with_the_aws_reason,
    stacks_events_come_oldest_first_and_after_an_id_only_newer_ones,
    stacks_an_update_keeps_previous_values_and_reports_outputs,
    stacks_a_deleted_stack_is_gone_by_name_and_by_id,
    stacks_a_deleted_change_set_is_not_found,
    stacks_a_missing_stack_is_not_found_by_every_call,
);
sandbox_only!(
    stacks_a_template_that_does_not_parse_is_invalid_input,
    stacks_a_missing_capability_is_invalid_input,
    stacks_an_update_that_changes_nothing_is_refused,
    stacks_a_failed_resource_leaves_create_failed_and_an_update_retries_it,
    stacks_a_missing_stack_is_not_found_by_the_calls_moto_lacks,
    stacks_a_stack_in_review_does_not_exist_for_updates,
    stacks_a_token_belongs_to_one_operation,
    stacks_executing_a_change_set_deletes_the_others,
    stacks_events_carry_the_operations_token_and_empty_physical_ids,
);

async fn stacks_a_change_set_previews_then_creates_the_stack(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    assert_eq!(cloud.stacks.describe_stack("ph-net").await.unwrap(), None);
    let created = cloud
        .stacks
        .create_change_set(&new_stack("ph-net", "install-1"))
        .await
        .unwrap();
    assert!(created.id.contains(":changeSet/install-1/"), "{created:?}");
    assert!(created.stack_id.contains(":stack/ph-net/"), "{created:?}");
    let cs = settled_change_set(&a, &cloud, "ph-net", "install-1").await;
    assert_eq!(cs.status, ChangeSetStatus::CreateComplete);
    assert_eq!(cs.execution_status, ExecutionStatus::Available);
    assert_eq!(cs.stack_name, "ph-net");
    let mut added: Vec<&str> = cs
        .changes
        .iter()
        .filter(|c| c.action == ResourceAction::Add)
        .map(|c| c.logical_id.as_str())
        .collect();
    added.sort();
    assert_eq!(added, vec!["Network", "Setting"], "{cs:?}");
    // Not created before the change set is executed.
    let review = cloud.stacks.describe_stack("ph-net").await.unwrap();
    assert!(
        review
            .as_ref()
            .is_none_or(|s| s.status == StackStatus::ReviewInProgress),
        "{review:?}"
    );
    cloud
        .stacks
        .execute_change_set(&execute("ph-net", "install-1", "exec-1"))
        .await
        .unwrap();
    let stack = settled_stack(&a, &cloud, "ph-net").await;
    assert_eq!(stack.status, StackStatus::CreateComplete);
    assert_eq!(stack.id, created.stack_id);
    assert!(
        stack.tags.contains(&Tag::new("ph:install", "shop")),
        "{stack:?}"
    );
    assert!(
        cloud
            .stacks
            .list_stacks()
            .await
            .unwrap()
            .iter()
            .any(|s| s.name == "ph-net")
    );
}

async fn stacks_events_come_oldest_first_and_after_an_id_only_newer_ones(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    create_stack(&a, &cloud, "ph-ev").await;
    let events = cloud.stacks.stack_events("ph-ev", None).await.unwrap();
    assert!(events.len() >= 2, "{events:?}");
    assert!(
        events.windows(2).all(|w| w[0].timestamp <= w[1].timestamp),
        "events must come oldest first"
    );
    let last = events.last().unwrap();
    assert!(last.is_stack_event());
    assert_eq!(last.stack_status(), Some(StackStatus::CreateComplete));
    let newer = cloud
        .stacks
        .stack_events("ph-ev", Some(&last.event_id))
        .await
        .unwrap();
    assert!(newer.is_empty(), "{newer:?}");
    let first = &events[0].event_id;
    let after_first = cloud
        .stacks
        .stack_events("ph-ev", Some(first))
        .await
        .unwrap();
    assert_eq!(after_first.len(), events.len() - 1);
    assert_eq!(after_first[..], events[1..]);
}

async fn stacks_an_update_keeps_previous_values_and_reports_outputs(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    create_stack(&a, &cloud, "ph-app").await;
    cloud
        .stacks
        .update_stack(&update(
            "ph-app",
            ParameterValue::UsePrevious,
            "second",
            "update-1",
        ))
        .await
        .unwrap();
    let stack = settled_stack(&a, &cloud, "ph-app").await;
    assert_eq!(stack.status, StackStatus::UpdateComplete);
    let label = stack.parameters.iter().find(|p| p.key == "Label").unwrap();
    assert_eq!(label.value, "first", "UsePrevious kept the value");
    let output = stack.outputs.iter().find(|o| o.key == "Label").unwrap();
    assert_eq!(output.value, "first");
    assert_eq!(output.description.as_deref(), Some("the label"));
    assert!(
        stack
            .outputs
            .iter()
            .any(|o| o.key == "VpcId" && o.value.starts_with("vpc-"))
    );
}

async fn stacks_an_update_that_changes_nothing_is_refused(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    create_stack(&a, &cloud, "ph-app").await;
    let err = cloud
        .stacks
        .update_stack(&update(
            "ph-app",
            ParameterValue::UsePrevious,
            "first",
            "update-2",
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, CloudError::InvalidInput { .. }), "{err:?}");
    assert!(
        err.to_string().contains("No updates are to be performed"),
        "{err}"
    );
}

async fn stacks_a_deleted_stack_is_gone_by_name_and_by_id(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    let stack = create_stack(&a, &cloud, "ph-gone").await;
    cloud
        .stacks
        .delete_stack(&delete("ph-gone", "delete-1"))
        .await
        .unwrap();
    a.until("the stack to be deleted", || async {
        cloud
            .stacks
            .describe_stack("ph-gone")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert_eq!(cloud.stacks.describe_stack(&stack.id).await.unwrap(), None);
    assert!(
        cloud
            .stacks
            .list_stacks()
            .await
            .unwrap()
            .iter()
            .all(|s| s.name != "ph-gone")
    );
    // Deleting what is gone succeeds and does nothing.
    cloud
        .stacks
        .delete_stack(&delete("ph-gone", "delete-2"))
        .await
        .unwrap();
}

async fn stacks_a_deleted_change_set_is_not_found(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    cloud
        .stacks
        .create_change_set(&new_stack("ph-review", "preview-1"))
        .await
        .unwrap();
    settled_change_set(&a, &cloud, "ph-review", "preview-1").await;
    cloud
        .stacks
        .delete_change_set("ph-review", "preview-1")
        .await
        .unwrap();
    assert_kind!(
        cloud
            .stacks
            .describe_change_set("ph-review", "preview-1")
            .await,
        "not found"
    );
}

async fn stacks_a_missing_stack_is_not_found_by_every_call(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    let s = &cloud.stacks;
    assert_eq!(s.describe_stack("ph-nothing").await.unwrap(), None);
    assert_kind!(s.stack_events("ph-nothing", None).await, "not found");
    assert_kind!(
        s.describe_change_set("ph-nothing", "install-1").await,
        "not found"
    );
    assert_kind!(
        s.update_stack(&update(
            "ph-nothing",
            ParameterValue::UsePrevious,
            "second",
            "u1"
        ))
        .await,
        "not found"
    );
    assert_kind!(
        s.create_change_set(&ChangeSetRequest {
            kind: ChangeSetKind::Update,
            ..new_stack("ph-nothing", "update-1")
        })
        .await,
        "not found"
    );
    assert_kind!(s.delete_stack(&delete("ph-nothing", "d1")).await, "ok");
    // A missing thing reads as a sentence once, never "... was not found." after AWS's own.
    let err = s
        .stack_events("ph-nothing", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ph-nothing") && !err.contains("exist was not found"),
        "{err}"
    );
}

async fn stacks_a_template_that_does_not_parse_is_invalid_input(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    assert_kind!(
        cloud
            .stacks
            .create_change_set(&ChangeSetRequest {
                template_body: "{ not a template".into(),
                ..new_stack("ph-bad", "install-1")
            })
            .await,
        "invalid"
    );
}

async fn stacks_a_missing_capability_is_invalid_input(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    let named_role = r#"{"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {
        "RoleName": "ph-contract-role",
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}}}}}"#;
    assert_kind!(
        cloud
            .stacks
            .create_change_set(&ChangeSetRequest {
                template_body: named_role.into(),
                parameters: vec![],
                ..new_stack("ph-iam", "install-1")
            })
            .await,
        "invalid"
    );
}

async fn stacks_a_failed_resource_leaves_create_failed_and_an_update_retries_it(a: TestAccount) {
    use ph_installer::cloud::sandbox::faults::{
        FaultPhase, FaultScript, FaultTimes, ResourceFault,
    };
    // The failure comes from a fault script.
    drop(a);
    let a = TestAccount::sandbox_with(FaultScript {
        fail: vec![ResourceFault {
            resource: "Setting".into(),
            reason: "Parameter limit exceeded".into(),
            times: FaultTimes::Once,
            during: FaultPhase::Create,
            code: Some("ServiceLimitExceeded".into()),
        }],
        ..FaultScript::default()
    });
    let cloud = a.cloud("us-east-1").await;
    cloud
        .stacks
        .create_change_set(&new_stack("ph-fail", "install-1"))
        .await
        .unwrap();
    settled_change_set(&a, &cloud, "ph-fail", "install-1").await;
    cloud
        .stacks
        .execute_change_set(&execute("ph-fail", "install-1", "exec-1"))
        .await
        .unwrap();
    let stack = settled_stack(&a, &cloud, "ph-fail").await;
    assert_eq!(stack.status, StackStatus::CreateFailed);
    assert_eq!(
        stack.status_reason.as_deref(),
        Some("The following resource(s) failed to create: [Setting]. ")
    );
    let events = cloud.stacks.stack_events("ph-fail", None).await.unwrap();
    let failed = events
        .iter()
        .find(|e| e.logical_id == "Setting" && e.status.as_str() == "CREATE_FAILED")
        .unwrap();
    assert!(
        failed
            .status_reason
            .as_deref()
            .unwrap()
            .contains("HandlerErrorCode: ServiceLimitExceeded")
    );
    // The VPC it did not depend on stays; the retry creates only the rest.
    assert!(
        events
            .iter()
            .any(|e| e.logical_id == "Network" && e.status.as_str() == "CREATE_COMPLETE")
    );
    cloud
        .stacks
        .update_stack(&update(
            "ph-fail",
            ParameterValue::UsePrevious,
            "first",
            "retry-1",
        ))
        .await
        .unwrap();
    let stack = settled_stack(&a, &cloud, "ph-fail").await;
    assert_eq!(stack.status, StackStatus::UpdateComplete);
    let retry = cloud
        .stacks
        .stack_events("ph-fail", Some(&events.last().unwrap().event_id))
        .await
        .unwrap();
    assert!(
        retry.iter().all(|e| e.logical_id != "Network"),
        "{retry:#?}"
    );
}

async fn stacks_a_missing_stack_is_not_found_by_the_calls_moto_lacks(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    let s = &cloud.stacks;
    assert_kind!(
        s.execute_change_set(&execute("ph-nothing", "install-1", "e1"))
            .await,
        "not found"
    );
    assert_kind!(
        s.continue_update_rollback("ph-nothing", &[], "c1").await,
        "not found"
    );
    assert_kind!(s.rollback_stack("ph-nothing", "r1").await, "not found");
    assert_kind!(
        s.set_termination_protection("ph-nothing", true).await,
        "not found"
    );
    assert_kind!(s.cancel_update_stack("ph-nothing", "x1").await, "not found");
}

async fn stacks_a_stack_in_review_does_not_exist_for_updates(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    let s = &cloud.stacks;
    s.create_change_set(&new_stack("ph-review", "install-1"))
        .await
        .unwrap();
    settled_change_set(&a, &cloud, "ph-review", "install-1").await;
    let review = s.describe_stack("ph-review").await.unwrap().unwrap();
    assert_eq!(review.status, StackStatus::ReviewInProgress);
    assert_kind!(
        s.update_stack(&update("ph-review", param_value("x"), "second", "u1"))
            .await,
        "not found"
    );
    assert_kind!(
        s.create_change_set(&ChangeSetRequest {
            kind: ChangeSetKind::Update,
            ..new_stack("ph-review", "update-1")
        })
        .await,
        "not found"
    );
    assert_kind!(
        s.set_termination_protection("ph-review", true).await,
        "not found"
    );
    assert_kind!(s.rollback_stack("ph-review", "r1").await, "not found");
}

fn param_value(v: &str) -> ParameterValue {
    ParameterValue::Value(v.into())
}

async fn stacks_a_token_belongs_to_one_operation(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    create_stack(&a, &cloud, "ph-tok").await;
    // The token of the create's execution cannot start an update.
    assert_kind!(
        cloud
            .stacks
            .update_stack(&update(
                "ph-tok",
                ParameterValue::UsePrevious,
                "third",
                "install-1-exec"
            ))
            .await,
        "invalid"
    );
    assert_kind!(
        cloud
            .stacks
            .update_stack(&update(
                "ph-tok",
                ParameterValue::UsePrevious,
                "third",
                "not_a_token"
            ))
            .await,
        "invalid"
    );
    // Its very retry is accepted and changes nothing.
    let before = cloud.stacks.stack_events("ph-tok", None).await.unwrap();
    cloud
        .stacks
        .execute_change_set(&execute("ph-tok", "install-1", "install-1-exec"))
        .await
        .unwrap();
    assert_eq!(
        cloud.stacks.stack_events("ph-tok", None).await.unwrap(),
        before
    );
}

async fn stacks_an_empty_change_set_fails_with_the_aws_reason(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    create_stack(&a, &cloud, "ph-same").await;
    cloud
        .stacks
        .create_change_set(&ChangeSetRequest {
            kind: ChangeSetKind::Update,
            ..new_stack("ph-same", "same-1")
        })
        .await
        .unwrap();
    let cs = settled_change_set(&a, &cloud, "ph-same", "same-1").await;
    assert_eq!(cs.status, ChangeSetStatus::Failed);
    assert_eq!(cs.execution_status, ExecutionStatus::Unavailable);
    assert!(
        cs.status_reason
            .as_deref()
            .is_some_and(|r| r.starts_with("The submitted information didn't contain changes.")),
        "{cs:?}"
    );
}

async fn stacks_executing_a_change_set_deletes_the_others(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    create_stack(&a, &cloud, "ph-two").await;
    for name in ["bigger", "other"] {
        cloud
            .stacks
            .create_change_set(&ChangeSetRequest {
                kind: ChangeSetKind::Update,
                parameters: vec![param("Label", name)],
                ..new_stack("ph-two", name)
            })
            .await
            .unwrap();
        settled_change_set(&a, &cloud, "ph-two", name).await;
    }
    cloud
        .stacks
        .execute_change_set(&execute("ph-two", "bigger", "exec-bigger"))
        .await
        .unwrap();
    assert_kind!(
        cloud.stacks.describe_change_set("ph-two", "other").await,
        "not found"
    );
}

async fn stacks_events_carry_the_operations_token_and_empty_physical_ids(a: TestAccount) {
    let cloud = a.cloud("us-east-1").await;
    create_stack(&a, &cloud, "ph-tokens").await;
    let events = cloud.stacks.stack_events("ph-tokens", None).await.unwrap();
    let op: Vec<&StackEvent> = events
        .iter()
        .filter(|e| e.status.as_str() != "REVIEW_IN_PROGRESS")
        .collect();
    assert!(
        op.iter()
            .all(|e| e.client_request_token.as_deref() == Some("install-1-exec"))
    );
    let first = op
        .iter()
        .find(|e| e.logical_id == "Network" && e.status.as_str() == "CREATE_IN_PROGRESS")
        .unwrap();
    assert_eq!(first.physical_id.as_deref(), Some(""));
}
