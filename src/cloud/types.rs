//! Domain types the ports speak. No SDK type appears here.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::core::region::{OptInStatus, RegionCode};
use crate::core::secret::Secret;
use crate::core::stack::{ResourceStatus, StackStatus};

// ---------------------------------------------------------------- regions

/// A commercial region as the account lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRegion {
    pub code: RegionCode,
    pub opt_in: OptInStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvailabilityZone {
    /// e.g. `us-west-1b` (names are shuffled per account).
    pub name: String,
    /// e.g. `usw1-az3` (the same physical zone in every account).
    pub zone_id: String,
    /// `available`, `impaired`, `unavailable` or `information`.
    pub state: String,
}

impl From<&AvailabilityZone> for crate::core::blueprint::zones::OfferedZone {
    fn from(z: &AvailabilityZone) -> Self {
        crate::core::blueprint::zones::OfferedZone {
            name: z.name.clone(),
            zone_id: z.zone_id.clone(),
            available: z.state == "available",
        }
    }
}

// ---------------------------------------------------------------- identity

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
}

/// Facts about how the adapter is connected, for `doctor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionInfo {
    /// How the credentials were found, e.g. "environment variables",
    /// "profile 'dev' (~/.aws/config)", "EC2 instance role (IMDSv2)", "sandbox".
    pub credential_source: String,
    /// An endpoint override in force, if any.
    pub endpoint_override: Option<String>,
}

// ---------------------------------------------------------------- tags

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

impl Tag {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Tag {
            key: key.into(),
            value: value.into(),
        }
    }
}

// ---------------------------------------------------------------- certificates

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CertificateStatus {
    PendingValidation,
    Issued,
    Inactive,
    Expired,
    ValidationTimedOut,
    Revoked,
    Failed,
    Other(String),
}

impl CertificateStatus {
    pub fn parse(s: &str) -> Self {
        match s {
            "PENDING_VALIDATION" => CertificateStatus::PendingValidation,
            "ISSUED" => CertificateStatus::Issued,
            "INACTIVE" => CertificateStatus::Inactive,
            "EXPIRED" => CertificateStatus::Expired,
            "VALIDATION_TIMED_OUT" => CertificateStatus::ValidationTimedOut,
            "REVOKED" => CertificateStatus::Revoked,
            "FAILED" => CertificateStatus::Failed,
            other => CertificateStatus::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            CertificateStatus::PendingValidation => "PENDING_VALIDATION",
            CertificateStatus::Issued => "ISSUED",
            CertificateStatus::Inactive => "INACTIVE",
            CertificateStatus::Expired => "EXPIRED",
            CertificateStatus::ValidationTimedOut => "VALIDATION_TIMED_OUT",
            CertificateStatus::Revoked => "REVOKED",
            CertificateStatus::Failed => "FAILED",
            CertificateStatus::Other(s) => s,
        }
    }
}

/// One DNS record ACM wants to see before it issues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationRecord {
    /// Record name, e.g. `_abc.shop.example.com.`
    pub name: String,
    /// Always `CNAME` for ACM today.
    pub record_type: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainValidation {
    pub domain: String,
    /// `PENDING_VALIDATION`, `SUCCESS` or `FAILED`.
    pub status: String,
    /// Absent for the first seconds after the request.
    pub record: Option<ValidationRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    pub arn: String,
    pub domain: String,
    pub sans: Vec<String>,
    pub status: CertificateStatus,
    pub not_after: Option<SystemTime>,
    pub in_use: bool,
    pub validations: Vec<DomainValidation>,
    pub failure_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateSummary {
    pub arn: String,
    pub domain: String,
    pub sans: Vec<String>,
    pub status: CertificateStatus,
    pub not_after: Option<SystemTime>,
    pub in_use: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateRequest {
    pub domain: String,
    pub sans: Vec<String>,
    /// ACM treats repeated requests with the same token within an hour as one.
    pub idempotency_token: String,
    pub tags: Vec<Tag>,
}

// ---------------------------------------------------------------- dns

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostedZone {
    /// The bare id (`Z123...`), without the `/hostedzone/` prefix.
    pub id: String,
    /// Fully qualified, ending with a dot.
    pub name: String,
    pub private: bool,
    pub record_count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasTarget {
    pub hosted_zone_id: String,
    pub dns_name: String,
    pub evaluate_target_health: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSet {
    /// Fully qualified, ending with a dot.
    pub name: String,
    /// `A`, `AAAA`, `CNAME`, `TXT`, ...
    pub record_type: String,
    pub ttl: Option<u32>,
    pub values: Vec<String>,
    pub alias: Option<AliasTarget>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordAction {
    Create,
    Upsert,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordChange {
    pub action: RecordAction,
    pub record: RecordSet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeStatus {
    Pending,
    InSync,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsChange {
    /// The bare id, without the `/change/` prefix.
    pub id: String,
    pub status: ChangeStatus,
}

// ---------------------------------------------------------------- stacks

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackOutput {
    pub key: String,
    pub value: String,
    pub description: Option<String>,
    pub export_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackParameter {
    pub key: String,
    /// `****` for NoEcho parameters, as AWS reports them.
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stack {
    pub name: String,
    pub id: String,
    pub status: StackStatus,
    pub status_reason: Option<String>,
    pub created: SystemTime,
    pub last_updated: Option<SystemTime>,
    pub parameters: Vec<StackParameter>,
    pub outputs: Vec<StackOutput>,
    pub tags: Vec<Tag>,
    pub disable_rollback: bool,
    pub termination_protection: bool,
}

impl Stack {
    /// The install its `ph:install` tag names.
    pub fn install(&self) -> Option<&str> {
        self.tags
            .iter()
            .find(|t| t.key == crate::core::wizard::INSTALL_TAG)
            .map(|t| t.value.as_str())
    }

    /// Whether it is the installer's own bootstrap stack (installer.yaml).
    pub fn is_bootstrap(&self) -> bool {
        self.install() == Some(crate::core::wizard::BOOTSTRAP_TAG_VALUE)
    }

    /// The value of output `key`.
    pub fn output(&self, key: &str) -> Option<&str> {
        self.outputs
            .iter()
            .find(|o| o.key == key)
            .map(|o| o.value.as_str())
    }
}

/// A parameter value for a create or update. A secret stays typed (its
/// `Debug` redacts) until the adapter hands it to the one call that sends it;
/// requests carrying one are deliberately not serializable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParameterValue {
    Value(String),
    Secret(Secret),
    UsePrevious,
}

impl ParameterValue {
    /// The value to send, `None` for `UsePrevious`.
    pub fn expose(&self) -> Option<&str> {
        match self {
            ParameterValue::Value(v) => Some(v),
            ParameterValue::Secret(s) => Some(s.expose()),
            ParameterValue::UsePrevious => None,
        }
    }
}

impl From<crate::core::blueprint::plan::Value> for ParameterValue {
    fn from(value: crate::core::blueprint::plan::Value) -> Self {
        match value {
            crate::core::blueprint::plan::Value::Plain(v) => ParameterValue::Value(v),
            crate::core::blueprint::plan::Value::Secret(s) => ParameterValue::Secret(s),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterInput {
    pub key: String,
    pub value: ParameterValue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeSetKind {
    Create,
    Update,
}

/// What CloudFormation does when creating a new stack through a change set fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OnStackFailure {
    DoNothing,
    Rollback,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSetRequest {
    pub stack_name: String,
    pub change_set_name: String,
    pub kind: ChangeSetKind,
    pub template_body: String,
    pub parameters: Vec<ParameterInput>,
    pub tags: Vec<Tag>,
    /// e.g. `CAPABILITY_NAMED_IAM`.
    pub capabilities: Vec<String>,
    /// Only for `ChangeSetKind::Create`.
    pub on_stack_failure: Option<OnStackFailure>,
    pub client_token: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeSetRef {
    pub id: String,
    pub stack_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeSetStatus {
    CreatePending,
    CreateInProgress,
    CreateComplete,
    DeletePending,
    DeleteInProgress,
    DeleteComplete,
    DeleteFailed,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExecutionStatus {
    Unavailable,
    Available,
    ExecuteInProgress,
    ExecuteComplete,
    ExecuteFailed,
    Obsolete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResourceAction {
    Add,
    Modify,
    Remove,
    Import,
    Dynamic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Replacement {
    True,
    False,
    Conditional,
}

/// One row of a change-set preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceChange {
    pub action: ResourceAction,
    pub logical_id: String,
    pub physical_id: Option<String>,
    pub resource_type: String,
    /// Only for `Modify`.
    pub replacement: Option<Replacement>,
    /// Which parts change: `Properties`, `Metadata`, `Tags`, ...
    pub scope: Vec<String>,
    /// Names of the properties that change, for `Modify`.
    pub changed_properties: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeSet {
    pub id: String,
    pub name: String,
    pub stack_id: String,
    pub stack_name: String,
    pub status: ChangeSetStatus,
    pub status_reason: Option<String>,
    pub execution_status: ExecutionStatus,
    pub changes: Vec<ResourceChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecuteRequest {
    pub stack_name: String,
    pub change_set_name: String,
    /// Sent only when `Some`. CloudFormation refuses it for a change set
    /// created with `on_stack_failure` (that setting already decides).
    pub disable_rollback: Option<bool>,
    pub client_request_token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteRequest {
    pub stack_name: String,
    /// Logical ids to leave in the account; only for a DELETE_FAILED stack.
    pub retain_resources: Vec<String>,
    pub client_request_token: String,
}

/// One page of DescribeStackEvents: newest first, and where the next
/// (older) page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPage {
    pub events: Vec<StackEvent>,
    pub next: Option<String>,
}

/// A direct update, used to retry a CREATE_FAILED stack with rollback disabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateRequest {
    pub stack_name: String,
    pub template_body: String,
    pub parameters: Vec<ParameterInput>,
    pub capabilities: Vec<String>,
    pub tags: Vec<Tag>,
    pub disable_rollback: bool,
    pub client_request_token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackEvent {
    pub event_id: String,
    pub stack_id: String,
    pub stack_name: String,
    pub logical_id: String,
    /// `Some("")` where CloudFormation sends an empty string: a resource's
    /// first CREATE_IN_PROGRESS, and a create that failed or was cancelled.
    pub physical_id: Option<String>,
    pub resource_type: String,
    pub timestamp: SystemTime,
    pub status: ResourceStatus,
    pub status_reason: Option<String>,
    pub client_request_token: Option<String>,
}

impl StackEvent {
    /// Whether this event is about the stack itself rather than a resource in it.
    pub fn is_stack_event(&self) -> bool {
        self.resource_type == "AWS::CloudFormation::Stack" && self.logical_id == self.stack_name
    }

    /// The stack status this event reports, when it is the stack's own event.
    pub fn stack_status(&self) -> Option<StackStatus> {
        if self.is_stack_event() {
            StackStatus::parse(self.status.as_str())
        } else {
            None
        }
    }
}

impl From<&StackEvent> for crate::core::deploy::EventView {
    fn from(e: &StackEvent) -> Self {
        crate::core::deploy::EventView {
            logical_id: e.logical_id.clone(),
            resource_type: e.resource_type.clone(),
            status: e.status.clone(),
            reason: e.status_reason.clone(),
            timestamp: e.timestamp,
            stack_event: e.is_stack_event(),
            token: e.client_request_token.clone(),
        }
    }
}

// ---------------------------------------------------------------- instances

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpTokens {
    Optional,
    Required,
}

impl HttpTokens {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpTokens::Optional => "optional",
            HttpTokens::Required => "required",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetadataState {
    Pending,
    Applied,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataOptions {
    pub http_tokens: HttpTokens,
    pub hop_limit: u8,
    pub endpoint_enabled: bool,
    pub state: MetadataState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    pub id: String,
    pub name: Option<String>,
    /// `pending`, `running`, `stopped`, ...
    pub state: String,
    pub instance_type: String,
    pub availability_zone: Option<String>,
    pub tags: Vec<Tag>,
    pub metadata: MetadataOptions,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceFilter {
    /// Empty means any id.
    pub ids: Vec<String>,
    /// Every tag must match.
    pub tags: Vec<Tag>,
}

/// A change to an instance's metadata options; `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataChange {
    pub http_tokens: Option<HttpTokens>,
    pub hop_limit: Option<u8>,
    pub endpoint_enabled: Option<bool>,
}

// ---------------------------------------------------------------- iam

/// An access key's status, as IAM reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccessKeyStatus {
    /// Valid for API calls (the status of every new key).
    Active,
    /// Kept, but refused for API calls; it still counts against the limit.
    Inactive,
    /// IAM's third documented value (AccessKeyMetadata, Valid Values).
    Expired,
    Other(String),
}

impl AccessKeyStatus {
    pub fn parse(s: &str) -> Self {
        match s {
            "Active" => AccessKeyStatus::Active,
            "Inactive" => AccessKeyStatus::Inactive,
            "Expired" => AccessKeyStatus::Expired,
            other => AccessKeyStatus::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            AccessKeyStatus::Active => "Active",
            AccessKeyStatus::Inactive => "Inactive",
            AccessKeyStatus::Expired => "Expired",
            AccessKeyStatus::Other(s) => s,
        }
    }
}

/// One of a user's access keys as ListAccessKeys reports it: never the
/// secret, which IAM returns only once, from CreateAccessKey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKeyInfo {
    /// e.g. `AKIAIOSFODNN7EXAMPLE`.
    pub id: String,
    pub status: AccessKeyStatus,
    /// CreateDate (IAM marks it optional; it is always sent).
    pub created: Option<SystemTime>,
}

/// A key CreateAccessKey just made, with its secret: the one answer that
/// carries it. The secret stays typed (its `Debug` and `Display` redact)
/// until it is written to the secrets file, and this type is deliberately
/// not serializable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccessKey {
    pub id: String,
    pub secret: Secret,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_carrying_a_secret_never_shows_it_when_formatted() {
        let value = "pw-4f9c2-never-shown";
        let request = ChangeSetRequest {
            stack_name: "ph-demo-rds".into(),
            change_set_name: "install-1".into(),
            kind: ChangeSetKind::Create,
            template_body: "{}".into(),
            parameters: vec![ParameterInput {
                key: "DbMasterPassword".into(),
                value: crate::core::blueprint::plan::Value::Secret(Secret::new(value)).into(),
            }],
            tags: vec![],
            capabilities: vec![],
            on_stack_failure: None,
            client_token: None,
            description: None,
        };
        assert!(!format!("{request:?}").contains(value));
        assert!(!format!("{request:#?}").contains(value));
        assert_eq!(request.parameters[0].value.expose(), Some(value));
    }

    #[test]
    fn a_new_access_key_never_shows_its_secret_when_formatted() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";
        let key = NewAccessKey {
            id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret: Secret::new(secret),
        };
        for shown in [
            format!("{key:?}"),
            format!("{key:#?}"),
            format!("{:?}", vec![key.clone()]),
        ] {
            assert!(shown.contains("AKIAIOSFODNN7EXAMPLE"), "{shown}");
            assert!(!shown.contains("wJalrXUtnFEMI"), "{shown}");
        }
        assert_eq!(key.secret.expose(), secret);
    }

    #[test]
    fn access_key_statuses_read_as_iam_writes_them() {
        for s in ["Active", "Inactive", "Expired", "Suspended"] {
            assert_eq!(AccessKeyStatus::parse(s).as_str(), s);
        }
        assert_eq!(AccessKeyStatus::parse("Active"), AccessKeyStatus::Active);
        assert_eq!(
            AccessKeyStatus::parse("Suspended"),
            AccessKeyStatus::Other("Suspended".into())
        );
    }
}

/// What CreateServiceLinkedRole did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceRoleOutcome {
    Created,
    /// The account had the role already (AWS: "has been taken in this account").
    AlreadyExisted,
}

pub use crate::core::account::PublicAccessBlock;

/// What one version of an EKS add-on accepts as configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddonSettings {
    pub version: String,
    /// The configuration schema's top-level properties.
    pub keys: Vec<String>,
}
