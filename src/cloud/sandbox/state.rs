//! The simulated account's whole state (persisted as JSON) and the
//! synchronous rules of its services. Every operation takes the virtual
//! time `now`; [`AccountState::settle`] moves timed transitions (certificate
//! issued, metadata applied) forward to `now`.

use crate::cloud::actions;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::cfn::{CfnEngine, LiveResource};
use super::clock::ClockAnchor;
use crate::cloud::types::*;
use crate::cloud::{CloudError, CloudResult};
use crate::core::region::{OptInStatus, RegionCode};
use crate::core::regions::known_regions;
use crate::core::secret::Secret;

pub const ACCOUNT_ID: &str = "111122223333";
/// The instance the installer runs on, in the home region.
pub const INSTALLER_INSTANCE_ID: &str = "i-0a1b2c3d4e5f60718";
pub const HOME_REGION: &str = "us-east-1";
/// Bumped when the file's shape changes incompatibly.
pub const FORMAT: u32 = 1;

/// The installer's bootstrap stack (stacks/installer.yaml), deployed from
/// the console before the installer ran, in the home region.
pub const INSTALLER_STACK_NAME: &str = "ph-installer";
/// The installer instance's role, under installer.yaml's `/ph-installer/`
/// path, named as the sandbox's caller identity names it.
pub const INSTALLER_ROLE_NAME: &str = "ph-installer-sandbox";

pub const PUBLIC_ZONE_ID: &str = "Z0SANDBOX0PUBLIC01";
pub const PRIVATE_ZONE_ID: &str = "Z0SANDBOX0PRIVATE1";

/// Opt-in regions this account has enabled; the other opt-in regions are not enabled.
const OPTED_IN: &[&str] = &["eu-central-2", "eu-south-2", "ap-southeast-4"];

/// Regions too new for the latest instance families (7th generation).
const WITHOUT_7TH_GEN: &[&str] = &[
    "ca-west-1",
    "mx-central-1",
    "ap-east-2",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
];

/// Single families a region lacks, so the offerings filter shows.
const MISSING: &[(&str, &str)] = &[
    ("us-west-1", "r7g"),
    ("us-west-1", "c7g"),
    ("sa-east-1", "m7i"),
    ("eu-central-2", "m7i"),
    ("eu-central-2", "c7i"),
    ("eu-central-2", "r7i"),
];

const SIZES: &[&str] = &["large", "xlarge", "2xlarge", "4xlarge", "8xlarge"];
const FAMILIES: &[&str] = &[
    "m5", "m6i", "m6g", "m7i", "m7g", "c5", "c6i", "c6g", "c7i", "c7g", "r5", "r6i", "r6g", "r7i",
    "r7g",
];
const BURSTABLE: &[&str] = &["t3", "t3a", "t4g"];
const BURSTABLE_SIZES: &[&str] = &[
    "nano", "micro", "small", "medium", "large", "xlarge", "2xlarge",
];

/// Timings of the simulated services, in virtual seconds. Stored in the
/// account file so a sandbox can be tuned by editing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timings {
    /// Route 53 change PENDING -> INSYNC.
    pub dns_sync_secs: u64,
    /// ACM: validation records appear this long after the request.
    pub acm_records_secs: u64,
    /// ACM: issued this long after the validation CNAME exists in a sandbox zone.
    pub acm_validate_secs: u64,
    /// ACM: issued this long after the request when the domain's DNS is
    /// outside the sandbox (the operator adds the CNAME at their provider).
    pub acm_external_validate_secs: u64,
    /// ACM gives up on a pending certificate after this long (72 h).
    pub acm_timeout_secs: u64,
    /// EC2 metadata options pending -> applied.
    pub metadata_apply_secs: u64,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            dns_sync_secs: 30,
            acm_records_secs: 5,
            acm_validate_secs: 60,
            acm_external_validate_secs: 300,
            acm_timeout_secs: 72 * 3600,
            metadata_apply_secs: 4,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountState {
    pub format: u32,
    /// Incremented on every write.
    pub generation: u64,
    pub clock: ClockAnchor,
    pub timings: Timings,
    pub regions: Vec<RegionState>,
    pub zones: Vec<Zone>,
    /// Route 53 change id -> when it was submitted.
    pub changes: BTreeMap<String, SystemTime>,
    /// Region -> certificates.
    pub certificates: BTreeMap<String, Vec<StoredCertificate>>,
    /// Region -> instances.
    pub instances: BTreeMap<String, Vec<StoredInstance>>,
    /// Region -> CloudFormation.
    pub stacks: BTreeMap<String, CfnEngine>,
    /// How often each `[[interrupt]]` of the fault script has fired.
    #[serde(default)]
    pub interrupts_fired: BTreeMap<String, u32>,
    /// IAM's service-linked roles: role name -> the service's principal.
    /// A fresh account has none.
    #[serde(default)]
    pub service_roles: BTreeMap<String, String>,
    /// S3 Block Public Access for the whole account; `None`: not set.
    #[serde(default)]
    pub public_access_block: Option<PublicAccessBlock>,
    /// IAM users and their access keys, by id only: IAM hands a key's
    /// secret out once, in the CreateAccessKey answer, and keeps no copy
    /// anyone can read; the sandbox keeps none at all. An account file
    /// written before IAM users were modelled gets the seeded ones.
    #[serde(default = "seeded_iam_users")]
    pub iam_users: Vec<IamUser>,
}

/// An IAM user, as far as the installer deals with one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamUser {
    pub name: String,
    /// e.g. `/ph-installer/`.
    pub path: String,
    /// In the order they were created.
    pub access_keys: Vec<StoredAccessKey>,
}

/// An access key without its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAccessKey {
    pub id: String,
    pub status: AccessKeyStatus,
    pub created: SystemTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionState {
    pub code: RegionCode,
    pub opt_in: OptInStatus,
    pub az_count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Zone {
    pub id: String,
    /// Lower case, ending with a dot.
    pub name: String,
    pub private: bool,
    pub records: Vec<StoredRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRecord {
    pub set: RecordSet,
    /// When the record got its current value.
    pub since: SystemTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredCertificate {
    pub arn: String,
    pub domain: String,
    pub sans: Vec<String>,
    pub requested_at: SystemTime,
    pub idempotency_token: Option<String>,
    pub tags: Vec<Tag>,
    pub status: CertificateStatus,
    pub issued_at: Option<SystemTime>,
    pub not_after: Option<SystemTime>,
    pub in_use: bool,
    /// Base domain (without `*.`) -> the CNAME ACM wants.
    pub records: BTreeMap<String, ValidationRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredInstance {
    pub instance: Instance,
    /// When pending metadata options become applied.
    pub metadata_applies_at: Option<SystemTime>,
    /// The stack that created it (an `AWS::EC2::Instance` resource), if any:
    /// such instances come and go with their stack.
    #[serde(default)]
    pub stack: Option<String>,
}

// ---------------------------------------------------------------- seed

impl AccountState {
    /// A fresh account: regions, two hosted zones, a few certificates, the
    /// installer instance and its bootstrap stack, and the provisioning
    /// user, with virtual time starting at `real_now`.
    pub fn seed(real_now: SystemTime, speed: f64) -> AccountState {
        let now = real_now;
        let regions = known_regions()
            .into_iter()
            .map(|k| {
                let opt_in = if !k.opt_in {
                    OptInStatus::OptInNotRequired
                } else if OPTED_IN.contains(&k.code.as_str()) {
                    OptInStatus::OptedIn
                } else {
                    OptInStatus::NotOptedIn
                };
                let az_count = match k.code.as_str() {
                    "us-west-1" => 2,
                    "us-east-1" => 6,
                    _ => 3,
                };
                RegionState {
                    code: k.code,
                    opt_in,
                    az_count,
                }
            })
            .collect();

        let zones = vec![
            Zone::new(PUBLIC_ZONE_ID, "example.com.", false, now),
            Zone::new(PRIVATE_ZONE_ID, "internal.example.com.", true, now),
        ];

        let days = |d: u64| Duration::from_secs(d * 86_400);
        let mut certificates: BTreeMap<String, Vec<StoredCertificate>> = BTreeMap::new();
        let wildcard_id = "0b7e5c1a-5a1d-4c3e-9d2f-1f6a2b3c4d5e";
        let expired_id = "6f1d2e3c-4b5a-4978-8e6f-5d4c3b2a1f0e";
        let pending_id = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
        certificates.insert(
            HOME_REGION.into(),
            vec![
                StoredCertificate {
                    arn: cert_arn(HOME_REGION, wildcard_id),
                    domain: "*.example.com".into(),
                    sans: vec!["example.com".into()],
                    requested_at: now - days(170),
                    idempotency_token: None,
                    tags: vec![],
                    status: CertificateStatus::Issued,
                    issued_at: Some(now - days(170)),
                    not_after: Some(now + days(225)),
                    in_use: false,
                    records: BTreeMap::from([(
                        "example.com".to_string(),
                        validation_record("example.com", wildcard_id),
                    )]),
                },
                StoredCertificate {
                    arn: cert_arn(HOME_REGION, expired_id),
                    domain: "legacy.example.com".into(),
                    sans: vec![],
                    requested_at: now - days(420),
                    idempotency_token: None,
                    tags: vec![],
                    status: CertificateStatus::Expired,
                    issued_at: Some(now - days(420)),
                    not_after: Some(now - days(25)),
                    in_use: false,
                    records: BTreeMap::from([(
                        "legacy.example.com".to_string(),
                        validation_record("legacy.example.com", expired_id),
                    )]),
                },
            ],
        );
        // Requested, but its CNAME was never added: pending until it is.
        certificates.insert(
            "eu-west-1".into(),
            vec![StoredCertificate {
                arn: cert_arn("eu-west-1", pending_id),
                domain: "shop.example.com".into(),
                sans: vec![],
                requested_at: now - Duration::from_secs(3600),
                idempotency_token: None,
                tags: vec![],
                status: CertificateStatus::PendingValidation,
                issued_at: None,
                not_after: None,
                in_use: false,
                records: BTreeMap::from([(
                    "shop.example.com".to_string(),
                    validation_record("shop.example.com", pending_id),
                )]),
            }],
        );

        let mut instances = BTreeMap::new();
        instances.insert(
            HOME_REGION.into(),
            vec![StoredInstance {
                instance: Instance {
                    id: INSTALLER_INSTANCE_ID.into(),
                    name: Some("ph-installer".into()),
                    state: "running".into(),
                    instance_type: "t3.small".into(),
                    availability_zone: Some(format!("{HOME_REGION}a")),
                    tags: vec![Tag::new("Name", "ph-installer")],
                    metadata: MetadataOptions {
                        http_tokens: HttpTokens::Optional,
                        hop_limit: 1,
                        endpoint_enabled: true,
                        state: MetadataState::Applied,
                    },
                },
                metadata_applies_at: None,
                stack: None,
            }],
        );

        AccountState {
            format: FORMAT,
            generation: 0,
            clock: ClockAnchor::starting(real_now, speed),
            timings: Timings::default(),
            regions,
            zones,
            changes: BTreeMap::new(),
            certificates,
            instances,
            stacks: BTreeMap::from([(HOME_REGION.to_string(), bootstrap_engine(now))]),
            interrupts_fired: BTreeMap::new(),
            service_roles: BTreeMap::new(),
            public_access_block: None,
            iam_users: seeded_iam_users(),
        }
    }

    /// Moves timed transitions forward to `now`. Returns whether anything changed.
    pub fn settle(&mut self, now: SystemTime) -> bool {
        let mut changed = false;
        let timings = self.timings.clone();
        for certs in self.certificates.values_mut() {
            for cert in certs.iter_mut() {
                changed |= settle_certificate(cert, &self.zones, &timings, now);
            }
        }
        for instances in self.instances.values_mut() {
            for i in instances.iter_mut() {
                if let Some(at) = i.metadata_applies_at
                    && at <= now
                {
                    i.instance.metadata.state = MetadataState::Applied;
                    i.metadata_applies_at = None;
                    changed = true;
                }
            }
        }
        changed
    }

    pub fn region(&self, code: &RegionCode) -> Option<&RegionState> {
        self.regions.iter().find(|r| r.code == *code)
    }

    /// Refuses calls to a regional service in a region the account cannot use.
    pub fn check_region_usable(&self, code: &RegionCode, action: &str) -> CloudResult<()> {
        match self.region(code) {
            None => Err(CloudError::UnknownRegion {
                region: code.to_string(),
                detail: format!("{action}: the sandbox account has no region {code}"),
            }),
            // What EC2 says there: AuthFailure "... not enabled", which the
            // AWS adapter maps to the same variant.
            Some(r) if r.opt_in == OptInStatus::NotOptedIn => Err(CloudError::RegionNotEnabled {
                region: Some(code.to_string()),
                detail: format!("{action}: {code} is an opt-in region that is not enabled"),
            }),
            Some(_) => Ok(()),
        }
    }
}

impl AccountState {
    /// A public or private hosted zone named `name`, as CreateHostedZone
    /// makes it (NS and SOA records); returns its bare id.
    pub fn add_zone(&mut self, name: &str, private: bool, now: SystemTime) -> String {
        let name = fqdn(name);
        let id = format!(
            "Z{}",
            super::cfn::ids::hex(&[&name, &self.zones.len().to_string(), "zone"], 20)
                .to_uppercase()
        );
        self.zones.push(Zone::new(&id, &name, private, now));
        id
    }

    /// A running instance in `region`, as RunInstances makes it (IMDSv1
    /// still allowed, hop limit 1, AWS's defaults); returns its id.
    pub fn add_instance(
        &mut self,
        region: &RegionCode,
        instance_type: &str,
        tags: Vec<Tag>,
    ) -> String {
        let list = self.instances.entry(region.to_string()).or_default();
        let id = format!(
            "i-{}",
            super::cfn::ids::hex(&[region.as_str(), &list.len().to_string(), "instance"], 17)
        );
        list.push(StoredInstance {
            instance: Instance {
                id: id.clone(),
                name: tags
                    .iter()
                    .find(|t| t.key == "Name")
                    .map(|t| t.value.clone()),
                state: "running".into(),
                instance_type: instance_type.into(),
                availability_zone: Some(format!("{region}a")),
                tags,
                metadata: MetadataOptions {
                    http_tokens: HttpTokens::Optional,
                    hop_limit: 1,
                    endpoint_enabled: true,
                    state: MetadataState::Applied,
                },
            },
            metadata_applies_at: None,
            stack: None,
        });
        id
    }
}

impl Zone {
    fn new(id: &str, name: &str, private: bool, now: SystemTime) -> Zone {
        let soa = RecordSet {
            name: name.into(),
            record_type: "SOA".into(),
            ttl: Some(900),
            values: vec![
                "ns-1536.awsdns-00.co.uk. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"
                    .into(),
            ],
            alias: None,
        };
        let ns = RecordSet {
            name: name.into(),
            record_type: "NS".into(),
            ttl: Some(172_800),
            values: vec![
                "ns-1536.awsdns-00.co.uk.".into(),
                "ns-0.awsdns-00.com.".into(),
                "ns-1024.awsdns-00.org.".into(),
                "ns-512.awsdns-00.net.".into(),
            ],
            alias: None,
        };
        Zone {
            id: id.into(),
            name: name.into(),
            private,
            records: vec![
                StoredRecord {
                    set: ns,
                    since: now,
                },
                StoredRecord {
                    set: soa,
                    since: now,
                },
            ],
        }
    }

    pub fn summary(&self) -> HostedZone {
        HostedZone {
            id: self.id.clone(),
            name: self.name.clone(),
            private: self.private,
            record_count: self.records.len() as u64,
        }
    }
}

// ---------------------------------------------------------------- names

pub use crate::core::text::fqdn;

fn in_zone(name: &str, zone: &str) -> bool {
    name == zone || name.ends_with(&format!(".{zone}"))
}

/// Route 53's listing order: by name read from the top label down, then type.
fn listing_key(r: &RecordSet) -> (Vec<String>, String) {
    let labels = r
        .name
        .trim_end_matches('.')
        .split('.')
        .rev()
        .map(str::to_string)
        .collect();
    (labels, r.record_type.clone())
}

// ---------------------------------------------------------------- regions

/// `us-east-1` -> `use1`, `ap-southeast-2` -> `apse2`, `eu-central-1` -> `euc1`.
pub fn zone_id_prefix(region: &str) -> String {
    let parts: Vec<&str> = region.split('-').collect();
    if parts.len() < 3 {
        return region.replace('-', "");
    }
    let direction: String = match parts[1] {
        "northeast" => "ne".into(),
        "northwest" => "nw".into(),
        "southeast" => "se".into(),
        "southwest" => "sw".into(),
        other => other.chars().take(1).collect(),
    };
    format!("{}{}{}", parts[0], direction, parts[parts.len() - 1])
}

/// The zone letters and zone ID numbers this account sees in `region`.
/// Names are shuffled per account; IDs are the physical zones. Where real
/// accounts see gaps (us-west-1 offers usw1-az1 and -az3 as 1a and 1c;
/// ca-central-1 offers cac1-az1, -az2, -az4 as 1a, 1b, 1d), the sandbox
/// shows the same; elsewhere the IDs are rotated against the names, so that
/// us-east-1b is use1-az3, a zone EKS cannot use.
pub fn zone_letters_and_ids(region: &str, count: usize) -> Vec<(char, usize)> {
    match region {
        "us-west-1" => vec![('a', 3), ('c', 1)],
        "ca-central-1" => vec![('a', 1), ('b', 2), ('d', 4)],
        _ => (0..count)
            .map(|i| ((b'a' + i as u8) as char, (i + 1) % count + 1))
            .collect(),
    }
}

impl AccountState {
    pub fn availability_zones(&self, region: &RegionCode) -> CloudResult<Vec<AvailabilityZone>> {
        self.check_region_usable(region, actions::DESCRIBE_AVAILABILITY_ZONES)?;
        let count = self.region(region).map_or(0, |r| r.az_count);
        let prefix = zone_id_prefix(region.as_str());
        Ok(zone_letters_and_ids(region.as_str(), count)
            .into_iter()
            .map(|(letter, id)| AvailabilityZone {
                name: format!("{region}{letter}"),
                zone_id: format!("{prefix}-az{id}"),
                state: "available".into(),
            })
            .collect())
    }

    pub fn instance_type_offerings(
        &self,
        region: &RegionCode,
        types: &[String],
    ) -> CloudResult<Vec<String>> {
        self.check_region_usable(region, actions::DESCRIBE_INSTANCE_TYPE_OFFERINGS)?;
        let mut out: Vec<String> = Vec::new();
        for t in types.iter().filter(|t| offered(region.as_str(), t)) {
            if !out.contains(t) {
                out.push(t.clone());
            }
        }
        Ok(out)
    }
}

/// Whether the sandbox offers `instance_type` in `region`.
pub fn offered(region: &str, instance_type: &str) -> bool {
    let Some((family, size)) = instance_type.split_once('.') else {
        return false;
    };
    let known = (BURSTABLE.contains(&family) && BURSTABLE_SIZES.contains(&size))
        || (FAMILIES.contains(&family) && SIZES.contains(&size));
    let seventh = family.as_bytes().get(1) == Some(&b'7');
    known && !(seventh && WITHOUT_7TH_GEN.contains(&region)) && !MISSING.contains(&(region, family))
}

// ---------------------------------------------------------------- route 53

const R53_CHANGE: &str = actions::CHANGE_RESOURCE_RECORD_SETS;

fn bare_zone_id(id: &str) -> &str {
    id.trim_start_matches("/hostedzone/")
}

impl AccountState {
    pub fn zones_named(&self, name: &str) -> Vec<HostedZone> {
        let name = fqdn(name);
        self.zones
            .iter()
            .filter(|z| z.name == name)
            .map(Zone::summary)
            .collect()
    }

    fn zone(&self, id: &str) -> CloudResult<&Zone> {
        let id = bare_zone_id(id);
        self.zones.iter().find(|z| z.id == id).ok_or_else(|| {
            CloudError::not_found(format!("Route 53 hosted zone {id} (NoSuchHostedZone)"))
        })
    }

    pub fn list_records(&self, zone_id: &str) -> CloudResult<Vec<RecordSet>> {
        let zone = self.zone(zone_id)?;
        let mut sets: Vec<RecordSet> = zone.records.iter().map(|r| r.set.clone()).collect();
        sets.sort_by_key(listing_key);
        // Route 53 lists a wildcard label in octal: `*.example.com` as `\052.example.com.`
        for set in &mut sets {
            set.name = set.name.replace('*', "\\052");
        }
        Ok(sets)
    }

    /// Applies a change batch all-or-nothing, as Route 53 does.
    pub fn change_records(
        &mut self,
        zone_id: &str,
        changes: &[RecordChange],
        now: SystemTime,
    ) -> CloudResult<DnsChange> {
        let zone_id = bare_zone_id(zone_id).to_string();
        let zone = self.zone(&zone_id)?;
        let bad = |m: String| CloudError::invalid(R53_CHANGE, format!("InvalidChangeBatch: {m}"));
        if changes.is_empty() {
            return Err(bad(
                "the change batch is empty; give at least one change".into()
            ));
        }
        let zone_name = zone.name.clone();
        let mut records = zone.records.clone();
        for change in changes {
            let mut set = change.record.clone();
            set.name = fqdn(&set.name.replace("\\052", "*"));
            set.record_type = set.record_type.trim().to_ascii_uppercase();
            let label = format!("[name='{}', type='{}']", set.name, set.record_type);
            if !in_zone(&set.name, &zone_name) {
                return Err(bad(format!(
                    "RRSet with DNS name {} is not permitted in zone {zone_name}",
                    set.name
                )));
            }
            let has_values = !set.values.is_empty() && set.ttl.is_some();
            if set.alias.is_some() == has_values || (set.alias.is_some() && set.ttl.is_some()) {
                return Err(bad(format!(
                    "{label} needs exactly one of an alias target, or a TTL and at least one value"
                )));
            }
            let existing = records
                .iter()
                .position(|r| r.set.name == set.name && r.set.record_type == set.record_type);
            let apex_guard =
                set.name == zone_name && (set.record_type == "SOA" || set.record_type == "NS");
            match change.action {
                RecordAction::Create | RecordAction::Upsert => {
                    if change.action == RecordAction::Create && existing.is_some() {
                        return Err(bad(format!(
                            "Tried to create resource record set {label} but it already exists"
                        )));
                    }
                    let conflicts = records.iter().any(|r| {
                        r.set.name == set.name
                            && r.set.record_type != set.record_type
                            && (r.set.record_type == "CNAME" || set.record_type == "CNAME")
                    });
                    if conflicts {
                        return Err(bad(format!(
                            "RRSet of type CNAME with DNS name {} is not permitted as it \
                             conflicts with other records with the same DNS name in zone {zone_name}",
                            set.name
                        )));
                    }
                    match existing {
                        Some(i) if records[i].set == set => {}
                        Some(i) => records[i] = StoredRecord { set, since: now },
                        None => records.push(StoredRecord { set, since: now }),
                    }
                }
                RecordAction::Delete => {
                    let Some(i) = existing else {
                        return Err(bad(format!(
                            "Tried to delete resource record set {label} but it was not found"
                        )));
                    };
                    if records[i].set != set {
                        return Err(bad(format!(
                            "Tried to delete resource record set {label} but the values provided \
                             do not match the current values"
                        )));
                    }
                    if apex_guard {
                        return Err(bad(format!(
                            "A HostedZone must contain at least one NS record and exactly one SOA \
                             record for the zone itself; {label} cannot be deleted"
                        )));
                    }
                    records.remove(i);
                }
            }
        }
        let zone = self
            .zones
            .iter_mut()
            .find(|z| z.id == zone_id)
            .expect("zone found above");
        zone.records = records;
        let id = format!(
            "C{}",
            &uuid::Uuid::new_v4()
                .simple()
                .to_string()
                .to_ascii_uppercase()[..20]
        );
        self.changes.insert(id.clone(), now);
        Ok(DnsChange {
            status: self.change_status(now, now),
            id,
        })
    }

    fn change_status(&self, submitted: SystemTime, now: SystemTime) -> ChangeStatus {
        if now >= submitted + Duration::from_secs(self.timings.dns_sync_secs) {
            ChangeStatus::InSync
        } else {
            ChangeStatus::Pending
        }
    }

    pub fn get_change(&self, change_id: &str, now: SystemTime) -> CloudResult<DnsChange> {
        let id = change_id.trim_start_matches("/change/");
        let submitted = self
            .changes
            .get(id)
            .ok_or_else(|| CloudError::not_found(format!("Route 53 change {id} (NoSuchChange)")))?;
        Ok(DnsChange {
            id: id.to_string(),
            status: self.change_status(*submitted, now),
        })
    }
}

// ---------------------------------------------------------------- acm

const ACM_REQUEST: &str = actions::REQUEST_CERTIFICATE;

fn cert_arn(region: &str, id: &str) -> String {
    format!("arn:aws:acm:{region}:{ACCOUNT_ID}:certificate/{id}")
}

/// The CNAME ACM asks for, derived from the certificate and the domain so
/// the same request gives the same record.
fn validation_record(base_domain: &str, cert_id: &str) -> ValidationRecord {
    ValidationRecord {
        name: format!(
            "_{}.{}",
            super::cfn::ids::hex(&[base_domain, cert_id, "name"], 32),
            fqdn(base_domain)
        ),
        record_type: "CNAME".into(),
        value: format!(
            "_{}.{}.acm-validations.aws.",
            super::cfn::ids::hex(&[base_domain, cert_id, "value"], 32),
            super::cfn::ids::hex(&[base_domain, cert_id, "host"], 10)
        ),
    }
}

fn base_domain(domain: &str) -> &str {
    domain.strip_prefix("*.").unwrap_or(domain)
}

impl StoredCertificate {
    /// The domain followed by the SANs, without repeats.
    fn names(&self) -> Vec<String> {
        let mut names = vec![self.domain.clone()];
        for s in &self.sans {
            if !names.contains(s) {
                names.push(s.clone());
            }
        }
        names
    }

    fn to_summary(&self) -> CertificateSummary {
        CertificateSummary {
            arn: self.arn.clone(),
            domain: self.domain.clone(),
            sans: self.names(),
            status: self.status.clone(),
            not_after: self.not_after,
            in_use: self.in_use,
        }
    }
}

/// When ACM sees the validation of `base` succeed, if it can yet.
fn validation_success_at(
    cert: &StoredCertificate,
    base: &str,
    zones: &[Zone],
    t: &Timings,
) -> Option<SystemTime> {
    let record = cert.records.get(base)?;
    let records_at = cert.requested_at + Duration::from_secs(t.acm_records_secs);
    let covering = zones
        .iter()
        .filter(|z| !z.private && in_zone(&fqdn(base), &z.name))
        .max_by_key(|z| z.name.len());
    match covering {
        // DNS outside the sandbox: the operator adds the CNAME elsewhere.
        None => Some(cert.requested_at + Duration::from_secs(t.acm_external_validate_secs)),
        Some(_) => {
            let want = fqdn(&record.value);
            let since = zones
                .iter()
                .filter(|z| !z.private)
                .flat_map(|z| z.records.iter())
                .filter(|r| {
                    r.set.name == fqdn(&record.name)
                        && r.set.record_type == "CNAME"
                        && r.set.values.iter().any(|v| fqdn(v) == want)
                })
                .map(|r| r.since)
                .min()?;
            Some(since.max(records_at) + Duration::from_secs(t.acm_validate_secs))
        }
    }
}

fn settle_certificate(
    cert: &mut StoredCertificate,
    zones: &[Zone],
    t: &Timings,
    now: SystemTime,
) -> bool {
    match cert.status {
        CertificateStatus::PendingValidation => {
            let times: Option<Vec<SystemTime>> = cert
                .names()
                .iter()
                .map(|n| validation_success_at(cert, base_domain(n), zones, t))
                .collect();
            let issued = times.and_then(|ts| ts.into_iter().max());
            match issued {
                Some(at) if at <= now => {
                    cert.status = CertificateStatus::Issued;
                    cert.issued_at = Some(at);
                    cert.not_after = Some(at + Duration::from_secs(395 * 86_400));
                    true
                }
                _ if now >= cert.requested_at + Duration::from_secs(t.acm_timeout_secs) => {
                    cert.status = CertificateStatus::ValidationTimedOut;
                    true
                }
                _ => false,
            }
        }
        CertificateStatus::Issued if cert.not_after.is_some_and(|na| na <= now) => {
            cert.status = CertificateStatus::Expired;
            true
        }
        _ => false,
    }
}

impl AccountState {
    pub fn list_certificates(&self, region: &RegionCode) -> Vec<CertificateSummary> {
        self.certificates
            .get(region.as_str())
            .map(|certs| certs.iter().map(StoredCertificate::to_summary).collect())
            .unwrap_or_default()
    }

    pub fn describe_certificate(
        &self,
        region: &RegionCode,
        arn: &str,
        now: SystemTime,
    ) -> CloudResult<Certificate> {
        let cert = self
            .certificates
            .get(region.as_str())
            .and_then(|certs| certs.iter().find(|c| c.arn == arn))
            .ok_or_else(|| {
                CloudError::not_found(format!(
                    "ACM certificate {arn} in {region} (ResourceNotFoundException: Could not \
                     find certificate {arn})"
                ))
            })?;
        let records_visible =
            now >= cert.requested_at + Duration::from_secs(self.timings.acm_records_secs);
        let validations = cert
            .names()
            .into_iter()
            .map(|domain| {
                let status = match cert.status {
                    CertificateStatus::PendingValidation => "PENDING_VALIDATION",
                    CertificateStatus::ValidationTimedOut | CertificateStatus::Failed => "FAILED",
                    _ => "SUCCESS",
                };
                DomainValidation {
                    record: cert
                        .records
                        .get(base_domain(&domain))
                        .filter(|_| records_visible)
                        .cloned(),
                    domain,
                    status: status.into(),
                }
            })
            .collect();
        Ok(Certificate {
            arn: cert.arn.clone(),
            domain: cert.domain.clone(),
            sans: cert.names(),
            status: cert.status.clone(),
            not_after: cert.not_after,
            in_use: cert.in_use,
            validations,
            failure_reason: None,
        })
    }

    pub fn request_certificate(
        &mut self,
        region: &RegionCode,
        req: &CertificateRequest,
        now: SystemTime,
    ) -> CloudResult<String> {
        let domain = req.domain.trim().trim_end_matches('.').to_ascii_lowercase();
        check_cert_domain(&domain)?;
        let mut sans = Vec::new();
        for s in &req.sans {
            let s = s.trim().trim_end_matches('.').to_ascii_lowercase();
            check_cert_domain(&s)?;
            if s != domain && !sans.contains(&s) {
                sans.push(s);
            }
        }
        if sans.len() + 1 > 10 {
            return Err(CloudError::invalid(
                ACM_REQUEST,
                format!(
                    "LimitExceededException: {} names were requested; a certificate covers at \
                     most 10 (the domain and 9 alternative names) unless the quota is raised",
                    sans.len() + 1
                ),
            ));
        }
        let token = req.idempotency_token.trim();
        let token = if token.is_empty() {
            None
        } else {
            if token.len() > 32 || !token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(CloudError::invalid(
                    ACM_REQUEST,
                    format!(
                        "ValidationException: the idempotency token '{token}' must be 1 to 32 \
                         letters, digits or underscores (\\w+)"
                    ),
                ));
            }
            Some(token.to_string())
        };
        let certs = self.certificates.entry(region.to_string()).or_default();
        if let Some(t) = &token
            && let Some(c) = certs.iter().find(|c| {
                c.idempotency_token.as_ref() == Some(t)
                    && now < c.requested_at + Duration::from_secs(3600)
            })
        {
            return Ok(c.arn.clone());
        }
        let id = uuid::Uuid::new_v4().to_string();
        let mut records = BTreeMap::new();
        for n in std::iter::once(&domain).chain(sans.iter()) {
            let base = base_domain(n).to_string();
            let rec = validation_record(&base, &id);
            records.entry(base).or_insert(rec);
        }
        let arn = cert_arn(region.as_str(), &id);
        certs.push(StoredCertificate {
            arn: arn.clone(),
            domain,
            sans,
            requested_at: now,
            idempotency_token: token,
            tags: req.tags.clone(),
            status: CertificateStatus::PendingValidation,
            issued_at: None,
            not_after: None,
            in_use: false,
            records,
        });
        Ok(arn)
    }
}

fn check_cert_domain(d: &str) -> CloudResult<()> {
    let base = base_domain(d);
    let ok = !base.is_empty()
        && d.len() <= 253
        && base.contains('.')
        && base.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Ok(())
    } else {
        Err(CloudError::invalid(
            ACM_REQUEST,
            format!(
                "ValidationException: '{d}' is not a valid domain name; give a fully qualified \
                 name such as shop.example.com (a leading *. for a wildcard)"
            ),
        ))
    }
}

// ---------------------------------------------------------------- ec2

const MODIFY_METADATA: &str = actions::MODIFY_INSTANCE_METADATA_OPTIONS;

impl AccountState {
    pub fn describe_instances(
        &self,
        region: &RegionCode,
        filter: &InstanceFilter,
    ) -> CloudResult<Vec<Instance>> {
        let all = self
            .instances
            .get(region.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        if let Some(missing) = filter
            .ids
            .iter()
            .find(|id| !all.iter().any(|i| i.instance.id == **id))
        {
            return Err(instance_not_found(missing));
        }
        Ok(all
            .iter()
            .map(|i| &i.instance)
            .filter(|i| filter.ids.is_empty() || filter.ids.contains(&i.id))
            .filter(|i| filter.tags.iter().all(|t| i.tags.contains(t)))
            .cloned()
            .collect())
    }

    fn instance_mut(&mut self, region: &RegionCode, id: &str) -> CloudResult<&mut StoredInstance> {
        self.instances
            .get_mut(region.as_str())
            .and_then(|all| all.iter_mut().find(|i| i.instance.id == id))
            .ok_or_else(|| instance_not_found(id))
    }

    /// The options after `change`, or why EC2 would refuse it.
    pub fn check_modify_metadata(
        &mut self,
        region: &RegionCode,
        id: &str,
        change: &MetadataChange,
    ) -> CloudResult<MetadataOptions> {
        let current = self.instance_mut(region, id)?.instance.metadata.clone();
        if let Some(h) = change.hop_limit
            && !(1..=64).contains(&h)
        {
            return Err(CloudError::invalid(
                MODIFY_METADATA,
                format!(
                    "InvalidParameterValue: HttpPutResponseHopLimit {h} is out of range; it must \
                     be between 1 and 64 (2 where containers call the metadata service)"
                ),
            ));
        }
        if change.http_tokens.is_none()
            && change.hop_limit.is_none()
            && change.endpoint_enabled.is_none()
        {
            return Err(CloudError::invalid(
                MODIFY_METADATA,
                "InvalidParameterCombination: no metadata option to change was given",
            ));
        }
        Ok(MetadataOptions {
            http_tokens: change.http_tokens.unwrap_or(current.http_tokens),
            hop_limit: change.hop_limit.unwrap_or(current.hop_limit),
            endpoint_enabled: change.endpoint_enabled.unwrap_or(current.endpoint_enabled),
            state: MetadataState::Pending,
        })
    }

    pub fn modify_metadata(
        &mut self,
        region: &RegionCode,
        id: &str,
        change: &MetadataChange,
        now: SystemTime,
    ) -> CloudResult<MetadataOptions> {
        let next = self.check_modify_metadata(region, id, change)?;
        let applies = now + Duration::from_secs(self.timings.metadata_apply_secs);
        let stored = self.instance_mut(region, id)?;
        stored.instance.metadata = next.clone();
        stored.metadata_applies_at = Some(applies);
        Ok(next)
    }
}

/// Instance settings read from an `AWS::EC2::Instance` resource's
/// properties (parameters already substituted; anything unresolved is
/// ignored, leaving EC2's defaults).
fn instance_from_resource(
    region: &RegionCode,
    stack: &str,
    resource: &LiveResource,
    id: &str,
) -> Instance {
    let props = &resource.properties;
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    let options = &props["MetadataOptions"];
    let http_tokens = match options["HttpTokens"].as_str() {
        Some("required") => HttpTokens::Required,
        _ => HttpTokens::Optional,
    };
    let hop_limit = options["HttpPutResponseHopLimit"]
        .as_u64()
        .or_else(|| options["HttpPutResponseHopLimit"].as_str()?.parse().ok())
        .and_then(|h| u8::try_from(h).ok())
        .unwrap_or(1);
    let endpoint_enabled = options["HttpEndpoint"].as_str() != Some("disabled");
    let mut tags: Vec<Tag> = props["Tags"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .filter_map(|t| Some(Tag::new(text(&t["Key"])?, text(&t["Value"])?)))
                .collect()
        })
        .unwrap_or_default();
    tags.push(Tag::new("aws:cloudformation:stack-name", stack));
    tags.push(Tag::new(
        "aws:cloudformation:logical-id",
        resource.logical_id.as_str(),
    ));
    let name = tags
        .iter()
        .find(|t| t.key == "Name")
        .map(|t| t.value.clone());
    Instance {
        id: id.to_string(),
        name,
        state: "running".into(),
        instance_type: text(&props["InstanceType"]).unwrap_or_else(|| "t3.micro".into()),
        availability_zone: Some(format!("{region}a")),
        tags,
        metadata: MetadataOptions {
            http_tokens,
            hop_limit,
            endpoint_enabled,
            state: MetadataState::Applied,
        },
    }
}

impl AccountState {
    /// Makes EC2 agree with CloudFormation in `region`: an instance a stack
    /// created appears (with the metadata options its template gave it) and
    /// disappears when the stack deletes it. Options changed through EC2 since
    /// are kept. Returns whether anything changed.
    pub fn sync_stack_instances(&mut self, region: &RegionCode, now: SystemTime) -> bool {
        let Some(engine) = self.stacks.get_mut(region.as_str()) else {
            return false;
        };
        let mut live: Vec<(String, Instance)> = Vec::new();
        let names: Vec<String> = engine
            .list_stacks(now)
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.name)
            .collect();
        for stack in names {
            for r in engine.live_resources(now, &stack).unwrap_or_default() {
                let created = r.status.ends_with("_COMPLETE") && !r.status.starts_with("DELETE");
                if r.resource_type != "AWS::EC2::Instance" || !created {
                    continue;
                }
                if let Some(id) = &r.physical_id {
                    live.push((
                        stack.clone(),
                        instance_from_resource(region, &stack, &r, id),
                    ));
                }
            }
        }
        let all = self.instances.entry(region.to_string()).or_default();
        let before = all.len();
        all.retain(|i| i.stack.is_none() || live.iter().any(|(_, l)| l.id == i.instance.id));
        let mut changed = all.len() != before;
        for (stack, instance) in live {
            if !all.iter().any(|i| i.instance.id == instance.id) {
                all.push(StoredInstance {
                    instance,
                    metadata_applies_at: None,
                    stack: Some(stack),
                });
                changed = true;
            }
        }
        changed
    }
}

fn instance_not_found(id: &str) -> CloudError {
    CloudError::not_found(format!(
        "EC2 instance {id} (InvalidInstanceID.NotFound: The instance ID '{id}' does not exist)"
    ))
}

/// The role IAM creates for each service principal the install relies on,
/// as `iam create-service-linked-role --aws-service-name` names it.
const SERVICE_ROLE_NAMES: &[(&str, &str)] = &[
    (
        "opensearchservice.amazonaws.com",
        "AWSServiceRoleForAmazonOpenSearchService",
    ),
    (
        "es.amazonaws.com",
        "AWSServiceRoleForAmazonElasticsearchService",
    ),
    ("kafka.amazonaws.com", "AWSServiceRoleForKafka"),
    ("elasticache.amazonaws.com", "AWSServiceRoleForElastiCache"),
    ("rds.amazonaws.com", "AWSServiceRoleForRDS"),
    ("eks.amazonaws.com", "AWSServiceRoleForAmazonEKS"),
    (
        "eks-nodegroup.amazonaws.com",
        "AWSServiceRoleForAmazonEKSNodegroup",
    ),
    ("autoscaling.amazonaws.com", "AWSServiceRoleForAutoScaling"),
    (
        "elasticloadbalancing.amazonaws.com",
        "AWSServiceRoleForElasticLoadBalancing",
    ),
];

impl AccountState {
    /// CreateServiceLinkedRole: IAM refuses a second role for the same
    /// service with InvalidInput ("has been taken"), which the port reports
    /// as [`ServiceRoleOutcome::AlreadyExisted`].
    pub fn create_service_linked_role(&mut self, service: &str) -> CloudResult<ServiceRoleOutcome> {
        let Some((_, role)) = SERVICE_ROLE_NAMES.iter().find(|(s, _)| *s == service) else {
            return Err(CloudError::invalid(
                actions::CREATE_SERVICE_LINKED_ROLE,
                format!("Cannot find Service Linked Role template for {service}"),
            ));
        };
        if self.service_roles.contains_key(*role) {
            return Ok(ServiceRoleOutcome::AlreadyExisted);
        }
        self.service_roles
            .insert(role.to_string(), service.to_string());
        Ok(ServiceRoleOutcome::Created)
    }

    /// S3 Control GetPublicAccessBlock for `account_id`.
    pub fn public_access_block(&self, account_id: &str) -> CloudResult<Option<PublicAccessBlock>> {
        if account_id != ACCOUNT_ID {
            return Err(CloudError::AccessDenied {
                action: actions::GET_ACCOUNT_PUBLIC_ACCESS_BLOCK.into(),
                detail: format!("account {account_id} is not the caller's account"),
            });
        }
        Ok(self.public_access_block)
    }

    /// Sets the account's Block Public Access, as an administrator would.
    pub fn set_public_access_block(&mut self, block: Option<PublicAccessBlock>) {
        self.public_access_block = block;
    }

    /// Role names of the account's service-linked roles.
    pub fn service_role_names(&self) -> Vec<String> {
        self.service_roles.keys().cloned().collect()
    }
}

// ---------------------------------------------------------------- iam

/// IAM's quota of access keys per user, active or inactive (IAM quotas).
const ACCESS_KEYS_PER_USER: usize = 2;
/// What IAM says when CreateAccessKey would pass that quota (LimitExceeded).
const ACCESS_KEY_QUOTA_MESSAGE: &str = "Cannot exceed quota for AccessKeysPerUser: 2";
/// Access key ids are `AKIA` and 16 characters of base32's alphabet.
const ACCESS_KEY_ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Secret access keys are 40 characters of base64's alphabet.
const SECRET_KEY_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The provisioning user installer.yaml creates. Its template gives no
/// UserName, so CloudFormation names it `<stack>-<logical id>-<12 upper-case
/// alphanumerics>`, as for the sandbox's own generated names.
pub fn provisioning_user_name() -> String {
    format!(
        "{INSTALLER_STACK_NAME}-ProvisioningUser-{}",
        super::cfn::ids::suffix(&[ACCOUNT_ID, INSTALLER_STACK_NAME, "ProvisioningUser"], 12)
    )
}

/// The home region's CloudFormation as a fresh account has it: the
/// installer's bootstrap stack alone, CREATE_COMPLETE since a day before the
/// sandbox starts, tagged as the installer tells its own stack apart.
fn bootstrap_engine(now: SystemTime) -> CfnEngine {
    let mut engine = CfnEngine::new(ACCOUNT_ID, HOME_REGION);
    engine.adopt_complete_stack(
        INSTALLER_STACK_NAME,
        now - Duration::from_secs(86_400),
        Duration::from_secs(240),
        vec![Tag::new(
            "ph:install",
            crate::core::wizard::BOOTSTRAP_TAG_VALUE,
        )],
        bootstrap_outputs(),
    );
    engine
}

/// installer.yaml's outputs, as the seeded bootstrap stack reports them.
pub fn bootstrap_outputs() -> Vec<StackOutput> {
    let output = |key: &str, value: String, description: &str| StackOutput {
        key: key.to_string(),
        value,
        description: Some(description.to_string()),
        export_name: None,
    };
    vec![
        output(
            "InstallerInstanceId",
            INSTALLER_INSTANCE_ID.to_string(),
            "Connect with \"aws ssm start-session --target <this id>\".",
        ),
        output(
            "InstallerRoleArn",
            format!("arn:aws:iam::{ACCOUNT_ID}:role/ph-installer/{INSTALLER_ROLE_NAME}"),
            "Role of the installer instance.",
        ),
        output(
            "ProvisioningUserName",
            provisioning_user_name(),
            "Fallback provisioning user (no password; the installer creates its access key \
             into its secrets file).",
        ),
    ]
}

/// The users a fresh account has: installer.yaml's provisioning user, under
/// `/ph-installer/`, with no access key yet.
fn seeded_iam_users() -> Vec<IamUser> {
    vec![IamUser {
        name: provisioning_user_name(),
        path: "/ph-installer/".into(),
        access_keys: Vec::new(),
    }]
}

/// `n` characters drawn at random from `alphabet`.
fn random_text(alphabet: &[u8], n: usize) -> String {
    (0..n)
        .map(|_| alphabet[rand::random_range(0..alphabet.len())] as char)
        .collect()
}

/// IAM's NoSuchEntity for a user, in its words.
fn no_such_user(name: &str) -> CloudError {
    CloudError::NotFound {
        what: format!("The user with name {name} cannot be found."),
    }
}

impl AccountState {
    fn iam_user_mut(&mut self, name: &str) -> CloudResult<&mut IamUser> {
        self.iam_users
            .iter_mut()
            .find(|u| u.name == name)
            .ok_or_else(|| no_such_user(name))
    }

    /// ListAccessKeys: the user's keys, oldest first, without secrets.
    pub fn list_access_keys(&self, user_name: &str) -> CloudResult<Vec<AccessKeyInfo>> {
        let user = self
            .iam_users
            .iter()
            .find(|u| u.name == user_name)
            .ok_or_else(|| no_such_user(user_name))?;
        Ok(user
            .access_keys
            .iter()
            .map(|k| AccessKeyInfo {
                id: k.id.clone(),
                status: k.status.clone(),
                created: Some(k.created),
            })
            .collect())
    }

    /// CreateAccessKey: an Active key, its secret made here and returned,
    /// never stored. A user with 2 keys already gets LimitExceeded.
    pub fn create_access_key(
        &mut self,
        user_name: &str,
        now: SystemTime,
    ) -> CloudResult<NewAccessKey> {
        let user = self.iam_user_mut(user_name)?;
        if user.access_keys.len() >= ACCESS_KEYS_PER_USER {
            return Err(CloudError::access_key_limit(
                user_name,
                ACCESS_KEY_QUOTA_MESSAGE,
            ));
        }
        let id = format!("AKIA{}", random_text(ACCESS_KEY_ID_ALPHABET, 16));
        user.access_keys.push(StoredAccessKey {
            id: id.clone(),
            status: AccessKeyStatus::Active,
            created: now,
        });
        Ok(NewAccessKey {
            id,
            secret: Secret::new(random_text(SECRET_KEY_ALPHABET, 40)),
        })
    }

    /// DeleteAccessKey: NoSuchEntity for an unknown user or key.
    pub fn delete_access_key(&mut self, user_name: &str, access_key_id: &str) -> CloudResult<()> {
        let user = self.iam_user_mut(user_name)?;
        let Some(i) = user.access_keys.iter().position(|k| k.id == access_key_id) else {
            return Err(CloudError::NotFound {
                what: format!("The Access Key with id {access_key_id} cannot be found."),
            });
        };
        user.access_keys.remove(i);
        Ok(())
    }
}

impl AccountState {
    /// RDS DescribeOrderableDBInstanceOptions: PostgreSQL 15 to 17 on the
    /// classes whose EC2 family the region offers.
    pub fn db_instance_class_offered(
        &self,
        region: &RegionCode,
        engine: &str,
        version: &str,
        class: &str,
    ) -> CloudResult<bool> {
        self.check_region_usable(region, actions::DESCRIBE_ORDERABLE_DB_INSTANCE_OPTIONS)?;
        let engine_known =
            engine == "postgres" && ["15.", "16.", "17."].iter().any(|v| version.starts_with(v));
        Ok(engine_known
            && class
                .strip_prefix("db.")
                .is_some_and(|t| offered(region.as_str(), t)))
    }

    /// OpenSearch ListInstanceTypeDetails: `<type>.search` for the EC2
    /// types the region offers, for OpenSearch 2.x engine versions.
    pub fn search_instance_types(
        &self,
        region: &RegionCode,
        engine_version: &str,
    ) -> CloudResult<Vec<String>> {
        self.check_region_usable(region, actions::LIST_INSTANCE_TYPE_DETAILS)?;
        if !engine_version.starts_with("OpenSearch_2.") {
            return Err(CloudError::invalid(
                actions::LIST_INSTANCE_TYPE_DETAILS,
                format!("Unsupported engine version {engine_version}"),
            ));
        }
        let mut out = Vec::new();
        for family in FAMILIES.iter().chain(BURSTABLE) {
            let sizes = if BURSTABLE.contains(family) {
                BURSTABLE_SIZES
            } else {
                SIZES
            };
            for size in sizes {
                let t = format!("{family}.{size}");
                if offered(region.as_str(), &t) {
                    out.push(format!("{t}.search"));
                }
            }
        }
        Ok(out)
    }

    /// ElastiCache DescribeReservedCacheNodesOfferings, for one node type.
    pub fn cache_node_type_listed(
        &self,
        region: &RegionCode,
        node_type: &str,
    ) -> CloudResult<bool> {
        self.check_region_usable(region, actions::DESCRIBE_RESERVED_CACHE_NODES_OFFERINGS)?;
        Ok(node_type
            .strip_prefix("cache.")
            .is_some_and(|t| offered(region.as_str(), t)))
    }
}

/// EKS add-ons the sandbox knows, with the top-level settings of their
/// configuration schema. The EBS CSI driver's list follows the driver's Helm
/// chart values (kubernetes-sigs/aws-ebs-csi-driver); that the EKS add-on
/// accepts `storageClasses` is not confirmed by AWS's documentation, which is
/// why the installer asks the real account (stacks/README.md, Known gaps).
pub fn addon_settings(addon: &str, kubernetes_version: &str) -> Option<AddonSettings> {
    let supported = ["1.31", "1.32", "1.33", "1.34"].contains(&kubernetes_version);
    let keys: &[&str] = match addon {
        "aws-ebs-csi-driver" => &[
            "controller",
            "defaultStorageClass",
            "node",
            "sidecars",
            "storageClasses",
            "volumeSnapshotClasses",
        ],
        "eks-pod-identity-agent" => &["agent", "resources", "tolerations"],
        _ => return None,
    };
    supported.then(|| AddonSettings {
        version: "v1.50.0-eksbuild.1".into(),
        keys: keys.iter().map(|k| k.to_string()).collect(),
    })
}
