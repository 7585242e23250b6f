//! Ports: narrow traits per concern, in domain types. `aws` implements them
//! over the official SDK, `sandbox` over a simulated account.

pub mod actions;
pub mod aws;
pub mod error;
pub mod sandbox;
pub mod types;

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

pub use error::CloudError;
use types::*;

use crate::core::region::RegionCode;

pub type CloudResult<T> = Result<T, CloudError>;

/// Regions and what they offer.
#[async_trait]
pub trait Regions: Send + Sync {
    /// The commercial regions the account lists (DescribeRegions with
    /// AllRegions), with their opt-in status. Regions of other partitions
    /// that an endpoint reports are dropped here.
    async fn list_regions(&self) -> CloudResult<Vec<AccountRegion>>;

    /// The availability zones of `region` offered to this account.
    async fn availability_zones(&self, region: &RegionCode) -> CloudResult<Vec<AvailabilityZone>>;

    /// Which of `types` are offered in `region` (in any of its zones), in
    /// the order asked, each once.
    async fn instance_type_offerings(
        &self,
        region: &RegionCode,
        types: &[String],
    ) -> CloudResult<Vec<String>>;
}

/// Who the installer is acting as.
#[async_trait]
pub trait Identity: Send + Sync {
    async fn caller_identity(&self) -> CloudResult<CallerIdentity>;

    /// How the credentials were found and which endpoint is in use.
    fn session_info(&self) -> SessionInfo;

    /// The time AWS reports (the `Date` header of a signed call), to measure
    /// the local clock's skew. A call AWS refused still tells the time; an
    /// error means no answer came back at all.
    async fn server_time(&self) -> CloudResult<SystemTime>;
}

/// ACM certificates in the install region.
#[async_trait]
pub trait Certificates: Send + Sync {
    async fn list_certificates(&self) -> CloudResult<Vec<CertificateSummary>>;
    async fn describe_certificate(&self, arn: &str) -> CloudResult<Certificate>;
    /// Requests a DNS-validated certificate; returns its ARN.
    async fn request_certificate(&self, request: &CertificateRequest) -> CloudResult<String>;
}

/// Route 53 hosted zones and records.
#[async_trait]
pub trait Dns: Send + Sync {
    /// Zones whose name equals `name` (fully qualified or not), public and private.
    async fn zones_named(&self, name: &str) -> CloudResult<Vec<HostedZone>>;
    async fn list_records(&self, zone_id: &str) -> CloudResult<Vec<RecordSet>>;
    async fn change_records(
        &self,
        zone_id: &str,
        changes: &[RecordChange],
    ) -> CloudResult<DnsChange>;
    async fn get_change(&self, change_id: &str) -> CloudResult<DnsChange>;
}

/// CloudFormation stacks.
#[async_trait]
pub trait Stacks: Send + Sync {
    /// `None` when no stack of that name exists (or it is DELETE_COMPLETE).
    async fn describe_stack(&self, name: &str) -> CloudResult<Option<Stack>>;
    /// Every live stack in the region.
    async fn list_stacks(&self) -> CloudResult<Vec<Stack>>;
    async fn create_change_set(&self, request: &ChangeSetRequest) -> CloudResult<ChangeSetRef>;
    async fn describe_change_set(&self, stack: &str, change_set: &str) -> CloudResult<ChangeSet>;
    async fn delete_change_set(&self, stack: &str, change_set: &str) -> CloudResult<()>;
    async fn execute_change_set(&self, request: &ExecuteRequest) -> CloudResult<()>;
    async fn update_stack(&self, request: &UpdateRequest) -> CloudResult<()>;
    /// Events newer than `after_event_id` (all when `None`), oldest first.
    /// Both adapters page through [`events_since`], one call a page.
    async fn stack_events(
        &self,
        stack: &str,
        after_event_id: Option<&str>,
    ) -> CloudResult<Vec<StackEvent>>;
    async fn continue_update_rollback(
        &self,
        stack: &str,
        resources_to_skip: &[String],
        client_request_token: &str,
    ) -> CloudResult<()>;
    async fn rollback_stack(&self, stack: &str, client_request_token: &str) -> CloudResult<()>;
    /// Stops an UPDATE_IN_PROGRESS stack's update and rolls it back.
    async fn cancel_update_stack(&self, stack: &str, client_request_token: &str)
    -> CloudResult<()>;
    /// Succeeds, doing nothing, when the stack does not exist.
    async fn delete_stack(&self, request: &DeleteRequest) -> CloudResult<()>;
    async fn set_termination_protection(&self, stack: &str, enabled: bool) -> CloudResult<()>;
}

/// Pages DescribeStackEvents (newest first) back to `after_event_id` and no
/// further, and returns what is newer, oldest first. `page` fetches one
/// page from a token (`None`: the newest). When `after_event_id` is not met
/// (the events it followed are gone), every event is returned.
pub async fn events_since<F, Fut>(
    after_event_id: Option<&str>,
    mut page: F,
) -> CloudResult<Vec<StackEvent>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = CloudResult<EventPage>>,
{
    let mut newest_first = Vec::new();
    let mut token = None;
    loop {
        let p = page(token.take()).await?;
        for e in p.events {
            if after_event_id == Some(e.event_id.as_str()) {
                newest_first.reverse();
                return Ok(newest_first);
            }
            newest_first.push(e);
        }
        match p.next {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => break,
        }
    }
    newest_first.reverse();
    Ok(newest_first)
}

/// EC2 instances and their metadata options.
#[async_trait]
pub trait Instances: Send + Sync {
    async fn describe_instances(&self, filter: &InstanceFilter) -> CloudResult<Vec<Instance>>;
    /// DryRun: `Ok(())` when the caller would be allowed to make the change.
    async fn check_modify_metadata_options(
        &self,
        instance_id: &str,
        change: &MetadataChange,
    ) -> CloudResult<()>;
    async fn modify_metadata_options(
        &self,
        instance_id: &str,
        change: &MetadataChange,
    ) -> CloudResult<MetadataOptions>;

    /// The AMI ID one of AWS's public SSM parameters names in this region,
    /// e.g. `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64`.
    async fn public_image_id(&self, parameter: &str) -> CloudResult<String>;
}

/// Account-wide settings the install's services depend on, outside any
/// stack: IAM's service-linked roles and S3's account Block Public Access.
#[async_trait]
pub trait AccountSettings: Send + Sync {
    /// Creates the service-linked role of `service` (its principal, e.g.
    /// `opensearchservice.amazonaws.com`). A role that already exists is
    /// not an error: [`ServiceRoleOutcome::AlreadyExisted`].
    async fn create_service_linked_role(&self, service: &str) -> CloudResult<ServiceRoleOutcome>;

    /// The account's S3 Block Public Access settings; `None` when the
    /// account has none (each bucket's own settings then decide).
    async fn public_access_block(&self, account_id: &str)
    -> CloudResult<Option<PublicAccessBlock>>;
}

/// Which instance types the managed services sell in the session's region.
#[async_trait]
pub trait ServiceOfferings: Send + Sync {
    /// RDS: whether a `class` instance of `engine` `version` can be ordered.
    async fn db_instance_class_offered(
        &self,
        engine: &str,
        version: &str,
        class: &str,
    ) -> CloudResult<bool>;
    /// OpenSearch Service: the instance types offered for `engine_version`
    /// (e.g. `OpenSearch_2.19`).
    async fn search_instance_types(&self, engine_version: &str) -> CloudResult<Vec<String>>;
    /// ElastiCache: whether `node_type` has reserved-node offerings here,
    /// the only per-region listing of node types ElastiCache has.
    async fn cache_node_type_listed(&self, node_type: &str) -> CloudResult<bool>;
    /// EKS: the default version of add-on `addon` for Kubernetes
    /// `kubernetes_version`, and the top-level settings its configuration
    /// schema accepts; `None` when EKS has no such add-on for that version.
    async fn addon_settings(
        &self,
        addon: &str,
        kubernetes_version: &str,
    ) -> CloudResult<Option<AddonSettings>>;
}

/// IAM users' access keys: the provisioning user's, which the installer
/// creates into its secrets file (never onto a screen). IAM is global: the
/// region a [`Cloud`] is bound to does not matter here.
#[async_trait]
pub trait Iam: Send + Sync {
    /// The user's access keys (id, status Active/Inactive, created), oldest first.
    async fn list_access_keys(&self, user_name: &str) -> CloudResult<Vec<AccessKeyInfo>>;
    /// A new access key for the user; the secret only ever goes to the secrets file.
    async fn create_access_key(&self, user_name: &str) -> CloudResult<NewAccessKey>;
    async fn delete_access_key(&self, user_name: &str, access_key_id: &str) -> CloudResult<()>;
}

/// One account in one region, through whichever adapter is in use.
#[derive(Clone)]
pub struct Cloud {
    pub region: RegionCode,
    pub regions: Arc<dyn Regions>,
    pub identity: Arc<dyn Identity>,
    pub certificates: Arc<dyn Certificates>,
    pub dns: Arc<dyn Dns>,
    pub stacks: Arc<dyn Stacks>,
    pub instances: Arc<dyn Instances>,
    pub account: Arc<dyn AccountSettings>,
    pub offerings: Arc<dyn ServiceOfferings>,
    pub iam: Arc<dyn Iam>,
}

impl Cloud {
    /// Binds one adapter that implements every port.
    pub fn from_ports<P>(region: RegionCode, ports: Arc<P>) -> Cloud
    where
        P: Regions
            + Identity
            + Certificates
            + Dns
            + Stacks
            + Instances
            + AccountSettings
            + ServiceOfferings
            + Iam
            + 'static,
    {
        Cloud {
            region,
            regions: ports.clone(),
            identity: ports.clone(),
            certificates: ports.clone(),
            dns: ports.clone(),
            stacks: ports.clone(),
            instances: ports.clone(),
            account: ports.clone(),
            offerings: ports.clone(),
            iam: ports,
        }
    }
}
