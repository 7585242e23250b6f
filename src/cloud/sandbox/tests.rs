//! Behaviour of the sandbox account through its ports. The CloudFormation
//! engine's transitions are tested on their own in `cfn`; here, that stacks
//! work through the account: persisted, shared between processes, faulted.

use std::time::Duration;

use super::faults::{CredentialExpiry, FaultPhase, FaultTimes, Latency, ResourceFault, Throttle};
use super::*;
use crate::clock::{Clock, ManualClock};
use crate::cloud::types::*;
use crate::core::region::OptInStatus;

struct Fixture {
    dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    account: SandboxAccount,
}

impl Fixture {
    fn new() -> Fixture {
        Self::with(FaultScript::default(), 1.0)
    }

    fn with(faults: FaultScript, speed: f64) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::starting_now());
        let account = open(dir.path(), &clock, faults, speed).unwrap();
        Fixture {
            dir,
            clock,
            account,
        }
    }

    fn cloud(&self, region: &str) -> Cloud {
        self.account.cloud(code(region))
    }

    fn home(&self) -> Cloud {
        self.account.cloud(self.account.home_region())
    }

    fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// A second handle on the same directory, as another process would open it.
    fn reopen(&self) -> SandboxAccount {
        open(self.dir.path(), &self.clock, FaultScript::default(), 1.0).unwrap()
    }
}

fn open(
    dir: &Path,
    clock: &Arc<ManualClock>,
    faults: FaultScript,
    speed: f64,
) -> Result<SandboxAccount, SandboxError> {
    SandboxAccount::open_with_clock(
        SandboxOptions {
            dir: dir.to_path_buf(),
            speed,
            faults,
        },
        clock.clone(),
    )
}

fn code(s: &str) -> RegionCode {
    s.parse().unwrap()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn a_record(name: &str, ip: &str) -> RecordSet {
    RecordSet {
        name: name.into(),
        record_type: "A".into(),
        ttl: Some(300),
        values: vec![ip.into()],
        alias: None,
    }
}

fn change(action: RecordAction, record: RecordSet) -> RecordChange {
    RecordChange { action, record }
}

fn cert_request(domain: &str, sans: &[&str], token: &str) -> CertificateRequest {
    CertificateRequest {
        domain: domain.into(),
        sans: strings(sans),
        idempotency_token: token.into(),
        tags: vec![Tag::new("ph-installer", "test")],
    }
}

// ---------------------------------------------------------------- regions

#[tokio::test]
async fn the_account_lists_34_commercial_regions_with_their_opt_in_states() {
    let f = Fixture::new();
    let regions = f.home().regions.list_regions().await.unwrap();
    assert_eq!(regions.len(), 34);
    let status = |c: &str| {
        regions
            .iter()
            .find(|r| r.code.as_str() == c)
            .unwrap()
            .opt_in
    };
    assert_eq!(status("us-east-1"), OptInStatus::OptInNotRequired);
    assert_eq!(status("eu-west-1"), OptInStatus::OptInNotRequired);
    assert_eq!(status("eu-central-2"), OptInStatus::OptedIn);
    assert_eq!(status("eu-south-2"), OptInStatus::OptedIn);
    assert_eq!(status("ap-southeast-4"), OptInStatus::OptedIn);
    assert_eq!(status("ca-west-1"), OptInStatus::NotOptedIn);
    assert_eq!(status("af-south-1"), OptInStatus::NotOptedIn);
}

#[tokio::test]
async fn us_west_1_offers_two_zones_us_east_1_six_and_others_three() {
    let f = Fixture::new();
    let r = &f.home().regions;
    let west = r.availability_zones(&code("us-west-1")).await.unwrap();
    assert_eq!(west.len(), 2);
    let east = r.availability_zones(&code("us-east-1")).await.unwrap();
    assert_eq!(east.len(), 6);
    assert_eq!(east[0].name, "us-east-1a");
    assert_eq!(east[5].name, "us-east-1f");
    assert!(
        east.iter().all(|z| z.zone_id.starts_with("use1-az")),
        "{east:?}"
    );
    assert!(east.iter().all(|z| z.state == "available"));
    let mut ids: Vec<_> = east.iter().map(|z| z.zone_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6, "zone ids are distinct");
    let sydney = r.availability_zones(&code("ap-southeast-2")).await.unwrap();
    assert_eq!(sydney.len(), 3);
    assert!(sydney[0].zone_id.starts_with("apse2-az"));
    let zurich = r.availability_zones(&code("eu-central-2")).await.unwrap();
    assert_eq!(zurich.len(), 3, "an opted-in region works");
}

#[test]
fn zone_ids_abbreviate_the_region() {
    for (region, prefix) in [
        ("us-east-1", "use1"),
        ("ap-southeast-2", "apse2"),
        ("eu-central-1", "euc1"),
        ("ap-northeast-3", "apne3"),
        ("sa-east-1", "sae1"),
        ("il-central-1", "ilc1"),
        ("ca-west-1", "caw1"),
    ] {
        assert_eq!(state::zone_id_prefix(region), prefix, "{region}");
    }
}

#[tokio::test]
async fn zones_of_a_region_not_opted_in_are_refused_with_how_to_enable_it() {
    let f = Fixture::new();
    let err = f
        .home()
        .regions
        .availability_zones(&code("ca-west-1"))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(&err, CloudError::RegionNotEnabled { .. }),
        "{err:?}"
    );
    assert!(
        msg.contains("ca-west-1")
            && msg.contains("aws account enable-region --region-name ca-west-1"),
        "{msg}"
    );
}

#[tokio::test]
async fn regional_services_of_a_region_not_opted_in_are_refused() {
    let f = Fixture::new();
    let err = f
        .cloud("me-south-1")
        .certificates
        .list_certificates()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("enable-region"), "{err}");
    let err = f
        .cloud("me-south-1")
        .instances
        .describe_instances(&InstanceFilter::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not enabled"), "{err}");
}

#[tokio::test]
async fn offerings_return_only_the_requested_types_the_region_offers_in_the_order_asked() {
    let f = Fixture::new();
    let r = &f.home().regions;
    let asked = strings(&["t3.small", "m7i.large", "r7g.xlarge", "x9.huge"]);
    let east = r
        .instance_type_offerings(&code("us-east-1"), &asked)
        .await
        .unwrap();
    assert_eq!(east, strings(&["t3.small", "m7i.large", "r7g.xlarge"]));
    let west = r
        .instance_type_offerings(&code("us-west-1"), &asked)
        .await
        .unwrap();
    assert_eq!(west, strings(&["t3.small", "m7i.large"]));
    let zurich = r
        .instance_type_offerings(&code("eu-central-2"), &asked)
        .await
        .unwrap();
    assert_eq!(zurich, strings(&["t3.small", "r7g.xlarge"]));
}

#[test]
fn newer_regions_lack_the_newest_instance_families() {
    assert!(state::offered("us-east-1", "m7i.2xlarge"));
    assert!(!state::offered("ap-southeast-7", "m7i.2xlarge"));
    assert!(state::offered("ap-southeast-7", "m6i.2xlarge"));
    assert!(!state::offered("us-east-1", "t3.8xlarge"));
}

// ---------------------------------------------------------------- identity

#[tokio::test]
async fn identity_is_the_sandbox_account_and_says_nothing_real_is_created() {
    let f = Fixture::new();
    let id = f.home().identity.caller_identity().await.unwrap();
    assert_eq!(id.account, "111122223333");
    assert!(
        id.arn
            .starts_with("arn:aws:sts::111122223333:assumed-role/ph-installer-sandbox/"),
        "{}",
        id.arn
    );
    let info = f.home().identity.session_info();
    assert!(info.credential_source.contains("nothing real is created"));
    assert_eq!(info.endpoint_override, None);
}

#[tokio::test]
async fn server_time_is_real_time_not_the_faster_virtual_time() {
    let f = Fixture::with(FaultScript::default(), 30.0);
    f.advance(100);
    let t = f.home().identity.server_time().await.unwrap();
    assert_eq!(t, f.clock.now());
    assert!(f.account.virtual_now() > t + Duration::from_secs(2000));
}

// ---------------------------------------------------------------- route 53

#[tokio::test]
async fn zones_are_found_by_exact_name_with_or_without_the_dot() {
    let f = Fixture::new();
    let dns = &f.home().dns;
    let public = dns.zones_named("example.com").await.unwrap();
    assert_eq!(public.len(), 1);
    assert_eq!(public[0].name, "example.com.");
    assert!(!public[0].private);
    assert_eq!(dns.zones_named("example.com.").await.unwrap(), public);
    let private = dns.zones_named("internal.example.com").await.unwrap();
    assert_eq!(private.len(), 1);
    assert!(private[0].private);
    assert!(
        dns.zones_named("shop.example.com")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(dns.zones_named("com").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_new_zone_lists_its_soa_and_ns_records() {
    let f = Fixture::new();
    let dns = &f.home().dns;
    let zone = &dns.zones_named("example.com").await.unwrap()[0];
    let records = dns.list_records(&zone.id).await.unwrap();
    let types: Vec<_> = records.iter().map(|r| r.record_type.as_str()).collect();
    assert_eq!(types, ["NS", "SOA"]);
    assert!(records.iter().all(|r| r.name == "example.com."));
    assert_eq!(zone.record_count, 2);
}

#[tokio::test]
async fn records_are_created_upserted_and_deleted() {
    let f = Fixture::new();
    let dns = &f.home().dns;
    let zone = dns.zones_named("example.com").await.unwrap()[0].id.clone();
    dns.change_records(
        &zone,
        &[change(
            RecordAction::Create,
            a_record("shop.example.com", "192.0.2.1"),
        )],
    )
    .await
    .unwrap();
    let find = |rs: &[RecordSet]| {
        rs.iter()
            .find(|r| r.name == "shop.example.com." && r.record_type == "A")
            .cloned()
    };
    let rs = dns.list_records(&zone).await.unwrap();
    assert_eq!(find(&rs).unwrap().values, ["192.0.2.1"]);

    dns.change_records(
        &zone,
        &[change(
            RecordAction::Upsert,
            a_record("shop.example.com.", "192.0.2.2"),
        )],
    )
    .await
    .unwrap();
    let rs = dns.list_records(&zone).await.unwrap();
    assert_eq!(find(&rs).unwrap().values, ["192.0.2.2"]);

    let err = dns
        .change_records(
            &zone,
            &[change(
                RecordAction::Delete,
                a_record("shop.example.com", "192.0.2.1"),
            )],
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("do not match"), "{err}");

    dns.change_records(
        &zone,
        &[change(
            RecordAction::Delete,
            a_record("shop.example.com", "192.0.2.2"),
        )],
    )
    .await
    .unwrap();
    let rs = dns.list_records(&zone).await.unwrap();
    assert_eq!(find(&rs), None);

    let err = dns
        .change_records(
            &zone,
            &[change(
                RecordAction::Delete,
                a_record("shop.example.com", "192.0.2.2"),
            )],
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("but it was not found"), "{err}");
}

#[tokio::test]
async fn creating_an_existing_record_fails_with_route53s_message() {
    let f = Fixture::new();
    let dns = &f.home().dns;
    let zone = dns.zones_named("example.com").await.unwrap()[0].id.clone();
    let create = [change(
        RecordAction::Create,
        a_record("x.example.com", "192.0.2.1"),
    )];
    dns.change_records(&zone, &create).await.unwrap();
    let err = dns.change_records(&zone, &create).await.unwrap_err();
    assert!(matches!(err, CloudError::InvalidInput { .. }), "{err:?}");
    assert!(
        err.to_string().contains(
            "Tried to create resource record set [name='x.example.com.', type='A'] but it already exists"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_failing_change_batch_changes_nothing() {
    let f = Fixture::new();
    let dns = &f.home().dns;
    let zone = dns.zones_named("example.com").await.unwrap()[0].id.clone();
    let err = dns
        .change_records(
            &zone,
            &[
                change(RecordAction::Create, a_record("a.example.com", "192.0.2.1")),
                change(RecordAction::Create, a_record("a.example.org", "192.0.2.1")),
            ],
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("not permitted in zone example.com."),
        "{err}"
    );
    assert_eq!(dns.list_records(&zone).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_cname_cannot_share_its_name_with_other_records() {
    let f = Fixture::new();
    let dns = &f.home().dns;
    let zone = dns.zones_named("example.com").await.unwrap()[0].id.clone();
    dns.change_records(
        &zone,
        &[change(
            RecordAction::Create,
            a_record("c.example.com", "192.0.2.1"),
        )],
    )
    .await
    .unwrap();
    let cname = RecordSet {
        name: "c.example.com".into(),
        record_type: "CNAME".into(),
        ttl: Some(300),
        values: vec!["elsewhere.example.net".into()],
        alias: None,
    };
    let err = dns
        .change_records(&zone, &[change(RecordAction::Upsert, cname)])
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("conflicts with other records"),
        "{err}"
    );
}

#[tokio::test]
async fn a_change_is_pending_then_in_sync_after_about_30_virtual_seconds() {
    let f = Fixture::new();
    let dns = &f.home().dns;
    let zone = dns.zones_named("example.com").await.unwrap()[0].id.clone();
    let c = dns
        .change_records(
            &zone,
            &[change(
                RecordAction::Upsert,
                a_record("p.example.com", "192.0.2.9"),
            )],
        )
        .await
        .unwrap();
    assert_eq!(c.status, ChangeStatus::Pending);
    f.advance(29);
    assert_eq!(
        dns.get_change(&c.id).await.unwrap().status,
        ChangeStatus::Pending
    );
    f.advance(1);
    assert_eq!(
        dns.get_change(&c.id).await.unwrap().status,
        ChangeStatus::InSync
    );
    assert!(matches!(
        dns.get_change("CNOSUCHCHANGE").await,
        Err(CloudError::NotFound { .. })
    ));
}

#[tokio::test]
async fn at_sandbox_speed_a_change_syncs_within_a_real_second_or_two() {
    let f = Fixture::with(FaultScript::default(), DEFAULT_SPEED);
    let dns = &f.home().dns;
    let zone = dns.zones_named("example.com").await.unwrap()[0].id.clone();
    let c = dns
        .change_records(
            &zone,
            &[change(
                RecordAction::Upsert,
                a_record("p.example.com", "192.0.2.9"),
            )],
        )
        .await
        .unwrap();
    assert_eq!(c.status, ChangeStatus::Pending);
    f.advance(1);
    assert_eq!(
        dns.get_change(&c.id).await.unwrap().status,
        ChangeStatus::InSync
    );
}

// ---------------------------------------------------------------- acm

#[tokio::test]
async fn the_home_region_has_an_issued_wildcard_and_an_expired_certificate() {
    let f = Fixture::new();
    let certs = f.home().certificates.list_certificates().await.unwrap();
    let wildcard = certs.iter().find(|c| c.domain == "*.example.com").unwrap();
    assert_eq!(wildcard.status, CertificateStatus::Issued);
    assert!(wildcard.sans.contains(&"example.com".to_string()));
    assert!(wildcard.not_after.unwrap() > f.account.virtual_now());
    assert!(certs.iter().any(|c| c.status == CertificateStatus::Expired));
    let ireland = f
        .cloud("eu-west-1")
        .certificates
        .list_certificates()
        .await
        .unwrap();
    assert_eq!(ireland.len(), 1);
    assert_eq!(ireland[0].status, CertificateStatus::PendingValidation);
    assert!(
        f.cloud("us-east-2")
            .certificates
            .list_certificates()
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_certificate_is_issued_a_minute_after_its_validation_cname_exists() {
    let f = Fixture::new();
    let acm = &f.home().certificates;
    let dns = &f.home().dns;
    let arn = acm
        .request_certificate(&cert_request(
            "shop.example.com",
            &["www.shop.example.com"],
            "tok1",
        ))
        .await
        .unwrap();
    assert!(
        arn.starts_with("arn:aws:acm:us-east-1:111122223333:certificate/"),
        "{arn}"
    );

    let c = acm.describe_certificate(&arn).await.unwrap();
    assert_eq!(c.status, CertificateStatus::PendingValidation);
    assert_eq!(c.validations.len(), 2);
    assert!(
        c.validations.iter().all(|v| v.record.is_none()),
        "records come later"
    );

    f.advance(5);
    let c = acm.describe_certificate(&arn).await.unwrap();
    let records: Vec<ValidationRecord> = c
        .validations
        .iter()
        .map(|v| v.record.clone().unwrap())
        .collect();
    assert!(records.iter().all(|r| r.record_type == "CNAME"));
    assert!(
        records[0].name.ends_with(".shop.example.com."),
        "{}",
        records[0].name
    );

    // Nothing happens while the CNAMEs are missing.
    f.advance(600);
    let c = acm.describe_certificate(&arn).await.unwrap();
    assert_eq!(c.status, CertificateStatus::PendingValidation);
    assert!(
        c.validations
            .iter()
            .all(|v| v.status == "PENDING_VALIDATION")
    );

    let zone = dns.zones_named("example.com").await.unwrap()[0].id.clone();
    let changes: Vec<RecordChange> = records
        .iter()
        .map(|r| {
            change(
                RecordAction::Upsert,
                RecordSet {
                    name: r.name.clone(),
                    record_type: "CNAME".into(),
                    ttl: Some(300),
                    values: vec![r.value.clone()],
                    alias: None,
                },
            )
        })
        .collect();
    dns.change_records(&zone, &changes).await.unwrap();
    f.advance(59);
    let c = acm.describe_certificate(&arn).await.unwrap();
    assert_eq!(c.status, CertificateStatus::PendingValidation);
    f.advance(1);
    let c = acm.describe_certificate(&arn).await.unwrap();
    assert_eq!(c.status, CertificateStatus::Issued);
    assert!(c.validations.iter().all(|v| v.status == "SUCCESS"));
    let not_after = c.not_after.unwrap();
    let months = not_after
        .duration_since(f.account.virtual_now())
        .unwrap()
        .as_secs()
        / (30 * 86_400);
    assert!((12..=13).contains(&months), "{months} months");
    assert!(!c.in_use);
}

#[tokio::test]
async fn a_wildcard_and_its_apex_share_one_validation_record() {
    let f = Fixture::new();
    let acm = &f.home().certificates;
    let arn = acm
        .request_certificate(&cert_request(
            "*.shop.example.com",
            &["shop.example.com"],
            "",
        ))
        .await
        .unwrap();
    f.advance(5);
    let c = acm.describe_certificate(&arn).await.unwrap();
    assert_eq!(c.validations.len(), 2);
    assert_eq!(c.validations[0].record, c.validations[1].record);
}

/// A certificate for a domain whose DNS is outside the sandbox is pending
/// one virtual second before `secs` and issued at `secs`.
async fn external_certificate_is_issued_after(f: &Fixture, secs: u64) {
    let acm = &f.home().certificates;
    let arn = acm
        .request_certificate(&cert_request("shop.example.net", &[], "ext"))
        .await
        .unwrap();
    f.advance(secs - 1);
    assert_eq!(
        acm.describe_certificate(&arn).await.unwrap().status,
        CertificateStatus::PendingValidation
    );
    f.advance(1);
    assert_eq!(
        acm.describe_certificate(&arn).await.unwrap().status,
        CertificateStatus::Issued
    );
}

#[tokio::test]
async fn a_certificate_for_dns_outside_the_sandbox_is_issued_after_the_external_delay() {
    external_certificate_is_issued_after(&Fixture::new(), 300).await;
}

#[tokio::test]
async fn a_fault_script_can_make_external_dns_validation_take_an_hour() {
    let faults =
        FaultScript::from_toml("[slow]\nacm_external_validation_seconds = 3600\n").unwrap();
    external_certificate_is_issued_after(&Fixture::with(faults, 1.0), 3600).await;
}

#[tokio::test]
async fn the_same_idempotency_token_within_an_hour_returns_the_same_certificate() {
    let f = Fixture::new();
    let acm = &f.home().certificates;
    let req = cert_request("shop.example.com", &[], "install0001");
    let first = acm.request_certificate(&req).await.unwrap();
    f.advance(3000);
    assert_eq!(acm.request_certificate(&req).await.unwrap(), first);
    f.advance(601);
    let later = acm.request_certificate(&req).await.unwrap();
    assert_ne!(later, first, "the token is valid for one hour");
    let other_region = f
        .cloud("eu-west-1")
        .certificates
        .request_certificate(&req)
        .await
        .unwrap();
    assert!(other_region.starts_with("arn:aws:acm:eu-west-1:"));
}

#[tokio::test]
async fn a_bad_idempotency_token_or_domain_is_refused() {
    let f = Fixture::new();
    let acm = &f.home().certificates;
    let err = acm
        .request_certificate(&cert_request(
            "shop.example.com",
            &[],
            "2f1c7c1e-2a44-4ad4-9b1d-3b0f5f6e7a8b",
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("idempotency token"), "{err}");
    let err = acm
        .request_certificate(&cert_request("not a domain", &[], ""))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a valid domain name"), "{err}");
}

#[tokio::test]
async fn describing_an_unknown_certificate_is_not_found() {
    let f = Fixture::new();
    let err = f
        .home()
        .certificates
        .describe_certificate("arn:aws:acm:us-east-1:111122223333:certificate/nope")
        .await
        .unwrap_err();
    assert!(matches!(err, CloudError::NotFound { .. }), "{err:?}");
}

// ---------------------------------------------------------------- ec2

fn hop(h: u8) -> MetadataChange {
    MetadataChange {
        http_tokens: Some(HttpTokens::Required),
        hop_limit: Some(h),
        endpoint_enabled: None,
    }
}

#[tokio::test]
async fn the_installer_instance_is_found_by_tag_and_by_id() {
    let f = Fixture::new();
    let ec2 = &f.home().instances;
    let by_tag = ec2
        .describe_instances(&InstanceFilter {
            ids: vec![],
            tags: vec![Tag::new("Name", "ph-installer")],
        })
        .await
        .unwrap();
    assert_eq!(by_tag.len(), 1);
    let i = &by_tag[0];
    assert_eq!(i.state, "running");
    assert_eq!(i.instance_type, "t3.small");
    assert_eq!(i.metadata.http_tokens, HttpTokens::Optional);
    assert_eq!(i.metadata.hop_limit, 1);
    assert_eq!(i.metadata.state, MetadataState::Applied);
    let by_id = ec2
        .describe_instances(&InstanceFilter {
            ids: vec![i.id.clone()],
            tags: vec![],
        })
        .await
        .unwrap();
    assert_eq!(&by_id, &by_tag);
    let none = ec2
        .describe_instances(&InstanceFilter {
            ids: vec![],
            tags: vec![Tag::new("Name", "other")],
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    let err = ec2
        .describe_instances(&InstanceFilter {
            ids: vec!["i-0123456789abcdef0".into()],
            tags: vec![],
        })
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("InvalidInstanceID.NotFound"),
        "{err}"
    );
}

#[tokio::test]
async fn metadata_options_are_pending_then_applied() {
    let f = Fixture::new();
    let ec2 = &f.home().instances;
    let opts = ec2
        .modify_metadata_options(INSTALLER_INSTANCE_ID, &hop(2))
        .await
        .unwrap();
    assert_eq!(opts.state, MetadataState::Pending);
    assert_eq!(opts.http_tokens, HttpTokens::Required);
    assert_eq!(opts.hop_limit, 2);
    assert!(opts.endpoint_enabled, "unchanged options are kept");
    let read = |v: Vec<Instance>| v[0].metadata.clone();
    let now = read(
        ec2.describe_instances(&InstanceFilter::default())
            .await
            .unwrap(),
    );
    assert_eq!(now.state, MetadataState::Pending);
    f.advance(5);
    let now = read(
        ec2.describe_instances(&InstanceFilter::default())
            .await
            .unwrap(),
    );
    assert_eq!(now.state, MetadataState::Applied);
    assert_eq!(now.hop_limit, 2);
}

#[tokio::test]
async fn a_hop_limit_outside_1_to_64_is_refused() {
    let f = Fixture::new();
    let ec2 = &f.home().instances;
    for bad in [0u8, 65] {
        let err = ec2
            .modify_metadata_options(INSTALLER_INSTANCE_ID, &hop(bad))
            .await
            .unwrap_err();
        assert!(matches!(err, CloudError::InvalidInput { .. }), "{err:?}");
        assert!(err.to_string().contains("between 1 and 64"), "{err}");
        assert!(
            ec2.check_modify_metadata_options(INSTALLER_INSTANCE_ID, &hop(bad))
                .await
                .is_err()
        );
    }
}

#[tokio::test]
async fn a_dry_run_changes_nothing() {
    let f = Fixture::new();
    let ec2 = &f.home().instances;
    ec2.check_modify_metadata_options(INSTALLER_INSTANCE_ID, &hop(2))
        .await
        .unwrap();
    let i = &ec2
        .describe_instances(&InstanceFilter::default())
        .await
        .unwrap()[0];
    assert_eq!(i.metadata.http_tokens, HttpTokens::Optional);
    assert_eq!(i.metadata.hop_limit, 1);
    assert_eq!(i.metadata.state, MetadataState::Applied);
    let err = ec2
        .check_modify_metadata_options("i-0123456789abcdef0", &hop(2))
        .await
        .unwrap_err();
    assert!(matches!(err, CloudError::NotFound { .. }));
}

#[tokio::test]
async fn the_public_image_parameter_names_one_stable_ami_per_region() {
    let f = Fixture::new();
    let param = crate::core::blueprint::APP_IMAGE_PARAMETER;
    let east = f
        .cloud("us-east-1")
        .instances
        .public_image_id(param)
        .await
        .unwrap();
    assert!(east.starts_with("ami-") && east.len() == 21, "{east}");
    assert_eq!(
        f.cloud("us-east-1")
            .instances
            .public_image_id(param)
            .await
            .unwrap(),
        east
    );
    assert_ne!(
        f.cloud("eu-west-1")
            .instances
            .public_image_id(param)
            .await
            .unwrap(),
        east
    );
    let err = f
        .cloud("us-east-1")
        .instances
        .public_image_id("/ph/not-public")
        .await
        .unwrap_err();
    assert!(matches!(err, CloudError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn other_regions_have_no_instances() {
    let f = Fixture::new();
    let v = f
        .cloud("eu-west-1")
        .instances
        .describe_instances(&InstanceFilter::default())
        .await
        .unwrap();
    assert!(v.is_empty());
}

// ---------------------------------------------------------------- persistence

#[tokio::test]
async fn a_created_record_survives_reopening_the_account() {
    let f = Fixture::new();
    let dns = &f.home().dns;
    let zone = dns.zones_named("example.com").await.unwrap()[0].id.clone();
    dns.change_records(
        &zone,
        &[change(
            RecordAction::Create,
            a_record("kept.example.com", "192.0.2.7"),
        )],
    )
    .await
    .unwrap();
    let arn = f
        .home()
        .certificates
        .request_certificate(&cert_request("kept.example.com", &[], "keep"))
        .await
        .unwrap();
    let path = f.account.state_file().to_path_buf();
    drop(f.account);
    let again = open(f.dir.path(), &f.clock, FaultScript::default(), 1.0).unwrap();
    let cloud = again.cloud(again.home_region());
    let records = cloud.dns.list_records(&zone).await.unwrap();
    assert!(records.iter().any(|r| r.name == "kept.example.com."));
    cloud.certificates.describe_certificate(&arn).await.unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[tokio::test]
async fn virtual_time_keeps_running_while_the_account_is_closed() {
    let f = Fixture::new();
    let dns = &f.home().dns;
    let zone = dns.zones_named("example.com").await.unwrap()[0].id.clone();
    let c = dns
        .change_records(
            &zone,
            &[change(
                RecordAction::Create,
                a_record("t.example.com", "192.0.2.7"),
            )],
        )
        .await
        .unwrap();
    drop(f.account);
    f.clock.advance(Duration::from_secs(40));
    let again = open(f.dir.path(), &f.clock, FaultScript::default(), 1.0).unwrap();
    let status = again
        .cloud(again.home_region())
        .dns
        .get_change(&c.id)
        .await
        .unwrap()
        .status;
    assert_eq!(status, ChangeStatus::InSync);
}

#[tokio::test]
async fn a_second_process_sees_what_the_first_one_created() {
    let f = Fixture::new();
    let other = f.reopen();
    let other_dns = other.cloud(other.home_region()).dns;
    let dns = &f.home().dns;
    let zone = dns.zones_named("example.com").await.unwrap()[0].id.clone();
    // The other process has already loaded the account before the change.
    assert_eq!(other_dns.list_records(&zone).await.unwrap().len(), 2);
    dns.change_records(
        &zone,
        &[change(
            RecordAction::Create,
            a_record("one.example.com", "192.0.2.1"),
        )],
    )
    .await
    .unwrap();
    other_dns
        .change_records(
            &zone,
            &[change(
                RecordAction::Create,
                a_record("two.example.com", "192.0.2.2"),
            )],
        )
        .await
        .unwrap();
    let names: Vec<String> = dns
        .list_records(&zone)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert!(names.contains(&"one.example.com.".to_string()), "{names:?}");
    assert!(names.contains(&"two.example.com.".to_string()), "{names:?}");
}

#[tokio::test]
async fn a_corrupted_account_file_is_refused_naming_the_file_and_the_reset() {
    let f = Fixture::new();
    let path = f.account.state_file().to_path_buf();
    std::fs::write(&path, b"{\"format\": 1, \"generation\": ").unwrap();
    drop(f.account);
    let err = open(f.dir.path(), &f.clock, FaultScript::default(), 1.0).unwrap_err();
    assert!(matches!(err, SandboxError::Corrupt { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("Delete it to reset the sandbox"), "{msg}");
}

#[tokio::test]
async fn a_file_corrupted_while_running_fails_calls_naming_the_file() {
    let f = Fixture::new();
    let path = f.account.state_file().to_path_buf();
    std::fs::write(&path, b"not json").unwrap();
    let err = f.home().regions.list_regions().await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()) && msg.contains("Delete it"),
        "{msg}"
    );
}

#[test]
fn an_account_file_from_a_newer_version_is_refused() {
    let f = Fixture::new();
    let path = f.account.state_file().to_path_buf();
    std::fs::write(&path, b"{\"format\": 99}").unwrap();
    let err = open(f.dir.path(), &f.clock, FaultScript::default(), 1.0).unwrap_err();
    assert!(
        matches!(err, SandboxError::NewerFormat { found: 99, .. }),
        "{err:?}"
    );
}

#[test]
fn a_non_positive_speed_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::starting_now());
    for speed in [0.0, -1.0, f64::NAN] {
        let err = open(dir.path(), &clock, FaultScript::default(), speed).unwrap_err();
        assert!(err.to_string().contains("positive number"), "{err}");
    }
}

#[test]
fn the_account_dir_is_created_private() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("sandbox").join("account");
    let clock = Arc::new(ManualClock::starting_now());
    open(&dir, &clock, FaultScript::default(), 1.0).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    assert!(dir.join(ACCOUNT_FILE).is_file());
}

// ---------------------------------------------------------------- faults

fn throttling(share: f64) -> FaultScript {
    FaultScript {
        throttle: Some(Throttle { share }),
        ..FaultScript::default()
    }
}

async fn throttled_pattern(f: &Fixture, calls: usize) -> Vec<bool> {
    let mut out = Vec::new();
    for _ in 0..calls {
        let r = f.home().identity.caller_identity().await;
        out.push(matches!(r, Err(CloudError::Throttled { .. })));
    }
    out
}

#[tokio::test]
async fn throttle_share_one_refuses_every_call() {
    let f = Fixture::with(throttling(1.0), 1.0);
    assert!(throttled_pattern(&f, 5).await.iter().all(|t| *t));
    let err = f.home().dns.zones_named("example.com").await.unwrap_err();
    assert!(err.is_retryable());
    assert!(
        err.to_string().contains("route53:ListHostedZonesByName"),
        "{err}"
    );
}

#[tokio::test]
async fn throttle_share_half_refuses_exactly_every_other_call() {
    let f = Fixture::with(throttling(0.5), 1.0);
    let p = throttled_pattern(&f, 10).await;
    assert_eq!(p.iter().filter(|t| **t).count(), 5);
    assert_eq!(
        p,
        [
            false, true, false, true, false, true, false, true, false, true
        ]
    );
}

#[tokio::test]
async fn throttle_share_zero_refuses_nothing() {
    let f = Fixture::with(throttling(0.0), 1.0);
    assert!(throttled_pattern(&f, 5).await.iter().all(|t| !*t));
}

#[tokio::test]
async fn a_throttled_write_changes_nothing() {
    let f = Fixture::with(throttling(1.0), 1.0);
    let dns = &f.home().dns;
    let err = dns
        .change_records(
            PUBLIC_ZONE,
            &[change(
                RecordAction::Create,
                a_record("no.example.com", "192.0.2.1"),
            )],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CloudError::Throttled { .. }));
    let unthrottled = f.reopen();
    let records = unthrottled
        .cloud(unthrottled.home_region())
        .dns
        .list_records(PUBLIC_ZONE)
        .await
        .unwrap();
    assert_eq!(records.len(), 2);
}

const PUBLIC_ZONE: &str = state::PUBLIC_ZONE_ID;

#[tokio::test]
async fn latency_delays_every_call() {
    let f = Fixture::with(
        FaultScript {
            latency: Some(Latency { ms: 30 }),
            ..FaultScript::default()
        },
        1.0,
    );
    // On the run's clock: a manual clock passes the pauses without waiting.
    let before = f.clock.elapsed();
    f.home().identity.caller_identity().await.unwrap();
    f.home().regions.list_regions().await.unwrap();
    assert_eq!(f.clock.elapsed() - before, Duration::from_millis(60));
}

#[tokio::test]
async fn credentials_expire_after_the_scripted_real_seconds() {
    let f = Fixture::with(
        FaultScript {
            expire_credentials: Some(CredentialExpiry { after_seconds: 60 }),
            ..FaultScript::default()
        },
        DEFAULT_SPEED,
    );
    f.home().identity.caller_identity().await.unwrap();
    f.advance(59);
    f.home().identity.caller_identity().await.unwrap();
    f.advance(1);
    let err = f.home().identity.caller_identity().await.unwrap_err();
    assert!(err.is_credentials(), "{err:?}");
    assert!(matches!(err, CloudError::ExpiredCredentials { .. }));
    let err = f.home().dns.zones_named("example.com").await.unwrap_err();
    assert!(matches!(err, CloudError::ExpiredCredentials { .. }));
}

#[test]
fn a_fault_script_file_error_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("faults.toml");
    std::fs::write(&path, "[throttle]\nshare = 2\n").unwrap();
    let msg = load_fault_script(&path).unwrap_err().to_string();
    assert!(
        msg.contains("faults.toml") && msg.contains("line 2"),
        "{msg}"
    );
    let missing = load_fault_script(&dir.path().join("nope.toml")).unwrap_err();
    assert!(
        missing.to_string().contains("--sandbox-faults"),
        "{missing}"
    );
}

#[test]
fn the_account_is_cheap_to_share_across_tasks() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<SandboxAccount>();
}

#[tokio::test]
async fn a_wildcard_record_is_listed_in_octal_and_can_be_deleted_as_listed() {
    let f = Fixture::new();
    let dns = &f.home().dns;
    dns.change_records(
        PUBLIC_ZONE,
        &[change(
            RecordAction::Create,
            a_record("*.apps.example.com", "192.0.2.5"),
        )],
    )
    .await
    .unwrap();
    let listed = dns
        .list_records(PUBLIC_ZONE)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.record_type == "A")
        .unwrap();
    assert_eq!(listed.name, "\\052.apps.example.com.");
    dns.change_records(PUBLIC_ZONE, &[change(RecordAction::Delete, listed)])
        .await
        .unwrap();
    assert_eq!(dns.list_records(PUBLIC_ZONE).await.unwrap().len(), 2);
}

#[tokio::test]
async fn deleting_the_validation_cname_before_issue_keeps_the_certificate_pending() {
    let f = Fixture::new();
    let acm = &f.home().certificates;
    let dns = &f.home().dns;
    let arn = acm
        .request_certificate(&cert_request("api.example.com", &[], ""))
        .await
        .unwrap();
    f.advance(5);
    let rec = acm.describe_certificate(&arn).await.unwrap().validations[0]
        .record
        .clone()
        .unwrap();
    let cname = RecordSet {
        name: rec.name.clone(),
        record_type: "CNAME".into(),
        ttl: Some(60),
        values: vec![rec.value.clone()],
        alias: None,
    };
    dns.change_records(PUBLIC_ZONE, &[change(RecordAction::Create, cname.clone())])
        .await
        .unwrap();
    f.advance(30);
    dns.change_records(PUBLIC_ZONE, &[change(RecordAction::Delete, cname)])
        .await
        .unwrap();
    f.advance(120);
    assert_eq!(
        acm.describe_certificate(&arn).await.unwrap().status,
        CertificateStatus::PendingValidation
    );
}

#[tokio::test]
async fn a_pending_certificate_times_out_after_72_hours() {
    let f = Fixture::new();
    let acm = &f.cloud("eu-west-1").certificates;
    // The seeded certificate was requested an hour before the account was made.
    let arn = acm.list_certificates().await.unwrap()[0].arn.clone();
    f.advance(70 * 3600);
    assert_eq!(
        acm.describe_certificate(&arn).await.unwrap().status,
        CertificateStatus::PendingValidation
    );
    f.advance(2 * 3600);
    let c = acm.describe_certificate(&arn).await.unwrap();
    assert_eq!(c.status, CertificateStatus::ValidationTimedOut);
    assert!(c.validations.iter().all(|v| v.status == "FAILED"));
}

#[test]
fn the_generation_is_read_from_the_head_of_the_account_file() {
    let f = Fixture::new();
    let path = f.account.state_file();
    let first = read_generation(path).unwrap();
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(state["generation"].as_u64(), Some(first));
}

#[tokio::test]
async fn every_write_moves_the_generation_on() {
    let f = Fixture::new();
    let path = f.account.state_file().to_path_buf();
    let before = read_generation(&path).unwrap();
    f.home()
        .certificates
        .request_certificate(&cert_request("g.example.com", &[], ""))
        .await
        .unwrap();
    assert_eq!(read_generation(&path), Some(before + 1));
}

#[tokio::test]
async fn credential_expiry_counts_from_when_the_account_was_opened() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::starting_now());
    clock.advance(Duration::from_secs(500));
    let faults = FaultScript {
        expire_credentials: Some(CredentialExpiry { after_seconds: 60 }),
        ..FaultScript::default()
    };
    let account = open(dir.path(), &clock, faults, 1.0).unwrap();
    let identity = account.cloud(account.home_region()).identity;
    identity.caller_identity().await.unwrap();
    clock.advance(Duration::from_secs(60));
    assert!(
        identity
            .caller_identity()
            .await
            .unwrap_err()
            .is_credentials()
    );
}

#[test]
fn reopening_at_another_speed_continues_the_same_virtual_time_line() {
    let f = Fixture::new();
    let start = f.account.virtual_now();
    f.advance(10);
    drop(f.account);
    let fast = open(f.dir.path(), &f.clock, FaultScript::default(), 30.0).unwrap();
    assert_eq!(fast.virtual_now(), start + Duration::from_secs(10));
    f.clock.advance(Duration::from_secs(1));
    assert_eq!(fast.virtual_now(), start + Duration::from_secs(40));
}

// ---------------------------------------------------------------- stacks through the account

const APP_TEMPLATE: &str = r#"
Parameters:
  InstallName:
    Type: String
  DbPassword:
    Type: String
    NoEcho: true
Resources:
  Network:
    Type: AWS::EC2::VPC
    Metadata: { SandboxDurationSeconds: 20 }
    Properties:
      CidrBlock: 10.0.0.0/16
  Database:
    Type: AWS::RDS::DBInstance
    Metadata: { SandboxDurationSeconds: 60 }
    Properties:
      DBInstanceClass: db.t4g.micro
      Engine: postgres
      MasterUserPassword: { Ref: DbPassword }
      DBSubnetGroupName: { Ref: Network }
  App:
    Type: AWS::EC2::Instance
    Metadata: { SandboxDurationSeconds: 30 }
    Properties:
      InstanceType: t3.medium
      SubnetId: { Ref: Network }
      MetadataOptions:
        HttpTokens: optional
        HttpPutResponseHopLimit: 2
      Tags:
        - Key: Name
          Value: { Ref: InstallName }
Outputs:
  AppId:
    Value: { Ref: App }
"#;

const DB_PASSWORD: &str = "s3cret-Sandbox-Value-7781";

fn change_set(stack: &str) -> ChangeSetRequest {
    ChangeSetRequest {
        stack_name: stack.into(),
        change_set_name: "install-1".into(),
        kind: ChangeSetKind::Create,
        template_body: APP_TEMPLATE.into(),
        parameters: vec![
            ParameterInput {
                key: "InstallName".into(),
                value: ParameterValue::Value("shop-app".into()),
            },
            ParameterInput {
                key: "DbPassword".into(),
                value: ParameterValue::Value(DB_PASSWORD.into()),
            },
        ],
        tags: vec![Tag::new("ph:install", "shop")],
        capabilities: vec![],
        on_stack_failure: None,
        client_token: Some("cs-token-1".into()),
        description: None,
    }
}

/// Creates the stack through a change set and executes it with rollback disabled.
async fn launch(cloud: &Cloud, f: &Fixture, stack: &str) {
    cloud
        .stacks
        .create_change_set(&change_set(stack))
        .await
        .unwrap();
    f.advance(5);
    let cs = cloud
        .stacks
        .describe_change_set(stack, "install-1")
        .await
        .unwrap();
    assert_eq!(cs.status, ChangeSetStatus::CreateComplete, "{cs:?}");
    cloud
        .stacks
        .execute_change_set(&ExecuteRequest {
            stack_name: stack.into(),
            change_set_name: "install-1".into(),
            disable_rollback: Some(true),
            client_request_token: "exec-token-1".into(),
        })
        .await
        .unwrap();
}

async fn status(cloud: &Cloud, stack: &str) -> crate::core::stack::StackStatus {
    cloud
        .stacks
        .describe_stack(stack)
        .await
        .unwrap()
        .unwrap()
        .status
}

#[tokio::test]
async fn a_stack_deployed_through_the_account_completes_on_the_virtual_clock() {
    use crate::core::stack::StackStatus;
    let f = Fixture::new();
    let cloud = f.home();
    launch(&cloud, &f, "shop-app").await;
    assert_eq!(
        status(&cloud, "shop-app").await,
        StackStatus::CreateInProgress
    );
    f.advance(200);
    let stack = cloud
        .stacks
        .describe_stack("shop-app")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stack.status, StackStatus::CreateComplete);
    let password = stack
        .parameters
        .iter()
        .find(|p| p.key == "DbPassword")
        .unwrap();
    assert_eq!(password.value, "****");
    let events = cloud.stacks.stack_events("shop-app", None).await.unwrap();
    for logical in ["Network", "Database", "App"] {
        assert!(
            events
                .iter()
                .any(|e| e.logical_id == logical && e.status.as_str() == "CREATE_COMPLETE"),
            "no CREATE_COMPLETE event for {logical}"
        );
    }
}

#[tokio::test]
async fn a_second_process_sees_the_stack_progress_and_events_of_the_first() {
    use crate::core::stack::StackStatus;
    let f = Fixture::new();
    launch(&f.home(), &f, "shop-app").await;
    f.advance(30);
    let seen_first = f
        .home()
        .stacks
        .stack_events("shop-app", None)
        .await
        .unwrap();

    // The installer was killed; a new run opens the same directory later.
    let other = f.reopen();
    let cloud = other.cloud(other.home_region());
    let seen_again = cloud.stacks.stack_events("shop-app", None).await.unwrap();
    assert_eq!(
        seen_again[..seen_first.len()],
        seen_first[..],
        "a reopened account must replay the same events"
    );
    f.advance(200);
    assert_eq!(
        status(&cloud, "shop-app").await,
        StackStatus::CreateComplete
    );
}

#[tokio::test]
async fn a_noecho_value_never_reaches_the_account_file() {
    let f = Fixture::new();
    let cloud = f.home();
    launch(&cloud, &f, "shop-app").await;
    f.advance(200);
    cloud.stacks.describe_stack("shop-app").await.unwrap();
    let file = std::fs::read_to_string(f.account.state_file()).unwrap();
    assert!(file.contains("shop-app"), "the stack is persisted");
    assert!(
        !file.contains(DB_PASSWORD),
        "the NoEcho value was written in clear"
    );
}

#[tokio::test]
async fn a_resource_failure_from_the_fault_script_leaves_create_failed_and_a_retry_completes() {
    use crate::core::stack::StackStatus;
    let faults = FaultScript {
        fail: vec![ResourceFault {
            resource: "Database".into(),
            reason: "DB instance quota exceeded".into(),
            times: FaultTimes::Once,
            during: FaultPhase::Create,
            code: Some("ServiceLimitExceeded".into()),
        }],
        ..FaultScript::default()
    };
    let f = Fixture::with(faults, 1.0);
    let cloud = f.home();
    launch(&cloud, &f, "shop-app").await;
    f.advance(200);
    assert_eq!(status(&cloud, "shop-app").await, StackStatus::CreateFailed);
    let events = cloud.stacks.stack_events("shop-app", None).await.unwrap();
    let failed = events
        .iter()
        .find(|e| e.logical_id == "Database" && e.status.as_str() == "CREATE_FAILED")
        .expect("the database failed");
    let reason = failed.status_reason.as_deref().unwrap();
    assert!(
        reason.starts_with("Resource handler returned message: \"DB instance quota exceeded\"")
            && reason.ends_with("HandlerErrorCode: ServiceLimitExceeded)"),
        "{reason}"
    );
    assert_eq!(failed.client_request_token.as_deref(), Some("exec-token-1"));

    cloud
        .stacks
        .update_stack(&UpdateRequest {
            stack_name: "shop-app".into(),
            template_body: APP_TEMPLATE.into(),
            parameters: vec![
                ParameterInput {
                    key: "InstallName".into(),
                    value: ParameterValue::UsePrevious,
                },
                ParameterInput {
                    key: "DbPassword".into(),
                    value: ParameterValue::UsePrevious,
                },
            ],
            capabilities: vec![],
            tags: vec![Tag::new("ph:install", "shop")],
            disable_rollback: true,
            client_request_token: "retry-1".into(),
        })
        .await
        .unwrap();
    f.advance(200);
    assert_eq!(
        status(&cloud, "shop-app").await,
        StackStatus::UpdateComplete
    );
}

#[tokio::test]
async fn throttling_applies_to_cloudformation_calls_too() {
    let f = Fixture::with(throttling(1.0), 1.0);
    let err = f.home().stacks.list_stacks().await.unwrap_err();
    assert!(matches!(err, CloudError::Throttled { .. }), "{err:?}");
}

#[tokio::test]
async fn an_instance_a_stack_creates_appears_in_ec2_with_its_template_metadata_options() {
    let f = Fixture::new();
    let cloud = f.home();
    launch(&cloud, &f, "shop-app").await;
    f.advance(200);
    let tag = Tag::new("aws:cloudformation:stack-name", "shop-app");
    let found = cloud
        .instances
        .describe_instances(&InstanceFilter {
            ids: vec![],
            tags: vec![tag.clone()],
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    let app = &found[0];
    assert_eq!(app.name.as_deref(), Some("shop-app"));
    assert_eq!(app.instance_type, "t3.medium");
    assert_eq!(app.metadata.http_tokens, HttpTokens::Optional);
    assert_eq!(app.metadata.hop_limit, 2);
    let outputs = cloud
        .stacks
        .describe_stack("shop-app")
        .await
        .unwrap()
        .unwrap()
        .outputs;
    assert_eq!(
        outputs[0].value, app.id,
        "the stack's output names the same instance"
    );

    // Hardening it sticks, and the stack deleting it removes it.
    let change = MetadataChange {
        http_tokens: Some(HttpTokens::Required),
        ..MetadataChange::default()
    };
    cloud
        .instances
        .modify_metadata_options(&app.id, &change)
        .await
        .unwrap();
    f.advance(10);
    let after = cloud
        .instances
        .describe_instances(&InstanceFilter {
            ids: vec![app.id.clone()],
            tags: vec![],
        })
        .await
        .unwrap();
    assert_eq!(after[0].metadata.http_tokens, HttpTokens::Required);
    assert_eq!(after[0].metadata.state, MetadataState::Applied);

    cloud
        .stacks
        .delete_stack(&DeleteRequest {
            stack_name: "shop-app".into(),
            retain_resources: vec![],
            client_request_token: "delete-1".into(),
        })
        .await
        .unwrap();
    f.advance(600);
    let gone = cloud
        .instances
        .describe_instances(&InstanceFilter {
            ids: vec![],
            tags: vec![tag],
        })
        .await
        .unwrap();
    assert!(gone.is_empty(), "{gone:?}");
}

// ------------------------------------------------ faults on the wire, restarts

const NOECHO_TEMPLATE: &str = r#"
Parameters:
  Pw:
    Type: String
    NoEcho: true
  Size:
    Type: String
    Default: small
Conditions:
  # True only for the real value: a sandbox that forgot it (and compares
  # "****") would drop Guarded on the next update.
  HasPw: !Equals [!Ref Pw, "kept-Across-Restarts-4471"]
Resources:
  Guarded:
    Type: AWS::CloudFormation::WaitConditionHandle
    Condition: HasPw
  Sized:
    Type: AWS::SSM::Parameter
    Properties:
      Type: String
      Value: !Ref Size
Outputs:
  Guarded:
    Value: !If [HasPw, "with a password", "without"]
"#;

fn noecho_change_set(
    kind: ChangeSetKind,
    name: &str,
    body: &str,
    pw: ParameterValue,
) -> ChangeSetRequest {
    ChangeSetRequest {
        stack_name: "keeps".into(),
        change_set_name: name.into(),
        kind,
        template_body: body.into(),
        parameters: vec![
            ParameterInput {
                key: "Pw".into(),
                value: pw,
            },
            ParameterInput {
                key: "Size".into(),
                value: ParameterValue::Value(
                    if name == "install" { "small" } else { "large" }.into(),
                ),
            },
        ],
        tags: vec![],
        capabilities: vec![],
        on_stack_failure: None,
        client_token: None,
        description: None,
    }
}

async fn run_change_set(cloud: &Cloud, f: &Fixture, req: &ChangeSetRequest) -> ChangeSet {
    cloud.stacks.create_change_set(req).await.unwrap();
    f.advance(5);
    let cs = cloud
        .stacks
        .describe_change_set(&req.stack_name, &req.change_set_name)
        .await
        .unwrap();
    if cs.status == ChangeSetStatus::CreateComplete {
        cloud
            .stacks
            .execute_change_set(&ExecuteRequest {
                stack_name: req.stack_name.clone(),
                change_set_name: req.change_set_name.clone(),
                disable_rollback: Some(true),
                client_request_token: format!("run-{}", req.change_set_name),
            })
            .await
            .unwrap();
        f.advance(600);
    }
    cs
}

#[tokio::test]
async fn a_restarted_sandbox_still_knows_the_noecho_values_its_stacks_were_given() {
    let secret = "kept-Across-Restarts-4471";
    let f = Fixture::new();
    run_change_set(
        &f.home(),
        &f,
        &noecho_change_set(
            ChangeSetKind::Create,
            "install",
            NOECHO_TEMPLATE,
            ParameterValue::Secret(crate::core::secret::Secret::new(secret)),
        ),
    )
    .await;
    // The installer was killed; a new process opens the same account.
    let other = f.reopen();
    let cloud = other.cloud(other.home_region());
    let cs = run_change_set(
        &cloud,
        &f,
        &noecho_change_set(
            ChangeSetKind::Update,
            "resize",
            NOECHO_TEMPLATE,
            ParameterValue::UsePrevious,
        ),
    )
    .await;
    // The condition on the NoEcho value still holds: only Size changed.
    let changed: Vec<&str> = cs.changes.iter().map(|c| c.logical_id.as_str()).collect();
    assert_eq!(changed, ["Sized"], "{cs:?}");
    let stack = cloud.stacks.describe_stack("keeps").await.unwrap().unwrap();
    assert_eq!(
        stack.status,
        crate::core::stack::StackStatus::UpdateComplete
    );
    assert_eq!(stack.outputs[0].value, "with a password");
    // Kept beside the account file (which never holds them: see
    // a_noecho_value_never_reaches_the_account_file), private.
    let kept = f.dir.path().join(NOECHO_FILE);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&kept).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // UsePrevious after the NoEcho flag was dropped needs the value itself.
    let third = f.reopen();
    let cloud = third.cloud(third.home_region());
    let plain = NOECHO_TEMPLATE.replace("    NoEcho: true\n", "");
    let mut req = noecho_change_set(
        ChangeSetKind::Update,
        "unmask",
        &plain,
        ParameterValue::UsePrevious,
    );
    req.parameters[1].value = ParameterValue::Value("medium".into());
    cloud.stacks.create_change_set(&req).await.unwrap();
    f.advance(5);
    let cs = cloud
        .stacks
        .describe_change_set("keeps", "unmask")
        .await
        .unwrap();
    assert_eq!(cs.status, ChangeSetStatus::CreateComplete, "{cs:?}");
}

fn interrupting(action: &str, kind: faults::InterruptKind, times: FaultTimes) -> FaultScript {
    FaultScript {
        interrupt: vec![faults::Interrupt {
            action: action.into(),
            kind,
            times,
        }],
        ..FaultScript::default()
    }
}

#[tokio::test]
async fn a_call_whose_response_was_lost_was_applied_and_its_retry_changes_nothing() {
    let f = Fixture::with(
        interrupting(
            crate::cloud::actions::EXECUTE_CHANGE_SET,
            faults::InterruptKind::ResponseLost,
            FaultTimes::Once,
        ),
        1.0,
    );
    let cloud = f.home();
    cloud
        .stacks
        .create_change_set(&change_set("lost"))
        .await
        .unwrap();
    f.advance(5);
    let execute = ExecuteRequest {
        stack_name: "lost".into(),
        change_set_name: "install-1".into(),
        disable_rollback: Some(true),
        client_request_token: "exec-lost-1".into(),
    };
    let err = cloud.stacks.execute_change_set(&execute).await.unwrap_err();
    assert!(matches!(err, CloudError::Unavailable { .. }), "{err:?}");
    assert!(err.to_string().contains("timed out"), "{err}");
    // It ran all the same; the retry with the same token is the same operation.
    let events = cloud.stacks.stack_events("lost", None).await.unwrap();
    let starts = events
        .iter()
        .filter(|e| e.is_stack_event() && e.status.as_str() == "CREATE_IN_PROGRESS")
        .count();
    assert_eq!(starts, 1);
    cloud.stacks.execute_change_set(&execute).await.unwrap();
    f.advance(200);
    let events = cloud.stacks.stack_events("lost", None).await.unwrap();
    let starts = events
        .iter()
        .filter(|e| e.is_stack_event() && e.status.as_str() == "CREATE_IN_PROGRESS")
        .count();
    assert_eq!(starts, 1, "executed once");
}

#[tokio::test]
async fn a_server_error_applies_nothing_and_stops_after_its_count_even_in_another_process() {
    let f = Fixture::with(
        interrupting(
            crate::cloud::actions::CREATE_CHANGE_SET,
            faults::InterruptKind::ServerError,
            FaultTimes::Count(2),
        ),
        1.0,
    );
    let cloud = f.home();
    let err = cloud
        .stacks
        .create_change_set(&change_set("err"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("HTTP 500"), "{err}");
    assert_eq!(cloud.stacks.describe_stack("err").await.unwrap(), None);
    // The count is kept in the account: another process sees the second.
    let other = open(
        f.dir.path(),
        &f.clock,
        interrupting(
            crate::cloud::actions::CREATE_CHANGE_SET,
            faults::InterruptKind::ServerError,
            FaultTimes::Count(2),
        ),
        1.0,
    )
    .unwrap();
    let cloud = other.cloud(other.home_region());
    assert!(
        cloud
            .stacks
            .create_change_set(&change_set("err"))
            .await
            .is_err()
    );
    cloud
        .stacks
        .create_change_set(&change_set("err"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_denied_call_names_the_iam_action_to_grant() {
    let f = Fixture::with(
        FaultScript {
            deny: vec![faults::Deny {
                action: crate::cloud::actions::CREATE_CHANGE_SET.into(),
            }],
            ..FaultScript::default()
        },
        1.0,
    );
    let err = f
        .home()
        .stacks
        .create_change_set(&change_set("no"))
        .await
        .unwrap_err();
    match &err {
        CloudError::AccessDenied { action, .. } => {
            assert_eq!(action, "cloudformation:CreateChangeSet")
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string()
            .contains("Grant cloudformation:CreateChangeSet"),
        "{err}"
    );
    // Other calls are allowed.
    f.home().stacks.list_stacks().await.unwrap();
}

#[tokio::test]
async fn local_failures_are_not_reported_as_aws_outages() {
    let f = Fixture::new();
    // A region code that passes the rules but names no region.
    let err = f.cloud("us-east-9").stacks.list_stacks().await.unwrap_err();
    assert!(matches!(err, CloudError::UnknownRegion { .. }), "{err:?}");
    assert!(
        err.to_string().contains("ph-installer regions") && !err.to_string().contains("NAT"),
        "{err}"
    );
    // The account file cannot be read or written: this machine, not AWS.
    let file = f.account.state_file().to_path_buf();
    std::fs::remove_file(&file).unwrap();
    std::fs::create_dir(&file).unwrap();
    let err = f.home().identity.caller_identity().await.unwrap_err();
    assert!(matches!(err, CloudError::Local { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("account.json") && !msg.contains("NAT"),
        "{msg}"
    );
}

const SEARCH_IN_A_VPC: &str = r#"
Resources:
  Domain:
    Type: AWS::OpenSearchService::Domain
    Metadata: {SandboxDurationSeconds: 60}
    Properties:
      VPCOptions:
        SubnetIds: [subnet-1]
"#;

fn search_change_set(name: &str) -> ChangeSetRequest {
    ChangeSetRequest {
        stack_name: "search".into(),
        change_set_name: name.into(),
        kind: if name == "install" {
            ChangeSetKind::Create
        } else {
            ChangeSetKind::Update
        },
        template_body: SEARCH_IN_A_VPC.into(),
        parameters: vec![],
        tags: vec![],
        capabilities: vec![],
        on_stack_failure: None,
        client_token: None,
        description: None,
    }
}

#[tokio::test]
async fn an_opensearch_domain_in_a_vpc_fails_in_a_fresh_account_until_its_service_linked_role_exists()
 {
    use crate::core::stack::StackStatus;
    let f = Fixture::new();
    let cloud = f.home();
    run_change_set(&cloud, &f, &search_change_set("install")).await;
    let events = cloud.stacks.stack_events("search", None).await.unwrap();
    let failed = events
        .iter()
        .find(|e| e.logical_id == "Domain" && e.status.as_str() == "CREATE_FAILED")
        .expect("the domain failed");
    let reason = failed.status_reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains("you must enable a service-linked role")
            && reason.contains("HandlerErrorCode: InvalidRequest"),
        "{reason}"
    );
    assert_eq!(status(&cloud, "search").await, StackStatus::CreateFailed);

    let created = cloud
        .account
        .create_service_linked_role("opensearchservice.amazonaws.com")
        .await
        .unwrap();
    assert_eq!(created, ServiceRoleOutcome::Created);
    // The retry the deploy engine makes: an update of the failed stack.
    let retry = run_change_set(&cloud, &f, &search_change_set("retry")).await;
    assert_eq!(retry.status, ChangeSetStatus::CreateComplete, "{retry:?}");
    assert_eq!(status(&cloud, "search").await, StackStatus::UpdateComplete);
}

#[tokio::test]
async fn an_unknown_service_has_no_service_linked_role_and_the_account_starts_without_a_block() {
    let f = Fixture::new();
    let cloud = f.home();
    let err = cloud
        .account
        .create_service_linked_role("nosuch.amazonaws.com")
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("Cannot find Service Linked Role template for nosuch.amazonaws.com"),
        "{err}"
    );
    let block = cloud.account.public_access_block(ACCOUNT_ID).await.unwrap();
    assert_eq!(block, None);
    let other = cloud.account.public_access_block("999988887777").await;
    assert!(
        matches!(other, Err(CloudError::AccessDenied { .. })),
        "{other:?}"
    );
}

// ---------------------------------------------------------------- iam

#[tokio::test]
async fn an_access_keys_secret_is_handed_out_once_and_never_stored() {
    let f = Fixture::new();
    let user = state::provisioning_user_name();
    let key = f.home().iam.create_access_key(&user).await.unwrap();
    let file = std::fs::read_to_string(f.account.state_file()).unwrap();
    assert!(file.contains(&key.id), "the key is persisted");
    assert!(
        !file.contains(key.secret.expose()),
        "the secret was written to the account file"
    );
    // Another process sees the key, never its secret; a region is no matter.
    let other = f.reopen().cloud(code("eu-west-1"));
    let keys = other.iam.list_access_keys(&user).await.unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0].id, key.id);
    assert_eq!(keys[0].status, AccessKeyStatus::Active);
}

#[test]
fn the_provisioning_user_is_named_as_cloudformation_names_it() {
    let user = state::provisioning_user_name();
    let suffix = user
        .strip_prefix("ph-installer-ProvisioningUser-")
        .unwrap_or_else(|| panic!("{user}"));
    assert_eq!(suffix.len(), 12, "{user}");
    assert!(
        suffix
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()),
        "{user}"
    );
    assert_eq!(state::provisioning_user_name(), user, "the name is stable");
}

#[tokio::test]
async fn an_account_file_from_before_iam_users_has_the_provisioning_user() {
    let f = Fixture::new();
    let path = f.account.state_file().to_path_buf();
    let mut old: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    old.as_object_mut().unwrap().remove("iam_users");
    std::fs::write(&path, serde_json::to_vec_pretty(&old).unwrap()).unwrap();
    let iam = f.reopen().cloud(f.account.home_region()).iam;
    let keys = iam
        .list_access_keys(&state::provisioning_user_name())
        .await
        .unwrap();
    assert!(keys.is_empty(), "{keys:?}");
}

#[tokio::test]
async fn the_installers_bootstrap_stack_is_complete_with_its_outputs() {
    let f = Fixture::new();
    let stack = f
        .home()
        .stacks
        .describe_stack(state::INSTALLER_STACK_NAME)
        .await
        .unwrap()
        .expect("the bootstrap stack is there");
    assert_eq!(
        stack.status,
        crate::core::stack::StackStatus::CreateComplete
    );
    assert!(
        stack
            .tags
            .contains(&Tag::new("ph:install", "installer-bootstrap")),
        "{stack:?}"
    );
    let output = |key: &str| {
        stack
            .outputs
            .iter()
            .find(|o| o.key == key)
            .map(|o| o.value.clone())
    };
    assert_eq!(
        output("InstallerInstanceId").as_deref(),
        Some(INSTALLER_INSTANCE_ID)
    );
    assert_eq!(
        output("ProvisioningUserName"),
        Some(state::provisioning_user_name())
    );
    assert!(
        output("InstallerRoleArn").is_some_and(|a| a.contains(":role/ph-installer/")),
        "{stack:?}"
    );
    assert_eq!(output("ProvisioningAccessKeyCommand"), None);
    // Its own events only; nothing of it reaches EC2.
    let events = f
        .home()
        .stacks
        .stack_events(state::INSTALLER_STACK_NAME, None)
        .await
        .unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(
        events.last().and_then(|e| e.stack_status()),
        Some(crate::core::stack::StackStatus::CreateComplete)
    );
    let instances = f
        .home()
        .instances
        .describe_instances(&InstanceFilter::default())
        .await
        .unwrap();
    assert_eq!(instances.len(), 1, "{instances:?}");
}

#[test]
fn the_seeded_bootstrap_stack_reports_installer_yamls_outputs() {
    use crate::core::blueprint::template::TemplateSummary;
    let text = crate::core::blueprint::template_text("installer.yaml").unwrap();
    let template = TemplateSummary::parse(text).unwrap();
    let mut want: Vec<(String, Option<String>)> = template
        .outputs
        .iter()
        .map(|k| {
            let description = template.body["Outputs"][k]["Description"]
                .as_str()
                .map(str::to_string);
            (k.clone(), description)
        })
        .collect();
    let mut got: Vec<(String, Option<String>)> = state::bootstrap_outputs()
        .into_iter()
        .map(|o| (o.key, o.description))
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
}
